/*
 * The `db` object Lua code receives: a userdata "mig.db" over the run's
 * connection, with exec, query, rows, quote_ident and the field driver.
 * It is built on the driver wrappers (plugin.h), so it works the same on
 * every driver and no driver knows Lua.
 *
 * A handle lives for one call (a revision's upgrade, one hook): when the
 * call returns, mig_lua_protected() invalidates it, closing its open
 * cursors, and any later use raises "db used after its migration finished".
 */
#ifndef MIG_LUA_DB_H
#define MIG_LUA_DB_H

#include <lua.h>

#include "drv.h"

typedef struct mig_lua mig_lua;
typedef struct mig_lua_db mig_lua_db;

/* Register the "mig.db" and "mig.cursor" metatables. Raises on memory errors. */
void mig_lua_db_open(lua_State *L);

/*
 * Push a new handle over lua->db and remember it as lua->live_db (so the
 * caller can invalidate it after the call). Raises on memory errors;
 * raises "no database in this context" when lua->db is NULL.
 */
mig_lua_db *mig_lua_db_push(mig_lua *lua);
/* The running call is over: invalidate its handle (and cursors) and let Lua collect it. */
void mig_lua_db_end(mig_lua *lua);

/*
 * The connection of the handle at idx, raising when it is not one or its
 * call has ended; *lua receives the state it belongs to.
 */
mig_db *mig_lua_db_check(lua_State *L, int idx, mig_lua **lua);

/*
 * Raise the context's last database error into Lua as "db:WHAT: message",
 * keeping the statement and the server's detail for the report.
 */
int mig_lua_db_raise(lua_State *L, mig_lua *lua, const char *what, const char *sql);

/* Push a fetched row as a table keyed by column name. Raises on memory errors. */
void mig_lua_db_push_row(lua_State *L, const mig_row *row);

/* Close the handle's open cursors; later use raises. Never raises. */
void mig_lua_db_invalidate(mig_lua_db *db);

#endif
