/*
 * autogen.c over real schemas: both sides are loaded through the SQLite
 * driver's scratch database, diffed, ordered and rendered. The round trip
 * on every driver is tests/autogen/roundtrip.c; these pin the rules.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "autogen.h"
#include "schema.h"
#include "unit.h"

static mig_ctx *ctx;
static const mig_plugin *plugin;
static mig_db *db;

static void open_sqlite(void)
{
    mig_options o = MIG_OPTIONS_INIT;
    o.url = "sqlite://";
    o.driver = "sqlite";
    MIG_PASS(ctx, mig_ctx_new(&o, &ctx));
    MIG_PASS(ctx, mig_ctx_plugin(ctx, &plugin));
    MIG_PASS(ctx, mig_db_connect(&db, ctx, plugin, "sqlite://", NULL));
}

static void close_sqlite(void)
{
    mig_db_close(db);
    mig_ctx_free(ctx);
    db = NULL;
    ctx = NULL;
}

static mig_schema *load(const char *ddl)
{
    mig_schema *s = NULL;
    MIG_PASS(ctx, mig_schema_load_ddl(&s, ctx, db, ddl, strlen(ddl), NULL));
    return s;
}

/* The upgrade from a to b as SQL (caller frees) and its number of changes. */
static char *upgrade(const char *a, const char *b, size_t *n)
{
    mig_schema *sa = load(a), *sb = load(b);
    mig_changes ch = MIG_CHANGES_INIT;
    mig_buf out = MIG_BUF_INIT;
    MIG_PASS(ctx, mig_autogen_diff(&ch, ctx, sa, sb));
    MIG_PASS(ctx, mig_autogen_render(&out, ctx, plugin, &ch, sa, sb));
    *n = ch.n;
    mig_changes_release(&ch);
    mig_schema_free(sa);
    mig_schema_free(sb);
    return mig_buf_detach(&out);
}

/* Where needle starts in hay, or -1. */
static long at(const char *hay, const char *needle)
{
    const char *p = strstr(hay, needle);
    return p ? (long)(p - hay) : -1;
}

static const char users_posts[] =
    "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(20) NOT NULL, UNIQUE (email));"
    "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id) ON DELETE CASCADE);"
    "CREATE INDEX posts_user ON posts (user_id) WHERE user_id IS NOT NULL;";

static void test_autogen__finds_nothing_between_equal_schemas(void)
{
    open_sqlite();
    size_t n = 99;
    char *sql = upgrade(users_posts, users_posts, &n);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_STRING_EQUAL(sql ? sql : "", "");
    free(sql);
    close_sqlite();
}

static void test_autogen__creates_referenced_tables_first(void)
{
    open_sqlite();
    size_t n;
    char *sql = upgrade("", users_posts, &n);
    CU_ASSERT_EQUAL(n, 3); /* two tables and the index */
    long users = at(sql, "CREATE TABLE \"users\""), posts = at(sql, "CREATE TABLE \"posts\"");
    long index = at(sql, "CREATE INDEX \"posts_user\"");
    CU_ASSERT(users >= 0 && posts > users && index > posts);
    CU_ASSERT(at(sql, "WHERE user_id IS NOT NULL") > index);
    free(sql);
    close_sqlite();
}

static void test_autogen__drops_referencing_tables_first_with_a_warning(void)
{
    open_sqlite();
    size_t n;
    char *sql = upgrade(users_posts, "", &n);
    CU_ASSERT_EQUAL(n, 2);
    long posts = at(sql, "DROP TABLE \"posts\""), users = at(sql, "DROP TABLE \"users\"");
    CU_ASSERT(posts >= 0 && users > posts);
    CU_ASSERT(at(sql, "-- may lose data: drops table posts") >= 0);
    free(sql);
    close_sqlite();
}

static void test_autogen__warns_of_narrowing_not_widening(void)
{
    open_sqlite();
    size_t n;
    char *wider = upgrade("CREATE TABLE t (a VARCHAR(20), b INTEGER);",
                          "CREATE TABLE t (a VARCHAR(40), b BIGINT);", &n);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(at(wider, "may lose data"), -1);
    char *narrower = upgrade("CREATE TABLE t (a VARCHAR(40), b TEXT);",
                             "CREATE TABLE t (a VARCHAR(20), b INTEGER);", &n);
    CU_ASSERT(at(narrower, "-- may lose data: changes t.a from VARCHAR(40) to VARCHAR(20)") >= 0);
    CU_ASSERT(at(narrower, "-- may lose data: changes t.b from TEXT to INTEGER") >= 0);
    free(wider);
    free(narrower);
    close_sqlite();
}

static void test_autogen__rebuilds_a_sqlite_table_once_for_all_its_changes(void)
{
    open_sqlite();
    size_t n;
    char *sql = upgrade("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c TEXT);"
                        "CREATE INDEX t_b ON t (b);",
                        "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT NOT NULL, d REAL, UNIQUE (b));"
                        "CREATE INDEX t_b ON t (b);",
                        &n);
    CU_ASSERT(n >= 3);
    const char *first = strstr(sql, "CREATE TABLE \"_mig_new_t\"");
    CU_ASSERT_PTR_NOT_NULL(first);
    CU_ASSERT_PTR_NULL(first ? strstr(first + 1, "CREATE TABLE \"_mig_new_t\"") : NULL);
    CU_ASSERT(at(sql, "INSERT INTO \"_mig_new_t\" (\"a\", \"b\") SELECT \"a\", \"b\" FROM \"t\"") >= 0);
    CU_ASSERT(at(sql, "-- may lose data: drops column t.c") >= 0);
    CU_ASSERT(at(sql, "CREATE INDEX \"t_b\"") > at(sql, "RENAME TO \"t\""));
    /* and it runs: the rows of the kept columns come along */
    static const char before[] = "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c TEXT);"
                                 "CREATE INDEX t_b ON t (b); INSERT INTO t VALUES (1, 'x', 'y');";
    MIG_PASS(ctx, mig_db_exec(db, ctx, before, strlen(before), NULL, NULL));
    MIG_PASS(ctx, mig_db_begin(db, ctx, 1));
    MIG_PASS(ctx, mig_db_exec(db, ctx, sql, strlen(sql), NULL, NULL));
    MIG_PASS(ctx, mig_db_commit(db, ctx));
    mig_schema *live = NULL,
               *want = load("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT NOT NULL, d REAL, UNIQUE (b));"
                            "CREATE INDEX t_b ON t (b);");
    MIG_PASS(ctx, mig_schema_load(&live, ctx, db, NULL));
    mig_changes left = MIG_CHANGES_INIT;
    MIG_PASS(ctx, mig_autogen_diff(&left, ctx, live, want));
    CU_ASSERT_EQUAL(left.n, 0);
    mig_changes_release(&left);
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    MIG_PASS(ctx, mig_db_query(&cur, db, ctx, "SELECT b FROM t WHERE a = 1", NULL, 0));
    MIG_PASS(ctx, mig_db_fetch(cur, db, ctx, &row));
    CU_ASSERT(row != NULL && row->values[0].type == MIG_VAL_TEXT && row->values[0].u.s.len == 1 &&
              row->values[0].u.s.ptr[0] == 'x');
    mig_db_cursor_close(db, cur);
    mig_schema_free(live);
    mig_schema_free(want);
    free(sql);
    close_sqlite();
}

static void test_autogen__describes_changes_in_one_line(void)
{
    open_sqlite();
    mig_schema *a = load("CREATE TABLE t (a INTEGER);");
    mig_schema *b = load("CREATE TABLE t (a INTEGER NOT NULL DEFAULT 0, e TEXT);");
    mig_changes ch = MIG_CHANGES_INIT;
    MIG_PASS(ctx, mig_autogen_diff(&ch, ctx, a, b));
    CU_ASSERT_EQUAL_FATAL(ch.n, 2);
    mig_buf d = MIG_BUF_INIT;
    mig_autogen_describe(&d, &ch.v[0].c);
    mig_buf_putc(&d, '|');
    mig_autogen_describe(&d, &ch.v[1].c);
    CU_ASSERT_STRING_EQUAL(mig_buf_cstr(&d),
                           "alter column t.a: INTEGER -> INTEGER not null default 0|add column t.e TEXT");
    mig_buf_release(&d);
    mig_changes_release(&ch);
    mig_schema_free(a);
    mig_schema_free(b);
    close_sqlite();
}

static void test_autogen__reports_the_target_error(void)
{
    open_sqlite();
    mig_schema *s = NULL;
    const char *bad = "CREATE TABLE t (a INTEGER); CREATE TABLE t (b INTEGER);";
    MIG_FAILS(ctx, mig_schema_load_ddl(&s, ctx, db, bad, strlen(bad), NULL), MIG_EFAIL, "already exists");
    CU_ASSERT_PTR_NULL(s);
    close_sqlite();
}

static CU_TestInfo tests[] = {
    { "finds nothing between equal schemas", test_autogen__finds_nothing_between_equal_schemas },
    { "creates referenced tables first", test_autogen__creates_referenced_tables_first },
    { "drops referencing tables first with a warning",
      test_autogen__drops_referencing_tables_first_with_a_warning },
    { "warns of narrowing, not widening", test_autogen__warns_of_narrowing_not_widening },
    { "rebuilds a sqlite table once for all its changes",
      test_autogen__rebuilds_a_sqlite_table_once_for_all_its_changes },
    { "describes changes in one line", test_autogen__describes_changes_in_one_line },
    { "reports the target error", test_autogen__reports_the_target_error },
    CU_TEST_INFO_NULL,
};

MIG_UNIT_MAIN("autogen", tests)
