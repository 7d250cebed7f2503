/* qsdc_session_export_npz: every parameter under PyTorch's name and in its
 * layout (include/qsdc.h), so that the arrays load as the state_dict of the
 * equivalent torch.nn model. */
#include <stdlib.h>
#include <string.h>

#include "npz_write.h"
#include "param_layout.h"
#include "session.h"

static int add(npz_writer *w, const layer *l, const char *what, int rank, const int64_t *dims,
               const float *v, qsdc_error *e)
{
    char name[2 * QSDC_NAME_MAX + 32];
    snprintf(name, sizeof name, "%s.%s", l->name, what);
    return npz_add(w, name, rank, dims, v, e);
}

/* w [rows, gates h] as [gates h, rows], blocks in order. */
static int add_transposed(npz_writer *w, const layer *l, const char *what, const float *v,
                          int64_t rows, int64_t h, int gates, qsdc_error *e)
{
    int64_t dims[2] = {gates * h, rows};
    float *t = malloc((size_t)(rows * gates * h) * sizeof *t);
    if (!t)
        return qsdc_fail(e, "out of memory for '%s.%s'", l->name, what);
    layout_transpose(v, rows, h, gates, gates == 4 ? LAYOUT_GATES_TORCH : NULL, t);
    int rc = add(w, l, what, 2, dims, t, e);
    free(t);
    return rc;
}

static int add_lstm(npz_writer *w, const layer *l, const float *wv, const plan_tensor *wt,
                    const float *uv, const float *bv, qsdc_error *e)
{
    int64_t h = l->units, bd[1] = {4 * h};
    float *zeros = calloc((size_t)(4 * h), sizeof *zeros);
    if (!zeros)
        return qsdc_fail(e, "out of memory for '%s'", l->name);
    int rc = add_transposed(w, l, "weight_ih_l0", wv, wt->dims[0], h, 4, e);
    if (rc == 0)
        rc = add_transposed(w, l, "weight_hh_l0", uv, h, h, 4, e);
    if (rc == 0)
        rc = add(w, l, "bias_ih_l0", 1, bd, bv, e);
    if (rc == 0)
        rc = add(w, l, "bias_hh_l0", 1, bd, zeros, e);
    free(zeros);
    return rc;
}

static int add_layer(qsdc_session *s, npz_writer *w, const layer *l, const float *all,
                     qsdc_error *e)
{
    const plan_tensor *wt = session_param(s, l->name, "weight");
    const plan_tensor *b = session_param(s, l->name, "bias");
    int rc = 0;
    switch (l->kind) {
    case LAYER_DENSE:
        rc = wt ? add_transposed(w, l, "weight", all + wt->offset, wt->dims[0], wt->dims[1], 1, e)
                : 0;
        break;
    case LAYER_CONV2D: case LAYER_EMBEDDING:
        rc = wt ? add(w, l, "weight", wt->rank, wt->dims, all + wt->offset, e) : 0;
        break;
    case LAYER_LSTM: {
        const plan_tensor *u = session_param(s, l->name, "recurrent");
        if (wt && u && b)
            return add_lstm(w, l, all + wt->offset, wt, all + u->offset, all + b->offset, e);
        break;
    }
    case LAYER_BATCHNORM: {
        const plan_tensor *a = session_param(s, l->name, "affine");
        const plan_tensor *r = session_param(s, l->name, "running");
        if (!a || !r)
            break;
        const int64_t *c = &a->dims[1];
        const float *av = all + a->offset, *rv = all + r->offset;
        if (add(w, l, "weight", 1, c, av, e) < 0 || add(w, l, "bias", 1, c, av + *c, e) < 0 ||
            add(w, l, "running_mean", 1, c, rv, e) < 0)
            return -1;
        return add(w, l, "running_var", 1, c, rv + *c, e);
    }
    default:
        return 0;
    }
    if (rc == 0 && b && l->kind != LAYER_LSTM)
        rc = add(w, l, "bias", b->rank, b->dims, all + b->offset, e);
    return rc;
}

static int export_npz(qsdc_session *s, const char *path, qsdc_error *e)
{
    if (!path || !*path)
        return qsdc_fail(e, "qsdc_session_export_npz: no output path");
    float *all;
    npz_writer w;
    npz_init(&w);
    int rc = session_read_params(s, &all, e);
    for (int i = 0; rc == 0 && i < s->m.n_layers; i++)
        rc = add_layer(s, &w, &s->m.layers[i], all, e);
    if (rc == 0)
        rc = npz_write(&w, path, e);
    npz_free(&w);
    free(all);
    return rc;
}

int qsdc_session_export_npz(qsdc_session *s, const char *path, qsdc_error *err)
{
    qsdc_error e = {""};
    int rc = session_usable(s, &e);
    if (rc == 0)
        rc = export_npz(s, path, &e);
    return session_finish(s, rc, &e, err);
}
