/* Sentiment CSV: rows "label,text" with RFC 4180 quoting, as in the Pang &
 * Lee polarity files (a byte order mark, every field quoted, CRLF between
 * rows and bare LF inside texts). Quoted fields are unescaped in place in
 * the file buffer, so texts stay slices of it until their ids are written. */
#include "text.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

static const char *const sent_specials[] = {"<pad>", "<unk>"};

#define CSV_FIELDS 2
#define LABEL_SHOWN 24      /* bytes of an unknown label quoted in a message */

typedef struct csv_parser {
    const char *path;
    unsigned char *data;
    size_t len, pos;
    int line;               /* of data[pos], 1-based */
    size_t line_start;      /* offset of that line's first byte */
} csv_parser;

typedef struct csv_field {
    unsigned char *s;       /* unescaped content */
    size_t len;
    int line, col;          /* where the field starts */
} csv_field;

typedef struct csv_row {
    unsigned char *text;
    size_t len;
    int32_t label;
} csv_row;

static int col_of(const csv_parser *p, size_t offset)
{
    return (int)(offset - p->line_start + 1);
}

static void newline_at(csv_parser *p, size_t offset)
{
    p->line++;
    p->line_start = offset + 1;
}

static bool at_crlf(const csv_parser *p)
{
    return p->pos + 1 < p->len && p->data[p->pos] == '\r' &&
           p->data[p->pos + 1] == '\n';
}

/* A quoted field from the opening quote at p->pos; "" becomes ", written
 * back over the field itself. Ends after the closing quote. */
static int read_quoted(csv_parser *p, csv_field *f, qsdc_error *err)
{
    size_t open = p->pos++;
    int open_line = p->line, open_col = col_of(p, open);
    unsigned char *w = p->data + p->pos;
    f->s = w;
    for (;;) {
        if (p->pos == p->len)
            return qsdc_fail_at(err, p->path, open_line, open_col, "bad "
                                "quoting: the quoted field opened here is not "
                                "closed before the end of the file");
        unsigned char c = p->data[p->pos];
        if (c == '"') {
            if (p->pos + 1 < p->len && p->data[p->pos + 1] == '"') {
                *w++ = '"';
                p->pos += 2;
                continue;
            }
            p->pos++;
            break;
        }
        if (c == '\n')
            newline_at(p, p->pos);
        *w++ = c;
        p->pos++;
    }
    f->len = (size_t)(w - f->s);
    unsigned char next = p->pos < p->len ? p->data[p->pos] : '\n';
    if (next != ',' && next != '\n' && !at_crlf(p))
        return qsdc_fail_at(err, p->path, p->line, col_of(p, p->pos), "bad "
                            "quoting: '%c' after a closing quote (a quote "
                            "inside a quoted field is written \"\")",
                            next >= 0x20 && next < 0x7F ? next : '?');
    return 0;
}

static int read_unquoted(csv_parser *p, csv_field *f, qsdc_error *err)
{
    f->s = p->data + p->pos;
    while (p->pos < p->len && p->data[p->pos] != ',' &&
           p->data[p->pos] != '\n' && !at_crlf(p)) {
        if (p->data[p->pos] == '"')
            return qsdc_fail_at(err, p->path, p->line, col_of(p, p->pos),
                                "bad quoting: a quote inside an unquoted "
                                "field (quote the whole field and write the "
                                "quote as \"\")");
        p->pos++;
    }
    f->len = (size_t)(p->data + p->pos - f->s);
    return 0;
}

/* Reads one row of exactly CSV_FIELDS fields, skipping blank lines; returns
 * 1 with the fields, 0 at the end of the file, -1 on error. */
static int read_row(csv_parser *p, csv_field *fields, qsdc_error *err)
{
    for (;;) {
        if (p->pos == p->len)
            return 0;
        if (at_crlf(p))
            p->pos++;
        if (p->data[p->pos] != '\n')
            break;
        newline_at(p, p->pos++);
    }
    for (int n = 0;; n++) {
        csv_field f = {.line = p->line, .col = col_of(p, p->pos)};
        if (n == CSV_FIELDS)
            return qsdc_fail_at(err, p->path, f.line, f.col - 1, "a third "
                                "field; rows are label,text (quote a text "
                                "that holds commas)");
        int rc = p->pos < p->len && p->data[p->pos] == '"'
                 ? read_quoted(p, &f, err) : read_unquoted(p, &f, err);
        if (rc != 0)
            return -1;
        fields[n] = f;
        if (p->pos < p->len && p->data[p->pos] == ',') {
            p->pos++;
            continue;
        }
        int end_line = p->line, end_col = col_of(p, p->pos);
        if (at_crlf(p))
            p->pos++;
        if (p->pos < p->len)
            newline_at(p, p->pos++);
        if (n + 1 < CSV_FIELDS)
            return qsdc_fail_at(err, p->path, end_line, end_col, "missing "
                                "column: rows are label,text but this one "
                                "ends after the label");
        return 1;
    }
}

static int parse_label(const char *path, const csv_field *f, int32_t *label,
                       qsdc_error *err)
{
    if (f->len == 1 && f->s[0] == '1')
        *label = 1;
    else if (f->len == 2 && memcmp(f->s, "-1", 2) == 0)
        *label = 0;
    else
        return qsdc_fail_at(err, path, f->line, f->col, "unknown label "
                            "\"%.*s\"%s (expected 1 for positive or -1 for "
                            "negative)", (int)(f->len < LABEL_SHOWN ? f->len :
                            LABEL_SHOWN), (const char *)f->s,
                            f->len > LABEL_SHOWN ? "..." : "");
    return 0;
}

static int append_row(csv_row **rows, size_t *n, size_t *cap,
                      const csv_row *row, qsdc_error *err)
{
    if (*n == *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 256;
        csv_row *grown = realloc(*rows, grown_cap * sizeof *grown);
        if (!grown)
            return qsdc_fail(err, "out of memory after %zu rows", *n);
        *rows = grown;
        *cap = grown_cap;
    }
    (*rows)[(*n)++] = *row;
    return 0;
}

/* The rows of the whole file, texts lower-cased for the tokeniser. */
static int read_rows(csv_parser *p, csv_row **rows, size_t *n,
                     qsdc_error *err)
{
    size_t cap = 0;
    csv_field f[CSV_FIELDS];
    int rc;
    while ((rc = read_row(p, f, err)) == 1) {
        csv_row row = {.text = f[1].s, .len = f[1].len};
        if (parse_label(p->path, &f[0], &row.label, err) != 0)
            return -1;
        text_lower_ascii(row.text, row.len);
        size_t pos = 0, start, len;
        if (!text_next_token(row.text, row.len, TEXT_WORDS, &pos, &start, &len))
            return qsdc_fail_at(err, p->path, f[1].line, f[1].col, "the text "
                                "has no tokens");
        if (append_row(rows, n, &cap, &row, err) != 0)
            return qsdc_error_wrap(err, "%s", p->path);
    }
    return rc;
}

/* splitmix64: a small, well-mixed generator, fixed so that a seed gives
 * the same split on every platform. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Fisher-Yates; the modulo's bias is below n / 2^64. */
static void shuffle_rows(csv_row *rows, size_t n, uint64_t seed)
{
    uint64_t state = seed;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(next_random(&state) % i);
        csv_row t = rows[i - 1];
        rows[i - 1] = rows[j];
        rows[j] = t;
    }
}

static int count_words(word_table *t, const csv_row *rows, size_t n,
                       qsdc_error *err)
{
    for (size_t i = 0; i < n; i++) {
        size_t pos = 0, start, len;
        while (text_next_token(rows[i].text, rows[i].len, TEXT_WORDS, &pos,
                               &start, &len))
            if (word_table_add(t, rows[i].text + start, len, err) != 0)
                return -1;
    }
    return 0;
}

static int64_t count_tokens(const csv_row *row)
{
    int64_t count = 0;
    size_t pos = 0, start, len;
    while (text_next_token(row->text, row->len, TEXT_WORDS, &pos, &start, &len))
        count++;
    return count;
}

/* ids: [n, max_len], zero (<pad>) filled past each length; a longer text
 * keeps its first max_len tokens, or its last with keep_last. */
static int fill_samples(const word_table *t, const csv_row *rows, size_t n,
                        int64_t max_len, bool keep_last, text_samples *out,
                        qsdc_error *err)
{
    out->count = (int64_t)n;
    out->max_len = max_len;
    size_t cells = n * (size_t)max_len;
    if ((uint64_t)max_len > SIZE_MAX / sizeof(int32_t) / (n ? n : 1) ||
        !(out->ids = calloc(cells ? cells : 1, sizeof(int32_t))) ||
        !(out->lengths = malloc((n ? n : 1) * sizeof(int32_t))) ||
        !(out->labels = malloc((n ? n : 1) * sizeof(int32_t))))
        return qsdc_fail(err, "out of memory for %zu samples of %" PRId64
                         " tokens", n, max_len);
    for (size_t i = 0; i < n; i++) {
        int32_t *ids = out->ids + i * (size_t)max_len;
        int64_t k = 0, skip = keep_last ? count_tokens(&rows[i]) - max_len : 0;
        size_t pos = 0, start, len;
        while (k < max_len && text_next_token(rows[i].text, rows[i].len,
                                              TEXT_WORDS, &pos, &start, &len)) {
            if (skip > 0) {
                skip--;
                continue;
            }
            int32_t id = word_table_id(t, rows[i].text + start, len);
            ids[k++] = id < 0 ? SENT_UNK : id;
        }
        out->lengths[i] = (int32_t)k;
        out->labels[i] = rows[i].label;
    }
    return 0;
}

static void samples_free(text_samples *s)
{
    free(s->ids);
    free(s->lengths);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

static int check_options(const char *path, const sentiment_options *opt,
                         qsdc_error *err)
{
    if (opt->vocab_cap < 1)
        return qsdc_fail(err, "%s: vocabulary cap %" PRId64 " must be at "
                         "least 1", path, opt->vocab_cap);
    if (opt->max_len < 1 || opt->max_len > INT32_MAX)
        return qsdc_fail(err, "%s: maximum length %" PRId64 " must be 1 to "
                         "%" PRId32, path, opt->max_len, INT32_MAX);
    if (!(opt->test_frac >= 0 && opt->test_frac < 1))
        return qsdc_fail(err, "%s: test fraction %g must be in [0, 1)", path,
                         opt->test_frac);
    return 0;
}

int sentiment_load(const char *path, const sentiment_options *opt,
                   sentiment_data *out, qsdc_error *err)
{
    if (check_options(path, opt, err) != 0)
        return -1;
    unsigned char *file;
    size_t file_len;
    if (data_read_file(path, &file, &file_len, err) != 0)
        return -1;
    sentiment_data d = {0};
    word_table table = {0};
    csv_row *rows = NULL;
    size_t n = 0;
    int rc = -1;
    if (text_check_utf8(path, file, file_len, err) != 0)
        goto done;
    csv_parser p = {.path = path, .data = file, .len = file_len,
                    .pos = text_bom_len(file, file_len), .line = 1};
    if (read_rows(&p, &rows, &n, err) != 0)
        goto done;
    if (n == 0) {
        qsdc_fail(err, "%s: no rows", path);
        goto done;
    }
    /* as token ids here, then as float samples */
    char what[64];
    snprintf(what, sizeof what, "%zu rows of %" PRId64 " tokens", n, opt->max_len);
    if (data_check_size(path, n, ((uint64_t)opt->max_len + 1) * 2 * sizeof(int32_t), what,
                        err) != 0)
        goto done;
    size_t n_test = (size_t)llround(opt->test_frac * (double)n);
    if (n_test >= n) {
        qsdc_fail(err, "%s: the training split is empty (a test fraction of "
                  "%g takes all %zu rows)", path, opt->test_frac, n);
        goto done;
    }
    shuffle_rows(rows, n, opt->seed);
    const csv_row *test = rows, *train = rows + n_test;
    if (count_words(&table, train, n - n_test, err) != 0 ||
        word_table_rank(&table, opt->vocab_cap, sent_specials, 2, SENT_UNK,
                        &d.vocab, err) != 0 ||
        fill_samples(&table, train, n - n_test, opt->max_len, opt->keep_last, &d.train,
                     err) != 0 ||
        fill_samples(&table, test, n_test, opt->max_len, opt->keep_last, &d.test, err) != 0) {
        qsdc_error_wrap(err, "%s", path);
        goto done;
    }
    *out = d;
    memset(&d, 0, sizeof d);
    rc = 0;
done:
    sentiment_free(&d);
    word_table_free(&table);
    free(rows);
    free(file);
    return rc;
}

void sentiment_free(sentiment_data *d)
{
    text_vocab_free(&d->vocab);
    samples_free(&d->train);
    samples_free(&d->test);
}
