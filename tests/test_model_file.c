/* test_model_file.c - unit tests of the model file and of loading two models
 * straight into their joint table (model_file.c, model_joint_load).
 *
 * The engine no longer builds the intent and category models' own matrices:
 * model_joint_load reads both files into the joint table. These tests hold
 * it to what it replaces: on every shared chat message, with and without
 * lexicon hints, its table scores exactly (to the bit) like model_joint_new
 * made from the two loaded models, and model_joint_add_extras adds exactly
 * what model_add_extras adds. The file checks: a file of the old format 3
 * (FNV-1a checksum) still loads and predicts like the new one; every
 * truncation and a damaged byte anywhere are refused with NY_EINVAL, by
 * model_load and model_joint_load alike, never read; models that hash text
 * differently load whole, without a joint table; a head cannot be saved.
 * The first test scores on four threads at once before anything else has
 * used the lazily filled table of ln(1 + sum) values of caller features,
 * and must get the scores one thread gets afterwards.
 * Runs with the repository root as working directory and reads
 * ../shared/datasets. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "model.h"
#include "model_int.h"

#define CHAT "../shared/datasets/group_messages_train.tsv"

static model_clf *tiny_model(model_spec spec)
{
    static const char *const texts[] = {"请问低保怎么申请", "着火了快来人", "路灯坏了",
                                        "物业不管事",       "谢谢大家",     "帮我搬个东西"};
    static const int labels[] = {0, 3, 2, 4, 5, 1};
    model_train_opts o = {
        .spec = spec, .labels = domain_intents, .safety_class = -1, .inner_folds = 2, .fixed_c = 1};
    size_t lens[6];
    for (size_t i = 0; i < 6; i++)
        lens[i] = strlen(texts[i]);
    model_clf *m;
    ny_err e;
    if (model_train(&o, texts, lens, labels, 6, &m, &e) != NY_OK)
        fail_msg("%s", e.msg);
    return m;
}

static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    assert_true(len > 0);
    rewind(f);
    unsigned char *p = malloc((size_t)len);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return p;
}

static void write_all(const char *path, const unsigned char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void same_predictions(const model_clf *a, const model_clf *b)
{
    static const char *const probe[] = {"请问低保怎么申请", "着火了", "路灯又坏了", "谢谢",
                                        "不相干的话"};
    model_ws *ws;
    ny_err e;
    assert_int_equal(model_ws_new(model_get_spec(a), &ws, &e), NY_OK);
    for (size_t i = 0; i < 5; i++) {
        float s1[MODEL_MAX_CLASSES], s2[MODEL_MAX_CLASSES];
        assert_int_equal(model_predict(a, ws, probe[i], strlen(probe[i]), NULL, 0, s1),
                         model_predict(b, ws, probe[i], strlen(probe[i]), NULL, 0, s2));
        assert_memory_equal(s1, s2, model_nclasses(a) * sizeof *s1);
    }
    model_ws_free(ws);
}

#define NTHREADED 300

typedef struct scorer {
    const model_joint *j;
    const model_spec *spec;
    const model_dataset *ds;
    const model_extra (*ex)[MODEL_MAX_EXTRA];
    const size_t *ne;
    float (*sc)[2][MODEL_MAX_CLASSES];
    int ok;
} scorer;

static void *score_all(void *arg)
{
    scorer *s = arg;
    model_ws *ws;
    ny_err e;
    if (model_ws_new(s->spec, &ws, &e) != NY_OK)
        return NULL;
    for (size_t i = 0; i < NTHREADED && i < s->ds->n; i++) {
        int best[2];
        model_joint_predict(s->j, ws, s->ds->ex[i].text, s->ds->ex[i].len, s->ex[i], s->ne[i], best,
                            s->sc[i][0], s->sc[i][1]);
    }
    model_ws_free(ws);
    s->ok = 1;
    return NULL;
}

/* Four threads score with lexicon hints at once, the first users of the
 * ln(1 + sum) table, and agree to the bit with one thread afterwards. */
static void test_threads_first_use(void **state)
{
    (void)state;
    model_clf *hi, *hc;
    model_joint *j;
    model_lexicon *lx;
    ny_err e;
    if (model_joint_load("data/models/intent.model", "data/models/category.model", &hi, &hc, &j,
                         &e) != NY_OK ||
        model_lexicon_load("data/lexicon.csv", &lx, &e) != NY_OK)
        fail_msg("%s", e.msg);
    model_dataset ds = {0};
    if (model_dataset_read(&ds, CHAT, &e) != NY_OK)
        fail_msg("%s", e.msg);
    static model_extra ex[NTHREADED][MODEL_MAX_EXTRA];
    static size_t ne[NTHREADED];
    static float sc[5][NTHREADED][2][MODEL_MAX_CLASSES];
    for (size_t i = 0; i < NTHREADED && i < ds.n; i++)
        ne[i] =
            model_lexicon_features(lx, ds.ex[i].text, ds.ex[i].len, ex[i], MODEL_MAX_EXTRA, NULL);
    scorer s[5];
    pthread_t th[4];
    for (int k = 0; k < 5; k++)
        s[k] = (scorer){
            j, model_get_spec(hi), &ds, (const model_extra(*)[MODEL_MAX_EXTRA])ex, ne, sc[k], 0};
    for (int k = 0; k < 4; k++)
        assert_int_equal(pthread_create(&th[k], NULL, score_all, &s[k]), 0);
    for (int k = 0; k < 4; k++)
        pthread_join(th[k], NULL);
    score_all(&s[4]);
    for (int k = 0; k < 5; k++)
        assert_true(s[k].ok);
    for (int k = 0; k < 4; k++)
        assert_memory_equal(sc[k], sc[4], sizeof sc[4]);
    model_dataset_free(&ds);
    model_lexicon_free(lx);
    model_joint_free(j);
    model_free(hi);
    model_free(hc);
}

/* The joint table read from the files is the joint table of the loaded
 * models, bit for bit in every score; and the portable sums give the same
 * bits as the AVX2 ones. */
static void test_joint_load_is_joint_new(void **state)
{
    (void)state;
    const char *pi = "data/models/intent.model", *pc = "data/models/category.model";
    model_clf *intent, *category, *hi, *hc;
    model_joint *j1, *j2;
    model_lexicon *lx;
    ny_err e;
    if (model_load(pi, &intent, &e) != NY_OK || model_load(pc, &category, &e) != NY_OK ||
        model_lexicon_load("data/lexicon.csv", &lx, &e) != NY_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(model_joint_new(intent, category, &j1, &e), NY_OK);
    assert_int_equal(model_joint_load(pi, pc, &hi, &hc, &j2, &e), NY_OK);
    assert_non_null(j2);
    model_joint_portable(j2);
    assert_int_equal(model_nclasses(hi), model_nclasses(intent));
    assert_int_equal(model_nclasses(hc), model_nclasses(category));
    assert_string_equal(model_label(hc, 7), model_label(category, 7));
    assert_memory_equal(model_get_spec(hi), model_get_spec(intent), sizeof(model_spec));
    assert_int_equal(model_nrows(hc), 0); /* a head holds no weights */
    assert_int_equal(model_save(hc, tu_tmp_path("head.model"), &e), NY_EINVAL);
    model_ws *ws;
    assert_int_equal(model_ws_new(model_get_spec(hi), &ws, &e), NY_OK);
    model_dataset ds = {0};
    if (model_dataset_read(&ds, CHAT, &e) != NY_OK)
        fail_msg("%s", e.msg);
    for (size_t i = 0; i < ds.n; i++) {
        const char *t = ds.ex[i].text;
        size_t len = ds.ex[i].len;
        model_extra ex[MODEL_MAX_EXTRA];
        size_t ne = i % 2 ? model_lexicon_features(lx, t, len, ex, MODEL_MAX_EXTRA, NULL) : 0;
        float a[2][MODEL_MAX_CLASSES], b[2][MODEL_MAX_CLASSES];
        int ba[2], bb[2];
        model_joint_predict(j1, ws, t, len, ex, ne, ba, a[0], a[1]);
        model_joint_predict(j2, ws, t, len, ex, ne, bb, b[0], b[1]);
        assert_memory_equal(ba, bb, sizeof ba);
        assert_memory_equal(a[0], b[0], model_nclasses(intent) * sizeof(float));
        assert_memory_equal(a[1], b[1], model_nclasses(category) * sizeof(float));
        model_extra said;
        model_intent_feature(domain_intents[i % 6], &said, 0, 1);
        size_t chars = 1 + i % 100;
        model_add_extras(category, chars, &said, 1, a[1]);
        model_joint_add_extras(j2, 1, chars, &said, 1, b[1]);
        assert_memory_equal(a[1], b[1], model_nclasses(category) * sizeof(float));
    }
    model_dataset_free(&ds);
    model_ws_free(ws);
    model_joint_free(j1);
    model_joint_free(j2);
    model_free(hi);
    model_free(hc);
    model_free(intent);
    model_free(category);
    model_lexicon_free(lx);
}

/* A file of format 3 (FNV-1a over the bytes, as the models committed before
 * format 4 were written) still loads, alone and into a joint table. */
static void test_format_3_read(void **state)
{
    (void)state;
    model_clf *m = tiny_model(model_spec_default());
    char *p4 = strdup(tu_tmp_path("v4.model")), *p3 = strdup(tu_tmp_path("v3.model"));
    ny_err e;
    assert_int_equal(model_save(m, p4, &e), NY_OK);
    size_t n;
    unsigned char *d = read_all(p4, &n);
    assert_int_equal(d[8], 4);
    put32(d + 8, 3);
    uint32_t h = 2166136261u;
    for (size_t i = 0; i + 4 < n; i++)
        h = (h ^ d[i]) * 16777619u;
    put32(d + n - 4, h);
    write_all(p3, d, n);
    model_clf *l;
    assert_int_equal(model_load(p3, &l, &e), NY_OK);
    same_predictions(m, l);
    model_free(l);
    model_clf *a, *b;
    model_joint *j;
    assert_int_equal(model_joint_load(p3, p4, &a, &b, &j, &e), NY_OK);
    assert_non_null(j);
    model_joint_free(j);
    model_free(a);
    model_free(b);
    /* the old checksum is checked too */
    d[40] ^= 0x55;
    write_all(p3, d, n);
    assert_int_equal(model_load(p3, &l, &e), NY_EINVAL);
    assert_null(l);
    free(d);
    free(p3);
    free(p4);
    model_free(m);
}

/* Truncated or damaged files are refused by both loaders, never read. */
static void test_damaged_files(void **state)
{
    (void)state;
    model_spec small = model_spec_default();
    small.hash_bits = 12;
    model_clf *m = tiny_model(small);
    char *good = strdup(tu_tmp_path("good.model")), *bad = strdup(tu_tmp_path("bad.model"));
    ny_err e;
    assert_int_equal(model_save(m, good, &e), NY_OK);
    size_t n;
    unsigned char *d = read_all(good, &n);
    model_clf *l, *a, *b;
    model_joint *j;
    size_t step = n / 500 + 1;
    for (size_t len = 0; len < n; len += len < 64 ? 1 : step) {
        write_all(bad, d, len);
        assert_int_equal(model_load(bad, &l, &e), NY_EINVAL);
        assert_null(l);
        assert_int_equal(model_joint_load(good, bad, &a, &b, &j, &e), NY_EINVAL);
        assert_true(!a && !b && !j);
    }
    for (size_t at = 0; at < n; at += at < 64 ? 1 : step) {
        d[at] ^= 0x21;
        write_all(bad, d, n);
        int rc = model_load(bad, &l, &e);
        assert_true(rc == NY_EINVAL || rc == NY_EVERSION);
        assert_null(l);
        assert_int_equal(model_joint_load(bad, good, &a, &b, &j, &e), rc);
        assert_true(!a && !b && !j);
        d[at] ^= 0x21;
    }
    write_all(bad, d, n); /* restored: loads again */
    assert_int_equal(model_load(bad, &l, &e), NY_OK);
    model_free(l);
    assert_int_equal(model_joint_load(good, tu_tmp_path("absent.model"), &a, &b, &j, &e),
                     NY_ENOTFOUND);
    free(good);
    free(bad);
    free(d);
    model_free(m);
}

/* Models that hash text differently load whole, each with its weights, and
 * no joint table. */
static void test_joint_load_different_hashing(void **state)
{
    (void)state;
    model_spec s1 = model_spec_default(), s2 = model_spec_default();
    s1.hash_bits = 12;
    s2.hash_bits = 13;
    model_clf *m1 = tiny_model(s1), *m2 = tiny_model(s2);
    char *p1 = strdup(tu_tmp_path("h12.model")), *p2 = strdup(tu_tmp_path("h13.model"));
    ny_err e;
    assert_int_equal(model_save(m1, p1, &e), NY_OK);
    assert_int_equal(model_save(m2, p2, &e), NY_OK);
    model_clf *a, *b;
    model_joint *j;
    assert_int_equal(model_joint_load(p1, p2, &a, &b, &j, &e), NY_OK);
    assert_null(j);
    assert_int_equal(model_nrows(a), model_nrows(m1));
    same_predictions(m1, a);
    same_predictions(m2, b);
    free(p1);
    free(p2);
    model_free(a);
    model_free(b);
    model_free(m1);
    model_free(m2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_first_use),
        cmocka_unit_test(test_joint_load_is_joint_new),
        cmocka_unit_test(test_format_3_read),
        cmocka_unit_test(test_damaged_files),
        cmocka_unit_test(test_joint_load_different_hashing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
