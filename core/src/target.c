/*
 * Target resolution: what a name (id, prefix, branch label, head, heads,
 * base, LABEL@..., +N, -N, REV+N, REV-N) names in the revision graph, for
 * one direction and one database state. Every ambiguity is an error that
 * says which ways there are, never a guess.
 */
#include "graph.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "error.h"
#include "graph_int.h"

/*
 * The hint for an ambiguous relative step: the commands that do work, one
 * per way the walk could go (`mig downgrade A` or `mig downgrade B`), each
 * id followed by suffix ("-1" to step from a current head, "" to name the
 * revision itself).
 */
static void hint_ways(mig_ctx *ctx, const mig_graph *g, const size_t *pos, size_t n, long steps,
                      const char *suffix)
{
    const char *cmd = steps > 0 ? "upgrade" : "downgrade";
    mig_buf b = MIG_BUF_INIT;
    for (size_t i = 0; i < n && i < 4; i++)
        mig_buf_printf(&b, "%s`mig %s %s%s`",
                       i == 0       ? ""
                       : i + 1 == n ? " or "
                                    : ", ",
                       cmd, g->nodes[pos[i]].rev.id, suffix);
    if (n > 4)
        mig_buf_printf(&b, ", ... (%zu ways)", n);
    mig_error_hint(ctx, "name the way: %s", mig_buf_cstr(&b));
    mig_buf_release(&b);
}

/* The heads on the branch a label names: the declaring revision's descendant heads. */
static int label_heads(const mig_graph *g, size_t decl, size_t **out, size_t *nout)
{
    unsigned char *mark = calloc(g->n, 1);
    size_t *stk = malloc(g->n * sizeof *stk);
    size_t *res = malloc((g->nheads + 1) * sizeof *res);
    if (!mark || !stk || !res) {
        free(mark);
        free(stk);
        free(res);
        return MIG_ENOMEM;
    }
    mig_graph_mark(g, mark, stk, &decl, 1, 1, 1, DOWN_ONLY);
    size_t k = 0;
    for (size_t h = 0; h < g->nheads; h++)
        if (mark[g->heads[h]])
            res[k++] = g->heads[h];
    free(mark);
    free(stk);
    *out = res;
    *nout = k;
    return 0;
}

static size_t find_label_pos(const mig_graph *g, const char *name)
{
    return mig_graph_find_label(g->labels, g->nlabels, name);
}

/* Exact id, unique prefix or branch label; NONE with the error set. */
static int find_pos(size_t *out, mig_ctx *ctx, const mig_graph *g, const char *name)
{
    const mig_rev *base = g->n ? &g->nodes[0].rev : NULL;
    size_t stride = sizeof(gnode);
    size_t p = g->n ? mig_graph_find_exact(g->by_id, g->n, base, stride, name) : NONE;
    if (p != NONE) {
        *out = p;
        return 0;
    }
    size_t count = 0, first = 0;
    if (g->n && *name)
        p = mig_graph_find_prefix(g->by_id, g->n, base, stride, name, &count, &first);
    if (p != NONE) {
        *out = p;
        return 0;
    }
    size_t decl = find_label_pos(g, name);
    if (decl != NONE) {
        size_t *hs = NULL, nh = 0;
        if (label_heads(g, decl, &hs, &nh))
            return mig_fail(ctx, MIG_ENOMEM, "out of memory");
        if (nh == 1) {
            *out = hs[0];
            free(hs);
            return 0;
        }
        mig_buf b = MIG_BUF_INIT;
        mig_graph_list_ids(&b, g, hs, nh);
        int rc = mig_fail(ctx, MIG_ETARGET, "branch '%s' has %zu heads: %s", name, nh, mig_buf_cstr(&b));
        mig_error_hint(ctx, "name one of them");
        mig_buf_release(&b);
        free(hs);
        return rc;
    }
    if (count > 1) {
        mig_buf b = MIG_BUF_INIT;
        mig_graph_list_ids(&b, g, g->by_id + first, count);
        int rc =
            mig_fail(ctx, MIG_ETARGET, "revision prefix '%s' is ambiguous: %s", name, mig_buf_cstr(&b));
        mig_buf_release(&b);
        return rc;
    }
    return mig_fail(ctx, MIG_ETARGET, "unknown revision '%s'", name);
}

int mig_graph_find(const mig_rev **out, mig_ctx *ctx, const mig_graph *g, const char *name)
{
    size_t p = 0;
    *out = NULL;
    int rc = find_pos(&p, ctx, g, name);
    if (rc == 0)
        *out = &g->nodes[p].rev;
    return rc;
}
/* Lineage of a revision: its ancestors and descendants through down_revision. */
static void mark_lineage(planner *p, size_t decl)
{
    mig_planner_clear(p, M_LINE);
    mig_graph_mark(p->g, p->mark, p->stk, &decl, 1, M_LINE, 0, DOWN_ONLY);
    p->mark[decl] &= (unsigned char)~M_LINE;
    mig_graph_mark(p->g, p->mark, p->stk, &decl, 1, M_LINE, 1, DOWN_ONLY);
}

/*
 * Walk steps revisions up (children) or down (down_revisions) from start
 * (NONE: base). Up, with the M_LINE lineage when use_line. A fork on the
 * way is ambiguous; walking past the end is an error.
 */
static int walk(size_t *out, planner *p, size_t start, long steps, int use_line)
{
    const mig_graph *g = p->g;
    size_t at = start;
    int at_base = start == NONE;
    long todo = steps < 0 ? -steps : steps;
    for (long s = 0; s < todo; s++) {
        const size_t *next;
        size_t nnext;
        if (steps > 0) {
            next = at_base ? g->bases : g->nodes[at].kid;
            nnext = at_base ? g->nbases : g->nodes[at].nkid;
        } else {
            if (at_base)
                return mig_fail(p->ctx, MIG_ETARGET,
                                "relative target '%s' walks past base: only %ld step%s down", p->target,
                                s, s == 1 ? "" : "s");
            next = g->nodes[at].par;
            nnext = g->nodes[at].npar;
            if (nnext == 0) {
                at_base = 1;
                at = NONE;
                continue;
            }
        }
        size_t pick = NONE, npick = 0;
        size_t *ways = malloc(nnext * sizeof *ways);
        if (ways == NULL)
            return mig_fail(p->ctx, MIG_ENOMEM, "out of memory");
        mig_buf b = MIG_BUF_INIT;
        for (size_t i = 0; i < nnext; i++) {
            if (steps > 0 && use_line && !(p->mark[next[i]] & M_LINE))
                continue;
            pick = next[i];
            mig_buf_printf(&b, "%s%s", npick ? ", " : "", g->nodes[next[i]].rev.id);
            ways[npick++] = next[i];
        }
        if (npick == 0) {
            mig_buf_release(&b);
            free(ways);
            return mig_fail(p->ctx, MIG_ETARGET,
                            "relative target '%s' walks past the head: only %ld step%s up", p->target, s,
                            s == 1 ? "" : "s");
        }
        if (npick > 1) {
            int rc;
            if (steps > 0)
                rc = mig_fail(p->ctx, MIG_ETARGET,
                              "relative target '%s' is ambiguous: %s branches into %s", p->target,
                              at_base ? "base" : g->nodes[at].rev.id, mig_buf_cstr(&b));
            else
                rc = mig_fail(p->ctx, MIG_ETARGET, "relative target '%s' is ambiguous: %s merges %s",
                              p->target, g->nodes[at].rev.id, mig_buf_cstr(&b));
            /* going to one of them by name is one way through: it works from anywhere above or below */
            hint_ways(p->ctx, g, ways, npick, steps, "");
            mig_buf_release(&b);
            free(ways);
            return rc;
        }
        mig_buf_release(&b);
        free(ways);
        at = pick;
        at_base = 0;
    }
    *out = at_base ? NONE : at;
    return 0;
}

static int parse_steps(const char *s, long *out)
{
    if ((*s != '+' && *s != '-') || s[1] == '\0')
        return 0;
    long v = 0;
    for (const char *c = s + 1; *c; c++) {
        if (*c < '0' || *c > '9' || v > 1000000000L)
            return 0;
        v = v * 10 + (*c - '0');
    }
    *out = *s == '-' ? -v : v;
    return 1;
}

/* Start of a relative step from the database's state: one current head. */
static int relative_start(size_t *out, planner *p, const resolved *r, long steps)
{
    const mig_graph *g = p->g;
    size_t found[2] = { NONE, NONE }, nfound = 0;
    mig_buf b = MIG_BUF_INIT;
    for (size_t i = 0; i < p->ncur; i++) {
        if (r->label != NONE && !(p->mark[p->cur[i]] & M_LINE))
            continue;
        if (nfound < 2)
            found[nfound] = p->cur[i];
        mig_buf_printf(&b, "%s%s", nfound ? ", " : "", g->nodes[p->cur[i]].rev.id);
        nfound++;
    }
    if (nfound > 1) {
        int rc = mig_fail(p->ctx, MIG_ETARGET,
                          "relative target '%s' is ambiguous: the database has several current "
                          "revisions (%s)",
                          p->target, mig_buf_cstr(&b));
        /* REV-N and REV+N step from that one head along its own line */
        size_t *ways = malloc(p->ncur * sizeof *ways);
        size_t nways = 0;
        for (size_t i = 0; ways && i < p->ncur; i++)
            if (r->label == NONE || (p->mark[p->cur[i]] & M_LINE))
                ways[nways++] = p->cur[i];
        char suffix[32];
        snprintf(suffix, sizeof suffix, "%+ld", steps);
        if (ways)
            hint_ways(p->ctx, g, ways, nways, steps, suffix);
        free(ways);
        mig_buf_release(&b);
        return rc;
    }
    mig_buf_release(&b);
    if (nfound == 1) {
        *out = found[0];
        return 0;
    }
    if (r->label != NONE && steps > 0) {
        /*
         * None of the current heads is on the branch: start from the newest
         * applied revisions of its lineage (the branch point), else base.
         */
        size_t tip = NONE, ntip = 0;
        for (size_t i = 0; i < g->n; i++) {
            if ((p->mark[i] & (M_APPLIED | M_LINE)) != (M_APPLIED | M_LINE))
                continue;
            int has_applied_kid = 0;
            for (size_t c = 0; c < g->nodes[i].nkid; c++) {
                size_t k = g->nodes[i].kid[c];
                if ((p->mark[k] & (M_APPLIED | M_LINE)) == (M_APPLIED | M_LINE))
                    has_applied_kid = 1;
            }
            if (!has_applied_kid) {
                tip = i;
                ntip++;
            }
        }
        if (ntip > 1)
            return mig_fail(p->ctx, MIG_ETARGET,
                            "relative target '%s' is ambiguous: the branch has several "
                            "applied tips",
                            p->target);
        *out = tip;
        return 0;
    }
    if (steps < 0 && r->label != NONE)
        return mig_fail(p->ctx, MIG_ETARGET,
                        "relative target '%s': no current revision is on that branch", p->target);
    if (steps < 0)
        return mig_fail(p->ctx, MIG_ETARGET,
                        "relative target '%s' walks past base: the database is at base", p->target);
    *out = NONE;
    return 0;
}

/*
 * LABEL@...: r->label is the revision declaring the label, or a revision
 * naming the branch it is on (as in Alembic), and its lineage is marked
 * M_LINE; *rest is what follows the '@'. Without one, *rest is target.
 */
static int resolve_branch(resolved *r, planner *p, const char *target, const char **rest)
{
    const mig_graph *g = p->g;
    const char *at = strchr(target, '@');
    *rest = target;
    if (at == NULL) {
        mig_planner_clear(p, M_LINE);
        return 0;
    }
    char *label = mig_strndup(target, (size_t)(at - target));
    if (label == NULL)
        return mig_fail(p->ctx, MIG_ENOMEM, "out of memory");
    *rest = at + 1;
    size_t decl = find_label_pos(g, label);
    if (decl == NONE) {
        /* a revision names the branch it is on, as in Alembic */
        const mig_rev *base = g->n ? &g->nodes[0].rev : NULL;
        size_t count, first;
        decl = g->n && *label ? mig_graph_find_exact(g->by_id, g->n, base, sizeof(gnode), label) : NONE;
        if (decl == NONE && g->n && *label)
            decl = mig_graph_find_prefix(g->by_id, g->n, base, sizeof(gnode), label, &count, &first);
    }
    if (decl == NONE) {
        int rc = mig_fail(p->ctx, MIG_ETARGET, "unknown branch '%s' in target '%s'", label, target);
        free(label);
        return rc;
    }
    free(label);
    r->label = decl;
    mark_lineage(p, decl);
    return 0;
}

/* The heads into r->revs: all, or those on the LABEL@ branch. */
static void branch_heads(resolved *r, const planner *p)
{
    const mig_graph *g = p->g;
    for (size_t h = 0; h < g->nheads; h++)
        if (r->label == NONE || (p->mark[g->heads[h]] & M_LINE))
            r->revs[r->nrevs++] = g->heads[h];
}

/* base, heads and head (one only); *matched = 0 for anything else. */
static int resolve_keyword(resolved *r, planner *p, const char *rest, int *matched)
{
    *matched = 1;
    if (strcmp(rest, "base") == 0) {
        r->is_base = 1;
        return 0;
    }
    if (strcmp(rest, "heads") == 0) {
        branch_heads(r, p);
        return 0;
    }
    if (strcmp(rest, "head") == 0) {
        branch_heads(r, p);
        if (r->nrevs == 0)
            return mig_fail(p->ctx, MIG_ETARGET, "target '%s': there are no revisions", p->target);
        if (r->nrevs > 1) {
            mig_buf b = MIG_BUF_INIT;
            mig_graph_list_ids(&b, p->g, r->revs, r->nrevs);
            int rc = mig_fail(p->ctx, MIG_ETARGET,
                              "target '%s' is ambiguous: there are %zu heads (%s); use 'heads' "
                              "or LABEL@head",
                              p->target, r->nrevs, mig_buf_cstr(&b));
            mig_buf_release(&b);
            return rc;
        }
        return 0;
    }
    *matched = 0;
    return 0;
}

/* A revision by id, prefix or label, on the LABEL@ branch if one is named. */
static int resolve_named(resolved *r, planner *p, const char *rest)
{
    size_t k;
    int rc = find_pos(&k, p->ctx, p->g, rest);
    if (rc) /* find_pos sets k when it returns 0: mig_fail never returns 0 */
        return rc;
    /* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.ArraySubscript) */
    if (r->label != NONE && !(p->mark[k] & M_LINE))
        return mig_fail(p->ctx, MIG_ETARGET, "target '%s': revision %s is not on that branch", p->target,
                        p->g->nodes[k].rev.id);
    r->revs[r->nrevs++] = k; /* NOLINT(clang-analyzer-core.uninitialized.Assign) */
    return 0;
}

/* Where SYM+N / SYM-N starts: base, the one head (on the branch), or a revision. */
static int symbol_start(size_t *start, resolved *r, planner *p, const char *rest, const char *sign)
{
    const mig_graph *g = p->g;
    char *sym = mig_strndup(rest, (size_t)(sign - rest));
    if (sym == NULL)
        return mig_fail(p->ctx, MIG_ENOMEM, "out of memory");
    int rc = 0;
    if (strcmp(sym, "base") == 0)
        *start = NONE;
    else if (strcmp(sym, "head") == 0) {
        size_t nh = 0;
        for (size_t h = 0; h < g->nheads; h++)
            if (r->label == NONE || (p->mark[g->heads[h]] & M_LINE)) {
                *start = g->heads[h];
                nh++;
            }
        if (nh != 1)
            rc = mig_fail(p->ctx, MIG_ETARGET, "target '%s' names %zu heads, not one", p->target, nh);
    } else
        rc = find_pos(start, p->ctx, g, sym);
    free(sym);
    return rc;
}

/*
 * A relative target: steps from the database's current head (+N, -N)
 * when sign starts rest, else from the symbol before sign (REV+N, REV-N).
 */
static int resolve_relative(resolved *r, planner *p, const char *rest, const char *sign, long steps,
                            mig_target_mode mode)
{
    size_t start = NONE;
    int rc;
    if (sign == rest) {
        /* relative to the database */
        if (mode == MIG_TARGET_UPGRADE && steps < 0)
            return mig_fail(p->ctx, MIG_ETARGET, "upgrade target '%s' goes down: use downgrade",
                            p->target);
        if (mode == MIG_TARGET_DOWNGRADE && steps > 0)
            return mig_fail(p->ctx, MIG_ETARGET, "downgrade target '%s' goes up: use upgrade", p->target);
        if (p->no_state)
            return 0; /* where -N leads depends on each database */
        rc = relative_start(&start, p, r, steps);
        if (rc)
            return rc;
        r->lineage = start;
    } else {
        rc = symbol_start(&start, r, p, rest, sign);
        if (rc)
            return rc;
        /* REV-N stays on REV's line, as -N stays on the current head's */
        if (steps < 0)
            r->lineage = start;
    }
    size_t dest = NONE;
    rc = walk(&dest, p, start, steps, r->label != NONE);
    if (rc)
        return rc;
    if (dest == NONE)
        r->is_base = 1;
    else
        r->revs[r->nrevs++] = dest;
    return 0;
}

/* Relative steps are refused for stamp, which takes absolute targets only. */
int mig_target_resolve(resolved *r, planner *p, const char *target, mig_target_mode mode)
{
    const mig_graph *g = p->g;
    memset(r, 0, sizeof *r);
    r->label = r->lineage = NONE;
    p->target = target;
    r->revs = malloc((g->nheads + 1) * sizeof *r->revs);
    if (r->revs == NULL)
        return mig_fail(p->ctx, MIG_ENOMEM, "out of memory");

    const char *rest;
    int rc = resolve_branch(r, p, target, &rest);
    if (rc)
        return rc;
    if (*rest == '\0')
        return mig_fail(p->ctx, MIG_ETARGET, "empty revision in target '%s'", p->target);
    int matched;
    rc = resolve_keyword(r, p, rest, &matched);
    if (rc || matched)
        return rc;

    /* SYMBOL+N / SYMBOL-N / +N / -N, unless the whole thing is a name */
    const char *sign = NULL;
    long steps = 0;
    for (const char *c = rest; *c && sign == NULL; c++)
        if ((*c == '+' || *c == '-') && parse_steps(c, &steps))
            sign = c;
    if (sign != NULL && sign > rest && r->label == NONE && find_label_pos(g, rest) != NONE)
        sign = NULL; /* a label such as "v-2" (LABEL@ takes what follows as a step) */
    if (sign == NULL)
        return resolve_named(r, p, rest);
    if (mode == MIG_TARGET_STAMP)
        return mig_fail(p->ctx, MIG_ETARGET, "stamp takes no relative target ('%s')", p->target);
    return resolve_relative(r, p, rest, sign, steps, mode);
}

/*
 * Check a target as far as the graph alone decides: unknown, ambiguous or
 * malformed names, the wrong direction, a walk past base or head from a
 * named revision. Runs that span several databases (tenants) check it once
 * before any starts, since each would fail the same way; what depends on a
 * database's own state is left to that database's plan.
 */
int mig_graph_check_target(mig_ctx *ctx, const mig_graph *g, const char *target, mig_target_mode mode)
{
    planner p;
    resolved r = { NULL, 0, 0, NONE, NONE };
    int rc = mig_planner_init(&p, ctx, g, NULL, 0);
    if (rc == 0) {
        p.no_state = 1;
        rc = mig_target_resolve(&r, &p, target, mode);
    }
    free(r.revs);
    mig_planner_release(&p);
    return rc;
}
