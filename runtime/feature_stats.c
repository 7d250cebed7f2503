/* Standardisation statistics, and their file beside a checkpoint:
 *
 *   qsdc standardize 1
 *   features N
 *   checksum HEX          FNV-1a 64 of the lines that follow
 *   MEAN STD              one line per feature, as %.9g (exact for floats)
 */
#include "feature_stats.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "file_io.h"
#include "strbuf.h"

#define STATS_FILE "standardize.txt"
#define STATS_MAGIC "qsdc standardize 1\n"

static int stats_alloc(int64_t n, const char *what, feature_stats *s, qsdc_error *err)
{
    s->n = n;
    s->mean = malloc((size_t)n * sizeof *s->mean);
    s->std = malloc((size_t)n * sizeof *s->std);
    if (s->mean && s->std)
        return 0;
    feature_stats_free(s);
    return qsdc_fail(err, "%s: out of memory for %" PRId64 " features", what, n);
}

void feature_stats_free(feature_stats *s)
{
    free(s->mean);
    free(s->std);
    s->mean = s->std = NULL;
}

int feature_stats_fit(const dataset *d, const int64_t *rows, int64_t n_rows,
                      feature_stats *out, qsdc_error *err)
{
    int64_t n = d->sample_elems;
    if (stats_alloc(n, "standardize", out, err) < 0)
        return -1;
    for (int64_t f = 0; f < n; f++) {
        /* two passes in double: the mean, then squares about it */
        double sum = 0, sq = 0;
        for (int64_t r = 0; r < n_rows; r++)
            sum += d->x[rows[r] * n + f];
        double mean = sum / (double)n_rows;
        for (int64_t r = 0; r < n_rows; r++) {
            double dev = d->x[rows[r] * n + f] - mean;
            sq += dev * dev;
        }
        float std = (float)sqrt(sq / (double)n_rows);
        out->mean[f] = (float)mean;
        out->std[f] = std > 0 && isfinite(std) ? std : 1.0f;
    }
    return 0;
}

void feature_stats_apply(const feature_stats *s, dataset *d)
{
    for (int64_t i = 0; i < d->count; i++) {
        float *x = d->x + i * s->n;
        for (int64_t f = 0; f < s->n; f++)
            x[f] = (x[f] - s->mean[f]) / s->std[f];
    }
}

int feature_stats_write(const char *dir, const feature_stats *s, qsdc_error *err)
{
    strbuf body, head;
    sb_init(&body);
    sb_init(&head);
    for (int64_t f = 0; f < s->n; f++)
        sb_printf(&body, "%.9g %.9g\n", (double)s->mean[f], (double)s->std[f]);
    int rc = sb_check(&body, err);
    if (rc == 0) {
        const char *b = sb_str(&body);
        sb_printf(&head, STATS_MAGIC "features %" PRId64 "\nchecksum %016" PRIx64 "\n", s->n,
                  checksum_of(b, strlen(b)));
        rc = sb_check(&head, err);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/" STATS_FILE, dir);
    if (rc == 0)
        rc = fs_write_atomic(path, sb_str(&head), strlen(sb_str(&head)), sb_str(&body),
                             strlen(sb_str(&body)), err);
    sb_free(&body);
    sb_free(&head);
    return rc;
}

/* The header's feature count and checksum; *pos after it. */
static int read_header(const char *path, const char *b, size_t len, size_t *pos, int64_t *n,
                       uint64_t *sum, qsdc_error *err)
{
    size_t m = strlen(STATS_MAGIC);
    if (len < m || memcmp(b, STATS_MAGIC, m) != 0)
        return qsdc_fail(err, "%s: offset 0: not qsdc standardisation statistics of format 1 "
                         "(it starts with 'qsdc standardize 1')", path);
    long long count;
    unsigned long long check;
    int used = 0;
    /* the header is short: a bounded copy makes sscanf safe on the file */
    char head[96];
    size_t k = len - m < sizeof head - 1 ? len - m : sizeof head - 1;
    memcpy(head, b + m, k);
    head[k] = '\0';
    if (sscanf(head, "features %lld\nchecksum %16llx\n%n", &count, &check, &used) != 2 ||
        used == 0 || head[used - 1] != '\n' || count < 1)
        return qsdc_fail(err, "%s: offset %zu: expected 'features N' and 'checksum HEX' "
                         "lines", path, m);
    *n = count;
    *sum = check;
    *pos = m + (size_t)used;
    return 0;
}

static int parse_lines(const char *path, const char *b, size_t len, size_t pos,
                       feature_stats *s, qsdc_error *err)
{
    for (int64_t f = 0; f < s->n; f++) {
        const char *nl = memchr(b + pos, '\n', len - pos);
        char line[80], *end;
        size_t k = nl ? (size_t)(nl - (b + pos)) : 0;
        if (!nl || k >= sizeof line)
            return qsdc_fail(err, "%s: offset %zu: feature %" PRId64 " of %" PRId64 ": "
                             "expected a line 'MEAN STD'", path, pos, f, s->n);
        memcpy(line, b + pos, k);
        line[k] = '\0';
        s->mean[f] = strtof(line, &end);
        s->std[f] = end > line && *end == ' ' ? strtof(end + 1, &end) : NAN;
        if (*end || !isfinite(s->mean[f]) || !isfinite(s->std[f]) || !(s->std[f] > 0))
            return qsdc_fail(err, "%s: offset %zu: feature %" PRId64 ": '%s' is not a finite "
                             "mean and a positive deviation", path, pos, f, line);
        pos += k + 1;
    }
    if (pos != len)
        return qsdc_fail(err, "%s: offset %zu: data after the %" PRId64 " features", path,
                         pos, s->n);
    return 0;
}

int feature_stats_read(const char *dir, feature_stats *out, qsdc_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/" STATS_FILE, dir);
    memset(out, 0, sizeof *out);
    unsigned char *file;
    size_t len, pos = 0;
    if (data_read_file(path, &file, &len, err) < 0)
        return qsdc_error_wrap(err, "%s holds no standardisation statistics (qsdc train "
                               "--checkpoint writes them for a model with standardize: "
                               "true)", dir);
    const char *b = (const char *)file;
    int64_t n = 0;
    uint64_t sum = 0;
    int rc = read_header(path, b, len, &pos, &n, &sum, err);
    if (rc == 0 && checksum_of(b + pos, len - pos) != sum)
        rc = qsdc_fail(err, "%s: offset %zu: the statistics do not match the checksum: the "
                       "file is damaged", path, pos);
    /* each feature takes at least 4 bytes ("0 1\n") */
    if (rc == 0 && (uint64_t)n > (len - pos) / 4)
        rc = qsdc_fail(err, "%s: offset %zu: %" PRId64 " features do not fit in the file",
                       path, pos, n);
    if (rc == 0)
        rc = stats_alloc(n, path, out, err);
    if (rc == 0 && (rc = parse_lines(path, b, len, pos, out, err)) < 0)
        feature_stats_free(out);
    free(file);
    return rc;
}

int feature_stats_apply_saved(const char *dir, const char *path, dataset *d,
                              qsdc_error *err)
{
    feature_stats s;
    if (feature_stats_read(dir, &s, err) < 0)
        return -1;
    int rc = 0;
    if (s.n != d->sample_elems)
        rc = qsdc_fail(err, "%s: samples of %" PRId64 " features; the statistics in %s/"
                       STATS_FILE " are of %" PRId64, path, d->sample_elems, dir, s.n);
    else
        feature_stats_apply(&s, d);
    feature_stats_free(&s);
    return rc;
}
