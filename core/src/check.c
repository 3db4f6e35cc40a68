/*
 * mig check: the CI gate. Reports every problem it finds rather than the
 * first, so one run tells a developer all that is wrong.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "tenant.h"

typedef struct applied_sum {
    mig_strvec revs;
    mig_strvec sums;
} applied_sum;

static int collect(void *payload, const mig_row *row)
{
    applied_sum *a = payload;
    if (row->ncols < 7)
        return 0;
    const mig_value *rev = &row->values[0], *dir = &row->values[1], *sum = &row->values[2],
                    *state = &row->values[6];
    if (rev->type != MIG_VAL_TEXT || dir->type != MIG_VAL_TEXT || state->type != MIG_VAL_TEXT)
        return 0;
    if (sum->type != MIG_VAL_TEXT || sum->u.s.len != 64)
        return 0;
    if (dir->u.s.len == 9 && memcmp(dir->u.s.ptr, "downgrade", 9) == 0)
        return 0;
    char *r = mig_strndup(rev->u.s.ptr, rev->u.s.len);
    char *s = mig_strndup(sum->u.s.ptr, sum->u.s.len);
    if (r == NULL || s == NULL) {
        free(r);
        free(s);
        return MIG_ENOMEM;
    }
    /* the newest row wins: replace an older checksum of the same revision */
    for (size_t i = 0; i < a->revs.n; i++)
        if (strcmp(a->revs.v[i], r) == 0) {
            free(a->sums.v[i]);
            a->sums.v[i] = s;
            free(r);
            return 0;
        }
    if (mig_strvec_push_owned(&a->revs, r) < 0 || mig_strvec_push_owned(&a->sums, s) < 0)
        return MIG_ENOMEM;
    return 0;
}

static void report(mig_check_fn fn, void *payload, const char *kind, const char *rev, const char *msg,
                   int *problems)
{
    mig_check_problem p = { kind, rev ? rev : "", msg };
    (*problems)++;
    if (fn)
        fn(payload, &p);
}

static int check_one(mig_ctx *ctx, mig_check_fn fn, void *payload);

typedef struct check_args {
    mig_check_fn    fn;
    void           *payload;
    pthread_mutex_t mu;
} check_args;

typedef struct tenant_problem {
    check_args *a;
    const char *tenant;
} tenant_problem;

static void tenant_report(void *payload, const mig_check_problem *p)
{
    tenant_problem *tp = payload;
    char *m = mig_aprintf("tenant %s: %s", tp->tenant, p->message);
    mig_check_problem q = { p->kind, p->revision, m ? m : p->message };
    pthread_mutex_lock(&tp->a->mu);
    if (tp->a->fn)
        tp->a->fn(tp->a->payload, &q);
    pthread_mutex_unlock(&tp->a->mu);
    free(m);
}

static int check_tenant(mig_ctx *child, void *payload)
{
    tenant_problem tp = { payload, child->tenant };
    return check_one(child, tenant_report, &tp);
}

int mig_check(mig_ctx *ctx, mig_check_fn fn, void *payload)
{
    mig_error_clear(ctx);
    if (!mig_has_tenants(ctx) || ctx->tenant)
        return check_one(ctx, fn, payload);
    int rc = mig_ctx_prepare_shared(ctx);
    if (rc)
        return rc;
    check_args a = { fn, payload, PTHREAD_MUTEX_INITIALIZER };
    int keep = ctx->opts.keep_going;
    mig_tenant_fn tf = ctx->tenant_fn;
    ctx->opts.keep_going = 1;
    ctx->tenant_fn = NULL;
    rc = mig_tenant_foreach(ctx, check_tenant, &a);
    ctx->opts.keep_going = keep;
    ctx->tenant_fn = tf;
    if (rc == MIG_EFAIL)
        return mig_fail(ctx, MIG_ECHECK, "check found problems in some tenants");
    return rc;
}

static int check_one(mig_ctx *ctx, mig_check_fn fn, void *payload)
{
    int problems = 0;
    mig_graph *g = NULL;
    int rc = mig_ctx_graph(ctx, &g);
    if (rc == MIG_EREVFILE || rc == MIG_ETARGET) {
        report(fn, payload, "graph", NULL, mig_last_error(ctx)->message, &problems);
        return mig_fail(ctx, MIG_ECHECK, "check found 1 problem");
    }
    if (rc)
        return rc;
    if (mig_graph_nheads(g) > 1) {
        mig_buf b = MIG_BUF_INIT;
        mig_buf_printf(&b, "%zu heads:", mig_graph_nheads(g));
        for (size_t i = 0; i < mig_graph_nheads(g); i++)
            mig_buf_printf(&b, " %s", mig_graph_head(g, i)->id);
        mig_buf_puts(&b, "; join them with `mig merge`");
        report(fn, payload, "heads", NULL, mig_buf_cstr(&b), &problems);
        mig_buf_release(&b);
    }

    mig_session s;
    rc = mig_session_open(&s, ctx);
    if (rc)
        return rc;
    mig_strvec heads = MIG_STRVEC_INIT;
    applied_sum a = { MIG_STRVEC_INIT, MIG_STRVEC_INIT };
    mig_failed f;
    int found = 0;
    memset(&f, 0, sizeof f);
    rc = mig_state_read_heads(&s.st, ctx, s.db, &heads);
    if (rc == 0)
        rc = mig_state_find_failed(&s.st, ctx, s.db, &f, &found);
    if (rc == 0 && found) {
        char *m = mig_aprintf("revision %s failed part-way (%lld statement(s) applied): "
                              "resume with `mig upgrade --resume` or settle with `mig stamp`",
                              f.revision, (long long)f.statements_applied);
        report(fn, payload, "failed", f.revision, m ? m : "failed part-way", &problems);
        free(m);
    }
    if (rc == 0)
        rc = mig_state_read_history(&s.st, ctx, s.db, collect, &a);
    mig_session_close(&s);

    size_t pending = 0;
    if (rc == 0)
        rc = mig_graph_pending(&pending, ctx, g, (const char *const *)heads.v, heads.n);
    if (rc == 0 && pending) {
        char *m = mig_aprintf("%zu revision(s) not applied", pending);
        report(fn, payload, "pending", NULL, m ? m : "revisions not applied", &problems);
        free(m);
    }
    /* files changed since they were applied: only what is still applied matters */
    unsigned char *applied = NULL;
    if (rc == 0 && a.revs.n) {
        applied = calloc(mig_graph_count(g) + 1, 1);
        if (applied == NULL)
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        else if (mig_graph_applied(applied, ctx, g, (const char *const *)heads.v, heads.n) != 0)
            memset(applied, 0, mig_graph_count(g)); /* unknown heads: pending reported them */
        mig_error_clear(ctx);
    }
    for (size_t i = 0; rc == 0 && i < a.revs.n; i++) {
        const mig_rev *rev = NULL;
        if (mig_graph_find(&rev, ctx, g, a.revs.v[i]) != 0 || strcmp(rev->id, a.revs.v[i]) != 0) {
            mig_error_clear(ctx);
            continue;
        }
        if (!applied[mig_graph_index(g, rev)])
            continue;
        mig_revbody b;
        if (mig_revfile_load_body(&b, ctx, rev) != 0) {
            report(fn, payload, "changed", rev->id, mig_last_error(ctx)->message, &problems);
            mig_error_clear(ctx);
            continue;
        }
        if (strcmp(b.checksum, a.sums.v[i]) != 0) {
            char *m = mig_aprintf("%s changed since it was applied (checksum %.12s, applied %.12s)",
                                  rev->path, b.checksum, a.sums.v[i]);
            report(fn, payload, "changed", rev->id, m ? m : "changed since applied", &problems);
            free(m);
        }
        mig_revbody_release(&b);
    }
    free(applied);
    mig_failed_release(&f);
    mig_strvec_release(&heads);
    mig_strvec_release(&a.revs);
    mig_strvec_release(&a.sums);
    if (rc)
        return rc;
    if (problems)
        return mig_fail(ctx, MIG_ECHECK, "check found %d problem%s", problems, problems == 1 ? "" : "s");
    return 0;
}
