/*
 * Tenants: which there are, and running an operation once per tenant,
 * -j at a time, each on its own connection in its own child context.
 *
 * Coordination across processes and hosts is the database's: each
 * tenant's run takes that tenant's own lock with a single try. A tenant
 * another process holds is put back in the queue and revisited later
 * (when that process is done, the revisit finds it current), so every
 * tenant is migrated exactly once however many processes share the list.
 *
 * Schema tenants all live behind one URL, so a worker keeps its two
 * connections from one tenant to the next (reset in between): a new
 * connection costs the server a process and an authentication, which at
 * thousands of schemas was most of the time.
 */
#include "tenant.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "url.h"

int mig_has_tenants(const mig_ctx *ctx)
{
    return ctx->opts.ntenants > 0 || ctx->opts.all_tenants;
}

void mig_set_tenant_callback(mig_ctx *ctx, mig_tenant_fn fn, void *payload)
{
    ctx->tenant_fn = fn;
    ctx->tenant_payload = payload;
}

/* duplicates are dropped once the list is whole (mig_tenants_resolve) */
static int push_unique(mig_ctx *ctx, mig_strvec *out, const char *name, size_t len)
{
    char *n = mig_strndup(name, len);
    if (n == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    if (*n == '\0') {
        free(n);
        return 0;
    }
    return mig_strvec_push_owned(out, n) < 0 ? mig_fail(ctx, MIG_ENOMEM, "out of memory") : 0;
}

/* "a, b c" -> a, b, c */
static int split_list(mig_ctx *ctx, const char *list, mig_strvec *out)
{
    const char *p = list;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n')
            p++;
        const char *s = p;
        while (*p && *p != ',' && *p != ' ' && *p != '\t' && *p != '\n')
            p++;
        if (p > s) {
            int rc = push_unique(ctx, out, s, (size_t)(p - s));
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int tenants_from_query(mig_ctx *ctx, const char *query, mig_strvec *out)
{
    mig_session s;
    /* the base connection: no tenant applied; database tenants have none */
    char *url = NULL;
    int rc = mig_ctx_url(ctx, &url);
    int db_tenants = rc == 0 && url && mig_url_has_tenant(url);
    mig_url_free(url);
    if (rc)
        return rc;
    if (db_tenants) {
        rc = mig_fail(ctx, MIG_ECONFIG,
                      "[tenants] query runs on the base connection, and the URL names {tenant}");
        mig_error_hint(ctx, "list database tenants with [tenants] list or script");
        return rc;
    }
    rc = mig_session_open(&s, ctx);
    if (rc)
        return rc;
    mig_cursor *cur = NULL;
    rc = mig_db_query(&cur, s.db, ctx, query, NULL, 0);
    static const char *const kinds[] = { "NULL", "an integer", "a number", "text", "a boolean", "bytes" };
    for (size_t nrow = 1; rc == 0; nrow++) {
        const mig_row *row = NULL;
        rc = mig_db_fetch(cur, s.db, ctx, &row);
        if (rc || row == NULL)
            break;
        if (row->ncols < 1)
            continue;
        const mig_value *v = &row->values[0];
        /*
         * Neither skipped nor cut: a name cut at a NUL byte (MySQL text may
         * hold one) names another tenant, whose database would be migrated.
         */
        int line = 0;
        if (v->type != MIG_VAL_TEXT || memchr(v->u.s.ptr, '\0', v->u.s.len) != NULL)
            mig_config_raw(ctx->cfg, "tenants", "query", &line);
        if (v->type != MIG_VAL_TEXT)
            rc = mig_fail_at(ctx, MIG_ECONFIG, mig_config_path(ctx->cfg), line,
                             "[tenants] query: row %zu is %s, not a name", nrow,
                             (unsigned)v->type < sizeof kinds / sizeof *kinds ? kinds[v->type]
                                                                              : "no text");
        else if (memchr(v->u.s.ptr, '\0', v->u.s.len) != NULL)
            rc = mig_fail_at(ctx, MIG_ECONFIG, mig_config_path(ctx->cfg), line,
                             "[tenants] query: row %zu holds a NUL byte, where the name would be cut short",
                             nrow);
        else
            rc = push_unique(ctx, out, v->u.s.ptr, v->u.s.len);
    }
    mig_db_cursor_close(s.db, cur);
    if (rc && ctx->err_code == MIG_EFAIL) {
        char *m = mig_strdup(mig_last_error(ctx)->message);
        mig_fail(ctx, MIG_EFAIL, "[tenants] query failed: %s", m ? m : "");
        free(m);
    }
    mig_session_close(&s);
    return rc;
}

int mig_tenants_resolve(mig_ctx *ctx, mig_strvec *out)
{
    for (size_t i = 0; i < ctx->opts.ntenants; i++) {
        /* an empty --tenant would otherwise vanish and the run do nothing, with exit 0 */
        if (ctx->opts.tenants[i][0] == '\0')
            return mig_fail(ctx, MIG_EUSAGE, "option '--tenant' needs a name, got ''");
        int rc = push_unique(ctx, out, ctx->opts.tenants[i], strlen(ctx->opts.tenants[i]));
        if (rc)
            return rc;
    }
    if (!ctx->opts.all_tenants)
        return mig_strvec_dedup(out) < 0 ? mig_fail(ctx, MIG_ENOMEM, "out of memory") : 0;
    char *list = NULL, *query = NULL, *script = NULL;
    int rc = mig_config_get(ctx->cfg, ctx, "tenants", "list", &list);
    if (rc == 0)
        rc = mig_config_get(ctx->cfg, ctx, "tenants", "query", &query);
    if (rc == 0)
        rc = mig_config_get(ctx->cfg, ctx, "tenants", "script", &script);
    if (rc == 0 && !list && !query && !script) {
        /* neutral: `mig tenants` asks for every tenant without --all-tenants on the command line */
        const char *cfg = mig_config_path(ctx->cfg);
        if (cfg && *cfg)
            rc = mig_fail(ctx, MIG_ECONFIG, "no tenants: %s has no [tenants] list, query or script", cfg);
        else
            rc = mig_fail(ctx, MIG_ECONFIG,
                          "no tenants: no configuration file with a [tenants] list, query or script");
        mig_error_hint(ctx, "name the tenants in [tenants] (list = a, b), or give --tenant NAME");
    } else if (rc == 0 && ((list != NULL) + (query != NULL) + (script != NULL)) > 1) {
        rc = mig_fail(ctx, MIG_ECONFIG, "[tenants]: give one of list, query and script");
    } else if (rc == 0 && list) {
        rc = split_list(ctx, list, out);
    } else if (rc == 0 && query) {
        rc = tenants_from_query(ctx, query, out);
    } else if (rc == 0 && script) {
        char *path = mig_path_join(mig_config_dir(ctx->cfg), script);
        rc = path ? mig_tenant_script(ctx, path, out) : mig_fail(ctx, MIG_ENOMEM, "out of memory");
        free(path);
    }
    free(list);
    free(query);
    free(script);
    /* the first of equal names keeps its place (a list of 100,000 took 12 s checked name by name) */
    if (rc == 0 && mig_strvec_dedup(out) < 0)
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    if (rc == 0 && out->n == 0)
        rc = mig_fail(ctx, MIG_ECONFIG, "no tenants: the [tenants] source gave an empty list");
    return rc;
}

static int jobs_of(mig_ctx *ctx, int *out)
{
    long j = ctx->opts.jobs;
    if (j <= 0) {
        int rc = mig_config_get_int(ctx->cfg, ctx, "tenants", "jobs", 1, &j);
        if (rc)
            return rc;
        if (j < 1 || j > 1024)
            return mig_fail(ctx, MIG_ECONFIG, "[tenants] jobs = %ld: expected 1 to 1024", j);
    }
    *out = (int)j;
    return 0;
}

/* ---- a worker's connections ---- */

int mig_tenant_conns_apply(mig_ctx *ctx, const mig_plugin *plugin, int db_tenant)
{
    return ctx->conns && ctx->tenant && !db_tenant && (plugin->driver->caps & MIG_CAP_SCHEMAS) &&
           MIG_DRIVER_HAS(plugin->driver, reset);
}

int mig_tenant_work_db(mig_ctx *ctx, mig_session *s)
{
    mig_tenant_conns *tc = ctx->conns;
    if (tc->work && !tc->work->broken && mig_db_reset(tc->work, ctx) == 0) {
        s->db = tc->work;
        s->pooled = &tc->work;
        return 0;
    }
    if (tc->work) {
        /* gone (a server restart, an idle timeout): a new one does as well */
        mig_error_clear(ctx);
        mig_db_close(tc->work);
        tc->work = NULL;
    }
    int rc = mig_db_connect(&tc->work, ctx, s->plugin, s->url, s->base_dir);
    if (rc == 0) {
        s->db = tc->work;
        s->pooled = &tc->work;
    }
    return rc;
}

int mig_tenant_lock_db(mig_ctx *ctx, const mig_session *s, mig_db **out, int *pooled)
{
    *pooled = 0;
    if (!mig_tenant_conns_apply(ctx, s->plugin, s->db_tenant))
        return mig_db_connect(out, ctx, s->plugin, s->url, s->base_dir);
    mig_tenant_conns *tc = ctx->conns;
    if (tc->lock && tc->lock->broken) {
        mig_db_close(tc->lock);
        tc->lock = NULL;
    }
    int rc = tc->lock ? 0 : mig_db_connect(&tc->lock, ctx, s->plugin, s->url, s->base_dir);
    if (rc == 0) {
        *out = tc->lock;
        *pooled = 1;
    }
    return rc;
}

void mig_tenant_lock_db_done(mig_ctx *ctx, mig_db *db, int pooled, int held)
{
    if (!pooled) {
        mig_db_close(db);
        return;
    }
    /* a lock it may still hold would keep that tenant from every other process until we exit */
    if (db && (db->broken || held)) {
        mig_db_close(db);
        ctx->conns->lock = NULL;
    }
}

/* ---- the pool ---- */

typedef struct pool {
    mig_ctx *ctx;
    mig_tenant_op op;
    void *op_payload;
    unsigned flags; /* MIG_TENANT_* */
    mig_strvec names;
    size_t *queue; /* indexes still to run, revisits at the back */
    size_t qhead, qtail, qcap;
    int *state; /* 0 waiting, 1 running, 2 ended */
    double *busy_since;
    int stop;
    int failed;
    size_t ended;
    pthread_mutex_t mu;
} pool;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int reporting(const pool *p)
{
    return p->ctx->tenant_fn && !(p->flags & MIG_TENANT_NO_REPORT);
}

static void report(pool *p, const mig_tenant_report *r)
{
    if (reporting(p))
        p->ctx->tenant_fn(p->ctx->tenant_payload, r);
}

/* Take the next tenant to run; -1 when none is left for this worker. */
static long take(pool *p, int *revisit)
{
    for (;;) {
        pthread_mutex_lock(&p->mu);
        if (p->stop || p->qhead == p->qtail) {
            pthread_mutex_unlock(&p->mu);
            return -1;
        }
        size_t i = p->queue[p->qhead % p->qcap];
        p->qhead++;
        *revisit = p->busy_since[i] > 0;
        p->state[i] = 1;
        pthread_mutex_unlock(&p->mu);
        return (long)i;
    }
}

static void *worker(void *arg)
{
    pool *p = arg;
    mig_tenant_conns conns = { NULL, NULL };
    int revisit = 0;
    long i;
    /* a cancelled run starts no more tenants: they are reported "not started" */
    while (!mig_cancel_level(p->ctx) && (i = take(p, &revisit)) >= 0) {
        const char *name = p->names.v[i];
        if (revisit) {
            /* another process holds it: give that run time to finish */
            struct timespec ts = { 0, 100 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
        mig_ctx *child = NULL;
        double t0 = now_s();
        int rc = mig_ctx_child(&child, p->ctx, name);
        if (rc == 0) {
            child->lock_try_only = 1;
            child->conns = &conns;
            rc = p->op(child, p->op_payload);
        }
        double ms = (now_s() - t0) * 1e3;
        if (rc == MIG_EBUSY && child) {
            pthread_mutex_lock(&p->mu);
            if (p->busy_since[i] == 0)
                p->busy_since[i] = now_s();
            double waited = now_s() - p->busy_since[i];
            if (waited < p->ctx->opts.lock_timeout) {
                p->queue[p->qtail % p->qcap] = (size_t)i;
                p->qtail++;
                p->state[i] = 0;
                pthread_mutex_unlock(&p->mu);
                mig_ctx_free(child);
                continue;
            }
            pthread_mutex_unlock(&p->mu);
        }
        mig_tenant_report r;
        memset(&r, 0, sizeof r);
        r.tenant = name;
        r.index = (size_t)i;
        r.total = p->names.n;
        r.duration_ms = ms;
        r.from = child ? mig_buf_cstr(&child->run_from) : "";
        r.to = child ? mig_buf_cstr(&child->run_to) : "";
        r.steps = child ? child->run_steps : 0;
        r.error = "";
        if (rc == 0) {
            /* nothing to do for this tenant: it was already there */
            r.status = r.steps ? "ok" : "skipped";
        } else {
            r.status = "failed";
            r.error = child ? mig_last_error(child)->message : "out of memory";
            r.detail = child ? mig_last_error(child)->detail : NULL;
        }
        pthread_mutex_lock(&p->mu);
        p->state[i] = 2;
        p->ended++;
        r.ended = p->ended;
        if (rc != 0) {
            p->failed++;
            if (!p->ctx->opts.keep_going && !(p->flags & MIG_TENANT_KEEP_GOING))
                p->stop = 1;
        }
        report(p, &r);
        pthread_mutex_unlock(&p->mu);
        mig_ctx_free(child);
    }
    mig_db_close(conns.work);
    mig_db_close(conns.lock);
    return NULL;
}

/*
 * Schema tenants on a driver without schemas cannot run at all: one
 * configuration error before any tenant starts, not a failure per tenant.
 * What cannot be resolved here (no driver, no URL) is left to each tenant.
 */
int mig_tenant_check_schemas(mig_ctx *ctx)
{
    const mig_plugin *plugin = NULL;
    char *url = NULL;
    if (mig_ctx_plugin(ctx, &plugin) != 0 || mig_ctx_url(ctx, &url) != 0) {
        mig_error_clear(ctx);
        mig_url_free(url);
        return 0;
    }
    int db_tenants = url && mig_url_has_tenant(url);
    mig_url_free(url);
    if (db_tenants || (plugin->driver->caps & MIG_CAP_SCHEMAS))
        return 0;
    int rc = mig_fail(ctx, MIG_ECONFIG, "driver '%s' has no schemas, so a tenant cannot be a schema",
                      plugin->driver->name);
    mig_error_hint(ctx, "put {tenant} in the URL for a database per tenant (sqlite:tenants/{tenant}.db)");
    return rc;
}

/* A tenant that never started: its heads as the database holds them; NULL when they cannot be read. */
static char *read_heads(mig_ctx *ctx, const char *tenant)
{
    mig_ctx *child = NULL;
    mig_session s;
    mig_strvec heads = MIG_STRVEC_INIT;
    int missing = 0;
    char *out = NULL;
    int rc = mig_ctx_child(&child, ctx, tenant);
    if (rc == 0)
        rc = mig_session_open_ro(&s, child, &missing);
    if (rc == 0) {
        if (!missing)
            rc = mig_state_read_heads(&s.st, child, s.db, &heads);
        mig_session_close(&s);
    }
    if (rc == 0) {
        mig_buf b = MIG_BUF_INIT;
        for (size_t i = 0; i < heads.n; i++)
            mig_buf_printf(&b, "%s%s", i ? " " : "", heads.v[i]);
        out = b.oom ? NULL : mig_strdup(mig_buf_cstr(&b));
        mig_buf_release(&b);
    }
    mig_strvec_release(&heads);
    mig_ctx_free(child);
    return out;
}

/* ---- tenants already at head, read in batches ---- */

/* Tenants per read: a few hundred keeps each query's text and plan small. */
#define HEADS_BATCH 500

typedef struct at_head {
    size_t *idx; /* the batch's tenants, by index into the pool's names */
    size_t n;
    char *eligible; /* per batch slot: has a version table and a scoped history */
    int *rows;      /* head rows read */
    char *behind;   /* some row is not head, or a revision failed part-way there */
} at_head;

static int batch_params(mig_buf *sql, size_t n)
{
    for (size_t k = 0; k < n; k++)
        mig_buf_puts(sql, k ? ", ?" : "?");
    return sql->oom ? -1 : 0;
}

/* Which of the batch's schemas hold the version table and a history table scoped by it. */
static int batch_eligible(pool *p, mig_db *db, at_head *b, const char *vt)
{
    mig_ctx *ctx = p->ctx;
    mig_buf sql = MIG_BUF_INIT;
    mig_buf_puts(&sql,
                 "SELECT table_schema, table_name FROM information_schema.columns WHERE table_schema IN (");
    batch_params(&sql, b->n);
    mig_buf_puts(&sql, ") AND ((table_name = ? AND column_name = 'version_num') OR "
                       "(table_name = ? AND column_name = 'version_table'))");
    mig_value *v = calloc(b->n + 2, sizeof *v);
    char *has_vt = calloc(b->n, 1);
    if (sql.oom || !v || !has_vt) {
        mig_buf_release(&sql);
        free(v);
        free(has_vt);
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < b->n; k++)
        v[k] = mig_value_text(p->names.v[b->idx[k]]);
    v[b->n] = mig_value_text(vt);
    v[b->n + 1] = mig_value_text(MIG_HISTORY_TABLE);
    mig_cursor *cur = NULL;
    int rc = mig_db_query(&cur, db, ctx, mig_buf_cstr(&sql), v, (int)b->n + 2);
    while (rc == 0) {
        const mig_row *row = NULL;
        rc = mig_db_fetch(cur, db, ctx, &row);
        if (rc || row == NULL)
            break;
        if (row->ncols < 2 || row->values[0].type != MIG_VAL_TEXT || row->values[1].type != MIG_VAL_TEXT)
            continue;
        const mig_value *s = &row->values[0], *t = &row->values[1];
        int is_vt = t->u.s.len == strlen(vt) && memcmp(t->u.s.ptr, vt, t->u.s.len) == 0;
        /* a name that matches none exactly (case folded) is simply not skipped */
        for (size_t k = 0; k < b->n; k++) {
            const char *name = p->names.v[b->idx[k]];
            if (strlen(name) != s->u.s.len || memcmp(name, s->u.s.ptr, s->u.s.len) != 0)
                continue;
            if (is_vt)
                has_vt[k] = 1;
            else
                b->eligible[k] = 1; /* the history table has its version_table column */
            break;
        }
    }
    mig_db_cursor_close(db, cur);
    for (size_t k = 0; k < b->n; k++)
        b->eligible[k] = b->eligible[k] && has_vt[k];
    mig_buf_release(&sql);
    free(v);
    free(has_vt);
    return rc;
}

/*
 * Every eligible schema's heads in one query, each row with its batch slot,
 * and a row for each revision in its history that failed part-way: such a
 * tenant runs as usual, where `upgrade` refuses it if that failure is still
 * its newest row (a failure settled since only costs it the skip). Asking
 * for the newest row alone, a subquery per schema, took ten times as long
 * to plan at 500 schemas.
 */
static int batch_heads(pool *p, mig_db *db, at_head *b, const char *vt, const char *head)
{
    mig_ctx *ctx = p->ctx;
    const mig_plugin *plugin = ctx->plugin;
    mig_buf sql = MIG_BUF_INIT;
    char *qvt = mig_plugin_quote_ident(plugin, vt),
         *qh = mig_plugin_quote_ident(plugin, MIG_HISTORY_TABLE);
    size_t nparams = 0;
    for (size_t k = 0; qvt && qh && k < b->n; k++) {
        if (!b->eligible[k])
            continue;
        char *qs = mig_plugin_quote_ident(plugin, p->names.v[b->idx[k]]);
        if (qs == NULL) {
            sql.oom = 1;
            break;
        }
        mig_buf_printf(&sql,
                       "%sSELECT %zu, version_num, 0 FROM %s.%s UNION ALL SELECT %zu, NULL, 1 FROM %s.%s "
                       "WHERE version_table = ? AND state = 'failed' AND statements_applied > 0",
                       nparams ? " UNION ALL " : "", k, qs, qvt, k, qs, qh);
        nparams++;
        free(qs);
    }
    free(qvt);
    free(qh);
    if (nparams == 0 || sql.oom) {
        int oom = sql.oom || !qvt || !qh;
        mig_buf_release(&sql);
        return oom ? mig_fail(ctx, MIG_ENOMEM, "out of memory") : 0;
    }
    mig_value *v = calloc(nparams, sizeof *v);
    if (v == NULL) {
        mig_buf_release(&sql);
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < nparams; k++)
        v[k] = mig_value_text(vt);
    mig_cursor *cur = NULL;
    int rc = mig_db_query(&cur, db, ctx, mig_buf_cstr(&sql), v, (int)nparams);
    while (rc == 0) {
        const mig_row *row = NULL;
        rc = mig_db_fetch(cur, db, ctx, &row);
        if (rc || row == NULL)
            break;
        if (row->ncols < 3 || row->values[0].type != MIG_VAL_INT || row->values[0].u.i < 0 ||
            (size_t)row->values[0].u.i >= b->n)
            continue;
        size_t k = (size_t)row->values[0].u.i;
        const mig_value *ver = &row->values[1], *failed = &row->values[2];
        if (!(failed->type == MIG_VAL_INT && failed->u.i == 0)) {
            b->behind[k] = 1;
            continue;
        }
        b->rows[k]++;
        if (ver->type != MIG_VAL_TEXT || ver->u.s.len != strlen(head) ||
            memcmp(ver->u.s.ptr, head, ver->u.s.len) != 0)
            b->behind[k] = 1;
    }
    mig_db_cursor_close(db, cur);
    mig_buf_release(&sql);
    free(v);
    return rc;
}

/*
 * Report the tenants already at head as skipped, as their own run would
 * (it reads the same and finds nothing to do), without one. Best effort:
 * a read that fails (a schema dropped meanwhile, no rights on the
 * catalogue) leaves its tenants to run as usual.
 */
static void skip_at_head(pool *p, const char *head)
{
    mig_ctx *ctx = p->ctx;
    char *url = NULL;
    const char *vt = NULL;
    if (mig_ctx_url(ctx, &url) != 0 || mig_ctx_version_table(ctx, &vt) != 0 || !ctx->plugin ||
        !(ctx->plugin->driver->caps & MIG_CAP_SCHEMAS) || (url && mig_url_has_tenant(url))) {
        mig_url_free(url);
        mig_error_clear(ctx);
        return;
    }
    mig_url_free(url);
    mig_session s;
    if (mig_session_open(&s, ctx) != 0) {
        mig_error_clear(ctx);
        return;
    }
    at_head b;
    memset(&b, 0, sizeof b);
    b.idx = calloc(HEADS_BATCH, sizeof *b.idx);
    b.eligible = calloc(HEADS_BATCH, 1);
    b.rows = calloc(HEADS_BATCH, sizeof *b.rows);
    b.behind = calloc(HEADS_BATCH, 1);
    for (size_t start = 0; b.idx && b.eligible && b.rows && b.behind && start < p->names.n;
         start += HEADS_BATCH) {
        b.n = p->names.n - start < HEADS_BATCH ? p->names.n - start : HEADS_BATCH;
        for (size_t k = 0; k < b.n; k++) {
            b.idx[k] = start + k;
            b.eligible[k] = 0;
            b.rows[k] = 0;
            b.behind[k] = 0;
        }
        /*
         * Where every schema has its tables (a rerun), one query per batch;
         * a schema without them fails it, and the catalogue says which have.
         */
        memset(b.eligible, 1, b.n);
        int rc = batch_heads(p, s.db, &b, vt, head);
        if (rc != 0 && !s.db->broken) {
            mig_error_clear(ctx);
            memset(b.eligible, 0, b.n);
            memset(b.rows, 0, b.n * sizeof *b.rows);
            memset(b.behind, 0, b.n);
            rc = batch_eligible(p, s.db, &b, vt);
            if (rc == 0)
                rc = batch_heads(p, s.db, &b, vt, head);
        }
        if (rc != 0) {
            mig_error_clear(ctx);
            if (s.db->broken)
                break;
            continue;
        }
        for (size_t k = 0; k < b.n; k++) {
            if (!b.eligible[k] || b.rows[k] != 1 || b.behind[k])
                continue;
            size_t i = b.idx[k];
            mig_tenant_report r;
            memset(&r, 0, sizeof r);
            r.tenant = p->names.v[i];
            r.index = i;
            r.total = p->names.n;
            r.from = head;
            r.to = head;
            r.status = "skipped";
            r.error = "";
            p->state[i] = 2;
            p->ended++;
            r.ended = p->ended;
            report(p, &r);
        }
    }
    free(b.idx);
    free(b.eligible);
    free(b.rows);
    free(b.behind);
    mig_session_close(&s);
}

static int foreach_impl(mig_ctx *ctx, mig_tenant_op op, void *payload, unsigned flags, const char *head);

int mig_tenant_foreach(mig_ctx *ctx, mig_tenant_op op, void *payload, unsigned flags)
{
    return foreach_impl(ctx, op, payload, flags, NULL);
}

int mig_tenant_foreach_upgrade(mig_ctx *ctx, mig_tenant_op op, void *payload, const char *head)
{
    return foreach_impl(ctx, op, payload, 0, head);
}

static int foreach_impl(mig_ctx *ctx, mig_tenant_op op, void *payload, unsigned flags, const char *head)
{
    pool p;
    memset(&p, 0, sizeof p);
    p.ctx = ctx;
    p.op = op;
    p.op_payload = payload;
    p.flags = flags;
    int jobs = 1;
    int rc = mig_tenants_resolve(ctx, &p.names);
    /* a name the server would cut short could be another tenant's: refuse before any runs */
    for (size_t i = 0; rc == 0 && ctx->plugin && i < p.names.n; i++)
        rc = mig_check_tenant_name(ctx, ctx->plugin, p.names.v[i]);
    if (rc == 0)
        rc = jobs_of(ctx, &jobs);
    if (rc == 0)
        rc = mig_tenant_check_schemas(ctx);
    if (rc) {
        mig_strvec_release(&p.names);
        return rc;
    }
    /* a queue long enough for each tenant plus its revisits in flight */
    p.qcap = p.names.n * 2 + 1;
    p.queue = calloc(p.qcap, sizeof *p.queue);
    p.state = calloc(p.names.n, sizeof *p.state);
    p.busy_since = calloc(p.names.n, sizeof *p.busy_since);
    if (!p.queue || !p.state || !p.busy_since) {
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        goto out;
    }
    if (head)
        skip_at_head(&p, head);
    for (size_t i = 0; i < p.names.n; i++)
        if (p.state[i] == 0)
            p.queue[p.qtail++] = i;
    pthread_mutex_init(&p.mu, NULL);
    if ((size_t)jobs > p.names.n)
        jobs = (int)p.names.n;
    pthread_t *th = calloc((size_t)jobs, sizeof *th);
    int started = 0;
    if (th) {
        for (; started < jobs; started++)
            if (pthread_create(&th[started], NULL, worker, &p) != 0)
                break;
    }
    if (started == 0)
        worker(&p); /* no thread could start: run them here, one by one */
    for (int t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    free(th);
    pthread_mutex_destroy(&p.mu);
    /* tenants never started, in their order, where they stand (read only when reported) */
    for (size_t i = 0; i < p.names.n; i++) {
        if (p.state[i] == 2)
            continue;
        char *heads = reporting(&p) ? read_heads(ctx, p.names.v[i]) : NULL;
        mig_tenant_report r = { p.names.v[i], heads, heads,     0,      "not started", "", 0,
                                NULL,         i,     p.names.n, p.ended };
        report(&p, &r);
        free(heads);
    }
    if (p.failed)
        rc = mig_fail(ctx, MIG_EFAIL, "%d of %zu tenants failed", p.failed, p.names.n);
out:
    free(p.queue);
    free(p.state);
    free(p.busy_since);
    mig_strvec_release(&p.names);
    return rc;
}

/* ---- status of every tenant (current, tenants) ---- */

typedef struct status_args {
    mig_tenant_status_fn fn;
    void *payload;
    pthread_mutex_t mu;
} status_args;

static int status_tenant(mig_ctx *child, void *payload)
{
    status_args *a = payload;
    mig_session s;
    mig_strvec heads = MIG_STRVEC_INIT;
    size_t pending = 0;
    int missing = 0;
    int rc = mig_session_open_ro(&s, child, &missing);
    if (rc == 0) {
        if (!missing)
            rc = mig_state_read_heads(&s.st, child, s.db, &heads);
        mig_session_close(&s);
    }
    if (rc == 0)
        rc = mig_graph_pending(&pending, child, child->graph, (const char *const *)heads.v, heads.n);
    static const char *const none[] = { NULL };
    mig_tenant_status st = { child->tenant, heads.n ? (const char *const *)heads.v : none, pending,
                             rc ? mig_last_error(child)->message : NULL };
    pthread_mutex_lock(&a->mu);
    a->fn(a->payload, &st);
    pthread_mutex_unlock(&a->mu);
    mig_buf_clear(&child->run_from);
    for (size_t i = 0; i < heads.n; i++)
        mig_buf_printf(&child->run_from, "%s%s", i ? " " : "", heads.v[i]);
    mig_buf_puts(&child->run_to, mig_buf_cstr(&child->run_from));
    mig_strvec_release(&heads);
    return rc;
}

int mig_tenants_status(mig_ctx *ctx, mig_tenant_status_fn fn, void *payload)
{
    mig_error_clear(ctx);
    int rc = mig_ctx_prepare_shared(ctx);
    if (rc)
        return rc;
    if (!mig_has_tenants(ctx)) {
        rc = mig_fail(ctx, MIG_EUSAGE, "no tenants: give --tenant NAME or --all-tenants");
        return rc;
    }
    status_args a;
    a.fn = fn;
    a.payload = payload;
    pthread_mutex_init(&a.mu, NULL);
    /* reading never stops early: every tenant's state is wanted */
    rc = mig_tenant_foreach(ctx, status_tenant, &a, MIG_TENANT_KEEP_GOING | MIG_TENANT_NO_REPORT);
    pthread_mutex_destroy(&a.mu);
    return rc;
}
