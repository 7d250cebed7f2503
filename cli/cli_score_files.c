/* eval's scores as files: --metrics, the confusion matrix and per-class
 * scores as one JSON object; --figure, the matrix as an SVG heat map,
 * each row shaded by the share of its class's samples, with the counts
 * written in the cells. Both written atomically. */
#include <stdio.h>

#include "cli.h"
#include "error.h"
#include "file_io.h"
#include "strbuf.h"

static int write_text(const char *path, strbuf *sb, qsdc_error *err)
{
    int rc = sb_check(sb, err);
    if (rc == 0)
        rc = fs_write_atomic(path, NULL, 0, sb_str(sb), sb->len, err);
    sb_free(sb);
    return rc;
}

static void score_json(strbuf *sb, const qsdc_class_score *k)
{
    sb_printf(sb, "{\"precision\": %.17g, \"recall\": %.17g, \"f1\": %.17g, \"support\": %lld, "
              "\"predicted\": %lld, \"correct\": %lld}", k->precision, k->recall, k->f1,
              (long long)k->support, (long long)k->predicted, (long long)k->correct);
}

int cli_write_scores_json(const char *path, const int64_t *counts, int64_t classes,
                          const qsdc_class_score *k, qsdc_error *err)
{
    strbuf sb;
    sb_init(&sb);
    const qsdc_class_score *all = &k[classes];
    sb_printf(&sb, "{\"samples\": %lld, \"accuracy\": %.17g, \"classes\": %lld,\n"
              " \"confusion_matrix\": [", (long long)all->support,
              all->support ? (double)all->correct / (double)all->support : 0.0,
              (long long)classes);
    for (int64_t i = 0; i < classes; i++) {
        sb_printf(&sb, "%s\n  [", i ? "," : "");
        for (int64_t j = 0; j < classes; j++)
            sb_printf(&sb, "%s%lld", j ? ", " : "", (long long)counts[i * classes + j]);
        sb_append(&sb, "]");
    }
    sb_append(&sb, "],\n \"per_class\": [");
    for (int64_t c = 0; c < classes; c++) {
        sb_printf(&sb, "%s\n  ", c ? "," : "");
        score_json(&sb, &k[c]);
    }
    sb_append(&sb, "],\n \"macro\": ");
    score_json(&sb, all);
    sb_append(&sb, "}\n");
    return write_text(path, &sb, err);
}

#define CELL 36
#define MARGIN 60

int cli_write_confusion_svg(const char *path, const int64_t *counts, int64_t classes,
                            qsdc_error *err)
{
    strbuf sb;
    sb_init(&sb);
    long long side = 2 * MARGIN + CELL * (long long)classes;
    sb_printf(&sb, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%lld\" height=\"%lld\" "
              "font-family=\"sans-serif\" font-size=\"11\">\n"
              "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
              "<text x=\"%lld\" y=\"20\" text-anchor=\"middle\">predicted class</text>\n"
              "<text x=\"16\" y=\"%lld\" text-anchor=\"middle\" transform=\"rotate(-90 16 %lld)\">"
              "true class</text>\n", side, side, side / 2, side / 2, side / 2);
    for (int64_t i = 0; i < classes; i++) {
        int64_t row = 0;
        for (int64_t j = 0; j < classes; j++)
            row += counts[i * classes + j];
        long long y = MARGIN + CELL * (long long)i;
        sb_printf(&sb, "<text x=\"%d\" y=\"%lld\" text-anchor=\"end\">%lld</text>\n"
                  "<text x=\"%lld\" y=\"%d\" text-anchor=\"middle\">%lld</text>\n",
                  MARGIN - 6, y + CELL / 2 + 4, (long long)i, y + CELL / 2, MARGIN - 8,
                  (long long)i);
        for (int64_t j = 0; j < classes; j++) {
            int64_t n = counts[i * classes + j];
            double share = row ? (double)n / (double)row : 0.0;
            int shade = 255 - (int)(200.0 * share);
            long long x = MARGIN + CELL * (long long)j;
            sb_printf(&sb, "<rect x=\"%lld\" y=\"%lld\" width=\"%d\" height=\"%d\" "
                      "fill=\"rgb(%d,%d,255)\" stroke=\"#ccc\"/>\n"
                      "<text x=\"%lld\" y=\"%lld\" text-anchor=\"middle\" fill=\"%s\">%lld</text>\n",
                      x, y, CELL, CELL, shade, shade, x + CELL / 2, y + CELL / 2 + 4,
                      share > 0.6 ? "white" : "black", (long long)n);
        }
    }
    sb_append(&sb, "</svg>\n");
    return write_text(path, &sb, err);
}
