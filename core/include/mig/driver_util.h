/*
 * Helpers every driver needs: a growing string (render_ddl builds each
 * statement in one), identifier quoting, and the name lists the schema
 * sink takes (introspect_schema builds them).
 * Header-only, like <mig/secret.h>: a driver links nothing more, and the
 * functions are static inline so two drivers in one process never share
 * (or clash on) a symbol.
 *
 * The builder keeps going after an allocation fails and says so once:
 * check oom (or let mig_sb_emit report MIG_DRV_ERROR) when the statement
 * is complete, not after every append.
 *
 *     mig_sb b = { 0 };
 *     mig_sb_puts(&b, "DROP TABLE ");
 *     mig_sb_ident(&b, '"', name);
 *     rc = mig_sb_emit(&b, emit, payload);
 *     free(b.p);
 */
#ifndef MIG_DRIVER_UTIL_H
#define MIG_DRIVER_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mig/driver.h"

typedef struct mig_sb {
    char  *p;   /* NUL-terminated text, NULL until the first append */
    size_t len, cap;
    int    oom; /* an append failed: the text is incomplete */
} mig_sb;

static inline void mig_sb_put(mig_sb *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static inline void mig_sb_puts(mig_sb *b, const char *s)
{
    mig_sb_put(b, s, strlen(s));
}

/* n bytes of name as one identifier between quote characters, a quote inside doubled. */
static inline void mig_sb_ident_n(mig_sb *b, char quote, const char *name, size_t n)
{
    mig_sb_put(b, &quote, 1);
    for (size_t i = 0; i < n; i++) {
        if (name[i] == quote)
            mig_sb_put(b, &quote, 1);
        mig_sb_put(b, name + i, 1);
    }
    mig_sb_put(b, &quote, 1);
}

static inline void mig_sb_ident(mig_sb *b, char quote, const char *name)
{
    mig_sb_ident_n(b, quote, name, strlen(name));
}

/* "schema.table" as two identifiers (the first dot splits), a bare name as one. */
static inline void mig_sb_qualified(mig_sb *b, char quote, const char *name)
{
    const char *dot = strchr(name, '.');
    if (dot == NULL) {
        mig_sb_ident(b, quote, name);
        return;
    }
    mig_sb_ident_n(b, quote, name, (size_t)(dot - name));
    mig_sb_put(b, ".", 1);
    mig_sb_ident(b, quote, dot + 1);
}

/* (a, b, c): a column list. */
static inline void mig_sb_idents(mig_sb *b, char quote, const char *const *v, size_t n)
{
    mig_sb_puts(b, "(");
    for (size_t i = 0; i < n; i++) {
        if (i)
            mig_sb_puts(b, ", ");
        mig_sb_ident(b, quote, v[i]);
    }
    mig_sb_puts(b, ")");
}

/* Hand the statement to emit and start the next one; MIG_DRV_ERROR after a failed append. */
static inline int mig_sb_emit(mig_sb *b, mig_ddl_emit_fn emit, void *payload)
{
    if (b->oom)
        return MIG_DRV_ERROR;
    int rc = emit(payload, b->p ? b->p : "");
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
    return rc;
}

/*
 * A NUL-separated, double-NUL-terminated list of names, as the schema sink
 * takes column lists ("a\0b\0\0"). Start from { 0 }; free(l.buf) at the end.
 */
typedef struct mig_names {
    char  *buf;   /* NULL until the first name */
    size_t len;   /* bytes used, without the final extra NUL */
    size_t cap;
    int    count; /* names in the list */
} mig_names;

/* 0, or -1 when out of memory (the list is unchanged then). */
static inline int mig_names_add(mig_names *l, const char *s)
{
    size_t n = strlen(s) + 1;
    if (l->len + n + 1 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        while (cap < l->len + n + 1)
            cap *= 2;
        char *b = realloc(l->buf, cap);
        if (b == NULL)
            return -1;
        l->buf = b;
        l->cap = cap;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    l->buf[l->len] = '\0';
    l->count++;
    return 0;
}

/* Empty the list, keeping its memory for the next one. */
static inline void mig_names_clear(mig_names *l)
{
    l->len = 0;
    l->count = 0;
    if (l->buf)
        l->buf[0] = '\0';
}

/* The list as a sink takes it: an empty list is "\0\0", never NULL. */
static inline const char *mig_names_str(const mig_names *l)
{
    return l->count > 0 ? l->buf : "\0";
}

/*
 * A lint finding with its message formatted from fmt, handed to the sink:
 * the sink's result, which a driver's lint slot returns as it is when it
 * is not zero.
 */
static inline int mig_lint_vreport(const mig_lint_sink *sink, void *payload, const mig_lint_rule *rule,
                                   const char *table, size_t offset, const char *why, const char *safe,
                                   const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    mig_lint_finding f = { rule, msg, why, safe, table, offset };
    return sink->finding(payload, &f);
}

#if defined(__GNUC__)
#define MIG_UTIL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MIG_UTIL_PRINTF(f, a)
#endif

/*
 * mig_lint_vreport for a lint walk that reports several findings: nothing
 * once *rc is set (an earlier finding's sink said stop), else the finding,
 * with the sink's result kept in *rc for the lint slot to return.
 */
static inline void mig_lint_say(const mig_lint_sink *sink, void *payload, int *rc, const mig_lint_rule *rule,
                                const char *table, size_t offset, const char *why, const char *safe,
                                const char *fmt, ...) MIG_UTIL_PRINTF(9, 10);
static inline void mig_lint_say(const mig_lint_sink *sink, void *payload, int *rc, const mig_lint_rule *rule,
                                const char *table, size_t offset, const char *why, const char *safe,
                                const char *fmt, ...)
{
    if (*rc)
        return;
    va_list ap;
    va_start(ap, fmt);
    *rc = mig_lint_vreport(sink, payload, rule, table, offset, why, safe, fmt, ap);
    va_end(ap);
}

/*
 * [CONSTRAINT name ]FOREIGN KEY (a, b) REFERENCES t (x, y) ON DELETE ...
 * ON UPDATE ...: ref_table split at its dot when qualified is set; an empty
 * list of referenced columns is left out (SQLite: the table's primary key).
 */
static inline void mig_sb_foreign_key(mig_sb *b, char quote, const mig_ddl_foreign_key *f, int qualified)
{
    if (f->name) {
        mig_sb_puts(b, "CONSTRAINT ");
        mig_sb_ident(b, quote, f->name);
        mig_sb_puts(b, " ");
    }
    mig_sb_puts(b, "FOREIGN KEY ");
    mig_sb_idents(b, quote, f->columns, f->ncolumns);
    mig_sb_puts(b, " REFERENCES ");
    if (qualified)
        mig_sb_qualified(b, quote, f->ref_table);
    else
        mig_sb_ident(b, quote, f->ref_table);
    if (f->nref_columns) {
        mig_sb_puts(b, " ");
        mig_sb_idents(b, quote, f->ref_columns, f->nref_columns);
    }
    mig_sb_puts(b, " ON DELETE ");
    mig_sb_puts(b, f->on_delete);
    mig_sb_puts(b, " ON UPDATE ");
    mig_sb_puts(b, f->on_update);
}

#endif
