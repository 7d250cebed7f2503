/* Token counting and the vocabulary ranked by training frequency: an open
 * addressing hash table over slices of the caller's text, so counting a
 * corpus copies no token until the kept ones are ranked. */
#include "text.h"

#include <stdlib.h>
#include <string.h>

#define TABLE_INITIAL_SLOTS 1024

typedef struct word_slot {
    const unsigned char *s;     /* NULL: empty slot */
    size_t len;
    uint64_t hash;
    int64_t count;
    int32_t id;
} word_slot;

/* FNV-1a, 64-bit. */
static uint64_t hash_bytes(const unsigned char *s, size_t len)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static word_slot *find_slot(word_slot *slots, size_t cap, uint64_t hash,
                            const unsigned char *s, size_t len)
{
    size_t i = (size_t)hash & (cap - 1);
    while (slots[i].s && !(slots[i].hash == hash && slots[i].len == len &&
                           memcmp(slots[i].s, s, len) == 0))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* Doubles the table (cap stays a power of two, at most half full). */
static int grow(word_table *t, qsdc_error *err)
{
    size_t cap = t->cap ? t->cap * 2 : TABLE_INITIAL_SLOTS;
    if (cap > SIZE_MAX / sizeof(word_slot))
        return qsdc_fail(err, "out of memory counting %zu distinct tokens",
                         t->used);
    word_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return qsdc_fail(err, "out of memory counting %zu distinct tokens",
                         t->used);
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].s)
            *find_slot(slots, cap, t->slots[i].hash, t->slots[i].s,
                       t->slots[i].len) = t->slots[i];
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

int word_table_add(word_table *t, const unsigned char *s, size_t len,
                   qsdc_error *err)
{
    if (2 * (t->used + 1) > t->cap && grow(t, err) != 0)
        return -1;
    uint64_t h = hash_bytes(s, len);
    word_slot *slot = find_slot(t->slots, t->cap, h, s, len);
    if (!slot->s) {
        *slot = (word_slot){.s = s, .len = len, .hash = h};
        t->used++;
    }
    slot->count++;
    return 0;
}

int32_t word_table_id(const word_table *t, const unsigned char *s, size_t len)
{
    if (t->cap == 0)
        return -1;
    word_slot *slot = find_slot(t->slots, t->cap, hash_bytes(s, len), s, len);
    return slot->s ? slot->id : -1;
}

/* Count descending, then bytes ascending: a total order on distinct tokens,
 * so the ranking does not depend on hash order or qsort's stability. */
static int by_rank(const void *pa, const void *pb)
{
    const word_slot *a = *(const word_slot *const *)pa;
    const word_slot *b = *(const word_slot *const *)pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    if (c != 0)
        return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

/* One block holds every string; words[0] points at its start. */
static int fill_vocab(word_slot *const *ranked, size_t keep,
                      const char *const *specials, int n_specials,
                      text_vocab *out, qsdc_error *err)
{
    size_t n = (size_t)n_specials + keep, bytes = 0;
    for (int i = 0; i < n_specials; i++)
        bytes += strlen(specials[i]) + 1;
    for (size_t i = 0; i < keep; i++)
        bytes += ranked[i]->len + 1;
    char **words = malloc(n * sizeof *words);
    char *block = malloc(bytes);
    if (!words || !block) {
        free(words);
        free(block);
        return qsdc_fail(err, "out of memory building a vocabulary of %zu "
                         "tokens", n);
    }
    char *p = block;
    for (size_t i = 0; i < n; i++) {
        const char *s = i < (size_t)n_specials ? specials[i] : NULL;
        size_t len = s ? strlen(s) : ranked[i - (size_t)n_specials]->len;
        memcpy(p, s ? (const void *)s : ranked[i - (size_t)n_specials]->s, len);
        p[len] = '\0';
        words[i] = p;
        p += len + 1;
    }
    out->words = words;
    out->size = (int32_t)n;
    return 0;
}

int word_table_rank(word_table *t, int64_t cap, const char *const *specials,
                    int n_specials, int32_t unk, text_vocab *out,
                    qsdc_error *err)
{
    size_t keep = cap < 0 ? 0 : (uint64_t)cap < t->used ? (size_t)cap : t->used;
    if (keep > (size_t)(INT32_MAX - n_specials))
        return qsdc_fail(err, "a vocabulary of %zu tokens does not fit 32-bit "
                         "ids", keep);
    word_slot **ranked = malloc((t->used ? t->used : 1) * sizeof *ranked);
    if (!ranked)
        return qsdc_fail(err, "out of memory ranking %zu distinct tokens",
                         t->used);
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].s) {
            t->slots[i].id = unk;
            ranked[n++] = &t->slots[i];
        }
    qsort(ranked, n, sizeof *ranked, by_rank);
    for (size_t i = 0; i < keep; i++)
        ranked[i]->id = (int32_t)((size_t)n_specials + i);
    int rc = fill_vocab(ranked, keep, specials, n_specials, out, err);
    free(ranked);
    return rc;
}

void word_table_free(word_table *t)
{
    free(t->slots);
    memset(t, 0, sizeof *t);
}

void text_vocab_free(text_vocab *v)
{
    if (v->words && v->size > 0)
        free(v->words[0]);
    free(v->words);
    memset(v, 0, sizeof *v);
}
