/* Language-modelling corpus: a UTF-8 text file to token ids in contiguous
 * train/validation/test splits, the classic batching of contiguous streams,
 * and the unigram baseline perplexity. Three passes over the text (count
 * the lines, count the tokens of each split and the training vocabulary,
 * write the ids) keep memory to the file, the vocabulary and the ids. */
#include "text.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

static const char *const lm_specials[] = {"<unk>", "<eos>"};

typedef int line_fn(void *ctx, int64_t index, const unsigned char *s,
                    size_t n, qsdc_error *err);

/* Calls fn (when not NULL) on every line that yields a token, with its
 * index among those lines; *count receives how many there are. */
static int for_token_lines(const unsigned char *data, size_t len,
                           text_level level, line_fn *fn, void *ctx,
                           int64_t *count, qsdc_error *err)
{
    int64_t index = 0;
    for (size_t pos = 0; pos < len;) {
        const unsigned char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) : len;
        size_t p = 0, start, tok_len;
        if (text_next_token(data + pos, end - pos, level, &p, &start, &tok_len)) {
            if (fn && fn(ctx, index, data + pos, end - pos, err) != 0)
                return -1;
            index++;
        }
        pos = end + 1;
    }
    *count = index;
    return 0;
}

typedef struct corpus_pass {
    text_level level;
    int64_t train_lines, valid_lines;   /* split boundaries, in lines */
    word_table table;
    text_corpus *corpus;
    int64_t filled[TEXT_SPLITS];        /* ids written so far */
} corpus_pass;

static int split_of(const corpus_pass *cp, int64_t index)
{
    if (index < cp->train_lines)
        return TEXT_TRAIN;
    return index < cp->train_lines + cp->valid_lines ? TEXT_VALID : TEXT_TEST;
}

/* Pass 2: tokens and lines per split; the training tokens are counted. */
static int count_line(void *ctx, int64_t index, const unsigned char *s,
                      size_t n, qsdc_error *err)
{
    corpus_pass *cp = ctx;
    token_split *split = &cp->corpus->split[split_of(cp, index)];
    size_t pos = 0, start, len;
    while (text_next_token(s, n, cp->level, &pos, &start, &len)) {
        split->count++;
        if (split == &cp->corpus->split[TEXT_TRAIN] &&
            word_table_add(&cp->table, s + start, len, err) != 0)
            return -1;
    }
    split->count++;   /* <eos> */
    split->lines++;
    return 0;
}

/* Pass 3: the ids. */
static int fill_line(void *ctx, int64_t index, const unsigned char *s,
                     size_t n, qsdc_error *err)
{
    (void)err;
    corpus_pass *cp = ctx;
    int k = split_of(cp, index);
    int32_t *ids = cp->corpus->split[k].ids;
    size_t pos = 0, start, len;
    while (text_next_token(s, n, cp->level, &pos, &start, &len)) {
        int32_t id = word_table_id(&cp->table, s + start, len);
        ids[cp->filled[k]++] = id < 0 ? TEXT_UNK : id;
    }
    ids[cp->filled[k]++] = TEXT_EOS;
    return 0;
}

static int check_options(const char *path, const text_options *opt,
                         qsdc_error *err)
{
    if (opt->level != TEXT_WORDS && opt->level != TEXT_CHARS)
        return qsdc_fail(err, "%s: unknown tokenisation level %d", path,
                         (int)opt->level);
    if (opt->vocab_cap < 1)
        return qsdc_fail(err, "%s: vocabulary cap %" PRId64 " must be at "
                         "least 1", path, opt->vocab_cap);
    if (!(opt->train_frac > 0 && opt->train_frac <= 1) ||
        !(opt->valid_frac >= 0 && opt->valid_frac <= 1) ||
        opt->train_frac + opt->valid_frac > 1 + 1e-9)
        return qsdc_fail(err, "%s: split fractions train %g, validation %g: "
                         "need 0 < train <= 1, 0 <= validation and a sum of "
                         "at most 1", path, opt->train_frac, opt->valid_frac);
    return 0;
}

static int alloc_splits(text_corpus *c, qsdc_error *err)
{
    for (int k = 0; k < TEXT_SPLITS; k++) {
        int64_t n = c->split[k].count;
        if ((uint64_t)n > SIZE_MAX / sizeof(int32_t) ||
            !(c->split[k].ids = malloc(n ? (size_t)n * sizeof(int32_t) : 1)))
            return qsdc_fail(err, "out of memory for %" PRId64 " token ids", n);
    }
    return 0;
}

static int check_token_memory(const char *path, const text_corpus *c, qsdc_error *err)
{
    int64_t tokens = 0;
    for (int k = 0; k < TEXT_SPLITS; k++)
        tokens += c->split[k].count;
    char what[64];
    snprintf(what, sizeof what, "%" PRId64 " tokens", tokens);
    return data_check_size(path, (uint64_t)tokens, sizeof(int32_t), what, err);
}

static int64_t round_lines(double frac, int64_t lines)
{
    return (int64_t)llround(frac * (double)lines);
}

int text_corpus_load(const char *path, const text_options *opt,
                     text_corpus *out, qsdc_error *err)
{
    if (check_options(path, opt, err) != 0)
        return -1;
    unsigned char *file;
    size_t file_len;
    if (data_read_file(path, &file, &file_len, err) != 0)
        return -1;
    text_corpus c = {0};
    corpus_pass cp = {.level = opt->level, .corpus = &c};
    int rc = -1;
    if (text_check_utf8(path, file, file_len, err) != 0)
        goto done;
    size_t bom = text_bom_len(file, file_len);
    unsigned char *data = file + bom;
    size_t len = file_len - bom;
    if (opt->level == TEXT_WORDS)
        text_lower_ascii(data, len);

    int64_t lines;
    if (for_token_lines(data, len, opt->level, NULL, NULL, &lines, err) != 0)
        goto done;
    if (lines == 0) {
        qsdc_fail(err, "%s: empty corpus: no line holds a token", path);
        goto done;
    }
    cp.train_lines = round_lines(opt->train_frac, lines);
    if (cp.train_lines > lines)
        cp.train_lines = lines;
    cp.valid_lines = round_lines(opt->valid_frac, lines);
    if (cp.valid_lines > lines - cp.train_lines)
        cp.valid_lines = lines - cp.train_lines;
    if (cp.train_lines == 0) {
        qsdc_fail(err, "%s: the training split is empty (%g of %" PRId64
                  " lines rounds to 0)", path, opt->train_frac, lines);
        goto done;
    }

    if (for_token_lines(data, len, opt->level, count_line, &cp, &lines,
                        err) != 0 ||
        word_table_rank(&cp.table, opt->vocab_cap, lm_specials, 2, TEXT_UNK,
                        &c.vocab, err) != 0) {
        qsdc_error_wrap(err, "%s", path);
        goto done;
    }
    if (check_token_memory(path, &c, err) != 0)
        goto done;
    if (alloc_splits(&c, err) != 0 ||
        for_token_lines(data, len, opt->level, fill_line, &cp, &lines,
                        err) != 0) {
        qsdc_error_wrap(err, "%s", path);
        goto done;
    }
    *out = c;
    memset(&c, 0, sizeof c);
    rc = 0;
done:
    text_corpus_free(&c);
    word_table_free(&cp.table);
    free(file);
    return rc;
}

void text_corpus_free(text_corpus *c)
{
    text_vocab_free(&c->vocab);
    for (int k = 0; k < TEXT_SPLITS; k++)
        free(c->split[k].ids);
    memset(c, 0, sizeof *c);
}

int64_t lm_batch_count(const token_split *s, int64_t batch, int64_t steps)
{
    if (batch < 1 || steps < 1)
        return 0;
    int64_t stream = s->count / batch;
    return stream < 2 ? 0 : (stream - 1) / steps;
}

int lm_batch(const token_split *s, int64_t batch, int64_t steps, int64_t index,
             int32_t *x, int32_t *y, qsdc_error *err)
{
    if (batch < 1 || steps < 1)
        return qsdc_fail(err, "language-model batch of %" PRId64 " streams "
                         "by %" PRId64 " steps: both must be at least 1",
                         batch, steps);
    int64_t n = lm_batch_count(s, batch, steps);
    if (index < 0 || index >= n)
        return qsdc_fail(err, "language-model batch %" PRId64 " is out of "
                         "range: %" PRId64 " tokens in %" PRId64 " streams "
                         "of %" PRId64 " steps give %" PRId64 " batches",
                         index, s->count, batch, steps, n);
    int64_t stream = s->count / batch;
    for (int64_t b = 0; b < batch; b++) {
        const int32_t *src = s->ids + b * stream + index * steps;
        memcpy(x + b * steps, src, (size_t)steps * sizeof *x);
        memcpy(y + b * steps, src + 1, (size_t)steps * sizeof *y);
    }
    return 0;
}

/* Sums log p over the eval tokens grouped by id, so each distinct id costs
 * one log. */
double text_unigram_perplexity(const text_corpus *c, int eval, double add)
{
    if (eval < 0 || eval >= TEXT_SPLITS || c->split[eval].count == 0)
        return NAN;
    int32_t v = c->vocab.size;
    int64_t *train = calloc((size_t)v, sizeof *train);
    int64_t *seen = calloc((size_t)v, sizeof *seen);
    double ppl = NAN;
    if (!train || !seen)
        goto done;
    const token_split *t = &c->split[TEXT_TRAIN], *e = &c->split[eval];
    for (int64_t i = 0; i < t->count; i++)
        train[t->ids[i]]++;
    for (int64_t i = 0; i < e->count; i++)
        seen[e->ids[i]]++;
    double denom = (double)t->count + add * v, log_sum = 0;
    for (int32_t w = 0; w < v; w++) {
        if (seen[w] == 0)
            continue;
        double p = ((double)train[w] + add) / denom;
        if (p <= 0) {
            ppl = INFINITY;
            goto done;
        }
        log_sum += (double)seen[w] * log(p);
    }
    ppl = exp(-log_sum / (double)e->count);
done:
    free(train);
    free(seen);
    return ppl;
}
