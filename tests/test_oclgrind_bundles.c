/* qsdc infer under oclgrind on the hostile bundles of hostile_bundle.h and
 * on a garbled program cache: each bundle is refused with the error that
 * names what was changed, and whatever runs meanwhile (the clean bundle,
 * the loop guard's probe, a rebuilt program) makes oclgrind log nothing.
 * Before bundles were verified, the shrunk arena and the edited kernels
 * wrote outside the arena (oclgrind: invalid write in k0_matmul) and the
 * garbled binaries reached the driver's loader.
 *
 * oclgrind's uninitialised-value check is left off: it mistakes the
 * executor's partial writes of the arena for uninitialised memory (see
 * test_oclgrind.c). Without oclgrind on PATH the program is skipped
 * (exit 77). */
#include <glob.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checksum.h"
#include "cli_fixture.h"
#include "hostile_bundle.h"
#include "support.h"

#define SKIP_STATUS 77

static cli_files task;
/* plain: no program binary, so qsdc builds kernels.cl */
static char bundle[CLI_PATH_MAX], plain[CLI_PATH_MAX], cache[CLI_PATH_MAX];

/* qsdc ARGS under oclgrind with QSDC_CACHE_DIR at cache; its output and
 * oclgrind's log in *out and *log (malloc'd). Returns the exit status. */
static int run_oclgrind(char **out, char **log, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int run_oclgrind(char **out, char **log, const char *fmt, ...)
{
    char args[4 * CLI_PATH_MAX], cmd[8 * CLI_PATH_MAX], log_path[CLI_PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(log_path, sizeof log_path, "%s/oclgrind.log", ts_tmpdir());
    remove(log_path);
    snprintf(cmd, sizeof cmd,
             /* oclgrind preloads its OpenCL runtime ahead of ASan's */
             "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0\" "
             "QSDC_CACHE_DIR='%s' oclgrind --data-races --check-api --max-errors 20 "
             "--log '%s' '%s' %s",
             cache, log_path, ts_qsdc(), args);
    int status = ts_run(cmd, out);
    ts_run(ts_fmt("cat '%s' 2>/dev/null", log_path), log);
    assert_non_null(*out);
    assert_non_null(*log);
    return status;
}

/* qsdc infer on the task's test set from what (a bundle or model file),
 * under oclgrind: exits with status, prints want, and oclgrind logs
 * nothing. Returns the output (the caller frees). */
static char *infer_expect(const char *what, int status, const char *want)
{
    char *out, *log;
    int got = run_oclgrind(&out, &log, "infer '%s' --data '%s' --labels '%s'", what,
                           task.test_images, task.test_labels);
    if (got != status || !strstr(out, want) || log[0])
        fail_msg("infer %s under oclgrind: status %d (want %d), output without \"%s\"?\n%s\n"
                 "oclgrind log:\n%s", what, got, status, want, out, log[0] ? log : "(empty)");
    free(log);
    return out;
}

static int setup(void **state)
{
    (void)state;
    if (ts_run("command -v oclgrind", NULL) != 0) {
        fprintf(stderr, "oclgrind is not installed (apt-get install oclgrind): skipped\n");
        exit(SKIP_STATUS);
    }
    cli_write_task("og", &task);
    snprintf(bundle, sizeof bundle, "%s/og.qsdc", ts_tmpdir());
    snprintf(plain, sizeof plain, "%s/plain.qsdc", ts_tmpdir());
    snprintf(cache, sizeof cache, "%s/cache", ts_tmpdir());
    char *out, *log;
    int status = run_oclgrind(&out, &log, "'%s' -o '%s' --emit-binary --device 0",
                              task.model, bundle);
    if (status != 0)
        fprintf(stderr, "compiling the bundle under oclgrind: status %d\n%s\n%s\n", status,
                out, log);
    free(out);
    free(log);
    return status != 0 ? -1 : cli_setup_run(NULL, "'%s' -o '%s'", task.model, plain);
}

static void test_clean_bundles_run_clean(void **state)
{
    (void)state;
    free(infer_expect(bundle, 0, "program from binary"));
    free(infer_expect(plain, 0, "accuracy"));
}

static void test_shrunk_arena_refused(void **state)
{
    (void)state;
    const char *dir = hostile_copy(bundle, "shrunk.qsdc");
    hostile_shrink_arena(dir);
    free(infer_expect(dir, 1, "plan.yaml: the inference plan is not the one"));
}

static void test_edited_kernels_refused(void **state)
{
    (void)state;
    const char *dir = hostile_copy(plain, "edited.qsdc");
    hostile_write_below(dir, false);
    free(infer_expect(dir, 1, "edited.qsdc/kernels.cl does not match the checksum"));
    dir = hostile_copy(plain, "resealed.qsdc");
    hostile_write_below(dir, true);
    free(infer_expect(dir, 1, "resealed.qsdc/kernels.cl: the inference plan is not the one"));
}

static void test_garbled_binary_refused(void **state)
{
    (void)state;
    const char *dir = hostile_copy(bundle, "garbled.qsdc");
    hostile_garble_binary(dir);
    free(infer_expect(dir, 1, "garbled.qsdc/kernels.bin does not match the checksum"));
}

/* Garbles the cached program binary at path the way whoever can write it
 * could: payload bytes flipped, the checksum over header and payload (see
 * runtime/cl_program_cache.c) rewritten to match; then leaves it writable
 * by the group, which it must be for anyone but us to have written it. */
static void garble_cache_file(const char *path)
{
    enum { CHECKED_HEADER_LEN = 16, HEADER_LEN = 24 };
    size_t len;
    unsigned char *data = (unsigned char *)cli_read_file(path, &len);
    assert_non_null(data);
    assert_true(len > HEADER_LEN);
    for (size_t i = HEADER_LEN + (len - HEADER_LEN) / 8; i < len; i += 97)
        data[i] ^= 0x5a;
    uint64_t h = checksum_add(checksum_of(data, CHECKED_HEADER_LEN), data + HEADER_LEN,
                              len - HEADER_LEN);
    for (int i = 0; i < 8; i++)
        data[CHECKED_HEADER_LEN + i] = (unsigned char)(h >> (8 * i));
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, 0664), 0);
    free(data);
}

/* Each garbled file is a cache miss, rebuilt; none reaches the driver. */
static void test_garbled_cache_rebuilt(void **state)
{
    (void)state;
    assert_int_equal(ts_run(ts_fmt("rm -rf '%s'", cache), NULL), 0);
    free(infer_expect(task.model, 0, "accuracy"));
    glob_t g;
    assert_int_equal(glob(ts_fmt("%s/*.clbin", cache), 0, NULL, &g), 0);
    for (size_t i = 0; i < g.gl_pathc; i++)
        garble_cache_file(g.gl_pathv[i]);
    ts_setenv("QSDC_DEBUG", "build");
    char *out = infer_expect(task.model, 0, "accuracy");
    for (size_t i = 0; i < g.gl_pathc; i++)
        cli_expect(out, ts_fmt("cache miss %s", g.gl_pathv[i]));
    cli_expect_not(out, "cache hit");
    free(out);
    globfree(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_bundles_run_clean),
        cmocka_unit_test(test_shrunk_arena_refused),
        cmocka_unit_test(test_edited_kernels_refused),
        cmocka_unit_test(test_garbled_binary_refused),
        cmocka_unit_test_teardown(test_garbled_cache_rebuilt, ts_restore_env),
    };
    return cmocka_run_group_tests(tests, setup, ts_teardown);
}
