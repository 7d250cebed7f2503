/* What a checkpoint must match to be loaded: everything that changes what
 * the parameters compute or how they are updated. The source locations, the
 * initialiser and the training schedule are left out: they do not change
 * what a saved parameter means. */
#include "train.h"

#include <string.h>

typedef struct fnv {
    uint64_t h;
} fnv;

static void mix(fnv *f, uint64_t v)
{
    f->h = (f->h ^ v) * 1099511628211ULL;
}

static void mix_double(fnv *f, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    mix(f, bits);
}

/* With its length, so that "ab","c" and "a","bc" differ. */
static void mix_string(fnv *f, const char *s)
{
    size_t n = strlen(s);
    mix(f, n);
    for (size_t i = 0; i < n; i++)
        mix(f, (unsigned char)s[i]);
}

static void mix_layer(fnv *f, const layer *l)
{
    mix_string(f, l->name);
    mix(f, l->kind);
    mix(f, (uint64_t)l->n_inputs);
    for (int i = 0; i < l->n_inputs; i++)
        mix_string(f, l->inputs[i]);
    mix(f, (uint64_t)l->units);
    mix(f, l->bias);
    mix_double(f, l->qsd.p);
    mix(f, (uint64_t)l->qsd.sites);
    mix_double(f, l->qsd.q_cv);
    mix_double(f, l->qsd.p_concentration);
    mix(f, l->qsd.share);
    if (l->qsd.hetero != HETERO_ELEMENT) { /* leaves older models' fingerprints as they were */
        mix(f, l->qsd.hetero);
        mix_double(f, l->qsd.anneal);
    }
    mix(f, (uint64_t)l->vocab);
    mix(f, l->seq);
    mix(f, l->stateful);
    mix(f, (uint64_t)l->filters);
    for (int d = 0; d < 2; d++) {
        mix(f, (uint64_t)l->win.kernel[d]);
        mix(f, (uint64_t)l->win.stride[d]);
        mix(f, (uint64_t)l->win.dilation[d]);
        mix(f, (uint64_t)l->win.padding[d]);
    }
    mix(f, l->win.pad);
    mix_double(f, l->momentum);
    mix_double(f, l->eps);
}

uint64_t train_model_hash(const model *m, const plan *p)
{
    fnv f = {1469598103934665603ULL};
    mix(&f, (uint64_t)m->input_rank);
    for (int d = 0; d < m->input_rank; d++)
        mix(&f, (uint64_t)m->input_shape[d]);
    mix(&f, m->dtype);
    mix_string(&f, m->output);
    for (int i = 0; i < m->n_layers; i++)
        mix_layer(&f, &m->layers[i]);
    for (int i = 0; i < p->n_tensors; i++) {
        const plan_tensor *pt = &p->tensors[i];
        if (pt->buffer != BUF_P)
            continue;
        mix_string(&f, pt->name);
        mix(&f, (uint64_t)pt->offset);
        for (int d = 0; d < pt->rank; d++)
            mix(&f, (uint64_t)pt->dims[d]);
    }
    mix(&f, m->train.optimizer);
    return f.h;
}
