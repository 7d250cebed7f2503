/* The sentiment CSV as data sets for training: token ids as exact floats,
 * one sample per row, the row's label its class. */
#include "data.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/* Row i's tokens, then QSDC_PAD_ID: the lstm holds its state over the
 * padding and sequence pooling skips it (model.h). */
static int samples_to_dataset(const text_samples *s, int64_t steps, dataset *out,
                              qsdc_error *err)
{
    memset(out, 0, sizeof *out);
    out->x = malloc(((size_t)(s->count * steps) + 1) * sizeof *out->x);
    out->y = malloc(((size_t)s->count + 1) * sizeof *out->y);
    if (!out->x || !out->y) {
        dataset_free(out);
        return qsdc_fail(err, "out of memory");
    }
    for (int64_t i = 0; i < s->count; i++) {
        for (int64_t t = 0; t < steps; t++)
            out->x[i * steps + t] = t < s->lengths[i] ? (float)s->ids[i * s->max_len + t]
                                                      : (float)QSDC_PAD_ID;
        out->y[i] = s->labels[i];
    }
    out->count = s->count;
    out->rank = 1;
    out->dims[0] = steps;
    out->sample_elems = steps;
    out->n_classes = 2;
    return 0;
}

int sentiment_dataset_load(const train_config *t, bool test, int64_t classes,
                           int64_t steps, dataset *out, qsdc_error *err)
{
    if (classes < 2)
        return qsdc_fail(err, "%s: sentiment data have 2 classes but the model's output "
                         "has %" PRId64, t->text_path, classes);
    sentiment_options opt = {.vocab_cap = t->vocab, .max_len = steps,
                             .test_frac = t->test_split, .keep_last = t->keep_last,
                             .seed = t->seed};
    sentiment_data sd;
    if (sentiment_load(t->text_path, &opt, &sd, err) < 0)
        return -1;
    int rc = samples_to_dataset(test ? &sd.test : &sd.train, steps, out, err);
    sentiment_free(&sd);
    return rc;
}
