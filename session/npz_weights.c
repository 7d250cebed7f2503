/* qsdc_session_export_npz and qsdc_session_import_npz: every parameter as
 * a PyTorch state_dict array (include/qsdc.h), one table of names and
 * layouts for both ways. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "init.h"
#include "npy.h"
#include "npz_read.h"
#include "npz_write.h"
#include "param_layout.h"
#include "session.h"

/* How a PyTorch array holds a qsdc parameter. */
typedef enum torch_form {
    AS_IS,
    TRANSPOSED,   /* [in, out] as [out, in] */
    GATES,        /* an lstm's [in, 4H] as [4H, in], gates in PyTorch's order */
    ROW_0, ROW_1, /* a row of a [2, C] parameter (batchnorm's) */
    SUMMED,       /* an lstm's bias_hh: qsdc's one bias is bias_ih + bias_hh; exported
                     as zeros, imported added */
} torch_form;

typedef struct torch_array {
    const char *name, *param;
    torch_form form;
} torch_array;

static const torch_array dense[] = {{"weight", "weight", TRANSPOSED}, {"bias", "bias", AS_IS}};
static const torch_array as_is[] = {{"weight", "weight", AS_IS}, {"bias", "bias", AS_IS}};
static const torch_array lstm[] = {{"weight_ih_l0", "weight", GATES},
                                   {"weight_hh_l0", "recurrent", GATES},
                                   {"bias_ih_l0", "bias", AS_IS},
                                   {"bias_hh_l0", "bias", SUMMED}};
static const torch_array batchnorm[] = {{"weight", "affine", ROW_0}, {"bias", "affine", ROW_1},
                                        {"running_mean", "running", ROW_0},
                                        {"running_var", "running", ROW_1}};

static int arrays_of(const layer *l, const torch_array **out)
{
    switch (l->kind) {
    case LAYER_DENSE: *out = dense; return 2;
    case LAYER_CONV2D: case LAYER_EMBEDDING: *out = as_is; return 2;
    case LAYER_LSTM: *out = lstm; return 4;
    case LAYER_BATCHNORM: *out = batchnorm; return 4;
    default: return 0;
    }
}

/* The PyTorch array's shape for parameter pt; returns its rank. */
static int torch_shape(const torch_array *a, const plan_tensor *pt, int64_t *dims)
{
    switch (a->form) {
    case TRANSPOSED: case GATES: dims[0] = pt->dims[1]; dims[1] = pt->dims[0]; return 2;
    case ROW_0: case ROW_1: dims[0] = pt->dims[1]; return 1;
    default: memcpy(dims, pt->dims, (size_t)pt->rank * sizeof *dims); return pt->rank;
    }
}

static int64_t elems(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    return n;
}

/* Parameter p (pt's floats) as the PyTorch array into t. */
static void to_torch(const torch_array *a, const plan_tensor *pt, const float *p, float *t)
{
    int64_t rows = pt->rank == 2 ? pt->dims[0] : 1, cols = pt->rank == 2 ? pt->dims[1] : 1;
    switch (a->form) {
    case TRANSPOSED: layout_transpose(p, rows, cols, 1, NULL, t, false); break;
    case GATES: layout_transpose(p, rows, cols / 4, 4, LAYOUT_GATES_TORCH, t, false); break;
    case ROW_0: memcpy(t, p, (size_t)cols * sizeof *t); break;
    case ROW_1: memcpy(t, p + cols, (size_t)cols * sizeof *t); break;
    case SUMMED: memset(t, 0, (size_t)pt->nelem * sizeof *t); break;
    default: memcpy(t, p, (size_t)pt->nelem * sizeof *t); break;
    }
}

/* The PyTorch array t back into parameter p. */
static void from_torch(const torch_array *a, const plan_tensor *pt, const float *t, float *p)
{
    int64_t rows = pt->rank == 2 ? pt->dims[0] : 1, cols = pt->rank == 2 ? pt->dims[1] : 1;
    switch (a->form) {
    case TRANSPOSED: layout_transpose(t, rows, cols, 1, NULL, p, true); break;
    case GATES: layout_transpose(t, rows, cols / 4, 4, LAYOUT_GATES_TORCH, p, true); break;
    case ROW_0: memcpy(p, t, (size_t)cols * sizeof *p); break;
    case ROW_1: memcpy(p + cols, t, (size_t)cols * sizeof *p); break;
    case SUMMED:
        for (int64_t i = 0; i < pt->nelem; i++)
            p[i] += t[i];
        break;
    default: memcpy(p, t, (size_t)pt->nelem * sizeof *p); break;
    }
}

/* Calls fn for every PyTorch array of the model whose qsdc parameter exists,
 * with its name ("layer.weight"), parameter and shape. */
typedef int (*array_fn)(void *ctx, const char *name, const torch_array *a,
                        const plan_tensor *pt, int rank, const int64_t *dims, qsdc_error *e);

static int each_array(const qsdc_session *s, array_fn fn, void *ctx, qsdc_error *e)
{
    for (int i = 0; i < s->m.n_layers; i++) {
        const layer *l = &s->m.layers[i];
        const torch_array *a;
        int n = arrays_of(l, &a);
        for (int k = 0; k < n; k++) {
            const plan_tensor *pt = session_param(s, l->name, a[k].param);
            if (!pt)
                continue;
            char name[2 * QSDC_NAME_MAX + 32];
            int64_t dims[QSDC_MAX_RANK];
            snprintf(name, sizeof name, "%s.%s", l->name, a[k].name);
            int rank = torch_shape(&a[k], pt, dims);
            if (fn(ctx, name, &a[k], pt, rank, dims, e) < 0)
                return -1;
        }
    }
    return 0;
}

typedef struct transfer {
    float *params;   /* the session's */
    npz_writer w;    /* export */
    npz_file f;      /* import */
    const char *path;
} transfer;

static int export_array(void *ctx, const char *name, const torch_array *a,
                        const plan_tensor *pt, int rank, const int64_t *dims, qsdc_error *e)
{
    transfer *x = ctx;
    float *t = malloc((size_t)pt->nelem * sizeof *t);
    if (!t)
        return qsdc_fail(e, "out of memory for '%s'", name);
    to_torch(a, pt, x->params + pt->offset, t);
    int rc = npz_add(&x->w, name, rank, dims, t, e);
    free(t);
    return rc;
}

static int export_npz(qsdc_session *s, const char *path, qsdc_error *e)
{
    if (!path || !*path)
        return qsdc_fail(e, "qsdc_session_export_npz: no output path");
    transfer x = {.path = path};
    npz_init(&x.w);
    int rc = session_read_params(s, &x.params, e);
    if (rc == 0)
        rc = each_array(s, export_array, &x, e);
    if (rc == 0)
        rc = npz_write(&x.w, path, e);
    npz_free(&x.w);
    free(x.params);
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

static int import_array(void *ctx, const char *name, const torch_array *a,
                        const plan_tensor *pt, int rank, const int64_t *dims, qsdc_error *e)
{
    transfer *x = ctx;
    npz_entry *entry = npz_find(&x->f, name);
    if (!entry)
        return qsdc_fail(e, "%s: no array '%s'", x->path, name);
    entry->used = true;
    npy_array arr;
    char where[2 * QSDC_PATH_MAX];
    snprintf(where, sizeof where, "%s: %s.npy", x->path, name);
    if (npy_parse(where, entry->data, entry->len, &arr, e) < 0)
        return -1;
    bool same = arr.rank == rank && arr.kind == 'f';
    for (int i = 0; same && i < rank; i++)
        same = arr.dims[i] == dims[i];
    if (!same) {
        char want[96] = "", got[96] = "";
        for (int i = 0; i < rank; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", i ? ", " : "",
                     (long long)dims[i]);
        for (int i = 0; i < arr.rank; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? ", " : "",
                     (long long)arr.dims[i]);
        return qsdc_fail(e, "%s: '%s' is %s [%s], the model's is float [%s]", x->path, name,
                         arr.kind == 'f' ? "float" : "an integer array", got, want);
    }
    int64_t n = elems(rank, dims);
    float *t = malloc((size_t)(n ? n : 1) * sizeof *t);
    if (!t)
        return qsdc_fail(e, "out of memory for '%s'", name);
    for (int64_t i = 0; i < n; i++) {
        t[i] = (float)npy_element(&arr, (uint64_t)i);
        if (!isfinite(t[i])) {
            double bad = t[i];
            free(t);
            return qsdc_fail(e, "%s: '%s' holds %g at element %lld", x->path, name, bad,
                             (long long)i);
        }
    }
    from_torch(a, pt, t, x->params + pt->offset);
    free(t);
    return 0;
}

/* Every array taken: one left over is a name the model does not have
 * (PyTorch's batchnorm counter aside). */
static int check_leftovers(transfer *x, qsdc_error *e)
{
    for (int i = 0; i < x->f.count; i++) {
        const char *name = x->f.entries[i].name, *dot = strrchr(name, '.');
        if (!x->f.entries[i].used && !(dot && strcmp(dot, ".num_batches_tracked") == 0))
            return qsdc_fail(e, "%s: array '%s' names no parameter of the model", x->path,
                             name);
    }
    return 0;
}

static int import_npz(qsdc_session *s, const char *path, qsdc_error *e)
{
    if (!path || !*path)
        return qsdc_fail(e, "qsdc_session_import_npz: no file given");
    transfer x = {.path = path};
    x.params = calloc((size_t)s->ep.param_elems, sizeof *x.params);
    if (!x.params)
        return qsdc_fail(e, "out of memory");
    /* what the arrays do not cover (a stateful lstm's carry) starts as seeded */
    params_init(&s->ep, s->m.train.seed, x.params);
    int rc = npz_open(path, &x.f, e);
    if (rc == 0)
        rc = each_array(s, import_array, &x, e);
    if (rc == 0)
        rc = check_leftovers(&x, e);
    if (rc == 0)
        rc = session_set_weights(s, x.params, NULL, 0, e);
    if (rc == 0)
        s->epoch = s->step = 0;
    npz_close(&x.f);
    free(x.params);
    return rc;
}

int qsdc_session_import_npz(qsdc_session *s, const char *path, qsdc_error *err)
{
    qsdc_error e = {""};
    int rc = session_usable(s, &e);
    if (rc == 0)
        rc = import_npz(s, path, &e);
    return session_finish(s, rc, &e, err);
}
