/*
 * The live schema of a MySQL database, read from information_schema, for
 * autogenerate.
 *
 * Four queries cover the whole database (columns, keys, indexes, foreign
 * keys), each sorted by table name as bytes; the tables are then walked in
 * the same order and each query's rows for that table handed to the sink.
 * A round trip per table would make a database of thousands of tables take
 * minutes.
 *
 * In MySQL a UNIQUE constraint and a unique index are one object, listed
 * in both TABLE_CONSTRAINTS and STATISTICS: it is reported once, as a
 * unique constraint. The index MySQL adds by itself for a foreign key (the
 * key's columns, under the key's name or its first column's) is not
 * reported either: it follows the key, and MariaDB renames it at will.
 * MySQL 8's functional index keys (information_schema.STATISTICS.EXPRESSION,
 * a column MariaDB lacks) are not read: such a key shows as an empty name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mig/driver_util.h"
#include "mysql_int.h"

/* A stored result and where the walk has got to in it. */
typedef struct rows {
    MYSQL_RES *res;
    MYSQL_ROW *row;
    size_t     n, at;
} rows;

static void rows_release(rows *r)
{
    mysql_free_result(r->res);
    free(r->row);
    memset(r, 0, sizeof(*r));
}

static int load(MYSQL *my, const char *sql, rows *r, mig_drv_error *err)
{
    size_t i;

    memset(r, 0, sizeof(*r));
    if (mysql_real_query(my, sql, strlen(sql)) != 0 || (r->res = mysql_store_result(my)) == NULL)
        return my_fail_conn(my, err);
    r->n = (size_t)mysql_num_rows(r->res);
    if (r->n > 0 && (r->row = malloc(r->n * sizeof(*r->row))) == NULL) {
        rows_release(r);
        return my_fail(err, "out of memory");
    }
    for (i = 0; i < r->n; i++)
        r->row[i] = mysql_fetch_row(r->res);
    return MIG_DRV_OK;
}

/* Skip rows of tables before `table` (in byte order); is the next row of `table`? */
static int at_table(rows *r, const char *table)
{
    while (r->at < r->n && strcmp(r->row[r->at][0], table) < 0)
        r->at++;
    return r->at < r->n && strcmp(r->row[r->at][0], table) == 0;
}

/* Column lists for the sink: <mig/driver_util.h>. */
typedef mig_names names;
#define names_add mig_names_add

/* Append s to l as text (no separator, NUL-terminated). */
static int text_add(names *l, const char *s)
{
    size_t n = strlen(s);

    if (l->len + n + 1 > l->cap) {
        size_t cap = (l->len + n + 1) * 2;
        char  *p = realloc(l->buf, cap);
        if (p == NULL)
            return -1;
        l->buf = p;
        l->cap = cap;
    }
    memcpy(l->buf + l->len, s, n + 1);
    l->len += n;
    return 0;
}

static int same(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/*
 * Gather the rows of one object (same table, same name in column `namecol`)
 * starting at r->at, adding column `colcol` of each to l. Leaves r->at past
 * them; *first is the object's first row.
 */
static int gather(rows *r, int namecol, int colcol, MYSQL_ROW *first, names *l)
{
    MYSQL_ROW head = r->row[r->at];

    *first = head;
    mig_names_clear(l);
    while (r->at < r->n && same(r->row[r->at][0], head[0]) &&
           same(r->row[r->at][namecol], head[namecol])) {
        if (names_add(l, r->row[r->at][colcol] != NULL ? r->row[r->at][colcol] : "") != 0)
            return -1;
        r->at++;
    }
    return 0;
}

/*
 * Is index `name` with these columns the one InnoDB made for a foreign key
 * of the table (fk rows from fk->at)? It has the key's columns and the
 * key's name, or, for a key written without a name, its first column's.
 */
static int backs_foreign_key(const rows *fk, const char *table, const char *name, const names *cols)
{
    size_t i = fk->at;
    names  l = { 0 };
    int    hit = 0;

    while (!hit && i < fk->n && same(fk->row[i][0], table)) {
        const char *key = fk->row[i][1], *first = fk->row[i][2];
        mig_names_clear(&l);
        for (; i < fk->n && same(fk->row[i][0], table) && same(fk->row[i][1], key); i++)
            if (names_add(&l, fk->row[i][2]) != 0)
                goto out;
        hit = (same(key, name) || same(first, name)) && l.len == cols->len &&
              memcmp(l.buf, cols->buf, l.len) == 0;
    }
out:
    free(l.buf);
    return hit;
}

/*
 * MariaDB writes COLUMN_DEFAULT as SQL (quoted literals, current_timestamp(),
 * NULL); MySQL writes the bare value, and marks expressions DEFAULT_GENERATED.
 * The sink wants SQL, or NULL for no default.
 */
static char *default_sql(const char *def, const char *extra, const char *type, int mariadb)
{
    size_t i, n, o = 0;
    char  *out;
    int    numeric;

    if (def == NULL || (mariadb && strcmp(def, "NULL") == 0))
        return NULL;
    numeric = strncmp(type, "int", 3) == 0 || strncmp(type, "bigint", 6) == 0 ||
              strncmp(type, "smallint", 8) == 0 || strncmp(type, "tinyint", 7) == 0 ||
              strncmp(type, "mediumint", 9) == 0 || strncmp(type, "decimal", 7) == 0 ||
              strncmp(type, "float", 5) == 0 || strncmp(type, "double", 6) == 0 ||
              strncmp(type, "bit", 3) == 0;
    if (mariadb || numeric || (extra != NULL && strstr(extra, "DEFAULT_GENERATED") != NULL) ||
        strncasecmp(def, "CURRENT_TIMESTAMP", 17) == 0)
        return strdup(def);
    n = strlen(def);
    if ((out = malloc(2 * n + 3)) == NULL)
        return NULL;
    out[o++] = '\'';
    for (i = 0; i < n; i++) {
        if (def[i] == '\'' || def[i] == '\\')
            out[o++] = def[i];
        out[o++] = def[i];
    }
    out[o++] = '\'';
    out[o] = '\0';
    return out;
}

int my_introspect(MYSQL *my, const char *schema, const mig_schema_sink *sink, void *payload,
                  mig_drv_error *err)
{
    char       *where = NULL, *q = NULL, *dbname = NULL;
    const char *db = schema;
    rows        tables = { 0 }, cols = { 0 }, keys = { 0 }, idx = { 0 }, fks = { 0 };
    names        l = { 0 }, l2 = { 0 };
    size_t      t, n;
    int         rc = MIG_DRV_OK, mariadb;
    const char *info = mysql_get_server_info(my);

    mariadb = info != NULL && strstr(info, "MariaDB") != NULL;
    /* the current database unless told: named, to tell its tables from others' */
    if (schema == NULL) {
        if ((rc = load(my, "SELECT DATABASE()", &tables, err)) != MIG_DRV_OK)
            return rc;
        if (tables.n == 1 && tables.row[0][0] != NULL)
            db = dbname = strdup(tables.row[0][0]);
        rows_release(&tables);
        if (db == NULL)
            return my_fail(err, "no database selected: name one in the URL (mysql://host/DATABASE)");
    }
    /* as a quoted literal */
    n = strlen(db);
    if ((where = malloc(2 * n + 3)) == NULL) {
        free(dbname);
        return my_fail(err, "out of memory");
    }
    where[0] = '\'';
    n = mysql_real_escape_string(my, where + 1, db, (unsigned long)n);
    where[n + 1] = '\'';
    where[n + 2] = '\0';
    if ((q = malloc(strlen(where) + 1024)) == NULL) {
        free(where);
        free(dbname);
        return my_fail(err, "out of memory");
    }

    sprintf(q, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
            "AND TABLE_TYPE = 'BASE TABLE' ORDER BY BINARY TABLE_NAME", where);
    if ((rc = load(my, q, &tables, err)) != MIG_DRV_OK)
        goto out;
    sprintf(q, "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, "
            "ORDINAL_POSITION, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
            "ORDER BY BINARY TABLE_NAME, ORDINAL_POSITION", where);
    if ((rc = load(my, q, &cols, err)) != MIG_DRV_OK)
        goto out;
    sprintf(q, "SELECT tc.TABLE_NAME, tc.CONSTRAINT_NAME, kcu.COLUMN_NAME, tc.CONSTRAINT_TYPE "
            "FROM information_schema.TABLE_CONSTRAINTS tc "
            "JOIN information_schema.KEY_COLUMN_USAGE kcu "
            "ON kcu.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND kcu.TABLE_NAME = tc.TABLE_NAME "
            "AND kcu.CONSTRAINT_NAME = tc.CONSTRAINT_NAME "
            "WHERE tc.TABLE_SCHEMA = %s AND tc.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE') "
            "ORDER BY BINARY tc.TABLE_NAME, tc.CONSTRAINT_TYPE, BINARY tc.CONSTRAINT_NAME, "
            "kcu.ORDINAL_POSITION", where);
    if ((rc = load(my, q, &keys, err)) != MIG_DRV_OK)
        goto out;
    sprintf(q, "SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME, NON_UNIQUE, SUB_PART, COLLATION "
            "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s AND NON_UNIQUE = 1 "
            "ORDER BY BINARY TABLE_NAME, BINARY INDEX_NAME, SEQ_IN_INDEX", where);
    if ((rc = load(my, q, &idx, err)) != MIG_DRV_OK)
        goto out;
    sprintf(q, "SELECT kcu.TABLE_NAME, kcu.CONSTRAINT_NAME, kcu.COLUMN_NAME, "
            "kcu.REFERENCED_COLUMN_NAME, kcu.REFERENCED_TABLE_NAME, kcu.REFERENCED_TABLE_SCHEMA, "
            "rc.DELETE_RULE, rc.UPDATE_RULE "
            "FROM information_schema.KEY_COLUMN_USAGE kcu "
            "JOIN information_schema.REFERENTIAL_CONSTRAINTS rc "
            "ON rc.CONSTRAINT_SCHEMA = kcu.CONSTRAINT_SCHEMA AND rc.TABLE_NAME = kcu.TABLE_NAME "
            "AND rc.CONSTRAINT_NAME = kcu.CONSTRAINT_NAME "
            "WHERE kcu.TABLE_SCHEMA = %s AND kcu.REFERENCED_TABLE_NAME IS NOT NULL "
            "ORDER BY BINARY kcu.TABLE_NAME, BINARY kcu.CONSTRAINT_NAME, kcu.ORDINAL_POSITION",
            where);
    if ((rc = load(my, q, &fks, err)) != MIG_DRV_OK)
        goto out;

    for (t = 0; t < tables.n && rc == 0; t++) {
        const char *table = tables.row[t][0];
        MYSQL_ROW   r;

        if (sink->table != NULL && (rc = sink->table(payload, table)) != 0)
            break;
        while (rc == 0 && at_table(&cols, table)) {
            char *def, *type = NULL;
            r = cols.row[cols.at++];
            def = default_sql(r[4], r[6], r[2] != NULL ? r[2] : "", mariadb);
            /* AUTO_INCREMENT is part of what the column is: written with its type */
            if (r[2] != NULL && r[6] != NULL && strstr(r[6], "auto_increment") != NULL &&
                (type = malloc(strlen(r[2]) + 16)) != NULL)
                sprintf(type, "%s AUTO_INCREMENT", r[2]);
            if (sink->column != NULL)
                rc = sink->column(payload, table, r[1], type != NULL ? type : r[2],
                                  r[3] != NULL && strcmp(r[3], "YES") == 0,
                                  def, r[5] != NULL ? (int)strtol(r[5], NULL, 10) : 0);
            free(type);
            free(def);
        }
        while (rc == 0 && at_table(&keys, table)) {
            if (gather(&keys, 1, 2, &r, &l) != 0) {
                rc = my_fail(err, "out of memory");
                break;
            }
            if (strcmp(r[3], "PRIMARY KEY") == 0) {
                if (sink->primary_key != NULL)
                    rc = sink->primary_key(payload, table, r[1], l.buf);
            } else if (sink->unique != NULL) {
                rc = sink->unique(payload, table, r[1], l.buf);
            }
        }
        at_table(&fks, table); /* positions fks for backs_foreign_key() */
        while (rc == 0 && at_table(&idx, table)) {
            /*
             * As the other drivers do: columns names the key columns, and
             * when a key is not a plain column (a prefix length, DESC),
             * expression_sql holds the whole key list, since the names
             * alone would not recreate the index.
             */
            MYSQL_ROW head = idx.row[idx.at];
            int       plain = 1, oom = 0;

            mig_names_clear(&l);
            l2.len = 0;
            while (idx.at < idx.n && same(idx.row[idx.at][0], table) &&
                   same(idx.row[idx.at][1], head[1])) {
                MYSQL_ROW k = idx.row[idx.at++];
                int       desc = k[5] != NULL && strcmp(k[5], "D") == 0;
                oom |= names_add(&l, k[2] != NULL ? k[2] : "") != 0;
                oom |= (l2.len > 0 && text_add(&l2, ", ") != 0) ||
                       text_add(&l2, k[2] != NULL ? k[2] : "") != 0;
                if (k[4] != NULL)
                    oom |= text_add(&l2, "(") != 0 || text_add(&l2, k[4]) != 0 ||
                           text_add(&l2, ")") != 0;
                if (desc)
                    oom |= text_add(&l2, " DESC") != 0;
                plain &= k[4] == NULL && !desc;
            }
            if (oom) {
                rc = my_fail(err, "out of memory");
                break;
            }
            if (!backs_foreign_key(&fks, table, head[1], &l) && sink->index != NULL)
                rc = sink->index(payload, table, head[1], 0, l.buf, plain ? NULL : l2.buf, NULL);
        }
        while (rc == 0 && at_table(&fks, table)) {
            size_t    i, start = fks.at;
            char     *ref = NULL;
            if (gather(&fks, 1, 2, &r, &l) != 0) {
                rc = my_fail(err, "out of memory");
                break;
            }
            l2.len = 0;
            for (i = start; i < fks.at; i++)
                if (names_add(&l2, fks.row[i][3] != NULL ? fks.row[i][3] : "") != 0) {
                    rc = my_fail(err, "out of memory");
                    break;
                }
            if (rc != 0)
                break;
            /* a table in another database is named with it */
            if (r[5] != NULL && strcmp(r[5], db) != 0) {
                if ((ref = malloc(strlen(r[5]) + strlen(r[4]) + 2)) == NULL) {
                    rc = my_fail(err, "out of memory");
                    break;
                }
                sprintf(ref, "%s.%s", r[5], r[4]);
            }
            if (sink->foreign_key != NULL)
                rc = sink->foreign_key(payload, table, r[1], l.buf, ref != NULL ? ref : r[4], l2.buf,
                                       r[6], r[7]);
            free(ref);
        }
    }
out:
    rows_release(&tables);
    rows_release(&cols);
    rows_release(&keys);
    rows_release(&idx);
    rows_release(&fks);
    free(l.buf);
    free(l2.buf);
    free(q);
    free(where);
    free(dbname);
    return rc;
}
