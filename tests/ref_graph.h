/* The C reference of every graph op: a plain interpreter over the graph IR,
 * each tensor in its own memory (independent of fusion and the memory plan),
 * against which the device's fused kernels are checked. */
#ifndef QSDC_REF_GRAPH_H
#define QSDC_REF_GRAPH_H

#include <stdint.h>

#include "graph.h"

typedef struct ref_graph {
    const graph *g;
    const model *m;
    float **val;        /* tensor -> its values (views share their storage's) */
    float *P, *G, *S;   /* the three allocations, laid out as on the device */
    int32_t *labels;    /* ref_graph_label_count of them */
} ref_graph;

/* P is copied from params; G and S start at zero. */
int ref_graph_init(ref_graph *r, const graph *g, const model *m, const float *params);
void ref_graph_free(ref_graph *r);
/* The mask group of element idx of t under share (QSD.md's sharing). */
uint32_t ref_qsd_group(const tensor *t, uint32_t idx, qsd_share share);
/* Node n's mask for draw group `group`: QSD.md's per-element draw, or with
 * hetero: unit the draw of the unit the group belongs to (the channel of a
 * map [N, C, H, W], the last dimension's index of [N, ..., U], k of a
 * shared [N, K] mask). */
float ref_qsd_node_mask(const gnode *n, const tensor *t, uint32_t seed, uint32_t step,
                        uint32_t group);
/* Runs nodes [from, to) for one step. */
void ref_graph_run(ref_graph *r, const float *input, const int32_t *labels, uint32_t seed,
                   uint32_t step, float lr, int from, int to);
/* Labels (and losses) per step: the batch, or B*T for a sequence output. */
int64_t ref_graph_label_count(const graph *g);
/* Mean loss over the batch, after a run that included the loss node. */
double ref_graph_mean_loss(const ref_graph *r);

#endif
