/*
 * The version table and mig_history: their DDL, reads and writes. Every
 * statement is written once as a template with `?` placeholders; online it
 * runs with bound values, offline the values are inlined as literals.
 */
#include "state.h"

#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ctx.h"
#include "revfile.h"

int mig_state_init(mig_state *st, mig_ctx *ctx, const mig_plugin *plugin, const char *version_table)
{
    memset(st, 0, sizeof *st);
    st->plugin = plugin;
    st->dialect = plugin->driver->dialect;
    st->version_name = mig_strdup(version_table);
    st->history_name = mig_strdup(MIG_HISTORY_TABLE);
    st->version_table = mig_plugin_quote_ident(plugin, version_table);
    st->history_table = mig_plugin_quote_ident(plugin, MIG_HISTORY_TABLE);
    /* quoted like every name mig writes: `1st_version_pkc` is no bare identifier */
    char *pkc = mig_aprintf("%s_pkc", version_table);
    st->pkc = pkc ? mig_plugin_quote_ident(plugin, pkc) : NULL;
    free(pkc);
    st->scoped = -1;
    if (!st->version_name || !st->history_name || !st->version_table || !st->history_table || !st->pkc) {
        mig_state_release(st);
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    return 0;
}

void mig_state_release(mig_state *st)
{
    free(st->version_table);
    free(st->history_table);
    free(st->version_name);
    free(st->history_name);
    free(st->pkc);
    for (int i = 0; i < 2; i++) {
        free(st->hist_sql[i][0]);
        free(st->hist_sql[i][1]);
    }
    memset(st, 0, sizeof *st);
}

static void put_literal(mig_buf *out, const mig_value *v, const mig_dialect *d)
{
    switch (v->type) {
    case MIG_VAL_NULL:
        mig_buf_puts(out, "NULL");
        break;
    case MIG_VAL_INT:
        mig_buf_printf(out, "%lld", (long long)v->u.i);
        break;
    case MIG_VAL_FLOAT:
        mig_buf_printf(out, "%.17g", v->u.f);
        break;
    case MIG_VAL_BOOL:
        mig_buf_puts(out, v->u.b ? "TRUE" : "FALSE");
        break;
    case MIG_VAL_TEXT:
    case MIG_VAL_BLOB:
        mig_buf_putc(out, '\'');
        for (size_t i = 0; i < v->u.s.len; i++) {
            char c = v->u.s.ptr[i];
            if (c == '\'')
                mig_buf_putc(out, '\'');
            else if (c == '\\' && d->backslash_escapes)
                mig_buf_putc(out, '\\');
            mig_buf_putc(out, c);
        }
        mig_buf_putc(out, '\'');
        break;
    }
}

mig_value mig_value_text(const char *s)
{
    mig_value v;
    memset(&v, 0, sizeof v);
    if (s == NULL) {
        v.type = MIG_VAL_NULL;
        return v;
    }
    v.type = MIG_VAL_TEXT;
    v.u.s.ptr = s;
    v.u.s.len = strlen(s);
    return v;
}

mig_value mig_value_int(int64_t i)
{
    mig_value v;
    memset(&v, 0, sizeof v);
    v.type = MIG_VAL_INT;
    v.u.i = i;
    return v;
}

/* Online: run sql with params. Offline (db NULL): append it, values inlined, ";\n". */
static int run(mig_state *st, mig_ctx *ctx, mig_db *db, mig_buf *out, const char *sql,
               const mig_value *params, int n)
{
    if (db)
        return n ? mig_db_exec_params(db, ctx, sql, params, n, NULL, NULL)
                 : mig_db_exec(db, ctx, sql, strlen(sql), NULL, NULL);
    int k = 0;
    for (const char *p = sql; *p; p++) {
        if (*p == '?' && k < n)
            put_literal(out, &params[k++], st->dialect);
        else
            mig_buf_putc(out, *p);
    }
    mig_buf_puts(out, ";\n");
    return out->oom ? mig_fail(ctx, MIG_ENOMEM, "out of memory") : 0;
}

/*
 * Is mig_history scoped by version_table? Tables written before the
 * column existed are not, until mig_state_create_tables adds it; reading
 * them, every row is this project's, as it was then.
 */
static int scoped(mig_state *st, mig_ctx *ctx, mig_db *db, int *out)
{
    if (st->scoped < 0) {
        int exists = 1;
        int rc = mig_db_column_exists(db, ctx, st->history_name, "version_table", &exists);
        if (rc)
            return rc;
        st->scoped = exists;
    }
    *out = st->scoped;
    return 0;
}

/*
 * mig_history from before its version_table column: add it, and give its
 * rows to the version table of the first project that writes (they were
 * written by projects that could not tell theirs apart).
 */
static int add_scope_column(mig_state *st, mig_ctx *ctx, mig_db *db)
{
    int has = 1;
    st->scoped = -1;
    int rc = scoped(st, ctx, db, &has);
    if (rc || has)
        return rc;
    char *alter = mig_aprintf("ALTER TABLE %s ADD COLUMN version_table VARCHAR(64)", st->history_table);
    char *fill =
        mig_aprintf("UPDATE %s SET version_table = ? WHERE version_table IS NULL", st->history_table);
    if (alter == NULL || fill == NULL)
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    if (rc == 0)
        rc = mig_db_exec(db, ctx, alter, strlen(alter), NULL, NULL);
    mig_value p = mig_value_text(st->version_name);
    int64_t n = 0;
    if (rc == 0)
        rc = mig_db_exec_params(db, ctx, fill, &p, 1, &n, NULL);
    if (rc == 0) {
        st->scoped = 1;
        mig_log(ctx, MIG_LOG_VERBOSE, "%s: added column version_table; its %lld existing row(s) are %s's",
                st->history_name, (long long)n, st->version_name);
    }
    free(alter);
    free(fill);
    return rc;
}

int mig_state_create_tables(mig_state *st, mig_ctx *ctx, mig_db *db, mig_buf *out)
{
    const mig_dialect *d = st->dialect;
    char *v = mig_aprintf("CREATE TABLE IF NOT EXISTS %s (version_num VARCHAR(64) NOT NULL, "
                          "CONSTRAINT %s PRIMARY KEY (version_num))",
                          st->version_table, st->pkc);
    char *h = mig_aprintf("CREATE TABLE IF NOT EXISTS %s (id %s, revision VARCHAR(64) NOT NULL, "
                          "direction VARCHAR(16) NOT NULL, checksum VARCHAR(64), "
                          "started_at %s NOT NULL, duration_ms BIGINT NOT NULL, "
                          "applied_by VARCHAR(255), state VARCHAR(16) NOT NULL, "
                          "statements_applied INTEGER NOT NULL, applied_hash VARCHAR(64), "
                          "version_table VARCHAR(64))",
                          st->history_table, d->autoinc_pk, d->timestamp_type);
    int rc;
    if (v == NULL || h == NULL)
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    else if ((rc = run(st, ctx, db, out, v, NULL, 0)) == 0)
        rc = run(st, ctx, db, out, h, NULL, 0);
    if (rc == 0 && db)
        rc = add_scope_column(st, ctx, db);
    free(v);
    free(h);
    return rc;
}

static int run_fmt1(mig_state *st, mig_ctx *ctx, mig_db *db, mig_buf *out, const char *fmt,
                    const char *table, const mig_value *params, int n)
{
    char *sql = mig_aprintf(fmt, table);
    if (sql == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    int rc = run(st, ctx, db, out, sql, params, n);
    free(sql);
    return rc;
}

int mig_state_delete_head(mig_state *st, mig_ctx *ctx, mig_db *db, mig_buf *out, const char *rev)
{
    mig_value p = mig_value_text(rev);
    return run_fmt1(st, ctx, db, out, "DELETE FROM %s WHERE version_num = ?", st->version_table, &p, 1);
}

int mig_state_insert_head(mig_state *st, mig_ctx *ctx, mig_db *db, mig_buf *out, const char *rev)
{
    mig_value p = mig_value_text(rev);
    return run_fmt1(st, ctx, db, out, "INSERT INTO %s (version_num) VALUES (?)", st->version_table, &p, 1);
}

int mig_state_delete_all_heads(mig_state *st, mig_ctx *ctx, mig_db *db, mig_buf *out)
{
    return run_fmt1(st, ctx, db, out, "DELETE FROM %s", st->version_table, NULL, 0);
}

/*
 * The history INSERT for rows rows: "... VALUES (?, ...)" once per row,
 * ten values (nine where mig_history predates its version_table column).
 */
static char *history_insert_text(const mig_state *st, int sc, size_t rows)
{
    mig_buf b = MIG_BUF_INIT;
    mig_buf_puts(&b, "INSERT INTO ");
    mig_buf_puts(&b, st->history_table);
    mig_buf_puts(&b, " (revision, direction, checksum, started_at, duration_ms, applied_by, state, "
                     "statements_applied, applied_hash");
    mig_buf_puts(&b, sc ? ", version_table) VALUES " : ") VALUES ");
    for (size_t i = 0; i < rows; i++) {
        mig_buf_puts(&b, i ? ", (?, ?, ?, ?, ?, ?, ?, ?, ?" : "(?, ?, ?, ?, ?, ?, ?, ?, ?");
        mig_buf_puts(&b, sc ? ", ?)" : ")");
    }
    return mig_buf_detach(&b);
}

/*
 * The text for one row or a full batch, made once per state (formatting
 * it for every row was a third of writing the rows); other sizes are made
 * for the call: *owned is then the caller's to free.
 */
static const char *history_insert_sql(mig_state *st, int sc, size_t rows, char **owned)
{
    *owned = NULL;
    char **slot = rows == 1                      ? &st->hist_sql[sc][0]
                  : rows == MIG_STATE_HIST_BATCH ? &st->hist_sql[sc][1]
                                                 : NULL;
    if (slot && *slot)
        return *slot;
    char *sql = history_insert_text(st, sc, rows);
    if (slot)
        *slot = sql;
    else
        *owned = sql;
    return sql;
}

static int history_params(const mig_state *st, const mig_hist *h, mig_value *p, int sc)
{
    p[0] = mig_value_text(h->revision);
    p[1] = mig_value_text(h->direction);
    p[2] = mig_value_text(h->checksum);
    p[3] = mig_value_text(h->started_at);
    p[4] = mig_value_int(h->duration_ms);
    p[5] = mig_value_text(h->applied_by);
    p[6] = mig_value_text(h->state);
    p[7] = mig_value_int(h->statements_applied);
    p[8] = mig_value_text(h->applied_hash);
    if (sc)
        p[9] = mig_value_text(st->version_name);
    return sc ? 10 : 9;
}

int mig_state_insert_history(mig_state *st, mig_ctx *ctx, mig_db *db, mig_buf *out, const mig_hist *h)
{
    /* offline output creates the table with the column; online it was added on first use */
    int sc = 1;
    int rc = db ? scoped(st, ctx, db, &sc) : 0;
    if (rc)
        return rc;
    mig_value p[10];
    int n = history_params(st, h, p, sc);
    char *owned;
    const char *sql = history_insert_sql(st, sc, 1, &owned);
    if (sql == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    return run(st, ctx, db, out, sql, p, n);
}

int mig_state_insert_history_rows(mig_state *st, mig_ctx *ctx, mig_db *db, const mig_hist *h, size_t n)
{
    int sc = 1;
    int rc = scoped(st, ctx, db, &sc);
    if (rc || n == 0)
        return rc;
    size_t most = n < MIG_STATE_HIST_BATCH ? n : MIG_STATE_HIST_BATCH;
    mig_value *p = malloc(most * 10 * sizeof *p);
    if (p == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i += most) {
        size_t rows = n - i < most ? n - i : most;
        int np = 0;
        for (size_t k = 0; k < rows; k++)
            np += history_params(st, &h[i + k], p + np, sc);
        char *owned;
        const char *sql = history_insert_sql(st, sc, rows, &owned);
        rc = sql ? mig_db_exec_params(db, ctx, sql, p, np, NULL, NULL)
                 : mig_fail(ctx, MIG_ENOMEM, "out of memory");
        free(owned);
    }
    free(p);
    return rc;
}

/* out == NULL: run it; else its text, values inlined (mig_state_update_progress_text) */
static int update_progress(mig_state *st, mig_ctx *ctx, mig_db *db, mig_buf *out, const mig_hist *h)
{
    int sc = 1;
    int rc = scoped(st, ctx, db, &sc);
    if (rc)
        return rc;
    /* the row this step inserted is the newest one for the revision in this project */
    char *sql =
        mig_aprintf("UPDATE %s SET state = ?, statements_applied = ?, applied_hash = ?, "
                    "duration_ms = ?, checksum = ? WHERE id = (SELECT id FROM (SELECT max(id) AS id FROM %s "
                    "WHERE revision = ?%s) AS newest)",
                    st->history_table, st->history_table, sc ? " AND version_table = ?" : "");
    if (sql == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    mig_value p[7] = {
        mig_value_text(h->state),         mig_value_int(h->statements_applied),
        mig_value_text(h->applied_hash),  mig_value_int(h->duration_ms),
        mig_value_text(h->checksum),      mig_value_text(h->revision),
        mig_value_text(st->version_name),
    };
    rc = out ? run(st, ctx, NULL, out, sql, p, sc ? 7 : 6)
             : mig_db_exec_params(db, ctx, sql, p, sc ? 7 : 6, NULL, NULL);
    free(sql);
    return rc;
}

int mig_state_update_progress(mig_state *st, mig_ctx *ctx, mig_db *db, const mig_hist *h)
{
    return update_progress(st, ctx, db, NULL, h);
}

/*
 * A backslash is the one byte whose literal reads differently under
 * NO_BACKSLASH_ESCAPES, which a revision may set: such a value is never
 * inlined. None of mig's own values holds one in practice.
 */
static int inlinable(const mig_state *st, const mig_hist *h)
{
    const char *v[] = { h->revision,   h->direction, h->checksum,     h->started_at,
                        h->applied_by, h->state,     h->applied_hash, st->version_name };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (v[i] && strchr(v[i], '\\'))
            return 0;
    return 1;
}

int mig_state_update_progress_text(mig_state *st, mig_ctx *ctx, mig_db *db, mig_buf *out,
                                   const mig_hist *h)
{
    if (!inlinable(st, h))
        return MIG_STATE_NOT_INLINABLE;
    return update_progress(st, ctx, db, out, h);
}

int mig_state_insert_history_text(mig_state *st, mig_ctx *ctx, mig_db *db, mig_buf *out, const mig_hist *h)
{
    int sc = 1;
    int rc = scoped(st, ctx, db, &sc);
    if (rc)
        return rc;
    if (!sc || !inlinable(st, h))
        return MIG_STATE_NOT_INLINABLE;
    return mig_state_insert_history(st, ctx, NULL, out, h);
}

int mig_state_tables_exist(mig_state *st, mig_ctx *ctx, mig_db *db, int *exists)
{
    return mig_db_table_exists(db, ctx, st->version_name, exists);
}

int mig_state_read_heads(mig_state *st, mig_ctx *ctx, mig_db *db, mig_strvec *out)
{
    int exists = 0;
    int rc = mig_state_tables_exist(st, ctx, db, &exists);
    if (rc || !exists)
        return rc;
    char *sql = mig_aprintf("SELECT version_num FROM %s ORDER BY version_num", st->version_table);
    if (sql == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    mig_cursor *cur = NULL;
    rc = mig_db_query(&cur, db, ctx, sql, NULL, 0);
    free(sql);
    while (rc == 0) {
        const mig_row *row = NULL;
        rc = mig_db_fetch(cur, db, ctx, &row);
        if (rc || row == NULL)
            break;
        const mig_value *v = &row->values[0];
        if (v->type != MIG_VAL_TEXT)
            continue;
        if (mig_strvec_push_owned(out, mig_strndup(v->u.s.ptr, v->u.s.len)) < 0)
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    mig_db_cursor_close(db, cur);
    return rc;
}

static char *col_text(const mig_row *row, int i)
{
    if (i >= row->ncols)
        return NULL;
    const mig_value *v = &row->values[i];
    if (v->type == MIG_VAL_TEXT || v->type == MIG_VAL_BLOB)
        return mig_strndup(v->u.s.ptr, v->u.s.len);
    if (v->type == MIG_VAL_INT)
        return mig_aprintf("%lld", (long long)v->u.i);
    return NULL;
}

static int64_t col_int(const mig_row *row, int i)
{
    if (i >= row->ncols)
        return 0;
    const mig_value *v = &row->values[i];
    if (v->type == MIG_VAL_INT)
        return v->u.i;
    if (v->type == MIG_VAL_TEXT)
        return strtoll(v->u.s.ptr, NULL, 10);
    if (v->type == MIG_VAL_FLOAT)
        return (int64_t)v->u.f;
    return 0;
}

/*
 * A cursor over this version table's history rows (every row where the
 * table predates its version_table column), in order. *missing = 1 (and
 * *out NULL) when a failure before the query, or no history table at all,
 * leaves nothing to close: then the result is returned as it is.
 */
static int query_history(mig_cursor **out, int *missing, mig_state *st, mig_ctx *ctx, mig_db *db,
                         const char *columns, const char *order)
{
    *out = NULL;
    *missing = 1;
    int exists = 0;
    int rc = mig_db_table_exists(db, ctx, st->history_name, &exists);
    if (rc || !exists)
        return rc;
    int sc = 1;
    if ((rc = scoped(st, ctx, db, &sc)) != 0)
        return rc;
    char *sql = mig_aprintf("SELECT %s FROM %s %sORDER BY %s", columns, st->history_table,
                            sc ? "WHERE version_table = ? " : "", order);
    if (sql == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    *missing = 0;
    mig_value vt = mig_value_text(st->version_name);
    rc = mig_db_query(out, db, ctx, sql, &vt, sc ? 1 : 0);
    free(sql);
    return rc;
}

int mig_state_find_failed(mig_state *st, mig_ctx *ctx, mig_db *db, mig_failed *out, int *found)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    /* only the newest row counts: a failed step later fixed by stamp or resume is history */
    mig_cursor *cur = NULL;
    int missing = 0;
    int rc = query_history(&cur, &missing, st, ctx, db,
                           "revision, direction, checksum, applied_hash, statements_applied, state",
                           "id DESC");
    if (missing)
        return rc;
    if (rc == 0) {
        const mig_row *row = NULL;
        rc = mig_db_fetch(cur, db, ctx, &row);
        if (rc == 0 && row) {
            char *state = col_text(row, 5);
            /*
             * A step that failed before its first statement completed (its
             * connection killed, say) applied nothing: running it again is
             * exactly what resuming it would do, so it blocks nothing.
             */
            if (state && strcmp(state, "failed") == 0 && col_int(row, 4) > 0) {
                out->revision = col_text(row, 0);
                out->direction = col_text(row, 1);
                out->checksum = col_text(row, 2);
                out->applied_hash = col_text(row, 3);
                out->statements_applied = col_int(row, 4);
                *found = 1;
            }
            free(state);
        }
    }
    mig_db_cursor_close(db, cur);
    return rc;
}

void mig_failed_release(mig_failed *f)
{
    free(f->revision);
    free(f->direction);
    free(f->checksum);
    free(f->applied_hash);
    memset(f, 0, sizeof *f);
}

int mig_state_read_history(mig_state *st, mig_ctx *ctx, mig_db *db, mig_state_row_fn fn, void *payload)
{
    mig_cursor *cur = NULL;
    int missing = 0;
    int rc = query_history(&cur, &missing, st, ctx, db,
                           "revision, direction, checksum, started_at, duration_ms, applied_by, state, "
                           "statements_applied",
                           "id");
    if (missing)
        return rc;
    while (rc == 0) {
        const mig_row *row = NULL;
        rc = mig_db_fetch(cur, db, ctx, &row);
        if (rc || row == NULL)
            break;
        rc = fn(payload, row);
    }
    mig_db_cursor_close(db, cur);
    return rc;
}

void mig_state_now(const mig_state *st, char out[40])
{
    /*
     * Every step asks; the date and time to the second are made again only
     * when the second changes (gmtime_r, strftime and snprintf were ~2.7 K
     * instructions a step). Per thread: tenant workers ask at once.
     */
    static _Thread_local time_t last_sec = (time_t)-1;
    static _Thread_local char base[32];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    if (tv.tv_sec != last_sec) {
        struct tm tm;
        gmtime_r(&tv.tv_sec, &tm);
        strftime(base, sizeof base, "%Y-%m-%d %H:%M:%S", &tm);
        last_sec = tv.tv_sec;
    }
    size_t n = strlen(base);
    int ms = (int)(tv.tv_usec / 1000);
    memcpy(out, base, n);
    out[n++] = '.';
    out[n++] = (char)('0' + ms / 100);
    out[n++] = (char)('0' + ms / 10 % 10);
    out[n++] = (char)('0' + ms % 10);
    /* a zone-keeping column would read a bare time in the session's zone */
    if (st && st->dialect->timestamp_type && strstr(st->dialect->timestamp_type, "TZ")) {
        memcpy(out + n, "+00", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* applied_by is VARCHAR(255): a longer $USER must not fail the write */
#define APPLIED_BY_MAX 255
static char who[APPLIED_BY_MAX + 1];

static void find_applied_by(void)
{
    const char *user = getenv("USER");
    struct passwd *pw = NULL;
    if (user == NULL || *user == '\0') {
        pw = getpwuid(getuid());
        user = pw ? pw->pw_name : "unknown";
    }
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        strcpy(host, "localhost");
    char full[600];
    snprintf(full, sizeof full, "%s@%s", user, host);
    /*
     * A $USER or host name in another encoding is no UTF-8: PostgreSQL and
     * MySQL would refuse the history row, and with it every upgrade. Such
     * bytes, and control characters, are written as '?'.
     */
    size_t len = strlen(full);
    for (size_t i = 0; i < len;) {
        size_t good = mig_utf8_valid_prefix((const unsigned char *)full + i, len - i);
        for (size_t k = i; k < i + good; k++)
            if ((unsigned char)full[k] < 0x20 || full[k] == 0x7f)
                full[k] = '?';
        i += good;
        if (i < len)
            full[i++] = '?';
    }
    /* cut at a character boundary: 255 bytes are at most 255 characters on every driver */
    size_t n = strlen(full);
    if (n > APPLIED_BY_MAX) {
        n = APPLIED_BY_MAX;
        while (n > 0 && ((unsigned char)full[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(who, full, n);
    who[n] = '\0';
}

const char *mig_state_applied_by(void)
{
    /* tenant workers ask at once */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, find_applied_by);
    return who;
}
