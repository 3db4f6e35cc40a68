/*
 * The revision graph: load every header of versions/, link and validate
 * the revisions, and answer the questions the commands ask of it (heads,
 * bases, find by name, ancestry) in time close to linear in the number of
 * revisions, since a project may hold thousands.
 *
 * After loading, revisions sit in one array in a stable topological order
 * (every down_revision and depends_on before the revisions that name it)
 * and all links are positions in that array. Planning lives here too, in
 * the second half of the file, because it is a walk of this structure and
 * nothing else.
 */
#include "graph.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "error.h"

#define NONE ((size_t)-1)

typedef struct gnode {
    mig_rev      rev;     /* first member: a mig_rev pointer is a gnode pointer */
    size_t      *par;     /* down_revisions, as positions */
    size_t       npar;
    size_t      *dep;     /* depends_on resolved (without those already in par) */
    size_t       ndep;
    size_t      *kid;     /* revisions naming this one as down_revision */
    size_t       nkid;
    size_t      *dpt;     /* revisions naming this one in depends_on */
    size_t       ndpt;
    const char **blabels; /* own and inherited branch labels, NULL-terminated */
} gnode;

typedef struct glabel {
    const char *name;
    size_t      pos;
} glabel;

struct mig_graph {
    gnode       *nodes;
    size_t       n;
    size_t      *pool;    /* every par/dep/kid/dpt array */
    size_t      *by_id;   /* positions sorted by id */
    size_t      *heads, nheads;
    size_t      *bases, nbases;
    glabel      *labels;  /* sorted by name */
    size_t       nlabels;
    const char **lpool;   /* every blabels array */
    size_t       npy;     /* Alembic revisions (.py) found beside ours, never read */
};

static const char *const no_labels[] = { NULL };

/* A graph error about a file (MIG_EREVFILE): the file is kept on the error too. */
static int vfail_in(mig_ctx *ctx, const char *path, int line, const char *fmt, va_list ap)
{
    mig_buf msg = MIG_BUF_INIT;
    /* fail_in_line: the place first, as path:LINE (path alone for a revision built in memory) */
    if (line > 0)
        mig_buf_printf(&msg, "%s:%d: ", path, line);
    else if (line == 0)
        mig_buf_printf(&msg, "%s: ", path);
    mig_buf_vprintf(&msg, fmt, ap);
    if (msg.oom) {
        mig_buf_release(&msg);
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    mig_fail(ctx, MIG_EREVFILE, "%s", msg.ptr);
    mig_buf_release(&msg);
    mig_error_where(ctx, path, line > 0 ? line : 0);
    return MIG_EREVFILE;
}

static int fail_in(mig_ctx *ctx, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_in(mig_ctx *ctx, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail_in(ctx, path, -1, fmt, ap);
    va_end(ap);
    return rc;
}

/* The same about one header line: the message starts "path:LINE: ". */
static int fail_in_line(mig_ctx *ctx, const char *path, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_in_line(mig_ctx *ctx, const char *path, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail_in(ctx, path, line, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---- loading ---- */

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * qsort unless v is in order already. Ids usually are, once the file names
 * are sorted (an id prefixes its file's name), and checking takes n
 * comparisons where sorting takes n log n.
 */
static void sort_unless_sorted(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    const char *p = v;
    for (size_t i = 1; i < n; i++)
        if (cmp(p + (i - 1) * size, p + i * size) > 0) {
            qsort(v, n, size, cmp);
            return;
        }
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

int mig_graph_load(mig_graph **out, mig_ctx *ctx, const char *versions_dir)
{
    *out = NULL;
    DIR *d = opendir(versions_dir);
    if (d == NULL)
        return mig_fail(ctx, MIG_ECONFIG, "cannot open versions folder %s: %s", versions_dir,
                        strerror(errno));
    mig_strvec names = MIG_STRVEC_INIT;
    struct dirent *e;
    int rc = 0;
    size_t npy = 0;
    /* which names are revision files: mig_ctx_may_have_revisions (api.c) must agree */
    while ((e = readdir(d)) != NULL) {
        /* editors' lock and swap files start with a dot */
        if (e->d_name[0] == '.')
            continue;
        if (e->d_type == DT_DIR)
            continue;
        /* counted, so a project taken over from Alembic hears why its revisions are not seen */
        if (has_suffix(e->d_name, ".py") && strcmp(e->d_name, "__init__.py") != 0)
            npy++;
        if (!has_suffix(e->d_name, ".sql") && !has_suffix(e->d_name, ".lua"))
            continue;
        if (mig_strvec_push(&names, e->d_name) < 0) {
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
            break;
        }
    }
    closedir(d);
    if (rc) {
        mig_strvec_release(&names);
        return rc;
    }
    /* readdir's order is the file system's; the graph's must not be */
    if (names.n)
        sort_unless_sorted(names.v, names.n, sizeof *names.v, cmp_cstr);
    mig_rev *revs = calloc(names.n ? names.n : 1, sizeof *revs);
    if (revs == NULL) {
        mig_strvec_release(&names);
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    mig_buf path = MIG_BUF_INIT;
    size_t nrevs = 0;
    for (size_t i = 0; i < names.n; i++) {
        mig_buf_clear(&path);
        /* put, not printf: this runs once per revision file */
        mig_buf_puts(&path, versions_dir);
        mig_buf_putc(&path, '/');
        mig_buf_puts(&path, names.v[i]);
        if (path.oom) {
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
            break;
        }
        rc = mig_revfile_read_header(&revs[nrevs], ctx, path.ptr, has_suffix(names.v[i], ".lua"));
        /* done with the name: its memory can hold the next header's strings */
        free(names.v[i]);
        names.v[i] = NULL;
        if (rc)
            break;
        nrevs++;
    }
    mig_buf_release(&path);
    mig_strvec_release(&names);
    if (rc) {
        for (size_t i = 0; i < nrevs; i++)
            mig_rev_release(&revs[i]);
        free(revs);
        return rc;
    }
    rc = mig_graph_from_revs(out, ctx, revs, nrevs);
    free(revs);
    if (rc == 0)
        (*out)->npy = npy;
    return rc;
}

/* An id with its index, sorted to find revisions by bisection. */
typedef struct idkey {
    const char *id;
    size_t      i;
} idkey;

static int cmp_idkey(const void *a, const void *b)
{
    const idkey *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* The first k in idx[0..n) with revs[idx[k]].id >= key. */
static size_t lower_bound(const size_t *idx, size_t n, const mig_rev *revs, size_t stride,
                          const char *key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const mig_rev *r = (const mig_rev *)((const char *)revs + idx[mid] * stride);
        if (strcmp(r->id, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const mig_rev *rev_at(const mig_rev *revs, size_t stride, size_t i)
{
    return (const mig_rev *)((const char *)revs + i * stride);
}

/* Exact id: position or NONE. */
static size_t find_exact(const size_t *idx, size_t n, const mig_rev *revs, size_t stride,
                         const char *id)
{
    size_t k = lower_bound(idx, n, revs, stride, id);
    if (k < n && strcmp(rev_at(revs, stride, idx[k])->id, id) == 0)
        return idx[k];
    return NONE;
}

/* Unique prefix: position, NONE when none, and *count of matches. */
static size_t find_prefix(const size_t *idx, size_t n, const mig_rev *revs, size_t stride,
                          const char *prefix, size_t *count, size_t *first)
{
    size_t len = strlen(prefix);
    size_t k = lower_bound(idx, n, revs, stride, prefix);
    size_t c = 0;
    *first = k;
    while (k + c < n && strncmp(rev_at(revs, stride, idx[k + c])->id, prefix, len) == 0)
        c++;
    *count = c;
    return c == 1 ? idx[k] : NONE;
}

static int cmp_label(const void *a, const void *b)
{
    const glabel *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static size_t find_label(const glabel *labels, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(labels[mid].name, name);
        if (c == 0)
            return labels[mid].pos;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NONE;
}

/*
 * Links by load index during the build, before the topological order is
 * known: revision i's down_revisions are pe[po[i]..po[i+1]), its
 * dependencies de[do_[i]..do_[i+1]).
 */
typedef struct links {
    size_t *po, *pe, *do_, *de;
} links;

static void links_free(links *l)
{
    free(l->po);
    free(l->pe);
    free(l->do_);
    free(l->de);
}

static int resolve_links(links *lk, mig_ctx *ctx, const mig_rev *revs, size_t n,
                         const size_t *idx, const glabel *labels, size_t nlabels)
{
    size_t np = 0, nd = 0;
    for (size_t i = 0; i < n; i++) {
        np += revs[i].down.n;
        nd += revs[i].depends.n;
    }
    lk->po = calloc(n + 1, sizeof *lk->po);
    lk->pe = calloc(np ? np : 1, sizeof *lk->pe);
    lk->do_ = calloc(n + 1, sizeof *lk->do_);
    lk->de = calloc(nd ? nd : 1, sizeof *lk->de);
    if (!lk->po || !lk->pe || !lk->do_ || !lk->de)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    size_t p = 0, q = 0;
    for (size_t i = 0; i < n; i++) {
        const mig_rev *r = &revs[i];
        lk->po[i] = p;
        for (size_t k = 0; k < r->down.n; k++) {
            size_t j = find_exact(idx, n, revs, sizeof *revs, r->down.v[k]);
            if (j == NONE)
                return fail_in_line(ctx, r->path, r->down_line,
                                    "down_revision '%s' is not a known revision", r->down.v[k]);
            for (size_t m = lk->po[i]; m < p; m++)
                if (lk->pe[m] == j)
                    return fail_in_line(ctx, r->path, r->down_line,
                                        "down_revision names '%s' twice", r->down.v[k]);
            lk->pe[p++] = j;
        }
        lk->do_[i] = q;
        for (size_t k = 0; k < r->depends.n; k++) {
            const char *name = r->depends.v[k];
            size_t j = find_exact(idx, n, revs, sizeof *revs, name);
            if (j == NONE)
                j = find_label(labels, nlabels, name);
            if (j == NONE) {
                size_t count, first;
                j = find_prefix(idx, n, revs, sizeof *revs, name, &count, &first);
                if (count > 1)
                    return fail_in_line(ctx, r->path, r->depends_line,
                                        "depends_on '%s' is ambiguous: %s, %s%s", name, revs[idx[first]].id,
                                        revs[idx[first + 1]].id, count > 2 ? ", ..." : "");
                if (j == NONE)
                    return fail_in_line(ctx, r->path, r->depends_line,
                                        "depends_on '%s' is not a known revision or branch label", name);
            }
            /* a dependency that is also a down_revision adds nothing */
            int dup = 0;
            for (size_t m = lk->po[i]; m < p; m++)
                dup |= lk->pe[m] == j;
            for (size_t m = lk->do_[i]; m < q; m++)
                dup |= lk->de[m] == j;
            if (!dup)
                lk->de[q++] = j;
        }
    }
    lk->po[n] = p;
    lk->do_[n] = q;
    return 0;
}

/*
 * Depth-first post-order over down_revisions then depends_on, from the
 * heads in file-name order, then from anything left (only a cycle can be
 * left). A branch is thus listed whole before the next one starts.
 * Fills order[] with load indexes; a cycle is an error naming a file in it.
 */
static int topo_sort(size_t *order, mig_ctx *ctx, const mig_rev *revs, size_t n,
                     const links *lk)
{
    unsigned char *state = calloc(n ? n : 1, 1); /* 0 new, 1 on the stack, 2 done */
    unsigned char *haskid = calloc(n ? n : 1, 1);
    size_t *stk = malloc((n ? n : 1) * sizeof *stk);
    size_t *cur = malloc((n ? n : 1) * sizeof *cur); /* next edge to follow, per stack entry */
    int rc = 0;
    if (!state || !haskid || !stk || !cur) {
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t e = 0; e < lk->po[n]; e++)
        haskid[lk->pe[e]] = 1;
    size_t nout = 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        for (size_t root = 0; root < n && rc == 0; root++) {
            if (state[root] || (pass == 0 && haskid[root]))
                continue;
            size_t top = 0;
            stk[top] = root;
            cur[top] = 0;
            state[root] = 1;
            top++;
            while (top) {
                size_t v = stk[top - 1];
                size_t np = lk->po[v + 1] - lk->po[v];
                size_t nd = lk->do_[v + 1] - lk->do_[v];
                size_t k = cur[top - 1]++;
                if (k >= np + nd) {
                    state[v] = 2;
                    order[nout++] = v;
                    top--;
                    continue;
                }
                size_t w = k < np ? lk->pe[lk->po[v] + k] : lk->de[lk->do_[v] + k - np];
                if (state[w] == 2)
                    continue;
                if (state[w] == 1) {
                    mig_buf cyc = MIG_BUF_INIT;
                    size_t s = top;
                    while (s > 0 && stk[s - 1] != w)
                        s--;
                    size_t shown = 0;
                    for (size_t t = s - 1; t < top && shown < 8; t++, shown++)
                        mig_buf_printf(&cyc, "%s -> ", revs[stk[t]].id);
                    mig_buf_printf(&cyc, "%s%s", top - (s - 1) > 8 ? "... -> " : "",
                                   revs[w].id);
                    rc = fail_in(ctx, revs[w].path, "%s: revision cycle: %s", revs[w].path,
                                 mig_buf_cstr(&cyc));
                    mig_buf_release(&cyc);
                    break;
                }
                state[w] = 1;
                stk[top] = w;
                cur[top] = 0;
                top++;
            }
        }
    }
done:
    free(state);
    free(haskid);
    free(stk);
    free(cur);
    return rc;
}

void mig_graph_free(mig_graph *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->n; i++)
        mig_rev_release(&g->nodes[i].rev);
    free(g->nodes);
    free(g->pool);
    free(g->by_id);
    free(g->heads);
    free(g->bases);
    free(g->labels);
    free(g->lpool);
    free(g);
}

static int is_reserved(const char *s)
{
    return strcmp(s, "head") == 0 || strcmp(s, "heads") == 0 || strcmp(s, "base") == 0;
}

/*
 * Branch labels as Alembic spreads them: a label covers the revision that
 * declares it, all its descendants, and its ancestors down to (not
 * including) the nearest branch or merge point.
 */
static int spread_labels(mig_graph *g, mig_ctx *ctx)
{
    size_t n = g->n;
    size_t *cnt = calloc(n ? n : 1, sizeof *cnt);
    size_t *stk = malloc((n ? n : 1) * sizeof *stk);
    unsigned char *seen = calloc(n ? n : 1, 1);
    int rc = 0;
    if (!cnt || !stk || !seen) {
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        goto done;
    }
    /* two rounds: count, then fill */
    for (int round = 0; round < 2; round++) {
        if (round == 1) {
            size_t slots = 0;
            for (size_t i = 0; i < n; i++)
                if (cnt[i])
                    slots += cnt[i] + 1;
            if (slots == 0)
                break;
            g->lpool = calloc(slots, sizeof *g->lpool);
            if (g->lpool == NULL) {
                rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
                goto done;
            }
            size_t off = 0;
            for (size_t i = 0; i < n; i++)
                if (cnt[i]) {
                    g->nodes[i].blabels = g->lpool + off;
                    off += cnt[i] + 1;
                    cnt[i] = 0;
                }
        }
        for (size_t d = 0; d < n; d++) {
            const mig_rev *r = &g->nodes[d].rev;
            if (r->labels.n == 0)
                continue;
            /*
             * Descendants, through down_revision links only. stk holds the
             * walk from its start and the visited list from its end: each
             * revision enters once, so the two never meet.
             */
            size_t top = 0;
            stk[top++] = d;
            seen[d] = 1;
            size_t nseen = 0;
            while (top) {
                size_t v = stk[--top];
                stk[n - 1 - nseen++] = v; /* remember to clear seen[] (fills from the end) */
                for (size_t k = 0; k < r->labels.n; k++) {
                    if (round)
                        g->nodes[v].blabels[cnt[v]] = r->labels.v[k];
                    cnt[v]++;
                }
                for (size_t c = 0; c < g->nodes[v].nkid; c++) {
                    size_t w = g->nodes[v].kid[c];
                    if (!seen[w]) {
                        seen[w] = 1;
                        stk[top++] = w;
                    }
                }
            }
            for (size_t s = 0; s < nseen; s++)
                seen[stk[n - 1 - s]] = 0;
            /* ancestors, until a branch or merge point */
            size_t v = d;
            while (g->nodes[v].npar == 1) {
                size_t p = g->nodes[v].par[0];
                const gnode *pn = &g->nodes[p];
                if (pn->nkid + pn->ndpt > 1 || pn->npar > 1)
                    break;
                for (size_t k = 0; k < r->labels.n; k++) {
                    if (round)
                        g->nodes[p].blabels[cnt[p]] = r->labels.v[k];
                    cnt[p]++;
                }
                v = p;
            }
        }
    }
done:
    free(cnt);
    free(stk);
    free(seen);
    return rc;
}

int mig_graph_from_revs(mig_graph **out, mig_ctx *ctx, mig_rev *revs, size_t n)
{
    *out = NULL;
    int rc = 0;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    size_t *pos = malloc((n ? n : 1) * sizeof *pos);
    glabel *labels = NULL;
    size_t nlabels = 0;
    links lk = { NULL, NULL, NULL, NULL };
    mig_graph *g = calloc(1, sizeof *g);
    if (!idx || !order || !pos || !g) {
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        goto fail;
    }

    /* ids: unique */
    idkey *keys = malloc((n ? n : 1) * sizeof *keys);
    if (keys == NULL) {
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        keys[i].id = revs[i].id;
        keys[i].i = i;
    }
    if (n)
        sort_unless_sorted(keys, n, sizeof *keys, cmp_idkey);
    for (size_t i = 0; i < n; i++)
        idx[i] = keys[i].i;
    free(keys);
    for (size_t k = 1; k < n; k++) {
        size_t a = idx[k - 1], b = idx[k];
        if (strcmp(revs[a].id, revs[b].id) == 0) {
            if (a > b) {
                size_t t = a;
                a = b;
                b = t;
            }
            rc = fail_in(ctx, revs[b].path, "duplicate revision id '%s' in %s and %s", revs[a].id,
                         revs[a].path, revs[b].path);
            goto fail;
        }
    }

    /* labels: unique, and not also a revision id */
    for (size_t i = 0; i < n; i++)
        nlabels += revs[i].labels.n;
    labels = calloc(nlabels ? nlabels : 1, sizeof *labels);
    if (labels == NULL) {
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        goto fail;
    }
    nlabels = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < revs[i].labels.n; k++) {
            const char *name = revs[i].labels.v[k];
            if (is_reserved(name)) {
                rc = fail_in(ctx, revs[i].path, "%s: '%s' cannot be a branch label", revs[i].path,
                             name);
                goto fail;
            }
            size_t j = find_exact(idx, n, revs, sizeof *revs, name);
            if (j != NONE) {
                rc = fail_in(ctx, revs[i].path,
                             "%s: branch label '%s' is the id of the revision in %s", revs[i].path,
                             name, revs[j].path);
                goto fail;
            }
            labels[nlabels].name = name;
            labels[nlabels].pos = i;
            nlabels++;
        }
    if (nlabels)
        qsort(labels, nlabels, sizeof *labels, cmp_label);
    for (size_t k = 1; k < nlabels; k++)
        if (strcmp(labels[k - 1].name, labels[k].name) == 0) {
            size_t a = labels[k - 1].pos, b = labels[k].pos;
            if (a == b)
                rc = fail_in(ctx, revs[a].path, "%s: branch label '%s' given twice", revs[a].path,
                             labels[k].name);
            else
                rc = fail_in(ctx, revs[b].path, "branch label '%s' is used by both %s and %s",
                             labels[k].name, revs[a].path, revs[b].path);
            goto fail;
        }

    rc = resolve_links(&lk, ctx, revs, n, idx, labels, nlabels);
    if (rc)
        goto fail;
    rc = topo_sort(order, ctx, revs, n, &lk);
    if (rc)
        goto fail;
    for (size_t k = 0; k < n; k++)
        pos[order[k]] = k; /* NOLINT(clang-analyzer-core.uninitialized.ArraySubscript): topo_sort fills order[0..n) */

    /* move the revisions into topological order, links as positions */
    g->nodes = calloc(n ? n : 1, sizeof *g->nodes);
    size_t nedges = 2 * (lk.po[n] + lk.do_[n]);
    g->pool = malloc((nedges ? nedges : 1) * sizeof *g->pool);
    g->by_id = malloc((n ? n : 1) * sizeof *g->by_id);
    if (!g->nodes || !g->pool || !g->by_id) {
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        goto fail;
    }
    g->n = n; /* from here mig_graph_free releases the moved revisions */
    size_t *p = g->pool;
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k];
        gnode *nd = &g->nodes[k];
        nd->rev = revs[i];
        memset(&revs[i], 0, sizeof revs[i]);
        nd->par = p;
        for (size_t e = lk.po[i]; e < lk.po[i + 1]; e++)
            *p++ = pos[lk.pe[e]];
        nd->npar = (size_t)(p - nd->par);
        nd->dep = p;
        for (size_t e = lk.do_[i]; e < lk.do_[i + 1]; e++)
            *p++ = pos[lk.de[e]];
        nd->ndep = (size_t)(p - nd->dep);
        nd->blabels = (const char **)no_labels;
    }
    for (size_t k = 0; k < n; k++) {
        for (size_t e = 0; e < g->nodes[k].npar; e++)
            g->nodes[g->nodes[k].par[e]].nkid++;
        for (size_t e = 0; e < g->nodes[k].ndep; e++)
            g->nodes[g->nodes[k].dep[e]].ndpt++;
    }
    for (size_t k = 0; k < n; k++) {
        gnode *nd = &g->nodes[k];
        nd->kid = p;
        p += nd->nkid;
        nd->dpt = p;
        p += nd->ndpt;
        nd->nkid = nd->ndpt = 0;
    }
    /* children in topological order: fill walking the children in order */
    for (size_t k = 0; k < n; k++) {
        gnode *nd = &g->nodes[k];
        for (size_t e = 0; e < nd->npar; e++) {
            gnode *pn = &g->nodes[nd->par[e]];
            pn->kid[pn->nkid++] = k;
        }
        for (size_t e = 0; e < nd->ndep; e++) {
            gnode *pn = &g->nodes[nd->dep[e]];
            pn->dpt[pn->ndpt++] = k;
        }
    }
    for (size_t k = 0; k < n; k++)
        g->by_id[k] = pos[idx[k]];
    for (size_t k = 0; k < nlabels; k++)
        labels[k].pos = pos[labels[k].pos];
    g->labels = labels;
    g->nlabels = nlabels;
    labels = NULL;

    g->heads = malloc((n ? n : 1) * sizeof *g->heads);
    g->bases = malloc((n ? n : 1) * sizeof *g->bases);
    if (!g->heads || !g->bases) {
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t k = 0; k < n; k++) {
        if (g->nodes[k].nkid == 0)
            g->heads[g->nheads++] = k;
        if (g->nodes[k].npar == 0)
            g->bases[g->nbases++] = k;
    }
    rc = spread_labels(g, ctx);
    if (rc)
        goto fail;

    free(idx);
    free(order);
    free(pos);
    links_free(&lk);
    *out = g;
    return 0;

fail:
    for (size_t i = 0; i < n; i++)
        mig_rev_release(&revs[i]);
    free(idx);
    free(order);
    free(pos);
    free(labels);
    links_free(&lk);
    mig_graph_free(g);
    return rc;
}

/* ---- queries ---- */

size_t mig_graph_count(const mig_graph *g)
{
    return g ? g->n : 0;
}

size_t mig_graph_py_files(const mig_graph *g)
{
    return g ? g->npy : 0;
}

const mig_rev *mig_graph_at(const mig_graph *g, size_t i)
{
    return i < g->n ? &g->nodes[i].rev : NULL;
}

size_t mig_graph_index(const mig_graph *g, const mig_rev *rev)
{
    return (size_t)((const gnode *)rev - g->nodes);
}

static const gnode *node_of(const mig_rev *rev)
{
    return (const gnode *)rev;
}

size_t mig_graph_nheads(const mig_graph *g)
{
    return g->nheads;
}

const mig_rev *mig_graph_head(const mig_graph *g, size_t i)
{
    return i < g->nheads ? &g->nodes[g->heads[i]].rev : NULL;
}

size_t mig_graph_nbases(const mig_graph *g)
{
    return g->nbases;
}

const mig_rev *mig_graph_base(const mig_graph *g, size_t i)
{
    return i < g->nbases ? &g->nodes[g->bases[i]].rev : NULL;
}

size_t mig_graph_nchildren(const mig_graph *g, const mig_rev *rev)
{
    (void)g;
    return node_of(rev)->nkid;
}

const mig_rev *mig_graph_child(const mig_graph *g, const mig_rev *rev, size_t i)
{
    const gnode *nd = node_of(rev);
    return i < nd->nkid ? &g->nodes[nd->kid[i]].rev : NULL;
}

size_t mig_graph_nparents(const mig_graph *g, const mig_rev *rev)
{
    (void)g;
    return node_of(rev)->npar;
}

const mig_rev *mig_graph_parent(const mig_graph *g, const mig_rev *rev, size_t i)
{
    const gnode *nd = node_of(rev);
    return i < nd->npar ? &g->nodes[nd->par[i]].rev : NULL;
}

size_t mig_graph_ndepends(const mig_graph *g, const mig_rev *rev)
{
    (void)g;
    return node_of(rev)->ndep;
}

const mig_rev *mig_graph_depend(const mig_graph *g, const mig_rev *rev, size_t i)
{
    const gnode *nd = node_of(rev);
    return i < nd->ndep ? &g->nodes[nd->dep[i]].rev : NULL;
}

const char *const *mig_graph_branch_labels(const mig_graph *g, const mig_rev *rev)
{
    (void)g;
    return node_of(rev)->blabels;
}

/* Mark (with bit) rev's ancestors, or descendants, through every kind of link. */
enum { ALL_LINKS = 0, DOWN_ONLY = 1 };

static void mark_up_down(const mig_graph *g, unsigned char *mark, size_t *stk,
                         const size_t *roots, size_t nroots, unsigned char bit,
                         int descendants, int down_only)
{
    size_t top = 0;
    for (size_t r = 0; r < nroots; r++)
        if (!(mark[roots[r]] & bit)) {
            mark[roots[r]] |= bit;
            stk[top++] = roots[r];
        }
    while (top) {
        const gnode *nd = &g->nodes[stk[--top]];
        const size_t *a = descendants ? nd->kid : nd->par;
        size_t na = descendants ? nd->nkid : nd->npar;
        const size_t *b = descendants ? nd->dpt : nd->dep;
        size_t nb = down_only ? 0 : (descendants ? nd->ndpt : nd->ndep);
        for (size_t e = 0; e < na + nb; e++) {
            size_t w = e < na ? a[e] : b[e - na];
            if (!(mark[w] & bit)) {
                mark[w] |= bit;
                stk[top++] = w;
            }
        }
    }
}

int mig_graph_is_ancestor(const mig_graph *g, const mig_rev *anc, const mig_rev *rev)
{
    size_t a = mig_graph_index(g, anc), r = mig_graph_index(g, rev);
    /* ancestors come first in the order: no walk needed otherwise */
    if (a >= r)
        return 0;
    unsigned char *seen = calloc(g->n, 1);
    size_t *stk = malloc(g->n * sizeof *stk);
    int found = 0;
    size_t top = 0;
    if (seen && stk) {
        stk[top++] = r;
        seen[r] = 1;
    }
    while (top && !found) {
        const gnode *nd = &g->nodes[stk[--top]];
        for (size_t e = 0; e < nd->npar + nd->ndep; e++) {
            size_t w = e < nd->npar ? nd->par[e] : nd->dep[e - nd->npar];
            /* nothing placed before anc can lead down to it */
            if (w < a || seen[w])
                continue;
            if (w == a) {
                found = 1;
                break;
            }
            seen[w] = 1;
            stk[top++] = w;
        }
    }
    free(seen);
    free(stk);
    return found;
}

static void list_ids(mig_buf *b, const mig_graph *g, const size_t *pos, size_t n)
{
    for (size_t i = 0; i < n && i < 6; i++)
        mig_buf_printf(b, "%s%s", i ? ", " : "", g->nodes[pos[i]].rev.id);
    if (n > 6)
        mig_buf_printf(b, ", ... (%zu in all)", n);
}

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
        mig_buf_printf(&b, "%s`mig %s %s%s`", i == 0 ? "" : i + 1 == n ? " or " : ", ", cmd,
                       g->nodes[pos[i]].rev.id, suffix);
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
    mark_up_down(g, mark, stk, &decl, 1, 1, 1, DOWN_ONLY);
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
    return find_label(g->labels, g->nlabels, name);
}

/* Exact id, unique prefix or branch label; NONE with the error set. */
static int find_pos(size_t *out, mig_ctx *ctx, const mig_graph *g, const char *name)
{
    const mig_rev *base = g->n ? &g->nodes[0].rev : NULL;
    size_t stride = sizeof(gnode);
    size_t p = g->n ? find_exact(g->by_id, g->n, base, stride, name) : NONE;
    if (p != NONE) {
        *out = p;
        return 0;
    }
    size_t count = 0, first = 0;
    if (g->n && *name)
        p = find_prefix(g->by_id, g->n, base, stride, name, &count, &first);
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
        list_ids(&b, g, hs, nh);
        int rc = mig_fail(ctx, MIG_ETARGET, "branch '%s' has %zu heads: %s", name, nh,
                          mig_buf_cstr(&b));
        mig_error_hint(ctx, "name one of them");
        mig_buf_release(&b);
        free(hs);
        return rc;
    }
    if (count > 1) {
        mig_buf b = MIG_BUF_INIT;
        list_ids(&b, g, g->by_id + first, count);
        int rc = mig_fail(ctx, MIG_ETARGET, "revision prefix '%s' is ambiguous: %s", name,
                          mig_buf_cstr(&b));
        mig_buf_release(&b);
        return rc;
    }
    return mig_fail(ctx, MIG_ETARGET, "unknown revision '%s'", name);
}

int mig_graph_find(const mig_rev **out, mig_ctx *ctx, const mig_graph *g, const char *name)
{
    size_t p;
    *out = NULL;
    int rc = find_pos(&p, ctx, g, name);
    if (rc == 0)
        *out = &g->nodes[p].rev;
    return rc;
}

/* ---- planning ---- */

/* Bits of the planner's per-revision marks. */
enum {
    M_APPLIED = 1,  /* ancestor of (or equal to) a current head */
    M_SET     = 2,  /* the revisions the plan runs */
    M_LINE    = 4,  /* scratch: a lineage or ancestry */
    M_TMP     = 8,  /* scratch */
    M_HEAD    = 16, /* in the version table */
    M_HELD    = 32, /* held back by MIG_PLAN_EXPAND */
};

typedef struct planner {
    mig_ctx         *ctx;
    const mig_graph *g;
    unsigned char   *mark;
    size_t          *stk;
    size_t          *cur;  /* current heads, positions, deduplicated */
    size_t           ncur;
    const char      *target;
    int              no_state; /* checking a target before any database is read */
} planner;

static void planner_release(planner *p)
{
    free(p->mark);
    free(p->stk);
    free(p->cur);
}

static void clear_bit(planner *p, unsigned char bit)
{
    for (size_t i = 0; i < p->g->n; i++)
        p->mark[i] &= (unsigned char)~bit;
}

static int planner_init(planner *p, mig_ctx *ctx, const mig_graph *g,
                        const char *const *current, size_t ncurrent)
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
        size_t k = g->n ? find_exact(g->by_id, g->n, base, sizeof(gnode), current[i]) : NONE;
        if (k == NONE)
            return mig_graph_fail_unknown(ctx, current[i]);
        if (p->mark[k] & M_HEAD)
            continue;
        p->mark[k] |= M_HEAD;
        p->cur[p->ncur++] = k;
    }
    mark_up_down(g, p->mark, p->stk, p->cur, p->ncur, M_APPLIED, 0, ALL_LINKS);
    return 0;
}

int mig_graph_fail_unknown(mig_ctx *ctx, const char *id)
{
    int rc = mig_fail(ctx, MIG_ETARGET, "the database is at revision '%s', which no revision file declares", id);
    mig_error_hint(ctx, "write a placeholder revision with that id (`mig revision -m placeholder --rev-id %s`, "
                        "see docs/alembic.md), or set the version table with `mig stamp REV`", id);
    return rc;
}

/* Lineage of a revision: its ancestors and descendants through down_revision. */
static void mark_lineage(planner *p, size_t decl)
{
    clear_bit(p, M_LINE);
    mark_up_down(p->g, p->mark, p->stk, &decl, 1, M_LINE, 0, DOWN_ONLY);
    p->mark[decl] &= (unsigned char)~M_LINE;
    mark_up_down(p->g, p->mark, p->stk, &decl, 1, M_LINE, 1, DOWN_ONLY);
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
                                "relative target '%s' walks past base: only %ld step%s down",
                                p->target, s, s == 1 ? "" : "s");
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
                            "relative target '%s' walks past the head: only %ld step%s up",
                            p->target, s, s == 1 ? "" : "s");
        }
        if (npick > 1) {
            int rc;
            if (steps > 0)
                rc = mig_fail(p->ctx, MIG_ETARGET,
                              "relative target '%s' is ambiguous: %s branches into %s",
                              p->target, at_base ? "base" : g->nodes[at].rev.id, mig_buf_cstr(&b));
            else
                rc = mig_fail(p->ctx, MIG_ETARGET,
                              "relative target '%s' is ambiguous: %s merges %s",
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

/* What a target string names, for one direction. */
typedef struct resolved {
    size_t *revs;     /* revisions; none with is_base */
    size_t  nrevs;
    int     is_base;
    size_t  label;    /* LABEL@...: the revision declaring the label (NONE) */
    size_t  lineage;  /* a relative step from this current head (NONE) */
} resolved;

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
                          "revisions (%s)", p->target, mig_buf_cstr(&b));
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
                            "applied tips", p->target);
        *out = tip;
        return 0;
    }
    if (steps < 0 && r->label != NONE)
        return mig_fail(p->ctx, MIG_ETARGET,
                        "relative target '%s': no current revision is on that branch", p->target);
    if (steps < 0)
        return mig_fail(p->ctx, MIG_ETARGET,
                        "relative target '%s' walks past base: the database is at base",
                        p->target);
    *out = NONE;
    return 0;
}

/*
 * Resolve target for upgrade (up=1), downgrade (0) or stamp (2, absolute
 * targets only). On success r holds revisions or base.
 */
static int resolve_target(resolved *r, planner *p, const char *target, int up)
{
    const mig_graph *g = p->g;
    memset(r, 0, sizeof *r);
    r->label = r->lineage = NONE;
    p->target = target;
    r->revs = malloc((g->nheads + 1) * sizeof *r->revs);
    if (r->revs == NULL)
        return mig_fail(p->ctx, MIG_ENOMEM, "out of memory");

    const char *rest = target;
    char *label = NULL;
    const char *at = strchr(target, '@');
    if (at != NULL) {
        label = mig_strndup(target, (size_t)(at - target));
        if (label == NULL)
            return mig_fail(p->ctx, MIG_ENOMEM, "out of memory");
        rest = at + 1;
        size_t decl = find_label_pos(g, label);
        if (decl == NONE) {
            /* a revision names the branch it is on, as in Alembic */
            const mig_rev *base = g->n ? &g->nodes[0].rev : NULL;
            size_t count, first;
            decl = g->n && *label ? find_exact(g->by_id, g->n, base, sizeof(gnode), label) : NONE;
            if (decl == NONE && g->n && *label)
                decl = find_prefix(g->by_id, g->n, base, sizeof(gnode), label, &count, &first);
        }
        if (decl == NONE) {
            int rc = mig_fail(p->ctx, MIG_ETARGET, "unknown branch '%s' in target '%s'", label,
                              target);
            free(label);
            return rc;
        }
        free(label);
        r->label = decl;
        mark_lineage(p, decl);
    } else {
        clear_bit(p, M_LINE);
    }

    if (*rest == '\0')
        return mig_fail(p->ctx, MIG_ETARGET, "empty revision in target '%s'", p->target);

    if (strcmp(rest, "base") == 0) {
        r->is_base = 1;
        return 0;
    }
    if (strcmp(rest, "heads") == 0) {
        for (size_t h = 0; h < g->nheads; h++)
            if (r->label == NONE || (p->mark[g->heads[h]] & M_LINE))
                r->revs[r->nrevs++] = g->heads[h];
        return 0;
    }
    if (strcmp(rest, "head") == 0) {
        for (size_t h = 0; h < g->nheads; h++)
            if (r->label == NONE || (p->mark[g->heads[h]] & M_LINE))
                r->revs[r->nrevs++] = g->heads[h];
        if (r->nrevs == 0)
            return mig_fail(p->ctx, MIG_ETARGET, "target '%s': there are no revisions", p->target);
        if (r->nrevs > 1) {
            mig_buf b = MIG_BUF_INIT;
            list_ids(&b, g, r->revs, r->nrevs);
            int rc = mig_fail(p->ctx, MIG_ETARGET,
                              "target '%s' is ambiguous: there are %zu heads (%s); use 'heads' "
                              "or LABEL@head", target, r->nrevs, mig_buf_cstr(&b));
            mig_buf_release(&b);
            return rc;
        }
        return 0;
    }

    /* SYMBOL+N / SYMBOL-N / +N / -N, unless the whole thing is a name */
    const char *sign = NULL;
    long steps = 0;
    for (const char *c = rest; *c && sign == NULL; c++)
        if ((*c == '+' || *c == '-') && parse_steps(c, &steps))
            sign = c;
    if (sign != NULL && sign > rest && at == NULL && find_label_pos(g, rest) != NONE)
        sign = NULL; /* a label such as "v-2" */
    if (sign == NULL) {
        size_t k;
        int rc = find_pos(&k, p->ctx, g, rest);
        if (rc) /* find_pos sets k when it returns 0: mig_fail never returns 0 */
            return rc;
        /* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.ArraySubscript) */
        if (r->label != NONE && !(p->mark[k] & M_LINE))
            return mig_fail(p->ctx, MIG_ETARGET, "target '%s': revision %s is not on that branch",
                            p->target, g->nodes[k].rev.id);
        r->revs[r->nrevs++] = k; /* NOLINT(clang-analyzer-core.uninitialized.Assign) */
        return 0;
    }
    if (up == 2)
        return mig_fail(p->ctx, MIG_ETARGET, "stamp takes no relative target ('%s')", p->target);

    size_t start = NONE;
    int rc;
    if (sign == rest) {
        /* relative to the database */
        if (up && steps < 0)
            return mig_fail(p->ctx, MIG_ETARGET, "upgrade target '%s' goes down: use downgrade",
                            p->target);
        if (!up && steps > 0)
            return mig_fail(p->ctx, MIG_ETARGET, "downgrade target '%s' goes up: use upgrade",
                            p->target);
        if (p->no_state)
            return 0; /* where -N leads depends on each database */
        rc = relative_start(&start, p, r, steps);
        if (rc)
            return rc;
        r->lineage = start;
    } else {
        char *sym = mig_strndup(rest, (size_t)(sign - rest));
        if (sym == NULL)
            return mig_fail(p->ctx, MIG_ENOMEM, "out of memory");
        rc = 0;
        if (strcmp(sym, "base") == 0)
            start = NONE;
        else if (strcmp(sym, "head") == 0) {
            size_t nh = 0;
            for (size_t h = 0; h < g->nheads; h++)
                if (r->label == NONE || (p->mark[g->heads[h]] & M_LINE)) {
                    start = g->heads[h];
                    nh++;
                }
            if (nh != 1)
                rc = mig_fail(p->ctx, MIG_ETARGET, "target '%s' names %zu heads, not one",
                              p->target, nh);
        } else
            rc = find_pos(&start, p->ctx, g, sym);
        free(sym);
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
            size_t q = e < nd->npar ? nd->par[e] : nd->dep[e - nd->npar];
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
            above[nd->dep[e]]++;
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
            size_t q = e < nd->npar ? nd->par[e] : nd->dep[e - nd->npar];
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
    clear_bit(p, M_TMP);
    clear_bit(p, M_SET);
    if (r->lineage != NONE)
        mark_up_down(g, p->mark, p->stk, &r->lineage, 1, M_TMP, 0, DOWN_ONLY);
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
    mark_up_down(g, p->mark, p->stk, roots, nroots, M_SET, 1, ALL_LINKS);
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
    clear_bit(p, M_TMP);
    mark_up_down(g, p->mark, p->stk, p->cur, p->ncur, M_TMP, 1, ALL_LINKS);
    size_t t = NONE;
    for (size_t i = 0; i < r->nrevs && t == NONE; i++)
        if (!(p->mark[r->revs[i]] & M_APPLIED))
            t = r->revs[i];
    if (t == NONE)
        return 0;
    mig_buf b = MIG_BUF_INIT;
    if (p->ncur)
        list_ids(&b, g, p->cur, p->ncur);
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
                      "(current: %s)", g->nodes[t].rev.id, mig_buf_cstr(&b));
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
    list_ids(&b, g, p->cur, p->ncur);
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
    clear_bit(p, M_HELD);
    for (size_t i = 0; i < g->n; i++)
        if ((p->mark[i] & M_SET) && g->nodes[i].rev.contract)
            seeds[nseeds++] = i;
    mark_up_down(g, p->mark, p->stk, seeds, nseeds, M_HELD, 1, ALL_LINKS);
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

int mig_graph_plan(mig_plan **out, mig_ctx *ctx, const mig_graph *g,
                   const char *const *current, size_t ncurrent,
                   const char *target, int upgrade)
{
    return mig_graph_plan_ex(out, ctx, g, current, ncurrent, target, upgrade, 0);
}

int mig_graph_plan_ex(mig_plan **out, mig_ctx *ctx, const mig_graph *g,
                      const char *const *current, size_t ncurrent,
                      const char *target, int upgrade, unsigned flags)
{
    if ((flags & MIG_PLAN_EXPAND) && !upgrade) {
        *out = NULL;
        return mig_fail(ctx, MIG_EUSAGE, "--expand is an upgrade option: a downgrade has no phases to hold back");
    }
    *out = NULL;
    planner p;
    resolved r = { NULL, 0, 0, NONE, NONE };
    mig_plan *plan = calloc(1, sizeof *plan);
    int rc = plan ? planner_init(&p, ctx, g, current, ncurrent)
                  : mig_fail(ctx, MIG_ENOMEM, "out of memory");
    if (plan == NULL)
        return rc;
    if (rc == 0)
        rc = resolve_target(&r, &p, target, upgrade ? 1 : 0);
    if (rc == 0 && upgrade)
        rc = upgrade_target_check(&p, &r);
    if (rc == 0 && upgrade) {
        clear_bit(&p, M_SET);
        if (!r.is_base)
            mark_up_down(g, p.mark, p.stk, r.revs, r.nrevs, M_SET, 0, ALL_LINKS);
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
    planner_release(&p);
    if (rc) {
        mig_plan_free(plan);
        return rc;
    }
    *out = plan;
    return 0;
}

/*
 * Check a target as far as the graph alone decides: unknown, ambiguous or
 * malformed names, the wrong direction, a walk past base or head from a
 * named revision. Runs that span several databases (tenants) check it once
 * before any starts, since each would fail the same way; what depends on a
 * database's own state is left to that database's plan.
 */
int mig_graph_check_target(mig_ctx *ctx, const mig_graph *g, const char *target, int mode)
{
    planner p;
    resolved r = { NULL, 0, 0, NONE, NONE };
    int rc = planner_init(&p, ctx, g, NULL, 0);
    if (rc == 0) {
        p.no_state = 1;
        rc = resolve_target(&r, &p, target, mode);
    }
    free(r.revs);
    planner_release(&p);
    return rc;
}

/*
 * Stamp as Alembic does: each target replaces the rows on its own line
 * (its ancestors and descendants); rows on other branches stay, and a
 * target related to no row is a new row. `base` removes the rows (of the
 * label's branch with LABEL@base).
 */
int mig_graph_stamp(mig_strvec *out_heads, mig_ctx *ctx, const mig_graph *g,
                    const char *const *current, size_t ncurrent,
                    const char *const *targets, size_t ntargets, int purge)
{
    planner p;
    int rc = planner_init(&p, ctx, g, purge ? NULL : current, purge ? 0 : ncurrent);
    for (size_t t = 0; rc == 0 && t < ntargets; t++) {
        resolved r;
        rc = resolve_target(&r, &p, targets[t], 2);
        if (rc == 0) {
            clear_bit(&p, M_TMP);
            if (r.is_base && r.label == NONE) {
                clear_bit(&p, M_HEAD);
            } else if (r.is_base) {
                size_t s = label_segment_start(g, r.label);
                mark_up_down(g, p.mark, p.stk, &s, 1, M_TMP, 1, ALL_LINKS);
                for (size_t i = 0; i < g->n; i++)
                    if (p.mark[i] & M_TMP)
                        p.mark[i] &= (unsigned char)~M_HEAD;
            } else {
                for (size_t k = 0; k < r.nrevs; k++) {
                    size_t x = r.revs[k];
                    if (p.mark[x] & M_HEAD)
                        continue;
                    clear_bit(&p, M_TMP);
                    mark_up_down(g, p.mark, p.stk, &x, 1, M_TMP, 0, ALL_LINKS);
                    p.mark[x] &= (unsigned char)~M_TMP;
                    mark_up_down(g, p.mark, p.stk, &x, 1, M_TMP, 1, ALL_LINKS);
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
    planner_release(&p);
    return rc;
}

int mig_graph_applied(unsigned char *out, mig_ctx *ctx, const mig_graph *g,
                      const char *const *current, size_t ncurrent)
{
    planner p;
    int rc = planner_init(&p, ctx, g, current, ncurrent);
    if (rc == 0)
        for (size_t i = 0; i < g->n; i++)
            out[i] = (p.mark[i] & M_APPLIED) != 0;
    planner_release(&p);
    return rc;
}

int mig_graph_held_back(unsigned char *out, mig_ctx *ctx, const mig_graph *g,
                        const char *const *current, size_t ncurrent)
{
    planner p;
    int rc = planner_init(&p, ctx, g, current, ncurrent);
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
    planner_release(&p);
    return rc;
}

int mig_graph_pending(size_t *out, mig_ctx *ctx, const mig_graph *g,
                      const char *const *current, size_t ncurrent)
{
    planner p;
    *out = 0;
    int rc = planner_init(&p, ctx, g, current, ncurrent);
    if (rc == 0)
        for (size_t i = 0; i < g->n; i++)
            *out += !(p.mark[i] & M_APPLIED);
    planner_release(&p);
    return rc;
}
