/*
 * Migration hooks ([hooks] scripts) and post-write hooks
 * ([post_write_hooks]). Hook scripts are loaded once per run into the
 * run's Lua state and kept in the registry in file order; each call goes
 * through mig_lua_protected(), so an error names the hook, the file and
 * line where it was raised, and the revision being applied.
 */
#include "lua_hooks.h"
#include "paths.h"

#include <errno.h>
#include <lauxlib.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "ctx.h"
#include "error.h"
#include "lua_db.h"

extern char **environ;

#define REG_HOOKS "mig.hooks"

static const char *const hook_names[] = { "before_migrate", "before_each", "after_each",
                                          "after_migrate",  "on_error",    NULL };

/* Items of a list value: separated by commas and/or white space. */
static int split_list(mig_ctx *ctx, const char *s, mig_strvec *out)
{
    while (s && *s) {
        while (*s == ',' || *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
            s++;
        size_t n = strcspn(s, ", \t\r\n");
        if (n == 0)
            break;
        /* push_owned frees the item when it fails (and takes NULL for a failure) */
        if (mig_strvec_push_owned(out, mig_strndup(s, n)) < 0)
            return mig_fail(ctx, MIG_ENOMEM, "out of memory");
        s += n;
    }
    return 0;
}

/* ---- migration hooks ---- */

typedef struct hook_call {
    mig_lua *lua;
    const char *path;
    const char *name;
    size_t index; /* 1-based place in REG_HOOKS */
    const mig_rev *rev;
    int upgrade;
    const char *err; /* on_error's message */
} hook_call;

static int load_hook(lua_State *L)
{
    hook_call *c = lua_touserdata(L, 1);
    mig_lua_run_file(c->lua, c->path);
    if (!lua_istable(L, -1))
        return luaL_error(L, "the script returned %s, not a table of hook functions",
                          luaL_typename(L, -1));
    for (size_t i = 0; hook_names[i]; i++) {
        int t = lua_getfield(L, -1, hook_names[i]);
        if (t != LUA_TNIL && t != LUA_TFUNCTION)
            return luaL_error(L, "%s is %s, not a function", hook_names[i], luaL_typename(L, -1));
        lua_pop(L, 1);
    }
    /* a misspelt hook would silently never run: say so */
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TFUNCTION) {
            const char *k = lua_tostring(L, -2);
            int known = 0;
            for (size_t i = 0; hook_names[i]; i++)
                known |= strcmp(k, hook_names[i]) == 0;
            if (!known)
                mig_log(c->lua->ctx, MIG_LOG_WARN,
                        "%s: warning: '%s' is not a hook and never runs "
                        "(hooks: before_migrate, before_each, after_each, after_migrate, on_error)",
                        c->path, k);
        }
        lua_pop(L, 1);
    }
    if (lua_getfield(L, LUA_REGISTRYINDEX, REG_HOOKS) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, REG_HOOKS);
    }
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, (lua_Integer)c->index);
    return 0;
}

int mig_lua_hooks_load(mig_lua *lua)
{
    mig_ctx *ctx = lua->ctx;
    if (ctx->cfg == NULL)
        return 0;
    char *list = NULL;
    int rc = mig_config_get(ctx->cfg, ctx, "hooks", "scripts", &list);
    if (rc || list == NULL)
        return rc;
    int line = 0;
    mig_config_raw(ctx->cfg, "hooks", "scripts", &line);
    mig_strvec items = MIG_STRVEC_INIT;
    rc = split_list(ctx, list, &items);
    free(list);
    for (size_t i = 0; rc == 0 && i < items.n; i++) {
        char *path = mig_path_join(mig_config_dir(ctx->cfg), items.v[i]);
        if (path == NULL) {
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
            break;
        }
        if (access(path, R_OK) != 0) {
            rc = mig_fail_os(ctx, MIG_ECONFIG, errno, "%s:%d: hook script %s: %s",
                             mig_config_path(ctx->cfg), line, path, strerror(errno));
            mig_error_where(ctx, mig_config_path(ctx->cfg), line);
            free(path);
            break;
        }
        if (mig_strvec_push_owned(&lua->hook_paths, path) < 0) {
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
            break;
        }
        hook_call c = { lua, path, NULL, lua->hook_paths.n, NULL, 0, NULL };
        char what[64];
        snprintf(what, sizeof what, "loading hook script");
        rc = mig_lua_protected(lua, load_hook, &c, MIG_ECONFIG, what, path);
    }
    mig_strvec_release(&items);
    return rc;
}

static int call_hook(lua_State *L)
{
    hook_call *c = lua_touserdata(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_HOOKS);
    lua_rawgeti(L, -1, (lua_Integer)c->index);
    if (lua_getfield(L, -1, c->name) != LUA_TFUNCTION)
        return 0;
    const char *dir = c->upgrade ? "upgrade" : "downgrade";
    if (c->err) {
        mig_lua_push_ctx(c->lua, c->rev, dir);
        lua_pushstring(L, c->err);
    } else {
        mig_lua_db_push(c->lua);
        mig_lua_push_ctx(c->lua, c->rev, dir);
    }
    lua_call(L, 2, 0);
    return 0;
}

static int call_one(mig_lua *lua, size_t i, const char *name, const mig_rev *rev, int upgrade,
                    const char *err)
{
    const char *path = lua->hook_paths.v[i];
    hook_call c = { lua, path, name, i + 1, rev, upgrade, err };
    char what[200];
    if (rev)
        snprintf(what, sizeof what, "hook %s at revision %s", name, rev->id);
    else
        snprintf(what, sizeof what, "hook %s", name);
    return mig_lua_protected(lua, call_hook, &c, MIG_EFAIL, what, path);
}

int mig_lua_hooks_call(mig_lua *lua, const char *name, const mig_rev *rev, int upgrade)
{
    if (lua == NULL)
        return 0;
    for (size_t i = 0; i < lua->hook_paths.n; i++) {
        int rc = call_one(lua, i, name, rev, upgrade, NULL);
        if (rc)
            return rc;
    }
    return 0;
}

void mig_lua_hooks_on_error(mig_lua *lua, const mig_rev *rev, int upgrade)
{
    if (lua == NULL || lua->hook_paths.n == 0)
        return;
    mig_ctx *ctx = lua->ctx;
    /* keep the reason of the failure, whatever the hooks do */
    mig_error_state saved;
    mig_error_save(ctx, &saved);
    const char *msg = saved.message.oom ? "out of memory" : mig_buf_cstr(&saved.message);
    for (size_t i = 0; i < lua->hook_paths.n; i++) {
        if (call_one(lua, i, "on_error", rev, upgrade, msg) != 0)
            mig_log(ctx, MIG_LOG_WARN, "warning: %s", mig_buf_cstr(&ctx->err_message));
    }
    mig_error_restore(ctx, &saved);
}

/* ---- post-write hooks ---- */

typedef struct write_call {
    mig_lua *lua;
    const char *script;
    const char *path;
    const char *rev_id;
} write_call;

static int call_write_hook(lua_State *L)
{
    write_call *c = lua_touserdata(L, 1);
    mig_lua_run_file(c->lua, c->script);
    int callable = lua_isfunction(L, -1);
    if (!callable && luaL_getmetafield(L, -1, "__call") != LUA_TNIL) {
        lua_pop(L, 1);
        callable = 1;
    }
    if (!callable)
        return luaL_error(L, "the script returned %s, not a function", luaL_typename(L, -1));
    lua_pushstring(L, c->path);
    mig_lua_push_ctx(c->lua, NULL, NULL);
    if (c->rev_id) {
        lua_pushstring(L, c->rev_id);
        lua_setfield(L, -2, "revision");
    }
    lua_pushstring(L, c->path);
    lua_setfield(L, -2, "path");
    lua_call(L, 2, 0);
    return 0;
}

/*
 * A relative script is looked for beside the configuration file, then
 * among mig's own files (installed; the source tree for a build-tree
 * binary), so the shipped `hooks/sqlformat.lua` works from any project.
 */
static char *find_script(mig_ctx *ctx, const char *script)
{
    char *p = mig_path_join(mig_config_dir(ctx->cfg), script);
    if (p == NULL || script[0] == '/' || access(p, R_OK) == 0)
        return p;
    mig_strvec dirs = MIG_STRVEC_INIT;
    mig_data_dirs(&dirs);
    for (size_t i = 0; i < dirs.n; i++) {
        char *q = mig_path_join(dirs.v[i], script);
        if (q && access(q, R_OK) == 0) {
            free(p);
            mig_strvec_release(&dirs);
            return q;
        }
        free(q);
    }
    mig_strvec_release(&dirs);
    return p;
}

static int get_opt(mig_ctx *ctx, const char *name, const char *opt, char **out, int *line)
{
    char key[256];
    snprintf(key, sizeof key, "%s.%s", name, opt);
    *line = 0;
    mig_config_raw(ctx->cfg, "post_write_hooks", key, line);
    return mig_config_get(ctx->cfg, ctx, "post_write_hooks", key, out);
}

static int run_lua_hook(mig_ctx *ctx, mig_lua **lua, const char *name, const char *path, const char *rev_id)
{
    char *script = NULL;
    int line;
    int rc = get_opt(ctx, name, "script", &script, &line);
    if (rc)
        return rc;
    if (script == NULL) {
        int hl = 0;
        mig_config_raw(ctx->cfg, "post_write_hooks", "hooks", &hl);
        rc = mig_fail(ctx, MIG_ECONFIG, "%s:%d: post-write hook '%s' has type lua but no %s.script",
                      mig_config_path(ctx->cfg), hl, name, name);
        mig_error_hint(ctx, "%s.script = hooks/sqlformat.lua", name);
        return rc;
    }
    char *found = find_script(ctx, script);
    free(script);
    if (found == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    if (access(found, R_OK) != 0) {
        rc = mig_fail_os(ctx, MIG_ECONFIG, errno, "%s:%d: post-write hook '%s': %s: %s",
                         mig_config_path(ctx->cfg), line, name, found, strerror(errno));
        free(found);
        return rc;
    }
    if (*lua == NULL && (rc = mig_lua_new_post_write(lua, ctx)) != 0) {
        free(found);
        return rc;
    }
    write_call c = { *lua, found, path, rev_id };
    char what[300];
    snprintf(what, sizeof what, "post-write hook '%s'", name);
    rc = mig_lua_protected(*lua, call_write_hook, &c, MIG_EFAIL, what, found);
    free(found);
    return rc;
}

/*
 * Options as words: white space separates, '...' and "..." quote, a
 * backslash outside single quotes takes the next character as it is.
 * REVISION_SCRIPT_FILENAME inside a word becomes the path.
 */
static int split_words(mig_ctx *ctx, const char *s, const char *path, mig_strvec *out, int *used)
{
    static const char token[] = "REVISION_SCRIPT_FILENAME";
    mig_buf w = MIG_BUF_INIT;
    int in_word = 0, rc = 0;
    char quote = 0;
    for (const char *p = s;; p++) {
        char ch = *p;
        if (ch == '\0' || (!quote && (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'))) {
            if (in_word) {
                /* replace the token in the finished word */
                mig_buf r = MIG_BUF_INIT;
                const char *t = mig_buf_cstr(&w), *hit;
                while ((hit = strstr(t, token)) != NULL) {
                    mig_buf_put(&r, t, (size_t)(hit - t));
                    mig_buf_puts(&r, path);
                    t = hit + sizeof token - 1;
                    *used = 1;
                }
                mig_buf_puts(&r, t);
                char *word = mig_buf_detach(&r);
                if (mig_strvec_push_owned(out, word) < 0) {
                    rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
                    break;
                }
                mig_buf_clear(&w);
                in_word = 0;
            }
            if (ch == '\0')
                break;
            continue;
        }
        in_word = 1;
        if (quote) {
            if (ch == quote)
                quote = 0;
            else if (ch == '\\' && quote == '"' && p[1])
                mig_buf_putc(&w, *++p);
            else
                mig_buf_putc(&w, ch);
        } else if (ch == '\'' || ch == '"') {
            quote = ch;
        } else if (ch == '\\' && p[1]) {
            mig_buf_putc(&w, *++p);
        } else {
            mig_buf_putc(&w, ch);
        }
    }
    mig_buf_release(&w);
    return rc;
}

static int run_exec_hook(mig_ctx *ctx, const char *name, const char *path)
{
    char *exe = NULL, *options = NULL;
    int line, oline;
    int rc = get_opt(ctx, name, "executable", &exe, &line);
    if (rc == 0)
        rc = get_opt(ctx, name, "options", &options, &oline);
    if (rc == 0 && (exe == NULL || *exe == '\0')) {
        int hl = 0;
        mig_config_raw(ctx->cfg, "post_write_hooks", "hooks", &hl);
        rc = mig_fail(ctx, MIG_ECONFIG, "%s:%d: post-write hook '%s' has type exec but no %s.executable",
                      mig_config_path(ctx->cfg), hl, name, name);
    }
    mig_strvec argv = MIG_STRVEC_INIT;
    int used = 0;
    char *prog = NULL;
    if (rc == 0) {
        /* a name with a slash is a path, relative to the config file; else PATH finds it */
        prog = strchr(exe, '/') ? mig_path_join(mig_config_dir(ctx->cfg), exe)
                                : mig_strdup(exe); /* NOLINT(clang-analyzer-core.NonNullParamChecker) */
        if (prog == NULL || mig_strvec_push(&argv, exe) < 0)
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    if (rc == 0)
        rc = split_words(ctx, options ? options : "", path, &argv, &used);
    if (rc == 0 && !used) {
        /* no REVISION_SCRIPT_FILENAME: the path goes first, as Alembic does */
        if (mig_strvec_push(&argv, path) < 0)
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        else {
            char *last = argv.v[argv.n - 1];
            memmove(&argv.v[2], &argv.v[1], (argv.n - 2) * sizeof *argv.v);
            argv.v[1] = last;
        }
    }
    if (rc == 0) {
        /* stdout carries the new file's path for scripts: the hook's output goes to stderr */
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, 2, 1);
        pid_t pid;
        int err = strchr(exe, '/')
                      ? posix_spawn(&pid, prog, &fa, NULL, argv.v,
                                    environ) /* NOLINT(clang-analyzer-core.NonNullParamChecker) */
                      : posix_spawnp(&pid, prog, &fa, NULL, argv.v,
                                     environ); /* NOLINT(clang-analyzer-core.NonNullParamChecker) */
        posix_spawn_file_actions_destroy(&fa);
        if (err != 0) {
            rc = mig_fail(ctx, MIG_EFAIL, "post-write hook '%s': cannot run %s: %s", name, prog,
                          strerror(err));
            mig_error_where(ctx, mig_config_path(ctx->cfg), line);
        } else {
            int status = 0;
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
                rc = mig_fail(ctx, MIG_EFAIL, "post-write hook '%s' failed: %s exited with status %d",
                              name, exe, WEXITSTATUS(status));
            else if (WIFSIGNALED(status))
                rc = mig_fail(ctx, MIG_EFAIL, "post-write hook '%s' failed: %s was killed by signal %d",
                              name, exe, WTERMSIG(status));
        }
    }
    mig_strvec_release(&argv);
    free(prog);
    free(exe);
    free(options);
    return rc;
}

int mig_post_write_hooks(mig_ctx *ctx, const char *path, const char *rev_id)
{
    if (ctx->cfg == NULL)
        return 0;
    char *list = NULL;
    int rc = mig_config_get(ctx->cfg, ctx, "post_write_hooks", "hooks", &list);
    if (rc || list == NULL)
        return rc;
    mig_strvec names = MIG_STRVEC_INIT;
    rc = split_list(ctx, list, &names);
    free(list);
    mig_lua *lua = NULL;
    for (size_t i = 0; rc == 0 && i < names.n; i++) {
        const char *name = names.v[i];
        char *type = NULL;
        int line;
        rc = get_opt(ctx, name, "type", &type, &line);
        if (rc)
            break;
        if (type && strcmp(type, "lua") == 0) {
            rc = run_lua_hook(ctx, &lua, name, path, rev_id);
        } else if (type && strcmp(type, "exec") == 0) {
            rc = run_exec_hook(ctx, name, path);
        } else if (type == NULL) {
            int hl = 0;
            mig_config_raw(ctx->cfg, "post_write_hooks", "hooks", &hl);
            rc = mig_fail(ctx, MIG_ECONFIG, "%s:%d: post-write hook '%s' has no %s.type (lua or exec)",
                          mig_config_path(ctx->cfg), hl, name, name);
            mig_error_where(ctx, mig_config_path(ctx->cfg), hl);
        } else {
            rc = mig_fail(ctx, MIG_ECONFIG, "%s:%d: post-write hook '%s': unknown type '%s' (lua or exec)",
                          mig_config_path(ctx->cfg), line, name, type);
            mig_error_where(ctx, mig_config_path(ctx->cfg), line);
        }
        free(type);
        if (rc)
            mig_error_hint(ctx, "the new revision was written and kept: %s", path);
        else
            mig_log(ctx, MIG_LOG_VERBOSE, "post-write hook '%s' ran on %s", name, path);
    }
    mig_lua_free(lua);
    mig_strvec_release(&names);
    return rc;
}
