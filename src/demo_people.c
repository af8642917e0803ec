/* demo_people.c - the demo district's households and enterprises.
 *
 * Part of the demo generator (demo.c runs it after the unit tree and the
 * staff). Households: about 130,000, spread over the grids in proportion to
 * a per-grid size (town grids larger than village grids). A town grid's
 * homes are a run of buildings of one of its community's estates, addressed
 * road-number-estate-building-entrance-flat; a village grid's homes are one
 * or two natural-village groups (组) with house numbers. Household sizes
 * follow a census-like distribution, a little larger in the villages.
 * Enterprises: about 2,300 firms placed in the grids of the eight industrial
 * parks, with industries the park favours, distinct names and valid unified
 * social credit codes (organisation code with its GB 11714 check character,
 * then the GB 32100 check character from domain.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_int.h"
#include "domain.h"

enum { BATCH = 2000 };

/* ---- a small set of 64-bit string hashes ------------------------------- */
typedef struct hset {
    uint64_t *slot;
    size_t cap; /* power of two */
} hset;

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h ? h : 1;
}

/* Adds s; returns 1 if it was new, 0 if already present. */
static int hset_add(hset *h, const char *s)
{
    uint64_t x = str_hash(s);
    for (size_t i = x & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
        if (h->slot[i] == x)
            return 0;
        if (h->slot[i] == 0) {
            h->slot[i] = x;
            return 1;
        }
    }
}

/* ---- households ------------------------------------------------------- */

/* Household size 1..6: towns after the census shares, villages larger. */
static int household_size(demo_rng *r, int village)
{
    static const int town[6] = {22, 30, 24, 14, 6, 4};
    static const int vill[6] = {18, 25, 18, 18, 13, 8};
    return 1 + demo_rng_weighted(r, village ? vill : town, 6);
}

/* Gives each grid its share of the district's households. */
static long plan_households(demo_world *w, demo_rng *r)
{
    long weight[DEMO_MAX_GRIDS], total_w = 0;
    for (int i = 0; i < w->n_grids; i++) {
        int village = w->comms[w->grids[i].comm].village;
        weight[i] = (village ? 190 : 330) * demo_rng_range(r, 80, 120);
        total_w += weight[i];
    }
    long target = 130000 + demo_rng_range(r, -2500, 2500), given = 0;
    for (int i = 0; i < w->n_grids; i++) {
        w->grids[i].households = (int)(target * weight[i] / total_w);
        given += w->grids[i].households;
    }
    for (int i = 0; given < target; i = (i + 1) % w->n_grids, given++)
        w->grids[i].households++;
    return target;
}

/* An estate of a town community while its buildings are handed out. */
typedef struct estate {
    char name[24], road[24];
    int road_no, stair_units, floors, next_building;
} estate;

/* Decides where each grid's homes are: estates and buildings in towns,
 * natural-village groups in villages. */
static void plan_places(demo_world *w, demo_rng *r)
{
    int estate_i = 0, hamlet_i = 0;
    for (int ci = 0; ci < w->n_comms; ci++) {
        demo_comm *c = &w->comms[ci];
        estate es[4];
        int ne = c->village ? 0 : demo_rng_range(r, 2, c->n_grids < 6 ? 3 : 4);
        for (int k = 0; k < ne; k++) {
            static const int floors[] = {6, 11, 11, 18, 18, 26, 33};
            demo_estate_name(w->seed, estate_i++, es[k].name, sizeof es[k].name);
            snprintf(es[k].road, sizeof es[k].road, "%s", demo_road(r));
            es[k].road_no = demo_rng_range(r, 1, 320);
            es[k].floors = DEMO_PICK(r, floors);
            /* walk-ups have more entrances than towers */
            es[k].stair_units = es[k].floors <= 6 ? 4 : es[k].floors <= 11 ? 3 : 2;
            es[k].next_building = 1;
        }
        for (int gi = 0; gi < c->n_grids; gi++) {
            demo_grid *g = &w->grids[c->first_grid + gi];
            if (c->village) {
                g->n_places = g->households < 170 ? 1 : 2;
                for (int k = 0; k < g->n_places; k++)
                    demo_hamlet_name(w->seed, hamlet_i++, g->place[k], sizeof g->place[k]);
                continue;
            }
            estate *x = &es[gi % ne];
            g->n_places = 1;
            snprintf(g->place[0], sizeof g->place[0], "%s", x->name);
            snprintf(g->road, sizeof g->road, "%s", x->road);
            g->road_no = x->road_no;
            g->stair_units = x->stair_units;
            g->floors = x->floors;
            g->first_building = x->next_building;
            /* flats a building holds, about 85% of them registered */
            int per = x->stair_units * x->floors * 2 * 85 / 100;
            g->n_buildings = (g->households + per - 1) / per;
            x->next_building += g->n_buildings + 1;
        }
    }
}

/* Row storage for one batch of households. */
typedef struct hh_row {
    char code[24], address[112], phone[12];
} hh_row;

int demo_households(store *s, demo_world *w, ny_err *e)
{
    demo_rng r;
    demo_rng_init(&r, w->seed, 0x686f757365);
    long total = plan_households(w, &r), done = 0;
    plan_places(w, &r);
    hh_row *rows = malloc(BATCH * sizeof *rows);
    store_household *h = malloc(BATCH * sizeof *h);
    if (!rows || !h) {
        free(rows);
        free(h);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    demo_progress(w, "households", 0, total);
    int rc = NY_OK, n = 0;
    for (int gi = 0; gi < w->n_grids && rc == NY_OK; gi++) {
        const demo_grid *g = &w->grids[gi];
        const demo_comm *c = &w->comms[g->comm];
        const char *street = w->streets[c->street].name;
        /* the position of the next home: building/entrance/floor/flat in a
         * town, group/house number in a village */
        int b = g->first_building, u = 1, fl = 1, flat = 0, place = 0, house = 0;
        for (int k = 0; k < g->households && rc == NY_OK; k++) {
            hh_row *x = &rows[n];
            snprintf(x->code, sizeof x->code, "%s-%04d", g->code, k + 1);
            if (c->village) {
                if (k >= (place + 1) * g->households / g->n_places)
                    place++, house = 0;
                house += demo_rng_permille(&r, 90) ? 2 : 1; /* some numbers are gone */
                snprintf(x->address, sizeof x->address, "%s%s%s组%d号", street, c->name,
                         g->place[place], house);
            } else {
                do { /* skip flats nobody registered */
                    if (++flat > 2) {
                        flat = 1;
                        if (++fl > g->floors) {
                            fl = 1;
                            if (++u > g->stair_units)
                                u = 1, b++;
                        }
                    }
                } while (demo_rng_permille(&r, 150));
                snprintf(x->address, sizeof x->address, "%s%d号%s%d号楼%d单元%d%02d室", g->road,
                         g->road_no, g->place[0], b, u, fl, flat);
            }
            if (demo_rng_permille(&r, 970))
                demo_mobile(&r, x->phone, sizeof x->phone);
            else
                x->phone[0] = '\0';
            h[n] = (store_household){
                0, x->code, g->code, x->address, household_size(&r, c->village), x->phone};
            if (++n == BATCH) {
                rc = store_household_put_batch(s, h, (size_t)n, NULL, e);
                done += n, n = 0;
                demo_progress(w, "households", done, total);
            }
        }
    }
    if (rc == NY_OK && n > 0) {
        rc = store_household_put_batch(s, h, (size_t)n, NULL, e);
        done += n;
    }
    free(rows);
    free(h);
    if (rc == NY_OK)
        demo_progress(w, "households", done, total);
    return rc;
}

/* ---- enterprises ----------------------------------------------------- */

/* 17 characters and the GB 32100 check character: registration authority
 * and type (91 company, 92 individual business, 93 cooperative), region
 * 411571, then a 9-character organisation code whose last character is its
 * GB 11714 check. */
static void make_uscc(demo_rng *r, int kind, char out[19])
{
    static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    static const int weight[8] = {3, 7, 9, 10, 5, 8, 4, 2};
    char org[9];
    int i = 0, newer = demo_rng_permille(r, 700);
    if (newer) { /* the newer codes begin with MA and mix in letters */
        org[i++] = 'M';
        org[i++] = 'A';
    }
    for (; i < 8; i++)
        org[i] = alphabet[demo_rng_below(r, newer ? 31 : 10)];
    int sum = 0;
    for (i = 0; i < 8; i++) {
        char ch = org[i];
        int v = ch <= '9' ? ch - '0' : ch - 'A' + 10;
        sum += v * weight[i];
    }
    int c9 = 11 - sum % 11;
    org[8] = c9 == 10 ? 'X' : c9 == 11 ? '0' : (char)('0' + c9);
    snprintf(out, 19, "9%d411571%.9s", kind + 1, org);
    out[17] = domain_uscc_check_char(out);
    out[18] = '\0';
}

/* The grids a park's firms may sit in: all grids of the owning community
 * or street. */
static int park_grids(const demo_world *w, const demo_park *pk, int *out)
{
    int n = 0;
    for (int ci = 0; ci < w->n_comms; ci++) {
        const demo_comm *c = &w->comms[ci];
        if (pk->comm >= 0 ? ci != pk->comm : c->street != pk->street)
            continue;
        for (int gi = 0; gi < c->n_grids; gi++)
            out[n++] = c->first_grid + gi;
    }
    return n;
}

typedef struct firm_row {
    char uscc[19], name[96];
} firm_row;

static int pick_industry(demo_rng *r, const demo_park *pk)
{
    static const int pref[4] = {50, 25, 15, 10};
    if (demo_rng_permille(r, 760))
        return pk->industry[demo_rng_weighted(r, pref, 4)];
    return (int)demo_rng_below(r, DEMO_N_INDUSTRIES);
}

/* 0 company, 1 individual business, 2 farmers' cooperative */
static int pick_kind(demo_rng *r, int industry, int village)
{
    const char *ind = demo_industries[industry];
    int farm = strcmp(ind, "茶叶") == 0 || strcmp(ind, "中药材") == 0 ||
               strcmp(ind, "花卉苗木") == 0 || strcmp(ind, "农副产品加工") == 0;
    int shop = strcmp(ind, "餐饮") == 0 || strcmp(ind, "商贸") == 0 || strcmp(ind, "汽车服务") == 0;
    if (farm && demo_rng_permille(r, village ? 300 : 100))
        return 2;
    if (demo_rng_permille(r, shop ? 260 : 60))
        return 1;
    return 0;
}

/* Draws the firms park by park into w->firms, rows and x. */
static void make_firms(demo_world *w, demo_rng *r, const int *count, firm_row *rows,
                       store_enterprise *x, hset *names, hset *codes)
{
    int grids[DEMO_MAX_GRIDS], n = 0;
    for (int p = 0; p < DEMO_PARKS; p++) {
        demo_park *pk = &w->parks[p];
        int ng = park_grids(w, pk, grids);
        pk->first_firm = n;
        pk->n_firms = count[p];
        for (int k = 0; k < count[p]; k++, n++) {
            demo_firm *f = &w->firms[n];
            f->park = p;
            f->grid = grids[demo_rng_below(r, (uint32_t)ng)];
            int industry = pick_industry(r, pk);
            int kind = pick_kind(r, industry, w->comms[w->grids[f->grid].comm].village);
            /* names need not be unique, but look better so */
            for (int tries = 0; tries < 200; tries++) {
                demo_firm_name(r, industry, kind, rows[n].name, sizeof rows[n].name, f->short_name,
                               sizeof f->short_name);
                if (hset_add(names, rows[n].name))
                    break;
            }
            do
                make_uscc(r, kind, rows[n].uscc);
            while (!hset_add(codes, rows[n].uscc));
            x[n] = (store_enterprise){0, rows[n].uscc, rows[n].name, demo_industries[industry],
                                      w->grids[f->grid].code};
        }
    }
    w->n_firms = n;
}

int demo_enterprises(store *s, demo_world *w, ny_err *e)
{
    demo_rng r;
    demo_rng_init(&r, w->seed, 0x6669726d73);
    int total = 2300 + demo_rng_range(&r, -60, 60);
    int shares[DEMO_PARKS], count[DEMO_PARKS] = {0};
    for (int p = 0; p < DEMO_PARKS; p++)
        shares[p] = w->parks[p].share;
    for (int i = 0; i < total; i++)
        count[demo_rng_weighted(&r, shares, DEMO_PARKS)]++;
    enum { SET = 8192 }; /* a power of two above twice the firms */
    w->firms = calloc((size_t)total, sizeof *w->firms);
    firm_row *rows = malloc((size_t)total * sizeof *rows);
    store_enterprise *x = malloc((size_t)total * sizeof *x);
    hset names = {calloc(SET, sizeof(uint64_t)), SET}, codes = {calloc(SET, sizeof(uint64_t)), SET};
    int rc = NY_OK;
    if (!w->firms || !rows || !x || !names.slot || !codes.slot) {
        rc = ny_err_set(e, NY_ERR, "out of memory");
    } else {
        demo_progress(w, "enterprises", 0, total);
        make_firms(w, &r, count, rows, x, &names, &codes);
        for (int i = 0; i < w->n_firms && rc == NY_OK; i += 500) {
            int m = w->n_firms - i < 500 ? w->n_firms - i : 500;
            rc = store_enterprise_put_batch(s, x + i, (size_t)m, NULL, e);
            if (rc == NY_OK)
                demo_progress(w, "enterprises", i + m, w->n_firms);
        }
    }
    free(rows);
    free(x);
    free(names.slot);
    free(codes.slot);
    return rc;
}
