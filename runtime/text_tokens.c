/* UTF-8 validation and the word and character tokenisers (rules in text.h).
 * The tokenisers work on bytes: every byte of a multi-byte UTF-8 sequence
 * is 0x80 or above, so a word run never splits a code point. */
#include "text.h"

#include <stdbool.h>

typedef enum utf8_status { UTF8_OK, UTF8_INVALID, UTF8_CUT_SHORT } utf8_status;

/* Checks the sequence at s[0, n) (RFC 3629: no overlong forms, surrogates or
 * code points past U+10FFFF) and sets *len to its length; for UTF8_INVALID,
 * to the index of the first bad byte instead. UTF8_CUT_SHORT: a valid start
 * that the end of the data interrupts. */
static utf8_status utf8_sequence(const unsigned char *s, size_t n, size_t *len)
{
    unsigned char b = s[0];
    *len = 1;
    if (b < 0x80)
        return UTF8_OK;
    unsigned char lo = 0x80, hi = 0xBF;   /* range of the second byte */
    if (b >= 0xC2 && b <= 0xDF) {
        *len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
        *len = 3;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        *len = 4;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else {
        *len = 0;
        return UTF8_INVALID;
    }
    for (size_t i = 1; i < *len; i++) {
        if (i == n)
            return UTF8_CUT_SHORT;
        if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xBF)) {
            *len = i;
            return UTF8_INVALID;
        }
    }
    return UTF8_OK;
}

int text_check_utf8(const char *path, const unsigned char *data, size_t len,
                    qsdc_error *err)
{
    size_t line = 1, line_start = 0;
    for (size_t i = 0; i < len;) {
        size_t n;
        utf8_status st = utf8_sequence(data + i, len - i, &n);
        int line_no = (int)line, col = (int)(i - line_start + 1);
        if (st == UTF8_CUT_SHORT)
            return qsdc_fail_at(err, path, line_no, col, "invalid UTF-8: the "
                                "file ends inside the character that byte "
                                "0x%02X at offset %zu starts", data[i], i);
        if (st == UTF8_INVALID && n == 0)
            return qsdc_fail_at(err, path, line_no, col, "invalid UTF-8: byte "
                                "0x%02X at offset %zu cannot start a "
                                "character", data[i], i);
        if (st == UTF8_INVALID)
            return qsdc_fail_at(err, path, line_no, col, "invalid UTF-8: byte "
                                "0x%02X at offset %zu cannot follow 0x%02X "
                                "in a character", data[i + n], i + n, data[i]);
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
        size_t n;
        *start = p;
        p += utf8_sequence(s + p, len - p, &n) == UTF8_OK ? n : 1;
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
