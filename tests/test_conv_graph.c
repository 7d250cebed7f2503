/* conv2d, pooling and batchnorm graphs on the device against the C reference
 * (tests/ref_conv.c) step by step, the reference's gradients against finite
 * differences, and the parameter layout of batchnorm's running statistics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "compile.h"
#include "cl_fixture.h"
#include "graph_check.h"

/* As in test_train_graph: float32 kernels against the double-accumulating
 * reference, errors relative to each tensor's largest magnitude. The longest
 * sums here are the weight gradients of the first conv, 4 samples x 36
 * pixels = 144 products, so |error| <= 144 * 2^-24 * sum|terms| ~ 1e-5;
 * 1e-4 leaves room for rsqrt/tanh/exp ulps carried through two steps. */
#define TOL 1e-4

/* 3x3 same conv, QSD shared per channel, overlapping max pool with
 * padding, a rectangular strided dilated conv with asymmetric padding, an
 * average pool with padding. */
static const char conv_pool_qsd[] =
    "name: cp\ninput: {shape: [2, 6, 6]}\n"
    "layers:\n"
    "  - {op: conv2d, filters: 3, kernel: 3, padding: same}\n"
    "  - relu\n"
    "  - {op: qsd, p: 0.5, sites: 4, q_cv: 0.5, share: channel}\n"
    "  - {op: maxpool, kernel: 3, stride: 2, padding: 1}\n"
    "  - {op: conv2d, filters: 4, kernel: [2, 3], stride: [1, 2], padding: [1, 0],"
    " dilation: [2, 1]}\n"
    "  - tanh\n"
    "  - {op: avgpool, kernel: [2, 1], stride: 1, padding: [1, 0]}\n"
    "  - flatten\n"
    "  - {op: dense, units: 5}\n"
    "train: {optimizer: {type: sgd, lr: 0.1, momentum: 0.9, nesterov: true}}\n";

/* batchnorm on a conv map and on dense features, channel dropout, a 1x1
 * conv (the input read as its col matrix), global average pooling; AdamW's
 * weight decay must leave the running statistics alone. No layer before a
 * batchnorm has a bias: its gradient is zero but for rounding noise, which
 * Adam would turn into lr-sized updates of either sign. */
static const char conv_bn_dropout[] =
    "name: cb\ninput: {shape: [2, 5, 5]}\n"
    "layers:\n"
    "  - {op: conv2d, filters: 4, kernel: 3, bias: false}\n"
    "  - batchnorm\n"
    "  - relu\n"
    "  - {op: dropout, p: 0.7, share: channel}\n"
    "  - {op: conv2d, filters: 3, kernel: 1}\n"
    "  - relu\n"
    "  - global_avgpool\n"
    "  - {op: dense, units: 6, bias: false}\n"
    "  - {op: batchnorm, momentum: 0.3, eps: 0.001}\n"
    "  - tanh\n"
    "  - {op: dense, units: 3}\n"
    "  - softmax\n"
    "train: {optimizer: {type: adamw, lr: 0.01, weight_decay: 0.1, eps: 0.001}}\n";

/* A 1x1 conv straight on the input, then a pool whose windows tile it with
 * padding above and a column left over on the right. */
static const char pointwise_first[] =
    "name: pw\ninput: {shape: [3, 5, 5]}\n"
    "layers:\n"
    "  - {op: conv2d, filters: 2, kernel: 1}\n"
    "  - relu\n"
    "  - {op: maxpool, kernel: 2, padding: [1, 0]}\n"
    "  - flatten\n"
    "  - {op: dense, units: 3}\n"
    "train: {optimizer: {type: sgd, lr: 0.05, momentum: 0}}\n";

/* Maps wide enough for the 8-wide vector chunks of im2col/col2im (with
 * padding at both ends) and 2x2 pools (with a column and a row left over),
 * and scalar tails after them, and a batchnorm over 51 pixels a channel
 * (the channel sums' 16- and 8-wide loops and their tails): checked against
 * the reference only, as with this many max-pool windows some pair of
 * candidates lies closer than the finite-difference step (the reference's
 * backward does not depend on the width, and the smaller models check it
 * against finite differences). The conv before the batchnorm has no bias,
 * as in conv_bn_dropout. */
static const char wide_maps[] =
    "name: wm\ninput: {shape: [2, 6, 34]}\n"
    "layers:\n"
    "  - {op: conv2d, filters: 3, kernel: 3, padding: same}\n"
    "  - relu\n"
    "  - {op: maxpool, kernel: 2}\n"
    "  - {op: dropout, p: 0.8, share: channel}\n"
    "  - {op: conv2d, filters: 2, kernel: [2, 1], dilation: [2, 1], padding: [1, 0],"
    " bias: false}\n"
    "  - batchnorm\n"
    "  - {op: avgpool, kernel: 2}\n"
    "  - flatten\n"
    "  - {op: dense, units: 3}\n"
    "train: {optimizer: {type: sgd, lr: 0.1, momentum: 0.9}}\n";

static void test_wide_maps_step(void **s) { (void)s; gc_check_step(wide_maps, 3, TOL); }

/* 2x2 pools with rows of 4 to 7 outputs (4-wide chunks, the second
 * overlapping the first): a max pool with its argmax and a shared QSD
 * scale, an average pool on the input. */
static const char short_rows_max[] =
    "name: sm\ninput: {shape: [2, 4, 12]}\n"
    "layers:\n"
    "  - {op: conv2d, filters: 3, kernel: 3, padding: same}\n"
    "  - relu\n"
    "  - {op: maxpool, kernel: 2}\n"
    "  - {op: qsd, p: 0.5, sites: 4, q_cv: 0.5, share: channel}\n"
    "  - flatten\n"
    "  - {op: dense, units: 3}\n"
    "train: {optimizer: {type: sgd, lr: 0.1, momentum: 0.9}}\n";

static const char short_rows_avg[] =
    "name: sa\ninput: {shape: [2, 6, 10]}\n"
    "layers:\n"
    "  - {op: avgpool, kernel: 2}\n"
    "  - {op: conv2d, filters: 2, kernel: 3, padding: same}\n"
    "  - tanh\n"
    "  - flatten\n"
    "  - {op: dense, units: 3}\n"
    "train: {optimizer: {type: sgd, lr: 0.1, momentum: 0.9}}\n";

static void test_short_rows_step(void **s)
{
    (void)s;
    gc_check_step(short_rows_max, 3, TOL);
    gc_check_step(short_rows_avg, 3, TOL);
}

/* Wide rows with stride 2 (the direct kernel's gathered vectors) and 8
 * output channels (its widest channel block). */
static const char wide_strided[] =
    "name: ws\ninput: {shape: [2, 5, 21]}\n"
    "layers:\n"
    "  - {op: conv2d, filters: 8, kernel: 3, stride: 2, padding: 1}\n"
    "  - relu\n"
    "  - flatten\n"
    "  - {op: dense, units: 3}\n"
    "train: {optimizer: {type: sgd, lr: 0.1, momentum: 0.9}}\n";

static void test_wide_strided_step(void **s) { (void)s; gc_check_step(wide_strided, 3, TOL); }

/* QSD shared over the time steps of a sequence [batch, time, units], after
 * a batchnorm whose channel is the time step. */
static const char time_shared[] =
    "name: ts\ninput: {shape: [3, 4]}\n"
    "layers:\n"
    "  - batchnorm\n"
    "  - {op: qsd, p: 0.6, sites: 3, q_cv: 0.4, p_concentration: 2, share: time}\n"
    "  - flatten\n"
    "  - {op: dense, units: 4}\n"
    "train: {optimizer: {type: sgd, lr: 0.1}}\n";

static void test_time_shared_step(void **s) { (void)s; gc_check_step(time_shared, 3, TOL); }
static void test_time_shared_gradients(void **s) { (void)s; gc_check_gradients(time_shared, 3, 1e-3, 2e-2, 2e-4, 40); }
static void test_conv_pool_qsd_step(void **s) { (void)s; gc_check_step(conv_pool_qsd, 4, TOL); }
static void test_conv_bn_dropout_step(void **s) { (void)s; gc_check_step(conv_bn_dropout, 4, TOL); }
static void test_pointwise_first_step(void **s) { (void)s; gc_check_step(pointwise_first, 3, TOL); }

static void test_inference(void **s)
{
    (void)s;
    const char *models[] = {conv_pool_qsd, conv_bn_dropout, pointwise_first, wide_maps};
    for (int i = 0; i < 4; i++)
        gc_check_inference(models[i], 3, TOL);
}

/* CLBlast doing every GEMM, and the device's measured choices of GEMM
 * backend and conv2d form. */
static void test_backends(void **s)
{
    (void)s;
    const char *models[] = {conv_pool_qsd, conv_bn_dropout};
    const int64_t batches[] = {4, 4};
    gc_check_backends(models, batches, 2, TOL);
}

/* Bounds as in test_train_graph (h = 1e-3: truncation O(h^2), rounding
 * 2^-24 |loss| / h); max pooling is piecewise linear like ReLU. */
static void test_conv_pool_qsd_gradients(void **s) { (void)s; gc_check_gradients(conv_pool_qsd, 4, 1e-3, 2e-2, 2e-4, 40); }
static void test_conv_bn_dropout_gradients(void **s) { (void)s; gc_check_gradients(conv_bn_dropout, 4, 1e-3, 2e-2, 2e-4, 40); }
static void test_pointwise_first_gradients(void **s) { (void)s; gc_check_gradients(pointwise_first, 3, 1e-3, 2e-2, 2e-4, 40); }

/* The same models with every conv2d layer a direct convolution (the
 * im2col recomputed in the backward): steps, inference and gradients. */
static int direct_on(void **s) { (void)s; gc_set_direct_conv(true); return 0; }
static int direct_off(void **s) { (void)s; gc_set_direct_conv(false); return 0; }

/* Each conv2d layer but the 1x1 one (already a plain GEMM on its input) is
 * one direct-convolution kernel, and the forward keeps no im2col. */
static void test_direct_plan(void **s)
{
    (void)s;
    const char *models[] = {conv_pool_qsd, conv_bn_dropout, pointwise_first};
    const int convs[] = {2, 1, 0};
    for (int i = 0; i < 3; i++) {
        gc_run r;
        gc_setup(&r, models[i], 2, MODE_TRAIN);
        int direct = 0, forward_im2col = 0;
        for (int j = 0; j < r.g.nn; j++) {
            direct += r.g.n[j].op == OP_CONV2D;
            forward_im2col += r.g.n[j].op == OP_IM2COL && j < r.g.n_forward;
        }
        assert_int_equal(direct, convs[i]);
        assert_int_equal(forward_im2col, 0);
        gc_free(&r);
    }
}

/* Launches of plan p whose nodes are exactly `nodes` or begin with it and
 * a '+'. */
static int launches_of(const plan *p, const char *nodes)
{
    int n = 0;
    size_t len = strlen(nodes);
    for (int i = 0; i < p->n_launches; i++) {
        const char *s = p->launches[i].nodes;
        n += strncmp(s, nodes, len) == 0 && (s[len] == '\0' || s[len] == '+');
    }
    return n;
}

/* From batch 2 each im2col runs inside its GEMM's kernel and the input
 * gradient's col2im inside its GEMM's (conv_pool_qsd: two convs, only the
 * second's input needs a gradient); a batch of 1 keeps them apart, and so
 * does a device that cuts long loops short (loop_guard.h), where a joined
 * kernel's loops would run past its limit. */
static void test_joined_conv_kernels(void **s)
{
    (void)s;
    gc_run r;
    bool join = tf_env()->dev.loop_limit == 0;
    gc_setup(&r, conv_pool_qsd, 2, MODE_TRAIN);
    assert_int_equal(launches_of(&r.p, "im2col+bmatmul"), join ? 2 : 0);
    assert_int_equal(launches_of(&r.p, "bmatmul+col2im"), join ? 1 : 0);
    assert_int_equal(launches_of(&r.p, "im2col"), 2); /* the joined ones: none alone */
    assert_int_equal(launches_of(&r.p, "col2im"), join ? 0 : 1);
    gc_free(&r);
    gc_setup(&r, conv_pool_qsd, 1, MODE_TRAIN);
    assert_int_equal(launches_of(&r.p, "im2col+bmatmul"), 0);
    assert_int_equal(launches_of(&r.p, "bmatmul+col2im"), 0);
    assert_int_equal(launches_of(&r.p, "im2col"), 2);
    assert_int_equal(launches_of(&r.p, "col2im"), 1);
    gc_free(&r);
}

/* The running statistics sit after every trainable parameter, outside the
 * optimiser's range and its state, and the inference plan lays out the
 * parameter allocation identically. */
static void test_running_stats_layout(void **s)
{
    (void)s;
    model m;
    qsdc_error err = {""};
    if (model_load_string("<test>", conv_bn_dropout, strlen(conv_bn_dropout), &m, &err) < 0)
        fail_msg("%s", err.message);
    codegen_target t;
    codegen_target_default(&t);
    plan train, infer;
    if (compile_plan(&m, MODE_TRAIN, 4, &t, &train, NULL, NULL, &err) < 0 ||
        compile_plan(&m, MODE_INFER, 4, &t, &infer, NULL, NULL, &err) < 0)
        fail_msg("%s", err.message);
    assert_true(train.grad_elems < train.param_elems);
    assert_int_equal(train.state_elems, 2 * train.grad_elems);
    assert_int_equal(infer.param_elems, train.param_elems);
    int running = 0;
    for (int i = 0; i < train.n_tensors; i++) {
        const plan_tensor *pt = &train.tensors[i];
        if (pt->buffer != BUF_P)
            continue;
        bool is_running = strstr(pt->name, ".running") != NULL;
        running += is_running;
        if (is_running)
            assert_true(pt->offset >= train.grad_elems);
        else
            assert_true(pt->offset + pt->nelem <= train.grad_elems);
        int j = plan_find_tensor(&infer, pt->name);
        assert_true(j >= 0);
        assert_int_equal(infer.tensors[j].offset, pt->offset);
    }
    assert_int_equal(running, 2);
    plan_free(&train);
    plan_free(&infer);
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_running_stats_layout),
        cmocka_unit_test(test_inference),
        cmocka_unit_test(test_conv_pool_qsd_gradients),
        cmocka_unit_test(test_conv_bn_dropout_gradients),
        cmocka_unit_test(test_pointwise_first_gradients),
        cmocka_unit_test(test_time_shared_gradients),
        cmocka_unit_test(test_conv_pool_qsd_step),
        cmocka_unit_test(test_conv_bn_dropout_step),
        cmocka_unit_test(test_pointwise_first_step),
        cmocka_unit_test(test_time_shared_step),
        cmocka_unit_test(test_wide_maps_step),
        cmocka_unit_test(test_wide_strided_step),
        cmocka_unit_test(test_short_rows_step),
        cmocka_unit_test(test_joined_conv_kernels),
        cmocka_unit_test_teardown(test_backends, gc_backend_reset),
        cmocka_unit_test_setup_teardown(test_direct_plan, direct_on, direct_off),
        cmocka_unit_test_setup_teardown(test_inference, direct_on, direct_off),
        cmocka_unit_test_setup_teardown(test_conv_pool_qsd_gradients, direct_on, direct_off),
        cmocka_unit_test_setup_teardown(test_conv_bn_dropout_gradients, direct_on, direct_off),
        cmocka_unit_test_setup_teardown(test_conv_pool_qsd_step, direct_on, direct_off),
        cmocka_unit_test_setup_teardown(test_conv_bn_dropout_step, direct_on, direct_off),
        cmocka_unit_test_setup_teardown(test_wide_maps_step, direct_on, direct_off),
        cmocka_unit_test_setup_teardown(test_wide_strided_step, direct_on, direct_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
