/*
 * Helpers every driver needs: a growing string (render_ddl builds each
 * statement in one), identifier quoting, and the name lists the schema
 * sink takes (introspect builds them).
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
    char *p; /* NUL-terminated text, NULL until the first append */
    size_t len, cap;
    int oom; /* an append failed: the text is incomplete */
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
 * A list of names as the schema sink takes it: v[0..count), each a copy.
 * Start from { 0 }; mig_names_free at the end.
 */
typedef struct mig_names {
    char **v;     /* NULL until the first name */
    size_t count; /* names in the list */
    size_t cap;
} mig_names;

/* 0, or -1 when out of memory (the list is unchanged then). */
static inline int mig_names_add(mig_names *l, const char *s)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **v = (char **)realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    size_t n = strlen(s) + 1;
    char *d = (char *)malloc(n);
    if (d == NULL)
        return -1;
    memcpy(d, s, n);
    l->v[l->count++] = d;
    return 0;
}

/* Empty the list, keeping its array for the next one. */
static inline void mig_names_clear(mig_names *l)
{
    while (l->count > 0)
        free(l->v[--l->count]);
}

static inline void mig_names_free(mig_names *l)
{
    mig_names_clear(l);
    free(l->v);
    l->v = NULL;
    l->cap = 0;
}

/* The array as the sink's callbacks take it. */
static inline const char *const *mig_names_v(const mig_names *l)
{
    return (const char *const *)l->v;
}

/* Do two lists hold the same names in the same order? */
static inline int mig_names_equal(const mig_names *a, const mig_names *b)
{
    if (a->count != b->count)
        return 0;
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->v[i], b->v[i]) != 0)
            return 0;
    return 1;
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

/* Empty err, as a slot does before it fills it. */
static inline void mig_drv_error_clear(mig_drv_error *err)
{
    err->message[0] = '\0';
    err->detail[0] = '\0';
    err->sqlstate[0] = '\0';
    err->code = 0;
    err->stmt_offset = 0;
    err->position = 0;
}

/* err emptied, with its message formatted from fmt; returns MIG_DRV_ERROR. */
static inline int mig_drv_error_vset(mig_drv_error *err, const char *fmt, va_list ap)
{
    mig_drv_error_clear(err);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    return MIG_DRV_ERROR;
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
static inline void mig_lint_say(const mig_lint_sink *sink, void *payload, int *rc,
                                const mig_lint_rule *rule, const char *table, size_t offset,
                                const char *why, const char *safe, const char *fmt, ...)
    MIG_UTIL_PRINTF(9, 10);
static inline void mig_lint_say(const mig_lint_sink *sink, void *payload, int *rc,
                                const mig_lint_rule *rule, const char *table, size_t offset,
                                const char *why, const char *safe, const char *fmt, ...)
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
