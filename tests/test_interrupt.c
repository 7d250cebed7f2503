/* Interrupted training on the tiny task of cli_fixture.h (batch 64: 6 steps
 * and one checkpoint per epoch, 12 epochs):
 *
 * - SIGKILL at seeded random moments and at each stage of a checkpoint write
 *   (the temporary file just created, just closed, just renamed into place):
 *   after every kill the checkpoint directory holds no checkpoint or a
 *   readable one at an epoch boundary, and resuming until done ends on the
 *   bytes of an uninterrupted run;
 * - Ctrl-C (SIGINT) stops after the current step with status 130 and saves
 *   a checkpoint equal to a --max-steps run to the same step; resuming it
 *   ends on the uninterrupted run's bytes; Ctrl-C during a checkpoint write
 *   lets the write finish; a second Ctrl-C kills the process at once;
 * - SIGTERM does what Ctrl-C does, with status 143;
 * - Ctrl-C during `qsdc experiment` stops the run in progress the same way
 *   and the grid with it; the same command resumes the grid to the results
 *   of one never stopped.
 *
 * The moments of a checkpoint write are watched with inotify and the child
 * is stopped (SIGSTOP) there and checked to be inside the write before it is
 * signalled, so those kills land where they are meant to whatever the
 * machine's speed. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "checkpoint.h"
#include "cli_fixture.h"
#include "support.h"

#define STR(x) #x
#define XSTR(x) STR(x)
#define BATCH 64
#define EPOCHS 12
#define STEPS_PER_EPOCH 6 /* (480 - 48 held out) / 64 */
#define KILLS 12
#define WAIT_LIMIT_MS 120000 /* a safety net against a hung child, not a timing */

static cli_files task;
static char ref_dir[CLI_PATH_MAX];

static void path_in(char *out, const char *dir, const char *name)
{
    snprintf(out, CLI_PATH_MAX + 64, "%s/%s", dir, name);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Each save writes a fresh checkpoint.bin.tmp-XXXXXX. */
#define TEMP_PREFIX "checkpoint.bin.tmp"

static bool is_temp(const char *name)
{
    return strncmp(name, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0;
}

/* Whether a save's temporary file is in dir. */
static bool temp_left(const char *dir)
{
    DIR *d = opendir(dir);
    bool found = false;
    for (struct dirent *e; d && !found && (e = readdir(d)) != NULL;)
        found = is_temp(e->d_name);
    if (d)
        closedir(d);
    return found;
}

/* Starts argv (NULL-terminated), its output to log. */
static pid_t spawn(const char *const *argv, const char *log)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Starts `qsdc train` on the task into dir (resuming when asked), output to
 * log; extra is NULL or one more option and its value. */
static pid_t spawn_train(const char *dir, bool resume, const char *log, const char *extra,
                         const char *extra_value)
{
    const char *argv[16] = {ts_qsdc(), "train", task.model, "--checkpoint", dir, "--batch",
                            XSTR(BATCH), "--epochs", XSTR(EPOCHS)};
    int n = 9;
    if (resume)
        argv[n++] = "--resume";
    if (extra) {
        argv[n++] = extra;
        argv[n++] = extra_value;
    }
    argv[n] = NULL;
    return spawn(argv, log);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Whether pid has exited (reaped into *status). */
static bool exited(pid_t pid, int *status)
{
    pid_t r = waitpid(pid, status, WNOHANG);
    assert_true(r >= 0);
    return r == pid;
}

static int wait_exit(pid_t pid)
{
    int status;
    for (int ms = 0; ms < WAIT_LIMIT_MS; ms++) {
        if (exited(pid, &status))
            return status;
        sleep_ms(1);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    fail_msg("qsdc train did not finish within %d s", WAIT_LIMIT_MS / 1000);
    return -1;
}

static char *read_log(const char *log)
{
    char *text = cli_read_file(log, NULL);
    return text ? text : strdup("(no output)");
}

/* Moments of a checkpoint write, as inotify reports them. */
typedef enum moment { AT_DELAY, AT_TMP_CREATED, AT_TMP_CLOSED, AT_RENAMED, MOMENTS } moment;
static const char *const moment_names[MOMENTS] = {
    "a random moment", "the temporary file's creation", "the temporary file's close",
    "the rename into place"};

/* Stops pid (SIGSTOP) and returns true, or returns false when it exited. */
static bool stop_child(pid_t pid, int *status)
{
    kill(pid, SIGSTOP);
    pid_t r = waitpid(pid, status, WUNTRACED);
    assert_true(r == pid);
    return WIFSTOPPED(*status);
}

/* Waits for moment m in dir and returns true with the child stopped there,
 * or false when it exits first. AT_DELAY: after n milliseconds. The others:
 * from the nth event of that kind on, the first one at which the stopped
 * child still has the temporary file (for AT_RENAMED: any), so a kill
 * then lands inside the write, between close and rename, or between the
 * rename and the directory's fsync. */
static bool wait_moment(pid_t pid, int ifd, const char *dir, moment m, int n, int *status)
{
    if (m == AT_DELAY) {
        for (int ms = 0; ms < n; ms++) {
            if (exited(pid, status))
                return false;
            sleep_ms(1);
        }
        return stop_child(pid, status);
    }
    uint32_t mask = m == AT_TMP_CREATED ? IN_CREATE : m == AT_TMP_CLOSED ? IN_CLOSE_WRITE
                                                                          : IN_MOVED_TO;
    int seen = 0;
    for (int ms = 0; ms < WAIT_LIMIT_MS; ms++) {
        struct pollfd p = {.fd = ifd, .events = POLLIN};
        bool hit = false;
        if (poll(&p, 1, 1) > 0) {
            char buf[4096] __attribute__((aligned(8)));
            ssize_t len = read(ifd, buf, sizeof buf);
            for (ssize_t off = 0; off < len;) {
                const struct inotify_event *e = (const void *)(buf + off);
                bool named = e->len && (m == AT_RENAMED ? strcmp(e->name, "checkpoint.bin") == 0
                                                        : is_temp(e->name));
                hit |= (e->mask & mask) && named && ++seen >= n;
                off += (ssize_t)(sizeof *e + e->len);
            }
        }
        if (hit) {
            if (!stop_child(pid, status))
                return false;
            if (m == AT_RENAMED || temp_left(dir))
                return true;
            kill(pid, SIGCONT); /* the write was over: try the next one */
        }
        if (exited(pid, status))
            return false;
    }
    fail_msg("waited %d s for %s", WAIT_LIMIT_MS / 1000, moment_names[m]);
    return false;
}

static int watch(const char *dir)
{
    mkdir(dir, 0777);
    int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    assert_true(ifd >= 0);
    assert_true(inotify_add_watch(ifd, dir, IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO) >= 0);
    return ifd;
}

/* The checkpoint in dir must load, and sit at an epoch boundary unless
 * mid_epoch_ok; returns its step, or -1 when there is none. */
static int64_t check_checkpoint(const char *dir, bool mid_epoch_ok, const char *log)
{
    char path[CLI_PATH_MAX + 64];
    path_in(path, dir, "checkpoint.bin");
    if (!exists(path))
        return -1;
    checkpoint ck;
    qsdc_error err = {{0}};
    if (checkpoint_load(dir, &ck, &err) < 0)
        fail_msg("unreadable checkpoint after an interruption: %s\n%s", err.message,
                 read_log(log));
    int64_t step = (int64_t)ck.step;
    bool ok = ck.epoch <= EPOCHS && ck.step >= ck.epoch * STEPS_PER_EPOCH &&
              ck.step <= (ck.epoch + 1) * STEPS_PER_EPOCH &&
              (mid_epoch_ok || ck.step == ck.epoch * STEPS_PER_EPOCH);
    if (!ok)
        fail_msg("checkpoint at epoch %llu, step %llu", (unsigned long long)ck.epoch,
                 (unsigned long long)ck.step);
    checkpoint_free(&ck);
    return step;
}

static void expect_same_checkpoint(const char *dir_a, const char *dir_b)
{
    char pa[CLI_PATH_MAX + 64], pb[CLI_PATH_MAX + 64];
    path_in(pa, dir_a, "checkpoint.bin");
    path_in(pb, dir_b, "checkpoint.bin");
    size_t la, lb;
    char *a = cli_read_file(pa, &la), *b = cli_read_file(pb, &lb);
    if (!a || !b)
        fail_msg("missing %s", a ? pb : pa);
    if (la != lb || memcmp(a, b, la) != 0)
        fail_msg("%s and %s differ", pa, pb);
    free(a);
    free(b);
}

/* Runs to completion, resuming from dir when it holds a checkpoint. */
static void finish(const char *dir, const char *log)
{
    char path[CLI_PATH_MAX + 64];
    path_in(path, dir, "checkpoint.bin");
    int status = wait_exit(spawn_train(dir, exists(path), log, NULL, NULL));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the resumed run failed (status %#x):\n%s", status, read_log(log));
}

static int setup(void **state)
{
    (void)state;
    cli_env_init();
    cli_write_task("t", &task);
    snprintf(ref_dir, sizeof ref_dir, "%s/ckpt-ref", ts_tmpdir());
    char log[CLI_PATH_MAX + 64];
    path_in(log, ts_tmpdir(), "ref.log");
    int status = wait_exit(spawn_train(ref_dir, false, log, NULL, NULL));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "reference run failed (status %#x):\n%s", status, read_log(log));
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ts_cleanup();
    return 0;
}

static uint32_t next_random(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*s >> 33);
}

static void test_sigkill_then_resume_matches(void **state)
{
    (void)state;
    char dir[CLI_PATH_MAX], log[CLI_PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/ckpt-kill", ts_tmpdir());
    path_in(log, ts_tmpdir(), "kill.log");
    int ifd = watch(dir);
    uint64_t rng = 2024;
    int kills = 0, torn = 0, chains = 0, at[MOMENTS] = {0};
    while (kills < KILLS) {
        char ck[CLI_PATH_MAX + 64];
        path_in(ck, dir, "checkpoint.bin");
        pid_t pid = spawn_train(dir, exists(ck), log, NULL, NULL);
        moment m = (moment)(kills % MOMENTS);
        /* a delay over the start-up and the first epochs, or the 1st to
         * 3rd checkpoint write of this run */
        int n = m == AT_DELAY ? 1 + (int)(next_random(&rng) % 600)
                              : 1 + (int)(next_random(&rng) % 3);
        int status;
        if (!wait_moment(pid, ifd, dir, m, n, &status)) {
            /* finished before the moment came: check this chain of runs
             * and start another */
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("qsdc train failed (status %#x):\n%s", status, read_log(log));
            expect_same_checkpoint(ref_dir, dir);
            chains++;
            assert_int_equal(unlink(ck), 0);
            continue;
        }
        kill(pid, SIGKILL);
        status = wait_exit(pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        kills++;
        at[m]++;
        torn += temp_left(dir);
        check_checkpoint(dir, false, log);
    }
    close(ifd);
    finish(dir, log);
    check_checkpoint(dir, false, log);
    expect_same_checkpoint(ref_dir, dir);
    printf("%d kills (%d at random moments, %d at a temporary file's creation, %d at "
           "its close, %d at the rename), %d left a temporary file; %d chains of runs "
           "ended on the reference bytes\n",
           kills, at[AT_DELAY], at[AT_TMP_CREATED], at[AT_TMP_CLOSED], at[AT_RENAMED], torn,
           chains + 1);
}

/* Waits until pid has a handler for sig (SigCgt in /proc/PID/status). */
static void wait_handler(pid_t pid, int sig)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    for (int ms = 0; ms < WAIT_LIMIT_MS; ms++) {
        FILE *f = fopen(path, "r");
        char line[256];
        unsigned long long caught = 0;
        while (f && fgets(line, sizeof line, f))
            if (sscanf(line, "SigCgt: %llx", &caught) == 1)
                break;
        if (f)
            fclose(f);
        if (caught & (1ULL << (sig - 1)))
            return;
        int status;
        if (exited(pid, &status))
            fail_msg("qsdc exited (status %#x) before handling signal %d", status, sig);
        sleep_ms(1);
    }
    fail_msg("qsdc never installed its handler for signal %d", sig);
}

/* Sends sig (and SIGCONT, for a stopped child) and expects a clean stop:
 * status 128 + sig and the handler's message; returns the output. */
static char *stop_by(pid_t pid, int sig, const char *log)
{
    kill(pid, sig);
    kill(pid, SIGCONT);
    int status = wait_exit(pid);
    char *out = read_log(log);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 128 + sig)
        fail_msg("expected exit status %d after signal %d, got %#x:\n%s", 128 + sig, sig,
                 status, out);
    cli_expect(out, sig == SIGINT ? "qsdc: interrupted: stopping after the current step"
                                  : "qsdc: terminated: stopping after the current step");
    return out;
}

/* qsdc train stopped by sig: stop_by, and the message of a clean stop. */
static void interrupt(pid_t pid, int sig, const char *log)
{
    char *out = stop_by(pid, sig, log);
    cli_expect(out, "holds the step reached (continue with --resume)");
    free(out);
}

/* sig a little after the first checkpoint: the saved state is exactly that
 * of a run stopped by --max-steps at the same step, and resuming it ends on
 * the uninterrupted run's bytes. */
static void stop_saves_exact_step(int sig, const char *name)
{
    char dir[CLI_PATH_MAX], same[CLI_PATH_MAX], log[CLI_PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/ckpt-%s", ts_tmpdir(), name);
    snprintf(same, sizeof same, "%s/ckpt-%s-max-steps", ts_tmpdir(), name);
    snprintf(log, sizeof log, "%s/%s.log", ts_tmpdir(), name);
    int ifd = watch(dir);
    pid_t pid = spawn_train(dir, false, log, NULL, NULL);
    int status;
    if (!wait_moment(pid, ifd, NULL, AT_RENAMED, 1, &status))
        fail_msg("finished before its first checkpoint (status %#x)", status);
    close(ifd);
    wait_handler(pid, sig);
    kill(pid, SIGCONT);
    sleep_ms(5);
    interrupt(pid, sig, log);
    int64_t step = check_checkpoint(dir, true, log);
    assert_true(step >= STEPS_PER_EPOCH && step < EPOCHS * STEPS_PER_EPOCH);

    char steps[32];
    snprintf(steps, sizeof steps, "%lld", (long long)step);
    status = wait_exit(spawn_train(same, false, log, "--max-steps", steps));
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    expect_same_checkpoint(same, dir);

    finish(dir, log);
    expect_same_checkpoint(ref_dir, dir);
    printf("%s: stopped at step %lld of %d\n", name, (long long)step, EPOCHS * STEPS_PER_EPOCH);
}

/* Ctrl-C */
static void test_sigint_saves_exact_step(void **state)
{
    (void)state;
    stop_saves_exact_step(SIGINT, "sigint");
}

/* kill, or a batch scheduler at its time limit */
static void test_sigterm_saves_exact_step(void **state)
{
    (void)state;
    stop_saves_exact_step(SIGTERM, "sigterm");
}

/* Ctrl-C while a checkpoint is being written (the child is stopped with the
 * temporary file there, from the second write on): that write completes, no
 * temporary file is left, and the run stops at that epoch boundary; resuming
 * ends on the uninterrupted run's bytes. */
static void test_sigint_during_checkpoint_write(void **state)
{
    (void)state;
    char dir[CLI_PATH_MAX], log[CLI_PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/ckpt-int-write", ts_tmpdir());
    path_in(log, ts_tmpdir(), "int-write.log");
    int ifd = watch(dir);
    pid_t pid = spawn_train(dir, false, log, NULL, NULL);
    int status;
    if (!wait_moment(pid, ifd, dir, AT_TMP_CREATED, 2, &status))
        fail_msg("finished before its second checkpoint (status %#x)", status);
    close(ifd);
    interrupt(pid, SIGINT, log);
    assert_false(temp_left(dir));
    int64_t step = check_checkpoint(dir, false, log);
    assert_true(step >= 2 * STEPS_PER_EPOCH);
    finish(dir, log);
    expect_same_checkpoint(ref_dir, dir);
    printf("stopped at step %lld, the end of the epoch whose checkpoint was being "
           "written\n", (long long)step);
}

/* A second Ctrl-C ends the process by SIGINT at once. The run is held in
 * its set-up, opening --metrics on a FIFO nobody opens, so it cannot reach
 * a clean stop between the two signals. */
static void test_second_sigint_aborts(void **state)
{
    (void)state;
    char dir[CLI_PATH_MAX], log[CLI_PATH_MAX + 64], fifo[CLI_PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/ckpt-abort", ts_tmpdir());
    path_in(log, ts_tmpdir(), "abort.log");
    path_in(fifo, ts_tmpdir(), "metrics.fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid_t pid = spawn_train(dir, false, log, "--metrics", fifo);
    wait_handler(pid, SIGINT);
    kill(pid, SIGINT);
    int ms = 0;
    for (char *out = NULL; ms < WAIT_LIMIT_MS; ms++, sleep_ms(1)) {
        out = read_log(log);
        bool seen = strstr(out, "Ctrl-C again to abort") != NULL;
        free(out);
        if (seen)
            break;
    }
    assert_true(ms < WAIT_LIMIT_MS);
    kill(pid, SIGINT);
    int status = wait_exit(pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGINT)
        fail_msg("expected death by SIGINT, got status %#x:\n%s", status, read_log(log));
    check_checkpoint(dir, false, log);
}

/* ---- qsdc experiment -------------------------------------------------- */

/* The train_loss values of a result.json, in order, into v (at most n). */
static int train_losses(const char *path, double *v, int n)
{
    char *text = cli_read_file(path, NULL);
    if (!text)
        fail_msg("cannot read %s", path);
    int k = 0;
    for (const char *at = text; k < n && (at = strstr(at, "\"train_loss\": ")); k++) {
        at += strlen("\"train_loss\": ");
        v[k] = strtod(at, NULL);
    }
    free(text);
    return k;
}

/* The batches of the last progress line of epoch 2/3 in a log, when so
 * early in that epoch that the steps the run may still take cannot end it
 * (progress comes every tenth: 22 of 27 shown means fewer than 25 done);
 * else -1. */
static int second_epoch_batches(const char *log)
{
    const char *last = NULL;
    for (const char *p = log; (p = strstr(p, "epoch 2/3 ")) != NULL; p++)
        last = p;
    int pct, done;
    if (!last || sscanf(last, "epoch 2/3 %d%% %d/27 batches", &pct, &done) != 2 || done > 22)
        return -1;
    return done;
}

/* Ctrl-C during a grid, early in its first run's second epoch (27 batches
 * of 16; tried again when the run got too far before it was paused): that
 * run stops after its current step, inside that epoch, with a checkpoint
 * and no result, the grid stops (status 130), and the same command resumes
 * it to the test accuracies and per-epoch train losses of a grid never
 * stopped (a loss to the 6 decimals of metrics.jsonl where an epoch was
 * split). */
static void test_sigint_stops_experiment(void **state)
{
    (void)state;
    char text[4096], exp[CLI_PATH_MAX], ref[CLI_PATH_MAX], dir[CLI_PATH_MAX];
    int len = snprintf(text, sizeof text,
                       "name: tiny\nmodel: %s\ndropout_p: 0.5\n"
                       "settings: [dropout, {name: qsd_variance, match: variance, sites: 2, "
                       "q_cv: 0.3}]\nseeds: [1, 2]\nepochs: 3\n"
                       "quick: {epochs: 3, seeds: [1, 2], test_samples: 96}\n",
                       task.model);
    snprintf(exp, sizeof exp, "%s", ts_write("grid.yaml", text, (size_t)len));
    snprintf(ref, sizeof ref, "%s/grid-ref", ts_tmpdir());
    snprintf(dir, sizeof dir, "%s/grid-stop", ts_tmpdir());
    free(cli_run_expect(0, "experiment '%s' -o '%s' --quick", exp, ref));

    char run[CLI_PATH_MAX + 64], log[CLI_PATH_MAX + 64], path[CLI_PATH_MAX + 128];
    pid_t pid = -1;
    int status, batches = -1;
    for (int attempt = 0; attempt < 5 && batches < 0; attempt++) {
        snprintf(dir, sizeof dir, "%s/grid-stop%d", ts_tmpdir(), attempt);
        snprintf(log, sizeof log, "%s/grid-stop%d.log", ts_tmpdir(), attempt);
        const char *argv[] = {ts_qsdc(), "experiment", exp, "-o", dir, "--quick", NULL};
        pid = spawn(argv, log);
        wait_handler(pid, SIGINT);
        /* the first progress line of the first run's second epoch (after
         * 3 of its 27 batches) */
        int ms = 0;
        for (char *text = NULL; ms < WAIT_LIMIT_MS; ms++, sleep_ms(1)) {
            text = read_log(log);
            bool seen = strstr(text, "epoch 2/3 ") != NULL;
            free(text);
            if (seen || exited(pid, &status))
                break;
        }
        if (!stop_child(pid, &status))
            fail_msg("the grid ended before its second epoch (status %#x):\n%s", status,
                     read_log(log));
        char *text = read_log(log);
        batches = second_epoch_batches(text);
        free(text);
        if (batches < 0) { /* it got too far before it was stopped: again */
            kill(pid, SIGKILL);
            kill(pid, SIGCONT);
            wait_exit(pid);
        }
    }
    if (batches < 0)
        fail_msg("the grid never stopped early in its second epoch:\n%s", read_log(log));
    snprintf(run, sizeof run, "%s/dropout-seed1", dir);
    char *out = stop_by(pid, SIGINT, log);
    cli_expect(out, "grid stopped in run 1/4 (0 trained, 0 skipped): ");
    cli_expect(out, "checkpoint.bin holds the step reached; the same command resumes");
    free(out);
    snprintf(path, sizeof path, "%s/result.json", run);
    assert_false(exists(path));
    checkpoint ck;
    qsdc_error err = {{0}};
    if (checkpoint_load(run, &ck, &err) < 0)
        fail_msg("%s", err.message);
    unsigned long long step = (unsigned long long)ck.step, epoch = (unsigned long long)ck.epoch;
    checkpoint_free(&ck);
    /* it stopped after the step in flight, inside the second epoch */
    if (!(epoch == 1 && step >= 27 + (unsigned long long)batches && step < 54))
        fail_msg("stopped after %d batches of epoch 2: checkpoint at epoch %llu step %llu, "
                 "not inside epoch 2", batches, epoch, step);

    out = cli_run_expect(0, "experiment '%s' -o '%s' --quick", exp, dir);
    cli_expect(out, "resuming from");
    cli_expect(out, "grid done: 4 runs (4 trained, 0 skipped)");
    free(out);
    static const char *const settings[] = {"dropout", "qsd_variance"};
    for (int s = 0; s < 2; s++)
        for (int seed = 1; seed <= 2; seed++) {
            char a[CLI_PATH_MAX + 128], b[CLI_PATH_MAX + 128], name[64];
            snprintf(name, sizeof name, "%s-seed%d/result.json", settings[s], seed);
            snprintf(a, sizeof a, "%s/%s", ref, name);
            snprintf(b, sizeof b, "%s/%s", dir, name);
            double la[8], lb[8];
            int na = train_losses(a, la, 8), nb = train_losses(b, lb, 8);
            assert_int_equal(na, 3);
            assert_int_equal(nb, 3);
            for (int i = 0; i < na; i++)
                if (fabs(la[i] - lb[i]) > 2e-6)
                    fail_msg("%s: epoch %d train loss %.6f, %.6f never stopped", name, i + 1,
                             lb[i], la[i]);
            char *ta = cli_read_file(a, NULL), *tb = cli_read_file(b, NULL);
            const char *pa = strstr(ta, "\n  \"test_accuracy\": ");
            const char *pb = strstr(tb, "\n  \"test_accuracy\": ");
            assert_true(pa && pb && strtod(pa + 20, NULL) == strtod(pb + 20, NULL));
            free(ta);
            free(tb);
        }
    printf("stopped the grid at step %llu, %s, and resumed it to the same results\n", step,
           step % 27 ? "inside an epoch (its metrics lines joined)"
                     : "at an epoch's end (no epoch split this time)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_then_resume_matches),
        cmocka_unit_test(test_sigint_saves_exact_step),
        cmocka_unit_test(test_sigterm_saves_exact_step),
        cmocka_unit_test(test_sigint_during_checkpoint_write),
        cmocka_unit_test(test_second_sigint_aborts),
        cmocka_unit_test(test_sigint_stops_experiment),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
