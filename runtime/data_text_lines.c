/* Raw text for a text model: one text per line, tokenised as its training
 * data were (the level, case folding, truncation side and <unk> of the
 * vocabulary saved with its checkpoint), as samples of `steps` token ids
 * padded at the end with QSDC_PAD_ID. */
#include "data.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

typedef struct token_id {
    const char *token;
    int32_t id;
} token_id;

/* The vocabulary sorted by token, for lookups by bisection. */
typedef struct token_index {
    token_id *sorted;
    int32_t size;
} token_index;

static int compare_token(const char *word, const unsigned char *s, size_t len)
{
    size_t n = strlen(word);
    int c = memcmp(word, s, n < len ? n : len);
    return c ? c : (n > len) - (n < len);
}

static int by_token(const void *a, const void *b)
{
    const char *w = ((const token_id *)b)->token;
    return compare_token(((const token_id *)a)->token, (const unsigned char *)w, strlen(w));
}

static int32_t lookup(const token_index *x, const unsigned char *s, size_t len, int32_t unk)
{
    int32_t lo = 0, hi = x->size;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int c = compare_token(x->sorted[mid].token, s, len);
        if (c == 0)
            return x->sorted[mid].id;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return unk;
}

static int64_t count_tokens(const unsigned char *s, size_t len, text_level level)
{
    int64_t n = 0;
    size_t pos = 0, start, tok;
    while (text_next_token(s, len, level, &pos, &start, &tok))
        n++;
    return n;
}

/* One line's ids into x[steps], as data_sentiment.c's fill_samples cuts a
 * text: its first steps tokens, or its last with keep_last. */
static void encode_line(const token_index *x, const vocab_settings *vs,
                        const unsigned char *s, size_t len, int64_t steps, float *out)
{
    int64_t k = 0, skip = vs->keep_last ? count_tokens(s, len, vs->level) - steps : 0;
    size_t pos = 0, start, tok;
    while (k < steps && text_next_token(s, len, vs->level, &pos, &start, &tok)) {
        if (skip > 0) {
            skip--;
            continue;
        }
        out[k++] = (float)lookup(x, s + start, tok, vs->unk);
    }
    for (; k < steps; k++)
        out[k] = (float)QSDC_PAD_ID;
}

static int encode_lines(const char *path, const token_index *x, const vocab_settings *vs,
                        unsigned char *text, size_t len, size_t first, int64_t steps,
                        dataset *d, qsdc_error *err)
{
    int64_t lines = 0, cap = 0;
    int line = 1;
    for (size_t pos = first; pos < len; line++) {
        unsigned char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        if (count_tokens(text + pos, end - pos, vs->level) == 0)
            return qsdc_fail(err, "%s:%d:1: offset %zu: a line without tokens; give one text "
                             "per line", path, line, pos);
        if (lines == cap) {
            cap = cap ? 2 * cap : 64;
            if (data_check_size(path, (uint64_t)cap, (uint64_t)steps * sizeof(float),
                                "the texts' token ids", err) < 0)
                return -1;
            float *grown = realloc(d->x, (size_t)(cap * steps) * sizeof *grown);
            if (!grown)
                return qsdc_fail(err, "%s: out of memory after %" PRId64 " texts", path,
                                 lines);
            d->x = grown;
        }
        encode_line(x, vs, text + pos, end - pos, steps, d->x + lines * steps);
        lines++;
        pos = end + 1;
    }
    if (lines == 0)
        return qsdc_fail(err, "%s: offset %zu: no texts", path, len);
    d->count = lines;
    return 0;
}

int text_lines_load(const char *path, const char *vocab_dir, int64_t steps, dataset *out,
                    qsdc_error *err)
{
    text_vocab v;
    vocab_settings vs;
    if (vocab_file_read(vocab_dir, &v, &vs, err) < 0)
        return -1;
    token_index x = {.sorted = malloc((size_t)v.size * sizeof *x.sorted), .size = v.size};
    unsigned char *text = NULL;
    size_t len = 0;
    dataset d = {.rank = 1, .dims = {steps}, .sample_elems = steps, .integers = true};
    int rc = x.sorted ? 0 : qsdc_fail(err, "out of memory");
    if (rc == 0) {
        for (int32_t i = 0; i < v.size; i++)
            x.sorted[i] = (token_id){.token = v.words[i], .id = i};
        qsort(x.sorted, (size_t)v.size, sizeof *x.sorted, by_token);
        rc = data_read_file(path, &text, &len, err);
    }
    if (rc == 0)
        rc = text_check_utf8(path, text, len, err);
    if (rc == 0) {
        /* a final line break ends the last text, not an empty one */
        if (len > 0 && text[len - 1] == '\n')
            len--;
        if (vs.level == TEXT_WORDS)
            text_lower_ascii(text, len);
        rc = encode_lines(path, &x, &vs, text, len, text_bom_len(text, len), steps, &d, err);
    }
    if (rc == 0)
        *out = d;
    else
        free(d.x);
    free(text);
    free(x.sorted);
    text_vocab_free(&v);
    return rc;
}
