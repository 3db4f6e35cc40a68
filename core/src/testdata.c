/*
 * Generated rows for mig test --data. Every value is bound as text and
 * the database converts it to the column's type, so one generator serves
 * every driver; the types only decide what the text looks like.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "autogen.h"
#include "testdata.h"

enum { ROWS = 3, MAXCOLS = 256 };

static int has(const char *type, const char *word)
{
    char low[256];
    size_t i = 0;
    for (; type[i] && i + 1 < sizeof low; i++)
        low[i] = (char)((type[i] >= 'A' && type[i] <= 'Z') ? type[i] - 'A' + 'a' : type[i]);
    low[i] = '\0';
    return strstr(low, word) != NULL;
}

/* Filled by the database itself: identity, serial, AUTO_INCREMENT. */
static int generated(const mig_ddl_column *c)
{
    return has(c->type, "auto_increment") || has(c->type, " generated ") ||
           (c->default_sql && has(c->default_sql, "nextval("));
}

/* The size in "varchar(12)", 0 when none. */
static long size_of(const char *type)
{
    const char *p = strchr(type, '(');
    return p ? strtol(p + 1, NULL, 10) : 0;
}

/* A value of c's type, distinct for each n. */
static void value_for(const mig_schema *s, const mig_ddl_column *c, unsigned n, char *out, size_t len)
{
    const char *t = c->type;
    const mig_ddl_enum *e = mig_schema_enum(s, t);
    if (e && e->nlabels) {
        snprintf(out, len, "%s", e->labels[n % e->nlabels]);
    } else if (has(t, "enum(") || has(t, "set(")) {
        /* MySQL: the first label between quotes */
        const char *q = strchr(t, '\'');
        const char *q2 = q ? strchr(q + 1, '\'') : NULL;
        snprintf(out, len, "%.*s", q2 ? (int)(q2 - q - 1) : 0, q ? q + 1 : "");
    } else if (has(t, "bool")) {
        snprintf(out, len, "%s", n % 2 ? "true" : "false");
    } else if (has(t, "tinyint")) {
        snprintf(out, len, "%u", n % 100);
    } else if (has(t, "int") || has(t, "serial") || has(t, "numeric") || has(t, "decimal") ||
               has(t, "real") || has(t, "float") || has(t, "double") || has(t, "bit")) {
        snprintf(out, len, "%u", n);
    } else if (has(t, "timestamp") || has(t, "datetime")) {
        snprintf(out, len, "%04u-%02u-%02u 00:00:00", 2000 + n / 336, 1 + n / 28 % 12, 1 + n % 28);
    } else if (has(t, "date")) {
        snprintf(out, len, "%04u-%02u-%02u", 2000 + n / 336, 1 + n / 28 % 12, 1 + n % 28);
    } else if (has(t, "time")) {
        snprintf(out, len, "%02u:%02u:00", n / 60 % 24, n % 60);
    } else if (has(t, "uuid")) {
        snprintf(out, len, "00000000-0000-4000-8000-%012u", n);
    } else if (has(t, "json")) {
        snprintf(out, len, "{\"n\": %u}", n);
    } else {
        long max = size_of(t);
        snprintf(out, len, "r%u", n);
        if (max > 0 && (long)strlen(out) > max)
            out[max] = '\0';
    }
}

/* The first row of the referenced columns, as text (NULL when the table is empty). */
static int ref_row(mig_ctx *ctx, mig_db *db, const mig_plugin *plugin, const mig_ddl_foreign_key *f,
                   char **vals, int *found)
{
    mig_buf q = MIG_BUF_INIT;
    *found = 0;
    mig_buf_puts(&q, "SELECT ");
    for (size_t i = 0; i < f->nref_columns; i++) {
        char *id = mig_plugin_quote_ident(plugin, f->ref_columns[i]);
        mig_buf_printf(&q, "%s%s", i ? ", " : "", id ? id : "");
        free(id);
    }
    char *rt = mig_plugin_quote_ident(plugin, f->ref_table);
    mig_buf_printf(&q, " FROM %s", rt ? rt : "");
    free(rt);
    for (size_t i = 0; i < f->nref_columns; i++) {
        char *id = mig_plugin_quote_ident(plugin, f->ref_columns[i]);
        mig_buf_printf(&q, "%s%s IS NOT NULL", i ? " AND " : " WHERE ", id ? id : "");
        free(id);
    }
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    int rc = q.oom ? MIG_ENOMEM : mig_db_query(&cur, db, ctx, mig_buf_cstr(&q), NULL, 0);
    if (rc == 0)
        rc = mig_db_fetch(cur, db, ctx, &row);
    for (int i = 0; rc == 0 && row && i < row->ncols && (size_t)i < f->nref_columns; i++) {
        const mig_value *v = &row->values[i];
        if (v->type == MIG_VAL_INT)
            vals[i] = mig_aprintf("%lld", (long long)v->u.i);
        else if (v->type == MIG_VAL_FLOAT)
            vals[i] = mig_aprintf("%.17g", v->u.f);
        else if (v->type == MIG_VAL_BOOL)
            vals[i] = mig_strdup(v->u.b ? "true" : "false");
        else if (v->type == MIG_VAL_TEXT || v->type == MIG_VAL_BLOB)
            vals[i] = mig_strndup(v->u.s.ptr ? v->u.s.ptr : "", v->u.s.len);
        *found = 1;
    }
    if (cur)
        mig_db_cursor_close(db, cur);
    mig_buf_release(&q);
    return rc;
}

/* ROWS rows into t; 0, or non-zero with the reason in why. */
static int fill_table(mig_ctx *ctx, mig_db *db, const mig_plugin *plugin, const mig_schema *s,
                      const mig_ddl_table *t, unsigned *counter, mig_buf *why)
{
    if (t->ncolumns > MAXCOLS) {
        mig_buf_puts(why, "too many columns");
        return -1;
    }
    int is_mysql = strcmp(plugin->driver->name, "mysql") == 0;
    int rc = 0;
    for (int r = 0; rc == 0 && r < ROWS; r++) {
        char *text[MAXCOLS] = { 0 };
        int use[MAXCOLS] = { 0 }, null[MAXCOLS] = { 0 };
        /* foreign keys first: their columns take a referenced row's values */
        for (size_t k = 0; rc == 0 && k < t->nforeign_keys; k++) {
            const mig_ddl_foreign_key *f = &t->foreign_keys[k];
            char *vals[MAXCOLS] = { 0 };
            int found = 0;
            if (f->nref_columns > MAXCOLS || f->ncolumns != f->nref_columns)
                continue;
            if (ref_row(ctx, db, plugin, f, vals, &found) != 0) {
                mig_buf_puts(why, mig_last_error(ctx)->message);
                mig_error_clear(ctx);
                rc = -1;
            }
            for (size_t i = 0; i < f->ncolumns; i++)
                for (size_t c = 0; c < t->ncolumns; c++)
                    if (strcmp(t->columns[c].name, f->columns[i]) == 0 && !use[c]) {
                        use[c] = 1;
                        if (found && vals[i]) {
                            text[c] = vals[i];
                            vals[i] = NULL;
                        } else if (t->columns[c].nullable) {
                            null[c] = 1;
                        } else if (rc == 0) {
                            mig_buf_printf(why, "no row in %s for its foreign key to point at",
                                           f->ref_table);
                            rc = -1;
                        }
                    }
            for (size_t i = 0; i < f->nref_columns; i++)
                free(vals[i]);
        }
        mig_buf sql = MIG_BUF_INIT;
        mig_value params[MAXCOLS];
        int np = 0;
        char *name = mig_plugin_quote_ident(plugin, t->name);
        mig_buf_printf(&sql, "INSERT INTO %s (", name ? name : "");
        free(name);
        for (size_t c = 0; rc == 0 && c < t->ncolumns; c++) {
            const mig_ddl_column *col = &t->columns[c];
            if (!use[c] && generated(col))
                continue;
            if (!use[c]) {
                char v[96];
                value_for(s, col, (*counter)++, v, sizeof v);
                text[c] = mig_strdup(v);
            }
            char *id = mig_plugin_quote_ident(plugin, col->name);
            mig_buf_printf(&sql, "%s%s", np ? ", " : "", id ? id : "");
            free(id);
            memset(&params[np], 0, sizeof params[np]);
            if (null[c] || text[c] == NULL) {
                params[np].type = MIG_VAL_NULL;
            } else {
                params[np].type = MIG_VAL_TEXT;
                params[np].u.s.ptr = text[c];
                params[np].u.s.len = strlen(text[c]);
            }
            np++;
        }
        if (rc == 0 && np == 0) {
            mig_buf_clear(&sql);
            name = mig_plugin_quote_ident(plugin, t->name);
            mig_buf_printf(&sql, "INSERT INTO %s %s", name ? name : "",
                           is_mysql ? "() VALUES ()" : "DEFAULT VALUES");
            free(name);
        } else if (rc == 0) {
            mig_buf_puts(&sql, ") VALUES (");
            for (int i = 0; i < np; i++)
                mig_buf_puts(&sql, i ? ", ?" : "?");
            mig_buf_puts(&sql, ")");
        }
        if (rc == 0 && sql.oom)
            rc = MIG_ENOMEM;
        else if (rc == 0 && mig_db_exec_params(db, ctx, mig_buf_cstr(&sql), params, np, NULL, NULL) != 0) {
            mig_buf_puts(why, mig_last_error(ctx)->message);
            mig_error_clear(ctx);
            rc = -1;
        }
        mig_buf_release(&sql);
        for (size_t c = 0; c < t->ncolumns; c++)
            free(text[c]);
    }
    return rc;
}

int mig_testdata_fill(mig_ctx *ctx, mig_db *db, const mig_plugin *plugin, const mig_schema *before,
                      const mig_schema *after, unsigned *counter, mig_buf *notes)
{
    mig_changes ch = MIG_CHANGES_INIT;
    int rc = mig_autogen_diff(&ch, ctx, before, after);
    if (rc)
        return rc;
    size_t n = after->ntables;
    unsigned char *want = calloc(n + 1, 1);
    if (want == NULL) {
        mig_changes_release(&ch);
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < ch.n; i++)
        for (size_t k = 0; ch.v[i].c.table && ch.v[i].c.kind != MIG_DDL_DROP_TABLE && k < n; k++)
            if (strcmp(after->tables[k].name, ch.v[i].c.table->name) == 0)
                want[k] = 1;
    mig_changes_release(&ch);
    /* referenced tables first: a table is ready when none it points at still waits */
    for (size_t pass = 0; pass <= n; pass++)
        for (size_t i = 0; i < n; i++) {
            const mig_ddl_table *t = &after->tables[i];
            int ready = want[i] == 1;
            for (size_t f = 0; ready && f < t->nforeign_keys; f++)
                for (size_t k = 0; k < n; k++)
                    if (k != i && want[k] == 1 &&
                        strcmp(after->tables[k].name, t->foreign_keys[f].ref_table) == 0)
                        ready = pass == n; /* a cycle: fill it anyway, last */
            if (!ready)
                continue;
            want[i] = 2;
            mig_buf why = MIG_BUF_INIT;
            int frc = fill_table(ctx, db, plugin, after, t, counter, &why);
            if (frc == MIG_ENOMEM)
                rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
            else if (frc)
                mig_buf_printf(notes, "--data: table %s left empty: %s\n", t->name, mig_buf_cstr(&why));
            mig_buf_release(&why);
        }
    free(want);
    return rc;
}
