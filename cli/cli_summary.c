/* qsdc summary: a model's layers with their output shapes and parameter
 * counts, and the totals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"

static const char summary_usage[] =
    "usage: qsdc summary MODEL.yaml|BUNDLE\n"
    "\n"
    "Prints the model's layers in file order: name, op, the shape of one\n"
    "sample's output and the layer's trainable parameters (and a batchnorm's\n"
    "running statistics), then the totals. Nothing runs on a device.\n";

static void shape_text(const qsdc_layer_summary *s, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int d = 0; d < s->rank && used < cap; d++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%lld", d ? "x" : "",
                                 (long long)s->shape[d]);
}

static void print_summary(const qsdc_model_info *info, const qsdc_layer_summary *s, int n)
{
    long long params = 0, stats = 0;
    printf("%s\n%-20s %-16s %-16s %12s\n", info->name, "layer", "op", "output", "params");
    for (int i = 0; i < n; i++) {
        char shape[64];
        shape_text(&s[i], shape, sizeof shape);
        printf("%-20s %-16s %-16s %12lld", s[i].name, s[i].op, shape, (long long)s[i].params);
        if (s[i].stats)
            printf("  (+%lld running statistics)", (long long)s[i].stats);
        printf("\n");
        params += s[i].params;
        stats += s[i].stats;
    }
    printf("total: %d layers, %lld trainable parameters", n, params);
    if (stats)
        printf(", %lld running statistics", stats);
    printf("\n");
}

int cli_summary(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(summary_usage, stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fputs(summary_usage, stderr);
        return 2;
    }
    qsdc_error err = {""};
    qsdc_model *m;
    qsdc_model_info info;
    if (qsdc_model_load(argv[1], &m, &err) < 0)
        return cli_error(err.message);
    int n = qsdc_model_get_info(m, &info, &err) < 0 ? -1 : qsdc_model_summary(m, NULL, 0, &err);
    qsdc_layer_summary *s = n >= 0 ? calloc((size_t)n + 1, sizeof *s) : NULL;
    if (n >= 0 && !s)
        n = qsdc_fail(&err, "out of memory");
    if (s)
        n = qsdc_model_summary(m, s, n, &err);
    qsdc_model_free(m);
    if (n >= 0)
        print_summary(&info, s, n);
    free(s);
    return n < 0 ? cli_error(err.message) : 0;
}
