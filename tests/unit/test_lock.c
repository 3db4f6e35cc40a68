/*
 * The migration lock (lock.h). On SQLite, which has no session lock, it
 * must refuse rather than pretend; the write lock a run takes there is
 * test_runner's "busy database". On PostgreSQL and MariaDB (when the test
 * servers run: MIG_TEST_PG_* / MIG_TEST_MY_*, from the environment or
 * the file $MIG_TEST_SERVERS_ENV that tests/servers.sh writes) a lock held
 * by one connection makes another wait, say who holds it, and give up at
 * its timeout with MIG_ELOCK; once released, the other takes it.
 * MIG_TEST_REQUIRE_SERVERS=1 (make test) turns a missing server into a
 * failure instead of a note.
 */
#include "project.h"

#include <time.h>

#include "api.h"
#include "lock.h"

static void test_lock__sqlite_has_no_session_lock(void)
{
    proj p;
    proj_new(&p, "");
    mig_ctx *ctx = proj_ctx(&p, NULL);
    const mig_plugin *plugin = NULL;
    MIG_PASS(ctx, mig_ctx_plugin(ctx, &plugin));
    mig_db *db = NULL;
    MIG_PASS(ctx, mig_db_connect(&db, ctx, plugin, p.url, NULL));
    MIG_FAILS(ctx, mig_lock_acquire(db, ctx, "mig:mig_version", 1.0), MIG_EFAIL,
              "driver 'sqlite' has no session lock");
    /* releasing what cannot be held is nothing to do */
    MIG_PASS(ctx, mig_lock_release(db, ctx, "mig:mig_version"));
    mig_db_close(db);
    mig_ctx_free(ctx);
    proj_free(&p);
}

/* NAME's value from the environment, else from the servers file; NULL when neither has it. */
static char *server_var(const char *name)
{
    const char *v = getenv(name);
    if (v && *v)
        return mig_strdup(v);
    const char *path = getenv("MIG_TEST_SERVERS_ENV");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (f == NULL)
        return NULL;
    char word[512], *found = NULL;
    size_t n = strlen(name);
    while (found == NULL && fscanf(f, "%511s", word) == 1)
        if (strncmp(word, name, n) == 0 && word[n] == '=')
            found = mig_strdup(word + n + 1);
    fclose(f);
    return found;
}

/* The URL of a test server (caller frees), or NULL: noted, or failed under MIG_TEST_REQUIRE_SERVERS. */
static char *server_url(const char *scheme, const char *prefix, const char *dbname)
{
    char host[64], port[64], user[64];
    snprintf(host, sizeof host, "%s_HOST", prefix);
    snprintf(port, sizeof port, "%s_PORT", prefix);
    snprintf(user, sizeof user, "%s_USER", prefix);
    char *h = server_var(host), *p = server_var(port), *u = server_var(user);
    char *url = h && p && u ? mig_aprintf("%s://%s@%s:%s/%s", scheme, u, h, p, dbname) : NULL;
    free(h);
    free(p);
    free(u);
    if (url == NULL) {
        const char *req = getenv("MIG_TEST_REQUIRE_SERVERS");
        if (req && strcmp(req, "1") == 0)
            CU_FAIL("MIG_TEST_REQUIRE_SERVERS=1 but no test server is described");
        fprintf(stderr, "(no %s test server: %s_* unset; session lock not tested) ", scheme, prefix);
    }
    return url;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Two connections to one server contend for one key. */
static void contend(const char *driver, const char *url)
{
    proj p;
    proj_new(&p, "");
    mig_options o = MIG_OPTIONS_INIT;
    o.driver = driver;
    o.url = url;
    mig_ctx *ctx = proj_ctx(&p, &o);
    const mig_plugin *plugin = NULL;
    MIG_PASS(ctx, mig_ctx_plugin(ctx, &plugin));
    mig_db *first = NULL, *second = NULL;
    MIG_PASS(ctx, mig_db_connect(&first, ctx, plugin, url, NULL));
    MIG_PASS(ctx, mig_db_connect(&second, ctx, plugin, url, NULL));
    char key[64];
    snprintf(key, sizeof key, "mig:unit_lock_%ld", (long)getpid());

    MIG_PASS(ctx, mig_lock_acquire(first, ctx, key, 1.0));
    double t0 = now_s();
    MIG_FAILS(ctx, mig_lock_acquire(second, ctx, key, 0.3), MIG_ELOCK,
              "could not take the migration lock within 0.3 s: held by ");
    double waited = now_s() - t0;
    CU_ASSERT(waited >= 0.29);
    CU_ASSERT(waited < 5.0);
    MIG_ERROR_HAS(ctx, hint, "--lock-timeout");
    PROJ_LOGGED(&p, "waiting for the migration lock held by ");
    CU_ASSERT_EQUAL(mig_exit_status(MIG_ELOCK), 4);

    /* another key is another lock */
    char other[80];
    snprintf(other, sizeof other, "%s_other", key);
    MIG_PASS(ctx, mig_lock_acquire(second, ctx, other, 0.3));
    MIG_PASS(ctx, mig_lock_release(second, ctx, other));

    MIG_PASS(ctx, mig_lock_release(first, ctx, key));
    MIG_PASS(ctx, mig_lock_acquire(second, ctx, key, 1.0));
    MIG_PASS(ctx, mig_lock_release(second, ctx, key));
    mig_db_close(first);
    mig_db_close(second);
    mig_ctx_free(ctx);
    proj_free(&p);
}

static void test_lock__postgres_lock_held_elsewhere_times_out(void)
{
    char *url = server_url("postgresql", "MIG_TEST_PG", "postgres");
    if (url)
        contend("postgres", url);
    free(url);
}

static void test_lock__mysql_lock_held_elsewhere_times_out(void)
{
    char *url = server_url("mysql", "MIG_TEST_MY", "mysql");
    if (url)
        contend("mysql", url);
    free(url);
}

static CU_TestInfo tests[] = {
    { "sqlite has no session lock", test_lock__sqlite_has_no_session_lock },
    { "postgres: a lock held elsewhere times out", test_lock__postgres_lock_held_elsewhere_times_out },
    { "mysql: a lock held elsewhere times out", test_lock__mysql_lock_held_elsewhere_times_out },
    CU_TEST_INFO_NULL,
};

MIG_UNIT_MAIN("lock", tests)
