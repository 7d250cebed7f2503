/* Recurrent networks (embedding, lstm, QSD shared over time, dense at every
 * step, sequence pooling, per-step loss) on the device against the C
 * reference, buffer by buffer over two training steps and in inference, and
 * the reference's gradients against finite differences. */
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
    int64_t n_labels;
} run;

#define VOCAB 7

static void setup_run(run *r, const char *yaml, int64_t batch, graph_mode mode)
{
    qsdc_error err = {""};
    memset(r, 0, sizeof *r);
    if (model_load_string("<test>", yaml, strlen(yaml), &r->m, &err) < 0)
        fail_msg("%s", err.message);
    codegen_target t;
    codegen_target_default(&t);
    if (compile_plan(&r->m, mode, batch, &t, &r->p, &r->g, &r->f, &err) < 0)
        fail_msg("%s", err.message);
    r->params = malloc((size_t)r->p.param_elems * sizeof *r->params);
    r->input = malloc((size_t)r->p.input_elems * sizeof *r->input);
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
            r->input[i] = (float)((i * 5 + i / 3) % VOCAB);
        r->input[1] = (float)VOCAB + 2;
    }
    const plan_tensor *out = NULL;
    for (int i = 0; i < r->p.n_tensors; i++)
        if (r->p.tensors[i].offset == r->p.output_offset && r->p.tensors[i].buffer == BUF_A &&
            r->p.tensors[i].nelem == r->p.output_elems)
            out = &r->p.tensors[i];
    assert_non_null(out);
    int64_t classes = out->dims[out->rank - 1];
    for (int64_t i = 0; i < r->n_labels; i++)
        r->labels[i] = (int32_t)((i * 3 + 1) % classes);
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
 * by each buffer's largest reference magnitude. The longest sums here are
 * the dU sums over B*T <= 12 steps of 4H <= 20 terms and the recurrence's
 * dh sums of 4H terms, each ~2^-24 relative per term; exp/tanh add a few
 * ulp per gate, and the recurrence carries them through T <= 4 steps and
 * two training steps: 1e-4 bounds this with a wide margin. */
#define TOL 1e-4

static void check_step(const char *yaml, int64_t batch)
{
    run r;
    setup_run(&r, yaml, batch, MODE_TRAIN);
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
    int64_t np = r.p.param_elems;
    float *loss = malloc((size_t)r.n_labels * sizeof *loss);
    float *grads = malloc((size_t)np * sizeof *grads);
    float *params = malloc((size_t)np * sizeof *params);
    float *state = malloc((size_t)(r.p.state_elems + 1) * sizeof *state);
    assert_int_equal(exec_read_arena(&ex, r.p.loss_offset, r.n_labels, loss, &err), 0);
    assert_int_equal(clEnqueueReadBuffer(env->queue, ms.G, CL_TRUE, 0, (size_t)np * 4, grads,
                                         0, NULL, NULL), CL_SUCCESS);
    assert_int_equal(model_state_read(env, &ms, params, state, &err), 0);
    double e_loss = ts_max_err_scaled(loss, ref.val[r.g.loss], (size_t)r.n_labels);
    double e_grad = ts_max_err_scaled(grads, ref.G, (size_t)np);
    double e_par = ts_max_err_scaled(params, ref.P, (size_t)np);
    double e_st = ts_max_err_scaled(state, ref.S, (size_t)r.p.state_elems);
    printf("  %d kernels: max rel err loss %.2e grads %.2e params %.2e state %.2e\n",
           r.p.n_launches, e_loss, e_grad, e_par, e_st);
    assert_true(e_loss < TOL);
    assert_true(e_grad < TOL);
    assert_true(e_par < TOL);
    assert_true(e_st < TOL);
    /* every parameter tensor got a gradient (none left at zero) */
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
    free_run(&r);
}

static void check_inference(const char *yaml, int64_t batch)
{
    run r;
    setup_run(&r, yaml, batch, MODE_INFER);
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
    free(out);
    ref_graph_free(&ref);
    exec_destroy(&ex);
    model_state_free(&ms);
    free_run(&r);
}

/* Central differences of the reference loss against the reference backward,
 * every parameter: the model is smooth (sigmoid, tanh, softmax), truncation
 * O(h^2) ~ 1e-6, float rounding of the loss ~ 2^-24 |loss| / h ~ 1e-4 with
 * h = 1e-3; 2e-2 relative plus 2e-4 absolute bounds both. */
static void check_gradients(const char *yaml, int64_t batch)
{
    run r;
    setup_run(&r, yaml, batch, MODE_TRAIN);
    ref_graph ref;
    assert_int_equal(ref_graph_init(&ref, &r.g, &r.m, r.params), 0);
    ref_graph_run(&ref, r.input, r.labels, 5, 0, 0.0f, 0, r.g.nn - 1);
    int64_t np = r.p.param_elems;
    float *analytic = malloc((size_t)np * sizeof *analytic);
    memcpy(analytic, ref.G, (size_t)np * sizeof *analytic);
    int loss_node = -1;
    for (int i = 0; i < r.g.nn; i++)
        if (r.g.n[i].out == r.g.loss)
            loss_node = i;
    assert_true(loss_node >= 0);
    int checked = 0;
    for (int t = 0; t < r.g.nt; t++) {
        if (r.g.t[t].kind != T_PARAM)
            continue;
        for (int64_t j = 0; j < r.g.t[t].nelem; j++) {
            int64_t i = r.g.t[t].offset + j;
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
                fail_msg("%s[%lld]: finite difference %.6g, backward %.6g", r.g.t[t].name,
                         (long long)j, fd, (double)analytic[i]);
            checked++;
        }
    }
    printf("  %d parameters checked\n", checked);
    free(analytic);
    ref_graph_free(&ref);
    free_run(&r);
}

/* A language model: a label per (sample, step), QSD masks held over time. */
static const char lm[] =
    "name: lm\ninput: {shape: [4], dtype: int32}\n"
    "layers:\n  - {op: embedding, vocab: 7, dim: 5}\n"
    "  - {op: qsd, p: 0.7, sites: 4, q_cv: 0.5, share: time}\n"
    "  - {op: lstm, units: 4}\n"
    "  - {op: dropout, p: 0.5, share: time}\n"
    "  - {op: dense, units: 7}\n"
    "train: {optimizer: {type: sgd, lr: 0.1, momentum: 0.9}}\n";

/* Stacked lstm layers, the last returning its final step. */
static const char stacked[] =
    "name: stacked\ninput: {shape: [3], dtype: int32}\n"
    "layers:\n  - {op: embedding, vocab: 7, dim: 4}\n"
    "  - {op: lstm, units: 5}\n  - {op: lstm, units: 4, return: last}\n"
    "  - {op: dense, units: 3}\n"
    "train: {optimizer: {type: adam, eps: 0.001}}\n";

/* Float sequences, mean pooling, a dense layer (without bias) at every step. */
static const char pooled[] =
    "name: pooled\ninput: {shape: [4, 3]}\n"
    "layers:\n  - {op: dense, units: 4, bias: false}\n  - tanh\n"
    "  - {op: lstm, units: 5}\n"
    "  - {op: pool_sequence, mode: mean}\n  - {op: dense, units: 3}\n"
    "train: {optimizer: {type: sgd, lr: 0.1}}\n";

/* share: time holds each (sample, unit) mask over all steps, and the masks
 * differ between units (the reference's masks after a training step) */
static void test_masks_shared_over_time(void **s)
{
    (void)s;
    run r;
    setup_run(&r, lm, 3, MODE_TRAIN);
    ref_graph ref;
    assert_int_equal(ref_graph_init(&ref, &r.g, &r.m, r.params), 0);
    ref_graph_run(&ref, r.input, r.labels, 11, 0, 0.0f, 0, r.g.nn);
    int masks = 0;
    for (int i = 0; i < r.g.nn; i++) {
        const gnode *n = &r.g.n[i];
        if (n->op != OP_QSD)
            continue;
        const tensor *t = &r.g.t[n->mask];
        int64_t T = t->dims[1], U = t->dims[2];
        const float *m = ref.val[n->mask];
        int distinct = 0;
        for (int64_t b = 0; b < t->dims[0]; b++)
            for (int64_t u = 0; u < U; u++) {
                float first = m[b * T * U + u];
                distinct += u > 0 && first != m[b * T * U + u - 1];
                for (int64_t k = 1; k < T; k++)
                    assert_true(m[(b * T + k) * U + u] == first);
            }
        assert_true(distinct > 0);
        masks++;
    }
    assert_int_equal(masks, 2);
    ref_graph_free(&ref);
    free_run(&r);
}

static void test_lm_gradients(void **s) { (void)s; check_gradients(lm, 3); }
static void test_stacked_gradients(void **s) { (void)s; check_gradients(stacked, 2); }
static void test_pooled_gradients(void **s) { (void)s; check_gradients(pooled, 3); }
static void test_lm_step(void **s) { (void)s; check_step(lm, 3); }
static void test_stacked_step(void **s) { (void)s; check_step(stacked, 2); }
static void test_pooled_step(void **s) { (void)s; check_step(pooled, 3); }
static void test_inference(void **s)
{
    (void)s;
    check_inference(lm, 3);
    check_inference(stacked, 2);
    check_inference(pooled, 3);
}

static void expect_error(const char *yaml, const char *want)
{
    model m;
    graph g;
    qsdc_error err = {""};
    if (model_load_string("<test>", yaml, strlen(yaml), &m, &err) < 0)
        fail_msg("load: %s", err.message);
    int rc = graph_lower(&m, MODE_TRAIN, 2, &g, &err);
    graph_free(&g);
    model_free(&m);
    assert_int_equal(rc, -1);
    if (!strstr(err.message, want))
        fail_msg("got \"%s\", want \"%s\"", err.message, want);
}

static void test_shape_errors(void **s)
{
    (void)s;
    expect_error("name: a\ninput: {shape: [4]}\nlayers:\n"
                 "  - {op: embedding, vocab: 7, dim: 3}\n",
                 "<test>:4:5: error: embedding 'embedding0': reads the model input as "
                 "token ids: it needs input {shape: [time], dtype: int32}, got [2,4]");
    expect_error("name: a\ninput: {shape: [4], dtype: int32}\nlayers:\n"
                 "  - {op: dense, units: 3}\n",
                 "<test>:4:5: error: dense 'dense0': cannot read the int32 token ids");
    expect_error("name: a\ninput: {shape: [4], dtype: int32}\nlayers:\n"
                 "  - {op: embedding, vocab: 7}\n",
                 "missing required parameter 'dim'");
    expect_error("name: a\ninput: {shape: [4]}\nlayers:\n  - {op: lstm, units: 3}\n",
                 "lstm 'lstm0': expects a sequence [batch, time, features], got [2,4]");
    expect_error("name: a\ninput: {shape: [4]}\nlayers:\n"
                 "  - {op: pool_sequence, mode: last}\n",
                 "expects a sequence [batch, time, units], got [2,4]");
}

static void test_parse(void **s)
{
    (void)s;
    model m;
    qsdc_error err = {""};
    assert_int_equal(model_load_string("<t>", stacked, strlen(stacked), &m, &err), 0);
    assert_int_equal(m.dtype, DTYPE_INT32);
    assert_int_equal(m.layers[0].vocab, 7);
    assert_int_equal(m.layers[0].units, 4);
    assert_int_equal(m.layers[1].seq, SEQ_ALL);
    assert_int_equal(m.layers[2].seq, SEQ_LAST);
    model_free(&m);
    const char bad[] = "name: a\ninput: {shape: [4], dtype: int64}\nlayers: [relu]\n";
    assert_int_equal(model_load_string("<t>", bad, strlen(bad), &m, &err), -1);
    assert_non_null(strstr(err.message, "<t>:2:"));
    const char big[] = "name: a\ninput: {shape: [4], dtype: int32}\n"
                       "layers: [{op: embedding, vocab: 16777217, dim: 2}]\n";
    assert_int_equal(model_load_string("<t>", big, strlen(big), &m, &err), -1);
    assert_non_null(strstr(err.message, "vocab"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_shape_errors),
        cmocka_unit_test(test_lm_gradients),
        cmocka_unit_test(test_stacked_gradients),
        cmocka_unit_test(test_pooled_gradients),
        cmocka_unit_test(test_masks_shared_over_time),
        cmocka_unit_test(test_inference),
        cmocka_unit_test(test_lm_step),
        cmocka_unit_test(test_stacked_step),
        cmocka_unit_test(test_pooled_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
