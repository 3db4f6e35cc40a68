/*
 * db:backfill: keyset batches, each in its own transaction with its
 * checkpoint.
 *
 * A batch: begin; read the next `batch` keys after the checkpoint's key
 * (ORDER BY the key, LIMIT), remembering the last; run the batch's SQL
 * with the bounds bound (lower exclusive, upper inclusive), or hand the
 * rows to the `each` function; move the checkpoint from the key the batch
 * started at to the last key with a compare-and-set that must change
 * exactly one row; commit. The batch's writes and its checkpoint commit
 * together or not at all, so after a kill the next run continues after the
 * last committed batch and no row is done twice. A checkpoint that moved
 * under us means another process runs the same backfill: the batch rolls
 * back and this run stops.
 *
 * Everything malloc'ed lives in a userdata with a __gc, since any Lua
 * error long-jumps out of here.
 */
#include "backfill.h"

#include <lauxlib.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "ctx.h"
#include "drv.h"
#include "error.h"
#include "lua_db.h"
#include "lua_state.h"
#include "progress.h"
#include "state.h"
#include "tenant.h"

#define BF_MT     "mig.backfill"
#define MAX_KEYS  8
#define MAX_BATCH 1000000

/* ---- keys ---- */

/* A key's values, owning their bytes. */
typedef struct keyset {
    int n;
    mig_value v[MAX_KEYS];
    char *buf[MAX_KEYS];
} keyset;

static void keyset_clear(keyset *k)
{
    for (int i = 0; i < MAX_KEYS; i++) {
        free(k->buf[i]);
        k->buf[i] = NULL;
        memset(&k->v[i], 0, sizeof k->v[i]);
    }
    k->n = 0;
}

static int keyset_set(keyset *k, int i, const mig_value *v)
{
    free(k->buf[i]);
    k->buf[i] = NULL;
    k->v[i] = *v;
    if (v->type == MIG_VAL_TEXT || v->type == MIG_VAL_BLOB) {
        k->buf[i] = malloc(v->u.s.len + 1);
        if (k->buf[i] == NULL)
            return MIG_ENOMEM;
        if (v->u.s.len)
            memcpy(k->buf[i], v->u.s.ptr, v->u.s.len);
        k->buf[i][v->u.s.len] = '\0';
        k->v[i].u.s.ptr = k->buf[i];
    }
    return 0;
}

static int keyset_copy(keyset *dst, const keyset *src)
{
    keyset_clear(dst);
    dst->n = src->n;
    for (int i = 0; i < src->n; i++)
        if (keyset_set(dst, i, &src->v[i]) < 0)
            return MIG_ENOMEM;
    return 0;
}

/*
 * The checkpoint's text: each value as a type letter, the length of its
 * text and ':' then the text (hex for bytes), so any key reads back
 * exactly as it was.
 */
static void keyset_encode(const keyset *k, mig_buf *out)
{
    mig_buf_clear(out);
    for (int i = 0; i < k->n; i++) {
        const mig_value *v = &k->v[i];
        char num[64];
        switch (v->type) {
        case MIG_VAL_INT:
            snprintf(num, sizeof num, "%lld", (long long)v->u.i);
            mig_buf_printf(out, "i%zu:%s", strlen(num), num);
            break;
        case MIG_VAL_FLOAT:
            snprintf(num, sizeof num, "%.17g", v->u.f);
            mig_buf_printf(out, "f%zu:%s", strlen(num), num);
            break;
        case MIG_VAL_BOOL:
            mig_buf_printf(out, "o1:%d", v->u.b ? 1 : 0);
            break;
        case MIG_VAL_TEXT:
            mig_buf_printf(out, "t%zu:", v->u.s.len);
            mig_buf_put(out, v->u.s.ptr, v->u.s.len);
            break;
        case MIG_VAL_BLOB:
            mig_buf_printf(out, "x%zu:", v->u.s.len * 2);
            for (size_t j = 0; j < v->u.s.len; j++)
                mig_buf_printf(out, "%02x", (unsigned char)v->u.s.ptr[j]);
            break;
        default:
            mig_buf_puts(out, "n0:");
        }
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* 0, -1 for text this file did not write, or MIG_ENOMEM. */
static int keyset_decode(keyset *k, const char *s, size_t len)
{
    keyset_clear(k);
    size_t p = 0;
    while (p < len) {
        if (k->n == MAX_KEYS)
            return -1;
        char t = s[p++];
        char *end = NULL;
        unsigned long long n = strtoull(s + p, &end, 10);
        if (end == s + p || *end != ':' || (size_t)(end - s) + 1 + n > len)
            return -1;
        p = (size_t)(end - s) + 1;
        char *text = malloc(n + 1);
        if (text == NULL)
            return MIG_ENOMEM;
        memcpy(text, s + p, n);
        text[n] = '\0';
        p += n;
        mig_value v;
        memset(&v, 0, sizeof v);
        int i = k->n++;
        switch (t) {
        case 'i':
            v.type = MIG_VAL_INT;
            v.u.i = strtoll(text, NULL, 10);
            break;
        case 'f':
            v.type = MIG_VAL_FLOAT;
            v.u.f = strtod(text, NULL);
            break;
        case 'o':
            v.type = MIG_VAL_BOOL;
            v.u.b = text[0] == '1';
            break;
        case 't':
            v.type = MIG_VAL_TEXT;
            v.u.s.ptr = text;
            v.u.s.len = n;
            k->buf[i] = text;
            k->v[i] = v;
            continue;
        case 'x': {
            size_t bl = n / 2;
            for (size_t j = 0; j < bl; j++) {
                int hi = hexval(text[2 * j]), lo = hexval(text[2 * j + 1]);
                if (hi < 0 || lo < 0) {
                    free(text);
                    return -1;
                }
                text[j] = (char)(hi * 16 + lo);
            }
            v.type = MIG_VAL_BLOB;
            v.u.s.ptr = text;
            v.u.s.len = bl;
            k->buf[i] = text;
            k->v[i] = v;
            continue;
        }
        case 'n':
            v.type = MIG_VAL_NULL;
            break;
        default:
            free(text);
            return -1;
        }
        free(text);
        k->v[i] = v;
    }
    return 0;
}

/* 4812000 as 4,812,000 */
static void put_grouped(mig_buf *b, long long x)
{
    char d[32];
    snprintf(d, sizeof d, "%lld", x < 0 ? -x : x);
    if (x < 0)
        mig_buf_putc(b, '-');
    size_t n = strlen(d);
    for (size_t i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            mig_buf_putc(b, ',');
        mig_buf_putc(b, d[i]);
    }
}

static void put_value(mig_buf *b, const mig_value *v)
{
    switch (v->type) {
    case MIG_VAL_INT:
        put_grouped(b, (long long)v->u.i);
        break;
    case MIG_VAL_FLOAT:
        mig_buf_printf(b, "%g", v->u.f);
        break;
    case MIG_VAL_BOOL:
        mig_buf_puts(b, v->u.b ? "true" : "false");
        break;
    case MIG_VAL_TEXT: {
        mig_buf_putc(b, '\'');
        size_t n = v->u.s.len > 60 ? 60 : v->u.s.len;
        /* never half a character: the text goes into a text column */
        while (n < v->u.s.len && n > 0 && ((unsigned char)v->u.s.ptr[n] & 0xC0) == 0x80)
            n--;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)v->u.s.ptr[i];
            mig_buf_putc(b, c < 0x20 || c == 0x7f ? '?' : (char)c);
        }
        mig_buf_puts(b, n < v->u.s.len ? "...'" : "'");
        break;
    }
    case MIG_VAL_BLOB:
        mig_buf_printf(b, "(%zu bytes)", v->u.s.len);
        break;
    default:
        mig_buf_puts(b, "NULL");
    }
}

/* "id 4,812,000", "(tenant_id, id) (3, 17)", "the start" */
static void key_shown(mig_buf *b, const char *const *names, const keyset *k)
{
    mig_buf_clear(b);
    if (k->n == 0) {
        mig_buf_puts(b, "the start");
        return;
    }
    if (k->n == 1) {
        mig_buf_printf(b, "%s ", names[0]);
        put_value(b, &k->v[0]);
        return;
    }
    mig_buf_putc(b, '(');
    for (int i = 0; i < k->n; i++)
        mig_buf_printf(b, "%s%s", i ? ", " : "", names[i]);
    mig_buf_puts(b, ") (");
    for (int i = 0; i < k->n; i++) {
        if (i)
            mig_buf_puts(b, ", ");
        put_value(b, &k->v[i]);
    }
    mig_buf_putc(b, ')');
}

/* ---- durations and sizes ---- */

/* "200ms", "5s", "2min", a bare number of seconds (as every duration mig reads): milliseconds, or -1. */
static double parse_ms(const char *s)
{
    long long ms;
    return mig_parse_duration_ms(s, strlen(s), &ms) == 0 ? (double)ms : -1;
}

/* "16MB", "512kB", "1GB", a bare number of bytes: bytes, or -1. */
static double parse_bytes(const char *s)
{
    char *end = NULL;
    double x = strtod(s, &end);
    if (end == s || !(x >= 0) || isinf(x))
        return -1;
    while (*end == ' ')
        end++;
    if (*end == '\0' || strcasecmp(end, "B") == 0)
        return x;
    if (strcasecmp(end, "kB") == 0)
        return x * 1024.0;
    if (strcasecmp(end, "MB") == 0)
        return x * 1024.0 * 1024.0;
    if (strcasecmp(end, "GB") == 0)
        return x * 1024.0 * 1024.0 * 1024.0;
    return -1;
}

/* ---- the state of one call ---- */

typedef struct backfill {
    mig_lua *lua;
    mig_ctx *ctx;
    mig_db *db;
    const char *name; /* borrowed from the options table, which outlives the call */
    const char *table;
    const char *where;
    const char *sql;
    const char *keys[MAX_KEYS];
    int nkeys;
    int each; /* stack index of the each function, or 0 */
    int64_t batch;
    double batch_time_ms, sleep_ms, max_rate, max_lag;
    int has_lag;
    /* malloc'ed, freed by the __gc */
    char *q_table, *q_keys, *q_state, *next_sql, *first_sql, *cas_sql;
    /* sql mode: the last key and the count of a short last batch */
    char *first_desc_sql, *next_desc_sql, *first_count_sql, *next_count_sql;
    keyset last, first, hi, lo;
    mig_buf enc_last, enc_hi, shown, tmp, tmp2;
    mig_db **replicas;
    char **replica_names;
    size_t nreplicas;
    int in_batch;
    /* the checkpoint */
    int64_t rows_done, total, batches, elapsed_ms;
} backfill;

static void bf_release(backfill *bf)
{
    free(bf->q_table);
    free(bf->q_keys);
    free(bf->q_state);
    free(bf->next_sql);
    free(bf->first_sql);
    free(bf->first_desc_sql);
    free(bf->next_desc_sql);
    free(bf->first_count_sql);
    free(bf->next_count_sql);
    bf->first_desc_sql = bf->next_desc_sql = bf->first_count_sql = bf->next_count_sql = NULL;
    free(bf->cas_sql);
    bf->q_table = bf->q_keys = bf->q_state = bf->next_sql = bf->first_sql = bf->cas_sql = NULL;
    keyset_clear(&bf->last);
    keyset_clear(&bf->first);
    keyset_clear(&bf->hi);
    keyset_clear(&bf->lo);
    mig_buf_release(&bf->enc_last);
    mig_buf_release(&bf->enc_hi);
    mig_buf_release(&bf->shown);
    mig_buf_release(&bf->tmp);
    mig_buf_release(&bf->tmp2);
    for (size_t i = 0; i < bf->nreplicas; i++) {
        mig_db_close(bf->replicas[i]);
        free(bf->replica_names[i]);
    }
    free(bf->replicas);
    free(bf->replica_names);
    bf->replicas = NULL;
    bf->replica_names = NULL;
    bf->nreplicas = 0;
}

static int bf_gc(lua_State *L)
{
    bf_release(luaL_checkudata(L, 1, BF_MT));
    return 0;
}

static void oom(lua_State *L, const void *p)
{
    if (p == NULL)
        luaL_error(L, "out of memory");
}

/* The rows of this backfill: version table, revision, name, direction. */
static void ident_params(backfill *bf, mig_value *p)
{
    const char *vt = NULL;
    mig_ctx_version_table(bf->ctx, &vt);
    p[0] = mig_value_text(vt);
    p[1] = mig_value_text(bf->lua->rev->id);
    p[2] = mig_value_text(bf->name);
    p[3] = mig_value_text(bf->lua->rev_upgrade ? "upgrade" : "downgrade");
}

/*
 * Leave the database as a stopped backfill should: the batch rolled back,
 * the checkpoint marked paused (best effort: the row is still right if
 * this fails), and the revision kept from
 * counting as applied.
 */
static void bf_stop_here(lua_State *L, backfill *bf)
{
    mig_error_state saved;
    mig_error_save(bf->ctx, &saved);
    if (bf->db->in_txn)
        mig_db_rollback(bf->db, bf->ctx);
    if (!bf->db->broken && bf->q_state) {
        char *sql = mig_aprintf("UPDATE %s SET state = 'paused' WHERE version_table = ? AND revision = ? "
                                "AND name = ? AND direction = ? AND batches = ? AND state = 'running'",
                                bf->q_state);
        if (sql) {
            mig_value p[5];
            ident_params(bf, p);
            p[4] = mig_value_int(bf->batches);
            mig_db_exec_params(bf->db, bf->ctx, sql, p, 5, NULL, NULL);
            free(sql);
        }
    }
    mig_error_restore(bf->ctx, &saved);
    if (bf->lua->bf_unfinished == NULL)
        bf->lua->bf_unfinished = mig_strdup(bf->name);
    (void)L;
}

/* Stop and raise "db:backfill NAME: ..." */
static int bf_raise(lua_State *L, backfill *bf, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bf_raise(lua_State *L, backfill *bf, const char *fmt, ...)
{
    bf_stop_here(L, bf);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return luaL_error(L, "db:backfill %s: %s", bf->name, msg);
}

/* A database error: stopped, with the statement and the server's words kept. */
static int bf_raise_db(lua_State *L, backfill *bf, const char *sql)
{
    bf_stop_here(L, bf); /* keeps the error */
    char what[300];
    snprintf(what, sizeof what, "backfill %s", bf->name);
    return mig_lua_db_raise(L, bf->lua, what, sql);
}

/* ---- options ---- */

static const char *opt_string(lua_State *L, backfill *bf, const char *key, int required)
{
    int t = lua_getfield(L, 2, key);
    const char *s = NULL;
    if (t == LUA_TSTRING) {
        s = lua_tostring(L, -1);
        if (strlen(s) != lua_rawlen(L, -1))
            luaL_error(L, "db:backfill: option %s holds a NUL byte", key);
    } else if (t != LUA_TNIL) {
        luaL_error(L, "db:backfill: option %s must be a string, not a %s", key, luaL_typename(L, -1));
    } else if (required) {
        luaL_error(L, "db:backfill: option %s is required", key);
    }
    (void)bf;
    lua_pop(L, 1); /* the options table keeps the string alive */
    return s;
}

/* A number, or a string with a unit read by parse (NULL: numbers only). -1 when absent. */
static double opt_amount(lua_State *L, const char *key, double (*parse)(const char *), double scale,
                         const char *example)
{
    int t = lua_getfield(L, 2, key);
    double x = -1;
    if (t == LUA_TNUMBER) {
        x = lua_tonumber(L, -1) * scale;
        if (!(x >= 0) || isinf(x))
            luaL_error(L, "db:backfill: option %s must be 0 or more", key);
    } else if (t == LUA_TSTRING && parse) {
        x = parse(lua_tostring(L, -1));
        if (x < 0)
            luaL_error(L, "db:backfill: option %s: '%s' is not %s", key, lua_tostring(L, -1), example);
    } else if (t != LUA_TNIL) {
        luaL_error(L, "db:backfill: option %s must be %s, not a %s", key, example, luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    return x;
}

static void read_options(lua_State *L, backfill *bf)
{
    static const char *const known[] = { "table", "key",   "batch",    "batch_time", "where", "sql",
                                         "each",  "sleep", "max_rate", "max_lag",    "name",  NULL };
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        lua_pop(L, 1);
        const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        int ok = 0;
        for (int i = 0; k && known[i]; i++)
            ok |= strcmp(k, known[i]) == 0;
        if (!ok)
            luaL_error(L,
                       "db:backfill: unknown option %s (known: table, key, batch, batch_time, where, "
                       "sql, each, sleep, max_rate, max_lag, name)",
                       k ? k : luaL_tolstring(L, -1, NULL));
    }
    bf->table = opt_string(L, bf, "table", 1);
    bf->where = opt_string(L, bf, "where", 0);
    bf->sql = opt_string(L, bf, "sql", 0);
    bf->name = opt_string(L, bf, "name", 0);
    if (bf->name == NULL)
        bf->name = bf->table;
    if (*bf->name == '\0' || strlen(bf->name) > 128)
        luaL_error(L, "db:backfill: name must be 1 to 128 bytes");
    int t = lua_getfield(L, 2, "key");
    if (t == LUA_TNIL) {
        bf->keys[0] = "id";
        bf->nkeys = 1;
    } else if (t == LUA_TSTRING) {
        bf->keys[0] = lua_tostring(L, -1);
        bf->nkeys = 1;
    } else if (t == LUA_TTABLE) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
        if (n < 1 || n > MAX_KEYS)
            luaL_error(L, "db:backfill: option key must list 1 to %d columns", MAX_KEYS);
        for (lua_Integer i = 1; i <= n; i++) {
            if (lua_rawgeti(L, -1, i) != LUA_TSTRING)
                luaL_error(L, "db:backfill: option key must be a column name or a list of them");
            bf->keys[bf->nkeys++] = lua_tostring(L, -1);
            lua_pop(L, 1);
        }
    } else {
        luaL_error(L, "db:backfill: option key must be a column name or a list of them, not a %s",
                   luaL_typename(L, -1));
    }
    lua_pop(L, 1); /* the table keeps the names */
    for (int i = 0; i < bf->nkeys; i++)
        if (*bf->keys[i] == '\0')
            luaL_error(L, "db:backfill: option key: empty column name");
    t = lua_getfield(L, 2, "each");
    if (t == LUA_TFUNCTION)
        bf->each = lua_gettop(L); /* stays on the stack for the call */
    else if (t != LUA_TNIL)
        luaL_error(L, "db:backfill: option each must be a function, not a %s", luaL_typename(L, -1));
    else
        lua_pop(L, 1);
    if ((bf->sql == NULL) == (bf->each == 0))
        luaL_error(L,
                   "db:backfill: give exactly one of sql (SQL run per batch) and each (a function per batch)");
    double b = opt_amount(L, "batch", NULL, 1, "a number of rows");
    bf->batch_time_ms = opt_amount(L, "batch_time", parse_ms, 1000, "a duration such as \"200ms\"");
    if (b >= 0 && bf->batch_time_ms >= 0)
        luaL_error(L,
                   "db:backfill: give batch (rows) or batch_time (a duration to adapt the size to), not both");
    if (b >= 0 && (b < 1 || b > MAX_BATCH || b != floor(b)))
        luaL_error(L, "db:backfill: option batch must be a whole number from 1 to %d", MAX_BATCH);
    if (bf->batch_time_ms == 0)
        luaL_error(L, "db:backfill: option batch_time must be more than 0");
    bf->batch = b >= 0 ? (int64_t)b : bf->batch_time_ms > 0 ? 100 : 1000;
    bf->sleep_ms = opt_amount(L, "sleep", parse_ms, 1000, "a duration such as \"50ms\"");
    bf->max_rate = opt_amount(L, "max_rate", NULL, 1, "a number of rows per second");
    if (bf->max_rate == 0)
        luaL_error(L, "db:backfill: option max_rate must be more than 0");
    /* max_lag: bytes of WAL on postgres, seconds on mysql */
    if (strcmp(bf->db->plugin->driver->name, "postgres") == 0)
        bf->max_lag = opt_amount(L, "max_lag", parse_bytes, 1, "a size such as \"16MB\"");
    else
        bf->max_lag = opt_amount(L, "max_lag", parse_ms, 1000, "a duration such as \"5s\"") / 1000.0;
    bf->has_lag = bf->max_lag >= 0;
}

/* ---- SQL ---- */

static char *quote(lua_State *L, backfill *bf, const char *name)
{
    char *q = mig_plugin_quote_ident(bf->db->plugin, name);
    oom(L, q);
    return q;
}

/* The table may be schema-qualified: quote each part. */
static char *quote_table(lua_State *L, backfill *bf, const char *name)
{
    mig_buf b = MIG_BUF_INIT;
    const char *p = name;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char *part = mig_strndup(p, n);
        char *q = part ? mig_plugin_quote_ident(bf->db->plugin, part) : NULL;
        free(part);
        if (q == NULL) {
            mig_buf_release(&b);
            luaL_error(L, "out of memory");
        }
        mig_buf_puts(&b, q);
        free(q);
        if (!dot)
            break;
        mig_buf_putc(&b, '.');
        p = dot + 1;
    }
    char *s = mig_buf_detach(&b);
    oom(L, s);
    return s;
}

/*
 * WHERE text for "key after the checkpoint": a row comparison where the
 * database plans it as a range (postgres, sqlite), else spelled out.
 * Its parameters come from after_params.
 */
static void put_after(backfill *bf, mig_buf *b, char *const *qk)
{
    const char *plugin = bf->db->plugin->driver->name;
    if (bf->nkeys == 1) {
        mig_buf_printf(b, "%s > ?", qk[0]);
    } else if (strcmp(plugin, "postgres") == 0 || strcmp(plugin, "sqlite") == 0) {
        mig_buf_putc(b, '(');
        for (int i = 0; i < bf->nkeys; i++)
            mig_buf_printf(b, "%s%s", i ? ", " : "", qk[i]);
        mig_buf_puts(b, ") > (");
        for (int i = 0; i < bf->nkeys; i++)
            mig_buf_puts(b, i ? ", ?" : "?");
        mig_buf_putc(b, ')');
    } else {
        mig_buf_putc(b, '(');
        for (int i = 0; i < bf->nkeys; i++) {
            mig_buf_puts(b, i ? " OR (" : "(");
            for (int j = 0; j < i; j++)
                mig_buf_printf(b, "%s = ? AND ", qk[j]);
            mig_buf_printf(b, "%s > ?)", qk[i]);
        }
        mig_buf_putc(b, ')');
    }
}

static int after_params(backfill *bf, const keyset *k, mig_value *out)
{
    const char *plugin = bf->db->plugin->driver->name;
    int n = 0;
    if (bf->nkeys == 1 || strcmp(plugin, "postgres") == 0 || strcmp(plugin, "sqlite") == 0) {
        for (int i = 0; i < bf->nkeys; i++)
            out[n++] = k->v[i];
    } else {
        for (int i = 0; i < bf->nkeys; i++)
            for (int j = 0; j <= i; j++)
                out[n++] = k->v[j];
    }
    return n;
}

static void build_sql(lua_State *L, backfill *bf)
{
    char *qk[MAX_KEYS];
    memset(qk, 0, sizeof qk);
    mig_buf keys = MIG_BUF_INIT;
    for (int i = 0; i < bf->nkeys; i++) {
        qk[i] = mig_plugin_quote_ident(bf->db->plugin, bf->keys[i]);
        if (qk[i])
            mig_buf_printf(&keys, "%s%s", i ? ", " : "", qk[i]);
    }
    bf->q_table = quote_table(L, bf, bf->table);
    bf->q_state = quote(L, bf, MIG_BACKFILL_TABLE);
    const char *cols = bf->each ? "*" : mig_buf_cstr(&keys);
    mig_buf desc = MIG_BUF_INIT;
    for (int i = 0; i < bf->nkeys; i++)
        mig_buf_printf(&desc, "%s%s DESC", i ? ", " : "", qk[i] ? qk[i] : "");
    mig_buf w = MIG_BUF_INIT;
    /* pass 0, 1: the batch (from the start, after a key); 2, 3: its last key; 4, 5: its rows counted */
    for (int pass = 0; pass < 6; pass++) {
        mig_buf_clear(&w);
        if (pass < 4)
            mig_buf_printf(&w, "SELECT %s FROM %s", pass < 2 ? cols : mig_buf_cstr(&keys), bf->q_table);
        else
            mig_buf_printf(&w, "SELECT count(*) FROM %s", bf->q_table);
        if (pass % 2 == 1) {
            mig_buf_puts(&w, " WHERE ");
            put_after(bf, &w, qk);
        }
        if (bf->where)
            mig_buf_printf(&w, " %s (%s)", pass % 2 == 1 ? "AND" : "WHERE", bf->where);
        if (pass < 2)
            mig_buf_printf(&w, " ORDER BY %s LIMIT ", mig_buf_cstr(&keys));
        else if (pass < 4)
            mig_buf_printf(&w, " ORDER BY %s LIMIT 1", mig_buf_cstr(&desc));
        char *s = mig_strdup(mig_buf_cstr(&w));
        char **slot[] = { &bf->first_sql,     &bf->next_sql,        &bf->first_desc_sql,
                          &bf->next_desc_sql, &bf->first_count_sql, &bf->next_count_sql };
        *slot[pass] = s;
        if (s == NULL)
            bf->first_sql = NULL; /* reported below */
    }
    mig_buf_release(&desc);
    bf->q_keys = mig_buf_detach(&keys);
    bf->cas_sql = mig_aprintf("UPDATE %s SET last_key = ?, position = ?, rows_done = rows_done + ?, "
                              "batches = batches + 1, elapsed_ms = ?, updated_at = ?, state = 'running' "
                              "WHERE version_table = ? AND revision = ? AND name = ? AND direction = ? "
                              "AND batches = ? AND last_key = ?",
                              bf->q_state);
    int bad = 0;
    for (int i = 0; i < bf->nkeys; i++) {
        bad |= qk[i] == NULL;
        free(qk[i]);
    }
    mig_buf_release(&w);
    if (bad || !bf->first_sql || !bf->next_sql || !bf->first_desc_sql || !bf->next_desc_sql ||
        !bf->first_count_sql || !bf->next_count_sql || !bf->q_keys || !bf->cas_sql)
        luaL_error(L, "out of memory");
}

/* Where is column `name` in row? -1 if absent. */
static int column_of(const mig_row *row, const char *name)
{
    for (int i = 0; i < row->ncols; i++)
        if (row->names[i] && strcmp(row->names[i], name) == 0)
            return i;
    for (int i = 0; i < row->ncols; i++)
        if (row->names[i] && strcasecmp(row->names[i], name) == 0)
            return i;
    return -1;
}

/*
 * A key just below the first one, as the batch's exclusive lower bound
 * when there is no checkpoint yet: nothing of the walk lies between it and
 * the first key, since the first key is the smallest.
 */
static void below(lua_State *L, backfill *bf, const keyset *first, keyset *out)
{
    if (keyset_copy(out, first) < 0)
        bf_raise(L, bf, "out of memory");
    mig_value *v = &out->v[out->n - 1];
    switch (v->type) {
    case MIG_VAL_INT:
        if (v->u.i == INT64_MIN)
            bf_raise(L, bf, "the smallest key is the smallest integer: no bound lies below it");
        v->u.i--;
        break;
    case MIG_VAL_FLOAT:
        v->u.f = nextafter(v->u.f, -INFINITY);
        break;
    case MIG_VAL_TEXT:
    case MIG_VAL_BLOB:
        if (v->u.s.len == 0)
            bf_raise(L, bf, "the smallest key is an empty string: no bound lies below it");
        v->u.s.len = 0;
        break;
    case MIG_VAL_BOOL:
        if (!v->u.b)
            bf_raise(L, bf, "the smallest key is false: no bound lies below it");
        v->u.b = 0;
        break;
    default:
        bf_raise(L, bf, "a key column is NULL: the key must be unique and NOT NULL");
    }
}

/* ---- the checkpoint ---- */

static void create_state_table(lua_State *L, backfill *bf)
{
    const mig_dialect *d = bf->db->plugin->driver->dialect;
    char *sql = mig_aprintf("CREATE TABLE IF NOT EXISTS %s (version_table VARCHAR(64) NOT NULL, "
                            "revision VARCHAR(64) NOT NULL, name VARCHAR(128) NOT NULL, "
                            "direction VARCHAR(16) NOT NULL, state VARCHAR(16) NOT NULL, "
                            "last_key %s NOT NULL, position VARCHAR(255), rows_done BIGINT NOT NULL, "
                            "rows_total BIGINT, batches BIGINT NOT NULL, elapsed_ms BIGINT NOT NULL, "
                            "checksum VARCHAR(64), started_at VARCHAR(40) NOT NULL, "
                            "updated_at VARCHAR(40) NOT NULL, "
                            "PRIMARY KEY (version_table, revision, name, direction))",
                            bf->q_state, d->text_type);
    oom(L, sql);
    int exists = 0;
    int rc = mig_db_table_exists(bf->db, bf->ctx, MIG_BACKFILL_TABLE, &exists);
    if (rc == 0 && !exists)
        rc = mig_db_exec(bf->db, bf->ctx, sql, strlen(sql), NULL, NULL);
    if (rc) {
        mig_buf_clear(&bf->tmp);
        mig_buf_puts(&bf->tmp, sql);
        free(sql);
        mig_lua_db_raise(L, bf->lua, "backfill", mig_buf_cstr(&bf->tmp));
    }
    free(sql);
}

static int64_t row_int(const mig_row *row, int i)
{
    if (i >= row->ncols)
        return 0;
    const mig_value *v = &row->values[i];
    if (v->type == MIG_VAL_INT)
        return v->u.i;
    if (v->type == MIG_VAL_FLOAT)
        return (int64_t)v->u.f;
    if (v->type == MIG_VAL_TEXT || v->type == MIG_VAL_BLOB) {
        char tmp[32];
        size_t n = v->u.s.len < sizeof tmp - 1 ? v->u.s.len : sizeof tmp - 1;
        memcpy(tmp, v->u.s.ptr, n);
        tmp[n] = '\0';
        return strtoll(tmp, NULL, 10);
    }
    return -1;
}

static int row_text_is(const mig_row *row, int i, const char *s)
{
    if (i >= row->ncols)
        return 0;
    const mig_value *v = &row->values[i];
    return (v->type == MIG_VAL_TEXT || v->type == MIG_VAL_BLOB) && v->u.s.len == strlen(s) &&
           memcmp(v->u.s.ptr, s, v->u.s.len) == 0;
}

/* An estimate of the rows still to walk after the checkpoint. -1: unknown. */
static int64_t estimate_left(backfill *bf)
{
    const char *plugin = bf->db->plugin->driver->name;
    char *sql = NULL;
    mig_value p[MAX_KEYS];
    int np = 0;
    if (bf->nkeys == 1 && (bf->last.n == 0 || bf->last.v[0].type == MIG_VAL_INT)) {
        /* an integer key: its range, taken as dense */
        sql = mig_aprintf("SELECT min(%s), max(%s) FROM %s", bf->q_keys, bf->q_keys, bf->q_table);
    } else if (strcmp(plugin, "postgres") == 0) {
        sql = mig_strdup("SELECT reltuples::bigint, 0 FROM pg_class WHERE oid = to_regclass(?)");
        p[np++] = mig_value_text(bf->q_table);
    } else if (strcmp(plugin, "mysql") == 0) {
        sql = mig_strdup("SELECT TABLE_ROWS, 0 FROM information_schema.TABLES "
                         "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?");
        p[np++] = mig_value_text(bf->table);
    } else {
        sql = mig_aprintf("SELECT count(*), 0 FROM %s", bf->q_table);
    }
    if (sql == NULL)
        return -1;
    int64_t est = -1;
    mig_cursor *cur = NULL;
    int rc = mig_db_query(&cur, bf->db, bf->ctx, sql, p, np);
    if (rc == 0) {
        const mig_row *row = NULL;
        if (mig_db_fetch(cur, bf->db, bf->ctx, &row) == 0 && row && row->ncols >= 2 &&
            row->values[0].type != MIG_VAL_NULL) {
            int64_t a = row_int(row, 0), b = row_int(row, 1);
            if (bf->nkeys == 1 && (bf->last.n == 0 || bf->last.v[0].type == MIG_VAL_INT) &&
                row->values[0].type == MIG_VAL_INT) {
                int64_t from = bf->last.n ? bf->last.v[0].u.i : a - 1;
                est = b > from ? b - from : 0;
            } else {
                est = a > bf->rows_done ? a - bf->rows_done : 0;
            }
        }
        mig_db_cursor_close(bf->db, cur);
    }
    free(sql);
    mig_error_clear(bf->ctx);
    return est;
}

/*
 * Find this backfill's checkpoint, or write a new one. 1: it has finished
 * already; 0: go on from bf->last.
 */
static int load_checkpoint(lua_State *L, backfill *bf)
{
    char *sql =
        mig_aprintf("SELECT state, last_key, rows_done, rows_total, batches, elapsed_ms, checksum, position "
                    "FROM %s WHERE version_table = ? AND revision = ? AND name = ? AND direction = ?",
                    bf->q_state);
    oom(L, sql);
    mig_value p[4];
    ident_params(bf, p);
    mig_cursor *cur = NULL;
    int rc = mig_db_query(&cur, bf->db, bf->ctx, sql, p, 4);
    free(sql);
    if (rc)
        return mig_lua_db_raise(L, bf->lua, "backfill", "(reading its checkpoint)");
    const mig_row *row = NULL;
    rc = mig_db_fetch(cur, bf->db, bf->ctx, &row);
    int found = rc == 0 && row != NULL;
    int finished = 0, same_file = 1;
    if (found) {
        finished = row_text_is(row, 0, "finished");
        const mig_value *k = &row->values[1];
        if (k->type == MIG_VAL_TEXT || k->type == MIG_VAL_BLOB) {
            mig_buf_clear(&bf->enc_last);
            mig_buf_put(&bf->enc_last, k->u.s.ptr, k->u.s.len);
        }
        bf->rows_done = row_int(row, 2);
        bf->total = row->values[3].type == MIG_VAL_NULL ? -1 : row_int(row, 3);
        bf->batches = row_int(row, 4);
        bf->elapsed_ms = row_int(row, 5);
        same_file = row->values[6].type == MIG_VAL_NULL || row_text_is(row, 6, bf->lua->rev_checksum);
    }
    mig_db_cursor_close(bf->db, cur);
    if (rc)
        return mig_lua_db_raise(L, bf->lua, "backfill", "(reading its checkpoint)");
    int drc = found ? keyset_decode(&bf->last, mig_buf_cstr(&bf->enc_last), bf->enc_last.len) : 0;
    if (drc == MIG_ENOMEM)
        return bf_raise(L, bf, "out of memory");
    if (drc < 0)
        return luaL_error(L,
                          "db:backfill %s: its checkpoint in %s cannot be read; `mig backfill reset %s` "
                          "starts it over",
                          bf->name, MIG_BACKFILL_TABLE, bf->lua->rev->id);
    if (found && bf->last.n && bf->last.n != bf->nkeys)
        return luaL_error(L,
                          "db:backfill %s: its checkpoint has a key of %d column(s), the call names %d; "
                          "`mig backfill reset %s` starts it over",
                          bf->name, bf->last.n, bf->nkeys, bf->lua->rev->id);
    if (finished)
        return 1;
    key_shown(&bf->shown, bf->keys, &bf->last);
    if (found && !same_file)
        return luaL_error(L,
                          "db:backfill %s: %s changed since this backfill started (it stopped at %s); "
                          "run `mig backfill reset %s` to start it over",
                          bf->name, bf->lua->rev->path, mig_buf_cstr(&bf->shown), bf->lua->rev->id);
    char now[40];
    mig_state_now(NULL, now);
    if (found) {
        if (bf->total < 0 || bf->total < bf->rows_done) {
            int64_t left = estimate_left(bf);
            bf->total = left < 0 ? -1 : bf->rows_done + left;
        }
        int pct = bf->total > 0 ? (int)(100.0 * (double)bf->rows_done / (double)bf->total) : 0;
        mig_log(bf->ctx, MIG_LOG_INFO, "resuming backfill %s of %s at %s: %d %% done", bf->name,
                bf->lua->rev->id, mig_buf_cstr(&bf->shown), pct > 100 ? 100 : pct);
        sql = mig_aprintf("UPDATE %s SET state = 'running', updated_at = ? WHERE version_table = ? "
                          "AND revision = ? AND name = ? AND direction = ?",
                          bf->q_state);
        oom(L, sql);
        mig_value u[5];
        u[0] = mig_value_text(now);
        ident_params(bf, u + 1);
        rc = mig_db_exec_params(bf->db, bf->ctx, sql, u, 5, NULL, NULL);
    } else {
        bf->total = estimate_left(bf);
        mig_buf_clear(&bf->enc_last);
        sql = mig_aprintf("INSERT INTO %s (version_table, revision, name, direction, state, last_key, "
                          "position, rows_done, rows_total, batches, elapsed_ms, checksum, started_at, updated_at) "
                          "VALUES (?, ?, ?, ?, 'running', '', NULL, 0, ?, 0, 0, ?, ?, ?)",
                          bf->q_state);
        oom(L, sql);
        mig_value u[8];
        ident_params(bf, u);
        u[4] = bf->total < 0 ? mig_value_text(NULL) : mig_value_int(bf->total);
        u[5] = mig_value_text(bf->lua->rev_checksum[0] ? bf->lua->rev_checksum : NULL);
        u[6] = mig_value_text(now);
        u[7] = mig_value_text(now);
        rc = mig_db_exec_params(bf->db, bf->ctx, sql, u, 8, NULL, NULL);
    }
    if (rc) {
        mig_buf_clear(&bf->tmp);
        mig_buf_puts(&bf->tmp, sql);
        free(sql);
        return mig_lua_db_raise(L, bf->lua, "backfill", mig_buf_cstr(&bf->tmp));
    }
    free(sql);
    return 0;
}

/* ---- throttling ---- */

/* Sleep ms in slices, stopping early at Ctrl-C (mig_cancel). */
static void nap(mig_ctx *ctx, double ms)
{
    while (ms > 0 && !mig_cancel_level(ctx)) {
        double slice = ms > 50 ? 50 : ms;
        struct timespec ts = { (time_t)(slice / 1000), (long)(fmod(slice, 1000.0) * 1e6) };
        nanosleep(&ts, NULL);
        ms -= slice;
    }
}

static void connect_replicas(lua_State *L, backfill *bf)
{
    char *list = NULL;
    if (bf->ctx->cfg == NULL || mig_config_get(bf->ctx->cfg, bf->ctx, "backfill", "replicas", &list) != 0) {
        mig_buf_clear(&bf->tmp);
        mig_buf_puts(&bf->tmp, mig_last_error(bf->ctx)->message);
        free(list);
        luaL_error(L, "db:backfill %s: %s", bf->name, mig_buf_cstr(&bf->tmp));
    }
    if (list == NULL || *list == '\0') {
        mig_log(bf->ctx, MIG_LOG_VERBOSE,
                "backfill %s: max_lag, but no [backfill] replicas: not throttled", bf->name);
        free(list);
        bf->has_lag = 0;
        return;
    }
    const char *plugin = bf->db->plugin->driver->name;
    if (strcmp(plugin, "postgres") != 0 && strcmp(plugin, "mysql") != 0) {
        free(list);
        luaL_error(L, "db:backfill %s: max_lag reads replicas of postgres or mysql, not %s", bf->name,
                   plugin);
    }
    for (char *p = list; p && *p;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        char *e = p + strlen(p);
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        if (*p) {
            mig_db **nr = realloc(bf->replicas, (bf->nreplicas + 1) * sizeof *nr);
            char **nn = nr ? realloc(bf->replica_names, (bf->nreplicas + 1) * sizeof *nn) : NULL;
            if (nr)
                bf->replicas = nr;
            if (nn)
                bf->replica_names = nn;
            if (nr == NULL || nn == NULL) {
                free(list);
                luaL_error(L, "out of memory");
            }
            mig_db *rdb = NULL;
            if (mig_db_connect(&rdb, bf->ctx, bf->db->plugin, p, NULL) != 0) {
                mig_buf_clear(&bf->tmp);
                mig_buf_puts(&bf->tmp, mig_last_error(bf->ctx)->message);
                free(list);
                luaL_error(L, "db:backfill %s: [backfill] replicas: %s", bf->name, mig_buf_cstr(&bf->tmp));
            }
            bf->replicas[bf->nreplicas] = rdb;
            bf->replica_names[bf->nreplicas] = mig_strdup(rdb->url_masked ? rdb->url_masked : "replica");
            bf->nreplicas++;
        }
        p = comma ? comma + 1 : NULL;
    }
    free(list);
}

/* One replica's lag: bytes of WAL (postgres) or seconds (mysql); -1 when it does not replicate. */
static int replica_lag(backfill *bf, size_t i, double *lag)
{
    mig_db *r = bf->replicas[i];
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    int rc;
    *lag = -1;
    if (strcmp(bf->db->plugin->driver->name, "postgres") == 0) {
        char lsn[64] = "";
        rc = mig_db_query(&cur, bf->db, bf->ctx, "SELECT pg_current_wal_lsn()::text", NULL, 0);
        if (rc == 0 && (rc = mig_db_fetch(cur, bf->db, bf->ctx, &row)) == 0 && row &&
            row->values[0].type == MIG_VAL_TEXT && row->values[0].u.s.len < sizeof lsn) {
            memcpy(lsn, row->values[0].u.s.ptr, row->values[0].u.s.len);
            lsn[row->values[0].u.s.len] = '\0';
        }
        mig_db_cursor_close(bf->db, cur);
        cur = NULL;
        if (rc)
            return rc;
        mig_value p = mig_value_text(lsn);
        rc = mig_db_query(&cur, r, bf->ctx,
                          "SELECT pg_wal_lsn_diff(?::pg_lsn, pg_last_wal_replay_lsn())::bigint", &p, 1);
        if (rc == 0 && (rc = mig_db_fetch(cur, r, bf->ctx, &row)) == 0 && row &&
            row->values[0].type != MIG_VAL_NULL)
            *lag = (double)row_int(row, 0);
    } else {
        rc = mig_db_query(&cur, r, bf->ctx, "SHOW SLAVE STATUS", NULL, 0);
        if (rc == 0 && (rc = mig_db_fetch(cur, r, bf->ctx, &row)) == 0 && row) {
            int c = column_of(row, "Seconds_Behind_Master");
            if (c >= 0 && row->values[c].type != MIG_VAL_NULL)
                *lag = (double)row_int(row, c);
        }
    }
    mig_db_cursor_close(r, cur);
    return rc;
}

/* Wait while a replica lags more than max_lag. */
static void wait_for_replicas(lua_State *L, backfill *bf)
{
    int pg = strcmp(bf->db->plugin->driver->name, "postgres") == 0;
    for (size_t i = 0; i < bf->nreplicas && !mig_cancel_level(bf->ctx); i++) {
        double said = 0;
        for (;;) {
            double lag = -1;
            if (replica_lag(bf, i, &lag) != 0)
                bf_raise_db(L, bf, pg ? "(reading the replica's replay position)" : "SHOW SLAVE STATUS");
            if (lag >= 0 && lag <= bf->max_lag)
                break;
            double now = mig_now_ms();
            if (now - said >= 5000) {
                said = now;
                mig_buf_clear(&bf->tmp);
                if (lag < 0)
                    mig_buf_puts(&bf->tmp, "it does not replay (replication stopped?)");
                else if (pg)
                    mig_buf_printf(&bf->tmp, "%.0f bytes of WAL behind, more than max_lag %.0f", lag,
                                   bf->max_lag);
                else
                    mig_buf_printf(&bf->tmp, "%.0f s behind, more than max_lag %g s", lag, bf->max_lag);
                mig_log(bf->ctx, MIG_LOG_INFO, "backfill %s: waiting for replica %s: %s", bf->name,
                        bf->replica_names[i], mig_buf_cstr(&bf->tmp));
            }
            nap(bf->ctx, 200);
            if (mig_cancel_level(bf->ctx))
                break;
        }
    }
}

/* ---- the walk ---- */

static void copy_row_key(lua_State *L, backfill *bf, const mig_row *row, int *cols, keyset *into)
{
    into->n = bf->nkeys;
    for (int i = 0; i < bf->nkeys; i++)
        if (keyset_set(into, i, &row->values[cols[i]]) < 0)
            bf_raise(L, bf, "out of memory");
}

/*
 * One row of keys from sql (parameters p) into into: 1, or 0 when the
 * query found none. count: the first column is a count, into *count.
 */
static int one_row(lua_State *L, backfill *bf, const char *sql, const mig_value *p, int np, keyset *into,
                   int64_t *count)
{
    mig_cursor *cur = NULL;
    if (mig_db_query(&cur, bf->db, bf->ctx, sql, p, np) != 0) {
        mig_buf_clear(&bf->tmp);
        mig_buf_puts(&bf->tmp, sql);
        return bf_raise_db(L, bf, mig_buf_cstr(&bf->tmp));
    }
    const mig_row *row = NULL;
    if (mig_db_fetch(cur, bf->db, bf->ctx, &row) != 0) {
        mig_db_cursor_close(bf->db, cur);
        mig_buf_clear(&bf->tmp);
        mig_buf_puts(&bf->tmp, sql);
        return bf_raise_db(L, bf, mig_buf_cstr(&bf->tmp));
    }
    int found = row != NULL;
    if (row && count) {
        *count = row_int(row, 0);
    } else if (row) {
        for (int i = 0; i < bf->nkeys && i < row->ncols; i++)
            if (row->values[i].type == MIG_VAL_NULL) {
                mig_db_cursor_close(bf->db, cur);
                return bf_raise(L, bf,
                                "key column %s is NULL in a row: the key must be unique and NOT NULL",
                                bf->keys[i]);
            }
        into->n = bf->nkeys;
        for (int i = 0; i < bf->nkeys && i < row->ncols; i++)
            if (keyset_set(into, i, &row->values[i]) < 0) {
                mig_db_cursor_close(bf->db, cur);
                return bf_raise(L, bf, "out of memory");
            }
    }
    mig_db_cursor_close(bf->db, cur);
    return found;
}

/*
 * An sql batch's bounds without reading its keys: its last key is the
 * batch-th after the checkpoint (OFFSET on the key's index); when there is
 * none, the batch is the last, up to the greatest key, and its rows are
 * counted. *n: the rows in the batch (0: nothing left).
 */
static void sql_bounds(lua_State *L, backfill *bf, const mig_value *p, int np, int64_t *n)
{
    int after = bf->last.n > 0;
    char *sql;
    if (!after) {
        /* the smallest key, for the first batch's lower bound */
        sql = mig_aprintf("%s1", bf->first_sql);
        oom(L, sql);
        mig_buf_clear(&bf->tmp2);
        mig_buf_puts(&bf->tmp2, sql);
        free(sql);
        if (!one_row(L, bf, mig_buf_cstr(&bf->tmp2), NULL, 0, &bf->first, NULL)) {
            *n = 0;
            return;
        }
    }
    sql = mig_aprintf("%s1 OFFSET %lld", after ? bf->next_sql : bf->first_sql, (long long)bf->batch - 1);
    oom(L, sql);
    mig_buf_clear(&bf->tmp2);
    mig_buf_puts(&bf->tmp2, sql);
    free(sql);
    if (one_row(L, bf, mig_buf_cstr(&bf->tmp2), p, np, &bf->hi, NULL)) {
        *n = bf->batch;
        return;
    }
    if (!one_row(L, bf, after ? bf->next_desc_sql : bf->first_desc_sql, p, np, &bf->hi, NULL)) {
        *n = 0;
        return;
    }
    one_row(L, bf, after ? bf->next_count_sql : bf->first_count_sql, p, np, NULL, n);
}

/* One batch. 0: done one; 1: nothing left. */
/*
 * The batch's rows, in key order, into a new table on the stack (for
 * each); bf->hi (and bf->first on the first batch) take the last (first)
 * row's key. The number of rows; a failure raises.
 */
static int64_t fetch_rows(lua_State *L, backfill *bf, const mig_value *p, int np)
{
    mig_ctx *ctx = bf->ctx;
    int64_t n = 0;
    char *sql = mig_aprintf("%s%lld", bf->last.n ? bf->next_sql : bf->first_sql, (long long)bf->batch);
    oom(L, sql);
    mig_buf_clear(&bf->tmp);
    mig_buf_puts(&bf->tmp, sql);
    free(sql);
    sql = NULL;
    mig_cursor *cur = NULL;
    if (mig_db_query(&cur, bf->db, ctx, mig_buf_cstr(&bf->tmp), p, np) != 0)
        return bf_raise_db(L, bf, mig_buf_cstr(&bf->tmp));
    lua_createtable(L, (int)(bf->batch < 4096 ? bf->batch : 4096), 0);
    int rows_idx = lua_gettop(L);
    int cols[MAX_KEYS];
    for (;;) {
        const mig_row *row = NULL;
        if (mig_db_fetch(cur, bf->db, ctx, &row) != 0) {
            mig_db_cursor_close(bf->db, cur);
            return bf_raise_db(L, bf, mig_buf_cstr(&bf->tmp));
        }
        if (row == NULL)
            break;
        if (n == 0) {
            for (int i = 0; i < bf->nkeys; i++) {
                cols[i] = column_of(row, bf->keys[i]);
                if (cols[i] < 0) {
                    mig_db_cursor_close(bf->db, cur);
                    return bf_raise(L, bf, "table %s has no key column %s", bf->table, bf->keys[i]);
                }
            }
            if (bf->last.n == 0)
                copy_row_key(L, bf, row, cols, &bf->first);
        }
        for (int i = 0; i < bf->nkeys; i++)
            if (row->values[cols[i]].type == MIG_VAL_NULL) {
                mig_db_cursor_close(bf->db, cur);
                return bf_raise(L, bf,
                                "key column %s is NULL in a row: the key must be unique and NOT NULL",
                                bf->keys[i]);
            }
        copy_row_key(L, bf, row, cols, &bf->hi);
        mig_lua_db_push_row(L, row);
        lua_rawseti(L, rows_idx, (lua_Integer)(n + 1));
        n++;
    }
    mig_db_cursor_close(bf->db, cur);
    return n;
}

/*
 * Move the checkpoint to bf->hi, in the batch's transaction, only from
 * where this batch started (compare and set); a failure raises.
 */
static void move_checkpoint(lua_State *L, backfill *bf, int64_t n)
{
    keyset_encode(&bf->hi, &bf->enc_hi);
    key_shown(&bf->shown, bf->keys, &bf->hi);
    char now[40];
    mig_state_now(NULL, now);
    mig_value u[11];
    u[0] = mig_value_text(mig_buf_cstr(&bf->enc_hi));
    u[0].u.s.len = bf->enc_hi.len;
    u[1] = mig_value_text(mig_buf_cstr(&bf->shown));
    if (u[1].u.s.len > 255) {
        size_t n = 255;
        while (n > 0 && ((unsigned char)u[1].u.s.ptr[n] & 0xC0) == 0x80)
            n--;
        u[1].u.s.len = n;
    }
    u[2] = mig_value_int(n);
    u[3] = mig_value_int(bf->elapsed_ms);
    u[4] = mig_value_text(now);
    ident_params(bf, u + 5);
    u[9] = mig_value_int(bf->batches);
    u[10] = mig_value_text(mig_buf_cstr(&bf->enc_last));
    u[10].u.s.len = bf->enc_last.len;
    int64_t changed = 0;
    if (mig_db_exec_params(bf->db, bf->ctx, bf->cas_sql, u, 11, &changed, NULL) != 0)
        bf_raise_db(L, bf, bf->cas_sql);
    if (changed != 1)
        bf_raise(L, bf,
                 "another process moved its checkpoint (expected it at %s after %lld batch(es)): "
                 "this batch is rolled back and this run stops",
                 bf->last.n ? "the key this batch started from" : "the start", (long long)bf->batches);
}

static int one_batch(lua_State *L, backfill *bf, int64_t *walked)
{
    mig_ctx *ctx = bf->ctx;
    if (mig_db_begin(bf->db, ctx, 1) != 0)
        return bf_raise_db(L, bf, "BEGIN");
    mig_value p[MAX_KEYS * MAX_KEYS];
    int np = bf->last.n ? after_params(bf, &bf->last, p) : 0;
    int64_t n = 0;
    int rows_idx = 0;
    if (!bf->each) {
        sql_bounds(L, bf, p, np, &n);
        if (n == 0)
            return 1; /* the caller marks it finished in this transaction */
    } else {
        n = fetch_rows(L, bf, p, np);
        rows_idx = lua_gettop(L);
        if (n == 0) {
            lua_pop(L, 1);
            return 1; /* the caller marks it finished in this transaction */
        }
    }
    if (bf->last.n == 0)
        below(L, bf, &bf->first, &bf->lo);
    else if (keyset_copy(&bf->lo, &bf->last) < 0)
        bf_raise(L, bf, "out of memory");
    if (bf->sql) {
        mig_value bp[2 * MAX_KEYS];
        for (int i = 0; i < bf->nkeys; i++) {
            bp[i] = bf->lo.v[i];
            bp[bf->nkeys + i] = bf->hi.v[i];
        }
        if (mig_db_exec_params(bf->db, ctx, bf->sql, bp, 2 * bf->nkeys, NULL, NULL) != 0)
            return bf_raise_db(L, bf, bf->sql);
    } else {
        /* each(rows, db): its writes go in the batch's transaction */
        lua_pushvalue(L, bf->each);
        lua_pushvalue(L, rows_idx);
        lua_pushvalue(L, 1);
        bf->in_batch = 1;
        int st = lua_pcall(L, 2, 0, 0);
        bf->in_batch = 0;
        if (st != LUA_OK) {
            bf_stop_here(L, bf);
            return lua_error(L); /* the function's own error, with its place */
        }
        lua_pop(L, 1); /* rows */
        if (!bf->db->in_txn)
            return bf_raise(L, bf, "the each function ended the batch's transaction itself");
    }
    move_checkpoint(L, bf, n);
    if (mig_db_commit(bf->db, ctx) != 0)
        return bf_raise_db(L, bf, "COMMIT");
    bf->batches++;
    bf->rows_done += n;
    *walked += n;
    if (keyset_copy(&bf->last, &bf->hi) < 0)
        bf_raise(L, bf, "out of memory");
    mig_buf_clear(&bf->enc_last);
    mig_buf_put(&bf->enc_last, bf->enc_hi.ptr ? bf->enc_hi.ptr : "", bf->enc_hi.len);
    return 0;
}

static void mark_finished(lua_State *L, backfill *bf)
{
    char now[40];
    mig_state_now(NULL, now);
    char *sql = mig_aprintf("UPDATE %s SET state = 'finished', updated_at = ?, elapsed_ms = ?, "
                            "rows_total = rows_done WHERE version_table = ? AND revision = ? AND name = ? "
                            "AND direction = ? AND batches = ?",
                            bf->q_state);
    oom(L, sql);
    mig_buf_clear(&bf->tmp);
    mig_buf_puts(&bf->tmp, sql);
    free(sql);
    mig_value u[7];
    u[0] = mig_value_text(now);
    u[1] = mig_value_int(bf->elapsed_ms);
    ident_params(bf, u + 2);
    u[6] = mig_value_int(bf->batches);
    int64_t changed = 0;
    if (mig_db_exec_params(bf->db, bf->ctx, mig_buf_cstr(&bf->tmp), u, 7, &changed, NULL) != 0)
        bf_raise_db(L, bf, mig_buf_cstr(&bf->tmp));
    if (changed != 1)
        bf_raise(L, bf, "another process moved its checkpoint: this run stops");
    if (mig_db_commit(bf->db, bf->ctx) != 0)
        bf_raise_db(L, bf, "COMMIT");
}

int mig_lua_backfill(lua_State *L)
{
    mig_lua *lua = NULL;
    mig_db *db = mig_lua_db_check(L, 1, &lua);
    if (lua->rev == NULL)
        return luaL_error(L, "db:backfill runs in a Lua revision's upgrade or downgrade, not in a hook");
    if (db->in_txn)
        return luaL_error(L,
                          "db:backfill commits each batch on its own, so it needs a revision outside a "
                          "transaction: add `-- mig:transaction false` to %s",
                          lua->rev->path);
    backfill *bf = lua_newuserdatauv(L, sizeof *bf, 0);
    memset(bf, 0, sizeof *bf);
    if (luaL_newmetatable(L, BF_MT)) {
        lua_pushcfunction(L, bf_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, bf_gc);
        lua_setfield(L, -2, "__close");
    }
    lua_setmetatable(L, -2);
    int bf_idx = lua_gettop(L);
    (void)bf_idx;
    bf->lua = lua;
    bf->ctx = lua->ctx;
    bf->db = db;
    mig_buf_init(&bf->enc_last);
    mig_buf_init(&bf->enc_hi);
    mig_buf_init(&bf->shown);
    mig_buf_init(&bf->tmp);
    mig_buf_init(&bf->tmp2);
    read_options(L, bf);
    if (mig_strvec_contains(&lua->bf_names, bf->name))
        return luaL_error(L,
                          "db:backfill: a second backfill named %s in this revision: give each its own name=",
                          bf->name);
    if (mig_strvec_push(&lua->bf_names, bf->name) < 0)
        return luaL_error(L, "out of memory");
    build_sql(L, bf);
    create_state_table(L, bf);
    if (bf->has_lag)
        connect_replicas(L, bf);
    if (load_checkpoint(L, bf) == 1) {
        mig_log(bf->ctx, MIG_LOG_VERBOSE, "backfill %s of %s has finished already", bf->name,
                lua->rev->id);
        bf_release(bf);
        lua_pushinteger(L, 0);
        return 1;
    }
    int64_t walked = 0;
    double t_run = mig_now_ms();
    for (;;) {
        if (mig_cancel_level(bf->ctx)) {
            key_shown(&bf->shown, bf->keys, &bf->last);
            int pct = bf->total > 0 ? (int)(100.0 * (double)bf->rows_done / (double)bf->total) : 0;
            return bf_raise(L, bf, "paused at %s (%d %% done); run mig upgrade again to continue",
                            mig_buf_cstr(&bf->shown), pct > 100 ? 100 : pct);
        }
        if (bf->has_lag) {
            wait_for_replicas(L, bf);
            if (mig_cancel_level(bf->ctx))
                continue;
        }
        double t0 = mig_now_ms();
        int64_t before = walked;
        bf->ctx->in_batch++; /* a first cancel lets the batch finish */
        int last = one_batch(L, bf, &walked);
        bf->ctx->in_batch--;
        double ms = mig_now_ms() - t0;
        if (last) {
            mark_finished(L, bf);
            break;
        }
        if (bf->total >= 0 && bf->rows_done > bf->total)
            bf->total = bf->rows_done;
        /* how batch_time holds, batch by batch (the bench checks it) */
        mig_log(bf->ctx, MIG_LOG_VERBOSE, "backfill %s: batch %lld: %lld rows in %.1f ms", bf->name,
                (long long)bf->batches, (long long)(walked - before), ms);
        mig_progress_update(bf->ctx, bf->rows_done, bf->total);
        if (bf->batch_time_ms > 0) {
            /* aim the next batch at the target time, changing by at most half or double */
            double want = (double)bf->batch * bf->batch_time_ms / (ms > 1 ? ms : 1);
            double lo = (double)bf->batch / 2, hi = (double)bf->batch * 2;
            want = want < lo ? lo : want > hi ? hi : want;
            bf->batch = want < 1 ? 1 : want > MAX_BATCH ? MAX_BATCH : (int64_t)want;
        }
        if (bf->max_rate > 0) {
            double due = (double)walked / bf->max_rate * 1000.0 - (mig_now_ms() - t_run);
            if (due > 0)
                nap(bf->ctx, due);
        }
        if (bf->sleep_ms > 0)
            nap(bf->ctx, bf->sleep_ms);
        bf->elapsed_ms += (int64_t)(mig_now_ms() - t0);
    }
    if (bf->nkeys && walked)
        mig_progress_update(bf->ctx, bf->rows_done, bf->rows_done);
    bf_release(bf);
    lua_pushinteger(L, (lua_Integer)walked);
    return 1;
}

/* ---- after a revision ran; status and reset ---- */

int mig_backfill_forget(mig_ctx *ctx, mig_db *db, const char *revision, const char *direction)
{
    int exists = 0;
    int rc = mig_db_table_exists(db, ctx, MIG_BACKFILL_TABLE, &exists);
    if (rc || !exists)
        return rc;
    const char *vt = NULL;
    if ((rc = mig_ctx_version_table(ctx, &vt)) != 0)
        return rc;
    char *q = mig_plugin_quote_ident(db->plugin, MIG_BACKFILL_TABLE);
    char *sql =
        q ? mig_aprintf("DELETE FROM %s WHERE version_table = ? AND revision = ? AND direction = ?", q)
          : NULL;
    free(q);
    if (sql == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    mig_value p[3] = { mig_value_text(vt), mig_value_text(revision), mig_value_text(direction) };
    rc = mig_db_exec_params(db, ctx, sql, p, 3, NULL, NULL);
    free(sql);
    return rc;
}

typedef struct status_args {
    mig_backfill_fn fn;
    void *payload;
    pthread_mutex_t mu;
} status_args;

static char *col_dup(const mig_row *row, int i)
{
    const mig_value *v = &row->values[i];
    if (v->type == MIG_VAL_TEXT || v->type == MIG_VAL_BLOB)
        return mig_strndup(v->u.s.ptr, v->u.s.len);
    return mig_strdup("");
}

static int status_one(mig_ctx *ctx, void *payload)
{
    status_args *a = payload;
    mig_session s;
    int missing = 0;
    int rc = mig_session_open_ro(&s, ctx, &missing);
    if (rc)
        return rc;
    if (missing) {
        mig_session_close(&s);
        return 0;
    }
    int exists = 0;
    rc = mig_db_table_exists(s.db, ctx, MIG_BACKFILL_TABLE, &exists);
    char *q = NULL, *sql = NULL;
    if (rc == 0 && exists) {
        q = mig_plugin_quote_ident(s.db->plugin, MIG_BACKFILL_TABLE);
        sql = q ? mig_aprintf("SELECT name, revision, direction, state, position, rows_done, rows_total, batches, "
                              "elapsed_ms, started_at, updated_at FROM %s WHERE version_table = ? "
                              "ORDER BY started_at, name",
                              q)
                : NULL;
        if (sql == NULL)
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    if (rc == 0 && sql) {
        mig_value vt = mig_value_text(s.st.version_name);
        mig_cursor *cur = NULL;
        rc = mig_db_query(&cur, s.db, ctx, sql, &vt, 1);
        while (rc == 0) {
            const mig_row *row = NULL;
            rc = mig_db_fetch(cur, s.db, ctx, &row);
            if (rc || row == NULL || row->ncols < 11)
                break;
            char *t[11] = { 0 };
            int bad = 0;
            for (int i = 0; i < 11; i++)
                if (i < 5 || i > 8)
                    bad |= (t[i] = col_dup(row, i)) == NULL;
            int64_t elapsed = row_int(row, 8);
            mig_backfill_info b = { ctx->tenant,
                                    t[0],
                                    t[1],
                                    t[2],
                                    t[3],
                                    t[4],
                                    row_int(row, 5),
                                    row->values[6].type == MIG_VAL_NULL ? -1 : row_int(row, 6),
                                    row_int(row, 7),
                                    elapsed > 0 ? (double)row_int(row, 5) * 1000.0 / (double)elapsed : 0.0,
                                    t[9],
                                    t[10] };
            if (bad)
                rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
            else {
                pthread_mutex_lock(&a->mu);
                a->fn(a->payload, &b);
                pthread_mutex_unlock(&a->mu);
            }
            for (int i = 0; i < 11; i++)
                free(t[i]);
        }
        mig_db_cursor_close(s.db, cur);
    }
    free(q);
    free(sql);
    mig_session_close(&s);
    return rc;
}

int mig_backfill_status(mig_ctx *ctx, mig_backfill_fn fn, void *payload)
{
    mig_error_clear(ctx);
    status_args a;
    a.fn = fn;
    a.payload = payload;
    pthread_mutex_init(&a.mu, NULL);
    int rc;
    if (!mig_has_tenants(ctx) || ctx->tenant) {
        rc = status_one(ctx, &a);
    } else {
        rc = mig_ctx_prepare_shared(ctx);
        /* reading never stops early: every tenant's state is wanted */
        if (rc == 0)
            rc = mig_tenant_foreach(ctx, status_one, &a, MIG_TENANT_KEEP_GOING | MIG_TENANT_NO_REPORT);
    }
    pthread_mutex_destroy(&a.mu);
    return rc;
}

typedef struct reset_args {
    const char *revision;
    size_t removed;
    pthread_mutex_t mu;
} reset_args;

static int reset_one(mig_ctx *ctx, void *payload)
{
    reset_args *a = payload;
    mig_session s;
    int rc = mig_session_open(&s, ctx);
    if (rc)
        return rc;
    int exists = 0;
    rc = mig_db_table_exists(s.db, ctx, MIG_BACKFILL_TABLE, &exists);
    if (rc == 0 && exists) {
        char *q = mig_plugin_quote_ident(s.db->plugin, MIG_BACKFILL_TABLE);
        char *sql = q ? mig_aprintf("DELETE FROM %s WHERE version_table = ? AND revision = ?", q) : NULL;
        if (sql == NULL)
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        mig_value p[2] = { mig_value_text(s.st.version_name), mig_value_text(a->revision) };
        int64_t n = 0;
        if (rc == 0)
            rc = mig_db_exec_params(s.db, ctx, sql, p, 2, &n, NULL);
        if (rc == 0 && n > 0) {
            pthread_mutex_lock(&a->mu);
            a->removed += (size_t)n;
            pthread_mutex_unlock(&a->mu);
        }
        free(q);
        free(sql);
    }
    mig_session_close(&s);
    return rc;
}

int mig_backfill_reset(mig_ctx *ctx, const char *revision, size_t *removed)
{
    mig_error_clear(ctx);
    if (removed)
        *removed = 0;
    if (revision == NULL || *revision == '\0')
        return mig_fail(ctx, MIG_EUSAGE, "backfill reset needs a REVISION");
    mig_graph *g = NULL;
    int rc = mig_ctx_graph(ctx, &g);
    if (rc)
        return rc;
    /* a revision of the graph by id or prefix; an id no file has any more is taken as it is */
    const mig_rev *rev = NULL;
    reset_args a = { revision, 0, PTHREAD_MUTEX_INITIALIZER };
    if (mig_graph_find(&rev, ctx, g, revision) == 0)
        a.revision = rev->id;
    else if (mig_last_error(ctx)->code == MIG_ETARGET &&
             strncmp(mig_last_error(ctx)->message, "unknown revision", 16) == 0)
        mig_error_clear(ctx);
    else
        return mig_last_error(ctx)->code;
    if (!mig_has_tenants(ctx) || ctx->tenant) {
        rc = reset_one(ctx, &a);
    } else {
        rc = mig_ctx_prepare_shared(ctx);
        if (rc == 0)
            rc = mig_tenant_foreach(ctx, reset_one, &a, 0);
    }
    if (rc == 0)
        mig_log(ctx, MIG_LOG_INFO, "reset %zu backfill checkpoint(s) of %s", a.removed, a.revision);
    if (removed)
        *removed = a.removed;
    return rc;
}
