/* Evaluation: the inference plan over a data set, in batches, with accuracy
 * counted on the host from the model's outputs. */
#ifndef QSDC_EVALUATE_H
#define QSDC_EVALUATE_H

#include <stdbool.h>

#include "data.h"
#include "executor.h"

typedef struct eval_result {
    int64_t count, correct;
    double loss;       /* mean eval_sample_loss over the samples, when labelled */
    double seconds;
} eval_result;

/* Runs samples idx[0..n) of d (all of d when idx is NULL); probs: the
 * outputs are probabilities (eval_sample_loss). The last partial batch is
 * padded and its padding ignored. */
int evaluate(executor *ex, const dataset *d, const int64_t *idx, int64_t n, bool probs,
             eval_result *r, qsdc_error *err);
/* -ln p(label) of one sample's outputs: p is the output itself when they
 * are probabilities, else the softmax of the outputs. */
double eval_sample_loss(const float *out, int64_t classes, int32_t label, bool probs);
double eval_accuracy(const eval_result *r);
/* The index of v's largest of n values, the first on a tie: the class a
 * sample's outputs predict. */
int64_t eval_argmax(const float *v, int64_t n);
/* One batch, samples idx[i0..i0+count) of d, through ex's inference plan
 * (x, out and y sized for its input, output and labels); the outputs stay in
 * out and the correctly classified samples are added to *correct. */
int eval_batch(executor *ex, const dataset *d, const int64_t *idx, int64_t i0,
               int64_t count, float *x, float *out, int32_t *y, int64_t *correct,
               qsdc_error *err);
/* Copies samples idx[i0..i0+count) into one batch (zero padding after). */
void gather_batch(const dataset *d, const int64_t *idx, int64_t i0, int64_t count,
                  int64_t batch, float *x, int32_t *y);

#endif
