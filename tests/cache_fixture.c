#include "cache_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cl_fixture.h"
#include "support.h"

static const cf_selector *suite;
static model suite_model;
/* the suite's cache file, once a selection wrote it */
static char cache_file[1200];

void cf_suite(const cf_selector *s)
{
    suite = s;
}

int cf_setup(void **state)
{
    (void)state;
    qsdc_error err = {""};
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/cache", ts_tmpdir());
    setenv("QSDC_CACHE_DIR", dir, 1);
    unsetenv(suite->force_var);
    if (model_load_string("<suite model>", suite->yaml, strlen(suite->yaml), &suite_model,
                          &err) < 0)
        fail_msg("%s", err.message);
    return 0;
}

model *cf_model(void)
{
    return &suite_model;
}

int cf_teardown(void **state)
{
    model_free(&suite_model);
    return ts_teardown(state);
}

void cf_said_measuring(const char *what)
{
    char *said = ts_stderr_end();
    if (what)
        assert_non_null(strstr(said, ts_fmt("qsdc: measuring %s for this device", what)));
    else
        assert_null(strstr(said, "measuring"));
    free(said);
}

/* The cache file's text (malloc'd). */
static char *cache_text(void)
{
    FILE *f = fopen(cache_file, "r");
    assert_non_null(f);
    char *text = ts_read_stream(f, NULL);
    fclose(f);
    assert_non_null(text);
    return text;
}

int cf_check_lines(void)
{
    char *text = cache_text();
    int n = 0, sum = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), n++)
        sum += suite->check_line(line);
    free(text);
    assert_int_equal(n, suite->lines);
    return sum;
}

void cf_rewrite(const char *awk_program)
{
    char cmd[6000];
    snprintf(cmd, sizeof cmd, "awk '%s' '%s' > '%s.new' && mv '%s.new' '%s'", awk_program,
             cache_file, cache_file, cache_file, cache_file);
    assert_int_equal(ts_run(cmd, NULL), 0);
}

void cf_test_measures_and_caches(void **state)
{
    (void)state;
    ts_stderr_begin();
    int n = suite->select(tf_env(), false);
    cf_said_measuring(suite->what);
    ts_stderr_begin();
    assert_int_equal(suite->select(tf_env(), false), n);
    cf_said_measuring(NULL);
    char cmd[1300], *out = NULL;
    snprintf(cmd, sizeof cmd, "ls %s/cache/%s-*.txt", ts_tmpdir(), suite->name);
    assert_int_equal(ts_run(cmd, &out), 0);
    snprintf(cache_file, sizeof cache_file, "%.*s", (int)strcspn(out, "\n"), out);
    free(out);
    assert_int_equal(cf_check_lines(), n);
}

/* Two selections with remeasure on a device env of their own, as `qsdc
 * tune` compiles its training and its inference plan: the first measures
 * each distinct shape once, saying so, the second nothing. */
static void remeasure_once(void)
{
    cl_env env;
    qsdc_error err = {""};
    if (cl_env_open(getenv("QSDC_TEST_DEVICE"), true, &env, &err) < 0)
        fail_msg("%s", err.message);
    ts_stderr_begin();
    suite->select(&env, true);
    cf_said_measuring(suite->what);
    ts_stderr_begin();
    suite->select(&env, true);
    cf_said_measuring(NULL);
    int measured = 0;
    for (const char *p = sb_str(&env.measured); *p; p = strchr(p, '\n') + 1)
        measured++;
    cl_env_close(&env);
    assert_int_equal(measured, suite->lines);
}

void cf_test_reads_the_cache(void **state)
{
    (void)state;
    cf_rewrite(suite->one_way);
    assert_int_equal(suite->select(tf_env(), false), suite->shapes);
    cf_rewrite(suite->other_way);
    assert_int_equal(suite->select(tf_env(), false), 0);
    char *written = cache_text();
    remeasure_once();
    char *measured = cache_text();
    for (char *line = strtok(measured, "\n"); line; line = strtok(NULL, "\n"))
        if (strstr(written, line))
            fail_msg("'%s' is still in the cache", line);
    free(written);
    free(measured);
    assert_int_equal(cf_check_lines(), suite->select(tf_env(), false));
}

void cf_test_overrides(void **state)
{
    (void)state;
    cf_rewrite(suite->one_way);
    ts_setenv(suite->force_var, suite->forced_other);
    assert_int_equal(suite->select(tf_env(), false), 0);
    cf_rewrite(suite->other_way);
    ts_setenv(suite->force_var, suite->forced_one);
    assert_int_equal(suite->select(tf_env(), false), suite->shapes);
}
