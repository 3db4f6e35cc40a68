/*
 * The generic statement splitter, per dialect feature. Every text is split
 * from a heap copy with no terminator, so reading past len is caught by
 * the address sanitizer.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "sqlsplit.h"
#include "unit.h"

static const mig_dialect pg = { .ident_quote = '"', .dollar_quotes = 1 };
static const mig_dialect lite = { .ident_quote = '"' };
static const mig_dialect my = { .ident_quote = '`', .backslash_escapes = 1, .hash_comments = 1 };

/* A copy of sql without its terminator (one byte when empty). */
static char *bare(const char *sql, size_t len)
{
    char *p = malloc(len ? len : 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    memcpy(p, sql, len);
    return p;
}

/*
 * Split sql and compare the statements that are not empty, each trimmed
 * and bracketed: "[SELECT 1;][SELECT 2]".
 */
static void expect_split(const mig_dialect *d, const char *sql, const char *want)
{
    size_t len = strlen(sql);
    char *text = bare(sql, len);
    mig_buf got = MIG_BUF_INIT;
    mig_buf_puts(&got, "");
    size_t off = 0;
    while (off < len) {
        int empty = -1;
        size_t n = mig_sql_statement_end(d, text + off, len - off, &empty);
        CU_ASSERT(n > 0 && n <= len - off);
        CU_ASSERT(empty == 0 || empty == 1);
        if (n == 0 || n > len - off)
            break;
        if (!empty) {
            size_t a = off, b = off + n;
            while (a < b && strchr(" \t\r\n", text[a]))
                a++;
            while (b > a && strchr(" \t\r\n", text[b - 1]))
                b--;
            mig_buf_printf(&got, "[%.*s]", (int)(b - a), text + a);
        }
        off += n;
    }
    if (strcmp(mig_buf_cstr(&got), want) != 0) {
        fprintf(stderr, "\nsplit(%s)\n  got  %s\n  want %s\n", sql, mig_buf_cstr(&got), want);
        CU_FAIL("split");
    }
    mig_buf_release(&got);
    free(text);
}

/* ------------------------------------------------------------------ */

static void test_sqlsplit__splits_at_semicolons(void)
{
    expect_split(&pg, "SELECT 1; SELECT 2;", "[SELECT 1;][SELECT 2;]");
    expect_split(&lite, "CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);\n",
                 "[CREATE TABLE a (x int);][INSERT INTO a VALUES (1);]");
}

static void test_sqlsplit__runs_the_last_statement_to_the_end(void)
{
    expect_split(&my, "SELECT 1;\nSELECT 2", "[SELECT 1;][SELECT 2]");
    const char *sql = "SELECT 2";
    char *text = bare(sql, 8);
    CU_ASSERT_EQUAL(mig_sql_statement_end(&pg, text, 8, NULL), 8);
    free(text);
}

static void test_sqlsplit__returns_zero_for_empty_text(void)
{
    int empty = 0;
    CU_ASSERT_EQUAL(mig_sql_statement_end(&pg, "", 0, &empty), 0);
    CU_ASSERT_EQUAL(empty, 1);
    CU_ASSERT_EQUAL(mig_sql_statement_end(&pg, NULL, 0, &empty), 0);
}

static void test_sqlsplit__ignores_semicolons_in_strings(void)
{
    expect_split(&lite, "INSERT INTO t VALUES ('a;b'); SELECT 2",
                 "[INSERT INTO t VALUES ('a;b');][SELECT 2]");
    expect_split(&pg, "SELECT 'it''s; fine'; SELECT 2", "[SELECT 'it''s; fine';][SELECT 2]");
    expect_split(&my, "SELECT 'x'';'';'; SELECT 2", "[SELECT 'x'';'';';][SELECT 2]");
}

static void test_sqlsplit__ignores_semicolons_in_quoted_identifiers(void)
{
    expect_split(&pg, "CREATE TABLE \"a;\"\"b\" (x int); SELECT 2",
                 "[CREATE TABLE \"a;\"\"b\" (x int);][SELECT 2]");
    expect_split(&my, "CREATE TABLE `a;``b` (x int); SELECT 2",
                 "[CREATE TABLE `a;``b` (x int);][SELECT 2]");
    expect_split(&lite, "CREATE TABLE `a;b` (x int); SELECT 2", "[CREATE TABLE `a;b` (x int);][SELECT 2]");
}

static void test_sqlsplit__honours_backslash_escapes_only_where_the_dialect_has_them(void)
{
    const char *sql = "SELECT 'a\\';b'; SELECT 2";
    expect_split(&my, sql, "[SELECT 'a\\';b';][SELECT 2]");
    /* standard strings: the backslash is a plain character */
    expect_split(&lite, sql, "[SELECT 'a\\';][b'; SELECT 2]");
    expect_split(&my, "SELECT \"a\\\";b\"; SELECT 2", "[SELECT \"a\\\";b\";][SELECT 2]");
}

static void test_sqlsplit__takes_backslash_escapes_in_postgres_e_strings(void)
{
    expect_split(&pg, "SELECT E'a\\';b'; SELECT 2", "[SELECT E'a\\';b';][SELECT 2]");
    expect_split(&pg, "SELECT e'\\\\'; SELECT 2", "[SELECT e'\\\\';][SELECT 2]");
    /* a word that merely ends in E is no E-string prefix */
    expect_split(&pg, "SELECT some'a\\'; SELECT 2", "[SELECT some'a\\';][SELECT 2]");
}

static void test_sqlsplit__ignores_semicolons_in_line_comments(void)
{
    expect_split(&pg, "SELECT 1 -- not here; nor here\n; SELECT 2",
                 "[SELECT 1 -- not here; nor here\n;][SELECT 2]");
    expect_split(&lite, "-- only a comment;\nSELECT 1;", "[-- only a comment;\nSELECT 1;]");
}

static void test_sqlsplit__reads_hash_comments_in_mysql_only(void)
{
    expect_split(&my, "SELECT 1 # a; b\n; SELECT 2", "[SELECT 1 # a; b\n;][SELECT 2]");
    expect_split(&pg, "SELECT 1 # 2; SELECT 3", "[SELECT 1 # 2;][SELECT 3]");
}

static void test_sqlsplit__needs_a_blank_after_double_dash_in_mysql(void)
{
    expect_split(&my, "SELECT 1--1; SELECT 2", "[SELECT 1--1;][SELECT 2]");
    expect_split(&my, "SELECT 1 --\tx; y\n; SELECT 2", "[SELECT 1 --\tx; y\n;][SELECT 2]");
    expect_split(&my, "SELECT 1;--", "[SELECT 1;]");
    expect_split(&pg, "SELECT 1--1; SELECT 2", "[SELECT 1--1; SELECT 2]");
}

static void test_sqlsplit__ignores_semicolons_in_block_comments(void)
{
    expect_split(&lite, "SELECT /* a; b */ 1; SELECT 2", "[SELECT /* a; b */ 1;][SELECT 2]");
    expect_split(&my, "/*! SET x=1; */ SELECT 1; SELECT 2", "[/*! SET x=1; */ SELECT 1;][SELECT 2]");
    expect_split(&pg, "SELECT 1 /**/; SELECT 2", "[SELECT 1 /**/;][SELECT 2]");
}

static void test_sqlsplit__nests_block_comments_in_postgres(void)
{
    expect_split(&pg, "/* a /* b; */ c; */ SELECT 1; SELECT 2",
                 "[/* a /* b; */ c; */ SELECT 1;][SELECT 2]");
}

static void test_sqlsplit__keeps_block_comments_flat_elsewhere(void)
{
    expect_split(&lite, "/* a /* b */ SELECT 1; SELECT 2", "[/* a /* b */ SELECT 1;][SELECT 2]");
    expect_split(&my, "/* a /* b */ SELECT 1; SELECT 2", "[/* a /* b */ SELECT 1;][SELECT 2]");
}

static void test_sqlsplit__skips_dollar_quoted_bodies(void)
{
    expect_split(&pg, "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT 2",
                 "[CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;][SELECT 2]");
    expect_split(&pg, "DO $$BEGIN RAISE NOTICE 'x;'; END$$; SELECT 2",
                 "[DO $$BEGIN RAISE NOTICE 'x;'; END$$;][SELECT 2]");
}

static void test_sqlsplit__matches_the_tag_of_a_dollar_quote(void)
{
    expect_split(&pg,
                 "CREATE FUNCTION g() RETURNS text AS $fn$ SELECT $$;$$; $x$ $fn$ LANGUAGE sql; SELECT 2",
                 "[CREATE FUNCTION g() RETURNS text AS $fn$ SELECT $$;$$; $x$ $fn$ LANGUAGE sql;][SELECT 2]");
    expect_split(&pg, "SELECT $a_1$;$A_1$;$a_1$; SELECT 2", "[SELECT $a_1$;$A_1$;$a_1$;][SELECT 2]");
}

static void test_sqlsplit__knows_parameters_and_identifiers_from_dollar_quotes(void)
{
    expect_split(&pg, "SELECT $1; SELECT $2", "[SELECT $1;][SELECT $2]");
    expect_split(&pg, "SELECT a$b$; SELECT 2", "[SELECT a$b$;][SELECT 2]");
    /* outside PostgreSQL a dollar is nothing special */
    expect_split(&lite, "SELECT '$$'; SELECT $$; SELECT 3", "[SELECT '$$';][SELECT $$;][SELECT 3]");
    expect_split(&pg, "SELECT 1 $", "[SELECT 1 $]");
}

static void test_sqlsplit__keeps_a_trigger_body_in_one_statement(void)
{
    expect_split(&lite,
                 "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n"
                 "  INSERT INTO log VALUES (new.x);\n"
                 "  UPDATE c SET n = n + 1;\n"
                 "END;\n"
                 "SELECT 2;",
                 "[CREATE TRIGGER t AFTER INSERT ON a BEGIN\n"
                 "  INSERT INTO log VALUES (new.x);\n"
                 "  UPDATE c SET n = n + 1;\n"
                 "END;][SELECT 2;]");
    expect_split(&lite, "create temp trigger t before delete on a begin select 1; end; select 2",
                 "[create temp trigger t before delete on a begin select 1; end;][select 2]");
    expect_split(&lite, "CREATE TEMPORARY TRIGGER IF NOT EXISTS t AFTER UPDATE ON a BEGIN SELECT 1; END",
                 "[CREATE TEMPORARY TRIGGER IF NOT EXISTS t AFTER UPDATE ON a BEGIN SELECT 1; END]");
}

static void test_sqlsplit__counts_case_expressions_inside_a_trigger(void)
{
    expect_split(&lite,
                 "CREATE TRIGGER t AFTER INSERT ON a WHEN (CASE new.x WHEN 1 THEN 1 END) BEGIN "
                 "UPDATE b SET y = CASE WHEN new.x > 0 THEN 'p' ELSE 'n' END; "
                 "SELECT RAISE(ABORT, 'no; way') WHERE new.x IS NULL; END; SELECT 2",
                 "[CREATE TRIGGER t AFTER INSERT ON a WHEN (CASE new.x WHEN 1 THEN 1 END) BEGIN "
                 "UPDATE b SET y = CASE WHEN new.x > 0 THEN 'p' ELSE 'n' END; "
                 "SELECT RAISE(ABORT, 'no; way') WHERE new.x IS NULL; END;][SELECT 2]");
}

static void test_sqlsplit__reads_mysql_compound_triggers(void)
{
    expect_split(&my,
                 "CREATE DEFINER=`root`@`localhost` TRIGGER t BEFORE INSERT ON a FOR EACH ROW\n"
                 "BEGIN\n"
                 "  IF NEW.x < 0 THEN SET NEW.x = 0; END IF;\n"
                 "  lbl: LOOP LEAVE lbl; END LOOP lbl;\n"
                 "  CASE NEW.y WHEN 1 THEN SET NEW.z = 'a;'; ELSE BEGIN END; END CASE;\n"
                 "END;\n"
                 "SELECT 2;",
                 "[CREATE DEFINER=`root`@`localhost` TRIGGER t BEFORE INSERT ON a FOR EACH ROW\n"
                 "BEGIN\n"
                 "  IF NEW.x < 0 THEN SET NEW.x = 0; END IF;\n"
                 "  lbl: LOOP LEAVE lbl; END LOOP lbl;\n"
                 "  CASE NEW.y WHEN 1 THEN SET NEW.z = 'a;'; ELSE BEGIN END; END CASE;\n"
                 "END;][SELECT 2;]");
    /* a trigger of one statement, no BEGIN */
    expect_split(&my, "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW SET NEW.x = 1; SELECT 2",
                 "[CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW SET NEW.x = 1;][SELECT 2]");
}

static void test_sqlsplit__keeps_a_begin_atomic_function_body_together(void)
{
    expect_split(
        &pg,
        "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END; SELECT 3",
        "[CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;][SELECT 3]");
}

static void test_sqlsplit__ends_transaction_statements_at_their_semicolon(void)
{
    expect_split(&lite, "BEGIN; CREATE TABLE end_dates (x int); END; SELECT 1",
                 "[BEGIN;][CREATE TABLE end_dates (x int);][END;][SELECT 1]");
    expect_split(&pg, "CREATE TABLE t (x int DEFAULT CASE WHEN true THEN 1 END); SELECT 2",
                 "[CREATE TABLE t (x int DEFAULT CASE WHEN true THEN 1 END);][SELECT 2]");
    /* only the object kind right after CREATE makes a compound statement */
    expect_split(&lite, "CREATE TABLE periods (event text, begin date); SELECT 2",
                 "[CREATE TABLE periods (event text, begin date);][SELECT 2]");
    expect_split(&pg, "CREATE INDEX trigger ON function (event); SELECT 2",
                 "[CREATE INDEX trigger ON function (event);][SELECT 2]");
    expect_split(
        &pg, "CREATE CONSTRAINT TRIGGER c AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f(); SELECT 2",
        "[CREATE CONSTRAINT TRIGGER c AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();][SELECT 2]");
    expect_split(&my,
                 "CREATE OR REPLACE DEFINER = app@localhost PROCEDURE p() BEGIN SELECT 1; END; SELECT 2",
                 "[CREATE OR REPLACE DEFINER = app@localhost PROCEDURE p() BEGIN SELECT 1; END;][SELECT 2]");
}

static void test_sqlsplit__runs_unterminated_input_to_the_end(void)
{
    const char *cases[] = {
        "SELECT 'open; SELECT 2",
        "SELECT \"open; SELECT 2",
        "SELECT `open; SELECT 2",
        "SELECT 1 /* open; SELECT 2",
        "SELECT 1 /* a /* b */ still open in pg; SELECT 2",
        "SELECT $$ open; SELECT 2",
        "SELECT $t$ open $$; SELECT 2",
        "SELECT 'ends with backslash\\",
        "SELECT 'ends with a doubled quote''",
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; SELECT 2;",
        "SELECT 1 -- no newline;",
        "SELECT E'\\",
        "SELECT $",
        "SELECT $t",
        "/",
        "-",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = strlen(cases[i]);
        char *text = bare(cases[i], len);
        const mig_dialect *ds[] = { &pg, &lite, &my };
        for (size_t k = 0; k < 3; k++) {
            size_t n = mig_sql_statement_end(ds[k], text, len, NULL);
            CU_ASSERT(n <= len);
            /* the cases above hold no ';' that ends the first statement in pg */
            if (ds[k] == &pg && n != len) {
                fprintf(stderr, "\n[pg] \"%s\": %zu of %zu\n", cases[i], n, len);
                CU_FAIL("unterminated");
            }
        }
        free(text);
    }
}

static void test_sqlsplit__never_reads_past_len(void)
{
    const char *sql = "SELECT 'a;b', \"c\"\"d\", `e`, E'\\'', $1, $$x;$$, $t$y$t$ /* /* z */ */ -- w\n"
                      "; # h\n; CREATE TRIGGER t BEGIN SELECT CASE 1 END; END; SELECT 1--1;";
    size_t len = strlen(sql);
    const mig_dialect *ds[] = { &pg, &lite, &my };
    for (size_t k = 0; k < 3; k++) {
        for (size_t cut = 0; cut <= len; cut++) {
            char *text = bare(sql, cut);
            size_t off = 0;
            while (off < cut) {
                int empty;
                size_t n = mig_sql_statement_end(ds[k], text + off, cut - off, &empty);
                CU_ASSERT_FATAL(n > 0 && n <= cut - off);
                off += n;
            }
            (void)mig_sql_is_blank(ds[k], text, cut);
            free(text);
        }
    }
}

static void test_sqlsplit__marks_comment_only_statements_empty(void)
{
    const char *sql = "-- header\n/* note; */ ; SELECT 1; -- trailing\n";
    size_t len = strlen(sql);
    int empty = -1;
    size_t n = mig_sql_statement_end(&pg, sql, len, &empty);
    CU_ASSERT_EQUAL(n, strlen("-- header\n/* note; */ ;"));
    CU_ASSERT_EQUAL(empty, 1);
    size_t m = mig_sql_statement_end(&pg, sql + n, len - n, &empty);
    CU_ASSERT_EQUAL(m, strlen(" SELECT 1;"));
    CU_ASSERT_EQUAL(empty, 0);
    mig_sql_statement_end(&pg, sql + n + m, len - n - m, &empty);
    CU_ASSERT_EQUAL(empty, 1);
}

static void test_sqlsplit__tells_blank_text(void)
{
    struct {
        const mig_dialect *d;
        const char *sql;
        int blank;
    } cases[] = {
        { &pg, "", 1 },
        { &pg, "  \n\t ", 1 },
        { &pg, "-- only\n-- comments", 1 },
        { &pg, "/* a /* nested */ */", 1 },
        { &lite, "/* a */ ; ;; -- x\n", 1 },
        { &my, "# mysql comment\n", 1 },
        { &pg, "# not a comment in pg", 0 },
        { &lite, "-- c\nSELECT 1", 0 },
        { &pg, "/* unterminated", 1 },
        { &pg, "'unterminated", 0 },
        { &my, "-- c\n;--x", 0 }, /* MySQL: "--" then no blank is no comment */
        { &lite, "; /* c */ ;\n--x", 1 },
        { &lite, ";;;x", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = strlen(cases[i].sql);
        char *text = bare(cases[i].sql, len);
        int got = mig_sql_is_blank(cases[i].d, text, len);
        if (got != cases[i].blank) {
            fprintf(stderr, "\nis_blank(\"%s\") = %d\n", cases[i].sql, got);
            CU_FAIL("blank");
        }
        free(text);
    }
}

/* Pathological texts of a few MB must split in linear time. */
static void test_sqlsplit__stays_linear_on_large_input(void)
{
    size_t big = 4u << 20;
    char *text = malloc(big);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    clock_t t0 = clock();

    /* a dollar body full of dollars that never closes */
    memcpy(text, "$abcdefgh$", 10);
    for (size_t i = 10; i < big; i++)
        text[i] = (i % 2) ? '$' : 'a';
    CU_ASSERT_EQUAL(mig_sql_statement_end(&pg, text, big, NULL), big);

    /* comments opened a million times over */
    for (size_t i = 0; i + 1 < big; i += 2) {
        text[i] = '/';
        text[i + 1] = '*';
    }
    CU_ASSERT_EQUAL(mig_sql_statement_end(&pg, text, big, NULL), big);

    /* many short statements */
    for (size_t i = 0; i < big; i++)
        text[i] = "x';';"[i % 5];
    size_t off = 0, count = 0;
    while (off < big) {
        off += mig_sql_statement_end(&lite, text + off, big - off, NULL);
        count++;
    }
    CU_ASSERT(count > big / 5 - 2);

    /* one long compound statement of many BEGIN ... END blocks */
    const char *head = "CREATE TRIGGER t BEGIN ";
    memcpy(text, head, strlen(head));
    for (size_t i = strlen(head); i < big; i++)
        text[i] = "BEGIN END; "[(i - strlen(head)) % 11];
    CU_ASSERT(mig_sql_statement_end(&lite, text, big, NULL) <= big);

    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    if (secs > 5.0) {
        fprintf(stderr, "\nsplitting took %.2f s\n", secs);
        CU_FAIL("too slow");
    }
    free(text);
}

static CU_TestInfo tests[] = {
    { "splits at semicolons", test_sqlsplit__splits_at_semicolons },
    { "runs the last statement to the end", test_sqlsplit__runs_the_last_statement_to_the_end },
    { "returns zero for empty text", test_sqlsplit__returns_zero_for_empty_text },
    { "ignores semicolons in strings", test_sqlsplit__ignores_semicolons_in_strings },
    { "ignores semicolons in quoted identifiers", test_sqlsplit__ignores_semicolons_in_quoted_identifiers },
    { "honours backslash escapes only where the dialect has them",
      test_sqlsplit__honours_backslash_escapes_only_where_the_dialect_has_them },
    { "takes backslash escapes in postgres E-strings",
      test_sqlsplit__takes_backslash_escapes_in_postgres_e_strings },
    { "ignores semicolons in line comments", test_sqlsplit__ignores_semicolons_in_line_comments },
    { "reads # comments in mysql only", test_sqlsplit__reads_hash_comments_in_mysql_only },
    { "needs a blank after -- in mysql", test_sqlsplit__needs_a_blank_after_double_dash_in_mysql },
    { "ignores semicolons in block comments", test_sqlsplit__ignores_semicolons_in_block_comments },
    { "nests block comments in postgres", test_sqlsplit__nests_block_comments_in_postgres },
    { "keeps block comments flat elsewhere", test_sqlsplit__keeps_block_comments_flat_elsewhere },
    { "skips dollar-quoted bodies", test_sqlsplit__skips_dollar_quoted_bodies },
    { "matches the tag of a dollar quote", test_sqlsplit__matches_the_tag_of_a_dollar_quote },
    { "knows parameters and identifiers from dollar quotes",
      test_sqlsplit__knows_parameters_and_identifiers_from_dollar_quotes },
    { "keeps a trigger body in one statement", test_sqlsplit__keeps_a_trigger_body_in_one_statement },
    { "counts CASE expressions inside a trigger", test_sqlsplit__counts_case_expressions_inside_a_trigger },
    { "reads mysql compound triggers", test_sqlsplit__reads_mysql_compound_triggers },
    { "keeps a BEGIN ATOMIC function body together",
      test_sqlsplit__keeps_a_begin_atomic_function_body_together },
    { "ends transaction statements at their semicolon",
      test_sqlsplit__ends_transaction_statements_at_their_semicolon },
    { "runs unterminated input to the end", test_sqlsplit__runs_unterminated_input_to_the_end },
    { "never reads past len", test_sqlsplit__never_reads_past_len },
    { "marks comment-only statements empty", test_sqlsplit__marks_comment_only_statements_empty },
    { "tells blank text", test_sqlsplit__tells_blank_text },
    { "stays linear on large input", test_sqlsplit__stays_linear_on_large_input },
    CU_TEST_INFO_NULL,
};

MIG_UNIT_MAIN("sqlsplit", tests)
