/*
 * mig_cancel and the watcher that acts on it (see cancel.h).
 */
#include "cancel.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctx.h"
#include "drv.h"
#include "error.h"

#define WATCH_EVERY_MS 50

void mig_cancel(mig_ctx *ctx)
{
    if (ctx == NULL)
        return;
    /* a lock-free atomic: safe in a signal handler and from any thread */
    atomic_fetch_add(&ctx->cancel_req, 1);
}

int mig_cancel_level(const mig_ctx *ctx)
{
    int level = 0;
    for (; ctx; ctx = ctx->parent) {
        int v = atomic_load(&((mig_ctx *)ctx)->cancel_req);
        if (v > level)
            level = v;
    }
    return level;
}

int mig_cancel_now(const mig_ctx *ctx)
{
    int level = mig_cancel_level(ctx);
    return level >= 2 || (level == 1 && !ctx->in_batch);
}

int mig_cancel_check(mig_ctx *ctx)
{
    int level = mig_cancel_level(ctx);
    if (ctx->in_batch && level < 2)
        return 0;
    if (level > 0) {
        int rc = mig_fail(ctx, MIG_EFAIL, "cancelled: stopped before the next statement");
        mig_error_hint(ctx, "what the run had open was rolled back; run the same command again to go on");
        return rc;
    }
    pthread_mutex_lock(&ctx->run_mu);
    ctx->user_next = 1;
    pthread_mutex_unlock(&ctx->run_mu);
    return 0;
}

int mig_cancel_note(mig_ctx *ctx, int rc)
{
    if (rc == 0 || mig_cancel_level(ctx) == 0)
        return rc;
    const char *m = mig_buf_cstr(&ctx->err_message);
    if (strncmp(m, "cancelled", 9) != 0) {
        /* the database's own words ("canceling statement due to user request") say less */
        mig_buf b = MIG_BUF_INIT;
        mig_buf_printf(&b, "cancelled: %s", m);
        if (!b.oom) {
            mig_buf t = ctx->err_message;
            ctx->err_message = b;
            b = t;
        }
        mig_buf_release(&b);
    }
    return rc;
}

int mig_cancel_adopt(mig_ctx *parent, mig_ctx *child)
{
    pthread_mutex_lock(&parent->run_mu);
    int rc = 0;
    if (parent->nkids == parent->kids_cap) {
        size_t cap = parent->kids_cap ? parent->kids_cap * 2 : 8;
        mig_ctx **k = realloc(parent->kids, cap * sizeof *k);
        if (k == NULL)
            rc = MIG_ENOMEM;
        else {
            parent->kids = k;
            parent->kids_cap = cap;
        }
    }
    if (rc == 0)
        parent->kids[parent->nkids++] = child;
    pthread_mutex_unlock(&parent->run_mu);
    return rc;
}

void mig_cancel_orphan(mig_ctx *parent, mig_ctx *child)
{
    pthread_mutex_lock(&parent->run_mu);
    for (size_t i = 0; i < parent->nkids; i++)
        if (parent->kids[i] == child) {
            parent->kids[i] = parent->kids[--parent->nkids];
            break;
        }
    pthread_mutex_unlock(&parent->run_mu);
}

/* Level 1: the revision statement running now, once. Called with ctx->run_mu held. */
static void cancel_user_statement(mig_ctx *ctx)
{
    if (ctx->running && ctx->running_user) {
        ctx->running_user = 0;
        mig_db_cancel_locked(ctx->running);
    }
}

static void act(mig_ctx *ctx, int level)
{
    if (level >= 2)
        mig_ctx_cancel(ctx);
    pthread_mutex_lock(&ctx->run_mu);
    if (level == 1)
        cancel_user_statement(ctx);
    for (size_t i = 0; i < ctx->nkids; i++) {
        mig_ctx *k = ctx->kids[i];
        if (level >= 2) {
            /* mig_ctx_cancel takes the child's lock: the parent's keeps the child alive meanwhile */
            mig_ctx_cancel(k);
        } else {
            pthread_mutex_lock(&k->run_mu);
            cancel_user_statement(k);
            pthread_mutex_unlock(&k->run_mu);
        }
    }
    pthread_mutex_unlock(&ctx->run_mu);
}

static void *watch_main(void *arg)
{
    mig_cancel_watch *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->done) {
        int level = mig_cancel_level(w->ctx);
        if (level > 0)
            act(w->ctx, level); /* again each round: a statement may have begun since */
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += WATCH_EVERY_MS * 1000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->cv, &w->mu, &t);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

void mig_cancel_spent(mig_ctx *ctx)
{
    atomic_store(&ctx->cancel_req, 0);
    ctx->in_batch = 0; /* a batch left by a Lua error never said so */
    mig_ctx_cancel_clear(ctx);
}

void mig_cancel_watch_start(mig_cancel_watch *w, mig_ctx *ctx)
{
    memset(w, 0, sizeof *w);
    w->ctx = ctx;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->on = pthread_create(&w->th, NULL, watch_main, w) == 0;
}

void mig_cancel_watch_stop(mig_cancel_watch *w)
{
    if (w->on) {
        pthread_mutex_lock(&w->mu);
        w->done = 1;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->th, NULL);
    }
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    w->on = 0;
    mig_cancel_spent(w->ctx);
}
