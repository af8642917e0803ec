/* demo.c - the demo district generator: unit tree, staff, chat groups.
 *
 * demo_generate() (demo.h) is the back end of `nuanyang demo`. It opens one
 * transaction, refuses a database that already holds units, and then builds
 * the district stage by stage: the fixed unit tree of 羊山新区 (seven streets
 * and townships, 71 communities and villages, 414 grids), the staff accounts
 * of every level (their login names are documented in demo.h), the
 * demo passwords of one login per role (auth.h), the households and
 * enterprises (demo_people.c), the 820 resident and 31 enterprise chat
 * groups, and finally the optional year of messages with leads and cases
 * (demo_messages.c). The tree and the accounts do not depend on the seed;
 * everything else does, through per-stage random streams (demo_int.h), so
 * equal seeds give equal databases (password hashes aside: their salts are
 * random, and the digest leaves credentials out). */
#include "demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "demo_int.h"
#include "domain.h"
#include "store_outbox.h"

/* ---- the fixed tree ------------------------------------------------------ */
static const struct {
    const char *name;
    int township;
    const char *comms[13]; /* NULL-terminated */
} tree[DEMO_STREETS] = {
    {"前进街道",
     0,
     {"新都社区", "前进社区", "奥运社区", "新湖社区", "金桥社区", "和平社区", "光明社区",
      "宝石社区", "胜利社区", "建设社区", "兴业社区", "同心社区", NULL}},
    {"羊山街道",
     0,
     {"羊山社区", "文博社区", "翠湖社区", "学府社区", "状元社区", "香樟社区", "新城社区",
      "龙山社区", "青年社区", "花园社区", "百花社区", NULL}},
    {"新华街道",
     0,
     {"新华社区", "新建社区", "民主社区", "春晖社区", "工农社区", "团结社区", "东湖社区",
      "明珠社区", "锦绣社区", "振兴社区", NULL}},
    {"北湖街道",
     0,
     {"北湖社区", "三桥社区", "湖滨社区", "北苑社区", "望湖社区", "银湖社区", "天湖社区",
      "金山社区", "秀水社区", "福安社区", NULL}},
    {"湖东街道",
     0,
     {"湖东社区", "东方社区", "朝阳社区", "东升社区", "紫荆社区", "丰收社区", "长兴社区",
      "康宁社区", "滨河社区", NULL}},
    {"彭家湾乡",
     1,
     {"彭家湾村", "潘寨村", "石子岗村", "苏庙村", "董岗村", "银钱村", "黄湾村", "五里村", "郭冲村",
      "刘洼村", NULL}},
    {"十三里桥乡",
     1,
     {"十三里桥村", "前楼村", "柳林村", "双塘村", "许湾村", "周岗村", "杨店村", "龙井村", "高庙村",
      NULL}},
};

/* Industrial parks: the units that own the 31 enterprise groups. */
static const struct {
    const char *name;
    const char *owner; /* a street or community name */
    int n_groups, share;
    const char *industry[4];
} parks[DEMO_PARKS] = {
    {"电子信息产业园", "北湖街道", 7, 26, {"电子信息", "新能源", "物流", "商贸"}},
    {"绿色家具产业园", "羊山街道", 6, 20, {"绿色家具", "建材", "物流", "商贸"}},
    {"电商小镇", "文博社区", 3, 9, {"商贸", "餐饮", "纺织服装", "茶叶"}},
    {"农副产品加工园", "十三里桥乡", 4, 12, {"农副产品加工", "茶叶", "物流", "餐饮"}},
    {"现代物流园", "湖东街道", 3, 9, {"物流", "汽车服务", "商贸", "建材"}},
    {"花卉苗木中药材基地", "潘寨村", 2, 5, {"花卉苗木", "中药材", "农副产品加工", "茶叶"}},
    {"新型建材产业园", "三桥社区", 2, 6, {"建材", "建筑工程", "物流", "新能源"}},
    {"前进商贸服务区", "前进街道", 4, 13, {"餐饮", "商贸", "汽车服务", "建筑工程"}},
};

/* District departments, one account each, by category (domain_categories
 * order; 无 has none). */
static const struct {
    const char *account, *name;
} departments[7] = {
    {"dept-zhujian", "区住建局"},      {"dept-huanbao", "区生态环境分局"},
    {"dept-jiaotong", "区交通运输局"}, {"dept-jiaoti", "区教体局"},
    {"dept-renshe", "区人社局"},       {"dept-shangwu", "区商务局"},
    {"dept-weijian", "区卫健委"},
};

const demo_login demo_logins[DEMO_LOGINS] = {
    {"admin", "admin", "羊山新区"},
    {"district", "district1", "羊山新区"},
    {"street", "street01", "前进街道"},
    {"community", "comm411571001001", "新都社区"},
    {"grid_worker", "gw411571001001001", "新都社区第一网格"},
    {"department", "dept-zhujian", "区住建局"},
};

void demo_progress(const demo_world *w, const char *stage, long done, long total)
{
    if (w->opts->progress)
        w->opts->progress(w->opts->progress_ctx, stage, done, total);
}

const char *demo_department(int category, const char **account)
{
    if (category < 0 || category > 6)
        category = 0;
    if (account)
        *account = departments[category].account;
    return departments[category].name;
}

const char *demo_account_for(const demo_world *w, const demo_group *g, int level)
{
    if (level > g->unit_level)
        level = g->unit_level;
    int comm = -1, street = -1;
    if (g->grid >= 0) {
        comm = w->grids[g->grid].comm;
        street = w->comms[comm].street;
    } else if (w->parks[g->park].comm >= 0) {
        comm = w->parks[g->park].comm;
        street = w->comms[comm].street;
    } else {
        street = w->parks[g->park].street;
    }
    switch (level) {
    case 3:
        return w->grids[g->grid].account;
    case 2:
        return w->comms[comm].account[0];
    case 1:
        return w->streets[street].account[0];
    default:
        return "district1";
    }
}

int64_t demo_unit_id_for(const demo_world *w, const demo_group *g, int level, const char **code)
{
    int comm = -1, street;
    if (level > g->unit_level)
        level = g->unit_level;
    if (g->grid >= 0)
        comm = w->grids[g->grid].comm;
    else
        comm = w->parks[g->park].comm;
    street = comm >= 0 ? w->comms[comm].street : w->parks[g->park].street;
    if (level == 3) {
        *code = w->grids[g->grid].code;
        return w->grids[g->grid].id;
    }
    if (level == 2) {
        *code = w->comms[comm].code;
        return w->comms[comm].id;
    }
    if (level == 1) {
        *code = w->streets[street].code;
        return w->streets[street].id;
    }
    *code = w->district_code;
    return w->district_id;
}

/* Lays out the tree in memory: codes, names, accounts. */
static void layout(demo_world *w)
{
    snprintf(w->district_code, sizeof w->district_code, "411571000000");
    int town_i = 0, village_i = 0;
    for (int si = 0; si < DEMO_STREETS; si++) {
        demo_street *st = &w->streets[si];
        unsigned sn = (unsigned)(si + 1) % 100;
        snprintf(st->code, sizeof st->code, "411571%03u000", sn);
        st->name = tree[si].name;
        st->township = tree[si].township;
        snprintf(st->account[0], sizeof st->account[0], "street%02u", sn);
        snprintf(st->account[1], sizeof st->account[1], "street%02ub", sn);
        for (int ci = 0; tree[si].comms[ci]; ci++) {
            demo_comm *c = &w->comms[w->n_comms];
            char code[16], gcode[32]; /* built apart: w must not be both source and target */
            snprintf(code, sizeof code, "411571%03d%03d", (si + 1) % 1000, (ci + 1) % 1000);
            memcpy(c->code, code, sizeof code);
            c->name = tree[si].comms[ci];
            c->street = si;
            c->village = st->township;
            /* towns: 5..8 grids a community, villages 3..5 a village */
            c->n_grids = c->village ? 3 + (village_i++ * 2 + 1) % 3 : 5 + (town_i++ * 5 + 1) % 4;
            c->first_grid = w->n_grids;
            c->n_staff = 1 + (ci % 5 != 2); /* most have two officers */
            snprintf(c->account[0], sizeof c->account[0], "comm%s", code);
            snprintf(c->account[1], sizeof c->account[1], "comm%sb", code);
            for (int gi = 0; gi < c->n_grids; gi++) {
                demo_grid *g = &w->grids[w->n_grids++];
                char num[16];
                demo_numeral(gi + 1, num, sizeof num);
                snprintf(gcode, sizeof gcode, "%.12s%03d", code, (gi + 1) % 1000);
                memcpy(g->code, gcode, sizeof g->code);
                snprintf(g->name, sizeof g->name, "%s第%s网格", tree[si].comms[ci], num);
                snprintf(g->account, sizeof g->account, "gw%.15s", gcode);
                g->comm = w->n_comms;
            }
            w->n_comms++;
        }
    }
    for (int p = 0; p < DEMO_PARKS; p++) {
        demo_park *pk = &w->parks[p];
        pk->name = parks[p].name;
        pk->n_groups = parks[p].n_groups;
        pk->share = parks[p].share;
        pk->street = pk->comm = -1;
        for (int si = 0; si < DEMO_STREETS; si++)
            if (strcmp(w->streets[si].name, parks[p].owner) == 0)
                pk->street = si;
        for (int ci = 0; ci < w->n_comms; ci++)
            if (strcmp(w->comms[ci].name, parks[p].owner) == 0)
                pk->comm = ci;
        for (int k = 0; k < 4; k++)
            pk->industry[k] = domain_index(demo_industries, parks[p].industry[k]);
    }
}

/* ---- stages ---------------------------------------------------------------- */
static int put_units(store *s, demo_world *w, ny_err *e)
{
    enum { TOTAL = 1 + DEMO_STREETS };
    long total = TOTAL + w->n_comms + w->n_grids;
    store_unit u[DEMO_MAX_GRIDS];
    int64_t ids[DEMO_MAX_GRIDS];
    int rc;
    demo_progress(w, "units", 0, total);
    u[0] = (store_unit){0, w->district_code, "羊山新区", "district", NULL};
    if ((rc = store_unit_put_batch(s, u, 1, ids, e)) != NY_OK)
        return rc;
    w->district_id = ids[0];
    for (int i = 0; i < DEMO_STREETS; i++)
        u[i] = (store_unit){0, w->streets[i].code, w->streets[i].name, "street", w->district_code};
    if ((rc = store_unit_put_batch(s, u, DEMO_STREETS, ids, e)) != NY_OK)
        return rc;
    for (int i = 0; i < DEMO_STREETS; i++)
        w->streets[i].id = ids[i];
    for (int i = 0; i < w->n_comms; i++)
        u[i] = (store_unit){0, w->comms[i].code, w->comms[i].name, "community",
                            w->streets[w->comms[i].street].code};
    if ((rc = store_unit_put_batch(s, u, (size_t)w->n_comms, ids, e)) != NY_OK)
        return rc;
    for (int i = 0; i < w->n_comms; i++)
        w->comms[i].id = ids[i];
    for (int i = 0; i < w->n_grids; i++)
        u[i] = (store_unit){0, w->grids[i].code, w->grids[i].name, "grid",
                            w->comms[w->grids[i].comm].code};
    if ((rc = store_unit_put_batch(s, u, (size_t)w->n_grids, ids, e)) != NY_OK)
        return rc;
    for (int i = 0; i < w->n_grids; i++)
        w->grids[i].id = ids[i];
    demo_progress(w, "units", total, total);
    return NY_OK;
}

/* One staff row with its own name and phone strings. */
typedef struct staff_row {
    char account[24], name[16], phone[12];
    const char *role, *unit_code, *department;
} staff_row;

static void staff_fill(demo_rng *r, staff_row *p, const char *account, const char *role,
                       const char *unit_code, const char *department)
{
    snprintf(p->account, sizeof p->account, "%s", account);
    demo_person_name(r, p->name, sizeof p->name);
    demo_mobile(r, p->phone, sizeof p->phone);
    p->role = role;
    p->unit_code = unit_code;
    p->department = department;
}

static int put_staff(store *s, demo_world *w, ny_err *e)
{
    enum { MAX = DEMO_MAX_GRIDS + 2 * DEMO_MAX_COMMS + 2 * DEMO_STREETS + 16 };
    staff_row *rows = calloc(MAX, sizeof *rows);
    store_staff *st = calloc(MAX, sizeof *st);
    if (!rows || !st) {
        free(rows);
        free(st);
        return ny_err_set(e, NY_ERR, "out of memory");
    }
    demo_rng r;
    demo_rng_init(&r, w->seed, 0x7374616666);
    int n = 0;
    char acc[24];
    staff_fill(&r, &rows[n++], "admin", "admin", w->district_code, "");
    for (int i = 1; i <= 3; i++) {
        snprintf(acc, sizeof acc, "district%d", i);
        staff_fill(&r, &rows[n++], acc, "district", w->district_code, "");
    }
    for (int i = 0; i < 7; i++)
        staff_fill(&r, &rows[n++], departments[i].account, "department", w->district_code,
                   departments[i].name);
    for (int i = 0; i < DEMO_STREETS; i++) {
        for (int k = 0; k < 2; k++)
            staff_fill(&r, &rows[n + k], w->streets[i].account[k], "street", w->streets[i].code,
                       "");
        snprintf(w->streets[i].officer, sizeof w->streets[i].officer, "%s", rows[n].name);
        n += 2;
    }
    for (int i = 0; i < w->n_comms; i++) {
        for (int k = 0; k < w->comms[i].n_staff; k++)
            staff_fill(&r, &rows[n + k], w->comms[i].account[k], "community", w->comms[i].code, "");
        snprintf(w->comms[i].officer, sizeof w->comms[i].officer, "%s", rows[n].name);
        n += w->comms[i].n_staff;
    }
    for (int i = 0; i < w->n_grids; i++) {
        staff_fill(&r, &rows[n], w->grids[i].account, "grid_worker", w->grids[i].code, "");
        snprintf(w->grids[i].worker, sizeof w->grids[i].worker, "%s", rows[n].name);
        n++;
    }
    demo_progress(w, "staff", 0, n);
    for (int i = 0; i < n; i++)
        st[i] = (store_staff){0,
                              rows[i].account,
                              rows[i].name,
                              rows[i].phone,
                              rows[i].role,
                              rows[i].unit_code,
                              rows[i].department};
    int rc = store_staff_put_batch(s, st, (size_t)n, NULL, e);
    free(rows);
    free(st);
    if (rc == NY_OK)
        demo_progress(w, "staff", n, n);
    return rc;
}

/* ---- chat groups ------------------------------------------------------------ */
static void random_chars(demo_rng *r, const char *alphabet, int n, char *out)
{
    uint32_t len = (uint32_t)strlen(alphabet);
    for (int i = 0; i < n; i++)
        out[i] = alphabet[demo_rng_below(r, len)];
    out[n] = '\0';
}

/* The platform's group id and the robot target for one group. */
static void group_ids(demo_rng *r, const char *platform, char *ext, char *target, size_t tsz)
{
    static const char hex[] = "0123456789abcdef";
    static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    char a[40], b[72];
    if (strcmp(platform, "wechat") == 0) {
        unsigned hi = 17000 + demo_rng_below(r, 9000), lo = demo_rng_below(r, 1000000);
        snprintf(ext, 48, "%u%06u@chatroom", hi, lo);
        snprintf(target, tsz, "https://robot.example.invalid/wechat/%u%06u@chatroom", hi, lo);
    } else if (strcmp(platform, "wecom") == 0) {
        random_chars(r, b62, 28, a);
        snprintf(ext, 48, "wr%s", a);
        random_chars(r, hex, 32, b);
        snprintf(target, tsz, "https://robot.example.invalid/wecom/%.8s-%.4s-%.4s-%.4s-%.12s", b,
                 b + 8, b + 12, b + 16, b + 20);
    } else if (strcmp(platform, "dingtalk") == 0) {
        random_chars(r, b62, 22, a);
        snprintf(ext, 48, "cid%s==", a);
        random_chars(r, hex, 64, b);
        snprintf(target, tsz, "https://robot.example.invalid/dingtalk/%s", b);
    } else {
        random_chars(r, hex, 32, a);
        snprintf(ext, 48, "oc_%s", a);
        random_chars(r, hex, 32, b);
        snprintf(target, tsz, "https://robot.example.invalid/feishu/%.8s-%.4s-%.4s-%.4s-%.12s", b,
                 b + 8, b + 12, b + 16, b + 20);
    }
}

/* Sorts grid indexes by household count, ties by index (insertion sort:
 * there are only a few hundred). */
static void sort_by_households(const demo_world *w, int *idx, int n)
{
    for (int i = 1; i < n; i++) {
        int v = idx[i], j = i, hv = w->grids[v].households;
        while (j > 0 && (w->grids[idx[j - 1]].households > hv ||
                         (w->grids[idx[j - 1]].households == hv && idx[j - 1] > v))) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
}

static int put_groups(store *s, demo_world *w, ny_err *e)
{
    struct {
        char ext[DEMO_GROUPS][48], target[DEMO_GROUPS][112];
    } *txt = malloc(sizeof *txt);
    if (!txt)
        return ny_err_set(e, NY_ERR, "out of memory");
    store_group g[DEMO_GROUPS];
    int64_t ids[DEMO_GROUPS];
    int single[DEMO_MAX_GRIDS] = {0}, order[DEMO_MAX_GRIDS];
    demo_rng r;
    demo_rng_init(&r, w->seed, 0x67726f757073);
    demo_progress(w, "groups", 0, DEMO_GROUPS);
    /* every grid has a group; all but the smallest have a second one */
    int singles = 2 * w->n_grids - DEMO_RESIDENT_GROUPS;
    for (int i = 0; i < w->n_grids; i++)
        order[i] = i;
    sort_by_households(w, order, w->n_grids);
    for (int i = 0; i < singles && i < w->n_grids; i++)
        single[order[i]] = 1;
    int n = 0;
    for (int i = 0; i < w->n_grids && n < DEMO_RESIDENT_GROUPS; i++) {
        const demo_grid *gr = &w->grids[i];
        const demo_comm *c = &w->comms[gr->comm];
        int parts = single[i] ? 1 : 2;
        for (int k = 0; k < parts && n < DEMO_RESIDENT_GROUPS; k++, n++) {
            demo_group *dg = &w->groups[n];
            dg->grid = i;
            dg->park = -1;
            dg->unit_level = 3;
            dg->unit_id = gr->id;
            /* members: about one per household (some join with two phones,
             * some not at all), split over the grid's groups; WeChat caps
             * a group at 500 */
            int m = gr->households *
                    (parts == 1 ? demo_rng_range(&r, 70, 110) : demo_rng_range(&r, 50, 90)) / 100;
            dg->members = m > 500 ? 500 - demo_rng_range(&r, 0, 12) : m < 20 ? 20 : m;
            dg->activity = demo_rng_range(&r, 40, 160);
            dg->platform = demo_rng_permille(&r, 560)   ? "wechat"
                           : demo_rng_permille(&r, 950) ? "wecom"
                                                        : "feishu";
            char name[sizeof dg->name]; /* apart from w, which holds the parts */
            snprintf(name, sizeof name, "%s%s%s", gr->name, c->village ? "村民" : "居民",
                     k ? "二群" : "群");
            memcpy(dg->name, name, sizeof name);
        }
    }
    for (int p = 0; p < DEMO_PARKS; p++) {
        const demo_park *pk = &w->parks[p];
        for (int k = 0; k < pk->n_groups; k++, n++) {
            demo_group *dg = &w->groups[n];
            dg->enterprise = 1;
            dg->grid = -1;
            dg->park = p;
            dg->unit_level = pk->comm >= 0 ? 2 : 1;
            dg->unit_id = pk->comm >= 0 ? w->comms[pk->comm].id : w->streets[pk->street].id;
            int m = (pk->n_firms / pk->n_groups) * demo_rng_range(&r, 110, 150) / 100 + 4;
            dg->members = m > 500 ? 500 : m;
            dg->activity = demo_rng_range(&r, 80, 200); /* firms post notices and ask a lot */
            dg->platform = demo_rng_permille(&r, 700)   ? "wecom"
                           : demo_rng_permille(&r, 670) ? "dingtalk"
                                                        : "feishu";
            if (pk->n_groups == 1)
                snprintf(dg->name, sizeof dg->name, "%s企业服务群", pk->name);
            else
                snprintf(dg->name, sizeof dg->name, "%s企业服务%d群", pk->name, k + 1);
        }
    }
    for (int i = 0; i < n; i++) {
        demo_group *dg = &w->groups[i];
        for (int again = 1; again;) { /* ids are random; make sure they are unique */
            group_ids(&r, dg->platform, txt->ext[i], txt->target[i], sizeof txt->target[i]);
            again = 0;
            for (int j = 0; j < i && !again; j++)
                again = strcmp(txt->ext[i], txt->ext[j]) == 0 &&
                        strcmp(dg->platform, w->groups[j].platform) == 0;
        }
        const char *unit_code;
        demo_unit_id_for(w, dg, dg->unit_level, &unit_code);
        g[i] = (store_group){
            0,         dg->platform, txt->ext[i], dg->enterprise ? "enterprise" : "resident",
            unit_code, dg->name,     dg->members, txt->target[i]};
    }
    int rc = store_group_put_batch(s, g, (size_t)n, ids, e);
    free(txt);
    if (rc != NY_OK)
        return rc;
    for (int i = 0; i < n; i++)
        w->groups[i].id = ids[i];
    demo_progress(w, "groups", n, n);
    return NY_OK;
}

/* Gives the demo logins DEMO_PASSWORD. */
static int put_logins(store *s, const demo_world *w, ny_err *e)
{
    int64_t now = (int64_t)time(NULL);
    for (int i = 0; i < DEMO_LOGINS; i++) {
        int rc = auth_set_password(s, w->opts->auth, demo_logins[i].account, DEMO_PASSWORD, now, e);
        if (rc != NY_OK)
            return rc;
    }
    return NY_OK;
}

/* ---- the whole run ------------------------------------------------------- */
static int has_units(store *s, int *yes, ny_err *e)
{
    store_stats st;
    int rc = store_stats_get(s, &st, e);
    if (rc == NY_OK)
        *yes = st.units_district + st.units_street + st.units_community + st.units_grid > 0;
    return rc;
}

static int build(store *s, demo_world *w, ny_err *e)
{
    int rc, yes = 0;
    if ((rc = has_units(s, &yes, e)) != NY_OK)
        return rc;
    if (yes)
        return ny_err_set(e, NY_EEXIST,
                          "the database already holds units; the demo needs an empty database");
    layout(w);
    if ((rc = put_units(s, w, e)) != NY_OK || (rc = put_staff(s, w, e)) != NY_OK ||
        (rc = put_logins(s, w, e)) != NY_OK || (rc = demo_households(s, w, e)) != NY_OK ||
        (rc = demo_enterprises(s, w, e)) != NY_OK || (rc = put_groups(s, w, e)) != NY_OK)
        return rc;
    if (w->opts->messages > 0)
        rc = demo_messages(s, w, e);
    return rc;
}

int demo_generate(store *s, const demo_opts *o, ny_err *e)
{
    ny_err_clear(e);
    if (!s || !o)
        return ny_err_set(e, NY_EINVAL, "demo_generate needs a store and options");
    if (o->messages < 0 || o->messages > DEMO_MAX_MESSAGES)
        return ny_err_set(e, NY_EINVAL, "messages must be 0..%ld, got %ld", (long)DEMO_MAX_MESSAGES,
                          o->messages);
    demo_world *w = calloc(1, sizeof *w);
    if (!w)
        return ny_err_set(e, NY_ERR, "out of memory");
    w->seed = o->seed;
    w->opts = o;
    int rc = store_begin(s, e);
    if (rc == NY_OK) {
        rc = build(s, w, e);
        if (rc == NY_OK) /* staff notifications go where the demo's robots are */
            rc = store_targets_rebase(s, "https://robot.example.invalid", 0, NULL, NULL, e);
        if (rc == NY_OK) {
            rc = store_commit(s, e);
        } else {
            ny_err re;
            if (store_rollback(s, &re) != NY_OK && e)
                snprintf(e->msg + strlen(e->msg), sizeof e->msg - strlen(e->msg),
                         " (rollback failed too: %.200s)", re.msg);
        }
    }
    free(w->firms);
    free(w);
    return rc;
}
