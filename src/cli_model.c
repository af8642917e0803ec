/* cli_model.c - the `train` and `eval` subcommands.
 *
 * `train` builds the intent and category models (plus the category model of
 * long texts) from the shared data sets and our own labelled messages in
 * data/train/ and writes them to data/models/; `eval` scores a labelled
 * file against the committed models, or, with --cv K, runs the whole
 * training procedure K times on the other folds (plus every other training
 * source, minus any text of the evaluated file) so that the figures are on
 * data no model saw. Both use the same
 * task settings, so what eval measures is what train ships. The intent
 * figures include the emergency safety rule (model_emergency_cue) unless
 * --no-rule is given. */
#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "domain.h"
#include "model.h"
#include "norm.h"

#define DEFAULT_DATA "../shared/datasets"
#define DEFAULT_EXTRA "data/train"
#define DEFAULT_MODELS "data/models"
#define DEFAULT_LEXICON "data/lexicon.csv" /* hints for the category model only, see README */
#define SAFETY_RECALL 0.98
#define SAFETY_PRECISION 0.85
/* a category with under 1% of the long training texts (无: 2 chat messages
   of more than 64 code points against 957 appeals) is not predicted for one */
#define LONG_MIN_SHARE 0.01
/* the C of the short category model (chat macro-F1 is flat from 4 to 16) */
#define CATEGORY_C 8.0
/* the long-text model drops n-grams found in a single training text */
#define LONG_MIN_DF 2
/* the fold split of `eval --cv` unless --seed names another */
#define CV_SEED 0x20240u

static const char *const task_names[] = {"intent", "category", NULL};
/* the model files: one per task of model.h (intent, category, category of long texts) */
static const char *const model_names[] = {"intent", "category", "category_long", NULL};

/* What the category model sees of a short text besides its n-grams: the
   hints of the lexicon and the intent of the text ("intent_is=<intent>"),
   the gold one of a training message, the intent model's answer when
   predicting. */
typedef struct hints {
    model_lexicon *lx;
    const int *intent; /* per training text: index into domain_intents, or -1 */
} hints;

static size_t hint_extra(void *ctx, size_t i, const char *text, size_t len, model_extra *out,
                         size_t cap)
{
    const hints *h = ctx;
    size_t n = h->lx ? model_lexicon_features(h->lx, text, len, out, cap, NULL) : 0;
    if (h->intent && h->intent[i] >= 0)
        n = model_intent_feature(domain_intents[h->intent[i]], out, n, cap);
    return n;
}

static model_train_opts task_opts(int task, hints *h, int verbose)
{
    model_lexicon *lx = task == MODEL_TASK_CATEGORY ? h->lx : NULL;
    model_train_opts o = {.spec = model_task_spec(task),
                          .labels = task == MODEL_TASK_INTENT ? domain_intents : domain_categories,
                          .min_df = task == MODEL_TASK_CATEGORY_LONG ? LONG_MIN_DF : 0,
                          .safety_class = -1,
                          .inner_folds = 3,
                          .verbose = verbose,
                          .extra = task == MODEL_TASK_CATEGORY ? hint_extra : NULL,
                          .extra_ctx = h,
                          .note = lx ? "with lexicon features" : "without lexicon features"};
    if (task != MODEL_TASK_INTENT)
        o.long_min_share = LONG_MIN_SHARE;
    /* per-class offsets: +1.5 points of intent macro-F1; the long-text model
       lost accuracy with them, and so did the short category model, whose
       inner cross-validation (our own lines, written in batches on the same
       borders, resemble one another) also favoured settings that did worse
       on the shared messages: it has a fixed C, balanced class weights and
       no offsets (data/models/README.md) */
    o.calibrate = task == MODEL_TASK_INTENT ? MODEL_CAL_ALL : MODEL_CAL_NONE;
    if (task == MODEL_TASK_CATEGORY)
        o.fixed_c = CATEGORY_C;
    if (task == MODEL_TASK_INTENT) {
        o.safety_class = domain_index(domain_intents, "emergency");
        o.safety_recall = SAFETY_RECALL;
        o.safety_precision = SAFETY_PRECISION;
    }
    return o;
}

static size_t nlabels(int task)
{
    const char *const *l = task == MODEL_TASK_INTENT ? domain_intents : domain_categories;
    size_t n = 0;
    while (l[n])
        n++;
    return n;
}

/* Trains the model of task on the examples of ds that carry its label. */
static int train_task(int task, const model_dataset *ds, model_lexicon *lx, int verbose,
                      double fixed_c, model_clf **out, ny_err *e)
{
    const char **texts = malloc((ds->n ? ds->n : 1) * sizeof *texts);
    size_t *lens = malloc((ds->n ? ds->n : 1) * sizeof *lens);
    int *labels = malloc((ds->n ? ds->n : 1) * sizeof *labels);
    int *intents = malloc((ds->n ? ds->n : 1) * sizeof *intents);
    int rc;
    if (!texts || !lens || !labels || !intents) {
        rc = ny_err_set(e, NY_ERR, "out of memory");
    } else {
        for (size_t i = 0; i < ds->n; i++) {
            texts[i] = ds->ex[i].text;
            lens[i] = ds->ex[i].len;
            labels[i] = model_example_label(&ds->ex[i], task);
            intents[i] = ds->ex[i].intent;
            /* the long-text model learns from the written appeals it answers
               for (chat messages in its training cost the appeals points) */
            if (task == MODEL_TASK_CATEGORY_LONG &&
                (ds->ex[i].intent >= 0 ||
                 model_chars(ds->ex[i].text, ds->ex[i].len) <= MODEL_SHORT_CHARS))
                labels[i] = -1;
        }
        hints h = {lx, intents};
        model_train_opts o = task_opts(task, &h, verbose);
        if (fixed_c > 0)
            o.fixed_c = fixed_c;
        rc = model_train(&o, texts, lens, labels, ds->n, out, e);
    }
    free(texts);
    free(lens);
    free(labels);
    free(intents);
    return rc;
}

/* The models of a task: intent alone, or the category model plus, when
 * there is one, the category model of long texts and the intent model
 * (chatter has the category 无, as in triage: see MODEL_CHATTER_CHARS);
 * each with a workspace. */
typedef struct scorer {
    model_clf *m, *ml, *mi;
    model_ws *ws, *wsl, *wsi;
} scorer;

static void scorer_free(scorer *s)
{
    model_ws_free(s->ws);
    model_ws_free(s->wsl);
    model_ws_free(s->wsi);
    model_free(s->m);
    model_free(s->ml);
    model_free(s->mi);
    memset(s, 0, sizeof *s);
}

/* Makes the workspaces of the models of s. */
static int scorer_ready(scorer *s, ny_err *e)
{
    int rc = model_ws_new(model_get_spec(s->m), &s->ws, e);
    if (rc == NY_OK && s->ml)
        rc = model_ws_new(model_get_spec(s->ml), &s->wsl, e);
    if (rc == NY_OK && s->mi)
        rc = model_ws_new(model_get_spec(s->mi), &s->wsi, e);
    return rc;
}

/* The label predicted for text, with the safety rule for intent; a long
 * text's category comes from the long-text model, a text of at most
 * MODEL_CHATTER_CHARS that the intent model (when s has one) calls other
 * gets 无, a longer one that it calls neither other nor help, or one of more
 * than MODEL_NONE_CHARS, never does. */
static int classify(int task, const scorer *s, model_lexicon *lx, const model_example *x, int rule,
                    int *overridden)
{
    model_extra extra[MODEL_MAX_EXTRA];
    *overridden = 0;
    if (s->ml && model_chars(x->text, x->len) > MODEL_SHORT_CHARS)
        return model_predict(s->ml, s->wsl, x->text, x->len, NULL, 0, NULL);
    int none = model_label_index(s->m, "无"), intent = -1;
    size_t chars = model_chars(x->text, x->len);
    if (s->mi)
        intent = model_predict(s->mi, s->wsi, x->text, x->len, NULL, 0, NULL);
    int chat = intent >= 0 && (intent == model_label_index(s->mi, "other") ||
                               intent == model_label_index(s->mi, "help"));
    if (none >= 0 && chars <= MODEL_CHATTER_CHARS && intent >= 0 &&
        intent == model_label_index(s->mi, "other"))
        return none;
    size_t ne = lx && task == MODEL_TASK_CATEGORY
                    ? model_lexicon_features(lx, x->text, x->len, extra, MODEL_MAX_EXTRA, NULL)
                    : 0;
    float sc[MODEL_MAX_CLASSES];
    int p = model_predict(s->m, s->ws, x->text, x->len, ne ? extra : NULL, ne, sc);
    model_extra said;
    if (task == MODEL_TASK_CATEGORY && intent >= 0 &&
        model_intent_feature(model_label(s->mi, (size_t)intent), &said, 0, 1)) {
        model_add_extras(s->m, chars, &said, 1, sc); /* as triage adds it */
        p = model_best_except(s->m, sc, chars, -1);
    }
    if (p == none && s->mi && chars > MODEL_CHATTER_CHARS && (!chat || chars > MODEL_NONE_CHARS))
        p = model_best_except(s->m, sc, chars, none); /* no chatter: it has a domain */
    if (task == MODEL_TASK_INTENT && rule) {
        int em = model_label_index(s->m, "emergency");
        if (em >= 0 && p != em && model_emergency_cue(x->text, x->len, 0)) {
            *overridden = 1;
            p = em;
        }
    }
    return p;
}

/* How `eval --cv` trains: as `train` does, or quicker (`--quick C`) with
 * the fixed C of model_train_opts for the helper models (the long-text and
 * intent models of a category run) and, unless tune, for the evaluated one:
 * a proxy for comparing feature changes in seconds rather than minutes. */
typedef struct cv_mode {
    double quick_c; /* 0: as train */
    int tune;       /* with quick_c: the evaluated model still chooses C and offsets */
} cv_mode;

/* Trains the models of task (see scorer) on ds. */
static int train_scorer(int task, const model_dataset *ds, model_lexicon *lx, const cv_mode *cm,
                        scorer *s, ny_err *e)
{
    memset(s, 0, sizeof *s);
    int rc = train_task(task, ds, lx, 0, cm->tune ? 0 : cm->quick_c, &s->m, e);
    if (rc == NY_OK && task == MODEL_TASK_CATEGORY)
        rc = train_task(MODEL_TASK_CATEGORY_LONG, ds, lx, 0, cm->quick_c, &s->ml, e);
    if (rc == NY_OK && task == MODEL_TASK_CATEGORY)
        rc = train_task(MODEL_TASK_INTENT, ds, lx, 0, cm->quick_c, &s->mi, e);
    if (rc == NY_OK)
        rc = scorer_ready(s, e);
    if (rc != NY_OK)
        scorer_free(s);
    return rc;
}

static int print_help_train(void)
{
    printf("usage: nuanyang train [--out DIR] [--data DIR] [--extra DIR] [--lexicon FILE]\n"
           "                      [--quiet]\n\n"
           "Trains the intent and category models (训练意图和类别模型) and writes\n"
           "DIR/intent.model, DIR/category.model and DIR/category_long.model (the\n"
           "category of texts over 64 characters; default DIR: " DEFAULT_MODELS ").\n"
           "Training data: every *.tsv of --data (default " DEFAULT_DATA ")\n"
           "and of --extra (default " DEFAULT_EXTRA "): chat lines intent<TAB>category<TAB>text\n"
           "and appeal lines category<TAB>title<TAB>body. The category model also sees\n"
           "the hints of --lexicon FILE (default " DEFAULT_LEXICON "; \"\" for none) in\n"
           "short texts. C and the class weighting are chosen by 3-fold\n"
           "cross-validation on the training data;\n"
           "the intent model's emergency score gets the offset that reaches %.0f%%\n"
           "held-out recall while keeping held-out precision at %.0f%% or more.\n",
           SAFETY_RECALL * 100, SAFETY_PRECISION * 100);
    return CLI_OK;
}

/* Replaces every text of ds from index `from` on by its normalised form
 * (norm.h), the form the assistant classifies. */
static int normalise(model_dataset *ds, size_t from, ny_err *e)
{
    norm_table *t;
    int rc = norm_open(&t, e);
    if (rc != NY_OK)
        return rc;
    norm_buf b = NORM_BUF_INIT;
    for (size_t i = from; i < ds->n && rc == NY_OK; i++) {
        model_example *x = &ds->ex[i];
        if ((rc = norm_text(t, x->text, x->len, 0, &b, e)) != NY_OK)
            break;
        char *copy = malloc(b.len + 1);
        if (!copy) {
            rc = ny_err_set(e, NY_ERR, "out of memory");
            break;
        }
        memcpy(copy, b.s, b.len + 1);
        free(x->text);
        x->text = copy;
        x->len = b.len;
    }
    norm_buf_free(&b);
    norm_close(t);
    return rc;
}

static int load_sources(model_dataset *ds, const char *data, const char *extra, ny_err *e)
{
    int rc = model_dataset_read_dir(ds, data, e);
    if (rc == NY_OK && extra && *extra)
        rc = model_dataset_read_dir(ds, extra, e);
    return rc == NY_OK ? normalise(ds, 0, e) : rc;
}

/* The lexicon named by --lexicon, or NULL for "" (no keyword features). */
static int open_lexicon(const char *path, model_lexicon **out, ny_err *e)
{
    *out = NULL;
    return path && *path ? model_lexicon_load(path, out, e) : NY_OK;
}

int cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"data", required_argument, 0, 'd'},
                                         {"extra", required_argument, 0, 'x'},
                                         {"lexicon", required_argument, 0, 'l'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *out = DEFAULT_MODELS, *data = DEFAULT_DATA, *extra = DEFAULT_EXTRA;
    const char *lexicon = DEFAULT_LEXICON;
    int verbose = 1, c;
    while ((c = getopt_long(argc, argv, "o:d:x:l:qh", opts, NULL)) != -1) {
        if (c == 'o')
            out = optarg;
        else if (c == 'd')
            data = optarg;
        else if (c == 'x')
            extra = optarg;
        else if (c == 'l')
            lexicon = optarg;
        else if (c == 'q')
            verbose = 0;
        else if (c == 'h')
            return print_help_train();
        else
            return cli_usage_error("train", "bad option");
    }
    if (optind < argc)
        return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    model_dataset ds = {0};
    model_lexicon *lx;
    ny_err e;
    if (open_lexicon(lexicon, &lx, &e) != NY_OK)
        return cli_fail("train", &e);
    if (load_sources(&ds, data, extra, &e) != NY_OK) {
        model_dataset_free(&ds);
        model_lexicon_free(lx);
        return cli_fail("train", &e);
    }
    if (ds.n == 0) {
        model_dataset_free(&ds);
        model_lexicon_free(lx);
        ny_err_set(&e, NY_EINVAL, "no training data in %s or %s", data, extra);
        return cli_fail("train", &e);
    }
    int rc = CLI_OK;
    for (int task = 0; model_names[task] && rc == CLI_OK; task++) {
        if (verbose)
            fprintf(stderr, "training %s model on %zu examples ...\n", model_names[task], ds.n);
        model_clf *m;
        char path[4096];
        if (train_task(task, &ds, lx, verbose, 0, &m, &e) != NY_OK) {
            rc = cli_fail("train", &e);
            break;
        }
        if (snprintf(path, sizeof path, "%s/%s.model", out, model_names[task]) >= (int)sizeof path)
            rc = cli_usage_error("train", "--out path too long");
        else if (model_save(m, path, &e) != NY_OK)
            rc = cli_fail("train", &e);
        else
            printf("%s: %zu weight rows; %s\n", path, model_nrows(m), model_info(m));
        model_free(m);
    }
    model_dataset_free(&ds);
    model_lexicon_free(lx);
    return rc;
}

static int print_help_eval(void)
{
    printf("usage: nuanyang eval --task intent|category FILE [--model DIR] [--cv K]\n"
           "                     [--data DIR] [--extra DIR] [--lexicon FILE] [--only]\n"
           "                     [--seed N] [--no-rule] [--json] [--errors]\n\n"
           "Scores a labelled TSV file (评测): accuracy, macro-F1, per-class precision\n"
           "and recall, and the confusion matrix (rows: true class, columns: predicted).\n"
           "Chat lines are intent<TAB>category<TAB>text, appeal lines\n"
           "category<TAB>title<TAB>body (title and body are joined).\n\n"
           "  --model DIR  models to score (default " DEFAULT_MODELS ")\n"
           "  --cv K       instead, K-fold stratified cross-validation: for each fold a\n"
           "               model is trained exactly as `train` does on the other folds\n"
           "               plus the other training sources (--data, --extra; any text\n"
           "               that also occurs in FILE is left out) and scored on the fold\n"
           "  --seed N     with --cv, shuffle the folds with seed N (default %u): a\n"
           "               change is real when it helps on two splits\n"
           "  --only       with --cv, train on the folds of FILE alone\n"
           "  --quick C    with --cv, a quick proxy: every model trained with this fixed C\n"
           "               (balanced, no offsets) instead of choosing it\n"
           "  --tune       with --quick, the evaluated model is still tuned as `train` does\n"
           "  --lexicon F  category keyword features from lexicon F (default\n"
           "               " DEFAULT_LEXICON "; \"\" for none); must match the training\n"
           "  --no-rule    intent without the emergency safety rule\n"
           "  --json       one JSON object instead of the table\n"
           "  --errors     after the table, every misclassified text with its true and\n"
           "               predicted class\n",
           CV_SEED);
    return CLI_OK;
}

/* The printf field width that pads s to cols terminal columns (CJK
 * characters take two columns and three bytes). */
static int field(const char *s, int cols)
{
    int bytes = 0, width = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, bytes++)
        if (*p < 0x80)
            width++;
        else if (*p >= 0xc0)
            width += *p >= 0xe0 ? 2 : 1;
    return cols + bytes - width;
}

static void print_table(int task, const char *file, size_t n, const char *how,
                        const model_scores *s, size_t overrides, size_t overrides_right)
{
    const char *const *names = task == MODEL_TASK_INTENT ? domain_intents : domain_categories;
    printf("%s on %s: %zu examples, %s\n", task_names[task], file, n, how);
    printf("accuracy %.4f  macro-F1 %.4f\n", s->accuracy, s->macro_f1);
    if (task == MODEL_TASK_INTENT)
        printf("safety rule raised %zu messages to emergency, %zu of them rightly\n", overrides,
               overrides_right);
    printf("\n   %-16s %9s %9s %9s %8s\n", "class", "precision", "recall", "F1", "support");
    for (size_t c = 0; c < s->nclasses; c++)
        printf("%zu  %-*s %9.4f %9.4f %9.4f %8zu\n", c, field(names[c], 16), names[c],
               s->precision[c], s->recall[c], s->f1[c], s->support[c]);
    printf("\nconfusion matrix (rows: true class, columns: predicted class)\n   %-16s", "");
    for (size_t c = 0; c < s->nclasses; c++)
        printf(" %5zu", c);
    printf("\n");
    for (size_t g = 0; g < s->nclasses; g++) {
        printf("%zu  %-*s", g, field(names[g], 16), names[g]);
        for (size_t p = 0; p < s->nclasses; p++)
            printf(" %5zu", s->cm[g][p]);
        printf("\n");
    }
}

static int print_json(int task, const char *file, size_t n, const char *how, const model_scores *s,
                      size_t overrides, size_t overrides_right)
{
    const char *const *names = task == MODEL_TASK_INTENT ? domain_intents : domain_categories;
    json_t *classes = json_array(), *cm = json_array();
    for (size_t c = 0; c < s->nclasses; c++) {
        json_array_append_new(classes,
                              json_pack("{s:s,s:f,s:f,s:f,s:I}", "label", names[c], "precision",
                                        s->precision[c], "recall", s->recall[c], "f1", s->f1[c],
                                        "support", (json_int_t)s->support[c]));
        json_t *row = json_array();
        for (size_t p = 0; p < s->nclasses; p++)
            json_array_append_new(row, json_integer((json_int_t)s->cm[c][p]));
        json_array_append_new(cm, row);
    }
    json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:f,s:f,s:o,s:o}", "task", task_names[task], "file",
                          file, "examples", (json_int_t)n, "method", how, "accuracy", s->accuracy,
                          "macro_f1", s->macro_f1, "classes", classes, "confusion", cm);
    if (!o)
        return CLI_FAIL;
    if (task == MODEL_TASK_INTENT) {
        json_object_set_new(o, "rule_overrides", json_integer((json_int_t)overrides));
        json_object_set_new(o, "rule_overrides_right", json_integer((json_int_t)overrides_right));
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        return CLI_FAIL;
    printf("%s\n", text);
    free(text);
    return CLI_OK;
}

/* Loads model `name` of dir into *m; a missing file is NY_ENOTFOUND. */
static int load_named(const char *dir, const char *name, model_clf **m, ny_err *e)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s.model", dir, name) >= (int)sizeof path)
        return ny_err_set(e, NY_EINVAL, "--model path too long");
    return model_load(path, m, e);
}

/* Predictions for every example of ds with the models of dir. */
static int predict_all(int task, const model_dataset *ds, const char *dir, model_lexicon *lx,
                       int rule, int *pred, size_t *ov, size_t *ov_right, ny_err *e)
{
    scorer s = {0};
    int rc = load_named(dir, model_names[task], &s.m, e);
    if (rc == NY_OK && task == MODEL_TASK_CATEGORY &&
        (rc = load_named(dir, model_names[MODEL_TASK_CATEGORY_LONG], &s.ml, e)) == NY_ENOTFOUND)
        rc = NY_OK; /* models of an older version: no long-text model */
    if (rc == NY_OK && task == MODEL_TASK_CATEGORY)
        rc = load_named(dir, model_names[MODEL_TASK_INTENT], &s.mi, e);
    if (rc == NY_OK)
        rc = scorer_ready(&s, e);
    for (size_t i = 0; rc == NY_OK && i < ds->n; i++) {
        int o;
        int p = classify(task, &s, lx, &ds->ex[i], rule, &o);
        const model_clf *m =
            s.ml && model_chars(ds->ex[i].text, ds->ex[i].len) > MODEL_SHORT_CHARS ? s.ml : s.m;
        pred[i] = domain_index(task == MODEL_TASK_INTENT ? domain_intents : domain_categories,
                               model_label(m, (size_t)p));
        *ov += (size_t)o;
        *ov_right += (size_t)(o && pred[i] == model_example_label(&ds->ex[i], task));
    }
    scorer_free(&s);
    return rc;
}

static int same_text(const model_example *a, const model_example *b)
{
    return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
}

/* K-fold cross-validation predictions for ds, folds shuffled with seed; pool
 * holds the other sources. */
static int cross_validate(int task, const model_dataset *ds, const model_dataset *pool,
                          model_lexicon *lx, unsigned k, uint32_t seed, const cv_mode *cm, int rule,
                          int *pred, size_t *ov, size_t *ov_right, ny_err *e)
{
    int *gold = malloc(ds->n * sizeof *gold), *fold = malloc(ds->n * sizeof *fold);
    model_dataset tr = {0};
    tr.ex = malloc((ds->n + pool->n) * sizeof *tr.ex);
    int rc = NY_OK;
    if (!gold || !fold || !tr.ex) {
        rc = ny_err_set(e, NY_ERR, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < ds->n; i++)
        gold[i] = model_example_label(&ds->ex[i], task);
    if ((rc = model_folds(gold, ds->n, k, seed, fold, e)) != NY_OK)
        goto done;
    /* the pool minus anything that also occurs in the evaluated file */
    size_t base = 0;
    for (size_t j = 0; j < pool->n; j++) {
        int dup = 0;
        for (size_t i = 0; i < ds->n && !dup; i++)
            dup = same_text(&pool->ex[j], &ds->ex[i]);
        if (!dup)
            tr.ex[base++] = pool->ex[j];
    }
    for (unsigned f = 0; f < k && rc == NY_OK; f++) {
        tr.n = base;
        for (size_t i = 0; i < ds->n; i++)
            if (fold[i] != (int)f)
                tr.ex[tr.n++] = ds->ex[i];
        scorer s;
        if ((rc = train_scorer(task, &tr, lx, cm, &s, e)) != NY_OK)
            break;
        for (size_t i = 0; i < ds->n; i++) {
            if (fold[i] != (int)f)
                continue;
            int o;
            pred[i] = classify(task, &s, lx, &ds->ex[i], rule, &o);
            *ov += (size_t)o;
            *ov_right += (size_t)(o && pred[i] == gold[i]);
        }
        scorer_free(&s);
        fprintf(stderr, "fold %u/%u done\n", f + 1, k);
    }
done:
    free(gold);
    free(fold);
    free(tr.ex); /* the examples belong to ds and pool */
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {{"task", required_argument, 0, 't'},
                                         {"model", required_argument, 0, 'm'},
                                         {"cv", required_argument, 0, 'k'},
                                         {"data", required_argument, 0, 'd'},
                                         {"extra", required_argument, 0, 'x'},
                                         {"only", no_argument, 0, 'O'},
                                         {"lexicon", required_argument, 0, 'l'},
                                         {"no-rule", no_argument, 0, 'R'},
                                         {"json", no_argument, 0, 'j'},
                                         {"errors", no_argument, 0, 'E'},
                                         {"seed", required_argument, 0, 's'},
                                         {"quick", required_argument, 0, 'q'},
                                         {"tune", no_argument, 0, 'T'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *dir = DEFAULT_MODELS, *data = DEFAULT_DATA, *extra = DEFAULT_EXTRA;
    const char *lexicon = DEFAULT_LEXICON;
    int task = -1, only = 0, rule = 1, json = 0, errors = 0, c;
    long k = 0;
    unsigned long seed = CV_SEED;
    cv_mode cm = {0, 0};
    while ((c = getopt_long(argc, argv, "t:m:k:d:x:l:s:q:ORTjEh", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 't':
            if ((task = domain_index(task_names, optarg)) < 0)
                return cli_usage_error("eval", "--task must be intent or category");
            break;
        case 'm':
            dir = optarg;
            break;
        case 'k':
            k = strtol(optarg, &end, 10);
            if (*end || k < 2 || k > 50)
                return cli_usage_error("eval", "--cv wants a number of folds 2..50");
            break;
        case 's':
            seed = strtoul(optarg, &end, 10);
            if (!*optarg || *end || seed > UINT32_MAX)
                return cli_usage_error("eval", "--seed wants a number 0..4294967295");
            break;
        case 'q':
            cm.quick_c = strtod(optarg, &end);
            if (!*optarg || *end || !(cm.quick_c > 0 && cm.quick_c <= 1000))
                return cli_usage_error("eval", "--quick wants a C above 0 and at most 1000");
            break;
        case 'T':
            cm.tune = 1;
            break;
        case 'd':
            data = optarg;
            break;
        case 'x':
            extra = optarg;
            break;
        case 'l':
            lexicon = optarg;
            break;
        case 'O':
            only = 1;
            break;
        case 'R':
            rule = 0;
            break;
        case 'j':
            json = 1;
            break;
        case 'E':
            errors = 1;
            break;
        case 'h':
            return print_help_eval();
        default:
            return cli_usage_error("eval", "bad option");
        }
    }
    if (task < 0)
        return cli_usage_error("eval", "--task intent|category is required");
    if (optind != argc - 1)
        return cli_usage_error("eval", "expected exactly one labelled FILE");
    const char *file = argv[optind];
    model_dataset ds = {0}, pool = {0};
    model_lexicon *lx;
    ny_err e;
    int rc = open_lexicon(lexicon, &lx, &e);
    if (rc == NY_OK)
        rc = model_dataset_read(&ds, file, &e);
    if (rc == NY_OK)
        rc = normalise(&ds, 0, &e);
    size_t n = 0;
    for (size_t i = 0; i < ds.n; i++)
        if (model_example_label(&ds.ex[i], task) >= 0) { /* others move past n */
            model_example t = ds.ex[n];
            ds.ex[n++] = ds.ex[i];
            ds.ex[i] = t;
        }
    if (rc == NY_OK && n == 0)
        rc = ny_err_set(&e, NY_EINVAL, "%s: no examples labelled with %s", file, task_names[task]);
    if (rc == NY_OK && k && !only)
        rc = load_sources(&pool, data, extra, &e);
    int *pred = rc == NY_OK ? malloc(ds.n * sizeof *pred) : NULL;
    if (rc == NY_OK && !pred)
        rc = ny_err_set(&e, NY_ERR, "out of memory");
    size_t ov = 0, ov_right = 0, kept = ds.n;
    ds.n = n;
    char how[256];
    if (rc == NY_OK && k) {
        snprintf(how, sizeof how, "%ld-fold cross-validation%s, fold seed %lu%s", k,
                 only ? " on this file alone" : " with the other training sources", seed,
                 cm.quick_c > 0 ? (cm.tune ? ", quick helper models" : ", quick (fixed C)") : "");
        rc = cross_validate(task, &ds, &pool, lx, (unsigned)k, (uint32_t)seed, &cm, rule, pred, &ov,
                            &ov_right, &e);
    } else if (rc == NY_OK) {
        snprintf(how, sizeof how, "models in %s", dir);
        rc = predict_all(task, &ds, dir, lx, rule, pred, &ov, &ov_right, &e);
    }
    int out = CLI_OK;
    if (rc != NY_OK) {
        out = cli_fail("eval", &e);
    } else {
        int *gold = malloc(n * sizeof *gold);
        model_scores *s = malloc(sizeof *s);
        if (gold && s) {
            for (size_t i = 0; i < n; i++)
                gold[i] = model_example_label(&ds.ex[i], task);
            model_score(gold, pred, n, nlabels(task), s);
            if (json)
                out = print_json(task, file, n, how, s, ov, ov_right);
            else
                print_table(task, file, n, how, s, ov, ov_right);
            const char *const *names =
                task == MODEL_TASK_INTENT ? domain_intents : domain_categories;
            if (errors && !json)
                printf("\nerrors (true class, predicted class, normalised text)\n");
            for (size_t i = 0; errors && !json && i < n; i++)
                if (pred[i] != gold[i] && pred[i] >= 0)
                    printf("%s\t%s\t%s\n", names[gold[i]], names[pred[i]], ds.ex[i].text);
        } else {
            ny_err_set(&e, NY_ERR, "out of memory");
            out = cli_fail("eval", &e);
        }
        free(gold);
        free(s);
    }
    free(pred);
    ds.n = kept;
    model_dataset_free(&ds);
    model_dataset_free(&pool);
    model_lexicon_free(lx);
    return out;
}
