/* test_import.c - CSV import and export (import.h) against a real database.
 *
 * The fixtures in tests/data/ describe a small part of 羊山新区 (the district,
 * two streets, three communities, five grids, and their groups, staff,
 * households, enterprises, policies and lexicon) in canonical form, i.e. as
 * export writes it. They must import, and export must give them back byte for
 * byte. Every kind of bad input must be refused with its
 * "FILE:LINE: column: reason" message while the database stays exactly as it
 * was (same counts, same store_digest). Runs on SQLite or PostgreSQL
 * depending on the environment (testutil.h); run it from the repository
 * root, where tests/data/ is found. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import.h"

static const char *data_path(const char *kind)
{
    static char path[256];
    snprintf(path, sizeof path, "tests/data/%s.csv", kind);
    if (access(path, R_OK) != 0)
        fail_msg("%s not found: run the tests from the repository root", path);
    return path;
}

/* A scratch path (copied, as tu_tmp_path's buffer is reused). */
static char *scratch(const char *name)
{
    char *p = strdup(tu_tmp_path(name));
    assert_non_null(p);
    return p;
}

static void import_ok(store *s, const char *kind, const char *path, long want_rows)
{
    long rows = -1;
    ny_err e;
    if (import_csv(s, kind, path, &rows, &e) != NY_OK)
        fail_msg("import %s: %s", kind, e.msg);
    assert_int_equal(rows, want_rows);
}

static const struct {
    const char *kind;
    long rows;
} fixtures[] = {
    {"units", 11},      {"groups", 4},   {"staff", 6},   {"households", 4},
    {"enterprises", 3}, {"policies", 3}, {"lexicon", 6},
};
#define N_FIXTURES (sizeof fixtures / sizeof fixtures[0])

static void import_district(store *s)
{
    for (size_t i = 0; i < N_FIXTURES; i++)
        import_ok(s, fixtures[i].kind, data_path(fixtures[i].kind), fixtures[i].rows);
}

static int setup_district(void **state)
{
    store *s = tu_open_fresh("import");
    import_district(s);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    store_close(*state);
    return 0;
}

typedef struct snapshot {
    store_stats stats;
    char digest[65];
} snapshot;

static void take_snapshot(store *s, snapshot *out)
{
    ny_err e;
    memset(out, 0, sizeof *out);
    if (store_stats_get(s, &out->stats, &e) != NY_OK || store_digest(s, out->digest, &e) != NY_OK)
        fail_msg("snapshot: %s", e.msg);
}

/* One bad file: its kind and text, the code and the message expected after
 * the file's path. */
typedef struct bad_file {
    const char *kind;
    const char *text;
    int code;
    const char *msg;
} bad_file;

/* Imports each bad file and checks its error and that nothing changed. */
static void expect_rejected(store *s, const bad_file *cases, size_t n)
{
    char *path = scratch("bad.csv");
    for (size_t i = 0; i < n; i++) {
        snapshot before, after;
        char want[1024];
        long rows = -1;
        ny_err e;
        take_snapshot(s, &before);
        tu_write_file(path, cases[i].text);
        int rc = import_csv(s, cases[i].kind, path, &rows, &e);
        snprintf(want, sizeof want, "%s%s", path, cases[i].msg);
        if (rc != cases[i].code || strcmp(e.msg, want) != 0)
            fail_msg("case %zu (%s): got %d '%s', want %d '%s'", i, cases[i].kind, rc, e.msg,
                     cases[i].code, want);
        assert_int_equal(e.code, rc);
        assert_int_equal(rows, 0);
        take_snapshot(s, &after);
        assert_memory_equal(&before.stats, &after.stats, sizeof before.stats);
        assert_string_equal(before.digest, after.digest);
    }
    free(path);
}

static void test_district_imports(void **state)
{
    store *s = *state;
    store_stats st;
    ny_err e;
    assert_int_equal(store_stats_get(s, &st, &e), NY_OK);
    assert_int_equal(st.units_district, 1);
    assert_int_equal(st.units_street, 2);
    assert_int_equal(st.units_community, 3);
    assert_int_equal(st.units_grid, 5);
    assert_int_equal(st.groups_resident, 3);
    assert_int_equal(st.groups_enterprise, 1);
    assert_int_equal(st.staff, 6);
    assert_int_equal(st.households, 4);
    assert_int_equal(st.enterprises, 3);
    assert_int_equal(st.policies, 3);
    assert_int_equal(st.lexicon, 6);
}

static void test_round_trip_every_kind(void **state)
{
    store *s = *state;
    char *path = scratch("export.csv");
    for (size_t i = 0; i < N_FIXTURES; i++) {
        long rows = -1;
        ny_err e;
        if (export_csv(s, fixtures[i].kind, path, 1, &rows, &e) != NY_OK)
            fail_msg("export %s: %s", fixtures[i].kind, e.msg);
        assert_int_equal(rows, fixtures[i].rows);
        char *want = tu_read_file(data_path(fixtures[i].kind)), *got = tu_read_file(path);
        if (strcmp(want, got) != 0)
            fail_msg("export of %s differs from its input:\n%s\n---\n%s", fixtures[i].kind, got,
                     want);
        free(want);
        free(got);
    }
    /* exports were renamed into place: no temporary file is left behind */
    DIR *d = opendir(tu_tmp_path(""));
    assert_non_null(d);
    for (struct dirent *de; (de = readdir(d));)
        assert_null(strstr(de->d_name, ".tmp-"));
    closedir(d);
    free(path);
}

/* Exported files imported into a second database give the same content. */
static void test_reimport_same_digest(void **state)
{
    store *s = *state, *copy = tu_open_fresh("reimport");
    char *path = scratch("again.csv");
    for (size_t i = 0; i < N_FIXTURES; i++) {
        long rows;
        ny_err e;
        assert_int_equal(export_csv(s, fixtures[i].kind, path, 1, &rows, &e), NY_OK);
        import_ok(copy, fixtures[i].kind, path, fixtures[i].rows);
    }
    snapshot a, b;
    take_snapshot(s, &a);
    take_snapshot(copy, &b);
    assert_string_equal(a.digest, b.digest);
    store_close(copy);
    free(path);
}

static void test_masked_export(void **state)
{
    store *s = *state;
    char *path = scratch("masked.csv");
    long rows;
    ny_err e;
    assert_int_equal(export_csv(s, "households", path, 0, &rows, &e), NY_OK);
    assert_int_equal(rows, 4);
    char *text = tu_read_file(path);
    assert_non_null(strstr(text, ",3,139****5678\n"));
    assert_non_null(strstr(text, ",1,158****1234\n"));
    assert_non_null(strstr(text, ",5,037*****3210\n"));
    assert_non_null(strstr(text, ",4,\n"));
    assert_null(strstr(text, "13912345678"));
    free(text);
    assert_int_equal(export_csv(s, "staff", path, 0, &rows, &e), NY_OK);
    assert_int_equal(rows, 6);
    text = tu_read_file(path);
    assert_non_null(strstr(text, "王秀英,139****1234,community"));
    assert_non_null(strstr(text, "李建国,037*****1234,department"));
    assert_null(strstr(text, "13903761234"));
    free(text);
    /* a masked export cannot be imported back by mistake */
    store *copy = tu_open_fresh("masked");
    import_ok(copy, "units", data_path("units"), 11);
    assert_int_equal(import_csv(copy, "staff", path, &rows, &e), NY_EINVAL);
    assert_non_null(strstr(e.msg, "masked.csv:3: phone: '139****1234' is masked"));
    store_close(copy);
    free(path);
}

/* Children listed before their parents import, and export in code order. */
static void test_units_children_first(void **state)
{
    (void)state;
    store *s = tu_open_fresh("children");
    char *canon = tu_read_file(data_path("units"));
    char *lines[32] = {NULL}, *text = malloc(strlen(canon) + 1);
    size_t n = 0;
    assert_non_null(text);
    for (char *line = strtok(canon, "\n"); line && n < 32; line = strtok(NULL, "\n"))
        lines[n++] = line;
    assert_int_equal(n, 12);
    strcpy(text, lines[0]);
    strcat(text, "\n");
    for (size_t i = n - 1; i > 0; i--) {
        strcat(text, lines[i]);
        strcat(text, "\n");
    }
    char *path = scratch("reversed.csv");
    tu_write_file(path, text);
    import_ok(s, "units", path, 11);
    long rows;
    ny_err e;
    assert_int_equal(export_csv(s, "units", path, 1, &rows, &e), NY_OK);
    char *got = tu_read_file(path), *want = tu_read_file(data_path("units"));
    assert_string_equal(got, want);
    free(got);
    free(want);
    free(path);
    free(text);
    free(canon);
    store_close(s);
}

/* What a spreadsheet saves: a byte order mark, CRLF line ends, columns in
 * another order, quotes where none are needed, a blank last line. */
static void test_spreadsheet_file(void **state)
{
    (void)state;
    static const char text[] =
        "\xEF\xBB\xBFphone,size,address,grid_code,code\r\n"
        "13912345678,3,前进街道新都社区幸福小区1号楼1单元101室,411571001001001,"
        "411571001001001-0001\r\n"
        ",4,\"前进街道新都社区幸福小区1号楼1单元102室\",411571001001001,411571001001001-0002\r\n"
        "15837601234,1,\"新都社区\"\"和谐\"\"家园2号楼\",411571001001002,411571001001002-0001\r\n"
        "\"0376-6543210\",5,\" 金牛山社区金牛路8号 \",411571002001001,411571002001001-0001\r\n"
        "\r\n";
    store *s = tu_open_fresh("spreadsheet");
    char *path = scratch("excel.csv");
    tu_write_file(path, text);
    import_ok(s, "units", data_path("units"), 11);
    import_ok(s, "households", path, 4);
    long rows;
    ny_err e;
    assert_int_equal(export_csv(s, "households", path, 1, &rows, &e), NY_OK);
    char *got = tu_read_file(path), *want = tu_read_file(data_path("households"));
    assert_string_equal(got, want);
    free(got);
    free(want);
    free(path);
    store_close(s);
}

static void test_header_errors(void **state)
{
    static const bad_file cases[] = {
        {"units", "", NY_EINVAL,
         ":1: empty file, expected the header row code,name,level,parent_code"},
        {"units", "\n\n", NY_EINVAL,
         ":1: empty file, expected the header row code,name,level,parent_code"},
        {"households", "code,grid_code,address,size\n", NY_EINVAL,
         ":1: phone: missing column (expected code,grid_code,address,size,phone)"},
        {"households", "code,grid_code,address,size,tel\n", NY_EINVAL,
         ":1: tel: unknown column (expected code,grid_code,address,size,phone)"},
        {"enterprises", "uscc,name,name,industry,grid_code\n", NY_EINVAL,
         ":1: name: duplicate column"},
        {"lexicon", "term,kind,intent,category,weight,action,\n", NY_EINVAL,
         ":1: (empty): unknown column (expected term,kind,intent,category,weight,action)"},
        {"lexicon", "term,kind,intent,categ\xC3ry,weight,action\n", NY_EINVAL,
         ":1: field 4: invalid UTF-8 at byte 6"},
    };
    expect_rejected(*state, cases, sizeof cases / sizeof cases[0]);
}

static void test_row_errors(void **state)
{
    static const char long_summary[] =
        "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十"
        "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十"
        "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十"
        "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十"
        "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十";
    char policy[2048];
    snprintf(policy, sizeof policy,
             "code,title,category,audience,department,summary,eligibility,how_to_apply,"
             "keywords\nlong,标题,环境保护,both,区城管局,%s多,,,\n",
             long_summary);
    const bad_file cases[] = {
        {"units", "code,name,level,parent_code\n411571003000,新街道,street,411571000000,x\n",
         NY_EINVAL, ":2: wrong number of columns: expected 4, got 5"},
        {"units", "code,name,level,parent_code\n\n411571003000,新街道\n", NY_EINVAL,
         ":3: wrong number of columns: expected 4, got 2"},
        {"households", "code,grid_code,address,size,phone\nh-1,411571001001001,\"幸福\n小区\",2,\n",
         NY_EINVAL, ":2: address: must be one line without control characters"},
        {"policies",
         "code,title,category,audience,department,summary,eligibility,how_to_apply,keywords\n"
         "p1,标题,环境保护,both,区城管局,摘要,\"第一行\n第二行\",,\n"
         "p2,标\xE6\x96题,环境保护,both,区城管局,摘要,,,\n",
         NY_EINVAL, ":4: title: invalid UTF-8 at byte 4"},
        {"units", "code,name,level,parent_code\n411571003000,新街道,town,411571000000\n", NY_EINVAL,
         ":2: level: must be one of district/street/community/grid, got 'town'"},
        {"units", "code,name,level,parent_code\n411571001004,新社区,grid,411571001001\n", NY_EINVAL,
         ":2: code: grid code '411571001004' must be 15 digits"},
        {"units", "code,name,level,parent_code\n411571002003000,新社区,community,411571001000\n",
         NY_EINVAL, ":2: code: community code '411571002003000' must be 12 digits"},
        {"units", "code,name,level,parent_code\n411571002003,新社区,community,411571001000\n",
         NY_EINVAL,
         ":2: code: community code '411571002003' does not start with its parent's '411571001'"},
        {"units", "code,name,level,parent_code\n411572000000,新区,district,411571000000\n",
         NY_EINVAL, ":2: parent_code: must be empty for a district"},
        {"units", "code,name,level,parent_code\n411571003000,新街道,street,\n", NY_EINVAL,
         ":2: parent_code: a street needs a parent unit"},
        {"enterprises",
         "uscc,name,industry,grid_code\n91350100M000100Y44,某公司,制造,411571002001001\n",
         NY_EINVAL, ":2: uscc: credit code '91350100M000100Y44': check character should be '3'"},
        {"enterprises", "uscc,name,industry,grid_code\n91350100M000100Y43,,制造,411571002001001\n",
         NY_EINVAL, ":2: name: must not be empty"},
        {"households", "code,grid_code,address,size,phone\nh-1,411571001001001,新都路,abc,\n",
         NY_EINVAL, ":2: size: must be an integer 1..99, got 'abc'"},
        {"households", "code,grid_code,address,size,phone\nh-1,411571001001001,新都路,100,\n",
         NY_EINVAL, ":2: size: must be an integer 1..99, got '100'"},
        {"households", "code,grid_code,address,size,phone\nh-1,411571001001001,新都路,3,139-x\n",
         NY_EINVAL,
         ":2: phone: must be a phone number (3..20 digits or '-', may start with '+'), got "
         "'139-x'"},
        {"groups",
         "platform,external_id,kind,unit_code,name,members,target\n"
         "qq,g-1,resident,411571001001001,群,10,\n",
         NY_EINVAL, ":2: platform: must be one of wechat/wecom/dingtalk/feishu/webhook, got 'qq'"},
        {"groups",
         "platform,external_id,kind,unit_code,name,members,target\n"
         "wechat,g-1,resident,411571001001001,群,-1,\n",
         NY_EINVAL, ":2: members: must be an integer 0..100000, got '-1'"},
        {"staff",
         "account,name,phone,role,unit_code,department\n"
         "u1,张三,13800000000,boss,411571000000,\n",
         NY_EINVAL,
         ":2: role: must be one of grid_worker/community/street/district/department/admin, "
         "got 'boss'"},
        {"staff",
         "account,name,phone,role,unit_code,department\n"
         "u1,张三,13800000000,department,411571000000,\n",
         NY_EINVAL, ":2: department: must name the department of a department officer"},
        {"policies",
         "code,title,category,audience,department,summary,eligibility,how_to_apply,keywords\n"
         "p1,标题,环境保护,everyone,区城管局,摘要,,,\n",
         NY_EINVAL, ":2: audience: must be one of resident/enterprise/both, got 'everyone'"},
        {"policies", policy, NY_EINVAL, ":2: summary: longer than 200 characters (201)"},
        {"lexicon", "term,kind,intent,category,weight,action\n漏水,regex,report,,1,\n", NY_EINVAL,
         ":2: kind: must be one of literal/pattern, got 'regex'"},
        {"lexicon", "term,kind,intent,category,weight,action\n漏水,literal,ask,,1,\n", NY_EINVAL,
         ":2: intent: must be one of consult/help/report/emergency/complaint/other or empty, "
         "got 'ask'"},
        {"lexicon", "term,kind,intent,category,weight,action\n漏水,literal,,城建,1,\n", NY_EINVAL,
         ":2: category: must be one of 城乡建设/环境保护/交通运输/教育文体/劳动和社会保障/"
         "商贸旅游/卫生计生/无 or empty, got '城建'"},
        {"lexicon", "term,kind,intent,category,weight,action\n漏水,literal,,,\"1,5\",\n", NY_EINVAL,
         ":2: weight: must be a number -100..100, got '1,5'"},
        {"lexicon", "term,kind,intent,category,weight,action\n漏水,literal,,,nan,\n", NY_EINVAL,
         ":2: weight: must be a number -100..100, got 'nan'"},
        {"lexicon", "term,kind,intent,category,weight,action\n电梯坏,pattern,,,1,\n", NY_EINVAL,
         ":2: term: a pattern needs '…' between its parts"},
        {"lexicon", "term,kind,intent,category,weight,action\n漏水,literal,,,1,\"notify\"x\n",
         NY_EINVAL, ":2: action: unexpected character after a closing quote"},
        {"lexicon", "term,kind,intent,category,weight,action\n漏水,literal,,,1,\n\"着火,x\n",
         NY_EINVAL, ":3: term: unterminated quoted field"},
    };
    expect_rejected(*state, cases, sizeof cases / sizeof cases[0]);
}

/* A summary of exactly 200 Chinese characters (600 bytes) is accepted. */
static void test_length_counts_characters(void **state)
{
    store *s = *state;
    char text[2048] = "code,title,category,audience,department,summary,eligibility,how_to_apply,"
                      "keywords\nfull,标题,环境保护,both,区城管局,";
    for (int i = 0; i < 200; i++)
        strcat(text, "字");
    strcat(text, ",,,\n");
    char *path = scratch("full.csv");
    tu_write_file(path, text);
    import_ok(s, "policies", path, 1);
    free(path);
}

static void test_reference_errors(void **state)
{
    static const bad_file cases[] = {
        {"units", "code,name,level,parent_code\n411571009001,无名社区,community,411571009000\n",
         NY_ENOTFOUND, ":2: parent_code: unknown parent unit '411571009000'"},
        {"units", "code,name,level,parent_code\n411571001001004,网格,grid,411571001000\n",
         NY_EINVAL,
         ":2: code: grid code '411571001001004' does not start with its parent's "
         "'411571001000'"},
        {"units", "code,name,level,parent_code\n411571001000004,网格,grid,411571001000\n",
         NY_EINVAL,
         ":2: parent_code: parent unit '411571001000' is a street, expected a "
         "community"},
        {"households", "code,grid_code,address,size,phone\nh-1,411571001001009,新都路,3,\n",
         NY_ENOTFOUND, ":2: grid_code: unknown grid '411571001001009'"},
        {"households", "code,grid_code,address,size,phone\nh-1,411571001001,新都路,3,\n", NY_EINVAL,
         ":2: grid_code: unit '411571001001' is a community, expected a grid"},
        {"enterprises",
         "uscc,name,industry,grid_code\n91350100M000100Y43,某公司,制造,4115710020010010\n",
         NY_EINVAL, ":2: grid_code: must be a 12- or 15-digit unit code, got '4115710020010010'"},
        {"staff",
         "account,name,phone,role,unit_code,department\n"
         "u1,张三,,street,411571003000,\n",
         NY_ENOTFOUND, ":2: unit_code: unknown unit '411571003000'"},
    };
    expect_rejected(*state, cases, sizeof cases / sizeof cases[0]);
}

static void test_duplicates(void **state)
{
    static const bad_file cases[] = {
        {"units",
         "code,name,level,parent_code\n411571003000,新街道,street,411571000000\n"
         "411571003001,新社区,community,411571003000\n411571003000,又一街道,street,"
         "411571000000\n",
         NY_EEXIST, ":4: code: duplicate of line 2"},
        {"groups",
         "platform,external_id,kind,unit_code,name,members,target\n"
         "wechat,g-1,resident,411571001001001,群一,10,\n"
         "wecom,g-1,resident,411571001001001,群二,10,\n"
         "wechat,g-1,resident,411571001001002,群三,10,\n",
         NY_EEXIST, ":4: external_id: duplicate of line 2"},
        {"units",
         "code,name,level,parent_code\n411571003000,新街道,street,411571000000\n"
         "411571001001001,新都社区第一网格,grid,411571001001\n",
         NY_EEXIST, ":3: code: '411571001001001' already exists in the database"},
        {"households",
         "code,grid_code,address,size,phone\nh-new,411571001001001,新都路,3,\n"
         "411571001001002-0001,411571001001002,和谐家园,2,\n",
         NY_EEXIST, ":3: code: '411571001001002-0001' already exists in the database"},
        {"groups",
         "platform,external_id,kind,unit_code,name,members,target\n"
         "wechat,wxg-xindu-2,resident,411571001001002,群,10,\n",
         NY_EEXIST, ":2: external_id: 'wxg-xindu-2' already exists in the database"},
        {"lexicon", "term,kind,intent,category,weight,action\n电梯…坏,pattern,,,1,\n", NY_EEXIST,
         ":2: term: '电梯…坏' already exists in the database"},
    };
    expect_rejected(*state, cases, sizeof cases / sizeof cases[0]);
}

/* n households on the first grid, numbered from first; row bad (1-based,
 * 0 = none) gets the code of an existing household instead. */
static char *households_file(int first, int n, int bad)
{
    size_t cap = 128 + (size_t)n * 128, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text, cap, "code,grid_code,address,size,phone\n");
    for (int i = 1; i <= n; i++) {
        char code[32];
        snprintf(code, sizeof code, "T-%06d", first + i);
        len += (size_t)snprintf(
            text + len, cap - len, "%s,411571001001001,新都社区幸福小区%d号,%d,139%08d\n",
            i == bad ? "411571001001001-0001" : code, first + i, 1 + i % 9, first + i);
    }
    return text;
}

/* Errors in a later batch undo the earlier batches and still name the right
 * line; the same file without the error imports whole. */
static void test_batches(void **state)
{
    store *s = *state;
    char *path = scratch("many.csv");
    char *text = households_file(0, 2500, 1700);
    bad_file late_dup = {"households", text, NY_EEXIST,
                         ":1701: code: '411571001001001-0001' already exists in the database"};
    expect_rejected(s, &late_dup, 1);
    free(text);
    text = households_file(0, 2500, 0);
    size_t len = strlen(text);
    char *bad = malloc(len + 64);
    assert_non_null(bad);
    snprintf(bad, len + 64, "%sT-999999,411571001001001,新都路,0,\n", text);
    bad_file late_value = {"households", bad, NY_EINVAL,
                           ":2502: size: must be an integer 1..99, got '0'"};
    expect_rejected(s, &late_value, 1);
    free(bad);
    tu_write_file(path, text);
    import_ok(s, "households", path, 2500);
    store_stats st;
    ny_err e;
    assert_int_equal(store_stats_get(s, &st, &e), NY_OK);
    assert_int_equal(st.households, 4 + 2500);
    free(text);
    free(path);
}

static void test_bad_arguments(void **state)
{
    store *s = *state;
    long rows = -1;
    ny_err e;
    assert_int_equal(import_csv(s, "planets", data_path("units"), &rows, &e), NY_EINVAL);
    assert_string_equal(e.msg, "unknown kind 'planets'");
    assert_int_equal(export_csv(s, "planets", "-", 0, &rows, &e), NY_EINVAL);
    /* every advertised kind is served */
    char *out = scratch("kind.csv");
    size_t n = 0;
    for (; import_kinds[n]; n++)
        if (export_csv(s, import_kinds[n], out, 1, &rows, &e) != NY_OK)
            fail_msg("export %s: %s", import_kinds[n], e.msg);
    assert_int_equal(n, N_FIXTURES);
    free(out);
    char *missing = scratch("no-such-file.csv");
    assert_int_equal(import_csv(s, "units", missing, &rows, &e), NY_ERR);
    assert_non_null(strstr(e.msg, "no-such-file.csv: cannot open"));
    free(missing);
    char *nodir = scratch("no-such-dir/out.csv");
    assert_int_equal(export_csv(s, "units", nodir, 1, &rows, &e), NY_ERR);
    assert_non_null(strstr(e.msg, "out.csv: cannot create"));
    assert_int_equal(access(nodir, F_OK), -1);
    free(nodir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_district_imports, setup_district, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_every_kind, setup_district, teardown),
        cmocka_unit_test_setup_teardown(test_reimport_same_digest, setup_district, teardown),
        cmocka_unit_test_setup_teardown(test_masked_export, setup_district, teardown),
        cmocka_unit_test(test_units_children_first),
        cmocka_unit_test(test_spreadsheet_file),
        cmocka_unit_test_setup_teardown(test_header_errors, setup_district, teardown),
        cmocka_unit_test_setup_teardown(test_row_errors, setup_district, teardown),
        cmocka_unit_test_setup_teardown(test_length_counts_characters, setup_district, teardown),
        cmocka_unit_test_setup_teardown(test_reference_errors, setup_district, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates, setup_district, teardown),
        cmocka_unit_test_setup_teardown(test_batches, setup_district, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup_district, teardown),
    };
    return cmocka_run_group_tests_name("import", tests, NULL, NULL);
}
