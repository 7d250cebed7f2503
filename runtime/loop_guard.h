/* Devices that end a work-item's loops early without an error, and the
 * check that keeps qsdc from returning what such a device computed.
 *
 * Mesa's llvmpipe (rusticl, Debian 12's Mesa 22.3) counts the loop
 * iterations of each work-item, over all its loops together, and once
 * 65535 have run it leaves every loop after the current iteration; the
 * kernel goes on and its results are silently wrong (the example CNN's
 * 128 x 256 x 3136 GEMM ran a fraction of its K loop). A GPU driver's
 * watchdog would at least report a lost device. tests/test_loop_guard.c
 * shows it with a one-loop kernel. */
#ifndef QSDC_LOOP_GUARD_H
#define QSDC_LOOP_GUARD_H

#include <stdint.h>

#include "cl_runtime.h"
#include "strbuf.h"

/* The argument index of the guard's flag buffer in guarded kernels: after
 * the nine every generated kernel has. */
#define LOOP_GUARD_ARG 9

/* Measures env->dev.loop_limit, the loop iterations a work-item of the
 * device runs before its loops are cut short (0 when a loop of 2^20
 * iterations ran whole), with a one-loop kernel. */
int loop_limit_probe(cl_env *env, qsdc_error *err);

/* Copies source with every __kernel function given one more parameter,
 * `__global uint *qsdc_loop`, and ending in a loop of qsdc_loop[1] (the
 * host sets 2) iterations: a work-item whose loops were cut short runs it
 * once, and writes its kernel's position in the source plus one to
 * qsdc_loop[0]. Fails on source it cannot parse (unbalanced brackets). */
int loop_guard_source(const char *source, strbuf *out, qsdc_error *err);

/* The name of the n-th __kernel function of source (0-based) into buf;
 * "?" when there is none. */
void loop_guard_kernel_name(const char *source, int n, char *buf, size_t len);

#endif
