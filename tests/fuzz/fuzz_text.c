/* libFuzzer harness: the text loaders (runtime/text.h) on the input after
 * its first byte, which picks the loader and its options:
 *
 *   bit 0     the sentiment CSV loader, else the language-model corpus
 *   bit 1     character tokens, else words (corpus only)
 *   bits 2-4  vocabulary cap - 1
 *
 * A rejected file must fail with a message naming it; a loaded one must
 * hold ids inside its vocabulary and batches that the batcher serves. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "fuzz_file.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ids(const int32_t *ids, int64_t n, int32_t vocab)
{
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= vocab)
            abort();
}

static void check_corpus(const text_corpus *c)
{
    for (int s = 0; s < TEXT_SPLITS; s++)
        check_ids(c->split[s].ids, c->split[s].count, c->vocab.size);
    const token_split *t = &c->split[TEXT_TRAIN];
    int32_t x[2 * 3], y[2 * 3];
    qsdc_error err = {{0}};
    int64_t batches = lm_batch_count(t, 2, 3);
    for (int64_t i = 0; i < batches && i < 4; i++) {
        if (lm_batch(t, 2, 3, i, x, y, &err) < 0)
            abort();
        check_ids(x, 6, c->vocab.size);
        check_ids(y, 6, c->vocab.size);
    }
    if (lm_batch(t, 2, 3, batches, x, y, &err) == 0)
        abort();
    (void)text_unigram_perplexity(c, TEXT_VALID, 1.0);
}

static void check_samples(const text_samples *s, int32_t vocab)
{
    check_ids(s->ids, s->count * s->max_len, vocab);
    for (int64_t i = 0; i < s->count; i++)
        if (s->lengths[i] < 1 || s->lengths[i] > s->max_len ||
            (s->labels[i] != 0 && s->labels[i] != 1))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t how = data[0];
    int64_t cap = 1 + ((how >> 2) & 7);
    const char *path = fuzz_write("text", data + 1, size - 1);
    qsdc_error err = {{0}};
    if (how & 1) {
        sentiment_options o = {.vocab_cap = cap, .max_len = 5, .test_frac = 0.25, .seed = 3};
        sentiment_data d;
        if (sentiment_load(path, &o, &d, &err) < 0) {
            fuzz_expect_error(&err, path);
            return 0;
        }
        check_samples(&d.train, d.vocab.size);
        check_samples(&d.test, d.vocab.size);
        sentiment_free(&d);
    } else {
        text_options o = {.level = how & 2 ? TEXT_CHARS : TEXT_WORDS, .vocab_cap = cap,
                          .train_frac = 0.6, .valid_frac = 0.2};
        text_corpus c;
        if (text_corpus_load(path, &o, &c, &err) < 0) {
            fuzz_expect_error(&err, path);
            return 0;
        }
        check_corpus(&c);
        text_corpus_free(&c);
    }
    return 0;
}
