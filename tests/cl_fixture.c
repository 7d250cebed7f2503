#include "cl_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

cl_env *tf_env(void)
{
    static cl_env env;
    static bool opened;
    if (!opened) {
        /* Keeps test builds out of the user's cache but still cached across
         * runs, which saves most of pocl's compile time. */
        const char *build = getenv("QSDC_BUILD_ROOT");
        if (build && !getenv("QSDC_CACHE_DIR")) {
            char dir[1024];
            snprintf(dir, sizeof dir, "%s/test-cl-cache", build);
            setenv("QSDC_CACHE_DIR", dir, 1);
        }
        qsdc_error err = {{0}};
        /* meson runs the device suites once per implementation with this set */
        const char *spec = getenv("QSDC_TEST_DEVICE");
        if (cl_env_open(spec, true, &env, &err))
            fail_msg("cannot open OpenCL device '%s': %s", spec ? spec : "default", err.message);
        opened = true;
    }
    return &env;
}

cl_kernel tf_kernel(const char *source, const char *name)
{
    cl_env *env = tf_env();
    cl_build_result built;
    qsdc_error err = {{0}};
    if (cl_build_program(env, source, NULL, &built, &err))
        fail_msg("building kernel %s: %s", name, err.message);
    cl_int rc;
    cl_kernel k = clCreateKernel(built.program, name, &rc);
    clReleaseProgram(built.program);
    if (rc != CL_SUCCESS)
        fail_msg("clCreateKernel(%s): %s", name, cl_error_name(rc));
    return k;
}
