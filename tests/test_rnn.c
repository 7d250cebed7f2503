/* Recurrent networks (embedding, lstm, QSD shared over time, dense at every
 * step, sequence pooling, per-step loss) on the device against the C
 * reference, tensor by tensor over two training steps and in inference, and
 * the reference's gradients against finite differences; the same with
 * padding steps (QSDC_PAD_ID) in samples of different lengths, and the
 * padding's semantics: a padded batch gives exactly the outputs and
 * gradients of the same texts unpadded. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cl_fixture.h"
#include "graph_check.h"
#include "compile.h"
#include "executor.h"
#include "init.h"
#include "ref_graph.h"
#include "support.h"

/* float32 kernels against the double-accumulating reference, errors scaled
 * by each tensor's largest reference magnitude. The longest sums here are
 * the dU sums over B*T <= 12 steps of 4H <= 20 terms and the recurrence's
 * dh sums of 4H terms, each ~2^-24 relative per term; exp/tanh add a few
 * ulp per gate, and the recurrence carries them through T <= 4 steps and
 * two training steps: 1e-4 bounds this with a wide margin. */
#define TOL 1e-4

/* Central differences of the reference loss against its backward, every
 * parameter: the models are smooth (sigmoid, tanh, softmax), truncation
 * O(h^2) ~ 1e-6, float rounding of the loss ~ 2^-24 |loss| / h ~ 1e-4 with
 * h = 1e-3; 2e-2 relative plus 2e-4 absolute bounds both. */
static void check_gradients(const char *yaml, int64_t batch)
{
    gc_check_gradients(yaml, batch, 1e-3, 2e-2, 2e-4, 0);
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

/* Stacked stateful lstm layers (language modelling with carried state):
 * the checks' seeded non-zero carry makes the first step start from it, and
 * the second step from what the first left there. */
static const char carried[] =
    "name: carried\ninput: {shape: [3], dtype: int32}\n"
    "layers:\n  - {op: embedding, vocab: 7, dim: 4}\n"
    "  - {op: lstm, units: 5, stateful: true}\n  - {op: lstm, units: 4, stateful: true}\n"
    "  - {op: dense, units: 7}\n"
    "train: {optimizer: {type: sgd, lr: 0.5}}\n";

/* Float sequences, mean pooling, a dense layer (without bias) at every step. */
static const char pooled[] =
    "name: pooled\ninput: {shape: [4, 3]}\n"
    "layers:\n  - {op: dense, units: 4, bias: false}\n  - tanh\n"
    "  - {op: lstm, units: 5}\n"
    "  - {op: pool_sequence, mode: mean}\n  - {op: dense, units: 3}\n"
    "train: {optimizer: {type: sgd, lr: 0.1}}\n";

/* Wider layers at a larger batch for the recurrence kernels' layout: 16 and
 * 8 units make one 16- and one 8-wide vector per work-item, and 7 samples
 * two work-groups, the second one short. */
static const char wide[] =
    "name: wide\ninput: {shape: [3], dtype: int32}\n"
    "layers:\n  - {op: embedding, vocab: 7, dim: 4}\n"
    "  - {op: lstm, units: 16, stateful: true}\n  - {op: lstm, units: 8}\n"
    "  - {op: dense, units: 7}\n"
    "train: {optimizer: {type: sgd, lr: 0.5}}\n";

/* share: time draws one mask per (sample, unit), [B, U], that differ
 * between units, and scales every step of that unit by it (the reference's
 * values after a training step's forward) */
static void test_masks_shared_over_time(void **s)
{
    (void)s;
    gc_run r;
    gc_setup(&r, lm, 3, MODE_TRAIN);
    ref_graph ref;
    assert_int_equal(ref_graph_init(&ref, &r.g, &r.m, r.params), 0);
    ref_graph_run(&ref, r.input, r.labels, 11, 0, 0.0f, 0, r.g.nn);
    int masks = 0;
    for (int i = 0; i < r.g.nn; i++) {
        const gnode *n = &r.g.n[i];
        if (n->op != OP_GROUP_SCALE || n->layer < 0)
            continue;
        const tensor *t = &r.g.t[n->out], *mt = &r.g.t[n->in[1]];
        int64_t T = t->dims[1], U = t->dims[2];
        assert_int_equal(mt->dims[0], t->dims[0]);
        assert_int_equal(mt->dims[1], U);
        const float *x = ref.val[n->in[0]], *y = ref.val[n->out], *m = ref.val[n->in[1]];
        int distinct = 0;
        for (int64_t b = 0; b < t->dims[0]; b++)
            for (int64_t u = 0; u < U; u++) {
                distinct += u > 0 && m[b * U + u] != m[b * U + u - 1];
                for (int64_t k = 0; k < T; k++) {
                    int64_t e = (b * T + k) * U + u;
                    assert_true(y[e] == x[e] * m[b * U + u]);
                }
            }
        assert_true(distinct > 0);
        masks++;
    }
    assert_int_equal(masks, 2);
    ref_graph_free(&ref);
    gc_free(&r);
}

static void test_lm_gradients(void **s) { (void)s; check_gradients(lm, 3); }
static void test_stacked_gradients(void **s) { (void)s; check_gradients(stacked, 2); }
static void test_pooled_gradients(void **s) { (void)s; check_gradients(pooled, 3); }
static void test_lm_step(void **s) { (void)s; gc_check_step(lm, 3, TOL); }
static void test_stacked_step(void **s) { (void)s; gc_check_step(stacked, 2, TOL); }
static void test_pooled_step(void **s) { (void)s; gc_check_step(pooled, 3, TOL); }
static void test_carried_step(void **s) { (void)s; gc_check_step(carried, 3, TOL); }
static void test_wide_step(void **s) { (void)s; gc_check_step(wide, 7, TOL); }
/* The language models' sizes: 256 units, 35 steps, 3,001 classes. */
static const char lm_sized[] =
    "name: lm_sized\ninput: {shape: [35], dtype: int32}\n"
    "layers:\n  - {op: embedding, vocab: 7, dim: 16}\n"
    "  - {op: lstm, units: 256, stateful: true}\n  - {op: lstm, units: 256, stateful: true}\n"
    "  - {op: dense, units: 3001}\n"
    "train: {optimizer: {type: sgd, lr: 0.5}}\n";
static void test_lm_sized_step(void **s) { (void)s; gc_check_step(lm_sized, 5, TOL); }
/* A wide embedding, its gradient over repeated ids: 384 columns, in 24
 * runs of 16 on a CPU. */
static const char wide_embedding[] =
    "name: wide_embedding\ninput: {shape: [6], dtype: int32}\n"
    "layers:\n  - {op: embedding, vocab: 7, dim: 384}\n"
    "  - {op: lstm, units: 8, return: last}\n  - {op: dense, units: 3}\n"
    "train: {optimizer: {type: sgd, lr: 0.5}}\n";
static void test_wide_embedding_step(void **s) { (void)s; gc_check_step(wide_embedding, 4, TOL); }
static void test_carried_inference(void **s)
{
    (void)s;
    gc_check_inference(carried, 2, TOL);
}
static void test_inference(void **s)
{
    (void)s;
    gc_check_inference(lm, 3, TOL);
    gc_check_inference(stacked, 2, TOL);
    gc_check_inference(pooled, 3, TOL);
}

/* CLBlast doing every GEMM (the input projections, the per-step dense
 * layers and their backward products), and the device's measured choice. */
static void test_backends(void **s)
{
    (void)s;
    const char *models[] = {lm, stacked, pooled};
    const int64_t batches[] = {3, 2, 3};
    gc_check_backends(models, batches, 3, TOL);
}

/* An embedding table starts standard normal (PyTorch's nn.Embedding), the
 * lstm Glorot uniform: mean, variance and the normal's 4.55% beyond two
 * standard deviations (a uniform of unit variance has none), over 16,000
 * draws with bounds about 5 standard errors wide. */
static void test_embedding_starts_normal(void **s)
{
    (void)s;
    gc_run r;
    gc_setup(&r, "name: e\ninput: {shape: [2], dtype: int32}\n"
                 "layers:\n  - {op: embedding, vocab: 1000, dim: 16}\n"
                 "  - {op: lstm, units: 4}\n  - {op: dense, units: 3}\n",
             2, MODE_TRAIN);
    int found = 0;
    for (int t = 0; t < r.p.n_tensors; t++) {
        const plan_tensor *pt = &r.p.tensors[t];
        if (strcmp(pt->name, "embedding0.weight") == 0) {
            assert_int_equal(pt->init, INIT_NORMAL);
            double sum = 0, sq = 0, tails = 0;
            for (int64_t i = 0; i < pt->nelem; i++) {
                double v = r.params[pt->offset + i];
                sum += v;
                sq += v * v;
                tails += fabs(v) > 2.0;
            }
            double n = (double)pt->nelem, mean = sum / n;
            assert_true(fabs(mean) < 0.04);
            assert_true(fabs(sq / n - mean * mean - 1.0) < 0.06);
            assert_true(fabs(tails / n - 0.0455) < 0.008);
            found++;
        } else if (strcmp(pt->name, "lstm1.weight") == 0) {
            assert_int_equal(pt->init, INIT_GLOROT);
            found++;
        }
    }
    assert_int_equal(found, 2);
    gc_free(&r);
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

/* ---- padding steps (QSDC_PAD_ID) in token sequences ---- */

/* Classifiers: the lstm's state after the last word, the mean of its
 * states over the words, and the last word's own features (no lstm). */
#define CLASSIFIER(NAME, STEPS, BODY)                                                \
    "name: " NAME "\ninput: {shape: [" STEPS "], dtype: int32}\n"                    \
    "layers:\n  - {op: embedding, vocab: 7, dim: 4}\n" BODY                          \
    "  - {op: dense, units: 3}\n"                                                    \
    "train: {optimizer: {type: adam, eps: 0.001}}\n"
#define LAST_BODY "  - {op: lstm, units: 5, return: last}\n"
#define MEAN_BODY "  - {op: lstm, units: 5}\n  - {op: pool_sequence, mode: mean}\n"
#define WORD_BODY "  - {op: dense, units: 5}\n  - tanh\n  - {op: pool_sequence, mode: last}\n"

static const char last_word[] = CLASSIFIER("last", "4", LAST_BODY);
static const char mean_words[] = CLASSIFIER("mean", "4", MEAN_BODY);
static const char word_last[] = CLASSIFIER("word", "4", WORD_BODY);

static int padding_on(void **s)
{
    (void)s;
    gc_set_padding(true);
    return 0;
}

static int padding_off(void **s)
{
    (void)s;
    gc_set_padding(false);
    return 0;
}

/* The models above, their samples padded to different lengths; the carried
 * one without finite differences: every reference pass moves the carry on */
static void test_padded_sequences(void **s)
{
    (void)s;
    check_gradients(lm, 4);
    check_gradients(stacked, 4);
    const char *models[] = {lm, stacked, carried, wide};
    const int64_t batches[] = {4, 4, 4, 7};
    for (int i = 0; i < 4; i++) {
        gc_check_step(models[i], batches[i], TOL);
        gc_check_inference(models[i], batches[i], TOL);
    }
}

static void test_padded_classifiers(void **s)
{
    (void)s;
    const char *models[] = {last_word, mean_words, word_last};
    for (int i = 0; i < 3; i++) {
        check_gradients(models[i], 4);
        gc_check_step(models[i], 4, TOL);
        gc_check_inference(models[i], 4, TOL);
    }
}

/* The same three texts (3 words each): unpadded in 3 steps, and in 6 steps
 * padded at the end, in front, and between the words. */
#define TEXTS 3
static const float unpadded[TEXTS * 3] = {1, 2, 3, 4, 5, 6, 6, 0, 2};
#define P QSDC_PAD_ID
static const float padded[TEXTS * 6] = {1, 2, 3, P, P, P,
                                        P, P, P, 4, 5, 6,
                                        P, 6, P, 0, 2, P};
#undef P

/* Runs r (gc_setup'd) on input with params: its output, and with training
 * its gradients after one step, into out and grads. */
static void run(gc_run *r, const float *input, const float *params, float *out, float *grads)
{
    memmove(r->params, params, (size_t)r->p.param_elems * sizeof *params);
    gc_device d;
    gc_device_open(&d, r);
    gc_device_run(&d, r, input, 0.0f);
    if (out) {
        float *o = gc_device_read(&d, r->p.output_offset, r->p.output_elems);
        memcpy(out, o, (size_t)r->p.output_elems * sizeof *o);
        free(o);
    }
    if (grads)
        assert_int_equal(clEnqueueReadBuffer(tf_env()->queue, d.ms.G, CL_TRUE, 0,
                                             (size_t)r->p.param_elems * sizeof *grads, grads,
                                             0, NULL, NULL),
                         CL_SUCCESS);
    gc_device_close(&d);
}

/* Model `body` over the texts padded and unpadded, from the same
 * parameters: bitwise the same outputs in inference; in training (labels
 * per sample) the same gradients up to the order of their float sums. */
static void check_padding_changes_nothing(const char *long_yaml, const char *short_yaml)
{
    gc_run l, s;
    gc_setup(&l, long_yaml, TEXTS, MODE_INFER);
    gc_setup(&s, short_yaml, TEXTS, MODE_INFER);
    assert_int_equal(l.p.param_elems, s.p.param_elems);
    assert_int_equal(l.p.output_elems, s.p.output_elems);
    size_t n = (size_t)l.p.output_elems;
    float *lo = malloc(n * sizeof *lo), *so = malloc(n * sizeof *so);
    run(&l, padded, l.params, lo, NULL);
    run(&s, unpadded, l.params, so, NULL);
    for (size_t i = 0; i < n; i++)
        if (lo[i] != so[i])
            fail_msg("output %zu: padded %.9g, unpadded %.9g", i, lo[i], so[i]);
    free(lo);
    free(so);
    gc_free(&l);
    gc_free(&s);

    gc_setup(&l, long_yaml, TEXTS, MODE_TRAIN);
    gc_setup(&s, short_yaml, TEXTS, MODE_TRAIN);
    size_t np = (size_t)l.p.param_elems;
    float *lg = malloc(np * sizeof *lg), *sg = malloc(np * sizeof *sg);
    run(&l, padded, l.params, NULL, lg);
    run(&s, unpadded, l.params, NULL, sg);
    double e = ts_max_err_scaled(lg, sg, np);
    printf("  gradients padded against unpadded: max rel err %.2e\n", e);
    assert_true(e < 1e-6);
    free(lg);
    free(sg);
    gc_free(&l);
    gc_free(&s);
}

static void test_padding_changes_nothing(void **s)
{
    (void)s;
    check_padding_changes_nothing(CLASSIFIER("last", "6", LAST_BODY),
                                  CLASSIFIER("last", "3", LAST_BODY));
    check_padding_changes_nothing(CLASSIFIER("mean", "6", MEAN_BODY),
                                  CLASSIFIER("mean", "3", MEAN_BODY));
    check_padding_changes_nothing(CLASSIFIER("word", "6", WORD_BODY),
                                  CLASSIFIER("word", "3", WORD_BODY));
}

/* Mean pooling divides by the real steps: with the lstm's states replaced
 * by a known sequence in the reference, the pooled value is their mean. */
static void test_mean_over_real_steps(void **s)
{
    (void)s;
    gc_run r;
    gc_setup(&r, mean_words, 2, MODE_INFER);
    ref_graph ref;
    assert_int_equal(ref_graph_init(&ref, &r.g, &r.m, r.params), 0);
    const float ids[8] = {1, QSDC_PAD_ID, 2, QSDC_PAD_ID, QSDC_PAD_ID, QSDC_PAD_ID,
                          QSDC_PAD_ID, QSDC_PAD_ID};
    ref_graph_run(&ref, ids, NULL, 0, 0, 0.0f, 0, r.g.nn);
    int pool = -1;
    for (int i = 0; i < r.g.nn; i++)
        if (r.g.n[i].op == OP_SEQ_POOL)
            pool = i;
    assert_true(pool >= 0);
    const gnode *n = &r.g.n[pool];
    const float *h = ref.val[n->in[0]], *y = ref.val[n->out];
    for (int j = 0; j < 5; j++) {
        /* sample 0: steps 0 and 2 are words; sample 1 is all padding */
        assert_float_equal(y[j], (h[j] + h[2 * 5 + j]) / 2, 1e-6);
        assert_float_equal(y[5 + j], 0.0f, 0.0);
    }
    ref_graph_free(&ref);
    gc_free(&r);
}

/* Launches of plan p that run a later time slice of their kernel. */
static int later_slices(const char *yaml, uint32_t loop_limit)
{
    qsdc_error err = {""};
    model m;
    plan p;
    codegen_target t;
    codegen_target_default(&t);
    t.loop_limit = loop_limit;
    if (model_load_string("<test>", yaml, strlen(yaml), &m, &err) < 0 ||
        compile_plan(&m, MODE_TRAIN, 3, &t, &p, NULL, NULL, &err) < 0)
        fail_msg("%s", err.message);
    int n = 0;
    for (int i = 0; i < p.n_launches; i++)
        n += p.launches[i].offset[0] > 0;
    plan_free(&p);
    model_free(&m);
    return n;
}

/* Shaped for a device that cuts a work-item's loops short after 40
 * iterations (llvmpipe's 65,535, scaled to these sizes), the recurrences
 * run in time slices, a launch each: the forward of the 5-unit layer in 2,
 * every backward a step a slice, the cell states and their gradients
 * carried from slice to slice, with padding steps among them too. */
static void test_time_slices(void **s)
{
    (void)s;
    assert_int_equal(later_slices(carried, 0), 0);
    assert_int_equal(later_slices(carried, 40), 1 + 2 + 2);
    gc_set_loop_limit(40);
    gc_check_step(carried, 3, TOL);
    gc_check_step(wide, 7, TOL);
    gc_check_inference(carried, 2, TOL);
    gc_set_padding(true);
    gc_check_step(lm, 4, TOL);
    gc_check_step(carried, 4, TOL);
}

static int time_slices_off(void **s)
{
    gc_set_loop_limit(0);
    return padding_off(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_embedding_starts_normal),
        cmocka_unit_test(test_shape_errors),
        cmocka_unit_test(test_lm_gradients),
        cmocka_unit_test(test_stacked_gradients),
        cmocka_unit_test(test_pooled_gradients),
        cmocka_unit_test(test_masks_shared_over_time),
        cmocka_unit_test(test_inference),
        cmocka_unit_test(test_lm_step),
        cmocka_unit_test(test_stacked_step),
        cmocka_unit_test(test_pooled_step),
        cmocka_unit_test(test_carried_step),
        cmocka_unit_test(test_wide_step),
        cmocka_unit_test(test_lm_sized_step),
        cmocka_unit_test(test_wide_embedding_step),
        cmocka_unit_test(test_carried_inference),
        cmocka_unit_test_teardown(test_backends, gc_backend_reset),
        cmocka_unit_test_setup_teardown(test_padded_sequences, padding_on, padding_off),
        cmocka_unit_test_setup_teardown(test_padded_classifiers, padding_on, padding_off),
        cmocka_unit_test(test_padding_changes_nothing),
        cmocka_unit_test(test_mean_over_real_steps),
        cmocka_unit_test_teardown(test_time_slices, time_slices_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
