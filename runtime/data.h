/* Data sets for training and evaluation: samples as float32 in [0, 1] and
 * integer labels. Loaders never crash on bad files: every problem is an
 * error naming the path and the byte offset (or sample index). */
#ifndef QSDC_DATA_H
#define QSDC_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "model.h"

typedef struct dataset {
    int64_t count;          /* samples */
    int rank;               /* dims of one sample */
    int64_t dims[4];
    int64_t sample_elems;   /* product of dims */
    float *x;               /* count * sample_elems, scaled to [0, 1] */
    int32_t *y;             /* count labels, or NULL */
    int32_t n_classes;      /* 1 + max label, 0 without labels */
    bool integers;          /* read from integers kept exact (token ids), not scaled */
    int label_bytes;        /* of each label in an IDX label file (0: 1), for offsets */
} dataset;

/* Reads IDX images (rank 2 to 4 counting the leading sample count: idx3
 * gives 28x28 samples, idx2 flat vectors; unsigned bytes scaled to [0, 1],
 * the other element types kept as they are) and, when labels_path is not
 * NULL, IDX labels (idx1, of an integer type). Both may be gzip-compressed or plain
 * (detected by content, not name); offsets in messages are offsets in the
 * uncompressed stream. Errors: missing or unreadable file, truncated data,
 * bad magic, a type IDX does not define (or float labels), a float that is
 * not finite, count mismatch between images and labels,
 * zero or absurd dimensions (over 4 GiB of data), data after the last
 * declared sample or after the gzip stream, and, decided by the headers
 * before any data is read, samples of other than want_elems elements (when
 * want_elems > 0) and data past data_max_bytes in memory. */
int idx_load(const char *images_path, const char *labels_path, int64_t want_elems,
             dataset *out, qsdc_error *err);
/* Checks each sample has want_elems elements and every label is in
 * [0, classes); the error names the path and the first bad index, with its
 * byte offset in an idx1 label file. */
int dataset_check(const dataset *d, const char *labels_path, int64_t classes,
                  const char *images_path, int64_t want_elems, qsdc_error *err);
/* Checks every label is below classes, naming path and the first bad
 * sample (IDX labels: dataset_check names their offsets; CIFAR's:
 * cifar_load). */
int dataset_check_labels(const dataset *d, const char *path, int64_t classes,
                         qsdc_error *err);
void dataset_free(dataset *d);
/* dims[rank] as "28x28" into buf. */
void dataset_format_shape(const int64_t *dims, int rank, char *buf, size_t len);

/* Reads CIFAR-10 binary files (records of one label byte, 0 to 9, then 3072
 * pixel bytes: the red, green and blue 32x32 planes) into one data set of
 * [3, 32, 32] samples, in file order. Errors name the path and the byte
 * offset: missing, unreadable or empty file, a size that is not a whole
 * number of records (the partial record's offset), a label above 9 or not
 * below classes (its record's offset). */
int cifar_load(const char *const *paths, int n_paths, int64_t classes, dataset *out,
               qsdc_error *err);

/* .npy samples (float32, float64 and uint8, scaled to [0, 1]; int32 and
 * int64 kept as exact floats) and, when labels_path is not NULL, .npy
 * labels (uint8, int32 or int64, one per sample). Errors name the path and
 * the offset. */
int npy_load(const char *x_path, const char *labels_path, dataset *out, qsdc_error *err);
/* The same from .npy files read into memory (x, and y when labels_name is
 * not NULL); the names stand for their paths in errors. */
int npy_load_bytes(const char *x_name, const unsigned char *x, size_t x_len,
                   const char *labels_name, const unsigned char *y, size_t y_len, dataset *out,
                   qsdc_error *err);
/* An .npz archive (numpy.savez): the samples are its array x, else arr_0
 * (savez's first positional array), read as npy_load reads a .npy; the
 * labels its array y, else arr_1, when it holds one (it must when
 * need_labels). Errors name PATH:MEMBER.npy and the offset in the member. */
int npz_load(const char *path, bool need_labels, dataset *out, qsdc_error *err);
/* One PNG image (name stands for its path in errors) into chw[0] x chw[1]
 * x chw[2] floats in [0, 1], channels first: grey for one channel, colour
 * for three, transparency composited onto black. Another size or channel
 * count is an error naming both shapes. */
int png_read_sample(const char *name, const unsigned char *b, size_t len,
                    const int64_t chw[3], float *out, qsdc_error *err);
/* An image folder (data_images.c): dir/CLASS/NAME.png, the classes those of
 * classes_dir (the training folder) by name, each image a sample of the
 * model's input shape[rank] ([C, H, W] with 1 or 3 channels, or [H, W]) as
 * png_read_sample reads it. */
int images_load(const char *dir, const char *classes_dir, const int64_t *shape, int rank,
                dataset *out, qsdc_error *err);
/* A numeric CSV: a header naming the columns, then rows of numbers; the
 * column named label holds class ids (required when need_labels), the
 * others are the features of a flat sample, kept unscaled. */
int table_load(const char *path, const char *label, bool need_labels, dataset *out,
               qsdc_error *err);
/* Checks d's sample shape against the model's input shape[rank] (data_shape.c
 * has the rule) and takes it as d's, transposing [H, W, C] samples to
 * [C, H, W] with LAYOUT_NHWC. The error names path and both shapes. */
int dataset_fit_input(dataset *d, const char *path, const int64_t *shape, int rank,
                      data_layout layout, qsdc_error *err);

/* The training (test false) or test data of a train: section, in its
 * format, fitted to the model's input shape[rank] and checked to have
 * labels below classes. */
int data_load(const train_config *t, bool test, int64_t classes, const int64_t *shape,
              int rank, dataset *out, qsdc_error *err);
/* The training (test false) or test rows of a sentiment CSV (format:
 * sentiment) as samples of `steps` token ids, padded at the end with
 * QSDC_PAD_ID, labels 0 negative and 1 positive. Fails when the model has
 * fewer than 2 classes. */
int sentiment_dataset_load(const train_config *t, bool test, int64_t classes,
                           int64_t steps, dataset *out, qsdc_error *err);
/* Writes dir/vocab.txt for a text model training on t's data (format text
 * or sentiment; samples of `steps` tokens): the vocabulary and tokeniser
 * settings its training data were read with. */
int vocab_file_save_for(const train_config *t, int64_t steps, const char *dir,
                        qsdc_error *err);
/* Raw text, one text per line, as samples of `steps` token ids (integers),
 * tokenised with the vocabulary saved in vocab_dir as training tokenised
 * its data. Errors: no or a damaged vocabulary, invalid UTF-8
 * (path:line:col), a line without tokens (path:line and offset). */
int text_lines_load(const char *path, const char *vocab_dir, int64_t steps, dataset *out,
                    qsdc_error *err);
/* The most bytes a data set may take in memory: QSDC_MAX_DATA_MIB MiB,
 * 4096 MiB when unset; an invalid value is an error. */
int data_max_bytes(uint64_t *out, qsdc_error *err);
/* Fails, naming path and what the data are, when count items of item_bytes
 * each need more than data_max_bytes in memory. */
int data_check_size(const char *path, uint64_t count, uint64_t item_bytes,
                    const char *what, qsdc_error *err);
/* fs_read_file_max bounded by data_max_bytes, for data read whole. */
int data_read_file(const char *path, unsigned char **data, size_t *len, qsdc_error *err);
/* Whether the train: section names test data (a text corpus: whether its
 * split leaves test lines). */
bool data_has_test(const train_config *t);

#endif
