/* Padding steps (QSDC_PAD_ID) in token sequences: the lstm holds its state
 * over them and sequence pooling skips them. The device against the C
 * reference with samples of different lengths padded on either side, the
 * reference's gradients against finite differences, and the semantics
 * themselves: a padded batch gives exactly the outputs of the same texts
 * unpadded, and the same gradients. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cl_fixture.h"
#include "executor.h"
#include "graph_check.h"
#include "ref_graph.h"
#include "support.h"

/* As in test_rnn.c: float32 kernels against the double reference, and
 * central differences with h = 1e-3. */
#define TOL 1e-4

static void check_gradients(const char *yaml, int64_t batch)
{
    gc_check_gradients(yaml, batch, 1e-3, 2e-2, 2e-4, 0);
}

/* Stacked lstm layers with a dense layer at every step (padded steps keep
 * their labels: the loss still reads the held state there). */
static const char stacked[] =
    "name: stacked\ninput: {shape: [4], dtype: int32}\n"
    "layers:\n  - {op: embedding, vocab: 7, dim: 4}\n"
    "  - {op: lstm, units: 5}\n  - {op: lstm, units: 4}\n"
    "  - {op: dense, units: 7}\n"
    "train: {optimizer: {type: sgd, lr: 0.5}}\n";

/* A stateful lstm: padding in front holds the carried state. */
static const char carried[] =
    "name: carried\ninput: {shape: [4], dtype: int32}\n"
    "layers:\n  - {op: embedding, vocab: 7, dim: 4}\n"
    "  - {op: lstm, units: 5, stateful: true}\n  - {op: dense, units: 7}\n"
    "train: {optimizer: {type: sgd, lr: 0.5}}\n";

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

static const char last[] = CLASSIFIER("last", "4", LAST_BODY);
static const char mean[] = CLASSIFIER("mean", "4", MEAN_BODY);
static const char word[] = CLASSIFIER("word", "4", WORD_BODY);

static int setup(void **s)
{
    (void)s;
    gc_set_padding(true);
    return 0;
}

static void test_stacked(void **s)
{
    (void)s;
    check_gradients(stacked, 4);
    gc_check_step(stacked, 4, TOL);
    gc_check_inference(stacked, 4, TOL);
}

/* no finite differences: every reference pass moves the carry on */
static void test_carried(void **s)
{
    (void)s;
    gc_check_step(carried, 4, TOL);
    gc_check_inference(carried, 4, TOL);
}

static void test_classifiers(void **s)
{
    (void)s;
    const char *models[] = {last, mean, word};
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
    cl_env *env = tf_env();
    qsdc_error err = {""};
    model_state ms;
    executor ex;
    if (model_state_create(env, r->p.param_elems, r->p.state_elems, &ms, &err) < 0 ||
        model_state_write(env, &ms, params, NULL, &err) < 0 ||
        exec_create(env, &r->p, &ms, &ex, &err) < 0 ||
        exec_set_batch(&ex, input, r->n_labels ? r->labels : NULL, &err) < 0 || exec_run(&ex, 1, 0, 0.0f, &err) < 0)
        fail_msg("%s", err.message);
    if (out && exec_read_arena(&ex, r->p.output_offset, r->p.output_elems, out, &err) < 0)
        fail_msg("%s", err.message);
    if (grads)
        assert_int_equal(clEnqueueReadBuffer(env->queue, ms.G, CL_TRUE, 0,
                                             (size_t)r->p.param_elems * sizeof *grads, grads,
                                             0, NULL, NULL),
                         CL_SUCCESS);
    exec_destroy(&ex);
    model_state_free(&ms);
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
    gc_setup(&r, mean, 2, MODE_INFER);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stacked),
        cmocka_unit_test(test_carried),
        cmocka_unit_test(test_classifiers),
        cmocka_unit_test(test_padding_changes_nothing),
        cmocka_unit_test(test_mean_over_real_steps),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
