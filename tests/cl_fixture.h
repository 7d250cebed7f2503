/* The OpenCL device shared by a test process's device tests. Call only from
 * inside a cmocka test: failures end the current test with the message. */
#ifndef QSDC_CL_FIXTURE_H
#define QSDC_CL_FIXTURE_H

#include "cl_runtime.h"

/* The default device (as `qsdc` picks it), opened once and kept open; the
 * queue has profiling enabled. Fails the test when there is no device. */
cl_env *tf_env(void);
/* Builds source on tf_env() and returns its kernel `name`; release it with
 * clReleaseKernel. Fails the test with the build log on error. */
cl_kernel tf_kernel(const char *source, const char *name);

#endif
