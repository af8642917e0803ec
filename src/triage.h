/* triage.h - the smart grid assistant 暖羊阳: what a chat message is about,
 * who must be told and what the bot answers in the group.
 *
 * A triage_engine is built once from the default data files (data/: the
 * lexicon, the policy knowledge base, the intent and category models) or from
 * a database (its lexicon and policies tables, plus the unit tree, chat groups
 * and staff accounts that say who is told; an empty lexicon or policies table
 * falls back to the default file). After triage_open it is immutable except
 * for the lexicon, which triage_reload_* rebuilds and swaps in atomically
 * while other threads keep triaging (through a match_holder). Any number of
 * threads share one engine, each with its own triage_ws.
 *
 * triage_message runs the pipeline on one message: normalise (norm_text, which
 * repairs invalid UTF-8) → keyword capture (every lexicon hit with its
 * position) → keyword features → intent and category models (scored in one
 * pass; a text of more than 64 code points takes its category from the
 * long-text model when data/models has one) → safety rule
 * (model_emergency_cue, fed by lexicon entries with the action "urgent":
 * an emergency is never left to the model alone) → policies (for consult and
 * help only, filtered by the group's audience) → decision (who is told, the
 * reply, the priority; see triage_decide.c and docs/DESIGN.md for the rules).
 *
 * The group etiquette (triage_etiquette_*) sits after triage: per chat group
 * it rate-limits replies, skips answers already given moments ago, merges
 * several residents' reports of one problem into one lead, ignores the bot's
 * own messages and always answers an @-mention. It keeps bounded state per
 * group, is safe to call from any thread and takes the time from the caller. */
#ifndef NY_TRIAGE_H
#define NY_TRIAGE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

/* Most policies a result lists, most people it notifies. */
#define TRIAGE_MAX_POLICIES 3
#define TRIAGE_MAX_NOTIFY 6
/* Bytes of a message that are analysed; the rest is ignored. */
#define TRIAGE_MAX_TEXT (4u << 20)

/* Priorities, most pressing first. */
enum { TRIAGE_URGENT = 0, TRIAGE_HIGH = 1, TRIAGE_NORMAL = 2, TRIAGE_LOW = 3 };

typedef struct triage_engine triage_engine;
typedef struct triage_ws triage_ws;

/* Where the engine's data comes from. */
typedef struct triage_opts {
    const char *data_dir;   /* directory holding lexicon.csv and policies.csv */
    const char *models_dir; /* intent.model and category.model; NULL = data_dir/models */
    store *db;              /* NULL, or a database read once during triage_open */
} triage_opts;

/* The chat group a message was posted in, as far as it is known. */
typedef struct triage_group {
    const char *kind;      /* "resident", "enterprise" or NULL (no audience filter) */
    const char *unit_code; /* the group's unit (usually a grid) or NULL */
} triage_group;

/* One lexicon hit. term, intent, category and action point into the
 * lexicon version the message was scanned with, kept alive by the workspace
 * until its next triage_message. Offsets are bytes: [start, end) in the
 * normalised text, [ostart, oend) in the text as given. */
typedef struct triage_keyword {
    const char *term;     /* as written in the lexicon (patterns with "…") */
    const char *intent;   /* hint or "" */
    const char *category; /* hint or "" */
    const char *action;   /* "", "notify_grid", "notify_community" or "urgent" */
    float weight;
    uint32_t entry; /* row of the lexicon */
    uint32_t start, end, ostart, oend;
    int repeat; /* 1 when an earlier hit of this message has the same entry */
} triage_keyword;

/* One matching policy of the knowledge base; strings belong to the engine. */
typedef struct triage_policy {
    const char *code, *title, *department, *summary, *how_to_apply;
    double score;
} triage_policy;

/* Someone to tell. role is one of domain_roles (grid_worker, community,
 * street, department). With a database and a group, unit_code and unit_name
 * name the unit and account and name its first staff member of that role
 * (NULL when it has none); otherwise they are NULL. department is the
 * department's name for the role "department", else NULL. */
typedef struct triage_notify {
    const char *role;
    const char *unit_code, *unit_name;
    const char *account, *name;
    const char *department;
} triage_notify;

/* What triage_message found. Pointers stay valid until the next
 * triage_message on the same workspace (or triage_ws_free). */
typedef struct triage_result {
    int intent;              /* index into domain_intents */
    int category;            /* index into domain_categories */
    const char *intent_name; /* domain_intents[intent] */
    const char *category_name;
    int overridden;   /* 1 when the safety rule made it an emergency */
    const char *norm; /* the normalised text, NUL-terminated */
    size_t norm_len;
    const triage_keyword *keywords; /* every hit, in order of end offset */
    size_t nkeywords;
    triage_policy policies[TRIAGE_MAX_POLICIES]; /* best first */
    size_t npolicies;
    triage_notify notify[TRIAGE_MAX_NOTIFY];
    size_t nnotify;
    const char *reply; /* what to post in the group, or NULL */
    int priority;      /* TRIAGE_URGENT .. TRIAGE_LOW */
} triage_result;

/* Builds an engine (about 20 ms: normalisation table, lexicon automaton,
 * policy index, models; the database is read here and not kept). Returns
 * NY_OK and the engine in *out; NY_ENOTFOUND when a data file or model is
 * missing; NY_EINVAL for a malformed file or row (the message names it);
 * NY_EVERSION for a model file of a newer format; store errors as the store
 * gives them; NY_ERR when memory runs out. */
int triage_open(const triage_opts *o, triage_engine **out, ny_err *e);

/* Frees the engine; NULL is allowed. No thread may still use it, and every
 * workspace made for it must have been freed. */
void triage_close(triage_engine *en);

/* Replaces the lexicon by the n rows at rows (store_lexicon_each's rows; id is
 * ignored, kind is ignored: a term with "…" is a gap pattern). Threads in
 * triage_message go on with the version they hold and see the new one with
 * their next message. Returns NY_OK; NY_EINVAL for a bad row (e->index),
 * leaving the lexicon unchanged; NY_ERR when memory runs out. */
int triage_reload_rows(triage_engine *en, const store_lexeme *rows, size_t n, ny_err *e);

/* Reloads the lexicon from the lexicon table of db, or from the lexicon file
 * of the data directory when db is NULL (or its table is empty). Errors as
 * triage_reload_rows plus those of reading. */
int triage_reload(triage_engine *en, store *db, ny_err *e);

/* Number of lexicon entries now in use. */
size_t triage_lexicon_size(triage_engine *en);

/* Finds the group with this external id among the database's groups (the
 * first in platform order when several platforms use it) and fills *g with
 * its kind and unit; the strings belong to the engine. Returns NY_OK, or
 * NY_ENOTFOUND (also for an engine built without a database). */
int triage_find_group(const triage_engine *en, const char *external_id, triage_group *g, ny_err *e);

/* A workspace for one thread at a time. Returns NY_OK or NY_ERR. */
int triage_ws_new(triage_engine *en, triage_ws **out, ny_err *e);

/* Frees a workspace (and its hold on a lexicon version); NULL is allowed. */
void triage_ws_free(triage_ws *ws);

/* Triages len bytes at text (any bytes: invalid UTF-8 is repaired, NUL and
 * control characters dropped; bytes past TRIAGE_MAX_TEXT are ignored) posted
 * in group g (NULL when unknown: no audience filter, notify entries without
 * units) and fills *r. Returns NY_OK; NY_EINVAL when g names a kind other
 * than resident or enterprise; NY_ERR when memory runs out. Never fails on
 * the content of the message. */
int triage_message(triage_ws *ws, const char *text, size_t len, const triage_group *g,
                   triage_result *r, ny_err *e);

/* "urgent", "high", "normal" or "low". */
const char *triage_priority_name(int priority);

/* The text the bot posts when it is @-mentioned by a message that needs no
 * other answer. */
const char *triage_help_text(void);

/* ---- group etiquette ------------------------------------------------------ */

typedef struct triage_etiquette triage_etiquette;

typedef struct triage_etiquette_opts {
    unsigned rate_per_minute;  /* replies per group in any sliding minute (1..120) */
    unsigned repeat_window_s;  /* same question answered within: skip */
    unsigned dup_window_s;     /* same problem reported within: merge into the lead */
    double dup_similarity;     /* character-bigram Jaccard at or above which texts match */
    size_t max_groups;         /* groups remembered; the least recently active goes first */
    const char *bot_sender_id; /* the bot's own sender id, or NULL */
    const char *bot_name;      /* the name people @-mention */
} triage_etiquette_opts;

/* The defaults: 20 replies a minute (WeCom robots accept no more), repeat
 * window 10 minutes, duplicate window 30 minutes, similarity 0.6, 4096
 * groups, no sender id, bot name "暖羊阳". */
triage_etiquette_opts triage_etiquette_defaults(void);

/* Bigram hashes kept per report for the duplicate test. */
#define TRIAGE_SKETCH 48

/* What triage_etiquette_decide reads of a post and its triage that no group
 * state changes: whether it @-mentions the bot, the hashes of its normalised
 * text and top policy, and (for a message for a person) the bottom-k sketch
 * of its text's character bigrams. triage_etiquette_prepare fills it. */
typedef struct triage_etiquette_prep {
    int mentioned;
    uint64_t text, policy;
    unsigned nsketch;
    uint32_t sketch[TRIAGE_SKETCH];
} triage_etiquette_prep;

/* One message as the chat platform delivered it. */
typedef struct triage_post {
    const char *group;           /* the group's key (its external id); required */
    const char *sender_id;       /* NULL when unknown */
    const char *const *mentions; /* ids or names the platform reports as @-mentioned */
    size_t nmentions;
    const char *text; /* the raw text; it and r->norm are searched for "@<bot name>" */
    size_t len;
    int64_t now_ms;                    /* the time the message arrived, in milliseconds */
    const triage_etiquette_prep *prep; /* prepared for this post and triage, or NULL */
} triage_post;

/* Why the bot stays silent. */
enum {
    TRIAGE_SAY = 0,       /* it answers: verdict.reply */
    TRIAGE_OWN = 1,       /* the message is the bot's own: ignore it entirely */
    TRIAGE_NOTHING = 2,   /* nothing to say (chit-chat) */
    TRIAGE_REPEAT = 3,    /* the same question was answered in the group moments ago */
    TRIAGE_DUPLICATE = 4, /* the problem is already a lead that was acknowledged */
    TRIAGE_RATE = 5,      /* the group's reply budget for this minute is spent */
};

typedef struct triage_verdict {
    int why;            /* TRIAGE_SAY or the reason for silence */
    const char *reply;  /* text to post when why == TRIAGE_SAY, else NULL */
    int mentioned;      /* 1 when the message @-mentions the bot */
    uint64_t lead;      /* the lead this message belongs to, 0 for none */
    unsigned reporters; /* distinct senders of that lead so far */
    int merged;         /* 1 when the message joined an existing lead */
} triage_verdict;

/* Creates the etiquette state; o NULL means the defaults. Returns NY_OK,
 * NY_EINVAL for a rate outside 1..120, a zero window or group count or a
 * similarity outside (0, 1], or NY_ERR. */
int triage_etiquette_new(const triage_etiquette_opts *o, triage_etiquette **out, ny_err *e);

/* Frees the state; NULL is allowed. */
void triage_etiquette_free(triage_etiquette *et);

/* Fills *out with what triage_etiquette_decide reads of post p triaged as r
 * without its group's state (its mentions, texts, intent and top policy):
 * on any thread, before decide, so that the work is not done under decide's
 * lock (the ingest commit computes it on the request's thread). */
void triage_etiquette_prepare(const triage_etiquette *et, const triage_post *p,
                              const triage_result *r, triage_etiquette_prep *out);

/* Decides what the bot does with post p, triaged as r (its intent,
 * category, top policy, normalised text and reply are read; r may come from
 * any workspace), and records it:
 *  - the bot's own message: TRIAGE_OWN, nothing recorded;
 *  - a message for a person (help, report, complaint, emergency) joins the
 *    group's open lead of the same category whose text is similar enough
 *    and whose last report is within the duplicate window, or opens a lead;
 *  - the reply is r->reply, or triage_help_text() for an @-mention that has
 *    none; it is withheld when there is none, when the lead was merged or
 *    the same text or top policy was answered within the repeat window
 *    (never for emergencies or @-mentions), and when the rate limit is
 *    reached (for every message: the platform refuses more).
 * Times may arrive out of order by a few seconds; an earlier time than the
 * group has seen counts as that latest time. p->prep, when set, must be
 * triage_etiquette_prepare's result for p and r on this etiquette (else it
 * is computed here). Returns NY_OK, or NY_EINVAL for a missing group key. */
int triage_etiquette_decide(triage_etiquette *et, const triage_post *p, const triage_result *r,
                            triage_verdict *v, ny_err *e);

#endif
