/*
 * The revision graph: load every header of versions/, link and validate
 * the revisions, and answer the questions the commands ask of it (heads,
 * bases, ancestry) in time close to linear in the number of revisions,
 * since a project may hold thousands.
 *
 * After loading, revisions sit in one array in a stable topological order
 * (every down_revision and depends_on before the revisions that name it)
 * and all links are positions in that array (graph_int.h). What a target
 * names is target.c's, the walk to it plan.c's.
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
#include "graph_int.h"

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

/* ---- the graph's strings ---- */

/*
 * Every string of the graph's revisions (id, path, message, the lists and
 * their arrays) is copied into large blocks as soon as its header is
 * parsed, and the parser's allocations freed: a revision's half dozen
 * small allocations cost 16 bytes of bookkeeping each and round up to
 * 32, 48 or 96 bytes, twice what the text needs. Blocks are big enough
 * to be mapped on their own, so what is never written is never resident
 * and a freed block goes back to the system rather than staying in the
 * loading thread's malloc arena.
 */
typedef struct strblock {
    struct strblock *next;
    size_t used, cap;
    char *data;
} strblock;

enum { STRBLOCK_SIZE = 256 * 1024 };

static void strblocks_free(strblock *b)
{
    while (b) {
        strblock *next = b->next;
        free(b);
        b = next;
    }
}

/* size bytes aligned to align (a power of two) in *pool; NULL on out of memory. */
static void *pool_alloc(strblock **pool, size_t size, size_t align)
{
    strblock *b = *pool;
    size_t at = b ? (b->used + align - 1) & ~(align - 1) : 0;
    if (b == NULL || at + size > b->cap) {
        size_t cap = size > STRBLOCK_SIZE ? size : STRBLOCK_SIZE;
        /* the header and the data in one allocation; data aligned for a pointer array */
        size_t head = (sizeof *b + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
        b = malloc(head + cap);
        if (b == NULL)
            return NULL;
        b->data = (char *)b + head;
        b->cap = cap;
        b->next = *pool;
        *pool = b;
        at = 0;
    }
    b->used = at + size;
    return b->data + at;
}

static char *pool_str(strblock **pool, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = pool_alloc(pool, n, 1);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* An absent message or date, as parsed: no room taken in the pool. */
static char empty_text[] = "";

/*
 * Where a revision's strings go: all into keep, but for the down_revision
 * ids, which go into ids until the graph points each at the id of the
 * revision it names (every revision but the bases has one), then ids is
 * freed (intern_down).
 */
typedef struct strpools {
    strblock *keep, *ids;
} strpools;

/* A copy of list: the array in *pool, the strings in *spool. */
static int pool_list(mig_revlist *out, strblock **pool, strblock **spool, const mig_revlist *list)
{
    memset(out, 0, sizeof *out);
    if (list->n == 0)
        return 0;
    char **v = pool_alloc(pool, (list->n + 1) * sizeof *v, sizeof *v);
    if (v == NULL)
        return -1;
    for (size_t i = 0; i < list->n; i++)
        if ((v[i] = pool_str(spool, list->v[i])) == NULL)
            return -1;
    v[list->n] = NULL;
    out->v = v;
    out->n = list->n;
    return 0;
}

/* A copy of v (NULL-terminated, or NULL) in the pool. */
static int pool_strs(char ***out, strblock **pool, char *const *v)
{
    mig_revlist l = { (char **)v, mig_strs_count(v) }, c;
    if (pool_list(&c, pool, pool, &l))
        return -1;
    *out = c.v;
    return 0;
}

static char *pool_text(strblock **pool, const char *s)
{
    return s && s[0] ? pool_str(pool, s) : empty_text;
}

/*
 * Move r's strings into the pool and free its own. On failure (out of
 * memory) r is as it was, and still the caller's to release.
 */
static int pool_rev(strpools *sp, mig_rev *r)
{
    strblock **pool = &sp->keep;
    mig_rev c = *r;
    c.id = pool_str(pool, r->id);
    c.path = pool_str(pool, r->path);
    c.message = pool_text(pool, r->message);
    c.create_date = pool_text(pool, r->create_date);
    if (!c.id || !c.path || !c.message || !c.create_date || pool_list(&c.down, pool, &sp->ids, &r->down) ||
        pool_strs(&c.labels, pool, r->labels) || pool_strs(&c.depends, pool, r->depends))
        return -1;
    mig_rev_release(r);
    *r = c;
    return 0;
}

static int from_revs(mig_graph **out, mig_ctx *ctx, mig_rev *revs, size_t n, strpools sp, int own);

/*
 * The names of the revision files in versions_dir, sorted, in one buffer
 * (names->ptr) with *out pointing into it: one allocation for all rather
 * than one a name. *npy counts Alembic's .py revisions.
 */
static int list_revision_files(char ***out, size_t *nout, mig_buf *names, size_t *npy, mig_ctx *ctx,
                               const char *versions_dir)
{
    *out = NULL;
    *nout = 0;
    DIR *d = opendir(versions_dir);
    if (d == NULL)
        return mig_fail_os(ctx, MIG_ECONFIG, errno, "cannot open versions folder %s: %s", versions_dir,
                           strerror(errno));
    struct dirent *e;
    size_t n = 0;
    /* which names are revision files: mig_ctx_may_have_revisions (api.c) must agree */
    while ((e = readdir(d)) != NULL) {
        /* editors' lock and swap files start with a dot */
        if (e->d_name[0] == '.')
            continue;
        if (e->d_type == DT_DIR)
            continue;
        /* counted, so a project taken over from Alembic hears why its revisions are not seen */
        if (has_suffix(e->d_name, ".py") && strcmp(e->d_name, "__init__.py") != 0)
            (*npy)++;
        if (!has_suffix(e->d_name, ".sql") && !has_suffix(e->d_name, ".lua"))
            continue;
        mig_buf_put(names, e->d_name, strlen(e->d_name) + 1);
        n++;
    }
    closedir(d);
    char **v = names->oom ? NULL : malloc((n ? n : 1) * sizeof *v);
    if (v == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    /* the buffer is complete: pointers into it stay valid */
    const char *p = names->ptr;
    for (size_t i = 0; i < n; i++) {
        v[i] = (char *)p;
        p += strlen(p) + 1;
    }
    /* readdir's order is the file system's; the graph's must not be */
    if (n)
        sort_unless_sorted(v, n, sizeof *v, cmp_cstr);
    *out = v;
    *nout = n;
    return 0;
}

/* Parse every file's header into revs[], each revision's strings moved into *sp. */
static int read_headers(mig_rev *revs, size_t *nrevs, strpools *sp, mig_ctx *ctx,
                        const char *versions_dir, char *const *names, size_t n)
{
    mig_buf path = MIG_BUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        mig_buf_clear(&path);
        /* put, not printf: this runs once per revision file */
        mig_buf_puts(&path, versions_dir);
        mig_buf_putc(&path, '/');
        mig_buf_puts(&path, names[i]);
        if (path.oom) {
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
            break;
        }
        rc = mig_revfile_read_header(&revs[*nrevs], ctx, path.ptr, has_suffix(names[i], ".lua"));
        if (rc == 0 && pool_rev(sp, &revs[*nrevs]) != 0) {
            mig_rev_release(&revs[*nrevs]);
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        }
        if (rc == 0)
            (*nrevs)++;
    }
    mig_buf_release(&path);
    return rc;
}

int mig_graph_load(mig_graph **out, mig_ctx *ctx, const char *versions_dir)
{
    *out = NULL;
    mig_buf names = MIG_BUF_INIT;
    char **v = NULL;
    size_t n = 0, npy = 0;
    int rc = list_revision_files(&v, &n, &names, &npy, ctx, versions_dir);
    /* room for as many nodes: the graph is built in this array (from_revs, own=1) */
    mig_rev *revs = rc ? NULL : calloc(n ? n : 1, sizeof(gnode));
    if (rc == 0 && revs == NULL)
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    strpools sp = { NULL, NULL };
    size_t nrevs = 0;
    if (rc == 0)
        rc = read_headers(revs, &nrevs, &sp, ctx, versions_dir, v, n);
    free(v);
    mig_buf_release(&names);
    if (rc) {
        strblocks_free(sp.keep);
        strblocks_free(sp.ids);
        free(revs);
        return rc;
    }
    rc = from_revs(out, ctx, revs, nrevs, sp, 1);
    if (rc == 0)
        (*out)->npy = npy;
    return rc;
}

/* An id with its index, sorted to find revisions by bisection. */
typedef struct idkey {
    const char *id;
    size_t i;
} idkey;

static int cmp_idkey(const void *a, const void *b)
{
    const idkey *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* The first k in idx[0..n) with revs[idx[k]].id >= key. */
static size_t lower_bound(const size_t *idx, size_t n, const mig_rev *revs, size_t stride, const char *key)
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
size_t mig_graph_find_exact(const size_t *idx, size_t n, const mig_rev *revs, size_t stride, const char *id)
{
    size_t k = lower_bound(idx, n, revs, stride, id);
    if (k < n && strcmp(rev_at(revs, stride, idx[k])->id, id) == 0)
        return idx[k];
    return NONE;
}

/* Unique prefix: position, NONE when none, and *count of matches. */
size_t mig_graph_find_prefix(const size_t *idx, size_t n, const mig_rev *revs, size_t stride,
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

size_t mig_graph_find_label(const glabel *labels, size_t n, const char *name)
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

static int resolve_links(links *lk, mig_ctx *ctx, const mig_rev *revs, size_t n, const size_t *idx,
                         const glabel *labels, size_t nlabels)
{
    size_t np = 0, nd = 0;
    for (size_t i = 0; i < n; i++) {
        np += revs[i].down.n;
        nd += mig_strs_count(revs[i].depends);
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
            size_t j = mig_graph_find_exact(idx, n, revs, sizeof *revs, r->down.v[k]);
            if (j == NONE)
                return fail_in_line(ctx, r->path, r->down_line,
                                    "down_revision '%s' is not a known revision", r->down.v[k]);
            for (size_t m = lk->po[i]; m < p; m++)
                if (lk->pe[m] == j)
                    return fail_in_line(ctx, r->path, r->down_line, "down_revision names '%s' twice",
                                        r->down.v[k]);
            lk->pe[p++] = j;
        }
        lk->do_[i] = q;
        for (size_t k = 0; r->depends && r->depends[k]; k++) {
            const char *name = r->depends[k];
            size_t j = mig_graph_find_exact(idx, n, revs, sizeof *revs, name);
            if (j == NONE)
                j = mig_graph_find_label(labels, nlabels, name);
            if (j == NONE) {
                size_t count, first;
                j = mig_graph_find_prefix(idx, n, revs, sizeof *revs, name, &count, &first);
                if (count > 1)
                    return fail_in_line(ctx, r->path, r->depends_line,
                                        "depends_on '%s' is ambiguous: %s, %s%s", name,
                                        revs[idx[first]].id, revs[idx[first + 1]].id,
                                        count > 2 ? ", ..." : "");
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
static int topo_sort(size_t *order, mig_ctx *ctx, const mig_rev *revs, size_t n, const links *lk)
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
                    mig_buf_printf(&cyc, "%s%s", top - (s - 1) > 8 ? "... -> " : "", revs[w].id);
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
    /* the revisions' strings are all in g->strings */
    free(g->nodes);
    free(g->pool);
    free(g->by_id);
    free(g->heads);
    free(g->bases);
    free(g->labels);
    free(g->lpool);
    free(g->blabels);
    strblocks_free(g->strings);
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
    /* most projects declare none: then no pointer a revision */
    if (g->nlabels == 0)
        return 0;
    g->blabels = calloc(n, sizeof *g->blabels);
    if (g->blabels == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
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
                    g->blabels[i] = g->lpool + off;
                    off += cnt[i] + 1;
                    cnt[i] = 0;
                }
        }
        for (size_t d = 0; d < n; d++) {
            const mig_rev *r = &g->nodes[d].rev;
            if (r->labels == NULL)
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
                for (size_t k = 0; r->labels[k]; k++) {
                    if (round)
                        g->blabels[v][cnt[v]] = r->labels[k];
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
                for (size_t k = 0; r->labels[k]; k++) {
                    if (round)
                        g->blabels[p][cnt[p]] = r->labels[k];
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

/* idx = the revisions' indexes sorted by id; a duplicate id names both files. */
static int unique_ids(size_t *idx, mig_ctx *ctx, const mig_rev *revs, size_t n)
{
    idkey *keys = malloc((n ? n : 1) * sizeof *keys);
    if (keys == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
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
            return fail_in(ctx, revs[b].path, "duplicate revision id '%s' in %s and %s", revs[a].id,
                           revs[a].path, revs[b].path);
        }
    }
    return 0;
}

/* A label may be neither a reserved word nor a revision id. */
static int check_label(mig_ctx *ctx, const mig_rev *revs, size_t n, const size_t *idx, size_t i,
                       const char *name)
{
    if (is_reserved(name))
        return fail_in(ctx, revs[i].path, "%s: '%s' cannot be a branch label", revs[i].path, name);
    size_t j = mig_graph_find_exact(idx, n, revs, sizeof *revs, name);
    if (j != NONE)
        return fail_in(ctx, revs[i].path, "%s: branch label '%s' is the id of the revision in %s",
                       revs[i].path, name, revs[j].path);
    return 0;
}

/*
 * Every branch label with its revision's load index, sorted by name:
 * unique, not reserved, and not also a revision id. *out is the caller's
 * on success only.
 */
static int collect_labels(glabel **out, size_t *nout, mig_ctx *ctx, const mig_rev *revs, size_t n,
                          const size_t *idx)
{
    size_t nlabels = 0;
    for (size_t i = 0; i < n; i++)
        nlabels += mig_strs_count(revs[i].labels);
    glabel *labels = calloc(nlabels ? nlabels : 1, sizeof *labels);
    if (labels == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    int rc = 0;
    nlabels = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        for (size_t k = 0; revs[i].labels && revs[i].labels[k] && rc == 0; k++) {
            const char *name = revs[i].labels[k];
            rc = check_label(ctx, revs, n, idx, i, name);
            labels[nlabels].name = name;
            labels[nlabels].pos = i;
            nlabels++;
        }
    if (rc == 0 && nlabels)
        qsort(labels, nlabels, sizeof *labels, cmp_label);
    for (size_t k = 1; k < nlabels && rc == 0; k++)
        if (strcmp(labels[k - 1].name, labels[k].name) == 0) {
            size_t a = labels[k - 1].pos, b = labels[k].pos;
            if (a == b)
                rc = fail_in(ctx, revs[a].path, "%s: branch label '%s' given twice", revs[a].path,
                             labels[k].name);
            else
                rc = fail_in(ctx, revs[b].path, "branch label '%s' is used by both %s and %s",
                             labels[k].name, revs[a].path, revs[b].path);
        }
    if (rc) {
        free(labels);
        return rc;
    }
    *out = labels;
    *nout = nlabels;
    return 0;
}

/*
 * Move the revisions into g in topological order (pos: load index to
 * position), with down_revisions and dependencies as positions, then the
 * reverse links (children, dependents) in that order too. own=1: revs has
 * room for n nodes and becomes g's node array, the nodes made in place
 * (copying them into a second array had both alive at once: 15 MB of the
 * 71 MB `mig heads` peaked at over 100,000 files). order is used up.
 */
static int place_nodes(mig_graph *g, mig_ctx *ctx, mig_rev *revs, size_t n, const links *lk,
                       size_t *order, const size_t *pos, int own)
{
    gnode *nodes = own ? (gnode *)(void *)revs : calloc(n ? n : 1, sizeof *nodes);
    size_t nedges = 2 * (lk->po[n] + lk->do_[n]);
    g->pool = malloc((nedges ? nedges : 1) * sizeof *g->pool);
    g->by_id = malloc((n ? n : 1) * sizeof *g->by_id);
    if (!nodes || !g->pool || !g->by_id) {
        if (!own)
            free(nodes);
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    if (own) {
        /* revision i moves up from its mig_rev slot to node slot i, the last
         * first: node slot i ends below every mig_rev slot above i */
        for (size_t i = n; i-- > 0;) {
            mig_rev r = revs[i];
            memset(&nodes[i], 0, sizeof nodes[i]);
            nodes[i].rev = r;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            nodes[i].rev = revs[i];
            memset(&revs[i], 0, sizeof revs[i]);
        }
    }
    g->nodes = nodes;
    g->n = n;
    size_t *p = g->pool;
    for (size_t i = 0; i < n; i++) {
        gnode *nd = &nodes[i];
        nd->par = p;
        for (size_t e = lk->po[i]; e < lk->po[i + 1]; e++)
            *p++ = pos[lk->pe[e]];
        nd->npar = (uint32_t)(p - nd->par);
        for (size_t e = lk->do_[i]; e < lk->do_[i + 1]; e++)
            *p++ = pos[lk->de[e]];
        nd->ndep = (uint32_t)(p - gnode_dep(nd));
    }
    /* nodes[k] = the node of revision order[k]: the permutation's cycles, one saved node each */
    for (size_t s0 = 0; s0 < n; s0++) {
        if (order[s0] == NONE)
            continue;
        gnode t = nodes[s0];
        for (size_t k = s0;;) {
            size_t j = order[k];
            order[k] = NONE;
            if (j == s0) {
                nodes[k] = t;
                break;
            }
            nodes[k] = nodes[j];
            k = j;
        }
    }
    for (size_t k = 0; k < n; k++) {
        for (size_t e = 0; e < g->nodes[k].npar; e++)
            g->nodes[g->nodes[k].par[e]].nkid++;
        for (size_t e = 0; e < g->nodes[k].ndep; e++)
            g->nodes[gnode_dep(&g->nodes[k])[e]].ndpt++;
    }
    for (size_t k = 0; k < n; k++) {
        gnode *nd = &g->nodes[k];
        nd->kid = p;
        p += nd->nkid + nd->ndpt;
        nd->nkid = 0;
    }
    /*
     * Children in topological order: fill walking the children in order,
     * all children first, since the dependents start where the last child ends.
     */
    for (size_t k = 0; k < n; k++) {
        gnode *nd = &g->nodes[k];
        for (size_t e = 0; e < nd->npar; e++) {
            gnode *pn = &g->nodes[nd->par[e]];
            pn->kid[pn->nkid++] = k;
        }
    }
    for (size_t k = 0; k < n; k++)
        g->nodes[k].ndpt = 0;
    for (size_t k = 0; k < n; k++) {
        gnode *nd = &g->nodes[k];
        for (size_t e = 0; e < nd->ndep; e++) {
            gnode *pn = &g->nodes[gnode_dep(nd)[e]];
            gnode_dpt(pn)[pn->ndpt++] = k;
        }
    }
    return 0;
}

/* Heads (no children) and bases (no down_revision), in topological order. */
static int find_ends(mig_graph *g, mig_ctx *ctx)
{
    size_t n = g->n;
    g->heads = malloc((n ? n : 1) * sizeof *g->heads);
    g->bases = malloc((n ? n : 1) * sizeof *g->bases);
    if (!g->heads || !g->bases)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    for (size_t k = 0; k < n; k++) {
        if (g->nodes[k].nkid == 0)
            g->heads[g->nheads++] = k;
        if (g->nodes[k].npar == 0)
            g->bases[g->nbases++] = k;
    }
    return 0;
}

int mig_graph_from_revs(mig_graph **out, mig_ctx *ctx, mig_rev *revs, size_t n)
{
    *out = NULL;
    strpools sp = { NULL, NULL };
    for (size_t i = 0; i < n; i++)
        if (pool_rev(&sp, &revs[i]) != 0) {
            /* those before i point into the pools, the rest still own their strings */
            for (size_t k = i; k < n; k++)
                mig_rev_release(&revs[k]);
            strblocks_free(sp.keep);
            strblocks_free(sp.ids);
            return mig_fail(ctx, MIG_ENOMEM, "out of memory");
        }
    return from_revs(out, ctx, revs, n, sp, 0);
}

/* Each down_revision id, now that it is resolved, becomes the id of the revision it names. */
static void intern_down(mig_rev *revs, size_t n, const links *lk)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < revs[i].down.n; k++)
            revs[i].down.v[k] = revs[lk->pe[lk->po[i] + k]].id;
}

/*
 * The revisions' strings are in sp, which the graph takes (freed on
 * failure). own=1: revs has room for n nodes and is taken too, as the
 * graph's nodes or freed on failure.
 */
static int from_revs(mig_graph **out, mig_ctx *ctx, mig_rev *revs, size_t n, strpools sp, int own)
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
    if (g)
        g->strings = sp.keep;
    else
        strblocks_free(sp.keep);
    if (!idx || !order || !pos || !g) {
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        goto fail;
    }
    rc = unique_ids(idx, ctx, revs, n);
    if (rc == 0)
        rc = collect_labels(&labels, &nlabels, ctx, revs, n, idx);
    if (rc == 0)
        rc = resolve_links(&lk, ctx, revs, n, idx, labels, nlabels);
    if (rc == 0) {
        intern_down(revs, n, &lk);
        strblocks_free(sp.ids);
        sp.ids = NULL;
        rc = topo_sort(order, ctx, revs, n, &lk);
    }
    if (rc)
        goto fail;
    for (size_t k = 0; k < n; k++)
        pos[order[k]] =
            k; /* NOLINT(clang-analyzer-core.uninitialized.ArraySubscript): topo_sort fills order[0..n) */
    rc = place_nodes(g, ctx, revs, n, &lk, order, pos, own);
    if (rc)
        goto fail;
    for (size_t k = 0; k < n; k++)
        g->by_id[k] = pos[idx[k]];
    for (size_t k = 0; k < nlabels; k++)
        labels[k].pos = pos[labels[k].pos];
    g->labels = labels;
    g->nlabels = nlabels;
    labels = NULL;
    rc = find_ends(g, ctx);
    if (rc == 0)
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
    /* the strings go with g's pool; revs, unless it became g's nodes */
    if (own && (g == NULL || g->nodes != (gnode *)(void *)revs))
        free(revs);
    strblocks_free(sp.ids);
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
    return i < nd->ndep ? &g->nodes[gnode_dep(nd)[i]].rev : NULL;
}

const char *const *mig_graph_branch_labels(const mig_graph *g, const mig_rev *rev)
{
    const char **l = g->blabels ? g->blabels[mig_graph_index(g, rev)] : NULL;
    return l ? l : no_labels;
}

void mig_graph_mark(const mig_graph *g, unsigned char *mark, size_t *stk, const size_t *roots,
                    size_t nroots, unsigned char bit, int descendants, int down_only)
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
        const size_t *b = descendants ? gnode_dpt(nd) : gnode_dep(nd);
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
            size_t w = e < nd->npar ? nd->par[e] : gnode_dep(nd)[e - nd->npar];
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

void mig_graph_list_ids(mig_buf *b, const mig_graph *g, const size_t *pos, size_t n)
{
    for (size_t i = 0; i < n && i < 6; i++)
        mig_buf_printf(b, "%s%s", i ? ", " : "", g->nodes[pos[i]].rev.id);
    if (n > 6)
        mig_buf_printf(b, ", ... (%zu in all)", n);
}
