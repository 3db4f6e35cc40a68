/*
 * Tenants (tenant.h, lua_tenants.c) on real SQLite files: where the list
 * comes from and each way it can be wrong (--tenant, [tenants] list, query
 * and script), schema tenants on a driver without schemas, and a run per
 * tenant where one tenant fails: the others keep what they did, the failed
 * one keeps what it had, and the rest are not started unless --keep-going.
 */
#include "project.h"

#include "ctx.h"
#include "tenant.h"

/* mig.ini with url (NULL: the project's test.db) and extra lines after [mig]. */
static void write_ini(proj *p, const char *url, const char *extra)
{
    char *ini =
        mig_aprintf("[mig]\nscript_location = migrations\nurl = %s\n%s\n", url ? url : p->url, extra);
    proj_write(p, "mig.ini", ini);
    free(ini);
}

/* The tenants resolved, joined by ',' (caller frees), or NULL when resolving failed. */
static char *resolve(mig_ctx *ctx)
{
    mig_strvec v = MIG_STRVEC_INIT;
    int rc = mig_tenants_resolve(ctx, &v);
    mig_buf b = MIG_BUF_INIT;
    mig_buf_puts(&b, "");
    for (size_t i = 0; i < v.n; i++)
        mig_buf_printf(&b, "%s%s", i ? "," : "", v.v[i]);
    mig_strvec_release(&v);
    if (rc) {
        mig_buf_release(&b);
        return NULL;
    }
    return mig_buf_detach(&b);
}

#define RESOLVES_TO(ctx, want)                                                                          \
    do {                                                                                                \
        char *got__ = resolve(ctx);                                                                     \
        if (got__ == NULL)                                                                              \
            fprintf(stderr, "\n%s:%d: %s\n", __FILE__, __LINE__, mig_last_error(ctx)->message);         \
        CU_ASSERT_PTR_NOT_NULL_FATAL(got__);                                                            \
        CU_ASSERT_STRING_EQUAL(got__, (want));                                                          \
        free(got__);                                                                                    \
    } while (0)

static mig_ctx *all_tenants(proj *p)
{
    mig_options o = MIG_OPTIONS_INIT;
    o.all_tenants = 1;
    return proj_ctx(p, &o);
}

static void test_tenant__command_line_names_are_kept_in_order_once(void)
{
    proj p;
    proj_new(&p, "");
    mig_options o = MIG_OPTIONS_INIT;
    static const char *const names[] = { "b", "a", "b", "c" };
    o.tenants = names;
    o.ntenants = 4;
    mig_ctx *ctx = proj_ctx(&p, &o);
    CU_ASSERT_EQUAL(mig_has_tenants(ctx), 1);
    RESOLVES_TO(ctx, "b,a,c");
    mig_ctx_free(ctx);

    static const char *const empty[] = { "a", "" };
    o.tenants = empty;
    o.ntenants = 2;
    ctx = proj_ctx(&p, &o);
    mig_strvec v = MIG_STRVEC_INIT;
    MIG_FAILS(ctx, mig_tenants_resolve(ctx, &v), MIG_EUSAGE, "option '--tenant' needs a name, got ''");
    mig_strvec_release(&v);
    mig_ctx_free(ctx);
    proj_free(&p);
}

static void test_tenant__the_tenants_section_gives_exactly_one_source(void)
{
    proj p;
    proj_new(&p, "");
    mig_ctx *ctx = all_tenants(&p);
    mig_strvec v = MIG_STRVEC_INIT;
    MIG_FAILS(ctx, mig_tenants_resolve(ctx, &v), MIG_ECONFIG, "no tenants: ");
    MIG_ERROR_HAS(ctx, message, "mig.ini has no [tenants] list, query or script");
    MIG_ERROR_HAS(ctx, hint, "--tenant NAME");
    mig_ctx_free(ctx);

    write_ini(&p, NULL, "[tenants]\nlist = a\nscript = t.lua\n");
    ctx = all_tenants(&p);
    MIG_FAILS(ctx, mig_tenants_resolve(ctx, &v), MIG_ECONFIG,
              "[tenants]: give one of list, query and script");
    mig_ctx_free(ctx);

    write_ini(&p, NULL, "[tenants]\nlist = , ,\n");
    ctx = all_tenants(&p);
    MIG_FAILS(ctx, mig_tenants_resolve(ctx, &v), MIG_ECONFIG,
              "no tenants: the [tenants] source gave an empty list");
    mig_ctx_free(ctx);

    write_ini(&p, NULL, "[tenants]\nlist = acme, globex initech,acme\n");
    ctx = all_tenants(&p);
    RESOLVES_TO(ctx, "acme,globex,initech");
    mig_ctx_free(ctx);
    mig_strvec_release(&v);
    proj_free(&p);
}

/* [tenants] query runs on the base connection: its rows must be names. */
static void test_tenant__query_rows_must_be_names(void)
{
    proj p;
    proj_new(&p, "");
    sqlite3 *raw = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(p.db, &raw), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_exec(raw,
                                 "CREATE TABLE tenants (name, n);"
                                 "INSERT INTO tenants VALUES ('acme', 1), ('globex', 2), ('acme', 3);",
                                 NULL, NULL, NULL),
                    SQLITE_OK);
    sqlite3_close(raw);

    write_ini(&p, NULL, "[tenants]\nquery = SELECT name FROM tenants ORDER BY n\n");
    mig_ctx *ctx = all_tenants(&p);
    RESOLVES_TO(ctx, "acme,globex");
    mig_ctx_free(ctx);

    mig_strvec v = MIG_STRVEC_INIT;
    write_ini(&p, NULL,
              "[tenants]\nquery = SELECT CASE n WHEN 2 THEN n ELSE name END FROM tenants ORDER BY n\n");
    ctx = all_tenants(&p);
    MIG_FAILS(ctx, mig_tenants_resolve(ctx, &v), MIG_ECONFIG,
              "mig.ini:5: [tenants] query: row 2 is an integer, not a name");
    mig_strvec_release(&v);
    mig_ctx_free(ctx);

    write_ini(&p, NULL, "[tenants]\nquery = SELECT NULL\n");
    ctx = all_tenants(&p);
    MIG_FAILS(ctx, mig_tenants_resolve(ctx, &v), MIG_ECONFIG, "row 1 is NULL, not a name");
    mig_strvec_release(&v);
    mig_ctx_free(ctx);

    write_ini(&p, NULL, "[tenants]\nquery = SELECT name FROM customers\n");
    ctx = all_tenants(&p);
    MIG_FAILS(ctx, mig_tenants_resolve(ctx, &v), MIG_EFAIL, "[tenants] query failed: ");
    MIG_ERROR_HAS(ctx, message, "no such table: customers");
    mig_strvec_release(&v);
    mig_ctx_free(ctx);

    /* with {tenant} in the URL there is no base connection to ask */
    char *url = mig_aprintf("sqlite:///%s/{tenant}.db", p.dir);
    write_ini(&p, url, "[tenants]\nquery = SELECT name FROM tenants\n");
    free(url);
    ctx = all_tenants(&p);
    MIG_FAILS(ctx, mig_tenants_resolve(ctx, &v), MIG_ECONFIG,
              "[tenants] query runs on the base connection, and the URL names {tenant}");
    mig_strvec_release(&v);
    mig_ctx_free(ctx);
    proj_free(&p);
}

/* A script's result, or its error: "script=<text>" -> resolve through [tenants] script. */
static mig_ctx *with_script(proj *p, const char *text)
{
    proj_write(p, "tenants.lua", text);
    write_ini(p, NULL, "[tenants]\nscript = tenants.lua\n");
    return all_tenants(p);
}

static void test_tenant__script_errors_name_the_file_and_line(void)
{
    proj p;
    proj_new(&p, "");
    mig_ctx *ctx = with_script(&p, "return { 'acme', 'globex', 'acme' }\n");
    RESOLVES_TO(ctx, "acme,globex");
    mig_ctx_free(ctx);

    ctx = with_script(&p, "return function() return { 'initech' } end\n");
    RESOLVES_TO(ctx, "initech");
    mig_ctx_free(ctx);

    mig_strvec v = MIG_STRVEC_INIT;
    ctx = with_script(&p, "\nreturn 42\n");
    MIG_FAILS(ctx, mig_tenants_resolve(ctx, &v), MIG_ECONFIG, "tenants script failed ");
    MIG_ERROR_HAS(ctx, message, "the script must return a list of names, got number");
    mig_ctx_free(ctx);

    ctx = with_script(&p, "return { 'acme', 7 }\n");
    MIG_FAILS(ctx, mig_tenants_resolve(ctx, &v), MIG_ECONFIG, "tenant 2 is a number, not a name");
    mig_ctx_free(ctx);

    ctx = with_script(&p, "return { '' }\n");
    MIG_FAILS(ctx, mig_tenants_resolve(ctx, &v), MIG_ECONFIG, "tenant 1 is not a usable name");
    mig_ctx_free(ctx);

    ctx = with_script(&p, "return { 'a\\0b' }\n");
    MIG_FAILS(ctx, mig_tenants_resolve(ctx, &v), MIG_ECONFIG, "tenant 1 is not a usable name");
    mig_ctx_free(ctx);

    /* a length from __len is whatever the script says: refused before any name is made up */
    ctx = with_script(&p, "return setmetatable({}, { __len = function() return 1 << 62 end,\n"
                          "  __index = function(t, i) return 'tenant' .. i end })\n");
    MIG_FAILS(ctx, mig_tenants_resolve(ctx, &v), MIG_ECONFIG, "names: at most 1000000");
    mig_ctx_free(ctx);

    ctx = with_script(&p, "local names = {}\n\nerror('no directory service')\n");
    MIG_FAILS(ctx, mig_tenants_resolve(ctx, &v), MIG_ECONFIG, "tenants.lua:3: no directory service");
    mig_ctx_free(ctx);

    ctx = with_script(&p, "return { 'a',\n");
    MIG_FAILS(ctx, mig_tenants_resolve(ctx, &v), MIG_ECONFIG, "tenants.lua:2: ");
    mig_ctx_free(ctx);

    remove(proj_path(&p, "tenants.lua"));
    ctx = all_tenants(&p);
    MIG_FAILS(ctx, mig_tenants_resolve(ctx, &v), MIG_ECONFIG, "tenants.lua");
    mig_ctx_free(ctx);
    mig_strvec_release(&v);
    proj_free(&p);
}

/* SQLite has no schemas: schema tenants are refused once, database tenants are fine. */
static void test_tenant__schema_tenants_need_a_driver_with_schemas(void)
{
    proj p;
    proj_new(&p, "");
    proj_rev(&p, "aaaa00000001", NULL, "CREATE TABLE t (x);", "DROP TABLE t;");
    mig_options o = MIG_OPTIONS_INIT;
    static const char *const names[] = { "acme" };
    o.tenants = names;
    o.ntenants = 1;
    mig_ctx *ctx = proj_ctx(&p, &o);
    MIG_FAILS(ctx, mig_tenant_check_schemas(ctx), MIG_ECONFIG,
              "driver 'sqlite' has no schemas, so a tenant cannot be a schema");
    MIG_ERROR_HAS(ctx, hint, "{tenant}");
    MIG_FAILS(ctx, mig_upgrade(ctx, "head", 0), MIG_ECONFIG, "driver 'sqlite' has no schemas");
    CU_ASSERT(proj_int(&p, "SELECT count(*) FROM sqlite_schema") <= 0);
    mig_ctx_free(ctx);

    char *url = mig_aprintf("sqlite:///%s/{tenant}.db", p.dir);
    write_ini(&p, url, "");
    free(url);
    ctx = proj_ctx(&p, &o);
    MIG_PASS(ctx, mig_tenant_check_schemas(ctx));
    mig_ctx_free(ctx);
    proj_free(&p);
}

typedef struct reports {
    pthread_mutex_t mu;
    mig_buf text; /* "tenant:status;" in the order reported */
} reports;

static void on_tenant(void *payload, const mig_tenant_report *r)
{
    reports *rs = payload;
    pthread_mutex_lock(&rs->mu);
    mig_buf_printf(&rs->text, "%s:%s;", r->tenant, r->status);
    pthread_mutex_unlock(&rs->mu);
}

/*
 * Database tenants a, bad, c with bad already holding the table the
 * revision creates: the failed tenant is rolled back alone, and c is not
 * started (or, with keep_going, migrated).
 */
static void run_with_a_failing_tenant(int keep_going, const char *want_reports, int want_c_tables)
{
    proj p;
    proj_new(&p, "");
    char *url = mig_aprintf("sqlite:///%s/{tenant}.db", p.dir);
    write_ini(&p, url, "[tenants]\nlist = a, bad, c\njobs = 1\n");
    free(url);
    proj_rev(&p, "aaaa00000001", NULL, "CREATE TABLE t (x);", "DROP TABLE t;");
    sqlite3 *raw = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(proj_path(&p, "bad.db"), &raw), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_exec(raw, "CREATE TABLE t (y)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);

    mig_options o = MIG_OPTIONS_INIT;
    o.all_tenants = 1;
    o.keep_going = keep_going;
    mig_ctx *ctx = proj_ctx(&p, &o);
    reports rs;
    pthread_mutex_init(&rs.mu, NULL);
    mig_buf_init(&rs.text);
    mig_set_tenant_callback(ctx, on_tenant, &rs);
    MIG_FAILS(ctx, mig_upgrade(ctx, "head", 0), MIG_EFAIL, "1 of 3 tenants failed");
    CU_ASSERT_STRING_EQUAL(mig_buf_cstr(&rs.text), want_reports);
    CU_ASSERT_EQUAL(proj_int_in(&p, "a.db",
                                "SELECT count(*) FROM mig_version WHERE version_num = 'aaaa00000001'"),
                    1);
    CU_ASSERT_EQUAL(proj_int_in(&p, "bad.db", "SELECT count(*) FROM sqlite_schema"), 1);
    CU_ASSERT_EQUAL(proj_int_in(&p, "bad.db",
                                "SELECT count(*) FROM pragma_table_info('t') WHERE name = 'y'"),
                    1);
    CU_ASSERT_EQUAL(proj_int_in(&p, "c.db", "SELECT count(*) FROM sqlite_schema WHERE name = 't'"),
                    want_c_tables);
    mig_buf_release(&rs.text);
    pthread_mutex_destroy(&rs.mu);
    mig_ctx_free(ctx);
    proj_free(&p);
}

static void test_tenant__a_failed_tenant_stops_new_starts(void)
{
    run_with_a_failing_tenant(0, "a:ok;bad:failed;c:not started;", -1);
}

static void test_tenant__keep_going_runs_the_rest(void)
{
    run_with_a_failing_tenant(1, "a:ok;bad:failed;c:ok;", 1);
}

static void test_tenant__jobs_out_of_range_is_a_config_error(void)
{
    proj p;
    proj_new(&p, "");
    char *url = mig_aprintf("sqlite:///%s/{tenant}.db", p.dir);
    write_ini(&p, url, "[tenants]\nlist = a, b\njobs = 0\n");
    free(url);
    proj_rev(&p, "aaaa00000001", NULL, "CREATE TABLE t (x);", "DROP TABLE t;");
    mig_ctx *ctx = all_tenants(&p);
    MIG_FAILS(ctx, mig_upgrade(ctx, "head", 0), MIG_ECONFIG, "[tenants] jobs = 0: expected 1 to 1024");
    CU_ASSERT_EQUAL(access(proj_path(&p, "a.db"), F_OK), -1);
    mig_ctx_free(ctx);
    proj_free(&p);
}

static CU_TestInfo tests[] = {
    { "command-line names are kept in order, once",
      test_tenant__command_line_names_are_kept_in_order_once },
    { "[tenants] gives exactly one source", test_tenant__the_tenants_section_gives_exactly_one_source },
    { "query rows must be names", test_tenant__query_rows_must_be_names },
    { "script errors name the file and line", test_tenant__script_errors_name_the_file_and_line },
    { "schema tenants need a driver with schemas", test_tenant__schema_tenants_need_a_driver_with_schemas },
    { "a failed tenant stops new starts", test_tenant__a_failed_tenant_stops_new_starts },
    { "keep going runs the rest", test_tenant__keep_going_runs_the_rest },
    { "jobs out of range is a config error", test_tenant__jobs_out_of_range_is_a_config_error },
    CU_TEST_INFO_NULL,
};

MIG_UNIT_MAIN("tenant", tests)
