/*
 * Polling the session lock: a blocking lock call would leave mig unable
 * to time out or report the holder, and waiting inside a transaction is
 * what makes CREATE INDEX CONCURRENTLY deadlock in other tools.
 */
#include "lock.h"

#include <string.h>
#include <time.h>

#include "ctx.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

int mig_lock_acquire(mig_db *db, mig_ctx *ctx, const char *key, double timeout_s)
{
    double start = now_s();
    double delay = 0.02;
    char holder[512] = "";
    char said[512] = "";
    for (;;) {
        int busy;
        int rc = mig_db_lock_try(db, ctx, key, &busy, holder, sizeof holder);
        if (rc || !busy)
            return rc;
        /* say once who holds it, and again only if that changes */
        if (strcmp(holder, said) != 0) {
            mig_log(ctx, MIG_LOG_WARN, "waiting for the migration lock held by %s",
                    holder[0] ? holder : "another session");
            memcpy(said, holder, sizeof said);
        }
        double waited = now_s() - start;
        if (mig_cancel_level(ctx) > 0)
            return mig_fail(ctx, MIG_EFAIL, "cancelled while waiting for the migration lock");
        if (waited >= timeout_s) {
            int e = mig_fail(ctx, MIG_ELOCK, "could not take the migration lock within %g s: held by %s",
                             timeout_s, holder[0] ? holder : "another session");
            mig_error_hint(ctx, "wait for the other run to finish, or raise --lock-timeout");
            return e;
        }
        double left = timeout_s - waited;
        sleep_s(delay < left ? delay : left);
        if (delay < 0.5)
            delay *= 2;
    }
}

int mig_lock_release(mig_db *db, mig_ctx *ctx, const char *key)
{
    return mig_db_unlock(db, ctx, key);
}
