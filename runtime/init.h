/* Seeded parameter initialisation and host-side random streams (Philox, so a
 * seed means the same numbers everywhere). */
#ifndef QSDC_INIT_H
#define QSDC_INIT_H

#include <stdint.h>

#include "plan.h"

/* Fills params (plan->param_elems floats): He or Glorot uniform for weights,
 * standard normal where asked (embeddings),
 * zeros for biases and padding, batchnorm's gamma and running variance 1;
 * stream keyed by (seed, tensor index). */
void params_init(const plan *p, uint64_t seed, float *params);
/* A uniform [0,1) float from Philox4x32-10 keyed by (seed, stream), counter i. */
double philox_uniform(uint64_t seed, uint32_t stream, uint64_t i);
/* Fisher-Yates permutation of [0, n) keyed by (seed, stream). */
void philox_permutation(uint64_t seed, uint32_t stream, int64_t *perm, int64_t n);

#endif
