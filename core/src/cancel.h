/*
 * Cancelling a run: mig_cancel (mig.h) only stores a request, which is
 * all a signal handler may do; a watcher thread beside the run acts on it,
 * since the thread running the run is blocked in the database.
 *
 * Level 1 (the first request) stops safely: the revision statement running
 * now is cancelled through the driver's cancel slot and no further one
 * starts; mig's own statements (the rollback, recording a part-way
 * failure, a backfill's batch and checkpoint, unlocking) still run. Level
 * 2 (a second request) cancels whatever runs and refuses every statement
 * after it (mig_ctx_cancel in plugin.h). A child context (a tenant worker)
 * obeys its parent's request as its own.
 */
#ifndef MIG_CANCEL_H
#define MIG_CANCEL_H

#include <pthread.h>

typedef struct mig_ctx mig_ctx;

/* The request in force for ctx: the highest of its own and its parents'. */
int mig_cancel_level(const mig_ctx *ctx);

/* Should the work going on stop now? A first request waits for a backfill's batch. */
int mig_cancel_now(const mig_ctx *ctx);

/*
 * Before a revision's statement: MIG_EFAIL "cancelled" once a cancel is
 * requested; else 0, and the statement is marked as one a level-1 cancel
 * may stop (the next mig_db_exec on ctx takes the mark).
 */
int mig_cancel_check(mig_ctx *ctx);

/* After a run: with a request in force, its error message says "cancelled: ...". Returns rc. */
int mig_cancel_note(mig_ctx *ctx, int rc);

/* Children register with their parent, so the parent's watcher reaches their statements. */
int mig_cancel_adopt(mig_ctx *parent, mig_ctx *child);
void mig_cancel_orphan(mig_ctx *parent, mig_ctx *child);

/*
 * The watcher around a public call that runs statements (mig_upgrade,
 * mig_downgrade): start before, stop after. A request is spent when the
 * call it stopped returns: stop clears it, and the context runs again.
 * Without a thread to be had, a request is still seen between statements.
 */
typedef struct mig_cancel_watch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    int on, done;
    mig_ctx *ctx;
} mig_cancel_watch;

void mig_cancel_watch_start(mig_cancel_watch *w, mig_ctx *ctx);
/* The request is spent: ctx runs again (the end of a call a request stopped). */
void mig_cancel_spent(mig_ctx *ctx);
void mig_cancel_watch_stop(mig_cancel_watch *w);

#endif
