/*
 * [tenants] script: a Lua file that returns the tenant names, as a list
 * or as a function returning one. It runs in a state of its own, before
 * any migration, with the standard libraries only.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <string.h>

#include "ctx.h"
#include "tenant.h"

static int collect(lua_State *L, mig_ctx *ctx, const char *path, mig_strvec *out)
{
    if (!lua_istable(L, -1))
        return mig_fail(ctx, MIG_ECONFIG, "%s: the tenants script must return a list of names, got %s",
                        path, luaL_typename(L, -1));
    lua_Integer n = luaL_len(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, -1, i);
        if (lua_type(L, -1) != LUA_TSTRING) {
            int rc = mig_fail(ctx, MIG_ECONFIG, "%s: tenant %lld is a %s, not a name", path, (long long)i,
                              luaL_typename(L, -1));
            lua_pop(L, 1);
            return rc;
        }
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        if (len == 0 || memchr(s, '\0', len)) {
            lua_pop(L, 1);
            return mig_fail(ctx, MIG_ECONFIG, "%s: tenant %lld is not a usable name", path, (long long)i);
        }
        if (!mig_strvec_contains(out, s) && mig_strvec_push(out, s) < 0) {
            lua_pop(L, 1);
            return mig_fail(ctx, MIG_ENOMEM, "out of memory");
        }
        lua_pop(L, 1);
    }
    return 0;
}

int mig_tenant_script(mig_ctx *ctx, const char *path, mig_strvec *out)
{
    lua_State *L = luaL_newstate();
    if (L == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    luaL_openlibs(L);
    int rc = 0;
    if (luaL_loadfilex(L, path, "t") != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
        rc = mig_fail(ctx, MIG_ECONFIG, "tenants script: %s", lua_tostring(L, -1));
    } else {
        if (lua_isfunction(L, -1) && lua_pcall(L, 0, 1, 0) != LUA_OK)
            rc = mig_fail(ctx, MIG_ECONFIG, "tenants script: %s", lua_tostring(L, -1));
        else
            rc = collect(L, ctx, path, out);
    }
    lua_close(L);
    return rc;
}
