/* Training on text data sources end to end, with corpora and CSVs the tests
 * write: a language model learns a repetitive corpus, its carried state is
 * what lets it predict across batch edges, its perplexity is the exp of the
 * training plan's per-token loss, a resumed run is exact, and a sentiment
 * classifier separates a trivially separable CSV. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "best_epoch.h"
#include "checkpoint.h"
#include "cli_fixture.h"
#include "support.h"
#include "train.h"
#include "train_lm.h"

/* A small deterministic generator for the written data. */
static uint32_t next_random(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 16;
}

/* Lines "x q x" with x a or b at random: the second x repeats the first,
 * two tokens back, which with 2-step batches is in the previous batch for
 * half of the lines, so only a carried state predicts it there. */
static const char *write_memory_corpus(void)
{
    char *text = malloc(3000 * 7 + 1), *p = text;
    uint32_t s = 12345;
    for (int i = 0; i < 3000; i++) {
        char x = next_random(&s) & 1 ? 'a' : 'b';
        p += sprintf(p, "%c q %c\n", x, x);
    }
    const char *path = ts_write("memory.txt", text, (size_t)(p - text));
    free(text);
    return path;
}

static const char *write_repetitive_corpus(void)
{
    char text[400 * 32], *p = text;
    for (int i = 0; i < 400; i++)
        p += sprintf(p, "the cat sat on the mat .\n");
    return ts_write("repeat.txt", text, (size_t)(p - text));
}

/* A language model on corpus, in the test folder (batch 8, 2 steps). */
static const char *write_lm(const char *name, const char *corpus, bool stateful)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "name: %s\ninput: {shape: [2], dtype: int32}\n"
             "layers:\n  - {op: embedding, vocab: 10, dim: 8}\n"
             "  - {op: lstm, units: 16, stateful: %s}\n  - {op: dense, units: 10}\n"
             "train:\n  data: {format: text, corpus: %s, vocab: 8, split: [0.8, 0.1]}\n"
             "  batch: 8\n  epochs: 3\n  optimizer: {type: adam, lr: 0.01}\n",
             name, stateful ? "true" : "false", corpus);
    char file[96];
    snprintf(file, sizeof file, "%s.yaml", name);
    return ts_write(file, yaml, strlen(yaml));
}

static void train_file(const char *path, const train_options *o, train_summary *out)
{
    model m;
    qsdc_error err = {""};
    if (model_load(path, &m, &err) < 0)
        fail_msg("%s", err.message);
    int rc = train_model(&m, o, out, &err);
    model_free(&m);
    if (rc < 0)
        fail_msg("%s", err.message);
}

static void test_lm_learns_repetitive_text(void **s)
{
    (void)s;
    write_repetitive_corpus();
    train_options o = {.quiet = true, .epochs = 2};
    train_summary r;
    train_file(write_lm("repeat", "repeat.txt", true), &o, &r);
    assert_int_equal(r.epochs_done, 2);
    /* the text is fully determined but for where a line starts */
    assert_true(r.test_perplexity < 1.3);
    assert_true(r.val_perplexity < 1.3);
}

/* Reset each batch, the state would leave the repeated token a coin toss
 * on half the lines (perplexity about 2, as a stateless lstm measures). */
static void test_carried_state_predicts_across_batches(void **s)
{
    (void)s;
    write_memory_corpus();
    train_options o = {.quiet = true};
    train_summary carried, reset;
    train_file(write_lm("carried", "memory.txt", true), &o, &carried);
    train_file(write_lm("reset", "memory.txt", false), &o, &reset);
    /* only the first token of a line is random: exp(ln 2 / 4) = 1.19 */
    assert_true(carried.test_perplexity < 1.3);
    assert_true(reset.test_perplexity > 1.6);
}

/* after_train: the validation split through the training plan at learning
 * rate 0 (so nothing moves), from zeroed carries, summing the device's
 * per-token cross-entropy */
static int perplexity_from_loss(void *ctx, const train_context *tc, qsdc_error *err)
{
    double *out = ctx;
    const plan *p = tc->train_plan;
    lm_source lm;
    executor ex;
    memset(&ex, 0, sizeof ex);
    float *x = malloc((size_t)p->input_elems * sizeof *x);
    int32_t *y = malloc((size_t)p->label_elems * sizeof *y);
    float *loss = malloc((size_t)p->label_elems * sizeof *loss);
    assert_true(x && y && loss);
    int rc = lm_source_open(&lm, tc->m, p, err);
    if (rc == 0)
        rc = exec_create(tc->env, p, tc->state, &ex, err);
    if (rc == 0)
        rc = lm_carry_reset(&lm, tc->env, tc->state, err);
    double sum = 0;
    int64_t n = lm_source_batches(&lm, TEXT_VALID);
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        rc = lm_source_batch(&lm, TEXT_VALID, i, x, y, err);
        if (rc == 0)
            rc = exec_set_batch(&ex, x, y, err);
        if (rc == 0)
            rc = exec_run(&ex, 1, 0, 0.0f, err);
        if (rc == 0)
            rc = exec_read_arena(&ex, p->loss_offset, p->label_elems, loss, err);
        for (int64_t k = 0; rc == 0 && k < p->label_elems; k++)
            sum += loss[k];
    }
    *out = exp(sum / (double)(n * p->label_elems));
    exec_destroy(&ex);
    lm_source_free(&lm);
    free(x);
    free(y);
    free(loss);
    return rc;
}

static void test_perplexity_is_exp_of_mean_loss(void **s)
{
    (void)s;
    write_memory_corpus();
    double from_loss = 0;
    train_options o = {.quiet = true, .epochs = 1, .after_train = perplexity_from_loss,
                       .hook_ctx = &from_loss};
    train_summary r;
    train_file(write_lm("hook", "memory.txt", true), &o, &r);
    assert_true(r.val_perplexity > 1.0);
    assert_true(fabs(from_loss - r.val_perplexity) < 1e-4 * r.val_perplexity);
}

/* ids as an int32 .npy of rows x steps token ids (steps 0: a vector of rows). */
static const char *write_ids(const char *name, const int32_t *ids, int rows, int steps)
{
    char dict[128], shape[32];
    if (steps)
        snprintf(shape, sizeof shape, "(%d, %d)", rows, steps);
    else /* one value a row: labels */
        snprintf(shape, sizeof shape, "(%d,)", rows);
    steps += !steps;
    int n = snprintf(dict, sizeof dict, "{'descr': '<i4', 'fortran_order': False, "
                     "'shape': %s, }", shape);
    size_t header = ((size_t)n + 11 + 63) / 64 * 64, len = header + (size_t)(rows * steps) * 4;
    char *b = malloc(len);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (char)(header - 10);
    b[9] = 0;
    memcpy(b + 10, dict, (size_t)n);
    memset(b + 10 + n, ' ', header - 11 - (size_t)n);
    b[header - 1] = '\n';
    memcpy(b + header, ids, (size_t)(rows * steps) * 4);  /* little-endian, as on this host */
    const char *path = ts_write(name, b, len);
    free(b);
    return path;
}

/* qsdc predict of a language model: per sample a class per step, each the
 * largest of that step's outputs in the row. */
static void expect_step_classes(const char *model, const char *dir)
{
    static const int32_t ids[4 * 2] = {0, 1, 2, 3, 4, 5, 6, 7};
    const char *npy = write_ids("lm-ids.npy", ids, 4, 2);
    char csv[CLI_PATH_MAX];
    snprintf(csv, sizeof csv, "%s/lm-pred.csv", ts_tmpdir());
    free(cli_run_expect(0, "predict '%s' --checkpoint '%s' --data '%s' -o '%s'", model, dir,
                        npy, csv));
    /* a sample's one label cannot score a class per step */
    static const int32_t labels[4] = {1, 2, 3, 4};
    const char *y = write_ids("lm-labels.npy", labels, 4, 0);
    char *out = cli_run_expect(0, "predict '%s' --checkpoint '%s' --data '%s' --labels '%s' "
                               "-o '%s'", model, dir, npy, y, csv);
    cli_expect(out, "labels not scored: a language model predicts a class per step");
    assert_null(strstr(out, "accuracy"));
    free(out);
    char *text = cli_read_file(csv, NULL);
    assert_non_null(text);
    const char *line = strchr(text, '\n') + 1;
    for (int i = 0; i < 4; i++, line = strchr(line, '\n') + 1) {
        int cls[2], used;
        assert_int_equal(sscanf(line, "%d %d,%n", &cls[0], &cls[1], &used), 2);
        const char *p = line + used;
        for (int t = 0; t < 2; t++) {
            double y[10];
            int best = 0;
            for (int c = 0; c < 10; c++) {
                y[c] = strtod(p, (char **)&p);
                p += *p == ',';
                if (y[c] > y[best])
                    best = c;
            }
            if (cls[t] != best)
                fail_msg("row %d step %d: class %d, largest output %d:\n%s", i, t, cls[t],
                         best, text);
        }
    }
    free(text);
}

/* qsdc eval of a language model's checkpoint: the perplexity of the test
 * split, from a zero state, that training reported after its last epoch;
 * and qsdc predict's class per step. */
static void test_lm_eval(void **s)
{
    (void)s;
    cli_env_init();
    write_memory_corpus();
    const char *model = write_lm("evaluated", "memory.txt", true);
    char dir[CLI_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/lm-eval-ckpt", ts_tmpdir());
    train_options o = {.quiet = true, .epochs = 1, .checkpoint_dir = dir};
    train_summary r;
    train_file(model, &o, &r);
    char *out = cli_run_expect(0, "eval '%s' --checkpoint '%s'", model, dir);
    const char *at = strstr(out, "perplexity: ");
    double ppl = at ? atof(at + strlen("perplexity: ")) : NAN;
    printf("  eval %.4f, training's test perplexity %.4f\n", ppl, r.test_perplexity);
    if (!(fabs(ppl - r.test_perplexity) <= 1e-4 * r.test_perplexity + 5e-5))
        fail_msg("eval: perplexity %.6g, training's test perplexity %.6g:\n%s", ppl,
                 r.test_perplexity, out);
    free(out);
    expect_step_classes(model, dir);
}

static checkpoint load_checkpoint(const char *dir)
{
    checkpoint ck;
    qsdc_error err = {""};
    if (checkpoint_load(dir, &ck, &err) < 0)
        fail_msg("%s", err.message);
    return ck;
}

/* Stopped mid-epoch and resumed, the run ends where an uninterrupted one
 * does, carried state included (it is saved with the parameters). */
static void test_resume_mid_epoch_is_exact(void **s)
{
    (void)s;
    write_memory_corpus();
    const char *yaml = write_lm("resume", "memory.txt", true);
    char dir_a[512], dir_b[512];
    snprintf(dir_a, sizeof dir_a, "%s/ck-a", ts_tmpdir());
    snprintf(dir_b, sizeof dir_b, "%s/ck-b", ts_tmpdir());
    train_summary r;
    train_options a = {.quiet = true, .epochs = 2, .checkpoint_dir = dir_a};
    train_file(yaml, &a, &r);
    train_options b = {.quiet = true, .epochs = 2, .checkpoint_dir = dir_b, .max_steps = 200};
    train_file(yaml, &b, &r);
    b.max_steps = 0;
    b.resume = true;
    train_file(yaml, &b, &r);
    checkpoint ca = load_checkpoint(dir_a), cb = load_checkpoint(dir_b);
    assert_int_equal(ca.step, cb.step);
    assert_int_equal(ca.n_params, cb.n_params);
    assert_memory_equal(ca.params, cb.params, (size_t)ca.n_params * sizeof(float));
    checkpoint_free(&ca);
    checkpoint_free(&cb);
}

/* Positive rows say "good", negative ones "bad", among shared filler. */
static void test_sentiment_separable(void **s)
{
    (void)s;
    static const char *const filler[] = {"the", "film", "was", "a", "plot", "very"};
    char *csv = malloc(400 * 64), *p = csv;
    uint32_t r = 7;
    for (int i = 0; i < 400; i++) {
        bool pos = i % 2 == 0;
        p += sprintf(p, "%s,\"", pos ? "1" : "-1");
        int words = 2 + (int)(next_random(&r) % 5), at = (int)(next_random(&r) % words);
        for (int w = 0; w < words; w++)
            p += sprintf(p, "%s%s", w ? " " : "", w == at ? (pos ? "good" : "bad")
                                                          : filler[next_random(&r) % 6]);
        p += sprintf(p, "\"\r\n");
    }
    ts_write("sentiment.csv", csv, (size_t)(p - csv));
    free(csv);
    const char yaml[] =
        "name: sentiment\ninput: {shape: [8], dtype: int32}\n"
        "layers:\n  - {op: embedding, vocab: 12, dim: 8}\n"
        "  - {op: lstm, units: 16, return: last}\n  - {op: dense, units: 2}\n"
        "train:\n  data: {format: sentiment, csv: sentiment.csv, vocab: 10, test_split: 0.25}\n"
        "  batch: 10\n  epochs: 6\n  optimizer: {type: adam, lr: 0.02}\n";
    train_options o = {.quiet = true};
    train_summary sum;
    train_file(ts_write("sentiment.yaml", yaml, strlen(yaml)), &o, &sum);
    assert_true(sum.test_accuracy >= 95.0);
}

/* Early stopping on a language model's validation perplexity, lower
 * being better: the record holds the lowest of the epochs' metrics, the
 * run stops at the first epoch after it that does not beat it, and
 * DIR/best holds that epoch's checkpoint with the vocabulary. */
static void test_lm_early_stop_keeps_best(void **s)
{
    (void)s;
    write_memory_corpus();
    const char *model = write_lm("early", "memory.txt", true);
    char dir[CLI_PATH_MAX], best[CLI_PATH_MAX + 8], metrics[CLI_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/lm-early", ts_tmpdir());
    snprintf(best, sizeof best, "%s/best", dir);
    snprintf(metrics, sizeof metrics, "%s/lm-early.jsonl", ts_tmpdir());
    enum { EPOCHS = 6 };
    train_options o = {.quiet = true, .epochs = EPOCHS, .checkpoint_dir = dir,
                       .metrics_path = metrics, .early_stop = 1, .keep_best = true};
    train_summary r;
    train_file(model, &o, &r);
    char *text = cli_read_file(metrics, NULL);
    assert_non_null(text);
    double ppl[EPOCHS];
    int n = 0, lowest = 0;
    for (const char *at = text; n < EPOCHS && (at = strstr(at, "\"val_perplexity\": ")); n++) {
        at += strlen("\"val_perplexity\": ");
        ppl[n] = atof(at);
        if (ppl[n] < ppl[lowest])
            lowest = n;
    }
    free(text);
    assert_int_equal(n, r.epochs_done);
    if (n < EPOCHS)
        assert_int_equal(n, lowest + 2);
    best_epoch b = {.lower_better = true};
    qsdc_error err = {""};
    if (best_epoch_load(dir, &b, &err) < 0)
        fail_msg("%s", err.message);
    assert_true(b.known);
    assert_int_equal(b.epoch, lowest + 1);
    assert_true(fabs(b.score - ppl[lowest]) <= 5e-5);
    checkpoint ck = load_checkpoint(best);
    assert_int_equal(ck.epoch, lowest + 1);
    checkpoint_free(&ck);
    char vocab[CLI_PATH_MAX + 32];
    snprintf(vocab, sizeof vocab, "%s/vocab.txt", best);
    char *v = cli_read_file(vocab, NULL);
    assert_non_null(v);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lm_learns_repetitive_text),
        cmocka_unit_test(test_carried_state_predicts_across_batches),
        cmocka_unit_test(test_perplexity_is_exp_of_mean_loss),
        cmocka_unit_test(test_lm_eval),
        cmocka_unit_test(test_lm_early_stop_keeps_best),
        cmocka_unit_test(test_resume_mid_epoch_is_exact),
        cmocka_unit_test(test_sentiment_separable),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
