/* Training graphs on the device against the C reference interpreter: every
 * fused kernel of a training step (forward, loss, backward, update), and the
 * reference's gradients against finite differences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "graph_check.h"

/* float32 kernels against the double-accumulating reference, errors scaled
 * by the largest reference magnitude of each tensor: sums here run over at
 * most 64 terms, so |error| <= 64 * 2^-24 * sum|terms| ~ 4e-6; 1e-4 leaves
 * room for exp/log/tanh and QSD gamma-draw ulp differences (device vs host)
 * carried through two steps. Adam models use eps 1e-3 so that the update is
 * Lipschitz in the gradient (constant lr/eps) rather than a sign function of
 * near-zero gradients, which would turn ulp differences into lr-sized ones. */
#define TOL 1e-4

/* Central differences of the reference loss against the reference backward:
 * loss is smooth away from ReLU kinks, truncation error O(h^2) ~ 1e-6 and
 * float rounding ~ 2^-24 |loss| / h ~ 1e-4 with h = 1e-3; 2e-2 relative (plus
 * 2e-4 absolute) bounds both. */
static void check_gradients(const char *yaml, int64_t batch)
{
    gc_check_gradients(yaml, batch, 1e-3, 2e-2, 2e-4, 40);
}

static void check_step_against_reference(const char *yaml, int64_t batch)
{
    gc_check_step(yaml, batch, TOL);
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

/* A skip connection around an activation: the backward product into bt
 * feeds tanh's derivative in its epilogue and the sum into ar's gradient
 * elsewhere, so the product itself must be stored too (it was not: ar's
 * gradient read the forward sum left in that memory). */
static const char skip_around_tanh[] =
    "name: skip\ninput: {shape: [18]}\n"
    "nodes:\n"
    "  - {name: a, op: dense, inputs: input, units: 12}\n"
    "  - {name: ar, op: relu, inputs: a}\n"
    "  - {name: b, op: dense, inputs: ar, units: 12}\n"
    "  - {name: bt, op: tanh, inputs: b}\n"
    "  - {name: s, op: add, inputs: [bt, ar]}\n"
    "  - {name: o, op: dense, inputs: s, units: 5}\n"
    "train: {optimizer: {type: sgd, lr: 0.1}}\n";

/* Rows and columns wider than the lane family's work-group of 64
 * (codegen_reduce.c): its work-items stride along the 80 logits, the 70
 * bias-gradient columns take three blocks, the last ragged, and each clip
 * norm part runs more than one pass. */
static const char wide_rows[] =
    "name: wide\ninput: {shape: [7]}\n"
    "layers:\n  - {op: dense, units: 70}\n  - relu\n  - {op: dense, units: 80}\n  - softmax\n"
    "train: {optimizer: {type: sgd, lr: 0.1, momentum: 0.9}, clip_norm: 0.5}\n";

static void test_wide_rows_step(void **s) { (void)s; check_step_against_reference(wide_rows, 5); }
static void test_skip_around_tanh_step(void **s) { (void)s; check_step_against_reference(skip_around_tanh, 5); }
static void test_mlp_qsd_step(void **s) { (void)s; check_step_against_reference(mlp_qsd, 8); }
static void test_tanh_dropout_mse_step(void **s) { (void)s; check_step_against_reference(tanh_dropout_mse, 6); }
static void test_residual_step(void **s) { (void)s; check_step_against_reference(residual_dag, 5); }
static void test_inner_softmax_step(void **s) { (void)s; check_step_against_reference(inner_softmax, 4); }
static void test_inference(void **s)
{
    (void)s;
    const char *models[] = {mlp_qsd, tanh_dropout_mse, residual_dag, inner_softmax};
    for (int i = 0; i < 4; i++)
        gc_check_inference(models[i], 5, TOL);
}
/* Steps and inference with CLBlast doing every GEMM (the fused
 * epilogues run as separate in-place kernels), and with the device's
 * measured choice of backend. */
static void test_backends(void **s)
{
    (void)s;
    const char *models[] = {mlp_qsd, residual_dag, skip_around_tanh};
    const int64_t batches[] = {8, 5, 5};
    gc_check_backends(models, batches, 3, TOL);
}

/* Chains longer than any fixed bound: 40 elementwise layers on the input
 * (one elementwise kernel), then a dense layer with 40 more in its GEMM's
 * epilogue (one kernel), both against the reference. */
static char *long_chain_model(void)
{
    static char yaml[4096];
    int len = snprintf(yaml, sizeof yaml, "name: chain\ninput: {shape: [6]}\nlayers:\n");
    for (int block = 0; block < 2; block++) {
        for (int i = 0; i < 20; i++)
            len += snprintf(yaml + len, sizeof yaml - (size_t)len, "  - tanh\n  - sigmoid\n");
        len += snprintf(yaml + len, sizeof yaml - (size_t)len, "  - {op: dense, units: %d}\n",
                        block ? 3 : 5);
    }
    snprintf(yaml + len, sizeof yaml - (size_t)len,
             "train: {optimizer: {type: sgd, lr: 0.1, momentum: 0.9}}\n");
    return yaml;
}

static void test_long_chains(void **s)
{
    (void)s;
    const char *yaml = long_chain_model();
    gc_run r;
    gc_setup(&r, yaml, 4, MODE_INFER);
    assert_int_equal(r.f.n_groups, 3);
    assert_int_equal(r.f.groups[0].kind, GROUP_ELEMENTWISE);
    assert_int_equal(r.f.groups[0].n, 40);
    assert_int_equal(r.f.groups[1].kind, GROUP_GEMM);
    assert_int_equal(r.f.groups[1].n, 42); /* matmul, bias, 40 activations */
    gc_free(&r);
    gc_check_inference(yaml, 4, TOL);
    check_step_against_reference(yaml, 4);
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
        cmocka_unit_test(test_wide_rows_step),
        cmocka_unit_test(test_residual_step),
        cmocka_unit_test(test_skip_around_tanh_step),
        cmocka_unit_test(test_inner_softmax_step),
        cmocka_unit_test_teardown(test_backends, gc_backend_reset),
        cmocka_unit_test(test_long_chains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
