/*
 * Inside the revision graph: the structures graph.c builds and target.c
 * and plan.c walk, and the few helpers the three files share. Nothing
 * else includes this header; the rest of libmig sees only graph.h.
 */
#ifndef MIG_GRAPH_INT_H
#define MIG_GRAPH_INT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "graph.h"

/* No position: not found, or base where a revision is expected. */
#define NONE ((size_t)-1)

/*
 * A revision with its links, as positions. A node's two lists of each
 * direction are one run in the graph's pool, so one pointer and two
 * 32-bit counts say where both are: a graph holds a node per revision,
 * and 100,000 revisions are a project's lifetime, not a limit.
 */
typedef struct gnode {
    mig_rev rev; /* first member: a mig_rev pointer is a gnode pointer */
    size_t *par; /* down_revisions, then depends_on resolved (without those in par) */
    size_t *kid; /* revisions naming this one as down_revision, then in depends_on */
    uint32_t npar, ndep, nkid, ndpt;
} gnode;

/* The resolved depends_on of nd (ndep of them), after its down_revisions. */
static inline size_t *gnode_dep(const gnode *nd)
{
    return nd->par + nd->npar;
}

/* The revisions naming nd in depends_on (ndpt of them), after its children. */
static inline size_t *gnode_dpt(const gnode *nd)
{
    return nd->kid + nd->nkid;
}

typedef struct glabel {
    const char *name;
    size_t pos;
} glabel;

struct mig_graph {
    gnode *nodes;
    size_t n;
    size_t *pool;  /* every par/dep/kid/dpt array */
    size_t *by_id; /* positions sorted by id */
    size_t *heads, nheads;
    size_t *bases, nbases;
    glabel *labels; /* sorted by name */
    size_t nlabels;
    const char **lpool; /* every blabels array */
    /* per position: own and inherited branch labels, NULL-terminated; NULL: none, or no labels at all */
    const char ***blabels;
    struct strblock *strings; /* every revision's strings and lists (graph.c) */
    size_t npy;               /* Alembic revisions (.py) found beside ours, never read */
};

/* ---- graph.c ---- */

/* Exact id among revs (stride apart) by the sorted positions idx: position or NONE. */
size_t mig_graph_find_exact(const size_t *idx, size_t n, const mig_rev *revs, size_t stride,
                            const char *id);
/* Unique prefix: position, NONE when none, and *count of matches from idx[*first]. */
size_t mig_graph_find_prefix(const size_t *idx, size_t n, const mig_rev *revs, size_t stride,
                             const char *prefix, size_t *count, size_t *first);
/* The position of the revision declaring branch label name, or NONE. */
size_t mig_graph_find_label(const glabel *labels, size_t n, const char *name);

/* Mark (with bit) rev's ancestors, or descendants, through every kind of link. */
enum { ALL_LINKS = 0, DOWN_ONLY = 1 };

/* Set bit on roots and their ancestors (descendants when descendants=1); stk holds g->n. */
void mig_graph_mark(const mig_graph *g, unsigned char *mark, size_t *stk, const size_t *roots,
                    size_t nroots, unsigned char bit, int descendants, int down_only);
/* Up to six ids of pos[0..n) for a message, comma-separated. */
void mig_graph_list_ids(mig_buf *b, const mig_graph *g, const size_t *pos, size_t n);

/* ---- plan.c: the planner's state, which target resolution reads too ---- */

/* Bits of the planner's per-revision marks. */
enum {
    M_APPLIED = 1, /* ancestor of (or equal to) a current head */
    M_SET = 2,     /* the revisions the plan runs */
    M_LINE = 4,    /* scratch: a lineage or ancestry */
    M_TMP = 8,     /* scratch */
    M_HEAD = 16,   /* in the version table */
    M_HELD = 32,   /* held back by MIG_PLAN_EXPAND */
};

typedef struct planner {
    mig_ctx *ctx;
    const mig_graph *g;
    unsigned char *mark;
    size_t *stk;
    size_t *cur; /* current heads, positions, deduplicated */
    size_t ncur;
    const char *target;
    int no_state; /* checking a target before any database is read */
} planner;

/* Marks M_HEAD and M_APPLIED from current; MIG_ETARGET for an id not in g. */
int mig_planner_init(planner *p, mig_ctx *ctx, const mig_graph *g, const char *const *current,
                     size_t ncurrent);
/* Frees what init allocated, also after a failed init. */
void mig_planner_release(planner *p);
/* Clear bit on every revision. */
void mig_planner_clear(planner *p, unsigned char bit);

/* ---- target.c ---- */

/* What a target string names, for one direction. */
typedef struct resolved {
    size_t *revs; /* revisions; none with is_base */
    size_t nrevs;
    int is_base;
    size_t label;   /* LABEL@...: the revision declaring the label (NONE) */
    size_t lineage; /* a relative step from this current head (NONE) */
} resolved;

/*
 * Resolve target for one mode (MIG_TARGET_STAMP: absolute targets only).
 * On success r holds revisions or base; the caller frees r->revs, also on
 * failure.
 */
int mig_target_resolve(resolved *r, planner *p, const char *target, mig_target_mode mode);

#endif
