/* NumPy .npy files (format versions 1.0 and 2.0): the magic "\x93NUMPY",
 * the version, the header's length (uint16 in 1.0, uint32 in 2.0, little-
 * endian), then a Python dict literal with exactly the keys 'descr',
 * 'fortran_order' and 'shape', padded with spaces and ended by a newline;
 * then the elements in C order. The header parser accepts what numpy
 * writes and nothing looser: no other keys, no expressions, and the data
 * must fill the rest of the file exactly. Every error names the path and
 * the byte offset. */
#include "npy.h"

#include <ctype.h>
#include <stdio.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "file_io.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6

typedef struct header_parser {
    const char *path;
    const unsigned char *s;
    size_t pos, end;        /* offsets in the file */
} header_parser;

static void skip_spaces(header_parser *p)
{
    while (p->pos < p->end && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
        p->pos++;
}

/* Consumes close, after spaces, when it comes next. */
static bool take_close(header_parser *p, char close)
{
    skip_spaces(p);
    if (p->pos >= p->end || p->s[p->pos] != close)
        return false;
    p->pos++;
    return true;
}

/* After an item of a tuple or dict: a comma, or the closing bracket left
 * for take_close. */
static int item_end(header_parser *p, char close, qsdc_error *err)
{
    skip_spaces(p);
    if (p->pos < p->end && p->s[p->pos] == ',') {
        p->pos++;
        return 0;
    }
    if (p->pos < p->end && p->s[p->pos] == close)
        return 0;
    return qsdc_fail(err, "%s: offset %zu: bad .npy header: expected ',' or '%c'", p->path,
                     p->pos, close);
}

static int expect_char(header_parser *p, char c, const char *what, qsdc_error *err)
{
    skip_spaces(p);
    if (p->pos < p->end && p->s[p->pos] == c) {
        p->pos++;
        return 0;
    }
    return qsdc_fail(err, "%s: offset %zu: bad .npy header: expected %s", p->path, p->pos,
                     what);
}

/* A quoted Python string without escapes into out (at most cap - 1 bytes). */
static int read_string(header_parser *p, char *out, size_t cap, qsdc_error *err)
{
    skip_spaces(p);
    size_t at = p->pos;
    if (p->pos >= p->end || (p->s[p->pos] != '\'' && p->s[p->pos] != '"'))
        return qsdc_fail(err, "%s: offset %zu: bad .npy header: expected a quoted string",
                         p->path, at);
    unsigned char quote = p->s[p->pos++];
    size_t n = 0;
    while (p->pos < p->end && p->s[p->pos] != quote) {
        if (p->s[p->pos] == '\\' || n + 1 >= cap)
            return qsdc_fail(err, "%s: offset %zu: bad .npy header: a string longer than "
                             "%zu bytes or with an escape", p->path, at, cap - 1);
        out[n++] = (char)p->s[p->pos++];
    }
    if (p->pos >= p->end)
        return qsdc_fail(err, "%s: offset %zu: bad .npy header: unterminated string",
                         p->path, at);
    p->pos++;
    out[n] = '\0';
    return 0;
}

static int read_descr(header_parser *p, npy_array *a, qsdc_error *err)
{
    skip_spaces(p);
    size_t at = p->pos;
    char d[16];
    if (read_string(p, d, sizeof d, err) < 0)
        return -1;
    static const struct { const char *code; char kind; int size; } types[] = {
        {"f4", 'f', 4}, {"f8", 'f', 8}, {"u1", 'u', 1}, {"i4", 'i', 4}, {"i8", 'i', 8}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        bool one_byte = types[i].size == 1;
        if (strcmp(d + 1, types[i].code) != 0 ||
            !(d[0] == '<' || d[0] == '>' || (one_byte && d[0] == '|')))
            continue;
        a->kind = types[i].kind;
        a->size = types[i].size;
        a->big_endian = d[0] == '>';
        return 0;
    }
    return qsdc_fail(err, "%s: offset %zu: unsupported .npy dtype '%s'; qsdc reads float32 "
                     "(<f4), float64 (<f8), uint8 (|u1), int32 (<i4) and int64 (<i8)",
                     p->path, at, d);
}

static int read_bool(header_parser *p, bool *out, qsdc_error *err)
{
    skip_spaces(p);
    size_t left = p->end - p->pos;
    if (left >= 4 && memcmp(p->s + p->pos, "True", 4) == 0) {
        p->pos += 4;
        *out = true;
        return 0;
    }
    if (left >= 5 && memcmp(p->s + p->pos, "False", 5) == 0) {
        p->pos += 5;
        *out = false;
        return 0;
    }
    return qsdc_fail(err, "%s: offset %zu: bad .npy header: expected True or False for "
                     "'fortran_order'", p->path, p->pos);
}

/* (d0, d1, ...): a tuple of non-negative integers, "(n,)" for one. */
static int read_shape(header_parser *p, npy_array *a, qsdc_error *err)
{
    if (expect_char(p, '(', "'(' opening the shape", err) < 0)
        return -1;
    a->rank = 0;
    while (!take_close(p, ')')) {
        size_t at = p->pos;
        if (a->rank == NPY_MAX_RANK)
            return qsdc_fail(err, "%s: offset %zu: .npy array of more than %d dimensions",
                             p->path, at, NPY_MAX_RANK);
        int64_t v = 0;
        if (p->pos >= p->end || !isdigit(p->s[p->pos]))
            return qsdc_fail(err, "%s: offset %zu: bad .npy header: expected a dimension "
                             "in the shape", p->path, at);
        while (p->pos < p->end && isdigit(p->s[p->pos])) {
            v = v * 10 + (p->s[p->pos++] - '0');
            if (v > UINT32_MAX)
                return qsdc_fail(err, "%s: offset %zu: .npy dimension too large", p->path,
                                 at);
        }
        a->dims[a->rank++] = v;
        if (item_end(p, ')', err) < 0)
            return -1;
    }
    return 0;
}

static int read_dict(header_parser *p, npy_array *a, qsdc_error *err)
{
    static const char *const keys[] = {"descr", "fortran_order", "shape"};
    bool seen[3] = {false, false, false}, fortran = false;
    if (expect_char(p, '{', "'{' opening the header dict", err) < 0)
        return -1;
    while (!take_close(p, '}')) {
        size_t at = p->pos;
        char key[32];
        if (read_string(p, key, sizeof key, err) < 0 ||
            expect_char(p, ':', "':' after a key", err) < 0)
            return -1;
        int k = 0;
        while (k < 3 && strcmp(key, keys[k]) != 0)
            k++;
        if (k == 3 || seen[k])
            return qsdc_fail(err, "%s: offset %zu: bad .npy header: %s key '%s'", p->path,
                             at, k == 3 ? "unknown" : "repeated", key);
        seen[k] = true;
        skip_spaces(p);
        size_t value_at = p->pos;
        int rc = k == 0 ? read_descr(p, a, err)
               : k == 1 ? read_bool(p, &fortran, err) : read_shape(p, a, err);
        if (rc < 0)
            return -1;
        if (fortran)
            return qsdc_fail(err, "%s: offset %zu: fortran_order is True; qsdc reads C-order "
                             "arrays (np.ascontiguousarray before np.save)", p->path,
                             value_at);
        if (item_end(p, '}', err) < 0)
            return -1;
    }
    for (int k = 0; k < 3; k++)
        if (!seen[k])
            return qsdc_fail(err, "%s: offset %zu: bad .npy header: no '%s' key", p->path,
                             p->pos, keys[k]);
    skip_spaces(p);
    if (p->end - p->pos != 1 || p->s[p->pos] != '\n')
        return qsdc_fail(err, "%s: offset %zu: bad .npy header: expected spaces then a "
                         "newline after the dict", p->path, p->pos);
    return 0;
}

static int read_preamble(const char *path, const unsigned char *b, size_t len,
                         size_t *header_start, size_t *header_end, qsdc_error *err)
{
    if (len < 10 || memcmp(b, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return qsdc_fail(err, "%s: offset 0: bad magic: not a .npy file (it starts with "
                         "\\x93NUMPY)", path);
    if ((b[6] != 1 && b[6] != 2) || b[7] != 0)
        return qsdc_fail(err, "%s: offset 6: .npy format version %d.%d; qsdc reads 1.0 and "
                         "2.0", path, b[6], b[7]);
    uint64_t hlen = b[8] | (uint64_t)b[9] << 8;
    *header_start = 10;
    if (b[6] == 2) {
        if (len < 12)
            return qsdc_fail(err, "%s: offset %zu: unexpected end of file in the .npy "
                             "preamble", path, len);
        hlen |= (uint64_t)b[10] << 16 | (uint64_t)b[11] << 24;
        *header_start = 12;
    }
    if (hlen > len - *header_start)
        return qsdc_fail(err, "%s: offset 8: the .npy header's length %" PRIu64 " runs past "
                         "the end of the file (%zu bytes)", path, hlen, len);
    *header_end = *header_start + (size_t)hlen;
    return 0;
}

int npy_parse(const char *path, const unsigned char *b, size_t len, npy_array *out,
              qsdc_error *err)
{
    memset(out, 0, sizeof *out);
    size_t start = 0, end = 0;
    if (read_preamble(path, b, len, &start, &end, err) < 0)
        return -1;
    header_parser p = {.path = path, .s = b, .pos = start, .end = end};
    if (read_dict(&p, out, err) < 0)
        return -1;
    uint64_t count = 1;
    for (int i = 0; i < out->rank; i++) {
        count *= (uint64_t)out->dims[i];
        if (count > (uint64_t)(len - end))  /* also keeps the product from overflowing */
            break;
    }
    out->count = count;
    if (count > (uint64_t)(len - end) || count * (uint64_t)out->size > len - end)
        return qsdc_fail(err, "%s: offset %zu: unexpected end of file: the shape declares "
                         "more data than the %zu bytes after the header", path, len,
                         len - end);
    uint64_t want = count * (uint64_t)out->size;
    if (want < len - end)
        return qsdc_fail(err, "%s: offset %" PRIu64 ": unexpected data after the last "
                         "element the header declares", path, end + want);
    out->data = b + end;
    out->data_offset = end;
    return 0;
}

static uint64_t element_bits(const npy_array *a, uint64_t i)
{
    const unsigned char *p = a->data + i * (uint64_t)a->size;
    uint64_t v = 0;
    for (int k = 0; k < a->size; k++)
        v |= (uint64_t)p[a->big_endian ? a->size - 1 - k : k] << (8 * k);
    return v;
}

double npy_element(const npy_array *a, uint64_t i)
{
    uint64_t v = element_bits(a, i);
    if (a->kind == 'u')
        return (double)v;
    if (a->kind == 'i')
        return a->size == 4 ? (double)(int32_t)(uint32_t)v : (double)(int64_t)v;
    if (a->size == 4) {
        uint32_t u = (uint32_t)v;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

size_t npy_header_f32(char *head, size_t cap, int rank, const int64_t *dims)
{
    char shape[NPY_MAX_RANK * 24 + 4] = "(";
    for (int i = 0; i < rank && i < NPY_MAX_RANK; i++)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%" PRId64,
                 i ? ", " : "", dims[i]);
    strcat(shape, rank == 1 ? ",)" : ")");
    if (cap < 10 || rank > NPY_MAX_RANK)
        return 0;
    int n = snprintf(head + 10, cap - 10, "{'descr': '<f4', 'fortran_order': False, "
                     "'shape': %s, }", shape);
    /* numpy pads the preamble and header to a multiple of 64 bytes */
    size_t total = ((size_t)n + 10 + 1 + 63) / 64 * 64;
    if (n < 0 || total > cap)
        return 0;
    memcpy(head, NPY_MAGIC "\x01\x00", 8);
    head[8] = (char)((total - 10) & 0xff);
    head[9] = (char)((total - 10) >> 8);
    memset(head + 10 + n, ' ', total - 10 - (size_t)n - 1);
    head[total - 1] = '\n';
    return total;
}

void npy_f32_bytes(const float *x, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        for (int k = 0; k < 4; k++)
            out[4 * i + (size_t)k] = (unsigned char)(u >> (8 * k));
    }
}

int npy_write_f32(const char *path, const float *x, int64_t rows, int64_t cols,
                  qsdc_error *err)
{
    char head[256];
    int64_t dims[2] = {rows, cols};
    size_t total = npy_header_f32(head, sizeof head, 2, dims);
    if (total == 0)
        return qsdc_fail(err, "%s: .npy header too long", path);
    size_t elems = (size_t)rows * (size_t)cols;
    unsigned char *body = malloc(elems * 4 + 1);
    if (!body)
        return qsdc_fail(err, "%s: out of memory for %zu outputs", path, elems);
    npy_f32_bytes(x, elems, body);
    int rc = fs_write_atomic(path, head, total, body, elems * 4, err);
    free(body);
    return rc;
}
