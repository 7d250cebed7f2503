/* Numeric CSV data sets: a header row naming the columns, then one sample
 * per row, every field a decimal number. The label column (named by the
 * caller) holds class ids; every other column is a feature, kept as the
 * float it is (no scaling). Messages name the path, the byte offset and
 * the line. */
#include "data.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

typedef struct table_reader {
    const char *path;
    const char *s;          /* the file, NUL after its last byte */
    size_t len, pos;
    int line;
} table_reader;

static bool at_line_end(const table_reader *r)
{
    return r->pos >= r->len || r->s[r->pos] == '\n' ||
           (r->s[r->pos] == '\r' && r->pos + 1 < r->len && r->s[r->pos + 1] == '\n');
}

static void next_line(table_reader *r)
{
    while (r->pos < r->len && r->s[r->pos] != '\n')
        r->pos++;
    if (r->pos < r->len)
        r->pos++;
    r->line++;
}

/* One field: [*start, *end) of the current line, r->pos after its comma or
 * at the line's end. */
static void read_field(table_reader *r, size_t *start, size_t *end)
{
    *start = r->pos;
    while (!at_line_end(r) && r->s[r->pos] != ',')
        r->pos++;
    *end = r->pos;
}

static int fail_at(const table_reader *r, size_t offset, qsdc_error *err, const char *what)
{
    return qsdc_fail(err, "%s: offset %zu (line %d): %s", r->path, offset, r->line, what);
}

/* The header: the number of columns and which one is the label (-1 when
 * there is none). */
static int read_header(table_reader *r, const char *label, int *cols, int *label_col,
                       qsdc_error *err)
{
    *cols = 0;
    *label_col = -1;
    if (r->pos >= r->len)
        return fail_at(r, r->pos, err, "empty file; expected a header row naming the columns");
    for (;;) {
        size_t a, b;
        read_field(r, &a, &b);
        while (a < b && r->s[a] == ' ')
            a++;
        while (b > a && r->s[b - 1] == ' ')
            b--;
        if (a == b)
            return fail_at(r, a, err, "an empty column name in the header");
        if (b - a == strlen(label) && memcmp(r->s + a, label, b - a) == 0) {
            if (*label_col >= 0)
                return fail_at(r, a, err, "the label column is named twice in the header");
            *label_col = *cols;
        }
        (*cols)++;
        if (at_line_end(r))
            break;
        r->pos++;
    }
    next_line(r);
    return 0;
}

static int parse_number(const table_reader *r, size_t a, size_t b, double *v, qsdc_error *err)
{
    char buf[64];
    while (a < b && r->s[a] == ' ')
        a++;
    while (b > a && r->s[b - 1] == ' ')
        b--;
    if (a == b || b - a >= sizeof buf)
        return fail_at(r, a, err, a == b ? "an empty field; every field is a number"
                                         : "a field too long to be a number");
    memcpy(buf, r->s + a, b - a);
    buf[b - a] = '\0';
    char *end;
    errno = 0;
    *v = strtod(buf, &end);
    /* the samples are float32: a double beyond its range would be infinite */
    if (*end || !isfinite((float)*v) || (errno == ERANGE && fabs(*v) > 1))
        return qsdc_fail(err, "%s: offset %zu (line %d): '%s' is not a finite float32 "
                         "number", r->path, a, r->line, buf);
    return 0;
}

typedef struct table_rows {
    float *x;
    int32_t *y;
    int64_t n, cap, features;
} table_rows;

static int grow(table_rows *t, const char *path, qsdc_error *err)
{
    if (t->n < t->cap)
        return 0;
    int64_t cap = t->cap ? t->cap * 2 : 256;
    char what[64];
    snprintf(what, sizeof what, "%" PRId64 " rows of %" PRId64 " features", cap, t->features);
    if (data_check_size(path, (uint64_t)cap, ((uint64_t)t->features + 1) * sizeof(float), what,
                        err) < 0)
        return -1;
    float *x = realloc(t->x, (size_t)(cap * t->features) * sizeof *x);
    if (x)
        t->x = x;
    int32_t *y = realloc(t->y, (size_t)cap * sizeof *y);
    if (y)
        t->y = y;
    if (!x || !y)
        return qsdc_fail(err, "%s: out of memory after %" PRId64 " rows", path, t->n);
    t->cap = cap;
    return 0;
}

static int read_row(table_reader *r, int cols, int label_col, table_rows *t, qsdc_error *err)
{
    if (grow(t, r->path, err) < 0)
        return -1;
    float *x = t->x + t->n * t->features;
    for (int c = 0; c < cols; c++) {
        size_t a, b;
        read_field(r, &a, &b);
        double v = 0;
        if (parse_number(r, a, b, &v, err) < 0)
            return -1;
        if (c == label_col) {
            if (v < 0 || v > INT32_MAX || v != floor(v))
                return fail_at(r, a, err, "a label that is not a class id (an integer, 0 "
                                          "or more)");
            t->y[t->n] = (int32_t)v;
        } else {
            *x++ = (float)v;
        }
        bool last = c + 1 == cols;
        if (at_line_end(r) != last)
            return qsdc_fail(err, "%s: offset %zu (line %d): %s; the header names %d columns",
                             r->path, r->pos, r->line, last ? "too many fields" : "too few fields",
                             cols);
        if (!last)
            r->pos++;
    }
    t->n++;
    next_line(r);
    return 0;
}

int table_load(const char *path, const char *label, bool need_labels, dataset *out,
               qsdc_error *err)
{
    unsigned char *file;
    size_t len;
    if (data_read_file(path, &file, &len, err) < 0)
        return -1;
    table_reader r = {.path = path, .s = (const char *)file, .len = len,
                      .pos = text_bom_len(file, len), .line = 1};
    table_rows t = {0};
    int cols, label_col, rc = read_header(&r, label, &cols, &label_col, err);
    if (rc == 0 && need_labels && label_col < 0)
        rc = qsdc_fail(err, "%s: offset 0 (line 1): the header names no label column '%s'",
                       path, label);
    t.features = cols - (label_col >= 0);
    if (rc == 0 && t.features < 1)
        rc = qsdc_fail(err, "%s: offset 0 (line 1): no feature columns besides the label",
                       path);
    while (rc == 0 && r.pos < r.len) {
        if (at_line_end(&r))
            next_line(&r);  /* a blank line */
        else
            rc = read_row(&r, cols, label_col, &t, err);
    }
    if (rc == 0 && t.n == 0)
        rc = qsdc_fail(err, "%s: offset %zu: no rows after the header", path, len);
    free(file);
    if (rc < 0) {
        free(t.x);
        free(t.y);
        return -1;
    }
    memset(out, 0, sizeof *out);
    out->count = t.n;
    out->rank = 1;
    out->dims[0] = out->sample_elems = t.features;
    out->x = t.x;
    if (label_col >= 0) {
        out->y = t.y;
        for (int64_t i = 0; i < t.n; i++)
            if (t.y[i] + 1 > out->n_classes)
                out->n_classes = t.y[i] + 1;
    } else {
        free(t.y);
    }
    return 0;
}
