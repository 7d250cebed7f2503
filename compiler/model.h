/* The model as the user wrote it: the YAML front end's output, validated
 * (types, ranges, names, no cycles) but not yet shaped. Every element keeps
 * its source location so later passes can report file:line:col. */
#ifndef QSDC_MODEL_H
#define QSDC_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "source.h"

#define QSDC_MAX_INPUTS 4
#define QSDC_MAX_RANK 4

typedef enum layer_kind {
    LAYER_DENSE,
    LAYER_RELU,
    LAYER_TANH,
    LAYER_SIGMOID,
    LAYER_SOFTMAX,
    LAYER_ADD,
    LAYER_FLATTEN,
    LAYER_DROPOUT,
    LAYER_QSD,
    /* recurrent networks */
    LAYER_EMBEDDING,
    LAYER_LSTM,
    LAYER_POOL_SEQUENCE,
    /* convolutional networks */
    LAYER_CONV2D,
    LAYER_MAXPOOL,
    LAYER_AVGPOOL,
    LAYER_GLOBAL_AVGPOOL,
    LAYER_BATCHNORM,
    LAYER_KIND_COUNT
} layer_kind;

typedef enum qsd_share { SHARE_ELEMENT, SHARE_CHANNEL, SHARE_TIME } qsd_share;
/* element: QSD.md's per-draw P and quantal sizes; unit: per-unit P and gain,
 * shared by the batch (the author's formulation) */
typedef enum qsd_hetero { HETERO_ELEMENT, HETERO_UNIT } qsd_hetero;

/* QSD.md's parameters. Dropout with keep probability p is the special case
 * sites = 1, q_cv = 0, homogeneous, so both nodes carry this record. */
typedef struct qsd_params {
    double p;               /* release (keep) probability, (0, 1] */
    int sites;              /* n >= 1 */
    double q_cv;            /* v >= 0 */
    double p_concentration; /* c > 0, or 0 when absent (homogeneous) */
    qsd_share share;
    qsd_hetero hetero;
    double anneal;          /* s >= 0: hetero: unit's c grows as c (1 + s step) */
} qsd_params;

/* The masks compare p with uniforms drawn in steps of 2^-24 (qsd_uniform in
 * kernels/qsd.cl): below that, every draw keeps with probability 2^-24 or
 * 0 instead of p, and the mask loses its mean of 1 (at 1e-50 p is even 0
 * in float32, and 1/(n p) infinite). At 2^-24, p is a normal float32 and
 * 1/(n p) is at most 2^24. */
#define QSD_MIN_P 0x1.0p-24

/* lstm's return and pool_sequence's mode */
typedef enum seq_mode { SEQ_ALL, SEQ_LAST, SEQ_MEAN } seq_mode;

typedef enum input_dtype { DTYPE_FLOAT32, DTYPE_INT32 } input_dtype;

/* The token id of a padding step in an int32 input: no vocabulary row, so
 * the embedding reads zeros; an lstm holds its state over the step and
 * sequence pooling skips it, so padding on either side changes nothing. */
#define QSDC_PAD_ID (-1)

/* INIT_BN_AFFINE: batchnorm's [2, C] (gamma = 1, beta = 0);
 * INIT_BN_RUNNING: its running [2, C] (mean = 0, variance = 1);
 * INIT_NORMAL: standard normal, an embedding's default. */
typedef enum init_kind {
    INIT_AUTO, INIT_HE, INIT_GLOROT, INIT_ZEROS, INIT_BN_AFFINE, INIT_BN_RUNNING,
    INIT_NORMAL
} init_kind;

/* conv2d and pooling windows, [height, width] pairs. */
typedef enum pad_mode { PAD_EXPLICIT, PAD_SAME, PAD_VALID } pad_mode;
typedef struct window_params {
    int64_t kernel[2];
    int64_t stride[2];    /* 0: the default (1 for conv2d, the kernel for pools) */
    int64_t dilation[2];
    pad_mode pad;
    int64_t padding[2];   /* PAD_EXPLICIT */
} window_params;

typedef struct layer {
    char name[QSDC_NAME_MAX];
    layer_kind kind;
    src_loc loc; /* the node's mapping */
    int n_inputs;
    char inputs[QSDC_MAX_INPUTS][QSDC_NAME_MAX];
    src_loc input_loc[QSDC_MAX_INPUTS];
    /* dense */
    int64_t units;
    bool bias;
    init_kind init;
    /* dropout, qsd */
    qsd_params qsd;
    /* embedding: vocab rows of `units` (dim) values; lstm, pool_sequence */
    int64_t vocab;
    seq_mode seq;
    /* lstm: the final h and c of a batch are the next batch's initial state
     * (kept per sample row on the device; language modelling) */
    bool stateful;
    /* conv2d (filters, window, bias, init), maxpool and avgpool (window) */
    int64_t filters;
    window_params win;
    /* batchnorm */
    double momentum, eps;
} layer;

typedef enum optim_kind { OPTIM_SGD, OPTIM_ADAM, OPTIM_ADAMW } optim_kind;
typedef enum sched_kind { SCHED_CONSTANT, SCHED_STEP, SCHED_COSINE } sched_kind;
typedef enum loss_kind { LOSS_XENT, LOSS_MSE } loss_kind;

#define QSDC_MAX_DATA_FILES 8

/* DATA_TEXT: a language-modelling corpus; DATA_SENTIMENT: a (label, text) CSV;
 * DATA_NPY: .npy arrays; DATA_TABLE: a numeric CSV with a header; DATA_NPZ:
 * an .npz archive of samples and labels; DATA_IMAGES: a folder of PNG
 * images, one sub-folder per class */
typedef enum data_format {
    DATA_IDX, DATA_CIFAR10, DATA_TEXT, DATA_SENTIMENT, DATA_NPY, DATA_TABLE,
    DATA_NPZ, DATA_IMAGES
} data_format;

/* How image samples are stored: LAYOUT_AUTO takes them as the model's input
 * shape (channels first); LAYOUT_NHWC transposes height-width-channel
 * samples to it. */
typedef enum data_layout { LAYOUT_AUTO, LAYOUT_NCHW, LAYOUT_NHWC } data_layout;

/* The default global-norm clip of models with an lstm layer (the classic
 * word-level LSTM language model's); clip_norm: 0 turns it off. */
#define QSDC_RNN_CLIP_NORM 0.25

typedef struct train_config {
    /* data: relative paths resolve against the model's folder */
    data_format format;
    /* IDX and npy (samples and labels); numeric CSV (train_images and
     * test_images, labels in the column label_column); npz and images
     * (train_images and test_images, each with its labels) */
    char train_images[QSDC_PATH_MAX], train_labels[QSDC_PATH_MAX];
    char test_images[QSDC_PATH_MAX], test_labels[QSDC_PATH_MAX];
    /* CIFAR-10 binary: training files and an optional test file */
    char train_files[QSDC_MAX_DATA_FILES][QSDC_PATH_MAX];
    int n_train_files;
    char test_file[QSDC_PATH_MAX];
    /* text: the corpus (split into training, validation and test lines by
     * text_split, test the rest); sentiment: the CSV (test_split of the rows,
     * seeded by seed, for test). Sequence length: the model's input shape. */
    char text_path[QSDC_PATH_MAX];
    bool text_chars;        /* text: characters, else words */
    int64_t vocab;          /* tokens kept besides the specials, default 10000 */
    double text_split[2];   /* text: train, validation fractions (0.9, 0.05) */
    double test_split;      /* sentiment: default 0.2 */
    bool keep_last;         /* sentiment: longer texts keep their last tokens */
    char label_column[64];  /* numeric CSV: default "label" */
    bool standardize;       /* numeric CSV: features standardised (feature_stats.h) */
    data_layout layout;     /* IDX, npy */
    src_loc data_loc;
    /* augment: of training batches (never evaluation data) */
    int64_t crop_pad;       /* random crop of the zero-padded image, 0 = off */
    bool flip;              /* random horizontal flip */
    src_loc augment_loc;
    int64_t batch;          /* default 128 */
    int64_t epochs;         /* default 10 */
    uint64_t seed;          /* default 1 */
    double val_split;       /* fraction of training data held out, [0, 1) */
    loss_kind loss;         /* default xent */
    optim_kind optimizer;   /* default sgd */
    double lr;              /* default 0.1 for sgd, 1e-3 for adam(w) */
    double momentum;        /* sgd, default 0.9 */
    bool nesterov;          /* sgd, default false */
    double beta1, beta2, eps; /* adam(w): 0.9, 0.999, 1e-8 */
    double weight_decay;    /* default 0 (L2 for sgd/adam, decoupled for adamw) */
    double clip_norm;       /* global-norm clipping, 0 = off */
    sched_kind schedule;    /* default constant */
    double warmup_epochs;   /* linear warm-up, default 0 */
    int64_t step_epochs;    /* step schedule: every this many epochs, 0 =
                               auto (see lr_schedule_step_epochs) ... */
    double step_gamma;      /* ... multiply lr by this (default 0.1) */
    double min_lr;          /* cosine floor, default 0 */
} train_config;

/* The learning-rate schedule of a train: section (runtime/schedule.c
 * computes the rate of each step from it). Lowering copies it to the
 * graph and compiling to the training plan, which a bundle's plan.yaml
 * holds; a run may override lr and epochs. */
typedef struct lr_schedule {
    sched_kind kind;
    double lr;
    double warmup_epochs;
    int64_t step_epochs;    /* 0: auto */
    double step_gamma;
    double min_lr;
    int64_t epochs;         /* the run's: cosine spans them, auto steps divide them */
} lr_schedule;

extern const char *const sched_kind_names[]; /* NULL-terminated */

typedef struct model {
    char path[QSDC_PATH_MAX]; /* as given, used in error messages */
    char name[QSDC_NAME_MAX];
    int input_rank;           /* dims of one sample, batch excluded (< QSDC_MAX_RANK) */
    int64_t input_shape[QSDC_MAX_RANK];
    input_dtype dtype;        /* int32 ids reach the device as exact floats */
    src_loc input_loc;
    char output[QSDC_NAME_MAX]; /* the output layer; default the last one */
    layer *layers;            /* in file order */
    int n_layers;
    bool has_train;
    train_config train;
} model;

/* Parses and validates a model file. On failure *out is untouched and err
 * holds "path:line:col: error: ...". */
int model_load(const char *path, model *out, qsdc_error *err);
/* The same from a string; path is used only in messages. */
int model_load_string(const char *path, const char *text, size_t len,
                      model *out, qsdc_error *err);
void model_free(model *m);
/* A copy of src with its own layers. */
int model_copy(const model *src, model *dst, qsdc_error *err);
/* Index of the layer called name, or -1. */
int model_find(const model *m, const char *name);
/* Whether the output layer (output:, else the last) is a softmax: the
 * model's outputs are probabilities. */
bool model_ends_in_softmax(const model *m);
/* Fills order[0..n_layers) with layer indices so that every layer comes
 * after the layers it reads; m must have loaded successfully (acyclic).
 * Fails only when out of memory. */
int model_topo_order(const model *m, int *order, qsdc_error *err);
const char *layer_kind_name(layer_kind k);
void train_config_defaults(train_config *t);
/* The schedule t's fields give. */
lr_schedule train_schedule(const train_config *t);
/* The step schedule's period: step_epochs, or when that is 0,
 * ceil(epochs / 3), so the rate drops twice over the run. */
int64_t lr_schedule_step_epochs(const lr_schedule *s);

#endif
