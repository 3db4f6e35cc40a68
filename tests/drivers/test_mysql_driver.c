/*
 * Tests of the MySQL driver plugin through its ABI table, as libmig sees it.
 *
 *   test_mysql_driver PLUGIN offline   splitter, URLs, quoting: no server
 *   test_mysql_driver PLUGIN server    against MIG_TEST_MY_HOST/PORT/USER
 *   test_mysql_driver PLUGIN createdb NAME | dropdb NAME
 *                                      a utf8mb4 database for the conformance
 *                                      run (a bare server defaults to latin1);
 *                                      without a server these do nothing
 *
 * The server is described by the environment or else by the file named in
 * $MIG_TEST_SERVERS_ENV (`export A=1 B=2` lines, as tests/servers.sh writes
 * them). The server run exits 77 (skipped) when no server is described,
 * unless MIG_TEST_REQUIRE_SERVERS=1 makes that a failure. It works in a database
 * of its own, dropped at the end.
 */
#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mig/driver.h"

static const mig_driver *D;
static char base_url[512]; /* server, no database */
static char url[600];      /* server and the test database */
static char dbname[64];

/* --------------------------------------------------------------- helpers */

#define OK(expr)                                                                                        \
    do {                                                                                                \
        mig_drv_error e__;                                                                              \
        memset(&e__, 0, sizeof(e__));                                                                   \
        int rc__ = (expr);                                                                              \
        if (rc__ != MIG_DRV_OK)                                                                         \
            fprintf(stderr, "\n%s:%d: %s -> %d: %s\n", __FILE__, __LINE__, #expr, rc__, e__.message);   \
        CU_ASSERT_EQUAL_FATAL(rc__, MIG_DRV_OK);                                                        \
    } while (0)

static mig_conn *connect_to(const char *u)
{
    mig_conn *c = NULL;
    mig_drv_error e;
    mig_connect_opts o = { .application_name = "mig-test" };
    int rc = D->connect(&c, u, NULL, &o, &e);

    if (rc != MIG_DRV_OK)
        fprintf(stderr, "\nconnect: %s\n", e.message);
    CU_ASSERT_EQUAL_FATAL(rc, MIG_DRV_OK);
    return c;
}

static int exec(mig_conn *c, const char *sql, mig_drv_error *e)
{
    memset(e, 0, sizeof(*e));
    return D->exec(c, sql, strlen(sql), NULL, e);
}

/* The first column of the first row of sql as an integer (-1 when NULL or none). */
static int64_t scalar(mig_conn *c, const char *sql)
{
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    int64_t v = -1;

    OK(D->query(&cur, c, sql, NULL, 0, &e__));
    OK(D->fetch(cur, &row, &e__));
    if (row != NULL && row->values[0].type == MIG_VAL_INT)
        v = row->values[0].u.i;
    D->cursor_close(cur);
    return v;
}

static size_t stmt_end(const char *sql)
{
    return D->statement_end(sql, strlen(sql));
}

/* Split sql fully; the statements' texts (trimmed) joined by '|'. */
static const char *split_all(const char *sql)
{
    static char out[2048];
    size_t pos = 0, len = strlen(sql), o = 0;

    out[0] = '\0';
    while (pos < len) {
        size_t n = D->statement_end(sql + pos, len - pos), a = pos, b = pos + n;
        if (n == 0)
            break;
        while (a < b && (sql[a] == ' ' || sql[a] == '\n'))
            a++;
        while (b > a && (sql[b - 1] == ' ' || sql[b - 1] == '\n'))
            b--;
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%.*s", o ? "|" : "", (int)(b - a), sql + a);
        pos += n;
    }
    return out;
}

/* ------------------------------------------------------- offline: split */

static void test_split__ends_at_semicolon_outside_quotes(void)
{
    CU_ASSERT_EQUAL(stmt_end("SELECT 1; SELECT 2"), 9);
    CU_ASSERT_STRING_EQUAL(split_all("SELECT 'a;b'; SELECT \"c;\"; SELECT `d;`"),
                           "SELECT 'a;b';|SELECT \"c;\";|SELECT `d;`");
    /* backslash escapes and doubled quotes */
    CU_ASSERT_STRING_EQUAL(split_all("SELECT 'it\\'s;'; SELECT 'x'';y'; SELECT `a``;`"),
                           "SELECT 'it\\'s;';|SELECT 'x'';y';|SELECT `a``;`");
    CU_ASSERT_STRING_EQUAL(split_all("SELECT 'a\\\\'; SELECT 2"), "SELECT 'a\\\\';|SELECT 2");
}

static void test_split__knows_mysql_comments(void)
{
    CU_ASSERT_STRING_EQUAL(split_all("SELECT 1 # no; end\n; SELECT 2"), "SELECT 1 # no; end\n;|SELECT 2");
    CU_ASSERT_STRING_EQUAL(split_all("SELECT 1 -- no; end\n; SELECT 2"),
                           "SELECT 1 -- no; end\n;|SELECT 2");
    /* "--" with no space after it is two minus signs */
    CU_ASSERT_STRING_EQUAL(split_all("SELECT 1--1; SELECT 2"), "SELECT 1--1;|SELECT 2");
    CU_ASSERT_STRING_EQUAL(split_all("SELECT /* ; /* ; */ 1; SELECT 2"),
                           "SELECT /* ; /* ; */ 1;|SELECT 2");
    /* nothing but comments is no statement; an executable comment is one */
    CU_ASSERT_EQUAL(stmt_end("  -- only\n /* c */ # x\n"), 0);
    CU_ASSERT_EQUAL(stmt_end(""), 0);
    CU_ASSERT_STRING_EQUAL(split_all("/*!40101 SET NAMES utf8mb4 */; SELECT 1"),
                           "/*!40101 SET NAMES utf8mb4 */;|SELECT 1");
}

static void test_split__keeps_compound_bodies_whole(void)
{
    const char *trg = "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW\n"
                      "BEGIN\n"
                      "  IF NEW.a < 0 THEN SET NEW.a = 0; ELSEIF NEW.a > 9 THEN SET NEW.a = 9; END IF;\n"
                      "  SET NEW.b = IF(NEW.a > 1, 'big', 'small');\n"
                      "  SET NEW.c = CASE WHEN NEW.a = 1 THEN 'one' ELSE 'other' END;\n"
                      "  SET NEW.d = REPEAT('x', 3);\n"
                      "END;";
    const char *proc = "CREATE DEFINER=`root`@`localhost` PROCEDURE p(IN n INT)\n"
                       "BEGIN\n"
                       "  DECLARE i INT DEFAULT 0;\n"
                       "  lbl: LOOP SET i = i + 1; IF i > n THEN LEAVE lbl; END IF; END LOOP lbl;\n"
                       "  WHILE i > 0 DO SET i = i - 1; END WHILE;\n"
                       "  REPEAT SET i = i + 1; UNTIL i > 3 END REPEAT;\n"
                       "  CASE i WHEN 4 THEN SELECT 'four'; ELSE BEGIN SELECT 'x'; END; END CASE;\n"
                       "END";
    char buf[2048];

    snprintf(buf, sizeof(buf), "%s\nSELECT 2;", trg);
    CU_ASSERT_EQUAL(stmt_end(buf), strlen(trg));
    snprintf(buf, sizeof(buf), "%s;\nSELECT 2;", proc);
    CU_ASSERT_EQUAL(stmt_end(buf), strlen(proc) + 1);
    /* a trigger whose body is one IF statement */
    CU_ASSERT_STRING_EQUAL(split_all("CREATE TRIGGER t2 BEFORE INSERT ON t FOR EACH ROW IF NEW.a < 0 THEN "
                                     "SET NEW.a = 0; END IF; SELECT 2"),
                           "CREATE TRIGGER t2 BEFORE INSERT ON t FOR EACH ROW IF NEW.a < 0 THEN SET NEW.a = 0; "
                           "END IF;|SELECT 2");
    /* MariaDB's anonymous block, and a transaction's BEGIN */
    CU_ASSERT_STRING_EQUAL(split_all("BEGIN NOT ATOMIC SELECT 1; SELECT 2; END; BEGIN; SELECT 3"),
                           "BEGIN NOT ATOMIC SELECT 1; SELECT 2; END;|BEGIN;|SELECT 3");
    /* not routines: a table named event, DDL with IF NOT EXISTS */
    CU_ASSERT_STRING_EQUAL(split_all("CREATE TABLE event (a INT); CREATE TABLE IF NOT EXISTS "
                                     "b (c INT); DROP TABLE IF EXISTS b"),
                           "CREATE TABLE event (a INT);|CREATE TABLE IF NOT EXISTS b (c INT);|"
                           "DROP TABLE IF EXISTS b");
    CU_ASSERT_STRING_EQUAL(split_all("CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN 1; "
                                     "SELECT f()"),
                           "CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN 1;|SELECT f()");
}

/* --------------------------------------------------- offline: URLs, quoting */

static void test_url__masks_the_password(void)
{
    char buf[128];
    size_t n = D->mask_url("mysql://app:s%40cret@db:3306/app?socket=/x", buf, sizeof(buf));

    CU_ASSERT_STRING_EQUAL(buf, "mysql://app:***@db:3306/app?socket=/x");
    CU_ASSERT_EQUAL(n, strlen(buf));
    D->mask_url("mariadb://app@db/app", buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "mariadb://app@db/app");
    /* a password with a bare '/' or '@' is still hidden */
    D->mask_url("mysql://app:pa/ss@wo@rd@db/app", buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "mysql://app:***@db/app");
    n = D->mask_url("mysql://a:b@c/d", buf, 8);
    CU_ASSERT_EQUAL(n, strlen("mysql://a:***@c/d"));
    CU_ASSERT_STRING_EQUAL(buf, "mysql:/");
}

static void test_url__rejects_bad_urls_without_the_password(void)
{
    mig_conn *c = NULL;
    mig_drv_error e;

    CU_ASSERT_EQUAL(D->connect(&c, "mysql://u:topsecret@h/db?sslmode=maybe", NULL, NULL, &e),
                    MIG_DRV_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.message, "ssl_mode"));
    CU_ASSERT_EQUAL(D->connect(&c, "mysql://u:topsecret@h/db?colour=red", NULL, NULL, &e), MIG_DRV_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.message, "colour"));
    CU_ASSERT_PTR_NULL(strstr(e.message, "topsecret"));
    CU_ASSERT_EQUAL(D->connect(&c, "mysql://u:topsecret@h:99999/db", NULL, NULL, &e), MIG_DRV_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.message, "port"));
    CU_ASSERT_EQUAL(D->connect(&c, "mysql://u:top:secret@h/db?unix_socket=/nonexistent/x.sock", NULL,
                               NULL, &e),
                    MIG_DRV_CONN);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.message, "socket /nonexistent/x.sock"));
    CU_ASSERT_PTR_NULL(strstr(e.message, "secret"));
    /* a relative socket path is taken from base_dir */
    CU_ASSERT_EQUAL(D->connect(&c, "mariadb://u@localhost/db?socket=run/x.sock", "/nonexistent", NULL, &e),
                    MIG_DRV_CONN);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.message, "socket /nonexistent/run/x.sock"));
    CU_ASSERT_PTR_NULL(c);
}

static void test_url__names_host_and_port_when_it_cannot_connect(void)
{
    mig_conn *c = NULL;
    mig_drv_error e;
    int rc = D->connect(&c, "mysql://u:topsecret@127.0.0.1:1/db?connect_timeout=2", NULL, NULL, &e);

    CU_ASSERT_EQUAL(rc, MIG_DRV_CONN);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.message, "could not connect to 127.0.0.1:1: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.message, "(errno 200"));
    CU_ASSERT_PTR_NULL(strstr(e.message, "topsecret"));
    CU_ASSERT_PTR_NULL(strchr(e.message, '\n'));
}

static void test_quote__doubles_backticks(void)
{
    char buf[32];

    CU_ASSERT_EQUAL(D->quote_ident("a`b", buf, sizeof(buf)), 6);
    CU_ASSERT_STRING_EQUAL(buf, "`a``b`");
    CU_ASSERT_EQUAL(D->quote_ident("abcdef", buf, 4), 8);
    CU_ASSERT_STRING_EQUAL(buf, "`ab");
}

/* ------------------------------------------------------------- server */

static void test_exec__locates_the_failing_statement(void)
{
    const char *sql = "CREATE TABLE ms1 (a INT);\n"
                      "INSERT INTO no_such_table VALUES (1);\n"
                      "CREATE TABLE ms2 (a INT);";
    mig_conn *c = connect_to(url);
    mig_drv_error e;
    int exists = -1;

    CU_ASSERT_EQUAL(exec(c, sql, &e), MIG_DRV_ERROR);
    CU_ASSERT_EQUAL(e.code, 1146);
    CU_ASSERT_STRING_EQUAL(e.sqlstate, "42S02");
    CU_ASSERT_EQUAL(e.stmt_offset, (size_t)(strstr(sql, "INSERT") - sql));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.message, "no_such_table"));
    /* the codes are in their fields, not repeated in the message */
    CU_ASSERT_PTR_NULL(strstr(e.message, "errno"));
    CU_ASSERT_PTR_NULL(strstr(e.message, "42S02"));
    /* DDL is not transactional: the first statement stays, the third never ran */
    OK(D->table_exists(c, "ms1", &exists, &e__));
    CU_ASSERT_EQUAL(exists, 1);
    OK(D->table_exists(c, "ms2", &exists, &e__));
    CU_ASSERT_EQUAL(exists, 0);
    D->close(c);
}

static void test_exec__positions_a_syntax_error(void)
{
    const char *sql = "SELECT 1;\n-- note\nSELECT 2;\n\nSELECT 3 FROM WHERE;";
    mig_conn *c = connect_to(url);
    mig_drv_error e;
    const char *at = strstr(sql, "WHERE");

    CU_ASSERT_EQUAL(exec(c, sql, &e), MIG_DRV_ERROR);
    CU_ASSERT_EQUAL(e.code, 1064);
    CU_ASSERT_STRING_EQUAL(e.sqlstate, "42000");
    CU_ASSERT_EQUAL(e.stmt_offset, (size_t)(strstr(sql, "SELECT 3") - sql));
    CU_ASSERT_EQUAL(e.position, (long)(at - sql) + 1);
    D->close(c);
}

static void test_exec__runs_bodies_empty_statements_and_comments(void)
{
    const char *sql = "CREATE TABLE mb (a INT, b VARCHAR(10));;\n"
                      "CREATE TRIGGER mb_trg BEFORE INSERT ON mb FOR EACH ROW\n"
                      "BEGIN\n  IF NEW.a < 0 THEN SET NEW.a = 0; END IF;\n"
                      "  SET NEW.b = 'set;by';\nEND;\n"
                      "INSERT INTO mb (a) VALUES (-5);\n"
                      "INSERT INTO mb (a) VALUES (1), (2) ; -- done\n";
    mig_conn *c = connect_to(url);
    mig_drv_error e;
    int64_t affected = -1;

    memset(&e, 0, sizeof(e));
    CU_ASSERT_EQUAL(D->exec(c, sql, strlen(sql), &affected, &e), MIG_DRV_OK);
    if (e.message[0])
        fprintf(stderr, "\n%s\n", e.message);
    CU_ASSERT_EQUAL(affected, 2);
    CU_ASSERT_EQUAL(scalar(c, "SELECT COUNT(*) FROM mb WHERE b = 'set;by'"), 3);
    CU_ASSERT_EQUAL(scalar(c, "SELECT MIN(a) FROM mb"), 0);
    CU_ASSERT_EQUAL(exec(c, "-- nothing here\n/* at all */", &e), MIG_DRV_OK);
    CU_ASSERT_EQUAL(exec(c, "", &e), MIG_DRV_OK);
    /* DELIMITER is the mysql client's: say so */
    CU_ASSERT_EQUAL(exec(c, "DELIMITER //\nSELECT 1 //", &e), MIG_DRV_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.detail, "DELIMITER is a command of the mysql client"));
    /* a failure after a compound statement points past it */
    sql = "CREATE PROCEDURE mp() BEGIN SELECT 1; SELECT 2; END;\nDROP TABLE nope_nope;";
    CU_ASSERT_EQUAL(exec(c, sql, &e), MIG_DRV_ERROR);
    CU_ASSERT_EQUAL(e.code, 1051);
    CU_ASSERT_EQUAL(e.stmt_offset, (size_t)(strstr(sql, "DROP") - sql));
    D->close(c);
}

/*
 * The splitter must count statements as the server does: after each of
 * these scripts a statement that fails must be found where it is.
 */
static void test_exec__splitter_agrees_with_the_server(void)
{
    static const char *const scripts[] = {
        "SELECT 'a;b', \"c;\\\";\", `x;y` FROM (SELECT 1 AS `x;y`) t;\n",
        "SELECT 1 # hash; comment\n; SELECT 2 -- dash; comment\n; SELECT 3--1;\n",
        "/* block; comment */ SELECT 1; /*!40101 SET @x = 1 */; /*M!100100 SET @y = 2 */;\n",
        "SELECT 'it''s; \\'quoted\\'';\n",
        "CREATE TRIGGER sa_t BEFORE INSERT ON sa FOR EACH ROW BEGIN\n"
        "  DECLARE n INT DEFAULT 0;\n"
        "  IF NEW.a < 0 THEN SET NEW.a = 0; ELSEIF NEW.a > 9 THEN SET NEW.a = 9; END IF;\n"
        "  SET NEW.b = IF(NEW.a > 1, 'big;', 'small');\n"
        "  SET NEW.b = CASE WHEN NEW.a = 1 THEN 'one' ELSE NEW.b END;\n"
        "  lbl: LOOP SET n = n + 1; IF n > 2 THEN LEAVE lbl; END IF; END LOOP lbl;\n"
        "  WHILE n > 0 DO SET n = n - 1; END WHILE;\n"
        "  REPEAT SET n = n + 1; UNTIL n > 1 END REPEAT;\n"
        "  CASE n WHEN 2 THEN SET NEW.c = REPEAT('x', 2); ELSE BEGIN SET NEW.c = 'y'; END; END CASE;\n"
        "END;\n",
        "CREATE TRIGGER sa_t2 AFTER INSERT ON sa FOR EACH ROW IF NEW.a = 5 THEN "
        "SET @five = 1; END IF;\n",
        "CREATE PROCEDURE sa_p(IN x INT) BEGIN SELECT x; SELECT x + 1; END;\n"
        "CREATE FUNCTION sa_f(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;\n",
        "BEGIN NOT ATOMIC DECLARE v INT DEFAULT 1; SET v = v + 1; SELECT v; END;\n",
        "IF 1 = 1 THEN SELECT 'yes;'; ELSE SELECT 'no'; END IF;\n",
        "SELECT 1;;\nSELECT 2;\n  ;  \nSELECT 3;\n",
        "CALL sa_p(1); CALL sa_p(2);\n",
        "WHILE @w IS NULL DO SELECT 'w'; SET @w = 1; END WHILE;\n",
        NULL,
    };
    mig_conn *c = connect_to(url);
    mig_drv_error e;
    int i;

    CU_ASSERT_EQUAL_FATAL(exec(c, "CREATE TABLE sa (a INT, b VARCHAR(10), c VARCHAR(10))", &e),
                          MIG_DRV_OK);
    for (i = 0; scripts[i] != NULL; i++) {
        char sql[4096];
        const char *bad = "SELECT * FROM sa_missing_table;";
        size_t want;

        snprintf(sql, sizeof(sql), "%s%s\nSELECT 'never';", scripts[i], bad);
        want = (size_t)(strstr(sql, bad) - sql);
        memset(&e, 0, sizeof(e));
        CU_ASSERT_EQUAL(D->exec(c, sql, strlen(sql), NULL, &e), MIG_DRV_ERROR);
        if (e.code != 1146 || e.stmt_offset != want)
            fprintf(stderr, "\nscript %d: code %d offset %zu, wanted 1146 at %zu: %s\n", i, e.code,
                    e.stmt_offset, want, e.message);
        CU_ASSERT_EQUAL(e.code, 1146);
        CU_ASSERT_EQUAL(e.stmt_offset, want);
    }
    /* the compound statements above were created whole */
    CU_ASSERT_EQUAL(exec(c, "INSERT INTO sa (a) VALUES (-3), (5)", &e), MIG_DRV_OK);
    CU_ASSERT_EQUAL(scalar(c, "SELECT COUNT(*) FROM sa WHERE a = 0 AND c = 'xx'"), 1);
    CU_ASSERT_EQUAL(scalar(c, "SELECT @five"), 1);
    CU_ASSERT_EQUAL(scalar(c, "SELECT sa_f(21)"), 42);
    /* a CALL through query(): its first result set, then the connection is free again */
    CU_ASSERT_EQUAL(scalar(c, "CALL sa_p(7)"), 7);
    CU_ASSERT_EQUAL(scalar(c, "SELECT 8"), 8);
    {
        mig_value p = { .type = MIG_VAL_INT, .u.i = 3 };
        OK(D->exec_params(c, "CALL sa_p(?)", &p, 1, NULL, &e__));
    }
    CU_ASSERT_EQUAL(scalar(c, "SELECT 9"), 9);
    D->close(c);
}

static void test_values__round_trip_nul_bytes_and_utf8(void)
{
    static const char text[] = "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80 a\0b";
    static const char blob[] = "\0\x01\xff\0z";
    mig_conn *c = connect_to(url);
    mig_value p[7];
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    int64_t affected = 0;
    mig_drv_error e;

    CU_ASSERT_EQUAL(exec(c,
                         "CREATE TABLE mv (t TEXT CHARACTER SET utf8mb4, v VARBINARY(64), "
                         "i BIGINT, f DOUBLE, n INT, b BOOLEAN, d DECIMAL(10,2))",
                         &e),
                    MIG_DRV_OK);
    p[0].type = MIG_VAL_TEXT;
    p[0].u.s.ptr = text;
    p[0].u.s.len = sizeof(text) - 1;
    p[1].type = MIG_VAL_BLOB;
    p[1].u.s.ptr = blob;
    p[1].u.s.len = sizeof(blob) - 1;
    p[2].type = MIG_VAL_INT;
    p[2].u.i = INT64_MIN;
    p[3].type = MIG_VAL_FLOAT;
    p[3].u.f = 2.5;
    p[4].type = MIG_VAL_NULL;
    p[5].type = MIG_VAL_BOOL;
    p[5].u.b = 1;
    p[6].type = MIG_VAL_TEXT;
    p[6].u.s.ptr = "12.34";
    p[6].u.s.len = 5;
    OK(D->exec_params(c, "INSERT INTO mv VALUES (?, ?, ?, ?, ?, ?, ?)", p, 7, &affected, &e__));
    CU_ASSERT_EQUAL(affected, 1);
    OK(D->query(&cur, c,
                "SELECT t, v, i, f, n, b, d, CHAR_LENGTH(t), "
                "CAST(18446744073709551615 AS UNSIGNED), "
                "CAST('2026-11-26 06:00:00.125' AS DATETIME(3)), SUM(i) "
                "FROM mv WHERE t = ? GROUP BY t, v, i, f, n, b, d",
                p, 1, &e__));
    OK(D->fetch(cur, &row, &e__));
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    CU_ASSERT_EQUAL(row->ncols, 11);
    CU_ASSERT_STRING_EQUAL(row->names[0], "t");
    CU_ASSERT_EQUAL(row->values[0].type, MIG_VAL_TEXT);
    CU_ASSERT_EQUAL(row->values[0].u.s.len, sizeof(text) - 1);
    CU_ASSERT(memcmp(row->values[0].u.s.ptr, text, sizeof(text) - 1) == 0);
    CU_ASSERT_EQUAL(row->values[1].type, MIG_VAL_BLOB);
    CU_ASSERT_EQUAL(row->values[1].u.s.len, sizeof(blob) - 1);
    CU_ASSERT(memcmp(row->values[1].u.s.ptr, blob, sizeof(blob) - 1) == 0);
    CU_ASSERT_EQUAL(row->values[2].type, MIG_VAL_INT);
    CU_ASSERT(row->values[2].u.i == INT64_MIN);
    CU_ASSERT_EQUAL(row->values[3].type, MIG_VAL_FLOAT);
    CU_ASSERT_DOUBLE_EQUAL(row->values[3].u.f, 2.5, 1e-12);
    CU_ASSERT_EQUAL(row->values[4].type, MIG_VAL_NULL);
    CU_ASSERT_EQUAL(row->values[5].type, MIG_VAL_INT);
    CU_ASSERT_EQUAL(row->values[5].u.i, 1);
    CU_ASSERT_EQUAL(row->values[6].type, MIG_VAL_FLOAT);
    CU_ASSERT_DOUBLE_EQUAL(row->values[6].u.f, 12.34, 1e-9);
    CU_ASSERT_EQUAL(row->values[7].u.i, 13); /* characters, not bytes */
    CU_ASSERT_EQUAL(row->values[8].type, MIG_VAL_TEXT);
    CU_ASSERT(row->values[8].u.s.len == 20 &&
              memcmp(row->values[8].u.s.ptr, "18446744073709551615", 20) == 0);
    CU_ASSERT_EQUAL(row->values[9].type, MIG_VAL_TEXT);
    CU_ASSERT(row->values[9].u.s.len == 23 &&
              memcmp(row->values[9].u.s.ptr, "2026-11-26 06:00:00.125", 23) == 0);
    CU_ASSERT_EQUAL(row->values[10].type, MIG_VAL_INT); /* SUM() is DECIMAL */
    CU_ASSERT(row->values[10].u.i == INT64_MIN);
    OK(D->fetch(cur, &row, &e__));
    CU_ASSERT_PTR_NULL(row);
    D->cursor_close(cur);
    /* BIT(n) comes back as its integer; TIME past a day keeps its hours */
    CU_ASSERT_EQUAL(exec(c,
                         "CREATE TABLE mbit (b1 BIT(1), b10 BIT(10), t TIME); "
                         "INSERT INTO mbit VALUES (b'1', b'1000000001', '-30:00:01')",
                         &e),
                    MIG_DRV_OK);
    OK(D->query(&cur, c, "SELECT b1, b10, t FROM mbit", NULL, 0, &e__));
    OK(D->fetch(cur, &row, &e__));
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    CU_ASSERT(row->values[0].type == MIG_VAL_INT && row->values[0].u.i == 1);
    CU_ASSERT(row->values[1].type == MIG_VAL_INT && row->values[1].u.i == 513);
    CU_ASSERT(row->values[2].type == MIG_VAL_TEXT && row->values[2].u.s.len == 9 &&
              memcmp(row->values[2].u.s.ptr, "-30:00:01", 9) == 0);
    D->cursor_close(cur);
    /* a placeholder count mismatch is an error, not a crash */
    CU_ASSERT_EQUAL(D->exec_params(c, "SELECT ?", p, 2, NULL, &e), MIG_DRV_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.message, "placeholder"));
    D->close(c);
}

static void test_cursor__allows_exec_between_fetches(void)
{
    mig_conn *c = connect_to(url);
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    mig_drv_error e;
    int n = 0;
    char big[5000];

    CU_ASSERT_EQUAL(exec(c,
                         "CREATE TABLE mc (id INT PRIMARY KEY, v INT, s TEXT);"
                         "INSERT INTO mc (id, v) SELECT a.i * 1000 + b.i * 100 + c.i * 10 + d.i + 1, 0 "
                         "FROM (SELECT 0 i UNION SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION "
                         "SELECT 4 UNION SELECT 5 UNION SELECT 6 UNION SELECT 7 UNION SELECT 8 "
                         "UNION SELECT 9) a, (SELECT 0 i UNION SELECT 1 UNION SELECT 2 UNION "
                         "SELECT 3 UNION SELECT 4 UNION SELECT 5 UNION SELECT 6 UNION SELECT 7 "
                         "UNION SELECT 8 UNION SELECT 9) b, (SELECT 0 i UNION SELECT 1 UNION "
                         "SELECT 2 UNION SELECT 3 UNION SELECT 4 UNION SELECT 5 UNION SELECT 6 "
                         "UNION SELECT 7 UNION SELECT 8 UNION SELECT 9) c, (SELECT 0 i UNION "
                         "SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4 UNION SELECT 5 "
                         "UNION SELECT 6 UNION SELECT 7 UNION SELECT 8 UNION SELECT 9) d",
                         &e),
                    MIG_DRV_OK);
    if (e.message[0])
        fprintf(stderr, "\n%s\n", e.message);
    CU_ASSERT_EQUAL(scalar(c, "SELECT COUNT(*) FROM mc"), 10000);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    {
        mig_value bv = { .type = MIG_VAL_TEXT, .u.s = { big, sizeof(big) - 1 } };
        OK(D->exec_params(c, "UPDATE mc SET s = ? WHERE id = 5000", &bv, 1, NULL, &e__));
    }
    OK(D->begin(c, 1, &e__));
    OK(D->query(&cur, c, "SELECT id, v, s FROM mc ORDER BY id", NULL, 0, &e__));
    for (;;) {
        mig_value p[2];
        int64_t affected = 0;

        OK(D->fetch(cur, &row, &e__));
        if (row == NULL)
            break;
        n++;
        CU_ASSERT_EQUAL_FATAL(row->values[0].type, MIG_VAL_INT);
        if (row->values[0].u.i == 5000)
            CU_ASSERT(row->values[2].type == MIG_VAL_TEXT && row->values[2].u.s.len == sizeof(big) - 1);
        p[0].type = MIG_VAL_INT;
        p[0].u.i = row->values[0].u.i * 2;
        p[1] = row->values[0];
        OK(D->exec_params(c, "UPDATE mc SET v = ? WHERE id = ?", p, 2, &affected, &e__));
        CU_ASSERT_EQUAL_FATAL(affected, 1);
        if (n % 1000 == 0) {
            /* plain exec, and a commit, with the cursor open */
            OK(D->exec(c, "UPDATE mc SET v = v + 1 WHERE id = 1", 37, NULL, &e__));
            OK(D->commit(c, &e__));
            OK(D->begin(c, 1, &e__));
        }
    }
    D->cursor_close(cur);
    OK(D->commit(c, &e__));
    CU_ASSERT_EQUAL(n, 10000);
    CU_ASSERT_EQUAL(scalar(c, "SELECT SUM(v) FROM mc"), 10000LL * 10001 + 10);
    D->close(c);
}

static void test_lock__reports_busy_with_the_holder(void)
{
    mig_conn *a = connect_to(url), *b = connect_to(url);
    char key[300], holder[256];
    mig_drv_error e;

    snprintf(key, sizeof(key), "mig:%s:mig_version", dbname);
    OK(D->lock_try(a, key, holder, sizeof(holder), &e__));
    /* the idle lock connection is not ended by the server's wait_timeout */
    CU_ASSERT_EQUAL(scalar(a, "SELECT @@SESSION.wait_timeout"), 31536000);
    memset(&e, 0, sizeof(e));
    CU_ASSERT_EQUAL(D->lock_try(b, key, holder, sizeof(holder), &e), MIG_DRV_BUSY);
    CU_ASSERT_PTR_NOT_NULL(strstr(holder, "connection "));
    CU_ASSERT_PTR_NOT_NULL(strstr(holder, "@"));
    fprintf(stderr, "[holder: %s] ", holder);
    OK(D->unlock(a, key, &e__));
    OK(D->lock_try(b, key, holder, sizeof(holder), &e__));
    CU_ASSERT_EQUAL(D->unlock(a, key, &e), MIG_DRV_ERROR); /* not a's any more */
    OK(D->unlock(b, key, &e__));

    /* a key past MySQL's 64 characters, and a holder that dies */
    memset(key, 'k', 200);
    key[200] = '\0';
    OK(D->lock_try(a, key, holder, sizeof(holder), &e__));
    CU_ASSERT_EQUAL(D->lock_try(b, key, holder, sizeof(holder), &e), MIG_DRV_BUSY);
    D->close(a);
    OK(D->lock_try(b, key, holder, sizeof(holder), &e__));
    OK(D->unlock(b, key, &e__));
    D->close(b);
}

static void test_conn__killed_session_is_reported_as_lost(void)
{
    mig_conn *a = connect_to(url), *b = connect_to(url);
    char sql[64], holder[128];
    mig_drv_error e;
    int64_t id = scalar(a, "SELECT CONNECTION_ID()");

    OK(D->lock_try(a, "mig-test-killed", holder, sizeof(holder), &e__));
    snprintf(sql, sizeof(sql), "KILL CONNECTION %lld", (long long)id);
    CU_ASSERT_EQUAL(exec(b, sql, &e), MIG_DRV_OK);
    /* a write to the dead socket must not raise SIGPIPE */
    CU_ASSERT_EQUAL(exec(a, "SELECT 1; SELECT 2", &e), MIG_DRV_CONN);
    CU_ASSERT(e.code == 2006 || e.code == 2013 || e.code == 1927);
    CU_ASSERT_EQUAL(exec(a, "SELECT 1", &e), MIG_DRV_CONN);
    /* the dead session's lock is freed, once the server has ended it: poll as the core does */
    {
        int rc = MIG_DRV_BUSY, i;
        for (i = 0; i < 100 && rc == MIG_DRV_BUSY; i++) {
            rc = D->lock_try(b, "mig-test-killed", holder, sizeof(holder), &e);
            if (rc == MIG_DRV_BUSY)
                usleep(50000);
        }
        CU_ASSERT_EQUAL_FATAL(rc, MIG_DRV_OK);
    }
    OK(D->unlock(b, "mig-test-killed", &e__));
    D->close(a);
    D->close(b);
}

static void test_schema__use_switches_database(void)
{
    mig_conn *c = connect_to(url);
    char a[80], b[80];
    int exists = -1;
    mig_drv_error e;
    mig_value one = { .type = MIG_VAL_INT, .u.i = 1 };

    snprintf(a, sizeof(a), "%s_a`x", dbname);
    snprintf(b, sizeof(b), "%s_b", dbname);
    OK(D->schema_exists(c, a, &exists, &e__));
    CU_ASSERT_EQUAL(exists, 0);
    OK(D->create_schema(c, a, &e__));
    OK(D->create_schema(c, a, &e__)); /* IF NOT EXISTS */
    OK(D->create_schema(c, b, &e__));
    OK(D->schema_exists(c, a, &exists, &e__));
    CU_ASSERT_EQUAL(exists, 1);
    OK(D->set_schema(c, a, "`ignored`", &e__));
    CU_ASSERT_EQUAL(exec(c, "CREATE TABLE only_a (x INT); CREATE TABLE tt (x INT)", &e), MIG_DRV_OK);
    OK(D->exec_params(c, "INSERT INTO tt VALUES (?)", &one, 1, NULL, &e__));
    OK(D->set_schema(c, b, NULL, &e__));
    OK(D->table_exists(c, "only_a", &exists, &e__));
    CU_ASSERT_EQUAL(exists, 0);
    CU_ASSERT_EQUAL(exec(c, "CREATE TABLE tt (x INT)", &e), MIG_DRV_OK);
    /* the same statement text now means b's table */
    OK(D->exec_params(c, "INSERT INTO tt VALUES (?)", &one, 1, NULL, &e__));
    CU_ASSERT_EQUAL(scalar(c, "SELECT COUNT(*) FROM tt"), 1);
    OK(D->set_schema(c, a, NULL, &e__));
    OK(D->table_exists(c, "only_a", &exists, &e__));
    CU_ASSERT_EQUAL(exists, 1);
    CU_ASSERT_EQUAL(scalar(c, "SELECT COUNT(*) FROM tt"), 1);
    CU_ASSERT_EQUAL(D->set_schema(c, "no_such_db_hopefully", NULL, &e), MIG_DRV_ERROR);
    CU_ASSERT_EQUAL(e.code, 1049);
    {
        char q[400], qa[170];
        D->quote_ident(a, qa, sizeof(qa));
        snprintf(q, sizeof(q), "DROP DATABASE %s; DROP DATABASE `%s`", qa, b);
        CU_ASSERT_EQUAL(exec(c, q, &e), MIG_DRV_OK);
    }
    D->close(c);
}

/* Introspection as text, one line per sink call. */
static char intro[8192];
static size_t intro_len;

static void add(const char *fmt, const char *a, const char *b, const char *c2, const char *d)
{
    intro_len += (size_t)snprintf(intro + intro_len, sizeof(intro) - intro_len, fmt, a, b, c2, d);
}

static const char *cols(const char *const *l, size_t count)
{
    static char out[4][256];
    static int k;
    char *o = out[k++ % 4];
    size_t n = 0;

    CU_ASSERT(count == 0 || l != NULL);
    for (size_t i = 0; i < count; i++)
        n += (size_t)snprintf(o + n, 256 - n, "%s%s", n ? "," : "", l[i]);
    o[n] = '\0';
    return o;
}

static int s_table(void *p, const char *t)
{
    (void)p;
    add("table %s\n", t, "", "", "");
    return 0;
}
static int s_column(void *p, const char *t, const char *c, const char *type, int nullable,
                    const char *def, int pos)
{
    (void)p;
    (void)pos;
    add("  col %s.%s %s %s", t, c, type, nullable ? "null" : "notnull");
    add(" default=%s\n", def ? def : "-", "", "", "");
    return 0;
}
static int s_pk(void *p, const char *t, const char *n, const char *const *c, size_t nc)
{
    (void)p;
    add("  pk %s %s (%s)%s\n", t, n, cols(c, nc), "");
    return 0;
}
static int s_unique(void *p, const char *t, const char *n, const char *const *c, size_t nc)
{
    (void)p;
    add("  unique %s %s (%s)%s\n", t, n, cols(c, nc), "");
    return 0;
}
static int s_index(void *p, const char *t, const char *n, int u, const char *const *c, size_t nc,
                   const char *x, const char *w)
{
    (void)p;
    (void)u;
    (void)w;
    add("  index %s %s (%s)%s", t, n, cols(c, nc), "");
    add("%s%s\n", x ? " expr=" : "", x ? x : "", "", "");
    return 0;
}
static int s_fk(void *p, const char *t, const char *n, const char *const *c, size_t nc, const char *rt,
                const char *const *rc, size_t nrc, const char *od, const char *ou)
{
    (void)p;
    add("  fk %s %s (%s) -> %s", t, n, cols(c, nc), rt);
    add("(%s) %s %s\n", cols(rc, nrc), od, ou, "");
    return 0;
}

static void test_introspect__reads_tables_keys_and_indexes(void)
{
    mig_conn *c = connect_to(url);
    mig_drv_error e;
    mig_schema_sink sink = { .table = s_table,
                             .column = s_column,
                             .primary_key = s_pk,
                             .unique = s_unique,
                             .index = s_index,
                             .foreign_key = s_fk };

    CU_ASSERT_EQUAL(exec(c,
                         "CREATE TABLE iu (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
                         "email VARCHAR(100) NOT NULL UNIQUE, name VARCHAR(20) DEFAULT 'x''y', "
                         "n INT DEFAULT 3, KEY iu_name (name, n));"
                         "CREATE TABLE ip (a INT, b BIGINT, PRIMARY KEY (a), "
                         "CONSTRAINT ip_b FOREIGN KEY (b) REFERENCES iu (id) ON DELETE CASCADE);"
                         "CREATE INDEX iu_desc ON iu (name(10), n DESC)",
                         &e),
                    MIG_DRV_OK);
    intro_len = 0;
    intro[0] = '\0';
    OK(D->introspect(c, NULL, &sink, NULL, &e__));
    fprintf(stderr, "\n%s", intro);
    CU_ASSERT_PTR_NOT_NULL(strstr(intro, "table ip\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(intro, "  col iu.email varchar(100) notnull default=-\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(intro, "  col iu.name varchar(20) null default='x''y'\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(intro, "  col iu.n int"));
    CU_ASSERT_PTR_NOT_NULL(strstr(intro, "default=3\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(intro, "  pk iu PRIMARY (id)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(intro, "  unique iu email (email)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(intro, "  index iu iu_name (name,n)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(intro, "  index iu iu_desc (name,n) expr=name(10), n DESC\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(intro, "  fk ip ip_b (b) -> iu(id) CASCADE RESTRICT\n"));
    CU_ASSERT_PTR_NULL(strstr(intro, "index ip ip_b")); /* the FK's own index */
    D->close(c);
}

/* ---------------------------------------------------------------- main */

/* MIG_TEST_MY_* from $MIG_TEST_SERVERS_ENV, for those the environment lacks. */
static void read_servers_env(void)
{
    const char *path = getenv("MIG_TEST_SERVERS_ENV");
    FILE *f = path != NULL ? fopen(path, "r") : NULL;
    char line[1024], *tok, *save;

    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL)
        for (tok = strtok_r(line, " \t\n", &save); tok != NULL; tok = strtok_r(NULL, " \t\n", &save)) {
            char *eq = strchr(tok, '=');
            if (eq == NULL || strncmp(tok, "MIG_TEST_MY_", 12) != 0)
                continue;
            *eq = '\0';
            setenv(tok, eq + 1, 0);
        }
    fclose(f);
}

static int server_setup(void)
{
    const char *host = getenv("MIG_TEST_MY_HOST"), *port = getenv("MIG_TEST_MY_PORT");
    const char *user = getenv("MIG_TEST_MY_USER");
    mig_conn *c = NULL;
    mig_drv_error e;
    char sql[200];

    snprintf(base_url, sizeof(base_url), "mysql://%s@%s:%s/", user ? user : "root", host, port);
    snprintf(dbname, sizeof(dbname), "mig_drvtest_%ld", (long)getpid());
    snprintf(url, sizeof(url), "%s%s", base_url, dbname);
    if (D->connect(&c, base_url, NULL, NULL, &e) != MIG_DRV_OK) {
        fprintf(stderr, "%s\n", e.message);
        return -1;
    }
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s; CREATE DATABASE %s CHARACTER SET utf8mb4",
             dbname, dbname);
    if (exec(c, sql, &e) != MIG_DRV_OK) {
        fprintf(stderr, "%s\n", e.message);
        D->close(c);
        return -1;
    }
    D->close(c);
    return 0;
}

static void server_teardown(void)
{
    mig_conn *c = NULL;
    mig_drv_error e;
    char sql[200];

    if (D->connect(&c, base_url, NULL, NULL, &e) != MIG_DRV_OK)
        return;
    /*
     * A test that failed half-way may have left a transaction open on a
     * connection of this process: wait for its locks a little, not a year.
     */
    snprintf(sql, sizeof(sql), "SET SESSION lock_wait_timeout = 10; DROP DATABASE IF EXISTS %s", dbname);
    if (exec(c, sql, &e) != MIG_DRV_OK)
        fprintf(stderr, "could not drop %s: %s\n", dbname, e.message);
    D->close(c);
}

/* createdb / dropdb NAME: the conformance run's database. */
static int manage_db(const char *what, const char *name)
{
    mig_conn *c = NULL;
    mig_drv_error e;
    char sql[512], q[140];

    if (getenv("MIG_TEST_MY_HOST") == NULL || getenv("MIG_TEST_MY_PORT") == NULL) {
        const char *req = getenv("MIG_TEST_REQUIRE_SERVERS");
        return req != NULL && strcmp(req, "1") == 0 ? 1 : 0;
    }
    snprintf(base_url, sizeof(base_url), "mysql://%s@%s:%s/",
             getenv("MIG_TEST_MY_USER") ? getenv("MIG_TEST_MY_USER") : "root",
             getenv("MIG_TEST_MY_HOST"), getenv("MIG_TEST_MY_PORT"));
    if (D->connect(&c, base_url, NULL, NULL, &e) != MIG_DRV_OK) {
        fprintf(stderr, "%s\n", e.message);
        return 1;
    }
    D->quote_ident(name, q, sizeof(q));
    if (strcmp(what, "createdb") == 0)
        snprintf(sql, sizeof(sql),
                 "DROP DATABASE IF EXISTS %s; CREATE DATABASE %s "
                 "CHARACTER SET utf8mb4",
                 q, q);
    else
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", q);
    if (exec(c, sql, &e) != MIG_DRV_OK) {
        fprintf(stderr, "%s\n", e.message);
        D->close(c);
        return 1;
    }
    D->close(c);
    return 0;
}

int main(int argc, char **argv)
{
    static CU_TestInfo offline[] = {
        { "split: ends at ';' outside quotes", test_split__ends_at_semicolon_outside_quotes },
        { "split: knows MySQL comments", test_split__knows_mysql_comments },
        { "split: keeps compound bodies whole", test_split__keeps_compound_bodies_whole },
        { "url: masks the password", test_url__masks_the_password },
        { "url: rejects bad URLs without the password", test_url__rejects_bad_urls_without_the_password },
        { "url: names host and port when it cannot connect",
          test_url__names_host_and_port_when_it_cannot_connect },
        { "quote: doubles backticks", test_quote__doubles_backticks },
        CU_TEST_INFO_NULL,
    };
    static CU_TestInfo server[] = {
        { "exec: locates the failing statement", test_exec__locates_the_failing_statement },
        { "exec: positions a syntax error", test_exec__positions_a_syntax_error },
        { "exec: runs bodies, empty statements, comments",
          test_exec__runs_bodies_empty_statements_and_comments },
        { "exec: splitter agrees with the server", test_exec__splitter_agrees_with_the_server },
        { "values: round-trip NUL bytes and UTF-8", test_values__round_trip_nul_bytes_and_utf8 },
        { "cursor: allows exec between fetches", test_cursor__allows_exec_between_fetches },
        { "lock: reports busy with the holder", test_lock__reports_busy_with_the_holder },
        { "conn: killed session is reported as lost", test_conn__killed_session_is_reported_as_lost },
        { "schema: USE switches database", test_schema__use_switches_database },
        { "introspect: reads tables, keys, indexes", test_introspect__reads_tables_keys_and_indexes },
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[2] = { CU_SUITE_INFO_NULL, CU_SUITE_INFO_NULL };
    void *h;
    mig_driver_entry_fn entry;
    int want_server, failed;
    const char *req = getenv("MIG_TEST_REQUIRE_SERVERS");

    if (!((argc == 3 && (strcmp(argv[2], "offline") == 0 || strcmp(argv[2], "server") == 0)) ||
          (argc == 4 && (strcmp(argv[2], "createdb") == 0 || strcmp(argv[2], "dropdb") == 0)))) {
        fprintf(stderr, "usage: %s PLUGIN offline|server|createdb NAME|dropdb NAME\n", argv[0]);
        return 2;
    }
    want_server = strcmp(argv[2], "offline") != 0;
    if ((h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) == NULL ||
        (entry = (mig_driver_entry_fn)(uintptr_t)dlsym(h, MIG_DRIVER_ENTRY_SYMBOL)) == NULL) {
        fprintf(stderr, "%s: %s\n", argv[1], dlerror());
        return 1;
    }
    D = entry();
    if (D->magic != MIG_DRIVER_MAGIC || D->abi != MIG_DRIVER_ABI || strcmp(D->name, "mysql") != 0) {
        fprintf(stderr, "%s: not the mysql driver for this ABI\n", argv[1]);
        return 1;
    }
    if (argc == 4) {
        read_servers_env();
        return manage_db(argv[2], argv[3]);
    }
    if (want_server) {
        read_servers_env();
        if (getenv("MIG_TEST_MY_HOST") == NULL || getenv("MIG_TEST_MY_PORT") == NULL) {
            if (req != NULL && strcmp(req, "1") == 0) {
                fprintf(stderr, "no MariaDB server: MIG_TEST_MY_HOST/PORT unset and "
                                "MIG_TEST_REQUIRE_SERVERS=1\n");
                return 1;
            }
            fprintf(stderr, "skipped: MIG_TEST_MY_HOST/PORT unset (tests/servers.sh starts a server)\n");
            return 77;
        }
        if (server_setup() != 0)
            return 1;
        suites[0].pName = "mysql driver, server";
        suites[0].pTests = server;
    } else {
        suites[0].pName = "mysql driver, offline";
        suites[0].pTests = offline;
    }
    if (CU_initialize_registry() != CUE_SUCCESS || CU_register_suites(suites) != CUE_SUCCESS)
        return 1;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = (int)(CU_get_number_of_failures() + CU_get_number_of_tests_failed());
    CU_cleanup_registry();
    if (want_server)
        server_teardown();
    return failed ? 1 : 0;
}
