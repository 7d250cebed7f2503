/* The parameters of conv2d, the pools and batchnorm in a model file:
 * windows as an integer or an [height, width] pair, padding as same, valid
 * or sizes. Shapes are checked later, when the model is lowered. */
#include <math.h>
#include <string.h>

#include "model_parse.h"

#define WINDOW_MAX 65536 /* kernel, stride, dilation and padding */

void model_conv_defaults(layer *l)
{
    l->win = (window_params){.dilation = {1, 1}, .pad = PAD_VALID};
    l->momentum = 0.1;
    l->eps = 1e-5;
}

/* An integer in [lo, WINDOW_MAX] for both dimensions, or a list of two. */
static int parse_pair(ydoc *d, yaml_node_t *v, const char *key, int64_t lo, int64_t out[2])
{
    if (v->type != YAML_SEQUENCE_NODE) {
        if (v->type != YAML_SCALAR_NODE || ydoc_int(d, v, key, lo, WINDOW_MAX, &out[0]) < 0)
            return v->type == YAML_SCALAR_NODE
                       ? -1
                       : ydoc_fail_found(d, v, "an integer or a list [height, width]");
        out[1] = out[0];
        return 0;
    }
    yaml_node_item_t *items = v->data.sequence.items.start;
    long n = (long)(v->data.sequence.items.top - items);
    if (n != 2)
        return ydoc_fail(d, v, "'%s' takes an integer or a list [height, width], "
                         "found a list of %ld", key, n);
    for (int i = 0; i < 2; i++)
        if (ydoc_int(d, ydoc_node(d, items[i]), key, lo, WINDOW_MAX, &out[i]) < 0)
            return -1;
    return 0;
}

/* padding: same | valid | integer | [height, width] */
static int parse_padding(ydoc *d, yaml_node_t *v, layer *l)
{
    static const char *const modes[] = {"same", "valid", NULL};
    const char *text = ydoc_text(v);
    if (text && v->type == YAML_SCALAR_NODE && strcmp(ydoc_kind(v), "string") == 0) {
        int mode;
        if (ydoc_choice(d, v, "padding", modes, &mode) < 0)
            return -1;
        l->win.pad = mode == 0 ? PAD_SAME : PAD_VALID;
        return 0;
    }
    if (v->type != YAML_SCALAR_NODE && v->type != YAML_SEQUENCE_NODE)
        return ydoc_fail_found(d, v, "same, valid, an integer or a list [height, width] "
                                     "for 'padding'");
    l->win.pad = PAD_EXPLICIT;
    return parse_pair(d, v, "padding", 0, l->win.padding);
}

int model_conv_param(ydoc *d, yaml_node_t *v, const char *key, layer *l)
{
    if (strcmp(key, "filters") == 0)
        return ydoc_int(d, v, key, 1, INT32_MAX, &l->filters);
    if (strcmp(key, "kernel") == 0)
        return parse_pair(d, v, key, 1, l->win.kernel);
    if (strcmp(key, "stride") == 0)
        return parse_pair(d, v, key, 1, l->win.stride);
    if (strcmp(key, "dilation") == 0)
        return parse_pair(d, v, key, 1, l->win.dilation);
    if (strcmp(key, "padding") == 0)
        return parse_padding(d, v, l);
    if (strcmp(key, "momentum") == 0)
        return ydoc_float(d, v, key, 0, 1, 0, &l->momentum);
    if (strcmp(key, "eps") == 0)
        return ydoc_float(d, v, key, 0, INFINITY, YDOC_LO_OPEN, &l->eps);
    return 1;
}
