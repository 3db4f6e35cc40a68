/*
 * Autogenerate for PostgreSQL: rendering schema changes as PostgreSQL DDL,
 * and loading a target schema into a scratch schema, inside a transaction
 * that is rolled back, to introspect it.
 *
 * Every change is one ALTER TABLE, CREATE or DROP: PostgreSQL alters
 * whatever a table needs in place, so nothing is refused here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mig/driver_util.h"
#include "pg.h"

/* This plugin's own table (postgres.c), to reach its slots from here. */
const mig_driver *mig_driver_entry(void);

/* SQL text is built with <mig/driver_util.h>; identifiers are quoted with '"'. */
typedef mig_sb sb;
#define QUOTE              '"'
#define sb_put             mig_sb_put
#define sb_puts            mig_sb_puts
#define sb_emit            mig_sb_emit
#define sb_ident(b, name)  mig_sb_ident((b), QUOTE, (name))
#define sb_idents(b, v, n) mig_sb_idents((b), QUOTE, (v), (n))
#define sb_table(b, name)  mig_sb_qualified((b), QUOTE, (name))

/*
 * The serial type a column was declared with: an integer whose default
 * draws from the sequence PostgreSQL names after it (table_column_seq).
 * Written back as serial, so the sequence is created with the column and
 * dropped with it; NULL when the column is something else.
 */
static const char *serial_type(const char *table, const mig_ddl_column *c)
{
    static const char *const types[][2] = { { "integer", "serial" },
                                            { "bigint", "bigserial" },
                                            { "smallint", "smallserial" } };
    const char *d = c->default_sql;
    if (table == NULL || d == NULL || strncmp(d, "nextval('", 9) != 0)
        return NULL;
    d += 9;
    size_t tl = strlen(table), cl = strlen(c->name);
    if (strncmp(d, table, tl) != 0 || d[tl] != '_' || strncmp(d + tl + 1, c->name, cl) != 0 ||
        strcmp(d + tl + 1 + cl, "_seq'::regclass)") != 0)
        return NULL;
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (strcmp(c->type, types[i][0]) == 0)
            return types[i][1];
    return NULL;
}

static void column_def_of(sb *b, const char *table, const mig_ddl_column *c)
{
    const char *serial = serial_type(table, c);
    sb_ident(b, c->name);
    sb_puts(b, " ");
    sb_puts(b, serial ? serial : c->type);
    if (!c->nullable)
        sb_puts(b, " NOT NULL");
    if (c->default_sql && serial == NULL) {
        sb_puts(b, " DEFAULT ");
        sb_puts(b, c->default_sql);
    }
}


static void constraint_name(sb *b, const char *name)
{
    if (name) {
        sb_puts(b, "CONSTRAINT ");
        sb_ident(b, name);
        sb_puts(b, " ");
    }
}

static void fk_def(sb *b, const mig_ddl_foreign_key *f)
{
    mig_sb_foreign_key(b, QUOTE, f, 1);
}

static void create_table(sb *b, const mig_ddl_table *t)
{
    sb_puts(b, "CREATE TABLE ");
    sb_ident(b, t->name);
    sb_puts(b, " (\n");
    for (size_t i = 0; i < t->ncolumns; i++) {
        sb_puts(b, i ? ",\n    " : "    ");
        column_def_of(b, t->name, &t->columns[i]);
    }
    if (t->primary_key) {
        sb_puts(b, ",\n    ");
        constraint_name(b, t->primary_key->name);
        sb_puts(b, "PRIMARY KEY ");
        sb_idents(b, t->primary_key->columns, t->primary_key->ncolumns);
    }
    for (size_t i = 0; i < t->nuniques; i++) {
        sb_puts(b, ",\n    ");
        constraint_name(b, t->uniques[i].name);
        sb_puts(b, "UNIQUE ");
        sb_idents(b, t->uniques[i].columns, t->uniques[i].ncolumns);
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

/* The " GENERATED ... AS IDENTITY" the introspection writes after an identity column's type. */
static const char *identity_of(const char *type)
{
    const char *g = strstr(type, " GENERATED ");
    return g && strstr(g, " AS IDENTITY") ? g : NULL;
}

/*
 * Is this a type of PostgreSQL's own, with casts to its fellows? An enum
 * (or another type of the user's) casts to and from text only, so a
 * change of type that involves one goes through text.
 */
static int builtin_type(const char *type, size_t len)
{
    static const char *const known[] = {
        "smallint", "integer",   "bigint",  "numeric", "real",  "double precision",
        "text",     "character", "boolean", "date",    "time",  "timestamp",
        "interval", "uuid",      "json",    "jsonb",   "bytea", "money",
        "inet",     "cidr",      "bit",     NULL
    };
    for (size_t i = 0; known[i]; i++) {
        size_t kl = strlen(known[i]);
        if (len >= kl && strncmp(type, known[i], kl) == 0 &&
            (len == kl || type[kl] == ' ' || type[kl] == '(' || type[kl] == '['))
            return 1;
    }
    return 0;
}

static void put_action(sb *b, int *n, const char *column, const char *what)
{
    sb_puts(b, (*n)++ ? ", ALTER COLUMN " : "ALTER COLUMN ");
    sb_ident(b, column);
    sb_puts(b, " ");
    sb_puts(b, what);
}

/*
 * One ALTER TABLE whose actions run in order: an identity or a default
 * that would not fit the new type goes first and comes back after it, and
 * an identity comes last, when the column is NOT NULL.
 */
static void alter_column(sb *b, const char *table, const mig_ddl_column *old, const mig_ddl_column *c)
{
    const char *oid = identity_of(old->type), *nid = identity_of(c->type);
    size_t olen = oid ? (size_t)(oid - old->type) : strlen(old->type);
    size_t nlen = nid ? (size_t)(nid - c->type) : strlen(c->type);
    int retype = olen != nlen || strncmp(old->type, c->type, nlen) != 0;
    int reidentity = (oid == NULL) != (nid == NULL) || (oid && strcmp(oid, nid) != 0);
    int redefault = retype || (old->default_sql == NULL) != (c->default_sql == NULL) ||
                    (old->default_sql && strcmp(old->default_sql, c->default_sql) != 0);
    int n = 0;
    alter(b, table);
    if (oid && (reidentity || retype))
        put_action(b, &n, c->name, "DROP IDENTITY");
    if (redefault && old->default_sql)
        put_action(b, &n, c->name, "DROP DEFAULT");
    if (retype) {
        sb_puts(b, n++ ? ", ALTER COLUMN " : "ALTER COLUMN ");
        sb_ident(b, c->name);
        sb_puts(b, " TYPE ");
        sb_put(b, c->type, nlen);
        sb_puts(b, " USING ");
        sb_ident(b, c->name);
        if (!builtin_type(old->type, olen) || !builtin_type(c->type, nlen))
            sb_puts(b, "::text");
        sb_puts(b, "::");
        sb_put(b, c->type, nlen);
    }
    if (redefault && c->default_sql) {
        sb_puts(b, n++ ? ", ALTER COLUMN " : "ALTER COLUMN ");
        sb_ident(b, c->name);
        sb_puts(b, " SET DEFAULT ");
        sb_puts(b, c->default_sql);
    }
    if (!old->nullable != !c->nullable)
        put_action(b, &n, c->name, c->nullable ? "DROP NOT NULL" : "SET NOT NULL");
    if (nid && (reidentity || retype)) {
        sb_puts(b, n++ ? ", ALTER COLUMN " : "ALTER COLUMN ");
        sb_ident(b, c->name);
        sb_puts(b, " ADD");
        sb_puts(b, nid);
    }
}

static void drop_constraint(sb *b, const char *table, const char *name)
{
    alter(b, table);
    sb_puts(b, "DROP CONSTRAINT ");
    sb_ident(b, name);
}

static void sb_literal(sb *b, const char *s)
{
    sb_put(b, "'", 1);
    for (; *s; s++) {
        if (*s == '\'')
            sb_put(b, "'", 1); /* a quote inside is doubled */
        sb_put(b, s, 1);
    }
    sb_put(b, "'", 1);
}

static int has_label(const mig_ddl_enum *e, const char *label)
{
    for (size_t i = 0; e && i < e->nlabels; i++)
        if (strcmp(e->labels[i], label) == 0)
            return 1;
    return 0;
}

/*
 * The labels an enum gains, each placed before the next label it already
 * has (or after the last). Labels it loses stay: PostgreSQL cannot drop
 * one, and the core says so in a comment.
 */
static int alter_enum(sb *b, const mig_ddl_enum *old, const mig_ddl_enum *e, mig_ddl_emit_fn emit,
                      void *payload)
{
    int rc = 0;
    for (size_t i = 0; i < e->nlabels && rc == 0; i++) {
        if (has_label(old, e->labels[i]))
            continue;
        sb_puts(b, "ALTER TYPE ");
        sb_ident(b, e->name);
        sb_puts(b, " ADD VALUE ");
        sb_literal(b, e->labels[i]);
        size_t k = i + 1;
        while (k < e->nlabels && !has_label(old, e->labels[k]))
            k++;
        if (k < e->nlabels) {
            sb_puts(b, " BEFORE ");
            sb_literal(b, e->labels[k]);
        }
        rc = sb_emit(b, emit, payload);
    }
    return rc;
}

int pg_render_ddl(const mig_ddl_change *c, mig_ddl_emit_fn emit, void *payload)
{
    sb b = { 0 };
    const char *table = c->table ? c->table->name : "";
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
        column_def_of(&b, table, c->column);
        break;
    case MIG_DDL_DROP_COLUMN:
        alter(&b, table);
        sb_puts(&b, "DROP COLUMN ");
        sb_ident(&b, c->column->name);
        break;
    case MIG_DDL_ALTER_COLUMN:
        alter_column(&b, table, c->old_column, c->column);
        break;
    case MIG_DDL_ADD_PRIMARY_KEY:
    case MIG_DDL_ADD_UNIQUE:
        alter(&b, table);
        sb_puts(&b, "ADD ");
        constraint_name(&b, c->key->name);
        sb_puts(&b, c->kind == MIG_DDL_ADD_UNIQUE ? "UNIQUE " : "PRIMARY KEY ");
        sb_idents(&b, c->key->columns, c->key->ncolumns);
        break;
    case MIG_DDL_DROP_PRIMARY_KEY:
    case MIG_DDL_DROP_UNIQUE:
        if (c->key->name == NULL)
            return MIG_DRV_NOTSUP;
        drop_constraint(&b, table, c->key->name);
        break;
    case MIG_DDL_CREATE_INDEX:
        sb_puts(&b, c->index->unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
        if (c->index->name) {
            sb_ident(&b, c->index->name);
            sb_puts(&b, " ");
        }
        sb_puts(&b, "ON ");
        sb_ident(&b, table);
        sb_puts(&b, " ");
        if (c->index->expression_sql) {
            sb_puts(&b, "(");
            sb_puts(&b, c->index->expression_sql);
            sb_puts(&b, ")");
        } else {
            sb_idents(&b, c->index->columns, c->index->ncolumns);
        }
        if (c->index->where_sql) {
            sb_puts(&b, " WHERE ");
            sb_puts(&b, c->index->where_sql);
        }
        break;
    case MIG_DDL_DROP_INDEX:
        if (c->index->name == NULL)
            return MIG_DRV_NOTSUP;
        sb_puts(&b, "DROP INDEX ");
        sb_ident(&b, c->index->name);
        break;
    case MIG_DDL_ADD_FOREIGN_KEY:
        alter(&b, table);
        sb_puts(&b, "ADD ");
        fk_def(&b, c->foreign_key);
        break;
    case MIG_DDL_DROP_FOREIGN_KEY:
        if (c->foreign_key->name == NULL)
            return MIG_DRV_NOTSUP;
        drop_constraint(&b, table, c->foreign_key->name);
        break;
    case MIG_DDL_CREATE_ENUM:
        sb_puts(&b, "CREATE TYPE ");
        sb_ident(&b, c->enum_type->name);
        sb_puts(&b, " AS ENUM (");
        for (size_t i = 0; i < c->enum_type->nlabels; i++) {
            if (i)
                sb_puts(&b, ", ");
            sb_literal(&b, c->enum_type->labels[i]);
        }
        sb_puts(&b, ")");
        break;
    case MIG_DDL_DROP_ENUM:
        sb_puts(&b, "DROP TYPE ");
        sb_ident(&b, c->enum_type->name);
        break;
    case MIG_DDL_ALTER_ENUM: {
        int rc = alter_enum(&b, c->old_enum, c->enum_type, emit, payload);
        free(b.p);
        return rc;
    }
    default:
        return MIG_DRV_NOTSUP;
    }
    int rc = sb_emit(&b, emit, payload);
    free(b.p);
    return rc;
}

/*
 * The target schema in a schema of its own, first on the search path (so
 * the server writes its names unqualified, as it does for the live one),
 * created in a transaction that is rolled back: nothing is left behind,
 * even when the connection dies half-way.
 */
int pg_introspect_ddl(mig_conn *c, const char *ddl, size_t len, const mig_schema_sink *sink,
                      void *payload, mig_drv_error *err)
{
    const mig_driver *d = mig_driver_entry();
    char name[64], sql[256];
    static unsigned seq;
    snprintf(name, sizeof name, "mig_scratch_%ld_%u", (long)getpid(), ++seq);
    int rc = d->begin(c, 1, err);
    if (rc != MIG_DRV_OK)
        return rc;
    snprintf(sql, sizeof sql, "CREATE SCHEMA \"%s\"", name);
    rc = pg_run(c, NULL, sql, 0, NULL, err);
    if (rc == MIG_DRV_OK) {
        snprintf(sql, sizeof sql,
                 "SELECT pg_catalog.set_config('search_path', '\"%s\", ' || "
                 "pg_catalog.current_setting('search_path'), true)",
                 name);
        rc = pg_run(c, NULL, sql, 0, NULL, err);
    }
    if (rc == MIG_DRV_OK)
        rc = d->exec(c, ddl, len, NULL, err);
    if (rc == MIG_DRV_OK)
        rc = pg_introspect(c, name, sink, payload, err);
    mig_drv_error ignored;
    memset(&ignored, 0, sizeof ignored);
    int rb = d->rollback(c, rc == MIG_DRV_OK ? err : &ignored);
    return rc != MIG_DRV_OK ? rc : rb;
}
