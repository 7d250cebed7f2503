/* Language-modelling corpus: the tokeniser's rules token by token, the
 * vocabulary's cap and tie order, the line splits, the contiguous-stream
 * batches checked against their definition, the unigram perplexity against
 * hand-computed values, every error with the path:line:col it must name,
 * and no crash on any prefix or byte flip of a valid file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "support.h"
#include "text.h"

static const char *write_text(const char *name, const char *text)
{
    return ts_write(name, text, strlen(text));
}

static text_options words_opt(int64_t cap, double train, double valid)
{
    return (text_options){.level = TEXT_WORDS, .vocab_cap = cap,
                          .train_frac = train, .valid_frac = valid};
}

static void load_ok(const char *path, const text_options *opt, text_corpus *c)
{
    qsdc_error err = {{0}};
    if (text_corpus_load(path, opt, c, &err) != 0)
        fail_msg("text_corpus_load: %s", err.message);
}

static void expect_error(const char *path, const text_options *opt,
                         const char *want)
{
    text_corpus c;
    qsdc_error err = {{0}};
    int rc = text_corpus_load(path, opt, &c, &err);
    ts_expect_failure("text_corpus_load", rc, err.message, want);
}

/* The tokens of s, joined by '|'. */
static const char *tokens_of(const char *s, text_level level)
{
    static char buf[512];
    unsigned char copy[256];
    size_t n = strlen(s), pos = 0, start, len, used = 0;
    assert_true(n < sizeof copy);
    memcpy(copy, s, n);
    if (level == TEXT_WORDS)
        text_lower_ascii(copy, n);
    buf[0] = '\0';
    while (text_next_token(copy, n, level, &pos, &start, &len)) {
        assert_true(used + len + 2 < sizeof buf);
        if (used)
            buf[used++] = '|';
        memcpy(buf + used, copy + start, len);
        used += len;
        buf[used] = '\0';
    }
    return buf;
}

static void test_word_tokens(void **state)
{
    (void)state;
    assert_string_equal(tokens_of("Hello, World!  Don't", TEXT_WORDS),
                        "hello|,|world|!|don|'|t");
    assert_string_equal(tokens_of("in 1611: 3.14 2nd 12-part", TEXT_WORDS),
                        "in|1611|:|3|.|14|2nd|12|-|part");
    assert_string_equal(tokens_of("<unk> \"Q\"(x)", TEXT_WORDS),
                        "<|unk|>|\"|q|\"|(|x|)");
    /* Non-ASCII code points join words and are not case-folded. */
    assert_string_equal(tokens_of("CAFÉ naïve É", TEXT_WORDS),
                        "cafÉ|naïve|É");
    /* Tabs, CR and other control bytes only separate. */
    assert_string_equal(tokens_of("a\tb\rc\x01" "d\x7f" "e", TEXT_WORDS),
                        "a|b|c|d|e");
    assert_string_equal(tokens_of(" \t ", TEXT_WORDS), "");
}

static void test_char_tokens(void **state)
{
    (void)state;
    assert_string_equal(tokens_of("Ab c\té€😀", TEXT_CHARS),
                        "A|b| |c|é|€|😀");
    assert_string_equal(tokens_of("\r\x01", TEXT_CHARS), "");
}

/* Each id of a split as its vocabulary string, joined by ' '. */
static const char *split_words(const text_corpus *c, int k)
{
    static char buf[2048];
    size_t used = 0;
    buf[0] = '\0';
    for (int64_t i = 0; i < c->split[k].count; i++) {
        int32_t id = c->split[k].ids[i];
        assert_true(id >= 0 && id < c->vocab.size);
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s",
                                 i ? " " : "", c->vocab.words[id]);
        assert_true(used < sizeof buf);
    }
    return buf;
}

static const char *vocab_words(const text_corpus *c)
{
    static char buf[1024];
    size_t used = 0;
    for (int32_t i = 0; i < c->vocab.size; i++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s",
                                 i ? " " : "", c->vocab.words[i]);
    return buf;
}

static void test_vocab_cap_and_unk(void **state)
{
    (void)state;
    /* Counts: a 2, b 2, c 1, d 1, e 1; ties go byte-wise. */
    const char *path = write_text("cap.txt", "b a c B A d\ne\n");
    text_options opt = words_opt(3, 1, 0);
    text_corpus c;
    load_ok(path, &opt, &c);
    assert_string_equal(vocab_words(&c), "<unk> <eos> a b c");
    assert_string_equal(split_words(&c, TEXT_TRAIN),
                        "b a c b a <unk> <eos> <unk> <eos>");
    assert_int_equal(c.split[TEXT_TRAIN].ids[0], 3);
    assert_int_equal(c.split[TEXT_TRAIN].ids[5], TEXT_UNK);
    assert_int_equal(c.split[TEXT_TRAIN].ids[6], TEXT_EOS);
    assert_int_equal(c.split[TEXT_TRAIN].lines, 2);
    text_corpus_free(&c);

    opt.vocab_cap = 100;   /* more than the 5 distinct words */
    load_ok(path, &opt, &c);
    assert_string_equal(vocab_words(&c), "<unk> <eos> a b c d e");
    text_corpus_free(&c);
}

/* A shorter string sorts before its extensions; first appearance and hash
 * order play no part. */
static void test_vocab_order_deterministic(void **state)
{
    (void)state;
    text_options opt = words_opt(10, 1, 0);
    const char *texts[] = {"ab b a zz zz\n", "zz a b zz ab\n", "a\nzz ab\nb zz\n"};
    for (int i = 0; i < 3; i++) {
        text_corpus c;
        load_ok(write_text(ts_fmt("order%d.txt", i), texts[i]), &opt, &c);
        assert_string_equal(vocab_words(&c), "<unk> <eos> zz a ab b");
        text_corpus_free(&c);
    }
}

/* 20 lines "wK common" and blank, CRLF and whitespace-only lines between
 * them: 18 training, 1 validation, 1 test line. */
static void test_splits(void **state)
{
    (void)state;
    char text[1024] = "\xEF\xBB\xBF";
    for (int i = 0; i < 20; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text),
                 "W%d common%s", i, i % 3 == 0 ? "\r\n \t\n\n" : "\n");
    text_options opt = words_opt(1000, 0.9, 0.05);
    text_corpus c;
    load_ok(write_text("splits.txt", text), &opt, &c);
    int64_t want_lines[TEXT_SPLITS] = {18, 1, 1};
    for (int k = 0; k < TEXT_SPLITS; k++) {
        assert_int_equal(c.split[k].lines, want_lines[k]);
        assert_int_equal(c.split[k].count, 3 * want_lines[k]);
    }
    assert_int_equal(c.vocab.size, 2 + 18 + 1);
    char want[512] = "";
    for (int i = 0; i < 18; i++)
        snprintf(want + strlen(want), sizeof want - strlen(want),
                 "%sw%d common <eos>", i ? " " : "", i);
    assert_string_equal(split_words(&c, TEXT_TRAIN), want);
    /* Words seen only outside training are <unk>. */
    assert_string_equal(split_words(&c, TEXT_VALID), "<unk> common <eos>");
    assert_string_equal(split_words(&c, TEXT_TEST), "<unk> common <eos>");
    text_corpus_free(&c);

    /* Validation takes what is left when the rounded fractions overshoot:
     * 3 lines at 0.5 / 0.5 round to 2 and 2. */
    opt = words_opt(10, 0.5, 0.5);
    load_ok(write_text("three.txt", "a\nb\nc\n"), &opt, &c);
    assert_int_equal(c.split[TEXT_TRAIN].lines, 2);
    assert_int_equal(c.split[TEXT_VALID].lines, 1);
    assert_int_equal(c.split[TEXT_TEST].lines, 0);
    text_corpus_free(&c);
}

static void test_char_level_corpus(void **state)
{
    (void)state;
    text_options opt = {.level = TEXT_CHARS, .vocab_cap = 3, .train_frac = 1};
    text_corpus c;
    load_ok(write_text("chars.txt", "aab\r\n\nAé a\n"), &opt, &c);
    /* Counts: a 3, space 1, b 1, A 1, é 1; the tie of four goes byte-wise
     * (0x20 < 0x41 < 0x62 < 0xC3). */
    assert_string_equal(vocab_words(&c), "<unk> <eos> a   A");
    assert_int_equal(c.split[TEXT_TRAIN].lines, 2);
    assert_string_equal(split_words(&c, TEXT_TRAIN),
                        "a a <unk> <eos> A <unk>   a <eos>");
    text_corpus_free(&c);
}

/* One line of 22 words a00..a21 sorts into ids 2..23 in order, so id 2+k
 * is position k and position 22 is <eos>. */
static int32_t id_at(int64_t p)
{
    return p < 22 ? (int32_t)(2 + p) : TEXT_EOS;
}

static void test_lm_batches(void **state)
{
    (void)state;
    char text[256] = "";
    for (int i = 0; i < 22; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "a%02d ", i);
    text_options opt = words_opt(100, 1, 0);
    text_corpus c;
    load_ok(write_text("stream.txt", text), &opt, &c);
    const token_split *s = &c.split[TEXT_TRAIN];
    assert_int_equal(s->count, 23);

    /* 3 streams of 23 / 3 = 7 tokens; (7 - 1) / 2 = 3 batches of 2 steps. */
    enum { B = 3, T = 2, L = 7, N = 3 };
    assert_int_equal(lm_batch_count(s, B, T), N);
    int32_t x[N][B][T], y[N][B][T];
    qsdc_error err = {{0}};
    for (int i = 0; i < N; i++)
        assert_int_equal(lm_batch(s, B, T, i, &x[i][0][0], &y[i][0][0], &err), 0);
    for (int i = 0; i < N; i++)
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                int64_t p = b * L + i * T + t;
                assert_int_equal(x[i][b][t], id_at(p));
                assert_int_equal(y[i][b][t], id_at(p + 1));
                /* Targets are the inputs shifted by one, across batches. */
                if (t + 1 < T)
                    assert_int_equal(y[i][b][t], x[i][b][t + 1]);
                else if (i + 1 < N)
                    assert_int_equal(y[i][b][t], x[i + 1][b][0]);
            }

    assert_int_equal(lm_batch_count(s, 23, 1), 0);   /* streams of 1 token */
    assert_int_equal(lm_batch_count(s, 1, 22), 1);
    assert_int_equal(lm_batch_count(s, 1, 23), 0);
    assert_int_equal(lm_batch_count(s, 0, 1), 0);
    assert_int_equal(lm_batch(s, B, T, N, &x[0][0][0], &y[0][0][0], &err), -1);
    assert_string_equal(err.message, "language-model batch 3 is out of range: "
                        "23 tokens in 3 streams of 2 steps give 3 batches");
    assert_int_equal(lm_batch(s, B, 0, 0, &x[0][0][0], &y[0][0][0], &err), -1);
    assert_string_equal(err.message, "language-model batch of 3 streams by 0 "
                        "steps: both must be at least 1");
    text_corpus_free(&c);
}

/* Training "a a b <eos>": N = 4, V = 4 (<unk> <eos> a b). Test "a b <eos>"
 * under maximum likelihood: (1/2 * 1/4 * 1/4)^(-1/3) = 32^(1/3). Test
 * "a <unk> <eos>" with add-one: ((3/8)(1/8)(2/8))^(-1/3) = (512/6)^(1/3);
 * without smoothing <unk> has probability 0. The results go through a few
 * roundings of double arithmetic, so 1e-12 relative is ample. */
static void test_unigram_perplexity(void **state)
{
    (void)state;
    text_options opt = words_opt(10, 0.5, 0);
    text_corpus c;
    load_ok(write_text("uni1.txt", "a a b\na b\n"), &opt, &c);
    double ppl = text_unigram_perplexity(&c, TEXT_TEST, 0);
    assert_true(fabs(ppl - cbrt(32.0)) <= 1e-12 * cbrt(32.0));
    assert_true(isnan(text_unigram_perplexity(&c, TEXT_VALID, 0)));
    text_corpus_free(&c);

    load_ok(write_text("uni2.txt", "a a b\na c\n"), &opt, &c);
    assert_true(isinf(text_unigram_perplexity(&c, TEXT_TEST, 0)));
    ppl = text_unigram_perplexity(&c, TEXT_TEST, 1);
    assert_true(fabs(ppl - cbrt(512.0 / 6)) <= 1e-12 * cbrt(512.0 / 6));
    text_corpus_free(&c);
}

static void test_errors(void **state)
{
    (void)state;
    text_options opt = words_opt(10, 0.9, 0.05);
    const char *missing = ts_fmt("%s/none.txt", ts_tmpdir());
    char path[1200];
    snprintf(path, sizeof path, "%s", missing);
    expect_error(path, &opt, ts_fmt("%s: cannot open: No such file or directory",
                                 path));
    const char *p = write_text("empty.txt", "");
    expect_error(p, &opt, ts_fmt("%s: empty corpus: no line holds a token", p));
    p = write_text("blank.txt", "\xEF\xBB\xBF \n\t\r\n\n");
    expect_error(p, &opt, ts_fmt("%s: empty corpus: no line holds a token", p));
    p = write_text("one.txt", "just one line\n");
    text_options tiny = words_opt(10, 0.4, 0.6);
    expect_error(p, &tiny, ts_fmt("%s: the training split is empty (0.4 of 1 "
                               "lines rounds to 0)", p));
    text_options bad = words_opt(0, 0.9, 0.05);
    expect_error(p, &bad, ts_fmt("%s: vocabulary cap 0 must be at least 1", p));
    bad = words_opt(10, 0.9, 0.2);
    expect_error(p, &bad, ts_fmt("%s: split fractions train 0.9, validation 0.2: "
                              "need 0 < train <= 1, 0 <= validation and a sum "
                              "of at most 1", p));
    bad = words_opt(10, NAN, 0);
    expect_error(p, &bad, ts_fmt("%s: split fractions train nan, validation 0: "
                              "need 0 < train <= 1, 0 <= validation and a sum "
                              "of at most 1", p));
    bad = (text_options){.level = 7, .vocab_cap = 1, .train_frac = 1};
    expect_error(p, &bad, ts_fmt("%s: unknown tokenisation level 7", p));

    /* a sparse 5 GiB file: refused by its size, nothing read */
    p = write_text("huge.txt", "");
    assert_int_equal(truncate(p, (off_t)5 << 30), 0);
    expect_error(p, &opt, ts_fmt("%s: file too large (5368709120 bytes, limit 4096 MiB)", p));

    expect_error(ts_tmpdir(), &opt, ts_fmt("%s: cannot open: is a directory", ts_tmpdir()));
    expect_error("/dev/zero", &opt, "/dev/zero: cannot open: not a regular file (a "
                                    "character device)");
    const char *fifo = ts_fifo("corpus.fifo");
    expect_error(fifo, &opt, ts_fmt("%s: cannot open: not a regular file (a FIFO)", fifo));

    /* 300000 one-letter words: 1.1 MiB of token ids from a file under 1 MiB */
    size_t words = 300000;
    char *text = malloc(2 * words);
    assert_non_null(text);
    for (size_t i = 0; i < words; i++)
        memcpy(text + 2 * i, i % 1000 == 999 ? "a\n" : "a ", 2);
    p = ts_write("many.txt", text, 2 * words);
    free(text);
    setenv("QSDC_MAX_DATA_MIB", "1", 1);
    expect_error(p, &opt, ts_fmt("%s: 300300 tokens would take 2 MiB of memory, over the "
                                 "limit of 1 MiB (QSDC_MAX_DATA_MIB raises it)", p));
    unsetenv("QSDC_MAX_DATA_MIB");
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *want;   /* after "path:" */
    } cases[] = {
        {"ok\nab\x80z\n", "2:3: error: invalid UTF-8: byte 0x80 at offset 5 "
                          "cannot start a character"},
        {"\xC0\x80\n", "1:1: error: invalid UTF-8: byte 0xC0 at offset 0 "
                       "cannot start a character"},
        {"abc\xF5\n", "1:4: error: invalid UTF-8: byte 0xF5 at offset 3 "
                      "cannot start a character"},
        {"\xC3z", "1:1: error: invalid UTF-8: byte 0x7A at offset 1 cannot "
                  "follow 0xC3 in a character"},
        /* A surrogate and a code point past U+10FFFF. */
        {"x\n\ny\xED\xA0\x80\n", "3:2: error: invalid UTF-8: byte 0xA0 at "
                                 "offset 5 cannot follow 0xED in a character"},
        {"\xF4\x90\x80\x80", "1:1: error: invalid UTF-8: byte 0x90 at offset "
                             "1 cannot follow 0xF4 in a character"},
        {"a\r\n\xE2\x82", "2:1: error: invalid UTF-8: the file ends inside "
                          "the character that byte 0xE2 at offset 3 starts"},
    };
    text_options opt = words_opt(10, 1, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = write_text(ts_fmt("utf8_%zu.txt", i), cases[i].text);
        char want[1400];
        snprintf(want, sizeof want, "%s:%s", p, cases[i].want);
        expect_error(p, &opt, want);
    }
}

/* Loads data at both levels: either it loads with every id in range and
 * the splits adding up to their lines, or it fails with a message. */
static void load_anything(const unsigned char *data, size_t len)
{
    const char *p = ts_write("fuzz.txt", data, len);
    for (int level = TEXT_WORDS; level <= TEXT_CHARS; level++) {
        text_options opt = {.level = level, .vocab_cap = 4, .train_frac = 0.6,
                            .valid_frac = 0.2};
        text_corpus c;
        qsdc_error err = {{0}};
        if (text_corpus_load(p, &opt, &c, &err) != 0) {
            assert_true(err.message[0] != '\0');
            continue;
        }
        assert_true(c.vocab.size >= 2 && c.vocab.size <= 6);
        for (int k = 0; k < TEXT_SPLITS; k++)
            for (int64_t i = 0; i < c.split[k].count; i++)
                assert_true(c.split[k].ids[i] >= 0 &&
                            c.split[k].ids[i] < c.vocab.size);
        text_corpus_free(&c);
    }
}

static const char sample[] =
    "\xEF\xBB\xBF" "In the beginning, God's 1st day.\r\n"
    "Ça va? naïve café — 😀!\n\n"
    "\t<unk> \"quoted\" 3.14\n"
    "last line without a newline";

static void test_mutations(void **state)
{
    (void)state;
    ts_each_mutation(sample, sizeof sample - 1, load_anything);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_word_tokens),
        cmocka_unit_test(test_char_tokens),
        cmocka_unit_test(test_vocab_cap_and_unk),
        cmocka_unit_test(test_vocab_order_deterministic),
        cmocka_unit_test(test_splits),
        cmocka_unit_test(test_char_level_corpus),
        cmocka_unit_test(test_lm_batches),
        cmocka_unit_test(test_unigram_perplexity),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
