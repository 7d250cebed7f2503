/* Every example model in models/ trains to the same losses on every OpenCL
 * device present: a few steps of `qsdc train` on device 0 and on each other
 * device (CI: pocl and Mesa's rusticl on llvmpipe), on small data this test
 * writes in each model's format (28x28 IDX images, a word corpus, review
 * CSVs), compared through --metrics. One case per model file, so a model
 * added to models/ is checked without touching this file;
 * QSDC_TEST_MODELS picks some (CI's rusticl suite: llvmpipe compiles each
 * model's kernels for minutes).
 *
 * Tolerance: implementations may round differently (fused multiply-adds,
 * their exp and log), so the training loss may differ by 1e-4 of its value
 * and a test score by one sample; a kernel that computes something else
 * moves the loss by far more (tests/test_every_device.c checks each op to
 * 1e-5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_fixture.h"
#include "support.h"

#define MAX_MODELS 64
#define MAX_DEVICES 8
#define STEPS 2
#define BATCH 8
#define IMAGES_TRAIN 64
#define IMAGES_TEST 32
#define REVIEWS 96
#define CORPUS_WORDS 12000

static char fashion_data[4 * CLI_PATH_MAX + 128];
static int n_devices;

static uint32_t next_word(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*s >> 33);
}

/* A corpus of sentences over a 40-word vocabulary, one per line. */
static void write_corpus(void)
{
    static const char *const words[] = {
        "the", "and", "of", "to", "in", "he", "that", "shall", "lord", "unto",
        "his", "i", "a", "for", "they", "be", "is", "him", "not", "them",
        "it", "with", "all", "thou", "thy", "was", "god", "which", "my", "me",
        "said", "but", "ye", "their", "have", "will", "thee", "from", "as", "are"};
    size_t cap = CORPUS_WORDS * 8 + 64, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    uint64_t s = 11;
    for (int i = 0; i < CORPUS_WORDS; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s%s", words[next_word(&s) % 40],
                                i % 12 == 11 ? ".\n" : " ");
    ts_write("kjv.txt", text, len);
    free(text);
}

/* Reviews of 5 to 60 words, labelled 1 and -1 in turn, the label's word
 * among filler. */
static void write_reviews(const char *name)
{
    static const char *const filler[] = {"the", "film", "was", "a", "plot", "very",
                                         "story", "its", "acting", "and"};
    size_t cap = REVIEWS * 64 * 8, len = 0;
    char *csv = malloc(cap);
    assert_non_null(csv);
    uint64_t s = 5;
    for (int i = 0; i < REVIEWS; i++) {
        int pos = i % 2 == 0, n = 5 + (int)(next_word(&s) % 56);
        len += (size_t)snprintf(csv + len, cap - len, "%s,\"", pos ? "1" : "-1");
        for (int w = 0; w < n; w++)
            len += (size_t)snprintf(csv + len, cap - len, "%s%s", w ? " " : "",
                                    w == n / 2 ? (pos ? "good" : "bad")
                                               : filler[next_word(&s) % 10]);
        len += (size_t)snprintf(csv + len, cap - len, "\"\r\n");
    }
    ts_write(name, csv, len);
    free(csv);
}

static void write_images(void)
{
    char paths[4][CLI_PATH_MAX];
    size_t len;
    uint8_t *b = cli_idx_images(IMAGES_TRAIN, 28, 28, 3, &len);
    cli_write_file("train-images.gz", b, len, 1, paths[0]);
    free(b);
    b = cli_idx_labels(IMAGES_TRAIN, &len);
    cli_write_file("train-labels.gz", b, len, 1, paths[1]);
    free(b);
    b = cli_idx_images(IMAGES_TEST, 28, 28, 4, &len);
    cli_write_file("test-images.gz", b, len, 1, paths[2]);
    free(b);
    b = cli_idx_labels(IMAGES_TEST, &len);
    cli_write_file("test-labels.gz", b, len, 1, paths[3]);
    free(b);
    snprintf(fashion_data, sizeof fashion_data,
             "data: {train_images: %s, train_labels: %s, test_images: %s, "
             "test_labels: %s}", paths[0], paths[1], paths[2], paths[3]);
}

/* The devices `qsdc devices` lists: lines that start with an index. */
static int count_devices(void)
{
    char *out = cli_run_expect(0, "devices");
    int n = 0;
    for (const char *line = out; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        n += *line >= '0' && *line <= '9';
    }
    free(out);
    return n < MAX_DEVICES ? n : MAX_DEVICES;
}

static int setup_data(void **state)
{
    (void)state;
    cli_env_init();
    write_images();
    write_corpus();
    write_reviews("polarity1.csv");
    write_reviews("polarity2.csv");
    /* the models' "@data/NAME" paths */
    setenv("QSDC_DATA_DIR", ts_tmpdir(), 1);
    n_devices = count_devices();
    return 0;
}

typedef struct run_metrics {
    double loss, score; /* score: test accuracy in percent, or test perplexity */
    int perplexity;
} run_metrics;

/* The number after "key": in a --metrics line, or NAN. */
static double json_field(const char *json, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *at = strstr(json, pattern);
    return at ? strtod(at + strlen(pattern), NULL) : NAN;
}

static run_metrics train_on(const char *model, const char *name, int device)
{
    const char *metrics = ts_fmt("%s/%s-%d.json", ts_tmpdir(), name, device);
    char *out = cli_run_expect(0, "train '%s' --device %d --max-steps %d --epochs 1 "
                                  "--batch %d --seed 3 --metrics '%s'",
                               model, device, STEPS, BATCH, metrics);
    free(out);
    char *json = cli_read_file(metrics, NULL);
    assert_non_null(json);
    run_metrics m = {json_field(json, "train_loss"), json_field(json, "test_accuracy"), 0};
    if (isnan(m.score)) {
        m.score = json_field(json, "test_perplexity");
        m.perplexity = 1;
    }
    free(json);
    if (!isfinite(m.loss) || !isfinite(m.score))
        fail_msg("%s on device %d: no finite train_loss and test score in %s", name,
                 device, metrics);
    return m;
}

static void test_same_losses(void **state)
{
    const char *path = *state, *slash = strrchr(path, '/');
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(slash + 1, "."), slash + 1);
    if (n_devices < 2)
        skip();
    /* the Fashion-MNIST models read the images above instead; the others
     * read "@data/NAME", QSDC_DATA_DIR */
    char model[CLI_PATH_MAX], *text = cli_read_file(path, NULL);
    assert_non_null(text);
    if (strstr(text, "data: fashion-mnist"))
        cli_model_variant(path, ts_fmt("%s.yaml", name), "data: fashion-mnist",
                          fashion_data, model);
    else
        snprintf(model, sizeof model, "%s", path);
    free(text);
    run_metrics ref = train_on(model, name, 0);
    for (int d = 1; d < n_devices; d++) {
        run_metrics m = train_on(model, name, d);
        double loss_diff = fabs(m.loss - ref.loss) / fabs(ref.loss);
        /* one test sample of IMAGES_TEST, or 1e-4 of a perplexity */
        double score_tol = m.perplexity ? 1e-4 * ref.score : 100.0 / IMAGES_TEST + 1e-9;
        printf("  %-32s device %d: loss %.6f (device 0: %.6f, rel diff %.1e), "
               "test %s %.4f (%.4f)\n", name, d, m.loss, ref.loss, loss_diff,
               m.perplexity ? "perplexity" : "accuracy", m.score, ref.score);
        if (loss_diff > 1e-4 || fabs(m.score - ref.score) > score_tol)
            fail_msg("%s: device %d trains to loss %.6f, test %.4f; device 0 to %.6f, %.4f",
                     name, d, m.loss, m.score, ref.loss, ref.score);
    }
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Model files, or those QSDC_TEST_MODELS names (space-separated fnmatch
 * patterns such as "mlp_*_qsd.yaml lstm_kjv_qsd.yaml"). */
static int is_model(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    if (n <= 5 || strcmp(e->d_name + n - 5, ".yaml") != 0)
        return 0;
    const char *only = getenv("QSDC_TEST_MODELS");
    if (!only || !only[0])
        return 1;
    char patterns[1024];
    snprintf(patterns, sizeof patterns, "%s", only);
    for (char *save, *p = strtok_r(patterns, " ", &save); p; p = strtok_r(NULL, " ", &save))
        if (fnmatch(p, e->d_name, 0) == 0)
            return 1;
    return 0;
}

int main(void)
{
    const char *dir = ts_fmt("%s/models", ts_source_root());
    struct dirent **entries;
    int n = scandir(dir, &entries, is_model, by_name);
    if (n < 1 || n > MAX_MODELS) {
        fprintf(stderr, "%s: %d model files (want 1 to %d)\n", dir, n, MAX_MODELS);
        return 1;
    }
    static struct CMUnitTest tests[MAX_MODELS];
    static char paths[MAX_MODELS][CLI_PATH_MAX];
    for (int i = 0; i < n; i++) {
        snprintf(paths[i], CLI_PATH_MAX, "%s/%s", dir, entries[i]->d_name);
        tests[i] = (struct CMUnitTest){.name = entries[i]->d_name,
                                       .test_func = test_same_losses,
                                       .initial_state = paths[i]};
    }
    int failed = _cmocka_run_group_tests("example_models", tests, (size_t)n, setup_data,
                                         ts_teardown);
    for (int i = 0; i < n; i++)
        free(entries[i]);
    free(entries);
    return failed;
}
