/* Scoring a classifier's predictions on the host (qsdc_confusion_matrix,
 * qsdc_class_scores): the confusion matrix, and per class precision,
 * recall and F1 with their macro averages. */
#include <inttypes.h>
#include <string.h>

#include "error.h"
#include "evaluate.h"
#include "qsdc.h"

/* classes * classes counts fit in size_t and counts_len holds them. */
static int check_matrix_size(const char *call, int64_t classes, size_t len, qsdc_error *err)
{
    if (classes < 1)
        return qsdc_fail(err, "%s: %" PRId64 " classes; give at least 1", call, classes);
    if ((uint64_t)classes > SIZE_MAX / sizeof(int64_t) / (uint64_t)classes ||
        len < (size_t)classes * (size_t)classes)
        return qsdc_fail(err, "%s: counts holds %zu values; %" PRId64 " classes need %" PRId64
                         " x %" PRId64, call, len, classes, classes, classes);
    return 0;
}

int qsdc_confusion_matrix(const float *outputs, int64_t n, int64_t classes,
                          const int32_t *labels, int64_t *counts, size_t counts_len,
                          qsdc_error *err)
{
    static const char call[] = "qsdc_confusion_matrix";
    if (!outputs || !labels || !counts)
        return qsdc_fail(err, "%s: %s is NULL", call,
                         !outputs ? "outputs" : !labels ? "labels" : "counts");
    if (n < 0)
        return qsdc_fail(err, "%s: n is %" PRId64, call, n);
    if (check_matrix_size(call, classes, counts_len, err) < 0)
        return -1;
    for (int64_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return qsdc_fail(err, "%s: labels[%" PRId64 "] is %d, outside the %" PRId64
                             " classes [0, %" PRId64 ")", call, i, (int)labels[i], classes,
                             classes);
    memset(counts, 0, (size_t)(classes * classes) * sizeof *counts);
    for (int64_t i = 0; i < n; i++)
        counts[labels[i] * classes + eval_argmax(outputs + i * classes, classes)]++;
    return 0;
}

static double ratio(int64_t num, int64_t den)
{
    return den > 0 ? (double)num / (double)den : 0.0;
}

int qsdc_class_scores(const int64_t *counts, int64_t classes, qsdc_class_score *out,
                      size_t out_len, qsdc_error *err)
{
    static const char call[] = "qsdc_class_scores";
    if (!counts || !out)
        return qsdc_fail(err, "%s: %s is NULL", call, counts ? "out" : "counts");
    if (check_matrix_size(call, classes, SIZE_MAX, err) < 0)
        return -1;
    if (out_len < (size_t)classes + 1)
        return qsdc_fail(err, "%s: out holds %zu scores; %" PRId64 " classes and their "
                         "macro average need %" PRId64, call, out_len, classes, classes + 1);
    qsdc_class_score *macro = &out[classes];
    memset(macro, 0, sizeof *macro);
    for (int64_t c = 0; c < classes; c++) {
        qsdc_class_score *k = &out[c];
        memset(k, 0, sizeof *k);
        for (int64_t j = 0; j < classes; j++) {
            if (counts[c * classes + j] < 0 || counts[j * classes + c] < 0)
                return qsdc_fail(err, "%s: counts holds a negative count", call);
            k->support += counts[c * classes + j];
            k->predicted += counts[j * classes + c];
        }
        k->correct = counts[c * classes + c];
        k->precision = ratio(k->correct, k->predicted);
        k->recall = ratio(k->correct, k->support);
        double pr = k->precision + k->recall;
        k->f1 = pr > 0 ? 2 * k->precision * k->recall / pr : 0.0;
        macro->support += k->support;
        macro->predicted += k->predicted;
        macro->correct += k->correct;
        macro->precision += k->precision;
        macro->recall += k->recall;
        macro->f1 += k->f1;
    }
    macro->precision /= (double)classes;
    macro->recall /= (double)classes;
    macro->f1 /= (double)classes;
    return 0;
}
