/*
 * mig test: the stairway. On a scratch database (never the configured
 * one), every revision in graph order goes up, down and up again, and the
 * schema is compared at each step with the introspection autogenerate
 * uses:
 *
 *     S0 = snapshot; upgrade R; S1 = snapshot;
 *     downgrade one step;  snapshot == S0  ("does not restore the schema")
 *     upgrade R again;     snapshot == S1  ("is not re-runnable")
 *
 * and the next revision starts from S1. After a failure the scratch
 * database goes back to S1 (SQLite: a copy of the file taken before the
 * downgrade; elsewhere emptied, then every revision that went up
 * replayed) so one bad revision does not hide the verdict on the next.
 * Then the graph-wide checks: one head, the head equals the
 * [autogenerate] target, `downgrade base` leaves only mig's tables.
 *
 * The scratch database is ours when we made it (a temporary database on
 * the configured server, a temporary file for SQLite): it is dropped at
 * the end whatever happened. One given with --scratch-url must be empty
 * and is emptied again at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "autogen.h"
#include "revfile.h"
#include "rules.h"
#include "schema.h"
#include "testdata.h"
#include "url.h"

typedef struct stair {
    mig_ctx *ctx; /* the caller's: the configured database */
    const mig_test_opts *o;
    mig_test_fn fn;
    void *payload;
    const mig_plugin *plugin;
    mig_graph *g;
    int is_sqlite;

    char *scratch_url;
    char *admin_url; /* server: where CREATE / DROP DATABASE run (owned only) */
    char *db_name;   /* the temporary database's name (owned server database) */
    char *file;      /* the temporary SQLite file (owned) */
    int owned;

    mig_ctx *sctx; /* on the scratch database */
    mig_session s; /* our own connection, for snapshots */
    int s_open;
    const char *skip[4]; /* mig's own tables, left out of the snapshots */

    unsigned char *in_range;
    unsigned char *done; /* went up in the scratch database */
    unsigned char *bad;  /* its upgrade failed, or a parent's did */
    int any_irreversible;
    const char *kinds; /* the objects the driver reads besides the schema model */
    unsigned counter;  /* --data: values never repeat */
    /*
     * The scratch database's schema as the last step left it (its S1, which
     * the step's last snapshot matched), so that the next step needs no S0
     * of its own: NULL when anything ran since (prepare, a rebuild).
     */
    mig_schema *last;
    mig_strvec last_objects;
    int moved; /* prepare upgraded something since */
    size_t nfail, nok, nirrev, nskip;
} stair;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

static int interrupted(const stair *z)
{
    return mig_cancel_level(z->ctx) > 0;
}

/* A second Ctrl-C: the running statement was cancelled. */
static int cancelled(const stair *z)
{
    return mig_cancel_level(z->ctx) >= 2;
}

/*
 * A signal handler can only set the flag, and the thread that would look
 * at it is blocked in the statement: this one looks instead and cancels
 * the scratch context's statement (and refuses the next) once it is 2.
 */
typedef struct watch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    int on, done;
    stair *z;
} watch;

static void *watch_main(void *arg)
{
    watch *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->done) {
        if (cancelled(w->z)) {
            mig_ctx_cancel(w->z->sctx); /* again for a statement that began since: cheap */
        }
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += 50 * 1000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->cv, &w->mu, &t);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void watch_start(watch *w, stair *z)
{
    memset(w, 0, sizeof *w);
    w->z = z;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->on = pthread_create(&w->th, NULL, watch_main, w) == 0;
    if (!w->on) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
    }
}

/* After it, nothing cancels the scratch context: teardown may use it. */
static void watch_stop(watch *w)
{
    if (!w->on)
        return;
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    w->on = 0;
    mig_ctx_cancel_clear(w->z->sctx);
}

/* ---- URLs ---- */

/*
 * scheme://auth@host:port/DB?query: the offsets of DB (end == start when
 * there is none). -1 when url is not of that shape (a libpq keyword string).
 */
static int db_span(const char *url, size_t *start, size_t *end)
{
    const char *p = url ? strstr(url, "://") : NULL;
    if (p == NULL)
        return -1;
    p += 3;
    const char *slash = strchr(p, '/'), *q = strchr(p, '?');
    if (slash == NULL || (q && q < slash)) {
        *start = *end = q ? (size_t)(q - url) : strlen(url);
        return 1; /* no path at all: a '/' must go in front */
    }
    *start = (size_t)(slash + 1 - url);
    *end = q ? (size_t)(q - url) : strlen(url);
    return 0;
}

static char *with_db(const char *url, const char *name)
{
    size_t s, e;
    int rc = db_span(url, &s, &e);
    if (rc < 0)
        return NULL;
    return mig_aprintf("%.*s%s%s%s", (int)s, url, rc == 1 ? "/" : "", name, url + e);
}

/* host:port and database of a server URL, normalised for comparison. */
static void server_of(const char *url, const char *scheme_port, char *out, size_t n)
{
    size_t s = 0, e = 0;
    const char *p = strstr(url, "://");
    if (p == NULL || db_span(url, &s, &e) < 0) {
        snprintf(out, n, "%s", url);
        return;
    }
    p += 3;
    const char *at = strrchr(p, '@');
    const char *slash = strchr(p, '/');
    if (at && (slash == NULL || at < slash))
        p = at + 1;
    size_t hl = slash ? (size_t)(slash - p) : strcspn(p, "?");
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)hl, p);
    char *colon = strrchr(host, ':');
    const char *port = scheme_port;
    if (colon && strchr(colon, ']') == NULL) {
        *colon = '\0';
        port = colon + 1;
    }
    if (*host == '\0' || strcmp(host, "localhost") == 0 || strcmp(host, "127.0.0.1") == 0 ||
        strcmp(host, "[::1]") == 0)
        snprintf(host, sizeof host, "local");
    snprintf(out, n, "%s:%s/%.*s", host, port, (int)(e - s), url + s);
}

/* The file a SQLite URL names, absolute (caller frees), or NULL for memory. */
static char *sqlite_file(const char *url, const char *base)
{
    const char *p = url;
    if (strncmp(p, "sqlite3:", 8) == 0)
        p += 8;
    else if (strncmp(p, "sqlite:", 7) == 0)
        p += 7;
    if (strncmp(p, "//", 2) == 0)
        p += 2;
    /* sqlite:////abs is sqlite:///abs, as the driver reads it */
    while (p[0] == '/' && p[1] == '/')
        p++;
    size_t n = strcspn(p, "?");
    if (n == 0 || strncmp(p, ":memory:", 8) == 0 || strncmp(p, "/:memory:", 9) == 0)
        return NULL;
    char *path = p[0] == '/' ? mig_strndup(p, n) : mig_aprintf("%s/%.*s", base, (int)n, p);
    if (path == NULL)
        return NULL;
    char *real = realpath(path, NULL);
    if (real) {
        free(path);
        return real;
    }
    return path;
}

/* Would the scratch URL reach the configured database? */
static int same_database(stair *z, const char *conf, const char *scratch)
{
    if (conf == NULL)
        return 0;
    if (strcmp(conf, scratch) == 0)
        return 1;
    if (z->is_sqlite) {
        char cwd[4096];
        const char *base = getcwd(cwd, sizeof cwd) ? cwd : ".";
        /* the configured URL from mig.ini is relative to mig.ini's folder */
        const char *cbase =
            (z->ctx->opts.url || getenv("MIG_DATABASE_URL")) ? base : mig_config_dir(z->ctx->cfg);
        char *a = sqlite_file(conf, cbase), *b = sqlite_file(scratch, base);
        int same = a && b && strcmp(a, b) == 0;
        free(a);
        free(b);
        return same;
    }
    const char *port = strcmp(z->plugin->driver->name, "postgres") == 0 ? "5432" : "3306";
    char a[512], b[512];
    server_of(conf, port, a, sizeof a);
    server_of(scratch, port, b, sizeof b);
    return strcmp(a, b) == 0;
}

/* ---- the scratch database ---- */

static void random_hex(char *out, size_t n)
{
    unsigned char r[16] = { 0 };
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, r, sizeof r) != (ssize_t)sizeof r) {
        unsigned long x = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16);
        for (size_t i = 0; i < sizeof r; i++, x = x * 6364136223846793005ul + 1)
            r[i] = (unsigned char)(x >> 33);
    }
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i + 1 < n && i / 2 < sizeof r; i++)
        out[i] = "0123456789abcdef"[(r[i / 2] >> (i % 2 ? 0 : 4)) & 15];
    out[n - 1] = '\0';
}

static int admin_exec(stair *z, const char *fmt, const char *name)
{
    mig_db *db = NULL;
    char *q = mig_plugin_quote_ident(z->plugin, name);
    char *sql = q ? mig_aprintf(fmt, q) : NULL;
    int rc = sql ? mig_db_connect(&db, z->ctx, z->plugin, z->admin_url, NULL)
                 : mig_fail(z->ctx, MIG_ENOMEM, "out of memory");
    if (rc == 0)
        rc = mig_db_exec(db, z->ctx, sql, strlen(sql), NULL, NULL);
    mig_db_close(db);
    free(q);
    free(sql);
    return rc;
}

static int create_owned(stair *z, const char *conf)
{
    if (z->is_sqlite) {
        const char *dir = getenv("TMPDIR");
        z->file = mig_aprintf("%s/mig_test_XXXXXX", dir && *dir ? dir : "/tmp");
        if (z->file == NULL)
            return mig_fail(z->ctx, MIG_ENOMEM, "out of memory");
        int fd = mkstemp(z->file);
        if (fd < 0) {
            int rc = mig_fail(z->ctx, MIG_EFAIL, "cannot create a scratch file %s: %s", z->file,
                              strerror(errno));
            free(z->file);
            z->file = NULL;
            return rc;
        }
        close(fd);
        z->owned = 1;
        z->scratch_url = mig_aprintf("sqlite://%s", z->file);
        return z->scratch_url ? 0 : mig_fail(z->ctx, MIG_ENOMEM, "out of memory");
    }
    size_t s, e;
    if (conf == NULL || db_span(conf, &s, &e) < 0 || mig_url_has_tenant(conf)) {
        int rc = mig_fail(z->ctx, MIG_EUSAGE,
                          "cannot make a scratch database next to the configured one: "
                          "its URL is not of the form scheme://host/database");
        mig_error_hint(z->ctx, "name one with --scratch-url URL");
        return rc;
    }
    char hex[13];
    random_hex(hex, sizeof hex);
    z->db_name = mig_aprintf("mig_test_%s", hex);
    /* the server's own database, so the configured one is not even connected to */
    z->admin_url = with_db(conf, strcmp(z->plugin->driver->name, "postgres") == 0 ? "postgres" : "");
    z->scratch_url = z->db_name ? with_db(conf, z->db_name) : NULL;
    if (z->db_name == NULL || z->admin_url == NULL || z->scratch_url == NULL)
        return mig_fail(z->ctx, MIG_ENOMEM, "out of memory");
    int rc = admin_exec(z, "CREATE DATABASE %s", z->db_name);
    if (rc == 0)
        z->owned = 1;
    else
        mig_error_hint(z->ctx,
                       "the configured user may not create databases: name one with --scratch-url URL");
    return rc;
}

static void session_close(stair *z)
{
    if (z->s_open)
        mig_session_close(&z->s);
    z->s_open = 0;
}

static int session_open(stair *z)
{
    int rc = mig_session_open(&z->s, z->sctx);
    if (rc == 0) {
        z->s_open = 1;
        z->skip[0] = z->s.st.version_name;
        z->skip[1] = z->s.st.history_name;
        /* created by a revision's first db:backfill, and kept by its downgrade (it holds the checkpoints) */
        z->skip[2] = MIG_BACKFILL_TABLE;
        z->skip[3] = NULL;
    }
    return rc;
}

/* The scratch context's error, moved to the caller's context. */
static int take_error(stair *z, int rc)
{
    mig_error_state st;
    mig_error_save(z->sctx, &st);
    mig_error_restore(z->ctx, &st);
    return rc;
}

static int snapshot(stair *z, mig_schema **out, int with_mig_tables)
{
    static const char *const none[] = { NULL };
    int rc = mig_schema_load(out, z->sctx, z->s.db, with_mig_tables ? none : z->skip);
    return rc ? take_error(z, rc) : 0;
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int object_line(void *payload, const char *kind, const char *table, const char *name,
                       const char *def)
{
    char *line =
        mig_aprintf("%s %s%s%s: %s", kind, table ? table : "", table ? "." : "", name, def ? def : "");
    if (line == NULL)
        return 1;
    /* one line, whitespace runs as one space: how a definition is laid out is no difference */
    char *o = line;
    for (const char *p = line; *p; p++) {
        int sp = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
        if (sp && (o == line || o[-1] == ' '))
            continue;
        *o++ = sp ? ' ' : *p;
    }
    while (o > line && o[-1] == ' ')
        o--;
    *o = '\0';
    return mig_strvec_push_owned(payload, line) != 0;
}

/*
 * What the schema model leaves out (views, triggers, check constraints...),
 * one sorted line per object, through the driver's introspect_objects.
 */
static int objects_of(stair *z, mig_strvec *out)
{
    const char *kinds;
    int rc = mig_db_introspect_objects(z->s.db, z->ctx, object_line, out, &kinds);
    if (rc == 1)
        return mig_fail(z->ctx, MIG_ENOMEM, "out of memory");
    if (rc) {
        mig_error_detail(z->ctx,
                         "while reading the views, triggers and constraints of the scratch database");
        return rc;
    }
    if (!kinds)
        return 0;
    z->kinds = kinds;
    if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_line);
    return 0;
}

/* The lines of a not in b (both sorted), under title. */
static void lines_not_in(mig_buf *diff, const char *title, const mig_strvec *a, const mig_strvec *b)
{
    int any = 0;
    for (size_t i = 0, k = 0; i < a->n; i++) {
        while (k < b->n && strcmp(b->v[k], a->v[i]) < 0)
            k++;
        if (k < b->n && strcmp(b->v[k], a->v[i]) == 0) {
            k++;
            continue;
        }
        if (!any)
            mig_buf_printf(diff, "%s:\n", title);
        any = 1;
        mig_buf_printf(diff, "    -- %s\n", a->v[i]);
    }
}

static int same_objects(const mig_strvec *want, const mig_strvec *got, mig_buf *diff)
{
    int same = want->n == got->n;
    for (size_t i = 0; same && i < want->n; i++)
        same = strcmp(want->v[i], got->v[i]) == 0;
    if (!same) {
        lines_not_in(diff, "left over (objects)", got, want);
        lines_not_in(diff, "missing (objects)", want, got);
    }
    return same;
}

/* Drop everything in a scratch database that is not ours to drop: autogenerate's diff to nothing. */
static int empty_given(stair *z)
{
    mig_schema *live = NULL, *empty = NULL;
    mig_changes ch = MIG_CHANGES_INIT;
    mig_buf sql = MIG_BUF_INIT;
    mig_strvec objs = MIG_STRVEC_INIT;
    /* views (they depend on the tables) and free sequences first; the rest goes with the tables */
    int rc = objects_of(z, &objs);
    for (size_t i = 0; rc == 0 && i < objs.n; i++) {
        const char *line = objs.v[i], *sp = strchr(line, ' '), *colon = sp ? strstr(sp, ": ") : NULL;
        const char *what = strncmp(line, "view ", 5) == 0                 ? "VIEW"
                           : strncmp(line, "materialized view ", 18) == 0 ? "MATERIALIZED VIEW"
                           : strncmp(line, "sequence ", 9) == 0           ? "SEQUENCE"
                                                                          : NULL;
        if (what == NULL || colon == NULL)
            continue;
        if (strncmp(line, "materialized view ", 18) == 0)
            sp = line + 17;
        char *name = mig_strndup(sp + 1, (size_t)(colon - sp - 1));
        char *q = name ? mig_plugin_quote_ident(z->plugin, name) : NULL;
        mig_buf_printf(&sql, "DROP %s IF EXISTS %s%s;\n", what, q ? q : "",
                       z->is_sqlite || strcmp(what, "SEQUENCE") == 0 ? "" : " CASCADE");
        free(name);
        free(q);
    }
    mig_strvec_release(&objs);
    if (rc == 0 && sql.len &&
        (rc = mig_db_exec(z->s.db, z->sctx, mig_buf_cstr(&sql), sql.len, NULL, NULL)) != 0)
        take_error(z, rc);
    mig_buf_clear(&sql);
    if (rc == 0)
        rc = snapshot(z, &live, 1);
    if (rc == 0 && mig_schema_new(&empty) != 0)
        rc = mig_fail(z->ctx, MIG_ENOMEM, "out of memory");
    if (rc == 0 && (rc = mig_autogen_diff(&ch, z->sctx, live, empty)) == 0)
        rc = mig_autogen_render(&sql, z->sctx, z->plugin, &ch, live, empty);
    if (rc == 0 && sql.len)
        rc = mig_db_exec(z->s.db, z->sctx, mig_buf_cstr(&sql), sql.len, NULL, NULL);
    if (rc && rc != MIG_ENOMEM)
        take_error(z, rc);
    mig_changes_release(&ch);
    mig_buf_release(&sql);
    mig_schema_free(live);
    mig_schema_free(empty);
    return rc;
}

/* Back to an empty scratch database. */
static int reset(stair *z)
{
    int rc = 0;
    if (!z->owned)
        return empty_given(z);
    session_close(z);
    if (z->file) {
        static const char *const ext[] = { "-wal", "-shm", "-journal", NULL };
        for (size_t i = 0; ext[i]; i++) {
            char *p = mig_aprintf("%s%s", z->file, ext[i]);
            if (p)
                unlink(p);
            free(p);
        }
        if (truncate(z->file, 0) != 0)
            rc = mig_fail(z->ctx, MIG_EFAIL, "cannot empty the scratch file %s: %s", z->file,
                          strerror(errno));
    } else {
        rc = admin_exec(z, "DROP DATABASE %s", z->db_name);
        if (rc == 0)
            rc = admin_exec(z, "CREATE DATABASE %s", z->db_name);
    }
    return rc ? rc : session_open(z);
}

/* Drop what we made; empty what we were given. Keeps the caller's error. */
static void teardown(stair *z)
{
    mig_error_state park;
    mig_error_save(z->ctx, &park);
    int had_error = park.code != 0;
    if (z->s_open && !z->owned)
        empty_given(z);
    session_close(z);
    mig_ctx_free(z->sctx);
    z->sctx = NULL;
    if (z->file) {
        static const char *const ext[] = { "", "-wal", "-shm", "-journal", NULL };
        for (size_t i = 0; ext[i]; i++) {
            char *p = mig_aprintf("%s%s", z->file, ext[i]);
            if (p)
                unlink(p);
            free(p);
        }
    } else if (z->owned && admin_exec(z, "DROP DATABASE %s", z->db_name) != 0) {
        mig_log(z->ctx, MIG_LOG_WARN, "could not drop the scratch database %s: %s", z->db_name,
                mig_last_error(z->ctx)->message);
    }
    if (!had_error)
        mig_error_clear(z->ctx); /* what failed here was said as a warning */
    mig_error_restore(z->ctx, &park);
}

/* ---- reporting ---- */

enum { C_UP, C_DOWN, C_AGAIN, NCHECK };
static const char *const check_names[NCHECK] = { "upgrade", "downgrade", "upgrade again" };

typedef struct verdict {
    mig_test_check c[NCHECK];
    mig_buf msg[NCHECK], diff[NCHECK];
    size_t n;
    double t0;
} verdict;

static void verdict_init(verdict *v, size_t n)
{
    memset(v, 0, sizeof *v);
    v->n = n;
    v->t0 = now_ms();
    for (size_t i = 0; i < NCHECK; i++) {
        v->c[i].name = check_names[i];
        v->c[i].status = "skipped";
        v->c[i].message = "";
        v->c[i].diff = "";
    }
}

static void verdict_set(verdict *v, int k, const char *status, double t0)
{
    v->c[k].status = status;
    v->c[k].duration_ms = now_ms() - t0;
}

static void verdict_release(verdict *v)
{
    for (size_t i = 0; i < NCHECK; i++) {
        mig_buf_release(&v->msg[i]);
        mig_buf_release(&v->diff[i]);
    }
}

static void emit(stair *z, const mig_rev *r, const char *status, verdict *v, const char *note)
{
    for (size_t i = 0; i < NCHECK; i++) {
        v->c[i].message = mig_buf_cstr(&v->msg[i]);
        v->c[i].diff = mig_buf_cstr(&v->diff[i]);
    }
    mig_test_report rep;
    memset(&rep, 0, sizeof rep);
    rep.revision = r ? r->id : "";
    rep.message = r ? r->message : "";
    rep.path = r ? r->path : "";
    rep.status = status;
    rep.note = note ? note : "";
    rep.checks = v->c;
    rep.nchecks = v->n;
    rep.duration_ms = now_ms() - v->t0;
    if (strcmp(status, "failed") == 0)
        z->nfail++;
    else if (strcmp(status, "irreversible") == 0)
        z->nirrev++;
    else if (strcmp(status, "skipped") == 0)
        z->nskip++;
    else if (r)
        z->nok++;
    if (z->fn)
        z->fn(z->payload, &rep);
}

/* The scratch context's error as one line: path:LINE: message (detail). */
static void error_text(stair *z, mig_buf *msg, mig_buf *diff)
{
    const mig_error *e = mig_last_error(z->sctx);
    if (e->file && *e->file && strstr(e->message, e->file) != NULL)
        ; /* the message names the place already */
    else if (e->file && *e->file && e->line > 0)
        mig_buf_printf(msg, "%s:%d: ", e->file, e->line);
    else if (e->file && *e->file)
        mig_buf_printf(msg, "%s: ", e->file);
    mig_buf_puts(msg, e->message);
    if (e->detail && *e->detail)
        mig_buf_printf(diff, "%s\n", e->detail);
}

/* ---- comparing ---- */

static int emit_line(void *payload, const char *statement)
{
    mig_buf *b = payload;
    mig_buf_printf(b, "    %s;\n", statement);
    return b->oom ? 1 : 0;
}

static int is_add(mig_ddl_kind k)
{
    return k == MIG_DDL_CREATE_TABLE || k == MIG_DDL_ADD_COLUMN || k == MIG_DDL_ADD_PRIMARY_KEY ||
           k == MIG_DDL_ADD_UNIQUE || k == MIG_DDL_CREATE_INDEX || k == MIG_DDL_ADD_FOREIGN_KEY ||
           k == MIG_DDL_CREATE_ENUM;
}

/* The objects that changes adding things would add, as DDL where the driver writes it. */
static void added_ddl(stair *z, mig_buf *out, const char *title, const mig_changes *ch)
{
    int any = 0;
    for (size_t i = 0; i < ch->n; i++) {
        const mig_ddl_change *c = &ch->v[i].c;
        if (!is_add(c->kind))
            continue;
        if (!any)
            mig_buf_printf(out, "%s:\n", title);
        any = 1;
        mig_buf one = MIG_BUF_INIT;
        int supported;
        if (mig_plugin_render_ddl(z->plugin, c, emit_line, &one, &supported) != 0 || !supported ||
            one.len == 0) {
            mig_buf_clear(&one);
            mig_buf_puts(&one, "    -- ");
            mig_autogen_describe(&one, c);
            mig_buf_puts(&one, "\n");
        }
        mig_buf_put(out, mig_buf_cstr(&one), one.len);
        mig_buf_release(&one);
    }
}

/*
 * Is `got` the schema `want`? If not, the difference into diff: what is
 * left over and what is missing, as DDL, and what differs.
 */
static int same_schema(stair *z, const mig_schema *want, const mig_schema *got, int *same, mig_buf *diff)
{
    mig_changes extra = MIG_CHANGES_INIT, missing = MIG_CHANGES_INIT;
    int rc = mig_autogen_diff(&extra, z->sctx, want, got);
    if (rc == 0)
        rc = mig_autogen_diff(&missing, z->sctx, got, want);
    if (rc) {
        mig_changes_release(&extra);
        return take_error(z, rc);
    }
    *same = extra.n == 0;
    if (!*same) {
        added_ddl(z, diff, "left over", &extra);
        added_ddl(z, diff, "missing", &missing);
        int any = 0;
        for (size_t i = 0; i < missing.n; i++) {
            const mig_ddl_change *c = &missing.v[i].c;
            if (c->kind != MIG_DDL_ALTER_COLUMN && c->kind != MIG_DDL_ALTER_ENUM)
                continue;
            if (!any)
                mig_buf_puts(diff, "differs (as it is -> as it should be):\n");
            any = 1;
            mig_buf_puts(diff, "    ");
            mig_autogen_describe(diff, c);
            mig_buf_puts(diff, "\n");
        }
    }
    mig_changes_release(&extra);
    mig_changes_release(&missing);
    return 0;
}

/* ---- the steps ---- */

/* MIG001 empty-downgrade, the rule `mig check` warns with: a section with no statement. */
static int empty_downgrade(stair *z, const mig_rev *r)
{
    mig_revbody b;
    if (r->is_lua)
        return 0;
    if (mig_revfile_load_body(&b, z->sctx, r) != 0) {
        mig_error_clear(z->sctx);
        return 0;
    }
    int empty = mig_rule_empty_downgrade_hits(r, &b, z->plugin->driver->dialect);
    mig_revbody_release(&b);
    return empty;
}

static int has_downgrade(stair *z, const mig_rev *r, int *out)
{
    const mig_revision *v = NULL;
    int rc = mig_revision_find(z->sctx, r->id, &v);
    if (rc)
        return take_error(z, rc);
    *out = v->has_downgrade > 0;
    return 0;
}

/* Everything that went up, up again in an empty scratch database. */
static int rebuild(stair *z)
{
    int rc = reset(z);
    for (size_t i = 0; rc == 0 && i < mig_graph_count(z->g); i++)
        if (z->done[i] && (rc = mig_upgrade(z->sctx, mig_graph_at(z->g, i)->id, 0)) != 0) {
            take_error(z, rc);
            rc = mig_fail(z->ctx, MIG_EFAIL, "cannot rebuild the scratch database: revision %s: %s",
                          mig_graph_at(z->g, i)->id, mig_last_error(z->ctx)->message);
        }
    return rc;
}

/*
 * A parent of merge r that nothing else applied builds on: downgrading to
 * it takes r away and nothing more. The first parent when none is.
 */
static const mig_rev *merge_parent(stair *z, const mig_rev *r)
{
    for (size_t i = 0; i < mig_graph_nparents(z->g, r); i++) {
        const mig_rev *p = mig_graph_parent(z->g, r, i);
        int alone = 1;
        for (size_t k = 0; alone && k < mig_graph_nchildren(z->g, p); k++) {
            const mig_rev *c = mig_graph_child(z->g, p, k);
            alone = c == r || !z->done[mig_graph_index(z->g, c)];
        }
        if (alone)
            return p;
    }
    return mig_graph_parent(z->g, r, 0);
}

/* A byte copy of a closed-for-writing SQLite file (no WAL: the driver keeps the rollback journal). */
static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    char buf[65536];
    size_t n;
    int bad = in == NULL || out == NULL;
    while (!bad && (n = fread(buf, 1, sizeof buf, in)) > 0)
        bad = fwrite(buf, 1, n, out) != n;
    bad |= in && ferror(in);
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        bad = 1;
    return bad ? -1 : 0;
}

/*
 * SQLite: S1 kept as a copy of the scratch file before the downgrade, so
 * a failure goes back to it without replaying every upgrade.
 */
static char *s1_copy(stair *z)
{
    if (z->file == NULL)
        return NULL;
    char *copy = mig_aprintf("%s.s1", z->file);
    if (copy && copy_file(z->file, copy) != 0) {
        unlink(copy);
        free(copy);
        copy = NULL;
    }
    return copy;
}

static int back_to_copy(stair *z, const char *copy)
{
    session_close(z);
    char *j = mig_aprintf("%s-journal", z->file);
    if (j)
        unlink(j);
    free(j);
    if (rename(copy, z->file) != 0)
        return rebuild(z);
    return session_open(z);
}

/* One step down from r, on r's line only (REV-1; a merge: down to one of its parents). */
static int step_down(stair *z, const mig_rev *r)
{
    char *target = mig_graph_nparents(z->g, r) > 1 ? mig_strdup(merge_parent(z, r)->id)
                                                   : mig_aprintf("%s-1", r->id);
    if (target == NULL)
        return mig_fail(z->sctx, MIG_ENOMEM, "out of memory");
    int rc = mig_downgrade(z->sctx, target, 0);
    free(target);
    return rc;
}

/* Parents and dependencies of r that are outside the range go up first, untested. */
static int prepare(stair *z, const mig_rev *r, const mig_rev **blocked)
{
    size_t np = mig_graph_nparents(z->g, r), nd = mig_graph_ndepends(z->g, r);
    *blocked = NULL;
    for (size_t k = 0; k < np + nd; k++) {
        const mig_rev *p = k < np ? mig_graph_parent(z->g, r, k) : mig_graph_depend(z->g, r, k - np);
        size_t pi = mig_graph_index(z->g, p);
        if (z->bad[pi]) {
            *blocked = p;
            return 0;
        }
        if (z->done[pi])
            continue;
        z->moved = 1;
        int rc = mig_upgrade(z->sctx, p->id, 0);
        if (rc)
            return rc;
        for (size_t i = 0; i < mig_graph_count(z->g); i++)
            if (mig_graph_at(z->g, i) == p || mig_graph_is_ancestor(z->g, mig_graph_at(z->g, i), p))
                z->done[i] = 1;
    }
    return 0;
}

/* One revision's way up, down and up again, and what it leaves behind. */
typedef struct step_state {
    const mig_rev *r;
    mig_schema *s0, *s1; /* the schema before and after the upgrade */
    mig_strvec o0, o1;   /* the objects before and after it */
    verdict v;
    const char *status, *note;
    mig_buf notes;
    int failed_at; /* the check that failed, or -1 */
    int down;      /* the revision has a downgrade section */
    int empty;     /* ... which is empty */
    int keep;      /* the database ends at S1: the next step starts from it */
    int settled;   /* the verdict is known: no further check runs */
    char *copy;    /* SQLite: the scratch file at S1 */
} step_state;

static void step_init(step_state *st, const mig_rev *r)
{
    memset(st, 0, sizeof *st);
    st->r = r;
    st->o0 = st->o1 = (mig_strvec)MIG_STRVEC_INIT;
    verdict_init(&st->v, NCHECK);
    st->status = "ok";
    st->notes = (mig_buf)MIG_BUF_INIT;
    st->failed_at = -1;
}

static void step_release(step_state *st)
{
    verdict_release(&st->v);
    mig_buf_release(&st->notes);
    if (st->copy) {
        unlink(st->copy);
        free(st->copy);
    }
    mig_schema_free(st->s0);
    mig_schema_free(st->s1);
    mig_strvec_release(&st->o0);
    mig_strvec_release(&st->o1);
}

/* Check k failed (its message is written): the verdict is known. */
static void step_failed(step_state *st, int k, double t)
{
    verdict_set(&st->v, k, "failed", t);
    st->failed_at = k;
    st->settled = 1;
}

/* Up from S0, then S1 as the upgrade left it. */
static int run_up(stair *z, step_state *st, size_t i)
{
    const mig_rev *r = st->r;
    double t = now_ms();
    if (mig_upgrade(z->sctx, r->id, 0) != 0) {
        mig_buf_printf(&st->v.msg[C_UP], "upgrade of %s failed: ", r->id);
        error_text(z, &st->v.msg[C_UP], &st->v.diff[C_UP]);
        z->bad[i] = 1;
        step_failed(st, C_UP, t);
        return 0;
    }
    verdict_set(&st->v, C_UP, "ok", t);
    z->done[i] = 1;
    int rc = snapshot(z, &st->s1, 0);
    if (rc == 0)
        rc = objects_of(z, &st->o1);
    if (rc == 0)
        st->copy = s1_copy(z);
    return rc;
}

/* Before coming down: a downgrade section to run, test data at S1, no first Ctrl-C. */
static int before_down(stair *z, step_state *st)
{
    const mig_rev *r = st->r;
    int rc = has_downgrade(z, r, &st->down);
    if (rc)
        return rc;
    if (!st->down) {
        st->keep = 1; /* nothing comes down: the database stays at S1 */
        z->any_irreversible = 1;
        st->status = "irreversible";
        st->note = "no downgrade section: down and up again not run";
        if (z->o->strict) {
            mig_buf_printf(&st->v.msg[C_DOWN], "%s has no downgrade section (--strict)", r->id);
            st->v.c[C_DOWN].status = "failed";
            st->failed_at = C_DOWN;
        }
        st->settled = 1;
        return 0;
    }
    if ((st->empty = empty_downgrade(z, r)) != 0)
        mig_buf_printf(&st->notes, "%s %s: the downgrade section is empty", mig_rule_empty_downgrade.id,
                       mig_rule_empty_downgrade.name);
    if (z->o->data) {
        mig_buf filled = MIG_BUF_INIT;
        rc = mig_testdata_fill(z->sctx, z->s.db, z->plugin, st->s0, st->s1, &z->counter, &filled);
        if (filled.len) {
            /* one line each: the generator's limits, not the revision's fault */
            mig_buf_printf(&st->notes, "%s%.*s", st->notes.len ? "\n" : "", (int)filled.len - 1,
                           mig_buf_cstr(&filled));
        }
        mig_buf_release(&filled);
        if (rc)
            return take_error(z, rc);
    }
    if (interrupted(z)) {
        mig_buf_printf(&st->notes, "%sinterrupted: down and up again not run", st->notes.len ? "\n" : "");
        st->status = "skipped";
    }
    if (st->notes.len)
        st->note = mig_buf_cstr(&st->notes);
    if (interrupted(z))
        st->settled = 1;
    return 0;
}

/*
 * The schema and objects now against want and owant, differences into
 * diff; *same = 0 when they differ.
 */
static int compare_now(stair *z, const mig_schema *want, const mig_strvec *owant, int *same, mig_buf *diff)
{
    mig_schema *now = NULL;
    mig_strvec onow = MIG_STRVEC_INIT;
    int rc = snapshot(z, &now, 0);
    if (rc == 0)
        rc = same_schema(z, want, now, same, diff);
    if (rc == 0)
        rc = objects_of(z, &onow);
    if (rc == 0)
        *same &= same_objects(owant, &onow, diff);
    mig_schema_free(now);
    mig_strvec_release(&onow);
    return rc;
}

/* Down from S1: the schema must be S0 again. */
static int run_down(stair *z, step_state *st)
{
    const mig_rev *r = st->r;
    int same = 1;
    double t = now_ms();
    if (step_down(z, r) != 0) {
        mig_buf_printf(&st->v.msg[C_DOWN], "downgrade of %s failed: ", r->id);
        error_text(z, &st->v.msg[C_DOWN], &st->v.diff[C_DOWN]);
        step_failed(st, C_DOWN, t);
        return 0;
    }
    int rc = compare_now(z, st->s0, &st->o0, &same, &st->v.diff[C_DOWN]);
    if (rc)
        return rc;
    if (!same) {
        mig_buf_printf(&st->v.msg[C_DOWN], "downgrade of %s does not restore the schema%s", r->id,
                       st->empty ? " (its downgrade section is empty)" : "");
        step_failed(st, C_DOWN, t);
        return 0;
    }
    verdict_set(&st->v, C_DOWN, "ok", t);
    if (interrupted(z)) {
        st->status = "skipped";
        mig_buf_printf(&st->notes, "%sinterrupted: up again not run", st->notes.len ? "\n" : "");
        st->note = mig_buf_cstr(&st->notes);
        /* back to S1, so the scratch database is where the run left it */
        if (mig_upgrade(z->sctx, r->id, 0) != 0)
            mig_error_clear(z->sctx);
        st->settled = 1;
    }
    return 0;
}

/* Up again from S0: the schema must be S1 again. */
static int run_again(stair *z, step_state *st)
{
    const mig_rev *r = st->r;
    int same = 1;
    double t = now_ms();
    if (mig_upgrade(z->sctx, r->id, 0) != 0) {
        mig_buf_printf(&st->v.msg[C_AGAIN], "%s is not re-runnable after its downgrade: ", r->id);
        error_text(z, &st->v.msg[C_AGAIN], &st->v.diff[C_AGAIN]);
        step_failed(st, C_AGAIN, t);
        return 0;
    }
    int rc = compare_now(z, st->s1, &st->o1, &same, &st->v.diff[C_AGAIN]);
    if (rc)
        return rc;
    if (!same) {
        mig_buf_printf(&st->v.msg[C_AGAIN], "%s is not re-runnable after its downgrade", r->id);
        step_failed(st, C_AGAIN, t);
        return 0;
    }
    verdict_set(&st->v, C_AGAIN, "ok", t);
    st->keep = 1;
    return 0;
}

/* The verdict out; after a failure, the scratch database back where the next step needs it. */
static int settle(stair *z, step_state *st)
{
    const mig_rev *r = st->r;
    int failed_at = st->failed_at;
    if (failed_at >= 0 && cancelled(z)) {
        /* not the revision's fault: the check was cut short */
        st->v.c[failed_at].status = "skipped";
        mig_buf_clear(&st->v.msg[failed_at]);
        mig_buf_printf(&st->v.msg[failed_at], "cancelled (a second Ctrl-C)");
        mig_buf_clear(&st->v.diff[failed_at]);
        mig_buf_printf(&st->notes, "%scancelled: %s stopped in its %s", st->notes.len ? "\n" : "", r->id,
                       check_names[failed_at]);
        st->note = mig_buf_cstr(&st->notes);
        st->status = "skipped";
        failed_at = -1;
    }
    if (failed_at >= 0)
        st->status = "failed";
    if ((failed_at >= 0 && st->down) || interrupted(z))
        st->keep = 0;
    mig_error_clear(z->sctx);
    emit(z, r, st->status, &st->v, st->note);
    /* a failure leaves the scratch database anywhere: back to S1 (or S0 when the upgrade failed) */
    if (failed_at > C_UP && !(failed_at == C_DOWN && !st->down) && st->copy)
        return back_to_copy(z, st->copy);
    if (failed_at >= 0 && !(failed_at == C_DOWN && !st->down))
        return rebuild(z);
    return 0;
}

/* Up, down, up again for one revision. Returns non-zero only when the run cannot go on. */
static int stair_step(stair *z, size_t i)
{
    step_state st;
    step_init(&st, mig_graph_at(z->g, i));
    const mig_rev *blocked = NULL;
    mig_schema *last = z->last;
    mig_strvec last_objects = z->last_objects;
    z->last = NULL;
    z->last_objects = (mig_strvec)MIG_STRVEC_INIT;

    z->moved = 0;
    int rc = prepare(z, st.r, &blocked);
    if (rc) {
        take_error(z, rc);
        goto out;
    }
    if (blocked) {
        z->bad[i] = 1;
        mig_buf_printf(&st.v.msg[C_UP], "not run: %s %s", blocked->id, "failed before it");
        st.status = "skipped";
        st.settled = 1;
    } else if (last && !z->moved) {
        st.s0 = last;
        st.o0 = last_objects;
        last = NULL;
        last_objects = (mig_strvec)MIG_STRVEC_INIT;
    } else {
        rc = snapshot(z, &st.s0, 0);
        if (rc == 0)
            rc = objects_of(z, &st.o0);
    }
    if (rc == 0 && !st.settled)
        rc = run_up(z, &st, i);
    if (rc == 0 && !st.settled)
        rc = before_down(z, &st);
    if (rc == 0 && !st.settled)
        rc = run_down(z, &st);
    if (rc == 0 && !st.settled)
        rc = run_again(z, &st);
    if (rc == 0)
        rc = settle(z, &st);
out:
    if (st.keep && rc == 0 && st.s1) {
        z->last = st.s1;
        z->last_objects = st.o1;
        st.s1 = NULL;
        st.o1 = (mig_strvec)MIG_STRVEC_INIT;
    }
    mig_schema_free(last);
    mig_strvec_release(&last_objects);
    step_release(&st);
    return rc;
}

/* ---- graph-wide checks ---- */

static void graph_check(stair *z, const char *name, const char *status, const char *msg, const char *diff)
{
    verdict v;
    verdict_init(&v, 1);
    v.c[0].name = name;
    v.c[0].status = status;
    mig_buf_puts(&v.msg[0], msg);
    mig_buf_puts(&v.diff[0], diff ? diff : "");
    emit(z, NULL, status, &v, NULL);
    verdict_release(&v);
}

/* What the snapshots compare besides the schema model, and what they cannot. */
static void snapshot_line(stair *z)
{
    static const char *const kind[] = { "check", "view", "trigger", "sequence", "routine" };
    static const char *const words[] = { "check constraints", "views", "triggers",
                                         "sequences not owned by a column", "functions and procedures" };
    /* what each database has at all: SQLite has no sequences or routines */
    size_t nkinds = z->is_sqlite ? 3 : 5;
    mig_buf yes = MIG_BUF_INIT, no = MIG_BUF_INIT, m = MIG_BUF_INIT;
    const char *k = z->kinds ? z->kinds : "";
    for (size_t i = 0; i < nkinds; i++) {
        size_t n = strlen(kind[i]);
        int has = 0;
        for (const char *p = k; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ','))
            has |= strncmp(p, kind[i], n) == 0 && (p[n] == ',' || p[n] == '\0');
        mig_buf_printf(has ? &yes : &no, "%s%s", (has ? yes.len : no.len) ? ", " : "", words[i]);
    }
    mig_buf_printf(&m, "tables, columns, keys, indexes, foreign keys%s%s%s",
                   z->is_sqlite ? "" : ", enum types", yes.len ? ", " : "", mig_buf_cstr(&yes));
    if (no.len)
        mig_buf_printf(&m, "; not compared: %s", mig_buf_cstr(&no));
    graph_check(z, "snapshot", "ok", mig_buf_cstr(&m), NULL);
    mig_buf_release(&yes);
    mig_buf_release(&no);
    mig_buf_release(&m);
}

static void check_heads(stair *z)
{
    size_t n = mig_graph_nheads(z->g);
    if (n <= 1) {
        graph_check(z, "one head", "ok", "", NULL);
        return;
    }
    mig_buf m = MIG_BUF_INIT;
    mig_buf_printf(&m, "%zu heads:", n);
    for (size_t i = 0; i < n; i++)
        mig_buf_printf(&m, " %s", mig_graph_head(z->g, i)->id);
    if (!z->o->allow_heads)
        mig_buf_puts(&m, " (merge them with `mig merge`, or pass --allow-heads)");
    graph_check(z, "one head", z->o->allow_heads ? "ok" : "failed", mig_buf_cstr(&m), NULL);
    mig_buf_release(&m);
}

/* With every revision up: the schema equals the [autogenerate] target. */
static int check_target(stair *z)
{
    int configured = 0, same = 1;
    mig_schema *live = NULL, *target = NULL;
    mig_buf d = MIG_BUF_INIT;
    int rc = mig_autogen_load(z->sctx, &z->s, &configured, &live, &target);
    if (rc) {
        take_error(z, rc);
        graph_check(z, "target", "failed", mig_last_error(z->ctx)->message, NULL);
        mig_error_clear(z->ctx);
        return 0;
    }
    if (configured && (rc = same_schema(z, target, live, &same, &d)) == 0)
        graph_check(z, "target", same ? "ok" : "failed",
                    same ? "" : "the schema at the head differs from the [autogenerate] target",
                    mig_buf_cstr(&d));
    mig_buf_release(&d);
    mig_schema_free(live);
    mig_schema_free(target);
    return rc;
}

static int check_base(stair *z)
{
    if (z->nfail) {
        graph_check(z, "downgrade to base", "skipped", "not run: a revision failed", NULL);
        return 0;
    }
    if (z->any_irreversible) {
        graph_check(z, "downgrade to base", "skipped", "not run: a revision has no downgrade section",
                    NULL);
        return 0;
    }
    if (mig_downgrade(z->sctx, "base", 0) != 0) {
        mig_buf m = MIG_BUF_INIT, d = MIG_BUF_INIT;
        mig_buf_puts(&m, "downgrade base failed: ");
        error_text(z, &m, &d);
        graph_check(z, "downgrade to base", "failed", mig_buf_cstr(&m), mig_buf_cstr(&d));
        mig_buf_release(&m);
        mig_buf_release(&d);
        mig_error_clear(z->sctx);
        return 0;
    }
    mig_schema *now = NULL, *empty = NULL;
    mig_buf d = MIG_BUF_INIT;
    int same = 1;
    int rc = snapshot(z, &now, 0);
    if (rc == 0 && mig_schema_new(&empty) != 0)
        rc = mig_fail(z->ctx, MIG_ENOMEM, "out of memory");
    if (rc == 0)
        rc = same_schema(z, empty, now, &same, &d);
    mig_strvec objs = MIG_STRVEC_INIT, none = MIG_STRVEC_INIT;
    if (rc == 0 && (rc = objects_of(z, &objs)) == 0)
        same &= same_objects(&none, &objs, &d);
    mig_strvec_release(&objs);
    if (rc == 0)
        graph_check(z, "downgrade to base", same ? "ok" : "failed",
                    same ? "" : "downgrade base leaves more than mig's tables", mig_buf_cstr(&d));
    mig_buf_release(&d);
    mig_schema_free(now);
    mig_schema_free(empty);
    return rc;
}

/* ---- range ---- */

/* RANGE: "FROM:TO", ":TO", "FROM:" or "REV" (= ":REV"); both ends included. */
static int mark_range(stair *z, const char *range)
{
    size_t n = mig_graph_count(z->g);
    const mig_rev *from = NULL, *to = NULL;
    int rc = 0;
    if (range && *range) {
        const char *colon = strchr(range, ':');
        char *a = colon ? mig_strndup(range, (size_t)(colon - range)) : NULL;
        const char *b = colon ? colon + 1 : range;
        if (colon && a == NULL)
            return mig_fail(z->ctx, MIG_ENOMEM, "out of memory");
        if (a && *a && strcmp(a, "base") != 0)
            rc = mig_graph_find(&from, z->ctx, z->g, a);
        if (rc == 0 && *b && strcmp(b, "heads") != 0)
            rc = mig_graph_find(&to, z->ctx, z->g, strcmp(b, "head") == 0 ? "head" : b);
        free(a);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < n; i++) {
        const mig_rev *r = mig_graph_at(z->g, i);
        z->in_range[i] = (from == NULL || r == from || mig_graph_is_ancestor(z->g, from, r)) &&
                         (to == NULL || r == to || mig_graph_is_ancestor(z->g, r, to));
    }
    return 0;
}

/*
 * The scratch database: url when given (never the configured one, and
 * empty), else a temporary one next to the configured database, with a
 * context and a session on it. teardown() drops or empties it.
 */
static int scratch_setup(stair *z, const char *conf, const char *url, const char *what)
{
    int rc = 0;
    if (url && *url) {
        if (same_database(z, conf, url)) {
            rc = mig_fail(z->ctx, MIG_EUSAGE,
                          "the scratch database is the configured database: "
                          "%s never runs there",
                          what);
            mig_error_hint(z->ctx,
                           "give --scratch-url a database of its own, or leave it out for a temporary one");
            return rc;
        }
        z->scratch_url = mig_strdup(url);
        if (z->scratch_url == NULL) {
            rc = mig_fail(z->ctx, MIG_ENOMEM, "out of memory");
            return rc;
        }
    } else if ((rc = create_owned(z, conf)) != 0) {
        return rc;
    }

    mig_options so = z->ctx->opts;
    so.url = z->scratch_url;
    so.driver = z->plugin->driver->name;
    so.tenants = NULL;
    so.ntenants = 0;
    so.all_tenants = 0;
    /* the steps are ours to report: the runner's own lines only with -v */
    so.quiet = !z->ctx->opts.verbose;
    if ((rc = mig_ctx_new(&so, &z->sctx)) != 0) {
        take_error(z, rc);
        return rc;
    }
    mig_set_logger(z->sctx, z->ctx->log_fn, z->ctx->log_payload);
    /* a database of a random name we made: nobody else migrates it, a lock connection a step is waste */
    z->sctx->no_lock = z->owned;
    if ((rc = session_open(z)) != 0) {
        take_error(z, rc);
        return rc;
    }
    if (!z->owned) {
        mig_schema *s = NULL;
        if ((rc = snapshot(z, &s, 1)) != 0)
            return rc;
        mig_strvec more = MIG_STRVEC_INIT;
        rc = objects_of(z, &more);
        size_t objs = s->ntables + s->nenums + more.n;
        mig_schema_free(s);
        mig_strvec_release(&more);
        if (rc)
            return rc;
        if (objs) {
            char *m = mig_url_mask(z->scratch_url);
            rc = mig_fail(z->ctx, MIG_EUSAGE, "the scratch database %s is not empty (%zu object%s)",
                          m ? m : "", objs, objs == 1 ? "" : "s");
            free(m);
            mig_error_hint(z->ctx, "%s needs an empty database it may fill and empty again", what);
            session_close(z); /* not ours to empty */
            z->s_open = 0;
            return rc;
        }
    }

    return 0;
}

/* ---- entry point ---- */

int mig_test(mig_ctx *ctx, const mig_test_opts *o, mig_test_fn fn, void *payload)
{
    mig_error_clear(ctx);
    mig_test_opts none;
    memset(&none, 0, sizeof none);
    stair z;
    memset(&z, 0, sizeof z);
    watch w = { .on = 0 };
    z.ctx = ctx;
    z.o = o ? o : &none;
    z.fn = fn;
    z.payload = payload;
    if (mig_has_tenants(ctx))
        return mig_fail(ctx, MIG_EUSAGE,
                        "mig test runs on a scratch database: tenant options do not apply");

    char *conf = NULL;
    int rc = mig_ctx_graph(ctx, &z.g);
    if (rc == 0)
        rc = mig_ctx_plugin(ctx, &z.plugin);
    if (rc == 0)
        rc = mig_ctx_url(ctx, &conf);
    if (rc)
        return rc;
    z.is_sqlite = strcmp(z.plugin->driver->name, "sqlite") == 0;
    size_t n = mig_graph_count(z.g);
    z.in_range = calloc(n + 1, 1);
    z.done = calloc(n + 1, 1);
    z.bad = calloc(n + 1, 1);
    if (z.in_range == NULL || z.done == NULL || z.bad == NULL) {
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = mark_range(&z, z.o->range)) != 0)
        goto out;

    if ((rc = scratch_setup(&z, conf, z.o->scratch_url, "mig test")) != 0)
        goto out;

    watch_start(&w, &z);
    check_heads(&z);
    /* a pass never claims more than the snapshots compare */
    if (rc == 0) {
        mig_strvec probe = MIG_STRVEC_INIT;
        rc = objects_of(&z, &probe);
        mig_strvec_release(&probe);
    }
    if (rc == 0)
        snapshot_line(&z);
    for (size_t i = 0; rc == 0 && i < n && !interrupted(&z); i++)
        if (z.in_range[i])
            rc = stair_step(&z, i);
    if (rc == 0 && !interrupted(&z)) {
        size_t all = 0, ok = 0;
        for (size_t i = 0; i < n; i++) {
            all += z.in_range[i];
            ok += z.done[i] && !z.bad[i];
        }
        /* the graph-wide checks need the whole graph up */
        if (all == n && ok == n)
            rc = check_target(&z);
        if (rc == 0 && all == n && ok == n && !interrupted(&z))
            rc = check_base(&z);
    }
    watch_stop(&w);
    if (interrupted(&z) && rc != MIG_ENOMEM)
        rc = mig_fail(ctx, MIG_EFAIL, "interrupted%s: the scratch database is %s",
                      cancelled(&z) ? " (the running statement cancelled)" : "",
                      z.owned ? "dropped" : "emptied");
    else if (rc == 0 && z.nfail)
        rc = mig_fail(ctx, MIG_ECHECK, "%zu check%s failed", z.nfail, z.nfail == 1 ? "" : "s");
out:
    watch_stop(&w);
    mig_cancel_spent(ctx);
    mig_schema_free(z.last);
    mig_strvec_release(&z.last_objects);
    teardown(&z);
    mig_url_free(conf);
    free(z.scratch_url);
    free(z.admin_url);
    free(z.db_name);
    free(z.file);
    free(z.in_range);
    free(z.done);
    free(z.bad);
    return rc;
}

/* ---- the scratch database for others (mig lint --trace) ---- */

struct mig_scratch {
    stair z;
    char *conf;
};

int mig_scratch_open(mig_ctx *ctx, const char *url, const char *what, mig_scratch **out, mig_ctx **sctx,
                     char **surl)
{
    *out = NULL;
    mig_scratch *sc = calloc(1, sizeof *sc);
    if (sc == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    static const mig_test_opts none;
    stair *z = &sc->z;
    z->ctx = ctx;
    z->o = &none;
    int rc = mig_ctx_graph(ctx, &z->g);
    if (rc == 0)
        rc = mig_ctx_plugin(ctx, &z->plugin);
    if (rc == 0)
        rc = mig_ctx_url(ctx, &sc->conf);
    if (rc == 0) {
        z->is_sqlite = strcmp(z->plugin->driver->name, "sqlite") == 0;
        rc = scratch_setup(z, sc->conf, url, what);
    }
    *out = sc;
    *sctx = z->sctx;
    *surl = z->scratch_url;
    return rc;
}

void mig_scratch_close(mig_scratch *sc)
{
    if (sc == NULL)
        return;
    stair *z = &sc->z;
    teardown(z);
    mig_url_free(sc->conf);
    free(z->scratch_url);
    free(z->admin_url);
    free(z->db_name);
    free(z->file);
    free(sc);
}
