/* Ctrl-C during long runs: the first SIGINT asks the run to stop at its
 * next safe point (training: after the current step, saving a checkpoint);
 * a second one ends the process at once, as SIGINT does by default. */
#ifndef QSDC_SIGNALS_H
#define QSDC_SIGNALS_H

#include <signal.h>

/* Installs the SIGINT handler and returns the flag it sets (0 until the
 * first Ctrl-C), for train_options.stop. The first Ctrl-C also prints a
 * line to stderr saying what happens next. */
volatile sig_atomic_t *sigint_install(void);
/* Puts back the default action. */
void sigint_restore(void);

#endif
