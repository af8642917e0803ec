/* store_case_msgs.h - the chat messages that started a case: the messages
 * of its leads, of the reports merged into those leads, and of its
 * reporters; portable SQL (store_sql.h). The case detail route
 * (server_cases.c) shows them so staff read what residents wrote. */
#ifndef NY_STORE_CASE_MSGS_H
#define NY_STORE_CASE_MSGS_H

#include <stdint.h>

#include "store.h"

/* One message, valid during the callback. intent, category and triage (the
 * stored JSON of the assistant's reading) are NULL when not triaged. */
typedef struct case_msg {
    int64_t id;
    const char *group, *group_name; /* external id and name of the chat group */
    const char *sender_id, *sender_name;
    int64_t sent_at;
    const char *text, *intent, *category, *triage;
} case_msg;

/* Calls fn for each distinct message that started case_id (its leads'
 * messages, the reports merged into them, its reporters' messages),
 * oldest first, at most limit of them. fn returns NY_OK to go on. */
int store_case_msgs(store *s, int64_t case_id, int limit, int (*fn)(void *ctx, const case_msg *m),
                    void *ctx, ny_err *e);

#endif
