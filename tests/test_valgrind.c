/* qsdc train on the tiny task of cli_fixture.h (two steps) under valgrind
 * memcheck: no invalid access and no use of uninitialised memory. Reports
 * from glibc's loader, the ICD loader, pocl and LLVM are suppressed by
 * tests/valgrind-pocl.supp, each entry explained there; leaks are left to
 * the sanitizer build (LeakSanitizer), where pocl's are known.
 *
 * Slow: under valgrind pocl sees another CPU, so the first run compiles the
 * kernels for it (minutes); later runs hit the program cache. Suite
 * 'valgrind', not run by default or in the sanitizer build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "cli_fixture.h"
#include "support.h"

static void test_train_is_clean_under_memcheck(void **state)
{
    (void)state;
    cli_env_init();
    cli_files task;
    cli_write_task("valgrind", &task);
    char cmd[4 * CLI_PATH_MAX], *out;
    snprintf(cmd, sizeof cmd,
             "valgrind --tool=memcheck --error-exitcode=99 --num-callers=40 "
             "--suppressions='%s/tests/valgrind-pocl.supp' '%s' train '%s' --epochs 1 "
             "--max-steps 2",
             ts_source_root(), ts_qsdc(), task.model);
    int rc = ts_run(cmd, &out);
    if (rc != 0)
        fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    cli_expect(out, "ERROR SUMMARY: 0 errors");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_is_clean_under_memcheck),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
