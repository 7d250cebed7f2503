/* The C reference of the conv2d, pooling and batchnorm ops (ref_graph's
 * interpreter calls it for every op it does not know). */
#ifndef QSDC_REF_CONV_H
#define QSDC_REF_CONV_H

#include <stdbool.h>
#include <stdint.h>

#include "ref_graph.h"

/* Runs node n if it is one of them; false otherwise. */
bool ref_conv_node(ref_graph *r, const gnode *n, uint32_t seed, uint32_t step);

#endif
