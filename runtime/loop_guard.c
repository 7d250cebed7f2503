#include "loop_guard.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char probe_source[] =
    "__kernel void qsdc_loop_probe(__global uint *out, const uint n)\n"
    "{\n"
    "    uint c = 0u;\n"
    "    for (uint i = 0u; i < n; ++i)\n"
    "        ++c;\n"
    "    out[0] = c;\n"
    "}\n";

int loop_limit_probe(cl_env *env, qsdc_error *err)
{
    cl_build_result br;
    if (cl_build_program(env, probe_source, NULL, &br, err) < 0)
        return qsdc_error_wrap(err, "building the loop-limit probe");
    cl_int rc;
    cl_kernel k = clCreateKernel(br.program, "qsdc_loop_probe", &rc);
    cl_mem out = rc == CL_SUCCESS ? clCreateBuffer(env->ctx, CL_MEM_READ_WRITE, 4, NULL, &rc)
                                  : NULL;
    const cl_uint n = 1u << 20;
    cl_uint ran = 0;
    size_t one = 1;
    if (rc == CL_SUCCESS)
        rc = clSetKernelArg(k, 0, sizeof out, &out);
    if (rc == CL_SUCCESS)
        rc = clSetKernelArg(k, 1, sizeof n, &n);
    if (rc == CL_SUCCESS)
        rc = clEnqueueNDRangeKernel(env->queue, k, 1, NULL, &one, &one, 0, NULL, NULL);
    if (rc == CL_SUCCESS)
        rc = clEnqueueReadBuffer(env->queue, out, CL_TRUE, 0, sizeof ran, &ran, 0, NULL, NULL);
    if (out)
        clReleaseMemObject(out);
    if (k)
        clReleaseKernel(k);
    clReleaseProgram(br.program);
    if (cl_check(rc, "running the loop-limit probe", err) < 0)
        return -1;
    env->dev.loop_limit = ran >= n ? 0 : ran;
    return 0;
}

/* The position just past the comment or literal starting at s, or s. */
static const char *skip_comment(const char *s)
{
    if (s[0] == '/' && s[1] == '*') {
        const char *end = strstr(s + 2, "*/");
        return end ? end + 2 : s + strlen(s);
    }
    if (s[0] == '/' && s[1] == '/') {
        const char *end = strchr(s, '\n');
        return end ? end : s + strlen(s);
    }
    if (*s == '"' || *s == '\'') {
        char q = *s++;
        while (*s && *s != q)
            s += s[0] == '\\' && s[1] ? 2 : 1;
        return *s ? s + 1 : s;
    }
    return s;
}

/* The closing bracket matching the opening one at s, or NULL. */
static const char *match_bracket(const char *s)
{
    char open = *s, close = open == '(' ? ')' : '}';
    int depth = 0;
    while (*s) {
        const char *next = skip_comment(s);
        if (next != s) {
            s = next;
            continue;
        }
        if (*s == open)
            depth++;
        else if (*s == close && --depth == 0)
            return s;
        s++;
    }
    return NULL;
}

static bool is_ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* The next "__kernel" keyword at or after s outside comments, or NULL. */
static const char *next_kernel(const char *s)
{
    while (*s) {
        const char *next = skip_comment(s);
        if (next != s) {
            s = next;
            continue;
        }
        if (strncmp(s, "__kernel", 8) == 0 && !is_ident_char(s[8]))
            return s;
        s++;
    }
    return NULL;
}

/* A kernel's parts: its name, its parameter list's brackets and its body's. */
typedef struct kernel_span {
    const char *name, *params_open, *params_close, *body_open, *body_close;
    size_t name_len;
} kernel_span;

static int find_kernel(const char *kw, kernel_span *k)
{
    const char *s = strstr(kw, "void");
    k->params_open = s ? strchr(s, '(') : NULL;
    if (!k->params_open)
        return -1;
    const char *e = k->params_open;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    k->name = e;
    while (k->name > s && is_ident_char(k->name[-1]))
        k->name--;
    k->name_len = (size_t)(e - k->name);
    k->params_close = match_bracket(k->params_open);
    k->body_open = k->params_close ? strchr(k->params_close, '{') : NULL;
    k->body_close = k->body_open ? match_bracket(k->body_open) : NULL;
    return k->name_len > 0 && k->body_close ? 0 : -1;
}

int loop_guard_source(const char *source, strbuf *out, qsdc_error *err)
{
    const char *s = source, *kw;
    int id = 0;
    while ((kw = next_kernel(s)) != NULL) {
        kernel_span k;
        if (find_kernel(kw, &k) < 0)
            return qsdc_fail(err, "loop guard: cannot find the parameters and body of "
                             "the kernel at offset %td", kw - source);
        sb_appendn(out, s, (size_t)(k.params_close - s));
        sb_append(out, ", __global uint *qsdc_loop");
        sb_appendn(out, k.params_close, (size_t)(k.body_close - k.params_close));
        sb_printf(out,
                  "    { /* loop guard (loop_guard.h) */\n"
                  "        uint qsdc_n = 0u;\n"
                  "        for (uint qsdc_i = 0u; qsdc_i < qsdc_loop[1]; ++qsdc_i)\n"
                  "            ++qsdc_n;\n"
                  "        if (qsdc_n != qsdc_loop[1])\n"
                  "            qsdc_loop[0] = %du;\n"
                  "    }\n",
                  ++id);
        s = k.body_close;
    }
    sb_append(out, s);
    return sb_check(out, err);
}

void loop_guard_kernel_name(const char *source, int n, char *buf, size_t len)
{
    const char *s = source, *kw;
    for (int i = 0; (kw = next_kernel(s)) != NULL; i++) {
        kernel_span k;
        if (find_kernel(kw, &k) < 0)
            break;
        if (i == n) {
            snprintf(buf, len, "%.*s", (int)k.name_len, k.name);
            return;
        }
        s = k.body_close;
    }
    snprintf(buf, len, "?");
}
