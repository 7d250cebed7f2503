#include "signals.h"

#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;

static void set_action(int sig, void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    /* blocking calls (file writes, OpenCL waits) resume rather than fail
     * with EINTR: the run stops at its own safe point, not inside them */
    sa.sa_flags = SA_RESTART;
    sigaction(sig, &sa, NULL);
}

/* Only async-signal-safe calls here: write, sigaction, raise. */
static void on_stop_signal(int sig)
{
    if (stop_signal) {
        set_action(sig, SIG_DFL);
        raise(sig); /* delivered when this handler returns: the default action */
        return;
    }
    stop_signal = sig;
    static const char on_int[] =
        "\nqsdc: interrupted: stopping after the current step (Ctrl-C again to abort)\n";
    static const char on_term[] =
        "\nqsdc: terminated: stopping after the current step (a second SIGTERM aborts)\n";
    ssize_t unused = sig == SIGINT ? write(STDERR_FILENO, on_int, sizeof on_int - 1)
                                   : write(STDERR_FILENO, on_term, sizeof on_term - 1);
    (void)unused;
}

volatile sig_atomic_t *stop_signals_install(void)
{
    stop_signal = 0;
    set_action(SIGINT, on_stop_signal);
    set_action(SIGTERM, on_stop_signal);
    return &stop_signal;
}

void stop_signals_restore(void)
{
    set_action(SIGINT, SIG_DFL);
    set_action(SIGTERM, SIG_DFL);
}
