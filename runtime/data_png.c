/* One PNG image as a sample, through libpng's simplified API: the header
 * is checked against the model's input before any pixel is decoded, so a
 * small file claiming a huge image costs nothing. */
#include "data.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>

int png_read_sample(const char *name, const unsigned char *b, size_t len,
                    const int64_t chw[3], float *out, qsdc_error *err)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, b, len)) {
        int rc = qsdc_fail(err, "%s: not a readable PNG image: %s", name, img.message);
        png_image_free(&img);
        return rc;
    }
    int64_t channels = img.format & PNG_FORMAT_FLAG_COLOR ? 3 : 1;
    if (channels != chw[0] || img.height != chw[1] || img.width != chw[2]) {
        png_image_free(&img);
        return qsdc_fail(err, "%s: a %s image of %ux%u; the model's input is %lldx%lldx%lld "
                         "(channels, height, width)", name, channels == 3 ? "colour" : "grey",
                         img.height, img.width, (long long)chw[0], (long long)chw[1],
                         (long long)chw[2]);
    }
    /* transparent pixels are composited onto black: no alpha channel */
    img.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    size_t pixels = (size_t)img.width * img.height;
    unsigned char *buf = malloc(PNG_IMAGE_SIZE(img));
    if (!buf) {
        png_image_free(&img);
        return qsdc_fail(err, "%s: out of memory", name);
    }
    png_color black = {0, 0, 0};
    if (!png_image_finish_read(&img, &black, buf, 0, NULL)) {
        int rc = qsdc_fail(err, "%s: corrupt PNG image: %s", name, img.message);
        png_image_free(&img);
        free(buf);
        return rc;
    }
    /* interleaved HWC bytes to the model's CHW, scaled to [0, 1] */
    for (size_t p = 0; p < pixels; p++)
        for (int64_t c = 0; c < channels; c++)
            out[(size_t)c * pixels + p] = buf[p * (size_t)channels + (size_t)c] / 255.0f;
    free(buf);
    return 0;
}
