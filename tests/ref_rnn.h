/* The C reference of the recurrent-network ops (embedding, lstm, sequence
 * pooling, forward and backward), in double, for ref_graph.c. */
#ifndef QSDC_REF_RNN_H
#define QSDC_REF_RNN_H

#include "ref_graph.h"

/* Runs node n (an OP_EMBED .. OP_SEQ_POOL_GRAD) on r's tensors. */
void ref_rnn_node(const ref_graph *r, const gnode *n);

#endif
