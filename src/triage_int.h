/* triage_int.h - internals shared by the files of the triage module.
 *
 * triage.c owns the engine, the lexicon versions and the pipeline;
 * triage_org.c the unit tree, staff and groups read from a database;
 * triage_decide.c the decision (who is told, reply, priority) and the cue
 * words it needs, which triage.c compiles into every lexicon version next to
 * the lexicon's own entries. Not for other modules: they use triage.h. */
#ifndef NY_TRIAGE_INT_H
#define NY_TRIAGE_INT_H

#include <stdatomic.h>

#include "match.h"
#include "model.h"
#include "norm.h"
#include "policy.h"
#include "triage.h"

/* Flags of a compiled entry: lexicon actions, and the cue kinds of the
 * decision's own words (triage_decide.c). */
enum {
    TRI_URGENT = 1u << 0,    /* lexicon action "urgent" */
    TRI_COMMUNITY = 1u << 1, /* lexicon action "notify_community" (complaints, disputes) */
    TRI_FIRE = 1u << 2,      /* cue: call 119 */
    TRI_MEDICAL = 1u << 3,   /* cue: call 120 */
    TRI_POLICE = 1u << 4,    /* cue: call 110 */
    TRI_DISTRICT = 1u << 5,  /* cue: a matter for the district department of cue_category */
};

/* One entry of a lexicon version: a lexicon row, or (index >= nlex) a cue. */
typedef struct tri_entry {
    const char *term, *intent, *category, *action; /* "" when absent */
    float weight;
    unsigned flags;
    int cue_category; /* TRI_DISTRICT cues: index into domain_categories */
    size_t nfeat;     /* keyword features of a lexicon row (model_hint_features) */
    model_extra feat[3];
} tri_entry;

/* A decision cue word (triage_decide.c). */
typedef struct tri_cue {
    const char *term;
    unsigned flags;
    int category; /* for TRI_DISTRICT, else -1 */
} tri_cue;

extern const tri_cue tri_cues[];
extern const size_t tri_ncues;

/* What the keyword pass found that the decision needs. */
typedef struct tri_signals {
    unsigned flags;         /* union of the flags of every hit */
    unsigned district_mask; /* bit c: a district cue of category c */
} tri_signals;

/* ---- organisation (triage_org.c) ---- */

typedef struct tri_unit {
    char *code, *name;
    int level;    /* domain_level() */
    int parent;   /* index, -1 for the root */
    int staff[4]; /* per level (district, street, community, grid): the first
                     staff member with that level's role in this unit, as an
                     index into staff, or -1 */
} tri_unit;

typedef struct tri_staff {
    char *account, *name, *department;
} tri_staff;

typedef struct tri_group {
    char *external_id, *platform, *kind, *unit_code;
} tri_group;

typedef struct tri_org {
    tri_unit *units; /* ordered by code */
    size_t nunits;
    tri_staff *staff;
    size_t nstaff;
    tri_group *groups; /* ordered by external id, then platform */
    size_t ngroups;
    int district;       /* unit index of the district, or -1 */
    int dept_staff[16]; /* per category index: a department account, or -1 */
    int loaded;         /* 1 when read from a database */
} tri_org;

/* Reads units, staff and groups of db into o (zeroed by the caller); the
 * department of category c is the staff member whose department is
 * tri_department_name(c). Returns NY_OK or the store's error / NY_ERR. */
int tri_org_load(tri_org *o, store *db, ny_err *e);

/* Frees what tri_org_load allocated and zeroes o. */
void tri_org_free(tri_org *o);

/* Index of the unit with code, or -1. */
int tri_org_unit(const tri_org *o, const char *code);

/* The group with external id, or NULL. */
const tri_group *tri_org_group(const tri_org *o, const char *external_id);

/* ---- the engine, shared with the decision ---- */

/* One lexicon version: compiled automaton plus its entries. Reference
 * counted by the workspaces that scanned with it; freed once retired (no
 * longer current) and unreferenced. */
typedef struct tri_lex {
    match_set *set;
    tri_entry *ent;
    size_t nlex, ntotal; /* lexicon rows, rows plus cues */
    size_t rule_base;    /* the safety rule's terms (after the decision cues) */
    size_t nrule;        /* how many: 0 when the rule scans on its own */
    char *pool;          /* the strings of ent */
    long refs;           /* workspaces holding it (under the engine's lock) */
    int retired;
    struct tri_lex *next;
} tri_lex;

struct triage_engine {
    norm_table *nt;
    match_holder *holder;
    atomic_flag lock;    /* guards lexes and every refs/retired */
    atomic_flag publish; /* serialises lexicon publications */
    tri_lex *lexes;      /* every version still alive */
    model_clf *intent_m, *category_m;
    model_joint *joint; /* both models in one table, or NULL (they hash differently) */
    model_clf *long_m;  /* category of long texts (appeals), or NULL */
    int long_map[MODEL_MAX_CLASSES];
    int intent_map[MODEL_MAX_CLASSES], category_map[MODEL_MAX_CLASSES];
    model_extra said[MODEL_MAX_CLASSES]; /* per intent (domain_intents): what the
                                            category model reads of it */
    policy_list policies;
    policy_index *pix;
    uint32_t *cuts; /* per policy: tri_cut of its summary and of its how_to_apply */
    tri_org org;
    char *lexicon_path;
};

struct triage_ws {
    triage_engine *en;
    tri_lex *lex; /* the version of the last scan (a reference), or NULL */
    norm_buf nb;
    match_hits hits;
    model_ws *mi, *mc, *ml;
    triage_keyword *kw;
    size_t kwcap;
    uint32_t *seen; /* per entry of lex: stamp of the last message that hit it */
    size_t seencap;
    uint32_t stamp;
    model_extra extra[MODEL_MAX_EXTRA];
    char *reply; /* reply text buffer */
    size_t replycap;
    uint32_t cut[2]; /* the cuts (engine's cuts) of the best policy found */
};

/* Lexicon rows with owned strings (triage_rows.c), collected from the CSV
 * file or the database; the strings sit in an arena of blocks. */
typedef struct tri_lexblock tri_lexblock;
typedef struct tri_lexrows {
    store_lexeme *v;
    size_t n, cap;
    tri_lexblock *blocks;
} tri_lexrows;

/* Frees the rows and their strings and empties l. */
void tri_lexrows_free(tri_lexrows *l);

/* store_lexicon_each callback: appends a copy of *x to the tri_lexrows ctx.
 * Returns NY_OK or NY_ERR (out of memory; the row is not added). */
int tri_lexrows_add(void *ctx, const store_lexeme *x);

/* Appends the rows of the lexicon CSV at path (header term,kind,intent,
 * category,weight,action). Returns NY_OK, NY_ENOTFOUND, NY_EINVAL (with the
 * file and line) or NY_ERR. */
int tri_lexrows_load_csv(tri_lexrows *l, const char *path, ny_err *e);

/* The result of a store_*_each call whose callback may have stopped it for
 * want of memory without a message (e was cleared before the call): rc,
 * with "out of memory" set when e has no message. */
int tri_each_result(int rc, ny_err *e);

/* Where a reply cuts s, a policy's text: at its first stop or after max
 * characters; a sentence ends at "。！？", kept, a clause at "；。", dropped.
 * Returns the bytes kept times 2, plus 1 when s goes on past max (the reply
 * adds "…"). The engine cuts every policy's texts once, when it loads them
 * (the same words every time a policy is the answer). */
uint32_t tri_cut(const char *s, int sentence, size_t max);

/* The department that handles category c (index into domain_categories) at
 * district level, or NULL for 无. */
const char *tri_department_name(int category);

/* Fills r->notify, r->reply and r->priority from r's intent, category and
 * policies, the signals of the keyword pass and the group g (may be NULL).
 * The reply is written into ws->reply. Returns NY_OK or NY_ERR. */
int tri_decide(const triage_engine *en, triage_ws *ws, const triage_group *g, const tri_signals *s,
               triage_result *r, ny_err *e);

#endif
