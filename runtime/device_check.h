/* The quick check a device passes before qsdc trains or evaluates on it:
 * a small generated GEMM and a Philox4x32-10 block (the word stream QSD's
 * masks are drawn from), each computed on the device and on the host. A
 * device that computes either wrongly is reported by name and check
 * before any work, rather than training on wrong numbers. */
#ifndef QSDC_DEVICE_CHECK_H
#define QSDC_DEVICE_CHECK_H

#include "cl_runtime.h"

int device_self_check(cl_env *env, qsdc_error *err);

#endif
