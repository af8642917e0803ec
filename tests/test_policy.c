/* test_policy.c - unit tests of the policy knowledge base and its ranker
 * (policy.c, policy_list.c) and checks of the default data files.
 *
 * Ranking is tested twice: on a handful of rows built in code (audience
 * filter, title and keyword rules, argument errors) and on the shipped
 * data/policies.csv with questions as residents and firms write them, passed
 * through the real normaliser. The data checks hold data/policies.csv and
 * data/lexicon.csv to their documented formats. The binaries run with the
 * repository root as working directory. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "domain.h"
#include "norm.h"
#include "policy.h"
#include "testutil.h"

#define POLICIES_CSV "data/policies.csv"
#define LEXICON_CSV "data/lexicon.csv"

/* ---- rows built in code --------------------------------------------------- */

static const store_policy mini[] = {
    {0, "gaoling", "高龄津贴", "劳动和社会保障", "resident", "区民政局",
     "八十周岁以上的老年人按月领取高龄津贴。", "年满八十周岁", "社区登记",
     "高龄津贴;高龄补贴;长寿补贴"},
    {0, "wengang", "失业保险稳岗返还", "劳动和社会保障", "enterprise", "区人社局",
     "参保企业可以获得返还的部分失业保险费。", "参保满一年的企业", "向人社局申报",
     "稳岗返还;稳岗补贴"},
    {0, "daikuan", "创业担保贷款", "劳动和社会保障", "both", "区人社局",
     "个人和小微企业创业可以申请担保贷款并获得贴息。", "创业人员和小微企业", "人社局审核",
     "创业担保贷款;创业贷款;贴息贷款"},
    {0, "shiye", "失业保险金", "劳动和社会保障", "resident", "区人社局",
     "非本人意愿失业且缴费满一年的人员可以按月领取。", "缴费满一年", "办理失业登记后申领",
     "失业金;失业了"},
};
#define NMINI (sizeof mini / sizeof mini[0])

/* Ranks text (already normalised) and returns the number of hits. */
static size_t rank(const policy_index *ix, const char *text, const char *aud, policy_hit *h,
                   size_t max)
{
    size_t n = 99;
    ny_err e;
    assert_int_equal(policy_rank(ix, text, strlen(text), aud, h, max, &n, &e), NY_OK);
    assert_true(n <= max);
    for (size_t i = 0; i < n; i++) {
        assert_true(h[i].score >= POLICY_MIN_SCORE);
        assert_true(h[i].score >= POLICY_REL_SCORE * h[0].score);
        if (i > 0)
            assert_true(h[i - 1].score >= h[i].score);
    }
    return n;
}

static void test_mini_audience(void **state)
{
    (void)state;
    policy_index *ix;
    ny_err e;
    policy_hit h[8];
    assert_int_equal(policy_index_build(mini, NMINI, &ix, &e), NY_OK);
    assert_int_equal(policy_index_size(ix), NMINI);

    /* enterprise-only policy: hidden from resident groups, shown otherwise */
    assert_int_equal(rank(ix, "稳岗返还今年怎么申请", "resident", h, 8), 0);
    assert_int_equal(rank(ix, "稳岗返还今年怎么申请", "enterprise", h, 8), 1);
    assert_int_equal(h[0].policy, 1);
    assert_int_equal(rank(ix, "稳岗返还今年怎么申请", NULL, h, 8), 1);
    assert_int_equal(h[0].policy, 1);
    /* resident-only policy: hidden from enterprise groups */
    assert_int_equal(rank(ix, "家里老人有高龄补贴吗", "enterprise", h, 8), 0);
    assert_int_equal(rank(ix, "家里老人有高龄补贴吗", "resident", h, 8), 1);
    assert_int_equal(h[0].policy, 0);
    /* "both" reaches both kinds of group */
    assert_int_equal(rank(ix, "想办个创业贷款", "resident", h, 8), 1);
    assert_int_equal(h[0].policy, 2);
    assert_int_equal(rank(ix, "想办个创业贷款", "enterprise", h, 8), 1);
    assert_int_equal(h[0].policy, 2);

    /* nothing rather than a poor match */
    assert_int_equal(rank(ix, "今天天气不错", NULL, h, 8), 0);
    assert_int_equal(rank(ix, "老人", NULL, h, 8), 0);
    assert_int_equal(rank(ix, "补贴", NULL, h, 8), 0);
    assert_int_equal(rank(ix, "", NULL, h, 8), 0);
    /* max 0 is allowed and yields nothing */
    size_t n = 5;
    assert_int_equal(policy_rank(ix, "稳岗返还", strlen("稳岗返还"), NULL, NULL, 0, &n, &e), NY_OK);
    assert_int_equal(n, 0);
    policy_index_free(ix);
}

static void test_mini_title_and_errors(void **state)
{
    (void)state;
    policy_index *ix;
    ny_err e;
    policy_hit h[4];
    size_t n;
    assert_int_equal(policy_index_build(mini, NMINI, &ix, &e), NY_OK);
    /* one title term and no keyword is not enough */
    assert_int_equal(rank(ix, "保险", NULL, h, 4), 0);
    assert_int_equal(rank(ix, "创业", NULL, h, 4), 0);
    /* ASCII is folded on the policy side, bytes that are not UTF-8 are
     * separators: no crash, no match */
    assert_int_equal(rank(ix, "\xff\xfe\x80 \xe4\xbd", NULL, h, 4), 0);
    assert_int_equal(rank(ix, "\xe7\xa8\xb3\xff\xe5\xb2\x97", NULL, h, 4), 0);

    assert_int_equal(policy_rank(ix, "x", 1, "both", h, 4, &n, &e), NY_EINVAL);
    assert_non_null(strstr(e.msg, "audience"));
    assert_int_equal(policy_rank(ix, NULL, 3, NULL, h, 4, &n, &e), NY_EINVAL);
    assert_int_equal(policy_rank(NULL, "x", 1, NULL, h, 4, &n, &e), NY_EINVAL);
    assert_int_equal(policy_rank(ix, "x", 1, NULL, NULL, 4, &n, &e), NY_EINVAL);
    policy_index_free(ix);

    store_policy bad[NMINI];
    memcpy(bad, mini, sizeof bad);
    bad[2].audience = "everyone";
    assert_int_equal(policy_index_build(bad, NMINI, &ix, &e), NY_EINVAL);
    assert_int_equal(e.index, 2);
    assert_null(ix);
    memcpy(bad, mini, sizeof bad);
    bad[1].title = "";
    assert_int_equal(policy_index_build(bad, NMINI, &ix, &e), NY_EINVAL);
    assert_int_equal(e.index, 1);
    assert_int_equal(policy_index_build(mini, POLICY_MAX_DOCS + 1, &ix, &e), NY_EINVAL);
    assert_int_equal(policy_index_build(NULL, 1, &ix, &e), NY_EINVAL);

    /* an empty knowledge base never matches */
    assert_int_equal(policy_index_build(NULL, 0, &ix, &e), NY_OK);
    assert_int_equal(rank(ix, "高龄补贴", NULL, h, 4), 0);
    policy_index_free(ix);
    policy_index_free(NULL);
}

/* ---- the list and its CSV loader -------------------------------------------- */

static void test_list_copies(void **state)
{
    (void)state;
    policy_list l = POLICY_LIST_INIT;
    char title[32] = "高龄津贴";
    store_policy p = mini[0];
    p.title = title;
    p.eligibility = NULL;
    for (int i = 0; i < 100; i++)
        assert_int_equal(policy_list_add(&l, &p), NY_OK);
    strcpy(title, "changed");
    assert_int_equal(l.n, 100);
    assert_string_equal(l.rows[99].title, "高龄津贴");
    assert_string_equal(l.rows[0].eligibility, "");
    assert_string_equal(l.rows[5].keywords, mini[0].keywords);
    policy_list_free(&l);
    assert_int_equal(l.n, 0);
    assert_null(l.rows);
    policy_list_free(NULL);
}

/* The rows of a database, through the store iterator, rank like the originals. */
static void test_list_from_store(void **state)
{
    (void)state;
    store *s = tu_open_fresh("policy");
    ny_err e;
    assert_int_equal(store_policy_put_batch(s, mini, NMINI, NULL, &e), NY_OK);
    policy_list l = POLICY_LIST_INIT;
    assert_int_equal(store_policies_each(s, policy_list_add, &l, &e), NY_OK);
    store_close(s);
    assert_int_equal(l.n, NMINI);
    policy_index *ix;
    policy_hit h[4];
    assert_int_equal(policy_index_build(l.rows, l.n, &ix, &e), NY_OK);
    assert_int_equal(rank(ix, "稳岗补贴怎么申请", "enterprise", h, 4), 1);
    assert_string_equal(l.rows[h[0].policy].code, "wengang");
    policy_index_free(ix);
    policy_list_free(&l);
}

static void test_list_csv_errors(void **state)
{
    (void)state;
    policy_list l = POLICY_LIST_INIT;
    ny_err e;
    const char *hdr = "keywords,code,title,category,audience,department,summary,eligibility,"
                      "how_to_apply\n";
    char text[1024];
    const char *path = tu_tmp_path("policies.csv");

    /* columns in any order; quoted fields */
    snprintf(text, sizeof text, "%s\"a;b\",x1,标题,卫生计生,both,部门,\"摘要，带逗号\",谁,怎么\n",
             hdr);
    tu_write_file(path, text);
    assert_int_equal(policy_list_load_csv(&l, path, &e), NY_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.rows[0].code, "x1");
    assert_string_equal(l.rows[0].keywords, "a;b");
    assert_string_equal(l.rows[0].summary, "摘要，带逗号");

    /* a bad row: nothing of the file is kept, the message names line and column */
    snprintf(text, sizeof text, "%sk,x2,t,卫生计生,both,d,s,e,h\nk,x3,t,卫生计生,all,d,s,e,h\n",
             hdr);
    tu_write_file(path, text);
    assert_int_equal(policy_list_load_csv(&l, path, &e), NY_EINVAL);
    assert_non_null(strstr(e.msg, "policies.csv:3: audience"));
    assert_int_equal(l.n, 1);

    tu_write_file(path, "code,title\nx,y\n");
    assert_int_equal(policy_list_load_csv(&l, path, &e), NY_EINVAL);
    assert_non_null(strstr(e.msg, ":1: category: column missing"));
    snprintf(text, sizeof text, "%sk,x4,t,卫生计生,both\n", hdr);
    tu_write_file(path, text);
    assert_int_equal(policy_list_load_csv(&l, path, &e), NY_EINVAL);
    assert_non_null(strstr(e.msg, ":2: 5 fields"));
    snprintf(text, sizeof text, "%sk,,t,卫生计生,both,d,s,e,h\n", hdr);
    tu_write_file(path, text);
    assert_int_equal(policy_list_load_csv(&l, path, &e), NY_EINVAL);
    assert_non_null(strstr(e.msg, ":2: code: empty"));
    snprintf(text, sizeof text, "%sk,x5,\"open,t\n", hdr);
    tu_write_file(path, text);
    assert_int_equal(policy_list_load_csv(&l, path, &e), NY_EINVAL);
    assert_non_null(strstr(e.msg, "policies.csv:2: "));
    tu_write_file(path, "");
    assert_int_equal(policy_list_load_csv(&l, path, &e), NY_EINVAL);
    assert_int_equal(policy_list_load_csv(&l, tu_tmp_path("absent.csv"), &e), NY_ERR);
    assert_int_equal(l.n, 1);
    policy_list_free(&l);
}

/* ---- ranking the shipped knowledge base ------------------------------------- */

typedef struct kb {
    policy_list list;
    policy_index *ix;
    norm_table *nt;
} kb;

static kb K;

static int kb_setup(void **state)
{
    (void)state;
    ny_err e;
    if (policy_list_load_csv(&K.list, POLICIES_CSV, &e) != NY_OK ||
        policy_index_build(K.list.rows, K.list.n, &K.ix, &e) != NY_OK ||
        norm_open(&K.nt, &e) != NY_OK) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static int kb_teardown(void **state)
{
    (void)state;
    policy_index_free(K.ix);
    policy_list_free(&K.list);
    norm_close(K.nt);
    return 0;
}

/* Normalises raw as the pipeline does, ranks it and returns the hits. */
static size_t kb_rank(const char *raw, const char *aud, policy_hit *h, size_t max)
{
    norm_buf b = NORM_BUF_INIT;
    ny_err e;
    assert_int_equal(norm_text(K.nt, raw, strlen(raw), 0, &b, &e), NY_OK);
    size_t n = rank(K.ix, b.s ? b.s : "", aud, h, max);
    norm_buf_free(&b);
    return n;
}

/* The code of the best policy for raw, or NULL for none. */
static const char *kb_top(const char *raw, const char *aud)
{
    policy_hit h[5];
    return kb_rank(raw, aud, h, 5) ? K.list.rows[h[0].policy].code : NULL;
}

static void test_defaults_questions(void **state)
{
    (void)state;
    static const struct {
        const char *q, *aud, *want;
    } cases[] = {
        {"我家老人80多了有没有高龄补贴", "resident", "gaoling_jintie"},
        {"孩子明年上小学怎么报名", "resident", "yiwu_ruxue"},
        {"公司想申请稳岗返还", "enterprise", "wengang_fanhuan"},
        {"失业了能领钱吗", "resident", "shiye_baoxianjin"},
        {"低保怎么申请 家里就我跟老伴 都没收入", "resident", "dibao"},
        {"咱这医保今年交多少钱 啥时候截止", "resident", "jumin_yibao"},
        {"在北京住院 异地就医备案咋弄", "resident", "yidi_jiuyi"},
        {"宝宝出生了 育儿补贴在哪申请", "resident", "yuer_butie"},
        {"请问离职了公积金能取出来吗", "resident", "gjj_tiqu"},
        {"电动车上牌去哪里上 要带啥", "resident", "dianche_shangpai"},
        {"残疾证怎么办 需要去医院鉴定吗", "resident", "canji_zheng"},
        {"老板拖欠工资三个月了 找谁", "resident", "qianxin"},
        {"生源地助学贷款要村里开证明吗", "resident", "gaoxiao_zizhu"},
        {"小规模纳税人现在免增值税吗", "enterprise", "xiaowei_shuifei"},
        {"食品经营许可证快过期了 怎么续", "enterprise", "shipin_xuke"},
        {"企业群问一下 危废转移联单怎么填", "enterprise", "weifei"},
        {"新招了几个员工 社保增员在哪操作", "enterprise", "shebao_zengyuan"},
        {"想开个小超市 个体户执照咋办", NULL, "geti_dengji"},
        /* by the title alone: no keyword of the policy occurs */
        {"老年人家庭改造怎么申请", "resident", "shilaohua"},
        {"耕地地力保护有补贴吗", "resident", "gengdi_butie"},
        /* ASCII keywords need word boundaries */
        {"打12345问问", NULL, "hotline_12345"},
        /* traditional characters and full-width letters, through the normaliser */
        {"請問老舊小區改造要業主出錢嗎", "resident", "jiuxiaoqu_gaizao"},
        {"ＨＰＶ疫苗社区能约到吗", "resident", "yufang_jiezhong"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = kb_top(cases[i].q, cases[i].aud);
        if (!got || strcmp(got, cases[i].want))
            fail_msg("%s -> %s, expected %s", cases[i].q, got ? got : "nothing", cases[i].want);
    }
}

static void test_defaults_nothing(void **state)
{
    (void)state;
    static const char *const chat[] = {
        "今天天气不错",
        "大家早上好🌞",
        "收到 谢谢",
        "好的 知道了",
        "哈哈哈 这个视频太逗了",
        "网格员辛苦了 大半夜还在回消息",
        "各位邻居新年快乐 身体健康 万事如意",
        "晚上七点老地方跳广场舞 有一起的吗",
        "这是谁家的娃 真可爱",
        "刚才发错群了 不好意思各位",
        "啊啊啊啊啊",
        "asdfgh qwerty zxcv",
        "。。。？？？！！！",
        "嗯",
        "1234567",
        "精神障碍患者监护补贴怎么申请",
        "乱七八糟随便打几个字看看",
    };
    for (size_t i = 0; i < sizeof chat / sizeof chat[0]; i++) {
        const char *got = kb_top(chat[i], NULL);
        if (got)
            fail_msg("%s -> %s, expected nothing", chat[i], got);
    }
}

static unsigned audience_bits(const char *a)
{
    return !strcmp(a, "resident") ? 1u : !strcmp(a, "enterprise") ? 2u : 3u;
}

static void test_defaults_audience(void **state)
{
    (void)state;
    static const char *const qs[] = {
        "稳岗返还今年还有吗",
        "出口退税的流程在哪看",
        "排污许可证快到期了",
        "专精特新怎么申报",
        "残保金怎么申报减免",
        "企业年报在哪里填",
        "招用高校毕业生有扩岗补贴吗",
        "创业担保贷款要什么条件",
        "个体户注销怎么办",
        "高龄补贴怎么领",
        "低保年审要准备什么",
        "健康证在哪办",
        "职业病体检多久一次",
        "最低工资标准是多少",
        "工伤认定要多久",
    };
    policy_hit h[8];
    size_t total[3] = {0};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        static const char *const auds[] = {"resident", "enterprise", NULL};
        for (size_t a = 0; a < 3; a++) {
            size_t n = kb_rank(qs[i], auds[a], h, 8);
            total[a] += n;
            for (size_t k = 0; k < n && auds[a]; k++) {
                const char *pa = K.list.rows[h[k].policy].audience;
                if (!(audience_bits(pa) & audience_bits(auds[a])))
                    fail_msg("%s: %s group got %s policy %s", qs[i], auds[a], pa,
                             K.list.rows[h[k].policy].code);
            }
        }
    }
    /* the filter removes something from each kind of group, and no filter
     * sees at least as much as either */
    assert_true(total[0] > 0 && total[1] > 0);
    assert_true(total[2] >= total[0] && total[2] >= total[1]);
    assert_null(kb_top("稳岗返还今年还有吗", "resident"));
    assert_string_equal(kb_top("稳岗返还今年还有吗", NULL), "wengang_fanhuan");
    assert_null(kb_top("高龄补贴怎么领", "enterprise"));
}

/* Several threads rank the same messages on one index and agree. */
static void *rank_thread(void *arg)
{
    const char *const *qs = arg;
    long bad = 0;
    for (int round = 0; round < 200; round++)
        for (size_t i = 0; qs[i]; i++) {
            policy_hit h[4];
            size_t n;
            if (policy_rank(K.ix, qs[i], strlen(qs[i]), NULL, h, 4, &n, NULL) != NY_OK || n == 0 ||
                strcmp(K.list.rows[h[0].policy].code, qs[i + 1]))
                bad++;
            i++;
        }
    return (void *)bad;
}

static void test_defaults_threads(void **state)
{
    (void)state;
    static const char *const qs[] = {
        "高龄补贴",     "gaoling_jintie",   "稳岗返还", "wengang_fanhuan",
        "失业金怎么领", "shiye_baoxianjin", NULL};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, rank_thread, (void *)qs), 0);
    for (int i = 0; i < 4; i++) {
        void *bad;
        assert_int_equal(pthread_join(t[i], &bad), 0);
        assert_null(bad);
    }
}

/* ---- the default data files --------------------------------------------------- */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Reads every record of path into a callback; returns the record count
 * (header excluded) after checking the header equals want. */
static size_t csv_each(const char *path, const char *const *want, size_t nwant,
                       void (*fn)(void *ctx, const csv_record *r), void *ctx)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (tests run from the repository root)", path);
    csv_reader *r;
    csv_record rec;
    ny_err e;
    assert_int_equal(csv_open(f, &r, &e), NY_OK);
    assert_int_equal(csv_next(r, &rec, &e), NY_OK);
    assert_int_equal(rec.n, nwant);
    for (size_t i = 0; i < nwant; i++)
        assert_string_equal(rec.fields[i], want[i]);
    size_t rows = 0;
    for (;;) {
        if (csv_next(r, &rec, &e) != NY_OK)
            fail_msg("%s:%ld: %s", path, rec.line, e.msg);
        if (rec.n == 0)
            break;
        if (rec.n != nwant)
            fail_msg("%s:%ld: %zu fields", path, rec.line, rec.n);
        fn(ctx, &rec);
        rows++;
    }
    csv_close(r);
    fclose(f);
    return rows;
}

typedef struct seen_set {
    char **v;
    size_t n, cap;
} seen_set;

/* Adds s; returns 0 if it was already there. */
static int seen_add(seen_set *st, const char *s)
{
    for (size_t i = 0; i < st->n; i++)
        if (!strcmp(st->v[i], s))
            return 0;
    if (st->n == st->cap) {
        st->cap = st->cap ? 2 * st->cap : 256;
        st->v = realloc(st->v, st->cap * sizeof *st->v);
        assert_non_null(st->v);
    }
    st->v[st->n++] = strdup(s);
    return 1;
}

static void seen_free(seen_set *st)
{
    for (size_t i = 0; i < st->n; i++)
        free(st->v[i]);
    free(st->v);
}

static void check_policy_row(void *ctx, const csv_record *r)
{
    seen_set *codes = ctx;
    char *const *f = r->fields;
    for (size_t i = 0; i < r->n; i++)
        if (!*f[i])
            fail_msg("%s:%ld: field %zu is empty", POLICIES_CSV, r->line, i + 1);
    for (const char *c = f[0]; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
            fail_msg("%s:%ld: code '%s' is not a lower-case slug", POLICIES_CSV, r->line, f[0]);
    if (!seen_add(codes, f[0]))
        fail_msg("%s:%ld: code '%s' repeated", POLICIES_CSV, r->line, f[0]);
    if (domain_index(domain_categories, f[2]) < 0 || !strcmp(f[2], "无"))
        fail_msg("%s:%ld: category '%s'", POLICIES_CSV, r->line, f[2]);
    if (domain_index(domain_audiences, f[3]) < 0)
        fail_msg("%s:%ld: audience '%s'", POLICIES_CSV, r->line, f[3]);
    if (utf8_chars(f[5]) > 200)
        fail_msg("%s:%ld: summary has %zu characters", POLICIES_CSV, r->line, utf8_chars(f[5]));
    const char *k = f[8];
    size_t nk = 0;
    while (*k) {
        size_t len = strcspn(k, ";");
        if (len == 0)
            fail_msg("%s:%ld: empty keyword", POLICIES_CSV, r->line);
        nk++;
        k += len + (k[len] == ';');
    }
    if (nk < 3)
        fail_msg("%s:%ld: only %zu keywords", POLICIES_CSV, r->line, nk);
}

static void test_policies_csv(void **state)
{
    (void)state;
    static const char *const cols[] = {"code",        "title",        "category",
                                       "audience",    "department",   "summary",
                                       "eligibility", "how_to_apply", "keywords"};
    seen_set codes = {0};
    size_t n = csv_each(POLICIES_CSV, cols, 9, check_policy_row, &codes);
    assert_true(n >= 60);
    assert_int_equal(codes.n, n);
    seen_free(&codes);
}

typedef struct lex_ctx {
    seen_set terms;
    norm_table *nt;
    norm_buf b;
    size_t urgent, patterns;
} lex_ctx;

/* 1 if part (len bytes) is unchanged by the normaliser. */
static int normalised(lex_ctx *c, const char *part, size_t len)
{
    ny_err e;
    assert_int_equal(norm_text(c->nt, part, len, NORM_STRICT, &c->b, &e), NY_OK);
    return c->b.len == len && !memcmp(c->b.s, part, len);
}

static void check_lexeme(void *ctx, const csv_record *r)
{
    lex_ctx *c = ctx;
    char *const *f = r->fields;
    static const char *const kinds[] = {"literal", "pattern", NULL};
    static const char *const actions[] = {"", "notify_grid", "notify_community", "urgent", NULL};
    const char *gap = strstr(f[0], "…");
    if (!*f[0] || !seen_add(&c->terms, f[0]))
        fail_msg("%s:%ld: term '%s' empty or repeated", LEXICON_CSV, r->line, f[0]);
    if (domain_index(kinds, f[1]) < 0)
        fail_msg("%s:%ld: kind '%s'", LEXICON_CSV, r->line, f[1]);
    if (!strcmp(f[1], "pattern")) {
        size_t head = (size_t)(gap ? gap - f[0] : 0);
        const char *tail = gap ? gap + strlen("…") : "";
        if (!gap || head == 0 || !*tail || strstr(tail, "…") || !normalised(c, f[0], head) ||
            !normalised(c, tail, strlen(tail)))
            fail_msg("%s:%ld: pattern '%s' is not head…tail in normalised form", LEXICON_CSV,
                     r->line, f[0]);
        c->patterns++;
    } else if (gap || !normalised(c, f[0], strlen(f[0]))) {
        fail_msg("%s:%ld: literal '%s' is not in normalised form", LEXICON_CSV, r->line, f[0]);
    }
    if (*f[2] && domain_index(domain_intents, f[2]) < 0)
        fail_msg("%s:%ld: intent '%s'", LEXICON_CSV, r->line, f[2]);
    if (*f[3] && domain_index(domain_categories, f[3]) < 0)
        fail_msg("%s:%ld: category '%s'", LEXICON_CSV, r->line, f[3]);
    char *end;
    double w = strtod(f[4], &end);
    if (end == f[4] || *end || !(w > 0))
        fail_msg("%s:%ld: weight '%s'", LEXICON_CSV, r->line, f[4]);
    if (domain_index(actions, f[5]) < 0)
        fail_msg("%s:%ld: action '%s'", LEXICON_CSV, r->line, f[5]);
    if (!strcmp(f[5], "urgent")) {
        if (strcmp(f[2], "emergency"))
            fail_msg("%s:%ld: urgent term '%s' is not an emergency", LEXICON_CSV, r->line, f[0]);
        c->urgent++;
    }
}

static void test_lexicon_csv(void **state)
{
    (void)state;
    static const char *const cols[] = {"term", "kind", "intent", "category", "weight", "action"};
    lex_ctx c = {.b = NORM_BUF_INIT};
    ny_err e;
    assert_int_equal(norm_open(&c.nt, &e), NY_OK);
    size_t n = csv_each(LEXICON_CSV, cols, 6, check_lexeme, &c);
    assert_true(n >= 2000);
    assert_int_equal(c.terms.n, n);
    assert_true(c.patterns >= 500);
    assert_true(c.urgent >= 100);
    static const char *const must[] = {"着火", "火灾", "煤气泄漏", "有人落水", "触电",
                                       "晕倒", "救命", "被困电梯", "电梯…坏",  "水管…爆"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        if (seen_add(&c.terms, must[i]))
            fail_msg("%s: '%s' missing", LEXICON_CSV, must[i]);
    seen_free(&c.terms);
    norm_buf_free(&c.b);
    norm_close(c.nt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mini_audience),    cmocka_unit_test(test_mini_title_and_errors),
        cmocka_unit_test(test_list_copies),      cmocka_unit_test(test_list_from_store),
        cmocka_unit_test(test_list_csv_errors),  cmocka_unit_test(test_policies_csv),
        cmocka_unit_test(test_lexicon_csv),      cmocka_unit_test(test_defaults_questions),
        cmocka_unit_test(test_defaults_nothing), cmocka_unit_test(test_defaults_audience),
        cmocka_unit_test(test_defaults_threads),
    };
    /* the group set-up loads the shipped knowledge base for the defaults tests */
    return cmocka_run_group_tests_name("policy", tests, kb_setup, kb_teardown);
}
