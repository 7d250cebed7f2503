/* Program builds on the machine's real driver (pocl in CI): from source,
 * through the binary cache, from binary files, and the build log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cl_fixture.h"
#include "cl_program_cache.h"
#include "support.h"

/* y[i] = 2 x[i] + 3: with integer x below 2^23 every value is exact in float,
 * so results are compared with ==. */
static const char axpb_source[] =
    "__kernel void axpb(__global const float *x, __global float *y, int n)\n"
    "{\n"
    "    int i = get_global_id(0);\n"
    "    if (i < n) y[i] = 2.0f * x[i] + 3.0f;\n"
    "}\n";

enum { N = 1000 };

static void run_axpb(cl_program prog)
{
    cl_env *env = tf_env();
    cl_int rc;
    cl_kernel k = clCreateKernel(prog, "axpb", &rc);
    assert_int_equal(rc, CL_SUCCESS);
    float x[N], y[N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)i;
        y[i] = -1.0f;
    }
    cl_mem bx = clCreateBuffer(env->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                               sizeof x, x, &rc);
    assert_int_equal(rc, CL_SUCCESS);
    cl_mem by = clCreateBuffer(env->ctx, CL_MEM_WRITE_ONLY, sizeof y, NULL, &rc);
    assert_int_equal(rc, CL_SUCCESS);
    int n = N;
    assert_int_equal(clSetKernelArg(k, 0, sizeof bx, &bx), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 1, sizeof by, &by), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 2, sizeof n, &n), CL_SUCCESS);
    size_t global = N;
    assert_int_equal(clEnqueueNDRangeKernel(env->queue, k, 1, NULL, &global, NULL, 0,
                                            NULL, NULL), CL_SUCCESS);
    assert_int_equal(clEnqueueReadBuffer(env->queue, by, CL_TRUE, 0, sizeof y, y, 0,
                                         NULL, NULL), CL_SUCCESS);
    for (int i = 0; i < N; i++)
        if (y[i] != 2.0f * (float)i + 3.0f)
            fail_msg("y[%d] = %g, expected %g", i, y[i], 2.0 * i + 3.0);
    clReleaseMemObject(bx);
    clReleaseMemObject(by);
    clReleaseKernel(k);
}

static void test_build_and_run(void **state)
{
    (void)state;
    setenv("QSDC_CACHE_DIR", "off", 1);
    cl_build_result b;
    qsdc_error err = {{0}};
    if (cl_build_program(tf_env(), axpb_source, "-DUNUSED=1", &b, &err))
        fail_msg("%s", err.message);
    assert_false(b.cache_hit);
    assert_string_equal(b.cache_path, "");
    run_axpb(b.program);
    clReleaseProgram(b.program);
}

/* A source no earlier run can have cached: a comment naming this run's
 * fresh temp directory. */
static char *unique_source(const char *tag)
{
    size_t n = sizeof axpb_source + 2048;
    char *s = malloc(n);
    snprintf(s, n, "/* %s %s */\n%s", ts_tmpdir(), tag, axpb_source);
    return s;
}

static void build_ok(const char *source, cl_build_result *b)
{
    qsdc_error err = {{0}};
    if (cl_build_program(tf_env(), source, NULL, b, &err))
        fail_msg("%s", err.message);
}

static const char *cache_dir_under_tmp(void)
{
    static char dir[1200];
    snprintf(dir, sizeof dir, "%s/cache/nested/qsdc", ts_tmpdir());
    setenv("QSDC_CACHE_DIR", dir, 1);
    return dir;
}

static void test_cache_hit_second_time(void **state)
{
    (void)state;
    const char *dir = cache_dir_under_tmp();
    char *src = unique_source("hit");
    cl_build_result b1, b2;
    build_ok(src, &b1);
    assert_false(b1.cache_hit);
    assert_true(strncmp(b1.cache_path, dir, strlen(dir)) == 0);
    struct stat st;
    assert_int_equal(stat(b1.cache_path, &st), 0);
    assert_true(st.st_size > 0);
    build_ok(src, &b2);
    assert_true(b2.cache_hit);
    assert_string_equal(b2.cache_path, b1.cache_path);
    run_axpb(b2.program);
    clReleaseProgram(b1.program);
    clReleaseProgram(b2.program);

    /* Other options are another program: another cache entry. */
    cl_build_result b3;
    qsdc_error err = {{0}};
    assert_int_equal(cl_build_program(tf_env(), src, "-DOTHER", &b3, &err), 0);
    assert_false(b3.cache_hit);
    assert_string_not_equal(b3.cache_path, b1.cache_path);
    clReleaseProgram(b3.program);
    free(src);
}

static void check_cache_under(const char *prefix)
{
    cl_build_result b;
    build_ok(axpb_source, &b);
    if (strncmp(b.cache_path, prefix, strlen(prefix)) != 0)
        fail_msg("cache path %s is not under %s", b.cache_path, prefix);
    clReleaseProgram(b.program);
}

/* Without QSDC_CACHE_DIR: $XDG_CACHE_HOME/qsdc, else $HOME/.cache/qsdc. */
static void test_cache_dir_fallbacks(void **state)
{
    (void)state;
    char dir[1200], prefix[1300];
    ts_setenv("QSDC_CACHE_DIR", NULL);
    snprintf(dir, sizeof dir, "%s/xdg", ts_tmpdir());
    ts_setenv("XDG_CACHE_HOME", dir);
    snprintf(prefix, sizeof prefix, "%s/qsdc/", dir);
    check_cache_under(prefix);
    ts_setenv("XDG_CACHE_HOME", NULL);
    snprintf(dir, sizeof dir, "%s/home", ts_tmpdir());
    ts_setenv("HOME", dir);
    snprintf(prefix, sizeof prefix, "%s/.cache/qsdc/", dir);
    check_cache_under(prefix);
}

static void overwrite(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* The cache file for src is not used but rebuilt, and the rebuild replaced
 * it with a good one. */
static void expect_rebuilt_then_cached(const char *src)
{
    cl_build_result b;
    build_ok(src, &b);
    assert_false(b.cache_hit);
    run_axpb(b.program);
    clReleaseProgram(b.program);
    build_ok(src, &b);
    assert_true(b.cache_hit);
    clReleaseProgram(b.program);
}

static void test_corrupt_cache_rebuilt(void **state)
{
    (void)state;
    cache_dir_under_tmp();
    char *src = unique_source("corrupt");
    cl_build_result b;
    build_ok(src, &b);
    clReleaseProgram(b.program);
    char path[1024];
    snprintf(path, sizeof path, "%s", b.cache_path);

    unsigned char *good;
    size_t len;
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = (size_t)ftell(f);
    rewind(f);
    good = malloc(len);
    assert_int_equal(fread(good, 1, len, f), len);
    fclose(f);

    /* Garbage, a truncated file, one flipped payload byte, an empty file. */
    unsigned char *bad = malloc(len);
    for (int variant = 0; variant < 4; variant++) {
        size_t bad_len = len;
        memcpy(bad, good, len);
        if (variant == 0)
            memset(bad, 'x', len);
        else if (variant == 1)
            bad_len = len / 2;
        else if (variant == 2)
            bad[len - len / 3] ^= 0x40;
        else
            bad_len = 0;
        overwrite(path, bad, bad_len);
        expect_rebuilt_then_cached(src);
    }
    free(bad);
    free(good);
    free(src);
}

/* A cache file anyone else could have written is code from them: a garbled
 * one with a valid checksum overflowed a heap buffer in pocl's loader. Such
 * a file is rebuilt, never handed to the driver. */
static void test_cache_writable_by_others_rebuilt(void **state)
{
    (void)state;
    cache_dir_under_tmp();
    char *src = unique_source("others");
    cl_build_result b;
    build_ok(src, &b);
    clReleaseProgram(b.program);
    for (int variant = 0; variant < 2; variant++) {
        assert_int_equal(chmod(b.cache_path, variant ? 0606 : 0660), 0);
        expect_rebuilt_then_cached(src);
    }
    free(src);
}

static void test_unwritable_cache_still_builds(void **state)
{
    (void)state;
    /* A cache "directory" that is a regular file cannot be used. */
    const char *file = ts_write("not-a-dir", "x", 1);
    setenv("QSDC_CACHE_DIR", file, 1);
    cl_build_result b;
    build_ok(axpb_source, &b);
    assert_false(b.cache_hit);
    run_axpb(b.program);
    clReleaseProgram(b.program);
}

static void test_syntax_error_gives_log(void **state)
{
    (void)state;
    setenv("QSDC_CACHE_DIR", "off", 1);
    cl_build_result b;
    qsdc_error err = {{0}};
    const char *bad = "__kernel void f(__global float *y) { y[0] = undeclared_name; }\n";
    assert_int_equal(cl_build_program(tf_env(), bad, NULL, &b, &err), -1);
    assert_null(b.program);
    assert_non_null(strstr(err.message, "clBuildProgram: CL_BUILD_PROGRAM_FAILURE"));
    assert_non_null(strstr(err.message, "error"));
    assert_non_null(strstr(err.message, "undeclared_name"));
    assert_null(strstr(err.message, "truncated"));
}

static void test_long_build_log_truncated(void **state)
{
    (void)state;
    setenv("QSDC_CACHE_DIR", "off", 1);
    /* Forty errors make a log far longer than an error message holds; the
     * message keeps the first error. */
    char src[8192];
    size_t len = 0;
    len += (size_t)snprintf(src + len, sizeof src - len,
                            "__kernel void f(__global float *y) {\n");
    for (int i = 0; i < 40; i++)
        len += (size_t)snprintf(src + len, sizeof src - len,
                                "  y[%d] = first_missing_%d;\n", i, i);
    snprintf(src + len, sizeof src - len, "}\n");
    cl_build_result b;
    qsdc_error err = {{0}};
    assert_int_equal(cl_build_program(tf_env(), src, NULL, &b, &err), -1);
    assert_non_null(strstr(err.message, "first_missing_0"));
    assert_non_null(strstr(err.message, "[build log truncated]"));
    assert_null(strstr(err.message, "first_missing_39"));
}

static void test_save_then_load_binary(void **state)
{
    (void)state;
    setenv("QSDC_CACHE_DIR", "off", 1);
    cl_build_result b, loaded;
    qsdc_error err = {{0}};
    build_ok(axpb_source, &b);
    char path[1200];
    snprintf(path, sizeof path, "%s/axpb.bin", ts_tmpdir());
    if (cl_save_program_binary(tf_env(), b.program, path, &err))
        fail_msg("%s", err.message);
    clReleaseProgram(b.program);
    if (cl_load_program_binary(tf_env(), path, NULL, &loaded, &err))
        fail_msg("%s", err.message);
    assert_false(loaded.cache_hit);
    run_axpb(loaded.program);
    clReleaseProgram(loaded.program);

    /* No temp files left beside it. */
    char *out = NULL;
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c tmp", ts_tmpdir());
    ts_run(cmd, &out);
    assert_string_equal(out, "0\n");
    free(out);
}

static void test_load_bad_binary(void **state)
{
    (void)state;
    cl_build_result b;
    qsdc_error err = {{0}};
    char missing[1200];
    snprintf(missing, sizeof missing, "%s/missing.bin", ts_tmpdir());
    assert_int_equal(cl_load_program_binary(tf_env(), missing, NULL, &b, &err), -1);
    assert_non_null(strstr(err.message, missing));
    assert_non_null(strstr(err.message, "No such file"));

    static const char garbage[] = "this is not a program binary at all, just text\n";
    const char *path = ts_write("garbage.bin", garbage, sizeof garbage - 1);
    assert_int_equal(cl_load_program_binary(tf_env(), path, NULL, &b, &err), -1);
    assert_null(b.program);
    assert_non_null(strstr(err.message, path));
    assert_non_null(strstr(err.message, "CL_"));

    path = ts_write("empty.bin", "", 0);
    assert_int_equal(cl_load_program_binary(tf_env(), path, NULL, &b, &err), -1);
    assert_non_null(strstr(err.message, path));
    assert_non_null(strstr(err.message, "empty"));
}

/* Runs a build with stderr sent to a file and returns what was printed. */
static char *build_stderr(const char *source)
{
    const char *log = ts_write("stderr.txt", "", 0);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(log, O_WRONLY | O_TRUNC);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    cl_build_result b;
    build_ok(source, &b);
    clReleaseProgram(b.program);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char *text = NULL;
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "cat '%s'", log);
    ts_run(cmd, &text);
    return text;
}

static void test_debug_build_output(void **state)
{
    (void)state;
    cache_dir_under_tmp();
    char *src = unique_source("debug");
    ts_setenv("QSDC_DEBUG", "exec,build");
    char *miss = build_stderr(src);
    char *hit = build_stderr(src);
    ts_restore_env(NULL);
    char *quiet = build_stderr(src);
    assert_non_null(strstr(miss, "cache miss"));
    assert_non_null(strstr(miss, ".clbin"));
    assert_non_null(strstr(miss, " s)"));
    assert_non_null(strstr(hit, "cache hit"));
    assert_string_equal(quiet, "");
    free(miss);
    free(hit);
    free(quiet);
    free(src);
}

/* A path without a return, which clang warns of by default, and a float16
 * through pocl's vload16, which it warns of on CPUs without AVX-512. */
static const char warning_source[] =
    "int twice(int a) { if (a) return 2 * a; }\n"
    "__kernel void k(__global float *y)\n"
    "{ vstore16(vload16(0, y) * 2.0f, 0, y); y[0] = twice((int)y[0]); }\n";

/* The build log of source built the way qsdc builds (malloc'd). */
static char *log_of_build(const char *source)
{
    cl_build_result b;
    build_ok(source, &b);
    size_t size = 0;
    cl_device_id dev = tf_env()->dev.device;
    assert_int_equal(clGetProgramBuildInfo(b.program, dev, CL_PROGRAM_BUILD_LOG, 0, NULL,
                                           &size), CL_SUCCESS);
    char *log = calloc(size + 1, 1);
    assert_int_equal(clGetProgramBuildInfo(b.program, dev, CL_PROGRAM_BUILD_LOG, size, log,
                                           NULL), CL_SUCCESS);
    clReleaseProgram(b.program);
    return log;
}

/* The driver's warnings on generated code stay out of a user's terminal
 * (pocl prints "N warnings generated." itself) and reach a developer who
 * asks for the build log. */
static void test_warnings_only_when_asked(void **state)
{
    (void)state;
    ts_setenv("QSDC_CACHE_DIR", "off");
    /* sources of their own, past pocl's cache of built programs */
    char src[3][sizeof warning_source + 1200];
    for (int i = 0; i < 3; i++)
        snprintf(src[i], sizeof src[i], "/* %s %d */\n%s", ts_tmpdir(), i, warning_source);
    char *quiet_log = log_of_build(src[0]);
    char *quiet = build_stderr(src[1]);
    ts_setenv("QSDC_DEBUG", "build");
    char *asked = build_stderr(src[2]);
    ts_restore_env(NULL);
    if (strstr(quiet_log, "warning"))
        fail_msg("a warning in the build log without QSDC_DEBUG:\n%s", quiet_log);
    assert_string_equal(quiet, "");
    if (!strstr(asked, "qsdc: build log:") || !strstr(asked, "warning"))
        fail_msg("QSDC_DEBUG=build printed no warning:\n%s", asked);
    free(quiet_log);
    free(quiet);
    free(asked);
}

/* The file at path after a newline (malloc'd): every line then starts
 * after one. */
static char *read_lines(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *body = ts_read_stream(f, NULL);
    fclose(f);
    char *text = malloc(strlen(body) + 2);
    sprintf(text, "\n%s", body);
    free(body);
    return text;
}

/* A per-device file's lines merge by key: the merged text's lines replace
 * the file's with the same first two fields, the others stay, but for
 * those of another number of fields (an older format). */
static void test_merge_lines_by_key(void **state)
{
    (void)state;
    const char *path = ts_write("merge.txt", "1 2 old\n3 4 kept\n7 8 older format\n", 35);
    cl_cache_merge_lines(path, "1 2 new\n5 6 added\n", 2);
    char *text = read_lines(path);
    assert_string_equal(text, "\n3 4 kept\n1 2 new\n5 6 added\n");
    free(text);
}

/* Processes that measure at once each keep their lines: 6 writers of 30
 * lines each, one line per merge, leave all 180 (the last writer's file
 * alone held its own lines before the merge). */
static void test_merge_lines_concurrent(void **state)
{
    (void)state;
    enum { WRITERS = 6, LINES = 30 };
    const char *path = ts_write("shared.txt", "", 0);
    char file[1200];
    snprintf(file, sizeof file, "%s", path);
    for (int w = 0; w < WRITERS; w++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            for (int i = 0; i < LINES; i++) {
                char line[64];
                snprintf(line, sizeof line, "%d %d ms\n", w, i);
                cl_cache_merge_lines(file, line, 2);
            }
            _exit(0);
        }
    }
    for (int w = 0; w < WRITERS; w++) {
        int status;
        assert_true(wait(&status) > 0 && WIFEXITED(status));
    }
    char *text = read_lines(file);
    int lines = -1;
    for (const char *p = text; (p = strchr(p, '\n')); p++)
        lines++;
    for (int w = 0; w < WRITERS; w++)
        for (int i = 0; i < LINES; i++) {
            char line[64];
            snprintf(line, sizeof line, "\n%d %d ms\n", w, i);
            if (!strstr(text, line))
                fail_msg("lost line '%d %d' (%d lines in all)", w, i, lines);
        }
    assert_int_equal(lines, WRITERS * LINES);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_and_run),
        cmocka_unit_test(test_cache_hit_second_time),
        cmocka_unit_test_teardown(test_cache_dir_fallbacks, ts_restore_env),
        cmocka_unit_test(test_corrupt_cache_rebuilt),
        cmocka_unit_test(test_cache_writable_by_others_rebuilt),
        cmocka_unit_test(test_unwritable_cache_still_builds),
        cmocka_unit_test(test_syntax_error_gives_log),
        cmocka_unit_test(test_long_build_log_truncated),
        cmocka_unit_test(test_save_then_load_binary),
        cmocka_unit_test(test_load_bad_binary),
        cmocka_unit_test_teardown(test_debug_build_output, ts_restore_env),
        cmocka_unit_test_teardown(test_warnings_only_when_asked, ts_restore_env),
        cmocka_unit_test(test_merge_lines_by_key),
        cmocka_unit_test(test_merge_lines_concurrent),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    ts_cleanup();
    return failed;
}
