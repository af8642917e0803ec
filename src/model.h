/* model.h - the intent and category classifiers of the assistant.
 *
 * A model is a linear classifier over hashed features of one message: the
 * character 1..n-grams of its normalised text (sublinear term frequency times
 * IDF, the vector scaled to unit L2 norm) plus optional keyword features that
 * the caller supplies as (id, value) pairs (summed per id, then ln(1 + sum)), typically the intent
 * and category hints of lexicon matches weighted by their entry weight. Prediction adds the
 * per-class weights of every feature and picks the best score; it allocates
 * nothing and needs a workspace (model_ws) per thread. Models are trained
 * with liblinear (model_train), with the regularisation constant and, for a
 * safety class such as "emergency", a score offset chosen by cross-validation
 * inside the training data, and are kept in a small binary file (model_save,
 * model_load) that holds the hashing parameters, the label names and the
 * non-zero weight rows. The module also reads the labelled TSV data sets,
 * makes stratified folds and computes the evaluation figures. */
#ifndef NY_MODEL_H
#define NY_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MODEL_MAX_CLASSES 16
#define MODEL_MAX_CHARS 8192 /* code points of a text that make features */
#define MODEL_MAX_EXTRA 256  /* caller-supplied features per text */

/* How a text becomes features; stored in the model file. */
typedef struct model_spec {
    unsigned hash_bits; /* the feature space has 2^hash_bits buckets (12..24) */
    unsigned min_n;     /* shortest character n-gram (1..4) */
    unsigned max_n;     /* longest character n-gram (min_n..5) */
    unsigned flags;     /* MODEL_F_* */
    uint32_t seed;      /* hashing seed */
    float extra_scale;  /* multiplier of caller-supplied feature values */
} model_spec;

enum {
    MODEL_F_DIGITS = 1u << 0,      /* every ASCII digit counts as '0' */
    MODEL_F_BOUNDARY = 1u << 1,    /* n-grams also span the start and end of the text */
    MODEL_F_IDF = 1u << 2,         /* n-gram values are weighted by the model's IDF */
    MODEL_F_SHORT_EXTRA = 1u << 3, /* caller features count only for texts of at most
                                      MODEL_SHORT_CHARS code points (chat messages, not
                                      appeals: lexicon hints help the one and hurt the other) */
    MODEL_F_HEAD = 1u << 4,        /* the n-grams of the first MODEL_HEAD_CHARS code points
                                      (an appeal's title) count again as features of their
                                      own, scaled to length MODEL_HEAD_WEIGHT */
};

#define MODEL_HEAD_CHARS 20
#define MODEL_HEAD_WEIGHT 0.5

/* With MODEL_F_SHORT_EXTRA, the longest text (in code points, white space not
 * counted) whose caller features count. */
#define MODEL_SHORT_CHARS 64

/* The longest text (code points, as MODEL_SHORT_CHARS) whose category is 无
 * whenever the intent model calls it other (chatter has no domain); longer
 * texts keep the category model's answer, so that a short appeal ending in
 * thanks is not taken for chatter. */
#define MODEL_CHATTER_CHARS 32

/* 无 is the category of chatter and of help with no public domain: a text of
 * more than MODEL_CHATTER_CHARS code points whose intent the intent model
 * calls neither other nor help (a consultation, report or complaint), and any
 * text of more than MODEL_NONE_CHARS (a short written appeal ending in thanks
 * may read as thanks to the intent model), takes the category model's best
 * class other than 无 (model_best_except), in triage and in `nuanyang eval`.
 * Of the training texts labelled 无 only two chat messages are longer (and
 * longer than MODEL_SHORT_CHARS). */
#define MODEL_NONE_CHARS 40

/* A caller-supplied feature, e.g. a lexicon hint: id names it (see
 * model_feature_id), value is its strength. */
typedef struct model_extra {
    uint32_t id;
    float value;
} model_extra;

typedef struct model_clf model_clf;
typedef struct model_ws model_ws;

/* The default feature specification used by `nuanyang train`. */
model_spec model_spec_default(void);

/* A stable feature id for a name such as "intent=emergency"; equal names give
 * equal ids in every build. */
uint32_t model_feature_id(const char *name);

/* Creates a workspace for feature extraction and prediction with spec.
 * Returns NY_OK, NY_EINVAL for a bad spec or NY_ERR when out of memory. */
int model_ws_new(const model_spec *spec, model_ws **out, ny_err *e);

/* Frees a workspace; NULL is allowed. */
void model_ws_free(model_ws *ws);

/* Computes the feature vector that model m sees for text (len bytes of UTF-8;
 * invalid bytes count as U+FFFD, code points past MODEL_MAX_CHARS and extras
 * past MODEL_MAX_EXTRA are ignored) plus nextra caller features. Sets *idx and
 * *val to n bucket indices (distinct, unordered) and values that stay valid
 * until the next use of ws, and returns n. ws must have been made with
 * model_get_spec(m). */
size_t model_features(const model_clf *m, model_ws *ws, const char *text, size_t len,
                      const model_extra *extra, size_t nextra, const uint32_t **idx,
                      const float **val);

/* Classifies text (as model_features) and returns the index of the best
 * class. When scores is not NULL it receives model_nclasses(m) decision
 * values (higher is more likely). ws must have been made with model_spec(m).
 * Never fails and allocates nothing. */
int model_predict(const model_clf *m, model_ws *ws, const char *text, size_t len,
                  const model_extra *extra, size_t nextra, float *scores);

/* The best class of m by scores (model_nclasses(m) decision values, as
 * model_predict gives them) for a text of chars code points, among the
 * classes m allows for such a text, leaving out class skip (none when skip
 * is negative); 0 when no class is left. */
int model_best_except(const model_clf *m, const float *scores, size_t chars, int skip);

/* Adds to scores (model_nclasses(m) decision values of a text of chars code
 * points, as model_predict gives them) what the nextra caller features extra
 * contribute under m, e.g. a feature known only after the text was scored
 * (the intent the intent model found). The result equals predicting with
 * them in the first place, up to float rounding, unless one of them hashes
 * to the bucket of a feature given then (values of a bucket are summed
 * before the logarithm). Allocates nothing. */
void model_add_extras(const model_clf *m, size_t chars, const model_extra *extra, size_t nextra,
                      float *scores);

/* The feature specification of m. */
const model_spec *model_get_spec(const model_clf *m);

/* Number of classes of m, and the name of class i (0 <= i < nclasses). */
size_t model_nclasses(const model_clf *m);
const char *model_label(const model_clf *m, size_t i);

/* Index of the class called name, or -1. */
int model_label_index(const model_clf *m, const char *name);

/* The free-text training summary stored with m ("" if none). */
const char *model_info(const model_clf *m);

/* Number of non-zero weight rows of m. */
size_t model_nrows(const model_clf *m);

/* Writes m to path (replacing it atomically through a temporary file).
 * Returns NY_OK or NY_ERR with the reason. */
int model_save(const model_clf *m, const char *path, ny_err *e);

/* Reads a model written by model_save. Returns NY_OK, NY_ENOTFOUND when the
 * file does not exist, NY_EVERSION for a newer format, NY_EINVAL for a
 * damaged file or NY_ERR. */
int model_load(const char *path, model_clf **out, ny_err *e);

/* Frees a model; NULL is allowed. */
void model_free(model_clf *m);

/* ---- two models in one pass ---- */

typedef struct model_joint model_joint;

/* Combines models a and b, which must hash text the same way (equal
 * hash_bits, n-gram orders, seed, MODEL_F_DIGITS and MODEL_F_BOUNDARY, no
 * MODEL_F_HEAD; IDF, caller features and classes may differ), into one table holding, per
 * bucket, both IDF values and both models' 16-bit weights side by side
 * (32 bytes for 6 + 8 classes), so that a message is hashed once and each of
 * its n-grams costs one memory access. The table does not refer to a or b,
 * which may be freed. Returns NY_OK, NY_EINVAL when the models hash
 * differently, or NY_ERR when out of memory. */
int model_joint_new(const model_clf *a, const model_clf *b, model_joint **out, ny_err *e);

/* Loads the models of the files at path_a and path_b (as model_load) and,
 * when they hash text the same way, their joint table (as model_joint_new)
 * with the weights read straight from the files into it: then *a and *b are
 * heads without weights of their own (model_get_spec, model_label,
 * model_best_except and the like work; predict through *j, never with
 * model_predict, model_add_extras or model_save), which spares two dense
 * matrices, their IDF tables and the copying (most of the engine's start-up).
 * Otherwise *j is NULL and *a and *b are whole models. Returns NY_OK or
 * model_load's codes for the first file that fails. */
int model_joint_load(const char *path_a, const char *path_b, model_clf **a, model_clf **b,
                     model_joint **j, ny_err *e);

/* Adds to scores what extra contributes under model k of j (0: a, 1: b),
 * exactly as model_add_extras on that model would (the same sums, in the
 * same order). */
void model_joint_add_extras(const model_joint *j, int k, size_t chars, const model_extra *extra,
                            size_t nextra, float *scores);

/* Frees a joint table; NULL is allowed. */
void model_joint_free(model_joint *j);

/* Classifies text with both models of j: best[0] is model a's class, best[1]
 * model b's, as model_predict would give them (scores equal up to float
 * rounding; scores_a and scores_b receive them when not NULL). extra is
 * given to both, each weighing it as its spec says. ws must have been made
 * with the spec of a or b. Never fails and allocates nothing. */
void model_joint_predict(const model_joint *j, model_ws *ws, const char *text, size_t len,
                         const model_extra *extra, size_t nextra, int best[2], float *scores_a,
                         float *scores_b);

/* Safety rule: 1 when text carries an unmistakable cue of danger happening
 * now (fire, gas leak, someone collapsed or not breathing, a cry for help),
 * or when urgent is non-zero (a lexicon entry with the "urgent" action
 * matched), and is not plainly negated, past, hypothetical or a question about
 * rules ("演练", "如果", "怎么办"); 0 otherwise. text is normalised UTF-8.
 * Callable from any thread; the first call compiles the rule's terms into a
 * keyword automaton, and each thread keeps one reused hit list (freed when
 * the thread exits). Never fails: without memory for those it searches term
 * by term, with the same decisions. */
int model_emergency_cue(const char *text, size_t len, int urgent);

struct match_hit;

/* The terms the safety rule searches for, in the order of its entries: sets
 * *terms and returns how many, or 0 when the rule could not be compiled
 * (then only model_emergency_cue decides). A caller may compile them into its
 * own keyword automaton (match.h) after entries of its own and read the
 * decision off that scan with model_emergency_cue_hits. */
size_t model_emergency_terms(const char *const **terms);

/* model_emergency_cue(text, len, urgent) read off hits (in order of end
 * offset, as match_scan gives them) of a scan of text whose automaton holds
 * the terms of model_emergency_terms as entries base, base + 1, ...; other
 * entries' hits are ignored. Only for a non-zero model_emergency_terms. */
int model_emergency_cue_hits(const char *text, const struct match_hit *hits, size_t nhits,
                             uint32_t base, int urgent);

/* ---- keyword features ---- */

/* The value of the feature "term=<term>" of a lexicon hit: small beside the
 * hints (after extra_scale * ln(1 + v) about a fifth of a unit-length n-gram
 * vector), measured best of 0.03-1 for chat categories (data/models/README.md). */
#define MODEL_TERM_VALUE 0.1f

/* Appends to out[n..cap) the features of one lexicon hit: "intent=<intent>"
 * and "category=<category>" (a NULL or empty hint adds nothing) with value
 * weight, then "term=<term>" (the lexicon entry's term as written, not
 * normalised; NULL or empty adds nothing) with value MODEL_TERM_VALUE: at
 * most three. Returns the new count. Triage calls it for each hit of its
 * matcher, so the models see the same features as in training. */
size_t model_hint_features(const char *term, const char *intent, const char *category, float weight,
                           model_extra *out, size_t n, size_t cap);

/* Appends to out[n..cap) the feature of the intent that the intent model
 * gave a text, which the category model reads ("intent_is=<intent>", value
 * 1; training gives a labelled message's own intent). Returns the new
 * count. */
size_t model_intent_feature(const char *intent, model_extra *out, size_t n, size_t cap);

/* A lexicon file compiled for feature extraction (train, eval, tests). */
typedef struct model_lexicon model_lexicon;

/* Loads a lexicon CSV with header term,kind,intent,category,weight,action
 * (data/lexicon.csv). Returns NY_OK, NY_ENOTFOUND, NY_EINVAL (with the line)
 * or NY_ERR. */
int model_lexicon_load(const char *path, model_lexicon **out, ny_err *e);

/* Frees a lexicon; NULL is allowed. */
void model_lexicon_free(model_lexicon *lx);

/* Scans normalised text and fills out (up to cap) with the hint features of
 * every hit, as model_hint_features; sets *urgent (when not NULL) to 1 when
 * an entry with the action "urgent" matched. Returns the number of features.
 * Keeps its scratch space in lx: one thread at a time. */
size_t model_lexicon_features(model_lexicon *lx, const char *text, size_t len, model_extra *out,
                              size_t cap, int *urgent);

/* A word list (data/words.txt) whose words become category features. */
typedef struct model_words model_words;

#define MODEL_WORD_MAX 8      /* longest word of the list, in code points */
#define MODEL_WORD_VALUE 0.1f /* the value of a "word=<word>" feature */

/* Loads a word list: one word of 2 to MODEL_WORD_MAX code points a line
 * (blank lines skipped), up to about 60,000 words of four code points (a
 * set of 2^18 slots, half of them used at most). Returns NY_OK, NY_ENOTFOUND,
 * NY_EINVAL (with the line) or NY_ERR. */
int model_words_load(const char *path, model_words **out, ny_err *e);

/* Frees a word list; NULL is allowed. */
void model_words_free(model_words *w);

/* Appends to out[n..cap) the feature "word=<word>" (value MODEL_WORD_VALUE)
 * of every word of w that occurs in the normalised text, overlapping ones
 * included, in order of their start; returns the new count. w may be NULL
 * (no features). Reads w only: any number of threads at once. */
size_t model_words_features(const model_words *w, const char *text, size_t len, model_extra *out,
                            size_t n, size_t cap);

/* Gives the lexicon a word list: model_lexicon_features then also appends
 * the word features of w. The lexicon takes w over and frees it. */
void model_lexicon_set_words(model_lexicon *lx, model_words *w);

/* ---- data sets and evaluation ---- */

/* One labelled example: label indices into domain_intents and
 * domain_categories (domain.h; -1 when the file does not give that label) and
 * the text (title and body of an appeal joined with a space). */
typedef struct model_example {
    int intent;
    int category;
    char *text;
    size_t len;
} model_example;

typedef struct model_dataset {
    model_example *ex;
    size_t n, cap;
} model_dataset;

/* Appends the examples of a labelled TSV file to *ds (which starts zeroed).
 * Chat files have the columns intent, category, text; appeal files category,
 * title, body; the kind is recognised from the first column. Returns NY_OK,
 * NY_ENOTFOUND, NY_EINVAL (with the line in e->index) or NY_ERR. */
int model_dataset_read(model_dataset *ds, const char *path, ny_err *e);

/* Appends every *.tsv file of directory dir, in name order; a missing
 * directory adds nothing. Errors as model_dataset_read. */
int model_dataset_read_dir(model_dataset *ds, const char *dir, ny_err *e);

/* Frees the examples of ds and zeroes it. */
void model_dataset_free(model_dataset *ds);

/* The label of example i for the task: intent, or category (both category
 * tasks). */
enum { MODEL_TASK_INTENT = 0, MODEL_TASK_CATEGORY = 1, MODEL_TASK_CATEGORY_LONG = 2 };
int model_example_label(const model_example *x, int task);

/* The feature specification `nuanyang train` uses for task: for intent
 * model_spec_default() with extra_scale 0 (the intent model ignores caller
 * features: lexicon hints were measured to hurt it), for category
 * model_spec_default() with MODEL_F_SHORT_EXTRA (lexicon hints help short
 * chat messages and hurt long appeals) and the hints at twice their value
 * (extra_scale 2), for the category of long texts
 * (appeals; MODEL_TASK_CATEGORY_LONG) character 1-2-grams in 2^19 buckets
 * with MODEL_F_HEAD and without caller features. */
model_spec model_task_spec(int task);

/* The code points (as model_chars counts them) of the last text ws made
 * features of, by model_predict, model_features or model_joint_predict. */
size_t model_ws_chars(const model_ws *ws);

/* Code points of text as the features count them (white space and control
 * characters not counted, at most MODEL_MAX_CHARS): compare with
 * MODEL_SHORT_CHARS to tell a long text. */
size_t model_chars(const char *text, size_t len);

/* Assigns each of the n examples a fold 0..k-1 (fold has n entries) so that
 * every label value is spread evenly over the folds, shuffled with the given
 * seed (the same seed gives the same folds). Returns NY_OK, NY_EINVAL (k < 2)
 * or NY_ERR. */
int model_folds(const int *labels, size_t n, unsigned k, uint32_t seed, int *fold, ny_err *e);

/* Confusion counts and the figures derived from them. */
typedef struct model_scores {
    size_t nclasses;
    size_t cm[MODEL_MAX_CLASSES][MODEL_MAX_CLASSES]; /* [gold][predicted] */
    double precision[MODEL_MAX_CLASSES], recall[MODEL_MAX_CLASSES], f1[MODEL_MAX_CLASSES];
    size_t support[MODEL_MAX_CLASSES];
    double accuracy, macro_f1;
} model_scores;

/* Fills s from n gold and predicted label pairs over nclasses classes;
 * macro-F1 averages the classes that occur in gold or predictions. */
void model_score(const int *gold, const int *pred, size_t n, size_t nclasses, model_scores *s);

/* ---- training ---- */

typedef struct model_train_opts {
    model_spec spec;
    const char *const *labels; /* class names, NULL-terminated */
    int safety_class;          /* class whose recall is protected, or -1 */
    double safety_recall;      /* inner cross-validation recall the offset aims at */
    double safety_precision;   /* ... without letting that class's precision fall below */
    unsigned inner_folds;      /* folds for choosing C (and the offset); >= 2 */
    double fixed_c;            /* > 0: no search, L2-loss SVM with this C and balanced
                                  class weights, no offsets (quick training, and the
                                  short category model: data/models/README.md) */
    int verbose;               /* progress lines on stderr */
    /* Optional caller features of text i of the texts given to model_train
     * (e.g. lexicon hints): fills up to cap entries of out and returns how
     * many. */
    size_t (*extra)(void *ctx, size_t i, const char *text, size_t len, model_extra *out,
                    size_t cap);
    void *extra_ctx;
    const char *note; /* appended to the stored training summary, or NULL */
    /* > 0: a class (other than safety_class) with fewer than this share of the
     * training texts longer than MODEL_SHORT_CHARS code points is never
     * predicted for such a text (e.g. 无 for an appeal) */
    double long_min_share;
    /* > 1 with MODEL_F_IDF: n-grams found in fewer training texts get IDF 0,
     * so they count neither in training nor in prediction */
    unsigned min_df;
    /* MODEL_CAL_*: per-class score offsets chosen on the held-out scores of
     * the inner cross-validation to raise macro-F1 (not with fixed_c) */
    int calibrate;
} model_train_opts;

enum { MODEL_CAL_NONE = 0, MODEL_CAL_ALL = 1 };

/* Trains a model on the n examples texts[i] with labels[i] (index into
 * opts->labels; negative labels are skipped): chooses the solver and C by
 * inner cross-validation (macro-F1), then per-class offsets (opts->calibrate)
 * and the smallest safety offset that
 * reaches the recall aim (or the largest that keeps the precision floor),
 * and trains the final model on everything. Returns NY_OK, NY_EINVAL (no examples, bad spec)
 * or NY_ERR. */
int model_train(const model_train_opts *opts, const char *const *texts, const size_t *lens,
                const int *labels, size_t n, model_clf **out, ny_err *e);

#endif
