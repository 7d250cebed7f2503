/* qsdc experiment and qsdc report. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "experiment.h"
#include "report.h"
#include "signals.h"

static const char experiment_usage[] =
    "usage: qsdc experiment EXPERIMENT.yaml [-o RESULTS_DIR] [--quick] [--device D]\n"
    "\n"
    "Trains the experiment's task under each regulariser setting (none, dropout,\n"
    "QSD matched to dropout in silence or variance, explicit QSD parameters) and\n"
    "seed, recording per run the learning curves, test accuracy (a language\n"
    "model's perplexity), hidden-layer sparsity, weight and bias distributions\n"
    "and sampled masks in RESULTS_DIR/<setting>-seed<N>/result.json. Finished\n"
    "runs are skipped, so an interrupted grid resumes where it stopped. Several\n"
    "processes (one per device, say) may share a grid: each trains the runs no\n"
    "other has started. Ctrl-C or SIGTERM stops the run in progress after its\n"
    "current step with a checkpoint, which the same command resumes exactly\n"
    "(exit status 130, 143 after SIGTERM). See docs/experiments.md.\n"
    "\n"
    "  -o RESULTS_DIR  where runs go (default results/NAME, or results/NAME-quick)\n"
    "  --quick         the file's quick grid: few epochs, two seeds, a data subset\n"
    "                  (a language model: the first sequences of each split)\n"
    "  --device D      index, cpu, gpu or part of a device name (qsdc devices)\n";

int cli_experiment(int argc, char **argv)
{
    static const struct option opts[] = {{"quick", no_argument, 0, 'q'},
                                         {"device", required_argument, 0, 'd'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    exp_run_options o = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': o.results_dir = optarg; break;
        case 'q': o.quick = true; break;
        case 'd': o.device = optarg; break;
        case 'h': fputs(experiment_usage, stdout); return 0;
        default: fputs(experiment_usage, stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        fputs(experiment_usage, stderr);
        return 2;
    }
    qsdc_error err = {""};
    experiment e;
    if (experiment_load(argv[optind], &e, &err) < 0)
        return cli_error(err.message);
    char dir[QSDC_PATH_MAX];
    if (!o.results_dir) {
        snprintf(dir, sizeof dir, "results/%.*s%s", QSDC_NAME_MAX, e.name,
                 o.quick ? "-quick" : "");
        o.results_dir = dir;
    }
    o.stop = stop_signals_install();
    int rc = experiment_run(&e, &o, &err);
    stop_signals_restore();
    experiment_free(&e);
    if (rc < 0)
        return cli_error(err.message);
    return rc == 0 ? 0 : 128 + *o.stop;
}

static const char report_usage[] =
    "usage: qsdc report RESULTS_DIR... [--family FILE.md]\n"
    "\n"
    "Summarises the runs of 'qsdc experiment' in RESULTS_DIR/report.md: per task\n"
    "a table of every setting's test accuracy or perplexity (mean +- sd over\n"
    "seeds), QSD minus dropout with its 95% interval and a paired t-test by seed\n"
    "(a lower perplexity beats a higher one), sparsity of the hidden layers,\n"
    "weight and bias distributions and sampled masks, with figures (SVG and\n"
    "PNG, through gnuplot) in RESULTS_DIR/figures/. Each directory named gets\n"
    "its report.\n"
    "\n"
    "  --family FILE.md  also the primary contrasts of all the directories'\n"
    "                    plans as one family, Holm-adjusted across the tasks,\n"
    "                    in FILE.md: the verdicts for a claim made across tasks\n";

int cli_report(int argc, char **argv)
{
    static const struct option opts[] = {{"family", required_argument, 0, 'f'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *family = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': family = optarg; break;
        case 'h': fputs(report_usage, stdout); return 0;
        default: fputs(report_usage, stderr); return 2;
        }
    }
    if (optind >= argc) {
        fputs(report_usage, stderr);
        return 2;
    }
    qsdc_error err = {""};
    for (int i = optind; i < argc; i++)
        if (report_write(argv[i], stdout, &err) < 0)
            return cli_error(err.message);
    if (family &&
        report_family_write((const char *const *)argv + optind, argc - optind, family, stdout,
                            &err) < 0)
        return cli_error(err.message);
    return 0;
}
