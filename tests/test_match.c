/* test_match.c - unit tests of the keyword matcher in match.c: nested and
 * overlapping terms, UTF-8 character boundaries, gap patterns inside and
 * beyond their limit, lexicon terms as people write them, input errors, a
 * generated 10,000-entry lexicon checked against a naive reference matcher on
 * random texts, and hot reload while several threads scan. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"
#include "norm.h"
#include "testutil.h"

/* Compiles literal terms (NULL-terminated list). */
static match_set *lits(const char *const *terms)
{
    match_entry ents[64];
    size_t n = 0;
    for (; terms[n]; n++)
        ents[n] = (match_entry){terms[n], NULL, 0};
    match_set *m;
    ny_err e;
    assert_int_equal(match_compile(ents, n, &m, &e), NY_OK);
    assert_int_equal(match_entries(m), n);
    return m;
}

static void expect_hit(const match_hits *h, size_t k, uint32_t entry, uint32_t start, uint32_t end)
{
    assert_true(k < h->n);
    assert_int_equal(h->v[k].entry, entry);
    assert_int_equal(h->v[k].start, start);
    assert_int_equal(h->v[k].end, end);
}

static void scan(const match_set *m, const char *text, match_hits *h)
{
    ny_err e;
    assert_int_equal(match_scan(m, text, strlen(text), h, &e), NY_OK);
}

static void test_nested_overlapping(void **state)
{
    (void)state;
    const char *terms[] = {"电梯", "电梯坏", "梯坏", "坏了", "了", "电梯坏了吗", NULL};
    match_set *m = lits(terms);
    match_hits h = MATCH_HITS_INIT;
    scan(m, "电梯坏了", &h);
    assert_int_equal(h.n, 5);
    expect_hit(&h, 0, 0, 0, 6);  /* 电梯 */
    expect_hit(&h, 1, 1, 0, 9);  /* 电梯坏 (longest first at one end) */
    expect_hit(&h, 2, 2, 3, 9);  /* 梯坏 */
    expect_hit(&h, 3, 3, 6, 12); /* 坏了 */
    expect_hit(&h, 4, 4, 9, 12); /* 了 */
    scan(m, "电梯电梯坏 了", &h);
    assert_int_equal(h.n, 5);
    expect_hit(&h, 0, 0, 0, 6);
    expect_hit(&h, 1, 0, 6, 12);
    expect_hit(&h, 4, 4, 16, 19);
    scan(m, "", &h);
    assert_int_equal(h.n, 0);
    scan(m, "楼道灯不亮", &h);
    assert_int_equal(h.n, 0);
    match_hits_free(&h);
    match_release(m);
    /* the same term twice: both entries are reported */
    const char *dup[] = {"漏水", "水", "漏水", NULL};
    m = lits(dup);
    scan(m, "楼上漏水", &h);
    assert_int_equal(h.n, 3);
    expect_hit(&h, 0, 0, 6, 12);
    expect_hit(&h, 1, 2, 6, 12);
    expect_hit(&h, 2, 1, 9, 12);
    match_hits_free(&h);
    match_release(m);
}

static void test_utf8_boundaries(void **state)
{
    (void)state;
    /* 丕 E4 B8 95, 中 E4 B8 AD, 丠 E4 B8 A0: shared lead bytes */
    const char *terms[] = {"中", "丕中", "a", "é", "\xF0\x9F\x98\x80", NULL};
    match_set *m = lits(terms);
    match_hits h = MATCH_HITS_INIT;
    scan(m, "丠丕丕中\xF0\x9F\x98\x80\xC3\xA9", &h);
    assert_int_equal(h.n, 4);
    expect_hit(&h, 0, 1, 6, 12);
    expect_hit(&h, 1, 0, 9, 12);
    expect_hit(&h, 2, 4, 12, 16);
    expect_hit(&h, 3, 3, 16, 18);
    /* every hit starts and ends on a character boundary */
    for (size_t k = 0; k < h.n; k++) {
        assert_true(((unsigned char)"丠丕丕中\xF0\x9F\x98\x80\xC3\xA9"[h.v[k].start] & 0xC0) !=
                    0x80);
    }
    match_hits_free(&h);
    match_release(m);
    /* bytes that are no character match nothing and break a match */
    const char *two[] = {"电梯", "梯", NULL};
    m = lits(two);
    scan(m, "电\xFF梯 \xE7\x94电梯\xB5", &h);
    assert_int_equal(h.n, 3);
    expect_hit(&h, 0, 1, 4, 7);
    expect_hit(&h, 1, 0, 10, 16);
    expect_hit(&h, 2, 1, 13, 16);
    match_hits_free(&h);
    match_release(m);
    /* a byte string that spans two characters is no term: rejected */
    match_entry bad[] = {{"中", NULL, 0}, {"\xB8\xAD\xE4", NULL, 0}};
    ny_err e;
    assert_int_equal(match_compile(bad, 2, &m, &e), NY_EINVAL);
    assert_int_equal(e.index, 1);
    assert_null(m);
}

static void test_patterns(void **state)
{
    (void)state;
    match_entry ents[] = {
        {"电梯", "坏", 8},   /* 0 */
        {"电梯", NULL, 0},   /* 1: literal sharing the head */
        {"水", "水", 2},     /* 2: head equals tail */
        {"燃气", "味", 0},   /* 3: adjacent only */
        {"停电", "多久", 3}, /* 4 */
    };
    match_set *m;
    ny_err e;
    assert_int_equal(match_compile(ents, 5, &m, &e), NY_OK);
    match_hits h = MATCH_HITS_INIT;
    scan(m, "电梯又坏了", &h);
    assert_int_equal(h.n, 2);
    expect_hit(&h, 0, 1, 0, 6);
    expect_hit(&h, 1, 0, 0, 12);
    scan(m, "电梯坏", &h); /* gap 0 */
    assert_int_equal(h.n, 2);
    expect_hit(&h, 1, 0, 0, 9);
    scan(m, "电梯一二三四五六七八坏", &h); /* 8 characters between: inside */
    assert_int_equal(h.n, 2);
    expect_hit(&h, 1, 0, 0, 33);
    scan(m, "电梯一二三四五六七八九坏", &h); /* 9: beyond */
    assert_int_equal(h.n, 1);
    scan(m, "电梯12345678坏", &h); /* the gap counts characters, not bytes */
    assert_int_equal(h.n, 2);
    scan(m, "电梯123456789坏", &h);
    assert_int_equal(h.n, 1);
    scan(m, "坏了的电梯", &h); /* wrong order */
    assert_int_equal(h.n, 1);
    scan(m, "电梯电梯坏坏", &h); /* the nearest head; each tail once */
    assert_int_equal(h.n, 4);
    expect_hit(&h, 2, 0, 6, 15);
    expect_hit(&h, 3, 0, 6, 18);
    scan(m, "水水一水一二三水", &h);
    assert_int_equal(h.n, 2);
    expect_hit(&h, 0, 2, 0, 6);
    expect_hit(&h, 1, 2, 3, 12);
    scan(m, "电梯好了。门坏了", &h); /* no gap across the end of a sentence */
    assert_int_equal(h.n, 1);
    scan(m, "电梯修好了吗?又坏了", &h);
    assert_int_equal(h.n, 1);
    scan(m, "电梯呢！坏了", &h);
    assert_int_equal(h.n, 1);
    scan(m, "电梯\n坏了", &h);
    assert_int_equal(h.n, 1);
    scan(m, "电梯, 坏了", &h); /* a comma and a space do not end one */
    assert_int_equal(h.n, 2);
    expect_hit(&h, 1, 0, 0, 11);
    scan(m, "燃气味 燃气有味", &h);
    assert_int_equal(h.n, 1);
    expect_hit(&h, 0, 3, 0, 9);
    scan(m, "停电了要多久", &h);
    assert_int_equal(h.n, 1);
    expect_hit(&h, 0, 4, 0, 18);
    match_hits_free(&h);
    match_release(m);
}

static void test_terms_and_errors(void **state)
{
    (void)state;
    norm_table *nt;
    ny_err e;
    assert_int_equal(norm_open(&nt, &e), NY_OK);
    const char *terms[] = {"電梯…壞", "ＷＩＦＩ", "燃气……泄漏", "煤气 味"};
    match_set *m;
    assert_int_equal(match_compile_terms(nt, terms, 4, &m, &e), NY_OK);
    match_hits h = MATCH_HITS_INIT;
    scan(m, "电梯又坏了,wifi也断了,燃气好像泄漏了,有煤气 味", &h);
    assert_int_equal(h.n, 4);
    expect_hit(&h, 0, 0, 0, 12);
    assert_int_equal(h.v[1].entry, 1);
    assert_int_equal(h.v[2].entry, 2);
    assert_int_equal(h.v[3].entry, 3);
    match_hits_free(&h);
    match_release(m);
    const char *bad1[] = {"好", "…坏"};
    assert_int_equal(match_compile_terms(nt, bad1, 2, &m, &e), NY_EINVAL);
    assert_int_equal(e.index, 1);
    const char *bad2[] = {"\xE2\x80\x8B ", "好"};
    assert_int_equal(match_compile_terms(nt, bad2, 2, &m, &e), NY_EINVAL);
    assert_int_equal(e.index, 0);
    const char *bad3[] = {"好", "好", "坏\xFF"};
    assert_int_equal(match_compile_terms(nt, bad3, 3, &m, &e), NY_EINVAL);
    assert_int_equal(e.index, 2);
    norm_close(nt);
    match_entry bad4[] = {{"a", NULL, 0}, {NULL, NULL, 0}};
    assert_int_equal(match_compile(bad4, 2, &m, &e), NY_EINVAL);
    assert_int_equal(e.index, 1);
    match_entry bad5[] = {{"a", "", 1}};
    assert_int_equal(match_compile(bad5, 1, &m, &e), NY_EINVAL);
    match_entry bad6[] = {{"a", "b", MATCH_GAP_MAX + 1}};
    assert_int_equal(match_compile(bad6, 1, &m, &e), NY_EINVAL);
    /* an empty lexicon matches nothing */
    assert_int_equal(match_compile(NULL, 0, &m, &e), NY_OK);
    scan(m, "电梯坏了", &h);
    assert_int_equal(h.n, 0);
    match_hits_free(&h);
    match_release(m);
}

/* ---- the naive reference ---- */

static const char *alphabet[] = {"电", "梯", "坏", "了", "水", "管", "漏", "楼",
                                 "灯", "中", "丕", "a",  "b",  "1",  "é",  "ß",
                                 "😀",  "道", "气", "燃", " ",  "修", "。", "?"};
#define NALPHA (sizeof alphabet / sizeof alphabet[0])

static void random_string(char *buf, int minc, int maxc)
{
    int n = minc + rand() % (maxc - minc + 1);
    buf[0] = '\0';
    for (int i = 0; i < n; i++)
        strcat(buf, alphabet[rand() % (int)NALPHA]);
}

static int boundary(const char *t, size_t i)
{
    return ((unsigned char)t[i] & 0xC0) != 0x80;
}

/* Characters from a to z, or SIZE_MAX when one of them ends a sentence. */
static size_t chars_between(const char *t, size_t a, size_t z)
{
    size_t n = 0;
    for (size_t i = a; i < z; i++) {
        if (t[i] == '?' || strncmp(t + i, "。", 3) == 0)
            return SIZE_MAX;
        n += boundary(t, i);
    }
    return n;
}

static int occurs(const char *t, size_t len, size_t i, const char *s)
{
    size_t l = strlen(s);
    return boundary(t, i) && i + l <= len && memcmp(t + i, s, l) == 0;
}

static size_t naive(const match_entry *ents, size_t n, const char *t, match_hit *out)
{
    size_t len = strlen(t), k = 0;
    size_t heads[2000];
    for (size_t x = 0; x < n; x++) {
        const match_entry *en = &ents[x];
        if (!en->tail) {
            for (size_t i = 0; i < len; i++)
                if (occurs(t, len, i, en->head))
                    out[k++] =
                        (match_hit){(uint32_t)x, (uint32_t)i, (uint32_t)(i + strlen(en->head))};
            continue;
        }
        /* heads all have the same length: the nearest is the last start */
        size_t hl = strlen(en->head), tl = strlen(en->tail), nh = 0;
        for (size_t i = 0; i < len; i++)
            if (occurs(t, len, i, en->head))
                heads[nh++] = i;
        for (size_t ts = 0; ts < len; ts++) {
            if (!occurs(t, len, ts, en->tail))
                continue;
            size_t j = nh;
            while (j > 0 && heads[j - 1] + hl > ts)
                j--;
            if (j > 0 && chars_between(t, heads[j - 1] + hl, ts) <= en->gap)
                out[k++] = (match_hit){(uint32_t)x, (uint32_t)heads[j - 1], (uint32_t)(ts + tl)};
        }
    }
    return k;
}

static int hit_cmp(const void *a, const void *b)
{
    const match_hit *x = a, *y = b;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->entry < y->entry ? -1 : x->entry > y->entry;
}

static void test_large_lexicon_vs_naive(void **state)
{
    (void)state;
    enum { NENT = 10000, NTEXT = 60 };
    srand(2024);
    match_entry *ents = calloc(NENT, sizeof *ents);
    char(*heads)[64] = calloc(NENT, 64);
    char(*tails)[64] = calloc(NENT, 64);
    assert_non_null(ents);
    assert_non_null(heads);
    assert_non_null(tails);
    for (int i = 0; i < NENT; i++) {
        int pat = rand() % 10 == 0;
        random_string(heads[i], 1, pat ? 2 : 4);
        ents[i].head = heads[i];
        if (pat) {
            random_string(tails[i], 1, 2);
            ents[i].tail = tails[i];
            ents[i].gap = (unsigned)(rand() % 9);
        }
    }
    match_set *m;
    ny_err e;
    assert_int_equal(match_compile(ents, NENT, &m, &e), NY_OK);
    match_hits h = MATCH_HITS_INIT;
    match_hit *ref = malloc(200000 * sizeof *ref);
    assert_non_null(ref);
    size_t total = 0;
    for (int r = 0; r < NTEXT; r++) {
        char text[2000];
        random_string(text, 0, 120);
        scan(m, text, &h);
        size_t k = naive(ents, NENT, text, ref);
        total += k;
        assert_int_equal(h.n, k);
        for (size_t i = 1; i < h.n; i++)
            assert_true(h.v[i - 1].end <= h.v[i].end);
        qsort(h.v, h.n, sizeof *h.v, hit_cmp);
        qsort(ref, k, sizeof *ref, hit_cmp);
        for (size_t i = 0; i < k; i++) {
            assert_int_equal(h.v[i].entry, ref[i].entry);
            assert_int_equal(h.v[i].start, ref[i].start);
            assert_int_equal(h.v[i].end, ref[i].end);
        }
    }
    assert_true(total > 1000); /* the comparison saw real work */
    free(ref);
    match_hits_free(&h);
    match_release(m);
    free(ents);
    free(heads);
    free(tails);
}

/* ---- hot reload ---- */

typedef struct reader_ctx {
    match_holder *h;
    atomic_int stop;
    atomic_long bad, scans;
} reader_ctx;

/* Set version v holds v % 7 + 1 copies of 电梯: a text with two 电梯 must give
 * exactly twice as many hits as the acquired set has entries. */
static match_set *version(unsigned v)
{
    match_entry ents[7];
    size_t n = v % 7 + 1;
    for (size_t i = 0; i < n; i++)
        ents[i] = (match_entry){"电梯", NULL, 0};
    match_set *m = NULL;
    ny_err e;
    if (match_compile(ents, n, &m, &e) != NY_OK)
        return NULL;
    return m;
}

static void *reader(void *arg)
{
    reader_ctx *c = arg;
    match_hits h = MATCH_HITS_INIT;
    ny_err e;
    const char *text = "电梯坏了,物业说电梯明天修";
    while (!atomic_load(&c->stop)) {
        match_set *m = match_holder_acquire(c->h);
        for (int k = 0; k < 5; k++) {
            if (match_scan(m, text, strlen(text), &h, &e) != NY_OK || h.n != 2 * match_entries(m))
                atomic_fetch_add(&c->bad, 1);
            atomic_fetch_add(&c->scans, 1);
        }
        match_release(m);
    }
    match_hits_free(&h);
    return NULL;
}

static void test_hot_reload(void **state)
{
    (void)state;
    ny_err e;
    match_holder *hd;
    assert_int_equal(match_holder_new(version(0), &hd, &e), NY_OK);
    /* a reader keeps its set across a swap */
    match_set *old = match_holder_acquire(hd);
    match_holder_swap(hd, version(1));
    match_hits h = MATCH_HITS_INIT;
    scan(old, "电梯", &h);
    assert_int_equal(h.n, 1);
    match_release(old);
    match_set *cur = match_holder_acquire(hd);
    assert_int_equal(match_entries(cur), 2);
    match_release(cur);
    match_hits_free(&h);
    /* several threads scanning while the main thread swaps */
    enum { NTHREADS = 4, NSWAPS = 2000 };
    reader_ctx c;
    c.h = hd;
    atomic_init(&c.stop, 0);
    atomic_init(&c.bad, 0);
    atomic_init(&c.scans, 0);
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader, &c), 0);
    for (unsigned v = 2; v < NSWAPS; v++) {
        match_set *m = version(v);
        assert_non_null(m);
        match_holder_swap(hd, m);
    }
    while (atomic_load(&c.scans) < 1000)
        (void)sched_yield();
    atomic_store(&c.stop, 1);
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(atomic_load(&c.bad), 0);
    match_holder_free(hd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nested_overlapping),
        cmocka_unit_test(test_utf8_boundaries),
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_terms_and_errors),
        cmocka_unit_test(test_large_lexicon_vs_naive),
        cmocka_unit_test(test_hot_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
