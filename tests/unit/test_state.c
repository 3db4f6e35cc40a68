/*
 * The state tables (state.h) on a real SQLite file: a database without
 * them, a version table that is not mig's, a head written twice, part-way
 * failed steps, projects sharing one mig_history, and the offline SQL,
 * which must be the same statements with the values inlined.
 */
#include "project.h"

#include "api.h"
#include "state.h"

typedef struct fixture {
    proj p;
    mig_ctx *ctx;
    mig_db *db;
    mig_state st;
} fixture;

static void open_fixture(fixture *f, const char *version_table)
{
    proj_new(&f->p, "");
    f->ctx = proj_ctx(&f->p, NULL);
    const mig_plugin *plugin = NULL;
    MIG_PASS(f->ctx, mig_ctx_plugin(f->ctx, &plugin));
    MIG_PASS(f->ctx, mig_db_connect(&f->db, f->ctx, plugin, f->p.url, NULL));
    MIG_PASS(f->ctx, mig_state_init(&f->st, f->ctx, plugin, version_table));
}

static void close_fixture(fixture *f)
{
    mig_state_release(&f->st);
    mig_db_close(f->db);
    mig_ctx_free(f->ctx);
    proj_free(&f->p);
}

static mig_hist hist(const char *rev, const char *state, int64_t statements)
{
    mig_hist h = { rev,   "upgrade",  "c0ffee", "2026-01-02 03:04:05.006", 7, "me@here",
                   state, statements, NULL };
    return h;
}

static int count_rows(void *payload, const mig_row *row)
{
    (void)row;
    ++*(int *)payload;
    return 0;
}

static int stop_at_first(void *payload, const mig_row *row)
{
    ++*(int *)payload;
    CU_ASSERT_EQUAL(row->ncols, 8);
    return 42;
}

/* A database mig never touched: every read is empty, none fails, none creates a table. */
static void test_state__missing_tables_read_as_empty(void)
{
    fixture f;
    open_fixture(&f, "mig_version");
    int exists = 7, n = 0, found = 7;
    MIG_PASS(f.ctx, mig_state_tables_exist(&f.st, f.ctx, f.db, &exists));
    CU_ASSERT_EQUAL(exists, 0);
    mig_strvec heads = MIG_STRVEC_INIT;
    MIG_PASS(f.ctx, mig_state_read_heads(&f.st, f.ctx, f.db, &heads));
    CU_ASSERT_EQUAL(heads.n, 0);
    MIG_PASS(f.ctx, mig_state_read_history(&f.st, f.ctx, f.db, count_rows, &n));
    CU_ASSERT_EQUAL(n, 0);
    mig_failed failed;
    memset(&failed, 0, sizeof failed);
    MIG_PASS(f.ctx, mig_state_find_failed(&f.st, f.ctx, f.db, &failed, &found));
    CU_ASSERT_EQUAL(found, 0);
    mig_failed_release(&failed);
    CU_ASSERT_EQUAL(proj_int(&f.p, "SELECT count(*) FROM sqlite_schema"), 0);
    close_fixture(&f);
}

static void test_state__heads_are_written_read_and_kept_unique(void)
{
    fixture f;
    open_fixture(&f, "mig_version");
    MIG_PASS(f.ctx, mig_state_create_tables(&f.st, f.ctx, f.db, NULL));
    /* a second time is no error: every run starts with it */
    MIG_PASS(f.ctx, mig_state_create_tables(&f.st, f.ctx, f.db, NULL));
    MIG_PASS(f.ctx, mig_state_insert_head(&f.st, f.ctx, f.db, NULL, "bbbb"));
    MIG_PASS(f.ctx, mig_state_insert_head(&f.st, f.ctx, f.db, NULL, "aaaa"));
    MIG_FAILS(f.ctx, mig_state_insert_head(&f.st, f.ctx, f.db, NULL, "aaaa"), MIG_EFAIL,
              "UNIQUE constraint failed");
    mig_strvec heads = MIG_STRVEC_INIT;
    MIG_PASS(f.ctx, mig_state_read_heads(&f.st, f.ctx, f.db, &heads));
    CU_ASSERT_EQUAL_FATAL(heads.n, 2);
    CU_ASSERT_STRING_EQUAL(heads.v[0], "aaaa");
    CU_ASSERT_STRING_EQUAL(heads.v[1], "bbbb");
    mig_strvec_release(&heads);
    MIG_PASS(f.ctx, mig_state_delete_head(&f.st, f.ctx, f.db, NULL, "aaaa"));
    /* deleting a head that is not there changes nothing and is no error */
    MIG_PASS(f.ctx, mig_state_delete_head(&f.st, f.ctx, f.db, NULL, "cccc"));
    PROJ_TEXT_EQ(&f.p, "SELECT version_num FROM mig_version", "bbbb");
    MIG_PASS(f.ctx, mig_state_delete_all_heads(&f.st, f.ctx, f.db, NULL));
    CU_ASSERT_EQUAL(proj_int(&f.p, "SELECT count(*) FROM mig_version"), 0);
    close_fixture(&f);
}

/* A table of that name that mig did not make: a clear database error, not a crash or a wrong answer. */
static void test_state__a_foreign_version_table_is_a_database_error(void)
{
    fixture f;
    open_fixture(&f, "mig_version");
    MIG_PASS(f.ctx, mig_db_exec(f.db, f.ctx, "CREATE TABLE mig_version (other TEXT)", 37, NULL, NULL));
    mig_strvec heads = MIG_STRVEC_INIT;
    MIG_FAILS(f.ctx, mig_state_read_heads(&f.st, f.ctx, f.db, &heads), MIG_EFAIL,
              "no such column: version_num");
    CU_ASSERT_EQUAL(heads.n, 0);
    mig_strvec_release(&heads);
    MIG_FAILS(f.ctx, mig_state_insert_head(&f.st, f.ctx, f.db, NULL, "aaaa"), MIG_EFAIL, "version_num");
    CU_ASSERT_EQUAL(proj_int(&f.p, "SELECT count(*) FROM mig_version"), 0);
    close_fixture(&f);
}

/* Only the latest row of a revision counts: failed then done is no longer failed. */
static void test_state__the_latest_failed_step_is_found(void)
{
    fixture f;
    open_fixture(&f, "mig_version");
    MIG_PASS(f.ctx, mig_state_create_tables(&f.st, f.ctx, f.db, NULL));
    mig_hist a = hist("aaaa", "done", 1), b = hist("bbbb", "failed", 2);
    MIG_PASS(f.ctx, mig_state_insert_history(&f.st, f.ctx, f.db, NULL, &a));
    MIG_PASS(f.ctx, mig_state_insert_history(&f.st, f.ctx, f.db, NULL, &b));
    mig_failed failed;
    memset(&failed, 0, sizeof failed);
    int found = 0;
    MIG_PASS(f.ctx, mig_state_find_failed(&f.st, f.ctx, f.db, &failed, &found));
    CU_ASSERT_EQUAL_FATAL(found, 1);
    CU_ASSERT_STRING_EQUAL(failed.revision, "bbbb");
    CU_ASSERT_STRING_EQUAL(failed.direction, "upgrade");
    CU_ASSERT_STRING_EQUAL(failed.checksum, "c0ffee");
    CU_ASSERT_EQUAL(failed.statements_applied, 2);
    mig_failed_release(&failed);

    /* the resumed step ends: its row becomes done with every statement */
    mig_hist done = hist("bbbb", "done", 3);
    done.duration_ms = 99;
    MIG_PASS(f.ctx, mig_state_update_progress(&f.st, f.ctx, f.db, &done));
    PROJ_TEXT_EQ(&f.p,
                 "SELECT state || ':' || statements_applied || ':' || duration_ms FROM mig_history "
                 "WHERE revision = 'bbbb'",
                 "done:3:99");
    memset(&failed, 0, sizeof failed);
    found = 7;
    MIG_PASS(f.ctx, mig_state_find_failed(&f.st, f.ctx, f.db, &failed, &found));
    CU_ASSERT_EQUAL(found, 0);
    mig_failed_release(&failed);
    close_fixture(&f);
}

/* Projects sharing a database never read each other's rows; a callback's result stops the read. */
static void test_state__history_is_scoped_by_version_table(void)
{
    fixture f;
    open_fixture(&f, "app_version");
    MIG_PASS(f.ctx, mig_state_create_tables(&f.st, f.ctx, f.db, NULL));
    mig_hist a = hist("aaaa", "done", 1), b = hist("bbbb", "done", 1);
    MIG_PASS(f.ctx, mig_state_insert_history(&f.st, f.ctx, f.db, NULL, &a));
    MIG_PASS(f.ctx, mig_state_insert_history(&f.st, f.ctx, f.db, NULL, &b));

    mig_state other;
    MIG_PASS(f.ctx, mig_state_init(&other, f.ctx, f.st.plugin, "other_version"));
    MIG_PASS(f.ctx, mig_state_create_tables(&other, f.ctx, f.db, NULL));
    int n = 0;
    MIG_PASS(f.ctx, mig_state_read_history(&other, f.ctx, f.db, count_rows, &n));
    CU_ASSERT_EQUAL(n, 0);
    mig_state_release(&other);

    n = 0;
    MIG_PASS(f.ctx, mig_state_read_history(&f.st, f.ctx, f.db, count_rows, &n));
    CU_ASSERT_EQUAL(n, 2);
    n = 0;
    CU_ASSERT_EQUAL(mig_state_read_history(&f.st, f.ctx, f.db, stop_at_first, &n), 42);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(proj_int(&f.p, "SELECT count(*) FROM mig_history WHERE version_table = 'app_version'"),
                    2);
    close_fixture(&f);
}

/* A name that needs quoting is quoted everywhere: the table is made and read under exactly that name. */
static void test_state__odd_version_table_names_are_quoted(void)
{
    fixture f;
    open_fixture(&f, "1st \"version\"");
    MIG_PASS(f.ctx, mig_state_create_tables(&f.st, f.ctx, f.db, NULL));
    MIG_PASS(f.ctx, mig_state_insert_head(&f.st, f.ctx, f.db, NULL, "aaaa"));
    PROJ_TEXT_EQ(&f.p, "SELECT version_num FROM \"1st \"\"version\"\"\"", "aaaa");
    int exists = 0;
    MIG_PASS(f.ctx, mig_state_tables_exist(&f.st, f.ctx, f.db, &exists));
    CU_ASSERT_EQUAL(exists, 1);
    close_fixture(&f);
}

/* Offline (no connection): the same statements, values inlined and quoted, nothing written. */
static void test_state__offline_sql_inlines_quoted_values(void)
{
    fixture f;
    open_fixture(&f, "mig_version");
    mig_buf out = MIG_BUF_INIT;
    MIG_PASS(f.ctx, mig_state_create_tables(&f.st, f.ctx, NULL, &out));
    MIG_PASS(f.ctx, mig_state_insert_head(&f.st, f.ctx, NULL, &out, "it's"));
    mig_hist h = hist("it's", "done", 1);
    h.checksum = NULL;
    MIG_PASS(f.ctx, mig_state_insert_history(&f.st, f.ctx, NULL, &out, &h));
    const char *sql = mig_buf_cstr(&out);
    CU_ASSERT_PTR_NOT_NULL(strstr(sql, "CREATE TABLE IF NOT EXISTS \"mig_version\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(sql, "INSERT INTO \"mig_version\" (version_num) VALUES ('it''s');\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sql, "'it''s', 'upgrade', NULL"));
    CU_ASSERT_PTR_NULL(strchr(sql, '?'));
    /* the script runs as it is, and writes what the online calls write */
    sqlite3 *raw = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(f.p.db, &raw), SQLITE_OK);
    char *err = NULL;
    CU_ASSERT_EQUAL(sqlite3_exec(raw, sql, NULL, NULL, &err), SQLITE_OK);
    if (err)
        fprintf(stderr, "\n%s\n%s\n", err, sql);
    sqlite3_free(err);
    sqlite3_close(raw);
    PROJ_TEXT_EQ(&f.p, "SELECT version_num FROM mig_version", "it's");
    PROJ_TEXT_EQ(&f.p, "SELECT coalesce(checksum, 'NULL') || ':' || state FROM mig_history", "NULL:done");
    mig_buf_release(&out);
    close_fixture(&f);
}

static void test_state__now_is_utc_text_to_the_millisecond(void)
{
    fixture f;
    open_fixture(&f, "mig_version");
    char now[40];
    mig_state_now(&f.st, now);
    CU_ASSERT_EQUAL(strlen(now), 23);
    CU_ASSERT(now[4] == '-' && now[10] == ' ' && now[13] == ':' && now[19] == '.');
    CU_ASSERT_PTR_NOT_NULL(strchr(mig_state_applied_by(), '@'));
    close_fixture(&f);
}

static CU_TestInfo tests[] = {
    { "missing tables read as empty", test_state__missing_tables_read_as_empty },
    { "heads are written, read and kept unique", test_state__heads_are_written_read_and_kept_unique },
    { "a foreign version table is a database error",
      test_state__a_foreign_version_table_is_a_database_error },
    { "the latest failed step is found", test_state__the_latest_failed_step_is_found },
    { "history is scoped by version table", test_state__history_is_scoped_by_version_table },
    { "odd version table names are quoted", test_state__odd_version_table_names_are_quoted },
    { "offline SQL inlines quoted values", test_state__offline_sql_inlines_quoted_values },
    { "now is UTC text to the millisecond", test_state__now_is_utc_text_to_the_millisecond },
    CU_TEST_INFO_NULL,
};

MIG_UNIT_MAIN("state", tests)
