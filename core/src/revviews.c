/*
 * Revisions for the public API: mig_revision views over the loaded graph.
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

static const char *const empty[] = { NULL };

/*
 * The storage for every revision's view, in reverse topological order,
 * and the heads' list. It is filled only as far as asked: a large array is
 * mapped fresh from the system, so the views `mig heads` never fills (all
 * but the heads) never become resident (at 100,000 revisions, 10 MB).
 */
static int alloc_views(mig_ctx *ctx, mig_graph **g)
{
    int rc = mig_ctx_graph(ctx, g);
    if (rc || ctx->rev_storage)
        return rc;
    size_t n = mig_graph_count(*g);
    ctx->rev_storage = calloc(n ? n : 1, sizeof *ctx->rev_storage);
    ctx->head_views = calloc(mig_graph_nheads(*g) + 1, sizeof *ctx->head_views);
    if (!ctx->rev_storage || !ctx->head_views) {
        free(ctx->rev_storage);
        free(ctx->head_views);
        ctx->rev_storage = NULL;
        ctx->head_views = NULL;
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    ctx->nrev_views = n;
    for (size_t i = 0; i < mig_graph_nheads(*g); i++) {
        /* views are in reverse topological order */
        size_t idx = mig_graph_index(*g, mig_graph_head(*g, i));
        ctx->head_views[i] = &ctx->rev_storage[n - 1 - idx];
    }
    ctx->nhead_views = mig_graph_nheads(*g);
    return 0;
}

/* The view of r (its children's ids in next, borrowed), header fields only. */
static void fill_view(mig_revision *v, const mig_graph *g, const mig_rev *r, const char *const *next)
{
    v->id = r->id;
    v->path = r->path;
    v->message = r->message ? r->message : "";
    v->create_date = r->create_date ? r->create_date : "";
    /* the arrays are borrowed from the graph, which outlives the views */
    v->down = r->down.n ? (const char *const *)r->down.v : empty;
    v->labels = r->labels ? (const char *const *)r->labels : empty;
    v->depends = r->depends ? (const char *const *)r->depends : empty;
    v->next = next;
    v->is_lua = r->is_lua;
    v->transactional = r->transactional;
    v->phase = mig_rev_phase(r);
    v->has_downgrade = -1; /* headers only: see mig_revision_find */
    v->is_head = mig_graph_nchildren(g, r) == 0;
    v->is_base = r->down.n == 0;
    v->is_branch_point = mig_graph_nchildren(g, r) > 1;
    v->is_merge = r->down.n > 1;
}

/* The heads' views alone: a head has no children, so no child list is needed. */
static int build_head_views(mig_ctx *ctx)
{
    mig_graph *g;
    int rc = alloc_views(ctx, &g);
    if (rc || ctx->rev_views)
        return rc;
    for (size_t i = 0; i < ctx->nhead_views; i++)
        if (ctx->head_views[i]->id == NULL)
            fill_view((mig_revision *)ctx->head_views[i], g, mig_graph_head(g, i), empty);
    return 0;
}

static int build_views(mig_ctx *ctx)
{
    if (ctx->rev_views)
        return 0;
    mig_graph *g;
    int rc = alloc_views(ctx, &g);
    if (rc)
        return rc;
    size_t n = ctx->nrev_views;
    ctx->rev_views = calloc(n + 1, sizeof *ctx->rev_views);
    /* one array holds every child list: n lists of children, each NULL-ended */
    size_t nlinks = 0;
    for (size_t i = 0; i < n; i++)
        nlinks += mig_graph_nchildren(g, mig_graph_at(g, i)) + 1;
    ctx->next_storage = calloc(nlinks, sizeof *ctx->next_storage);
    if (ctx->rev_views == NULL || ctx->next_storage == NULL) {
        free(ctx->rev_views);
        free(ctx->next_storage);
        ctx->rev_views = NULL;
        ctx->next_storage = NULL;
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        /* newest first, as history prints */
        const mig_rev *r = mig_graph_at(g, n - 1 - i);
        const char **next = &ctx->next_storage[at];
        for (size_t c = 0; c < mig_graph_nchildren(g, r); c++)
            ctx->next_storage[at++] = mig_graph_child(g, r, c)->id;
        ctx->next_storage[at++] = NULL;
        /* a head's view may be filled already (mig_heads), and found (has_downgrade) */
        if (ctx->rev_storage[i].id == NULL)
            fill_view(&ctx->rev_storage[i], g, r, next);
        ctx->rev_views[i] = &ctx->rev_storage[i];
    }
    return 0;
}

int mig_revisions(mig_ctx *ctx, const mig_revision *const **out, size_t *n)
{
    int rc = build_views(ctx);
    if (rc)
        return rc;
    *out = (const mig_revision *const *)ctx->rev_views;
    *n = ctx->nrev_views;
    return 0;
}

int mig_heads(mig_ctx *ctx, const mig_revision *const **out, size_t *n)
{
    int rc = build_head_views(ctx);
    if (rc)
        return rc;
    *out = (const mig_revision *const *)ctx->head_views;
    *n = ctx->nhead_views;
    return 0;
}

/*
 * Whether a Lua revision defines a downgrade, without running it: the
 * runner compiles the chunk and knows for sure; for display, a function
 * named downgrade in the text is the answer.
 */
static int lua_mentions_downgrade(const mig_revbody *b)
{
    const char *p = b->data;
    while ((p = strstr(p, "downgrade")) != NULL) {
        const char *q = p + 9;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q == '=' || *q == '(')
            return 1;
        p = q;
    }
    return 0;
}

int mig_revision_find(mig_ctx *ctx, const char *name, const mig_revision **out)
{
    int rc = build_views(ctx);
    if (rc)
        return rc;
    mig_graph *g = ctx->graph;
    const mig_rev *r = NULL;
    if (strcmp(name, "head") == 0) {
        if (mig_graph_nheads(g) != 1)
            return mig_fail(ctx, MIG_ETARGET, "'head' is ambiguous: there are %zu heads",
                            mig_graph_nheads(g));
        r = mig_graph_head(g, 0);
    } else if (strcmp(name, "base") == 0) {
        if (mig_graph_nbases(g) != 1)
            return mig_fail(ctx, MIG_ETARGET, "'base' is ambiguous: there are %zu bases",
                            mig_graph_nbases(g));
        r = mig_graph_base(g, 0);
    } else {
        /* LABEL@head names the label's head, as a bare label does */
        const char *at = strchr(name, '@');
        char *label = at && strcmp(at, "@head") == 0 ? mig_strndup(name, (size_t)(at - name)) : NULL;
        rc = mig_graph_find(&r, ctx, g, label ? label : name);
        free(label);
        if (rc)
            return rc;
    }
    mig_revision *v = &ctx->rev_storage[ctx->nrev_views - 1 - mig_graph_index(g, r)];
    if (v->has_downgrade < 0) {
        /* one revision asked for by name: worth reading its body */
        mig_revbody b;
        if (mig_revfile_load_body(&b, ctx, r) == 0) {
            v->has_downgrade = r->is_lua ? lua_mentions_downgrade(&b) : b.has_downgrade;
            mig_revbody_release(&b);
        }
        mig_error_clear(ctx);
    }
    *out = v;
    return 0;
}
