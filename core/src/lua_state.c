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
#include <sys/stat.h>

#include "backfill.h"
#include "config.h"
#include "ctx.h"
#include "error.h"
#include "fileio.h"
#include "lua_db.h"

#define REG_REVISIONS "mig.revisions"
#define REG_TRACEBACK "mig.traceback"
#define REG_CHECKSUMS "mig.checksums"

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
    mig_lua *lua = *(mig_lua **)lua_getextraspace(L);
    const char *msg = lua_tostring(L, 1);
    /* error({}), error(nil), an object with __tostring: the words tostring() would give */
    if (msg == NULL)
        msg = luaL_tolstring(L, 1, NULL);
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

int mig_lua_protected(mig_lua *lua, lua_CFunction fn, void *payload, int code, const char *what,
                      const char *fallback_file)
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
    /*
     * Nothing pushed before lua_pcall may allocate: an allocation that
     * fails out here has no handler and Lua aborts. Light C functions and
     * light userdata do not allocate; the message handler finds lua in the
     * state's extra space rather than in an upvalue (a closure would be an
     * allocation).
     */
    lua_pushcfunction(L, msgh);
    lua_pushcfunction(L, fn);
    lua_pushlightuserdata(L, payload);
    int status = lua_pcall(L, 1, 0, base + 1);
    /* the call is over: its db handle and cursors go, whatever happened */
    mig_lua_db_end(lua);
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

/*
 * luaL_loadfilex(L, path, "t") over mig_file_read: a FIFO or a device is
 * an error (LUA_ERRFILE, message pushed), not a wait. Nothing between the
 * read and the free raises: luaL_loadbufferx returns its status.
 */
static int load_text_file(lua_State *L, const char *path)
{
    const char *name = lua_pushfstring(L, "@%s", path);
    char *text;
    size_t len;
    int e = mig_file_read(path, &text, &len);
    if (e) {
        lua_pop(L, 1);
        lua_pushfstring(L, "cannot read: %s", mig_file_strerror(e));
        return LUA_ERRFILE;
    }
    /* as luaL_loadfilex reads a file: a BOM and a first line starting with '#' are skipped */
    const char *p = text;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    if (p < text + len && *p == '#')
        for (char *q = (char *)p; q < text + len && *q != '\n'; q++)
            *q = ' ';
    int st = luaL_loadbufferx(L, p, len - (size_t)(p - text), name, "t");
    free(text);
    lua_remove(L, -2);
    return st;
}

void mig_lua_run_file(mig_lua *lua, const char *path)
{
    lua_State *L = lua->L;
    int st = load_text_file(L, path);
    if (st == LUA_ERRSYNTAX)
        raise_syntax(lua, path);
    if (st != LUA_OK)
        lua_error(L);
    own_env(L);
    lua_call(L, 0, 1);
}

/* ---- ctx ---- */

const char *mig_lua_check_text(lua_State *L, int idx, const char *what)
{
    size_t len;
    const char *s = luaL_checklstring(L, idx, &len);
    const char *nul = memchr(s, '\0', len);
    if (nul != NULL)
        luaL_argerror(L, idx,
                      lua_pushfstring(L, "%s holds a NUL byte (at byte %d), where it would be cut short",
                                      what, (int)(nul - s) + 1));
    return s;
}

static int ctx_log(lua_State *L)
{
    mig_lua *lua = lua_touserdata(L, lua_upvalueindex(1));
    luaL_tolstring(L, 1, NULL);
    lua_replace(L, 1);
    const char *msg = mig_lua_check_text(L, 1, "the message");
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
    mig_log(lua->ctx, MIG_LOG_INFO, "%s", mig_lua_check_text(L, -1, "the text printed"));
    return 0;
}

/* ---- text only: no precompiled chunk is ever loaded ---- */

/*
 * Call the original function (upvalue 1) with argument `mode` forced to
 * "t", whatever the caller passed.
 */
static int call_with_text_mode(lua_State *L, int mode)
{
    int n = lua_gettop(L);
    if (n < mode)
        lua_settop(L, n = mode);
    lua_pushliteral(L, "t");
    lua_replace(L, mode);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

/* load(chunk [, chunkname [, mode [, env]]]) with mode always "t" */
static int load_text(lua_State *L)
{
    return call_with_text_mode(L, 3);
}

/* loadfile(filename [, mode [, env]]) with mode always "t" */
static int loadfile_text(lua_State *L)
{
    return call_with_text_mode(L, 2);
}

static int dofile_text(lua_State *L)
{
    const char *fname = luaL_optstring(L, 1, NULL);
    lua_settop(L, 1);
    if (luaL_loadfilex(L, fname, "t") != LUA_OK)
        return lua_error(L);
    lua_call(L, 0, LUA_MULTRET);
    return lua_gettop(L) - 1;
}

/*
 * package.searchers[2], text only: Lua's own loads a module file in mode
 * "bt", so a precompiled file on package.path would run as bytecode.
 */
static int search_text(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_getfield(L, lua_upvalueindex(1), "path");
    const char *path = lua_tostring(L, -1);
    if (path == NULL)
        return luaL_error(L, "'package.path' must be a string");
    /*
     * package.searchpath would fopen() each candidate to see if it is
     * readable, which waits on a FIFO: a name that exists is taken, and
     * load_text_file says what is wrong with it.
     */
    lua_pushliteral(L, "");
    int tried = lua_gettop(L); /* "no file 'x'" for each candidate missing */
    const char *filename = NULL;
    const char *mod = luaL_gsub(L, name, ".", LUA_DIRSEP);
    for (const char *t = path; *t && filename == NULL;) {
        size_t n = strcspn(t, LUA_PATH_SEP);
        lua_pushlstring(L, t, n);
        const char *cand = luaL_gsub(L, lua_tostring(L, -1), LUA_PATH_MARK, mod);
        lua_remove(L, -2);
        struct stat st;
        if (stat(cand, &st) == 0) {
            filename = cand;
        } else {
            lua_pushvalue(L, tried);
            lua_pushfstring(L, "%sno file '%s'", lua_rawlen(L, tried) ? "\n\t" : "", cand);
            lua_concat(L, 2);
            lua_replace(L, tried);
            lua_pop(L, 1);
        }
        t += n;
        if (*t)
            t++;
    }
    if (filename == NULL) {
        lua_pushvalue(L, tried);
        return 1; /* the list of files tried */
    }
    if (load_text_file(L, filename) != LUA_OK)
        return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, filename,
                          lua_tostring(L, -1));
    lua_pushstring(L, filename);
    return 2;
}

/* Wrap the global fname's function in fn, the original as its upvalue. */
static void wrap_global(lua_State *L, const char *fname, lua_CFunction fn)
{
    lua_getglobal(L, fname);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    lua_pushcclosure(L, fn, 1);
    lua_setglobal(L, fname);
}

static void text_only(lua_State *L)
{
    wrap_global(L, "load", load_text);
    wrap_global(L, "loadfile", loadfile_text);
    lua_pushcfunction(L, dofile_text);
    lua_setglobal(L, "dofile");
    /* require: the preload table, then Lua files read as text; C modules only outside the sandbox */
    if (lua_getglobal(L, "package") == LUA_TTABLE) {
        lua_getfield(L, -1, "searchers");
        lua_pushvalue(L, -2);
        lua_pushcclosure(L, search_text, 1);
        lua_rawseti(L, -2, 2);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* ---- the sandbox ([lua] sandbox = true) ---- */

/* The globals a sandboxed script sees: an allow-list, everything else goes. */
static const char *const sandbox_globals[] = {
    "_G",        "_VERSION", "assert",  "collectgarbage", "error",        "getmetatable", "ipairs",
    "load",      "next",     "pairs",   "pcall",          "print",        "rawequal",     "rawget",
    "rawlen",    "rawset",   "require", "select",         "setmetatable", "tonumber",     "tostring",
    "type",      "warn",     "xpcall",  "string",         "table",        "math",         "utf8",
    "coroutine", "os",       NULL,
};
static const char *const sandbox_os[] = { "time", "clock", "date", NULL };

static int allowed(const char *const *list, const char *name)
{
    for (; *list; list++)
        if (strcmp(*list, name) == 0)
            return 1;
    return 0;
}

/*
 * Only the libraries the allow-list names are opened (io, debug and the
 * rest of os never are, so neither require("io") nor package.loaded
 * reaches them); os keeps time, clock and date; require finds Lua files
 * on the project's hooks folders only; the package table itself is not
 * visible, so a script cannot widen its path or load a C module.
 */
static void open_sandbox(lua_State *L, const char *project_path)
{
    static const luaL_Reg libs[] = {
        { LUA_GNAME, luaopen_base },          { LUA_LOADLIBNAME, luaopen_package },
        { LUA_COLIBNAME, luaopen_coroutine }, { LUA_TABLIBNAME, luaopen_table },
        { LUA_STRLIBNAME, luaopen_string },   { LUA_MATHLIBNAME, luaopen_math },
        { LUA_UTF8LIBNAME, luaopen_utf8 },    { NULL, NULL },
    };
    for (const luaL_Reg *lib = libs; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    /* os: three functions copied from a library that is not kept */
    lua_pushcfunction(L, luaopen_os);
    lua_call(L, 0, 1);
    lua_createtable(L, 0, 3);
    for (const char *const *f = sandbox_os; *f; f++) {
        lua_getfield(L, -2, *f);
        lua_setfield(L, -2, *f);
    }
    lua_remove(L, -2);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, LUA_OSLIBNAME);
    lua_pop(L, 1);
    lua_setglobal(L, LUA_OSLIBNAME);

    lua_getglobal(L, LUA_LOADLIBNAME);
    lua_pushstring(L, project_path);
    lua_setfield(L, -2, "path");
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "cpath");
    lua_pushnil(L);
    lua_setfield(L, -2, "loadlib");
    /* the preload table and the Lua searcher only (text_only sets [2]) */
    lua_getfield(L, -1, "searchers");
    for (lua_Integer i = (lua_Integer)luaL_len(L, -1); i > 2; i--) {
        lua_pushnil(L);
        lua_rawseti(L, -2, i);
    }
    lua_pop(L, 2);
    text_only(L);

    /* drop every global the allow-list does not name */
    lua_pushglobaltable(L);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING || !allowed(sandbox_globals, lua_tostring(L, -1))) {
            lua_pushvalue(L, -1);
            lua_pushnil(L);
            lua_rawset(L, -4);
        }
    }
    lua_pop(L, 1);
    /* the loaded table must not hand back what the globals no longer show */
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushnil(L);
    lua_setfield(L, -2, LUA_LOADLIBNAME);
    lua_pop(L, 1);
}

typedef struct open_args {
    mig_lua *lua;
    const char *hooks_path;   /* the project's hooks folders, then mig's own */
    const char *project_path; /* the project's only */
    int sandbox;
} open_args;

/* Lua that never reaches the database (a loop) stops too when the run is cancelled (cancel.c). */
static void cancel_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    mig_lua *lua = *(mig_lua **)lua_getextraspace(L);
    if (mig_cancel_now(lua->ctx))
        luaL_error(L, "cancelled");
}

static int open_state(lua_State *L)
{
    open_args *a = lua_touserdata(L, 1);
    if (a->sandbox) {
        open_sandbox(L, a->project_path);
    } else {
        luaL_openlibs(L);
        /* require() finds the project's shared modules before the system's */
        lua_getglobal(L, "package");
        lua_getfield(L, -1, "path");
        lua_pushfstring(L, "%s%s", a->hooks_path, lua_tostring(L, -1));
        lua_setfield(L, -3, "path");
        lua_pop(L, 2);
        text_only(L);
    }
    lua_pushlightuserdata(L, a->lua);
    lua_pushcclosure(L, lua_print, 1);
    lua_setglobal(L, "print");
    mig_lua_db_open(L);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_REVISIONS);
    return 0;
}

/*
 * <dir>/hooks/?.lua for the config's folder and the project, then (unless
 * project_only) mig's own hooks.
 */
static char *hooks_path(mig_ctx *ctx, int project_only)
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
    if (!project_only)
        mig_data_dirs(&dirs);
    mig_buf_puts(&b, "");
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

static int lua_new(mig_lua **out, mig_ctx *ctx, mig_db *db, const char *tenant, int may_sandbox)
{
    *out = NULL;
    int sandbox = 0;
    if (may_sandbox && ctx->cfg) {
        int rc = mig_config_get_bool(ctx->cfg, ctx, "lua", "sandbox", 0, &sandbox);
        if (rc)
            return rc;
    }
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
    if (lua->L) {
        *(mig_lua **)lua_getextraspace(lua->L) = lua;
        lua_sethook(lua->L, cancel_hook, LUA_MASKCOUNT, 10000);
    }
    char *hp = hooks_path(ctx, 0);
    char *pp = hooks_path(ctx, 1);
    if (lua->L == NULL || hp == NULL || pp == NULL) {
        free(hp);
        free(pp);
        mig_lua_free(lua);
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    open_args a = { lua, hp, pp, sandbox };
    int rc = mig_lua_protected(lua, open_state, &a, MIG_EFAIL, "starting Lua", NULL);
    free(hp);
    free(pp);
    if (rc) {
        mig_lua_free(lua);
        return rc;
    }
    *out = lua;
    return 0;
}

int mig_lua_new(mig_lua **out, mig_ctx *ctx, mig_db *db, const char *tenant)
{
    return lua_new(out, ctx, db, tenant, 1);
}

int mig_lua_new_post_write(mig_lua **out, mig_ctx *ctx)
{
    return lua_new(out, ctx, NULL, NULL, 0);
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
    mig_strvec_release(&lua->bf_names);
    free(lua->bf_unfinished);
    free(lua->tenant);
    free(lua);
}

/* ---- revisions ---- */

typedef struct rev_call {
    mig_lua *lua;
    const mig_rev *rev;
    const mig_revbody *body;
    int upgrade;
    int has_downgrade;
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
    /* db:backfill keeps it with its checkpoint: an edited file must not resume */
    if (lua_getfield(L, LUA_REGISTRYINDEX, REG_CHECKSUMS) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, REG_CHECKSUMS);
    }
    lua_pushstring(L, c->body->checksum);
    lua_setfield(L, -2, c->rev->id);
    return 0;
}

int mig_lua_revision_load(mig_lua *lua, const mig_rev *rev, const mig_revbody *body, int *has_downgrade)
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
    mig_lua *lua = c->lua;
    lua->rev = c->rev;
    lua->rev_upgrade = c->upgrade;
    lua->rev_checksum[0] = '\0';
    int top = lua_gettop(L);
    if (lua_getfield(L, LUA_REGISTRYINDEX, REG_CHECKSUMS) == LUA_TTABLE &&
        lua_getfield(L, -1, c->rev->id) == LUA_TSTRING)
        snprintf(lua->rev_checksum, sizeof lua->rev_checksum, "%s", lua_tostring(L, -1));
    lua_settop(L, top);
    mig_strvec_release(&lua->bf_names);
    free(lua->bf_unfinished);
    lua->bf_unfinished = NULL;
    mig_lua_db_push(lua);
    mig_lua_push_ctx(lua, c->rev, fname);
    lua_call(L, 2, 0);
    lua->rev = NULL;
    if (!c->rev->transactional && lua->db &&
        mig_backfill_forget(lua->ctx, lua->db, c->rev->id, c->upgrade ? "downgrade" : "upgrade") != 0)
        return mig_lua_db_raise(L, lua, "backfill", "(forgetting the checkpoints of the other direction)");
    /*
     * A backfill that stopped (an error, Ctrl-C) and whose error the
     * revision caught itself must not let the revision count as applied.
     */
    if (lua->bf_unfinished)
        return luaL_error(L,
                          "db:backfill %s stopped before it finished; run mig upgrade again to continue",
                          lua->bf_unfinished);
    return 0;
}

int mig_lua_revision_run(mig_lua *lua, const mig_rev *rev, int upgrade)
{
    rev_call c = { lua, rev, NULL, upgrade, 0 };
    char what[128];
    snprintf(what, sizeof what, "revision %s", rev->id);
    int rc = mig_lua_protected(lua, run_revision, &c, MIG_EFAIL, what, rev->path);
    lua->rev = NULL;
    return rc;
}
