/*
 * The Lua modules (lua_state.h, lua_db.h, lua_hooks.h) on a real SQLite
 * file: revisions that do not load, Lua errors and failing statements
 * raised from revisions and hooks, bad arguments to db:*, a db handle
 * used after its call, hooks that are missing or malformed, an on_error
 * hook that raises itself, and post-write hooks that fail. Each checks the
 * code, the words (with the file and line where Lua raised), and what the
 * database holds afterwards.
 */
#include "project.h"

#include "api.h"
#include "ctx.h"
#include "lua_hooks.h"
#include "lua_state.h"
#include "revfile.h"

typedef struct fixture {
    proj p;
    mig_ctx *ctx;
    mig_db *db;
    mig_lua *lua;
    mig_rev rev;
    mig_revbody body;
    int has_rev;
} fixture;

/* A project (mig.ini gets extra), a connection, and a Lua state on it. */
static void open_fixture(fixture *f, const char *extra)
{
    memset(f, 0, sizeof *f);
    proj_new(&f->p, extra);
    mig_options o = MIG_OPTIONS_INIT;
    static const char *const x[] = { "who=unit" };
    o.x = x;
    o.nx = 1;
    f->ctx = proj_ctx(&f->p, &o);
    const mig_plugin *plugin = NULL;
    MIG_PASS(f->ctx, mig_ctx_plugin(f->ctx, &plugin));
    MIG_PASS(f->ctx, mig_db_connect(&f->db, f->ctx, plugin, f->p.url, NULL));
    MIG_PASS(f->ctx, mig_db_exec(f->db, f->ctx, "CREATE TABLE t (x)", 18, NULL, NULL));
    MIG_PASS(f->ctx, mig_lua_new(&f->lua, f->ctx, f->db, "acme"));
}

static void close_fixture(fixture *f)
{
    mig_lua_free(f->lua);
    if (f->has_rev) {
        mig_revbody_release(&f->body);
        mig_rev_release(&f->rev);
    }
    mig_db_close(f->db);
    mig_ctx_free(f->ctx);
    proj_free(&f->p);
}

/* Write the Lua revision cccc00000003 with body, read it back and load it: load's result. */
static int load(fixture *f, const char *body, int *has_downgrade)
{
    if (f->has_rev) {
        mig_revbody_release(&f->body);
        mig_rev_release(&f->rev);
        f->has_rev = 0;
    }
    proj_lua_rev(&f->p, "cccc00000003", NULL, body);
    char path[600];
    snprintf(path, sizeof path, "%s", proj_path(&f->p, "migrations/versions/cccc00000003_rev.lua"));
    MIG_PASS(f->ctx, mig_revfile_read_header(&f->rev, f->ctx, path, 1));
    MIG_PASS(f->ctx, mig_revfile_load_body(&f->body, f->ctx, &f->rev));
    f->has_rev = 1;
    return mig_lua_revision_load(f->lua, &f->rev, &f->body, has_downgrade);
}

/* Load body (it must load), then run its upgrade: the run's result. */
static int run_upgrade(fixture *f, const char *body)
{
    MIG_PASS(f->ctx, load(f, body, NULL));
    return mig_lua_revision_run(f->lua, &f->rev, 1);
}

/* The file's header takes two lines: a body's line N is the file's line N + 2. */
static void test_lua__revisions_that_do_not_load_are_revfile_errors(void)
{
    fixture f;
    open_fixture(&f, "");
    MIG_FAILS(f.ctx, load(&f, "return {\nupgrade = function(db, ctx) end end\n", NULL), MIG_EREVFILE,
              "loading revision cccc00000003 failed at ");
    MIG_ERROR_HAS(f.ctx, message, "cccc00000003_rev.lua:4: syntax error: '}' expected");
    MIG_FAILS(f.ctx, load(&f, "return 42\n", NULL), MIG_EREVFILE,
              "the file returned number, not a table with upgrade and downgrade functions");
    MIG_FAILS(f.ctx, load(&f, "return { downgrade = function() end }\n", NULL), MIG_EREVFILE,
              "the returned table has no upgrade function (upgrade is nil)");
    MIG_FAILS(f.ctx, load(&f, "return { upgrade = function() end, downgrade = 'no' }\n", NULL),
              MIG_EREVFILE, "downgrade is string, not a function");
    MIG_FAILS(f.ctx, load(&f, "\nerror('refused at load')\n", NULL), MIG_EREVFILE, "refused at load");
    MIG_ERROR_HAS(f.ctx, message, "cccc00000003_rev.lua:4: refused at load");
    /* loading runs nothing against the database */
    CU_ASSERT_EQUAL(proj_int(&f.p, "SELECT count(*) FROM t"), 0);
    int has_down = 7;
    MIG_PASS(f.ctx, load(&f, "return { upgrade = function() end }\n", &has_down));
    CU_ASSERT_EQUAL(has_down, 0);
    MIG_FAILS(f.ctx, mig_lua_revision_run(f.lua, &f.rev, 0), MIG_EFAIL,
              "revision cccc00000003 has no downgrade function");
    close_fixture(&f);
}

static void test_lua__a_lua_error_names_the_revision_file_and_line(void)
{
    fixture f;
    open_fixture(&f, "");
    MIG_FAILS(f.ctx,
              run_upgrade(&f,
                          "return { upgrade = function(db, ctx)\n  local n = nil\n  return n.field\nend }\n"),
              MIG_EFAIL, "revision cccc00000003 failed at ");
    MIG_ERROR_HAS(f.ctx, message, "cccc00000003_rev.lua:5: attempt to index a nil value (local 'n')");
    /* an error value that is no string still gives one line, not a crash */
    MIG_FAILS(f.ctx, run_upgrade(&f, "return { upgrade = function(db, ctx) error({}) end }\n"),
              MIG_EFAIL, "revision cccc00000003 failed");
    CU_ASSERT_PTR_NULL(strchr(mig_last_error(f.ctx)->message, '\n'));
    close_fixture(&f);
}

/* A failing statement is raised into Lua with the database's words, and kept for the report. */
static void test_lua__a_failing_statement_is_raised_with_the_database_message(void)
{
    fixture f;
    open_fixture(&f, "");
    MIG_FAILS(f.ctx,
              run_upgrade(&f, "return { upgrade = function(db, ctx)\n"
                              "  db:exec('INSERT INTO t VALUES (?)', 1)\n"
                              "  db:exec('INSERT INTO nowhere VALUES (1)')\n"
                              "end }\n"),
              MIG_EFAIL, "revision cccc00000003 failed at ");
    MIG_ERROR_HAS(f.ctx, message, "cccc00000003_rev.lua:5: db:exec: ");
    MIG_ERROR_HAS(f.ctx, message, "no such table: nowhere");
    /* no transaction here: the statement before it stays, as the runner's transaction would decide */
    CU_ASSERT_EQUAL(proj_int(&f.p, "SELECT count(*) FROM t"), 1);
    /* a pcall in the revision may catch it and go on */
    MIG_PASS(f.ctx, run_upgrade(&f, "return { upgrade = function(db, ctx)\n"
                                    "  local ok, err = pcall(db.exec, db, 'INSERT INTO nowhere VALUES (1)')\n"
                                    "  assert(not ok and err:find('no such table', 1, true), err)\n"
                                    "  db:exec('INSERT INTO t VALUES (?)', 2)\n"
                                    "end }\n"));
    CU_ASSERT_EQUAL(proj_int(&f.p, "SELECT count(*) FROM t"), 2);
    close_fixture(&f);
}

static void test_lua__bad_arguments_to_db_are_refused_before_the_database(void)
{
    fixture f;
    open_fixture(&f, "");
    MIG_FAILS(f.ctx,
              run_upgrade(&f,
                          "return { upgrade = function(db) db:exec('INSERT INTO t VALUES (?)', {}) end }\n"),
              MIG_EFAIL, "cannot bind a table (nil, boolean, number or string expected)");
    MIG_FAILS(f.ctx,
              run_upgrade(&f,
                          "return { upgrade = function(db) db:exec('INSERT INTO t VALUES (1)\\0; DROP TABLE t') end }\n"),
              MIG_EFAIL, "the SQL text holds a NUL byte (at byte 25), where it would be cut short");
    MIG_FAILS(f.ctx, run_upgrade(&f, "return { upgrade = function(db) db:exec() end }\n"), MIG_EFAIL,
              "bad argument #1 to 'exec'");
    MIG_FAILS(f.ctx, run_upgrade(&f, "return { upgrade = function(db) db.exec({}, 'SELECT 1') end }\n"),
              MIG_EFAIL, "mig.db");
    CU_ASSERT_EQUAL(proj_int(&f.p, "SELECT count(*) FROM t"), 0);
    CU_ASSERT_EQUAL(proj_int(&f.p, "SELECT count(*) FROM sqlite_schema WHERE name = 't'"), 1);
    close_fixture(&f);
}

/* A handle kept past its call (in a global, or a cursor) refuses every use. */
static void test_lua__db_used_after_its_call_is_refused(void)
{
    fixture f;
    open_fixture(&f, "");
    MIG_PASS(f.ctx, run_upgrade(&f, "return { upgrade = function(db)\n"
                                    "  db:exec('INSERT INTO t VALUES (1), (2)')\n"
                                    "  _G.kept_db = db\n"
                                    "  _G.kept_next, _G.kept_cur = db:rows('SELECT x FROM t')\n"
                                    "end }\n"));
    MIG_FAILS(f.ctx,
              run_upgrade(&f, "return { upgrade = function(db) kept_db:exec('DELETE FROM t') end }\n"),
              MIG_EFAIL, "db used after its migration finished");
    MIG_FAILS(f.ctx, run_upgrade(&f, "return { upgrade = function(db) return kept_next(kept_cur) end }\n"),
              MIG_EFAIL, "db used after its migration finished");
    CU_ASSERT_EQUAL(proj_int(&f.p, "SELECT count(*) FROM t"), 2);
    close_fixture(&f);
}

/* What db:query hands back, type by type, and what ctx holds. */
static void test_lua__query_types_and_ctx_fields(void)
{
    fixture f;
    open_fixture(&f, "");
    MIG_PASS(f.ctx,
             run_upgrade(&f,
                         "return { upgrade = function(db, ctx)\n"
                         "  local r = db:query('SELECT 1 AS i, 1.5 AS f, ? AS s, NULL AS n', 'x')[1]\n"
                         "  assert(math.type(r.i) == 'integer' and r.f == 1.5 and r.s == 'x' and r.n == nil)\n"
                         "  assert(ctx.revision == 'cccc00000003' and ctx.direction == 'upgrade', ctx.revision)\n"
                         "  assert(ctx.tenant == 'acme' and ctx.x.who == 'unit' and db.driver == 'sqlite')\n"
                         "  db:exec('INSERT INTO t VALUES (?)', db:quote_ident('a\"b'))\n"
                         "end }\n"));
    PROJ_TEXT_EQ(&f.p, "SELECT x FROM t", "\"a\"\"b\"");
    close_fixture(&f);
}

/* [lua] sandbox = true: no os.execute for revisions. */
static void test_lua__the_sandbox_takes_os_execute_away(void)
{
    fixture f;
    open_fixture(&f, "[lua]\nsandbox = true\n");
    MIG_FAILS(f.ctx, run_upgrade(&f, "return { upgrade = function(db) os.execute('true') end }\n"),
              MIG_EFAIL, "cccc00000003_rev.lua:3: attempt to call a nil value (field 'execute')");
    close_fixture(&f);
}

/* ---- hooks ---- */

/* A fixture whose [hooks] scripts lists the given files, each written with its text. */
static void open_hooks(fixture *f, const char *scripts, const char *name1, const char *text1)
{
    char *extra = mig_aprintf("[hooks]\nscripts = %s\n", scripts);
    open_fixture(f, extra);
    free(extra);
    if (name1)
        proj_write(&f->p, name1, text1);
}

static void test_lua__missing_or_malformed_hook_scripts_are_config_errors(void)
{
    fixture f;
    open_hooks(&f, "hooks/none.lua", NULL, NULL);
    MIG_FAILS(f.ctx, mig_lua_hooks_load(f.lua), MIG_ECONFIG, "mig.ini:5: hook script ");
    MIG_ERROR_HAS(f.ctx, message, "hooks/none.lua: No such file or directory");
    close_fixture(&f);

    open_hooks(&f, "h.lua", "h.lua", "return 7\n");
    MIG_FAILS(f.ctx, mig_lua_hooks_load(f.lua), MIG_ECONFIG,
              "the script returned number, not a table of hook functions");
    close_fixture(&f);

    open_hooks(&f, "h.lua", "h.lua", "return { before_each = 'soon' }\n");
    MIG_FAILS(f.ctx, mig_lua_hooks_load(f.lua), MIG_ECONFIG, "before_each is string, not a function");
    close_fixture(&f);

    open_hooks(&f, "h.lua", "h.lua", "return {\n  before_each = function() end\n");
    MIG_FAILS(f.ctx, mig_lua_hooks_load(f.lua), MIG_ECONFIG, "h.lua:");
    close_fixture(&f);
}

static void test_lua__a_hook_error_names_the_hook_revision_and_line(void)
{
    fixture f;
    open_hooks(&f, "h.lua", "h.lua",
               "return {\n"
               "  before_each = function(db, ctx)\n"
               "    db:exec('INSERT INTO t VALUES (?)', ctx.revision)\n"
               "    error('stop here')\n"
               "  end,\n"
               "}\n");
    MIG_PASS(f.ctx, mig_lua_hooks_load(f.lua));
    MIG_PASS(f.ctx, load(&f, "return { upgrade = function() end }\n", NULL));
    MIG_FAILS(f.ctx, mig_lua_hooks_call(f.lua, "before_each", &f.rev, 1), MIG_EFAIL,
              "hook before_each at revision cccc00000003 failed at ");
    MIG_ERROR_HAS(f.ctx, message, "h.lua:4: stop here");
    PROJ_TEXT_EQ(&f.p, "SELECT x FROM t", "cccc00000003");
    /* a hook the scripts do not define is nothing to do */
    MIG_PASS(f.ctx, mig_lua_hooks_call(f.lua, "after_migrate", NULL, 1));
    close_fixture(&f);
}

/* on_error raising is only a warning: the error of the run stays, every field of it. */
static void test_lua__on_error_raising_keeps_the_run_error(void)
{
    fixture f;
    open_hooks(&f, "h.lua", "h.lua",
               "return {\n"
               "  on_error = function(ctx, err)\n"
               "    error('on_error saw: ' .. err)\n"
               "  end,\n"
               "}\n");
    MIG_PASS(f.ctx, mig_lua_hooks_load(f.lua));
    MIG_FAILS(f.ctx, mig_db_exec(f.db, f.ctx, "INSERT INTO nowhere VALUES (1)", 30, NULL, NULL),
              MIG_EFAIL, "no such table: nowhere");
    mig_error_hint(f.ctx, "the hint of the run");
    mig_error_where(f.ctx, "versions/x.sql", 12);
    char *msg = mig_strdup(mig_last_error(f.ctx)->message);
    char *detail = mig_strdup(mig_last_error(f.ctx)->detail);
    mig_lua_hooks_on_error(f.lua, NULL, 1);
    const mig_error *e = mig_last_error(f.ctx);
    CU_ASSERT_EQUAL(e->code, MIG_EFAIL);
    CU_ASSERT_STRING_EQUAL(e->message, msg);
    CU_ASSERT_STRING_EQUAL(e->detail, detail);
    CU_ASSERT_STRING_EQUAL(e->hint, "the hint of the run");
    CU_ASSERT_STRING_EQUAL(e->file, "versions/x.sql");
    CU_ASSERT_EQUAL(e->line, 12);
    PROJ_LOGGED(&f.p, "h.lua:3: on_error saw: ");
    PROJ_LOGGED(&f.p, "no such table: nowhere");
    free(msg);
    free(detail);
    close_fixture(&f);
}

/* ---- post-write hooks ---- */

static void test_lua__post_write_hook_failures(void)
{
    fixture f;
    open_fixture(&f, "[post_write_hooks]\nhooks = odd\nodd.type = python\n");
    proj_write(&f.p, "new.sql", "-- new\n");
    const char *path = proj_path(&f.p, "new.sql");
    char file[600];
    snprintf(file, sizeof file, "%s", path);
    MIG_FAILS(f.ctx, mig_post_write_hooks(f.ctx, file, "abc"), MIG_ECONFIG,
              "post-write hook 'odd': unknown type 'python' (lua or exec)");
    close_fixture(&f);

    open_fixture(&f, "[post_write_hooks]\nhooks = fmt\nfmt.type = lua\n");
    MIG_FAILS(f.ctx, mig_post_write_hooks(f.ctx, file, "abc"), MIG_ECONFIG,
              "post-write hook 'fmt' has type lua but no fmt.script");
    close_fixture(&f);

    open_fixture(&f, "[post_write_hooks]\nhooks = fmt\nfmt.type = lua\nfmt.script = fmt.lua\n");
    proj_write(&f.p, "fmt.lua", "return function(path, ctx)\n  error('cannot format ' .. path)\nend\n");
    proj_write(&f.p, "new.sql", "-- new\n");
    snprintf(file, sizeof file, "%s", proj_path(&f.p, "new.sql"));
    MIG_FAILS(f.ctx, mig_post_write_hooks(f.ctx, file, "abc"), MIG_EFAIL, "fmt.lua:2: cannot format ");
    MIG_ERROR_HAS(f.ctx, hint, "new.sql");
    close_fixture(&f);

    open_fixture(&f, "[post_write_hooks]\nhooks = no\nno.type = exec\nno.executable = false\n");
    proj_write(&f.p, "new.sql", "-- new\n");
    snprintf(file, sizeof file, "%s", proj_path(&f.p, "new.sql"));
    MIG_FAILS(f.ctx, mig_post_write_hooks(f.ctx, file, "abc"), MIG_EFAIL,
              "post-write hook 'no' failed: false exited with status 1");
    close_fixture(&f);

    open_fixture(&f,
                 "[post_write_hooks]\nhooks = gone\ngone.type = exec\ngone.executable = ./no-such-tool\n");
    proj_write(&f.p, "new.sql", "-- new\n");
    snprintf(file, sizeof file, "%s", proj_path(&f.p, "new.sql"));
    MIG_FAILS(f.ctx, mig_post_write_hooks(f.ctx, file, "abc"), MIG_EFAIL,
              "post-write hook 'gone': cannot run ");
    close_fixture(&f);
}

static CU_TestInfo tests[] = {
    { "revisions that do not load are revfile errors",
      test_lua__revisions_that_do_not_load_are_revfile_errors },
    { "a Lua error names the revision, file and line",
      test_lua__a_lua_error_names_the_revision_file_and_line },
    { "a failing statement is raised with the database message",
      test_lua__a_failing_statement_is_raised_with_the_database_message },
    { "bad arguments to db are refused", test_lua__bad_arguments_to_db_are_refused_before_the_database },
    { "db used after its call is refused", test_lua__db_used_after_its_call_is_refused },
    { "query types and ctx fields", test_lua__query_types_and_ctx_fields },
    { "the sandbox takes os.execute away", test_lua__the_sandbox_takes_os_execute_away },
    { "missing or malformed hook scripts are config errors",
      test_lua__missing_or_malformed_hook_scripts_are_config_errors },
    { "a hook error names the hook, revision and line",
      test_lua__a_hook_error_names_the_hook_revision_and_line },
    { "on_error raising keeps the run error", test_lua__on_error_raising_keeps_the_run_error },
    { "post-write hook failures", test_lua__post_write_hook_failures },
    CU_TEST_INFO_NULL,
};

MIG_UNIT_MAIN("lua", tests)
