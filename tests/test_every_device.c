/* Every op's forward and backward on the device under test
 * (QSDC_TEST_DEVICE) against the C reference, in the spirit of ggml's
 * test-backend-ops: three small models that between them hold every op
 * kind the compiler emits, each a whole training step checked tensor by
 * tensor and an inference pass; and a fourth shaped for a GPU, whose
 * products split along K. The graph suites check each op in far more
 * shapes on the default device; this is the set small enough for slow
 * compilers (rusticl on llvmpipe takes a minute or more a graph). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "graph_check.h"

#define TOL 1e-4

/* dense, relu, tanh, sigmoid, add, softmax, QSD (element, heterogeneous;
 * hetero: unit with annealing in a GEMM's epilogue), dropout, Nesterov SGD
 * with weight decay, clipping */
static const char dense_ops[] =
    "name: dense_ops\ninput: {shape: [2, 3, 3]}\n"
    "nodes:\n"
    "  - {name: f, op: flatten, inputs: input}\n"
    "  - {name: a, op: dense, inputs: f, units: 12}\n"
    "  - {name: ar, op: relu, inputs: a}\n"
    "  - {name: q, op: qsd, inputs: ar, p: 0.5, sites: 4, q_cv: 0.5, p_concentration: 4}\n"
    "  - {name: b, op: dense, inputs: q, units: 12}\n"
    "  - {name: bt, op: tanh, inputs: b}\n"
    "  - {name: d, op: dropout, inputs: bt, p: 0.7}\n"
    "  - {name: s, op: add, inputs: [d, ar]}\n"
    "  - {name: c, op: dense, inputs: s, units: 6}\n"
    "  - {name: cs, op: sigmoid, inputs: c}\n"
    "  - {name: h, op: qsd, inputs: cs, p: 0.8, sites: 1, q_cv: 0.3, p_concentration: 2,"
    " hetero: unit, anneal: 0.5}\n"
    "  - {name: o, op: dense, inputs: h, units: 5}\n"
    "  - {name: p, op: softmax, inputs: o}\n"
    "train: {optimizer: {type: sgd, lr: 0.1, momentum: 0.9, nesterov: true,"
    " weight_decay: 0.01}, clip_norm: 0.5}\n";

/* conv2d (padded; the first without a bias, whose gradient before a batch
 * norm is rounding noise, the second with one: a per-channel sum), batch
 * norm, max and average pooling, QSD (hetero: unit) and dropout shared per
 * channel, QSD per element with hetero: unit (a unit per channel), Adam */
static const char conv_ops[] =
    "name: conv_ops\ninput: {shape: [2, 7, 7]}\n"
    "layers:\n"
    "  - {op: conv2d, filters: 3, kernel: 3, padding: same, bias: false}\n"
    "  - batchnorm\n  - relu\n"
    "  - {op: maxpool, kernel: 2}\n"
    "  - {op: qsd, p: 0.6, sites: 3, q_cv: 0.4, p_concentration: 3, share: channel,"
    " hetero: unit}\n"
    "  - {op: conv2d, filters: 2, kernel: 2, stride: 1}\n"
    "  - {op: dropout, p: 0.8, share: channel}\n"
    "  - {op: avgpool, kernel: 2}\n"
    "  - {op: qsd, p: 0.5, sites: 2, q_cv: 0.5, hetero: unit}\n"
    "  - flatten\n  - {op: dense, units: 3}\n"
    "train: {optimizer: {type: adam, eps: 0.001}}\n";

/* embedding, stateful stacked lstm, QSD and dropout shared over time, QSD
 * per element with hetero: unit, sequence pooling */
static const char sequence_ops[] =
    "name: sequence_ops\ninput: {shape: [4], dtype: int32}\n"
    "layers:\n  - {op: embedding, vocab: 7, dim: 5}\n"
    "  - {op: qsd, p: 0.7, sites: 4, q_cv: 0.5, share: time}\n"
    "  - {op: lstm, units: 4, stateful: true}\n"
    "  - {op: dropout, p: 0.5, share: time}\n"
    "  - {op: lstm, units: 3}\n"
    "  - {op: qsd, p: 0.6, sites: 2, q_cv: 0.4, hetero: unit}\n"
    "  - {op: pool_sequence, mode: mean}\n"
    "  - {op: dense, units: 3}\n"
    "train: {optimizer: {type: sgd, lr: 0.3, momentum: 0.9}}\n";

/* dense layers whose products, on a GPU, have too few work-groups: at
 * batch 32 every K but the 10 classes' is a whole number of chunks of 16 */
static const char split_ops[] =
    "name: split_ops\ninput: {shape: [64]}\n"
    "layers:\n  - {op: dense, units: 32}\n  - relu\n"
    "  - {op: qsd, p: 0.5, sites: 4, q_cv: 0.5, p_concentration: 4}\n"
    "  - {op: dense, units: 48}\n  - tanh\n  - {op: dropout, p: 0.7}\n"
    "  - {op: dense, units: 10}\n"
    "train: {optimizer: {type: sgd, lr: 0.1}}\n";

static void test_dense_ops(void **s)
{
    (void)s;
    gc_check_step(dense_ops, 5, TOL);
    gc_check_inference(dense_ops, 5, TOL);
}

static void test_conv_ops(void **s)
{
    (void)s;
    gc_check_step(conv_ops, 3, TOL);
    gc_check_inference(conv_ops, 3, TOL);
}

static void test_sequence_ops(void **s)
{
    (void)s;
    gc_check_step(sequence_ops, 3, TOL);
}

/* On a GPU of 64 compute units the products of split_ops run split into
 * chunks of K, their partial sums added by a second kernel that runs the
 * epilogue: the forward's three (NN, with bias, relu and a QSD mask, or
 * tanh and a dropout mask), the weight gradients (TN) and the first
 * layer's input gradient (NT, through the masks and relu); the second
 * layer's input gradient (K = 10) only where the tiles' depth is at most
 * 5 (two chunks of 5; QSDC_GEMM=direct's depth 4). */
static void test_split_products(void **s)
{
    (void)s;
    gc_set_gpu_units(64);
    gc_run r;
    gc_setup(&r, split_ops, 32, MODE_TRAIN);
    int sums = 0;
    for (int i = 0; i < r.p.n_launches; i++) {
        const char *k = r.p.launches[i].kernel;
        sums += strlen(k) > 4 && !strcmp(k + strlen(k) - 4, "_sum");
    }
    int64_t depth = r.p.target_gemm_tiles[4];
    gc_free(&r);
    assert_int_equal(sums, depth <= 5 ? 8 : 7);
    gc_check_step(split_ops, 32, TOL);
}

static int cpu_units(void **s)
{
    (void)s;
    gc_set_gpu_units(0);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_ops),
        cmocka_unit_test(test_conv_ops),
        cmocka_unit_test(test_sequence_ops),
        cmocka_unit_test_teardown(test_split_products, cpu_units),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
