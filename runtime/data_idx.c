/* IDX loader (the MNIST file format): a big-endian header "0 0 type rank",
 * rank uint32 dimensions, then the elements, big-endian, of the type the
 * format defines: 0x08 unsigned byte (samples scaled to [0, 1]), 0x09
 * signed byte, 0x0B int16, 0x0C int32 (kept as exact floats), 0x0D
 * float32, 0x0E float64 (kept as they are); labels are of the four integer
 * types. Files go through gz_stream, which decompresses gzip and passes
 * plain files through, so every offset in a message is an offset in the
 * uncompressed stream. Data after the last declared element is an error: a
 * header that declares fewer samples than the file holds usually means the
 * wrong file or a corrupt header, and silently dropping data would hide
 * that. The headers alone decide the shape and the memory needed, so both
 * are checked before any data is decompressed. */
#include "data.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gz_stream.h"

#define IDX_TYPE_UBYTE 0x08
#define IDX_TYPE_FLOAT 0x0D
#define IDX_MAX_RANK 4
#define IDX_MAX_DATA_BYTES (UINT64_C(4) << 30)
#define IDX_LABEL_HEADER_BYTES 8   /* magic + one dimension */
#define READ_CHUNK 65536
#define INITIAL_ELEMS (1u << 20)

typedef gz_stream idx_stream;

typedef struct idx_header {
    int type;                     /* IDX_TYPE_* */
    int elem_bytes;               /* of one element of that type */
    int rank;                     /* dims including the leading count */
    int64_t dims[IDX_MAX_RANK];
    uint64_t elems;               /* product of dims */
    uint64_t data_bytes;          /* elems * elem_bytes */
} idx_header;

/* Reads exactly n bytes; `what` and `section` describe the part of the
 * file being read for the end-of-file message. */
static int stream_read(idx_stream *s, uint8_t *buf, size_t n, uint64_t section,
                       const char *what, qsdc_error *err)
{
    int64_t got = gz_stream_read(s, buf, n, err);
    if (got < 0)
        return -1;
    if ((size_t)got < n)
        return qsdc_fail(err, "%s: offset %" PRIu64 ": unexpected end of file, "
                         "expected %" PRIu64 " bytes of %s", s->path, s->offset,
                         section, what);
    return 0;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The bytes of an element of type, 0 for a type IDX does not define. */
static int idx_type_bytes(int type)
{
    switch (type) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
    }
}

static const char *idx_type_name(int type)
{
    switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    default: return "float64";
    }
}

/* kind is "image" (rank 2..4: count, then the sample shape) or "label"
 * (rank 1). */
static int read_header(idx_stream *s, const char *kind, idx_header *h,
                       qsdc_error *err)
{
    uint8_t magic[4];
    if (stream_read(s, magic, 4, 4, "magic number", err) != 0)
        return -1;
    if (magic[0] != 0 || magic[1] != 0)
        return qsdc_fail(err, "%s: offset 0: bad magic 0x%02x%02x%02x%02x: not "
                         "an IDX file (the first two bytes must be zero)", s->path,
                         magic[0], magic[1], magic[2], magic[3]);
    h->type = magic[2];
    h->elem_bytes = idx_type_bytes(h->type);
    if (h->elem_bytes == 0)
        return qsdc_fail(err, "%s: offset 2: IDX element type 0x%02x is not one the format "
                         "defines (0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E)", s->path, h->type);
    h->rank = magic[3];
    if (h->rank == 0 || h->rank > IDX_MAX_RANK)
        return qsdc_fail(err, "%s: offset 3: IDX rank %d is not supported "
                         "(must be 1 to %d)", s->path, h->rank, IDX_MAX_RANK);
    int is_label = strcmp(kind, "label") == 0;
    if (is_label && h->type >= IDX_TYPE_FLOAT)
        return qsdc_fail(err, "%s: offset 2: label file of %s elements; labels are "
                         "integers (types 0x08 to 0x0C)", s->path, idx_type_name(h->type));
    if (is_label && h->rank != 1)
        return qsdc_fail(err, "%s: offset 3: label file has rank %d; expected 1 "
                         "(one label per sample)", s->path, h->rank);
    if (!is_label && h->rank < 2)
        return qsdc_fail(err, "%s: offset 3: image file has rank 1 (a count "
                         "only); expected 2 to %d (the count, then the sample "
                         "shape)", s->path, IDX_MAX_RANK);

    uint8_t raw[4 * IDX_MAX_RANK];
    size_t dim_bytes = 4 * (size_t)h->rank;
    if (stream_read(s, raw, dim_bytes, dim_bytes, "dimensions", err) != 0)
        return -1;
    h->data_bytes = (uint64_t)h->elem_bytes;
    for (int i = 0; i < h->rank; i++) {
        h->dims[i] = be32(raw + 4 * i);
        if (h->dims[i] == 0)
            return qsdc_fail(err, "%s: offset %d: dimension %d of %d is 0",
                             s->path, 4 + 4 * i, i + 1, h->rank);
        /* Both factors are below 2^32 and the running product is capped at
         * 2^32, so this cannot overflow. */
        h->data_bytes *= (uint64_t)h->dims[i];
        if (h->data_bytes > IDX_MAX_DATA_BYTES)
            return qsdc_fail(err, "%s: offset %d: dimension %d (%" PRId64 ") "
                             "takes the data past the 4 GiB limit", s->path,
                             4 + 4 * i, i + 1, h->dims[i]);
    }
    h->elems = h->data_bytes / (uint64_t)h->elem_bytes;
    return 0;
}

/* Element i of in, of type, as a double (exact for every IDX type). */
static double idx_element(const uint8_t *in, size_t i, int type)
{
    const uint8_t *p = in + i * (size_t)idx_type_bytes(type);
    uint32_t u;
    switch (type) {
    case 0x08: return p[0];
    case 0x09: return (int8_t)p[0];
    case 0x0B: return (int16_t)(uint16_t)(p[0] << 8 | p[1]);
    case 0x0C: return (int32_t)be32(p);
    case 0x0D: {
        float f;
        u = be32(p);
        memcpy(&f, &u, sizeof f);
        return f;
    }
    default: {
        uint64_t v = (uint64_t)be32(p) << 32 | be32(p + 4);
        double d;
        memcpy(&d, &v, sizeof d);
        return d;
    }
    }
}

typedef void convert_fn(const uint8_t *in, size_t n, int type, void *out);

static void convert_pixels(const uint8_t *in, size_t n, int type, void *out)
{
    float *x = out;
    for (size_t i = 0; i < n; i++)
        x[i] = type == IDX_TYPE_UBYTE ? (float)in[i] / 255.0f
                                      : (float)idx_element(in, i, type);
}

static void convert_labels(const uint8_t *in, size_t n, int type, void *out)
{
    int32_t *y = out;
    for (size_t i = 0; i < n; i++)
        y[i] = (int32_t)idx_element(in, i, type);
}

/* Reads the h->elems elements of the data and converts them to elements of
 * elem_size bytes. The buffer grows with the data actually read, so a
 * header that claims gigabytes in a small file costs no more memory than
 * the file's size. */
static int read_elements(idx_stream *s, const idx_header *h, size_t elem_size,
                         convert_fn *convert, const char *what, void **out,
                         qsdc_error *err)
{
    uint64_t n = h->elems;
    size_t in_bytes = (size_t)h->elem_bytes, per_chunk = READ_CHUNK / in_bytes;
    if (n > SIZE_MAX / elem_size)
        return qsdc_fail(err, "%s: %" PRIu64 " elements of %s do not fit in "
                         "memory", s->path, n, what);
    size_t cap = n < INITIAL_ELEMS ? (size_t)n : INITIAL_ELEMS;
    uint8_t *data = malloc(cap * elem_size);
    uint8_t *chunk = malloc(READ_CHUNK);
    if (!data || !chunk)
        goto oom;
    for (uint64_t done = 0; done < n;) {
        size_t want = n - done < per_chunk ? (size_t)(n - done) : per_chunk;
        if (stream_read(s, chunk, want * in_bytes, h->data_bytes, what, err) != 0)
            goto fail;
        if (done + want > cap) {
            cap = (uint64_t)cap * 2 < n ? cap * 2 : (size_t)n;
            uint8_t *grown = realloc(data, cap * elem_size);
            if (!grown)
                goto oom;
            data = grown;
        }
        convert(chunk, want, h->type, data + done * elem_size);
        done += want;
    }
    free(chunk);
    *out = data;
    return 0;
oom:
    qsdc_fail(err, "%s: out of memory reading %" PRIu64 " elements of %s",
              s->path, n, what);
fail:
    free(chunk);
    free(data);
    return -1;
}

/* NaN or an infinity would poison every step that reads them. */
static int check_finite(const char *path, const idx_header *h, const float *x,
                        qsdc_error *err)
{
    for (uint64_t i = 0; h->type >= IDX_TYPE_FLOAT && i < h->elems; i++)
        if (!isfinite(x[i]))
            return qsdc_fail(err, "%s: offset %" PRIu64 ": element %" PRIu64 " is not a "
                             "finite number", path,
                             (uint64_t)(4 + 4 * h->rank) + i * (uint64_t)h->elem_bytes, i);
    return 0;
}

static int expect_end(idx_stream *s, int64_t count, qsdc_error *err)
{
    uint8_t extra;
    int64_t got = gz_stream_read(s, &extra, 1, err);
    if (got < 0)
        return -1;
    if (got > 0)
        return qsdc_fail(err, "%s: offset %" PRIu64 ": unexpected data after "
                         "the last of %" PRId64 " samples (the file is longer "
                         "than its header declares)", s->path, s->offset - 1,
                         count);
    return 0;
}

static void fill_shape(dataset *d, const idx_header *h)
{
    d->count = h->dims[0];
    d->rank = h->rank - 1;
    d->sample_elems = 1;
    for (int i = 0; i < d->rank; i++) {
        d->dims[i] = h->dims[i + 1];
        d->sample_elems *= d->dims[i];
    }
}

static int check_sample_elems(const char *path, const int64_t *dims, int rank,
                              int64_t elems, int64_t want_elems, qsdc_error *err)
{
    if (elems == want_elems)
        return 0;
    char shape[96];
    dataset_format_shape(dims, rank, shape, sizeof shape);
    return qsdc_fail(err, "%s: samples are %s (%" PRId64 " elements) but the model "
                     "expects %" PRId64 " elements per sample", path, shape, elems,
                     want_elems);
}

/* The shape and the memory the data will take, from the image header. */
static int check_header_fits(const char *path, const idx_header *h, int64_t want_elems,
                             bool labels, qsdc_error *err)
{
    int64_t count = h->dims[0];
    int64_t elems = (int64_t)(h->elems / (uint64_t)count);
    if (want_elems > 0 &&
        check_sample_elems(path, h->dims + 1, h->rank - 1, elems, want_elems, err) < 0)
        return -1;
    char what[96];
    snprintf(what, sizeof what, "%" PRId64 " samples of %" PRId64 " elements", count,
             elems);
    return data_check_size(path, (uint64_t)count,
                           ((uint64_t)elems + labels) * sizeof(float), what, err);
}

/* Both headers are read before any data so that a count mismatch, a shape
 * the model cannot take or data too large for memory is reported without
 * first decoding a large image file. */
int idx_load(const char *images_path, const char *labels_path, int64_t want_elems,
             dataset *out, qsdc_error *err)
{
    dataset d = {0};
    idx_stream img, lab;
    bool img_open = false, lab_open = false;
    idx_header ih, lh;
    void *x = NULL, *y = NULL;
    int rc = -1;

    if (gz_stream_open(&img, images_path, err) != 0)
        goto done;
    img_open = true;
    if (read_header(&img, "image", &ih, err) != 0)
        goto done;
    if (labels_path) {
        if (gz_stream_open(&lab, labels_path, err) != 0)
            goto done;
        lab_open = true;
        if (read_header(&lab, "label", &lh, err) != 0)
            goto done;
        if (lh.dims[0] != ih.dims[0]) {
            qsdc_fail(err, "%s: %" PRId64 " images but %s: %" PRId64 " labels; "
                      "the counts must match", images_path, ih.dims[0],
                      labels_path, lh.dims[0]);
            goto done;
        }
    }
    if (check_header_fits(images_path, &ih, want_elems, labels_path != NULL, err) != 0 ||
        read_elements(&img, &ih, sizeof(float), convert_pixels,
                      "image data", &x, err) != 0 ||
        check_finite(images_path, &ih, x, err) != 0 ||
        expect_end(&img, ih.dims[0], err) != 0)
        goto done;
    if (labels_path &&
        (read_elements(&lab, &lh, sizeof(int32_t), convert_labels,
                       "label data", &y, err) != 0 ||
         expect_end(&lab, lh.dims[0], err) != 0))
        goto done;

    fill_shape(&d, &ih);
    d.integers = ih.type != IDX_TYPE_UBYTE && ih.type < IDX_TYPE_FLOAT;
    d.label_bytes = labels_path ? lh.elem_bytes : 0;
    d.x = x;
    d.y = y;
    for (int64_t i = 0; d.y && i < d.count; i++)
        if (d.y[i] + 1 > d.n_classes)
            d.n_classes = d.y[i] + 1;
    x = y = NULL;
    *out = d;
    rc = 0;
done:
    free(x);
    free(y);
    if (img_open)
        gz_stream_close(&img);
    if (lab_open)
        gz_stream_close(&lab);
    return rc;
}

int dataset_check(const dataset *d, const char *labels_path, int64_t classes,
                  const char *images_path, int64_t want_elems, qsdc_error *err)
{
    if (check_sample_elems(images_path, d->dims, d->rank, d->sample_elems, want_elems,
                           err) < 0)
        return -1;
    for (int64_t i = 0; d->y && i < d->count; i++)
        if (d->y[i] < 0 || d->y[i] >= classes)
            return qsdc_fail(err, "%s: label %" PRId32 " at index %" PRId64
                             " (offset %" PRId64 ") is outside the model's %"
                             PRId64 " classes", labels_path, d->y[i], i,
                             IDX_LABEL_HEADER_BYTES + i * (d->label_bytes ? d->label_bytes : 1),
                             classes);
    return 0;
}

void dataset_free(dataset *d)
{
    free(d->x);
    free(d->y);
    memset(d, 0, sizeof *d);
}
