/* The vocabulary saved with a text model's checkpoint and raw text read with
 * it: the file round-trips, a damaged one is refused by its checksum with
 * path and offset, and each line is tokenised as training tokenised its
 * data (case folding, <unk>, the kept end of a long text, padding), with
 * errors naming path, line and offset; no crash on any prefix or byte flip
 * of either file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "support.h"
#include "text.h"

static char *words[] = {"<pad>", "<unk>", "good", "film", "bad", ",", "caf\xc3\xa9"};
static const text_vocab vocab = {.size = 7, .words = words};

static const char *save(vocab_settings s)
{
    qsdc_error err = {""};
    if (vocab_file_write(ts_tmpdir(), &vocab, &s, &err) < 0)
        fail_msg("%s", err.message);
    return ts_fmt("%s/vocab.txt", ts_tmpdir());
}

static void test_round_trip(void **state)
{
    (void)state;
    save((vocab_settings){.level = TEXT_CHARS, .keep_last = true, .unk = 1});
    text_vocab v;
    vocab_settings s;
    qsdc_error err = {""};
    assert_int_equal(vocab_file_read(ts_tmpdir(), &v, &s, &err), 0);
    assert_int_equal(v.size, 7);
    for (int i = 0; i < 7; i++)
        assert_string_equal(v.words[i], words[i]);
    assert_true(s.level == TEXT_CHARS && s.keep_last && s.unk == 1);
    text_vocab_free(&v);
}

static void test_damaged(void **state)
{
    (void)state;
    const char *path = save((vocab_settings){.level = TEXT_WORDS, .unk = 1});
    char *text = ts_read_stream(fopen(path, "rb"), NULL);
    char *good = strstr(text, "good\n");
    good[0] = 'G';
    ts_write("vocab.txt", text, strlen(text));
    text_vocab v;
    vocab_settings s;
    qsdc_error err = {""};
    ts_expect_failure_prefix(vocab_file_read(ts_tmpdir(), &v, &s, &err), err.message,
                             ts_fmt("%s: offset %ld: the tokens do not match the checksum",
                                    path, (long)(strstr(text, "<pad>") - text)));
    ts_write("vocab.txt", "qsdc vocab 2\n", 13);
    ts_expect_failure_prefix(vocab_file_read(ts_tmpdir(), &v, &s, &err), err.message,
                             ts_fmt("%s: offset 0: not a qsdc vocabulary of format 1", path));
    free(text);
}

static dataset load_lines(const char *text, int64_t steps)
{
    const char *p = ts_write("in.txt", text, strlen(text));
    dataset d;
    qsdc_error err = {""};
    if (text_lines_load(p, ts_tmpdir(), steps, &d, &err) < 0)
        fail_msg("%s", err.message);
    return d;
}

static void expect_ids(const dataset *d, int64_t row, const int *ids, int64_t steps)
{
    for (int64_t t = 0; t < steps; t++)
        if (d->x[row * steps + t] != (float)ids[t])
            fail_msg("row %lld step %lld: %g, want %d", (long long)row, (long long)t,
                     (double)d->x[row * steps + t], ids[t]);
}

static void test_tokenised_as_training(void **state)
{
    (void)state;
    save((vocab_settings){.level = TEXT_WORDS, .unk = 1});
    dataset d = load_lines("\xEF\xBB\xBFGood film, CAF\xc3\xa9\r\nbad plot\nfilm\n", 4);
    assert_int_equal(d.count, 3);
    assert_true(d.integers && d.sample_elems == 4 && !d.y);
    /* ASCII letters fold ("CAFé" is "café"), "plot" is <unk> */
    expect_ids(&d, 0, (int[]){2, 3, 5, 6}, 4);
    expect_ids(&d, 1, (int[]){4, 1, QSDC_PAD_ID, QSDC_PAD_ID}, 4);
    expect_ids(&d, 2, (int[]){3, QSDC_PAD_ID, QSDC_PAD_ID, QSDC_PAD_ID}, 4);
    dataset_free(&d);
    save((vocab_settings){.level = TEXT_WORDS, .keep_last = true, .unk = 1});
    d = load_lines("bad bad good film, bad", 2);
    expect_ids(&d, 0, (int[]){5, 4}, 2);
    dataset_free(&d);
}

static void test_errors(void **state)
{
    (void)state;
    save((vocab_settings){.level = TEXT_WORDS, .unk = 1});
    const char *p = ts_write("in.txt", "good\n\nfilm\n", 11);
    dataset d;
    qsdc_error err = {""};
    ts_expect_failure_prefix(text_lines_load(p, ts_tmpdir(), 4, &d, &err), err.message,
                             ts_fmt("%s:2:1: offset 5: a line without tokens", p));
    p = ts_write("in.txt", "good \xc3\x28\n", 8);
    assert_int_equal(text_lines_load(p, ts_tmpdir(), 4, &d, &err), -1);
    assert_non_null(strstr(err.message, ts_fmt("%s:1:6", p)));
    p = ts_write("in.txt", "", 0);
    ts_expect_failure_prefix(text_lines_load(p, ts_tmpdir(), 4, &d, &err), err.message,
                             ts_fmt("%s: offset 0: no texts", p));
    ts_expect_failure_prefix(text_lines_load(p, "/nonexistent", 4, &d, &err), err.message,
                             "/nonexistent holds no vocabulary for raw text");
}

static void load_vocab_anything(const unsigned char *data, size_t len)
{
    ts_write("vocab.txt", data, len);
    text_vocab v;
    vocab_settings s;
    qsdc_error err = {""};
    if (vocab_file_read(ts_tmpdir(), &v, &s, &err) < 0) {
        assert_non_null(strstr(err.message, "vocab.txt"));
        return;
    }
    assert_true(v.size >= 1 && s.unk >= 0 && s.unk < v.size);
    text_vocab_free(&v);
}

static void test_mutations(void **state)
{
    (void)state;
    const char *path = save((vocab_settings){.level = TEXT_WORDS, .unk = 1});
    size_t len;
    char *text = ts_read_stream(fopen(path, "rb"), &len);
    ts_each_mutation(text, len, load_vocab_anything);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_damaged),
        cmocka_unit_test(test_tokenised_as_training),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
