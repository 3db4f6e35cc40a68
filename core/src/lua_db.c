/*
 * The `db` object: db:exec, db:query, db:rows, db:quote_ident, db.driver,
 * over the driver wrappers in plugin.h.
 *
 * Arguments become mig_values in a userdata on the Lua stack, pointing
 * into the Lua strings beside them, so nothing malloc'ed is held when a
 * call raises. A cursor is a userdata too ("mig.cursor"): db:rows hands
 * it back as the for loop's closing value, so leaving the loop early by
 * break, return or error closes it through __close; __gc and the end of
 * the call that owned the handle close whatever is left.
 */
#include "lua_db.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "ctx.h"
#include "drv.h"
#include "error.h"
#include "lua_state.h"

#define DB_MT     "mig.db"
#define CURSOR_MT "mig.cursor"

typedef struct lua_cursor lua_cursor;

struct mig_lua_db {
    mig_lua *lua;
    mig_db *connection;  /* NULL once the call that owned the handle ended */
    lua_cursor *cursors; /* open ones, closed with the handle */
};

struct lua_cursor {
    mig_cursor *cur; /* NULL once closed */
    mig_lua_db *db;  /* kept alive by the cursor's user value */
    lua_cursor *prev, *next;
};

static mig_lua_db *check_db(lua_State *L)
{
    mig_lua_db *db = luaL_checkudata(L, 1, DB_MT);
    if (db->connection == NULL) /* the migration that owned it has ended */
        luaL_error(L, "db used after its migration finished");
    return db;
}

/* ---- values ---- */

static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t k;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
        } else {
            return 0;
        }
        if (i + k >= n)
            return 0;
        for (size_t j = 1; j <= k; j++)
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
        /* overlong, surrogates, beyond U+10FFFF */
        if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] > 0x9F) ||
            (c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] > 0x8F))
            return 0;
        i += k + 1;
    }
    return 1;
}

/*
 * Arguments first..top as parameters, in a userdata pushed on the stack.
 * Strings stay on the stack below it, so the pointers hold for the call.
 * A string with a NUL byte or that is not UTF-8 is bound as bytes (BLOB):
 * text columns of some databases cannot hold it, byte columns can.
 */
static const mig_value *bind_args(lua_State *L, int first, int *n)
{
    int top = lua_gettop(L);
    int k = top >= first ? top - first + 1 : 0;
    *n = k;
    if (k == 0)
        return NULL;
    mig_value *v = lua_newuserdatauv(L, (size_t)k * sizeof *v, 0);
    memset(v, 0, (size_t)k * sizeof *v);
    for (int i = 0; i < k; i++) {
        int idx = first + i;
        switch (lua_type(L, idx)) {
        case LUA_TNIL:
            v[i].type = MIG_VAL_NULL;
            break;
        case LUA_TBOOLEAN:
            v[i].type = MIG_VAL_BOOL;
            v[i].u.b = lua_toboolean(L, idx);
            break;
        case LUA_TNUMBER:
            if (lua_isinteger(L, idx)) {
                v[i].type = MIG_VAL_INT;
                v[i].u.i = (int64_t)lua_tointeger(L, idx);
            } else {
                v[i].type = MIG_VAL_FLOAT;
                v[i].u.f = (double)lua_tonumber(L, idx);
            }
            break;
        case LUA_TSTRING: {
            size_t len;
            const char *s = lua_tolstring(L, idx, &len);
            int text = memchr(s, '\0', len) == NULL && utf8_valid((const unsigned char *)s, len);
            v[i].type = text ? MIG_VAL_TEXT : MIG_VAL_BLOB;
            v[i].u.s.ptr = s;
            v[i].u.s.len = len;
            break;
        }
        default:
            luaL_argerror(L, idx,
                          lua_pushfstring(L, "cannot bind a %s (nil, boolean, number or string expected)",
                                          luaL_typename(L, idx)));
        }
    }
    return v;
}

static void push_value(lua_State *L, const mig_value *v)
{
    switch (v->type) {
    case MIG_VAL_INT:
        lua_pushinteger(L, (lua_Integer)v->u.i);
        break;
    case MIG_VAL_FLOAT:
        lua_pushnumber(L, (lua_Number)v->u.f);
        break;
    case MIG_VAL_BOOL:
        lua_pushboolean(L, v->u.b);
        break;
    case MIG_VAL_TEXT:
    case MIG_VAL_BLOB:
        lua_pushlstring(L, v->u.s.ptr ? v->u.s.ptr : "", v->u.s.len);
        break;
    default:
        lua_pushnil(L);
    }
}

/* A row as a table keyed by column name; NULL columns are absent (nil). */
static void push_row(lua_State *L, const mig_row *row)
{
    lua_createtable(L, 0, row->ncols);
    for (int i = 0; i < row->ncols; i++) {
        push_value(L, &row->values[i]);
        lua_setfield(L, -2, row->names[i] ? row->names[i] : "?");
    }
}

/*
 * Raise the context's database error into Lua, keeping its detail (the
 * statement, SQLSTATE, server text) for the report should the error end
 * the run.
 */
static int raise_db(lua_State *L, mig_lua_db *db, const char *what, const char *sql)
{
    return mig_lua_db_raise(L, db->lua, what, sql);
}

int mig_lua_db_raise(lua_State *L, mig_lua *lua, const char *what, const char *sql)
{
    const mig_error *e = mig_last_error(lua->ctx);
    mig_buf_clear(&lua->db_msg);
    mig_buf_puts(&lua->db_msg, e->message);
    mig_buf_clear(&lua->db_detail);
    mig_buf_put_statement(&lua->db_detail, sql, strlen(sql), 300);
    if (e->detail && *e->detail)
        mig_buf_printf(&lua->db_detail, "\n%s", e->detail);
    return luaL_error(L, "db:%s: %s", what, e->message);
}

void mig_lua_db_push_row(lua_State *L, const mig_row *row)
{
    push_row(L, row);
}

mig_db *mig_lua_db_check(lua_State *L, int idx, mig_lua **lua)
{
    mig_lua_db *db = luaL_checkudata(L, idx, DB_MT);
    if (db->connection == NULL)
        luaL_error(L, "db used after its migration finished");
    *lua = db->lua;
    return db->connection;
}

/* ---- cursors ---- */

static void cursor_close(lua_cursor *c)
{
    if (c->cur) {
        mig_db_cursor_close(c->db->connection, c->cur);
        c->cur = NULL;
    }
    if (c->prev)
        c->prev->next = c->next;
    else if (c->db && c->db->cursors == c)
        c->db->cursors = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static int cursor_gc(lua_State *L)
{
    lua_cursor *c = luaL_checkudata(L, 1, CURSOR_MT);
    cursor_close(c);
    return 0;
}

/* A new cursor userdata on the stack, linked to db, not yet open. */
static lua_cursor *cursor_new(lua_State *L, mig_lua_db *db, int db_idx)
{
    lua_cursor *c = lua_newuserdatauv(L, sizeof *c, 1);
    memset(c, 0, sizeof *c);
    luaL_setmetatable(L, CURSOR_MT);
    lua_pushvalue(L, db_idx);
    lua_setiuservalue(L, -2, 1);
    c->db = db;
    c->next = db->cursors;
    if (db->cursors)
        db->cursors->prev = c;
    db->cursors = c;
    return c;
}

/* The iterator of db:rows: the next row, or nil at the end (closing the cursor). */
static int rows_next(lua_State *L)
{
    lua_cursor *c = luaL_checkudata(L, 1, CURSOR_MT);
    if (c->db->connection == NULL)
        return luaL_error(L, "db used after its migration finished");
    if (c->cur == NULL)
        return 0;
    const mig_row *row = NULL;
    if (mig_db_fetch(c->cur, c->db->connection, c->db->lua->ctx, &row) != 0) {
        cursor_close(c);
        return raise_db(L, c->db, "rows", "(fetching the next row)");
    }
    if (row == NULL) {
        cursor_close(c);
        return 0;
    }
    push_row(L, row);
    return 1;
}

static int cursor_tostring(lua_State *L)
{
    lua_cursor *c = luaL_checkudata(L, 1, CURSOR_MT);
    lua_pushstring(L, c->cur ? "mig.cursor (open)" : "mig.cursor (closed)");
    return 1;
}

/* ---- methods ---- */

/* db:exec(sql, ...) -> rows affected */
static int db_exec(lua_State *L)
{
    mig_lua_db *db = check_db(L);
    const char *sql = mig_lua_check_text(L, 2, "the SQL text");
    int n;
    const mig_value *params = bind_args(L, 3, &n);
    int64_t affected = 0;
    int rc = mig_event_statement(db->lua->ctx, sql, strlen(sql));
    if (rc)
        return raise_db(L, db, "exec", sql);
    if (n == 0) /* no parameters: the plain path, which takes any statement */
        rc = mig_db_exec(db->connection, db->lua->ctx, sql, strlen(sql), &affected, NULL);
    else
        rc = mig_db_exec_params(db->connection, db->lua->ctx, sql, params, n, &affected, NULL);
    if (rc)
        return raise_db(L, db, "exec", sql);
    lua_pushinteger(L, (lua_Integer)(affected > 0 ? affected : 0));
    return 1;
}

/* db:query(sql, ...) -> { row, row, ... } */
static int db_query(lua_State *L)
{
    mig_lua_db *db = check_db(L);
    const char *sql = mig_lua_check_text(L, 2, "the SQL text");
    int n;
    const mig_value *params = bind_args(L, 3, &n);
    lua_cursor *c = cursor_new(L, db, 1);
    int cidx = lua_gettop(L);
    /* as db:exec: a first cancel stops it, and SQLite runs it in the fetches */
    if (mig_cancel_check(db->lua->ctx) != 0 ||
        mig_db_query(&c->cur, db->connection, db->lua->ctx, sql, params, n) != 0) {
        c->cur = NULL;
        cursor_close(c);
        return raise_db(L, db, "query", sql);
    }
    lua_newtable(L);
    for (lua_Integer i = 1;; i++) {
        const mig_row *row = NULL;
        if (mig_cancel_check(db->lua->ctx) != 0 ||
            mig_db_fetch(c->cur, db->connection, db->lua->ctx, &row) != 0) {
            cursor_close(c);
            return raise_db(L, db, "query", sql);
        }
        if (row == NULL)
            break;
        push_row(L, row);
        lua_rawseti(L, -2, i);
    }
    cursor_close(c);
    lua_remove(L, cidx);
    return 1;
}

/* db:rows(sql, ...) -> iterator, cursor, nil, cursor (the closing value) */
static int db_rows(lua_State *L)
{
    mig_lua_db *db = check_db(L);
    const char *sql = mig_lua_check_text(L, 2, "the SQL text");
    int n;
    const mig_value *params = bind_args(L, 3, &n);
    lua_cursor *c = cursor_new(L, db, 1);
    if (mig_db_query(&c->cur, db->connection, db->lua->ctx, sql, params, n) != 0) {
        c->cur = NULL;
        cursor_close(c);
        return raise_db(L, db, "rows", sql);
    }
    int cidx = lua_gettop(L);
    lua_pushcfunction(L, rows_next);
    lua_pushvalue(L, cidx);
    lua_pushnil(L);
    lua_pushvalue(L, cidx);
    return 4;
}

/* Quoted into Lua's own buffer: nothing malloc'ed is held while Lua may raise. */
static int db_quote_ident(lua_State *L)
{
    mig_lua_db *db = check_db(L);
    const char *name = mig_lua_check_text(L, 2, "the identifier");
    char small[128];
    size_t need = mig_plugin_quote_ident_to(db->connection->plugin, name, small, sizeof small);
    if (need < sizeof small) {
        lua_pushlstring(L, small, need);
        return 1;
    }
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, need + 1);
    mig_plugin_quote_ident_to(db->connection->plugin, name, p, need + 1);
    luaL_pushresultsize(&b, need);
    return 1;
}

/* db.driver, then the methods */
static int db_index(lua_State *L)
{
    mig_lua_db *db = luaL_checkudata(L, 1, DB_MT);
    const char *k = lua_tostring(L, 2);
    if (k && strcmp(k, "driver") == 0) {
        if (db->connection == NULL)
            return luaL_error(L, "db used after its migration finished");
        lua_pushstring(L, db->connection->plugin->driver->name);
        return 1;
    }
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    return 1;
}

static int db_tostring(lua_State *L)
{
    mig_lua_db *db = luaL_checkudata(L, 1, DB_MT);
    if (db->connection)
        lua_pushfstring(L, "mig.db (%s)", db->connection->plugin->driver->name);
    else
        lua_pushliteral(L, "mig.db (finished)");
    return 1;
}

void mig_lua_db_open(lua_State *L)
{
    static const luaL_Reg methods[] = {
        { "exec", db_exec },
        { "query", db_query },
        { "rows", db_rows },
        { "quote_ident", db_quote_ident },
        { "backfill", mig_lua_backfill },
        { NULL, NULL },
    };
    luaL_newmetatable(L, DB_MT);
    luaL_newlib(L, methods);
    lua_pushcclosure(L, db_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, db_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "mig.db");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);

    luaL_newmetatable(L, CURSOR_MT);
    lua_pushcfunction(L, cursor_gc);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, cursor_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, cursor_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "mig.cursor");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}

/*
 * The registry keeps the live handle reachable until its call has ended:
 * once a failed call's stack is gone, an emergency collection (memory
 * running out) could otherwise free it before mig_lua_db_end reaches it.
 */
static const char live_db_anchor = 0;

mig_lua_db *mig_lua_db_push(mig_lua *lua)
{
    lua_State *L = lua->L;
    if (lua->db == NULL)
        luaL_error(L, "no database in this context");
    mig_lua_db *db = lua_newuserdatauv(L, sizeof *db, 0);
    memset(db, 0, sizeof *db);
    luaL_setmetatable(L, DB_MT);
    db->lua = lua;
    db->connection = lua->db;
    /* may raise, so before live_db changes */
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &live_db_anchor);
    if (lua->live_db)
        mig_lua_db_invalidate(lua->live_db);
    lua->live_db = db;
    return db;
}

void mig_lua_db_end(mig_lua *lua)
{
    if (lua->live_db == NULL)
        return;
    mig_lua_db_invalidate(lua->live_db);
    lua->live_db = NULL;
    /* nil over a key that exists allocates nothing: safe outside any protected call */
    lua_pushnil(lua->L);
    lua_rawsetp(lua->L, LUA_REGISTRYINDEX, &live_db_anchor);
}

void mig_lua_db_invalidate(mig_lua_db *db)
{
    while (db->cursors)
        cursor_close(db->cursors);
    db->connection = NULL;
}
