/*
 * Error reporting inside libmig. A fallible function returns 0 or a
 * negative MIG_E* code and leaves the words on the context:
 *
 *     if (rev->downgrade == NULL)
 *         return mig_fail(ctx, MIG_EREVFILE, "%s: revision %s has no downgrade",
 *                         rev->path, rev->id);
 *
 * mig_fail() returns its code, so it reads like a return. Messages are one
 * line, lowercase, subject first, no final period. Never pass a raw URL:
 * mask it first (url.h), so no password reaches a message.
 */
/*
 * One namespace of return codes: 0 or a MIG_E* code from mig.h. A
 * driver's MIG_DRV_* codes (driver.h) never travel in libmig: plugin.c turns
 * them into MIG_E* codes at the boundary (MIG_DRV_BUSY, which has the value
 * of MIG_EPARTIAL, comes back through an out-parameter; MIG_DRV_NOTSUP,
 * which has that of MIG_EUSAGE, as "not supported" through one or as
 * nothing to do). Running out of memory is MIG_ENOMEM, also from static
 * helpers, never a bare -1 (which is MIG_EFAIL).
 */
#ifndef MIG_ERROR_H
#define MIG_ERROR_H

#include <errno.h>

#include "buf.h"
#include "mig/mig.h"

typedef struct mig_ctx mig_ctx;

/*
 * Internal, never returned through mig.h: a tenant worker found its
 * tenant's lock held by another session (lock_try_only). The tenant loop
 * queues the tenant again; one that stays busy past --lock-timeout is
 * reported failed with this error's message.
 */
#define MIG_EBUSY (-100)

int mig_error_set(mig_ctx *ctx, int code, const char *src_file, int src_line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
#define mig_fail(ctx, code, ...) mig_error_set((ctx), (code), __FILE__, __LINE__, __VA_ARGS__)

/*
 * The same for a failed system call whose errno is err: a file that could
 * not be opened for want of memory is not a bad file (exit 2) but a run
 * out of memory (MIG_ENOMEM, exit 1).
 */
#define mig_fail_os(ctx, code, err, ...)                                                                \
    mig_error_set((ctx), (err) == ENOMEM ? MIG_ENOMEM : (code), __FILE__, __LINE__, __VA_ARGS__)

/*
 * The same for an error about a place in the user's file: the message is
 * prefixed "path:LINE: " ("path: " when line is 0) and the place kept on
 * the error for -v and --json.
 */
int mig_error_set_at(mig_ctx *ctx, int code, const char *src_file, int src_line, const char *file,
                     int line, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
#define mig_fail_at(ctx, code, file, line, ...)                                                         \
    mig_error_set_at((ctx), (code), __FILE__, __LINE__, (file), (line), __VA_ARGS__)

/* Add to the error just set. */
void mig_error_detail(mig_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mig_error_hint(mig_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mig_error_where(mig_ctx *ctx, const char *file, int line);
void mig_error_clear(mig_ctx *ctx);

/*
 * Cleaning up after a failure (a rollback, closing a cursor, releasing the
 * lock) can fail too, and must not overwrite the first error. Keep it on
 * the stack while cleaning up:
 *
 *     mig_error_state saved;
 *     mig_error_save(ctx, &saved);           moves the error out of ctx
 *     (void)mig_db_rollback(db, ctx);        may set its own error
 *     return mig_error_restore(ctx, &saved); the first error wins
 *
 * Neither call allocates, so a cleanup never depends on memory being
 * left. The same pair hands an error from one context to another (a
 * worker's to its parent's): save from one, restore into the other.
 */
typedef struct mig_error_state {
    int code; /* 0: there was no error */
    int line;
    mig_buf message, detail, hint, file, origin;
} mig_error_state;

/* Move ctx's error (all of it) into st; ctx is left with no error. */
void mig_error_save(mig_ctx *ctx, mig_error_state *st);
/*
 * Put the saved error back when there was one, dropping whatever error the
 * cleanup set, and return its code. When st holds no error, ctx keeps the
 * cleanup's error (if any) and its code is returned (0 when none). st is
 * empty afterwards.
 */
int mig_error_restore(mig_ctx *ctx, mig_error_state *st);

#endif
