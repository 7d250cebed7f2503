/* qsdc: a graph compiler and OpenCL runtime for training neural networks
 * regularised with Quantal Synaptic Dilution. The one public header. */
#ifndef QSDC_H
#define QSDC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QSDC_VERSION "0.1.0"

/* Errors are values: every fallible call returns 0 or -1 and fills this. The
 * message names its origin: "path:line:col: error: ..." for model files,
 * "path: offset N: ..." for data files, "clCall: CL_ERROR_NAME" for OpenCL. */
typedef struct qsdc_error {
    char message[1024];
} qsdc_error;

#ifdef __cplusplus
}
#endif
#endif
