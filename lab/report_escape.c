#include "report_escape.h"

static bool is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

void report_put_gnuplot_string(strbuf *sb, const char *s)
{
    sb_append(sb, "'");
    for (; *s; s++)
        if (*s == '\'')
            sb_append(sb, "' . \"'\" . '");
        else
            sb_appendn(sb, is_control((unsigned char)*s) ? "?" : s, 1);
    sb_append(sb, "'");
}

bool report_gnuplot_exact(const char *s)
{
    for (; *s; s++)
        if (is_control((unsigned char)*s))
            return false;
    return true;
}

const char *report_markdown(const char *s, char *out, size_t n)
{
    size_t len = 0;
    for (; *s; s++) {
        bool escaped = *s == '|' || *s == '\\';
        if (len + escaped + 2 > n)
            break;
        if (escaped)
            out[len++] = '\\';
        out[len++] = is_control((unsigned char)*s) ? ' ' : *s;
    }
    if (n > 0)
        out[len] = '\0';
    return out;
}
