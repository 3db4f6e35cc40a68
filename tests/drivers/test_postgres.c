/*
 * The PostgreSQL driver against a real server, through its plugin entry
 * point as the core loads it. PostgreSQL-only behaviour lives here
 * (dollar quotes and DO blocks, CREATE INDEX CONCURRENTLY, the advisory
 * lock's holder, schemas, introspection); the generic driver contract is
 * checked by tests/drivers/conformance.c.
 *
 * The server comes from MIG_TEST_PG_HOST/PORT/USER, or from the file
 * named by MIG_TEST_SERVERS_ENV (tests/servers.sh writes it). Without a
 * server the program skips (77), unless MIG_TEST_REQUIRE_SERVERS=1.
 * Each run works in a database of its own, dropped at the end.
 */
#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mig/driver.h"

static const mig_driver *drv;
static char url[512];
static char admin_url[512];
static char dbname[64];

#define PASS(expr)                                                                                      \
    do {                                                                                                \
        mig_drv_error e__;                                                                              \
        memset(&e__, 0, sizeof e__);                                                                    \
        int rc__ = (expr);                                                                              \
        if (rc__ != 0)                                                                                  \
            fprintf(stderr, "\n%s:%d: %s -> %d: %s [%s] %s\n", __FILE__, __LINE__, #expr, rc__,         \
                    e__.message, e__.sqlstate, e__.detail);                                             \
        CU_ASSERT_EQUAL_FATAL(rc__, 0);                                                                 \
    } while (0)
/* expressions inside PASS use `&e__` as their error */
#define E (&e__)

static mig_conn *open_conn(void)
{
    mig_conn *c = NULL;
    mig_connect_opts o = { .application_name = "mig" };
    PASS(drv->connect(&c, url, NULL, &o, E));
    return c;
}

static int64_t query_int(mig_conn *c, const char *sql)
{
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    int64_t v = -1;
    PASS(drv->query(&cur, c, sql, NULL, 0, E));
    PASS(drv->fetch(cur, &row, E));
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    CU_ASSERT_EQUAL(row->values[0].type, MIG_VAL_INT);
    v = row->values[0].u.i;
    drv->cursor_close(cur);
    return v;
}

static void exec_ok(mig_conn *c, const char *sql)
{
    PASS(drv->exec(c, sql, strlen(sql), NULL, E));
}

/* The 1-based line of byte offset off in text. */
static int line_of(const char *text, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off && text[i]; i++)
        line += text[i] == '\n';
    return line;
}

/* ---- tests ---- */

static void test_postgres__runs_script_with_function_body_and_do_block(void)
{
    mig_conn *c = open_conn();
    const char *script =
        "CREATE TABLE t_script (id int PRIMARY KEY, note text DEFAULT 'it''s; fine');\n"
        "/* a /* nested */ comment; with a semicolon */\n"
        "CREATE FUNCTION bump(x int) RETURNS int LANGUAGE plpgsql AS $body$\n"
        "BEGIN\n"
        "  -- semicolons; inside the body\n"
        "  RETURN x + 1;\n"
        "END;\n"
        "$body$;\n"
        "DO $$\n"
        "BEGIN\n"
        "  FOR i IN 1..3 LOOP\n"
        "    INSERT INTO t_script (id) VALUES (bump(i));\n"
        "  END LOOP;\n"
        "END $$;\n"
        "CREATE FUNCTION twice(x int) RETURNS int LANGUAGE sql\n"
        "BEGIN ATOMIC\n"
        "  SELECT x * 2;\n"
        "END;\n"
        "INSERT INTO t_script (id, note) VALUES (twice(10), E'back\\\\slash; \\'quoted\\'');\n";

    PASS(drv->begin(c, 1, E));
    exec_ok(c, script);
    PASS(drv->commit(c, E));
    CU_ASSERT_EQUAL(query_int(c, "SELECT count(*) FROM t_script"), 4);
    CU_ASSERT_EQUAL(query_int(c, "SELECT sum(id) FROM t_script"), 2 + 3 + 4 + 20);
    CU_ASSERT_EQUAL(query_int(c, "SELECT count(*) FROM t_script WHERE note = 'back\\slash; ''quoted'''"),
                    1);

    /* the same text outside a transaction runs statement by statement */
    exec_ok(c, "DROP TABLE t_script; DROP FUNCTION bump(int); DROP FUNCTION twice(int);");
    exec_ok(c, script);
    CU_ASSERT_EQUAL(query_int(c, "SELECT count(*) FROM t_script"), 4);
    exec_ok(c, "DROP TABLE t_script; DROP FUNCTION bump(int); DROP FUNCTION twice(int);");
    drv->close(c);
}

static void test_postgres__locates_failing_statement_by_sqlstate_and_position(void)
{
    mig_conn *c = open_conn();
    mig_drv_error err;
    const char *script = "CREATE TABLE t_err (id int PRIMARY KEY);\n"
                         "-- the next one is wrong\n"
                         "INSERT INTO t_err VALUES (1);\n"
                         "SELECT * FROM t_err WHERE;\n"
                         "SELECT 1;\n";

    PASS(drv->begin(c, 1, E));
    CU_ASSERT_EQUAL(drv->exec(c, script, strlen(script), NULL, &err), MIG_DRV_ERROR);
    CU_ASSERT_STRING_EQUAL(err.sqlstate, "42601");
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "syntax error"));
    CU_ASSERT_EQUAL(line_of(script, err.stmt_offset), 4);
    CU_ASSERT_TRUE(strncmp(script + err.stmt_offset, "SELECT * FROM t_err WHERE;", 26) == 0);
    /* the ';' after WHERE */
    CU_ASSERT_EQUAL(script[err.position - 1], ';');
    PASS(drv->rollback(c, E));

    /* no position (a runtime error): found by counting completed statements */
    const char *dup = "CREATE TABLE t_err (id int PRIMARY KEY);\n"
                      "INSERT INTO t_err VALUES (1);\n"
                      "\n"
                      "INSERT INTO t_err VALUES (1);\n";
    PASS(drv->begin(c, 1, E));
    CU_ASSERT_EQUAL(drv->exec(c, dup, strlen(dup), NULL, &err), MIG_DRV_ERROR);
    CU_ASSERT_STRING_EQUAL(err.sqlstate, "23505");
    CU_ASSERT_EQUAL(err.position, 0);
    CU_ASSERT_EQUAL(line_of(dup, err.stmt_offset), 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "Key (id)=(1) already exists"));
    /* COMMIT after a failure rolls back: that is no success */
    CU_ASSERT_EQUAL(drv->commit(c, &err), MIG_DRV_ERROR);
    CU_ASSERT_STRING_EQUAL(err.sqlstate, "25P02");

    /* the same, statement by statement outside a transaction, with UTF-8 before the error */
    const char *utf = "SELECT 'héllo wörld';\n"
                      "SELECT 'ü' + ;\n";
    CU_ASSERT_EQUAL(drv->exec(c, utf, strlen(utf), NULL, &err), MIG_DRV_ERROR);
    CU_ASSERT_EQUAL(line_of(utf, err.stmt_offset), 2);
    /* position counts characters: 'héllo wörld' has two 2-byte ones */
    CU_ASSERT_EQUAL(err.position, 36);
    CU_ASSERT_STRING_EQUAL(err.sqlstate, "42601");

    /* an error inside a DO block says where */
    const char *doblk = "DO $$ BEGIN RAISE EXCEPTION 'boom %', 42 USING ERRCODE = 'P0001'; END $$;";
    CU_ASSERT_EQUAL(drv->exec(c, doblk, strlen(doblk), NULL, &err), MIG_DRV_ERROR);
    CU_ASSERT_STRING_EQUAL(err.message, "boom 42");
    CU_ASSERT_STRING_EQUAL(err.sqlstate, "P0001");
    CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "PL/pgSQL"));

    /* exec_params: a position points into the caller's text, not the numbered one */
    mig_value v[12];
    for (int i = 0; i < 12; i++)
        v[i] = (mig_value){ .type = MIG_VAL_INT, .u.i = i };
    const char *p12 = "SELECT ?,?,?,?,?,?,?,?,?,?,?,? FROM nowhere_table";
    CU_ASSERT_EQUAL(drv->exec_params(c, p12, v, 12, NULL, &err), MIG_DRV_ERROR);
    CU_ASSERT_STRING_EQUAL(err.sqlstate, "42P01");
    CU_ASSERT_EQUAL(err.position, (long)(strstr(p12, "nowhere") - p12) + 1);

    /* query: the position skips the DECLARE the driver wraps it in */
    mig_cursor *cur = NULL;
    const char *q = "SELECT ? FROM nowhere_table";
    CU_ASSERT_EQUAL(drv->query(&cur, c, q, v, 1, &err), MIG_DRV_ERROR);
    CU_ASSERT_PTR_NULL(cur);
    CU_ASSERT_EQUAL(err.position, 15);

    /* COPY FROM STDIN has no data to read: an error, not a hang */
    exec_ok(c, "CREATE TABLE t_copy (id int)");
    const char *copy = "COPY t_copy FROM STDIN; SELECT 1";
    CU_ASSERT_EQUAL(drv->exec(c, copy, strlen(copy), NULL, &err), MIG_DRV_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "COPY FROM STDIN"));
    exec_ok(c, "COPY t_copy TO STDOUT; DROP TABLE t_copy");

    /* a server that ends the session: the connection is gone */
    const char *kill = "SELECT pg_terminate_backend(pg_backend_pid())";
    CU_ASSERT_EQUAL(drv->exec(c, kill, strlen(kill), NULL, &err), MIG_DRV_CONN);
    CU_ASSERT_EQUAL(drv->exec(c, "SELECT 1", 8, NULL, &err), MIG_DRV_CONN);
    drv->close(c);
}

static void test_postgres__creates_index_concurrently_outside_transaction(void)
{
    mig_conn *c = open_conn();
    const char *script = "CREATE TABLE t_conc (id int, v text);\n"
                         "INSERT INTO t_conc SELECT g, 'v' || g FROM generate_series(1, 100) g;\n"
                         "CREATE INDEX CONCURRENTLY t_conc_v ON t_conc (v);\n"
                         "CREATE UNIQUE INDEX CONCURRENTLY t_conc_id ON t_conc (id);\n";
    mig_drv_error err;

    exec_ok(c, script);
    CU_ASSERT_EQUAL(query_int(c, "SELECT count(*) FROM pg_indexes WHERE tablename = 't_conc'"), 2);
    /* inside a transaction the server refuses it, and says so */
    PASS(drv->begin(c, 1, E));
    const char *conc = "CREATE INDEX CONCURRENTLY t_conc_x ON t_conc (id, v)";
    CU_ASSERT_EQUAL(drv->exec(c, conc, strlen(conc), NULL, &err), MIG_DRV_ERROR);
    CU_ASSERT_STRING_EQUAL(err.sqlstate, "25001");
    PASS(drv->rollback(c, E));

    /* with the migration lock held on another session, as the core does */
    mig_conn *lock = open_conn();
    char holder[256];
    PASS(drv->lock_try(lock, "mig_version", holder, sizeof holder, E));
    exec_ok(c, "DROP INDEX CONCURRENTLY t_conc_v; CREATE INDEX CONCURRENTLY t_conc_v ON t_conc (v);");
    PASS(drv->unlock(lock, "mig_version", E));
    drv->close(lock);
    exec_ok(c, "DROP TABLE t_conc");
    drv->close(c);
}

static void stream_and_update(mig_conn *c)
{
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    int64_t n = 0, sum = 0, affected = 0;
    mig_value lim = { .type = MIG_VAL_INT, .u.i = 5000 };

    PASS(drv->query(&cur, c,
                    "SELECT id, v, id * 1.5 AS f, id % 2 = 0 AS even FROM t_stream "
                    "WHERE id > ? - 5000 ORDER BY id",
                    &lim, 1, E));
    for (;;) {
        PASS(drv->fetch(cur, &row, E));
        if (row == NULL)
            break;
        CU_ASSERT_EQUAL_FATAL(row->ncols, 4);
        CU_ASSERT_STRING_EQUAL(row->names[0], "id");
        CU_ASSERT_EQUAL_FATAL(row->values[0].type, MIG_VAL_INT);
        CU_ASSERT_EQUAL(row->values[1].type, MIG_VAL_TEXT);
        CU_ASSERT_EQUAL(row->values[2].type, MIG_VAL_FLOAT);
        CU_ASSERT_EQUAL(row->values[3].type, MIG_VAL_BOOL);
        int64_t id = row->values[0].u.i;
        CU_ASSERT_EQUAL(row->values[3].u.b, id % 2 == 0);
        n++;
        sum += id;
        /* a backfill: write to the rows being read, on the same connection */
        mig_value p[2] = { { .type = MIG_VAL_TEXT, .u.s = { "done", 4 } },
                           { .type = MIG_VAL_INT, .u.i = id } };
        PASS(drv->exec_params(c, "UPDATE t_stream SET v = ? WHERE id = ?", p, 2, &affected, E));
        CU_ASSERT_EQUAL(affected, 1);
        if (id % 2500 == 0)
            exec_ok(c, "SELECT 1; SELECT 2");
    }
    drv->cursor_close(cur);
    CU_ASSERT_EQUAL(n, 10000);
    CU_ASSERT_EQUAL(sum, (int64_t)10000 * 10001 / 2);
    CU_ASSERT_EQUAL(query_int(c, "SELECT count(*) FROM t_stream WHERE v = 'done'"), 10000);
}

static void test_postgres__streams_cursor_while_writing_on_same_connection(void)
{
    mig_conn *c = open_conn();
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;

    exec_ok(c, "CREATE TABLE t_stream (id int PRIMARY KEY, v text);"
               "INSERT INTO t_stream SELECT g, 'x' FROM generate_series(1, 10000) g;");
    /* inside the migration transaction */
    PASS(drv->begin(c, 1, E));
    stream_and_update(c);
    PASS(drv->commit(c, E));
    /* and outside any transaction (each UPDATE commits: no flush wait for those) */
    exec_ok(c, "UPDATE t_stream SET v = 'x'; SET synchronous_commit = off");
    stream_and_update(c);
    CU_ASSERT_EQUAL(query_int(c, "SELECT count(*) FROM pg_cursors WHERE statement NOT LIKE '%pg_cursors%'"),
                    0);

    /* a cursor survives a COMMIT made while it is open, and closes after a ROLLBACK */
    PASS(drv->begin(c, 1, E));
    PASS(drv->query(&cur, c, "SELECT id FROM t_stream ORDER BY id", NULL, 0, E));
    PASS(drv->fetch(cur, &row, E));
    PASS(drv->commit(c, E));
    for (int i = 0; i < 1500; i++)
        PASS(drv->fetch(cur, &row, E));
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    CU_ASSERT_EQUAL(row->values[0].u.i, 1501);
    PASS(drv->begin(c, 1, E));
    drv->cursor_close(cur);
    PASS(drv->commit(c, E));
    CU_ASSERT_EQUAL(query_int(c, "SELECT count(*) FROM pg_cursors WHERE statement NOT LIKE '%pg_cursors%'"),
                    0);

    PASS(drv->begin(c, 1, E));
    PASS(drv->query(&cur, c, "SELECT id FROM t_stream", NULL, 0, E));
    PASS(drv->rollback(c, E));
    PASS(drv->begin(c, 1, E));
    drv->cursor_close(cur); /* gone with the rollback: must not break this transaction */
    CU_ASSERT_EQUAL(query_int(c, "SELECT 7"), 7);
    PASS(drv->commit(c, E));

    /* statements a cursor cannot hold run directly */
    PASS(drv->query(&cur, c, "INSERT INTO t_stream VALUES (?, 'r') RETURNING id",
                    &(mig_value){ .type = MIG_VAL_INT, .u.i = 20000 }, 1, E));
    PASS(drv->fetch(cur, &row, E));
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    CU_ASSERT_EQUAL(row->values[0].u.i, 20000);
    PASS(drv->fetch(cur, &row, E));
    CU_ASSERT_PTR_NULL(row);
    drv->cursor_close(cur);
    PASS(drv->query(&cur, c, "SELECT id FROM t_stream WHERE id = 20000 FOR UPDATE", NULL, 0, E));
    PASS(drv->fetch(cur, &row, E));
    CU_ASSERT_PTR_NOT_NULL(row);
    drv->cursor_close(cur);
    exec_ok(c, "DROP TABLE t_stream");
    drv->close(c);
}

static void test_postgres__binds_and_maps_values(void)
{
    mig_conn *c = open_conn();
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    mig_drv_error err;
    const char blob[] = { 'a', 0, 'b', (char)0xff };
    mig_value in[] = {
        { .type = MIG_VAL_INT, .u.i = INT64_MIN },
        { .type = MIG_VAL_FLOAT, .u.f = 0.1 },
        { .type = MIG_VAL_BOOL, .u.b = 1 },
        { .type = MIG_VAL_TEXT, .u.s = { "it's ? not a $1", 15 } },
        { .type = MIG_VAL_NULL },
        { .type = MIG_VAL_BLOB, .u.s = { blob, sizeof blob } },
    };

    PASS(drv->query(&cur, c,
                    "SELECT ? AS i, ? AS f, ? AS b, ? AS t, ?::int AS n, ? AS bl, "
                    "'?' AS q, \"?col\".x AS \"?\", $$?$$ AS d, -- ?\n"
                    "12345678901234567890.5::numeric AS big, 2.5::numeric AS small, "
                    "(SELECT sum(7::bigint)) AS total, 'NaN'::float8 AS nan "
                    "FROM (SELECT 1 AS x) AS \"?col\" /* ? */",
                    in, 6, E));
    PASS(drv->fetch(cur, &row, E));
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    CU_ASSERT_EQUAL_FATAL(row->ncols, 13);
    CU_ASSERT_EQUAL(row->values[0].type, MIG_VAL_INT);
    CU_ASSERT_EQUAL(row->values[0].u.i, INT64_MIN);
    CU_ASSERT_EQUAL(row->values[1].type, MIG_VAL_FLOAT);
    CU_ASSERT_EQUAL(row->values[1].u.f, 0.1);
    CU_ASSERT_EQUAL(row->values[2].type, MIG_VAL_BOOL);
    CU_ASSERT_EQUAL(row->values[2].u.b, 1);
    CU_ASSERT_EQUAL(row->values[3].type, MIG_VAL_TEXT);
    CU_ASSERT_EQUAL(row->values[3].u.s.len, 15);
    CU_ASSERT_NSTRING_EQUAL(row->values[3].u.s.ptr, "it's ? not a $1", 15);
    CU_ASSERT_EQUAL(row->values[4].type, MIG_VAL_NULL);
    CU_ASSERT_EQUAL(row->values[5].type, MIG_VAL_BLOB);
    CU_ASSERT_EQUAL(row->values[5].u.s.len, sizeof blob);
    CU_ASSERT_TRUE(memcmp(row->values[5].u.s.ptr, blob, sizeof blob) == 0);
    CU_ASSERT_NSTRING_EQUAL(row->values[6].u.s.ptr, "?", 1);
    CU_ASSERT_STRING_EQUAL(row->names[7], "?");
    CU_ASSERT_NSTRING_EQUAL(row->values[8].u.s.ptr, "?", 1);
    CU_ASSERT_EQUAL(row->values[9].type, MIG_VAL_TEXT);
    CU_ASSERT_EQUAL(row->values[10].type, MIG_VAL_FLOAT);
    CU_ASSERT_EQUAL(row->values[10].u.f, 2.5);
    CU_ASSERT_EQUAL(row->values[11].type, MIG_VAL_INT);
    CU_ASSERT_EQUAL(row->values[11].u.i, 7);
    CU_ASSERT_TRUE(isnan(row->values[12].u.f));
    drv->cursor_close(cur);

    /* text with a NUL cannot be PostgreSQL text */
    mig_value nul = { .type = MIG_VAL_TEXT, .u.s = { "a\0b", 3 } };
    CU_ASSERT_EQUAL(drv->exec_params(c, "SELECT ?", &nul, 1, NULL, &err), MIG_DRV_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "NUL"));
    /* the count of values must match */
    CU_ASSERT_EQUAL(drv->exec_params(c, "SELECT ?, ?", in, 1, NULL, &err), MIG_DRV_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "2 placeholders"));
    /* a text parameter takes the type its place needs */
    exec_ok(c, "CREATE TABLE t_types (at timestamptz, j jsonb)");
    mig_value tv[2] = { { .type = MIG_VAL_TEXT, .u.s = { "2024-01-02 03:04:05+00", 22 } },
                        { .type = MIG_VAL_TEXT, .u.s = { "{\"a\": 1}", 8 } } };
    int64_t affected = 0;
    PASS(drv->exec_params(c, "INSERT INTO t_types VALUES (?, ?)", tv, 2, &affected, E));
    CU_ASSERT_EQUAL(affected, 1);
    exec_ok(c, "DROP TABLE t_types");
    drv->close(c);
}

static void test_postgres__lock_busy_names_holder_and_dies_with_session(void)
{
    mig_conn *a = open_conn(), *b = open_conn();
    char holder[256];
    mig_drv_error err;

    PASS(drv->lock_try(a, "mig_version/public", holder, sizeof holder, E));
    CU_ASSERT_EQUAL(drv->lock_try(b, "mig_version/public", holder, sizeof holder, &err), MIG_DRV_BUSY);
    CU_ASSERT_PTR_NOT_NULL(strstr(holder, "mig (pid "));
    CU_ASSERT_PTR_NOT_NULL(strstr(holder, "client 127.0.0.1)"));
    /* another key is another lock */
    PASS(drv->lock_try(b, "mig_version/acme", holder, sizeof holder, E));
    PASS(drv->unlock(b, "mig_version/acme", E));
    CU_ASSERT_EQUAL(drv->unlock(b, "mig_version/public", &err), MIG_DRV_ERROR);

    PASS(drv->unlock(a, "mig_version/public", E));
    PASS(drv->lock_try(b, "mig_version/public", holder, sizeof holder, E));
    /* closing the session frees the lock at once */
    drv->close(b);
    PASS(drv->lock_try(a, "mig_version/public", holder, sizeof holder, E));
    PASS(drv->unlock(a, "mig_version/public", E));
    drv->close(a);
}

/* A process that dies holding the lock, without closing anything. */
static void test_postgres__lock_is_freed_when_its_process_dies(void)
{
    mig_conn *a = open_conn();
    char holder[256];
    mig_drv_error err;
    int fds[2], rc = MIG_DRV_BUSY;
    char ok = 0;

    CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        mig_conn *c = NULL;
        mig_drv_error e;
        mig_connect_opts o = { .application_name = "mig" };
        char got = drv->connect(&c, url, NULL, &o, &e) == 0 &&
                   drv->lock_try(c, "dies", holder, sizeof holder, &e) == 0;
        if (write(fds[1], &got, 1) != 1)
            _exit(2);
        sleep(1);
        _exit(0); /* no close, no unlock: as if killed */
    }
    CU_ASSERT_EQUAL(read(fds[0], &ok, 1), 1);
    CU_ASSERT_EQUAL_FATAL(ok, 1);
    CU_ASSERT_EQUAL(drv->lock_try(a, "dies", holder, sizeof holder, &err), MIG_DRV_BUSY);
    CU_ASSERT_PTR_NOT_NULL(strstr(holder, "mig (pid "));
    waitpid(pid, NULL, 0);
    for (int i = 0; i < 100 && rc == MIG_DRV_BUSY; i++) {
        rc = drv->lock_try(a, "dies", holder, sizeof holder, &err);
        if (rc == MIG_DRV_BUSY)
            usleep(50000);
    }
    CU_ASSERT_EQUAL(rc, MIG_DRV_OK);
    close(fds[0]);
    close(fds[1]);
    drv->close(a);
}

static void test_postgres__switches_schema_for_tables(void)
{
    mig_conn *c = open_conn();
    int exists = -1;
    const char *tenant = "Acme \"Corp\"";

    PASS(drv->schema_exists(c, tenant, &exists, E));
    CU_ASSERT_EQUAL(exists, 0);
    PASS(drv->create_schema(c, tenant, E));
    PASS(drv->create_schema(c, tenant, E));
    PASS(drv->schema_exists(c, tenant, &exists, E));
    CU_ASSERT_EQUAL(exists, 1);

    PASS(drv->set_schema(c, tenant, NULL, E));
    exec_ok(c, "CREATE TABLE mig_version (version_num varchar(64) PRIMARY KEY)");
    PASS(drv->table_exists(c, "mig_version", &exists, E));
    CU_ASSERT_EQUAL(exists, 1);
    CU_ASSERT_EQUAL(query_int(c, "SELECT count(*) FROM pg_tables WHERE schemaname = 'Acme \"Corp\"' "
                                 "AND tablename = 'mig_version'"),
                    1);

    exec_ok(c, "CREATE TABLE public.shared_t (id int)");
    exec_ok(c, "CREATE TABLE public.mig_version (version_num varchar(64) PRIMARY KEY)");
    PASS(drv->set_schema(c, "other", "public", E));
    /* "other" does not exist yet: public's table is not its table */
    PASS(drv->table_exists(c, "mig_version", &exists, E));
    CU_ASSERT_EQUAL(exists, 0);
    PASS(drv->create_schema(c, "other", E));
    PASS(drv->table_exists(c, "mig_version", &exists, E));
    CU_ASSERT_EQUAL(exists, 0);
    /* widened search path: the tenant first, public for shared tables */
    CU_ASSERT_EQUAL(query_int(c, "SELECT count(*) FROM shared_t"), 0);
    exec_ok(c, "CREATE TABLE mig_version (version_num varchar(64) PRIMARY KEY)");
    CU_ASSERT_EQUAL(query_int(c, "SELECT count(*) FROM pg_tables WHERE schemaname = 'other' "
                                 "AND tablename = 'mig_version'"),
                    1);
    PASS(drv->set_schema(c, "other", "\"other\", public", E));
    PASS(drv->table_exists(c, "mig_version", &exists, E));
    CU_ASSERT_EQUAL(exists, 1);
    drv->close(c);
}

static void *create_schema_thread(void *arg)
{
    mig_conn *c = arg;
    mig_drv_error err;
    PASS(drv->begin(c, 1, E));
    intptr_t rc = drv->create_schema(c, "raced", &err);
    if (rc != 0)
        fprintf(stderr, "\ncreate_schema: %s [%s]\n", err.message, err.sqlstate);
    if (rc == 0)
        rc = drv->commit(c, &err);
    return (void *)rc;
}

static void test_postgres__create_schema_tolerates_a_concurrent_creator(void)
{
    mig_conn *a = open_conn(), *b = open_conn();
    pthread_t t;
    void *res = NULL;

    PASS(drv->begin(a, 1, E));
    PASS(drv->create_schema(a, "raced", E));
    /* b's CREATE waits on a's uncommitted row, then finds it committed */
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, create_schema_thread, b), 0);
    usleep(300000);
    PASS(drv->commit(a, E));
    pthread_join(t, &res);
    CU_ASSERT_EQUAL((intptr_t)res, 0);
    drv->close(a);
    drv->close(b);
}

/* ---- introspection ---- */

typedef struct seen {
    char text[4096];
} seen;

static void add(seen *s, const char *fmt, const char *a, const char *b)
{
    size_t o = strlen(s->text);
    snprintf(s->text + o, sizeof s->text - o, fmt, a, b ? b : "-");
}

/* { "a", "b" } -> "a,b" */
static const char *join(const char *const *list, size_t count, char *buf, size_t n)
{
    size_t o = 0;
    buf[0] = '\0';
    CU_ASSERT(count == 0 || list != NULL);
    for (size_t i = 0; i < count; i++)
        o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? "," : "", list[i]);
    return buf;
}

static int on_table(void *p, const char *t)
{
    add(p, "T %s%s\n", t, "");
    return 0;
}
static int on_column(void *p, const char *t, const char *col, const char *type, int nullable,
                     const char *def, int pos)
{
    char buf[256];
    (void)t;
    snprintf(buf, sizeof buf, "%s %s %d %d", col, type, nullable, pos);
    add(p, "C %s default=%s\n", buf, def);
    return 0;
}
static int on_pk(void *p, const char *t, const char *name, const char *const *cols, size_t ncols)
{
    char buf[256];
    (void)t;
    add(p, "P %s %s\n", name, join(cols, ncols, buf, sizeof buf));
    return 0;
}
static int on_unique(void *p, const char *t, const char *name, const char *const *cols, size_t ncols)
{
    char buf[256];
    (void)t;
    add(p, "U %s %s\n", name, join(cols, ncols, buf, sizeof buf));
    return 0;
}
static int on_index(void *p, const char *t, const char *name, int unique, const char *const *cols,
                    size_t ncols, const char *expr, const char *where)
{
    char buf[256], b2[512];
    (void)t;
    snprintf(b2, sizeof b2, "%s %d %s expr=%s", name, unique, join(cols, ncols, buf, sizeof buf),
             expr ? expr : "-");
    add(p, "I %s where=%s\n", b2, where);
    return 0;
}
static int on_fk(void *p, const char *t, const char *name, const char *const *cols, size_t ncols,
                 const char *rt, const char *const *rcols, size_t nrcols, const char *del, const char *upd)
{
    char b1[128], b2[128], b3[512];
    (void)t;
    snprintf(b3, sizeof b3, "%s %s -> %s(%s) %s/%s", name, join(cols, ncols, b1, sizeof b1), rt,
             join(rcols, nrcols, b2, sizeof b2), del, upd);
    add(p, "F %s%s\n", b3, "");
    return 0;
}
static int on_enum(void *p, const char *name, const char *const *labels, size_t nlabels)
{
    char buf[256];
    add(p, "E %s %s\n", name, join(labels, nlabels, buf, sizeof buf));
    return 0;
}
static int on_seq(void *p, const char *name, const char *ot, const char *oc)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s %s", name, ot ? ot : "-");
    add(p, "S %s %s\n", buf, oc);
    return 0;
}

static void test_postgres__introspects_tables_keys_indexes_and_types(void)
{
    mig_conn *c = open_conn();
    static const mig_schema_sink sink = {
        .table = on_table,
        .column = on_column,
        .primary_key = on_pk,
        .unique = on_unique,
        .index = on_index,
        .foreign_key = on_fk,
        .enum_type = on_enum,
        .sequence = on_seq,
    };
    seen s = { "" };

    exec_ok(c, "CREATE SCHEMA intro; SET search_path TO intro;"
               "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');"
               "CREATE TABLE owners (id serial PRIMARY KEY, email text NOT NULL, "
               "  org int, CONSTRAINT owners_email_org UNIQUE (email, org));"
               "CREATE TABLE pets (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
               "  owner_id int REFERENCES owners (id) ON DELETE CASCADE, "
               "  name varchar(40) DEFAULT 'rex', m mood, dropped int);"
               "ALTER TABLE pets DROP COLUMN dropped;"
               "CREATE INDEX pets_lower_name ON pets (lower(name));"
               "CREATE UNIQUE INDEX pets_owner_name ON pets (owner_id, name) WHERE name IS NOT NULL;"
               "CREATE INDEX pets_mixed ON pets (owner_id DESC, lower(name), m NULLS FIRST);"
               "CREATE SEQUENCE free_seq;");
    PASS(drv->introspect(c, "intro", &sink, &s, E));
    /* NULL: the current schema, here the one set_schema chose */
    seen s2 = { "" };
    PASS(drv->set_schema(c, "intro", NULL, E));
    PASS(drv->introspect(c, NULL, &sink, &s2, E));
    CU_ASSERT_STRING_EQUAL(s.text, s2.text);
    const char *want =
        "E mood sad,ok,happy\n"
        "T owners\n"
        "C id integer 0 1 default=nextval('owners_id_seq'::regclass)\n"
        "C email text 0 2 default=-\n"
        "C org integer 1 3 default=-\n"
        "P owners_pkey id\n"
        "U owners_email_org email,org\n"
        "T pets\n"
        "C id bigint GENERATED BY DEFAULT AS IDENTITY 0 1 default=-\n"
        "C owner_id integer 1 2 default=-\n"
        "C name character varying(40) 1 3 default='rex'::character varying\n"
        "C m mood 1 4 default=-\n"
        "P pets_pkey id\n"
        "I pets_lower_name 0  expr=lower(name::text) where=-\n"
        "I pets_mixed 0 owner_id,m expr=owner_id DESC, lower(name::text), m NULLS FIRST where=-\n"
        "I pets_owner_name 1 owner_id,name expr=- where=name IS NOT NULL\n"
        "F pets_owner_id_fkey owner_id -> owners(id) CASCADE/NO ACTION\n"
        "S free_seq - -\n"
        "S owners_id_seq owners id\n"
        "S pets_id_seq pets id\n";
    if (strcmp(s.text, want) != 0)
        fprintf(stderr, "\nintrospection gave:\n%s", s.text);
    CU_ASSERT_STRING_EQUAL(s.text, want);
    drv->close(c);
}

/* ---- no server needed ---- */

static void test_postgres__statement_end_follows_postgres_lexing(void)
{
    static const struct {
        const char *sql;
        size_t want;
    } cases[] = {
        { "SELECT 1; SELECT 2", 9 },
        { "SELECT ';'; x", 11 },
        { "SELECT E'\\';'; x", 14 },
        { "SELECT 'a''b;'; x", 15 },
        { "SELECT \"a;\"\"b\"; x", 15 },
        { "SELECT $$;$$; x", 13 },
        { "SELECT $a$ $$; $a$; x", 19 },
        { "SELECT a$b; x", 11 },
        { "SELECT $1; x", 10 },
        { "/* a /* b; */ c; */ SELECT 1; x", 29 },
        { "-- c;\nSELECT 1; x", 15 },
        { "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO u VALUES (1); INSERT INTO u VALUES (2)); x",
          93 },
        { "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 1 END; END; x",
          117 },
        { ";; SELECT 1; x", 12 },
        { "  -- only a comment\n", 0 },
        { ";;", 0 },
        { "", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t got = drv->statement_end(cases[i].sql, strlen(cases[i].sql));
        if (got != cases[i].want)
            fprintf(stderr, "\nstatement_end(%s) = %zu, wanted %zu\n", cases[i].sql, got, cases[i].want);
        CU_ASSERT_EQUAL(got, cases[i].want);
    }
}

static void test_postgres__quotes_identifiers_and_masks_passwords(void)
{
    char buf[256];

    CU_ASSERT_EQUAL(drv->quote_ident("a\"b", buf, sizeof buf), 6);
    CU_ASSERT_STRING_EQUAL(buf, "\"a\"\"b\"");
    CU_ASSERT_EQUAL(drv->quote_ident("abcdef", buf, 4), 8);
    CU_ASSERT_STRING_EQUAL(buf, "\"ab");

    drv->mask_url("postgresql://app:s3cret@db:5432/app?sslmode=require&password=x2", buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "postgresql://app:***@db:5432/app?sslmode=require&password=***");
    drv->mask_url("host=db user=app password='s3 cret' dbname=app", buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "host=db user=app password=*** dbname=app");
    drv->mask_url("host=db password = s3cret", buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "host=db password = ***");
    drv->mask_url("postgresql://app:a/b@c@db/app?x=1", buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "postgresql://app:***@db/app?x=1");
    drv->mask_url("postgres://app@db/app", buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "postgres://app@db/app");
}

static void test_postgres__connection_failure_is_one_line_without_password(void)
{
    mig_conn *c = NULL;
    mig_drv_error err;
    mig_connect_opts o = { .application_name = "mig" };

    /* port 1 on loopback: nobody listens */
    CU_ASSERT_EQUAL(drv->connect(&c, "postgresql://app:s3cret@127.0.0.1:1/app", NULL, &o, &err),
                    MIG_DRV_ERROR);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "could not connect to 127.0.0.1:1: "));
    CU_ASSERT_PTR_NULL(strchr(err.message, '\n'));
    CU_ASSERT_PTR_NULL(strstr(err.message, "s3cret"));
    CU_ASSERT_PTR_NULL(strstr(err.detail, "s3cret"));

    CU_ASSERT_EQUAL(drv->connect(&c, "host=127.0.0.1 port=1 password=s3cret", NULL, &o, &err),
                    MIG_DRV_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "could not connect to 127.0.0.1:1: "));

    /* a database that does not exist: the server's reason */
    char bad[600];
    snprintf(bad, sizeof bad, "%s_nope", url);
    CU_ASSERT_EQUAL(drv->connect(&c, bad, NULL, &o, &err), MIG_DRV_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "does not exist"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, getenv("MIG_TEST_PG_PORT")));

    /* a URL libpq cannot parse never echoes its password */
    CU_ASSERT_EQUAL(drv->connect(&c, "postgresql://app:s3%zzcret@127.0.0.1/app", NULL, &o, &err),
                    MIG_DRV_ERROR);
    CU_ASSERT_PTR_NULL(strstr(err.message, "s3"));
    CU_ASSERT_PTR_NULL(strstr(err.message, "zz"));
}

static void test_postgres__connects_from_libpq_environment_and_keywords(void)
{
    mig_conn *c = NULL;
    mig_connect_opts o = { .application_name = "mig" };
    char kw[600];

    setenv("PGHOST", getenv("MIG_TEST_PG_HOST"), 1);
    setenv("PGPORT", getenv("MIG_TEST_PG_PORT"), 1);
    setenv("PGUSER", getenv("MIG_TEST_PG_USER"), 1);
    setenv("PGDATABASE", dbname, 1);
    PASS(drv->connect(&c, NULL, NULL, &o, E));
    CU_ASSERT_EQUAL(query_int(c, "SELECT count(*) FROM pg_stat_activity WHERE pid = pg_backend_pid() "
                                 "AND application_name = 'mig' AND datname = current_database()"),
                    1);
    drv->close(c);
    unsetenv("PGDATABASE");

    snprintf(kw, sizeof kw, "host=%s port=%s user=%s dbname=%s application_name=other",
             getenv("MIG_TEST_PG_HOST"), getenv("MIG_TEST_PG_PORT"), getenv("MIG_TEST_PG_USER"), dbname);
    PASS(drv->connect(&c, kw, NULL, &o, E));
    CU_ASSERT_EQUAL(query_int(c, "SELECT count(*) FROM pg_stat_activity WHERE pid = pg_backend_pid() "
                                 "AND application_name = 'mig'"),
                    1);
    drv->close(c);

    snprintf(kw, sizeof kw, "postgresql+psycopg2://%s@%s:%s/%s", getenv("MIG_TEST_PG_USER"),
             getenv("MIG_TEST_PG_HOST"), getenv("MIG_TEST_PG_PORT"), dbname);
    PASS(drv->connect(&c, kw, NULL, &o, E));
    drv->close(c);
    unsetenv("PGHOST");
    unsetenv("PGPORT");
    unsetenv("PGUSER");
}

/* ---- setup ---- */

/* Read `export K=V K=V` lines written by tests/servers.sh (the environment wins). */
static void load_env_file(const char *path)
{
    char line[1024];
    FILE *f = path ? fopen(path, "r") : NULL;

    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f)) {
        for (char *tok = strtok(line, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
            char *eq = strchr(tok, '=');
            if (eq == NULL)
                continue;
            *eq = '\0';
            setenv(tok, eq + 1, 0);
        }
    }
    fclose(f);
}

static int admin_exec(const char *sql)
{
    mig_conn *c = NULL;
    mig_drv_error err;
    int rc = drv->connect(&c, admin_url, NULL, NULL, &err);
    if (rc == 0)
        rc = drv->exec(c, sql, strlen(sql), NULL, &err);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", sql, err.message);
    drv->close(c);
    return rc;
}

int main(int argc, char **argv)
{
    const char *so = argc > 1 ? argv[1] : MIG_PG_DRIVER_SO;
    int require =
        getenv("MIG_TEST_REQUIRE_SERVERS") && strcmp(getenv("MIG_TEST_REQUIRE_SERVERS"), "1") == 0;
    char sql[256];

    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    mig_driver_entry_fn entry = (mig_driver_entry_fn)dlsym(h, MIG_DRIVER_ENTRY_SYMBOL);
    drv = entry ? entry() : NULL;
    if (drv == NULL || drv->magic != MIG_DRIVER_MAGIC || drv->abi != MIG_DRIVER_ABI) {
        fprintf(stderr, "%s: not a mig driver of this ABI\n", so);
        return 1;
    }

    load_env_file(getenv("MIG_TEST_SERVERS_ENV"));
    const char *host = getenv("MIG_TEST_PG_HOST"), *port = getenv("MIG_TEST_PG_PORT"),
               *user = getenv("MIG_TEST_PG_USER");
    if (!host || !port || !user) {
        fprintf(stderr, "no PostgreSQL test server (MIG_TEST_PG_HOST/PORT/USER): %s\n",
                require ? "failing, MIG_TEST_REQUIRE_SERVERS=1" : "skipped");
        return require ? 1 : 77;
    }
    snprintf(dbname, sizeof dbname, "mig_drv_%ld", (long)getpid());
    snprintf(admin_url, sizeof admin_url, "postgresql://%s@%s:%s/postgres", user, host, port);
    snprintf(url, sizeof url, "postgresql://%s@%s:%s/%s", user, host, port, dbname);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s; CREATE DATABASE %s", dbname, dbname);
    if (admin_exec(sql) != 0)
        return 1;

    CU_TestInfo tests[] = {
        { "statement_end follows postgres lexing", test_postgres__statement_end_follows_postgres_lexing },
        { "quotes identifiers and masks passwords", test_postgres__quotes_identifiers_and_masks_passwords },
        { "connection failure is one line without password",
          test_postgres__connection_failure_is_one_line_without_password },
        { "connects from libpq environment and keywords",
          test_postgres__connects_from_libpq_environment_and_keywords },
        { "runs script with function body and do block",
          test_postgres__runs_script_with_function_body_and_do_block },
        { "locates failing statement by sqlstate and position",
          test_postgres__locates_failing_statement_by_sqlstate_and_position },
        { "creates index concurrently outside transaction",
          test_postgres__creates_index_concurrently_outside_transaction },
        { "streams cursor while writing on same connection",
          test_postgres__streams_cursor_while_writing_on_same_connection },
        { "binds and maps values", test_postgres__binds_and_maps_values },
        { "lock busy names holder and dies with session",
          test_postgres__lock_busy_names_holder_and_dies_with_session },
        { "lock is freed when its process dies", test_postgres__lock_is_freed_when_its_process_dies },
        { "switches schema for tables", test_postgres__switches_schema_for_tables },
        { "create_schema tolerates a concurrent creator",
          test_postgres__create_schema_tolerates_a_concurrent_creator },
        { "introspects tables keys indexes and types",
          test_postgres__introspects_tables_keys_indexes_and_types },
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {
        { .pName = "postgres driver", .pTests = tests },
        CU_SUITE_INFO_NULL,
    };
    if (CU_initialize_registry() != CUE_SUCCESS || CU_register_suites(suites) != CUE_SUCCESS)
        return 1;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();

    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", dbname);
    admin_exec(sql);
    return failed ? 1 : 0;
}
