/* Training graphs on the device against the C reference interpreter: every
 * fused kernel of a training step (forward, loss, backward, update), and the
 * reference's gradients against finite differences. */
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

typedef struct run {
    model m;
    plan p;
    graph g;
    fusion f;
    float *params, *input;
    int32_t *labels;
} run;

/* When set, every GEMM runs through CLBlast (epilogues as separate kernels). */
static bool use_clblast;

static void setup_run_mode(run *r, const char *yaml, int64_t batch, graph_mode mode)
{
    qsdc_error err = {""};
    memset(r, 0, sizeof *r);
    if (model_load_string("<test>", yaml, strlen(yaml), &r->m, &err) < 0)
        fail_msg("%s", err.message);
    codegen_target t;
    codegen_target_default(&t);
    t.observe = mode == MODE_INFER;
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
    r->labels = malloc((size_t)batch * sizeof *r->labels);
    params_init(&r->p, 7, r->params);
    /* biases start at zero; make them non-trivial so their gradients matter */
    for (int64_t i = 0; i < r->p.param_elems; i++)
        if (r->params[i] == 0.0f)
            r->params[i] = 0.05f * (float)((i * 37) % 11 - 5);
    ts_fill_uniform(r->input, (size_t)r->p.input_elems, 3, -1.0f, 1.0f);
    int64_t classes = r->p.output_elems / batch;
    for (int64_t i = 0; i < batch; i++)
        r->labels[i] = (int32_t)((i * 7 + 3) % classes);
}

static void setup_run(run *r, const char *yaml, int64_t batch)
{
    setup_run_mode(r, yaml, batch, MODE_TRAIN);
}

static void free_run(run *r)
{
    plan_free(&r->p);
    graph_free(&r->g);
    fusion_free(&r->f);
    model_free(&r->m);
    free(r->params);
    free(r->input);
    free(r->labels);
}

/* float32 kernels against the double-accumulating reference, errors scaled
 * by the largest reference magnitude of each buffer: sums here run over at
 * most 64 terms, so |error| <= 64 * 2^-24 * sum|terms| ~ 4e-6; 1e-4 leaves
 * room for exp/log/tanh and QSD gamma-draw ulp differences (device vs host)
 * carried through two steps. Adam models use eps 1e-3 so that the update is
 * Lipschitz in the gradient (constant lr/eps) rather than a sign function of
 * near-zero gradients, which would turn ulp differences into lr-sized ones. */
#define TOL 1e-4

static void check_step_against_reference(const char *yaml, int64_t batch)
{
    run r;
    setup_run(&r, yaml, batch);
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
    float *loss = malloc((size_t)batch * sizeof *loss);
    float *grads = malloc((size_t)r.p.param_elems * sizeof *grads);
    float *params = malloc((size_t)r.p.param_elems * sizeof *params);
    float *state = malloc((size_t)(r.p.state_elems + 1) * sizeof *state);
    assert_int_equal(exec_read_arena(&ex, r.p.loss_offset, batch, loss, &err), 0);
    assert_int_equal(clEnqueueReadBuffer(env->queue, ms.G, CL_TRUE, 0,
                                         (size_t)r.p.param_elems * 4, grads, 0, NULL, NULL),
                     CL_SUCCESS);
    assert_int_equal(model_state_read(env, &ms, params, state, &err), 0);
    double e_loss = ts_max_err_scaled(loss, ref.val[r.g.loss], (size_t)batch);
    double e_grad = ts_max_err_scaled(grads, ref.G, (size_t)r.p.param_elems);
    double e_par = ts_max_err_scaled(params, ref.P, (size_t)r.p.param_elems);
    double e_st = ts_max_err_scaled(state, ref.S, (size_t)r.p.state_elems);
    printf("  %d kernels: max rel err loss %.2e grads %.2e params %.2e state %.2e\n",
           r.p.n_launches, e_loss, e_grad, e_par, e_st);
    assert_true(e_loss < TOL);
    assert_true(e_grad < TOL);
    assert_true(e_par < TOL);
    assert_true(e_st < TOL);
    free(loss);
    free(grads);
    free(params);
    free(state);
    ref_graph_free(&ref);
    exec_destroy(&ex);
    model_state_free(&ms);
    free_run(&r);
}

/* The inference plan: QSD and dropout are the identity, softmax is kept. */
static void check_inference_against_reference(const char *yaml, int64_t batch)
{
    run r;
    setup_run_mode(&r, yaml, batch, MODE_INFER);
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
    assert_true(e < TOL);
    /* observed hidden activations hold their values after the whole pass */
    int observed = 0;
    for (int t = 0; t < r.g.nt; t++) {
        if (!r.g.t[t].observed)
            continue;
        int pt = plan_find_tensor(&r.p, r.g.t[t].name);
        assert_true(pt >= 0);
        float *h = malloc((size_t)r.g.t[t].nelem * sizeof *h);
        assert_int_equal(exec_read_arena(&ex, r.p.tensors[pt].offset, r.g.t[t].nelem, h, &err), 0);
        assert_true(ts_max_err_scaled(h, ref.val[t], (size_t)r.g.t[t].nelem) < TOL);
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
    free_run(&r);
}

/* Central differences of the reference loss against the reference backward:
 * loss is smooth away from ReLU kinks, truncation error O(h^2) ~ 1e-6 and
 * float rounding ~ 2^-24 |loss| / h ~ 1e-4 with h = 1e-3; 2e-2 relative (plus
 * 2e-4 absolute) bounds both. */
static void check_gradients(const char *yaml, int64_t batch)
{
    run r;
    setup_run(&r, yaml, batch);
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
    for (int64_t i = 0; i < r.p.param_elems; i += 1 + r.p.param_elems / 40) {
        const float h = 1e-3f, p0 = ref.P[i];
        ref.P[i] = p0 + h;
        ref_graph_run(&ref, r.input, r.labels, 5, 0, 0.0f, 0, loss_node + 1);
        double up = ref_graph_mean_loss(&ref);
        ref.P[i] = p0 - h;
        ref_graph_run(&ref, r.input, r.labels, 5, 0, 0.0f, 0, loss_node + 1);
        double down = ref_graph_mean_loss(&ref);
        ref.P[i] = p0;
        double fd = (up - down) / (2.0 * h);
        if (fabs(fd - analytic[i]) > 2e-2 * fabs(fd) + 2e-4)
            fail_msg("param %lld: finite difference %.6g, backward %.6g", (long long)i, fd,
                     (double)analytic[i]);
        checked++;
    }
    assert_true(checked >= 20);
    free(analytic);
    ref_graph_free(&ref);
    free_run(&r);
}

static const char mlp_qsd[] =
    "name: mlp\ninput: {shape: [2, 3, 3]}\n"
    "layers:\n  - flatten\n  - {op: dense, units: 16}\n  - relu\n"
    "  - {op: qsd, p: 0.5, sites: 4, q_cv: 0.5, p_concentration: 4}\n"
    "  - {op: dense, units: 5}\n  - softmax\n"
    "train: {optimizer: {type: sgd, lr: 0.1, momentum: 0.9, nesterov: true}}\n";

static const char tanh_dropout_mse[] =
    "name: tdm\ninput: {shape: [7]}\n"
    "layers:\n  - {op: dense, units: 9}\n  - tanh\n  - {op: dropout, p: 0.7}\n"
    "  - {op: dense, units: 4}\n  - sigmoid\n"
    "train: {loss: mse, optimizer: {type: adam, eps: 0.001}, clip_norm: 0.05}\n";

static const char residual_dag[] =
    "name: res\ninput: {shape: [6]}\n"
    "nodes:\n"
    "  - {name: a, op: dense, inputs: input, units: 8}\n"
    "  - {name: ar, op: sigmoid, inputs: a}\n"
    "  - {name: b, op: dense, inputs: ar, units: 8}\n"
    "  - {name: s, op: add, inputs: [a, b]}\n"
    "  - {name: t, op: tanh, inputs: s}\n"
    "  - {name: q, op: qsd, inputs: t, p: 0.3, sites: 8, q_cv: 0.3}\n"
    "  - {name: o, op: dense, inputs: q, units: 3}\n"
    "train: {optimizer: {type: adamw, lr: 0.01, weight_decay: 0.1, eps: 0.001}}\n";

static const char inner_softmax[] =
    "name: sm\ninput: {shape: [5]}\n"
    "layers:\n  - {op: dense, units: 6}\n  - softmax\n  - {op: dense, units: 3, bias: false}\n"
    "train: {loss: mse, optimizer: {type: sgd, lr: 0.1, momentum: 0.5, weight_decay: 0.01}}\n";

static void test_mlp_qsd_step(void **s) { (void)s; check_step_against_reference(mlp_qsd, 8); }
static void test_tanh_dropout_mse_step(void **s) { (void)s; check_step_against_reference(tanh_dropout_mse, 6); }
static void test_residual_step(void **s) { (void)s; check_step_against_reference(residual_dag, 5); }
static void test_inner_softmax_step(void **s) { (void)s; check_step_against_reference(inner_softmax, 4); }
static void test_inference(void **s)
{
    (void)s;
    const char *models[] = {mlp_qsd, tanh_dropout_mse, residual_dag, inner_softmax};
    for (int i = 0; i < 4; i++)
        check_inference_against_reference(models[i], 5);
}
/* The same steps with CLBlast doing every GEMM and the fused epilogues run
 * as separate in-place kernels. */
static void test_clblast_steps(void **s)
{
    (void)s;
    use_clblast = true;
    check_inference_against_reference(mlp_qsd, 5);
    check_step_against_reference(mlp_qsd, 8);
    check_step_against_reference(residual_dag, 5);
    use_clblast = false;
}

static void test_mlp_qsd_gradients(void **s) { (void)s; check_gradients(mlp_qsd, 8); }
static void test_tanh_dropout_mse_gradients(void **s) { (void)s; check_gradients(tanh_dropout_mse, 6); }
static void test_residual_gradients(void **s) { (void)s; check_gradients(residual_dag, 5); }
static void test_inner_softmax_gradients(void **s) { (void)s; check_gradients(inner_softmax, 4); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inference),
        cmocka_unit_test(test_mlp_qsd_gradients),
        cmocka_unit_test(test_tanh_dropout_mse_gradients),
        cmocka_unit_test(test_residual_gradients),
        cmocka_unit_test(test_inner_softmax_gradients),
        cmocka_unit_test(test_mlp_qsd_step),
        cmocka_unit_test(test_tanh_dropout_mse_step),
        cmocka_unit_test(test_residual_step),
        cmocka_unit_test(test_inner_softmax_step),
        cmocka_unit_test(test_clblast_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
