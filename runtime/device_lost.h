/* What training says when its device fails in the middle of a run (an
 * enqueue or read of a step returning CL_DEVICE_NOT_AVAILABLE,
 * CL_OUT_OF_RESOURCES, CL_INVALID_COMMAND_QUEUE, ...): the step, the OpenCL
 * error, and whether the last checkpoint is intact and how to resume. */
#ifndef QSDC_DEVICE_LOST_H
#define QSDC_DEVICE_LOST_H

#include <stdint.h>

#include "error.h"

/* Rewrites err (holding the failed call) and returns -1. checkpoint_dir may
 * be NULL (no --checkpoint). */
int train_device_lost(const char *model_path, const char *checkpoint_dir, uint64_t step,
                      uint64_t epoch, qsdc_error *err);

#endif
