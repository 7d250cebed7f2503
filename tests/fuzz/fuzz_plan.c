/* libFuzzer harness: the bundle reader, plan_yaml_read, on the input as
 * plan.yaml in a directory that also holds kernels.cl and train.cl (the
 * sources a plan may name). A rejected file must fail with a message naming
 * it. An accepted one must survive a round trip: its plans written by
 * plan_yaml_write, read back and written again give the same text. */
#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "fuzz_common.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char source[] = "__kernel void k0(__global float *P) { P[0] = 1.0f; }\n";

static void write_sources(void)
{
    static int done;
    if (done)
        return;
    fuzz_write("kernels.cl", (const uint8_t *)source, sizeof source - 1);
    fuzz_write("train.cl", (const uint8_t *)source, sizeof source - 1);
    done = 1;
}

/* plan_yaml_write of plans, failing loudly: the plans loaded, so they must
 * be writable. */
static void render(const plan *plans, int n, strbuf *out)
{
    const plan *ptrs[2];
    if (n > 2)
        abort();
    for (int i = 0; i < n; i++)
        ptrs[i] = &plans[i];
    qsdc_error err = {{0}};
    sb_init(out);
    if (plan_yaml_write(out, ptrs, n, &err) < 0 || sb_check(out, &err) < 0) {
        fprintf(stderr, "a loaded plan cannot be written: %s\n", err.message);
        abort();
    }
}

static void round_trip(const plan *plans, int n)
{
    strbuf first, second;
    render(plans, n, &first);
    const char *path =
        fuzz_write("again.yaml", (const uint8_t *)first.data, first.len);
    plan *back;
    int n_back;
    qsdc_error err = {{0}};
    if (plan_yaml_read(path, &back, &n_back, &err) < 0) {
        fprintf(stderr, "a written plan does not read back: %s\n%s", err.message,
                first.data);
        abort();
    }
    render(back, n_back, &second);
    if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0) {
        fprintf(stderr, "plan.yaml round trip differs:\n%s\n---\n%s", first.data,
                second.data);
        abort();
    }
    plan_yaml_free(back, n_back);
    sb_free(&first);
    sb_free(&second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_sources();
    const char *path = fuzz_write("plan.yaml", data, size);
    plan *plans;
    int n;
    qsdc_error err = {{0}};
    if (plan_yaml_read(path, &plans, &n, &err) < 0) {
        fuzz_expect_error(&err, path);
        return 0;
    }
    round_trip(plans, n);
    plan_yaml_free(plans, n);
    return 0;
}
