#include "evaluate.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"

void gather_batch(const dataset *d, const int64_t *idx, int64_t i0, int64_t count,
                  int64_t batch, float *x, int32_t *y)
{
    size_t se = (size_t)d->sample_elems;
    for (int64_t b = 0; b < batch; b++) {
        if (b < count) {
            int64_t s = idx ? idx[i0 + b] : i0 + b;
            memcpy(x + (size_t)b * se, d->x + (size_t)s * se, se * sizeof *x);
            if (y)
                y[b] = d->y ? d->y[s] : 0;
        } else {
            memset(x + (size_t)b * se, 0, se * sizeof *x);
            if (y)
                y[b] = 0;
        }
    }
}

/* The index of the largest of v[0..n), the first one on ties: a predicted class. */
int64_t eval_argmax(const float *v, int64_t n)
{
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

double eval_sample_loss(const float *out, int64_t classes, int32_t label, bool probs)
{
    if (probs)
        return -log(fmax((double)out[label], DBL_MIN));
    double top = out[0], sum = 0;
    for (int64_t c = 1; c < classes; c++)
        top = fmax(top, (double)out[c]);
    for (int64_t c = 0; c < classes; c++)
        sum += exp((double)out[c] - top);
    return top + log(sum) - (double)out[label];
}

int eval_batch(executor *ex, const dataset *d, const int64_t *idx, int64_t i0,
               int64_t count, float *x, float *out, int32_t *y, int64_t *correct,
               qsdc_error *err)
{
    const plan *p = ex->p;
    int64_t batch = p->batch, classes = p->output_elems / batch;
    gather_batch(d, idx, i0, count, batch, x, y);
    int rc = exec_set_batch(ex, x, NULL, err);
    if (rc == 0)
        rc = exec_run(ex, 0, 0, 0.0f, err);
    if (rc == 0)
        rc = exec_read_arena(ex, p->output_offset, p->output_elems, out, err);
    for (int64_t b = 0; rc == 0 && d->y && b < count; b++)
        *correct += eval_argmax(out + b * classes, classes) == y[b];
    return rc;
}

int evaluate(executor *ex, const dataset *d, const int64_t *idx, int64_t n, bool probs,
             eval_result *r, qsdc_error *err)
{
    const plan *p = ex->p;
    int64_t batch = p->batch, classes = p->output_elems / batch;
    if (!idx)
        n = d->count;
    memset(r, 0, sizeof *r);
    float *x = malloc((size_t)p->input_elems * sizeof *x);
    float *out = malloc((size_t)p->output_elems * sizeof *out);
    int32_t *y = malloc((size_t)batch * sizeof *y);
    if (!x || !out || !y) {
        free(x);
        free(out);
        free(y);
        return qsdc_fail(err, "out of memory");
    }
    double t0 = now_seconds();
    int rc = 0;
    for (int64_t i0 = 0; i0 < n && rc == 0; i0 += batch) {
        int64_t count = n - i0 < batch ? n - i0 : batch;
        rc = eval_batch(ex, d, idx, i0, count, x, out, y, &r->correct, err);
        for (int64_t b = 0; rc == 0 && d->y && b < count; b++)
            r->loss += eval_sample_loss(out + b * classes, classes, y[b], probs);
        r->count += count;
    }
    if (r->count > 0)
        r->loss /= (double)r->count;
    r->seconds = now_seconds() - t0;
    free(x);
    free(out);
    free(y);
    return rc;
}

double eval_accuracy(const eval_result *r)
{
    return r->count > 0 ? 100.0 * (double)r->correct / (double)r->count : 0.0;
}
