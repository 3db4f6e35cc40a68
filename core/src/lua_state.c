/*
 * The Lua state of a run and the one way into it. Everything Lua-related
 * that the runner asks for (loading a revision, running it, calling a
 * hook) is a small C function run by mig_lua_protected(), whose message
 * handler notes the file and line where an error was raised; the error
 * then becomes a mig error on the context, naming that place and the
 * revision. Lua errors long-jump, so the C functions run inside hold no
 * malloc'ed memory: what they need lives on the Lua stack or in the
 * mig_lua struct.
 */
#include "lua_state.h"
#include "progress.h"
#include "paths.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "error.h"
#include "lua_db.h"

#define REG_REVISIONS "mig.revisions"
#define REG_TRACEBACK "mig.traceback"

/* ---- the message handler ---- */

/*
 * Does msg start with "SRC:LINE:"? Then *line is LINE and the length of
 * the prefix (with the space after it) is returned; else 0.
 */
static size_t location_prefix(const char *msg, const char *src, int *line)
{
    size_t n = strlen(src);
    if (n == 0 || strncmp(msg, src, n) != 0 || msg[n] != ':')
        return 0;
    const char *p = msg + n + 1;
    int v = 0, digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 9) {
        v = v * 10 + (*p++ - '0');
        digits++;
    }
    if (digits == 0 || *p != ':')
        return 0;
    p++;
    if (*p == ' ')
        p++;
    *line = v;
    return (size_t)(p - msg);
}

static void note_place(mig_lua *lua, const lua_Debug *ar, int line)
{
    const char *src = ar->source[0] == '@' ? ar->source + 1 : ar->short_src;
    snprintf(lua->err_file, sizeof lua->err_file, "%s", src);
    lua->err_line = line;
}

/*
 * Runs where the error was raised, before the stack unwinds: find the Lua
 * frame the error is about. A message that starts with a frame's
 * "file:line:" (luaL_error, error(msg, level)) names it; otherwise the
 * innermost Lua frame is the place. The prefix is taken off the message,
 * since the report states the place itself. A place noted before the raise
 * (a syntax error) is kept.
 */
static int msgh(lua_State *L)
{
    mig_lua *lua = lua_touserdata(L, lua_upvalueindex(1));
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    size_t skip = 0;
    if (lua->err_line == 0 && lua->err_file[0] == '\0') {
        lua_Debug ar, first;
        int have_first = 0;
        for (int level = 0; lua_getstack(L, level, &ar); level++) {
            if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0)
                continue;
            int line = 0;
            size_t k = location_prefix(msg, ar.short_src, &line);
            if (k) {
                note_place(lua, &ar, line);
                skip = k;
                break;
            }
            if (!have_first) {
                first = ar;
                have_first = 1;
            }
        }
        if (skip == 0 && have_first)
            note_place(lua, &first, first.currentline);
    }
    luaL_traceback(L, L, NULL, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_TRACEBACK);
    lua_pushstring(L, msg + skip);
    return 1;
}

/* ---- the entry point ---- */

int mig_lua_protected(mig_lua *lua, lua_CFunction fn, void *payload, int code,
                      const char *what, const char *fallback_file)
{
    lua_State *L = lua->L;
    mig_ctx *ctx = lua->ctx;
    if (!lua_checkstack(L, 4))
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    int base = lua_gettop(L);
    lua->err_file[0] = '\0';
    lua->err_line = 0;
    mig_buf_clear(&lua->db_msg);
    mig_buf_clear(&lua->db_detail);
    lua_pushlightuserdata(L, lua);
    lua_pushcclosure(L, msgh, 1);
    lua_pushcfunction(L, fn);
    lua_pushlightuserdata(L, payload);
    int status = lua_pcall(L, 1, 0, base + 1);
    /* the call is over: its db handle and cursors go, whatever happened */
    if (lua->live_db) {
        mig_lua_db_invalidate(lua->live_db);
        lua->live_db = NULL;
    }
    if (status == LUA_OK) {
        lua_settop(L, base);
        /* an error a script caught itself (pcall) is no error of the run */
        mig_error_clear(ctx);
        return 0;
    }
    if (status == LUA_ERRMEM) {
        lua_settop(L, base);
        return mig_fail(ctx, MIG_ENOMEM, "%s: out of memory in Lua", what);
    }
    const char *msg = lua_tostring(L, -1);
    if (msg == NULL)
        msg = "(error object is not a string)";
    const char *file = lua->err_file[0] ? lua->err_file : fallback_file;
    int line = lua->err_line;
    int rc;
    if (file && *file && line > 0)
        rc = mig_fail(ctx, code, "%s failed at %s:%d: %s", what, file, line, msg);
    else if (file && *file)
        rc = mig_fail(ctx, code, "%s failed in %s: %s", what, file, msg);
    else
        rc = mig_fail(ctx, code, "%s failed: %s", what, msg);
    mig_error_where(ctx, file, line);
    /* the database's words, when the error came from a db call */
    if (lua->db_msg.len && strstr(msg, mig_buf_cstr(&lua->db_msg)))
        mig_error_detail(ctx, "%s", mig_buf_cstr(&lua->db_detail));
    if (ctx->opts.verbose) {
        lua_getfield(L, LUA_REGISTRYINDEX, REG_TRACEBACK);
        if (lua_type(L, -1) == LUA_TSTRING)
            mig_error_detail(ctx, "%s", lua_tostring(L, -1));
    }
    lua_settop(L, base);
    return rc;
}

/* ---- chunks ---- */

/*
 * A syntax message reads "SRC:LINE: text", SRC being Lua's shortened
 * chunk name: keep the line and the text, name the file ourselves.
 */
static void raise_syntax(mig_lua *lua, const char *path)
{
    lua_State *L = lua->L;
    const char *msg = lua_tostring(L, -1);
    if (msg == NULL)
        lua_error(L);
    int line = 0;
    const char *rest = msg;
    for (const char *p = msg; *p; p++) { /* NOLINT(clang-analyzer-core.NullDereference) */
        if (*p != ':' || p[1] < '0' || p[1] > '9')
            continue;
        const char *q = p + 1;
        int v = 0;
        while (*q >= '0' && *q <= '9' && v < 100000000)
            v = v * 10 + (*q++ - '0');
        if (*q == ':') {
            line = v;
            rest = q[1] == ' ' ? q + 2 : q + 1;
            break;
        }
    }
    snprintf(lua->err_file, sizeof lua->err_file, "%s", path);
    lua->err_line = line;
    lua_pushfstring(L, "syntax error: %s", rest);
    lua_error(L);
}

/* The chunk on top gets a fresh _ENV whose misses fall back to _G. */
static void own_env(lua_State *L)
{
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushglobaltable(L);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    if (lua_setupvalue(L, -2, 1) == NULL)
        lua_pop(L, 1);
}

void mig_lua_run_chunk(mig_lua *lua, const char *text, size_t len, const char *chunk_path)
{
    lua_State *L = lua->L;
    const char *name = lua_pushfstring(L, "@%s", chunk_path);
    int st = luaL_loadbufferx(L, text, len, name, "t");
    lua_remove(L, -2);
    if (st == LUA_ERRSYNTAX)
        raise_syntax(lua, chunk_path);
    if (st != LUA_OK)
        lua_error(L);
    own_env(L);
    lua_call(L, 0, 1);
}

void mig_lua_run_file(mig_lua *lua, const char *path)
{
    lua_State *L = lua->L;
    int st = luaL_loadfilex(L, path, "t");
    if (st == LUA_ERRSYNTAX)
        raise_syntax(lua, path);
    if (st != LUA_OK)
        lua_error(L);
    own_env(L);
    lua_call(L, 0, 1);
}

/* ---- ctx ---- */

static int ctx_log(lua_State *L)
{
    mig_lua *lua = lua_touserdata(L, lua_upvalueindex(1));
    const char *msg = luaL_tolstring(L, 1, NULL);
    /* a tenant's run is quiet about its steps, not about what the user logs: only -q
     * (the parent's) silences ctx.log */
    mig_ctx *to = lua->ctx->parent ? lua->ctx->parent : lua->ctx;
    /* tenants may run side by side: say whose line it is */
    if (lua->tenant)
        mig_log(to, MIG_LOG_INFO, "tenant %s: %s", lua->tenant, msg);
    else
        mig_log(to, MIG_LOG_INFO, "%s", msg);
    return 0;
}

/*
 * ctx.progress(done, total): how far the running step is, shown with its
 * line (live on a terminal, else a line every few seconds); total may be
 * nil when it is not known.
 */
static int ctx_progress(lua_State *L)
{
    mig_lua *lua = lua_touserdata(L, lua_upvalueindex(1));
    lua_Integer done = luaL_checkinteger(L, 1);
    lua_Integer total = luaL_opt(L, luaL_checkinteger, 2, -1);
    luaL_argcheck(L, done >= 0, 1, "must be 0 or more");
    luaL_argcheck(L, lua_isnoneornil(L, 2) || total >= 0, 2, "must be 0 or more, or nil");
    mig_progress_update(lua->ctx, (int64_t)done, (int64_t)total);
    return 0;
}

void mig_lua_push_ctx(mig_lua *lua, const mig_rev *rev, const char *direction)
{
    lua_State *L = lua->L;
    mig_ctx *ctx = lua->ctx;
    lua_createtable(L, 0, 8);
    if (rev) {
        lua_pushstring(L, rev->id);
        lua_setfield(L, -2, "revision");
        lua_pushstring(L, rev->message ? rev->message : "");
        lua_setfield(L, -2, "message");
        lua_pushstring(L, rev->path);
        lua_setfield(L, -2, "path");
    }
    if (direction) {
        lua_pushstring(L, direction);
        lua_setfield(L, -2, "direction");
    }
    if (lua->tenant) {
        lua_pushstring(L, lua->tenant);
        lua_setfield(L, -2, "tenant");
    }
    /* -x KEY=VALUE: the value is everything after the first '=' */
    lua_createtable(L, 0, (int)ctx->opts.nx);
    for (size_t i = 0; i < ctx->opts.nx; i++) {
        const char *kv = ctx->opts.x[i];
        if (kv == NULL)
            continue;
        const char *eq = strchr(kv, '=');
        if (eq) {
            lua_pushlstring(L, kv, (size_t)(eq - kv));
            lua_pushstring(L, eq + 1);
        } else {
            lua_pushstring(L, kv);
            lua_pushliteral(L, "");
        }
        lua_settable(L, -3);
    }
    lua_setfield(L, -2, "x");
    lua_pushlightuserdata(L, lua);
    lua_pushcclosure(L, ctx_log, 1);
    lua_setfield(L, -2, "log");
    lua_pushlightuserdata(L, lua);
    lua_pushcclosure(L, ctx_progress, 1);
    lua_setfield(L, -2, "progress");
}

/* ---- the state ---- */

/*
 * print() as in Lua, but a line of mig's output on stderr: stdout carries
 * data (a new file's path, --json), which a script must not corrupt.
 */
static int lua_print(lua_State *L)
{
    mig_lua *lua = lua_touserdata(L, lua_upvalueindex(1));
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (i > 1)
            luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    mig_log(lua->ctx, MIG_LOG_INFO, "%s", lua_tostring(L, -1));
    return 0;
}

typedef struct open_args {
    mig_lua    *lua;
    const char *hooks_path;
} open_args;

static int open_state(lua_State *L)
{
    open_args *a = lua_touserdata(L, 1);
    const char *hooks_path = a->hooks_path;
    luaL_openlibs(L);
    lua_pushlightuserdata(L, a->lua);
    lua_pushcclosure(L, lua_print, 1);
    lua_setglobal(L, "print");
    /* require() finds the project's shared modules before the system's */
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s%s", hooks_path, lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 2);
    mig_lua_db_open(L);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_REVISIONS);
    return 0;
}

/* <dir>/hooks/?.lua for the config's folder, the project, and mig's own hooks. */
static char *hooks_path(mig_ctx *ctx)
{
    mig_buf b = MIG_BUF_INIT;
    mig_strvec seen = MIG_STRVEC_INIT;
    mig_strvec dirs = MIG_STRVEC_INIT;
    if (ctx->cfg)
        mig_strvec_push(&dirs, mig_config_dir(ctx->cfg));
    const char *loc = NULL;
    if (mig_ctx_script_location(ctx, &loc) == 0)
        mig_strvec_push(&dirs, loc);
    mig_error_clear(ctx);
    mig_data_dirs(&dirs);
    for (size_t i = 0; i < dirs.n; i++) {
        if (mig_strvec_contains(&seen, dirs.v[i]))
            continue;
        mig_strvec_push(&seen, dirs.v[i]);
        mig_buf_printf(&b, "%s/hooks/?.lua;", dirs.v[i]);
    }
    mig_strvec_release(&dirs);
    mig_strvec_release(&seen);
    return mig_buf_detach(&b);
}

int mig_lua_new(mig_lua **out, mig_ctx *ctx, mig_db *db, const char *tenant)
{
    *out = NULL;
    mig_lua *lua = calloc(1, sizeof *lua);
    if (lua == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    lua->ctx = ctx;
    lua->db = db;
    mig_buf_init(&lua->db_msg);
    mig_buf_init(&lua->db_detail);
    if (tenant && (lua->tenant = mig_strdup(tenant)) == NULL) {
        free(lua);
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    lua->L = luaL_newstate();
    char *hp = hooks_path(ctx);
    if (lua->L == NULL || hp == NULL) {
        free(hp);
        mig_lua_free(lua);
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    open_args a = { lua, hp };
    int rc = mig_lua_protected(lua, open_state, &a, MIG_EFAIL, "starting Lua", NULL);
    free(hp);
    if (rc) {
        mig_lua_free(lua);
        return rc;
    }
    *out = lua;
    return 0;
}

void mig_lua_free(mig_lua *lua)
{
    if (lua == NULL)
        return;
    if (lua->live_db)
        mig_lua_db_invalidate(lua->live_db);
    if (lua->L)
        lua_close(lua->L);
    mig_buf_release(&lua->db_msg);
    mig_buf_release(&lua->db_detail);
    mig_strvec_release(&lua->hook_paths);
    free(lua->tenant);
    free(lua);
}

/* ---- revisions ---- */

typedef struct rev_call {
    mig_lua           *lua;
    const mig_rev     *rev;
    const mig_revbody *body;
    int                upgrade;
    int                has_downgrade;
} rev_call;

static int load_revision(lua_State *L)
{
    rev_call *c = lua_touserdata(L, 1);
    mig_lua_run_chunk(c->lua, c->body->data, c->body->len, c->rev->path);
    if (!lua_istable(L, -1))
        return luaL_error(L, "the file returned %s, not a table with upgrade and downgrade functions",
                          luaL_typename(L, -1));
    lua_getfield(L, -1, "upgrade");
    if (!lua_isfunction(L, -1))
        return luaL_error(L, "the returned table has no upgrade function (upgrade is %s)",
                          luaL_typename(L, -1));
    lua_pop(L, 1);
    lua_getfield(L, -1, "downgrade");
    if (!lua_isnil(L, -1) && !lua_isfunction(L, -1))
        return luaL_error(L, "downgrade is %s, not a function", luaL_typename(L, -1));
    c->has_downgrade = lua_isfunction(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_REVISIONS);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, c->rev->id);
    return 0;
}

int mig_lua_revision_load(mig_lua *lua, const mig_rev *rev, const mig_revbody *body,
                          int *has_downgrade)
{
    rev_call c = { lua, rev, body, 1, 0 };
    char what[128];
    snprintf(what, sizeof what, "loading revision %s", rev->id);
    int rc = mig_lua_protected(lua, load_revision, &c, MIG_EREVFILE, what, rev->path);
    if (rc == 0 && has_downgrade)
        *has_downgrade = c.has_downgrade;
    return rc;
}

static int run_revision(lua_State *L)
{
    rev_call *c = lua_touserdata(L, 1);
    const char *fname = c->upgrade ? "upgrade" : "downgrade";
    lua_getfield(L, LUA_REGISTRYINDEX, REG_REVISIONS);
    if (lua_getfield(L, -1, c->rev->id) != LUA_TTABLE)
        return luaL_error(L, "revision %s was not loaded", c->rev->id);
    if (lua_getfield(L, -1, fname) != LUA_TFUNCTION)
        return luaL_error(L, "revision %s has no %s function", c->rev->id, fname);
    mig_lua_db_push(c->lua);
    mig_lua_push_ctx(c->lua, c->rev, fname);
    lua_call(L, 2, 0);
    return 0;
}

int mig_lua_revision_run(mig_lua *lua, const mig_rev *rev, int upgrade)
{
    rev_call c = { lua, rev, NULL, upgrade, 0 };
    char what[128];
    snprintf(what, sizeof what, "revision %s", rev->id);
    return mig_lua_protected(lua, run_revision, &c, MIG_EFAIL, what, rev->path);
}
