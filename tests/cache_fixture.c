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
