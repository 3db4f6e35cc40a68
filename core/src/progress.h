/*
 * The running step as the user sees it: a line when it begins, progress
 * from ctx.progress, a line when it ends. Through the caller's progress
 * callback when there is one (a live line on a terminal), else as plain
 * lines through the logger.
 */
#ifndef MIG_PROGRESS_H
#define MIG_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct mig_ctx mig_ctx;

typedef struct mig_prog {
    int active;
    mig_buf step;        /* "upgrade A -> B  message" */
    double t0;           /* monotonic ms at the start */
    double last_log;     /* last progress line written (plain lines only) */
    int64_t done, total; /* -1: not reported / not known */
} mig_prog;

/* Milliseconds on the monotonic clock. */
double mig_now_ms(void);

void mig_progress_begin(mig_ctx *ctx, const char *direction, const char *from, const char *to,
                        const char *message);
/* ctx.progress(done, total): total < 0 when not known. */
void mig_progress_update(mig_ctx *ctx, int64_t done, int64_t total);
/* Does anyone read the step lines? Not with -q and no live line: then a
 * step costs no formatting at all (a run of 1,000 revisions formats 2,000 lines). */
int mig_progress_wanted(const mig_ctx *ctx);
void mig_progress_end(mig_ctx *ctx, int failed);
void mig_progress_release(mig_prog *p);

/*
 * A revision's SQL is about to run (len bytes of sql): MIG_EVENT_STATEMENT
 * to the event callback, then the cancel check (mig_cancel_check): 0 to
 * run it, MIG_EFAIL "cancelled" to stop before it.
 */
int mig_event_statement(mig_ctx *ctx, const char *sql, size_t len);
/* A warning line to the event callback: 1 when it took it (the logger then writes nothing). */
int mig_event_warning(mig_ctx *ctx, const char *line);

#endif
