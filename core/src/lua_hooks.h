/*
 * Hooks written in Lua, and the post-write hooks of new revision files.
 *
 * Migration hooks: each file in `[hooks] scripts` returns a table with
 * any of before_migrate(db, ctx), before_each(db, ctx), after_each(db,
 * ctx), after_migrate(db, ctx) and on_error(ctx, err). They run on the
 * run's connection, inside whatever transaction the runner has open, so
 * an error raised in one fails and rolls back the run like a failing
 * statement.
 *
 * Post-write hooks: `[post_write_hooks] hooks = a, b` with a.type = lua
 * (a.script returns a function called with the new file's path and ctx)
 * or a.type = exec (a.executable with a.options, REVISION_SCRIPT_FILENAME
 * replaced by the path). They run after `mig revision` and `mig merge`
 * write a file, in the order of `hooks`.
 */
#ifndef MIG_LUA_HOOKS_H
#define MIG_LUA_HOOKS_H

#include "lua_state.h"

/*
 * Load every script of `[hooks] scripts` (relative to the configuration
 * file's folder) into the state, in order. No key: nothing to do.
 * Errors: MIG_ECONFIG (a file that cannot be read, a syntax or load
 * error, a script not returning a table, a hook that is not a function).
 */
int mig_lua_hooks_load(mig_lua *lua);

/*
 * Call hook `name` ("before_migrate", "before_each", "after_each",
 * "after_migrate") with (db, ctx) in each script that defines it, in
 * order; rev is the step's revision (NULL for the *_migrate hooks).
 * Errors: MIG_EFAIL "hook NAME at revision ID failed at FILE:LINE: ...".
 */
int mig_lua_hooks_call(mig_lua *lua, const char *name, const mig_rev *rev, int upgrade);

/*
 * The run failed: call on_error(ctx, err) of each script, err being the
 * error's message. An error raised there is only a warning: the
 * context's error, the reason of the failure, is kept as it was.
 */
void mig_lua_hooks_on_error(mig_lua *lua, const mig_rev *rev, int upgrade);

/*
 * Run `[post_write_hooks]` on the file just written at path (revision
 * rev_id). A hook that fails stops the rest; the file is kept.
 * Errors: MIG_ECONFIG (unknown type, missing script/executable key),
 * MIG_EFAIL (a Lua error naming file and line; a command that could not
 * start or exited non-zero), with a hint naming the kept file.
 */
int mig_post_write_hooks(mig_ctx *ctx, const char *path, const char *rev_id);

#endif
