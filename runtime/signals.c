#include "signals.h"

#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;

static void set_action(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    /* blocking calls (file writes, OpenCL waits) resume rather than fail
     * with EINTR: the run stops at its own safe point, not inside them */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
}

/* Only async-signal-safe calls here: write, sigaction, raise. */
static void on_sigint(int sig)
{
    if (interrupted) {
        set_action(SIG_DFL);
        raise(sig); /* delivered when this handler returns: the default action */
        return;
    }
    interrupted = 1;
    static const char msg[] =
        "\nqsdc: interrupted: stopping after the current step (Ctrl-C again to abort)\n";
    ssize_t unused = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)unused;
}

volatile sig_atomic_t *sigint_install(void)
{
    interrupted = 0;
    set_action(on_sigint);
    return &interrupted;
}

void sigint_restore(void)
{
    set_action(SIG_DFL);
}
