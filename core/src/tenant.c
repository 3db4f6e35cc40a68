/*
 * Tenants: which there are, and running an operation once per tenant,
 * -j at a time, each on its own connection in its own child context.
 *
 * Coordination across processes and hosts is the database's: each
 * tenant's run takes that tenant's own lock with a single try. A tenant
 * another process holds is put back in the queue and revisited later
 * (when that process is done, the revisit finds it current), so every
 * tenant is migrated exactly once however many processes share the list.
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
                             (unsigned)v->type < sizeof kinds / sizeof *kinds ? kinds[v->type] : "no text");
        else if (memchr(v->u.s.ptr, '\0', v->u.s.len) != NULL)
            rc = mig_fail_at(ctx, MIG_ECONFIG, mig_config_path(ctx->cfg), line,
                             "[tenants] query: row %zu holds a NUL byte, where the name would be cut short", nrow);
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
            rc = mig_fail(ctx, MIG_ECONFIG, "no tenants: no configuration file with a [tenants] list, query or script");
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

/* ---- the pool ---- */

typedef struct pool {
    mig_ctx         *ctx;
    mig_tenant_op    op;
    void            *op_payload;
    unsigned         flags;     /* MIG_TENANT_* */
    mig_strvec       names;
    size_t          *queue;     /* indexes still to run, revisits at the back */
    size_t           qhead, qtail, qcap;
    int             *state;     /* 0 waiting, 1 running, 2 ended */
    double          *busy_since;
    int              stop;
    int              failed;
    size_t           ended;
    pthread_mutex_t  mu;
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
    return NULL;
}

/*
 * Schema tenants on a driver without schemas cannot run at all: one
 * configuration error before any tenant starts, not a failure per tenant.
 * What cannot be resolved here (no driver, no URL) is left to each tenant.
 */
int mig_tenant_check_schemas(mig_ctx *ctx)
{
    const mig_drv *drv = NULL;
    char *url = NULL;
    if (mig_ctx_driver(ctx, &drv) != 0 || mig_ctx_url(ctx, &url) != 0) {
        mig_error_clear(ctx);
        mig_url_free(url);
        return 0;
    }
    int db_tenants = url && mig_url_has_tenant(url);
    mig_url_free(url);
    if (db_tenants || (drv->table->caps & MIG_CAP_SCHEMAS))
        return 0;
    int rc = mig_fail(ctx, MIG_ECONFIG, "driver '%s' has no schemas, so a tenant cannot be a schema",
                      drv->table->name);
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

int mig_tenant_foreach(mig_ctx *ctx, mig_tenant_op op, void *payload, unsigned flags)
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
    for (size_t i = 0; rc == 0 && ctx->drv && i < p.names.n; i++)
        rc = mig_check_tenant_name(ctx, ctx->drv, p.names.v[i]);
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
    for (size_t i = 0; i < p.names.n; i++)
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
        mig_tenant_report r = { p.names.v[i], heads, heads, 0, "not started", "", 0, NULL, i, p.names.n, p.ended };
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
    void                *payload;
    pthread_mutex_t      mu;
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
