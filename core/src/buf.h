/*
 * Growable byte buffers and small string helpers used across libmig.
 * A buffer remembers an allocation failure (oom) so callers can append
 * freely and check once; every function is safe on a buffer in that state.
 */
#ifndef MIG_BUF_H
#define MIG_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct mig_buf {
    char *ptr; /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    int oom;
} mig_buf;

#define MIG_BUF_INIT                                                                                    \
    {                                                                                                   \
        NULL, 0, 0, 0                                                                                   \
    }

void mig_buf_init(mig_buf *b);
void mig_buf_release(mig_buf *b);           /* frees, back to empty */
void mig_buf_clear(mig_buf *b);             /* len = 0, keeps memory */
int mig_buf_grow(mig_buf *b, size_t extra); /* 0 or -1 (oom) */
int mig_buf_put(mig_buf *b, const char *s, size_t n);
int mig_buf_puts(mig_buf *b, const char *s);
int mig_buf_putc(mig_buf *b, char c);
int mig_buf_printf(mig_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int mig_buf_vprintf(mig_buf *b, const char *fmt, va_list ap);
/* Returns the string (caller frees) and resets b; NULL on oom. */
char *mig_buf_detach(mig_buf *b);
/* "" when empty, never NULL. */
const char *mig_buf_cstr(const mig_buf *b);

/*
 * Append "statement: " and the SQL text sql[0..n) (at most max bytes of
 * it, then " ...") for an error detail: blank lines and blanks around it
 * trimmed, its line breaks kept, each further line indented under the
 * first (by the width of "statement: ") less the indentation all its lines
 * share; "\r\n" read as "\n". The CLI shows such indented lines under the
 * first rather than as details of their own.
 */
int mig_buf_put_statement(mig_buf *b, const char *sql, size_t n, size_t max);

/* A NULL-terminated growable vector of owned strings. */
typedef struct mig_strvec {
    char **v;
    size_t n;
    size_t cap;
} mig_strvec;

#define MIG_STRVEC_INIT                                                                                 \
    {                                                                                                   \
        NULL, 0, 0                                                                                      \
    }
int mig_strvec_push(mig_strvec *sv, const char *s); /* copies s */
int mig_strvec_push_owned(mig_strvec *sv, char *s); /* takes s */
int mig_strvec_contains(const mig_strvec *sv, const char *s);
int mig_strvec_dedup(mig_strvec *sv); /* keeps the first of equal strings, in order; -1 on oom */
void mig_strvec_remove_at(mig_strvec *sv, size_t i);
void mig_strvec_release(mig_strvec *sv);

char *mig_strdup(const char *s); /* NULL on oom or NULL input */
char *mig_strndup(const char *s, size_t n);
char *mig_aprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A duration as revision headers and mig.ini write it: digits with `ms`,
 * `s` or `min` (a bare number is seconds), into milliseconds. 0, or -1
 * when it is no such duration (a sign, a fraction, another unit) or is
 * longer than MIG_DURATION_MAX_MS.
 */
#define MIG_DURATION_MAX_MS 2147483647LL /* PostgreSQL's limit on its timeouts: about 24 days */
int mig_parse_duration_ms(const char *s, size_t n, long long *out_ms);

#endif
