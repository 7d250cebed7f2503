/* Sentiment CSV: RFC 4180 quoting (commas, line breaks and "" inside quotes,
 * CRLF rows, a byte order mark), labels to classes, the vocabulary's cap,
 * truncation and padding (and the padding id of the training samples), the
 * seeded split, every error with the path:line:col it must name, and no
 * crash on any prefix or byte flip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"
#include "support.h"
#include "text.h"

static const char *write_csv(const char *name, const char *text)
{
    return ts_write(name, text, strlen(text));
}

static sentiment_options opts(int64_t cap, int64_t max_len, double test_frac)
{
    return (sentiment_options){.vocab_cap = cap, .max_len = max_len,
                               .test_frac = test_frac, .seed = 1};
}

static void load_ok(const char *path, const sentiment_options *opt,
                    sentiment_data *d)
{
    qsdc_error err = {{0}};
    if (sentiment_load(path, opt, d, &err) != 0)
        fail_msg("sentiment_load: %s", err.message);
}

static void expect_error(const char *path, const sentiment_options *opt,
                         const char *want)
{
    sentiment_data d;
    qsdc_error err = {{0}};
    int rc = sentiment_load(path, opt, &d, &err);
    ts_expect_failure("sentiment_load", rc, err.message, want);
}

/* Sample i as "label|word word ...", after checking its padding. */
static const char *sample_text(const text_vocab *v, const text_samples *s,
                               int64_t i)
{
    static char buf[512];
    const int32_t *ids = s->ids + i * s->max_len;
    int32_t n = s->lengths[i];
    assert_true(n >= 1 && n <= s->max_len);
    int used = snprintf(buf, sizeof buf, "%d|", s->labels[i]);
    for (int32_t t = 0; t < n; t++) {
        assert_true(ids[t] > SENT_PAD && ids[t] < v->size);
        used += snprintf(buf + used, sizeof buf - (size_t)used, "%s%s",
                         t ? " " : "", v->words[ids[t]]);
        assert_true((size_t)used < sizeof buf);
    }
    for (int64_t t = n; t < s->max_len; t++)
        assert_int_equal(ids[t], SENT_PAD);
    return buf;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The samples of both splits, sorted, must be exactly want[0..n). */
static void expect_samples(const sentiment_data *d, const char **want, int n)
{
    assert_int_equal(d->train.count + d->test.count, n);
    char *got[16];
    assert_true(n <= 16);
    for (int64_t i = 0; i < n; i++) {
        const text_samples *s = i < d->train.count ? &d->train : &d->test;
        int64_t k = i < d->train.count ? i : i - d->train.count;
        got[i] = strdup(sample_text(&d->vocab, s, k));
    }
    qsort(got, (size_t)n, sizeof *got, by_string);
    for (int i = 0; i < n; i++) {
        if (strcmp(got[i], want[i]) != 0)
            fail_msg("sample %d: got \"%s\", want \"%s\"", i, got[i], want[i]);
        free(got[i]);
    }
}

static void test_quoting(void **state)
{
    (void)state;
    const char *p = write_csv("quoting.csv",
        "\xEF\xBB\xBF\"1\",\"Hello, world\"\r\n"
        "\"-1\",\"She said \"\"no\"\", twice\"\r\n"
        "\r\n"
        "1,unquoted Text here\n"
        "\n"
        "-1,\"multi\nline \"\"text\"\"\"\n"
        "\"1\",plain");
    sentiment_options opt = opts(100, 10, 0);
    sentiment_data d;
    load_ok(p, &opt, &d);
    const char *want[] = {
        "0|multi line \" text \"",
        "0|she said \" no \" , twice",
        "1|hello , world",
        "1|plain",
        "1|unquoted text here",
    };
    expect_samples(&d, want, 5);
    assert_int_equal(d.test.count, 0);
    sentiment_free(&d);
}

static void test_vocab_cap(void **state)
{
    (void)state;
    /* Counts: x 3, y 2, z 1; with a cap of 2, z is <unk>. */
    const char *p = write_csv("cap.csv", "1,x x y\n-1,\"y, z x\"\n");
    sentiment_options opt = opts(2, 10, 0);
    sentiment_data d;
    load_ok(p, &opt, &d);
    assert_int_equal(d.vocab.size, 4);
    assert_string_equal(d.vocab.words[SENT_PAD], "<pad>");
    assert_string_equal(d.vocab.words[SENT_UNK], "<unk>");
    assert_string_equal(d.vocab.words[2], "x");
    assert_string_equal(d.vocab.words[3], "y");
    const char *want[] = {"0|y <unk> <unk> x", "1|x x y"};
    expect_samples(&d, want, 2);
    sentiment_free(&d);
}

static void test_truncation_and_padding(void **state)
{
    (void)state;
    const char *p = write_csv("trunc.csv", "1,a b c d e\n-1,z\n");
    sentiment_options opt = opts(10, 3, 0);
    sentiment_data d;
    load_ok(p, &opt, &d);
    const char *want[] = {"0|z", "1|a b c"};
    expect_samples(&d, want, 2);   /* checks the <pad> after each length */
    for (int64_t i = 0; i < d.train.count; i++)
        assert_int_equal(d.train.lengths[i], d.train.labels[i] ? 3 : 1);
    sentiment_free(&d);
    opt.keep_last = true;
    load_ok(p, &opt, &d);
    const char *last[] = {"0|z", "1|c d e"};
    expect_samples(&d, last, 2);
    sentiment_free(&d);
}

/* As training samples (format: sentiment): each text's ids, then the
 * padding id up to the model's steps. */
static void test_dataset_padding(void **state)
{
    (void)state;
    train_config t;
    memset(&t, 0, sizeof t);
    snprintf(t.text_path, sizeof t.text_path, "%s", write_csv("pad.csv", "1,a b\n-1,c\n"));
    t.vocab = 10;
    t.seed = 1;
    dataset ds;
    qsdc_error err = {{0}};
    if (sentiment_dataset_load(&t, false, 2, 4, &ds, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(ds.count, 2);
    assert_int_equal(ds.sample_elems, 4);
    for (int64_t i = 0; i < 2; i++) {
        int64_t words = ds.y[i] ? 2 : 1;
        for (int64_t k = 0; k < 4; k++) {
            float id = ds.x[i * 4 + k];
            if (k < words)
                assert_true(id > SENT_UNK && id < 5);
            else
                assert_true(id == (float)QSDC_PAD_ID);
        }
    }
    dataset_free(&ds);
}

/* 20 rows "label,uK common" with label K % 2. The rows' own words show
 * which went to training; the test rows' must all be <unk>. */
static void split_rows(const sentiment_data *d, int in_train[20])
{
    memset(in_train, 0, 20 * sizeof *in_train);
    for (int64_t i = 0; i < d->train.count; i++) {
        const int32_t *ids = d->train.ids + i * d->train.max_len;
        int k = atoi(d->vocab.words[ids[0]] + 1);
        assert_true(k >= 0 && k < 20 && !in_train[k]);
        in_train[k] = 1;
        assert_int_equal(d->train.labels[i], k % 2);
        assert_string_equal(d->vocab.words[ids[1]], "common");
    }
    int test_pos = 0, want_pos = 0;
    for (int64_t i = 0; i < d->test.count; i++) {
        assert_int_equal(d->test.ids[i * d->test.max_len], SENT_UNK);
        test_pos += d->test.labels[i];
    }
    for (int k = 0; k < 20; k++)
        want_pos += !in_train[k] && k % 2;
    assert_int_equal(test_pos, want_pos);
}

static void test_seeded_split(void **state)
{
    (void)state;
    char text[512] = "";
    for (int k = 0; k < 20; k++)
        snprintf(text + strlen(text), sizeof text - strlen(text),
                 "%s,u%d common\n", k % 2 ? "1" : "-1", k);
    const char *p = write_csv("split.csv", text);
    sentiment_options opt = opts(100, 4, 0.25);
    sentiment_data a, b, c;
    load_ok(p, &opt, &a);
    load_ok(p, &opt, &b);
    opt.seed = 2;
    load_ok(p, &opt, &c);
    assert_int_equal(a.test.count, 5);
    assert_int_equal(a.train.count, 15);
    assert_int_equal(a.vocab.size, 2 + 15 + 1);

    int ta[20], tb[20], tc[20], first_15 = 1, last_15 = 1;
    split_rows(&a, ta);
    split_rows(&b, tb);
    split_rows(&c, tc);
    assert_memory_equal(ta, tb, sizeof ta);
    assert_memory_equal(a.train.ids, b.train.ids,
                        (size_t)(15 * 4) * sizeof(int32_t));
    assert_true(memcmp(ta, tc, sizeof ta) != 0);
    for (int k = 0; k < 20; k++) {
        first_15 &= ta[k] == (k < 15);
        last_15 &= ta[k] == (k >= 5);
    }
    assert_false(first_15 || last_15);   /* the rows were shuffled */
    sentiment_free(&a);
    sentiment_free(&b);
    sentiment_free(&c);
}

static void test_errors(void **state)
{
    (void)state;
    sentiment_options opt = opts(10, 8, 0);
    static const struct {
        const char *text;
        const char *want;   /* after "path:" */
    } cases[] = {
        {"1,ok\n-1\n", "2:3: error: missing column: rows are label,text but "
                       "this one ends after the label"},
        {"1,ok\r\n\"-1\"\r\n", "2:5: error: missing column: rows are "
                               "label,text but this one ends after the label"},
        {"1,a,b\n", "1:4: error: a third field; rows are label,text (quote a "
                    "text that holds commas)"},
        {"1,ok\n0,text\n", "2:1: error: unknown label \"0\" (expected 1 for "
                           "positive or -1 for negative)"},
        {"\"1\",\"a\nb\nc\"\n\"pos\",x\n", "4:1: error: unknown label "
                                          "\"pos\" (expected 1 for positive "
                                          "or -1 for negative)"},
        {"abcdefghijklmnopqrstuvwxyz,x\n", "1:1: error: unknown label "
                                           "\"abcdefghijklmnopqrstuvwx\"... "
                                           "(expected 1 for positive or -1 "
                                           "for negative)"},
        {"1,say \"hi\"\n", "1:7: error: bad quoting: a quote inside an "
                           "unquoted field (quote the whole field and write "
                           "the quote as \"\")"},
        {"1,\"a\"b\n", "1:6: error: bad quoting: 'b' after a closing quote (a "
                       "quote inside a quoted field is written \"\")"},
        {"1,ok\n-1,\"never\nclosed\n", "2:4: error: bad quoting: the quoted "
                                       "field opened here is not closed "
                                       "before the end of the file"},
        {"1,ok\n-1,caf\xC3\n", "2:7: error: invalid UTF-8: byte 0x0A at "
                               "offset 12 cannot follow 0xC3 in a character"},
        {"1,\"\"\n", "1:3: error: the text has no tokens"},
        {"1,ok\n-1,  \n", "2:4: error: the text has no tokens"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = write_csv(ts_fmt("err%zu.csv", i), cases[i].text);
        char want[1400];
        snprintf(want, sizeof want, "%s:%s", p, cases[i].want);
        expect_error(p, &opt, want);
    }

    char missing[1200];
    snprintf(missing, sizeof missing, "%s/none.csv", ts_tmpdir());
    expect_error(missing, &opt, ts_fmt("%s: cannot open: No such file or "
                                    "directory", missing));
    const char *p = write_csv("empty.csv", "");
    expect_error(p, &opt, ts_fmt("%s: no rows", p));
    p = write_csv("blank.csv", "\xEF\xBB\xBF\r\n\n\r\n");
    expect_error(p, &opt, ts_fmt("%s: no rows", p));
    p = write_csv("one.csv", "1,just one\n");
    sentiment_options bad = opts(10, 8, 0.5);
    expect_error(p, &bad, ts_fmt("%s: the training split is empty (a test "
                              "fraction of 0.5 takes all 1 rows)", p));
    bad = opts(0, 8, 0);
    expect_error(p, &bad, ts_fmt("%s: vocabulary cap 0 must be at least 1", p));
    bad = opts(10, 0, 0);
    expect_error(p, &bad, ts_fmt("%s: maximum length 0 must be 1 to 2147483647",
                              p));
    bad = opts(10, 8, 1);
    expect_error(p, &bad, ts_fmt("%s: test fraction 1 must be in [0, 1)", p));
    bad = opts(10, 8, NAN);
    expect_error(p, &bad, ts_fmt("%s: test fraction nan must be in [0, 1)", p));
}

/* Only regular files are read, a FIFO without waiting for a writer and
 * /dev/zero without growing a buffer; a file or its rows past the data
 * limit are refused before they are read or expanded. */
static void test_file_kinds_and_limits(void **state)
{
    (void)state;
    sentiment_options opt = opts(10, 8, 0);
    expect_error(ts_tmpdir(), &opt, ts_fmt("%s: cannot open: is a directory", ts_tmpdir()));
    expect_error("/dev/zero", &opt, "/dev/zero: cannot open: not a regular file (a "
                                    "character device)");
    const char *fifo = ts_fifo("rows.fifo");
    expect_error(fifo, &opt, ts_fmt("%s: cannot open: not a regular file (a FIFO)", fifo));

    setenv("QSDC_MAX_DATA_MIB", "1", 1);
    const char *p = ts_write("big.csv", "", 0);
    assert_int_equal(truncate(p, (2 << 20) + 5), 0);
    expect_error(p, &opt, ts_fmt("%s: file too large (2097157 bytes, limit 1 MiB)", p));
    p = write_csv("long.csv", "1,a\n-1,b\n1,c\n");
    sentiment_options wide = opts(10, 100000, 0);
    expect_error(p, &wide, ts_fmt("%s: 3 rows of 100000 tokens would take 3 MiB of memory, "
                                  "over the limit of 1 MiB (QSDC_MAX_DATA_MIB raises it)",
                                  p));
    unsetenv("QSDC_MAX_DATA_MIB");
}

/* Either it loads with every id in range and every length and label valid,
 * or it fails with a message. */
static void load_anything(const unsigned char *data, size_t len)
{
    const char *p = ts_write("fuzz.csv", data, len);
    sentiment_options opt = opts(3, 4, 0.3);
    sentiment_data d;
    qsdc_error err = {{0}};
    if (sentiment_load(p, &opt, &d, &err) != 0) {
        assert_true(err.message[0] != '\0');
        return;
    }
    assert_true(d.vocab.size >= 2 && d.vocab.size <= 5);
    const text_samples *splits[] = {&d.train, &d.test};
    for (int k = 0; k < 2; k++)
        for (int64_t i = 0; i < splits[k]->count; i++) {
            assert_true(splits[k]->labels[i] == 0 || splits[k]->labels[i] == 1);
            sample_text(&d.vocab, splits[k], i);
        }
    sentiment_free(&d);
}

static const char sample[] =
    "\xEF\xBB\xBF\"1\",\"good, \"\"great\"\" film\"\r\n"
    "\"-1\",\"bad\nplot — naïve\"\r\n"
    "1,fine\n"
    "-1,\"dull\"";

static void test_mutations(void **state)
{
    (void)state;
    ts_each_mutation(sample, sizeof sample - 1, load_anything);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_vocab_cap),
        cmocka_unit_test(test_truncation_and_padding),
        cmocka_unit_test(test_dataset_padding),
        cmocka_unit_test(test_seeded_split),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_file_kinds_and_limits),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
