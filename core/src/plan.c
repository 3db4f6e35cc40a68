/*
 * Planning: from the version table's rows and a resolved target, the
 * revisions to run in order and the version-table change of each step,
 * as Alembic makes them; also stamp, and the applied, pending and
 * held-back sets the commands show. A plan is a walk of the graph's marks
 * and touches no database.
 */
#include "graph.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "error.h"
#include "graph_int.h"

void mig_planner_release(planner *p)
{
    free(p->mark);
    free(p->stk);
    free(p->cur);
}

void mig_planner_clear(planner *p, unsigned char bit)
{
    for (size_t i = 0; i < p->g->n; i++)
        p->mark[i] &= (unsigned char)~bit;
}

int mig_planner_init(planner *p, mig_ctx *ctx, const mig_graph *g, const char *const *current,
                     size_t ncurrent)
{
    memset(p, 0, sizeof *p);
    p->ctx = ctx;
    p->g = g;
    p->mark = calloc(g->n ? g->n : 1, 1);
    p->stk = malloc((g->n ? g->n : 1) * sizeof *p->stk);
    p->cur = malloc((ncurrent ? ncurrent : 1) * sizeof *p->cur);
    if (!p->mark || !p->stk || !p->cur)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    const mig_rev *base = g->n ? &g->nodes[0].rev : NULL;
    for (size_t i = 0; i < ncurrent; i++) {
        size_t k = g->n ? mig_graph_find_exact(g->by_id, g->n, base, sizeof(gnode), current[i]) : NONE;
        if (k == NONE)
            return mig_graph_fail_unknown(ctx, current[i]);
        if (p->mark[k] & M_HEAD)
            continue;
        p->mark[k] |= M_HEAD;
        p->cur[p->ncur++] = k;
    }
    mig_graph_mark(g, p->mark, p->stk, p->cur, p->ncur, M_APPLIED, 0, ALL_LINKS);
    return 0;
}

int mig_graph_fail_unknown(mig_ctx *ctx, const char *id)
{
    int rc = mig_fail(ctx, MIG_ETARGET,
                      "the database is at revision '%s', which no revision file declares", id);
    mig_error_hint(ctx,
                   "write a placeholder revision with that id (`mig revision -m placeholder --rev-id %s`, "
                   "see docs/alembic.md), or set the version table with `mig stamp REV`",
                   id);
    return rc;
}

/* ---- plans ---- */

void mig_plan_free(mig_plan *plan)
{
    if (plan == NULL)
        return;
    for (size_t i = 0; i < plan->nsteps; i++) {
        mig_strvec_release(&plan->steps[i].delete_heads);
        mig_strvec_release(&plan->steps[i].insert_heads);
    }
    free(plan->steps);
    mig_strvec_release(&plan->final_heads);
    mig_strvec_release(&plan->held_back);
    free(plan);
}

static int final_heads(mig_strvec *out, const planner *p)
{
    for (size_t i = 0; i < p->g->n; i++)
        if ((p->mark[i] & M_HEAD) && mig_strvec_push(out, p->g->nodes[i].rev.id) < 0)
            return -1;
    return 0;
}

/*
 * Upgrade every M_SET revision in topological order. The version table
 * changes as Alembic's does: the revision's down_revisions and
 * dependencies that are rows are replaced by it (one: an update; several:
 * a merge); when none is a row (a base, or a new branch off a branch
 * point that another row already implies) it is a new row.
 */
static int plan_upgrade(mig_plan *plan, planner *p)
{
    const mig_graph *g = p->g;
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++)
        n += (p->mark[i] & M_SET) != 0;
    plan->steps = calloc(n ? n : 1, sizeof *plan->steps);
    if (plan->steps == NULL)
        return -1;
    for (size_t i = 0; i < g->n; i++) {
        if (!(p->mark[i] & M_SET))
            continue;
        const gnode *nd = &g->nodes[i];
        mig_plan_step *st = &plan->steps[plan->nsteps++];
        st->rev = &nd->rev;
        st->upgrade = 1;
        for (size_t e = 0; e < nd->npar + nd->ndep; e++) {
            size_t q = e < nd->npar ? nd->par[e] : gnode_dep(nd)[e - nd->npar];
            if (p->mark[q] & M_HEAD) {
                p->mark[q] &= (unsigned char)~M_HEAD;
                if (mig_strvec_push(&st->delete_heads, g->nodes[q].rev.id) < 0)
                    return -1;
            }
        }
        p->mark[i] |= M_HEAD | M_APPLIED;
        if (mig_strvec_push(&st->insert_heads, nd->rev.id) < 0)
            return -1;
    }
    return 0;
}

/*
 * Downgrade every M_SET revision, children first. The row of the reverted
 * revision goes; each of its down_revisions and dependencies becomes a row
 * unless another applied revision still stands on it (then a row above
 * already implies it), which is Alembic's unmerge / branch delete.
 */
static int plan_downgrade(mig_plan *plan, planner *p)
{
    const mig_graph *g = p->g;
    size_t n = 0;
    /* how many applied revisions stand directly on each revision */
    size_t *above = calloc(g->n ? g->n : 1, sizeof *above);
    if (above == NULL)
        return -1;
    for (size_t i = 0; i < g->n; i++) {
        if (!(p->mark[i] & M_APPLIED))
            continue;
        n += (p->mark[i] & M_SET) != 0;
        const gnode *nd = &g->nodes[i];
        for (size_t e = 0; e < nd->npar; e++)
            above[nd->par[e]]++;
        for (size_t e = 0; e < nd->ndep; e++)
            above[gnode_dep(nd)[e]]++;
    }
    plan->steps = calloc(n ? n : 1, sizeof *plan->steps);
    if (plan->steps == NULL) {
        free(above);
        return -1;
    }
    for (size_t i = g->n; i-- > 0;) {
        if ((p->mark[i] & (M_SET | M_APPLIED)) != (M_SET | M_APPLIED))
            continue;
        const gnode *nd = &g->nodes[i];
        mig_plan_step *st = &plan->steps[plan->nsteps++];
        st->rev = &nd->rev;
        st->upgrade = 0;
        p->mark[i] &= (unsigned char)~M_APPLIED;
        if (p->mark[i] & M_HEAD) {
            p->mark[i] &= (unsigned char)~M_HEAD;
            if (mig_strvec_push(&st->delete_heads, nd->rev.id) < 0)
                goto oom;
        }
        for (size_t e = 0; e < nd->npar + nd->ndep; e++) {
            size_t q = e < nd->npar ? nd->par[e] : gnode_dep(nd)[e - nd->npar];
            if (--above[q] == 0 && !(p->mark[q] & M_HEAD)) {
                p->mark[q] |= M_HEAD;
                if (mig_strvec_push(&st->insert_heads, g->nodes[q].rev.id) < 0)
                    goto oom;
            }
        }
    }
    free(above);
    return 0;
oom:
    free(above);
    return -1;
}

/*
 * The segment a label names for LABEL@base: from just above the branch
 * point (or from the base) where the label starts.
 */
static size_t label_segment_start(const mig_graph *g, size_t decl)
{
    size_t v = decl;
    while (g->nodes[v].npar == 1) {
        size_t q = g->nodes[v].par[0];
        const gnode *qn = &g->nodes[q];
        if (qn->nkid + qn->ndpt > 1 || qn->npar > 1)
            break;
        v = q;
    }
    return v;
}

static int downgrade_set(planner *p, const resolved *r)
{
    const mig_graph *g = p->g;
    size_t *roots = malloc((g->n ? g->n : 1) * sizeof *roots);
    size_t nroots = 0;
    if (roots == NULL)
        return mig_fail(p->ctx, MIG_ENOMEM, "out of memory");
    mig_planner_clear(p, M_TMP);
    mig_planner_clear(p, M_SET);
    if (r->lineage != NONE)
        mig_graph_mark(g, p->mark, p->stk, &r->lineage, 1, M_TMP, 0, DOWN_ONLY);
    if (r->is_base) {
        if (r->lineage != NONE) {
            /* -N down to base from one head: that head's bases */
            for (size_t b = 0; b < g->nbases; b++)
                if (p->mark[g->bases[b]] & M_TMP)
                    roots[nroots++] = g->bases[b];
        } else if (r->label != NONE) {
            roots[nroots++] = label_segment_start(g, r->label);
        } else {
            for (size_t b = 0; b < g->nbases; b++)
                roots[nroots++] = g->bases[b];
        }
    } else {
        /* the targets stay: their children go, on the branch in question */
        for (size_t i = 0; i < r->nrevs; i++) {
            const gnode *t = &g->nodes[r->revs[i]];
            for (size_t c = 0; c < t->nkid; c++) {
                size_t k = t->kid[c];
                if (r->lineage != NONE && !(p->mark[k] & M_TMP))
                    continue;
                if (r->lineage == NONE && r->label != NONE && !(p->mark[k] & M_LINE))
                    continue;
                if (!(p->mark[k] & M_SET)) {
                    p->mark[k] |= M_SET;
                    roots[nroots++] = k;
                }
            }
        }
    }
    /* roots carry M_SET already (as a dedup); walk from them regardless */
    for (size_t i = 0; i < nroots; i++)
        p->mark[roots[i]] &= (unsigned char)~M_SET;
    mig_graph_mark(g, p->mark, p->stk, roots, nroots, M_SET, 1, ALL_LINKS);
    free(roots);
    size_t nset = 0;
    for (size_t i = 0; i < g->n; i++) {
        if (!(p->mark[i] & M_APPLIED))
            p->mark[i] &= (unsigned char)~M_SET;
        nset += (p->mark[i] & M_SET) != 0;
    }
    if (nset || r->is_base)
        return 0;
    /*
     * Nothing to revert: fine when the database is at the target; a target
     * above the current revisions, or off their branches, is no downgrade
     * target at all (and saying "nothing to downgrade" would name a
     * revision the database is not at).
     */
    mig_planner_clear(p, M_TMP);
    mig_graph_mark(g, p->mark, p->stk, p->cur, p->ncur, M_TMP, 1, ALL_LINKS);
    size_t t = NONE;
    for (size_t i = 0; i < r->nrevs && t == NONE; i++)
        if (!(p->mark[r->revs[i]] & M_APPLIED))
            t = r->revs[i];
    if (t == NONE)
        return 0;
    mig_buf b = MIG_BUF_INIT;
    if (p->ncur)
        mig_graph_list_ids(&b, g, p->cur, p->ncur);
    else
        mig_buf_puts(&b, "base");
    int rc;
    if (p->mark[t] & M_TMP || p->ncur == 0) {
        rc = mig_fail(p->ctx, MIG_ETARGET,
                      "%s is not a valid downgrade target: it is above the current revision%s (%s)",
                      g->nodes[t].rev.id, p->ncur > 1 ? "s" : "", mig_buf_cstr(&b));
        mig_error_hint(p->ctx, "to go up to it, run `mig upgrade %s`", g->nodes[t].rev.id);
    } else {
        rc = mig_fail(p->ctx, MIG_ETARGET,
                      "%s is not a valid downgrade target: it is on a branch that is not applied "
                      "(current: %s)",
                      g->nodes[t].rev.id, mig_buf_cstr(&b));
    }
    mig_buf_release(&b);
    return rc;
}

/* An upgrade target below the current revisions goes down: refused, as a downgrade target above them is. */
static int upgrade_target_check(planner *p, const resolved *r)
{
    const mig_graph *g = p->g;
    size_t t = NONE;
    /* base (or LABEL@base) is below whatever is applied (on that branch) */
    for (size_t i = 0; r->is_base && i < p->ncur && t == NONE; i++)
        if (r->label == NONE || (p->mark[p->cur[i]] & M_LINE))
            t = p->cur[i];
    /*
     * Below: applied, with an applied revision built on it. A revision
     * applied only as another's dependency is the head of its own branch,
     * so upgrading to it is simply done.
     */
    for (size_t i = 0; i < r->nrevs && t == NONE; i++) {
        const gnode *nd = &g->nodes[r->revs[i]];
        if (!(p->mark[r->revs[i]] & M_APPLIED) || (p->mark[r->revs[i]] & M_HEAD))
            continue;
        for (size_t c = 0; c < nd->nkid && t == NONE; c++)
            if (p->mark[nd->kid[c]] & M_APPLIED)
                t = r->revs[i];
    }
    if (t == NONE)
        return 0;
    const char *name = r->is_base ? p->target : g->nodes[t].rev.id;
    mig_buf b = MIG_BUF_INIT;
    mig_graph_list_ids(&b, g, p->cur, p->ncur);
    int rc = mig_fail(p->ctx, MIG_ETARGET,
                      "%s is not a valid upgrade target: it is below the current revision%s (%s)", name,
                      p->ncur > 1 ? "s" : "", mig_buf_cstr(&b));
    mig_error_hint(p->ctx, "to go down to it, run `mig downgrade %s`", name);
    mig_buf_release(&b);
    return rc;
}

/*
 * Expand: take every M_SET contract revision out of the set, with all the
 * M_SET revisions that stand on one (children, merges, depends_on), and
 * mark them M_HELD. Only what stands on a contract revision waits: the
 * other branches, and the revisions before it on its own, still run.
 */
static int hold_back(planner *p)
{
    const mig_graph *g = p->g;
    size_t *seeds = malloc((g->n ? g->n : 1) * sizeof *seeds);
    size_t nseeds = 0;
    if (seeds == NULL)
        return -1;
    mig_planner_clear(p, M_HELD);
    for (size_t i = 0; i < g->n; i++)
        if ((p->mark[i] & M_SET) && g->nodes[i].rev.contract)
            seeds[nseeds++] = i;
    mig_graph_mark(g, p->mark, p->stk, seeds, nseeds, M_HELD, 1, ALL_LINKS);
    free(seeds);
    for (size_t i = 0; i < g->n; i++) {
        if (!(p->mark[i] & M_SET))
            p->mark[i] &= (unsigned char)~M_HELD;
        if (p->mark[i] & M_HELD)
            p->mark[i] &= (unsigned char)~M_SET;
    }
    return 0;
}

static int held_list(mig_strvec *out, const planner *p)
{
    for (size_t i = 0; i < p->g->n; i++)
        if ((p->mark[i] & M_HELD) && mig_strvec_push(out, p->g->nodes[i].rev.id) < 0)
            return -1;
    return 0;
}

int mig_graph_plan(mig_plan **out, mig_ctx *ctx, const mig_graph *g, const char *const *current,
                   size_t ncurrent, const char *target, mig_target_mode mode)
{
    return mig_graph_plan_ex(out, ctx, g, current, ncurrent, target, mode, 0);
}

int mig_graph_plan_ex(mig_plan **out, mig_ctx *ctx, const mig_graph *g, const char *const *current,
                      size_t ncurrent, const char *target, mig_target_mode mode, unsigned flags)
{
    if (mode != MIG_TARGET_UPGRADE && mode != MIG_TARGET_DOWNGRADE) {
        *out = NULL;
        return mig_fail(ctx, MIG_EUSAGE, "a plan goes up or down: stamp targets are mig_graph_stamp's");
    }
    int upgrade = mode == MIG_TARGET_UPGRADE;
    if ((flags & MIG_PLAN_EXPAND) && !upgrade) {
        *out = NULL;
        return mig_fail(ctx, MIG_EUSAGE,
                        "--expand is an upgrade option: a downgrade has no phases to hold back");
    }
    *out = NULL;
    planner p;
    resolved r = { NULL, 0, 0, NONE, NONE };
    mig_plan *plan = calloc(1, sizeof *plan);
    int rc = plan ? mig_planner_init(&p, ctx, g, current, ncurrent)
                  : mig_fail(ctx, MIG_ENOMEM, "out of memory");
    if (plan == NULL)
        return rc;
    if (rc == 0)
        rc = mig_target_resolve(&r, &p, target, mode);
    if (rc == 0 && upgrade)
        rc = upgrade_target_check(&p, &r);
    if (rc == 0 && upgrade) {
        mig_planner_clear(&p, M_SET);
        if (!r.is_base)
            mig_graph_mark(g, p.mark, p.stk, r.revs, r.nrevs, M_SET, 0, ALL_LINKS);
        for (size_t i = 0; i < g->n; i++)
            if (p.mark[i] & M_APPLIED)
                p.mark[i] &= (unsigned char)~M_SET;
        if ((flags & MIG_PLAN_EXPAND) && (hold_back(&p) < 0 || held_list(&plan->held_back, &p) < 0))
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        else if (plan_upgrade(plan, &p) < 0)
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    } else if (rc == 0) {
        rc = downgrade_set(&p, &r);
        if (rc == 0 && plan_downgrade(plan, &p) < 0)
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    if (rc == 0 && final_heads(&plan->final_heads, &p) < 0)
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    free(r.revs);
    mig_planner_release(&p);
    if (rc) {
        mig_plan_free(plan);
        return rc;
    }
    *out = plan;
    return 0;
}

/*
 * Stamp as Alembic does: each target replaces the rows on its own line
 * (its ancestors and descendants); rows on other branches stay, and a
 * target related to no row is a new row. `base` removes the rows (of the
 * label's branch with LABEL@base).
 */
int mig_graph_stamp(mig_strvec *out_heads, mig_ctx *ctx, const mig_graph *g, const char *const *current,
                    size_t ncurrent, const char *const *targets, size_t ntargets, int purge)
{
    planner p;
    int rc = mig_planner_init(&p, ctx, g, purge ? NULL : current, purge ? 0 : ncurrent);
    for (size_t t = 0; rc == 0 && t < ntargets; t++) {
        resolved r;
        rc = mig_target_resolve(&r, &p, targets[t], MIG_TARGET_STAMP);
        if (rc == 0) {
            mig_planner_clear(&p, M_TMP);
            if (r.is_base && r.label == NONE) {
                mig_planner_clear(&p, M_HEAD);
            } else if (r.is_base) {
                size_t s = label_segment_start(g, r.label);
                mig_graph_mark(g, p.mark, p.stk, &s, 1, M_TMP, 1, ALL_LINKS);
                for (size_t i = 0; i < g->n; i++)
                    if (p.mark[i] & M_TMP)
                        p.mark[i] &= (unsigned char)~M_HEAD;
            } else {
                for (size_t k = 0; k < r.nrevs; k++) {
                    size_t x = r.revs[k];
                    if (p.mark[x] & M_HEAD)
                        continue;
                    mig_planner_clear(&p, M_TMP);
                    mig_graph_mark(g, p.mark, p.stk, &x, 1, M_TMP, 0, ALL_LINKS);
                    p.mark[x] &= (unsigned char)~M_TMP;
                    mig_graph_mark(g, p.mark, p.stk, &x, 1, M_TMP, 1, ALL_LINKS);
                    for (size_t i = 0; i < g->n; i++)
                        if (p.mark[i] & M_TMP)
                            p.mark[i] &= (unsigned char)~M_HEAD;
                    p.mark[x] |= M_HEAD;
                }
            }
        }
        free(r.revs);
    }
    if (rc == 0 && final_heads(out_heads, &p) < 0)
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    mig_planner_release(&p);
    return rc;
}

int mig_graph_applied(unsigned char *out, mig_ctx *ctx, const mig_graph *g, const char *const *current,
                      size_t ncurrent)
{
    planner p;
    int rc = mig_planner_init(&p, ctx, g, current, ncurrent);
    if (rc == 0)
        for (size_t i = 0; i < g->n; i++)
            out[i] = (p.mark[i] & M_APPLIED) != 0;
    mig_planner_release(&p);
    return rc;
}

int mig_graph_held_back(unsigned char *out, mig_ctx *ctx, const mig_graph *g, const char *const *current,
                        size_t ncurrent)
{
    planner p;
    int rc = mig_planner_init(&p, ctx, g, current, ncurrent);
    if (rc == 0) {
        for (size_t i = 0; i < g->n; i++)
            if (!(p.mark[i] & M_APPLIED))
                p.mark[i] |= M_SET;
        if (hold_back(&p) < 0)
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    if (rc == 0)
        for (size_t i = 0; i < g->n; i++)
            out[i] = (p.mark[i] & M_HELD) != 0;
    mig_planner_release(&p);
    return rc;
}

int mig_graph_pending(size_t *out, mig_ctx *ctx, const mig_graph *g, const char *const *current,
                      size_t ncurrent)
{
    planner p;
    *out = 0;
    int rc = mig_planner_init(&p, ctx, g, current, ncurrent);
    if (rc == 0)
        for (size_t i = 0; i < g->n; i++)
            *out += !(p.mark[i] & M_APPLIED);
    mig_planner_release(&p);
    return rc;
}
