/*
 * plugin.c's boundary: a driver's MIG_DRV_* codes become MIG_E* codes, or an
 * out-parameter, and never come out of a wrapper as they are. The driver
 * here is a table written in the test: each slot returns what the driver
 * ABI allows, which no database could be made to return on demand.
 */
#include <stdio.h>
#include <string.h>

#include "ctx.h"
#include "drv.h"
#include "unit.h"

static int answer; /* what the test's slots return */

static int t_lock_try(mig_conn *conn, const char *key, char *holder, size_t holder_len, mig_drv_error *err)
{
    (void)conn;
    (void)key;
    if (answer == MIG_DRV_BUSY)
        snprintf(holder, holder_len, "pid 42");
    if (answer == MIG_DRV_ERROR)
        snprintf(err->message, sizeof err->message, "lock function failed");
    return answer;
}

static int t_render_ddl(const mig_ddl_change *change, mig_ddl_emit_fn emit, void *payload)
{
    (void)change;
    if (answer == 7)
        return emit(payload, "ALTER TABLE t ADD x int");
    return answer;
}

static int t_lint(const mig_lint_stmt *stmt, mig_lint_state *st, const mig_lint_sink *sink, void *payload)
{
    (void)stmt;
    (void)st;
    (void)sink;
    (void)payload;
    return answer;
}

static int t_limits_sql(const mig_limits *lim, int restore, mig_ddl_emit_fn emit, void *payload)
{
    (void)lim;
    (void)restore;
    if (answer == 7)
        return emit(payload, "SET lock_timeout = 5");
    return answer;
}

static int emit_fails(void *payload, const char *sql)
{
    (void)payload;
    (void)sql;
    return 7; /* a sink's own non-zero result */
}

static int emit_migerr(void *payload, const char *sql)
{
    (void)payload;
    (void)sql;
    return MIG_ELOCK;
}

static mig_driver table;
static mig_plugin plugin;
static mig_db db;

static void setup(int with_slots)
{
    memset(&table, 0, sizeof table);
    table.magic = MIG_DRIVER_MAGIC;
    table.abi = MIG_DRIVER_ABI;
    table.size = sizeof table;
    table.name = "test";
    if (with_slots) {
        table.lock_try = t_lock_try;
        table.render_ddl = t_render_ddl;
        table.lint = t_lint;
        table.limits_sql = t_limits_sql;
    }
    plugin.driver = &table;
    memset(&db, 0, sizeof db);
    db.plugin = &plugin;
}

static mig_ctx *new_ctx(void)
{
    mig_ctx *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(mig_ctx_new_empty(&ctx), 0);
    return ctx;
}

static void test_drv__busy_lock_comes_back_through_an_out_parameter(void)
{
    mig_ctx *ctx = new_ctx();
    setup(1);
    char holder[32];
    int busy = -1;
    answer = MIG_DRV_BUSY;
    CU_ASSERT_EQUAL(mig_db_lock_try(&db, ctx, "k", &busy, holder, sizeof holder), 0);
    CU_ASSERT_EQUAL(busy, 1);
    CU_ASSERT_STRING_EQUAL(holder, "pid 42");
    answer = MIG_DRV_OK;
    CU_ASSERT_EQUAL(mig_db_lock_try(&db, ctx, "k", &busy, holder, sizeof holder), 0);
    CU_ASSERT_EQUAL(busy, 0);
    answer = MIG_DRV_ERROR;
    MIG_FAILS(ctx, mig_db_lock_try(&db, ctx, "k", &busy, holder, sizeof holder), MIG_EFAIL,
              "lock function failed");
    CU_ASSERT_EQUAL(busy, 0);
    setup(0);
    MIG_FAILS(ctx, mig_db_lock_try(&db, ctx, "k", &busy, holder, sizeof holder), MIG_EFAIL,
              "no session lock");
    mig_ctx_free(ctx);
}

static void test_drv__render_ddl_says_not_supported_apart(void)
{
    mig_ddl_change c;
    memset(&c, 0, sizeof c);
    int supported = -1;
    setup(1);
    answer = MIG_DRV_NOTSUP;
    CU_ASSERT_EQUAL(mig_plugin_render_ddl(&plugin, &c, emit_fails, NULL, &supported), 0);
    CU_ASSERT_EQUAL(supported, 0);
    answer = MIG_DRV_OK;
    CU_ASSERT_EQUAL(mig_plugin_render_ddl(&plugin, &c, emit_fails, NULL, &supported), 0);
    CU_ASSERT_EQUAL(supported, 1);
    answer = 7; /* the emit's result comes back as it is */
    CU_ASSERT_EQUAL(mig_plugin_render_ddl(&plugin, &c, emit_fails, NULL, &supported), 7);
    CU_ASSERT_EQUAL(supported, 1);
    answer = MIG_DRV_ERROR;
    CU_ASSERT_EQUAL(mig_plugin_render_ddl(&plugin, &c, emit_fails, NULL, &supported), MIG_EFAIL);
    answer = MIG_DRV_CONN; /* -2 would read as MIG_ENOMEM */
    CU_ASSERT_EQUAL(mig_plugin_render_ddl(&plugin, &c, emit_fails, NULL, &supported), MIG_EFAIL);
    setup(0);
    supported = -1;
    CU_ASSERT_EQUAL(mig_plugin_render_ddl(&plugin, &c, emit_fails, NULL, &supported), 0);
    CU_ASSERT_EQUAL(supported, 0);
}

static void test_drv__lint_and_limits_return_only_mig_codes(void)
{
    mig_lint_stmt stmt;
    memset(&stmt, 0, sizeof stmt);
    mig_limits lim;
    memset(&lim, 0, sizeof lim);
    setup(1);
    answer = MIG_DRV_NOTSUP; /* -4 would read as MIG_EUSAGE */
    CU_ASSERT_EQUAL(mig_plugin_lint(&plugin, &stmt, NULL, NULL, NULL), 0);
    CU_ASSERT_EQUAL(mig_plugin_limits_sql(&plugin, &lim, 0, emit_fails, NULL), MIG_EFAIL);
    answer = MIG_DRV_BUSY; /* -3 would read as MIG_EPARTIAL */
    CU_ASSERT_EQUAL(mig_plugin_lint(&plugin, &stmt, NULL, NULL, NULL), MIG_EFAIL);
    CU_ASSERT_EQUAL(mig_plugin_limits_sql(&plugin, &lim, 0, emit_fails, NULL), MIG_EFAIL);
    answer = 3; /* a sink's own result */
    CU_ASSERT_EQUAL(mig_plugin_lint(&plugin, &stmt, NULL, NULL, NULL), 3);
    answer = 7;
    CU_ASSERT_EQUAL(mig_plugin_limits_sql(&plugin, &lim, 0, emit_migerr, NULL), MIG_ELOCK);
    setup(0);
    CU_ASSERT_EQUAL(mig_plugin_lint(&plugin, &stmt, NULL, NULL, NULL), 0);
    CU_ASSERT_EQUAL(mig_plugin_limits_sql(&plugin, &lim, 0, emit_fails, NULL), 0);
}

static void test_drv__schema_sql_of_an_unknown_driver_is_mig_edriver(void)
{
    setup(0);
    mig_buf out = MIG_BUF_INIT;
    CU_ASSERT_EQUAL(mig_plugin_schema_sql(&out, &plugin, "acme", NULL, 1), MIG_EDRIVER);
    CU_ASSERT_EQUAL(out.len, 0);
    mig_buf_release(&out);
}

static CU_TestInfo tests[] = {
    { "a busy lock comes back through an out-parameter",
      test_drv__busy_lock_comes_back_through_an_out_parameter },
    { "render_ddl says not supported apart", test_drv__render_ddl_says_not_supported_apart },
    { "lint and limits return only MIG_E codes", test_drv__lint_and_limits_return_only_mig_codes },
    { "schema SQL of an unknown driver is MIG_EDRIVER",
      test_drv__schema_sql_of_an_unknown_driver_is_mig_edriver },
    CU_TEST_INFO_NULL,
};

MIG_UNIT_MAIN("plugin", tests)
