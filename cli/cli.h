/* The qsdc command line: one function per command, each parsing its own
 * options. Exit codes: 0 success, 1 error, 2 usage. */
#ifndef QSDC_CLI_H
#define QSDC_CLI_H

int cli_compile(int argc, char **argv);
int cli_devices(int argc, char **argv);
int cli_train(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_infer(int argc, char **argv);
int cli_profile(int argc, char **argv);
int cli_tune(int argc, char **argv);
int cli_experiment(int argc, char **argv);
int cli_report(int argc, char **argv);

/* Prints "qsdc: message" to stderr and returns 1. */
int cli_error(const char *message);
/* Parses a positive integer option value; prints a usage error and returns
 * -1 when it is not one. */
int cli_int(const char *opt, const char *text, long long min, long long *out);
int cli_double(const char *opt, const char *text, double *out);

#endif
