/* Checks of compiled training and inference plans against the C reference
 * interpreter (ref_graph), shared by the graph suites: a device step buffer
 * by buffer, and the reference's gradients against finite differences.
 * Call from inside a cmocka test: a failure ends the test with a message. */
#ifndef QSDC_GRAPH_CHECK_H
#define QSDC_GRAPH_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "compile.h"
#include "executor.h"

/* Models with int32 token inputs get ids below this (and one past it). */
#define GC_VOCAB 7

/* A compiled model with seeded parameters, input and labels. */
typedef struct gc_run {
    model m;
    plan p;
    graph g;
    fusion f;
    float *params, *input;
    int32_t *labels;
    int64_t n_labels; /* plan.label_elems in training, else 0 */
} gc_run;

void gc_setup(gc_run *r, const char *yaml, int64_t batch, graph_mode mode);
void gc_free(gc_run *r);

/* r's plan on the test device (tf_env()) with r->params loaded; failures
 * end the test. */
typedef struct gc_device {
    model_state ms;
    executor ex;
} gc_device;
void gc_device_open(gc_device *d, const gc_run *r);
void gc_device_close(gc_device *d);
/* One pass of the plan on input (and r->labels in training) with seed 11
 * at step 0 and learning rate lr. */
void gc_device_run(gc_device *d, const gc_run *r, const float *input, float lr);
/* n floats of the arena at offset, malloc'd. */
float *gc_device_read(gc_device *d, int64_t offset, int64_t n);

/* Two training steps of the model (YAML text) at batch on the device and
 * in the reference, from the same seeded parameters (zeros replaced by
 * small non-zero values) and input; the loss, and for each parameter tensor
 * its gradient, its update P - P0 and its optimiser state, must agree
 * within tol, relative to that tensor's largest reference magnitude; no
 * gradient may be zero on either side. */
void gc_check_step(const char *yaml, int64_t batch, double tol);
/* The inference plan's output against the reference, within tol. */
void gc_check_inference(const char *yaml, int64_t batch, double tol);
/* Where the plans of the checks above run their GEMMs and conv2d layers:
 * generated GEMM kernels and im2col (the default); every GEMM through
 * CLBlast (epilogues as separate kernels); or the device's measured choice
 * per shape, as qsdc makes it (QSDC_GEMM and QSDC_CONV, when set, force
 * it), with the device's own vector width. */
typedef enum gc_backend { GC_OWN, GC_CLBLAST, GC_MEASURED } gc_backend;
void gc_set_backend(gc_backend b);
/* gc_check_step of each model at its batch, and gc_check_inference of the
 * first, with CLBlast doing every GEMM, then with the device's measured
 * choices (the suites' QSDC_GEMM and QSDC_CONV pins lifted). */
void gc_check_backends(const char *const *yamls, const int64_t *batches, int n, double tol);
/* cmocka teardown after gc_check_backends, also when it failed: the
 * default backend and the environment as it was. */
int gc_backend_reset(void **state);
/* Whether gc_setup compiles plans with every node's output kept and listed
 * in plan.probes (as --check-finite does). */
void gc_set_observe_all(bool on);
/* Plans shaped as for a device that cuts a work-item's loops short after
 * limit iterations (loop_guard.h), on any device; 0: the device's own. */
void gc_set_loop_limit(uint32_t limit);
/* Plans shaped as for a GPU of this many compute units, on any device:
 * the tiled family (the device's default tiles where it runs the panel
 * family) and a GPU's profile; 0: the device's own. */
void gc_set_gpu_units(unsigned units);
/* Whether they compile every conv2d layer as a direct convolution. */
void gc_set_direct_conv(bool on);
/* Whether int32 token inputs are padded: of T steps, sample b has b % T
 * padding steps (QSDC_PAD_ID), at the end for even b, in front for odd b. */
void gc_set_padding(bool on);
/* Central differences (step h) of the reference's mean loss against its
 * backward for about max_params parameters spread over the allocation (every
 * parameter when 0): |fd - analytic| <= rel |fd| + abs. */
void gc_check_gradients(const char *yaml, int64_t batch, double h, double rel, double abs,
                        int64_t max_params);

#endif
