/*
 * Autogenerate for MySQL and MariaDB: rendering schema changes as MySQL
 * DDL, and loading a target schema into a scratch database, dropped
 * afterwards, to introspect it.
 *
 * MySQL commits DDL as it goes, so the scratch database cannot be rolled
 * back: it is dropped whatever happened, and its name holds the process id
 * so that two runs never meet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mig/driver_util.h"
#include "mysql_int.h"

/* This plugin's own table (mysql.c), to reach its slots from here. */
const mig_driver *mig_driver_entry(void);

/* SQL text is built with <mig/driver_util.h>; identifiers are quoted with '`'. */
typedef mig_sb sb;
#define QUOTE              '`'
#define sb_put             mig_sb_put
#define sb_puts            mig_sb_puts
#define sb_emit            mig_sb_emit
#define sb_ident(b, name)  mig_sb_ident((b), QUOTE, (name))
#define sb_idents(b, v, n) mig_sb_idents((b), QUOTE, (v), (n))
#define sb_table(b, name)  mig_sb_qualified((b), QUOTE, (name))

/*
 * NULL is said outright: a TIMESTAMP column is NOT NULL unless told.
 * with_ai 0 leaves out the AUTO_INCREMENT the introspection writes after
 * the type, for a column that is not a key yet.
 */
static void column_def_ai(sb *b, const mig_ddl_column *c, int with_ai)
{
    const char *ai = strstr(c->type, " AUTO_INCREMENT");
    sb_ident(b, c->name);
    sb_puts(b, " ");
    if (ai && !with_ai)
        sb_put(b, c->type, (size_t)(ai - c->type));
    else
        sb_puts(b, c->type);
    sb_puts(b, c->nullable ? " NULL" : " NOT NULL");
    if (c->default_sql) {
        sb_puts(b, " DEFAULT ");
        sb_puts(b, c->default_sql);
    }
}

static void column_def(sb *b, const mig_ddl_column *c)
{
    column_def_ai(b, c, 1);
}

static int in_key(const mig_ddl_key *k, const char *name)
{
    for (size_t i = 0; k && i < k->ncolumns; i++)
        if (strcmp(k->columns[i], name) == 0)
            return 1;
    return 0;
}

static int same_key(const mig_ddl_key *a, const mig_ddl_key *b)
{
    if (a == NULL || b == NULL || a->ncolumns != b->ncolumns)
        return 0;
    for (size_t i = 0; i < a->ncolumns; i++)
        if (strcmp(a->columns[i], b->columns[i]) != 0)
            return 0;
    return 1;
}

/*
 * An AUTO_INCREMENT column must be a key when it is made so. A column
 * added or altered outside the primary key it will be in gets it from
 * ADD PRIMARY KEY (below) instead.
 */
static int key_ready(const mig_ddl_change *c)
{
    return c->old_table && same_key(c->old_table->primary_key, c->table->primary_key) &&
           in_key(c->table->primary_key, c->column->name);
}

static void fk_def(sb *b, const mig_ddl_foreign_key *f)
{
    mig_sb_foreign_key(b, QUOTE, f, 1);
}

static void unique_def(sb *b, const mig_ddl_key *k)
{
    sb_puts(b, "UNIQUE KEY ");
    if (k->name) {
        sb_ident(b, k->name);
        sb_puts(b, " ");
    }
    sb_idents(b, k->columns, k->ncolumns);
}

static void create_table(sb *b, const mig_ddl_table *t)
{
    sb_puts(b, "CREATE TABLE ");
    sb_ident(b, t->name);
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
        sb_puts(b, ",\n    ");
        unique_def(b, &t->uniques[i]);
    }
    for (size_t i = 0; i < t->nforeign_keys; i++) {
        sb_puts(b, ",\n    ");
        fk_def(b, &t->foreign_keys[i]);
    }
    sb_puts(b, "\n)");
}

static void alter(sb *b, const char *table)
{
    sb_puts(b, "ALTER TABLE ");
    sb_ident(b, table);
    sb_puts(b, " ");
}

/*
 * InnoDB will not drop the index a foreign key stands on. When the key
 * stays and the index going was its support (the key's columns lead it),
 * the same ALTER TABLE first gives the key an index of its own, under the
 * key's name, as InnoDB itself would have.
 */
static void keep_fk_index(sb *b, const mig_ddl_table *t, const char *const *cols, size_t ncols)
{
    for (size_t i = 0; t && i < t->nforeign_keys; i++) {
        const mig_ddl_foreign_key *f = &t->foreign_keys[i];
        if (f->name == NULL || f->ncolumns > ncols)
            continue;
        size_t k = 0;
        while (k < f->ncolumns && strcmp(f->columns[k], cols[k]) == 0)
            k++;
        if (k < f->ncolumns)
            continue;
        sb_puts(b, "ADD INDEX IF NOT EXISTS ");
        sb_ident(b, f->name);
        sb_puts(b, " ");
        sb_idents(b, f->columns, f->ncolumns);
        sb_puts(b, ", ");
    }
}

/*
 * An AUTO_INCREMENT column must be a key: before its primary key goes, the
 * same ALTER TABLE makes it a plain column (a later change gives it back
 * its AUTO_INCREMENT if the target has one).
 */
static void unkey_auto_increment(sb *b, const mig_ddl_table *old, const mig_ddl_key *pk)
{
    for (size_t i = 0; old && i < pk->ncolumns; i++)
        for (size_t k = 0; k < old->ncolumns; k++) {
            const mig_ddl_column *col = &old->columns[k];
            const char *ai = strstr(col->type, " AUTO_INCREMENT");
            if (ai == NULL || strcmp(col->name, pk->columns[i]) != 0)
                continue;
            sb_puts(b, "MODIFY COLUMN ");
            sb_ident(b, col->name);
            sb_puts(b, " ");
            sb_put(b, col->type, (size_t)(ai - col->type));
            sb_puts(b, col->nullable ? " NULL" : " NOT NULL");
            if (col->default_sql) {
                sb_puts(b, " DEFAULT ");
                sb_puts(b, col->default_sql);
            }
            sb_puts(b, ", ");
        }
}

/* Does the table keep an index or unique key of this name? */
static int has_key_named(const mig_ddl_table *t, const char *name)
{
    for (size_t i = 0; t && i < t->nindexes; i++)
        if (t->indexes[i].name && strcmp(t->indexes[i].name, name) == 0)
            return 1;
    for (size_t i = 0; t && i < t->nuniques; i++)
        if (t->uniques[i].name && strcmp(t->uniques[i].name, name) == 0)
            return 1;
    return 0;
}

/*
 * The other half of keep_fk_index: a key that comes back over a foreign
 * key's columns makes the index an earlier change gave the key (under the
 * key's name) redundant, and InnoDB keeps it, so a downgrade would leave
 * it behind. Only for keys the table had before the change, and not when
 * the table holds an index of that name in its own right.
 */
static int release_fk_index(const mig_ddl_change *c, const char *const *cols, size_t ncols,
                            mig_ddl_emit_fn emit, void *payload)
{
    const mig_ddl_table *t = c->table, *old = c->old_table;
    int rc = MIG_DRV_OK;
    for (size_t i = 0; rc == MIG_DRV_OK && t && old && i < t->nforeign_keys; i++) {
        const mig_ddl_foreign_key *f = &t->foreign_keys[i];
        int before = 0;
        if (f->name == NULL || f->ncolumns > ncols || has_key_named(t, f->name))
            continue;
        for (size_t k = 0; k < old->nforeign_keys; k++)
            before |= old->foreign_keys[k].name && strcmp(old->foreign_keys[k].name, f->name) == 0;
        size_t k = 0;
        while (k < f->ncolumns && strcmp(f->columns[k], cols[k]) == 0)
            k++;
        if (!before || k < f->ncolumns)
            continue;
        sb b = { 0 };
        alter(&b, t->name);
        sb_puts(&b, "DROP INDEX IF EXISTS ");
        sb_ident(&b, f->name);
        rc = sb_emit(&b, emit, payload);
        free(b.p);
    }
    return rc;
}

static const char *table_name(const mig_ddl_change *c)
{
    return c->table ? c->table->name : "";
}

static void add_primary_key(sb *b, const mig_ddl_change *c)
{
    alter(b, table_name(c));
    sb_puts(b, "ADD PRIMARY KEY ");
    sb_idents(b, c->key->columns, c->key->ncolumns);
    for (size_t i = 0; i < c->table->ncolumns; i++)
        if (strstr(c->table->columns[i].type, " AUTO_INCREMENT") &&
            in_key(c->key, c->table->columns[i].name)) {
            sb_puts(b, ", MODIFY COLUMN ");
            column_def(b, &c->table->columns[i]);
        }
}

/* MIG_DDL_DROP_UNIQUE and MIG_DDL_DROP_INDEX: one index either way in MySQL. */
static int drop_index(sb *b, const mig_ddl_change *c)
{
    const char *name = c->kind == MIG_DDL_DROP_UNIQUE ? c->key->name : c->index->name;
    if (name == NULL)
        return MIG_DRV_NOTSUP;
    alter(b, table_name(c));
    /* IF EXISTS: a foreign key that went before may have taken it along */
    if (c->kind == MIG_DDL_DROP_UNIQUE)
        keep_fk_index(b, c->table, c->key->columns, c->key->ncolumns);
    else if (c->index->expression_sql == NULL)
        keep_fk_index(b, c->table, c->index->columns, c->index->ncolumns);
    sb_puts(b, "DROP INDEX IF EXISTS ");
    sb_ident(b, name);
    return MIG_DRV_OK;
}

static int create_index(sb *b, const mig_ddl_change *c)
{
    /* MySQL has no partial indexes; expression keys need MySQL 8 */
    if (c->index->where_sql || c->index->name == NULL)
        return MIG_DRV_NOTSUP;
    sb_puts(b, c->index->unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
    sb_ident(b, c->index->name);
    sb_puts(b, " ON ");
    sb_ident(b, table_name(c));
    sb_puts(b, " ");
    if (c->index->expression_sql) {
        sb_puts(b, "((");
        sb_puts(b, c->index->expression_sql);
        sb_puts(b, "))");
    } else {
        sb_idents(b, c->index->columns, c->index->ncolumns);
    }
    return MIG_DRV_OK;
}

/* Emits the DROP FOREIGN KEY itself and leaves the index drop that follows it in b. */
static int drop_foreign_key(sb *b, const mig_ddl_change *c, mig_ddl_emit_fn emit, void *payload)
{
    const mig_ddl_foreign_key *f = c->foreign_key;
    if (f->name == NULL)
        return MIG_DRV_NOTSUP;
    alter(b, table_name(c));
    sb_puts(b, "DROP FOREIGN KEY ");
    sb_ident(b, f->name);
    int rc = sb_emit(b, emit, payload);
    if (rc != 0)
        return rc;
    /*
     * The index InnoDB made for the key stays behind when the key
     * goes: it has the key's name, or its first column's for a key
     * written without a name (IF EXISTS, MariaDB: a key written over an
     * index of the user's own has none).
     */
    alter(b, table_name(c));
    sb_puts(b, "DROP INDEX IF EXISTS ");
    sb_ident(b, f->name);
    if (strcmp(f->columns[0], f->name) != 0 && !has_key_named(c->table, f->columns[0])) {
        sb_puts(b, ", DROP INDEX IF EXISTS ");
        sb_ident(b, f->columns[0]);
    }
    return MIG_DRV_OK;
}

int my_render_ddl(const mig_ddl_change *c, mig_ddl_emit_fn emit, void *payload)
{
    sb b = { 0 };
    int rc;
    const char *table = table_name(c);
    switch (c->kind) {
    case MIG_DDL_CREATE_TABLE:
        create_table(&b, c->table);
        break;
    case MIG_DDL_DROP_TABLE:
        sb_puts(&b, "DROP TABLE ");
        sb_ident(&b, table);
        break;
    case MIG_DDL_ADD_COLUMN:
        alter(&b, table);
        sb_puts(&b, "ADD COLUMN ");
        column_def_ai(&b, c->column, key_ready(c));
        break;
    case MIG_DDL_DROP_COLUMN:
        alter(&b, table);
        sb_puts(&b, "DROP COLUMN ");
        sb_ident(&b, c->column->name);
        break;
    case MIG_DDL_ALTER_COLUMN:
        alter(&b, table);
        sb_puts(&b, "MODIFY COLUMN ");
        column_def_ai(&b, c->column, key_ready(c));
        break;
    case MIG_DDL_ADD_PRIMARY_KEY:
        add_primary_key(&b, c);
        break;
    case MIG_DDL_DROP_PRIMARY_KEY:
        alter(&b, table);
        keep_fk_index(&b, c->table, c->key->columns, c->key->ncolumns);
        unkey_auto_increment(&b, c->old_table, c->key);
        sb_puts(&b, "DROP PRIMARY KEY");
        break;
    case MIG_DDL_ADD_UNIQUE:
        alter(&b, table);
        sb_puts(&b, "ADD ");
        unique_def(&b, c->key);
        break;
    case MIG_DDL_DROP_UNIQUE:
    case MIG_DDL_DROP_INDEX:
        if ((rc = drop_index(&b, c)) != MIG_DRV_OK)
            return rc;
        break;
    case MIG_DDL_CREATE_INDEX:
        if ((rc = create_index(&b, c)) != MIG_DRV_OK)
            return rc;
        break;
    case MIG_DDL_ADD_FOREIGN_KEY:
        alter(&b, table);
        sb_puts(&b, "ADD ");
        fk_def(&b, c->foreign_key);
        break;
    case MIG_DDL_DROP_FOREIGN_KEY:
        if ((rc = drop_foreign_key(&b, c, emit, payload)) != MIG_DRV_OK) {
            free(b.p);
            return rc;
        }
        break;
    default:
        return MIG_DRV_NOTSUP;
    }
    rc = sb_emit(&b, emit, payload);
    free(b.p);
    if (rc == MIG_DRV_OK && (c->kind == MIG_DDL_ADD_PRIMARY_KEY || c->kind == MIG_DDL_ADD_UNIQUE))
        rc = release_fk_index(c, c->key->columns, c->key->ncolumns, emit, payload);
    else if (rc == MIG_DRV_OK && c->kind == MIG_DDL_CREATE_INDEX && c->index->expression_sql == NULL)
        rc = release_fk_index(c, c->index->columns, c->index->ncolumns, emit, payload);
    return rc;
}

/* The current database's name into buf ("" when none is selected). */
static int current_db(const mig_driver *d, mig_conn *conn, char *buf, size_t buflen, mig_drv_error *err)
{
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    buf[0] = '\0';
    int rc = d->query(&cur, conn, "SELECT DATABASE()", NULL, 0, err);
    if (rc == MIG_DRV_OK)
        rc = d->fetch(cur, &row, err);
    if (rc == MIG_DRV_OK && row && row->ncols == 1 && row->values[0].type == MIG_VAL_TEXT &&
        row->values[0].u.s.len < buflen) {
        memcpy(buf, row->values[0].u.s.ptr, row->values[0].u.s.len);
        buf[row->values[0].u.s.len] = '\0';
    }
    if (cur)
        d->cursor_close(cur);
    return rc;
}

int my_introspect_ddl(mig_conn *conn, const char *ddl, size_t len, const mig_schema_sink *sink,
                      void *payload, mig_drv_error *err)
{
    const mig_driver *d = mig_driver_entry();
    static unsigned seq;
    char name[64], back[256], sql[512];
    mig_drv_error ignored;
    snprintf(name, sizeof name, "mig_scratch_%ld_%u", (long)getpid(), ++seq);
    int rc = current_db(d, conn, back, sizeof back, err);
    if (rc != MIG_DRV_OK)
        return rc;
    snprintf(sql, sizeof sql, "CREATE DATABASE `%s`", name);
    if ((rc = d->exec(conn, sql, strlen(sql), NULL, err)) != MIG_DRV_OK)
        return rc;
    snprintf(sql, sizeof sql, "USE `%s`", name);
    rc = d->exec(conn, sql, strlen(sql), NULL, err);
    if (rc == MIG_DRV_OK)
        rc = d->exec(conn, ddl, len, NULL, err);
    if (rc == MIG_DRV_OK)
        rc = d->introspect(conn, name, sink, payload, err);
    /* back where it was, and the scratch database gone, whatever happened */
    memset(&ignored, 0, sizeof ignored);
    if (back[0] != '\0') {
        sb u = { 0 };
        sb_puts(&u, "USE ");
        sb_ident(&u, back);
        if (!u.oom)
            d->exec(conn, u.p, u.len, NULL, rc == MIG_DRV_OK ? err : &ignored);
        free(u.p);
    }
    snprintf(sql, sizeof sql, "DROP DATABASE `%s`", name);
    int drc = d->exec(conn, sql, strlen(sql), NULL, rc == MIG_DRV_OK ? err : &ignored);
    return rc != MIG_DRV_OK ? rc : drc;
}
