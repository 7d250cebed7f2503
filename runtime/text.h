/* Text data: a word and character tokeniser, vocabularies ranked by training
 * frequency, a language-modelling corpus loader with the classic batching of
 * contiguous streams, and a sentiment CSV loader. docs/data.md has the rules
 * with examples.
 *
 * Input is UTF-8; one leading byte order mark (EF BB BF) is skipped. Invalid
 * UTF-8 (stray continuation bytes, truncated or overlong sequences,
 * surrogates, code points above U+10FFFF) is an error naming
 * path:line:col (col counts bytes from 1) and the byte offset. Lines end at
 * LF; a CR just before the LF is dropped.
 *
 * Word tokens (TEXT_WORDS), on text first lower-cased (ASCII A-Z only: there
 * are no Unicode case tables here):
 *   - ASCII whitespace and control characters (bytes 0x00-0x20, 0x7F) only
 *     separate tokens;
 *   - each ASCII punctuation character (every printable ASCII character that
 *     is not a letter or digit, such as . , ' " - < >) is a token by itself;
 *   - a maximal run of ASCII letters, ASCII digits and non-ASCII code points
 *     is one token: "2nd", "café" and "1611" are single tokens, "don't" is
 *     "don" "'" "t", "3.14" is "3" "." "14".
 *   Since < and > are tokens of their own, no text ever yields "<unk>".
 * Character tokens (TEXT_CHARS): every code point of a line is a token, case
 * kept, spaces included, except ASCII control characters (tab and CR among
 * them), which are dropped.
 *
 * Vocabulary: the special tokens take the first ids, then the most frequent
 * tokens of the training data, at most `cap` of them, by count descending
 * and, for equal counts, by byte-wise comparison (memcmp, the shorter first
 * on a common prefix) ascending. Other tokens map to <unk>. */
#ifndef QSDC_TEXT_H
#define QSDC_TEXT_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

typedef enum text_level { TEXT_WORDS, TEXT_CHARS } text_level;

/* ---- tokeniser ---------------------------------------------------------- */

/* Checks that data is UTF-8; the error names path:line:col and the offset. */
int text_check_utf8(const char *path, const unsigned char *data, size_t len,
                    qsdc_error *err);
/* Length of a leading UTF-8 byte order mark in data: 3 or 0. */
size_t text_bom_len(const unsigned char *data, size_t len);
/* Lower-cases ASCII letters in place (the word level's case folding). */
void text_lower_ascii(unsigned char *s, size_t len);
/* Finds the next token of s[*pos, len) (valid UTF-8, without line breaks
 * for TEXT_CHARS); returns 1 with the token at s[*start, *start + *tok_len)
 * and *pos past it, or 0 at the end. */
int text_next_token(const unsigned char *s, size_t len, text_level level,
                    size_t *pos, size_t *start, size_t *tok_len);

/* ---- vocabulary --------------------------------------------------------- */

typedef struct text_vocab {
    int32_t size;       /* specials + kept tokens */
    char **words;       /* [size] id -> NUL-terminated token */
} text_vocab;

/* Counts tokens (slices of a caller's buffer that must outlive the table)
 * and, once ranked, maps them to ids. */
typedef struct word_table {
    struct word_slot *slots;
    size_t cap, used;
} word_table;

int word_table_add(word_table *t, const unsigned char *s, size_t len,
                   qsdc_error *err);
/* Builds the vocabulary: specials[0..n_specials) (n_specials >= 1) then at
 * most cap counted tokens ranked as above. Afterwards word_table_id gives
 * each counted token its id, `unk` for one that did not make the cut, and -1
 * for a token never counted. */
int word_table_rank(word_table *t, int64_t cap, const char *const *specials,
                    int n_specials, int32_t unk, text_vocab *out,
                    qsdc_error *err);
int32_t word_table_id(const word_table *t, const unsigned char *s, size_t len);
void word_table_free(word_table *t);
void text_vocab_free(text_vocab *v);

/* ---- language-modelling corpus ----------------------------------------- */

enum { TEXT_TRAIN, TEXT_VALID, TEXT_TEST, TEXT_SPLITS };
#define TEXT_UNK 0      /* <unk> */
#define TEXT_EOS 1      /* <eos>, the end of every line */

typedef struct text_options {
    text_level level;
    int64_t vocab_cap;      /* kept tokens besides <unk> and <eos>, >= 1 */
    double train_frac;      /* fractions of the lines; test gets the rest */
    double valid_frac;
} text_options;

typedef struct token_split {
    int32_t *ids;           /* [count] */
    int64_t count;          /* tokens, <eos> included */
    int64_t lines;
} token_split;

typedef struct text_corpus {
    text_vocab vocab;
    token_split split[TEXT_SPLITS];
} text_corpus;

/* Reads a UTF-8 text file. Lines that yield no token are skipped; every
 * other line becomes its tokens then <eos>. The splits are contiguous runs
 * of those lines, in file order: round(train_frac * lines) lines for
 * training, round(valid_frac * lines) (or what is left) for validation and
 * the rest for test. The vocabulary counts the training split only.
 * Errors: file missing or unreadable, invalid UTF-8, no tokens, an empty
 * training split, vocab_cap < 1, fractions outside [0, 1] or summing past
 * 1. */
int text_corpus_load(const char *path, const text_options *opt,
                     text_corpus *out, qsdc_error *err);
void text_corpus_free(text_corpus *c);

/* Classic language-model batching: the split's tokens are cut into `batch`
 * contiguous streams of L = count / batch tokens each (the last count %
 * batch tokens are dropped), stream b holding ids[b*L, (b+1)*L). Batch i
 * takes steps [i*steps, (i+1)*steps) of every stream:
 *   x[b][t] = ids[b*L + i*steps + t], y[b][t] = ids[b*L + i*steps + t + 1]
 * so a hidden state carried from batch i to batch i+1 continues each
 * stream. Only whole batches are served: count = (L - 1) / steps. */
int64_t lm_batch_count(const token_split *s, int64_t batch, int64_t steps);
/* x, y: [batch, steps] row-major; fails on bad sizes or index. */
int lm_batch(const token_split *s, int64_t batch, int64_t steps, int64_t index,
             int32_t *x, int32_t *y, qsdc_error *err);

/* Perplexity of the `eval` split under the unigram model of the training
 * split's ids: p(w) = (n_w + add) / (N + add * V), N training tokens, V the
 * vocabulary size; add = 0 is maximum likelihood, add = 1 Laplace. Returns
 * INFINITY when an evaluated token has probability 0, NAN for an empty
 * eval split. */
double text_unigram_perplexity(const text_corpus *c, int eval, double add);

/* ---- sentiment CSV ------------------------------------------------------ */

#define SENT_PAD 0      /* <pad>, filling ids past a sample's length */
#define SENT_UNK 1      /* <unk> */

typedef struct sentiment_options {
    int64_t vocab_cap;      /* kept words besides <pad> and <unk>, >= 1 */
    int64_t max_len;        /* tokens per sample, >= 1 */
    double test_frac;       /* of the rows, in [0, 1) */
    bool keep_last;         /* longer texts keep their last max_len tokens */
    uint64_t seed;          /* of the shuffle before the split */
} sentiment_options;

typedef struct text_samples {
    int64_t count;
    int64_t max_len;
    int32_t *ids;           /* [count, max_len], <pad> from lengths[i] on */
    int32_t *lengths;       /* [count] kept tokens, 1 .. max_len */
    int32_t *labels;        /* [count] 0 negative, 1 positive */
} text_samples;

typedef struct sentiment_data {
    text_vocab vocab;
    text_samples train, test;
} sentiment_data;

/* Reads rows "label,text" (RFC 4180 quoting: a field in double quotes may
 * hold commas, line breaks and "" for a quote; rows end at LF or CRLF; blank
 * lines are skipped; no header). Labels: "1" is positive (class 1), "-1"
 * negative (class 0). Rows are shuffled with the seed, the first
 * round(test_frac * rows) go to test and the rest to training; the
 * vocabulary counts the training split's words. Texts longer than max_len
 * tokens keep their first max_len, or their last with keep_last. Errors name path:line:col: a row with
 * one field or more than two, an unknown label, a text without tokens, a
 * stray or unterminated quote, invalid UTF-8; and the path: missing file, no
 * rows, an empty training split, bad options. */
int sentiment_load(const char *path, const sentiment_options *opt,
                   sentiment_data *out, qsdc_error *err);
void sentiment_free(sentiment_data *d);

/* ---- the vocabulary saved with a checkpoint ------------------------------ */

/* How a model's training data were tokenised: the level (words are
 * lower-cased), which tokens a long text kept, and the id of unknown
 * tokens. */
typedef struct vocab_settings {
    text_level level;
    bool keep_last;
    int32_t unk;
} vocab_settings;

/* Writes v and s to dir/vocab.txt, atomically, with a checksum of the
 * tokens (vocab_file.c has the format). */
int vocab_file_write(const char *dir, const text_vocab *v, const vocab_settings *s,
                     qsdc_error *err);
/* Reads dir/vocab.txt; errors name the path and the offset, a damaged file
 * by its checksum. */
int vocab_file_read(const char *dir, text_vocab *v, vocab_settings *s, qsdc_error *err);

#endif
