/* qsdc predict on a text model, end to end: training with --checkpoint
 * saves the vocabulary next to checkpoint.bin; raw sentences are tokenised
 * with it and their predictions follow what they say; token ids in an
 * integer .npy give the same outputs as the text they encode; anything
 * else (IDX bytes, floats) is refused, as is raw text for a numeric model
 * or without a checkpoint. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_fixture.h"
#include "support.h"

static char model[CLI_PATH_MAX], ckpt[CLI_PATH_MAX];

/* Positive rows say "good", negative ones "bad", among shared filler; a
 * small LSTM learns it within a few epochs. */
static int train_sentiment(void **state)
{
    (void)state;
    cli_env_init();
    static const char *const filler[] = {"the", "film", "was", "a", "plot", "very"};
    static char csv[400 * 64];
    size_t used = 0;
    uint32_t r = 7;
    for (int i = 0; i < 400; i++) {
        bool pos = i % 2 == 0;
        r = r * 1103515245u + 12345u;
        int words = 2 + (int)(r >> 16) % 5, at = (int)(r >> 8) % words;
        used += (size_t)snprintf(csv + used, sizeof csv - used, "%s,\"", pos ? "1" : "-1");
        for (int w = 0; w < words; w++)
            used += (size_t)snprintf(csv + used, sizeof csv - used, "%s%s", w ? " " : "",
                                     w == at ? (pos ? "good" : "bad")
                                             : filler[(r >> (w + 3)) % 6]);
        used += (size_t)snprintf(csv + used, sizeof csv - used, "\"\r\n");
    }
    char data[CLI_PATH_MAX];
    cli_write_file("sentiment.csv", (const uint8_t *)csv, used, 0, data);
    char yaml[4096];
    int n = snprintf(yaml, sizeof yaml,
                     "name: sentiment\ninput: {shape: [8], dtype: int32}\n"
                     "layers:\n  - {op: embedding, vocab: 12, dim: 8}\n"
                     "  - {op: lstm, units: 16, return: last}\n  - {op: dense, units: 2}\n"
                     "  - softmax\n"
                     "train:\n  data: {format: sentiment, csv: %s, vocab: 10, "
                     "test_split: 0.25}\n"
                     "  batch: 10\n  epochs: 6\n  optimizer: {type: adam, lr: 0.02}\n", data);
    cli_write_file("sentiment.yaml", (const uint8_t *)yaml, (size_t)n, 0, model);
    snprintf(ckpt, sizeof ckpt, "%s/sentiment-ckpt", ts_tmpdir());
    return cli_setup_run("test accuracy", "train '%s' --checkpoint '%s'", model, ckpt);
}

/* Predicts the lines of text; returns the CSV's class column as a string. */
static void predict_classes(const char *name, const char *text, char *classes)
{
    char in[CLI_PATH_MAX];
    cli_write_file(name, (const uint8_t *)text, strlen(text), 0, in);
    const char *out = ts_fmt("%s/%s.csv", ts_tmpdir(), name);
    free(cli_run_expect(0, "predict '%s' --checkpoint '%s' --data '%s' -o '%s'", model, ckpt,
                        in, out));
    char *csv = cli_read_file(out, NULL);
    assert_non_null(csv);
    int k = 0;
    for (char *line = strchr(csv, '\n'); line && line[1]; line = strchr(line + 1, '\n'))
        classes[k++] = line[1];
    classes[k] = '\0';
    free(csv);
}

static void test_vocab_saved(void **state)
{
    (void)state;
    char *vocab = cli_read_file(ts_fmt("%s/vocab.txt", ckpt), NULL);
    assert_non_null(vocab);
    cli_expect(vocab, "qsdc vocab 1\nlevel word\nkeep first\nunk 1\ntokens 10\nchecksum ");
    cli_expect(vocab, "\n<pad>\n<unk>\n");
    cli_expect(vocab, "\ngood\n");
    free(vocab);
}

static void test_raw_text_predicts(void **state)
{
    (void)state;
    char a[16], b[16];
    predict_classes("texts-a.txt", "a very good film\nthe plot was bad\nGood.\n", a);
    assert_string_equal(a, "101");
    predict_classes("texts-b.txt", "the plot was bad\na very good film\nbad, bad film\n", b);
    assert_string_equal(b, "010");
}

static void test_token_ids(void **state)
{
    (void)state;
    /* "good film" and "bad", as vocab.txt numbers them, padded with -1 */
    char *vocab = cli_read_file(ts_fmt("%s/vocab.txt", ckpt), NULL);
    const char *tokens = strstr(vocab, "\n<pad>\n") + 1;
    int good = -1, film = -1, bad = -1, id = 0;
    for (const char *t = tokens; *t; t = strchr(t, '\n') + 1, id++) {
        good = !strncmp(t, "good\n", 5) ? id : good;
        film = !strncmp(t, "film\n", 5) ? id : film;
        bad = !strncmp(t, "bad\n", 4) ? id : bad;
    }
    free(vocab);
    int32_t ids[16] = {good, film, -1, -1, -1, -1, -1, -1, bad, -1, -1, -1, -1, -1, -1, -1};
    char header[128], in[CLI_PATH_MAX];
    int n = snprintf(header, sizeof header, "{'descr': '<i4', 'fortran_order': False, "
                     "'shape': (2, 8), }");
    uint8_t file[128 + sizeof ids];
    memcpy(file, "\x93NUMPY\x01\x00\x76\x00", 10);
    memset(file + 10, ' ', 117);
    memcpy(file + 10, header, (size_t)n);
    file[127] = '\n';
    memcpy(file + 128, ids, sizeof ids);
    cli_write_file("ids.npy", file, sizeof file, 0, in);
    char *out = cli_run_expect(0, "predict '%s' --checkpoint '%s' --data '%s' -o '%s/ids.csv'",
                               model, ckpt, in, ts_tmpdir());
    free(out);
    char *csv = cli_read_file(ts_fmt("%s/ids.csv", ts_tmpdir()), NULL);
    assert_int_equal(strncmp(csv, "class,p0,p1\n1,", 14), 0);
    assert_non_null(strstr(csv, "\n0,"));
    free(csv);
}

static void test_refusals(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = cli_idx_images(4, 8, 1, 1, &len);  /* [4, 8] bytes: the input's size */
    char idx[CLI_PATH_MAX];
    cli_write_file("bytes.idx", b, len, 0, idx);
    free(b);
    char *out = cli_run_expect(1, "infer '%s' --checkpoint '%s' --data '%s'", model, ckpt, idx);
    cli_expect(out, ts_fmt("%s: %s is a text model: it takes token ids (an int32 or int64 "
                           ".npy) or raw text (.txt, one text per line), not numbers", idx,
                           model));
    free(out);
    char txt[CLI_PATH_MAX];
    cli_write_file("one.txt", (const uint8_t *)"good\n", 5, 0, txt);
    out = cli_run_expect(1, "infer '%s' --data '%s'", model, txt);
    cli_expect(out, "raw text is tokenised with the vocabulary saved with a checkpoint");
    free(out);
    cli_files task;
    cli_write_task("numeric", &task);
    out = cli_run_expect(1, "infer '%s' --data '%s'", task.model, txt);
    cli_expect(out, ts_fmt("%s: raw text is input for a text model", txt));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vocab_saved),
        cmocka_unit_test(test_raw_text_predicts),
        cmocka_unit_test(test_token_ids),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, train_sentiment, ts_teardown);
}
