/*
 * Driver conformance: load one mig driver plugin the way the core does and
 * hold it to the contract of mig/driver.h, against a real database.
 *
 *   mig_driver_conformance DRIVER.so URL   (installed as mig-driver-conformance)
 *   MIG_TEST_DRIVER_SO=... MIG_TEST_DRIVER_URL=... mig_driver_conformance
 *
 * The same program runs for every driver; SQL is written to work on all of
 * them, and the few places that differ branch on drv->name or on the
 * driver's dialect flags. Optional slots are tested when present, and
 * capability-dependent behaviour when the driver claims the capability.
 *
 * URL forms, so CMake can register runs before the test servers exist:
 *   ${VAR} or env:VAR  taken from the environment, else from the file named
 *                      by $MIG_TEST_SERVERS_ENV (lines of `export A=1 B=2`,
 *                      as tests/servers.sh writes them); when a variable is
 *                      missing the program exits 77 (skipped), or fails when
 *                      MIG_TEST_REQUIRE_SERVERS=1
 *   {tmpdir}           a fresh temporary folder, removed at the end
 *
 * Every table is named mc<pid>_..., so runs can share a database, and is
 * dropped at the end. MIG_TEST_DRIVER_BAD_URL, if set, is a URL that must
 * fail to connect (SQLite has one built in).
 */
#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <dlfcn.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mig/driver.h"

static const mig_driver *drv;
static mig_conn *conn;   /* the connection most tests use */
static const char *url;  /* expanded */
static char pfx[32];     /* table name prefix: mc<pid>_ */
static char tmpdir[256]; /* {tmpdir}, also base_dir */
static mig_drv_error err;

/* ---- helpers --------------------------------------------------------------- */

/* Assert a driver call returns MIG_DRV_OK; else print the driver's message. */
#define DRV_PASS(expr)                                                                                  \
    do {                                                                                                \
        memset(&err, 0, sizeof err);                                                                    \
        int rc__ = (expr);                                                                              \
        if (rc__ != MIG_DRV_OK)                                                                         \
            fprintf(stderr, "\n%s:%d: %s -> %d: %s\n", __FILE__, __LINE__, #expr, rc__, err.message);   \
        CU_ASSERT_EQUAL_FATAL(rc__, MIG_DRV_OK);                                                        \
    } while (0)

/* Assert a driver call fails with code and leaves a one-line message. */
#define DRV_FAILS(expr, code)                                                                           \
    do {                                                                                                \
        memset(&err, 0, sizeof err);                                                                    \
        int rc__ = (expr);                                                                              \
        if (rc__ != (code))                                                                             \
            fprintf(stderr, "\n%s:%d: %s -> %d, wanted %d (%s)\n", __FILE__, __LINE__, #expr, rc__,     \
                    (code), err.message);                                                               \
        CU_ASSERT_EQUAL(rc__, (code));                                                                  \
        CU_ASSERT(err.message[0] != '\0');                                                              \
        CU_ASSERT(strchr(err.message, '\n') == NULL);                                                   \
    } while (0)

#define SKIP(why)                                                                                       \
    do {                                                                                                \
        printf("(skipped: %s) ", (why));                                                                \
        return;                                                                                         \
    } while (0)

/* printf into one of a few rotating buffers; test SQL is short. */
static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static const char *fmt(const char *f, ...)
{
    static char bufs[8][4096];
    static int next;
    char *b = bufs[next++ % 8];
    va_list ap;
    va_start(ap, f);
    vsnprintf(b, sizeof bufs[0], f, ap);
    va_end(ap);
    return b;
}

static int exec_sql(mig_conn *c, const char *sql)
{
    memset(&err, 0, sizeof err);
    int rc = drv->exec(c, sql, strlen(sql), NULL, &err);
    if (rc != MIG_DRV_OK)
        fprintf(stderr, "\nexec failed (%d): %s\n  in: %.300s\n", rc, err.message, sql);
    return rc;
}

static void drop_table(const char *name)
{
    const char *sql = fmt("DROP TABLE IF EXISTS %s%s", pfx, name);
    drv->exec(conn, sql, strlen(sql), NULL, &err);
}

/* Run a query that returns one integer; LLONG_MIN on failure. */
static int64_t query_int(mig_conn *c, const char *sql)
{
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    int64_t out = INT64_MIN;
    if (drv->query(&cur, c, sql, NULL, 0, &err) != MIG_DRV_OK) {
        fprintf(stderr, "\nquery failed: %s\n  in: %s\n", err.message, sql);
        return out;
    }
    if (drv->fetch(cur, &row, &err) == MIG_DRV_OK && row != NULL && row->ncols >= 1 &&
        row->values[0].type == MIG_VAL_INT)
        out = row->values[0].u.i;
    else
        fprintf(stderr, "\nno integer from: %s (%s)\n", sql, err.message);
    drv->cursor_close(cur);
    return out;
}

static int table_exists(mig_conn *c, const char *name)
{
    int exists = -1;
    memset(&err, 0, sizeof err);
    if (drv->table_exists(c, name, &exists, &err) != MIG_DRV_OK)
        fprintf(stderr, "\ntable_exists(%s) failed: %s\n", name, err.message);
    return exists;
}

static mig_conn *connect_again(double lock_timeout_s)
{
    mig_connect_opts opts = { .application_name = "mig-conformance", .lock_timeout_s = lock_timeout_s };
    mig_conn *c = NULL;
    memset(&err, 0, sizeof err);
    if (drv->connect(&c, url, tmpdir, &opts, &err) != MIG_DRV_OK) {
        fprintf(stderr, "\nsecond connection failed: %s\n", err.message);
        return NULL;
    }
    return c;
}

/*
 * Do two connections see one database? Not for in-memory SQLite, where
 * each connection has its own; tests that need two sessions skip then.
 */
static int shared_database(mig_conn *other)
{
    if (exec_sql(conn, fmt("CREATE TABLE %sshared (id INT)", pfx)) != MIG_DRV_OK)
        return 0;
    int seen = table_exists(other, fmt("%sshared", pfx)) == 1;
    drop_table("shared");
    return seen;
}

/* ---- the table --------------------------------------------------------------- */

static void test_driver__table_is_well_formed(void)
{
    CU_ASSERT_EQUAL(drv->magic, MIG_DRIVER_MAGIC);
    CU_ASSERT(drv->abi >= MIG_DRIVER_ABI_MIN && drv->abi <= MIG_DRIVER_ABI);
    CU_ASSERT(drv->size >= offsetof(mig_driver, table_exists) + sizeof drv->table_exists);
    CU_ASSERT_PTR_NOT_NULL_FATAL(drv->name);
    CU_ASSERT(drv->name[0] != '\0');
    CU_ASSERT_PTR_NOT_NULL(drv->version);
    CU_ASSERT_PTR_NOT_NULL(drv->description);
    CU_ASSERT_PTR_NOT_NULL_FATAL(drv->url_schemes);
    CU_ASSERT_PTR_NOT_NULL(drv->url_schemes[0]);

    /* mandatory slots */
    CU_ASSERT_PTR_NOT_NULL(drv->connect);
    CU_ASSERT_PTR_NOT_NULL(drv->close);
    CU_ASSERT_PTR_NOT_NULL(drv->exec);
    CU_ASSERT_PTR_NOT_NULL(drv->exec_params);
    CU_ASSERT_PTR_NOT_NULL(drv->query);
    CU_ASSERT_PTR_NOT_NULL(drv->fetch);
    CU_ASSERT_PTR_NOT_NULL(drv->cursor_close);
    CU_ASSERT_PTR_NOT_NULL(drv->begin);
    CU_ASSERT_PTR_NOT_NULL(drv->commit);
    CU_ASSERT_PTR_NOT_NULL(drv->rollback);
    CU_ASSERT_PTR_NOT_NULL(drv->quote_ident);
    CU_ASSERT_PTR_NOT_NULL(drv->table_exists);

    /* a capability promises its slots */
    if (drv->caps & MIG_CAP_SESSION_LOCK) {
        CU_ASSERT(MIG_DRIVER_HAS(drv, lock_try));
        CU_ASSERT(MIG_DRIVER_HAS(drv, unlock));
    }
    if (drv->caps & MIG_CAP_SCHEMAS) {
        CU_ASSERT(MIG_DRIVER_HAS(drv, set_schema));
        CU_ASSERT(MIG_DRIVER_HAS(drv, schema_exists));
        CU_ASSERT(MIG_DRIVER_HAS(drv, create_schema));
    }

    const mig_dialect *d = drv->dialect;
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_PTR_NOT_NULL(d->begin_sql);
    CU_ASSERT_PTR_NOT_NULL(d->begin_write_sql);
    CU_ASSERT_PTR_NOT_NULL(d->commit_sql);
    CU_ASSERT_PTR_NOT_NULL(d->rollback_sql);
    CU_ASSERT_PTR_NOT_NULL(d->autoinc_pk);
    CU_ASSERT_PTR_NOT_NULL(d->timestamp_type);
    CU_ASSERT_PTR_NOT_NULL(d->now_expr);
    CU_ASSERT_PTR_NOT_NULL(d->text_type);
    CU_ASSERT(d->ident_quote == '"' || d->ident_quote == '`');

    drv->close(NULL); /* harmless */
}

static void test_driver__dialect_sql_runs(void)
{
    const mig_dialect *d = drv->dialect;
    CU_ASSERT_EQUAL_FATAL(exec_sql(conn, fmt("CREATE TABLE %sdial (id %s, at %s, note %s)", pfx,
                                             d->autoinc_pk, d->timestamp_type, d->text_type)),
                          MIG_DRV_OK);
    CU_ASSERT_EQUAL(exec_sql(conn, d->begin_write_sql), MIG_DRV_OK);
    CU_ASSERT_EQUAL(exec_sql(conn, fmt("INSERT INTO %sdial (at, note) VALUES (%s, 'a')", pfx, d->now_expr)),
                    MIG_DRV_OK);
    CU_ASSERT_EQUAL(exec_sql(conn, fmt("INSERT INTO %sdial (at, note) VALUES (%s, 'b')", pfx, d->now_expr)),
                    MIG_DRV_OK);
    CU_ASSERT_EQUAL(exec_sql(conn, d->commit_sql), MIG_DRV_OK);
    CU_ASSERT_EQUAL(query_int(conn, fmt("SELECT COUNT(*) FROM %sdial WHERE id IS NOT NULL "
                                        "AND at IS NOT NULL",
                                        pfx)),
                    2);
    CU_ASSERT_EQUAL(exec_sql(conn, d->begin_sql), MIG_DRV_OK);
    CU_ASSERT_EQUAL(exec_sql(conn, fmt("DELETE FROM %sdial", pfx)), MIG_DRV_OK);
    CU_ASSERT_EQUAL(exec_sql(conn, d->rollback_sql), MIG_DRV_OK);
    CU_ASSERT_EQUAL(query_int(conn, fmt("SELECT COUNT(*) FROM %sdial", pfx)), 2);
    drop_table("dial");
}

static void test_driver__connect_failure_is_one_line(void)
{
    const char *bad = getenv("MIG_TEST_DRIVER_BAD_URL");
    const char *needle = NULL;
    if (bad == NULL && strcmp(drv->name, "sqlite") == 0) {
        bad = "sqlite:///nonexistent-mig-dir/sub/x.db";
        needle = "/nonexistent-mig-dir/sub/x.db";
    }
    if (bad == NULL)
        SKIP("no MIG_TEST_DRIVER_BAD_URL");
    mig_conn *c = (mig_conn *)&err; /* must be reset to NULL */
    mig_connect_opts opts = { .lock_timeout_s = 1 };
    DRV_FAILS(drv->connect(&c, bad, NULL, &opts, &err), MIG_DRV_ERROR);
    CU_ASSERT_PTR_NULL(c);
    if (needle != NULL && strstr(err.message, needle) == NULL) {
        fprintf(stderr, "\nmessage \"%s\" does not name %s\n", err.message, needle);
        CU_FAIL("connect failure names the database");
    }
}

/* ---- exec ------------------------------------------------------------------- */

static void test_exec__runs_several_statements(void)
{
    const char *sql = fmt("CREATE TABLE %st1 (id INT PRIMARY KEY, v INT);\n"
                          "-- a comment; with a semicolon\n"
                          "INSERT INTO %st1 VALUES (1, 10);\n"
                          "/* another ; */ INSERT INTO %st1 VALUES (2, 20), (3, 30);",
                          pfx, pfx, pfx);
    int64_t affected = -1;
    if (!(drv->caps & MIG_CAP_MULTI_STATEMENT)) {
        CU_ASSERT_EQUAL_FATAL(exec_sql(conn, fmt("CREATE TABLE %st1 (id INT PRIMARY KEY, v INT)", pfx)),
                              0);
        DRV_PASS(drv->exec_params(conn, fmt("INSERT INTO %st1 VALUES (1, 10), (2, 20), (3, 30)", pfx),
                                  NULL, 0, &affected, &err));
        CU_ASSERT_EQUAL(affected, 3);
        return;
    }
    DRV_PASS(drv->exec(conn, sql, strlen(sql), &affected, &err));
    CU_ASSERT_EQUAL(affected, 2); /* the last statement's count */
    CU_ASSERT_EQUAL(query_int(conn, fmt("SELECT COUNT(*) FROM %st1", pfx)), 3);

    sql = fmt("UPDATE %st1 SET v = v + 1 WHERE id >= 2", pfx);
    DRV_PASS(drv->exec(conn, sql, strlen(sql), &affected, &err));
    CU_ASSERT_EQUAL(affected, 2);
    /* only the first len bytes count: the rest is not SQL */
    const char *padded = fmt("UPDATE %st1 SET v = v + 1 WHERE id = 1garbage", pfx);
    DRV_PASS(drv->exec(conn, padded, strlen(padded) - strlen("garbage"), &affected, &err));
    CU_ASSERT_EQUAL(affected, 1);
    DRV_PASS(drv->exec(conn, fmt("UPDATE %st1 SET v = 0 WHERE id = 1", pfx),
                       strlen(fmt("UPDATE %st1 SET v = 0 WHERE id = 1", pfx)), NULL, &err));
}

static void test_exec__empty_or_comment_only_text_is_a_no_op(void)
{
    int64_t affected = -1;
    DRV_PASS(drv->exec(conn, "", 0, &affected, &err));
    CU_ASSERT_EQUAL(affected, 0);
    const char *sql = "  -- nothing here\n/* nor; here */\n";
    DRV_PASS(drv->exec(conn, sql, strlen(sql), NULL, &err));
}

static void test_exec__error_locates_the_failing_statement(void)
{
    if (!(drv->caps & MIG_CAP_MULTI_STATEMENT))
        SKIP("no MULTI_STATEMENT");
    const char *sql = fmt("UPDATE %st1 SET v = v WHERE id = 1;\n  "
                          "INSERT INTO %snope VALUES (1);\n"
                          "INSERT INTO %st1 VALUES (5, 50);",
                          pfx, pfx, pfx);
    const char *second = strstr(sql, "INSERT INTO");
    size_t want = (size_t)(second - sql);
    DRV_FAILS(drv->exec(conn, sql, strlen(sql), NULL, &err), MIG_DRV_ERROR);
    /* the offset may point at the space before the statement, not into another */
    size_t at = err.stmt_offset;
    CU_ASSERT(at <= want);
    CU_ASSERT(at > (size_t)(strchr(sql, ';') - sql));
    while (at < want && (sql[at] == ' ' || sql[at] == '\n'))
        at++;
    if (at != want)
        fprintf(stderr, "\nstmt_offset %zu, wanted %zu\n", err.stmt_offset, want);
    CU_ASSERT_EQUAL(at, want);
    CU_ASSERT(err.code != 0 || err.sqlstate[0] != '\0');
    if (err.position > 0)
        CU_ASSERT((size_t)err.position > want && (size_t)err.position <= strlen(sql));
    /* the third statement never ran */
    CU_ASSERT_EQUAL(query_int(conn, fmt("SELECT COUNT(*) FROM %st1 WHERE id = 5", pfx)), 0);

    /* a failing first statement is at offset 0 */
    sql = fmt("SELEC 1; SELECT 2");
    DRV_FAILS(drv->exec(conn, sql, strlen(sql), NULL, &err), MIG_DRV_ERROR);
    CU_ASSERT_EQUAL(err.stmt_offset, 0);
}

/* ---- parameters ----------------------------------------------------------------- */

static mig_value v_null(void)
{
    mig_value v = { .type = MIG_VAL_NULL };
    return v;
}
static mig_value v_int(int64_t i)
{
    mig_value v = { .type = MIG_VAL_INT, .u.i = i };
    return v;
}
static mig_value v_float(double f)
{
    mig_value v = { .type = MIG_VAL_FLOAT, .u.f = f };
    return v;
}
static mig_value v_bool(int b)
{
    mig_value v = { .type = MIG_VAL_BOOL, .u.b = b };
    return v;
}
static mig_value v_text(const char *p, size_t n)
{
    mig_value v = { .type = MIG_VAL_TEXT, .u.s = { p, n } };
    return v;
}
static mig_value v_blob(const char *p, size_t n)
{
    mig_value v = { .type = MIG_VAL_BLOB, .u.s = { p, n } };
    return v;
}

/* Text that breaks naive splicing: quotes, ';', '?', comment marks, UTF-8, NUL. */
static const char nasty_text[] = "it's; a \"quoted\" -- text ? with \xc3\xbc"
                                 "n\xc3\xaf"
                                 "c\xc3\xb8"
                                 "d\xc3\xa9 \xe2\x9c\x93"
                                 "\0after NUL";
static const char nasty_blob[] = "\x00\x01\xff;'\"\\\x00z";

/* PostgreSQL text cannot hold NUL: stop at it there. */
static size_t nasty_text_len(void)
{
    return strcmp(drv->name, "postgres") == 0 ? strlen(nasty_text) : sizeof nasty_text - 1;
}

static void test_params__round_trip_every_type(void)
{
    const char *blob_type = strcmp(drv->name, "postgres") == 0 ? "BYTEA" : "BLOB";
    CU_ASSERT_EQUAL_FATAL(exec_sql(conn, fmt("CREATE TABLE %svals (id INT PRIMARY KEY, i BIGINT, "
                                             "f DOUBLE PRECISION, t TEXT, b BOOLEAN, x %s)",
                                             pfx, blob_type)),
                          MIG_DRV_OK);
    const char *ins = fmt("INSERT INTO %svals (id, i, f, t, b, x) VALUES (?, ?, ?, ?, ?, ?)", pfx);
    mig_value rows[3][6] = {
        { v_int(1), v_null(), v_null(), v_null(), v_null(), v_null() },
        { v_int(2), v_int(INT64_MAX), v_float(3.25), v_text(nasty_text, nasty_text_len()), v_bool(1),
          v_blob(nasty_blob, sizeof nasty_blob - 1) },
        { v_int(3), v_int(INT64_MIN), v_float(-1.5e300), v_text(NULL, 0), v_bool(0), v_blob(NULL, 0) },
    };
    for (int r = 0; r < 3; r++) {
        int64_t affected = -1;
        DRV_PASS(drv->exec_params(conn, ins, rows[r], 6, &affected, &err));
        CU_ASSERT_EQUAL(affected, 1);
    }

    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    DRV_PASS(drv->query(&cur, conn, fmt("SELECT id, i, f, t, b, x FROM %svals ORDER BY id", pfx), NULL,
                        0, &err));
    static const char *const names[] = { "id", "i", "f", "t", "b", "x" };
    for (int r = 0; r < 3; r++) {
        DRV_PASS(drv->fetch(cur, &row, &err));
        CU_ASSERT_PTR_NOT_NULL_FATAL(row);
        CU_ASSERT_EQUAL_FATAL(row->ncols, 6);
        for (int c = 0; c < 6; c++)
            CU_ASSERT_STRING_EQUAL(row->names[c], names[c]);
        const mig_value *v = row->values;
        CU_ASSERT_EQUAL(v[0].type, MIG_VAL_INT);
        CU_ASSERT_EQUAL(v[0].u.i, r + 1);
        if (r == 0) {
            for (int c = 1; c < 6; c++)
                CU_ASSERT_EQUAL(v[c].type, MIG_VAL_NULL);
            continue;
        }
        CU_ASSERT_EQUAL(v[1].type, MIG_VAL_INT);
        CU_ASSERT_EQUAL(v[1].u.i, r == 1 ? INT64_MAX : INT64_MIN);
        CU_ASSERT_EQUAL(v[2].type, MIG_VAL_FLOAT);
        if (r == 1) {
            CU_ASSERT_EQUAL(v[2].u.f, 3.25);
        } else {
            CU_ASSERT(fabs(v[2].u.f / -1.5e300 - 1.0) < 1e-12);
        }
        CU_ASSERT_EQUAL(v[3].type, MIG_VAL_TEXT);
        size_t tlen = r == 1 ? nasty_text_len() : 0;
        CU_ASSERT_EQUAL(v[3].u.s.len, tlen);
        if (v[3].u.s.len == tlen && tlen > 0)
            CU_ASSERT(memcmp(v[3].u.s.ptr, nasty_text, tlen) == 0);
        /* booleans: a BOOL, or the integer 0/1 where the database has none */
        int want_b = r == 1;
        CU_ASSERT((v[4].type == MIG_VAL_BOOL && (v[4].u.b != 0) == want_b) ||
                  (v[4].type == MIG_VAL_INT && v[4].u.i == want_b));
        CU_ASSERT_EQUAL(v[5].type, MIG_VAL_BLOB);
        size_t blen = r == 1 ? sizeof nasty_blob - 1 : 0;
        CU_ASSERT_EQUAL(v[5].u.s.len, blen);
        if (v[5].u.s.len == blen && blen > 0)
            CU_ASSERT(memcmp(v[5].u.s.ptr, nasty_blob, blen) == 0);
    }
    DRV_PASS(drv->fetch(cur, &row, &err));
    CU_ASSERT_PTR_NULL(row);
    drv->cursor_close(cur);

    /* bound values compare as values: the text finds its row */
    mig_value p = v_text(nasty_text, nasty_text_len());
    cur = NULL;
    DRV_PASS(drv->query(&cur, conn, fmt("SELECT id FROM %svals WHERE t = ?", pfx), &p, 1, &err));
    DRV_PASS(drv->fetch(cur, &row, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    CU_ASSERT_EQUAL(row->values[0].u.i, 2);
    drv->cursor_close(cur);

    /* a '?' inside a string literal is no placeholder */
    p = v_int(2);
    cur = NULL;
    DRV_PASS(drv->query(&cur, conn, fmt("SELECT '?;' AS q FROM %svals WHERE id = ?", pfx), &p, 1, &err));
    DRV_PASS(drv->fetch(cur, &row, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    CU_ASSERT_EQUAL(row->values[0].type, MIG_VAL_TEXT);
    CU_ASSERT(row->values[0].u.s.len == 2 && memcmp(row->values[0].u.s.ptr, "?;", 2) == 0);
    drv->cursor_close(cur);
}

static void test_params__affected_rows_and_errors(void)
{
    mig_value p[2] = { v_int(100), v_int(2) };
    int64_t affected = -1;
    DRV_PASS(
        drv->exec_params(conn, fmt("UPDATE %st1 SET v = ? WHERE id >= ?", pfx), p, 2, &affected, &err));
    CU_ASSERT_EQUAL(affected, 2);
    DRV_PASS(drv->exec_params(conn, fmt("UPDATE %st1 SET v = ? WHERE id > ?", pfx),
                              (mig_value[]){ v_int(1), v_int(1000) }, 2, &affected, &err));
    CU_ASSERT_EQUAL(affected, 0);
    DRV_PASS(drv->exec_params(conn, fmt("DELETE FROM %st1 WHERE id = ?", pfx), (mig_value[]){ v_int(3) },
                              1, &affected, &err));
    CU_ASSERT_EQUAL(affected, 1);

    /* a duplicate key fails with the database's message and code */
    DRV_FAILS(drv->exec_params(conn, fmt("INSERT INTO %st1 (id, v) VALUES (?, ?)", pfx),
                               (mig_value[]){ v_int(1), v_null() }, 2, NULL, &err),
              MIG_DRV_ERROR);
    CU_ASSERT(err.code != 0 || err.sqlstate[0] != '\0');
    /* and the connection still works */
    CU_ASSERT_EQUAL(query_int(conn, fmt("SELECT COUNT(*) FROM %st1", pfx)), 2);
}

/* ---- cursors ------------------------------------------------------------------- */

#define BIG_ROWS 10000

static void test_query__streams_while_the_loop_updates(void)
{
    CU_ASSERT_EQUAL_FATAL(exec_sql(conn, fmt("CREATE TABLE %sbig (id INT PRIMARY KEY, v INT)", pfx)),
                          MIG_DRV_OK);
    DRV_PASS(drv->begin(conn, 1, &err));
    static char sql[32768];
    for (int start = 1; start <= BIG_ROWS; start += 500) {
        int o = snprintf(sql, sizeof sql, "INSERT INTO %sbig (id, v) VALUES ", pfx);
        for (int id = start; id < start + 500 && id <= BIG_ROWS; id++)
            o += snprintf(sql + o, sizeof sql - (size_t)o, "%s(%d, 0)", id > start ? "," : "", id);
        CU_ASSERT_EQUAL_FATAL(exec_sql(conn, sql), MIG_DRV_OK);
    }
    DRV_PASS(drv->commit(conn, &err));

    /* a backfill: read every row and update it on the same connection */
    DRV_PASS(drv->begin(conn, 1, &err));
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    DRV_PASS(drv->query(&cur, conn, fmt("SELECT id, v FROM %sbig WHERE id > ? ORDER BY id", pfx),
                        (mig_value[]){ v_int(0) }, 1, &err));
    const char *upd = fmt("UPDATE %sbig SET v = ? WHERE id = ?", pfx);
    int n = 0, in_order = 1, updated = 1;
    for (;;) {
        DRV_PASS(drv->fetch(cur, &row, &err));
        if (row == NULL)
            break;
        n++;
        if (row->ncols != 2 || row->values[0].type != MIG_VAL_INT || row->values[0].u.i != n) {
            in_order = 0;
            break;
        }
        int64_t affected = 0;
        mig_value p[2] = { v_int(2 * n), v_int(n) };
        if (drv->exec_params(conn, upd, p, 2, &affected, &err) != MIG_DRV_OK || affected != 1) {
            fprintf(stderr, "\nupdate of row %d: %s\n", n, err.message);
            updated = 0;
            break;
        }
    }
    drv->cursor_close(cur);
    CU_ASSERT(in_order);
    CU_ASSERT(updated);
    CU_ASSERT_EQUAL(n, BIG_ROWS);
    DRV_PASS(drv->commit(conn, &err));
    CU_ASSERT_EQUAL(query_int(conn, fmt("SELECT COUNT(*) FROM %sbig WHERE v = 2 * id", pfx)), BIG_ROWS);
}

static void test_query__early_close_leaves_the_connection_usable(void)
{
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    DRV_PASS(drv->query(&cur, conn, fmt("SELECT id FROM %sbig ORDER BY id", pfx), NULL, 0, &err));
    for (int i = 0; i < 3; i++) {
        DRV_PASS(drv->fetch(cur, &row, &err));
        CU_ASSERT_PTR_NOT_NULL(row);
    }
    drv->cursor_close(cur);
    CU_ASSERT_EQUAL(exec_sql(conn, fmt("UPDATE %sbig SET v = 0 WHERE id = 1", pfx)), MIG_DRV_OK);
    CU_ASSERT_EQUAL(query_int(conn, fmt("SELECT v FROM %sbig WHERE id = 1", pfx)), 0);

    /* two cursors at once, on the same statement text */
    mig_cursor *a = NULL, *b = NULL;
    const char *q = fmt("SELECT id FROM %sbig WHERE id <= ? ORDER BY id", pfx);
    DRV_PASS(drv->query(&a, conn, q, (mig_value[]){ v_int(2) }, 1, &err));
    DRV_PASS(drv->query(&b, conn, q, (mig_value[]){ v_int(3) }, 1, &err));
    int na = 0, nb = 0;
    for (;;) {
        const mig_row *ra = NULL, *rb = NULL;
        DRV_PASS(drv->fetch(a, &ra, &err));
        if (ra != NULL)
            na++;
        DRV_PASS(drv->fetch(b, &rb, &err));
        if (rb != NULL)
            nb++;
        if (ra == NULL && rb == NULL)
            break;
    }
    CU_ASSERT_EQUAL(na, 2);
    CU_ASSERT_EQUAL(nb, 3);
    drv->cursor_close(a);
    drv->cursor_close(b);
}

static void test_query__bad_sql_fails_at_query_or_first_fetch(void)
{
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    memset(&err, 0, sizeof err);
    int rc = drv->query(&cur, conn, fmt("SELECT nope FROM %snope", pfx), NULL, 0, &err);
    if (rc == MIG_DRV_OK) {
        rc = drv->fetch(cur, &row, &err);
        drv->cursor_close(cur);
    } else {
        CU_ASSERT_PTR_NULL(cur);
    }
    CU_ASSERT_EQUAL(rc, MIG_DRV_ERROR);
    CU_ASSERT(err.message[0] != '\0');
    CU_ASSERT(strchr(err.message, '\n') == NULL);
    CU_ASSERT_EQUAL(query_int(conn, "SELECT 1"), 1);
}

/* ---- transactions ----------------------------------------------------------------- */

static void test_txn__rollback_undoes_changes(void)
{
    DRV_PASS(drv->begin(conn, 0, &err));
    CU_ASSERT_EQUAL(exec_sql(conn, fmt("DELETE FROM %st1", pfx)), MIG_DRV_OK);
    DRV_PASS(drv->rollback(conn, &err));
    CU_ASSERT_EQUAL(query_int(conn, fmt("SELECT COUNT(*) FROM %st1", pfx)), 2);

    DRV_PASS(drv->begin(conn, 1, &err));
    CU_ASSERT_EQUAL(exec_sql(conn, fmt("DELETE FROM %st1 WHERE id = 1", pfx)), MIG_DRV_OK);
    DRV_PASS(drv->commit(conn, &err));
    CU_ASSERT_EQUAL(query_int(conn, fmt("SELECT COUNT(*) FROM %st1", pfx)), 1);
}

static void test_txn__rollback_undoes_ddl_when_transactional(void)
{
    if (!(drv->caps & MIG_CAP_TRANSACTIONAL_DDL))
        SKIP("no TRANSACTIONAL_DDL");
    DRV_PASS(drv->begin(conn, 1, &err));
    CU_ASSERT_EQUAL(exec_sql(conn, fmt("CREATE TABLE %srb (id INT)", pfx)), MIG_DRV_OK);
    CU_ASSERT_EQUAL(exec_sql(conn, fmt("INSERT INTO %srb VALUES (1)", pfx)), MIG_DRV_OK);
    CU_ASSERT_EQUAL(exec_sql(conn, fmt("DROP TABLE %st1", pfx)), MIG_DRV_OK);
    CU_ASSERT_EQUAL(table_exists(conn, fmt("%srb", pfx)), 1);
    DRV_PASS(drv->rollback(conn, &err));
    CU_ASSERT_EQUAL(table_exists(conn, fmt("%srb", pfx)), 0);
    CU_ASSERT_EQUAL(table_exists(conn, fmt("%st1", pfx)), 1);

    /* after a failed statement the transaction can still be rolled back */
    DRV_PASS(drv->begin(conn, 1, &err));
    CU_ASSERT_EQUAL(exec_sql(conn, fmt("CREATE TABLE %srb (id INT)", pfx)), MIG_DRV_OK);
    CU_ASSERT_NOT_EQUAL(drv->exec(conn, "SELEC 1", 7, NULL, &err), MIG_DRV_OK);
    DRV_PASS(drv->rollback(conn, &err));
    CU_ASSERT_EQUAL(table_exists(conn, fmt("%srb", pfx)), 0);
}

static void test_txn__write_transaction_locks_out_other_writers(void)
{
    if (!(drv->caps & MIG_CAP_WRITE_TXN_LOCKS))
        SKIP("no WRITE_TXN_LOCKS");
    mig_conn *other = connect_again(0.2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    if (!shared_database(other)) {
        drv->close(other);
        SKIP("connections do not share a database");
    }
    DRV_PASS(drv->begin(conn, 1, &err));
    DRV_FAILS(drv->begin(other, 1, &err), MIG_DRV_BUSY);
    DRV_PASS(drv->rollback(other, &err)); /* no transaction: still fine */
    DRV_PASS(drv->rollback(conn, &err));
    DRV_PASS(drv->begin(other, 1, &err));
    DRV_PASS(drv->commit(other, &err));
    drv->close(other);
}

/* ---- quoting, existence ------------------------------------------------------------ */

static void test_quote__nasty_name_round_trips(void)
{
    char tname[128], cname[] = "c\"o`l; --";
    snprintf(tname, sizeof tname, "%swe\"ird`; drop table x; -- \xc3\xbc", pfx);
    char qt[256], qc[64];
    size_t n = drv->quote_ident(tname, qt, sizeof qt);
    CU_ASSERT_FATAL(n < sizeof qt);
    CU_ASSERT_EQUAL(strlen(qt), n);
    CU_ASSERT_EQUAL(qt[0], drv->dialect->ident_quote);
    CU_ASSERT_EQUAL(qt[n - 1], drv->dialect->ident_quote);
    CU_ASSERT_FATAL(drv->quote_ident(cname, qc, sizeof qc) < sizeof qc);

    /* a short buffer: still terminated, the full length returned */
    char small[4] = "xxx";
    CU_ASSERT_EQUAL(drv->quote_ident(tname, small, sizeof small), n);
    CU_ASSERT(memchr(small, '\0', sizeof small) != NULL);

    CU_ASSERT_EQUAL_FATAL(exec_sql(conn, fmt("CREATE TABLE %s (%s INT)", qt, qc)), MIG_DRV_OK);
    CU_ASSERT_EQUAL(table_exists(conn, tname), 1);
    CU_ASSERT_EQUAL(exec_sql(conn, fmt("INSERT INTO %s (%s) VALUES (7)", qt, qc)), MIG_DRV_OK);
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    DRV_PASS(drv->query(&cur, conn, fmt("SELECT %s FROM %s", qc, qt), NULL, 0, &err));
    DRV_PASS(drv->fetch(cur, &row, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    CU_ASSERT_STRING_EQUAL(row->names[0], cname);
    CU_ASSERT_EQUAL(row->values[0].u.i, 7);
    drv->cursor_close(cur);
    CU_ASSERT_EQUAL(exec_sql(conn, fmt("DROP TABLE %s", qt)), MIG_DRV_OK);
    CU_ASSERT_EQUAL(table_exists(conn, tname), 0);
}

static void test_table_exists__tells_tables_apart(void)
{
    CU_ASSERT_EQUAL(table_exists(conn, fmt("%st1", pfx)), 1);
    CU_ASSERT_EQUAL(table_exists(conn, fmt("%snope", pfx)), 0);
    CU_ASSERT_EQUAL(table_exists(conn, fmt("%st1' OR '1'='1", pfx)), 0);
}

/* ---- statement_end ----------------------------------------------------------------- */

/* The first statement of sql ends right after the first occurrence of mark. */
static void check_end(const char *sql, const char *mark)
{
    size_t want = 0;
    if (mark != NULL) {
        const char *m = strstr(sql, mark);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        want = (size_t)(m - sql) + strlen(mark);
    }
    size_t got = drv->statement_end(sql, strlen(sql));
    if (got != want)
        fprintf(stderr, "\nstatement_end(\"%s\") = %zu, wanted %zu\n", sql, got, want);
    CU_ASSERT_EQUAL(got, want);
}

static void test_statement_end__follows_the_lexical_rules(void)
{
    if (!MIG_DRIVER_HAS(drv, statement_end))
        SKIP("no statement_end");
    const mig_dialect *d = drv->dialect;
    check_end("SELECT 1; SELECT 2;", "1;");
    check_end("SELECT 'a;b' AS x; SELECT 2", "x;");
    check_end("SELECT 'it''s;' AS x; SELECT 2", "x;");
    check_end("/* ; */ SELECT 1 -- ;\n; SELECT 2", "\n;");
    check_end("SELECT 1", "1");
    check_end("  -- only a comment\n  ", NULL);
    check_end("", NULL);
    if (d->ident_quote == '"')
        check_end("SELECT \"a;b\" FROM t; SELECT 2", "t;");
    else
        check_end("SELECT `a;b` FROM t; SELECT 2", "t;");
    if (d->dollar_quotes) {
        check_end("SELECT $$a;b$$; SELECT 2", "$$;");
        check_end("DO $x$ BEGIN PERFORM 1; END $x$; SELECT 2", "$x$;");
    }
    if (d->backslash_escapes)
        check_end("SELECT 'a\\';b' AS x; SELECT 2", "x;");
    if (d->hash_comments)
        check_end("SELECT 1 # ;\n; SELECT 2", "\n;");
    if (strcmp(drv->name, "sqlite") == 0) {
        check_end("CREATE TRIGGER tr AFTER INSERT ON t BEGIN "
                  "UPDATE t SET x = CASE WHEN 1 THEN 2 END; DELETE FROM u; END; SELECT 1;",
                  "u; END;");
        check_end("CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END ; SELECT 1;", "END ;");
        check_end("SELECT [a;b] FROM t; SELECT 2", "t;");
    }
}

/* ---- introspection -------------------------------------------------------------------- */

/* What the sink saw of our two tables, as text lines in call order. */
typedef struct seen {
    char log[16384];
    char current[128]; /* table of the last table() call */
    int out_of_order;  /* a callback for a table other than current */
} seen;

static void note(seen *s, const char *table, const char *fmtstr, ...)
    __attribute__((format(printf, 3, 4)));
static void note(seen *s, const char *table, const char *fmtstr, ...)
{
    if (strncmp(table, pfx, strlen(pfx)) != 0)
        return;
    if (strcmp(table, s->current) != 0)
        s->out_of_order = 1;
    size_t o = strlen(s->log);
    va_list ap;
    va_start(ap, fmtstr);
    vsnprintf(s->log + o, sizeof s->log - o, fmtstr, ap);
    va_end(ap);
    o = strlen(s->log);
    snprintf(s->log + o, sizeof s->log - o, "\n");
}

/* A name list from the sink to "a,b"; the array is there whenever the count is not 0. */
static const char *joined(const char *const *v, size_t n)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];
    b[0] = '\0';
    CU_ASSERT(n == 0 || v != NULL);
    if (v == NULL)
        return "(null)";
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_PTR_NOT_NULL(v[i]);
        if (i)
            strncat(b, ",", 511 - strlen(b));
        strncat(b, v[i] ? v[i] : "(null)", 511 - strlen(b));
    }
    return b;
}

/* Table names without our prefix, so the expected log is fixed text. */
static const char *bare(const char *name)
{
    size_t n = strlen(pfx);
    return name && strncmp(name, pfx, n) == 0 ? name + n : name ? name : "(null)";
}

static int sk_table(void *payload, const char *table)
{
    seen *s = payload;
    snprintf(s->current, sizeof s->current, "%s", table);
    note(s, table, "table %s", bare(table));
    return 0;
}

static int sk_column(void *payload, const char *table, const char *column, const char *type,
                     int nullable, const char *default_sql, int position)
{
    char lower[64];
    size_t i = 0;
    for (; type && type[i] && i < sizeof lower - 1; i++)
        lower[i] = (char)(type[i] >= 'A' && type[i] <= 'Z' ? type[i] + 32 : type[i]);
    lower[i] = '\0';
    note(payload, table, "column %s %d %s%s default=%s type=%s", bare(table), position, column,
         nullable ? "" : " not null",
         default_sql == NULL          ? "none"
         : strstr(default_sql, "'x'") ? "x"
                                      : "other",
         lower);
    return 0;
}

static int sk_pk(void *payload, const char *table, const char *name, const char *const *columns,
                 size_t ncolumns)
{
    (void)name;
    note(payload, table, "pk %s %s", bare(table), joined(columns, ncolumns));
    return 0;
}

static int sk_unique(void *payload, const char *table, const char *name, const char *const *columns,
                     size_t ncolumns)
{
    (void)name;
    note(payload, table, "unique %s %s", bare(table), joined(columns, ncolumns));
    return 0;
}

static int sk_index(void *payload, const char *table, const char *name, int unique,
                    const char *const *columns, size_t ncolumns, const char *expression_sql,
                    const char *where_sql)
{
    if (unique && expression_sql == NULL && where_sql == NULL)
        note(payload, table, "unique %s %s", bare(table), joined(columns, ncolumns)); /* MySQL's way */
    note(payload, table, "index %s %s%s %s expr=%s where=%s", bare(table), bare(name),
         unique ? " unique" : "", joined(columns, ncolumns), expression_sql ? expression_sql : "none",
         where_sql ? where_sql : "none");
    return 0;
}

static int sk_fk(void *payload, const char *table, const char *name, const char *const *columns,
                 size_t ncolumns, const char *ref_table, const char *const *ref_columns,
                 size_t nref_columns, const char *on_delete, const char *on_update)
{
    (void)name;
    (void)on_update;
    char del[32];
    size_t i = 0;
    for (; on_delete && on_delete[i] && i < sizeof del - 1; i++)
        del[i] = (char)(on_delete[i] >= 'a' && on_delete[i] <= 'z' ? on_delete[i] - 32 : on_delete[i]);
    del[i] = '\0';
    note(payload, table, "fk %s %s -> %s %s on delete %s", bare(table), joined(columns, ncolumns),
         bare(ref_table), joined(ref_columns, nref_columns), del);
    return 0;
}

static int sk_stop(void *payload, const char *table)
{
    (void)table;
    ++*(int *)payload;
    return 42;
}

static int has_line(const seen *s, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = s->log; (p = strstr(p, line)) != NULL; p++)
        if ((p == s->log || p[-1] == '\n') && p[n] == '\n')
            return 1;
    fprintf(stderr, "\nintrospection lacks \"%s\"; it saw:\n%s", line, s->log);
    return 0;
}

static void test_introspect__reports_keys_indexes_and_foreign_keys(void)
{
    if (!MIG_DRIVER_HAS(drv, introspect))
        SKIP("no introspect");
    CU_ASSERT_EQUAL_FATAL(exec_sql(conn, fmt("CREATE TABLE %sparent (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL, "
                                             "CONSTRAINT %sparent_code_key UNIQUE (code))",
                                             pfx, pfx)),
                          MIG_DRV_OK);
    CU_ASSERT_EQUAL_FATAL(
        exec_sql(conn, fmt("CREATE TABLE %schild (id INT NOT NULL, parent_id INT, name VARCHAR(50) DEFAULT 'x', "
                           "PRIMARY KEY (id), CONSTRAINT %schild_parent_fk FOREIGN KEY (parent_id) "
                           "REFERENCES %sparent (id) ON DELETE CASCADE)",
                           pfx, pfx, pfx)),
        MIG_DRV_OK);
    CU_ASSERT_EQUAL_FATAL(exec_sql(conn, fmt("CREATE INDEX %schild_name_idx ON %schild (name)", pfx, pfx)),
                          MIG_DRV_OK);

    static seen s;
    memset(&s, 0, sizeof s);
    mig_schema_sink sink = { .table = sk_table,
                             .column = sk_column,
                             .primary_key = sk_pk,
                             .unique = sk_unique,
                             .index = sk_index,
                             .foreign_key = sk_fk };
    DRV_PASS(drv->introspect(conn, NULL, &sink, &s, &err));
    CU_ASSERT(!s.out_of_order);
    CU_ASSERT(has_line(&s, "table parent"));
    CU_ASSERT(has_line(&s, "table child"));
    CU_ASSERT(strstr(s.log, "column parent 2 code not null default=none type=varchar(20)") ||
              strstr(s.log, "column parent 2 code not null default=none type=character varying(20)"));
    CU_ASSERT(strstr(s.log, "column child 1 id not null") != NULL);
    CU_ASSERT(strstr(s.log, "column child 2 parent_id default=none") != NULL);
    CU_ASSERT(strstr(s.log, "column child 3 name default=x") != NULL);
    CU_ASSERT(has_line(&s, "pk parent id"));
    CU_ASSERT(has_line(&s, "pk child id"));
    CU_ASSERT(has_line(&s, "unique parent code"));
    CU_ASSERT(has_line(&s, "index child child_name_idx name expr=none where=none"));
    CU_ASSERT(has_line(&s, "fk child parent_id -> parent id on delete CASCADE"));
    /* table() comes first for each table */
    const char *t = strstr(s.log, "table child"), *c = strstr(s.log, "column child");
    CU_ASSERT(t != NULL && c != NULL && t < c);

    /* a sink's non-zero return stops the walk, which then fails */
    int calls = 0;
    mig_schema_sink stop = { .table = sk_stop };
    memset(&err, 0, sizeof err);
    CU_ASSERT_NOT_EQUAL(drv->introspect(conn, NULL, &stop, &calls, &err), MIG_DRV_OK);
    CU_ASSERT_EQUAL(calls, 1);

    drop_table("child");
    drop_table("parent");
}

/* SQLite's own kinds of index: partial, expression. */
static void test_introspect__sqlite_partial_and_expression_indexes(void)
{
    if (!MIG_DRIVER_HAS(drv, introspect) || strcmp(drv->name, "sqlite") != 0)
        SKIP("sqlite only");
    CU_ASSERT_EQUAL_FATAL(exec_sql(conn, fmt("CREATE TABLE %sx (a INT, b TEXT, c TEXT);"
                                             "CREATE INDEX %sx_part ON %sx (a) WHERE b IS NOT NULL;"
                                             "CREATE UNIQUE INDEX %sx_expr ON %sx (a, lower(b));"
                                             "CREATE INDEX %sx_desc ON %sx (c DESC)",
                                             pfx, pfx, pfx, pfx, pfx, pfx, pfx)),
                          MIG_DRV_OK);
    static seen s;
    memset(&s, 0, sizeof s);
    mig_schema_sink sink = { .table = sk_table, .column = sk_column, .index = sk_index };
    DRV_PASS(drv->introspect(conn, NULL, &sink, &s, &err));
    CU_ASSERT(has_line(&s, "index x x_part a expr=none where=b IS NOT NULL"));
    CU_ASSERT(has_line(&s, "index x x_expr unique a expr=a, lower(b) where=none"));
    CU_ASSERT(has_line(&s, "index x x_desc c expr=c DESC where=none"));
    drop_table("x");
}

/* ---- mask_url ------------------------------------------------------------------------- */

static void test_mask_url__hides_the_password(void)
{
    if (!MIG_DRIVER_HAS(drv, mask_url))
        SKIP("no mask_url");
    char in[256], out[256], small[8];
    snprintf(in, sizeof in, "%s://app:s3cr%%40t@db.example:5432/app?x=1", drv->url_schemes[0]);
    size_t n = drv->mask_url(in, out, sizeof out);
    CU_ASSERT_FATAL(n < sizeof out);
    CU_ASSERT_EQUAL(strlen(out), n);
    CU_ASSERT(strstr(out, "s3cr") == NULL);
    CU_ASSERT(strstr(out, "db.example") != NULL);
    CU_ASSERT_EQUAL(drv->mask_url(in, small, sizeof small), n);
    CU_ASSERT(memchr(small, '\0', sizeof small) != NULL);
    CU_ASSERT(strstr(small, "s3cr") == NULL);
}

/* ---- session lock, schemas ------------------------------------------------------------- */

static void test_lock__second_session_is_busy(void)
{
    if (!(drv->caps & MIG_CAP_SESSION_LOCK))
        SKIP("no SESSION_LOCK");
    mig_conn *other = connect_again(1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    const char *key = fmt("%slock", pfx);
    char holder[256] = "";
    DRV_PASS(drv->lock_try(conn, key, holder, sizeof holder, &err));
    memset(&err, 0, sizeof err);
    CU_ASSERT_EQUAL(drv->lock_try(other, key, holder, sizeof holder, &err), MIG_DRV_BUSY);
    CU_ASSERT(memchr(holder, '\0', sizeof holder) != NULL);
    DRV_PASS(drv->unlock(conn, key, &err));
    DRV_PASS(drv->lock_try(other, key, holder, sizeof holder, &err));
    DRV_PASS(drv->unlock(other, key, &err));
    /* the lock dies with its session */
    DRV_PASS(drv->lock_try(other, key, holder, sizeof holder, &err));
    drv->close(other);
    DRV_PASS(drv->lock_try(conn, key, holder, sizeof holder, &err));
    DRV_PASS(drv->unlock(conn, key, &err));
}

static void test_schemas__create_switch_and_find(void)
{
    if (!(drv->caps & MIG_CAP_SCHEMAS))
        SKIP("no SCHEMAS");
    mig_conn *other = connect_again(1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    const char *schema = fmt("%sschema", pfx);
    int exists = -1;
    DRV_PASS(drv->schema_exists(other, schema, &exists, &err));
    CU_ASSERT_EQUAL(exists, 0);
    DRV_PASS(drv->create_schema(other, schema, &err));
    DRV_PASS(drv->schema_exists(other, schema, &exists, &err));
    CU_ASSERT_EQUAL(exists, 1);
    DRV_PASS(drv->set_schema(other, schema, NULL, &err));
    CU_ASSERT_EQUAL(exec_sql(other, fmt("CREATE TABLE %sin_schema (id INT)", pfx)), MIG_DRV_OK);
    CU_ASSERT_EQUAL(table_exists(other, fmt("%sin_schema", pfx)), 1);
    CU_ASSERT_EQUAL(table_exists(conn, fmt("%sin_schema", pfx)), 0);
    drv->close(other);

    char q[128];
    drv->quote_ident(schema, q, sizeof q);
    if (strcmp(drv->name, "postgres") == 0)
        exec_sql(conn, fmt("DROP SCHEMA %s CASCADE", q));
    else if (strcmp(drv->name, "mysql") == 0)
        exec_sql(conn, fmt("DROP DATABASE %s", q));
}

/* ---- main --------------------------------------------------------------------------------- */

/* Values from the servers file: "export A=1 B=2" lines, quotes allowed. */
static char *file_var(const char *name)
{
    const char *path = getenv("MIG_TEST_SERVERS_ENV");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (f == NULL)
        return NULL;
    char line[4096], *found = NULL;
    size_t n = strlen(name);
    while (found == NULL && fgets(line, sizeof line, f) != NULL) {
        char *p = line;
        while (*p && found == NULL) {
            while (*p == ' ' || *p == '\t' || *p == '\n')
                p++;
            char *word = p;
            char quote = 0;
            while (*p && (quote || (*p != ' ' && *p != '\t' && *p != '\n'))) {
                if (quote && *p == quote)
                    quote = 0;
                else if (!quote && (*p == '\'' || *p == '"'))
                    quote = *p;
                p++;
            }
            if (*p)
                *p++ = '\0';
            if (strncmp(word, name, n) == 0 && word[n] == '=') {
                char *v = word + n + 1, *o = v, *r = v;
                for (; *r; r++)
                    if (*r != '\'' && *r != '"')
                        *o++ = *r;
                *o = '\0';
                found = strdup(v);
            }
        }
    }
    fclose(f);
    return found;
}

/* Expand ${VAR}, env:VAR and {tmpdir}; NULL (with *missing) when a VAR is unset. */
static char *expand(const char *in, const char **missing)
{
    static char buf[4096];
    static char var[128];
    char *tmp = NULL;
    if (strncmp(in, "env:", 4) == 0) {
        snprintf(buf, sizeof buf, "${%s}", in + 4);
        tmp = strdup(buf);
        in = tmp;
    }
    size_t o = 0;
    for (const char *p = in; *p && o < sizeof buf - 1;) {
        if (p[0] == '$' && p[1] == '{' && strchr(p, '}') != NULL) {
            const char *e = strchr(p, '}');
            snprintf(var, sizeof var, "%.*s", (int)(e - p - 2), p + 2);
            const char *v = getenv(var);
            char *fv = NULL;
            if (v == NULL || *v == '\0')
                v = fv = file_var(var);
            if (v == NULL) {
                *missing = var;
                free(tmp);
                return NULL;
            }
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s", v);
            free(fv);
            p = e + 1;
        } else if (strncmp(p, "{tmpdir}", 8) == 0) {
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s", tmpdir);
            p += 8;
        } else {
            buf[o++] = *p++;
        }
    }
    buf[o < sizeof buf ? o : sizeof buf - 1] = '\0';
    free(tmp);
    return buf;
}

static void remove_tmpdir(void)
{
    if (tmpdir[0] == '\0')
        return;
    DIR *d = opendir(tmpdir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char path[512];
            snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(tmpdir);
}

static CU_TestInfo tests[] = {
    { "driver table is well formed", test_driver__table_is_well_formed },
    { "dialect sql runs", test_driver__dialect_sql_runs },
    { "connect failure is one line", test_driver__connect_failure_is_one_line },
    { "exec runs several statements", test_exec__runs_several_statements },
    { "exec of empty or comment-only text is a no-op", test_exec__empty_or_comment_only_text_is_a_no_op },
    { "exec error locates the failing statement", test_exec__error_locates_the_failing_statement },
    { "params round-trip every type", test_params__round_trip_every_type },
    { "params: affected rows and errors", test_params__affected_rows_and_errors },
    { "query streams while the loop updates", test_query__streams_while_the_loop_updates },
    { "query: early close leaves the connection usable",
      test_query__early_close_leaves_the_connection_usable },
    { "query: bad sql fails at query or first fetch", test_query__bad_sql_fails_at_query_or_first_fetch },
    { "txn: rollback undoes changes", test_txn__rollback_undoes_changes },
    { "txn: rollback undoes ddl when transactional", test_txn__rollback_undoes_ddl_when_transactional },
    { "txn: write transaction locks out other writers",
      test_txn__write_transaction_locks_out_other_writers },
    { "quote_ident: nasty name round-trips", test_quote__nasty_name_round_trips },
    { "table_exists tells tables apart", test_table_exists__tells_tables_apart },
    { "statement_end follows the lexical rules", test_statement_end__follows_the_lexical_rules },
    { "introspect reports keys, indexes and foreign keys",
      test_introspect__reports_keys_indexes_and_foreign_keys },
    { "introspect: sqlite partial and expression indexes",
      test_introspect__sqlite_partial_and_expression_indexes },
    { "mask_url hides the password", test_mask_url__hides_the_password },
    { "lock: second session is busy", test_lock__second_session_is_busy },
    { "schemas: create, switch and find", test_schemas__create_switch_and_find },
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
    const char *so = argc > 1 ? argv[1] : getenv("MIG_TEST_DRIVER_SO");
    const char *raw = argc > 2 ? argv[2] : getenv("MIG_TEST_DRIVER_URL");
    if (so == NULL || raw == NULL) {
        fprintf(stderr, "usage: %s DRIVER.so URL (or MIG_TEST_DRIVER_SO, MIG_TEST_DRIVER_URL)\n", argv[0]);
        return 2;
    }
    /* {tmpdir}, and base_dir for relative paths (SQLite) */
    snprintf(tmpdir, sizeof tmpdir, "%s/mig-conformance.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    const char *missing = NULL;
    url = expand(raw, &missing);
    if (url == NULL) {
        const char *req = getenv("MIG_TEST_REQUIRE_SERVERS");
        fprintf(stderr, "conformance: %s is not set (no test server)\n", missing);
        remove_tmpdir();
        return req != NULL && strcmp(req, "1") == 0 ? 1 : 77;
    }

    /* as the core loads a plugin: local symbols, everything resolved now */
    void *handle = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        fprintf(stderr, "conformance: cannot load %s: %s\n", so, dlerror());
        return 1;
    }
    mig_driver_entry_fn entry = (mig_driver_entry_fn)dlsym(handle, MIG_DRIVER_ENTRY_SYMBOL);
    if (entry == NULL || (drv = entry()) == NULL || drv->magic != MIG_DRIVER_MAGIC ||
        drv->connect == NULL) {
        fprintf(stderr, "conformance: %s: no usable %s\n", so, MIG_DRIVER_ENTRY_SYMBOL);
        return 1;
    }
    snprintf(pfx, sizeof pfx, "mc%ld_", (long)getpid());

    mig_connect_opts opts = { .application_name = "mig-conformance", .lock_timeout_s = 10 };
    if (drv->connect(&conn, url, tmpdir, &opts, &err) != MIG_DRV_OK) {
        fprintf(stderr, "conformance: %s driver cannot connect: %s\n", drv->name, err.message);
        remove_tmpdir();
        return 1;
    }

    printf("driver %s %s (%s), caps 0x%x\n", drv->name, drv->version ? drv->version : "?", so, drv->caps);
    char suite_name[64];
    snprintf(suite_name, sizeof suite_name, "conformance_%s", drv->name);
    CU_SuiteInfo suites[] = {
        { .pName = suite_name, .pTests = tests },
        CU_SUITE_INFO_NULL,
    };
    if (CU_initialize_registry() != CUE_SUCCESS || CU_register_suites(suites) != CUE_SUCCESS)
        return 1;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();

    static const char *const leftovers[] = { "t1",     "vals",  "big",    "rb", "dial",
                                             "shared", "child", "parent", "x",  NULL };
    for (int i = 0; leftovers[i] != NULL; i++)
        drop_table(leftovers[i]);
    drv->close(conn);
    remove_tmpdir();
    dlclose(handle);
    return failed ? 1 : 0;
}
