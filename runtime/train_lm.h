/* Language modelling with a text corpus (train: data format text): the
 * training split as the contiguous batch streams of text.h's lm_batch, one
 * label per step (the next token), the hidden state of stateful lstm layers
 * carried from batch to batch (truncated BPTT), and perplexity.
 *
 * Carried state: each stateful lstm's carry tensor (its final h and c per
 * sample row) lives among the parameters, so checkpoints save it and a
 * resumed run continues exactly. It is zeroed at the start of every epoch
 * and of every perplexity evaluation (which runs the validation or test
 * split from its start as its own streams); an evaluation puts the training
 * carry back when it is done. */
#ifndef QSDC_TRAIN_LM_H
#define QSDC_TRAIN_LM_H

#include "executor.h"
#include "model.h"
#include "text.h"

#define LM_MAX_CARRIES 16

typedef struct lm_source {
    text_corpus corpus;
    int64_t batch, steps;             /* rows and time steps of a batch */
    bool probabilities;               /* the output is a softmax, else logits */
    int n_carries;                    /* stateful lstm layers */
    int64_t carry_offset[LM_MAX_CARRIES], carry_elems[LM_MAX_CARRIES]; /* in P */
    int32_t *ids;                     /* [batch * steps] scratch */
} lm_source;

/* Loads m's corpus (train: data format text) for plan p (training or
 * inference: the batch, the label per step and the carries are the same)
 * and checks it against the model: a sequence output with one class per
 * vocabulary id at least. */
int lm_source_open(lm_source *s, const model *m, const plan *p, qsdc_error *err);
void lm_source_free(lm_source *s);
/* Keeps the first train_seqs sequences of `steps` tokens of the training
 * split (train_seqs / batch batches) and the first eval_seqs of the
 * validation and test splits each; 0 keeps a split whole. A subset for
 * quick runs: the vocabulary stays the whole training split's. */
void lm_source_limit(lm_source *s, int64_t train_seqs, int64_t eval_seqs);
/* Whole batches of `batch` streams of `steps` tokens in a split. */
int64_t lm_source_batches(const lm_source *s, int split);
/* 0 when the split holds a whole batch, else -1 with err saying "PATH: the
 * SPLIT split holds N tokens, too few for one batch ... (at least M
 * needed): " and then what follows from it, `consequence`. */
int lm_split_check(const lm_source *s, const char *path, int split, const char *consequence,
                   qsdc_error *err);
/* Batch i of a split: ids as exact floats into x, next tokens into y. */
int lm_source_batch(lm_source *s, int split, int64_t i, float *x, int32_t *y,
                    qsdc_error *err);
/* Zeros every carry in P (ms's parameters). */
int lm_carry_reset(const lm_source *s, cl_env *env, model_state *ms, qsdc_error *err);
/* exp(mean cross-entropy per token) of the inference plan ex over a split,
 * from zeroed carries; the carries are as before afterwards. NAN when the
 * split has no whole batch. */
int lm_perplexity(lm_source *s, executor *ex, model_state *ms, int split, double *ppl,
                  qsdc_error *err);

#endif
