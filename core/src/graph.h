/*
 * The revision graph: every revision file's header, linked, validated, and
 * walked with Alembic's semantics.
 *
 * Loading reads headers only. Validation (duplicate ids, dangling
 * down_revision/depends_on, cycles, a branch label on two branches) runs
 * at load and names the file (MIG_EREVFILE). Nothing here touches a
 * database: the runner hands in the current heads read from the version
 * table and gets back a plan.
 */
#ifndef MIG_GRAPH_H
#define MIG_GRAPH_H

#include <stddef.h>

#include "revfile.h"

typedef struct mig_ctx mig_ctx;
typedef struct mig_graph mig_graph;

/* Load every *.sql / *.lua in versions_dir. A missing folder is MIG_ECONFIG. */
int mig_graph_load(mig_graph **out, mig_ctx *ctx, const char *versions_dir);
/* Build from already-parsed revisions (unit tests); takes ownership of revs. */
int mig_graph_from_revs(mig_graph **out, mig_ctx *ctx, mig_rev *revs, size_t n);
void mig_graph_free(mig_graph *g);

size_t mig_graph_count(const mig_graph *g);
/* MIG_ETARGET: the version table holds id, which no revision file declares; with the way out. */
int mig_graph_fail_unknown(mig_ctx *ctx, const char *id);
/* Files ending in .py in versions/ (Alembic's revisions), which mig never reads. */
size_t mig_graph_py_files(const mig_graph *g);
/* Revisions in a stable topological order: every parent before its children. */
const mig_rev *mig_graph_at(const mig_graph *g, size_t i);
/* Index of rev in the topological order. */
size_t mig_graph_index(const mig_graph *g, const mig_rev *rev);

/* Exact id, else unique prefix, else branch label (resolving to the label's head). */
int mig_graph_find(const mig_rev **out, mig_ctx *ctx, const mig_graph *g, const char *name);

/* Heads (no children) and bases (no down_revision), in topological order. */
size_t mig_graph_nheads(const mig_graph *g);
const mig_rev *mig_graph_head(const mig_graph *g, size_t i);
size_t mig_graph_nbases(const mig_graph *g);
const mig_rev *mig_graph_base(const mig_graph *g, size_t i);

/* Children (revisions naming rev as down_revision). */
size_t mig_graph_nchildren(const mig_graph *g, const mig_rev *rev);
const mig_rev *mig_graph_child(const mig_graph *g, const mig_rev *rev, size_t i);
/* Parents: down_revisions resolved. */
size_t mig_graph_nparents(const mig_graph *g, const mig_rev *rev);
const mig_rev *mig_graph_parent(const mig_graph *g, const mig_rev *rev, size_t i);
/* Dependencies: depends_on resolved (those not also down_revisions). */
size_t mig_graph_ndepends(const mig_graph *g, const mig_rev *rev);
const mig_rev *mig_graph_depend(const mig_graph *g, const mig_rev *rev, size_t i);
/* Labels of the branch rev is on (its own and inherited), NULL-terminated, borrowed. */
const char *const *mig_graph_branch_labels(const mig_graph *g, const mig_rev *rev);
/* Is anc a proper ancestor of rev (through down_revision or depends_on)? */
int mig_graph_is_ancestor(const mig_graph *g, const mig_rev *anc, const mig_rev *rev);

/* One step of a plan. */
typedef struct mig_plan_step {
    const mig_rev *rev;
    int upgrade; /* 1 upgrade, 0 downgrade */
    /*
     * Version-table change of this step, as Alembic makes it: delete these
     * rows, insert these rows (ids). An upgrade of a plain revision deletes
     * its parent and inserts itself; a merge deletes several; a branch
     * point keeps the parent when another branch still needs it, etc.
     */
    mig_strvec delete_heads;
    mig_strvec insert_heads;
} mig_plan_step;

typedef struct mig_plan {
    mig_plan_step *steps;
    size_t nsteps;
    mig_strvec final_heads; /* the version table after the whole plan */
    mig_strvec held_back;   /* MIG_PLAN_EXPAND: pending revisions left out, parents first */
} mig_plan;

/*
 * Plan flag: leave out every pending contract revision (-- mig:phase
 * contract) and whatever stands on one, through down_revision or
 * depends_on; upgrade only (MIG_EUSAGE for a downgrade).
 */
#define MIG_PLAN_EXPAND 1u

/* What a target is resolved for: which way a relative step may go. */
typedef enum mig_target_mode {
    MIG_TARGET_DOWNGRADE = 0,
    MIG_TARGET_UPGRADE = 1,
    MIG_TARGET_STAMP = 2, /* absolute targets only */
} mig_target_mode;

/*
 * Plan from `current` (the version table's rows; may be empty) to
 * `target` (head, heads, base, id, prefix, +N, -N, REV+N, REV-N,
 * LABEL@head, LABEL@base, LABEL@+N ...). mode MIG_TARGET_UPGRADE for
 * `mig upgrade`, MIG_TARGET_DOWNGRADE for `mig downgrade` (a stamp is
 * planned by mig_graph_stamp: MIG_TARGET_STAMP is MIG_EUSAGE). Errors (MIG_ETARGET, one line): unknown or
 * ambiguous target (`head` with several heads: suggest `heads` or
 * LABEL@head), relative step ambiguous through a branch/merge, target
 * not reachable in that direction. An empty plan is success.
 * Caller frees with mig_plan_free.
 */
int mig_graph_plan(mig_plan **out, mig_ctx *ctx, const mig_graph *g, const char *const *current,
                   size_t ncurrent, const char *target, mig_target_mode mode);
/* As mig_graph_plan, with MIG_PLAN_* flags. */
int mig_graph_plan_ex(mig_plan **out, mig_ctx *ctx, const mig_graph *g, const char *const *current,
                      size_t ncurrent, const char *target, mig_target_mode mode, unsigned flags);
/* A target as far as the graph alone decides. */
int mig_graph_check_target(mig_ctx *ctx, const mig_graph *g, const char *target, mig_target_mode mode);
/*
 * Plan for `stamp`: the version table rows after stamping targets over
 * current (purge=1 ignores current), without running anything.
 */
int mig_graph_stamp(mig_strvec *out_heads, mig_ctx *ctx, const mig_graph *g, const char *const *current,
                    size_t ncurrent, const char *const *targets, size_t ntargets, int purge);
void mig_plan_free(mig_plan *plan);

/* Revisions applied given current heads (all ancestors), count of pending toward all heads. */
int mig_graph_pending(size_t *out, mig_ctx *ctx, const mig_graph *g, const char *const *current,
                      size_t ncurrent);
/*
 * out[i] (mig_graph_count(g) bytes, caller's) = 1 when the revision at
 * index i is applied given current: one walk for all, where asking
 * mig_graph_is_ancestor per revision would walk once per question.
 * MIG_ETARGET when a current id is not in the graph.
 */
int mig_graph_applied(unsigned char *out, mig_ctx *ctx, const mig_graph *g, const char *const *current,
                      size_t ncurrent);
/*
 * As mig_graph_applied, out[i] = 1 when the revision at index i is one
 * `upgrade --expand heads` would hold back given current: a pending
 * contract revision, or a pending one standing on such a revision.
 */
int mig_graph_held_back(unsigned char *out, mig_ctx *ctx, const mig_graph *g, const char *const *current,
                        size_t ncurrent);

#endif
