#include "cache_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "support.h"

void cf_private_cache(const char *force_var)
{
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/cache", ts_tmpdir());
    setenv("QSDC_CACHE_DIR", dir, 1);
    unsetenv(force_var);
}

static model suite_model;

void cf_setup(const char *force_var, const char *yaml)
{
    qsdc_error err = {""};
    cf_private_cache(force_var);
    if (model_load_string("<suite model>", yaml, strlen(yaml), &suite_model, &err) < 0)
        fail_msg("%s", err.message);
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

void cf_cache_file(const char *name, char *path, size_t size)
{
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "ls %s/cache/%s-*.txt", ts_tmpdir(), name);
    char *out = NULL;
    assert_int_equal(ts_run(cmd, &out), 0);
    snprintf(path, size, "%.*s", (int)strcspn(out, "\n"), out);
    free(out);
}

void cf_rewrite(const char *path, const char *awk_program)
{
    char cmd[6000];
    snprintf(cmd, sizeof cmd, "awk '%s' '%s' > '%s.new' && mv '%s.new' '%s'", awk_program, path,
             path, path, path);
    assert_int_equal(ts_run(cmd, NULL), 0);
}

int cf_select_twice(int (*select)(bool remeasure), const char *what, const char *name,
                    char *path, size_t size)
{
    ts_stderr_begin();
    int n = select(false);
    cf_said_measuring(what);
    ts_stderr_begin();
    assert_int_equal(select(false), n);
    cf_said_measuring(NULL);
    cf_cache_file(name, path, size);
    return n;
}
