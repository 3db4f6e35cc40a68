/*
 * nulldb: the smallest useful mig driver, built out of tree by the SDK test.
 * It accepts every statement and keeps nothing, so it shows what a driver
 * must provide (the mandatory slots of driver.h) and nothing more: no
 * session lock, no schemas, no introspection. Its dialect still lets
 * `mig --driver nulldb upgrade --sql` print a plan.
 */
#include <mig/driver.h>
#include <mig/driver_util.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mig_conn {
    int in_txn;
};

struct mig_cursor {
    int done;
};

static void set_error(mig_drv_error *err, const char *msg)
{
    snprintf(err->message, sizeof err->message, "%s", msg);
}

static int nulldb_connect(mig_conn **out, const char *url, const char *base_dir,
                          const mig_connect_opts *opts, mig_drv_error *err)
{
    (void)url;
    (void)base_dir;
    (void)opts;
    *out = calloc(1, sizeof **out);
    if (*out == NULL) {
        set_error(err, "out of memory");
        return MIG_DRV_ERROR;
    }
    return MIG_DRV_OK;
}

static void nulldb_close(mig_conn *conn)
{
    free(conn);
}

static int nulldb_exec(mig_conn *conn, const char *sql, size_t len, int64_t *affected, mig_drv_error *err)
{
    (void)conn;
    (void)sql;
    (void)len;
    (void)err;
    if (affected)
        *affected = 0;
    return MIG_DRV_OK;
}

static int nulldb_exec_params(mig_conn *conn, const char *sql, const mig_value *params, int nparams,
                              int64_t *affected, mig_drv_error *err)
{
    (void)params;
    (void)nparams;
    return nulldb_exec(conn, sql, strlen(sql), affected, err);
}

static int nulldb_query(mig_cursor **out, mig_conn *conn, const char *sql, const mig_value *params,
                        int nparams, mig_drv_error *err)
{
    (void)conn;
    (void)sql;
    (void)params;
    (void)nparams;
    *out = calloc(1, sizeof **out);
    if (*out == NULL) {
        set_error(err, "out of memory");
        return MIG_DRV_ERROR;
    }
    return MIG_DRV_OK;
}

/* Every result is empty: the first fetch is the end. */
static int nulldb_fetch(mig_cursor *cur, const mig_row **row, mig_drv_error *err)
{
    (void)err;
    cur->done = 1;
    *row = NULL;
    return MIG_DRV_OK;
}

static void nulldb_cursor_close(mig_cursor *cur)
{
    free(cur);
}

static int nulldb_begin(mig_conn *conn, int write, mig_drv_error *err)
{
    (void)write;
    (void)err;
    conn->in_txn = 1;
    return MIG_DRV_OK;
}

static int nulldb_end(mig_conn *conn, mig_drv_error *err)
{
    (void)err;
    conn->in_txn = 0;
    return MIG_DRV_OK;
}

/*
 * "name" with inner quotes doubled; returns the length it needs. Built with
 * <mig/driver_util.h>, so the install test sees the installed header work.
 */
static size_t nulldb_quote_ident(const char *name, char *buf, size_t buflen)
{
    mig_sb b = { 0 };
    mig_sb_ident(&b, '"', name);
    size_t need = b.len;
    if (!b.oom && buflen > need)
        memcpy(buf, b.p, need + 1);
    else if (buflen > 0)
        buf[0] = '\0';
    free(b.p);
    return need;
}

static int nulldb_table_exists(mig_conn *conn, const char *table, int *exists, mig_drv_error *err)
{
    (void)conn;
    (void)table;
    (void)err;
    *exists = 0;
    return MIG_DRV_OK;
}

static const mig_dialect nulldb_dialect = {
    .begin_sql = "BEGIN",
    .begin_write_sql = "BEGIN",
    .commit_sql = "COMMIT",
    .rollback_sql = "ROLLBACK",
    .autoinc_pk = "INTEGER PRIMARY KEY",
    .timestamp_type = "TIMESTAMP",
    .now_expr = "CURRENT_TIMESTAMP",
    .text_type = "TEXT",
    .ident_quote = '"',
};

static const char *const nulldb_schemes[] = { "nulldb", NULL };

static const mig_driver nulldb_driver = {
    .magic = MIG_DRIVER_MAGIC,
    .abi = MIG_DRIVER_ABI,
    .size = sizeof(mig_driver),
    .name = "nulldb",
    .version = "1.0.0",
    .description = "accepts every statement, keeps nothing (SDK example)",
    .url_schemes = nulldb_schemes,
    .caps = MIG_CAP_TRANSACTIONAL_DDL | MIG_CAP_MULTI_STATEMENT,
    .dialect = &nulldb_dialect,
    .connect = nulldb_connect,
    .close = nulldb_close,
    .exec = nulldb_exec,
    .exec_params = nulldb_exec_params,
    .query = nulldb_query,
    .fetch = nulldb_fetch,
    .cursor_close = nulldb_cursor_close,
    .begin = nulldb_begin,
    .commit = nulldb_end,
    .rollback = nulldb_end,
    .quote_ident = nulldb_quote_ident,
    .table_exists = nulldb_table_exists,
};

MIG_DRIVER_DEFINE(nulldb_driver)
