/*
 * The migration lock. On drivers with a session lock (PostgreSQL advisory
 * lock, MySQL GET_LOCK) it is held on its own connection, outside any
 * transaction, so nothing a revision does (CREATE INDEX CONCURRENTLY, an
 * autocommit block) can deadlock against it, and the server frees it when
 * the process dies. It is taken by polling a try-lock, so the wait is
 * bounded by --lock-timeout and mig can say who holds it meanwhile.
 * SQLite has no session lock: its write transaction is the lock.
 */
#ifndef MIG_LOCK_H
#define MIG_LOCK_H

#include "drv.h"

typedef struct mig_ctx mig_ctx;

/*
 * Take the lock named key on db, polling until timeout_s.
 * Errors: MIG_ELOCK (timed out, naming the holder), or a database error.
 */
int mig_lock_acquire(mig_db *db, mig_ctx *ctx, const char *key, double timeout_s);
int mig_lock_release(mig_db *db, mig_ctx *ctx, const char *key);

#endif
