/* The compiled bundle: what `qsdc model.yaml -o DIR` leaves on disk.
 *
 *   DIR/plan.yaml   every plan's record (plan.h): buffer sizes, host offsets,
 *                   tensors, launches in order, compile statistics, and the
 *                   name of the file holding its kernels
 *   DIR/kernels.cl  the inference plan's OpenCL 1.2 C source
 *   DIR/train.cl    the training plan's source
 *   DIR/kernels.bin, train.bin  their program binaries for one device
 *                   (--emit-binary), when the plans carry them
 *   DIR/graph.dot   Graphviz drawing of the graph and its fused kernels
 *
 * A bundle's kernels are code, run with the user's rights, like a shared
 * library. Reading one checks what can be checked: each source and binary
 * against the checksum plan.yaml records for it (plan_yaml_read.c), and each
 * plan against the plan its model.yaml compiles to (bundle_verify.c), so an
 * edited or mismatched bundle is refused before a kernel runs.
 *
 * Each plan's source is self-contained and uses per-plan kernel names
 * (k0_matmul, ...) and helper functions (philox, qsd_mask), so the plans
 * cannot share one .cl file: each gets its own, named by its role (a plan
 * with a loss is the training plan). A bundle holds at most one plan of each
 * role. plan.yaml counts sizes and offsets in elements of 4 bytes (float, or
 * int for labels) and also states buffer sizes in bytes. */
#ifndef QSDC_BUNDLE_H
#define QSDC_BUNDLE_H

#include "fusion.h"
#include "graph.h"
#include "plan.h"
#include "strbuf.h"

/* Writes the bundle to dir: a temporary sibling dir.tmp-XXXXXX is filled and
 * fsync'd, then renamed to dir. An existing dir is replaced (moved aside to
 * dir.old-XXXXXX, the new one renamed in, the old one removed), but only when
 * it is empty or holds a plan.yaml, so a mistyped -o never deletes a folder of
 * other files. g (and f, for the kernel clusters) may be NULL: no graph.dot. */
int bundle_write(const char *dir, const plan *const *plans, int n_plans,
                 const graph *g, const fusion *f, qsdc_error *err);

/* "kernels.cl" or "train.cl": the bundle file that holds p's source. */
const char *bundle_source_name(const plan *p);
/* "kernels.bin" or "train.bin": the one that holds p's binary, if any. */
const char *bundle_binary_name(const plan *p);

/* Appends plan.yaml's text for plans (at most one per role) to out. */
int plan_yaml_write(strbuf *out, const plan *const *plans, int n_plans,
                    qsdc_error *err);
/* Reads plan.yaml and each plan's source (and binary, when it names one)
 * from the file it names, beside path, refusing a file whose bytes do not
 * match the checksum plan.yaml records. *plans is a malloc'd array of *n_plans records; free it with
 * plan_yaml_free. Errors name path:line:col, or path alone. */
int plan_yaml_read(const char *path, plan **plans, int *n_plans, qsdc_error *err);
void plan_yaml_free(plan *plans, int n_plans);

/* Graphviz: one cluster per fused group labelled with its kernel's name,
 * tensors as nodes with their shapes, parameters in their own colour. f may
 * be NULL (no clusters). */
void graph_dot(const graph *g, const fusion *f, strbuf *out);

#endif
