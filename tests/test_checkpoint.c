/* Checkpoints: bit-exact round trips, byte-identical files, the documented
 * layout (checked against bytes built here), and one test per corruption. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "checkpoint.h"
#include "support.h"

#define NP 1000
#define NS 2000
#define HEADER_BYTES 68
#define FILE_BYTES (HEADER_BYTES + 4 * (NP + NS) + 4)

typedef struct file_bytes {
    uint8_t *data;
    size_t len;
} file_bytes;

static const char *new_dir(const char *name)
{
    static char dirs[8][1200];
    static int slot;
    char *dir = dirs[slot++ % 8];
    snprintf(dir, 1200, "%s/%s", ts_tmpdir(), name);
    return dir;
}

static file_bytes read_all(const char *path)
{
    file_bytes b = {0};
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    b.data = malloc(FILE_BYTES + 64);
    assert_non_null(b.data);
    b.len = fread(b.data, 1, FILE_BYTES + 64, f);
    fclose(f);
    return b;
}

static void write_all(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Parameters with the awkward values a float format must keep: NaN with a
 * payload, both zeros, infinities and a subnormal. */
static checkpoint sample(float *params, float *state)
{
    ts_fill_uniform(params, NP, 1, -3.0f, 3.0f);
    ts_fill_uniform(state, NS, 2, 0.0f, 1.0f);
    uint32_t nan_bits = 0x7fc12345u;
    memcpy(&params[0], &nan_bits, 4);
    params[1] = -0.0f;
    params[2] = INFINITY;
    params[3] = -INFINITY;
    params[4] = 1e-45f;
    return (checkpoint){.model_hash = 0xfedcba9876543210u, .epoch = 7,
                        .step = 0x100000001u, .seed = 42, .batch = 96, .n_params = NP,
                        .params = params, .n_state = NS, .state = state};
}

static void save_ok(const char *dir, const checkpoint *c)
{
    qsdc_error err = {{0}};
    if (checkpoint_save(dir, c, &err) != 0)
        fail_msg("checkpoint_save: %s", err.message);
}

static void expect_load_error(const char *dir, const char *want)
{
    checkpoint c;
    qsdc_error err = {{0}};
    int rc = checkpoint_load(dir, &c, &err);
    ts_expect_failure("checkpoint_load", rc, err.message, want);
}

/* A saved sample checkpoint in its own directory, and its file's bytes. */
static const char *saved_sample(const char *name, file_bytes *out)
{
    float params[NP], state[NS];
    checkpoint c = sample(params, state);
    const char *dir = new_dir(name);
    save_ok(dir, &c);
    *out = read_all(ts_fmt("%s/checkpoint.bin", dir));
    assert_int_equal(out->len, FILE_BYTES);
    return dir;
}

static void test_round_trip(void **state_)
{
    (void)state_;
    float params[NP], state[NS];
    checkpoint c = sample(params, state), back;
    const char *dir = new_dir("rt");
    save_ok(dir, &c);
    qsdc_error err = {{0}};
    assert_int_equal(checkpoint_load(dir, &back, &err), 0);
    assert_true(back.model_hash == c.model_hash);
    assert_true(back.epoch == c.epoch);
    assert_true(back.step == c.step);
    assert_true(back.seed == c.seed);
    assert_int_equal(back.n_params, NP);
    assert_int_equal(back.n_state, NS);
    assert_memory_equal(back.params, params, sizeof params);
    assert_memory_equal(back.state, state, sizeof state);
    checkpoint_free(&back);
    assert_null(back.params);

    /* No optimiser state. */
    c.n_state = 0;
    c.state = NULL;
    save_ok(dir, &c);
    assert_int_equal(checkpoint_load(dir, &back, &err), 0);
    assert_int_equal(back.n_state, 0);
    assert_null(back.state);
    assert_memory_equal(back.params, params, sizeof params);
    checkpoint_free(&back);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The layout from checkpoint.h, built independently here. */
static void test_layout_and_determinism(void **state_)
{
    (void)state_;
    file_bytes a, b;
    const char *dir = saved_sample("det-a", &a);
    saved_sample("det-b", &b);
    assert_memory_equal(a.data, b.data, FILE_BYTES);
    /* A second save into the same directory gives the same bytes too. */
    float params[NP], state[NS];
    checkpoint c = sample(params, state);
    save_ok(dir, &c);
    file_bytes again = read_all(ts_fmt("%s/checkpoint.bin", dir));
    assert_int_equal(again.len, FILE_BYTES);
    assert_memory_equal(a.data, again.data, FILE_BYTES);

    uint8_t header[HEADER_BYTES];
    memcpy(header, "QSDCCKPT", 8);
    put_le(header + 8, 2, 4);
    put_le(header + 12, c.model_hash, 8);
    put_le(header + 20, c.epoch, 8);
    put_le(header + 28, c.step, 8);
    put_le(header + 36, c.seed, 8);
    put_le(header + 44, c.batch, 8);
    put_le(header + 52, NP, 8);
    put_le(header + 60, NS, 8);
    assert_memory_equal(a.data, header, HEADER_BYTES);
    for (int i = 0; i < NP + NS; i++) {
        uint32_t bits;
        memcpy(&bits, i < NP ? &params[i] : &state[i - NP], 4);
        uint8_t le[4];
        put_le(le, bits, 4);
        assert_memory_equal(a.data + HEADER_BYTES + 4 * i, le, 4);
    }
    uint8_t crc[4];
    put_le(crc, crc32(0, a.data, FILE_BYTES - 4), 4);
    assert_memory_equal(a.data + FILE_BYTES - 4, crc, 4);
    free(a.data);
    free(b.data);
    free(again.data);
}

static void test_creates_directories(void **state_)
{
    (void)state_;
    float params[NP], state[NS];
    checkpoint c = sample(params, state), back;
    const char *dir = new_dir("deep/er/dir");
    save_ok(dir, &c);
    qsdc_error err = {{0}};
    assert_int_equal(checkpoint_load(dir, &back, &err), 0);
    checkpoint_free(&back);
    struct stat st;
    assert_int_equal(stat(ts_fmt("%s/checkpoint.bin.tmp", dir), &st), -1);
}

static void test_missing(void **state_)
{
    (void)state_;
    const char *dir = new_dir("empty");
    expect_load_error(dir, ts_fmt("no checkpoint in %s (%s/checkpoint.bin does "
                               "not exist)", dir, dir));
    /* a FIFO in its place is refused at once, not waited on for a writer */
    assert_int_equal(mkdir(dir, 0700), 0);
    const char *fifo = ts_fifo("empty/checkpoint.bin");
    expect_load_error(dir, ts_fmt("%s: cannot open: not a regular file (a FIFO)", fifo));
}

static void test_checksum(void **state_)
{
    (void)state_;
    file_bytes b;
    const char *dir = saved_sample("crc", &b);
    char path[1200];
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    uint32_t stored = (uint32_t)b.data[FILE_BYTES - 4] |
                      (uint32_t)b.data[FILE_BYTES - 3] << 8 |
                      (uint32_t)b.data[FILE_BYTES - 2] << 16 |
                      (uint32_t)b.data[FILE_BYTES - 1] << 24;
    /* A byte in the middle of the parameters, then one in the header's
     * epoch field: both read fine structurally, only the crc catches them. */
    const size_t spots[] = {FILE_BYTES / 2, 20};
    for (int k = 0; k < 2; k++) {
        b.data[spots[k]] ^= 0x10;
        uint32_t computed = (uint32_t)crc32(0, b.data, FILE_BYTES - 4);
        write_all(path, b.data, b.len);
        expect_load_error(dir, ts_fmt("%s: checksum mismatch (stored 0x%08x, "
                                   "computed 0x%08x): the file is corrupt",
                                   path, stored, computed));
        b.data[spots[k]] ^= 0x10;
    }
    free(b.data);
}

static void test_truncated(void **state_)
{
    (void)state_;
    file_bytes b;
    const char *dir = saved_sample("trunc", &b);
    char path[1200];
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    const size_t in_header[] = {0, 5, 8, 11, 12, 44, 67};
    for (size_t i = 0; i < sizeof in_header / sizeof in_header[0]; i++) {
        write_all(path, b.data, in_header[i]);
        expect_load_error(dir, ts_fmt("%s: offset %zu: unexpected end of file, "
                                   "expected 68 bytes of header", path,
                                   in_header[i]));
    }
    const size_t in_body[] = {68, 69, 4068, FILE_BYTES - 4, FILE_BYTES - 1};
    for (size_t i = 0; i < sizeof in_body / sizeof in_body[0]; i++) {
        write_all(path, b.data, in_body[i]);
        expect_load_error(dir, ts_fmt("%s: offset %zu: unexpected end of file, "
                                   "header declares 1000 parameters and 2000 "
                                   "state values, expected %d bytes", path,
                                   in_body[i], FILE_BYTES));
    }
    free(b.data);
}

static void test_trailing_bytes(void **state_)
{
    (void)state_;
    file_bytes b;
    const char *dir = saved_sample("trail", &b);
    char path[1200];
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    memset(b.data + FILE_BYTES, 0, 3);
    write_all(path, b.data, FILE_BYTES + 3);
    expect_load_error(dir, ts_fmt("%s: offset %d: 3 unexpected bytes after the "
                               "checksum", path, FILE_BYTES));
    free(b.data);
}

static void test_bad_magic_and_version(void **state_)
{
    (void)state_;
    file_bytes b;
    const char *dir = saved_sample("magic", &b);
    char path[1200];
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    b.data[3] = 'X';
    write_all(path, b.data, b.len);
    expect_load_error(dir, ts_fmt("%s: offset 0: bad magic: not a qsdc checkpoint",
                               path));
    /* Garbage shorter than the magic is still recognised as not ours. */
    write_all(path, (const uint8_t *)"PK\3", 3);
    expect_load_error(dir, ts_fmt("%s: offset 0: bad magic: not a qsdc checkpoint",
                               path));
    b.data[3] = 'C';
    b.data[8] = 3;
    write_all(path, b.data, b.len);
    expect_load_error(dir, ts_fmt("%s: offset 8: unsupported checkpoint format "
                               "version 3 (this build reads version 2)", path));
    /* the version before this one is named as an older qsdc's */
    b.data[8] = 1;
    write_all(path, b.data, b.len);
    expect_load_error(dir, ts_fmt("%s: offset 8: checkpoint format version 1, written by "
                                  "an older qsdc whose checkpoints did not record the "
                                  "model's activations, regularisers or batch; this build "
                                  "reads version 2: train again to make a checkpoint it can "
                                  "check", path));
    free(b.data);
}

static void test_absurd_sizes(void **state_)
{
    (void)state_;
    file_bytes b;
    const char *dir = saved_sample("absurd", &b);
    char path[1200];
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    put_le(b.data + 52, UINT64_C(1) << 62, 8);
    write_all(path, b.data, b.len);
    expect_load_error(dir, ts_fmt("%s: offset 52: header declares 4611686018427387904 "
                               "parameters and 2000 state values: impossible "
                               "sizes, the file is corrupt", path));
    /* -1 as n_state. */
    put_le(b.data + 52, NP, 8);
    put_le(b.data + 60, UINT64_MAX, 8);
    write_all(path, b.data, b.len);
    expect_load_error(dir, ts_fmt("%s: offset 52: header declares 1000 parameters "
                               "and -1 state values: impossible sizes, the file "
                               "is corrupt", path));
    /* Plausible counts that the file is far too small for: caught against
     * the file size before anything is allocated. */
    put_le(b.data + 60, UINT64_C(1) << 40, 8);
    write_all(path, b.data, b.len);
    expect_load_error(dir, ts_fmt("%s: offset %d: unexpected end of file, header "
                               "declares 1000 parameters and 1099511627776 state "
                               "values, expected 4398046515176 bytes", path,
                               FILE_BYTES));
    free(b.data);
}

/* A temporary name no other writer uses: a save leaves another writer's
 * temporary file alone, and claiming the directory (lock held, so no other
 * writer is live) removes what a crashed save left. */
static void test_stale_tmp(void **state_)
{
    (void)state_;
    file_bytes b;
    const char *dir = saved_sample("stale", &b);
    const char *tmp = ts_fmt("%s/checkpoint.bin.tmp", dir);
    write_all(tmp, (const uint8_t *)"QSDCCKPT half-written", 21);
    checkpoint back;
    qsdc_error err = {{0}};
    assert_int_equal(checkpoint_load(dir, &back, &err), 0);
    assert_int_equal(back.n_params, NP);
    checkpoint_free(&back);
    float params[NP], state[NS];
    checkpoint c = sample(params, state);
    save_ok(dir, &c);
    file_bytes other = read_all(tmp);
    assert_int_equal(other.len, 21);
    free(other.data);
    file_bytes again = read_all(ts_fmt("%s/checkpoint.bin", dir));
    assert_memory_equal(again.data, b.data, FILE_BYTES);
    int fd = checkpoint_claim_dir(dir, &err);
    assert_true(fd >= 0);
    close(fd);
    struct stat st;
    assert_int_equal(stat(tmp, &st), -1);
    free(b.data);
    free(again.data);
}

/* One writer per directory: a second claim fails, naming the holder. */
static void test_claim_locks(void **state_)
{
    (void)state_;
    const char *dir = new_dir("claimed/sub");
    qsdc_error err = {{0}};
    int fd = checkpoint_claim_dir(dir, &err);
    if (fd < 0)
        fail_msg("%s", err.message);
    assert_int_equal(checkpoint_claim_dir(dir, &err), -1);
    const char *want = ts_fmt("%s: in use by another qsdc train (pid %ld, holding %s/"
                              "checkpoint.lock)", dir, (long)getpid(), dir);
    if (!strstr(err.message, want))
        fail_msg("expected '%s' in: %s", want, err.message);
    close(fd);
    fd = checkpoint_claim_dir(dir, &err);
    assert_true(fd >= 0);
    close(fd);
}

/* A directory no file can be made in fails the claim, before any training.
 * Root writes anywhere chmod forbids: /proc/1 is unwritable even to root. */
static void test_claim_read_only(void **state_)
{
    (void)state_;
    const char *dir = "/proc/1";
    if (geteuid() != 0) {
        dir = new_dir("read-only");
        mkdir(dir, 0755);
        assert_int_equal(chmod(dir, 0555), 0);
    }
    qsdc_error err = {{0}};
    assert_int_equal(checkpoint_claim_dir(dir, &err), -1);
    const char *want = ts_fmt("checkpoint directory %s is not writable", dir);
    if (!strstr(err.message, want))
        fail_msg("expected '%s' in: %s", want, err.message);
    if (geteuid() != 0)
        chmod(dir, 0755);
}

static void test_check_mismatch(void **state_)
{
    (void)state_;
    float params[10] = {0};
    checkpoint c = {.model_hash = 0xabcu, .n_params = 10, .params = params, .n_state = 20};
    qsdc_error err = {{0}};
    assert_int_equal(checkpoint_check(&c, 0xabcu, 10, 20, "run", &err), 0);
    assert_int_equal(checkpoint_check(&c, 0xdefu, 12, 20, "run", &err), -1);
    assert_string_equal(err.message, "run/checkpoint.bin: saved for a different "
                        "model (architecture hash 0000000000000abc, 10 "
                        "parameters); this model has hash 0000000000000def, 12 "
                        "parameters");
    assert_int_equal(checkpoint_check(&c, 0xabcu, 11, 20, "run", &err), -1);
    assert_string_equal(err.message, "run/checkpoint.bin: holds 10 parameters "
                        "but the model has 11");
    assert_int_equal(checkpoint_check(&c, 0xabcu, 10, 0, "run", &err), -1);
    assert_string_equal(err.message, "run/checkpoint.bin: holds 20 optimiser "
                        "state values but this run's optimiser needs 0 (was it "
                        "saved with a different optimiser?)");
    /* a NaN saved with a valid checksum: no model to evaluate or train on */
    assert_int_equal(checkpoint_check_finite(&c, "run", &err), 0);
    params[7] = NAN;
    assert_int_equal(checkpoint_check_finite(&c, "run", &err), -1);
    assert_string_equal(err.message, "run/checkpoint.bin: parameter 7 of 10 is nan: the "
                        "saved model is unusable");
}

static void test_save_rejects_invalid(void **state_)
{
    (void)state_;
    checkpoint c = {.n_params = 5, .params = NULL};
    qsdc_error err = {{0}};
    const char *dir = new_dir("invalid");
    assert_int_equal(checkpoint_save(dir, &c, &err), -1);
    assert_string_equal(err.message, ts_fmt("%s: invalid checkpoint to save (5 "
                                         "parameters, 0 state values)", dir));
    /* A directory path that runs through a regular file. */
    const char *file = ts_write("plain-file", "x", 1);
    float p[1] = {1.0f};
    c.params = p;
    c.n_params = 1;
    assert_int_equal(checkpoint_save(ts_fmt("%s/sub", file), &c, &err), -1);
    assert_string_equal(err.message, ts_fmt("%s/sub: cannot create directory: Not a "
                                         "directory", file));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_layout_and_determinism),
        cmocka_unit_test(test_creates_directories),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_checksum),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_bad_magic_and_version),
        cmocka_unit_test(test_absurd_sizes),
        cmocka_unit_test(test_stale_tmp),
        cmocka_unit_test(test_claim_locks),
        cmocka_unit_test(test_claim_read_only),
        cmocka_unit_test(test_check_mismatch),
        cmocka_unit_test(test_save_rejects_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, ts_teardown);
}
