/* Scores of a classifier's outputs as eval and predict print them:
 * accuracy, and eval's confusion matrix with per-class precision, recall
 * and F1. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "error.h"

/* Above this many classes the matrix is too wide to read in a terminal. */
#define MATRIX_MAX_CLASSES 20
/* Above this many the counts would take more memory than the scores are worth. */
#define SCORES_MAX_CLASSES 4096
/* Above this many a heat map's cells are too small to read. */
#define FIGURE_MAX_CLASSES 100

void cli_print_accuracy(const float *out, const qsdc_data *d, int64_t outputs)
{
    int64_t correct = 0;
    for (int64_t i = 0; i < d->count; i++) {
        const float *row = out + i * outputs;
        int64_t best = 0;
        for (int64_t c = 1; c < outputs; c++)
            if (row[c] > row[best])
                best = c;
        correct += best == d->labels[i];
    }
    printf("accuracy: %.2f%% (%lld/%lld)\n", 100.0 * (double)correct / (double)d->count,
           (long long)correct, (long long)d->count);
}

static void print_matrix(const int64_t *counts, int64_t classes)
{
    printf("confusion matrix (rows: true class, columns: predicted class):\n%6s", "");
    for (int64_t j = 0; j < classes; j++)
        printf(" %7lld", (long long)j);
    printf("\n");
    for (int64_t i = 0; i < classes; i++) {
        printf("%6lld", (long long)i);
        for (int64_t j = 0; j < classes; j++)
            printf(" %7lld", (long long)counts[i * classes + j]);
        printf("\n");
    }
}

static void print_score(const char *name, const qsdc_class_score *k)
{
    printf("%-6s %9.4f %9.4f %9.4f %9lld\n", name, k->precision, k->recall, k->f1,
           (long long)k->support);
}

int cli_print_class_scores(const float *out, const qsdc_data *d, int64_t classes,
                           const cli_data_args *a, qsdc_error *err)
{
    if (a->figure && classes > FIGURE_MAX_CLASSES)
        return qsdc_fail(err, "--figure: %lld classes, more than the %d a figure shows",
                         (long long)classes, FIGURE_MAX_CLASSES);
    if (a->metrics && classes > SCORES_MAX_CLASSES)
        return qsdc_fail(err, "--metrics: %lld classes, more than the %d scored",
                         (long long)classes, SCORES_MAX_CLASSES);
    if (classes > SCORES_MAX_CLASSES) {
        printf("(no per-class scores for %lld classes)\n", (long long)classes);
        return 0;
    }
    size_t cells = (size_t)(classes * classes);
    int64_t *counts = malloc(cells * sizeof *counts);
    qsdc_class_score *k = malloc((size_t)(classes + 1) * sizeof *k);
    int rc = counts && k ? 0 : qsdc_fail(err, "out of memory");
    if (rc == 0)
        rc = qsdc_confusion_matrix(out, d->count, classes, d->labels, counts, cells, err);
    if (rc == 0)
        rc = qsdc_class_scores(counts, classes, k, (size_t)classes + 1, err);
    if (rc == 0) {
        if (classes <= MATRIX_MAX_CLASSES)
            print_matrix(counts, classes);
        else
            printf("(confusion matrix of %lld classes not printed: qsdc predict writes the "
                   "outputs it comes from)\n", (long long)classes);
        printf("%-6s %9s %9s %9s %9s\n", "class", "precision", "recall", "f1", "support");
        for (int64_t c = 0; c < classes; c++) {
            char name[24];
            snprintf(name, sizeof name, "%lld", (long long)c);
            print_score(name, &k[c]);
        }
        print_score("macro", &k[classes]);
    }
    if (rc == 0 && a->metrics)
        rc = cli_write_scores_json(a->metrics, counts, classes, k, err);
    if (rc == 0 && a->figure)
        rc = cli_write_confusion_svg(a->figure, counts, classes, err);
    free(counts);
    free(k);
    return rc;
}
