#include "json_string.h"

#include <stdbool.h>
#include <stdint.h>

/* The code point of the UTF-8 sequence at s and its length in bytes; -1
 * and 1 where s starts none. */
static int32_t utf8_decode(const unsigned char *s, int *len)
{
    static const int32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    *len = 1;
    if (s[0] < 0x80)
        return s[0];
    if (s[0] < 0xc2 || s[0] > 0xf4)
        return -1;
    int n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
    int32_t c = s[0] & (0x3f >> (n - 1));
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* the terminating NUL stops here too */
            return -1;
        c = c << 6 | (s[i] & 0x3f);
    }
    if (c < smallest[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return -1;
    *len = n;
    return c;
}

static bool needs_escape(int32_t c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
           c == 0xfffe || c == 0xffff;
}

void json_put_string(strbuf *sb, const char *s)
{
    sb_append(sb, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int len;
        int32_t c = utf8_decode(p, &len);
        if (c == '"' || c == '\\')
            sb_printf(sb, "\\%c", (char)c);
        else if (c < 0)
            sb_append(sb, "\\ufffd");
        else if (needs_escape(c))
            sb_printf(sb, "\\u%04x", (unsigned)c);
        else
            sb_appendn(sb, (const char *)p, (size_t)len);
        p += len;
    }
    sb_append(sb, "\"");
}
