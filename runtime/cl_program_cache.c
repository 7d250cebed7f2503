/* The on-disk program binary cache. A cache file is a 24-byte header
 * (magic, payload length, crc32 of the payload) and the driver's binary; the
 * header lets a truncated or damaged file be rejected before the driver sees
 * it, since not every driver survives being handed garbage. */
#include "cl_program_cache.h"
#include "file_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char magic[8] = {'Q', 'S', 'D', 'C', 'C', 'L', 'B', '1'};
enum { HEADER_LEN = 24 };

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

/* FNV-1a 64 over a field and then its length, so field boundaries count. */
static uint64_t fnv1a(uint64_t h, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    for (int i = 0; i < 8; i++)
        h = (h ^ ((n >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
    return h;
}

bool cl_cache_path(const cl_env *env, const char *source, const char *full_options,
                   char *path, size_t cap)
{
    char dir[900];
    path[0] = '\0';
    if (!cache_dir(dir, sizeof dir))
        return false;
    uint64_t h = 0xcbf29ce484222325ULL;
    const char *fields[] = {"qsdc-cache-1", source, full_options, env->dev.platform_name,
                            env->dev.name, env->dev.version, env->dev.driver};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        h = fnv1a(h, fields[i]);
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
    uint64_t h = 0xcbf29ce484222325ULL;
    const char *fields[] = {name, env->dev.platform_name, env->dev.name, env->dev.version,
                            env->dev.driver};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        h = fnv1a(h, fields[i]);
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

static uint32_t crc_of(const unsigned char *p, size_t len)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (len > 0) {
        uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
        c = crc32(c, p, chunk);
        p += chunk;
        len -= chunk;
    }
    return (uint32_t)c;
}

cl_program cl_cache_load(cl_env *env, const char *path, const char *full_options)
{
    unsigned char *data;
    size_t len;
    if (fs_read_file(path, &data, &len, NULL))
        return NULL;
    cl_program prog = NULL;
    if (len > HEADER_LEN && memcmp(data, magic, sizeof magic) == 0 &&
        get_le(data + 8, 8) == len - HEADER_LEN &&
        get_le(data + 16, 4) == crc_of(data + HEADER_LEN, len - HEADER_LEN))
        prog = cl_program_from_binary(env, data + HEADER_LEN, len - HEADER_LEN,
                                      full_options, NULL);
    free(data);
    return prog;
}

void cl_cache_store(cl_env *env, cl_program prog, const char *path)
{
    unsigned char *bin, header[HEADER_LEN] = {0};
    size_t len;
    if (cl_program_binary(env, prog, &bin, &len, NULL))
        return;
    memcpy(header, magic, sizeof magic);
    put_le(header + 8, len, 8);
    put_le(header + 16, crc_of(bin, len), 4);
    fs_write_atomic(path, header, sizeof header, bin, len, NULL);
    free(bin);
}
