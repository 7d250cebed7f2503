#include "train_lm.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The carry tensors of m's stateful lstm layers in plan p. */
static int find_carries(lm_source *s, const model *m, const plan *p, qsdc_error *err)
{
    for (int i = 0; i < m->n_layers; i++) {
        const layer *l = &m->layers[i];
        if (l->kind != LAYER_LSTM || !l->stateful)
            continue;
        char name[2 * QSDC_NAME_MAX];
        snprintf(name, sizeof name, "%s.carry", l->name);
        int t = plan_find_tensor(p, name);
        if (t < 0 || s->n_carries == LM_MAX_CARRIES)
            return qsdc_fail(err, "%s: the plan has no carry for lstm '%s' (or more than "
                             "%d stateful lstm layers)", m->path, l->name, LM_MAX_CARRIES);
        s->carry_offset[s->n_carries] = p->tensors[t].offset;
        s->carry_elems[s->n_carries++] = p->tensors[t].nelem;
    }
    return 0;
}

int lm_source_open(lm_source *s, const model *m, const plan *p, qsdc_error *err)
{
    const train_config *c = &m->train;
    memset(s, 0, sizeof *s);
    s->batch = p->batch;
    s->steps = m->input_shape[0];
    int out = model_find(m, m->output);
    s->probabilities = out >= 0 && m->layers[out].kind == LAYER_SOFTMAX;
    int64_t tokens = s->batch * s->steps;
    if (p->output_elems % tokens != 0 || p->output_elems == tokens)
        return qsdc_fail_at(err, m->path, c->data_loc.line, c->data_loc.col,
                            "a language model's output is a sequence of scores over the "
                            "vocabulary, [time, vocab] per sample; this model gives %" PRId64
                            " values per sample", p->output_elems / s->batch);
    text_options opt = {.level = c->text_chars ? TEXT_CHARS : TEXT_WORDS,
                        .vocab_cap = c->vocab, .train_frac = c->text_split[0],
                        .valid_frac = c->text_split[1]};
    if (text_corpus_load(c->text_path, &opt, &s->corpus, err) < 0)
        return -1;
    int64_t classes = p->output_elems / tokens;
    if (classes < s->corpus.vocab.size)
        return qsdc_fail(err, "%s: the vocabulary has %" PRId32 " ids but the model's "
                         "output scores %" PRId64 " classes", c->text_path,
                         s->corpus.vocab.size, classes);
    s->ids = malloc((size_t)tokens * sizeof *s->ids);
    if (!s->ids)
        return qsdc_fail(err, "out of memory");
    return find_carries(s, m, p, err);
}

void lm_source_free(lm_source *s)
{
    text_corpus_free(&s->corpus);
    free(s->ids);
    memset(s, 0, sizeof *s);
}

/* n sequences of `steps` tokens: with one token more per stream for the
 * last target, n / batch whole batches */
static void limit_split(token_split *t, int64_t n, int64_t steps, int64_t batch)
{
    if (n > 0 && n <= (t->count - batch) / steps)
        t->count = n * steps + batch;
}

void lm_source_limit(lm_source *s, int64_t train_seqs, int64_t eval_seqs)
{
    limit_split(&s->corpus.split[TEXT_TRAIN], train_seqs, s->steps, s->batch);
    limit_split(&s->corpus.split[TEXT_VALID], eval_seqs, s->steps, s->batch);
    limit_split(&s->corpus.split[TEXT_TEST], eval_seqs, s->steps, s->batch);
}

int64_t lm_source_batches(const lm_source *s, int split)
{
    return lm_batch_count(&s->corpus.split[split], s->batch, s->steps);
}

int lm_split_check(const lm_source *s, const char *path, int split, const char *consequence,
                   qsdc_error *err)
{
    static const char *const names[] = {[TEXT_TRAIN] = "training", [TEXT_VALID] = "validation",
                                        [TEXT_TEST] = "test"};
    if (lm_source_batches(s, split) > 0)
        return 0;
    /* one token more per stream for the last target */
    return qsdc_fail(err, "%s: the %s split holds %" PRId64 " tokens, too few for one batch of "
                     "%" PRId64 " streams of %" PRId64 " steps (at least %" PRId64 " needed): %s",
                     path, names[split], s->corpus.split[split].count, s->batch, s->steps,
                     s->batch * (s->steps + 1), consequence);
}

int lm_source_batch(lm_source *s, int split, int64_t i, float *x, int32_t *y,
                    qsdc_error *err)
{
    if (lm_batch(&s->corpus.split[split], s->batch, s->steps, i, s->ids, y, err) < 0)
        return -1;
    for (int64_t k = 0; k < s->batch * s->steps; k++)
        x[k] = (float)s->ids[k];
    return 0;
}

/* Writes (from) or reads (into) the carries' values, packed in host. */
static int carry_copy(const lm_source *s, cl_env *env, model_state *ms, bool write,
                      float *host, qsdc_error *err)
{
    for (int i = 0; i < s->n_carries; i++) {
        size_t off = (size_t)s->carry_offset[i] * sizeof(float);
        size_t n = (size_t)s->carry_elems[i] * sizeof(float);
        cl_int rc = write ? clEnqueueWriteBuffer(env->queue, ms->P, CL_TRUE, off, n, host, 0,
                                                 NULL, NULL)
                          : clEnqueueReadBuffer(env->queue, ms->P, CL_TRUE, off, n, host, 0,
                                                NULL, NULL);
        if (cl_check(rc, write ? "writing the carried state" : "reading the carried state",
                     err) < 0)
            return -1;
        host += s->carry_elems[i];
    }
    return 0;
}

static int64_t carry_total(const lm_source *s)
{
    int64_t n = 0;
    for (int i = 0; i < s->n_carries; i++)
        n += s->carry_elems[i];
    return n;
}

int lm_carry_reset(const lm_source *s, cl_env *env, model_state *ms, qsdc_error *err)
{
    float *zeros = calloc((size_t)carry_total(s) + 1, sizeof *zeros);
    if (!zeros)
        return qsdc_fail(err, "out of memory");
    int rc = carry_copy(s, env, ms, true, zeros, err);
    free(zeros);
    return rc;
}

/* -log p(label) summed over the rows of one batch's output. */
static double batch_nll(const lm_source *s, const float *out, const int32_t *y, int64_t v)
{
    double sum = 0;
    for (int64_t r = 0; r < s->batch * s->steps; r++) {
        const float *o = out + r * v;
        if (s->probabilities) {
            sum -= log((double)o[y[r]]);
            continue;
        }
        double mx = o[0], z = 0;
        for (int64_t k = 1; k < v; k++)
            mx = o[k] > mx ? o[k] : mx;
        for (int64_t k = 0; k < v; k++)
            z += exp((double)o[k] - mx);
        sum += mx + log(z) - (double)o[y[r]];
    }
    return sum;
}

int lm_perplexity(lm_source *s, executor *ex, model_state *ms, int split, double *ppl,
                  qsdc_error *err)
{
    const plan *p = ex->p;
    int64_t n = lm_source_batches(s, split), tokens = s->batch * s->steps;
    *ppl = NAN;
    float *x = malloc((size_t)tokens * sizeof *x);
    int32_t *y = malloc((size_t)tokens * sizeof *y);
    float *out = malloc((size_t)p->output_elems * sizeof *out);
    float *saved = malloc(((size_t)carry_total(s) + 1) * sizeof *saved);
    int rc = !x || !y || !out || !saved ? qsdc_fail(err, "out of memory") : 0;
    if (rc == 0)
        rc = carry_copy(s, ex->env, ms, false, saved, err);
    if (rc == 0)
        rc = lm_carry_reset(s, ex->env, ms, err);
    double nll = 0;
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        rc = lm_source_batch(s, split, i, x, y, err);
        if (rc == 0)
            rc = exec_set_batch(ex, x, NULL, err);
        if (rc == 0)
            rc = exec_run(ex, 0, 0, 0.0f, err);
        if (rc == 0)
            rc = exec_read_arena(ex, p->output_offset, p->output_elems, out, err);
        if (rc == 0)
            nll += batch_nll(s, out, y, p->output_elems / tokens);
    }
    if (rc == 0)
        rc = carry_copy(s, ex->env, ms, true, saved, err);
    if (rc == 0 && n > 0)
        *ppl = exp(nll / (double)(n * tokens));
    free(x);
    free(y);
    free(out);
    free(saved);
    return rc;
}
