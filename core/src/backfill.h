/*
 * db:backfill: a table walked by its key in batches, each batch its own
 * transaction committed together with its checkpoint in mig_backfill, so a
 * killed or interrupted run continues after the last committed batch.
 * Also the reads and the reset behind `mig backfill status|reset`.
 */
#ifndef MIG_BACKFILL_H
#define MIG_BACKFILL_H

#include <lua.h>

#include "drv.h"

/*
 * db:backfill{...} with the db handle at 1 and the options at 2; registered
 * by lua_db.c. Returns the rows walked by this call.
 */
int mig_lua_backfill(lua_State *L);

/*
 * A Lua revision's upgrade (or downgrade) ran to its end: its checkpoints
 * of the other direction are stale (the next run the other way must walk
 * the table again). direction names the ones to forget.
 */
int mig_backfill_forget(mig_ctx *ctx, mig_db *db, const char *revision, const char *direction);

#endif
