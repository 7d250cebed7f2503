/* --check-finite: after every training step, one device kernel scans each
 * region of the plan's probes (the input, every node's output in launch
 * order, the parameters and optimiser state after the update; the plan is
 * compiled with compile_observed_for_device so that all of them stay in
 * memory) for NaN and Inf; only one int per probe comes back to the host.
 * The first flagged probe names the node that produced the first
 * non-finite value. */
#ifndef QSDC_CHECK_FINITE_H
#define QSDC_CHECK_FINITE_H

#include <stdint.h>

#include "executor.h"

typedef struct finite_check {
    executor *ex;         /* the observed training plan's */
    cl_program program;
    cl_kernel kernel;
    cl_mem table, flags;
    int *host_flags;
} finite_check;

/* Builds the scan for ex's plan, which must carry probes. */
int finite_check_create(executor *ex, finite_check *fc, qsdc_error *err);
void finite_check_free(finite_check *fc);
/* Scans after step (0-based, of epoch, 0-based): 0 when every probe is
 * finite, else -1 with a message naming the first non-finite node, the op,
 * forward or gradient, and the step. */
int finite_check_step(finite_check *fc, uint64_t step, uint64_t epoch, qsdc_error *err);

#endif
