#include "support.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

static char tmpdir[1024];

const char *ts_tmpdir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/qsdc-test-XXXXXX", base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(1);
        }
    }
    return tmpdir;
}

void ts_cleanup(void)
{
    if (tmpdir[0]) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
        tmpdir[0] = '\0';
    }
}

static FILE *captured;
static int saved_stderr = -1;

void ts_stderr_begin(void)
{
    fflush(stderr);
    saved_stderr = dup(2);
    captured = tmpfile();
    assert_true(saved_stderr >= 0 && captured);
    dup2(fileno(captured), 2);
}

char *ts_stderr_end(void)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    saved_stderr = -1;
    rewind(captured);
    char *text = ts_read_stream(captured, NULL);
    fclose(captured);
    captured = NULL;
    assert_non_null(text);
    return text;
}

/* What ts_setenv changed, first change of each name only. */
static struct {
    char *name, *old; /* old NULL: it was unset */
} saved_env[16];
static int n_saved_env;

void ts_setenv(const char *name, const char *value)
{
    int i = 0;
    while (i < n_saved_env && strcmp(saved_env[i].name, name) != 0)
        i++;
    if (i == n_saved_env) {
        assert_true(n_saved_env < (int)(sizeof saved_env / sizeof *saved_env));
        const char *old = getenv(name);
        saved_env[i].name = strdup(name);
        saved_env[i].old = old ? strdup(old) : NULL;
        n_saved_env++;
    }
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
}

int ts_restore_env(void **state)
{
    (void)state;
    for (int i = 0; i < n_saved_env; i++) {
        if (saved_env[i].old)
            setenv(saved_env[i].name, saved_env[i].old, 1);
        else
            unsetenv(saved_env[i].name);
        free(saved_env[i].name);
        free(saved_env[i].old);
    }
    n_saved_env = 0;
    return 0;
}

const char *ts_write(const char *name, const void *data, size_t len)
{
    static char paths[8][1200];
    static int slot;
    char *path = paths[slot++ % 8];
    snprintf(path, 1200, "%s/%s", ts_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        perror(path);
        exit(1);
    }
    fclose(f);
    return path;
}

const char *ts_fifo(const char *name)
{
    static char path[1200];
    snprintf(path, sizeof path, "%s/%s", ts_tmpdir(), name);
    unlink(path);
    if (mkfifo(path, 0600) != 0) {
        perror(path);
        exit(1);
    }
    return path;
}

char *ts_read_stream(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (buf)
        buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int ts_teardown(void **state)
{
    (void)state;
    ts_cleanup();
    return 0;
}

int ts_run(const char *cmd, char **output)
{
    char full[8192];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p)
        return -1;
    char *buf = ts_read_stream(p, NULL);
    int status = pclose(p);
    if (output)
        *output = buf;
    else
        free(buf);
    if (status == -1)
        return -1;
    return (status >> 8) & 0xff;
}

const char *ts_qsdc(void)
{
    const char *exe = getenv("QSDC_EXE");
    return exe ? exe : "build/qsdc";
}

const char *ts_source_root(void)
{
    const char *root = getenv("QSDC_SOURCE_ROOT");
    return root ? root : ".";
}

void ts_fill_uniform(float *x, size_t n, uint32_t seed, float lo, float hi)
{
    uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        float u = (float)((s >> 40) & 0xffffff) / 16777216.0f;
        x[i] = lo + (hi - lo) * u;
    }
}

double ts_max_rel_err(const float *a, const float *b, size_t n, double floor)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        double s = fmax(fabs((double)b[i]), floor);
        if (!(d / s <= worst))
            worst = isnan(d) ? INFINITY : d / s;
    }
    return worst;
}

double ts_max_err_scaled(const float *a, const float *b, size_t n)
{
    double diff = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= diff))
            diff = isnan(d) ? INFINITY : d;
        scale = fmax(scale, fabs((double)b[i]));
    }
    return diff == 0 ? 0 : diff / scale;
}

void ts_each_mutation(const void *data, size_t len,
                      void (*load)(const unsigned char *data, size_t len))
{
    static const unsigned char masks[] = {0x01, 0x20, 0x40, 0x80, 0xFF};
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf)
        abort();
    for (size_t n = 0; n <= len; n++)
        load(data, n);
    for (size_t i = 0; i < len; i++)
        for (size_t m = 0; m < sizeof masks; m++) {
            memcpy(buf, data, len);
            buf[i] ^= masks[m];
            load(buf, len);
        }
    free(buf);
}

const char *ts_fmt(const char *f, ...)
{
    static char bufs[4][1200];
    static int slot;
    char *buf = bufs[slot++ % 4];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof bufs[0], f, ap);
    va_end(ap);
    return buf;
}

void ts_expect_failure(const char *what, int rc, const char *message, const char *want)
{
    if (rc != -1 || strcmp(message, want) != 0)
        fail_msg("%s: rc %d\n  got:  \"%s\"\n  want: \"%s\"", what, rc, message, want);
}

void ts_expect_failure_prefix(int rc, const char *message, const char *want)
{
    if (rc != -1 || strncmp(message, want, strlen(want)) != 0)
        fail_msg("rc %d\n  got:  \"%s\"\n  want: \"%s...\"", rc, message, want);
}
