/* libFuzzer harness: the checkpoint reader (runtime/checkpoint.c) on the
 * input as DIR/checkpoint.bin. A rejected file must fail with a message
 * naming it; an accepted one must be exactly what checkpoint_save writes
 * for the record it loaded (the format has one serialisation), and
 * checkpoint_check must accept it against its own counts and reject it
 * against others. */
#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "fuzz_common.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *read_back(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        abort();
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    char *b = malloc(*len + 1);
    if (!b || fread(b, 1, *len, f) != *len)
        abort();
    fclose(f);
    return b;
}

static void check_loaded(const checkpoint *c, const uint8_t *data, size_t size)
{
    qsdc_error err = {{0}};
    if (checkpoint_check(c, c->model_hash, c->n_params, c->n_state, "dir", &err) < 0)
        abort();
    if (checkpoint_check(c, c->model_hash ^ 1, c->n_params, c->n_state, "dir", &err) == 0 ||
        checkpoint_check(c, c->model_hash, c->n_params + 1, c->n_state, "dir", &err) == 0 ||
        checkpoint_check(c, c->model_hash, c->n_params, c->n_state + 1, "dir", &err) == 0)
        abort();
    fuzz_expect_error(&err, "dir/checkpoint.bin");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/saved", fuzz_dir());
    if (checkpoint_save(dir, c, &err) < 0) {
        fprintf(stderr, "%s\n", err.message);
        abort();
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    size_t len;
    char *saved = read_back(path, &len);
    if (len != size || memcmp(saved, data, size) != 0) {
        fprintf(stderr, "a loaded checkpoint saves to different bytes\n");
        abort();
    }
    free(saved);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("checkpoint.bin", data, size);
    checkpoint c;
    qsdc_error err = {{0}};
    if (checkpoint_load(fuzz_dir(), &c, &err) < 0) {
        fuzz_expect_error(&err, path);
        return 0;
    }
    check_loaded(&c, data, size);
    checkpoint_free(&c);
    return 0;
}
