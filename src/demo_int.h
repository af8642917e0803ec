/* demo_int.h - what the parts of the demo generator share (internal).
 *
 * demo.c builds the district in memory (a demo_world) and writes it through
 * store.h; demo_names.c supplies names, addresses and other word tables;
 * demo_people.c writes households and enterprises; demo_messages.c writes the
 * year of chat messages with their leads and cases, using the message texts
 * of demo_texts.c. Nothing here is visible outside the demo module (demo.h).
 *
 * Randomness is a xoshiro256** generator seeded through splitmix64. Each
 * stage draws from its own stream (demo_rng_init with a stage tag), so that
 * a change to one stage does not reshuffle the others. */
#ifndef NY_DEMO_INT_H
#define NY_DEMO_INT_H

#include <stddef.h>
#include <stdint.h>

#include "demo.h"

/* ---- random numbers ------------------------------------------------------ */
typedef struct demo_rng {
    uint64_t s[4];
} demo_rng;

/* A 64-bit mix of two values (splitmix64 finaliser); the same inputs always
 * give the same output. Used for per-entity values that must not depend on
 * the order of generation, such as a group member's name. */
static inline uint64_t demo_mix(uint64_t a, uint64_t b)
{
    uint64_t z = a + 0x9e3779b97f4a7c15ULL * (b + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Seeds r for the stream named by tag of the given seed. */
static inline void demo_rng_init(demo_rng *r, uint64_t seed, uint64_t tag)
{
    uint64_t x = demo_mix(seed, tag);
    for (int i = 0; i < 4; i++) {
        x = demo_mix(x, (uint64_t)i);
        r->s[i] = x;
    }
}

/* The next 64 random bits (xoshiro256**). */
static inline uint64_t demo_rng_next(demo_rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t res = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return res;
}

/* A number in 0..n-1 (n > 0); the bias of the multiply-shift is below
 * 2^-32 and does not matter here. */
static inline uint32_t demo_rng_below(demo_rng *r, uint32_t n)
{
    return (uint32_t)(((demo_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* A number in lo..hi inclusive (lo <= hi). */
static inline int demo_rng_range(demo_rng *r, int lo, int hi)
{
    return lo + (int)demo_rng_below(r, (uint32_t)(hi - lo + 1));
}

/* A double in [0, 1). */
static inline double demo_rng_unit(demo_rng *r)
{
    return (double)(demo_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* 1 with probability per_mille / 1000. */
static inline int demo_rng_permille(demo_rng *r, int per_mille)
{
    return (int)demo_rng_below(r, 1000) < per_mille;
}

/* An index 0..n-1 drawn with the given non-negative weights (sum > 0). */
int demo_rng_weighted(demo_rng *r, const int *weights, int n);

/* A random element of an array (not a pointer) of strings. */
#define DEMO_PICK(r, table)                                                                        \
    ((table)[demo_rng_below((r), (uint32_t)(sizeof(table) / sizeof(table)[0]))])

/* ---- the district in memory ------------------------------------------------ */
enum { DEMO_STREETS = 7, DEMO_MAX_COMMS = 80, DEMO_MAX_GRIDS = 600, DEMO_PARKS = 8 };
enum { DEMO_RESIDENT_GROUPS = 820, DEMO_ENTERPRISE_GROUPS = 31 };
enum { DEMO_GROUPS = DEMO_RESIDENT_GROUPS + DEMO_ENTERPRISE_GROUPS };

typedef struct demo_street {
    char code[16];
    const char *name;
    int township; /* 1 for a 乡 (its communities are villages) */
    int64_t id;
    char account[2][16]; /* streetNN, streetNNb */
    char officer[16];    /* the first officer's name */
} demo_street;

typedef struct demo_comm {
    char code[16];
    const char *name;
    int street;
    int village;
    int64_t id;
    int first_grid, n_grids;
    int n_staff;         /* 1 or 2 */
    char account[2][24]; /* comm<code>, comm<code>b */
    char officer[16];    /* the first officer's name */
} demo_comm;

typedef struct demo_grid {
    char code[16];
    char name[48]; /* e.g. 新都社区第三网格 */
    int comm;
    int64_t id;
    int households;
    /* where the grid's homes are: in a town one estate (or a run of its
     * buildings), in a village one or two natural-village groups (组) */
    char road[24];
    int road_no;
    char place[2][24]; /* estate name, or natural-village names */
    int n_places;
    int first_building, n_buildings;
    int stair_units, floors; /* per building of the estate */
    char account[24];        /* gw<grid code> */
    char worker[16];         /* the grid worker's name */
} demo_grid;

typedef struct demo_park {
    const char *name;
    int street; /* owning street, or -1 when a community owns it */
    int comm;   /* owning community, or -1 */
    int n_groups;
    int share;               /* weight for placing firms */
    int industry[4];         /* preferred industries (indexes into demo_industries) */
    int first_firm, n_firms; /* its run in world.firms (stored park by park) */
} demo_park;

typedef struct demo_firm {
    char short_name[16]; /* trade name plus trade, for chat nicknames */
    int park;
    int grid;
} demo_firm;

typedef struct demo_group {
    int64_t id;
    int enterprise;
    int grid;       /* resident groups: the grid; enterprise groups: -1 */
    int park;       /* enterprise groups: the park; resident groups: -1 */
    int unit_level; /* 1 street, 2 community, 3 grid */
    int64_t unit_id;
    int members;
    int activity; /* relative message volume */
    const char *platform;
    char name[64];
} demo_group;

typedef struct demo_world {
    uint64_t seed;
    char district_code[16];
    int64_t district_id;
    demo_street streets[DEMO_STREETS];
    demo_comm comms[DEMO_MAX_COMMS];
    int n_comms;
    demo_grid grids[DEMO_MAX_GRIDS];
    int n_grids;
    demo_park parks[DEMO_PARKS];
    demo_firm *firms;
    int n_firms;
    demo_group groups[DEMO_GROUPS];
    const demo_opts *opts;
} demo_world;

/* Reports progress through the caller's callback, if any. */
void demo_progress(const demo_world *w, const char *stage, long done, long total);

/* The account that handles a case at a level for a group's unit: the grid
 * worker (level 3), the community's or street's first officer, or district1
 * (level 0). For enterprise groups owned by a street, community level is
 * answered by the street. */
const char *demo_account_for(const demo_world *w, const demo_group *g, int level);

/* The unit (its id, and its code in *code) that holds a case at a level
 * (0 district .. 3 grid) for a message of group g: the group's own unit or
 * the one above it at that level. A level finer than the group's unit (a
 * grid for a park's group) means the group's unit itself. */
int64_t demo_unit_id_for(const demo_world *w, const demo_group *g, int level, const char **code);

/* The district department responsible for a category (index in
 * domain_categories, 0..6), and its account in *account when not NULL. */
const char *demo_department(int category, const char **account);

/* ---- names and word tables (demo_names.c) ------------------------------- */
extern const char *const demo_industries[]; /* NULL-terminated */
enum { DEMO_N_INDUSTRIES = 14 };

/* A realistic Chinese personal name (common surnames weighted; one- or
 * two-character given name) into out (>= 16 bytes). */
void demo_person_name(demo_rng *r, char *out, size_t outsz);

/* A surname alone, weighted like demo_person_name's. */
const char *demo_surname(demo_rng *r);

/* An 11-digit mainland mobile number into out (>= 12 bytes). */
void demo_mobile(demo_rng *r, char *out, size_t outsz);

/* The i-th of a district-wide list of distinct estate names (i < 448) into
 * out (>= 24 bytes); the order of the list depends on the seed. */
void demo_estate_name(uint64_t seed, int i, char *out, size_t outsz);

/* The i-th of a district-wide list of distinct natural-village names (i <
 * 640), e.g. "张洼", into out (>= 16 bytes); the order depends on the seed. */
void demo_hamlet_name(uint64_t seed, int i, char *out, size_t outsz);

/* A road of the new district's street grid, e.g. "新七大街". */
const char *demo_road(demo_rng *r);

/* A firm of the given industry: full registered name into name (>= 80
 * bytes) and a short form (trade name plus trade) into short_name (>= 16
 * bytes). kind is 0 company (有限公司), 1 individual business, 2 farmers'
 * cooperative. */
void demo_firm_name(demo_rng *r, int industry, int kind, char *name, size_t namesz,
                    char *short_name, size_t shortsz);

/* A WeChat-style nickname without a full name, e.g. "岁月静好",
 * "豆豆妈妈", "老王", into out (>= 40 bytes). */
void demo_nickname(demo_rng *r, char *out, size_t outsz);

/* The Chinese numeral for 1..99 ("一" .. "九十九") into out (>= 16 bytes). */
void demo_numeral(int n, char *out, size_t outsz);

/* ---- households and enterprises (demo_people.c) -------------------------- */

/* Decides how many households each grid holds (about 130,000 in all) and
 * writes them, with addresses, sizes and phones, in batches. */
int demo_households(store *s, demo_world *w, ny_err *e);

/* Places about 2,300 enterprises in the parks' grids, fills w->firms (the
 * caller frees it) and writes them with valid credit codes. */
int demo_enterprises(store *s, demo_world *w, ny_err *e);

/* ---- chat messages, leads and cases (demo_messages.c) -------------------- */

/* Writes w->opts->messages messages over the demo year, and a lead and a
 * case with its event log for every message that asks for a person. */
int demo_messages(store *s, demo_world *w, ny_err *e);

/* ---- message texts (demo_texts.c) ----------------------------------------- */

/* What a message is about, as the generator decided it. */
typedef struct demo_text_req {
    const demo_world *w;
    const demo_group *g;   /* the group it is written in */
    int intent;            /* index in domain_intents */
    int from_staff;        /* written by the grid worker or park officer */
    int hour, month, mday; /* local time of sending */
} demo_text_req;

/* A message text and, for messages that become cases, the case's short
 * title, location and urgency class (0 emergency, 1 utility, 2 general,
 * 3 complex, as in the 12345 rules). */
typedef struct demo_text {
    char text[512];
    int category; /* index in domain_categories */
    char title[64];
    char location[112];
    int urgency;
} demo_text;

/* Writes a message of the requested intent for the group and time into out,
 * drawing the template and its slot fillers from r. */
void demo_text_make(demo_rng *r, const demo_text_req *q, demo_text *out);

#endif
