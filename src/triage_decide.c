/* triage_decide.c - the assistant's decision: who is told, what it says in
 * the group, how pressing it is (triage_int.h; rules in docs/DESIGN.md).
 *
 * Who is told follows the intent: the grid worker of the group's grid for
 * help and report; the community as well for complaints and for disputes
 * (a lexicon hit with the action notify_community); grid, community and
 * street at once for emergencies. The district department of a domain is
 * told as well when the case belongs at district level: the message names a
 * matter only a department has the power to settle (the district cues below:
 * wage arrears, pollution discharge, unlicensed medical practice, food
 * safety, illegal transport, school fees, unfinished housing ...), or it
 * comes from an enterprise group, whose matters go to the department in
 * charge of the domain. Consult and other tell no one.
 *
 * The reply: for consult the best policy's title, the first sentence of its
 * summary and where to apply, or with no policy a pointer to the grid worker
 * and the 12345 hotline; an acknowledgement naming the person told for help,
 * report and complaint; for an emergency the numbers to call (119, 120, 110,
 * chosen by the cue words found, all three when none) and "网格员已收到";
 * nothing for other. Priority: urgent for emergencies, high for complaints
 * and for reports or requests that hit a danger word the safety rule did not
 * accept as an emergency now, normal for other help and reports, low for
 * consult and other. */
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "triage_int.h"

enum { CONSULT = 0, HELP = 1, REPORT = 2, EMERGENCY = 3, COMPLAINT = 4, OTHER = 5 };
enum { NONE_CATEGORY = 7 };

#define F TRI_FIRE
#define M TRI_MEDICAL
#define P TRI_POLICE
#define D TRI_DISTRICT

/* The decision's cue words, compiled into every lexicon version. */
const tri_cue tri_cues[] = {
    /* 119: fire, gas, explosion, people trapped, water and collapse rescue */
    {"着火", F, -1},
    {"起火", F, -1},
    {"失火", F, -1},
    {"火灾", F, -1},
    {"烧起来", F, -1},
    {"烧着了", F, -1},
    {"冒烟", F, -1},
    {"浓烟", F, -1},
    {"黑烟", F, -1},
    {"火光", F, -1},
    {"明火", F, -1},
    {"爆炸", F, -1},
    {"爆燃", F, -1},
    {"漏气", F, -1},
    {"煤气", F, -1},
    {"燃气", F, -1},
    {"天然气", F, -1},
    {"液化气", F, -1},
    {"泄漏", F, -1},
    {"被困", F, -1},
    {"困在", F, -1},
    {"困人", F, -1},
    {"坍塌", F, -1},
    {"塌了", F, -1},
    {"决口", F, -1},
    {"掉井里", F, -1},
    /* 119 and 120 */
    {"溺水", F | M, -1},
    {"落水", F | M, -1},
    {"掉水里", F | M, -1},
    {"掉河里", F | M, -1},
    {"掉进河", F | M, -1},
    {"掉进水", F | M, -1},
    {"触电", F | M, -1},
    /* 120: medical */
    {"晕倒", M, -1},
    {"昏倒", M, -1},
    {"昏迷", M, -1},
    {"叫不醒", M, -1},
    {"没呼吸", M, -1},
    {"没有呼吸", M, -1},
    {"喘不上气", M, -1},
    {"喘不过气", M, -1},
    {"抽搐", M, -1},
    {"中毒", M, -1},
    {"流血", M, -1},
    {"出血", M, -1},
    {"血止不住", M, -1},
    {"受伤", M, -1},
    {"摔伤", M, -1},
    {"骨折", M, -1},
    {"救护车", M, -1},
    {"羊水破", M, -1},
    {"心脏病", M, -1},
    {"心梗", M, -1},
    {"脑梗", M, -1},
    {"中风", M, -1},
    {"不省人事", M, -1},
    {"脸都紫", M, -1},
    {"烫伤", M, -1},
    {"烧伤", M, -1},
    {"摔倒", M, -1},
    /* 110: violence, crime, missing people */
    {"砍人", P | M, -1},
    {"打人", P, -1},
    {"打架", P, -1},
    {"斗殴", P, -1},
    {"持刀", P, -1},
    {"拿刀", P, -1},
    {"抢劫", P, -1},
    {"抢东西", P, -1},
    {"小偷", P, -1},
    {"偷东西", P, -1},
    {"盗窃", P, -1},
    {"报警", P, -1},
    {"跳楼", P | M, -1},
    {"轻生", P | M, -1},
    {"走失", P, -1},
    {"走丢", P, -1},
    {"失踪", P, -1},
    {"绑架", P, -1},
    {"闹事", P, -1},
    {"家暴", P, -1},
    /* district level: 城乡建设 */
    {"烂尾", D, 0},
    {"房产证", D, 0},
    {"不动产证", D, 0},
    {"违规施工", D, 0},
    {"房屋质量", D, 0},
    {"开发商", D, 0},
    /* 环境保护 */
    {"偷排", D, 1},
    {"排污", D, 1},
    {"直排", D, 1},
    {"乱排", D, 1},
    {"废水", D, 1},
    {"危废", D, 1},
    {"化工厂", D, 1},
    {"刺鼻", D, 1},
    {"偷倒", D, 1},
    {"焚烧垃圾", D, 1},
    /* 交通运输 */
    {"黑车", D, 2},
    {"非法营运", D, 2},
    {"超载", D, 2},
    {"渣土车", D, 2},
    {"拒载", D, 2},
    /* 教育文体 */
    {"乱收费", D, 3},
    {"有偿补课", D, 3},
    {"校外培训", D, 3},
    {"体罚", D, 3},
    {"校车", D, 3},
    /* 劳动和社会保障 */
    {"拖欠工资", D, 4},
    {"欠薪", D, 4},
    {"讨薪", D, 4},
    {"不发工资", D, 4},
    {"工资不发", D, 4},
    {"欠工资", D, 4},
    {"没交社保", D, 4},
    {"不交社保", D, 4},
    {"不给交社保", D, 4},
    {"劳动仲裁", D, 4},
    {"工伤认定", D, 4},
    /* 商贸旅游 */
    {"食品安全", D, 5},
    {"过期食品", D, 5},
    {"变质", D, 5},
    {"食物中毒", D | M, 5},
    {"假冒", D, 5},
    {"缺斤少两", D, 5},
    {"价格欺诈", D, 5},
    {"宰客", D, 5},
    {"预付卡", D, 5},
    {"卷款跑路", D, 5},
    {"跑路了", D, 5},
    /* 卫生计生 */
    {"非法行医", D, 6},
    {"无证行医", D, 6},
    {"黑诊所", D, 6},
    {"假药", D, 6},
    {"医疗事故", D, 6},
    {"医疗纠纷", D, 6},
    {"过期药", D, 6},
};
const size_t tri_ncues = sizeof tri_cues / sizeof *tri_cues;

#undef F
#undef M
#undef P
#undef D

const char *tri_department_name(int category)
{
    static const char *const names[] = {"区住建局", "区生态环境分局", "区交通运输局", "区教体局",
                                        "区人社局", "区商务局",       "区卫健委"};
    return category >= 0 && category < 7 ? names[category] : NULL;
}

/* ---- reply text ------------------------------------------------------------ */

/* Appends n bytes to the reply; 0 or NY_ERR. */
static int put(triage_ws *ws, size_t *len, const char *s, size_t n)
{
    if (*len + n + 1 > ws->replycap) {
        size_t cap = (*len + n + 1) * 2 + 256;
        char *p = realloc(ws->reply, cap);
        if (!p)
            return NY_ERR;
        ws->reply = p;
        ws->replycap = cap;
    }
    memcpy(ws->reply + *len, s, n);
    *len += n;
    ws->reply[*len] = '\0';
    return NY_OK;
}

static int puts_(triage_ws *ws, size_t *len, const char *s)
{
    return put(ws, len, s, strlen(s));
}

uint32_t tri_cut(const char *s, int sentence, size_t max)
{
    static const char *const sentence_stops[] = {"。", "！", "？", NULL};
    static const char *const clause_stops[] = {"；", "。", NULL};
    const char *const *stops = sentence ? sentence_stops : clause_stops;
    size_t i = 0;
    for (size_t chars = 0; s[i] && chars < max; chars++) {
        if ((unsigned char)s[i] == 0xE3 || (unsigned char)s[i] == 0xEF) /* stops' lead bytes */
            for (size_t k = 0; stops[k]; k++)
                if (s[i] == stops[k][0] && s[i + 1] == stops[k][1] && s[i + 2] == stops[k][2])
                    return (uint32_t)(sentence ? i + 3 : i) << 1;
        i++;
        while ((s[i] & 0xC0) == 0x80)
            i++;
    }
    return (uint32_t)i << 1 | (s[i] != '\0');
}

/* Appends the start of s that cut (tri_cut) says, then "…" when it is cut
 * short. */
static int put_cut(triage_ws *ws, size_t *len, const char *s, uint32_t cut)
{
    int rc = put(ws, len, s, cut >> 1);
    return rc == NY_OK && (cut & 1) ? puts_(ws, len, "…") : rc;
}

/* The person a resident is pointed to, as n names them: "网格员" plus the
 * grid worker's name when the database knows it, or the community's or
 * street's officer when the group sits above grid level. */
static void person(const triage_notify *n, char *who, size_t sz)
{
    const char *label = "网格员", *name = "";
    if (n && n->name) {
        label = strcmp(n->role, "community") == 0 ? "社区工作人员"
                : strcmp(n->role, "street") == 0  ? "街道工作人员"
                                                  : "网格员";
        name = n->name;
    }
    size_t ll = strlen(label), nl = strlen(name); /* label then name, cut to sz - 1 bytes */
    ll = ll < sz - 1 ? ll : sz - 1;
    nl = nl < sz - 1 - ll ? nl : sz - 1 - ll;
    memcpy(who, label, ll);
    memcpy(who + ll, name, nl);
    who[ll + nl] = '\0';
}

static int reply_consult(triage_ws *ws, triage_result *r, const char *who)
{
    size_t len = 0;
    if (!r->npolicies) {
        int rc = puts_(ws, &len, "您好，这个问题暂时没有查到对应的政策说明，建议直接问问");
        if (rc == NY_OK)
            rc = puts_(ws, &len, who);
        if (rc == NY_OK)
            rc = puts_(ws, &len, "，或拨打12345政务服务便民热线咨询。");
        return rc;
    }
    const triage_policy *p = &r->policies[0];
    int rc = puts_(ws, &len, "【");
    if (rc == NY_OK)
        rc = puts_(ws, &len, p->title);
    if (rc == NY_OK)
        rc = puts_(ws, &len, "】");
    if (rc == NY_OK)
        rc = put_cut(ws, &len, p->summary, ws->cut[0]);
    if (rc == NY_OK && *p->how_to_apply)
        rc = puts_(ws, &len, "办理：");
    if (rc == NY_OK && *p->how_to_apply)
        rc = put_cut(ws, &len, p->how_to_apply, ws->cut[1]);
    if (rc == NY_OK && *p->department) {
        rc = puts_(ws, &len, "（");
        if (rc == NY_OK)
            rc = puts_(ws, &len, p->department);
        if (rc == NY_OK)
            rc = puts_(ws, &len, "）");
    }
    if (rc == NY_OK)
        rc = puts_(ws, &len, "。");
    for (size_t i = 1; rc == NY_OK && i < r->npolicies; i++) {
        rc = puts_(ws, &len, i == 1 ? "相关政策：" : "、");
        if (rc == NY_OK)
            rc = puts_(ws, &len, r->policies[i].title);
        if (rc == NY_OK && i + 1 == r->npolicies)
            rc = puts_(ws, &len, "。");
    }
    return rc;
}

static int reply_emergency(triage_ws *ws, unsigned flags)
{
    size_t len = 0;
    if (!(flags & (TRI_FIRE | TRI_MEDICAL | TRI_POLICE)))
        flags |= TRI_FIRE | TRI_MEDICAL | TRI_POLICE;
    int rc = puts_(ws, &len, "情况紧急，请立即拨打"), first = 1;
    static const struct {
        unsigned flag;
        const char *text;
    } nums[] = {
        {TRI_POLICE, "110（报警）"}, {TRI_FIRE, "119（火警）"}, {TRI_MEDICAL, "120（急救）"}};
    for (size_t i = 0; i < 3 && rc == NY_OK; i++) {
        if (!(flags & nums[i].flag))
            continue;
        if (!first)
            rc = puts_(ws, &len, "、");
        if (rc == NY_OK)
            rc = puts_(ws, &len, nums[i].text);
        first = 0;
    }
    if (rc == NY_OK)
        rc = puts_(ws, &len, "！网格员已收到，社区和街道已同步通知。");
    return rc;
}

/* The acknowledgement of help, report and complaint. */
static int reply_ack(triage_ws *ws, const triage_result *r, const char *who)
{
    size_t len = 0;
    int rc = puts_(ws, &len, r->intent == COMPLAINT ? "收到您的反映，已转告" : "收到，已转告");
    if (rc == NY_OK)
        rc = puts_(ws, &len, who);
    int community = 0;
    for (size_t i = 0; i < r->nnotify; i++)
        community |= strcmp(r->notify[i].role, "community") == 0 && i > 0;
    if (rc == NY_OK && community)
        rc = puts_(ws, &len, "和社区");
    for (size_t i = 0, first = 1; rc == NY_OK && i < r->nnotify; i++) {
        if (strcmp(r->notify[i].role, "department") != 0)
            continue;
        rc = puts_(ws, &len, first ? "，并报" : "、");
        if (rc == NY_OK)
            rc = puts_(ws, &len, r->notify[i].department);
        first = 0;
    }
    if (rc == NY_OK)
        rc = puts_(ws, &len,
                   r->intent == HELP     ? "，会尽快联系您。"
                   : r->intent == REPORT ? "，会尽快到现场查看处理。"
                                         : "，会尽快核实处理。");
    return rc;
}

/* ---- who is told ----------------------------------------------------------- */

static const char *const level_roles[] = {"district", "street", "community", "grid_worker"};

/* Adds the unit of level `level` above (or at) the group's unit u, or the
 * role alone when units are unknown (u < 0). Skips a unit already listed. */
static void notify_level(const triage_engine *en, triage_result *r, int u, int level)
{
    const tri_org *o = &en->org;
    triage_notify n = {level_roles[level], NULL, NULL, NULL, NULL, NULL};
    if (u >= 0) {
        int x = u;
        while (x >= 0 && o->units[x].level > level)
            x = o->units[x].parent;
        if (x < 0 || o->units[x].level != level)
            x = u; /* the group sits above this level: its own unit answers */
        const tri_unit *t = &o->units[x];
        for (size_t i = 0; i < r->nnotify; i++)
            if (r->notify[i].unit_code == t->code)
                return;
        int s = t->level >= 0 ? t->staff[t->level] : -1;
        n = (triage_notify){level_roles[t->level >= 0 ? t->level : level],
                            t->code,
                            t->name,
                            s >= 0 ? o->staff[s].account : NULL,
                            s >= 0 ? o->staff[s].name : NULL,
                            NULL};
    }
    if (r->nnotify < TRIAGE_MAX_NOTIFY)
        r->notify[r->nnotify++] = n;
}

static void notify_department(const triage_engine *en, triage_result *r, int u, int category)
{
    const tri_org *o = &en->org;
    const char *name = tri_department_name(category);
    for (size_t i = 0; i < r->nnotify; i++)
        if (r->notify[i].department == name)
            return;
    int s = o->loaded ? o->dept_staff[category] : -1;
    int d = u >= 0 ? o->district : -1;
    triage_notify n = {"department",
                       d >= 0 ? o->units[d].code : NULL,
                       d >= 0 ? o->units[d].name : NULL,
                       s >= 0 ? o->staff[s].account : NULL,
                       s >= 0 ? o->staff[s].name : NULL,
                       name};
    if (r->nnotify < TRIAGE_MAX_NOTIFY)
        r->notify[r->nnotify++] = n;
}

int tri_decide(const triage_engine *en, triage_ws *ws, const triage_group *g, const tri_signals *s,
               triage_result *r, ny_err *e)
{
    int in = r->intent;
    int u = g && en->org.loaded ? tri_org_unit(&en->org, g->unit_code) : -1;
    r->nnotify = 0;
    if (in == HELP || in == REPORT || in == COMPLAINT || in == EMERGENCY) {
        notify_level(en, r, u, 3);
        if (in == COMPLAINT || in == EMERGENCY || (s->flags & TRI_COMMUNITY))
            notify_level(en, r, u, 2);
        if (in == EMERGENCY)
            notify_level(en, r, u, 1);
        unsigned mask = s->district_mask;
        if (g && g->kind && strcmp(g->kind, "enterprise") == 0 && r->category != NONE_CATEGORY)
            mask |= 1u << r->category;
        if (r->category != NONE_CATEGORY && (mask & (1u << r->category)))
            notify_department(en, r, u, r->category);
        for (int c = 0; c < NONE_CATEGORY; c++)
            if (mask & (1u << c))
                notify_department(en, r, u, c);
    }
    r->priority = in == EMERGENCY                                         ? TRIAGE_URGENT
                  : in == COMPLAINT                                       ? TRIAGE_HIGH
                  : (in == HELP || in == REPORT) && s->flags & TRI_URGENT ? TRIAGE_HIGH
                  : in == HELP || in == REPORT                            ? TRIAGE_NORMAL
                                                                          : TRIAGE_LOW;
    char who[160];
    if (in == CONSULT) { /* nobody is told; the reply may point to the grid worker */
        notify_level(en, r, u, 3);
        person(&r->notify[0], who, sizeof who);
        r->nnotify = 0;
    } else {
        person(r->nnotify ? &r->notify[0] : NULL, who, sizeof who);
    }
    int rc = NY_OK;
    switch (in) {
    case CONSULT:
        rc = reply_consult(ws, r, who);
        break;
    case EMERGENCY:
        rc = reply_emergency(ws, s->flags);
        break;
    case OTHER:
        break;
    default:
        rc = reply_ack(ws, r, who);
    }
    if (rc != NY_OK)
        return ny_err_set(e, NY_ERR, "out of memory");
    r->reply = in == OTHER ? NULL : ws->reply;
    return NY_OK;
}

const char *triage_help_text(void)
{
    return "您好，我是网格助手暖羊阳：可以问我低保、医保、养老、入学、就业等政策，"
           "也可以直接说出遇到的困难或发现的问题，我会马上转告网格员；"
           "遇到火灾、急病、警情等紧急情况请先拨打119、120、110。";
}
