/* The data of a train: section in its format, checked against the model. */
#include "data.h"

#include <inttypes.h>

bool data_has_test(const train_config *t)
{
    if (t->format == DATA_SENTIMENT)
        return true;
    if (t->format == DATA_TEXT)
        return t->text_split[0] + t->text_split[1] < 1;
    return t->format == DATA_CIFAR10 ? t->test_file[0] != '\0' : t->test_images[0] != '\0';
}

static int load_cifar(const train_config *t, bool test, int64_t classes, dataset *out,
                      qsdc_error *err)
{
    const char *paths[QSDC_MAX_DATA_FILES];
    int n = test ? 1 : t->n_train_files;
    for (int i = 0; i < n; i++)
        paths[i] = test ? t->test_file : t->train_files[i];
    return cifar_load(paths, n, classes, out, err);
}

static int load_samples(const train_config *t, bool test, int64_t classes, int64_t elems,
                        dataset *out, qsdc_error *err)
{
    const char *samples = test ? t->test_images : t->train_images;
    const char *labels = test ? t->test_labels : t->train_labels;
    if (t->format == DATA_CIFAR10)
        return load_cifar(t, test, classes, out, err);
    if (t->format == DATA_NPY)
        return npy_load(samples, labels, out, err);
    if (t->format == DATA_TABLE)
        return table_load(samples, t->label_column, true, out, err);
    if (t->format == DATA_NPZ)
        return npz_load(samples, true, out, err);
    return idx_load(samples, labels, elems, out, err);
}

int dataset_check_labels(const dataset *d, const char *path, int64_t classes, qsdc_error *err)
{
    for (int64_t i = 0; i < d->count; i++)
        if (d->y[i] >= classes)
            return qsdc_fail(err, "%s: label %" PRId32 " of sample %" PRId64 " is outside the "
                             "model's %" PRId64 " classes", path, d->y[i], i, classes);
    return 0;
}

/* An image folder, its classes the training folder's. */
static int load_images(const train_config *t, bool test, int64_t classes,
                       const int64_t *shape, int rank, dataset *out, qsdc_error *err)
{
    const char *dir = test ? t->test_images : t->train_images;
    if (images_load(dir, t->train_images, shape, rank, out, err) < 0)
        return -1;
    int rc = dataset_check_labels(out, dir, classes, err);
    if (rc < 0)
        dataset_free(out);
    return rc;
}

int data_load(const train_config *t, bool test, int64_t classes, const int64_t *shape,
              int rank, dataset *out, qsdc_error *err)
{
    int64_t elems = 1;
    for (int i = 0; i < rank; i++)
        elems *= shape[i];
    if (t->format == DATA_SENTIMENT)
        return sentiment_dataset_load(t, test, classes, elems, out, err);
    if (t->format == DATA_IMAGES)
        return load_images(t, test, classes, shape, rank, out, err);
    const char *samples = t->format == DATA_CIFAR10 ? (test ? t->test_file : t->train_files[0])
                        : test ? t->test_images : t->train_images;
    bool joint = t->format == DATA_TABLE || t->format == DATA_NPZ;
    const char *labels = joint ? samples : test ? t->test_labels
                                                                  : t->train_labels;
    if (load_samples(t, test, classes, elems, out, err) < 0)
        return -1;
    int rc = dataset_fit_input(out, samples, shape, rank, t->layout, err);
    if (rc == 0 && t->format == DATA_IDX)
        rc = dataset_check(out, labels, classes, samples, elems, err);
    else if (rc == 0 && t->format != DATA_CIFAR10)
        rc = dataset_check_labels(out, labels, classes, err);
    if (rc < 0)
        dataset_free(out);
    return rc;
}
