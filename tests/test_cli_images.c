/* qsdc train and eval on image folders (train: data: {format: images}):
 * the fixture's task saved as grey PNGs in one sub-folder per class trains
 * to eval's accuracy, which eval and predict --data FOLDER match, and
 * colour images for a one-channel model are an
 * error naming the image and both shapes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_fixture.h"
#include "support.h"

#define IDX_HEADER 16

/* ts_tmpdir()/name/cK/NNNN.png: the task's n images, class i % 3 in cK, in
 * the given PNG format (each pixel's byte in every channel). */
static const char *write_folder(const char *name, int n, uint32_t seed, png_uint_32 format)
{
    size_t len;
    uint8_t *img = cli_idx_images(n, CLI_SIDE, CLI_SIDE, seed, &len);
    char dir[CLI_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", ts_tmpdir(), name);
    mkdir(dir, 0755);
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.format = format;
    pi.width = pi.height = CLI_SIDE;
    int channels = (int)PNG_IMAGE_PIXEL_CHANNELS(format), px = CLI_SIDE * CLI_SIDE;
    uint8_t buf[4 * CLI_SIDE * CLI_SIDE];
    for (int i = 0; i < n; i++) {
        for (int p = 0; p < px * channels; p++)
            buf[p] = img[IDX_HEADER + i * px + p / channels];
        char path[CLI_PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/c%d", dir, i % CLI_CLASSES);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/c%d/%04d.png", dir, i % CLI_CLASSES, i);
        assert_true(png_image_write_to_file(&pi, path, 0, buf, 0, NULL));
    }
    free(img);
    return ts_fmt("%s", dir);
}

static void test_trains_on_folders(void **state)
{
    (void)state;
    char train[CLI_PATH_MAX], test[CLI_PATH_MAX], model[CLI_PATH_MAX];
    snprintf(train, sizeof train, "%s", write_folder("train", CLI_TRAIN_N, 1,
                                                     PNG_FORMAT_GRAY));
    snprintf(test, sizeof test, "%s", write_folder("test", CLI_TEST_N, 2, PNG_FORMAT_GRAY));
    char data[2 * CLI_PATH_MAX + 64];
    snprintf(data, sizeof data, "{format: images, train: %s, test: %s}", train, test);
    cli_write_mlp("images.yaml", "[1, 8, 8]", data, model);
    const char *ckpt = ts_fmt("%s/ckpt", ts_tmpdir());
    char *out = cli_run_expect(0, "train '%s' --checkpoint '%s'", model, ckpt);
    cli_epoch e[4];
    assert_int_equal(cli_epochs(out, e, 4), 2);
    free(out);
    out = cli_run_expect(0, "eval '%s' --checkpoint '%s'", model, ckpt);
    long long correct = cli_printed_correct(out);
    free(out);
    /* the last epoch's test accuracy is eval's */
    assert_true(correct > CLI_TEST_N / 2);
    char want[32];
    snprintf(want, sizeof want, "%.2f", 100.0 * (double)correct / CLI_TEST_N);
    assert_string_equal(e[1].test_accuracy_text, want);
    /* eval and predict take a folder as --data: the same accuracy */
    out = cli_run_expect(0, "eval '%s' --checkpoint '%s' --data '%s'", model, ckpt, test);
    assert_int_equal(cli_printed_correct(out), correct);
    free(out);
    const char *csv = ts_fmt("%s/pred.csv", ts_tmpdir());
    out = cli_run_expect(0, "predict '%s' --checkpoint '%s' --data '%s' -o '%s'", model, ckpt,
                         test, csv);
    assert_int_equal(cli_printed_correct(out), correct);
    free(out);
    out = cli_run_expect(1, "eval '%s' --checkpoint '%s' --data '%s' --labels y.npy", model,
                         ckpt, test);
    cli_expect(out, ts_fmt("%s: an image folder's labels are its class folders", test));
    free(out);
}

static void test_colour_for_grey_model(void **state)
{
    (void)state;
    char train[CLI_PATH_MAX], model[CLI_PATH_MAX];
    snprintf(train, sizeof train, "%s", write_folder("rgb", 6, 1, PNG_FORMAT_RGB));
    char data[CLI_PATH_MAX + 64];
    snprintf(data, sizeof data, "{format: images, train: %s}", train);
    cli_write_mlp("rgb.yaml", "[1, 8, 8]", data, model);
    char *out = cli_run_expect(1, "train '%s' --max-steps 1", model);
    cli_expect(out, ts_fmt("%s/c0/0000.png: a colour image of 8x8; the model's input is "
                           "1x8x8 (channels, height, width)", train));
    free(out);
}

int main(void)
{
    cli_env_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trains_on_folders),
        cmocka_unit_test(test_colour_for_grey_model),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
