/*
 * The runner (mig_upgrade, mig_downgrade, mig_stamp) on a real SQLite
 * file, mostly where it must refuse or fail: each test checks the return
 * code, the words of the error, and that the database holds exactly what
 * it held before (read back with SQLite itself).
 */
#include "project.h"

/* MIG_RUN_SQL output, kept */
static void collect_sql(void *payload, const char *sql)
{
    mig_buf_puts(payload, sql);
}

static const char *const NO_TABLE = "SELECT count(*) FROM sqlite_schema WHERE name = 't'";

/* a <- b, both reversible: the project most tests start from */
static void two_revisions(proj *p)
{
    proj_new(p, "");
    proj_rev(p, "aaaa00000001", NULL, "CREATE TABLE t (x INTEGER);", "DROP TABLE t;");
    proj_rev(p, "bbbb00000002", "aaaa00000001", "INSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);",
             "DELETE FROM t;");
}

static void test_runner__upgrade_applies_and_records_each_step(void)
{
    proj p;
    two_revisions(&p);
    mig_ctx *ctx = proj_ctx(&p, NULL);
    MIG_PASS(ctx, mig_upgrade(ctx, "head", 0));
    CU_ASSERT_EQUAL(proj_int(&p, "SELECT count(*) FROM t"), 2);
    PROJ_TEXT_EQ(&p, "SELECT version_num FROM mig_version", "bbbb00000002");
    PROJ_TEXT_EQ(&p,
                 "SELECT revision || ':' || direction || ':' || state || ':' || statements_applied "
                 "FROM mig_history ORDER BY rowid",
                 "aaaa00000001:upgrade:done:1,bbbb00000002:upgrade:done:2");
    mig_run_result res;
    mig_last_run(ctx, &res);
    CU_ASSERT_EQUAL(res.known, 1);
    CU_ASSERT_EQUAL(res.applied, 2);
    CU_ASSERT_STRING_EQUAL(res.summary, "");
    mig_ctx_free(ctx);
    proj_free(&p);
}

/* The default is one transaction for the run: a failure in the second step undoes the first. */
static void test_runner__failing_statement_rolls_back_the_whole_run(void)
{
    proj p;
    proj_new(&p, "");
    proj_rev(&p, "aaaa00000001", NULL, "CREATE TABLE t (x INTEGER);", "DROP TABLE t;");
    proj_rev(&p, "bbbb00000002", "aaaa00000001",
             "INSERT INTO t VALUES (1);\nINSERT INTO nowhere VALUES (2);", "DELETE FROM t;");
    mig_ctx *ctx = proj_ctx(&p, NULL);
    MIG_FAILS(ctx, mig_upgrade(ctx, "head", 0), MIG_EFAIL, "revision bbbb00000002 failed at ");
    /* the place is the failing statement's line in the file: header (4 lines), upgrade marker, line 2 */
    MIG_ERROR_HAS(ctx, message, "bbbb00000002_rev.sql:7: ");
    MIG_ERROR_HAS(ctx, message, "no such table: nowhere");
    /* the whole error survives the rollback, not only its message */
    MIG_ERROR_HAS(ctx, detail, "statement: INSERT INTO nowhere VALUES (2);");
    MIG_ERROR_HAS(ctx, file, "bbbb00000002_rev.sql");
    CU_ASSERT_EQUAL(mig_last_error(ctx)->line, 7);
    CU_ASSERT_EQUAL(proj_int(&p, NO_TABLE), 0);
    CU_ASSERT_EQUAL(proj_int(&p, "SELECT count(*) FROM mig_version"), -1);
    mig_run_result res;
    mig_last_run(ctx, &res);
    CU_ASSERT_EQUAL(res.applied, 0);
    CU_ASSERT_EQUAL(res.rolled_back, 1);
    CU_ASSERT_EQUAL(res.ncurrent, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(res.summary, "rolled back"));
    mig_ctx_free(ctx);
    proj_free(&p);
}

/* transaction_per_migration: what committed stays, the failing step leaves nothing. */
static void test_runner__per_migration_keeps_the_steps_before_the_failure(void)
{
    proj p;
    proj_new(&p, "transaction_per_migration = true");
    proj_rev(&p, "aaaa00000001", NULL, "CREATE TABLE t (x INTEGER);", "DROP TABLE t;");
    proj_rev(&p, "bbbb00000002", "aaaa00000001", "INSERT INTO t VALUES (1);\nSELECT * FROM nowhere;",
             NULL);
    mig_ctx *ctx = proj_ctx(&p, NULL);
    MIG_FAILS(ctx, mig_upgrade(ctx, "head", 0), MIG_EFAIL, "revision bbbb00000002 failed at ");
    PROJ_TEXT_EQ(&p, "SELECT version_num FROM mig_version", "aaaa00000001");
    CU_ASSERT_EQUAL(proj_int(&p, "SELECT count(*) FROM t"), 0);
    PROJ_TEXT_EQ(&p, "SELECT revision FROM mig_history", "aaaa00000001");
    mig_run_result res;
    mig_last_run(ctx, &res);
    CU_ASSERT_EQUAL(res.applied, 1);
    CU_ASSERT_EQUAL(res.ncurrent, 1);
    if (res.ncurrent == 1)
        CU_ASSERT_STRING_EQUAL(res.current[0], "aaaa00000001");
    mig_ctx_free(ctx);
    proj_free(&p);
}

static void test_runner__refuses_bad_targets_and_flags_before_connecting(void)
{
    proj p;
    two_revisions(&p);
    mig_ctx *ctx = proj_ctx(&p, NULL);
    MIG_FAILS(ctx, mig_upgrade(ctx, NULL, 0), MIG_EUSAGE, "upgrade needs a TARGET");
    MIG_FAILS(ctx, mig_upgrade(ctx, "", 0), MIG_EUSAGE, "upgrade needs a TARGET");
    MIG_FAILS(ctx, mig_downgrade(ctx, NULL, 0), MIG_EUSAGE, "downgrade needs a TARGET");
    MIG_FAILS(ctx, mig_downgrade(ctx, "base", MIG_RUN_RESUME), MIG_EUSAGE,
              "--resume applies to upgrade only");
    MIG_FAILS(ctx, mig_downgrade(ctx, "base", MIG_RUN_EXPAND), MIG_EUSAGE,
              "--expand applies to upgrade only");
    MIG_FAILS(ctx, mig_upgrade(ctx, "aaaa00000001:head", 0), MIG_EUSAGE,
              "a range 'aaaa00000001:head' needs --sql");
    MIG_FAILS(ctx, mig_stamp(ctx, NULL, 0, 0), MIG_EUSAGE, "stamp needs at least one TARGET");
    MIG_FAILS(ctx, mig_upgrade(ctx, "cafe", 0), MIG_ETARGET, "cafe");
    MIG_FAILS(ctx, mig_downgrade(ctx, "base", MIG_RUN_SQL), MIG_EUSAGE,
              "downgrade --sql needs a range FROM:TO");
    /* none of them wrote to the database (an unknown target opens it: the file may exist, empty) */
    CU_ASSERT(proj_int(&p, "SELECT count(*) FROM sqlite_schema") <= 0);
    mig_ctx_free(ctx);
    proj_free(&p);
}

/* Checked for every step before the first one runs: nothing is undone because nothing ran. */
static void test_runner__refuses_to_downgrade_through_an_irreversible_revision(void)
{
    proj p;
    proj_new(&p, "");
    proj_rev(&p, "aaaa00000001", NULL, "CREATE TABLE t (x INTEGER);", "DROP TABLE t;");
    proj_rev(&p, "bbbb00000002", "aaaa00000001", "INSERT INTO t VALUES (1);", NULL);
    proj_rev(&p, "cccc00000003", "bbbb00000002", "INSERT INTO t VALUES (2);",
             "DELETE FROM t WHERE x = 2;");
    mig_ctx *ctx = proj_ctx(&p, NULL);
    MIG_PASS(ctx, mig_upgrade(ctx, "head", 0));
    MIG_FAILS(ctx, mig_downgrade(ctx, "base", 0), MIG_EREVFILE,
              "revision bbbb00000002 has no downgrade section: cannot downgrade through it");
    MIG_ERROR_HAS(ctx, file, "bbbb00000002_rev.sql");
    CU_ASSERT_EQUAL(proj_int(&p, "SELECT count(*) FROM t"), 2);
    PROJ_TEXT_EQ(&p, "SELECT version_num FROM mig_version", "cccc00000003");
    CU_ASSERT_EQUAL(proj_int(&p, "SELECT count(*) FROM mig_history"), 3);
    /* the step above it alone is fine */
    MIG_PASS(ctx, mig_downgrade(ctx, "-1", 0));
    PROJ_TEXT_EQ(&p, "SELECT version_num FROM mig_version", "bbbb00000002");
    mig_ctx_free(ctx);
    proj_free(&p);
}

static void test_runner__offline_refuses_a_lua_revision_and_prints_nothing(void)
{
    proj p;
    two_revisions(&p);
    proj_lua_rev(&p, "cccc00000003", "bbbb00000002", "return { upgrade = function(db, ctx) end }\n");
    mig_ctx *ctx = proj_ctx(&p, NULL);
    mig_buf sql = MIG_BUF_INIT;
    mig_set_sql_callback(ctx, collect_sql, &sql);
    MIG_FAILS(ctx, mig_upgrade(ctx, "head", MIG_RUN_SQL), MIG_EREVFILE,
              "revision cccc00000003 is a Lua revision: offline --sql cannot render it");
    CU_ASSERT_EQUAL(sql.len, 0);
    /* the range before it renders, with the version-table statements, and connects to nothing */
    MIG_PASS(ctx, mig_upgrade(ctx, "bbbb00000002", MIG_RUN_SQL));
    CU_ASSERT_PTR_NOT_NULL(strstr(mig_buf_cstr(&sql), "CREATE TABLE t (x INTEGER);"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mig_buf_cstr(&sql), "'bbbb00000002'"));
    CU_ASSERT_EQUAL(access(p.db, F_OK), -1);
    mig_buf_release(&sql);
    mig_ctx_free(ctx);
    proj_free(&p);
}

/*
 * A revision outside a transaction that fails part-way is recorded as
 * failed with what it applied; later runs refuse until --resume (or stamp).
 */
static void test_runner__part_way_failure_is_recorded_refused_and_resumed(void)
{
    proj p;
    proj_new(&p, "");
    proj_rev(&p, "aaaa00000001", NULL, "CREATE TABLE t (x INTEGER);", "DROP TABLE t;");
    proj_rev_h(&p, "bbbb00000002", "aaaa00000001", "-- mig:transaction false",
               "INSERT INTO t VALUES (1);\nINSERT INTO u VALUES (2);\nINSERT INTO t VALUES (3);", NULL);
    mig_ctx *ctx = proj_ctx(&p, NULL);
    MIG_FAILS(ctx, mig_upgrade(ctx, "head", 0), MIG_EFAIL, "revision bbbb00000002 failed at ");
    MIG_ERROR_HAS(ctx, message, "no such table: u");
    PROJ_TEXT_EQ(&p, "SELECT version_num FROM mig_version", "aaaa00000001");
    PROJ_TEXT_EQ(&p,
                 "SELECT state || ':' || statements_applied FROM mig_history WHERE revision = 'bbbb00000002'",
                 "failed:1");
    CU_ASSERT_EQUAL(proj_int(&p, "SELECT count(*) FROM t"), 1);

    MIG_FAILS(ctx, mig_upgrade(ctx, "head", 0), MIG_EPARTIAL, "revision bbbb00000002 (");
    MIG_ERROR_HAS(ctx, message, "failed part-way: 1 statement(s) of its upgrade were applied");
    MIG_ERROR_HAS(ctx, hint, "mig upgrade --resume` continues at statement 2");
    MIG_FAILS(ctx, mig_downgrade(ctx, "base", 0), MIG_EPARTIAL, "failed part-way");
    CU_ASSERT_EQUAL(proj_int(&p, "SELECT count(*) FROM t"), 1);

    /* the cause fixed (the file changed only after the applied statement), resume runs the rest once */
    proj_rev_h(&p, "bbbb00000002", "aaaa00000001", "-- mig:transaction false",
               "INSERT INTO t VALUES (1);\nCREATE TABLE u (y INTEGER);\nINSERT INTO t VALUES (3);", NULL);
    MIG_PASS(ctx, mig_upgrade(ctx, "head", MIG_RUN_RESUME));
    PROJ_TEXT_EQ(&p, "SELECT x FROM t ORDER BY x", "1,3");
    PROJ_TEXT_EQ(&p, "SELECT version_num FROM mig_version", "bbbb00000002");
    mig_ctx_free(ctx);
    proj_free(&p);
}

/* A Lua revision's error names the revision, its file and the line where it was raised. */
static void test_runner__lua_error_fails_the_run_at_its_line(void)
{
    proj p;
    two_revisions(&p);
    proj_lua_rev(&p, "cccc00000003", "bbbb00000002",
                 "return {\n"
                 "  upgrade = function(db, ctx)\n"
                 "    db:exec('INSERT INTO t VALUES (3)')\n"
                 "    error('no way')\n"
                 "  end,\n"
                 "}\n");
    mig_ctx *ctx = proj_ctx(&p, NULL);
    MIG_FAILS(ctx, mig_upgrade(ctx, "head", 0), MIG_EFAIL, "revision cccc00000003 failed at ");
    MIG_ERROR_HAS(ctx, message, "cccc00000003_rev.lua:7: no way");
    CU_ASSERT_EQUAL(proj_int(&p, NO_TABLE), 0);
    CU_ASSERT_EQUAL(proj_int(&p, "SELECT count(*) FROM mig_version"), -1);
    mig_ctx_free(ctx);
    proj_free(&p);
}

/* A hook that raises fails the run like a failing statement; on_error hears of it. */
static void test_runner__a_hook_error_rolls_back_and_calls_on_error(void)
{
    proj p;
    proj_new(&p, "[hooks]\nscripts = hooks/audit.lua\n");
    proj_rev(&p, "aaaa00000001", NULL, "CREATE TABLE t (x INTEGER);", "DROP TABLE t;");
    proj_rev(&p, "bbbb00000002", "aaaa00000001", "INSERT INTO t VALUES (1);", "DELETE FROM t;");
    proj_write(&p, "hooks/audit.lua",
               "return {\n"
               "  after_each = function(db, ctx)\n"
               "    if ctx.revision == 'bbbb00000002' then error('audit refused') end\n"
               "  end,\n"
               "  on_error = function(ctx, err) ctx.log('on_error: ' .. err) end,\n"
               "}\n");
    mig_ctx *ctx = proj_ctx(&p, NULL);
    MIG_FAILS(ctx, mig_upgrade(ctx, "head", 0), MIG_EFAIL,
              "hook after_each at revision bbbb00000002 failed at ");
    MIG_ERROR_HAS(ctx, message, "audit.lua:3: audit refused");
    PROJ_LOGGED(&p, "on_error: hook after_each at revision bbbb00000002 failed");
    CU_ASSERT_EQUAL(proj_int(&p, NO_TABLE), 0);
    CU_ASSERT_EQUAL(proj_int(&p, "SELECT count(*) FROM mig_version"), -1);
    mig_ctx_free(ctx);
    proj_free(&p);
}

/* A writer holding SQLite's write lock: the run waits --lock-timeout, then gives up untouched. */
static void test_runner__busy_database_is_a_lock_error(void)
{
    proj p;
    two_revisions(&p);
    sqlite3 *other = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(p.db, &other), SQLITE_OK);
    CU_ASSERT_EQUAL_FATAL(sqlite3_exec(other, "CREATE TABLE keep (k); BEGIN IMMEDIATE;", NULL, NULL, NULL),
                          SQLITE_OK);
    mig_options o = MIG_OPTIONS_INIT;
    o.lock_timeout = 0.2;
    mig_ctx *ctx = proj_ctx(&p, &o);
    MIG_FAILS(ctx, mig_upgrade(ctx, "head", 0), MIG_ELOCK,
              "could not take the database write lock within 0.2 s");
    MIG_ERROR_HAS(ctx, hint, "--lock-timeout");
    CU_ASSERT_EQUAL(mig_exit_status(MIG_ELOCK), 4);
    sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(other);
    CU_ASSERT_EQUAL(proj_int(&p, NO_TABLE), 0);
    CU_ASSERT_EQUAL(proj_int(&p, "SELECT count(*) FROM mig_version"), -1);
    /* once it is free, the same context goes on */
    MIG_PASS(ctx, mig_upgrade(ctx, "head", 0));
    CU_ASSERT_EQUAL(proj_int(&p, "SELECT count(*) FROM t"), 2);
    mig_ctx_free(ctx);
    proj_free(&p);
}

static void test_runner__stamp_writes_heads_without_running(void)
{
    proj p;
    two_revisions(&p);
    mig_ctx *ctx = proj_ctx(&p, NULL);
    const char *targets[] = { "bbbb00000002" };
    MIG_PASS(ctx, mig_stamp(ctx, targets, 1, 0));
    PROJ_TEXT_EQ(&p, "SELECT version_num FROM mig_version", "bbbb00000002");
    CU_ASSERT_EQUAL(proj_int(&p, NO_TABLE), 0);
    const char *bad[] = { "bbbb00000002", "nosuch" };
    MIG_FAILS(ctx, mig_stamp(ctx, bad, 2, 0), MIG_ETARGET, "nosuch");
    PROJ_TEXT_EQ(&p, "SELECT version_num FROM mig_version", "bbbb00000002");
    mig_ctx_free(ctx);
    proj_free(&p);
}

static CU_TestInfo tests[] = {
    { "upgrade applies and records each step", test_runner__upgrade_applies_and_records_each_step },
    { "a failing statement rolls back the whole run",
      test_runner__failing_statement_rolls_back_the_whole_run },
    { "per migration keeps the steps before a failure",
      test_runner__per_migration_keeps_the_steps_before_the_failure },
    { "bad targets and flags are refused before connecting",
      test_runner__refuses_bad_targets_and_flags_before_connecting },
    { "no downgrading through an irreversible revision",
      test_runner__refuses_to_downgrade_through_an_irreversible_revision },
    { "offline refuses a Lua revision", test_runner__offline_refuses_a_lua_revision_and_prints_nothing },
    { "a part-way failure is recorded, refused, resumed",
      test_runner__part_way_failure_is_recorded_refused_and_resumed },
    { "a Lua error fails the run at its line", test_runner__lua_error_fails_the_run_at_its_line },
    { "a hook error rolls back and calls on_error",
      test_runner__a_hook_error_rolls_back_and_calls_on_error },
    { "a busy database is a lock error", test_runner__busy_database_is_a_lock_error },
    { "stamp writes heads without running", test_runner__stamp_writes_heads_without_running },
    CU_TEST_INFO_NULL,
};

MIG_UNIT_MAIN("runner", tests)
