/*
 * The Lua state of a run: one per run (per tenant worker), with the
 * standard libraries, package.path extended with the project's hooks/
 * folders, and one entry point for every call from C into Lua.
 *
 * What the runner uses:
 *
 *     mig_lua *lua = NULL;
 *     rc = mig_lua_new(&lua, ctx, db, tenant);      lua is ours from here
 *     rc = mig_lua_hooks_load(lua);                 [hooks] scripts (lua_hooks.h)
 *     rc = mig_lua_revision_load(lua, rev, body, &has_downgrade);
 *     rc = mig_lua_revision_run(lua, rev, upgrade);
 *     mig_lua_free(lua);                            before the connection closes
 *
 * Every call into Lua goes through mig_lua_protected(): a protected call
 * with a message handler that notes where the error was raised, turned
 * into a mig error naming the script's file and line and the revision.
 */
#ifndef MIG_LUA_STATE_H
#define MIG_LUA_STATE_H

#include <lua.h>

#include "buf.h"
#include "drv.h"
#include "revfile.h"

typedef struct mig_ctx mig_ctx;
typedef struct mig_lua_db mig_lua_db;

typedef struct mig_lua {
    lua_State *L;
    mig_ctx *ctx;
    mig_db *db;            /* borrowed; NULL for post-write hooks */
    char *tenant;          /* NULL without tenants */
    mig_lua_db *live_db;   /* the `db` handed to the running call, invalidated after it */
    mig_strvec hook_paths; /* [hooks] scripts loaded, in order (lua_hooks.c) */
    /* Filled by the message handler where the error was raised. */
    char err_file[1024];
    int err_line;
    /* The last database error raised into Lua, to keep its detail. */
    mig_buf db_msg, db_detail;
    /* The Lua revision running now (NULL in hooks), for db:backfill. */
    const mig_rev *rev;
    int rev_upgrade;
    char rev_checksum[65];
    mig_strvec bf_names; /* backfills the running revision call started */
    char *bf_unfinished; /* set when one of them stopped before its end */
} mig_lua;

/*
 * A state for a run on db (which may be NULL when no database is used:
 * post-write hooks). tenant may be NULL. The state borrows ctx and db:
 * free it before either goes. Errors: MIG_ENOMEM, MIG_EFAIL.
 */
int mig_lua_new(mig_lua **out, mig_ctx *ctx, mig_db *db, const char *tenant);
/*
 * The state for post-write hooks: never sandboxed, since their work is
 * rewriting the new revision file ([lua] sandbox covers revisions,
 * [hooks] scripts and the tenants script).
 */
int mig_lua_new_post_write(mig_lua **out, mig_ctx *ctx);
/* Closes every cursor still open, then the state. NULL is harmless. */
void mig_lua_free(mig_lua *lua);

/*
 * Inside a protected call only: compile text (never bytecode) as
 * chunk_path with its own _ENV that falls back to _G, call it with no
 * arguments and leave its first result on the stack. A syntax error is
 * raised with its place noted (PATH:LINE), like any other error.
 */
void mig_lua_run_chunk(mig_lua *lua, const char *text, size_t len, const char *chunk_path);
/* The same for a file on disk. */
void mig_lua_run_file(mig_lua *lua, const char *path);

/*
 * The one entry point from C into Lua: calls fn(payload) in protected
 * mode. On a Lua error, sets `code` on the context with the message
 *     "WHAT failed at FILE:LINE: MESSAGE"
 * where FILE:LINE is where it was raised (fallback_file when no Lua code
 * was running), the database's detail when a db call raised it, and the
 * traceback with -v. what: "revision 1f0e2d3c4b5a", "hook before_each at
 * revision 1f0e2d3c4b5a"; fallback_file may be NULL.
 */
int mig_lua_protected(mig_lua *lua, lua_CFunction fn, void *payload, int code, const char *what,
                      const char *fallback_file);

/*
 * Push a new ctx table for a call: revision (rev may be NULL), direction
 * ("upgrade"/"downgrade", NULL for none), tenant, x (from -x KEY=VALUE)
 * and log(msg). Raises on memory errors: call inside mig_lua_protected.
 */
void mig_lua_push_ctx(mig_lua *lua, const mig_rev *rev, const char *direction);

/*
 * The string argument idx, raising "bad argument" when it holds a NUL byte:
 * Lua strings may, but the C APIs it goes to (SQL text, identifiers, log
 * lines) stop there, so "users\0; DROP" would silently become "users".
 * what names the argument in the message.
 */
const char *mig_lua_check_text(lua_State *L, int idx, const char *what);

/*
 * Compile a Lua revision and run its chunk, which must return a table with
 * an upgrade function (and, to be downgradable, a downgrade function);
 * the table is kept for mig_lua_revision_run. Nothing touches the
 * database here. Errors: MIG_EREVFILE naming the file and line (syntax
 * error, error raised at load, no table, no upgrade function).
 */
int mig_lua_revision_load(mig_lua *lua, const mig_rev *rev, const mig_revbody *body, int *has_downgrade);
/*
 * Call the loaded revision's upgrade(db, ctx) or downgrade(db, ctx) on
 * the run's connection, in whatever transaction the caller has open.
 * Errors: MIG_EFAIL "revision ID failed at FILE:LINE: MESSAGE".
 */
int mig_lua_revision_run(mig_lua *lua, const mig_rev *rev, int upgrade);

#endif
