/* qsdc: a graph compiler and OpenCL runtime for training neural networks
 * regularised with Quantal Synaptic Dilution. The one public header; every
 * name it declares starts with qsdc_, and libqsdc.so exports nothing else.
 * docs/api.md walks through it; examples/predict.c is a whole program.
 *
 *   qsdc_error err;
 *   qsdc_model *m;
 *   if (qsdc_model_load("model.yaml", &m, &err) < 0) { puts(err.message); ... }
 *   qsdc_train_options o = {.epochs = 5, .checkpoint_dir = "ckpt"};
 *   qsdc_train_result r;
 *   if (qsdc_train(m, &o, &r, &err) < 0) ...
 *   qsdc_model_free(m);
 */
#ifndef QSDC_H
#define QSDC_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QSDC_VERSION "0.1.0"

/* Marks what libqsdc.so exports: the library is built with
 * -fvisibility=hidden, so everything else stays inside it. */
#if defined(__GNUC__)
#define QSDC_API __attribute__((visibility("default")))
#else
#define QSDC_API
#endif

/* Errors are values: every fallible call returns 0 or -1 and fills this. The
 * message names its origin: "path:line:col: error: ..." for model files,
 * "path: offset N: ..." for data files, "clCall: CL_ERROR_NAME" for OpenCL. */
typedef struct qsdc_error {
    char message[1024];
} qsdc_error;

/* A parsed and validated model file. */
typedef struct qsdc_model qsdc_model;

/* path: a model file, or a bundle folder (qsdc MODEL.yaml -o DIR), whose
 * model.yaml is read. */
QSDC_API int qsdc_model_load(const char *path, qsdc_model **out, qsdc_error *err);
QSDC_API void qsdc_model_free(qsdc_model *m);

typedef struct qsdc_model_info {
    char name[64];
    int n_layers;
    int language_model;  /* trained on a text corpus (data format text): scored by
                            perplexity, its samples are sequences of tokens */
    int has_test_data;   /* its train: section names test data */
    int64_t batch, epochs;
    uint64_t seed;
    int has_validation;  /* scored on a validation split as it trains: val_split > 0, or
                            a language model's corpus (its validation split) */
} qsdc_model_info;

QSDC_API int qsdc_model_get_info(const qsdc_model *m, qsdc_model_info *out, qsdc_error *err);

/* What one mask multiplier of a dropout or qsd layer covers. */
enum { QSDC_SHARE_ELEMENT, QSDC_SHARE_CHANNEL, QSDC_SHARE_TIME };
/* Where a qsd layer's heterogeneity lies: in each draw (QSD.md's model), or
 * in each unit, shared by the batch (hetero: unit, the author's draft). */
enum { QSDC_HETERO_ELEMENT, QSDC_HETERO_UNIT };

/* Below this release probability the masks' uniforms (steps of 2^-24) no
 * longer give a mean of 1. */
#define QSDC_QSD_MIN_P 0x1.0p-24

/* QSD.md's parameters of a mask; dropout with keep probability p is sites 1,
 * q_cv 0, homogeneous. */
typedef struct qsdc_qsd_params {
    double p;                /* release (keep) probability, [QSDC_QSD_MIN_P, 1] */
    int sites;               /* n >= 1 */
    double q_cv;             /* v >= 0 */
    double p_concentration;  /* c > 0, or 0: homogeneous */
    int share;               /* QSDC_SHARE_* */
    int hetero;              /* QSDC_HETERO_* */
    double anneal;           /* s >= 0 (hetero unit, c > 0): c grows as c (1 + s step) */
} qsdc_qsd_params;

typedef struct qsdc_layer_info {
    char name[64];
    char op[24];             /* as model files name it: "dense", "relu", "qsd", ... */
    char input[64];          /* the layer it reads (its first), "" for the model's input */
    qsdc_qsd_params qsd;     /* dropout and qsd layers: their masks' */
} qsdc_layer_info;

/* m's layers in file order into out (the first cap of them). Returns their
 * number, or -1. */
QSDC_API int qsdc_model_layers(const qsdc_model *m, qsdc_layer_info *out, int cap,
                               qsdc_error *err);

typedef struct qsdc_layer_summary {
    char name[64];
    char op[24];             /* as model files name it */
    int rank;                /* dims of one sample's output */
    int64_t shape[4];        /* its output shape, without the batch */
    int64_t params;          /* trainable parameters (floats) */
    int64_t stats;           /* running statistics (batchnorm's), kept but not trained */
} qsdc_layer_summary;

/* m's layers in file order with their output shapes and parameter counts,
 * as the compiler lowers them (no device), into out (the first cap of
 * them). Returns their number, or -1. */
QSDC_API int qsdc_model_summary(const qsdc_model *m, qsdc_layer_summary *out, int cap,
                                qsdc_error *err);

/* Overrides m's train: settings with those of the mapping under key at the
 * top level of the YAML file path, checked as a model file's train: section
 * (relative data paths resolve against path's folder; errors name
 * path:line:col). Without the key m stays as it is. */
QSDC_API int qsdc_model_override_train(qsdc_model *m, const char *path, const char *key,
                                       qsdc_error *err);

enum { QSDC_REG_NONE, QSDC_REG_DROPOUT, QSDC_REG_QSD };

/* A copy of m with every dropout and qsd layer removed (QSDC_REG_NONE: what
 * read one reads its input), or made a dropout (QSDC_REG_DROPOUT) or qsd
 * layer (QSDC_REG_QSD) with q's parameters (q may be NULL for none); each
 * layer keeps its own share. Free it with qsdc_model_free. */
QSDC_API int qsdc_model_regularised(const qsdc_model *m, int kind, const qsdc_qsd_params *q,
                                    qsdc_model **out, qsdc_error *err);

/* What training m depends on, as lines of text: its input, layers with
 * their settings, data and optimiser; two models with the same text train
 * alike. *out: the text, to free(). */
QSDC_API int qsdc_model_describe(const qsdc_model *m, char **out, qsdc_error *err);

/* Writes the compiled bundle (kernels.cl, plan.yaml, graph.dot, and with
 * training also train.cl) to dir, atomically. batch 0: the model's. */
QSDC_API int qsdc_compile(const qsdc_model *m, const char *dir, int64_t batch, int training,
                          qsdc_error *err);

typedef struct qsdc_compile_options {
    int64_t batch;       /* compiled in; 0: the model's */
    int training;        /* also the training step (train.cl) */
    const char *device;  /* specialise the kernels for this device (as
                            qsdc_train_options.device names one); NULL: for a CPU with
                            8-wide vectors, or with emit_binary the default device */
    int emit_binary;     /* also build the programs for the device and store their
                            binaries (kernels.bin, train.bin) */
    FILE *graph_out;     /* NULL, or where to print the graph IR with shapes */
} qsdc_compile_options;

typedef struct qsdc_plan_summary {
    int nodes, kernels;             /* graph nodes before fusion, kernels after */
    int64_t arena_bytes;            /* the activations' arena, memory-planned */
    int64_t arena_unplanned_bytes;  /* the same without planning: a slot per tensor */
    int64_t memory_bytes;           /* device memory: parameters, gradients, optimiser
                                       state, arena and labels */
    int64_t memory_bound_bytes;     /* its lower bound: the same allocations with only
                                       the activations live at once in the arena */
    char binary[16];                /* emit_binary: the binary's file in the bundle */
} qsdc_plan_summary;

typedef struct qsdc_bundle_info {
    char dir[1024];                 /* the folder written */
    char model[64];                 /* the model's name */
    int layers;
    int64_t params, batch;          /* parameters (floats) and the batch compiled in */
    int n_plans;                    /* 1, or 2 with training */
    qsdc_plan_summary plans[2];     /* inference, then training */
    char device[256];               /* the device compiled for, "" for none */
} qsdc_bundle_info;

/* qsdc_compile with options (o may be NULL), which also stores the model's
 * text in dir as model.yaml, so that a session, qsdc_train and the qsdc
 * commands run from the folder. dir NULL: NAME.qsdc, NAME the model's. */
QSDC_API int qsdc_compile_bundle(const qsdc_model *m, const char *dir,
                                 const qsdc_compile_options *o, qsdc_bundle_info *out,
                                 qsdc_error *err);

/* Measures every conv2d layer of m as a direct convolution and as im2col +
 * GEMM, and every GEMM shape of its training and inference passes at batch
 * (0: the model's) with the generated kernels and with CLBlast on device
 * (NULL: the default), and caches the faster choices per device: training
 * and inference then use them (untuned, a shape is measured the first time
 * it is met). Prints a heading and the times to report (may be NULL). */
QSDC_API int qsdc_tune(const qsdc_model *m, const char *device, int64_t batch, FILE *report,
                       qsdc_error *err);

/* The OpenCL devices, one per line as `qsdc devices` prints them, written to
 * buf (truncated to cap). Returns the number of devices, or -1. */
QSDC_API int qsdc_list_devices(char *buf, size_t cap, qsdc_error *err);

typedef struct qsdc_device_info {
    int index;                /* its index as a device spec */
    char name[256], vendor[128], version[128], platform[128];
    char type[16];            /* "cpu", "gpu", "accelerator", "custom" or "other" */
    unsigned compute_units;
    uint64_t memory_bytes;    /* global memory */
    int is_default;           /* the one a NULL device spec picks */
} qsdc_device_info;

/* Every OpenCL device of every platform, in index order, into out (the
 * first cap of them). Returns their number; -1 also when there is none (the
 * message then says how to install one). */
QSDC_API int qsdc_get_devices(qsdc_device_info *out, int cap, qsdc_error *err);

typedef struct qsdc_train_options {
    const char *device;          /* index, "cpu", "gpu" or part of a name; NULL: default */
    int64_t epochs, batch;       /* 0: the model's */
    int seed_set;
    uint64_t seed;
    double lr;                   /* 0: the model's */
    const char *checkpoint_dir;  /* NULL: no checkpoints */
    int resume;
    const char *metrics_path;    /* NULL: none */
    int64_t max_steps;           /* 0: no limit */
    int quiet;                   /* no progress bar */
    int check_finite;            /* stop at the first NaN or Inf, naming the node,
                                    op and step (qsdc train --check-finite) */
    const char *devices;         /* NULL, or devices "D,D..." (each as device takes one):
                                    data parallel, each on its shard of every batch (their
                                    count must divide it); not with device */
    volatile sig_atomic_t *stop; /* NULL, or a flag (a signal handler's) that, once
                                    nonzero, stops the run after the current step, saved
                                    to checkpoint_dir and resumable exactly */
    int64_t train_samples;       /* train on the first N samples of the training data
                                    (a language model: sequences); 0: all */
    int64_t test_samples;        /* and test on the first N; 0: all */
    int64_t train_subset;        /* train on N samples drawn at random, keyed by the seed,
                                    from the training data (its first train_samples when
                                    set), the validation split taken from them; 0: all.
                                    Not for a language model */
    int keep_existing;           /* refuse a checkpoint_dir that already holds a
                                    checkpoint unless resuming (qsdc train without
                                    --overwrite); 0: start over in it */
    int64_t early_stop;          /* stop once this many epochs in a row have not bettered
                                    the best validation score (accuracy; a language model:
                                    perplexity); 0: never. Needs a validation split */
    int keep_best;               /* also save the best validation epoch's checkpoint in
                                    checkpoint_dir/best (needs checkpoint_dir and a
                                    validation split) */
    int64_t metrics_every;       /* also a metrics_path line every this many steps;
                                    0: only each epoch's */
} qsdc_train_options;

typedef struct qsdc_train_result {
    int64_t epochs_done, steps;
    double train_loss, val_accuracy, test_accuracy; /* accuracies in percent */
    double seconds, samples_per_s;
    int interrupted;             /* stopped early by *stop or a fit progress callback */
    int64_t train_samples;       /* of the training data (validation included) and */
    int64_t test_samples;        /* of the test data; a language model's: sequences */
    double test_perplexity;      /* a language model's after the last epoch (NaN when its
                                    test split holds no batch), else 0 */
} qsdc_train_result;

/* Trains with the model's train: section, overridden by o (may be NULL).
 * A model loaded from a bundle trains on the bundle's plans and program
 * binaries. Under mpirun -np N each rank trains on its shard of every batch
 * and the gradients are summed across ranks each step; rank 0 alone prints,
 * writes metrics and checkpoints. */
QSDC_API int qsdc_train(qsdc_model *m, const qsdc_train_options *o, qsdc_train_result *out,
                        qsdc_error *err);
/* This process's rank as mpirun's environment gives it, 0 outside mpirun:
 * for a program to quieten the ranks above 0 before training. */
QSDC_API int qsdc_launch_rank(void);

/* ---- Sessions --------------------------------------------------------
 * A session is one model on one OpenCL device: its compiled inference plan
 * (and, from the first training call, its training plan), the programs
 * built for them and the weights, which stay on the device. Predictions and
 * evaluations run the compiled plan there. Every call returns 0 or -1 and
 * fills err (which may be NULL); qsdc_session_last_error keeps the message
 * too. A session is not thread-safe: use one per thread.
 *
 *   qsdc_open_options o = {.device = "cpu", .checkpoint = "ckpt"};
 *   qsdc_session *s;
 *   if (qsdc_session_open("model.yaml", &o, &s, &err) < 0) { puts(err.message); ... }
 *   float probs[10];
 *   if (qsdc_session_predict(s, image, 784, 1, probs, 10, &err) < 0) ...
 *   qsdc_session_close(s);
 */
typedef struct qsdc_session qsdc_session;

typedef struct qsdc_open_options {
    const char *device;      /* index, "cpu", "gpu" or part of a name (as qsdc_list_devices
                                lists them); NULL: the first GPU, else the first CPU */
    const char *checkpoint;  /* a checkpoint folder (qsdc train --checkpoint DIR, or
                                qsdc_session_save) to take the weights from; NULL: the
                                session has no weights until it loads, initialises or
                                trains them */
    int64_t batch;           /* samples per pass of the device plans; 0: the model's */
    const char *program_binary; /* NULL, or a program binary built for the device (qsdc
                                   MODEL.yaml --emit-binary) to load the inference kernels
                                   from instead of building them */
    int profiling;           /* time kernel launches: qsdc_session_profile needs it */
} qsdc_open_options;

/* model: a model file (model.yaml), a bundle folder (qsdc MODEL.yaml -o
 * DIR: its plans and program binaries are used), or an ONNX model (a path
 * ending in .onnx: an MLP or CNN of Gemm, MatMul, Add, Conv, MaxPool,
 * AveragePool, GlobalAveragePool, BatchNormalization, Relu, Tanh, Sigmoid,
 * Softmax, Flatten or Reshape to [batch, -1], Identity, Dropout, Pad of
 * zero width and Constant nodes, imported with its weights; another op is an error naming
 * the node and the op). o may be NULL. */
QSDC_API int qsdc_session_open(const char *model, const qsdc_open_options *o,
                               qsdc_session **out, qsdc_error *err);
/* The same on a model loaded (or made by qsdc_model_regularised) before;
 * the session keeps a copy of it. */
QSDC_API int qsdc_session_open_model(const qsdc_model *m, const qsdc_open_options *o,
                                     qsdc_session **out, qsdc_error *err);
QSDC_API void qsdc_session_close(qsdc_session *s);
/* The message of the session's last call: "" when it succeeded. */
QSDC_API const char *qsdc_session_last_error(const qsdc_session *s);

typedef struct qsdc_session_info {
    char model[64];               /* the model's name */
    char device[256], platform[128];
    int input_rank;               /* dims of one sample */
    int64_t input_shape[4];
    int64_t input_size;           /* floats per sample: the product of input_shape */
    int64_t output_size;          /* floats of output per sample: a classifier's classes */
    int output_is_probabilities;  /* 1 when the model ends in softmax, else 0 (logits) */
    int64_t batch;                /* samples per device pass */
    int64_t n_params;             /* floats in the parameter allocation */
    int has_weights;
    int64_t steps;                /* optimiser steps behind the weights (0: initialised) */
    uint64_t seed;                /* the model's seed (train: seed), or the seed of
                                     the qsdc_session_train run that set the weights
                                     (its data splits are that seed's) */
    char program[16];             /* how the inference program was made: "built", "from
                                     cache" or "from binary" */
} qsdc_session_info;

QSDC_API int qsdc_session_get_info(qsdc_session *s, qsdc_session_info *out, qsdc_error *err);

typedef struct qsdc_kernel_info {
    char name[64];        /* the kernel */
    char nodes[256];      /* the graph nodes it runs */
    double flops, bytes;  /* per launch: GEMM floating-point operations, else bytes moved */
} qsdc_kernel_info;

/* The launches of one pass of the session's inference plan, in order, into
 * out (the first cap of them). Returns their number, or -1. */
QSDC_API int qsdc_session_kernels(qsdc_session *s, qsdc_kernel_info *out, int cap,
                                  qsdc_error *err);

typedef struct qsdc_profile_options {
    int64_t steps;   /* timed steps, after one untimed warm-up; 0: 10 */
    int alone;       /* also each kernel's best time in a step and alone */
} qsdc_profile_options;

typedef struct qsdc_kernel_profile {
    qsdc_kernel_info kernel;
    double ms;        /* its time over all the timed steps */
    double best_ms;   /* alone: its best time in one step */
    double alone_ms;  /* alone: its best of 20 launches in a row on the step's buffers */
} qsdc_kernel_profile;

/* Times the launches of training steps of the session's model at its batch,
 * on parameters seeded from the model's seed and a synthetic batch (an
 * int32 input: token ids drawn from the first embedding's vocabulary), apart
 * from the session's weights. The session must be open with profiling.
 * Returns the number of launches, their times in *out (an array to free()),
 * or -1. */
QSDC_API int qsdc_session_profile(qsdc_session *s, const qsdc_profile_options *o,
                                  qsdc_kernel_profile **out, qsdc_error *err);

/* Weights: seeded initialisation (what training starts from; qsdc train
 * uses the model's seed, qsdc_session_info.seed), or the parameters of a
 * checkpoint folder, which must have been written for this model. save
 * writes DIR/checkpoint.bin (creating DIR) in the format qsdc train writes,
 * so `qsdc eval MODEL --checkpoint DIR` reads it too. */
QSDC_API int qsdc_session_init_weights(qsdc_session *s, uint64_t seed, qsdc_error *err);
QSDC_API int qsdc_session_load(qsdc_session *s, const char *dir, qsdc_error *err);
QSDC_API int qsdc_session_save(qsdc_session *s, const char *dir, qsdc_error *err);

/* Trains as qsdc_train does, on the model's train: data with its epochs,
 * schedule, validation split and augmentation (o may be NULL), on the
 * session's device (o->device must be NULL or the session's), starting from
 * the session's weights when it has them (the optimiser state from zero),
 * else from the seeded initialisation, or with o->resume from the
 * checkpoint in o->checkpoint_dir. The trained weights stay in the session;
 * a run stopped by o->stop leaves the session's weights as they were (the
 * step reached is in the checkpoint). Prints progress and one line per
 * epoch to stdout as qsdc_train does. */
QSDC_API int qsdc_session_train(qsdc_session *s, const qsdc_train_options *o,
                                qsdc_train_result *out, qsdc_error *err);

typedef struct qsdc_fit_options {
    int64_t epochs;     /* passes over the samples; 0: 1 */
    double lr;          /* base learning rate; 0: the model's (its schedule runs over
                           these epochs) */
    int seed_set;
    uint64_t seed;      /* of the shuffles and QSD masks; default: the model's seed */
    int64_t max_steps;  /* stop after this many optimiser steps; 0: no limit */
    /* NULL, or called after every step, for a progress bar: the epoch
     * (from 0), the steps done in it of steps_per_epoch and their mean
     * loss; a non-zero return stops training there (out->interrupted). */
    int (*progress)(void *ctx, int64_t epoch, int64_t step, int64_t steps_per_epoch,
                    double loss);
    void *progress_ctx;
} qsdc_fit_options;

/* Trains a classifier on n caller samples: x holds n * input_size floats
 * (x_len at least that), labels n classes in [0, output_size). Each epoch
 * shuffles the samples and runs n / batch steps of the model's optimiser
 * (the rest of the samples wait for the next shuffle); n must be at least
 * one batch. Starts from the session's weights, or from the model's seeded
 * initialisation when it has none; the optimiser state carries over from
 * call to call. out (may be NULL): steps, epochs and the last epoch's mean
 * loss; the accuracies are 0 (not measured). */
QSDC_API int qsdc_session_train_arrays(qsdc_session *s, const float *x, size_t x_len,
                                       const int32_t *labels, int64_t n,
                                       const qsdc_fit_options *o, qsdc_train_result *out,
                                       qsdc_error *err);

typedef struct qsdc_eval_result {
    int64_t count, correct;  /* samples (a language model: tokens) and correct ones */
    double accuracy;         /* percent */
    double loss;             /* mean cross-entropy, -ln p(label), with p the softmax of the
                                outputs when the model does not end in softmax */
    double perplexity;       /* a language model's on its test split, else 0 */
    double seconds;
} qsdc_eval_result;

/* Scores the weights on the model's test data (train: data ...test...):
 * accuracy and loss, or a language model's perplexity. */
QSDC_API int qsdc_session_evaluate(qsdc_session *s, qsdc_eval_result *out, qsdc_error *err);
/* The same on n caller samples (x and labels as in qsdc_session_train_arrays). */
QSDC_API int qsdc_session_evaluate_arrays(qsdc_session *s, const float *x, size_t x_len,
                                          const int32_t *labels, int64_t n,
                                          qsdc_eval_result *out, qsdc_error *err);
/* The same on a data file and its labels, read as qsdc_session_load_data
 * reads them (IDX, .npy, CSV; a text model: token ids or raw text); without
 * labels (NULL) only count and seconds are measured. */
QSDC_API int qsdc_session_evaluate_idx(qsdc_session *s, const char *images, const char *labels,
                                       qsdc_eval_result *out, qsdc_error *err);
/* The model's outputs for n samples (x: n * input_size floats, x_len at
 * least that) into out (out_len at least n * output_size floats), sample
 * after sample: class probabilities when the model ends in softmax, else
 * its raw outputs. */
QSDC_API int qsdc_session_predict(qsdc_session *s, const float *x, size_t x_len, int64_t n,
                                  float *out, size_t out_len, qsdc_error *err);

/* ---- Taking a model elsewhere ------------------------------------------
 * The session's model and weights for other frameworks, and weights back
 * from them. Files are written atomically. */

/* The inference graph as a standard ONNX model (opset 13) with the weights
 * as initializers named by layer: dense as Gemm (MatMul and Add over a
 * sequence), conv2d, pools, batchnorm with its running statistics,
 * activations, flatten, softmax, add, embedding (Gather), lstm (LSTM) and
 * sequence pooling; dropout and qsd, the identity at inference, are left
 * out. Its input is "input" ([batch, ...] float32, or int32 token ids, whose
 * padding id -1 may only end a sequence), its output the output layer's
 * name. A stateful lstm starts every batch from zero state. */
QSDC_API int qsdc_session_export_onnx(qsdc_session *s, const char *path, qsdc_error *err);
/* Every parameter as a float32 array in a NumPy .npz (a stored zip of .npy
 * files) under PyTorch's names and layouts: LAYER.weight ([out, in] for
 * dense, [out, in, kh, kw] for conv2d, [vocab, dim] for embedding),
 * LAYER.bias; batchnorm's LAYER.weight, .bias, .running_mean, .running_var;
 * lstm's LAYER.weight_ih_l0 [4H, in], .weight_hh_l0 [4H, H], .bias_ih_l0
 * and .bias_hh_l0 (zeros), gates in PyTorch's i, f, g, o order: the
 * state_dict of the equivalent torch.nn model. */
QSDC_API int qsdc_session_export_npz(qsdc_session *s, const char *path, qsdc_error *err);
/* The session's weights from such an .npz (numpy.savez or savez_compressed
 * of a state_dict too): every parameter's array by name, its shape checked
 * (an error names the array and both shapes); lstm biases bias_ih_l0 and
 * bias_hh_l0 are summed into qsdc's one; an array that names no parameter
 * is an error (batchnorm's num_batches_tracked aside). The weights are then
 * these, at step 0, with no optimiser state. */
QSDC_API int qsdc_session_import_npz(qsdc_session *s, const char *path, qsdc_error *err);

/* ---- Inside a trained model -------------------------------------------
 * What the experiment lab measures of a session's weights: the activity of
 * the hidden layers on the test data, the parameter tensors, and masks
 * drawn as training draws them. */

typedef struct qsdc_activations {
    int layer;             /* which hidden layer (relu, tanh, sigmoid), 0, 1, ... */
    const char *name;      /* its name in the model */
    int64_t units;         /* floats per sample */
    int64_t first, count;  /* of samples [first, first + count) ... */
    int64_t total;         /* ... of the total observed */
    const float *x;        /* count * units activations, sample after sample */
} qsdc_activations;

/* Called per batch and hidden layer; returns 0, or -1 with err filled to
 * stop the pass. */
typedef int (*qsdc_activations_fn)(void *ctx, const qsdc_activations *a, qsdc_error *err);

/* Scores the first n samples (0: all) of the model's test data as
 * qsdc_session_evaluate does, through a plan that keeps the hidden layers'
 * activations, and hands every batch's to fn (may be NULL). Classifiers
 * only. */
QSDC_API int qsdc_session_observe(qsdc_session *s, int64_t n, qsdc_activations_fn fn,
                                  void *ctx, qsdc_eval_result *out, qsdc_error *err);

/* Called per parameter tensor: its name ("dense1.weight") and n values. */
typedef int (*qsdc_tensor_fn)(void *ctx, const char *name, const float *v, int64_t n,
                              qsdc_error *err);

/* Hands each parameter tensor of the session's weights to fn, in the
 * plan's order; a stateful lstm's carried state is not a parameter. */
QSDC_API int qsdc_session_weights(qsdc_session *s, qsdc_tensor_fn fn, void *ctx,
                                  qsdc_error *err);

/* n draws into out of the mask multiplier of the model's dropout or qsd
 * layer `layer`, as a training step with seed draws them for its first n
 * elements (kernels/qsd.cl's qsd_mask at step 0), on the session's device. */
QSDC_API int qsdc_session_sample_masks(qsdc_session *s, const char *layer, uint64_t seed,
                                       int64_t n, float *out, qsdc_error *err);

/* ---- Data files ------------------------------------------------------ */

typedef struct qsdc_data {
    int64_t count;        /* samples */
    int64_t sample_size;  /* floats per sample */
    float *x;             /* count * sample_size, bytes scaled to [0, 1] as training sees them */
    int32_t *labels;      /* count labels, or NULL */
} qsdc_data;

/* Reads IDX images (uint8; gzip-compressed or plain) and, when labels is
 * not NULL, their IDX labels, as qsdc train reads them. Free with
 * qsdc_data_free. */
QSDC_API int qsdc_data_load_idx(const char *images, const char *labels, qsdc_data *out,
                                qsdc_error *err);
QSDC_API void qsdc_data_free(qsdc_data *d);

/* How image samples are stored: AUTO as the model's train: data: layout
 * says (none: as its input shape, channels first), NCHW as the input
 * shape, NHWC height-width-channel, transposed to the model's [C, H, W] on
 * load. */
enum { QSDC_LAYOUT_AUTO, QSDC_LAYOUT_NCHW, QSDC_LAYOUT_NHWC };

typedef struct qsdc_data_options {
    const char *labels;        /* NULL, or the samples' labels: IDX or .npy (a CSV's labels
                                  are its label column) */
    const char *label_column;  /* a CSV's label column; NULL: "label" (optional here) */
    int layout;                /* QSDC_LAYOUT_* */
} qsdc_data_options;

/* Reads a data file of samples for the session's model, chosen by its name:
 * .npy (float32, float64, uint8 scaled to [0, 1], or int32/int64 token
 * ids), .npz (numpy.savez: the samples its array x or arr_0, read as a
 * .npy, the labels its array y or arr_1 when present), .csv (numeric, a header row; floats kept as they are), .txt (a text
 * model's raw text, one text per line, tokenised as training tokenised it
 * with the vocabulary saved in the session's checkpoint), a folder (PNG
 * images in one sub-folder per class), anything else IDX
 * (every element type; gzip-compressed or plain). The samples' shape is
 * checked dimension by dimension against the model's input (an error names
 * both shapes). A text model takes only token ids (an integer .npy) or raw
 * text. A model trained with standardize: true has the samples
 * standardised with the statistics saved in the session's checkpoint (an
 * error without one). o may be NULL. Free with qsdc_data_free. */
QSDC_API int qsdc_session_load_data(qsdc_session *s, const char *path,
                                    const qsdc_data_options *o, qsdc_data *out,
                                    qsdc_error *err);

/* The model's test data (its train: section's test files) as
 * qsdc_session_load_data reads a file: what qsdc_session_evaluate scores.
 * A language model's test data is a corpus, not samples: an error. Free
 * with qsdc_data_free. */
QSDC_API int qsdc_session_load_test_data(qsdc_session *s, qsdc_data *out, qsdc_error *err);

/* Writes n rows of `outputs` floats (qsdc_session_predict's out) to path,
 * atomically, in the format its name ends with: .npy, a float32 [n,
 * outputs] array; .csv, a header "class,p0,p1,..." (with probabilities 0,
 * else "class,y0,y1,...": raw outputs) and per row the class id (the
 * largest output's index, the first on a tie) then the outputs. */
QSDC_API int qsdc_predictions_write(const char *path, const float *out, int64_t n,
                                    int64_t outputs, int probabilities, qsdc_error *err);
/* The same for outputs that are a sequence (a language model's): each row
 * holds steps x classes outputs, step after step, and a CSV's class column
 * holds the class of every step (its largest output, the first on a tie),
 * separated by spaces ("12 5 7"). steps 1 is qsdc_predictions_write. */
QSDC_API int qsdc_predictions_write_steps(const char *path, const float *out, int64_t n,
                                          int64_t steps, int64_t classes, int probabilities,
                                          qsdc_error *err);

/* ---- Scoring predictions --------------------------------------------- */

/* Counts n predictions of a classifier by true and predicted class into
 * counts[label * classes + predicted] (zeroed first; counts_len at least
 * classes * classes). outputs: n rows of `classes` floats (qsdc_session_predict's
 * out); a row predicts its largest output's index, the first on a tie (the
 * class column of qsdc_predictions_write). labels: n classes in [0, classes). */
QSDC_API int qsdc_confusion_matrix(const float *outputs, int64_t n, int64_t classes,
                                   const int32_t *labels, int64_t *counts, size_t counts_len,
                                   qsdc_error *err);

typedef struct qsdc_class_score {
    int64_t support;    /* samples of the class: its row of the matrix */
    int64_t predicted;  /* samples predicted as the class: its column */
    int64_t correct;    /* both: the diagonal */
    double precision;   /* correct / predicted, 0 when nothing is predicted as it */
    double recall;      /* correct / support, 0 when it has no samples */
    double f1;          /* 2 precision recall / (precision + recall), 0 when both are 0 */
} qsdc_class_score;

/* Per-class scores of a confusion matrix (qsdc_confusion_matrix's) into
 * out[0..classes), and in out[classes] their macro averages: the means of
 * precision, recall and f1 over all classes, with the total support,
 * predicted and correct (out_len at least classes + 1). */
QSDC_API int qsdc_class_scores(const int64_t *counts, int64_t classes, qsdc_class_score *out,
                               size_t out_len, qsdc_error *err);

#ifdef __cplusplus
}
#endif
#endif
