/*
 * Schema introspection for autogenerate: reads one schema from pg_catalog
 * and hands it to the core's sink -- enum types first (tables use them),
 * then each table with its columns, primary key, unique constraints,
 * indexes and foreign keys, then sequences with the column that owns them.
 * Expressions (defaults, index expressions and predicates) come from the
 * server's own deparsers (pg_get_expr, pg_get_indexdef), so they are valid
 * SQL as the server would write them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"

/* A NUL-separated, double-NUL-terminated list of names. */
typedef struct namelist {
    char  *buf;
    size_t len; /* bytes used, excluding the final extra NUL */
    size_t cap;
} namelist;

static int list_add(namelist *l, const char *s)
{
    size_t n = strlen(s) + 1;

    if (l->len + n + 1 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
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
    return 0;
}

static void list_reset(namelist *l)
{
    l->len = 0;
    if (l->buf)
        l->buf[0] = l->buf[1] = '\0';
}

static const char *list_get(namelist *l)
{
    if (l->buf == NULL && list_add(l, "") == 0)
        l->len = 0; /* an empty list is just the two NULs */
    return l->buf ? l->buf : "\0";
}

static const char *val(PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
}

static const char *fk_action(const char *code)
{
    switch (code ? code[0] : 'a') {
    case 'r': return "RESTRICT";
    case 'c': return "CASCADE";
    case 'n': return "SET NULL";
    case 'd': return "SET DEFAULT";
    default:  return "NO ACTION";
    }
}

static int oom(mig_drv_error *err)
{
    return pg_error_msg(err, "out of memory");
}

static int do_enums(mig_conn *c, const char *nsp, const mig_schema_sink *sink, void *payload,
                    namelist *l, mig_drv_error *err)
{
    PGresult *res = NULL;
    int rc = pg_run(c, &res,
                    "SELECT t.typname, e.enumlabel FROM pg_catalog.pg_type t "
                    "JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid "
                    "WHERE t.typnamespace = $1::oid ORDER BY t.typname, e.enumsortorder",
                    1, &nsp, err);
    if (rc != MIG_DRV_OK)
        return rc;
    int n = PQntuples(res);
    for (int r = 0; r < n && rc == 0; r++) {
        if (list_add(l, PQgetvalue(res, r, 1)) != 0) {
            rc = oom(err);
            break;
        }
        if (r + 1 == n || strcmp(PQgetvalue(res, r, 0), PQgetvalue(res, r + 1, 0)) != 0) {
            if (sink->enum_type)
                rc = sink->enum_type(payload, PQgetvalue(res, r, 0), list_get(l));
            list_reset(l);
        }
    }
    PQclear(res);
    return rc;
}

static int do_columns(mig_conn *c, const char *oid, const char *table, const mig_schema_sink *sink,
                      void *payload, mig_drv_error *err)
{
    PGresult *res = NULL;
    /*
     * Identity and generated columns report no default: neither is one,
     * and the type alone is what the schema diff compares.
     */
    int rc = pg_run(c, &res,
                    "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
                    "NOT a.attnotnull, "
                    "CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END "
                    "FROM pg_catalog.pg_attribute a "
                    "LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                    "WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped "
                    "ORDER BY a.attnum",
                    1, &oid, err);
    if (rc != MIG_DRV_OK)
        return rc;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++)
        if (sink->column)
            rc = sink->column(payload, table, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
                              PQgetvalue(res, r, 2)[0] == 't', val(res, r, 3), r + 1);
    PQclear(res);
    return rc;
}

static int do_keys(mig_conn *c, const char *oid, const char *table, const mig_schema_sink *sink,
                   void *payload, namelist *l, mig_drv_error *err)
{
    PGresult *res = NULL;
    int rc = pg_run(c, &res,
                    "SELECT con.conname, con.contype, a.attname "
                    "FROM pg_catalog.pg_constraint con "
                    "CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord) "
                    "JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum "
                    "WHERE con.conrelid = $1::oid AND con.contype IN ('p', 'u') "
                    "ORDER BY con.contype, con.conname, k.ord",
                    1, &oid, err);
    if (rc != MIG_DRV_OK)
        return rc;
    int n = PQntuples(res);
    for (int r = 0; r < n && rc == 0; r++) {
        if (list_add(l, PQgetvalue(res, r, 2)) != 0) {
            rc = oom(err);
            break;
        }
        if (r + 1 < n && strcmp(PQgetvalue(res, r, 0), PQgetvalue(res, r + 1, 0)) == 0)
            continue;
        const char *name = PQgetvalue(res, r, 0);
        if (PQgetvalue(res, r, 1)[0] == 'p') {
            if (sink->primary_key)
                rc = sink->primary_key(payload, table, name, list_get(l));
        } else if (sink->unique) {
            rc = sink->unique(payload, table, name, list_get(l));
        }
        list_reset(l);
    }
    PQclear(res);
    return rc;
}

/*
 * Indexes other than those behind a primary key, unique or exclusion
 * constraint. columns lists the keys that are plain columns; when any key
 * is an expression or has a non-default order (DESC, NULLS FIRST/LAST),
 * expression_sql holds the whole key list as the server writes it, since
 * the names alone would not recreate the index.
 */
static int do_indexes(mig_conn *c, const char *oid, const char *table, const mig_schema_sink *sink,
                      void *payload, namelist *l, mig_drv_error *err)
{
    PGresult *res = NULL;
    char *expr = NULL;
    size_t elen = 0;
    int has_expr = 0;
    int rc = pg_run(c, &res,
                    "SELECT ic.relname, i.indisunique, a.attname, "
                    "pg_catalog.pg_get_indexdef(i.indexrelid, k.ord, true) || "
                    "  CASE i.indoption[k.ord - 1] & 3 WHEN 1 THEN ' DESC NULLS LAST' "
                    "  WHEN 2 THEN ' NULLS FIRST' WHEN 3 THEN ' DESC' ELSE '' END, "
                    "pg_catalog.pg_get_expr(i.indpred, i.indrelid, true), "
                    "i.indoption[k.ord - 1] & 3 <> 0 "
                    "FROM pg_catalog.pg_index i "
                    "JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
                    "CROSS JOIN LATERAL generate_series(1, i.indnkeyatts) AS k(ord) "
                    "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid "
                    "  AND a.attnum = i.indkey[k.ord - 1] AND i.indkey[k.ord - 1] <> 0 "
                    "WHERE i.indrelid = $1::oid AND NOT EXISTS ("
                    "  SELECT 1 FROM pg_catalog.pg_constraint con "
                    "  WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid "
                    "  AND con.contype IN ('p', 'u', 'x')) "
                    "ORDER BY ic.relname, k.ord",
                    1, &oid, err);
    if (rc != MIG_DRV_OK)
        return rc;
    int n = PQntuples(res);
    for (int r = 0; r < n && rc == 0; r++) {
        const char *col = val(res, r, 2), *key = PQgetvalue(res, r, 3);
        size_t klen = strlen(key);
        char *e = realloc(expr, elen + klen + 3);
        if (e == NULL || (col && list_add(l, col) != 0)) {
            if (e)
                expr = e;
            rc = oom(err);
            break;
        }
        expr = e;
        if (elen > 0) {
            memcpy(expr + elen, ", ", 2);
            elen += 2;
        }
        memcpy(expr + elen, key, klen + 1);
        elen += klen;
        if (col == NULL || PQgetvalue(res, r, 5)[0] == 't')
            has_expr = 1;
        if (r + 1 < n && strcmp(PQgetvalue(res, r, 0), PQgetvalue(res, r + 1, 0)) == 0)
            continue;
        if (sink->index)
            rc = sink->index(payload, table, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1)[0] == 't',
                             list_get(l), has_expr ? expr : NULL, val(res, r, 4));
        list_reset(l);
        elen = 0;
        has_expr = 0;
    }
    free(expr);
    PQclear(res);
    return rc;
}

/*
 * Foreign keys; a referenced table in another schema is named
 * schema.table, one in this schema by its name alone.
 */
static int do_fks(mig_conn *c, const char *oid, const char *nsp, const char *table,
                  const mig_schema_sink *sink, void *payload, namelist *l, namelist *rl,
                  mig_drv_error *err)
{
    PGresult *res = NULL;
    const char *params[2] = { oid, nsp };
    int rc = pg_run(c, &res,
                    "SELECT con.conname, a.attname, "
                    "CASE WHEN rn.oid = $2::oid THEN rc.relname ELSE rn.nspname || '.' || rc.relname END, "
                    "ra.attname, con.confdeltype, con.confupdtype "
                    "FROM pg_catalog.pg_constraint con "
                    "JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid "
                    "JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace "
                    "CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, refnum, ord) "
                    "JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum "
                    "JOIN pg_catalog.pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.refnum "
                    "WHERE con.conrelid = $1::oid AND con.contype = 'f' "
                    "ORDER BY con.conname, k.ord",
                    2, params, err);
    if (rc != MIG_DRV_OK)
        return rc;
    int n = PQntuples(res);
    for (int r = 0; r < n && rc == 0; r++) {
        if (list_add(l, PQgetvalue(res, r, 1)) != 0 || list_add(rl, PQgetvalue(res, r, 3)) != 0) {
            rc = oom(err);
            break;
        }
        if (r + 1 < n && strcmp(PQgetvalue(res, r, 0), PQgetvalue(res, r + 1, 0)) == 0)
            continue;
        if (sink->foreign_key)
            rc = sink->foreign_key(payload, table, PQgetvalue(res, r, 0), list_get(l),
                                   PQgetvalue(res, r, 2), list_get(rl),
                                   fk_action(PQgetvalue(res, r, 4)), fk_action(PQgetvalue(res, r, 5)));
        list_reset(l);
        list_reset(rl);
    }
    PQclear(res);
    return rc;
}

/* Sequences, with the column that owns them (serial, identity, OWNED BY). */
static int do_sequences(mig_conn *c, const char *nsp, const mig_schema_sink *sink, void *payload,
                        mig_drv_error *err)
{
    PGresult *res = NULL;
    int rc = pg_run(c, &res,
                    "SELECT s.relname, t.relname, a.attname FROM pg_catalog.pg_class s "
                    "LEFT JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::regclass "
                    "  AND d.objid = s.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass "
                    "  AND d.deptype IN ('a', 'i') "
                    "LEFT JOIN pg_catalog.pg_class t ON t.oid = d.refobjid "
                    "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
                    "WHERE s.relnamespace = $1::oid AND s.relkind = 'S' ORDER BY s.relname",
                    1, &nsp, err);
    if (rc != MIG_DRV_OK)
        return rc;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++)
        if (sink->sequence)
            rc = sink->sequence(payload, PQgetvalue(res, r, 0), val(res, r, 1), val(res, r, 2));
    PQclear(res);
    return rc;
}

/*
 * schema NULL: current_schema(). A non-zero result from the sink stops
 * the walk and is returned as it is.
 */
int pg_introspect(mig_conn *c, const char *schema, const mig_schema_sink *sink, void *payload,
                  mig_drv_error *err)
{
    PGresult *res = NULL, *tables = NULL;
    namelist l = { 0 }, rl = { 0 };
    char nsp[16];
    const char *nspp = nsp;
    int rc = pg_run(c, &res,
                    "SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n "
                    "WHERE n.nspname = coalesce($1, current_schema())",
                    1, &schema, err);
    if (rc != MIG_DRV_OK)
        return rc;
    if (PQntuples(res) != 1) {
        PQclear(res);
        if (schema)
            return pg_error_msg(err, "schema \"%s\" does not exist", schema);
        return pg_error_msg(err, "no current schema: no schema on the search_path exists");
    }
    snprintf(nsp, sizeof nsp, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);

    if ((rc = do_enums(c, nspp, sink, payload, &l, err)) != 0)
        goto done;
    rc = pg_run(c, &tables,
                "SELECT c.oid, c.relname FROM pg_catalog.pg_class c "
                "WHERE c.relnamespace = $1::oid AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
                "ORDER BY c.relname",
                1, &nspp, err);
    if (rc != MIG_DRV_OK)
        goto done;
    for (int r = 0; r < PQntuples(tables) && rc == 0; r++) {
        const char *oid = PQgetvalue(tables, r, 0), *name = PQgetvalue(tables, r, 1);
        if (sink->table && (rc = sink->table(payload, name)) != 0)
            break;
        if ((rc = do_columns(c, oid, name, sink, payload, err)) != 0 ||
            (rc = do_keys(c, oid, name, sink, payload, &l, err)) != 0 ||
            (rc = do_indexes(c, oid, name, sink, payload, &l, err)) != 0 ||
            (rc = do_fks(c, oid, nspp, name, sink, payload, &l, &rl, err)) != 0)
            break;
    }
    if (rc == 0)
        rc = do_sequences(c, nspp, sink, payload, err);
done:
    PQclear(tables);
    free(l.buf);
    free(rl.buf);
    return rc;
}
