/* Classifies IDX test images with a trained checkpoint through the qsdc
 * session API (include/qsdc.h) and prints the accuracy: a whole program
 * against the installed library.
 *
 *   cc -std=c11 predict.c $(pkg-config --cflags --libs qsdc) -o predict
 *   qsdc train models/mlp_fashion_qsd.yaml --checkpoint ckpt
 *   ./predict models/mlp_fashion_qsd.yaml ckpt \
 *       /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz \
 *       /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz [DEVICE]
 *
 * The images go through the compiled inference plan on the device in one
 * qsdc_session_predict call; the class of each is its most probable one. */
#include <qsdc.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what, const qsdc_error *err)
{
    fprintf(stderr, "predict: %s: %s\n", what, err->message);
    return 1;
}

/* The index of the largest of v[0..n), the first one on ties. */
static int64_t argmax(const float *v, int64_t n)
{
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: predict MODEL.yaml|BUNDLE CHECKPOINT_DIR IMAGES.idx[.gz] "
                        "LABELS.idx[.gz] [DEVICE]\n");
        return 2;
    }
    qsdc_error err;
    qsdc_open_options o = {.device = argc == 6 ? argv[5] : NULL, .checkpoint = argv[2]};
    qsdc_session *s;
    if (qsdc_session_open(argv[1], &o, &s, &err) < 0)
        return fail("opening the model", &err);
    qsdc_session_info info;
    qsdc_data d;
    if (qsdc_session_get_info(s, &info, &err) < 0 ||
        qsdc_data_load_idx(argv[3], argv[4], &d, &err) < 0) {
        qsdc_session_close(s);
        return fail("reading the images", &err);
    }
    if (d.sample_size != info.input_size) {
        fprintf(stderr, "predict: %s: images of %lld values, the model %s takes %lld\n",
                argv[3], (long long)d.sample_size, info.model, (long long)info.input_size);
        qsdc_data_free(&d);
        qsdc_session_close(s);
        return 1;
    }
    size_t n_out = (size_t)d.count * (size_t)info.output_size;
    float *out = malloc(n_out * sizeof *out);
    int rc = 0;
    if (!out) {
        fprintf(stderr, "predict: out of memory\n");
        rc = 1;
    } else if (qsdc_session_predict(s, d.x, (size_t)(d.count * d.sample_size), d.count, out,
                                    n_out, &err) < 0) {
        rc = fail("predicting", &err);
    } else {
        int64_t correct = 0;
        for (int64_t i = 0; i < d.count; i++)
            correct += argmax(out + i * info.output_size, info.output_size) == d.labels[i];
        printf("model: %s, device: %s (%s)\n", info.model, info.device, info.platform);
        printf("accuracy: %.2f%% (%lld/%lld)\n", 100.0 * (double)correct / (double)d.count,
               (long long)correct, (long long)d.count);
    }
    free(out);
    qsdc_data_free(&d);
    qsdc_session_close(s);
    return rc;
}
