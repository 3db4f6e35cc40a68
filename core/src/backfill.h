/*
 * db:backfill: a table walked by its key in batches, each batch its own
 * transaction committed together with its checkpoint in mig_backfill, so a
 * killed or interrupted run continues after the last committed batch.
 * Also the reads and the reset behind `mig backfill status|reset`.
 */
#ifndef MIG_BACKFILL_H
#define MIG_BACKFILL_H

#include <lua.h>

/*
 * db:backfill{...} with the db handle at 1 and the options at 2; registered
 * by lua_db.c. Returns the rows walked by this call.
 */
int mig_lua_backfill(lua_State *L);

#endif
