/*
 * What only the SQLite driver does, beyond the shared conformance test:
 * its URL forms, where relative files land, URI parameters, the busy
 * timeout that makes a second writer wait, error positions, SQLite's
 * defaults kept as the sqlite3 shell has them, and introspection details.
 *
 *   mig_driver_sqlite_specific path/to/mig_driver_sqlite.so
 */
#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mig/driver.h"

static const mig_driver *drv;
static char tmp[256];
static mig_drv_error err;

#define DRV_PASS(expr)                                                                                  \
    do {                                                                                                \
        memset(&err, 0, sizeof err);                                                                    \
        int rc__ = (expr);                                                                              \
        if (rc__ != MIG_DRV_OK)                                                                         \
            fprintf(stderr, "\n%s:%d: %s -> %d: %s\n", __FILE__, __LINE__, #expr, rc__, err.message);   \
        CU_ASSERT_EQUAL_FATAL(rc__, MIG_DRV_OK);                                                        \
    } while (0)

static const char *path(const char *name)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", tmp, name);
    return b;
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static mig_conn *open_url(const char *url, const char *base_dir, double timeout)
{
    mig_connect_opts opts = { .lock_timeout_s = timeout };
    mig_conn *c = NULL;
    memset(&err, 0, sizeof err);
    if (drv->connect(&c, url, base_dir, &opts, &err) != MIG_DRV_OK) {
        fprintf(stderr, "\nconnect(%s): %s\n", url, err.message);
        return NULL;
    }
    return c;
}

static int run(mig_conn *c, const char *sql)
{
    memset(&err, 0, sizeof err);
    return drv->exec(c, sql, strlen(sql), NULL, &err);
}

/* First column of the first row as text ("" when none). */
static const char *one_text(mig_conn *c, const char *sql)
{
    static char out[256];
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    out[0] = '\0';
    if (drv->query(&cur, c, sql, NULL, 0, &err) != MIG_DRV_OK)
        return out;
    if (drv->fetch(cur, &row, &err) == MIG_DRV_OK && row != NULL) {
        const mig_value *v = &row->values[0];
        if (v->type == MIG_VAL_TEXT)
            snprintf(out, sizeof out, "%.*s", (int)v->u.s.len, v->u.s.ptr);
        else if (v->type == MIG_VAL_INT)
            snprintf(out, sizeof out, "%lld", (long long)v->u.i);
    }
    drv->cursor_close(cur);
    return out;
}

/* Create a table in the database at url, then look for the file. */
static void check_lands_at(const char *url, const char *base_dir, const char *file)
{
    mig_conn *c = open_url(url, base_dir, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(run(c, "CREATE TABLE IF NOT EXISTS here (id INT)"), MIG_DRV_OK);
    drv->close(c);
    if (!file_exists(file))
        fprintf(stderr, "\n%s did not create %s\n", url, file);
    CU_ASSERT(file_exists(file));
}

static void test_sqlite__three_and_four_slashes_name_an_absolute_file(void)
{
    char url[600];
    snprintf(url, sizeof url, "sqlite://%s", path("abs3.db")); /* sqlite:///tmp/... */
    check_lands_at(url, "/nonexistent-base", path("abs3.db"));
    snprintf(url, sizeof url, "sqlite:///%s", path("abs4.db")); /* sqlite:////tmp/... */
    check_lands_at(url, NULL, path("abs4.db"));
    snprintf(url, sizeof url, "sqlite3://%s", path("alias.db"));
    check_lands_at(url, NULL, path("alias.db"));
    snprintf(url, sizeof url, "sqlite://localhost%s", path("host.db"));
    check_lands_at(url, NULL, path("host.db"));
}

static void test_sqlite__relative_file_resolves_against_base_dir(void)
{
    mkdir(path("sub"), 0700);
    check_lands_at("sqlite:rel.db", tmp, path("rel.db"));
    check_lands_at("sqlite:sub/rel2.db", tmp, path("sub/rel2.db"));
    char base[600];
    snprintf(base, sizeof base, "%s/", tmp); /* a trailing slash is fine */
    check_lands_at("sqlite:rel3.db", base, path("rel3.db"));
}

static void test_sqlite__relative_file_without_base_dir_is_in_cwd(void)
{
    char cwd[512];
    CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof cwd));
    CU_ASSERT_EQUAL_FATAL(chdir(tmp), 0);
    check_lands_at("sqlite:cwd.db", NULL, path("cwd.db"));
    CU_ASSERT_EQUAL(chdir(cwd), 0);
}

static void test_sqlite__memory_urls_touch_no_file(void)
{
    static const char *const urls[] = { "sqlite://", "sqlite:///:memory:", "sqlite::memory:", NULL };
    CU_ASSERT_EQUAL_FATAL(chdir(tmp), 0);
    for (int i = 0; urls[i] != NULL; i++) {
        mig_conn *a = open_url(urls[i], tmp, 1), *b = open_url(urls[i], tmp, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        CU_ASSERT_EQUAL(run(a, "CREATE TABLE m (id INT)"), MIG_DRV_OK);
        int exists = -1;
        DRV_PASS(drv->table_exists(b, "m", &exists, &err));
        CU_ASSERT_EQUAL(exists, 0); /* each connection has its own */
        drv->close(a);
        drv->close(b);
    }
    CU_ASSERT(!file_exists(path(":memory:")));
    CU_ASSERT(!file_exists(path("memory")));
    CU_ASSERT_EQUAL(chdir("/"), 0);
}

static void test_sqlite__query_parameters_reach_sqlite(void)
{
    char url[600];
    snprintf(url, sizeof url, "sqlite://%s", path("ro.db"));
    check_lands_at(url, NULL, path("ro.db"));
    snprintf(url, sizeof url, "sqlite://%s?mode=ro", path("ro.db"));
    mig_conn *c = open_url(url, NULL, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(one_text(c, "SELECT COUNT(*) FROM here"), "0");
    CU_ASSERT_EQUAL(run(c, "INSERT INTO here VALUES (1)"), MIG_DRV_ERROR);
    CU_ASSERT(strstr(err.message, "readonly") != NULL);
    drv->close(c);

    /* '%' in a path stays literal, with or without parameters */
    snprintf(url, sizeof url, "sqlite://%s", path("p%41.db"));
    check_lands_at(url, NULL, path("p%41.db"));
    snprintf(url, sizeof url, "sqlite://%s?mode=rwc", path("q%41.db"));
    check_lands_at(url, NULL, path("q%41.db"));
    snprintf(url, sizeof url, "sqlite:q%%42.db?mode=rwc");
    check_lands_at(url, tmp, path("q%42.db"));
}

static void test_sqlite__bad_urls_fail_with_one_line_naming_the_file(void)
{
    mig_conn *c = NULL;
    mig_connect_opts opts = { 0 };
    CU_ASSERT_EQUAL(drv->connect(&c, "sqlite:///nonexistent-dir/sub/x.db", NULL, &opts, &err),
                    MIG_DRV_ERROR);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT(strstr(err.message, "\"/nonexistent-dir/sub/x.db\"") != NULL);
    CU_ASSERT(strchr(err.message, '\n') == NULL);
    CU_ASSERT_NOT_EQUAL(err.code, 0);

    /* a file that is no database fails at connect, not at first use */
    FILE *f = fopen(path("junk.db"), "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int i = 0; i < 200; i++)
        fputs("this is not a database file\n", f);
    fclose(f);
    char url[600];
    snprintf(url, sizeof url, "sqlite://%s", path("junk.db"));
    CU_ASSERT_EQUAL(drv->connect(&c, url, NULL, &opts, &err), MIG_DRV_ERROR);
    CU_ASSERT(strstr(err.message, path("junk.db")) != NULL);
    CU_ASSERT(strstr(err.message, "not a database") != NULL);

    CU_ASSERT_EQUAL(drv->connect(&c, "sqlite://dbhost/x.db", NULL, &opts, &err), MIG_DRV_ERROR);
    CU_ASSERT(strstr(err.message, "sqlite://dbhost/x.db") != NULL);
    CU_ASSERT_EQUAL(drv->connect(&c, NULL, NULL, &opts, &err), MIG_DRV_ERROR);
    CU_ASSERT(err.message[0] != '\0');
    CU_ASSERT_EQUAL(drv->connect(&c, "sqlite:", NULL, &opts, &err), MIG_DRV_ERROR);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_sqlite__second_writer_waits_for_the_first(void)
{
    char url[600];
    snprintf(url, sizeof url, "sqlite://%s", path("busy.db"));
    check_lands_at(url, NULL, path("busy.db"));

    int ready[2];
    CU_ASSERT_EQUAL_FATAL(pipe(ready), 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) { /* hold the write lock for 300 ms, in another process */
        mig_conn *c = open_url(url, NULL, 1);
        int ok = c != NULL && drv->begin(c, 1, &err) == MIG_DRV_OK &&
                 run(c, "INSERT INTO here VALUES (1)") == MIG_DRV_OK;
        if (write(ready[1], "x", 1) != 1)
            _exit(2);
        usleep(300 * 1000);
        ok = ok && drv->commit(c, &err) == MIG_DRV_OK;
        drv->close(c);
        _exit(ok ? 0 : 1);
    }
    char x;
    CU_ASSERT_EQUAL(read(ready[0], &x, 1), 1);
    close(ready[0]);
    close(ready[1]);

    mig_conn *c = open_url(url, NULL, 10);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    double t0 = now_s();
    DRV_PASS(drv->begin(c, 1, &err)); /* waits, then gets it */
    double waited = now_s() - t0;
    CU_ASSERT(waited > 0.1 && waited < 5);
    CU_ASSERT_STRING_EQUAL(one_text(c, "SELECT COUNT(*) FROM here"), "1");
    DRV_PASS(drv->commit(c, &err));
    int status = 0;
    waitpid(pid, &status, 0);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* and gives up after the timeout with BUSY */
    mig_conn *holder = open_url(url, NULL, 1), *late = open_url(url, NULL, 0.2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(holder);
    CU_ASSERT_PTR_NOT_NULL_FATAL(late);
    DRV_PASS(drv->begin(holder, 1, &err));
    t0 = now_s();
    CU_ASSERT_EQUAL(drv->begin(late, 1, &err), MIG_DRV_BUSY);
    waited = now_s() - t0;
    CU_ASSERT(waited > 0.15 && waited < 3);
    /* a plain write outside begin() waits and fails the same way */
    CU_ASSERT_EQUAL(run(late, "INSERT INTO here VALUES (2)"), MIG_DRV_BUSY);
    DRV_PASS(drv->rollback(holder, &err));
    drv->close(holder);
    drv->close(late);
    drv->close(c);
}

static void test_sqlite__errors_carry_offsets_and_positions(void)
{
    mig_conn *c = open_url("sqlite://", NULL, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    const char *sql = "SELECT 1;\n-- c\nSELECT nope_col FROM sqlite_schema;";
    CU_ASSERT_EQUAL(run(c, sql), MIG_DRV_ERROR);
    CU_ASSERT_EQUAL(err.stmt_offset, (size_t)(strstr(sql, "SELECT nope") - sql));
    CU_ASSERT_EQUAL(err.position, (long)(strstr(sql, "nope_col") - sql) + 1);
    CU_ASSERT(strstr(err.message, "nope_col") != NULL);
    CU_ASSERT_EQUAL(err.code, 1); /* SQLITE_ERROR */

    /* positions count characters, offsets bytes */
    sql = "SELECT '\xc3\xbc\xc3\xbc';\nSELECT nope2";
    CU_ASSERT_EQUAL(run(c, sql), MIG_DRV_ERROR);
    CU_ASSERT_EQUAL(err.stmt_offset, (size_t)(strstr(sql, "SELECT nope2") - sql));
    CU_ASSERT_EQUAL(err.position, (long)(strstr(sql, "nope2") - sql) + 1 - 2);

    /* a constraint failure at run time: the extended code */
    CU_ASSERT_EQUAL(run(c, "CREATE TABLE u (id INT UNIQUE); INSERT INTO u VALUES (1);\n"
                           "INSERT INTO u VALUES (1)"),
                    MIG_DRV_ERROR);
    CU_ASSERT_EQUAL(err.code, 2067); /* SQLITE_CONSTRAINT_UNIQUE */
    CU_ASSERT(strstr(err.message, "UNIQUE") != NULL);

    /* a length that covers a trailing NUL is accepted too */
    sql = "INSERT INTO u VALUES (2)";
    DRV_PASS(drv->exec(c, sql, strlen(sql) + 1, NULL, &err));

    /* exec_params takes one statement and exactly its parameters */
    mig_value one = { .type = MIG_VAL_INT, .u.i = 3 };
    CU_ASSERT_EQUAL(drv->exec_params(c, "INSERT INTO u VALUES (?); INSERT INTO u VALUES (4)", &one, 1,
                                     NULL, &err),
                    MIG_DRV_ERROR);
    CU_ASSERT_EQUAL(drv->exec_params(c, "INSERT INTO u VALUES (?)", &one, 0, NULL, &err), MIG_DRV_ERROR);
    CU_ASSERT(strstr(err.message, "1 parameter") != NULL);
    DRV_PASS(drv->exec_params(c, "INSERT INTO u VALUES (?);  ", &one, 1, NULL, &err));
    CU_ASSERT_STRING_EQUAL(one_text(c, "SELECT COUNT(*) FROM u"), "3");
    drv->close(c);
}

static void test_sqlite__keeps_the_shells_defaults(void)
{
    char url[600];
    snprintf(url, sizeof url, "sqlite://%s", path("defaults.db"));
    mig_conn *c = open_url(url, NULL, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(one_text(c, "PRAGMA journal_mode"), "delete");
    CU_ASSERT_STRING_EQUAL(one_text(c, "PRAGMA foreign_keys"), "0");
    CU_ASSERT_STRING_EQUAL(one_text(c, "PRAGMA synchronous"), "2"); /* FULL */
    drv->close(c);
}

/* Records foreign keys and columns as lines of text. */
static char log_buf[4096];

/* Appends the names to log_buf as "a,b". */
static void log_names(const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        snprintf(log_buf + strlen(log_buf), sizeof log_buf - strlen(log_buf), "%s%s", i ? "," : "", v[i]);
}

static int rec_fk(void *payload, const char *table, const char *name, const char *const *columns,
                  size_t ncolumns, const char *ref_table, const char *const *ref_columns,
                  size_t nref_columns, const char *on_delete, const char *on_update)
{
    (void)payload;
    size_t o = strlen(log_buf);
    snprintf(log_buf + o, sizeof log_buf - o, "fk %s %s ", table, name ? name : "-");
    log_names(columns, ncolumns);
    snprintf(log_buf + strlen(log_buf), sizeof log_buf - strlen(log_buf), " -> %s ", ref_table);
    log_names(ref_columns, nref_columns);
    snprintf(log_buf + strlen(log_buf), sizeof log_buf - strlen(log_buf), " %s %s\n", on_delete,
             on_update);
    return 0;
}

static int rec_table(void *payload, const char *table)
{
    (void)payload;
    size_t o = strlen(log_buf);
    snprintf(log_buf + o, sizeof log_buf - o, "table %s\n", table);
    return 0;
}

static int rec_pk(void *payload, const char *table, const char *name, const char *const *columns,
                  size_t ncolumns)
{
    (void)payload;
    (void)name;
    size_t o = strlen(log_buf);
    snprintf(log_buf + o, sizeof log_buf - o, "pk %s ", table);
    log_names(columns, ncolumns);
    snprintf(log_buf + strlen(log_buf), sizeof log_buf - strlen(log_buf), "\n");
    return 0;
}

static void test_sqlite__introspect_resolves_implicit_references(void)
{
    mig_conn *c = open_url("sqlite://", NULL, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL_FATAL(run(c, "CREATE TABLE p (a INT, b INT, PRIMARY KEY (b, a));"
                                 "CREATE TABLE k (x INT, y INT, FOREIGN KEY (x, y) REFERENCES p ON UPDATE SET NULL);"
                                 "CREATE TABLE \"we\"\"ird\" (id INTEGER PRIMARY KEY AUTOINCREMENT);"
                                 "INSERT INTO \"we\"\"ird\" DEFAULT VALUES;"),
                          MIG_DRV_OK);
    mig_schema_sink sink = { .table = rec_table, .primary_key = rec_pk, .foreign_key = rec_fk };
    log_buf[0] = '\0';
    DRV_PASS(drv->introspect(c, NULL, &sink, NULL, &err));
    CU_ASSERT(strstr(log_buf, "fk k - x,y -> p b,a NO ACTION SET NULL\n") != NULL);
    CU_ASSERT(strstr(log_buf, "pk p b,a\n") != NULL);
    CU_ASSERT(strstr(log_buf, "table we\"ird\npk we\"ird id\n") != NULL);
    CU_ASSERT(strstr(log_buf, "sqlite_sequence") == NULL);

    /* another attached database is a schema */
    char sql[700];
    snprintf(sql, sizeof sql, "ATTACH '%s' AS other; CREATE TABLE other.only_there (id INT)",
             path("attached.db"));
    CU_ASSERT_EQUAL_FATAL(run(c, sql), MIG_DRV_OK);
    log_buf[0] = '\0';
    DRV_PASS(drv->introspect(c, "other", &sink, NULL, &err));
    CU_ASSERT_STRING_EQUAL(log_buf, "table only_there\n");
    drv->close(c);
}

static void test_sqlite__statement_cache_survives_schema_changes(void)
{
    mig_conn *c = open_url("sqlite://", NULL, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL_FATAL(run(c, "CREATE TABLE s (a INT)"), MIG_DRV_OK);
    mig_value v = { .type = MIG_VAL_INT, .u.i = 1 };
    for (int i = 0; i < 40; i++) { /* more texts than the cache holds */
        char q[64];
        snprintf(q, sizeof q, "INSERT INTO s (a) SELECT ? + %d", i % 20);
        DRV_PASS(drv->exec_params(c, q, &v, 1, NULL, &err));
    }
    CU_ASSERT_STRING_EQUAL(one_text(c, "SELECT COUNT(*) FROM s"), "40");
    CU_ASSERT_EQUAL(run(c, "ALTER TABLE s ADD COLUMN b TEXT DEFAULT 'z'"), MIG_DRV_OK);
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    DRV_PASS(drv->query(&cur, c, "SELECT * FROM s LIMIT 1", NULL, 0, &err));
    DRV_PASS(drv->fetch(cur, &row, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    CU_ASSERT_EQUAL(row->ncols, 2);
    CU_ASSERT_STRING_EQUAL(row->names[1], "b");
    drv->cursor_close(cur);
    /* a cursor left open when its connection closes is still freed safely */
    DRV_PASS(drv->query(&cur, c, "SELECT a FROM s", NULL, 0, &err));
    DRV_PASS(drv->fetch(cur, &row, &err));
    drv->close(c);
    CU_ASSERT_NOT_EQUAL(drv->fetch(cur, &row, &err), MIG_DRV_OK);
    drv->cursor_close(cur);
}

/* exec_counted counts what mig_history records: statements that ran, not blanks, comments or lone ';' */
static void test_sqlite__exec_counted_counts_statements_that_ran(void)
{
    CU_ASSERT_FATAL(MIG_DRIVER_HAS(drv, exec_counted));
    mig_conn *c = open_url("sqlite://", NULL, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    static const struct {
        const char *sql;
        int64_t n;
    } cases[] = {
        { "", 0 },
        { "  -- nothing\n /* at all */ ;; ", 0 },
        { "CREATE TABLE k (a INT)", 1 },
        { "; ;INSERT INTO k VALUES (1); -- c\n ;/* x */; INSERT INTO k VALUES (2);", 2 },
        { "CREATE TRIGGER kt AFTER INSERT ON k BEGIN SELECT 1; SELECT 2; END; ;\n-- end\n", 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t n = -1;
        DRV_PASS(drv->exec_counted(c, cases[i].sql, strlen(cases[i].sql), &n, &err));
        CU_ASSERT_EQUAL(n, cases[i].n);
    }
    int64_t n = -1;
    CU_ASSERT_NOT_EQUAL(drv->exec_counted(c, "INSERT INTO k VALUES (3); SELEC 1", 33, &n, &err),
                        MIG_DRV_OK);
    drv->close(c);
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static CU_TestInfo tests[] = {
    { "three and four slashes name an absolute file",
      test_sqlite__three_and_four_slashes_name_an_absolute_file },
    { "relative file resolves against base_dir", test_sqlite__relative_file_resolves_against_base_dir },
    { "relative file without base_dir is in cwd", test_sqlite__relative_file_without_base_dir_is_in_cwd },
    { "memory urls touch no file", test_sqlite__memory_urls_touch_no_file },
    { "query parameters reach sqlite", test_sqlite__query_parameters_reach_sqlite },
    { "bad urls fail with one line naming the file",
      test_sqlite__bad_urls_fail_with_one_line_naming_the_file },
    { "second writer waits for the first", test_sqlite__second_writer_waits_for_the_first },
    { "errors carry offsets and positions", test_sqlite__errors_carry_offsets_and_positions },
    { "keeps the shell's defaults", test_sqlite__keeps_the_shells_defaults },
    { "introspect resolves implicit references", test_sqlite__introspect_resolves_implicit_references },
    { "statement cache survives schema changes", test_sqlite__statement_cache_survives_schema_changes },
    { "exec_counted counts statements that ran", test_sqlite__exec_counted_counts_statements_that_ran },
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
    const char *so = argc > 1 ? argv[1] : getenv("MIG_TEST_DRIVER_SO");
    if (so == NULL) {
        fprintf(stderr, "usage: %s mig_driver_sqlite.so\n", argv[0]);
        return 2;
    }
    void *handle = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    mig_driver_entry_fn entry =
        handle ? (mig_driver_entry_fn)dlsym(handle, MIG_DRIVER_ENTRY_SYMBOL) : NULL;
    if (entry == NULL || (drv = entry()) == NULL || strcmp(drv->name, "sqlite") != 0) {
        fprintf(stderr, "%s: not the sqlite driver (%s)\n", so, handle ? "no entry" : dlerror());
        return 1;
    }
    snprintf(tmp, sizeof tmp, "%s/mig-sqlite.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(tmp) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    CU_SuiteInfo suites[] = {
        { .pName = "sqlite driver", .pTests = tests },
        CU_SUITE_INFO_NULL,
    };
    if (CU_initialize_registry() != CUE_SUCCESS || CU_register_suites(suites) != CUE_SUCCESS)
        return 1;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    remove_tree(tmp);
    dlclose(handle);
    return failed ? 1 : 0;
}
