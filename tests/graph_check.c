#include "graph_check.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cl_fixture.h"
#include "compile.h"
#include "executor.h"
#include "init.h"
#include "ref_graph.h"
#include "support.h"

/* When set, every GEMM runs through CLBlast (epilogues as separate kernels). */
static bool use_clblast;
/* When set, every conv2d layer is a direct convolution. */
static bool use_direct_conv;

/* When set, token inputs have padding steps (gc_set_padding). */
static bool use_padding;

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

void gc_set_clblast(bool on)
{
    use_clblast = on;
}

void gc_set_direct_conv(bool on)
{
    use_direct_conv = on;
}

void gc_setup(gc_run *r, const char *yaml, int64_t batch, graph_mode mode)
{
    qsdc_error err = {""};
    memset(r, 0, sizeof *r);
    if (model_load_string("<test>", yaml, strlen(yaml), &r->m, &err) < 0)
        fail_msg("%s", err.message);
    codegen_target t;
    codegen_target_default(&t);
    t.observe = mode == MODE_INFER;
    t.direct_conv_all = use_direct_conv;
    if (compile_plan(&r->m, mode, batch, &t, &r->p, &r->g, &r->f, &err) < 0)
        fail_msg("%s", err.message);
    plan_gemm shapes[32];
    if (use_clblast) {
        for (int i = 0; i < r->p.n_launches; i++)
            if (r->p.launches[i].gemm.m > 0 && t.n_clblast < 32)
                shapes[t.n_clblast++] = r->p.launches[i].gemm;
        assert_true(t.n_clblast > 0);
        t.clblast = shapes;
        plan_free(&r->p);
        graph_free(&r->g);
        fusion_free(&r->f);
        if (compile_plan(&r->m, mode, batch, &t, &r->p, &r->g, &r->f, &err) < 0)
            fail_msg("%s", err.message);
        int library = 0;
        for (int i = 0; i < r->p.n_launches; i++)
            library += r->p.launches[i].kind == LAUNCH_CLBLAST_GEMM;
        assert_int_equal(library, t.n_clblast);
    }
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
    double e_grad = ts_max_err_scaled(grads, ref.G, (size_t)r.p.param_elems);
    double e_par = ts_max_err_scaled(params, ref.P, (size_t)r.p.param_elems);
    double e_st = ts_max_err_scaled(state, ref.S, (size_t)r.p.state_elems);
    printf("  %d kernels: max rel err loss %.2e grads %.2e params %.2e state %.2e\n",
           r.p.n_launches, e_loss, e_grad, e_par, e_st);
    assert_true(e_loss < tol);
    assert_true(e_grad < tol);
    assert_true(e_par < tol);
    assert_true(e_st < tol);
    /* every gradient tensor got some gradient: none left at zero */
    for (int i = 0; i < r.g.nt; i++) {
        if (r.g.t[i].kind != T_GRAD)
            continue;
        double s = 0;
        for (int64_t j = 0; j < r.g.t[i].nelem; j++)
            s += fabs(ref.val[i][j]);
        if (!(s > 0))
            fail_msg("gradient %s is zero", r.g.t[i].name);
    }
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
    cl_env *env = tf_env();
    qsdc_error err = {""};
    model_state ms;
    executor ex;
    if (model_state_create(env, r.p.param_elems, 0, &ms, &err) < 0 ||
        model_state_write(env, &ms, r.params, NULL, &err) < 0 ||
        exec_create(env, &r.p, &ms, &ex, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(exec_set_batch(&ex, r.input, NULL, &err), 0);
    assert_int_equal(exec_run(&ex, 0, 0, 0.0f, &err), 0);
    float *out = malloc((size_t)r.p.output_elems * sizeof *out);
    assert_int_equal(exec_read_arena(&ex, r.p.output_offset, r.p.output_elems, out, &err), 0);
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
        float *h = malloc((size_t)r.g.t[t].nelem * sizeof *h);
        assert_int_equal(exec_read_arena(&ex, r.p.tensors[pt].offset, r.g.t[t].nelem, h, &err), 0);
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
    exec_destroy(&ex);
    model_state_free(&ms);
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

