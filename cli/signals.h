/* Stopping long runs cleanly: the first SIGINT (Ctrl-C) or SIGTERM (kill,
 * a batch scheduler's time limit, a shutdown) asks the run to stop at its
 * next safe point (training: after the current step, saving a checkpoint);
 * a second one ends the process at once, as the signal does by default. */
#ifndef QSDC_SIGNALS_H
#define QSDC_SIGNALS_H

#include <signal.h>

/* Installs the SIGINT and SIGTERM handlers and returns the flag they set,
 * for qsdc_train_options.stop: 0 until the first signal, then its number. The
 * first signal also prints a line to stderr saying what happens next. */
volatile sig_atomic_t *stop_signals_install(void);
/* Puts back the default actions. */
void stop_signals_restore(void);

#endif
