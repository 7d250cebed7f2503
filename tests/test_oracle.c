/* qsdc's forward pass against an independent oracle (oracle.c): small dense,
 * conv + pool, batch-norm and lstm models, each computed in this file from
 * its parameters by docs/model-format.md's semantics, layer by layer as the
 * model file lists them. Only the plan's tensor list (which parameter lives
 * where in the single allocation) comes from the compiler. The inference
 * plan runs on the device; `qsdc infer` runs on a trained checkpoint.
 * Training: the first layer's weights move in a step, and a QSD mask is
 * not the identity; inference plans hold no QSD or dropout node. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "checkpoint.h"
#include "cl_fixture.h"
#include "cli_fixture.h"
#include "graph_check.h"
#include "oracle.h"
#include "support.h"

/* float32 kernels against the double oracle, relative to the output's
 * largest magnitude: the longest sums have 48 terms and the lstm carries
 * rounding over 5 steps, each ~1e-7 relative; 1e-4 leaves a wide margin
 * yet catches a missing bias, a transposed weight or a skipped step. */
#define TOL 1e-4

/* The parameter tensor called name in r's plan (fails when absent). */
static const float *param(const gc_run *r, const float *params, const char *name)
{
    int i = plan_find_tensor(&r->p, name);
    if (i < 0 || r->p.tensors[i].buffer != BUF_P)
        fail_msg("the plan has no parameter %s", name);
    return params + r->p.tensors[i].offset;
}

/* Layer name's lstm over x [n, t, f] with its parameters in params. */
static void lstm_layer(const gc_run *r, const char *name, const double *x, const bool *real,
                       int64_t n, int64_t t, int64_t f, int64_t units, double *y)
{
    char w[80], u[80], b[80];
    snprintf(w, sizeof w, "%s.weight", name);
    snprintf(u, sizeof u, "%s.recurrent", name);
    snprintf(b, sizeof b, "%s.bias", name);
    or_lstm(x, real, n, t, f, param(r, r->params, w), param(r, r->params, u),
            param(r, r->params, b), units, y);
}

/* Every parameter uniform in [-0.6, 0.6), running variances in [0.3, 2). */
static void seed_params(gc_run *r)
{
    ts_fill_uniform(r->params, (size_t)r->p.param_elems, 5, -0.6f, 0.6f);
    for (int i = 0; i < r->p.n_tensors; i++) {
        const plan_tensor *t = &r->p.tensors[i];
        if (t->buffer == BUF_P && t->init == INIT_BN_RUNNING)
            ts_fill_uniform(r->params + t->offset + t->dims[1], (size_t)t->dims[1],
                            (uint32_t)i, 0.3f, 2.0f);
    }
}

/* A test's arrays, freed together by free_scratch(). */
static double *scratch[16];
static int n_scratch;

static double *zeros(int64_t n)
{
    assert_true(n_scratch < 16);
    double *d = calloc((size_t)n, sizeof *d);
    assert_non_null(d);
    return scratch[n_scratch++] = d;
}

static double *doubles(const float *x, int64_t n)
{
    double *d = zeros(n);
    for (int64_t i = 0; i < n; i++)
        d[i] = x[i];
    return d;
}

/* teardown, also after a failed test */
static int free_scratch(void **s)
{
    (void)s;
    while (n_scratch > 0)
        free(scratch[--n_scratch]);
    return 0;
}

/* The inference plan's output on the device against want. */
static void expect_output(gc_run *r, const double *want)
{
    gc_device d;
    gc_device_open(&d, r);
    gc_device_run(&d, r, r->input, 0.0f);
    float *out = gc_device_read(&d, r->p.output_offset, r->p.output_elems);
    gc_device_close(&d);
    double worst = 0, scale = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < r->p.output_elems; i++)
        scale = fmax(scale, fabs(want[i]));
    for (int64_t i = 0; i < r->p.output_elems; i++) {
        double e = fabs(out[i] - want[i]) / scale;
        if (e > worst) {
            worst = e;
            at = i;
        }
    }
    printf("  %s: %lld outputs, max rel err %.2e\n", r->m.name,
           (long long)r->p.output_elems, worst);
    if (!(worst <= TOL))
        fail_msg("%s output %lld: device %.8g, oracle %.8g", r->m.name, (long long)at,
                 out[at], want[at]);
    free(out);
}

static const char mlp[] =
    "name: mlp\ninput: {shape: [1, 4, 5]}\n"
    "layers:\n  - flatten\n  - {op: dense, units: 7}\n  - relu\n"
    "  - {op: qsd, p: 0.5, sites: 4, q_cv: 0.5}\n"
    "  - {op: dense, units: 6, bias: false}\n  - tanh\n  - {op: dropout, p: 0.5}\n"
    "  - {op: dense, units: 3, name: logits}\n  - softmax\n";

static void test_mlp(void **s)
{
    (void)s;
    const int64_t B = 3;
    gc_run r;
    gc_setup(&r, mlp, B, MODE_INFER);
    seed_params(&r);
    assert_int_equal(plan_find_tensor(&r.p, "dense4.bias"), -1);
    double *x = doubles(r.input, B * 20), *h1 = zeros(B * 7), *h2 = zeros(B * 6);
    double *y = zeros(B * 3);
    or_dense(x, B, 20, param(&r, r.params, "dense1.weight"),
             param(&r, r.params, "dense1.bias"), 7, h1);
    or_relu(h1, B * 7);
    or_dense(h1, B, 7, param(&r, r.params, "dense4.weight"), NULL, 6, h2);
    or_tanh(h2, B * 6);
    or_dense(h2, B, 6, param(&r, r.params, "logits.weight"),
             param(&r, r.params, "logits.bias"), 3, y);
    or_softmax(y, B, 3);
    expect_output(&r, y);
    gc_free(&r);
}

static const char cnn[] =
    "name: cnn\ninput: {shape: [2, 7, 7]}\n"
    "layers:\n  - {op: conv2d, filters: 3, kernel: 3, padding: same}\n  - relu\n"
    "  - {op: maxpool, kernel: 2}\n"
    "  - {op: qsd, p: 0.75, sites: 4, q_cv: 0.3, share: channel}\n"
    "  - {op: conv2d, filters: 4, kernel: [2, 3], stride: [1, 2], padding: [1, 1],"
    " dilation: [2, 1], bias: false}\n"
    "  - sigmoid\n  - {op: avgpool, kernel: 2, stride: 1, padding: 1}\n"
    "  - flatten\n  - {op: dense, units: 3}\n  - softmax\n";

static void check_cnn(void)
{
    const int64_t B = 2;
    gc_run r;
    gc_setup(&r, cnn, B, MODE_INFER);
    seed_params(&r);
    or_map m0 = {B, 2, 7, 7};
    double *x = doubles(r.input, B * 2 * 49), *c1 = zeros(B * 3 * 49), *p1 = zeros(B * 3 * 9);
    double *c2 = zeros(B * 4 * 9), *p2 = zeros(B * 4 * 16), *y = zeros(B * 3);
    or_map m1 = or_conv2d(x, m0, param(&r, r.params, "conv2d0.weight"),
                          param(&r, r.params, "conv2d0.bias"), 3,
                          (or_window){3, 3, 1, 1, 1, 1, 1, 1}, c1);
    or_relu(c1, B * 3 * 49);
    or_map m2 = or_pool(c1, m1, (or_window){2, 2, 2, 2, 0, 0, 1, 1}, true, p1);
    or_map m3 = or_conv2d(p1, m2, param(&r, r.params, "conv2d4.weight"), NULL, 4,
                          (or_window){2, 3, 1, 2, 1, 1, 2, 1}, c2);
    assert_true(m3.h == 3 && m3.w == 2);
    or_sigmoid(c2, B * 4 * 6);
    or_map m4 = or_pool(c2, m3, (or_window){2, 2, 1, 1, 1, 1, 1, 1}, false, p2);
    int64_t flat = m4.c * m4.h * m4.w;
    assert_int_equal(flat, 48);
    or_dense(p2, B, flat, param(&r, r.params, "dense8.weight"),
             param(&r, r.params, "dense8.bias"), 3, y);
    or_softmax(y, B, 3);
    expect_output(&r, y);
    gc_free(&r);
}

/* both conv2d forms: im2col + GEMM, and direct */
static void test_cnn(void **s)
{
    (void)s;
    check_cnn();
    gc_set_direct_conv(true);
    check_cnn();
    gc_set_direct_conv(false);
}

/* teardown: the graph checks' defaults, also after a failed test */
static int gc_defaults(void **s)
{
    gc_set_direct_conv(false);
    gc_set_observe_all(false);
    return free_scratch(s);
}

static const char bn[] =
    "name: bn\ninput: {shape: [3, 5, 5]}\n"
    "layers:\n  - {op: conv2d, filters: 4, kernel: 3}\n  - {op: batchnorm, eps: 0.01}\n"
    "  - relu\n  - global_avgpool\n  - {op: dense, units: 5}\n  - batchnorm\n"
    "  - sigmoid\n  - {op: dense, units: 3}\n";

/* Inference normalises with the running statistics, here far from the
 * batch's own, so normalising by the batch would show. */
static void test_batchnorm(void **s)
{
    (void)s;
    const int64_t B = 4;
    gc_run r;
    gc_setup(&r, bn, B, MODE_INFER);
    seed_params(&r);
    or_map m0 = {B, 3, 5, 5};
    double *x = doubles(r.input, B * 75), *c = zeros(B * 4 * 9), *g = zeros(B * 4);
    double *h = zeros(B * 5), *y = zeros(B * 3);
    or_map m1 = or_conv2d(x, m0, param(&r, r.params, "conv2d0.weight"),
                          param(&r, r.params, "conv2d0.bias"), 4,
                          (or_window){3, 3, 1, 1, 0, 0, 1, 1}, c);
    or_batchnorm(c, B, 4, 9, param(&r, r.params, "batchnorm1.affine"),
                 param(&r, r.params, "batchnorm1.running"), 0.01);
    or_relu(c, B * 36);
    or_global_avgpool(c, m1, g);
    or_dense(g, B, 4, param(&r, r.params, "dense4.weight"),
             param(&r, r.params, "dense4.bias"), 5, h);
    or_batchnorm(h, B, 5, 1, param(&r, r.params, "batchnorm5.affine"),
                 param(&r, r.params, "batchnorm5.running"), 1e-5);
    or_sigmoid(h, B * 5);
    or_dense(h, B, 5, param(&r, r.params, "dense7.weight"),
             param(&r, r.params, "dense7.bias"), 3, y);
    expect_output(&r, y);
    gc_free(&r);
}

/* Token ids [B, T]: words, padding (-1) at the end of sample 1 and in front
 * of sample 2, and an id past the vocabulary in sample 0. */
#define SEQ_B 3
#define SEQ_T 5
static const float seq_ids[SEQ_B * SEQ_T] = {3, 0, 9, 6, 2,
                                             5, 1, 4, -1, -1,
                                             -1, -1, 2, 2, 6};

/* The inference plan of a token model at SEQ_B, seeded, on seq_ids; real
 * marks the steps that are not padding. */
static void setup_tokens(gc_run *r, const char *yaml, bool real[SEQ_B * SEQ_T])
{
    gc_setup(r, yaml, SEQ_B, MODE_INFER);
    seed_params(r);
    memcpy(r->input, seq_ids, sizeof seq_ids);
    for (int i = 0; i < SEQ_B * SEQ_T; i++)
        real[i] = seq_ids[i] >= 0;
}

static const char classifier[] =
    "name: classifier\ninput: {shape: [5], dtype: int32}\n"
    "layers:\n  - {op: embedding, vocab: 7, dim: 4}\n  - {op: lstm, units: 5}\n"
    "  - {op: qsd, p: 0.5, share: time}\n  - {op: dense, units: 4}\n  - tanh\n"
    "  - {op: lstm, units: 3, return: last}\n  - {op: dense, units: 3}\n";

static void test_lstm_classifier(void **s)
{
    (void)s;
    const int64_t B = SEQ_B, T = SEQ_T;
    gc_run r;
    bool real[SEQ_B * SEQ_T];
    setup_tokens(&r, classifier, real);
    double *e = zeros(B * T * 4), *h1 = zeros(B * T * 5), *d = zeros(B * T * 4);
    double *h2 = zeros(B * T * 3), *last = zeros(B * 3), *y = zeros(B * 3);
    or_embedding(seq_ids, B, T, param(&r, r.params, "embedding0.weight"), 7, 4, e);
    lstm_layer(&r, "lstm1", e, real, B, T, 4, 5, h1);
    or_dense(h1, B * T, 5, param(&r, r.params, "dense3.weight"),
             param(&r, r.params, "dense3.bias"), 4, d);
    or_tanh(d, B * T * 4);
    lstm_layer(&r, "lstm5", d, real, B, T, 4, 3, h2);
    or_pool_sequence(h2, real, B, T, 3, false, last);
    or_dense(last, B, 3, param(&r, r.params, "dense6.weight"),
             param(&r, r.params, "dense6.bias"), 3, y);
    expect_output(&r, y);
    gc_free(&r);
}

/* A language model's output: scores at every step. */
static const char lm[] =
    "name: lm\ninput: {shape: [5], dtype: int32}\n"
    "layers:\n  - {op: embedding, vocab: 9, dim: 3}\n  - {op: lstm, units: 4}\n"
    "  - {op: dropout, p: 0.5, share: time}\n  - {op: dense, units: 9}\n";

/* Float sequences, mean over the steps. */
static const char pooled[] =
    "name: pooled\ninput: {shape: [4, 3]}\n"
    "layers:\n  - {op: lstm, units: 5}\n  - {op: pool_sequence, mode: mean}\n"
    "  - {op: dense, units: 2}\n";

static void test_lstm_sequences(void **s)
{
    (void)s;
    const int64_t B = SEQ_B, T = SEQ_T;
    gc_run r;
    bool real[SEQ_B * SEQ_T];
    setup_tokens(&r, lm, real);
    double *e = zeros(B * T * 3), *h = zeros(B * T * 4), *y = zeros(B * T * 9);
    or_embedding(seq_ids, B, T, param(&r, r.params, "embedding0.weight"), 9, 3, e);
    lstm_layer(&r, "lstm1", e, real, B, T, 3, 4, h);
    or_dense(h, B * T, 4, param(&r, r.params, "dense3.weight"),
             param(&r, r.params, "dense3.bias"), 9, y);
    expect_output(&r, y);
    gc_free(&r);

    gc_setup(&r, pooled, 2, MODE_INFER);
    seed_params(&r);
    double *x = doubles(r.input, 2 * 4 * 3), *hs = zeros(2 * 4 * 5), *m = zeros(2 * 5);
    y = zeros(2 * 2);
    lstm_layer(&r, "lstm0", x, NULL, 2, 4, 3, 5, hs);
    or_pool_sequence(hs, NULL, 2, 4, 5, true, m);
    or_dense(m, 2, 5, param(&r, r.params, "dense2.weight"),
             param(&r, r.params, "dense2.bias"), 2, y);
    expect_output(&r, y);
    gc_free(&r);
}

/* How many launches of p run a node whose name holds what. */
static int launches_with(const plan *p, const char *what)
{
    int n = 0;
    for (int i = 0; i < p->n_launches; i++)
        n += strstr(p->launches[i].nodes, what) != NULL;
    return n;
}

/* Each model's training plan draws masks and scales by them; its inference
 * plan has neither and no mask tensor. */
static void test_inference_has_no_masks(void **s)
{
    (void)s;
    const char *models[] = {mlp, cnn, classifier, lm};
    for (int i = 0; i < 4; i++) {
        gc_run r;
        gc_setup(&r, models[i], 3, MODE_TRAIN);
        assert_true(launches_with(&r.p, "qsd") > 0);
        gc_free(&r);
        gc_setup(&r, models[i], 3, MODE_INFER);
        const char *marks[] = {"qsd", "dropout", "group_scale", "mask"};
        for (int k = 0; k < 4; k++)
            if (launches_with(&r.p, marks[k]) > 0)
                fail_msg("%s: the inference plan runs a %s node", r.m.name, marks[k]);
        for (int t = 0; t < r.p.n_tensors; t++)
            assert_null(strstr(r.p.tensors[t].name, "mask"));
        gc_free(&r);
    }
}

/* One training step moves every weight of the first layer whose input and
 * unit are live (the inputs here are all non-zero), and every trainable
 * tensor somewhere. */
static void test_step_moves_first_layer(void **s)
{
    (void)s;
    gc_run r;
    gc_setup(&r, mlp, 8, MODE_TRAIN);
    gc_device d;
    gc_device_open(&d, &r);
    gc_device_run(&d, &r, r.input, 0.05f);
    float *after = malloc((size_t)r.p.param_elems * sizeof *after);
    qsdc_error err = {""};
    assert_int_equal(model_state_read(tf_env(), &d.ms, after, NULL, &err), 0);
    gc_device_close(&d);
    for (int i = 0; i < r.p.n_tensors; i++) {
        const plan_tensor *t = &r.p.tensors[i];
        if (t->buffer != BUF_P)
            continue;
        int64_t moved = 0;
        for (int64_t k = t->offset; k < t->offset + t->nelem; k++)
            moved += after[k] != r.params[k];
        printf("  %s: %lld of %lld moved\n", t->name, (long long)moved, (long long)t->nelem);
        if (moved == 0)
            fail_msg("%s did not change in a training step", t->name);
        if (strcmp(t->name, "dense1.weight") == 0 && moved < t->nelem / 2)
            fail_msg("the first layer's weights: %lld of %lld changed", (long long)moved,
                     (long long)t->nelem);
    }
    free(after);
    gc_free(&r);
}

/* In a training step the QSD layer's output over its input is a mask with
 * mean 1 that is not 1: continuous (gamma quantal sizes), so almost no
 * element keeps its value. */
static void test_training_mask_is_not_one(void **s)
{
    (void)s;
    gc_set_observe_all(true);
    gc_run r;
    gc_setup(&r, mlp, 16, MODE_TRAIN);
    gc_set_observe_all(false);
    const plan_probe *in = NULL, *out = NULL;
    for (int i = 0; i < r.p.n_probes; i++) {
        if (strcmp(r.p.probes[i].tensor, "relu2") == 0)
            in = &r.p.probes[i];
        if (strcmp(r.p.probes[i].tensor, "qsd3") == 0)
            out = &r.p.probes[i];
    }
    assert_non_null(in);
    assert_non_null(out);
    assert_int_equal(in->nelem, out->nelem);
    gc_device d;
    gc_device_open(&d, &r);
    gc_device_run(&d, &r, r.input, 0.05f);
    float *x = gc_device_read(&d, in->offset, in->nelem);
    float *y = gc_device_read(&d, out->offset, out->nelem);
    gc_device_close(&d);
    int64_t live = 0, unchanged = 0, zero = 0;
    double sum = 0;
    for (int64_t i = 0; i < in->nelem; i++) {
        if (x[i] == 0)
            continue;
        double m = (double)y[i] / x[i];
        live++;
        sum += m;
        unchanged += fabs(m - 1) < 1e-4;
        zero += m == 0;
    }
    printf("  %lld live units: mean mask %.3f, %lld unchanged, %lld silenced\n",
           (long long)live, sum / (double)live, (long long)unchanged, (long long)zero);
    assert_true(live >= 30);
    if (unchanged > live / 10)
        fail_msg("%lld of %lld QSD mask values are 1", (long long)unchanged, (long long)live);
    /* Var[m] = (0.25 + 0.5) / 2 for p 0.5, 4 sites, q_cv 0.5: the mean of
     * 30 or more is within 0.5 of 1 by over 3 standard errors */
    assert_true(fabs(sum / (double)live - 1) < 0.5);
    free(x);
    free(y);
    gc_free(&r);
}

/* `qsdc infer` on a checkpoint (conv, batch norm with running statistics,
 * pool, QSD) scores 100% on labels that are the oracle's classes for the
 * same images and parameters. */
static void test_qsdc_infer(void **s)
{
    (void)s;
    cli_env_init();
    cli_files f;
    cli_write_task("infer", &f);
    char text[4096];
    snprintf(text, sizeof text,
             "name: e2e\ninput: {shape: [1, 8, 8]}\n"
             "layers:\n  - {op: conv2d, filters: 4, kernel: 3, padding: same}\n"
             "  - batchnorm\n  - relu\n  - {op: maxpool, kernel: 2}\n"
             "  - {op: qsd, p: 0.5, sites: 2, q_cv: 0.3}\n  - flatten\n"
             "  - {op: dense, units: 3}\n  - softmax\n"
             "train:\n  data: {train_images: %s, train_labels: %s}\n"
             "  batch: 16\n  epochs: 1\n  seed: 3\n  optimizer: {type: sgd, lr: 0.1}\n",
             f.train_images, f.train_labels);
    const char *model = ts_write("infer-e2e.yaml", text, strlen(text));
    char ckpt[CLI_PATH_MAX];
    snprintf(ckpt, sizeof ckpt, "%s/infer-ckpt", ts_tmpdir());
    free(cli_run_expect(0, "train '%s' --checkpoint '%s' --max-steps 1", model, ckpt));
    /* the checkpoint's parameters replaced by seeded ones: a trained model
     * predicts the task's classes whatever small error its pass makes, these
     * make the classes hinge on every detail */
    const int64_t N = CLI_TEST_N;
    gc_run r;
    gc_setup(&r, text, N, MODE_INFER);
    seed_params(&r);
    checkpoint c;
    qsdc_error err = {""};
    if (checkpoint_load(ckpt, &c, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(c.n_params, r.p.param_elems);
    memcpy(c.params, r.params, (size_t)c.n_params * sizeof *c.params);
    if (checkpoint_save(ckpt, &c, &err) < 0)
        fail_msg("%s", err.message);
    size_t len;
    uint8_t *idx = cli_idx_images((int)N, CLI_SIDE, CLI_SIDE, 2, &len);
    double *x = zeros(N * 64), *a = zeros(N * 4 * 64), *p = zeros(N * 4 * 16);
    double *y = zeros(N * 3);
    for (int64_t i = 0; i < N * 64; i++)
        x[i] = (float)idx[16 + i] / 255.0f;
    free(idx);
    or_map m1 = or_conv2d(x, (or_map){N, 1, 8, 8}, param(&r, r.params, "conv2d0.weight"),
                          param(&r, r.params, "conv2d0.bias"), 4,
                          (or_window){3, 3, 1, 1, 1, 1, 1, 1}, a);
    or_batchnorm(a, N, 4, 64, param(&r, r.params, "batchnorm1.affine"),
                 param(&r, r.params, "batchnorm1.running"), 1e-5);
    or_relu(a, N * 256);
    or_pool(a, m1, (or_window){2, 2, 2, 2, 0, 0, 1, 1}, true, p);
    or_dense(p, N, 64, param(&r, r.params, "dense6.weight"),
             param(&r, r.params, "dense6.bias"), 3, y);
    or_softmax(y, N, 3);
    /* IDX labels: the oracle's class of each image; an image whose top two
     * classes are within float rounding of each other may go either way */
    uint8_t labels[8 + CLI_TEST_N] = {0, 0, 8, 1, 0, 0, 0, CLI_TEST_N};
    int ties = 0;
    for (int64_t i = 0; i < N; i++) {
        const double *q = y + 3 * i;
        int top = q[1] > q[0] ? 1 : 0;
        top = q[2] > q[top] ? 2 : top;
        labels[8 + i] = (uint8_t)top;
        for (int k = 0; k < 3; k++)
            ties += k != top && q[top] - q[k] < 1e-5;
    }
    assert_true(ties < 3);
    const char *oracle_labels = ts_write("infer-oracle-labels.idx", labels, sizeof labels);
    char *out = cli_run_expect(0, "infer '%s' --data '%s' --labels '%s' --checkpoint '%s' "
                               "--batch 32", model, f.test_images, oracle_labels, ckpt);
    const char *acc = strstr(out, "accuracy: ");
    int correct = -1, count = -1;
    if (!acc || sscanf(acc, "accuracy: %*f%% (%d/%d)", &correct, &count) != 2)
        fail_msg("no accuracy in the output:\n%s", out);
    if (count != N || correct < N - ties)
        fail_msg("qsdc infer agrees with the oracle on %d of %d images (%d near ties):\n%s",
                 correct, count, ties, out);
    free(out);
    checkpoint_free(&c);
    gc_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_mlp, free_scratch),
        cmocka_unit_test_teardown(test_cnn, gc_defaults),
        cmocka_unit_test_teardown(test_batchnorm, free_scratch),
        cmocka_unit_test_teardown(test_lstm_classifier, free_scratch),
        cmocka_unit_test_teardown(test_lstm_sequences, free_scratch),
        cmocka_unit_test(test_inference_has_no_masks),
        cmocka_unit_test(test_step_moves_first_layer),
        cmocka_unit_test_teardown(test_training_mask_is_not_one, gc_defaults),
        cmocka_unit_test_teardown(test_qsdc_infer, free_scratch),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
