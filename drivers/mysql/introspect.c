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
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mig/driver_util.h"
#include "mysql_int.h"

/* A stored result and where the walk has got to in it. */
typedef struct rows {
    MYSQL_RES *res;
    MYSQL_ROW *row;
    size_t n, at;
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
    while (r->at < r->n && same(r->row[r->at][0], head[0]) && same(r->row[r->at][namecol], head[namecol])) {
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
    names l = { 0 };
    int hit = 0;

    while (!hit && i < fk->n && same(fk->row[i][0], table)) {
        const char *key = fk->row[i][1], *first = fk->row[i][2];
        mig_names_clear(&l);
        for (; i < fk->n && same(fk->row[i][0], table) && same(fk->row[i][1], key); i++)
            if (names_add(&l, fk->row[i][2]) != 0)
                goto out;
        hit = (same(key, name) || same(first, name)) && mig_names_equal(&l, cols);
    }
out:
    mig_names_free(&l);
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
    char *out;
    int numeric;

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

/* Everything one introspection holds: the five result sets and two scratch lists. */
typedef struct walk {
    const mig_schema_sink *sink;
    void *payload;
    mig_drv_error *err;
    const char *db;
    int mariadb;
    rows tables, cols, keys, idx, fks;
    names l, l2;
} walk;

/* sql with every %s replaced by where (the schema as a quoted literal), then loaded. */
static int load_in(MYSQL *my, const char *sql, const char *where, rows *r, mig_drv_error *err)
{
    mig_sb q = { 0 };
    const char *p;

    for (p = sql; *p != '\0';) {
        const char *mark = strstr(p, "%s");
        if (mark == NULL) {
            mig_sb_puts(&q, p);
            break;
        }
        mig_sb_put(&q, p, (size_t)(mark - p));
        mig_sb_puts(&q, where);
        p = mark + 2;
    }
    int rc = q.oom ? my_fail(err, "out of memory") : load(my, q.p, r, err);
    free(q.p);
    return rc;
}

static int load_all(MYSQL *my, walk *w)
{
    static const char *const sql[5] = {
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
        "AND TABLE_TYPE = 'BASE TABLE' ORDER BY BINARY TABLE_NAME",
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, "
        "ORDINAL_POSITION, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
        "ORDER BY BINARY TABLE_NAME, ORDINAL_POSITION",
        "SELECT tc.TABLE_NAME, tc.CONSTRAINT_NAME, kcu.COLUMN_NAME, tc.CONSTRAINT_TYPE "
        "FROM information_schema.TABLE_CONSTRAINTS tc "
        "JOIN information_schema.KEY_COLUMN_USAGE kcu "
        "ON kcu.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND kcu.TABLE_NAME = tc.TABLE_NAME "
        "AND kcu.CONSTRAINT_NAME = tc.CONSTRAINT_NAME "
        "WHERE tc.TABLE_SCHEMA = %s AND tc.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE') "
        "ORDER BY BINARY tc.TABLE_NAME, tc.CONSTRAINT_TYPE, BINARY tc.CONSTRAINT_NAME, "
        "kcu.ORDINAL_POSITION",
        "SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME, NON_UNIQUE, SUB_PART, COLLATION "
        "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s AND NON_UNIQUE = 1 "
        "ORDER BY BINARY TABLE_NAME, BINARY INDEX_NAME, SEQ_IN_INDEX",
        "SELECT kcu.TABLE_NAME, kcu.CONSTRAINT_NAME, kcu.COLUMN_NAME, "
        "kcu.REFERENCED_COLUMN_NAME, kcu.REFERENCED_TABLE_NAME, kcu.REFERENCED_TABLE_SCHEMA, "
        "rc.DELETE_RULE, rc.UPDATE_RULE "
        "FROM information_schema.KEY_COLUMN_USAGE kcu "
        "JOIN information_schema.REFERENTIAL_CONSTRAINTS rc "
        "ON rc.CONSTRAINT_SCHEMA = kcu.CONSTRAINT_SCHEMA AND rc.TABLE_NAME = kcu.TABLE_NAME "
        "AND rc.CONSTRAINT_NAME = kcu.CONSTRAINT_NAME "
        "WHERE kcu.TABLE_SCHEMA = %s AND kcu.REFERENCED_TABLE_NAME IS NOT NULL "
        "ORDER BY BINARY kcu.TABLE_NAME, BINARY kcu.CONSTRAINT_NAME, kcu.ORDINAL_POSITION",
    };
    rows *const dest[5] = { &w->tables, &w->cols, &w->keys, &w->idx, &w->fks };
    mig_sb where = { 0 };
    size_t n = strlen(w->db);
    char *esc = malloc(2 * n + 1);
    int rc = MIG_DRV_OK;

    if (esc == NULL)
        return my_fail(w->err, "out of memory");
    /* the schema as a quoted literal */
    mysql_real_escape_string(my, esc, w->db, (unsigned long)n);
    mig_sb_puts(&where, "'");
    mig_sb_puts(&where, esc);
    mig_sb_puts(&where, "'");
    free(esc);
    if (where.oom)
        rc = my_fail(w->err, "out of memory");
    for (size_t i = 0; i < 5 && rc == MIG_DRV_OK; i++)
        rc = load_in(my, sql[i], where.p, dest[i], w->err);
    free(where.p);
    return rc;
}

static int do_columns(walk *w, const char *table)
{
    int rc = 0;

    while (rc == 0 && at_table(&w->cols, table)) {
        MYSQL_ROW r = w->cols.row[w->cols.at++];
        char *def = default_sql(r[4], r[6], r[2] != NULL ? r[2] : "", w->mariadb);
        mig_sb type = { 0 };
        /* AUTO_INCREMENT is part of what the column is: written with its type */
        if (r[2] != NULL && r[6] != NULL && strstr(r[6], "auto_increment") != NULL) {
            mig_sb_puts(&type, r[2]);
            mig_sb_puts(&type, " AUTO_INCREMENT");
        }
        if (w->sink->column != NULL)
            rc = w->sink->column(w->payload, table, r[1], type.p != NULL && !type.oom ? type.p : r[2],
                                 r[3] != NULL && strcmp(r[3], "YES") == 0, def,
                                 r[5] != NULL ? (int)strtol(r[5], NULL, 10) : 0);
        free(type.p);
        free(def);
    }
    return rc;
}

static int do_keys(walk *w, const char *table)
{
    int rc = 0;

    while (rc == 0 && at_table(&w->keys, table)) {
        MYSQL_ROW r;
        if (gather(&w->keys, 1, 2, &r, &w->l) != 0)
            return my_fail(w->err, "out of memory");
        if (strcmp(r[3], "PRIMARY KEY") == 0) {
            if (w->sink->primary_key != NULL)
                rc = w->sink->primary_key(w->payload, table, r[1], mig_names_v(&w->l), w->l.count);
        } else if (w->sink->unique != NULL) {
            rc = w->sink->unique(w->payload, table, r[1], mig_names_v(&w->l), w->l.count);
        }
    }
    return rc;
}

/*
 * As the other drivers do: columns names the key columns, and when a key
 * is not a plain column (a prefix length, DESC), expression_sql holds the
 * whole key list, since the names alone would not recreate the index.
 */
static int do_indexes(walk *w, const char *table)
{
    rows *idx = &w->idx;
    int rc = 0;

    at_table(&w->fks, table); /* positions fks for backs_foreign_key() */
    while (rc == 0 && at_table(idx, table)) {
        MYSQL_ROW head = idx->row[idx->at];
        mig_sb keys = { 0 };
        int plain = 1, oom = 0;

        mig_names_clear(&w->l);
        while (idx->at < idx->n && same(idx->row[idx->at][0], table) &&
               same(idx->row[idx->at][1], head[1])) {
            MYSQL_ROW k = idx->row[idx->at++];
            int desc = k[5] != NULL && strcmp(k[5], "D") == 0;
            oom |= names_add(&w->l, k[2] != NULL ? k[2] : "") != 0;
            if (keys.len > 0)
                mig_sb_puts(&keys, ", ");
            mig_sb_puts(&keys, k[2] != NULL ? k[2] : "");
            if (k[4] != NULL) {
                mig_sb_puts(&keys, "(");
                mig_sb_puts(&keys, k[4]);
                mig_sb_puts(&keys, ")");
            }
            if (desc)
                mig_sb_puts(&keys, " DESC");
            plain &= k[4] == NULL && !desc;
        }
        if (oom || keys.oom)
            rc = my_fail(w->err, "out of memory");
        else if (!backs_foreign_key(&w->fks, table, head[1], &w->l) && w->sink->index != NULL)
            rc = w->sink->index(w->payload, table, head[1], 0, mig_names_v(&w->l), w->l.count,
                                plain ? NULL : keys.p, NULL);
        free(keys.p);
    }
    return rc;
}

static int do_foreign_keys(walk *w, const char *table)
{
    rows *fks = &w->fks;
    int rc = 0;

    while (rc == 0 && at_table(fks, table)) {
        size_t start = fks->at;
        MYSQL_ROW r;
        mig_sb ref = { 0 };
        if (gather(fks, 1, 2, &r, &w->l) != 0)
            return my_fail(w->err, "out of memory");
        mig_names_clear(&w->l2);
        for (size_t i = start; i < fks->at; i++)
            if (names_add(&w->l2, fks->row[i][3] != NULL ? fks->row[i][3] : "") != 0)
                return my_fail(w->err, "out of memory");
        /* a table in another database is named with it */
        if (r[5] != NULL && strcmp(r[5], w->db) != 0) {
            mig_sb_puts(&ref, r[5]);
            mig_sb_puts(&ref, ".");
            mig_sb_puts(&ref, r[4]);
            if (ref.oom) {
                free(ref.p);
                return my_fail(w->err, "out of memory");
            }
        }
        if (w->sink->foreign_key != NULL)
            rc = w->sink->foreign_key(w->payload, table, r[1], mig_names_v(&w->l), w->l.count,
                                      ref.p != NULL ? ref.p : r[4], mig_names_v(&w->l2), w->l2.count,
                                      r[6], r[7]);
        free(ref.p);
    }
    return rc;
}

int my_introspect(MYSQL *my, const char *schema, const mig_schema_sink *sink, void *payload,
                  mig_drv_error *err)
{
    walk w = { .sink = sink, .payload = payload, .err = err, .db = schema };
    char *dbname = NULL;
    int rc = MIG_DRV_OK;
    const char *info = mysql_get_server_info(my);

    w.mariadb = info != NULL && strstr(info, "MariaDB") != NULL;
    /* the current database unless told: named, to tell its tables from others' */
    if (schema == NULL) {
        if ((rc = load(my, "SELECT DATABASE()", &w.tables, err)) != MIG_DRV_OK)
            return rc;
        if (w.tables.n == 1 && w.tables.row[0][0] != NULL)
            w.db = dbname = strdup(w.tables.row[0][0]);
        rows_release(&w.tables);
        if (w.db == NULL)
            return my_fail(err, "no database selected: name one in the URL (mysql://host/DATABASE)");
    }
    rc = load_all(my, &w);
    for (size_t t = 0; t < w.tables.n && rc == 0; t++) {
        const char *table = w.tables.row[t][0];
        if (sink->table != NULL && (rc = sink->table(payload, table)) != 0)
            break;
        if ((rc = do_columns(&w, table)) == 0 && (rc = do_keys(&w, table)) == 0 &&
            (rc = do_indexes(&w, table)) == 0)
            rc = do_foreign_keys(&w, table);
    }
    rows_release(&w.tables);
    rows_release(&w.cols);
    rows_release(&w.keys);
    rows_release(&w.idx);
    rows_release(&w.fks);
    mig_names_free(&w.l);
    mig_names_free(&w.l2);
    free(dbname);
    return rc;
}
