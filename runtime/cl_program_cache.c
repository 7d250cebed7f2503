/* The on-disk program binary cache. A cache file is a 24-byte header
 * (magic, payload length, checksum) and the driver's binary; the checksum
 * covers every other byte of the file, header and payload, so a truncated or
 * damaged file is rejected before the driver sees it: not every driver
 * survives being handed garbage (pocl's loader overflows a heap buffer).
 * A checksum cannot stop someone who can write the file, so a file another
 * user could have written (not ours, or group- or world-writable) is not
 * used either: a cached binary is code, run with the user's rights. */
#include "cl_program_cache.h"
#include "checksum.h"
#include "file_io.h"

#include "strbuf.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char magic[8] = {'Q', 'S', 'D', 'C', 'C', 'L', 'B', '2'};
enum { CHECKED_HEADER_LEN = 16, HEADER_LEN = 24 };

static bool cache_dir(char *dir, size_t cap)
{
    const char *env = getenv("QSDC_CACHE_DIR");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (env && *env) {
        if (strcmp(env, "off") == 0)
            return false;
        n = snprintf(dir, cap, "%s", env);
    } else if (xdg && *xdg) {
        n = snprintf(dir, cap, "%s/qsdc", xdg);
    } else if (home && *home) {
        n = snprintf(dir, cap, "%s/.cache/qsdc", home);
    } else {
        return false;
    }
    return n > 0 && (size_t)n < cap && fs_make_dirs(dir, NULL) == 0;
}

/* The checksum over a field and then its length, so field boundaries count. */
static uint64_t add_field(uint64_t h, const char *s)
{
    size_t n = strlen(s);
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)(n >> (8 * i));
    return checksum_add(checksum_add(h, s, n), len, sizeof len);
}

bool cl_cache_path(const cl_env *env, const char *source, const char *full_options,
                   char *path, size_t cap)
{
    char dir[900];
    path[0] = '\0';
    if (!cache_dir(dir, sizeof dir))
        return false;
    uint64_t h = CHECKSUM_INIT;
    const char *fields[] = {"qsdc-cache-1", source, full_options, env->dev.platform_name,
                            env->dev.name, env->dev.version, env->dev.driver};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        h = add_field(h, fields[i]);
    int n = snprintf(path, cap, "%s/%016llx.clbin", dir, (unsigned long long)h);
    if (n < 0 || (size_t)n >= cap) {
        path[0] = '\0';
        return false;
    }
    return true;
}

bool cl_cache_device_file(const cl_env *env, const char *name, const char *ext, char *path,
                          size_t cap)
{
    char dir[900];
    path[0] = '\0';
    if (!cache_dir(dir, sizeof dir))
        return false;
    uint64_t h = CHECKSUM_INIT;
    const char *fields[] = {name, env->dev.platform_name, env->dev.name, env->dev.version,
                            env->dev.driver};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        h = add_field(h, fields[i]);
    int n = snprintf(path, cap, "%s/%s-%016llx.%s", dir, name, (unsigned long long)h, ext);
    if (n < 0 || (size_t)n >= cap) {
        path[0] = '\0';
        return false;
    }
    return true;
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* The checksum of a cache file: its header up to the checksum, then the
 * payload. */
static uint64_t file_checksum(const unsigned char *header, const unsigned char *payload,
                              size_t len)
{
    return checksum_add(checksum_of(header, CHECKED_HEADER_LEN), payload, len);
}

/* Only this user can have written path. */
static bool ours_alone(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
           (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

bool cl_cache_load(const char *path, unsigned char **file, const unsigned char **bin,
                   size_t *len)
{
    unsigned char *data;
    size_t n;
    if (!ours_alone(path) || fs_read_file(path, &data, &n, NULL))
        return false;
    if (n > HEADER_LEN && memcmp(data, magic, sizeof magic) == 0 &&
        get_le(data + 8, 8) == n - HEADER_LEN &&
        get_le(data + CHECKED_HEADER_LEN, 8) ==
            file_checksum(data, data + HEADER_LEN, n - HEADER_LEN)) {
        *file = data;
        *bin = data + HEADER_LEN;
        *len = n - HEADER_LEN;
        return true;
    }
    free(data);
    return false;
}

void cl_cache_store(const char *path, const unsigned char *bin, size_t len)
{
    unsigned char header[HEADER_LEN] = {0};
    memcpy(header, magic, sizeof magic);
    put_le(header + 8, len, 8);
    put_le(header + CHECKED_HEADER_LEN, file_checksum(header, bin, len), 8);
    fs_write_atomic(path, header, sizeof header, bin, len, NULL);
}

size_t cl_cache_key_length(const char *line, size_t len, int fields)
{
    size_t i = 0;
    for (int f = 0; f < fields; f++) {
        while (i < len && line[i] == ' ')
            i++;
        while (i < len && line[i] != ' ')
            i++;
    }
    return i;
}

/* The space-separated fields of line[0, len). */
static int count_fields(const char *line, size_t len)
{
    int n = 0;
    for (size_t i = 0; i < len; i++)
        n += line[i] != ' ' && (i == 0 || line[i - 1] == ' ');
    return n;
}

/* Whether a line of text starts with the key line[0, key). */
static bool text_has_key(const char *text, const char *line, size_t key, int fields)
{
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (cl_cache_key_length(p, len, fields) == key && memcmp(p, line, key) == 0)
            return true;
        p += len + (nl != NULL);
    }
    return false;
}

void cl_cache_merge_lines(const char *path, const char *text, int key_fields)
{
    char lock_path[4200];
    snprintf(lock_path, sizeof lock_path, "%s.lock", path);
    int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX) != 0) {
        if (lock >= 0)
            close(lock);
        return;
    }
    strbuf sb;
    sb_init(&sb);
    unsigned char *old;
    size_t len;
    int fields = count_fields(text, strcspn(text, "\n"));
    if (fs_read_file_max(path, 64u << 20, &old, &len, NULL) == 0) {
        const char *b = (const char *)old;
        for (size_t pos = 0; pos < len;) {
            const char *nl = memchr(b + pos, '\n', len - pos);
            size_t n = nl ? (size_t)(nl - (b + pos)) : len - pos;
            size_t key = cl_cache_key_length(b + pos, n, key_fields);
            if (n > 0 && count_fields(b + pos, n) == fields &&
                !text_has_key(text, b + pos, key, key_fields))
                sb_printf(&sb, "%.*s\n", (int)n, b + pos);
            pos += n + 1;
        }
        free(old);
    }
    sb_append(&sb, text);
    if (!sb.oom)
        fs_write_atomic(path, NULL, 0, sb_str(&sb), sb.len, NULL);
    sb_free(&sb);
    close(lock);
}
