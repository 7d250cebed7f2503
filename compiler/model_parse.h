/* Internal to the model front end: the parts model_parse.c assembles. */
#ifndef QSDC_MODEL_PARSE_H
#define QSDC_MODEL_PARSE_H

#include "model.h"
#include "yaml_doc.h"

#define QSDC_MAX_LAYERS 10000

/* Parses the train: mapping n into t (which holds defaults). Relative data
 * paths resolve against the folder of model_path. */
int model_parse_train(ydoc *d, yaml_node_t *n, const char *model_path,
                      train_config *t);
/* conv2d, pool and batchnorm parameters (model_conv.c): defaults, and one
 * key's value; returns 1 when key is none of theirs. */
void model_conv_defaults(layer *l);
int model_conv_param(ydoc *d, yaml_node_t *v, const char *key, layer *l);
/* Checks the layer graph: unique names, inputs that exist, no cycles.
 * name_loc[i] is where layer i's name is written (its loc if generated). */
int model_check_graph(const model *m, const src_loc *name_loc, qsdc_error *err);

#endif
