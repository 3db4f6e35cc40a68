/*
 * Growable buffers and string vectors. Failure to allocate is sticky in the
 * buffer (oom) rather than fatal, so a run that hits out-of-memory ends with
 * a clean error instead of an abort.
 */
#include "buf.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void mig_buf_init(mig_buf *b)
{
    b->ptr = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

void mig_buf_release(mig_buf *b)
{
    free(b->ptr);
    mig_buf_init(b);
}

void mig_buf_clear(mig_buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

int mig_buf_grow(mig_buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > ((size_t)-1) / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = realloc(b->ptr, cap);
    if (p == NULL) {
        b->oom = 1;
        return -1;
    }
    b->ptr = p;
    b->cap = cap;
    return 0;
}

int mig_buf_put(mig_buf *b, const char *s, size_t n)
{
    if (mig_buf_grow(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->ptr + b->len, s, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return 0;
}

int mig_buf_puts(mig_buf *b, const char *s)
{
    return mig_buf_put(b, s, strlen(s));
}

int mig_buf_putc(mig_buf *b, char c)
{
    return mig_buf_put(b, &c, 1);
}

int mig_buf_vprintf(mig_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0 || mig_buf_grow(b, (size_t)n) < 0)
        return -1;
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int mig_buf_printf(mig_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = mig_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *mig_buf_detach(mig_buf *b)
{
    if (b->oom) {
        mig_buf_release(b);
        return NULL;
    }
    char *p = b->ptr ? b->ptr : mig_strdup("");
    mig_buf_init(b);
    return p;
}

const char *mig_buf_cstr(const mig_buf *b)
{
    return (b->ptr && !b->oom) ? b->ptr : "";
}

int mig_strvec_push_owned(mig_strvec *sv, char *s)
{
    if (s == NULL)
        return -1;
    if (sv->n + 2 > sv->cap) {
        /* most lists are one or two ids (a revision's down_revision):
         * start small, every revision of the graph holds one */
        size_t cap = sv->cap ? sv->cap * 2 : 2;
        char **v = realloc(sv->v, cap * sizeof *v);
        if (v == NULL) {
            free(s);
            return -1;
        }
        sv->v = v;
        sv->cap = cap;
    }
    sv->v[sv->n++] = s;
    sv->v[sv->n] = NULL;
    return 0;
}

int mig_strvec_push(mig_strvec *sv, const char *s)
{
    return mig_strvec_push_owned(sv, mig_strdup(s));
}

int mig_strvec_contains(const mig_strvec *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++)
        if (strcmp(sv->v[i], s) == 0)
            return 1;
    return 0;
}

int mig_strvec_dedup(mig_strvec *sv)
{
    if (sv->n < 2)
        return 0;
    /* open addressing over the kept strings: linear, where a contains() per item is quadratic */
    size_t cap = 16;
    while (cap < sv->n * 2)
        cap *= 2;
    char **slot = calloc(cap, sizeof *slot);
    if (slot == NULL)
        return -1;
    size_t kept = 0;
    for (size_t i = 0; i < sv->n; i++) {
        uint64_t h = 1469598103934665603u;
        for (const unsigned char *p = (const unsigned char *)sv->v[i]; *p; p++)
            h = (h ^ *p) * 1099511628211u;
        size_t k = (size_t)h & (cap - 1);
        while (slot[k] && strcmp(slot[k], sv->v[i]) != 0)
            k = (k + 1) & (cap - 1);
        if (slot[k]) {
            free(sv->v[i]);
            continue;
        }
        slot[k] = sv->v[i];
        sv->v[kept++] = sv->v[i];
    }
    free(slot);
    sv->n = kept;
    sv->v[kept] = NULL;
    return 0;
}

void mig_strvec_remove_at(mig_strvec *sv, size_t i)
{
    if (i >= sv->n)
        return;
    free(sv->v[i]);
    memmove(sv->v + i, sv->v + i + 1, (sv->n - i) * sizeof *sv->v);
    sv->n--;
}

void mig_strvec_release(mig_strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}

char *mig_strndup(const char *s, size_t n)
{
    if (s == NULL)
        return NULL;
    char *p = malloc(n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *mig_strdup(const char *s)
{
    return s ? mig_strndup(s, strlen(s)) : NULL;
}

char *mig_aprintf(const char *fmt, ...)
{
    mig_buf b = MIG_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    mig_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return mig_buf_detach(&b);
}

/* Blanks at the start of line s[0..n). */
static size_t indent_of(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

int mig_buf_put_statement(mig_buf *b, const char *sql, size_t n, size_t max)
{
    static const char label[] = "statement: ";
    /* from the start of the first line with text, so its indentation counts */
    size_t start = 0;
    for (size_t i = 0; i < n && (sql[i] == ' ' || sql[i] == '\t' || sql[i] == '\r' || sql[i] == '\n'); i++)
        if (sql[i] == '\n')
            start = i + 1;
    while (n > start &&
           (sql[n - 1] == ' ' || sql[n - 1] == '\t' || sql[n - 1] == '\r' || sql[n - 1] == '\n'))
        n--;
    size_t first = indent_of(sql + start, n - start);
    int cut = n - (start + first) > max;
    if (cut)
        n = start + first + max;
    /* the indentation every line with text shares */
    size_t common = first;
    for (size_t i = start; i < n;) {
        size_t e = i;
        while (e < n && sql[e] != '\n')
            e++;
        size_t in = indent_of(sql + i, e - i);
        if (i > start && in < e - i && sql[i + in] != '\r' && in < common)
            common = in;
        i = e + 1;
    }
    int rc = mig_buf_puts(b, label);
    for (size_t i = start; rc == 0 && i < n;) {
        size_t e = i;
        while (e < n && sql[e] != '\n')
            e++;
        size_t end = e;
        while (end > i && (sql[end - 1] == '\r' || sql[end - 1] == ' ' || sql[end - 1] == '\t'))
            end--;
        size_t in = indent_of(sql + i, end - i);
        size_t skip = i == start ? in : in < common ? in : common;
        if (i > start) {
            rc |= mig_buf_putc(b, '\n');
            for (size_t k = 0; k < sizeof label - 1; k++)
                rc |= mig_buf_putc(b, ' ');
        }
        rc |= mig_buf_put(b, sql + i + skip, end - i - skip);
        i = e + 1;
    }
    if (cut)
        rc |= mig_buf_puts(b, " ...");
    return rc ? -1 : 0;
}

int mig_parse_duration_ms(const char *s, size_t n, long long *out_ms)
{
    size_t i = 0;
    long long v = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        /* stop before overflow: anything this long is out of range anyway */
        if (v > MIG_DURATION_MAX_MS)
            return -1;
        v = v * 10 + (s[i++] - '0');
    }
    if (i == 0)
        return -1;
    size_t ulen = n - i;
    const char *u = s + i;
    long long scale;
    if (ulen == 0 || (ulen == 1 && u[0] == 's'))
        scale = 1000;
    else if (ulen == 2 && memcmp(u, "ms", 2) == 0)
        scale = 1;
    else if (ulen == 3 && memcmp(u, "min", 3) == 0)
        scale = 60000;
    else
        return -1;
    if (v > MIG_DURATION_MAX_MS / scale)
        return -1;
    *out_ms = v * scale;
    return 0;
}
