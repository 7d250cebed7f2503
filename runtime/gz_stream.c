#include "gz_stream.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "file_io.h"

/* Appends to the unconsumed input what fits of the file's next bytes. */
static int refill(gz_stream *s, qsdc_error *err)
{
    if (s->file_end)
        return 0;
    if (s->z.avail_in > 0)
        memmove(s->in, s->z.next_in, s->z.avail_in);
    s->z.next_in = s->in;
    ssize_t r;
    do
        r = read(s->fd, s->in + s->z.avail_in, sizeof s->in - s->z.avail_in);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return qsdc_fail(err, "%s: offset %" PRIu64 ": read error: %s", s->path,
                         s->file_read, strerror(errno));
    s->file_end = r == 0;
    s->z.avail_in += (uInt)r;
    s->file_read += (uint64_t)r;
    return 0;
}

/* Refills until at least n bytes are buffered or the file ends. */
static int buffer_at_least(gz_stream *s, uInt n, qsdc_error *err)
{
    while (s->z.avail_in < n && !s->file_end)
        if (refill(s, err) < 0)
            return -1;
    return 0;
}

static bool at_gzip_magic(const gz_stream *s)
{
    return s->z.avail_in >= 2 && s->z.next_in[0] == 0x1f && s->z.next_in[1] == 0x8b;
}

int gz_stream_open(gz_stream *s, const char *path, qsdc_error *err)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    s->fd = fs_open_regular(path, NULL, err);
    if (s->fd < 0)
        return -1;
    s->z.next_in = s->in;
    int rc = buffer_at_least(s, 2, err);
    s->gzip = rc == 0 && at_gzip_magic(s);
    if (s->gzip && inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK)
        rc = qsdc_fail(err, "%s: cannot open: out of memory", path);
    s->inflating = rc == 0 && s->gzip;
    if (rc < 0)
        gz_stream_close(s);
    return rc;
}

/* The position of the next unconsumed compressed byte. */
static uint64_t in_offset(const gz_stream *s)
{
    return s->file_read - s->z.avail_in;
}

/* After a member's end: another member, the end of the file, or an error. */
static int next_member(gz_stream *s, bool *end, qsdc_error *err)
{
    if (buffer_at_least(s, 2, err) < 0)
        return -1;
    *end = s->z.avail_in == 0;
    if (*end)
        return 0;
    if (!at_gzip_magic(s))
        return qsdc_fail(err, "%s: offset %" PRIu64 " of the compressed file: unexpected "
                         "data after the end of the gzip stream", s->path, in_offset(s));
    inflateReset(&s->z);
    return 0;
}

static int64_t read_plain(gz_stream *s, uint8_t *buf, size_t n, qsdc_error *err)
{
    size_t got = 0;
    while (got < n) {
        if (s->z.avail_in == 0 && (refill(s, err) < 0))
            return -1;
        if (s->z.avail_in == 0)
            break;
        size_t take = n - got < s->z.avail_in ? n - got : s->z.avail_in;
        memcpy(buf + got, s->z.next_in, take);
        s->z.next_in += take;
        s->z.avail_in -= (uInt)take;
        got += take;
    }
    return (int64_t)got;
}

static int64_t read_gzip(gz_stream *s, uint8_t *buf, size_t n, qsdc_error *err)
{
    s->z.next_out = buf;
    s->z.avail_out = (uInt)n;
    while (s->z.avail_out > 0) {
        if (s->z.avail_in == 0 && refill(s, err) < 0)
            return -1;
        int rc = inflate(&s->z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            bool end;
            if (next_member(s, &end, err) < 0)
                return -1;
            if (end)
                break;
        } else if (rc == Z_BUF_ERROR && s->z.avail_in == 0 && s->file_end) {
            break;   /* cut short: for the user the same as an early end */
        } else if (rc == Z_MEM_ERROR) {
            return qsdc_fail(err, "%s: out of memory decompressing", s->path);
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            return qsdc_fail(err, "%s: offset %" PRIu64 ": corrupt gzip data: %s",
                             s->path, s->offset + (n - s->z.avail_out),
                             s->z.msg ? s->z.msg : "invalid data");
        }
    }
    return (int64_t)(n - s->z.avail_out);
}

int64_t gz_stream_read(gz_stream *s, uint8_t *buf, size_t n, qsdc_error *err)
{
    int64_t got = 0;
    /* avail_out is a uInt: larger reads go in pieces */
    while ((size_t)got < n) {
        size_t want = n - (size_t)got < GZ_STREAM_CHUNK ? n - (size_t)got : GZ_STREAM_CHUNK;
        int64_t r = s->gzip ? read_gzip(s, buf + got, want, err)
                            : read_plain(s, buf + got, want, err);
        if (r < 0)
            return -1;
        got += r;
        s->offset += (uint64_t)r;
        if ((size_t)r < want)
            break;
    }
    return got;
}

void gz_stream_close(gz_stream *s)
{
    if (s->inflating)
        inflateEnd(&s->z);
    if (s->fd >= 0)
        close(s->fd);
    s->inflating = false;
    s->fd = -1;
}
