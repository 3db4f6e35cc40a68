/*
 * [tenants] script: a Lua file that returns the tenant names, as a list
 * or as a function returning one. It runs in a state of its own (no
 * database), before any migration, through mig_lua_protected() like every
 * other call into Lua: the list's length and items may come from
 * metamethods (__len, __index) that raise.
 */
#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#include "ctx.h"
#include "lua_state.h"
#include "tenant.h"

#define TENANTS_MAX 1000000

typedef struct tenants_call {
    mig_lua *lua;
    const char *path;
    mig_strvec *out; /* the caller's: what is pushed stays owned there if Lua raises */
} tenants_call;

static int collect(lua_State *L)
{
    tenants_call *c = lua_touserdata(L, 1);
    mig_lua_run_file(c->lua, c->path);
    if (lua_isfunction(L, -1))
        lua_call(L, 0, 1);
    if (!lua_istable(L, -1))
        return luaL_error(L, "the script must return a list of names, got %s", luaL_typename(L, -1));
    lua_Integer n = luaL_len(L, -1);
    /*
     * A length from __len is whatever the script says: 2^62 names that an
     * __index makes up would fill the memory one name at a time.
     */
    if (n > TENANTS_MAX)
        return luaL_error(L, "the list has %I names: at most %d", n, TENANTS_MAX);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, -1, i);
        if (lua_type(L, -1) != LUA_TSTRING)
            return luaL_error(L, "tenant %I is a %s, not a name", (lua_Integer)i, luaL_typename(L, -1));
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        if (len == 0 || memchr(s, '\0', len))
            return luaL_error(L, "tenant %I is not a usable name", (lua_Integer)i);
        if (mig_strvec_push(c->out, s) < 0)
            return luaL_error(L, "out of memory");
        lua_pop(L, 1);
    }
    return 0;
}

int mig_tenant_script(mig_ctx *ctx, const char *path, mig_strvec *out)
{
    mig_lua *lua = NULL;
    int rc = mig_lua_new(&lua, ctx, NULL, NULL);
    if (rc)
        return rc;
    tenants_call c = { lua, path, out };
    rc = mig_lua_protected(lua, collect, &c, MIG_ECONFIG, "tenants script", path);
    mig_lua_free(lua);
    return rc;
}
