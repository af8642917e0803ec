/* robot.h - outbound chat payloads, per-target rate limits and retry schedule.
 *
 * The outbox worker turns one queued text into the JSON bodies a chat
 * robot's webhook expects, sends them no faster than the target allows and
 * retries failures with capped exponential backoff until it gives up and
 * dead-letters the item. This module holds the pure parts of that loop:
 *
 * - payload builders for the WeCom group robot, DingTalk and Feishu custom
 *   robots and the generic JSON webhook. Each returns a batch of payloads
 *   (WeCom text is split into several messages of at most 2048 bytes; every
 *   other target gets exactly one). Every payload carries an idempotency
 *   key: the generic webhook has it in its body, and for all targets the
 *   server also sends it as the HTTP header ROBOT_IDEM_HEADER, because the
 *   WeCom, DingTalk and Feishu formats have no field for it. Part i (from 1)
 *   of a split message has the key "<key>/<i>", so a resend after a crash
 *   produces the same keys. Signed robots' payloads embed the time, which
 *   the platforms check, so build them at send time, not when queueing;
 * - robot_retry, exponential backoff with full jitter and a dead-letter
 *   limit, deterministic for a given random value.
 *
 * Texts must be valid UTF-8 without NUL bytes. Mention ids (user ids, mobile
 * numbers) are 1..ROBOT_ID_MAX characters of letters, digits and "_.@+-".
 * Nothing here performs I/O or keeps global state; all functions are
 * thread-safe on distinct objects. */
#ifndef NY_ROBOT_H
#define NY_ROBOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* HTTP header carrying a payload's idempotency key on every request. */
#define ROBOT_IDEM_HEADER "X-Nuanyang-Idempotency-Key"
/* Longest idempotency key; keys use letters, digits and "._:-". */
#define ROBOT_KEY_MAX 64
/* Longest mention id. */
#define ROBOT_ID_MAX 64
/* Most bytes of UTF-8 content in one WeCom group robot text message. */
#define ROBOT_WECOM_TEXT_MAX 2048
/* Smallest limit robot_split accepts. */
#define ROBOT_SPLIT_MIN 64
/* Room for a DingTalk URL suffix "&timestamp=…&sign=…" and its NUL. */
#define ROBOT_QUERY_MAX 192
/* Messages per minute WeCom and DingTalk robots accept. */
#define ROBOT_RATE_PER_MIN 20
/* Default retry schedule: first ceiling, largest ceiling, attempts. */
#define ROBOT_RETRY_BASE_MS 1000
#define ROBOT_RETRY_CAP_MS 900000
#define ROBOT_RETRY_ATTEMPTS 10

/* What to send: text and who to mention. */
typedef struct robot_text {
    const char *key;  /* idempotency key, 1..ROBOT_KEY_MAX characters */
    const char *text; /* UTF-8, len bytes, not empty */
    size_t len;
    const char *const *users; /* user ids to @-mention, n_users of them */
    size_t n_users;
    const char *const *mobiles; /* mobile numbers to @-mention (WeCom, DingTalk) */
    size_t n_mobiles;
    bool at_all; /* mention everyone in the group */
} robot_text;

/* One HTTP request body to POST to the target's webhook URL. */
typedef struct robot_payload {
    char *body;                   /* JSON text, NUL-terminated */
    size_t len;                   /* bytes in body */
    char key[ROBOT_KEY_MAX + 24]; /* idempotency key for ROBOT_IDEM_HEADER */
    char query[ROBOT_QUERY_MAX];  /* append to the webhook URL; "" unless DingTalk signed */
} robot_payload;

/* The payloads for one text, to be sent in order. */
typedef struct robot_batch {
    robot_payload *v;
    size_t n;
} robot_batch;

/* Frees the bodies and the array of b and empties it; NULL is ignored. */
void robot_batch_free(robot_batch *b);

/* Splits len bytes of text into *n parts of at most limit bytes each
 * (limit >= ROBOT_SPLIT_MIN), cutting only between UTF-8 characters and
 * preferring, within the second half of each part, a line break, then a
 * sentence end (。！？!? and closing quotes or brackets after it), then a
 * clause mark or space. A text that fits is one part, unchanged; otherwise
 * every part starts with the marker "(i/n) " and the parts without their
 * markers concatenate to the text. On NY_OK *parts is a malloc'd array of
 * malloc'd NUL-terminated strings; free with robot_parts_free. NY_EINVAL for
 * an empty or invalid text or a too small limit. */
int robot_split(const char *text, size_t len, size_t limit, char ***parts, size_t *n, ny_err *e);

/* Frees n parts from robot_split and their array; NULL is ignored. */
void robot_parts_free(char **parts, size_t n);

/* WeCom group robot text messages:
 * {"msgtype":"text","text":{"content":…,"mentioned_list":[…],
 * "mentioned_mobile_list":[…]}}, split by robot_split at
 * ROBOT_WECOM_TEXT_MAX bytes. Only the first part mentions anyone (the
 * others carry empty lists); at_all adds "@all" to mentioned_list. */
int robot_wecom(const robot_text *m, robot_batch *out, ny_err *e);

/* One DingTalk custom robot text message:
 * {"msgtype":"text","text":{"content":…},"at":{"atMobiles":[…],
 * "atUserIds":[…],"isAtAll":…}}. DingTalk only highlights a mention whose
 * "@id" also appears in the content, so " @id" is appended for each one the
 * text lacks. With a secret (NULL or "" for none), query gets
 * "&timestamp=<now_ms>&sign=<URL-encoded sign_dingtalk>". */
int robot_dingtalk(const robot_text *m, const char *secret, int64_t now_ms, robot_batch *out,
                   ny_err *e);

/* One Feishu custom robot text message:
 * {"timestamp":"<now_s>","sign":…,"msg_type":"text","content":{"text":…}},
 * the first two members only with a secret (NULL or "" for none). Mentions
 * are appended as <at user_id="…"></at> tags (user_id "all" for at_all;
 * mobiles are not used); any "<at" already in the text is defused to "＜at"
 * so quoted text cannot mention people. */
int robot_feishu(const robot_text *m, const char *secret, int64_t now_s, robot_batch *out,
                 ny_err *e);

/* One generic webhook message: {"idempotency_key":…,"kind":…,"group":…,
 * "text":…,"mentions":[…]} with kind (e.g. "reply", "notice") and group
 * (the group's external id) non-empty UTF-8, mentions the user ids plus
 * "@all" for at_all (mobiles are not used). */
int robot_generic(const robot_text *m, const char *kind, const char *group, robot_batch *out,
                  ny_err *e);

/* Retry schedule of a target. */
typedef struct robot_retry {
    int64_t base_ms;       /* delay ceiling after the first failure */
    int64_t cap_ms;        /* largest ceiling */
    uint32_t max_attempts; /* dead-letter after this many failed attempts */
} robot_retry;

/* Fills *p after checking 1 <= base_ms <= cap_ms <= one day and
 * max_attempts >= 1. Returns NY_OK or NY_EINVAL. */
int robot_retry_init(robot_retry *p, int64_t base_ms, int64_t cap_ms, uint32_t max_attempts,
                     ny_err *e);

/* The delay ceiling after failures (>= 1) failed attempts:
 * min(cap_ms, base_ms * 2^(failures - 1)); never decreasing in failures.
 * 0 for failures 0. */
int64_t robot_retry_ceiling(const robot_retry *p, uint32_t failures);

/* Decides what follows the failures-th failed attempt: false when failures
 * >= max_attempts (dead-letter the item, keep its last error); otherwise
 * true with *delay_ms drawn with full jitter, uniformly from
 * [0, robot_retry_ceiling(p, failures)] by the 64-bit random value rnd. */
bool robot_retry_next(const robot_retry *p, uint32_t failures, uint64_t rnd, int64_t *delay_ms);

#endif
