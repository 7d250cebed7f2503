/* The vocabulary saved next to a text model's checkpoint (DIR/vocab.txt), so
 * that raw text is tokenised later exactly as training tokenised it:
 *
 *   qsdc vocab 1
 *   level word|char
 *   keep first|last
 *   unk ID
 *   tokens N
 *   checksum HEX          FNV-1a 64 of the token lines that follow
 *   TOKEN                 one line per id, from 0
 *
 * Tokens never hold a line break (they are cut from lines), so a line is a
 * token, spaces included. */
#include "text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "data.h"
#include "file_io.h"
#include "strbuf.h"

#define VOCAB_FILE "vocab.txt"
#define VOCAB_MAGIC "qsdc vocab 1\n"

int vocab_file_write(const char *dir, const text_vocab *v, const vocab_settings *s,
                     qsdc_error *err)
{
    strbuf tokens, head;
    sb_init(&tokens);
    sb_init(&head);
    for (int32_t i = 0; i < v->size; i++) {
        sb_append(&tokens, v->words[i]);
        sb_append(&tokens, "\n");
    }
    int rc = sb_check(&tokens, err);
    if (rc == 0) {
        const char *t = sb_str(&tokens);
        sb_printf(&head, VOCAB_MAGIC "level %s\nkeep %s\nunk %" PRId32 "\ntokens %" PRId32
                  "\nchecksum %016" PRIx64 "\n", s->level == TEXT_CHARS ? "char" : "word",
                  s->keep_last ? "last" : "first", s->unk, v->size,
                  checksum_of(t, strlen(t)));
        rc = sb_check(&head, err);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/" VOCAB_FILE, dir);
    if (rc == 0)
        rc = fs_write_atomic(path, sb_str(&head), strlen(sb_str(&head)), sb_str(&tokens),
                             strlen(sb_str(&tokens)), err);
    sb_free(&tokens);
    sb_free(&head);
    return rc;
}

/* "key VALUE\n" at *pos into value (at most cap - 1 bytes). */
static int read_field(const char *path, const char *b, size_t len, size_t *pos,
                      const char *key, char *value, size_t cap, qsdc_error *err)
{
    size_t k = strlen(key), at = *pos;
    const char *nl = memchr(b + at, '\n', len - at);
    if (!nl || (size_t)(nl - (b + at)) <= k + 1 || strncmp(b + at, key, k) != 0 ||
        b[at + k] != ' ' || (size_t)(nl - (b + at)) - k - 1 >= cap)
        return qsdc_fail(err, "%s: offset %zu: expected '%s VALUE' on its own line", path, at,
                         key);
    size_t n = (size_t)(nl - (b + at)) - k - 1;
    memcpy(value, b + at + k + 1, n);
    value[n] = '\0';
    *pos = (size_t)(nl - b) + 1;
    return 0;
}

static int read_header(const char *path, const char *b, size_t len, size_t *pos,
                       vocab_settings *s, int32_t *size, uint64_t *sum, qsdc_error *err)
{
    enum { LEVEL, KEEP, UNK, TOKENS, CHECKSUM, FIELDS };
    static const char *const keys[FIELDS] = {"level", "keep", "unk", "tokens", "checksum"};
    char v[FIELDS][24], *end;
    size_t at[FIELDS];
    if (len < strlen(VOCAB_MAGIC) || memcmp(b, VOCAB_MAGIC, strlen(VOCAB_MAGIC)) != 0)
        return qsdc_fail(err, "%s: offset 0: not a qsdc vocabulary of format 1 (it starts "
                         "with 'qsdc vocab 1')", path);
    *pos = strlen(VOCAB_MAGIC);
    for (int i = 0; i < FIELDS; i++) {
        at[i] = *pos;
        if (read_field(path, b, len, pos, keys[i], v[i], sizeof v[i], err) < 0)
            return -1;
    }
    if (strcmp(v[LEVEL], "word") && strcmp(v[LEVEL], "char"))
        return qsdc_fail(err, "%s: offset %zu: level '%s'; expected word or char", path,
                         at[LEVEL], v[LEVEL]);
    if (strcmp(v[KEEP], "first") && strcmp(v[KEEP], "last"))
        return qsdc_fail(err, "%s: offset %zu: keep '%s'; expected first or last", path,
                         at[KEEP], v[KEEP]);
    s->level = v[LEVEL][0] == 'c' ? TEXT_CHARS : TEXT_WORDS;
    s->keep_last = v[KEEP][0] == 'l';
    long long n = strtoll(v[TOKENS], &end, 10);
    if (*end || n < 1 || n > INT32_MAX)
        return qsdc_fail(err, "%s: offset %zu: token count '%s'", path, at[TOKENS], v[TOKENS]);
    *size = (int32_t)n;
    long long u = strtoll(v[UNK], &end, 10);
    if (*end || u < 0 || u >= n)
        return qsdc_fail(err, "%s: offset %zu: unk id '%s' is not one of the %lld tokens",
                         path, at[UNK], v[UNK], n);
    s->unk = (int32_t)u;
    *sum = strtoull(v[CHECKSUM], &end, 16);
    if (*end || strlen(v[CHECKSUM]) != 16)
        return qsdc_fail(err, "%s: offset %zu: checksum '%s' is not 16 hex digits", path,
                         at[CHECKSUM], v[CHECKSUM]);
    return 0;
}

int vocab_file_read(const char *dir, text_vocab *v, vocab_settings *s, qsdc_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/" VOCAB_FILE, dir);
    unsigned char *file;
    size_t len, pos = 0;
    memset(v, 0, sizeof *v);
    if (data_read_file(path, &file, &len, err) < 0)
        return qsdc_error_wrap(err, "%s holds no vocabulary for raw text (a text model's "
                               "qsdc train --checkpoint writes it)", dir);
    const char *b = (const char *)file;
    int32_t size = 0;
    uint64_t sum = 0;
    int rc = read_header(path, b, len, &pos, s, &size, &sum, err);
    if (rc == 0 && checksum_of(b + pos, len - pos) != sum)
        rc = qsdc_fail(err, "%s: offset %zu: the tokens do not match the checksum: the file "
                       "is damaged", path, pos);
    size_t lines = 0;
    for (size_t i = pos; rc == 0 && i < len; i++)
        lines += b[i] == '\n';
    if (rc == 0 && (lines != (size_t)size || (len > pos && b[len - 1] != '\n')))
        rc = qsdc_fail(err, "%s: offset %zu: %zu token lines; the header says %" PRId32,
                       path, pos, lines, size);
    char *block = rc == 0 ? malloc(len - pos) : NULL;
    v->words = rc == 0 ? malloc((size_t)size * sizeof *v->words) : NULL;
    if (rc == 0 && (!block || !v->words))
        rc = qsdc_fail(err, "%s: out of memory for %" PRId32 " tokens", path, size);
    if (rc == 0) {
        memcpy(block, b + pos, len - pos);
        char *p = block;
        for (int32_t i = 0; i < size; i++) {
            v->words[i] = p;
            p = strchr(p, '\n');
            *p++ = '\0';
        }
        v->size = size;
    } else {
        free(block);
        free(v->words);
        v->words = NULL;
    }
    free(file);
    return rc;
}

int vocab_file_save_for(const train_config *t, int64_t steps, const char *dir,
                        qsdc_error *err)
{
    vocab_settings s = {.level = t->text_chars ? TEXT_CHARS : TEXT_WORDS,
                        .keep_last = t->keep_last, .unk = TEXT_UNK};
    int rc;
    if (t->format == DATA_SENTIMENT) {
        sentiment_options opt = {.vocab_cap = t->vocab, .max_len = steps,
                                 .test_frac = t->test_split, .keep_last = t->keep_last,
                                 .seed = t->seed};
        sentiment_data sd;
        s.unk = SENT_UNK;
        rc = sentiment_load(t->text_path, &opt, &sd, err);
        if (rc == 0) {
            rc = vocab_file_write(dir, &sd.vocab, &s, err);
            sentiment_free(&sd);
        }
        return rc;
    }
    text_options opt = {.level = s.level, .vocab_cap = t->vocab, .train_frac = t->text_split[0],
                        .valid_frac = t->text_split[1]};
    text_corpus c;
    if (text_corpus_load(t->text_path, &opt, &c, err) < 0)
        return -1;
    rc = vocab_file_write(dir, &c.vocab, &s, err);
    text_corpus_free(&c);
    return rc;
}
