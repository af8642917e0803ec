/* model_data.c - labelled data sets, stratified folds and scores (model.h).
 *
 * Training (`nuanyang train`) and evaluation (`nuanyang eval`) read the same
 * tab-separated files: chat messages (intent, category, text) and appeals
 * (category, title, body). A line tells its kind by its first column, so one
 * directory may hold both. Folds for cross-validation are stratified by label
 * and shuffled with a fixed seed, so every run of an evaluation sees the same
 * split; the scores are the usual confusion-matrix figures. */
#include "model.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"

static int append(model_dataset *ds, int intent, int category, const char *a, size_t alen,
                  const char *b, size_t blen)
{
    if (ds->n == ds->cap) {
        size_t cap = ds->cap ? ds->cap * 2 : 256;
        model_example *p = realloc(ds->ex, cap * sizeof *p);
        if (!p)
            return NY_ERR;
        ds->ex = p, ds->cap = cap;
    }
    size_t len = alen + (b ? 1 + blen : 0);
    char *t = malloc(len + 1);
    if (!t)
        return NY_ERR;
    memcpy(t, a, alen);
    if (b) {
        t[alen] = ' ';
        memcpy(t + alen + 1, b, blen);
    }
    t[len] = '\0';
    ds->ex[ds->n++] = (model_example){intent, category, t, len};
    return NY_OK;
}

/* Parses one line (without its end) of path into ds. */
static int parse_line(model_dataset *ds, char *line, size_t len, const char *path, long lineno,
                      ny_err *e)
{
    char *t1 = memchr(line, '\t', len);
    char *t2 = t1 ? memchr(t1 + 1, '\t', len - (size_t)(t1 + 1 - line)) : NULL;
    if (!t2)
        return ny_err_set_at(e, NY_EINVAL, lineno, "%s:%ld: expected 3 tab-separated columns", path,
                             lineno);
    *t1 = *t2 = '\0';
    char *third = t2 + 1;
    size_t third_len = len - (size_t)(third - line);
    for (char *p = third; (p = memchr(p, '\t', third_len - (size_t)(p - third))) != NULL;)
        *p = ' '; /* a stray tab inside the text */
    ny_err ue;
    if (domain_utf8_check(line, len, &ue) != NY_OK)
        return ny_err_set_at(e, NY_EINVAL, lineno, "%s:%ld: %s", path, lineno, ue.msg);
    int intent = domain_index(domain_intents, line);
    int rc;
    if (intent >= 0) {
        int cat = domain_index(domain_categories, t1 + 1);
        if (cat < 0)
            return ny_err_set_at(e, NY_EINVAL, lineno, "%s:%ld: unknown category '%s'", path,
                                 lineno, t1 + 1);
        rc = append(ds, intent, cat, third, third_len, NULL, 0);
    } else {
        int cat = domain_index(domain_categories, line);
        if (cat < 0)
            return ny_err_set_at(e, NY_EINVAL, lineno,
                                 "%s:%ld: first column '%s' is neither an intent nor a category",
                                 path, lineno, line);
        rc = append(ds, -1, cat, t1 + 1, strlen(t1 + 1), third, third_len);
    }
    return rc == NY_OK ? NY_OK : ny_err_set(e, NY_ERR, "out of memory");
}

int model_dataset_read(model_dataset *ds, const char *path, ny_err *e)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return ny_err_set(e, errno == ENOENT ? NY_ENOTFOUND : NY_ERR, "%s: %s", path,
                          strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    long lineno = 0;
    int rc = NY_OK;
    while (rc == NY_OK && (got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        line[len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        rc = parse_line(ds, line, len, path, lineno, e);
    }
    if (rc == NY_OK && ferror(f))
        rc = ny_err_set(e, NY_ERR, "%s: read error", path);
    free(line);
    fclose(f);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int model_dataset_read_dir(model_dataset *ds, const char *dir, ny_err *e)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? NY_OK : ny_err_set(e, NY_ERR, "%s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = NY_OK;
    struct dirent *de;
    while (rc == NY_OK && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".tsv") != 0 || de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **p = realloc(names, cap * sizeof *p);
            if (!p) {
                rc = ny_err_set(e, NY_ERR, "out of memory");
                break;
            }
            names = p;
        }
        if (!(names[n] = strdup(de->d_name)))
            rc = ny_err_set(e, NY_ERR, "out of memory");
        else
            n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        if (rc == NY_OK && snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path)
            rc = ny_err_set(e, NY_EINVAL, "%s: path too long", dir);
        if (rc == NY_OK)
            rc = model_dataset_read(ds, path, e);
        free(names[i]);
    }
    free(names);
    return rc;
}

void model_dataset_free(model_dataset *ds)
{
    for (size_t i = 0; i < ds->n; i++)
        free(ds->ex[i].text);
    free(ds->ex);
    memset(ds, 0, sizeof *ds);
}

int model_example_label(const model_example *x, int task)
{
    return task == MODEL_TASK_INTENT ? x->intent : x->category;
}

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

int model_folds(const int *labels, size_t n, unsigned k, uint32_t seed, int *fold, ny_err *e)
{
    if (k < 2)
        return ny_err_set(e, NY_EINVAL, "need at least 2 folds, not %u", k);
    uint32_t state = seed ? seed : 1u;
    int maxl = -1;
    for (size_t i = 0; i < n; i++)
        if (labels[i] > maxl)
            maxl = labels[i];
    size_t *members = malloc((n ? n : 1) * sizeof *members);
    if (!members)
        return ny_err_set(e, NY_ERR, "out of memory");
    unsigned next = 0; /* fold of the next example, carried across classes */
    for (int l = -1; l <= maxl; l++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (labels[i] == l || (l == -1 && labels[i] < 0))
                members[m++] = i;
        for (size_t i = m; i > 1; i--) {
            size_t j = xorshift(&state) % i;
            size_t t = members[i - 1];
            members[i - 1] = members[j];
            members[j] = t;
        }
        for (size_t i = 0; i < m; i++) {
            fold[members[i]] = (int)next;
            next = (next + 1) % k;
        }
    }
    free(members);
    return NY_OK;
}

void model_score(const int *gold, const int *pred, size_t n, size_t nclasses, model_scores *s)
{
    memset(s, 0, sizeof *s);
    s->nclasses = nclasses;
    size_t right = 0;
    for (size_t i = 0; i < n; i++) {
        if (gold[i] < 0 || (size_t)gold[i] >= nclasses || pred[i] < 0 ||
            (size_t)pred[i] >= nclasses)
            continue;
        s->cm[gold[i]][pred[i]]++;
        right += gold[i] == pred[i];
    }
    size_t total = 0, used = 0;
    double f1sum = 0;
    for (size_t c = 0; c < nclasses; c++) {
        size_t tp = s->cm[c][c], predicted = 0;
        for (size_t g = 0; g < nclasses; g++) {
            s->support[c] += s->cm[c][g];
            predicted += s->cm[g][c];
        }
        total += s->support[c];
        s->precision[c] = predicted ? (double)tp / (double)predicted : 0;
        s->recall[c] = s->support[c] ? (double)tp / (double)s->support[c] : 0;
        double pr = s->precision[c] + s->recall[c];
        s->f1[c] = pr > 0 ? 2 * s->precision[c] * s->recall[c] / pr : 0;
        if (s->support[c] || predicted) {
            f1sum += s->f1[c];
            used++;
        }
    }
    s->accuracy = total ? (double)right / (double)total : 0;
    s->macro_f1 = used ? f1sum / (double)used : 0;
}
