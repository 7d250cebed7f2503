/* A model opened for inference on one device: its inference plan, the
 * parameters on the device (from a checkpoint, or seeded from the model
 * when there is none) and an executor over them. qsdc eval and infer run
 * their passes over one. */
#ifndef QSDC_INFER_SESSION_H
#define QSDC_INFER_SESSION_H

#include "executor.h"
#include "model.h"

typedef struct infer_session {
    cl_env env;
    plan p;
    model_state ms;
    executor ex;
} infer_session;

/* Opens device (NULL: the default) and m's inference plan at batch there:
 * compiled for the device, or read from the bundle folder when bundle is
 * not NULL; with binary (and no bundle) the kernels are loaded from that
 * program binary, which holds the generated GEMM kernels as --emit-binary
 * compiles them. The parameters come from the checkpoint in ckpt_dir,
 * checked against the plan, or else from m's seed. Close s even when this
 * fails. */
int infer_session_open(infer_session *s, const model *m, int64_t batch, const char *device,
                       const char *ckpt_dir, const char *binary, const char *bundle,
                       qsdc_error *err);
void infer_session_close(infer_session *s);

#endif
