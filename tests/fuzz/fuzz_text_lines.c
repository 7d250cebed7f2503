/* libFuzzer harness: a saved vocabulary (runtime/vocab_file.c) and raw text
 * read with it (runtime/data_text_lines.c), both from the input:
 *
 *   byte 0      the sample length: 1 + byte % 8 tokens
 *   bytes 1-2   the vocabulary's length (little-endian, reduced modulo what
 *               is left)
 *   the rest    vocab.txt, then the text
 *
 * Loaded texts must be token ids of the vocabulary or padding; a rejected
 * pair must fail with a message naming one of the two files, or the folder
 * that holds no vocabulary. */
#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "fuzz_common.h"
#include "fuzz_file.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    int64_t steps = 1 + data[0] % 8;
    size_t rest = size - 3, n_vocab = ((size_t)data[1] | (size_t)data[2] << 8) % (rest + 1);
    const char *vocab = fuzz_write("vocab.txt", data + 3, n_vocab);
    const char *text = fuzz_write("in.txt", data + 3 + n_vocab, rest - n_vocab);
    text_vocab v;
    vocab_settings s;
    qsdc_error err = {{0}};
    int32_t size_read = 0;
    if (vocab_file_read(fuzz_dir(), &v, &s, &err) == 0) {
        size_read = v.size;
        text_vocab_free(&v);
    }
    dataset d;
    if (text_lines_load(text, fuzz_dir(), steps, &d, &err) < 0) {
        bool names_text = strncmp(err.message, text, strlen(text)) == 0;
        bool names_dir = strncmp(err.message, fuzz_dir(), strlen(fuzz_dir())) == 0;
        fuzz_expect_error(&err, names_text ? text : names_dir ? fuzz_dir() : vocab);
        return 0;
    }
    if (d.count < 1 || d.sample_elems != steps || !d.integers || d.y)
        abort();
    for (int64_t i = 0; i < d.count * steps; i++)
        if (!(d.x[i] == QSDC_PAD_ID || (d.x[i] >= 0 && d.x[i] < (float)size_read)))
            abort();
    dataset_free(&d);
    return 0;
}
