/*
 * mig check: the CI gate. Reports every problem it finds rather than the
 * first, so one run tells a developer all that is wrong.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "autogen.h"
#include "rules.h"
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

static void report_at(mig_check_fn fn, void *payload, const char *kind, const mig_rev *rev,
                      const char *msg, int *problems)
{
    mig_check_problem p = { kind, rev ? rev->id : "", msg, rev ? rev->path : "", "error", "" };
    (*problems)++;
    if (fn)
        fn(payload, &p);
}

static void report(mig_check_fn fn, void *payload, const char *kind, const char *rev, const char *msg,
                   int *problems)
{
    mig_check_problem p = { kind, rev ? rev : "", msg, "", "error", "" };
    (*problems)++;
    if (fn)
        fn(payload, &p);
}

static int check_one(mig_ctx *ctx, unsigned flags, mig_check_fn fn, void *payload);
static void check_rules(mig_ctx *ctx, const mig_graph *g, const mig_dialect *d, unsigned flags,
                        mig_check_fn fn, void *payload, int *problems);

typedef struct check_args {
    mig_check_fn fn;
    void *payload;
    pthread_mutex_t mu;
    unsigned flags;
} check_args;

typedef struct tenant_problem {
    check_args *a;
    const char *tenant;
} tenant_problem;

static void tenant_report(void *payload, const mig_check_problem *p)
{
    tenant_problem *tp = payload;
    char *m = mig_aprintf("tenant %s: %s", tp->tenant, p->message);
    mig_check_problem q = { p->kind, p->revision, m ? m : p->message, p->path, p->level, p->rule };
    pthread_mutex_lock(&tp->a->mu);
    if (tp->a->fn)
        tp->a->fn(tp->a->payload, &q);
    pthread_mutex_unlock(&tp->a->mu);
    free(m);
}

static int check_tenant(mig_ctx *child, void *payload)
{
    tenant_problem tp = { payload, child->tenant };
    return check_one(child, tp.a->flags, tenant_report, &tp);
}

int mig_check(mig_ctx *ctx, mig_check_fn fn, void *payload)
{
    return mig_check_ex(ctx, 0, fn, payload);
}

int mig_check_ex(mig_ctx *ctx, unsigned flags, mig_check_fn fn, void *payload)
{
    mig_error_clear(ctx);
    if (!mig_has_tenants(ctx) || ctx->tenant)
        return check_one(ctx, flags, fn, payload);
    int rc = mig_ctx_prepare_shared(ctx);
    if (rc)
        return rc;
    check_args a = { fn, payload, PTHREAD_MUTEX_INITIALIZER, flags };
    /* every tenant is checked; what it finds goes to fn, not to the tenant callback */
    rc = mig_tenant_foreach(ctx, check_tenant, &a, MIG_TENANT_KEEP_GOING | MIG_TENANT_NO_REPORT);
    mig_graph *g = NULL;
    const mig_plugin *plugin = NULL;
    int problems = 0;
    if ((rc == 0 || rc == MIG_EFAIL) && mig_ctx_graph(ctx, &g) == 0 && mig_ctx_plugin(ctx, &plugin) == 0)
        check_rules(ctx, g, plugin->driver->dialect, flags, fn, payload, &problems);
    if (rc == 0 && problems)
        return mig_fail(ctx, MIG_ECHECK, "check found %d problem%s", problems, problems == 1 ? "" : "s");
    if (rc == MIG_EFAIL)
        return mig_fail(ctx, MIG_ECHECK, "check found problems in some tenants");
    return rc;
}

/*
 * With an [autogenerate] target: each difference between the live schema
 * and the target is a problem of kind "drift", said the way autogenerate
 * would change the database to match the target.
 */
static int check_drift(mig_ctx *ctx, mig_session *s, mig_check_fn fn, void *payload, int *problems)
{
    mig_schema *live = NULL, *target = NULL;
    mig_changes ch = MIG_CHANGES_INIT;
    int configured = 0;
    int rc = mig_autogen_load(ctx, s, &configured, &live, &target);
    if (rc == 0 && configured)
        rc = mig_autogen_diff(&ch, ctx, live, target);
    for (size_t i = 0; rc == 0 && i < ch.n; i++) {
        mig_buf b = MIG_BUF_INIT;
        mig_buf_puts(&b, "schema differs from the target: ");
        mig_autogen_describe(&b, &ch.v[i].c);
        report(fn, payload, "drift", NULL, mig_buf_cstr(&b), problems);
        mig_buf_release(&b);
    }
    mig_changes_release(&ch);
    mig_schema_free(live);
    mig_schema_free(target);
    return rc;
}

/*
 * The revision-file rules, as warnings: a problem only with
 * MIG_CHECK_STRICT. Files that cannot be read are the graph's business.
 */
static void check_rules(mig_ctx *ctx, const mig_graph *g, const mig_dialect *d, unsigned flags,
                        mig_check_fn fn, void *payload, int *problems)
{
    for (size_t i = 0; i < mig_graph_count(g); i++) {
        const mig_rev *rev = mig_graph_at(g, i);
        mig_revbody b;
        if (rev->is_lua || mig_revfile_load_body(&b, ctx, rev) != 0) {
            mig_error_clear(ctx);
            continue;
        }
        if (mig_rule_empty_downgrade_hits(rev, &b, d)) {
            mig_buf m = MIG_BUF_INIT;
            mig_rule_empty_downgrade_say(&m, rev);
            mig_buf_printf(&m, " (%s): downgrading through it undoes nothing", rev->path);
            mig_check_problem p = {
                mig_rule_empty_downgrade.name, rev->id, mig_buf_cstr(&m), rev->path, "warning",
                mig_rule_empty_downgrade.id
            };
            if (flags & MIG_CHECK_STRICT)
                (*problems)++;
            if (fn)
                fn(payload, &p);
            mig_buf_release(&m);
        }
        mig_revbody_release(&b);
    }
}

/*
 * Each pending revision by name (applied[i] == 0), oldest first, as
 * upgrade would apply them.
 *
 * Between the two steps of a deploy (upgrade --expand, then upgrade)
 * the contract revisions are pending by design; they are pending all
 * the same, errors like the others, but each says it waits for the
 * contract step so the report reads as the expected state it is.
 */
static int check_pending(mig_ctx *ctx, const mig_graph *g, const mig_strvec *heads,
                         const unsigned char *applied, mig_check_fn fn, void *payload, int *problems)
{
    int rc = 0;
    unsigned char *held = calloc(mig_graph_count(g) + 1, 1);
    if (held == NULL)
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    else if (mig_graph_held_back(held, ctx, g, (const char *const *)heads->v, heads->n) != 0)
        rc = mig_last_error(ctx)->code == MIG_ENOMEM ? MIG_ENOMEM : 0;
    for (size_t i = 0; rc == 0 && i < mig_graph_count(g); i++) {
        const mig_rev *rev = mig_graph_at(g, i);
        if (applied[i])
            continue;
        const char *msg = rev->message && *rev->message ? rev->message : "(no message)";
        char *m = !held[i] ? mig_aprintf("not applied: %s", msg)
                  : rev->contract
                      ? mig_aprintf("not applied: %s (contract revision: held back by `upgrade --expand` "
                                    "until the new version of the application is live)",
                                    msg)
                      : mig_aprintf("not applied: %s (stands on a contract revision: held back by "
                                    "`upgrade --expand`)",
                                    msg);
        report_at(fn, payload, "pending", rev, m ? m : "not applied", problems);
        free(m);
    }
    free(held);
    return rc;
}

/* Applied revisions whose file changed since: another checksum, or unreadable now. */
static void check_changed(mig_ctx *ctx, const mig_graph *g, const applied_sum *a,
                          const unsigned char *applied, mig_check_fn fn, void *payload, int *problems)
{
    for (size_t i = 0; i < a->revs.n; i++) {
        const mig_rev *rev = NULL;
        if (mig_graph_find(&rev, ctx, g, a->revs.v[i]) != 0 || strcmp(rev->id, a->revs.v[i]) != 0) {
            mig_error_clear(ctx);
            continue;
        }
        if (!applied[mig_graph_index(g, rev)]) /* NOLINT(clang-analyzer-core.NullDereference) */
            continue;
        mig_revbody b;
        if (mig_revfile_load_body(&b, ctx, rev) != 0) {
            report_at(fn, payload, "changed", rev, mig_last_error(ctx)->message, problems);
            mig_error_clear(ctx);
            continue;
        }
        if (strcmp(b.checksum, a->sums.v[i]) != 0) {
            char *m = mig_aprintf("%s changed since it was applied (checksum %.12s, applied %.12s)",
                                  rev->path, b.checksum, a->sums.v[i]);
            report_at(fn, payload, "changed", rev, m ? m : "changed since applied", problems);
            free(m);
        }
        mig_revbody_release(&b);
    }
}

static int check_one(mig_ctx *ctx, unsigned flags, mig_check_fn fn, void *payload)
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
    /* several heads are a valid graph (branches, LABEL@head): pending covers an unapplied one */
    mig_session s;
    int missing = 0;
    rc = mig_session_open_ro(&s, ctx, &missing);
    if (rc)
        return rc;
    mig_strvec heads = MIG_STRVEC_INIT;
    applied_sum a = { MIG_STRVEC_INIT, MIG_STRVEC_INIT };
    mig_failed f;
    int found = 0;
    memset(&f, 0, sizeof f);
    if (!missing)
        rc = mig_state_read_heads(&s.st, ctx, s.db, &heads);
    if (rc == 0 && !missing)
        rc = mig_state_find_failed(&s.st, ctx, s.db, &f, &found);
    if (rc == 0 && found) {
        char *m = mig_aprintf("revision %s failed part-way (%lld statement(s) applied): "
                              "resume with `mig upgrade --resume` or settle with `mig stamp`",
                              f.revision, (long long)f.statements_applied);
        report(fn, payload, "failed", f.revision, m ? m : "failed part-way", &problems);
        free(m);
    }
    if (rc == 0 && !missing)
        rc = mig_state_read_history(&s.st, ctx, s.db, collect, &a);
    if (rc == 0)
        rc = check_drift(ctx, &s, fn, payload, &problems);
    mig_session_close(&s);

    size_t pending = 0;
    if (rc == 0) {
        rc = mig_graph_pending(&pending, ctx, g, (const char *const *)heads.v, heads.n);
        if (rc == MIG_ETARGET) {
            /* the database is at a revision no file declares: a difference to report, not bad input */
            report(fn, payload, "unknown", NULL, mig_last_error(ctx)->message, &problems);
            mig_error_clear(ctx);
            rc = 0;
        }
    }
    /* what is applied: pending revisions are the others, and only applied files can have changed */
    unsigned char *applied = NULL;
    int applied_known = 0;
    if (rc == 0) {
        applied = calloc(mig_graph_count(g) + 1, 1);
        if (applied == NULL)
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        else if (mig_graph_applied(applied, ctx, g, (const char *const *)heads.v, heads.n) != 0)
            memset(applied, 0, mig_graph_count(g)); /* unknown heads: reported above */
        else
            applied_known = 1;
        mig_error_clear(ctx);
    }
    if (rc == 0 && applied_known && pending)
        rc = check_pending(ctx, g, &heads, applied, fn, payload, &problems);
    if (rc == 0)
        check_changed(ctx, g, &a, applied, fn, payload, &problems);
    free(applied);
    /* the rules are the files' business: said once, not once per tenant, after the problems */
    const mig_plugin *plugin = NULL;
    if (rc == 0 && ctx->parent == NULL && mig_ctx_plugin(ctx, &plugin) == 0)
        check_rules(ctx, g, plugin->driver->dialect, flags, fn, payload, &problems);
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
