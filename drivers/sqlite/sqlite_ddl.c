/*
 * Autogenerate for SQLite: rendering schema changes as SQLite DDL, and
 * loading a target schema into an in-memory database to introspect it.
 *
 * SQLite's ALTER TABLE adds and drops columns and nothing else, so every
 * other change to a table that stays is refused (MIG_DRV_NOTSUP) and the
 * core sends one MIG_DDL_REBUILD_TABLE instead, made the way SQLite
 * documents: create the new table, copy the rows, drop the old one,
 * rename, recreate the indexes -- inside the revision's transaction.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "mig/driver.h"
#include "mig/driver_util.h"

/* This plugin's own table (sqlite.c), to reach its slots from here. */
const mig_driver *mig_driver_entry(void);

int sq_render_ddl(const mig_ddl_change *change, mig_ddl_emit_fn emit, void *payload);
int sq_introspect_ddl(mig_conn *conn, const char *ddl, size_t len, const mig_schema_sink *sink,
                      void *payload, mig_drv_error *err);

/* SQL text is built with <mig/driver_util.h>; identifiers are quoted with '"'. */
typedef mig_sb sb;
#define QUOTE              '"'
#define sb_put             mig_sb_put
#define sb_puts            mig_sb_puts
#define sb_emit            mig_sb_emit
#define sb_ident(b, name)  mig_sb_ident((b), QUOTE, (name))
#define sb_idents(b, v, n) mig_sb_idents((b), QUOTE, (v), (n))

static void column_def(sb *b, const mig_ddl_column *c)
{
    sb_ident(b, c->name);
    if (c->type && *c->type) {
        sb_puts(b, " ");
        sb_puts(b, c->type);
    }
    if (!c->nullable)
        sb_puts(b, " NOT NULL");
    if (c->default_sql) {
        sb_puts(b, " DEFAULT ");
        sb_puts(b, c->default_sql);
    }
}

static void fk_def(sb *b, const mig_ddl_foreign_key *f)
{
    mig_sb_foreign_key(b, QUOTE, f, 0);
}

static void create_table(sb *b, const mig_ddl_table *t, const char *name)
{
    sb_puts(b, "CREATE TABLE ");
    sb_ident(b, name);
    sb_puts(b, " (\n");
    for (size_t i = 0; i < t->ncolumns; i++) {
        sb_puts(b, i ? ",\n    " : "    ");
        column_def(b, &t->columns[i]);
    }
    if (t->primary_key) {
        sb_puts(b, ",\n    PRIMARY KEY ");
        sb_idents(b, t->primary_key->columns, t->primary_key->ncolumns);
    }
    for (size_t i = 0; i < t->nuniques; i++) {
        sb_puts(b, ",\n    UNIQUE ");
        sb_idents(b, t->uniques[i].columns, t->uniques[i].ncolumns);
    }
    for (size_t i = 0; i < t->nforeign_keys; i++) {
        sb_puts(b, ",\n    ");
        fk_def(b, &t->foreign_keys[i]);
    }
    sb_puts(b, "\n)");
}

static void create_index(sb *b, const char *table, const mig_ddl_index *x)
{
    sb_puts(b, x->unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
    sb_ident(b, x->name ? x->name : "");
    sb_puts(b, " ON ");
    sb_ident(b, table);
    sb_puts(b, " ");
    if (x->expression_sql) {
        sb_puts(b, "(");
        sb_puts(b, x->expression_sql);
        sb_puts(b, ")");
    } else {
        sb_idents(b, x->columns, x->ncolumns);
    }
    if (x->where_sql) {
        sb_puts(b, " WHERE ");
        sb_puts(b, x->where_sql);
    }
}

/*
 * ALTER TABLE ADD COLUMN takes a column that may be NULL or has a
 * constant default: no CURRENT_TIME..., no parenthesised expression.
 */
static int addable(const mig_ddl_column *c)
{
    if (c->default_sql == NULL)
        return c->nullable;
    return c->default_sql[0] != '(' && strncasecmp(c->default_sql, "CURRENT_", 8) != 0;
}

static int rebuild(sb *b, const mig_ddl_table *old, const mig_ddl_table *t, mig_ddl_emit_fn emit,
                   void *payload)
{
    int rc;
    /* the new table under a temporary name, so both exist while rows move */
    size_t tlen = strlen(t->name);
    char *tmp = malloc(tlen + 16);
    if (tmp == NULL)
        return MIG_DRV_ERROR;
    snprintf(tmp, tlen + 16, "_mig_new_%s", t->name);
    /* constraints are checked at COMMIT, when every table is whole again */
    sb_puts(b, "PRAGMA defer_foreign_keys = ON");
    if ((rc = sb_emit(b, emit, payload)) != 0)
        goto out;
    create_table(b, t, tmp);
    if ((rc = sb_emit(b, emit, payload)) != 0)
        goto out;
    /* the columns both have */
    sb cols = { 0 };
    for (size_t i = 0; i < t->ncolumns; i++)
        for (size_t k = 0; k < old->ncolumns; k++)
            if (strcmp(old->columns[k].name, t->columns[i].name) == 0) {
                if (cols.len)
                    sb_puts(&cols, ", ");
                sb_ident(&cols, t->columns[i].name);
            }
    if (cols.oom) {
        rc = MIG_DRV_ERROR;
        goto out;
    }
    /*
     * With no column in common the rows still come along, each with the
     * new columns' defaults, as ALTER TABLE would keep them elsewhere.
     */
    sb_puts(b, "INSERT INTO ");
    sb_ident(b, tmp);
    sb_puts(b, " (");
    sb_puts(b, cols.len ? cols.p : "rowid");
    sb_puts(b, ") SELECT ");
    sb_puts(b, cols.len ? cols.p : "rowid");
    sb_puts(b, " FROM ");
    sb_ident(b, old->name);
    rc = sb_emit(b, emit, payload);
    free(cols.p);
    if (rc != 0)
        goto out;
    sb_puts(b, "DROP TABLE ");
    sb_ident(b, old->name);
    if ((rc = sb_emit(b, emit, payload)) != 0)
        goto out;
    sb_puts(b, "ALTER TABLE ");
    sb_ident(b, tmp);
    sb_puts(b, " RENAME TO ");
    sb_ident(b, t->name);
    if ((rc = sb_emit(b, emit, payload)) != 0)
        goto out;
    for (size_t i = 0; i < t->nindexes; i++) {
        create_index(b, t->name, &t->indexes[i]);
        if ((rc = sb_emit(b, emit, payload)) != 0)
            goto out;
    }
out:
    free(tmp);
    return rc;
}

int sq_render_ddl(const mig_ddl_change *c, mig_ddl_emit_fn emit, void *payload)
{
    sb b = { 0 };
    int rc = MIG_DRV_OK;
    const char *table = c->table ? c->table->name : "";
    switch (c->kind) {
    case MIG_DDL_CREATE_TABLE:
        create_table(&b, c->table, table);
        rc = sb_emit(&b, emit, payload);
        break;
    case MIG_DDL_DROP_TABLE:
        sb_puts(&b, "DROP TABLE ");
        sb_ident(&b, table);
        rc = sb_emit(&b, emit, payload);
        break;
    case MIG_DDL_CREATE_INDEX:
        create_index(&b, table, c->index);
        rc = sb_emit(&b, emit, payload);
        break;
    case MIG_DDL_DROP_INDEX:
        if (c->index->name == NULL) {
            rc = MIG_DRV_NOTSUP;
            break;
        }
        sb_puts(&b, "DROP INDEX ");
        sb_ident(&b, c->index->name);
        rc = sb_emit(&b, emit, payload);
        break;
    case MIG_DDL_ADD_COLUMN:
        if (!addable(c->column)) {
            rc = MIG_DRV_NOTSUP;
            break;
        }
        sb_puts(&b, "ALTER TABLE ");
        sb_ident(&b, table);
        sb_puts(&b, " ADD COLUMN ");
        column_def(&b, c->column);
        rc = sb_emit(&b, emit, payload);
        break;
    case MIG_DDL_DROP_COLUMN:
        /* DROP COLUMN came with SQLite 3.35 */
        if (sqlite3_libversion_number() < 3035000) {
            rc = MIG_DRV_NOTSUP;
            break;
        }
        sb_puts(&b, "ALTER TABLE ");
        sb_ident(&b, table);
        sb_puts(&b, " DROP COLUMN ");
        sb_ident(&b, c->column->name);
        rc = sb_emit(&b, emit, payload);
        break;
    case MIG_DDL_REBUILD_TABLE:
        rc = rebuild(&b, c->old_table, c->table, emit, payload);
        break;
    default:
        rc = MIG_DRV_NOTSUP; /* ALTER TABLE cannot: the core rebuilds the table */
        break;
    }
    if (b.oom && rc == MIG_DRV_OK)
        rc = MIG_DRV_ERROR;
    free(b.p);
    return rc;
}

/* The target schema in a fresh in-memory database, gone when closed. */
int sq_introspect_ddl(mig_conn *conn, const char *ddl, size_t len, const mig_schema_sink *sink,
                      void *payload, mig_drv_error *err)
{
    const mig_driver *d = mig_driver_entry();
    mig_conn *mem = NULL;
    mig_connect_opts opts = { 0 };
    (void)conn;
    opts.application_name = "mig";
    int rc = d->connect(&mem, "sqlite://", NULL, &opts, err);
    if (rc == MIG_DRV_OK)
        rc = d->exec(mem, ddl, len, NULL, err);
    if (rc == MIG_DRV_OK)
        rc = d->introspect(mem, NULL, sink, payload, err);
    d->close(mem);
    return rc;
}
