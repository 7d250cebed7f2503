/* UTF-8 validation and the word and character tokenisers (rules in text.h).
 * The tokenisers work on bytes: every byte of a multi-byte UTF-8 sequence
 * is 0x80 or above, so a word run never splits a code point. */
#include "text.h"

#include <stdbool.h>

/* Length of the valid UTF-8 sequence at s[0, n), or 0 when it is not one
 * (RFC 3629: no overlong forms, surrogates or code points past U+10FFFF). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char b = s[0];
    if (b < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;   /* range of the second byte */
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

int text_check_utf8(const char *path, const unsigned char *data, size_t len,
                    qsdc_error *err)
{
    size_t line = 1, line_start = 0;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq_len(data + i, len - i);
        if (n == 0)
            return qsdc_fail_at(err, path, (int)line, (int)(i - line_start + 1),
                                "invalid UTF-8: byte 0x%02X at offset %zu does "
                                "not start a valid sequence%s", data[i], i,
                                data[i] >= 0xC2 && data[i] <= 0xF4 &&
                                len - i < 4 ? " (or the file is cut short)"
                                : "");
        if (data[i] == '\n') {
            line++;
            line_start = i + 1;
        }
        i += n;
    }
    return 0;
}

size_t text_bom_len(const unsigned char *data, size_t len)
{
    return len >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF
           ? 3 : 0;
}

void text_lower_ascii(unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            s[i] = (unsigned char)(s[i] - 'A' + 'a');
}

static bool is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7F;
}

static bool is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c >= 0x80;
}

int text_next_token(const unsigned char *s, size_t len, text_level level,
                    size_t *pos, size_t *start, size_t *tok_len)
{
    size_t p = *pos;
    if (level == TEXT_CHARS) {
        while (p < len && is_control(s[p]))
            p++;
        if (p == len) {
            *pos = p;
            return 0;
        }
        size_t n = utf8_seq_len(s + p, len - p);
        *start = p;
        p += n ? n : 1;   /* input is validated; 1 keeps a bad byte finite */
    } else {
        while (p < len && (is_control(s[p]) || s[p] == ' '))
            p++;
        if (p == len) {
            *pos = p;
            return 0;
        }
        *start = p;
        if (!is_word_byte(s[p]))
            p++;
        else
            while (p < len && is_word_byte(s[p]))
                p++;
    }
    *tok_len = p - *start;
    *pos = p;
    return 1;
}
