/* The YAML front end's errors: every error class at its exact line:col
 * with the key phrase of its message, and the model left untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "graph.h"
#include "model.h"
#include "support.h"

static int load(const char *text, model *m, qsdc_error *err)
{
    return model_load_string("<string>", text, strlen(text), m, err);
}

typedef struct error_case {
    const char *name, *text;
    int line, col;
    const char *phrase;
} error_case;

#define HEAD "name: m\ninput: {shape: [4]}\n"
#define LAYERS HEAD "layers:\n"
#define NODES HEAD "nodes:\n  - {name: a, op: dense, inputs: input, units: 3}\n"
#define TRAIN LAYERS "  - relu\ntrain:\n"
#define TEXT_TRAIN "name: m\ninput: {shape: [4], dtype: int32}\nlayers:\n" \
    "  - {op: embedding, vocab: 12, dim: 3}\n  - {op: lstm, units: 2}\ntrain:\n"

static const error_case error_cases[] = {
    {"syntax", HEAD "layers: [relu\n", 4, 1,
     "invalid YAML: did not find expected ',' or ']'"},
    {"syntax_indent", "name: m\n  input: x\n", 2, 8,
     "invalid YAML: mapping values are not allowed"},
    {"bad_utf8", "name: m\xff\n", 1, 8, "invalid YAML: invalid leading UTF-8"},
    {"control_char", "name: m\x01\n", 1, 8, "invalid YAML: control characters"},
    {"empty", "", 1, 1, "empty file: no YAML document"},
    {"only_comment", "# nothing here\n", 1, 1, "empty file"},
    {"two_documents", "name: m\n---\nname: n\n", 2, 1, "one YAML document"},
    {"top_not_mapping", "- relu\n", 1, 1,
     "expected a mapping at the top level, found list"},
    /* libyaml puts an empty document's implicit null at the next token */
    {"top_null", "---\n", 2, 1, "expected a mapping at the top level, found null"},
    {"unknown_top_key", HEAD "layer: [relu]\n", 3, 1,
     "unknown top-level key 'layer' (expected one of: name, input, layers"},
    {"duplicate_top_key", "name: m\nname: n\n", 2, 1,
     "duplicate key 'name' (first at line 1)"},
    {"non_string_key", "[a]: 1\n", 1, 1, "expected a string key, found list"},
    {"missing_name", "input: {shape: [4]}\nlayers: [relu]\n", 1, 1,
     "missing required key 'name'"},
    {"missing_input", "name: m\nlayers: [relu]\n", 1, 1,
     "missing required key 'input'"},
    {"missing_layers", HEAD, 1, 1, "missing required key 'layers'"},
    {"layers_and_nodes", HEAD "layers: [relu]\nnodes: []\n", 4, 1,
     "'layers' and 'nodes' are mutually exclusive"},
    {"name_not_identifier", "name: 3abc\ninput: {shape: [4]}\n", 1, 7, "'name' must be an identifier"},
    {"name_wrong_type", "name: [a]\ninput: {shape: [4]}\n", 1, 7,
     "expected a non-empty string for 'name', found list"},
    {"input_not_mapping", "name: m\ninput: [4]\n", 2, 8,
     "expected a mapping for 'input', found list"},
    {"input_no_shape", "name: m\ninput: {dtype: float32}\n", 2, 8,
     "missing required key 'shape' in 'input'"},
    {"input_unknown_key", "name: m\ninput: {shape: [4], size: 3}\n", 2, 21,
     "unknown key 'size' in 'input'"},
    {"input_dim_zero", "name: m\ninput: {shape: [4, 0]}\n", 2, 20,
     "'shape' must be in [1, 2147483647], found 0"},
    {"input_rank_zero", "name: m\ninput: {shape: []}\n", 2, 16,
     "'shape' must have 1 to 3 dimensions, found 0"},
    /* with the batch, a rank-4 sample would need a rank-5 tensor */
    {"input_rank_four", "name: m\ninput: {shape: [1, 1, 1, 1]}\n", 2, 16,
     "'shape' must have 1 to 3 dimensions, found 4"},
    {"input_dtype", "name: m\ninput: {shape: [4], dtype: float16}\n", 2, 28,
     "unknown dtype 'float16' (expected one of: float32, int32)"},
    {"layers_not_list", LAYERS "  op: relu\n", 4, 3,
     "expected a list for 'layers', found mapping"},
    {"layers_empty", HEAD "layers: []\n", 3, 9, "'layers' is empty"},
    {"unknown_op", LAYERS "  - {op: conv9, units: 3}\n", 4, 10,
     "unknown op 'conv9' (expected one of: dense, relu, tanh, sigmoid, "
     "softmax, add, flatten, dropout, qsd, embedding, lstm, pool_sequence, conv2d, "
     "maxpool, avgpool, global_avgpool, batchnorm)"},
    {"unknown_op_scalar", LAYERS "  - relu\n  - conv9\n", 5, 5,
     "unknown op 'conv9'"},
    {"missing_op", LAYERS "  - {units: 3}\n", 4, 5,
     "missing required key 'op' in layer"},
    {"layer_wrong_type", LAYERS "  - [relu]\n", 4, 5,
     "expected an op name or a mapping for a layer, found list"},
    {"unknown_param", LAYERS "  - {op: relu, units: 3}\n", 4, 16,
     "unknown parameter 'units' for op 'relu' (expected one of: op, name)"},
    {"inputs_in_layers_form", LAYERS "  - {op: relu, inputs: input}\n", 4, 16,
     "unknown parameter 'inputs' for op 'relu'"},
    {"missing_param", LAYERS "  - relu\n  - {op: dense}\n", 5, 5,
     "missing required parameter 'units' for op 'dense'"},
    {"missing_param_scalar", LAYERS "  - qsd\n", 4, 5,
     "missing required parameter 'p' for op 'qsd'"},
    {"duplicate_param", LAYERS "  - {op: dense, units: 3, units: 4}\n", 4, 27,
     "duplicate key 'units' (first at line 4)"},
    {"int_wrong_type", LAYERS "  - {op: dense, units: abc}\n", 4, 24,
     "expected integer for 'units', found string 'abc'"},
    {"int_got_float", LAYERS "  - {op: dense, units: 2.5}\n", 4, 24,
     "expected integer for 'units', found float 2.5"},
    {"int_got_quoted", LAYERS "  - {op: dense, units: \"3\"}\n", 4, 24,
     "expected integer for 'units', found string '3'"},
    {"int_null", LAYERS "  - {op: dense, units: }\n", 4, 24,
     "expected integer for 'units', found null"},
    {"int_overflow", LAYERS "  - {op: dense, units: 99999999999999999999}\n",
     4, 24, "integer 99999999999999999999 for 'units' does not fit in 64 bits"},
    {"int_too_big", LAYERS "  - {op: dense, units: 3000000000}\n", 4, 24,
     "'units' must be in [1, 2147483647], found 3000000000"},
    {"bool_wrong_type", LAYERS "  - {op: dense, units: 3, bias: yes}\n", 4, 33,
     "expected bool (true or false) for 'bias', found string 'yes'"},
    {"init_unknown", LAYERS "  - {op: dense, units: 3, init: xavier}\n", 4, 33,
     "unknown init 'xavier' (expected one of: auto, he, glorot, zeros, normal)"},
    {"float_wrong_type", LAYERS "  - {op: qsd, p: high}\n", 4, 18,
     "expected a number for 'p', found string 'high'"},
    {"qsd_p_above_one", LAYERS "  - {op: qsd, p: 1.5}\n", 4, 18,
     "'p' must be in (0, 1], found 1.5"},
    /* positive, but below what the masks can draw: 0 in float32 at 1e-50 */
    {"qsd_p_underflow", LAYERS "  - {op: qsd, p: 1e-50}\n", 4, 18,
     "'p' of 1e-50 is below 2^-24 (5.96046e-08), the smallest keep probability the "
     "masks can draw"},
    {"dropout_p_tiny", LAYERS "  - {op: dropout, p: 1e-30}\n", 4, 22,
     "'p' of 1e-30 is below 2^-24"},
    {"qsd_p_zero", LAYERS "  - {op: qsd, p: 0}\n", 4, 18,
     "'p' must be in (0, 1], found 0"},
    {"dropout_p_negative", LAYERS "  - {op: dropout, p: -0.5}\n", 4, 22,
     "'p' must be in (0, 1], found -0.5"},
    {"qsd_sites_zero", LAYERS "  - {op: qsd, p: 0.5, sites: 0}\n", 4, 30,
     "'sites' must be in [1, 1048576], found 0"},
    {"qsd_q_cv_negative", LAYERS "  - {op: qsd, p: 0.5, q_cv: -0.1}\n", 4, 29,
     "'q_cv' must be >= 0, found -0.1"},
    {"qsd_concentration_zero",
     LAYERS "  - {op: qsd, p: 0.5, p_concentration: 0}\n", 4, 40,
     "'p_concentration' must be > 0, found 0"},
    {"qsd_share_unknown", LAYERS "  - {op: qsd, p: 0.5, share: row}\n", 4, 30,
     "unknown share 'row' (expected one of: element, channel, time)"},
    {"qsd_hetero_unknown", LAYERS "  - {op: qsd, p: 0.5, hetero: cell}\n", 4, 31,
     "unknown hetero 'cell' (expected one of: element, unit)"},
    {"qsd_anneal_element", LAYERS "  - {op: qsd, p: 0.5, p_concentration: 2, anneal: 0.1}\n", 4, 51,
     "'anneal' needs hetero: unit and a p_concentration"},
    {"qsd_anneal_homogeneous", LAYERS "  - {op: qsd, p: 0.5, hetero: unit, anneal: 0.1}\n", 4, 45,
     "'anneal' needs hetero: unit and a p_concentration"},
    {"qsd_anneal_negative", LAYERS "  - {op: qsd, p: 0.5, hetero: unit, p_concentration: 2, anneal: -1}\n", 4, 65,
     "'anneal' must be >= 0, found -1"},
    {"dropout_hetero", LAYERS "  - {op: dropout, p: 0.5, hetero: unit}\n", 4, 27,
     "unknown parameter 'hetero' for op 'dropout'"},
    {"dropout_param", LAYERS "  - {op: dropout, p: 0.5, sites: 2}\n", 4, 27,
     "unknown parameter 'sites' for op 'dropout'"},
    {"float_huge", LAYERS "  - {op: qsd, p: 1e400}\n", 4, 18,
     "number 1e400 for 'p' is out of range"},
    {"float_nan", LAYERS "  - {op: qsd, p: .nan}\n", 4, 18,
     "'p' must be a finite number, found .nan"},
    {"float_bare_nan", LAYERS "  - {op: qsd, p: nan}\n", 4, 18,
     "'p' must be a finite number, found nan"},
    {"float_inf", LAYERS "  - {op: qsd, p: 0.5, q_cv: .inf}\n", 4, 29,
     "'q_cv' must be a finite number"},
    {"layer_name_bad", LAYERS "  - {op: relu, name: a-b}\n", 4, 22,
     "'name' must be an identifier"},
    {"layer_name_reserved", LAYERS "  - {op: relu, name: input}\n", 4, 22,
     "the name 'input' is reserved"},
    {"duplicate_explicit_name",
     LAYERS "  - {op: relu, name: x}\n  - {op: tanh, name: x}\n", 5, 22,
     "duplicate layer name 'x' (first defined at line 4)"},
    {"duplicate_generated_name",
     LAYERS "  - {op: tanh, name: relu1}\n  - relu\n", 5, 5,
     "duplicate layer name 'relu1' (first defined at line 4)"},
    {"add_in_layers_form", LAYERS "  - {op: add}\n", 4, 10,
     "op 'add' takes 2 inputs, so it needs the nodes: form"},
    {"too_many_layers", NULL, 4, 3, "'layers' has 10001 entries, at most 10000"},
    {"node_not_mapping", NODES "  - relu\n", 5, 5,
     "expected a mapping for a node, found string 'relu'"},
    {"node_missing_name", NODES "  - {op: relu, inputs: a}\n", 5, 5,
     "missing required key 'name' in node"},
    {"node_missing_inputs", NODES "  - {name: b, op: relu}\n", 5, 5,
     "missing required key 'inputs' in node"},
    {"node_missing_op", NODES "  - {name: b, inputs: a}\n", 5, 5,
     "missing required key 'op' in node"},
    {"undefined_input", NODES "  - {name: b, op: relu, inputs: c}\n", 5, 33,
     "undefined input 'c'"},
    {"undefined_input_in_list",
     NODES "  - {name: b, op: add, inputs: [a, zz]}\n", 5, 36,
     "undefined input 'zz'"},
    {"duplicate_node",
     NODES "  - {name: a, op: relu, inputs: input}\n", 5, 12,
     "duplicate layer name 'a' (first defined at line 4)"},
    {"cycle",
     HEAD "nodes:\n"
          "  - {name: a, op: dense, inputs: c, units: 3}\n"
          "  - {name: b, op: relu, inputs: a}\n"
          "  - {name: c, op: relu, inputs: b}\n"
          "  - {name: d, op: relu, inputs: c}\n",
     4, 5, "cycle in nodes: a -> b -> c -> a"},
    {"cycle_later",
     NODES "  - {name: b, op: relu, inputs: c}\n"
           "  - {name: c, op: add, inputs: [a, b]}\n",
     5, 5, "cycle in nodes: b -> c -> b"},
    {"self_loop", NODES "  - {name: b, op: relu, inputs: b}\n", 5, 5,
     "cycle in nodes: b -> b"},
    {"add_one_input", NODES "  - {name: s, op: add, inputs: a}\n", 5, 32,
     "op 'add' takes 2 inputs, found 1"},
    {"relu_two_inputs", NODES "  - {name: s, op: relu, inputs: [a, a]}\n", 5, 33,
     "op 'relu' takes 1 input, found 2"},
    {"inputs_wrong_type", NODES "  - {name: s, op: relu, inputs: {a: 1}}\n", 5,
     33, "expected a name or a list of names for 'inputs', found mapping"},
    {"output_unknown", LAYERS "  - relu\noutput: nope\n", 5, 9,
     "output 'nope' is not a layer"},
    {"output_input", LAYERS "  - relu\noutput: input\n", 5, 9,
     "output 'input' is not a layer"},
    {"anchor", "name: &n m\n", 1, 7, "YAML anchors are not supported"},
    {"alias", "name: m\ninput: *a\n", 2, 8, "YAML aliases are not supported"},
    {"tag", "name: !!str m\n", 1, 7, "YAML tags are not supported"},
    {"too_deep", NULL, 2, 35, "nesting deeper than 32 levels"},
    {"long_cycle", NULL, 4, 5,
     "cycle in nodes: n0 -> n1 -> n2 -> n3 -> n4 -> n5 -> ... (10 nodes) -> n0"},
    {"nul_in_string", "name: \"a\\0b\"\ninput: {shape: [4]}\n", 1, 7, "must not contain NUL"},
    {"train_not_mapping", TRAIN "  5\n", 6, 3,
     "expected a mapping for 'train', found integer 5"},
    {"train_unknown_key", TRAIN "  epoch: 3\n", 6, 3,
     "unknown key 'epoch' in 'train' (expected one of: data, batch, epochs"},
    {"train_batch_zero", TRAIN "  batch: 0\n", 6, 10,
     "'batch' must be in [1, 2147483647], found 0"},
    {"train_seed_negative", TRAIN "  seed: -1\n", 6, 9, "'seed' must be >= 0"},
    {"train_val_split_one", TRAIN "  val_split: 1\n", 6, 14,
     "'val_split' must be in [0, 1), found 1"},
    {"train_loss", TRAIN "  loss: hinge\n", 6, 9,
     "unknown loss 'hinge' (expected one of: xent, mse)"},
    {"train_optimizer", TRAIN "  optimizer: rmsprop\n", 6, 14,
     "unknown optimizer 'rmsprop' (expected one of: sgd, adam, adamw)"},
    {"train_optimizer_type", TRAIN "  optimizer: {type: lbfgs}\n", 6, 21,
     "unknown optimizer type 'lbfgs'"},
    {"train_optimizer_key", TRAIN "  optimizer: {type: adam, momentum: 0.9}\n",
     6, 27, "unknown key 'momentum' for optimizer 'adam'"},
    {"train_lr_zero", TRAIN "  optimizer: {lr: 0}\n", 6, 19,
     "'lr' must be in [1.17549e-38, 3.40282e+38], found 0"},
    {"train_lr_underflow", TRAIN "  optimizer: {lr: 1e-50}\n", 6, 19,
     "'lr' must be in [1.17549e-38, 3.40282e+38], found 1e-50"},
    {"train_momentum_one", TRAIN "  optimizer: {momentum: 1}\n", 6, 25,
     "'momentum' must be in [0, 1), found 1"},
    {"train_beta2_one", TRAIN "  optimizer: {type: adam, beta2: 1}\n", 6, 34,
     "'beta2' must be in [0, 1), found 1"},
    {"train_nesterov", TRAIN "  optimizer: {momentum: 0, nesterov: true}\n", 6,
     38, "'nesterov' needs 'momentum' > 0"},
    {"train_optimizer_list", TRAIN "  optimizer: [sgd]\n", 6, 14,
     "expected a name or a mapping for 'optimizer', found list"},
    {"train_schedule", TRAIN "  schedule: linear\n", 6, 13,
     "unknown schedule 'linear' (expected one of: constant, step, cosine)"},
    {"train_schedule_key", TRAIN "  schedule: {type: cosine, gamma: 0.5}\n", 6,
     28, "unknown key 'gamma' for schedule 'cosine'"},
    {"train_gamma_zero", TRAIN "  schedule: {type: step, gamma: 0}\n", 6, 33,
     "'gamma' must be in (0, 1], found 0"},
    {"train_dataset", TRAIN "  data: mnist\n", 6, 9,
     "unknown dataset 'mnist' (expected one of: fashion-mnist)"},
    {"train_data_missing", TRAIN "  data: {train_images: a}\n", 6, 9,
     "missing required key 'train_labels' in 'data'"},
    {"train_data_half_test",
     TRAIN "  data: {train_images: a, train_labels: b, test_images: c}\n", 6, 9,
     "'test_images' and 'test_labels' go together"},
    {"train_data_path_type", TRAIN "  data: {train_images: 5, train_labels: b}\n",
     6, 24, "expected a non-empty string for 'train_images', found integer 5"},
    {"data_layout", TRAIN "  data: {train_images: a, train_labels: b, layout: hwc}\n", 6,
     52, "unknown layout 'hwc' (expected one of: nchw, nhwc)"},
    {"csv_missing_train", TRAIN "  data: {format: csv, test: a}\n", 6, 9,
     "missing required key 'train' in 'data'"},
    {"csv_layout", TRAIN "  data: {format: csv, train: a, layout: nhwc}\n", 6, 33,
     "unknown key 'layout' in 'data' (format csv)"},
    {"csv_label_comma", TRAIN "  data: {format: csv, train: a, label: \"a,b\"}\n", 6, 40,
     "'label' must name a column: 1 to 63 bytes, no comma"},
    {"csv_standardize", TRAIN "  data: {format: csv, train: a, standardize: 2}\n", 6, 46,
     "expected bool (true or false) for 'standardize', found integer 2"},
    {"images_layout", TRAIN "  data: {format: images, train: a, layout: nhwc}\n", 6, 36,
     "unknown key 'layout' in 'data' (format images)"},
    {"npz_label", TRAIN "  data: {format: npz, train: a, label: y}\n", 6, 33,
     "unknown key 'label' in 'data' (format npz)"},
    {"npz_layout", TRAIN "  data: {format: npz, train: a, layout: hwc}\n", 6, 41,
     "unknown layout 'hwc' (expected one of: nchw, nhwc)"},
    {"text_unknown_key", TEXT_TRAIN "  data: {format: text, corpus: a, levels: word}\n", 7, 35,
     "unknown key 'levels' in 'data' (format text)"},
    {"text_missing_corpus", TEXT_TRAIN "  data: {format: text}\n", 7, 9,
     "missing required key 'corpus' in 'data'"},
    {"text_level", TEXT_TRAIN "  data: {format: text, corpus: a, level: byte}\n", 7, 42,
     "unknown level 'byte' (expected one of: word, char)"},
    {"text_split_sum", TEXT_TRAIN "  data: {format: text, corpus: a, split: [0.9, 0.2]}\n",
     7, 42, "'split' fractions sum to 1.1, more than 1"},
    {"text_split_scalar", TEXT_TRAIN "  data: {format: text, corpus: a, split: 0.9}\n", 7, 42,
     "expected [training, validation] fractions for 'split'"},
    {"text_float_input", TRAIN "  data: {format: text, corpus: a}\n", 6, 9,
     "the model needs input {shape: [time], dtype: int32}"},
    {"sentiment_test_split", TEXT_TRAIN "  data: {format: sentiment, csv: a, test_split: 1}\n",
     7, 49, "'test_split' must be in (0, 1), found 1"},
    {"sentiment_keep", TEXT_TRAIN "  data: {format: sentiment, csv: a, keep: middle}\n",
     7, 43, "unknown keep 'middle' (expected one of: first, last)"},
    {"sentiment_vocab_rows", TEXT_TRAIN "  data: {format: sentiment, csv: a, vocab: 11}\n", 4, 5,
     "has 12 rows, fewer than the data's vocab 11 plus its 2 special tokens"},
};

/* Texts too big to write out in the table. */
static char *generated_text(const char *name)
{
    size_t cap = 200000;
    char *s = malloc(cap);
    assert_non_null(s);
    if (strcmp(name, "too_many_layers") == 0) {
        char *p = s + sprintf(s, "%s", LAYERS);
        for (int i = 0; i < 10001; i++)
            p += sprintf(p, "  - relu\n");
    } else if (strcmp(name, "long_cycle") == 0) {
        char *p = s + sprintf(s, HEAD "nodes:\n");
        for (int i = 0; i < 10; i++)
            p += sprintf(p, "  - {name: n%d, op: relu, inputs: n%d}\n", i,
                         (i + 9) % 10);
    } else {
        strcpy(s, "name: m\nx: ");
        for (int i = 0; i < 40; i++)
            strcat(s, "[");
        for (int i = 0; i < 40; i++)
            strcat(s, "]");
        strcat(s, "\n");
    }
    return s;
}

static void test_error_case(void **state)
{
    const error_case *c = *state;
    char *owned = c->text ? NULL : generated_text(c->name);
    const char *text = c->text ? c->text : owned;
    model m;
    memset(&m, 0xa5, sizeof m);
    model before = m;
    qsdc_error err = {{0}};
    int rc = load(text, &m, &err);
    free(owned);
    if (rc == 0) {
        model_free(&m);
        fail_msg("%s: loaded, expected an error", c->name);
    }
    char prefix[64];
    snprintf(prefix, sizeof prefix, "<string>:%d:%d: error: ", c->line, c->col);
    if (strncmp(err.message, prefix, strlen(prefix)) != 0 ||
        !strstr(err.message, c->phrase))
        fail_msg("%s: got \"%s\", expected \"%s...%s\"", c->name, err.message,
                 prefix, c->phrase);
    assert_memory_equal(&m, &before, sizeof m); /* untouched on failure */
}

static void test_unreadable_files(void **state)
{
    (void)state;
    model m;
    qsdc_error err = {{0}};
    char path[1200];
    snprintf(path, sizeof path, "%s/missing.yaml", ts_tmpdir());
    assert_int_equal(model_load(path, &m, &err), -1);
    char want[1300];
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory",
             path);
    assert_string_equal(err.message, want);

    assert_int_equal(model_load(ts_tmpdir(), &m, &err), -1);
    snprintf(want, sizeof want, "%s: cannot open: is a directory", ts_tmpdir());
    assert_string_equal(err.message, want);
    /* a FIFO is refused at once, not waited on for a writer */
    const char *fifo = ts_fifo("model.fifo");
    assert_int_equal(model_load(fifo, &m, &err), -1);
    snprintf(want, sizeof want, "%s: cannot open: not a regular file (a FIFO)", fifo);
    assert_string_equal(err.message, want);

    size_t big = (16u << 20) + 1;
    char *text = malloc(big);
    assert_non_null(text);
    memset(text, ' ', big);
    assert_int_equal(model_load_string("<big>", text, big, &m, &err), -1);
    assert_non_null(strstr(err.message, "<big>: file too large"));
    const char *file = ts_write("big.yaml", text, big);
    free(text);
    assert_int_equal(model_load(file, &m, &err), -1);
    snprintf(want, sizeof want, "%s: file too large (16777217 bytes, limit 16 MiB)", file);
    assert_string_equal(err.message, want);
    /* a sparse 54 MB file: its own size is reported, not a read's */
    assert_int_equal(truncate(file, 54000000), 0);
    assert_int_equal(model_load(file, &m, &err), -1);
    snprintf(want, sizeof want, "%s: file too large (54000000 bytes, limit 16 MiB)", file);
    assert_string_equal(err.message, want);
}

static void expect_lower_error(const char *text, int64_t batch, int line, int col,
                               const char *phrase)
{
    model m;
    graph g;
    qsdc_error err = {{0}};
    assert_int_equal(load(text, &m, &err), 0);
    assert_int_equal(graph_lower(&m, MODE_TRAIN, batch, &g, &err), -1);
    graph_free(&g);
    model_free(&m);
    char want[512];
    snprintf(want, sizeof want, "<string>:%d:%d: error: %s", line, col, phrase);
    assert_string_equal(err.message, want);
}

/* Tensors past device indexing, and products past 64 bits, at their layer
 * or the input. */
static void test_tensor_limits(void **state)
{
    (void)state;
    expect_lower_error(LAYERS "  - {op: dense, units: 1073741824}\n", 1, 4, 5,
                       "tensor 'dense0.weight' has 4294967296 elements, more than the "
                       "2^31-1 supported");
    expect_lower_error("name: m\ninput: {shape: [2147483647, 2147483647, 2147483647]}\n"
                       "layers:\n  - relu\n", 4, 4, 5,
                       "tensor 'input': the product of its dimensions overflows 64 bits");
    /* an embedding's table: vocab (at most 2^24) x dim */
    expect_lower_error("name: m\ninput: {shape: [3], dtype: int32}\nlayers:\n"
                       "  - {op: embedding, vocab: 16777216, dim: 256}\n", 1, 4, 5,
                       "tensor 'embedding0.weight' has 4294967296 elements, more than the "
                       "2^31-1 supported");
}

int main(void)
{
    const struct CMUnitTest files[] = {
        cmocka_unit_test(test_unreadable_files),
        cmocka_unit_test(test_tensor_limits),
    };
    int failed =
        cmocka_run_group_tests_name("model_files", files, NULL, ts_teardown);
    enum { N = sizeof error_cases / sizeof error_cases[0] };
    struct CMUnitTest errors[N];
    for (size_t i = 0; i < N; i++)
        errors[i] = (struct CMUnitTest){error_cases[i].name, test_error_case,
                                        NULL, NULL, (void *)&error_cases[i]};
    failed += _cmocka_run_group_tests("model_errors", errors, N, NULL, NULL);
    return failed;
}
