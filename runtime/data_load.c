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

int data_load(const train_config *t, bool test, int64_t classes, int64_t sample_elems,
              dataset *out, qsdc_error *err)
{
    if (t->format == DATA_SENTIMENT)
        return sentiment_dataset_load(t, test, classes, sample_elems, out, err);
    if (t->format == DATA_CIFAR10) {
        const char *paths[QSDC_MAX_DATA_FILES];
        int n = test ? 1 : t->n_train_files;
        for (int i = 0; i < n; i++)
            paths[i] = test ? t->test_file : t->train_files[i];
        if (cifar_load(paths, n, classes, out, err) < 0)
            return -1;
        if (out->sample_elems == sample_elems)
            return 0;
        dataset_free(out);
        return qsdc_fail(err, "%s: CIFAR-10 samples are 3x32x32 (3072 elements) but the "
                         "model expects %" PRId64 " elements per sample", paths[0],
                         sample_elems);
    }
    const char *images = test ? t->test_images : t->train_images;
    const char *labels = test ? t->test_labels : t->train_labels;
    if (idx_load(images, labels, sample_elems, out, err) < 0)
        return -1;
    if (dataset_check(out, labels, classes, images, sample_elems, err) == 0)
        return 0;
    dataset_free(out);
    return -1;
}
