/* case_feedback.h - the case loop's side of the chat groups: a lead opens
 * a case (or joins the case of the report it duplicates), and a reporter's
 * reply in the group is read as feedback on their case (a rating, or "还没
 * 修好" to reopen it) instead of becoming a new lead.
 *
 * Both run inside the caller's transaction (the ingest transaction that
 * stores the message), so a message, its lead and its case commit
 * together. */
#ifndef NY_CASE_FEEDBACK_H
#define NY_CASE_FEEDBACK_H

#include <stdint.h>

#include "sla.h"
#include "store.h"
#include "store_case.h"

/* A lead as the case loop needs it. unit: the code of the group's unit;
 * duplicate_of: the case of the earlier report this one repeats (0 = a new
 * matter). */
typedef struct case_lead {
    int64_t group_id, message_id, at;
    const char *unit, *sender_id, *sender_name, *text, *intent, *category;
    int64_t duplicate_of;
} case_lead;

/* 1 when a lead of this intent opens a case (help, report, complaint,
 * emergency), else 0. */
int case_lead_opens(const char *intent);

/* The new case of lead l as case_from_lead fills it before case_open
 * (source lead, title from the text, urgency from the intent and outage
 * cues, the group's unit): into *c, which the caller frees with
 * case_row_free. NY_OK or NY_ERR (memory; *c is then freed). */
int case_from_lead_row(const case_lead *l, case_row *c, ny_err *e);

/* Opens the case for lead l at now (or adds its sender as a reporter of
 * l->duplicate_of, logging it there) and gives its id in *case_id. */
int case_from_lead(store *db, const sla *s, const case_lead *l, int64_t now, int64_t *case_id,
                   ny_err *e);

/* What a reply says: 5 满意, 3 基本满意, 1 不满意, -1 "not fixed yet", 0
 * nothing the loop reads. */
int case_feedback_kind(const char *text);

/* Reads text from sender in group as feedback on their newest case there
 * (open, or closed within the reopen window): a rating on a resolved case
 * verifies it (the reporter confirming) and closes it (不满意 only records
 * the rating for staff to verify), "还没修好" reopens a resolved or closed
 * case and urges an open one. *case_id (0 when the text was not feedback)
 * names the case. NY_OK in both cases; the caller makes no lead when
 * *case_id is set. */
int case_feedback(store *db, const sla *s, int64_t group_id, const char *sender_id,
                  const char *text, int64_t now, int64_t *case_id, ny_err *e);

#endif
