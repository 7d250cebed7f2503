/* Checks of compiled training and inference plans against the C reference
 * interpreter (ref_graph), shared by the graph suites: a device step buffer
 * by buffer, and the reference's gradients against finite differences.
 * Call from inside a cmocka test: a failure ends the test with a message. */
#ifndef QSDC_GRAPH_CHECK_H
#define QSDC_GRAPH_CHECK_H

#include <stdbool.h>
#include <stdint.h>

/* Two training steps of the model (YAML text) at batch on the device and
 * in the reference, from the same seeded parameters (zeros replaced by
 * small non-zero values) and input; the loss, gradients, parameters and
 * optimiser state must agree within tol, relative to each buffer's largest
 * reference magnitude. */
void gc_check_step(const char *yaml, int64_t batch, double tol);
/* The inference plan's output against the reference, within tol. */
void gc_check_inference(const char *yaml, int64_t batch, double tol);
/* Whether the plans of the checks above run every GEMM through CLBlast
 * (epilogues as separate kernels), else all as generated kernels. */
void gc_set_clblast(bool on);
/* Central differences (step h) of the reference's mean loss against its
 * backward for about 40 parameters spread over the allocation:
 * |fd - analytic| <= rel |fd| + abs. */
void gc_check_gradients(const char *yaml, int64_t batch, double h, double rel, double abs);

#endif
