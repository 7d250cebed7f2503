#include "graph_check.h"

#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cl_fixture.h"
#include "compile_tuner.h"
#include "device_tuner.h"
#include "executor.h"
#include "init.h"
#include "ref_graph.h"
#include "support.h"

/* Where the plans' GEMMs and conv2d layers run (gc_set_backend). */
static gc_backend backend = GC_OWN;
/* When set, every conv2d layer is a direct convolution. */
static bool use_direct_conv;

/* When set, token inputs have padding steps (gc_set_padding). */
static bool use_padding;
/* When set, plans list every node's output in plan.probes. */
static bool use_observe_all;
/* When non-zero, the loop limit plans are shaped for (gc_set_loop_limit). */
static uint32_t shape_loop_limit;
/* When non-zero, the GPU's compute units plans are shaped for
 * (gc_set_gpu_units). */
static unsigned shape_gpu_units;

void gc_set_gpu_units(unsigned units)
{
    shape_gpu_units = units;
}

void gc_set_loop_limit(uint32_t limit)
{
    shape_loop_limit = limit;
}

void gc_set_observe_all(bool on)
{
    use_observe_all = on;
}

void gc_set_padding(bool on)
{
    use_padding = on;
}

/* Pads ids[batch, steps] as gc_set_padding describes. */
static void pad_rows(float *ids, int64_t batch, int64_t steps)
{
    for (int64_t b = 0; b < batch; b++) {
        int64_t pad = b % steps, from = b % 2 ? 0 : steps - pad;
        for (int64_t t = from; t < from + pad; t++)
            ids[b * steps + t] = (float)QSDC_PAD_ID;
    }
}

void gc_set_backend(gc_backend b)
{
    backend = b;
}

void gc_set_direct_conv(bool on)
{
    use_direct_conv = on;
}

int gc_backend_reset(void **state)
{
    gc_set_backend(GC_OWN);
    return ts_restore_env(state);
}

void gc_check_backends(const char *const *yamls, const int64_t *batches, int n, double tol)
{
    /* the suites pin the generated GEMMs and im2col; here qsdc chooses */
    ts_setenv("QSDC_GEMM", NULL);
    ts_setenv("QSDC_CONV", NULL);
    const gc_backend backends[] = {GC_CLBLAST, GC_MEASURED};
    for (int b = 0; b < 2; b++) {
        gc_set_backend(backends[b]);
        /* each new plan is a program to compile (a minute per suite on a
         * cold cache): the first model's inference plan only */
        gc_check_inference(yamls[0], batches[0], tol);
        for (int i = 0; i < n; i++)
            gc_check_step(yamls[i], batches[i], tol);
    }
    gc_backend_reset(NULL);
}

/* The tuner of GC_CLBLAST: CLBlast for every GEMM, conv2d as im2col, lstm
 * recurrences on vectors, window kernels as the family runs them. */
static int no_direct_conv(void *ctx, graph_mode mode, int64_t batch, const conv_shape *shapes,
                          int n, bool *direct, qsdc_error *err)
{
    (void)ctx, (void)mode, (void)batch, (void)shapes, (void)err;
    memset(direct, 0, (size_t)n * sizeof *direct);
    return 0;
}

static int vector_lstms(void *ctx, const recur_shape *shapes, int n, bool *scalar,
                        qsdc_error *err)
{
    (void)ctx, (void)shapes, (void)err;
    memset(scalar, 0, (size_t)n * sizeof *scalar);
    return 0;
}

static int family_windows(void *ctx, const window_shape *shapes, int n, bool *rows,
                          qsdc_error *err)
{
    (void)ctx, (void)shapes, (void)err;
    memset(rows, 0, (size_t)n * sizeof *rows);
    return 0;
}

static int every_gemm_clblast(void *ctx, const plan *sizes, const plan_gemm *shapes, int n,
                              gemm_pick *picks, qsdc_error *err)
{
    (void)ctx, (void)sizes, (void)err;
    for (int i = 0; i < n; i++)
        picks[i] = (gemm_pick){.shape = shapes[i], .clblast = true};
    return 0;
}

void gc_setup(gc_run *r, const char *yaml, int64_t batch, graph_mode mode)
{
    qsdc_error err = {""};
    memset(r, 0, sizeof *r);
    if (model_load_string("<test>", yaml, strlen(yaml), &r->m, &err) < 0)
        fail_msg("%s", err.message);
    /* the kernels the device under test gets: its vector width, its loop
     * limit */
    codegen_target t;
    exec_target(&tf_env()->dev, &t);
    if (shape_loop_limit)
        t.loop_limit = shape_loop_limit;
    if (shape_gpu_units) {
        t.profile.is_gpu = true;
        t.profile.compute_units = shape_gpu_units;
        if (!gemm_tiled(&t.gemm_tiles))
            t.gemm_tiles = gemm_tiles_default(&t.profile);
    }
    t.observe = mode == MODE_INFER;
    t.observe_all = use_observe_all;
    t.direct_conv_all = use_direct_conv;
    const compile_tuner library = {.convs = no_direct_conv, .lstms = vector_lstms,
                                   .gemms = every_gemm_clblast, .windows = family_windows};
    if (backend == GC_CLBLAST)
        t.tuner = &library;
    if ((backend == GC_MEASURED
             ? compile_tuned(tf_env(), &r->m, mode, batch, &t, false, NULL, &r->p, &r->g,
                             &r->f, &err)
             : compile_plan(&r->m, mode, batch, &t, &r->p, &r->g, &r->f, &err)) < 0)
        fail_msg("%s", err.message);
    int gemms = 0, by_library = 0, direct = 0;
    for (int i = 0; i < r->p.n_launches; i++) {
        gemms += r->p.launches[i].gemm.m > 0;
        by_library += r->p.launches[i].kind == LAUNCH_CLBLAST_GEMM;
        direct += strncmp(r->p.launches[i].nodes, "conv2d", 6) == 0;
    }
    if (backend == GC_CLBLAST) {
        assert_true(gemms > 0);
        assert_int_equal(by_library, gemms);
    }
    if (backend == GC_MEASURED)
        printf("  measured: %d GEMMs by CLBlast, %d conv2d layers direct\n", by_library,
               direct);
    r->params = malloc((size_t)r->p.param_elems * sizeof *r->params);
    r->input = malloc((size_t)r->p.input_elems * sizeof *r->input);
    /* one label per sample, or per (sample, step) for sequence outputs */
    r->n_labels = mode == MODE_TRAIN ? r->p.label_elems : 0;
    r->labels = malloc((size_t)(r->n_labels + 1) * sizeof *r->labels);
    params_init(&r->p, 7, r->params);
    /* biases start at zero; make them non-trivial so their gradients matter */
    for (int64_t i = 0; i < r->p.param_elems; i++)
        if (r->params[i] == 0.0f)
            r->params[i] = 0.05f * (float)((i * 37) % 11 - 5);
    ts_fill_uniform(r->input, (size_t)r->p.input_elems, 3, -1.0f, 1.0f);
    if (r->m.dtype == DTYPE_INT32) {
        /* token ids as exact floats, repeats included; one id past the
           vocabulary reads a zero row and gets no gradient */
        for (int64_t i = 0; i < r->p.input_elems; i++)
            r->input[i] = (float)((i * 5 + i / 3) % GC_VOCAB);
        r->input[1] = (float)GC_VOCAB + 2;
        if (use_padding)
            pad_rows(r->input, batch, r->p.input_elems / batch);
    }
    int64_t classes = r->g.t[r->g.output].dims[r->g.t[r->g.output].rank - 1];
    for (int64_t i = 0; i < r->n_labels; i++)
        r->labels[i] = (int32_t)((i * 7 + 3) % classes);
}

void gc_free(gc_run *r)
{
    plan_free(&r->p);
    graph_free(&r->g);
    fusion_free(&r->f);
    model_free(&r->m);
    free(r->params);
    free(r->input);
    free(r->labels);
}

void gc_device_open(gc_device *d, const gc_run *r)
{
    cl_env *env = tf_env();
    qsdc_error err = {""};
    if (model_state_create(env, r->p.param_elems, r->p.state_elems, &d->ms, &err) < 0)
        fail_msg("%s", err.message);
    if (model_state_write(env, &d->ms, r->params, NULL, &err) < 0 ||
        exec_create(env, &r->p, &d->ms, &d->ex, &err) < 0) {
        model_state_free(&d->ms);
        fail_msg("%s", err.message);
    }
}

void gc_device_close(gc_device *d)
{
    exec_destroy(&d->ex);
    model_state_free(&d->ms);
}

void gc_device_run(gc_device *d, const gc_run *r, const float *input, float lr)
{
    qsdc_error err = {""};
    if (exec_set_batch(&d->ex, input, r->n_labels ? r->labels : NULL, &err) < 0 ||
        exec_run(&d->ex, 11, 0, lr, &err) < 0)
        fail_msg("%s", err.message);
}

float *gc_device_read(gc_device *d, int64_t offset, int64_t n)
{
    qsdc_error err = {""};
    float *v = malloc((size_t)n * sizeof *v);
    assert_non_null(v);
    if (exec_read_arena(&d->ex, offset, n, v, &err) < 0)
        fail_msg("%s", err.message);
    return v;
}

/* What a training step leaves in the three allocations. */
typedef struct step_result {
    const float *G, *P, *S;
} step_result;

/* A slice's scale is its largest reference magnitude, but at least this
 * fraction of the whole buffer's: a gradient that is zero but for rounding
 * (a bias before batch normalisation) is compared in the buffer's terms. */
#define GC_SLICE_FLOOR 1e-3

/* max |ref - base| over n elements (base may be NULL: zeros). */
static double max_abs(const float *ref, const float *base, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)ref[i] - (base ? base[i] : 0)));
    return m;
}

/* Fails unless dev[0, n) matches ref within tol of the slice's own scale,
 * at least floor. With base (the parameters before the steps) the slices
 * are compared as updates dev - base against ref - base, less a few ulps of
 * the parameter for the roundings of P - lr g that device and reference
 * each make. Returns the relative error. */
static double check_slice(const char *tensor, const char *buffer, const float *dev,
                          const float *ref, const float *base, int64_t n, double floor,
                          double tol)
{
    double scale = fmax(floor, max_abs(ref, base, n));
    double worst = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        double b = base ? base[i] : 0, d = dev[i] - b, w = ref[i] - b;
        double slack = base ? 4 * FLT_EPSILON * fmax(fabs(dev[i]), fabs(ref[i])) : 0;
        double e = fmax(0, fabs(d - w) - slack) / scale;
        if (e > worst) {
            worst = e;
            at = i;
        }
    }
    if (!(worst <= tol))
        fail_msg("%s of %s[%lld]: device %.8g, reference %.8g: error %.2e of the tensor's "
                 "largest %.3g (tolerance %.1e)", buffer, tensor, (long long)at,
                 dev[at] - (base ? base[at] : 0), ref[at] - (base ? base[at] : 0), worst, scale,
                 tol);
    return worst;
}

/* Fails unless the reference's gradient slice has a non-zero value and the
 * device's slice has one too. */
static void check_nonzero(const char *tensor, const float *dev, const float *ref, int64_t n)
{
    double d = 0, w = 0;
    for (int64_t i = 0; i < n; i++) {
        d += fabs(dev[i]);
        w += fabs(ref[i]);
    }
    if (!(w > 0))
        fail_msg("the reference's gradient of %s is zero", tensor);
    if (!(d > 0))
        fail_msg("the device's gradient of %s is zero, the reference's is not", tensor);
}

/* Each parameter tensor on its own, so that a small tensor (a bias, a
 * batch-norm shift) cannot hide behind a large one: its gradient, its
 * update P - P0 (about 1e-3 of P, so comparing P itself would hide
 * percent errors), and its optimiser state, which holds state_elems /
 * grad_elems moments laid out as the trainable parameters are. Running
 * statistics have no gradient; their change is their update. */
static void check_tensors(const gc_run *r, const step_result *dev, const step_result *ref,
                          double tol)
{
    int64_t np = r->g.grad_elems, moments = np > 0 ? r->g.state_elems / np : 0;
    assert_int_equal(moments * np, r->g.state_elems);
    double f_grad = GC_SLICE_FLOOR * fmax(max_abs(ref->G, NULL, np), 1e-12);
    double f_upd = GC_SLICE_FLOOR * fmax(max_abs(ref->P, r->params, r->g.param_elems), 1e-12);
    double f_st = GC_SLICE_FLOOR * fmax(max_abs(ref->S, NULL, r->g.state_elems), 1e-12);
    double e_grad = 0, e_upd = 0, e_st = 0;
    for (int i = 0; i < r->g.nt; i++) {
        const tensor *t = &r->g.t[i];
        if (t->kind != T_PARAM)
            continue;
        int64_t o = t->offset, n = t->nelem;
        if (!t->running_stat) {
            int64_t go = r->g.t[t->grad].offset;
            check_nonzero(t->name, dev->G + go, ref->G + go, n);
            e_grad = fmax(e_grad, check_slice(t->name, "gradient", dev->G + go, ref->G + go,
                                              NULL, n, f_grad, tol));
            for (int64_t k = 0; k < moments; k++)
                e_st = fmax(e_st, check_slice(t->name, "optimiser state", dev->S + k * np + o,
                                              ref->S + k * np + o, NULL, n, f_st, tol));
        }
        e_upd = fmax(e_upd, check_slice(t->name, "update", dev->P + o, ref->P + o,
                                        r->params + o, n, f_upd, tol));
    }
    printf("  per tensor, max rel err grads %.2e updates %.2e state %.2e\n", e_grad, e_upd,
           e_st);
}

void gc_check_step(const char *yaml, int64_t batch, double tol)
{
    gc_run r;
    gc_setup(&r, yaml, batch, MODE_TRAIN);
    cl_env *env = tf_env();
    qsdc_error err = {""};
    model_state ms;
    executor ex;
    if (model_state_create(env, r.p.param_elems, r.p.state_elems, &ms, &err) < 0 ||
        model_state_write(env, &ms, r.params, NULL, &err) < 0 ||
        exec_create(env, &r.p, &ms, &ex, &err) < 0)
        fail_msg("%s", err.message);
    ref_graph ref;
    assert_int_equal(ref_graph_init(&ref, &r.g, &r.m, r.params), 0);
    const float lr = 0.05f;
    for (uint32_t step = 0; step < 2; step++) {
        assert_int_equal(exec_set_batch(&ex, r.input, r.labels, &err), 0);
        assert_int_equal(exec_run(&ex, 11, step, lr, &err), 0);
        ref_graph_run(&ref, r.input, r.labels, 11, step, lr, 0, r.g.nn);
    }
    float *loss = malloc((size_t)r.n_labels * sizeof *loss);
    float *grads = malloc((size_t)r.p.param_elems * sizeof *grads);
    float *params = malloc((size_t)r.p.param_elems * sizeof *params);
    float *state = malloc((size_t)(r.p.state_elems + 1) * sizeof *state);
    assert_int_equal(exec_read_arena(&ex, r.p.loss_offset, r.n_labels, loss, &err), 0);
    assert_int_equal(clEnqueueReadBuffer(env->queue, ms.G, CL_TRUE, 0,
                                         (size_t)r.p.param_elems * 4, grads, 0, NULL, NULL),
                     CL_SUCCESS);
    assert_int_equal(model_state_read(env, &ms, params, state, &err), 0);
    double e_loss = ts_max_err_scaled(loss, ref.val[r.g.loss], (size_t)r.n_labels);
    printf("  %d kernels: max rel err loss %.2e\n", r.p.n_launches, e_loss);
    assert_true(e_loss < tol);
    const step_result dev = {grads, params, state}, want = {ref.G, ref.P, ref.S};
    check_tensors(&r, &dev, &want, tol);
    free(loss);
    free(grads);
    free(params);
    free(state);
    ref_graph_free(&ref);
    exec_destroy(&ex);
    model_state_free(&ms);
    gc_free(&r);
}

/* The inference plan: QSD and dropout are the identity, softmax is kept. */
void gc_check_inference(const char *yaml, int64_t batch, double tol)
{
    gc_run r;
    gc_setup(&r, yaml, batch, MODE_INFER);
    gc_device d;
    gc_device_open(&d, &r);
    gc_device_run(&d, &r, r.input, 0.0f);
    float *out = gc_device_read(&d, r.p.output_offset, r.p.output_elems);
    ref_graph ref;
    assert_int_equal(ref_graph_init(&ref, &r.g, &r.m, r.params), 0);
    ref_graph_run(&ref, r.input, NULL, 0, 0, 0.0f, 0, r.g.nn);
    double e = ts_max_err_scaled(out, ref.val[r.g.output], (size_t)r.p.output_elems);
    printf("  inference, %d kernels: max rel err %.2e\n", r.p.n_launches, e);
    assert_true(e < tol);
    /* observed hidden activations hold their values after the whole pass */
    int observed = 0;
    for (int t = 0; t < r.g.nt; t++) {
        if (!r.g.t[t].observed)
            continue;
        int pt = plan_find_tensor(&r.p, r.g.t[t].name);
        assert_true(pt >= 0);
        float *h = gc_device_read(&d, r.p.tensors[pt].offset, r.g.t[t].nelem);
        assert_true(ts_max_err_scaled(h, ref.val[t], (size_t)r.g.t[t].nelem) < tol);
        free(h);
        observed++;
    }
    int hidden = 0;
    for (int i = 0; i < r.g.nn; i++)
        hidden += r.g.n[i].op == OP_RELU || r.g.n[i].op == OP_TANH || r.g.n[i].op == OP_SIGMOID;
    assert_int_equal(observed, hidden);
    free(out);
    ref_graph_free(&ref);
    gc_device_close(&d);
    gc_free(&r);
}

void gc_check_gradients(const char *yaml, int64_t batch, double h, double rel, double abs_tol,
                        int64_t max_params)
{
    gc_run r;
    gc_setup(&r, yaml, batch, MODE_TRAIN);
    ref_graph ref;
    assert_int_equal(ref_graph_init(&ref, &r.g, &r.m, r.params), 0);
    int backward_end = r.g.nn - 1; /* everything but the update */
    ref_graph_run(&ref, r.input, r.labels, 5, 0, 0.0f, 0, backward_end);
    float *analytic = malloc((size_t)r.p.param_elems * sizeof *analytic);
    memcpy(analytic, ref.G, (size_t)r.p.param_elems * sizeof *analytic);
    int loss_node = -1;
    for (int i = 0; i < r.g.nn; i++)
        if (r.g.n[i].out == r.g.loss)
            loss_node = i;
    assert_true(loss_node >= 0);
    int checked = 0;
    int64_t stride = max_params > 0 ? 1 + r.p.param_elems / max_params : 1;
    for (int64_t i = 0; i < r.p.param_elems; i += stride) {
        const float p0 = ref.P[i], hi = (float)(p0 + h), lo = (float)(p0 - h);
        ref.P[i] = hi;
        ref_graph_run(&ref, r.input, r.labels, 5, 0, 0.0f, 0, loss_node + 1);
        double up = ref_graph_mean_loss(&ref);
        ref.P[i] = lo;
        ref_graph_run(&ref, r.input, r.labels, 5, 0, 0.0f, 0, loss_node + 1);
        double down = ref_graph_mean_loss(&ref);
        ref.P[i] = p0;
        double fd = (up - down) / ((double)hi - (double)lo);
        if (fabs(fd - analytic[i]) > rel * fabs(fd) + abs_tol)
            fail_msg("param %lld: finite difference %.6g, backward %.6g", (long long)i, fd,
                     (double)analytic[i]);
        checked++;
    }
    assert_true(checked >= (max_params > 0 && max_params < 20 ? max_params : 20));
    printf("  %d parameters checked\n", checked);
    free(analytic);
    ref_graph_free(&ref);
    gc_free(&r);
}

