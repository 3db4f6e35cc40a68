/*
 * The PostgreSQL driver (libpq): connections, statements, cursors,
 * transactions, the advisory migration lock and schema tenants. The
 * lexical rules live in pg_lex.c, schema introspection in pg_introspect.c.
 *
 * Every statement runs through libpq's synchronous calls; no connection is
 * ever left in a mode that blocks it (no single-row mode, no COPY), so the
 * core may run statements between the fetches of an open cursor.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mig/driver_util.h"
#include "pg.h"
#include "pg_lex.h"
#include "mig/secret.h"

#ifndef MIG_PG_DRIVER_VERSION
#define MIG_PG_DRIVER_VERSION "0"
#endif

/* Rows per FETCH: big enough to amortise the round trip, small in memory. */
#define FETCH_BATCH 1000

/* Built-in type OIDs (pg_type.dat): fixed across server versions. */
#define OID_BOOL    16
#define OID_BYTEA   17
#define OID_INT8    20
#define OID_INT2    21
#define OID_INT4    23
#define OID_OID     26
#define OID_FLOAT4  700
#define OID_FLOAT8  701
#define OID_NUMERIC 1700

/* ------------------------------------------------------------------ */
/* errors                                                              */
/* ------------------------------------------------------------------ */

/* Copy src into dst (size n) as one line: newlines and tabs become spaces. */
static void copy_line(char *dst, size_t n, const char *src, size_t srclen)
{
    size_t o = 0;

    if (n == 0)
        return;
    for (size_t i = 0; i < srclen && src[i] && o + 1 < n; i++) {
        char ch = src[i];
        if (ch == '\n' || ch == '\r' || ch == '\t')
            ch = ' ';
        if (ch == ' ' && (o == 0 || dst[o - 1] == ' '))
            continue;
        dst[o++] = ch;
    }
    while (o > 0 && dst[o - 1] == ' ')
        o--;
    dst[o] = '\0';
}

/* Append "sep text" to a detail buffer, as one line. */
static void detail_add(char *dst, size_t n, const char *sep, const char *text)
{
    size_t o = strlen(dst);

    if (text == NULL || *text == '\0' || o + 1 >= n)
        return;
    if (o > 0)
        o += (size_t)snprintf(dst + o, n - o, "%s", sep);
    if (o + 1 < n)
        copy_line(dst + o, n - o, text, strlen(text));
}

int pg_error_msg(mig_drv_error *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int rc = mig_drv_error_vset(err, fmt, ap);
    va_end(ap);
    return rc;
}

/*
 * The server's words for a failed result: primary message, SQLSTATE,
 * detail, hint and where (the PL/pgSQL line of a DO block or function),
 * and the error position. A lost connection is MIG_DRV_CONN.
 */
int pg_error(mig_conn *c, const PGresult *res, mig_drv_error *err)
{
    const char *primary = NULL, *state = NULL;

    mig_drv_error_clear(err);
    if (res != NULL) {
        primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        if (primary == NULL)
            primary = PQresultErrorMessage(res);
        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        detail_add(err->detail, sizeof err->detail, "; ", PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
        const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
        if (hint) {
            char buf[600];
            snprintf(buf, sizeof buf, "hint: %s", hint);
            detail_add(err->detail, sizeof err->detail, "; ", buf);
        }
        const char *where = PQresultErrorField(res, PG_DIAG_CONTEXT);
        if (where) {
            char buf[600];
            /* the innermost frame is the useful one: its first line */
            snprintf(buf, sizeof buf, "where: %.*s", (int)strcspn(where, "\n"), where);
            detail_add(err->detail, sizeof err->detail, "; ", buf);
        }
        const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
        if (pos)
            err->position = strtol(pos, NULL, 10);
    }
    if (primary == NULL || *primary == '\0')
        primary = PQerrorMessage(c->pg);
    /* libpq's own messages: first line is the message, the rest detail */
    size_t first = strcspn(primary, "\n");
    copy_line(err->message, sizeof err->message, primary, first);
    if (res == NULL && primary[first] == '\n')
        detail_add(err->detail, sizeof err->detail, "; ", primary + first + 1);
    if (err->message[0] == '\0')
        snprintf(err->message, sizeof err->message, "unknown PostgreSQL error");
    if (state)
        snprintf(err->sqlstate, sizeof err->sqlstate, "%s", state);

    if (PQstatus(c->pg) == CONNECTION_BAD ||
        (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0)))
        return MIG_DRV_CONN;
    return MIG_DRV_ERROR;
}

int pg_run(mig_conn *c, PGresult **out, const char *sql, int nparams, const char *const *params,
           mig_drv_error *err)
{
    PGresult *res = PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        int rc = pg_error(c, res, err);
        PQclear(res);
        return rc;
    }
    if (out)
        *out = res;
    else
        PQclear(res);
    return MIG_DRV_OK;
}

/* Run a statement whose one-row, one-column answer is 't' or 'f'. */
static int run_bool(mig_conn *c, int *out, const char *sql, int nparams, const char *const *params,
                    mig_drv_error *err)
{
    PGresult *res = NULL;
    int rc = pg_run(c, &res, sql, nparams, params, err);

    if (rc != MIG_DRV_OK)
        return rc;
    *out = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return MIG_DRV_OK;
}

/* ------------------------------------------------------------------ */
/* URLs and passwords                                                  */
/* ------------------------------------------------------------------ */

/* Bounded output that still counts what did not fit (for "needed" lengths). */
typedef struct outbuf {
    char *buf;
    size_t cap;
    size_t len;
} outbuf;

static void out_put(outbuf *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, o->len++)
        if (o->len + 1 < o->cap)
            o->buf[o->len] = s[i];
}

static size_t out_end(outbuf *o)
{
    if (o->cap > 0)
        o->buf[o->len < o->cap ? o->len : o->cap - 1] = '\0';
    return o->len;
}

/* Masking and scrubbing are mig/secret.h's, shared with the core. */
static size_t pg_mask_url(const char *url, char *buf, size_t buflen)
{
    return mig_secret_mask_url(url, buf, buflen);
}

/*
 * "postgresql+psycopg2://" (a SQLAlchemy-style URL) is "postgresql://" to
 * libpq. Returns a malloc'd copy without the suffix, or NULL if none.
 */
static char *strip_scheme_suffix(const char *url)
{
    const char *plus, *sep = strstr(url, "://");

    if (sep == NULL)
        return NULL;
    plus = memchr(url, '+', (size_t)(sep - url));
    if (plus == NULL)
        return NULL;
    size_t head = (size_t)(plus - url), tail = strlen(sep);
    char *s = malloc(head + tail + 1);
    if (s) {
        memcpy(s, url, head);
        memcpy(s + head, sep, tail + 1);
    }
    return s;
}

/*
 * One line for a failed connection: "could not connect to HOST:PORT:
 * reason", libpq's further lines (its hints) as the detail, and every
 * password libpq knows of scrubbed from both. MIG_DRV_ERROR, like any
 * failed connect: MIG_DRV_CONN is for a connection lost once made.
 */
static int connect_error(PGconn *pg, const char *url, mig_drv_error *err)
{
    const char *msg = pg ? PQerrorMessage(pg) : "out of memory";
    const char *host = pg ? PQhost(pg) : NULL;
    const char *port = pg ? PQport(pg) : NULL;
    char reason[600];
    size_t first = strcspn(msg, "\n");

    mig_drv_error_clear(err);
    /* libpq 14+: connection to server at "h" (addr), port p failed: REASON */
    const char *r = msg, *f = strstr(msg, " failed: ");
    if (f && f < msg + first)
        r = f + 9;
    copy_line(reason, sizeof reason, r, (size_t)(msg + first - r));
    if (strncmp(reason, "FATAL: ", 7) == 0)
        memmove(reason, reason + 7, strlen(reason + 7) + 1);
    if (host == NULL || *host == '\0')
        host = getenv("PGHOST");
    if (host == NULL || *host == '\0')
        host = "localhost";
    if (port == NULL || *port == '\0')
        port = getenv("PGPORT");
    if (port == NULL || *port == '\0')
        port = "5432";
    snprintf(err->message, sizeof err->message, "could not connect to %s:%s: %s", host, port,
             reason[0] ? reason : "unknown error");
    if (msg[first] == '\n')
        detail_add(err->detail, sizeof err->detail, "; ", msg + first + 1);

    /* the password may come from the URL, PGPASSWORD or ~/.pgpass */
    if (pg && PQpass(pg)) {
        mig_secret_scrub_value(err->message, sizeof err->message, PQpass(pg));
        mig_secret_scrub_value(err->detail, sizeof err->detail, PQpass(pg));
    }
    if (url) {
        mig_secret_scrub(err->message, sizeof err->message, url);
        mig_secret_scrub(err->detail, sizeof err->detail, url);
    }
    return MIG_DRV_ERROR;
}

/*
 * A URL libpq cannot parse: its message may quote the offending token,
 * which can be the password, so quoted text is dropped when the URL holds
 * one.
 */
static int bad_url_error(const char *url, char *pqmsg, mig_drv_error *err)
{
    char masked[512], why[512];
    size_t o = 0;
    int has_secret;

    pg_mask_url(url, masked, sizeof masked);
    has_secret = strcmp(masked, url) != 0;
    for (const char *p = pqmsg ? pqmsg : "invalid"; *p && o + 6 < sizeof why; p++) {
        if (has_secret && *p == '"') {
            const char *q = strchr(p + 1, '"');
            o += (size_t)snprintf(why + o, sizeof why - o, "\"...\"");
            if (q == NULL)
                break;
            p = q;
        } else if (*p != '\n') {
            why[o++] = *p;
        }
    }
    why[o] = '\0';
    PQfreemem(pqmsg);
    return pg_error_msg(err, "invalid connection string %s: %s", masked, why);
}

/* ------------------------------------------------------------------ */
/* connect / close                                                     */
/* ------------------------------------------------------------------ */

/*
 * url may be a URL (postgresql:// or postgres://), a keyword string or
 * NULL; NULL leaves everything to libpq's PG* environment and defaults.
 * Keywords listed before dbname are defaults the URL may override;
 * application_name comes after it, so every mig session shows as such in
 * pg_stat_activity (the lock holder message relies on it).
 */
static int pg_connect(mig_conn **out, const char *url, const char *base_dir,
                      const mig_connect_opts *opts, mig_drv_error *err)
{
    const char *keys[6], *vals[6];
    char *fixed = NULL;
    int n = 0;

    (void)base_dir;
    *out = NULL;
    if (url && *url == '\0')
        url = NULL;
    if (url) {
        char *pqmsg = NULL;
        fixed = strip_scheme_suffix(url);
        PQconninfoOption *parsed = PQconninfoParse(fixed ? fixed : url, &pqmsg);
        if (parsed == NULL) {
            free(fixed);
            return bad_url_error(url, pqmsg, err);
        }
        PQconninfoFree(parsed);
    }

    /* migration files are UTF-8; error positions are counted in it too */
    keys[n] = "client_encoding", vals[n++] = "UTF8";
    /* an unreachable host must not hang mig forever */
    if (getenv("PGCONNECT_TIMEOUT") == NULL)
        keys[n] = "connect_timeout", vals[n++] = "30";
    if (url)
        keys[n] = "dbname", vals[n++] = fixed ? fixed : url;
    keys[n] = "application_name";
    vals[n++] = opts && opts->application_name ? opts->application_name : "mig";
    keys[n] = NULL, vals[n] = NULL;

    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    free(fixed);
    if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
        int rc = connect_error(pg, url, err);
        PQfinish(pg);
        return rc;
    }

    mig_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        PQfinish(pg);
        return pg_error_msg(err, "out of memory");
    }
    c->pg = pg;
    c->cancel = PQgetCancel(pg);
    /*
     * NOTICEs ("relation already exists, skipping" from IF NOT EXISTS, and
     * the like) would reach stderr through libpq's default notice
     * processor, between mig's own lines: only warnings are worth seeing.
     */
    int rc = pg_run(c, NULL, "SET client_min_messages = warning", 0, NULL, err);
    if (rc != MIG_DRV_OK) {
        PQfreeCancel(c->cancel);
        PQfinish(pg);
        free(c);
        return rc;
    }
    *out = c;
    return MIG_DRV_OK;
}

/*
 * The server frees a session's advisory locks only once its backend has
 * noticed the closed socket, a moment after PQfinish returns; releasing
 * them first lets the next process in at once, without a poll interval.
 */
static void pg_close(mig_conn *c)
{
    if (c == NULL)
        return;
    if (c->locked && PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_ACTIVE) {
        mig_drv_error e;
        pg_run(c, NULL, "SELECT pg_catalog.pg_advisory_unlock_all()", 0, NULL, &e);
    }
    PQfreeCancel(c->cancel);
    PQfinish(c->pg);
    free(c->schema);
    free(c);
}

/*
 * The next schema tenant on this connection: DISCARD ALL drops what a
 * revision may have left (settings, search_path, temporary tables,
 * prepared statements, cursors, advisory locks), and refuses to run in a
 * transaction, so one left open or failed is rolled back first. The
 * setting connect made goes back on after it.
 */
static int pg_reset(mig_conn *c, mig_drv_error *err)
{
    int rc = MIG_DRV_OK;

    if (PQstatus(c->pg) != CONNECTION_OK)
        return pg_error(c, NULL, err);
    if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        rc = pg_run(c, NULL, "ROLLBACK", 0, NULL, err);
    if (rc == MIG_DRV_OK)
        rc = pg_run(c, NULL, "DISCARD ALL", 0, NULL, err);
    if (rc == MIG_DRV_OK)
        rc = pg_run(c, NULL, "SET client_min_messages = warning", 0, NULL, err);
    if (rc == MIG_DRV_OK) {
        c->locked = 0;
        free(c->schema);
        c->schema = NULL;
    }
    return rc;
}

/* PQcancel asks the server on a connection of its own: safe from another thread. */
static int pg_cancel(mig_conn *c, mig_drv_error *err)
{
    char why[256];
    if (c->cancel == NULL)
        return pg_error_msg(err, "cannot cancel: no cancel key for this connection");
    if (!PQcancel(c->cancel, why, (int)sizeof why))
        return pg_error_msg(err, "cannot cancel: %s", why);
    return MIG_DRV_OK;
}

/* ------------------------------------------------------------------ */
/* exec                                                                */
/* ------------------------------------------------------------------ */

static int64_t cmd_tuples(PGresult *res)
{
    const char *t = PQcmdTuples(res);
    return (t && *t) ? strtoll(t, NULL, 10) : 0;
}

/*
 * Send text (NUL-terminated, possibly several statements) as one simple
 * query and read every result: the server answers statement by statement,
 * so *done counts the statements that completed before a failure.
 */
static int send_script(mig_conn *c, const char *text, int *done, int64_t *affected, mig_drv_error *err)
{
    PGresult *res;
    int rc = MIG_DRV_OK;

    *done = 0;
    if (!PQsendQuery(c->pg, text))
        return pg_error(c, NULL, err);
    while ((res = PQgetResult(c->pg)) != NULL) {
        switch (PQresultStatus(res)) {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
            if (rc == MIG_DRV_OK) {
                (*done)++;
                if (affected)
                    *affected = cmd_tuples(res);
            }
            break;
        case PGRES_EMPTY_QUERY:
            break;
        case PGRES_COPY_IN:
            /* no data to feed: the server turns this into the statement's error */
            PQputCopyEnd(c->pg, "COPY FROM STDIN is not supported in a migration");
            break;
        case PGRES_COPY_OUT: {
            char *row;
            while (PQgetCopyData(c->pg, &row, 0) > 0)
                PQfreemem(row);
            break;
        }
        default:
            /* the first error is the cause; keep draining to leave the connection idle */
            if (rc == MIG_DRV_OK)
                rc = pg_error(c, res, err);
            break;
        }
        PQclear(res);
        if (PQstatus(c->pg) == CONNECTION_BAD) {
            if (rc == MIG_DRV_OK)
                (void)pg_error(c, NULL, err); /* for its message: the code is CONN */
            rc = MIG_DRV_CONN;
            break;
        }
    }
    return rc;
}

/*
 * After a failure in piece = whole[base .. base+n): point stmt_offset at
 * the failing statement -- the one holding the server's error position,
 * else the one after the `done` that completed -- and turn the position
 * into one inside the whole text.
 */
static void locate_error(const char *whole, size_t wlen, size_t base, size_t n, int done,
                         mig_drv_error *err)
{
    const char *piece = whole + base;
    size_t at = (size_t)-1, off = 0;
    int k = 0, found = 0;

    if (err->position > 0)
        at = pg_lex_char_to_byte(piece, n, err->position);
    while (off < n && !found) {
        int code;
        size_t end = off + pg_lex_statement(piece + off, n - off, &code);
        if (!code)
            break;
        if (at != (size_t)-1 ? at < end : k == done) {
            err->stmt_offset = base + off + pg_lex_code_start(piece + off, end - off);
            found = 1;
        }
        k++;
        off = end;
    }
    if (!found)
        err->stmt_offset = base + pg_lex_code_start(piece, n);
    if (err->position > 0)
        err->position += pg_lex_byte_to_char(whole, wlen, base) - 1;
}

/*
 * Several statements at once. Inside a transaction block, one round trip
 * per batch of about 1 MB of whole statements. Outside one, statement by statement: the server would run a
 * multi-statement string as one implicit transaction, where CREATE INDEX
 * CONCURRENTLY, VACUUM and the like are refused -- and outside a
 * transaction each statement is meant to stand on its own.
 */
#define PG_BATCH_BYTES ((size_t)1 << 20)

static int pg_exec(mig_conn *c, const char *sql, size_t len, int64_t *affected, mig_drv_error *err)
{
    const char *nul;
    int done, rc;

    if (affected)
        *affected = 0;
    if (len == 0)
        return MIG_DRV_OK;
    if ((nul = memchr(sql, '\0', len)) != NULL) {
        pg_error_msg(err, "SQL text holds a NUL byte");
        err->stmt_offset = (size_t)(nul - sql);
        return MIG_DRV_ERROR;
    }
    if (PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
        /*
         * Whole statements in batches of about 1 MB, one round trip each:
         * neither a copy of the whole script nor a libpq send buffer of
         * its size (a 20 MB revision peaked at 4.4 times its size).
         */
        char *batch = NULL;
        size_t cap = 0;
        rc = MIG_DRV_OK;
        for (size_t off = 0; off < len && rc == MIG_DRV_OK;) {
            size_t n = 0;
            while (off + n < len && n < PG_BATCH_BYTES) {
                int code;
                size_t k = pg_lex_statement(sql + off + n, len - off - n, &code);
                if (k == 0)
                    break;
                n += k;
            }
            if (n == 0)
                break;
            if (n + 1 > cap) {
                char *grown = realloc(batch, n + 1);
                if (grown == NULL) {
                    rc = pg_error_msg(err, "out of memory");
                    break;
                }
                batch = grown;
                cap = n + 1;
            }
            memcpy(batch, sql + off, n);
            batch[n] = '\0';
            rc = send_script(c, batch, &done, affected, err);
            if (rc != MIG_DRV_OK)
                locate_error(sql, len, off, n, done, err);
            off += n;
        }
        free(batch);
        return rc;
    }

    char *text = malloc(len + 1);
    if (text == NULL)
        return pg_error_msg(err, "out of memory");
    memcpy(text, sql, len);
    text[len] = '\0';
    rc = MIG_DRV_OK;
    for (size_t off = 0; off < len;) {
        int code;
        size_t n = pg_lex_statement(text + off, len - off, &code);
        if (!code)
            break;
        char saved = text[off + n];
        text[off + n] = '\0';
        rc = send_script(c, text + off, &done, affected, err);
        text[off + n] = saved;
        if (rc != MIG_DRV_OK) {
            locate_error(text, len, off, n, done, err);
            break;
        }
        off += n;
    }
    free(text);
    return rc;
}

/* ------------------------------------------------------------------ */
/* parameters                                                          */
/* ------------------------------------------------------------------ */

/* libpq's parallel arrays for one statement's parameters. */
typedef struct params {
    int n;
    Oid *types;
    const char **values;
    int *lengths;
    int *formats;
    char *scratch; /* numbers and NUL-terminated copies of text */
} params;

static void params_free(params *p)
{
    free(p->types);
    free(p->values);
    free(p->lengths);
    free(p->formats);
    free(p->scratch);
    memset(p, 0, sizeof *p); /* a second release is harmless */
}

/*
 * Text goes untyped, so the server infers its type from where it is used
 * (a timestamp, a json, an enum); numbers and booleans are typed so that
 * `SELECT ?` returns them as numbers; blobs go binary as bytea.
 */
static int params_build(params *p, const mig_value *v, int n, mig_drv_error *err)
{
    size_t need = 0, o = 0;

    memset(p, 0, sizeof *p);
    p->n = n;
    if (n <= 0)
        return MIG_DRV_OK;
    for (int i = 0; i < n; i++) {
        if (v[i].type == MIG_VAL_TEXT) {
            /* an empty text may come as (NULL, 0) */
            if (v[i].u.s.len > 0 && memchr(v[i].u.s.ptr, '\0', v[i].u.s.len))
                return pg_error_msg(
                    err,
                    "parameter %d: text holds a NUL byte, which PostgreSQL text cannot store (bind it as a blob)",
                    i + 1);
            need += v[i].u.s.len + 1;
        } else {
            need += 32;
        }
    }
    p->types = calloc((size_t)n, sizeof *p->types);
    p->values = calloc((size_t)n, sizeof *p->values);
    p->lengths = calloc((size_t)n, sizeof *p->lengths);
    p->formats = calloc((size_t)n, sizeof *p->formats);
    p->scratch = malloc(need);
    if (!p->types || !p->values || !p->lengths || !p->formats || !p->scratch) {
        params_free(p);
        return pg_error_msg(err, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        char *s = p->scratch + o;
        switch (v[i].type) {
        case MIG_VAL_NULL:
            p->values[i] = NULL;
            continue;
        case MIG_VAL_INT:
            p->types[i] = OID_INT8;
            o += (size_t)snprintf(s, 32, "%" PRId64, v[i].u.i) + 1;
            break;
        case MIG_VAL_FLOAT:
            p->types[i] = OID_FLOAT8;
            if (isnan(v[i].u.f))
                o += (size_t)snprintf(s, 32, "NaN") + 1;
            else if (isinf(v[i].u.f))
                o += (size_t)snprintf(s, 32, "%sInfinity", v[i].u.f < 0 ? "-" : "") + 1;
            else
                o += (size_t)snprintf(s, 32, "%.17g", v[i].u.f) + 1;
            break;
        case MIG_VAL_BOOL:
            p->types[i] = OID_BOOL;
            o += (size_t)snprintf(s, 32, "%s", v[i].u.b ? "true" : "false") + 1;
            break;
        case MIG_VAL_TEXT:
            if (v[i].u.s.len > 0)
                memcpy(s, v[i].u.s.ptr, v[i].u.s.len);
            s[v[i].u.s.len] = '\0';
            o += v[i].u.s.len + 1;
            break;
        case MIG_VAL_BLOB:
            p->types[i] = OID_BYTEA;
            p->values[i] = v[i].u.s.len ? v[i].u.s.ptr : "";
            p->lengths[i] = (int)v[i].u.s.len;
            p->formats[i] = 1;
            continue;
        default:
            params_free(p);
            return pg_error_msg(err, "parameter %d: unknown value type %d", i + 1, (int)v[i].type);
        }
        p->values[i] = s;
    }
    return MIG_DRV_OK;
}

/*
 * sql with `?` numbered as $1..$n, checked against nparams. *out is
 * malloc'd.
 */
static int number_params(char **out, const char *sql, int nparams, mig_drv_error *err)
{
    int found = 0;

    *out = pg_lex_number_params(sql, strlen(sql), &found);
    if (*out == NULL)
        return pg_error_msg(err, "out of memory");
    if (found != nparams) {
        free(*out);
        *out = NULL;
        return pg_error_msg(err, "statement has %d placeholder%s but %d value%s given", found,
                            found == 1 ? "" : "s", nparams, nparams == 1 ? " was" : "s were");
    }
    return MIG_DRV_OK;
}

/* Run numbered (prefix + sql) with p; errors point into the caller's sql. */
static int run_params(mig_conn *c, PGresult **out, const char *sql, const char *numbered, size_t prefix,
                      const params *p, mig_drv_error *err)
{
    PGresult *res = PQexecParams(c->pg, numbered, p->n, p->types, p->values, p->lengths, p->formats, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        *out = res;
        return MIG_DRV_OK;
    }
    int rc = pg_error(c, res, err);
    PQclear(res);
    if (err->position > 0) {
        size_t nlen = strlen(numbered),
               slen = strlen(sql); /* NOLINT(clang-analyzer-core.NonNullParamChecker) */
        size_t b = pg_lex_char_to_byte(numbered, nlen, err->position);
        b = b > prefix ? b - prefix : 0;
        b = pg_lex_unnumber_offset(sql, slen, b);
        err->position = pg_lex_byte_to_char(sql, slen, b);
    }
    return rc;
}

static int pg_exec_params(mig_conn *c, const char *sql, const mig_value *values, int nvalues,
                          int64_t *affected, mig_drv_error *err)
{
    char *numbered = NULL;
    PGresult *res = NULL;
    params p;
    int rc;

    if (affected)
        *affected = 0;
    if ((rc = number_params(&numbered, sql, nvalues, err)) != MIG_DRV_OK)
        return rc;
    if ((rc = params_build(&p, values, nvalues, err)) != MIG_DRV_OK) {
        free(numbered);
        return rc;
    }
    rc = run_params(c, &res, sql, numbered, 0, &p, err);
    if (rc == MIG_DRV_OK) {
        if (affected)
            *affected = cmd_tuples(res);
        PQclear(res);
    }
    params_free(&p);
    free(numbered);
    return rc;
}

/* ------------------------------------------------------------------ */
/* cursors                                                             */
/* ------------------------------------------------------------------ */

/*
 * A query is read through a server-side cursor declared WITH HOLD, so it
 * needs no transaction of its own and outlives a COMMIT the core makes
 * while it is open (transaction_per_migration). Inside a transaction the
 * rows stream as they are fetched (they are only materialised if the
 * transaction commits with the cursor still open); outside one, the
 * server materialises the result when DECLARE's implicit transaction
 * ends -- the price of never holding a transaction open behind the
 * core's back. Statements DECLARE refuses (INSERT ... RETURNING, FOR
 * UPDATE) run directly: their whole result comes back at once.
 */
struct mig_cursor {
    mig_conn *conn;
    char name[32];
    int open;      /* the server-side cursor still exists */
    int exhausted; /* no rows left on the server side */
    PGresult *res; /* the current batch */
    int row;       /* index in res of the row handed out last */
    int ncols;
    const char **names;
    mig_value *values;
    unsigned char **blobs; /* PQunescapeBytea output for the current row */
    mig_row out;
};

static void free_blobs(mig_cursor *cur)
{
    for (int i = 0; cur->blobs && i < cur->ncols; i++) {
        PQfreemem(cur->blobs[i]);
        cur->blobs[i] = NULL;
    }
}

/*
 * Close the server-side cursor if it still exists; never fails the caller.
 * just_fetched: a FETCH on it has just succeeded, so it surely exists.
 */
static void close_server_cursor(mig_cursor *cur, int just_fetched)
{
    mig_conn *c = cur->conn;
    const char *name = cur->name;
    mig_drv_error e;
    int exists = 0;
    char sql[64];

    if (!cur->open)
        return;
    cur->open = 0;
    if (PQstatus(c->pg) != CONNECTION_OK || PQtransactionStatus(c->pg) == PQTRANS_INERROR)
        return;
    /*
     * A ROLLBACK of the transaction that declared it drops the cursor, and
     * a CLOSE that fails would abort the caller's transaction: look first.
     */
    if (!just_fetched &&
        (run_bool(c, &exists, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_cursors WHERE name = $1)", 1,
                  &name, &e) != MIG_DRV_OK ||
         !exists))
        return;
    snprintf(sql, sizeof sql, "CLOSE %s", cur->name);
    pg_run(c, NULL, sql, 0, NULL, &e);
}

/* Names and value slots for a result's columns (same for every batch). */
static int cursor_shape(mig_cursor *cur, mig_drv_error *err)
{
    if (cur->names != NULL)
        return MIG_DRV_OK;
    cur->ncols = PQnfields(cur->res);
    size_t n = cur->ncols > 0 ? (size_t)cur->ncols : 1;
    cur->names = calloc(n, sizeof *cur->names);
    cur->values = calloc(n, sizeof *cur->values);
    cur->blobs = calloc(n, sizeof *cur->blobs);
    if (!cur->names || !cur->values || !cur->blobs)
        return pg_error_msg(err, "out of memory");
    return MIG_DRV_OK;
}

/* Digits in a numeric's text, to tell whether a double holds it exactly. */
static int significant_digits(const char *s)
{
    int n = 0, leading = 1;

    for (; *s && *s != 'e' && *s != 'E'; s++) {
        if (*s < '0' || *s > '9')
            continue;
        if (*s == '0' && leading)
            continue;
        leading = 0;
        n++;
    }
    return n;
}

static int is_integer_text(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/*
 * Column values of res's row r, by the column's type:
 * int2/int4/int8/oid -> INT, float4/float8 -> FLOAT, bool -> BOOL,
 * bytea -> BLOB, anything else -> TEXT (pointing into res).
 * numeric: an integer that fits int64 is an INT (sum(bigint) is numeric
 * and is still a count); one with at most 15 significant digits is a
 * FLOAT, which holds it exactly; a longer one stays TEXT so that no digit
 * is lost (money, large identifiers).
 */
static int cursor_row(mig_cursor *cur, int r, mig_drv_error *err)
{
    PGresult *res = cur->res;

    free_blobs(cur);
    for (int i = 0; i < cur->ncols; i++) {
        mig_value *v = &cur->values[i];
        cur->names[i] = PQfname(res, i);
        if (PQgetisnull(res, r, i)) {
            v->type = MIG_VAL_NULL;
            continue;
        }
        const char *s = PQgetvalue(res, r, i);
        size_t len = (size_t)PQgetlength(res, r, i);
        switch (PQftype(res, i)) {
        case OID_INT2:
        case OID_INT4:
        case OID_INT8:
        case OID_OID:
            v->type = MIG_VAL_INT;
            v->u.i = strtoll(s, NULL, 10);
            break;
        case OID_FLOAT4:
        case OID_FLOAT8:
            v->type = MIG_VAL_FLOAT;
            v->u.f = strtod(s, NULL);
            break;
        case OID_NUMERIC:
            if (is_integer_text(s) && significant_digits(s) <= 18) {
                v->type = MIG_VAL_INT;
                v->u.i = strtoll(s, NULL, 10);
            } else if (significant_digits(s) <= 15) {
                v->type = MIG_VAL_FLOAT;
                v->u.f = strtod(s, NULL);
            } else {
                v->type = MIG_VAL_TEXT;
                v->u.s.ptr = s;
                v->u.s.len = len;
            }
            break;
        case OID_BOOL:
            v->type = MIG_VAL_BOOL;
            v->u.b = s[0] == 't';
            break;
        case OID_BYTEA: {
            size_t blen = 0;
            cur->blobs[i] = PQunescapeBytea((const unsigned char *)s, &blen);
            if (cur->blobs[i] == NULL)
                return pg_error_msg(err, "out of memory");
            v->type = MIG_VAL_BLOB;
            v->u.s.ptr = (const char *)cur->blobs[i];
            v->u.s.len = blen;
            break;
        }
        default:
            v->type = MIG_VAL_TEXT;
            v->u.s.ptr = s;
            v->u.s.len = len;
            break;
        }
    }
    cur->out.ncols = cur->ncols;
    cur->out.names = cur->names;
    cur->out.values = cur->values;
    return MIG_DRV_OK;
}

static void pg_cursor_close(mig_cursor *cur)
{
    if (cur == NULL)
        return;
    free_blobs(cur);
    close_server_cursor(cur, 0);
    PQclear(cur->res);
    free(cur->names);
    free(cur->values);
    free(cur->blobs);
    free(cur);
}

/*
 * Whether sql ends in LIMIT n (OFFSET m) with n at most one FETCH's rows:
 * its whole result is one batch, so a cursor would only cost two round
 * trips more (DECLARE, FETCH, CLOSE instead of one); a backfill asks for
 * its batch's bound this way every batch. Read from the end, so a LIMIT
 * in a subquery (followed by ')') never counts; one in a trailing comment
 * only costs the memory of a result read at once.
 */
static int one_fetch_result(const char *sql)
{
    size_t e = strlen(sql);
    int words = 0;

    for (;;) {
        size_t d, w;
        while (e > 0 && (isspace((unsigned char)sql[e - 1]) || sql[e - 1] == ';'))
            e--;
        for (d = e; d > 0 && isdigit((unsigned char)sql[d - 1]); d--)
            ;
        if (d == e || d == 0 || !isspace((unsigned char)sql[d - 1]))
            return 0;
        for (w = d; w > 0 && isspace((unsigned char)sql[w - 1]); w--)
            ;
        if (w >= 6 && strncasecmp(sql + w - 6, "OFFSET", 6) == 0 && words == 0 &&
            (w == 6 || !isalnum((unsigned char)sql[w - 7]))) {
            e = w - 6;
            words = 1;
            continue;
        }
        return w >= 5 && strncasecmp(sql + w - 5, "LIMIT", 5) == 0 && w > 5 &&
               (isspace((unsigned char)sql[w - 6]) || sql[w - 6] == ')') && e - d <= 9 &&
               strtol(sql + d, NULL, 10) <= FETCH_BATCH;
    }
}

static int pg_query(mig_cursor **out, mig_conn *c, const char *sql, const mig_value *values, int nvalues,
                    mig_drv_error *err)
{
    char *numbered = NULL, *declare = NULL;
    mig_cursor *cur = NULL;
    params p;
    int rc;

    *out = NULL;
    if ((rc = number_params(&numbered, sql, nvalues, err)) != MIG_DRV_OK)
        return rc;
    if ((rc = params_build(&p, values, nvalues, err)) != MIG_DRV_OK) {
        free(numbered);
        return rc;
    }
    cur = calloc(1, sizeof *cur);
    if (cur == NULL) {
        rc = pg_error_msg(err, "out of memory");
        goto done;
    }
    cur->conn = c;
    cur->row = -1;

    if (pg_lex_is_cursorable(sql, strlen(sql)) && !one_fetch_result(sql)) {
        PGresult *res = NULL;
        int head;
        snprintf(cur->name, sizeof cur->name, "mig_cur_%u", ++c->cursor_seq);
        size_t dlen = strlen(numbered) + 80; /* NOLINT(clang-analyzer-core.NonNullParamChecker) */
        declare = malloc(dlen);
        if (declare == NULL) {
            rc = pg_error_msg(err, "out of memory");
            goto done;
        }
        head = snprintf(declare, dlen, "DECLARE %s NO SCROLL CURSOR WITH HOLD FOR ", cur->name);
        snprintf(declare + head, dlen - (size_t)head, "%s", numbered);
        rc = run_params(c, &res, sql, declare, (size_t)head, &p, err);
        if (rc != MIG_DRV_OK)
            goto done;
        PQclear(res);
        cur->open = 1;
    } else {
        rc = run_params(c, &cur->res, sql, numbered, 0, &p, err);
        if (rc != MIG_DRV_OK)
            goto done;
        cur->exhausted = 1;
        rc = cursor_shape(cur, err);
    }

done:
    params_free(&p);
    free(numbered);
    free(declare);
    if (rc != MIG_DRV_OK) {
        pg_cursor_close(cur);
        return rc;
    }
    *out = cur;
    return MIG_DRV_OK;
}

static int pg_fetch(mig_cursor *cur, const mig_row **row, mig_drv_error *err)
{
    int rc;

    *row = NULL;
    if (cur->res && cur->row + 1 < PQntuples(cur->res)) {
        cur->row++;
        if ((rc = cursor_row(cur, cur->row, err)) != MIG_DRV_OK)
            return rc;
        *row = &cur->out;
        return MIG_DRV_OK;
    }
    if (cur->exhausted)
        return MIG_DRV_OK;

    char sql[80];
    free_blobs(cur);
    PQclear(cur->res);
    cur->res = NULL;
    cur->row = -1;
    snprintf(sql, sizeof sql, "FETCH FORWARD %d FROM %s", FETCH_BATCH, cur->name);
    if ((rc = pg_run(cur->conn, &cur->res, sql, 0, NULL, err)) != MIG_DRV_OK) {
        cur->exhausted = 1;
        return rc;
    }
    if ((rc = cursor_shape(cur, err)) != MIG_DRV_OK)
        return rc;
    int n = PQntuples(cur->res);
    if (n < FETCH_BATCH) {
        /* a short batch is the last: close now and spare a FETCH */
        cur->exhausted = 1;
        close_server_cursor(cur, 1);
    }
    if (n == 0)
        return MIG_DRV_OK;
    cur->row = 0;
    if ((rc = cursor_row(cur, 0, err)) != MIG_DRV_OK)
        return rc;
    *row = &cur->out;
    return MIG_DRV_OK;
}

/* ------------------------------------------------------------------ */
/* transactions                                                        */
/* ------------------------------------------------------------------ */

static int pg_begin(mig_conn *c, int write, mig_drv_error *err)
{
    (void)write; /* PostgreSQL takes row and table locks as it goes */
    return pg_run(c, NULL, "BEGIN", 0, NULL, err);
}

/*
 * COMMIT of a transaction in which a statement failed is no error to the
 * server: it rolls back and answers "ROLLBACK". mig must not read that as
 * success.
 */
static int pg_commit(mig_conn *c, mig_drv_error *err)
{
    PGresult *res = NULL;
    int rc = pg_run(c, &res, "COMMIT", 0, NULL, err);

    if (rc != MIG_DRV_OK)
        return rc;
    int rolled_back = strcmp(PQcmdStatus(res), "ROLLBACK") == 0;
    PQclear(res);
    if (rolled_back) {
        pg_error_msg(err, "transaction was rolled back: a statement in it failed");
        snprintf(err->sqlstate, sizeof err->sqlstate, "25P02");
        return MIG_DRV_ERROR;
    }
    return MIG_DRV_OK;
}

static int pg_rollback(mig_conn *c, mig_drv_error *err)
{
    return pg_run(c, NULL, "ROLLBACK", 0, NULL, err);
}

/* ------------------------------------------------------------------ */
/* migration lock                                                      */
/* ------------------------------------------------------------------ */

/*
 * The advisory lock key: 64-bit FNV-1a of the key string, the same on
 * every machine and every build, so all mig processes agree on it.
 */
static int64_t lock_key(const char *key)
{
    uint64_t h = 0xcbf29ce484222325u;

    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3u;
    }
    return (int64_t)h;
}

/* "mig (pid 4711, client 10.0.0.5)" for whoever holds the lock now. */
static void lock_holder(mig_conn *c, int64_t key, char *holder, size_t holder_len)
{
    uint64_t u = (uint64_t)key;
    char hi[16], lo[16];
    const char *params[2] = { hi, lo };
    PGresult *res = NULL;
    mig_drv_error e;

    if (holder == NULL || holder_len == 0)
        return;
    snprintf(holder, holder_len, "another session");
    /* pg_locks shows a bigint key as classid = high half, objid = low half, objsubid = 1 */
    snprintf(hi, sizeof hi, "%" PRIu32, (uint32_t)(u >> 32));
    snprintf(lo, sizeof lo, "%" PRIu32, (uint32_t)u);
    if (pg_run(c, &res,
               "SELECT coalesce(nullif(a.application_name, ''), 'unnamed'), l.pid, "
               "CASE WHEN a.client_addr IS NOT NULL THEN host(a.client_addr) "
               "     WHEN a.client_port = -1 THEN 'local socket' ELSE 'unknown' END "
               "FROM pg_catalog.pg_locks l "
               "LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
               "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
               "AND l.classid = $1::oid AND l.objid = $2::oid "
               "AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) "
               "LIMIT 1",
               2, params, &e) != MIG_DRV_OK)
        return;
    if (PQntuples(res) == 1)
        snprintf(holder, holder_len, "%s (pid %s, client %s)", PQgetvalue(res, 0, 0),
                 PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
    PQclear(res);
}

/*
 * A session-level advisory lock: not tied to any transaction (so CREATE
 * INDEX CONCURRENTLY on another connection cannot wait on it), freed by
 * the server when the session ends. Re-entrant on one session, like every
 * PostgreSQL advisory lock: each successful lock_try needs an unlock.
 */
static int pg_lock_try(mig_conn *c, const char *key, char *holder, size_t holder_len, mig_drv_error *err)
{
    int64_t k = lock_key(key);
    char kbuf[24];
    const char *param = kbuf;
    int got = 0, rc;

    if (holder && holder_len)
        holder[0] = '\0';
    snprintf(kbuf, sizeof kbuf, "%" PRId64, k);
    rc = run_bool(c, &got, "SELECT pg_catalog.pg_try_advisory_lock($1::bigint)", 1, &param, err);
    if (rc != MIG_DRV_OK)
        return rc;
    if (got) {
        c->locked = 1;
        return MIG_DRV_OK;
    }
    lock_holder(c, k, holder, holder_len);
    return MIG_DRV_BUSY;
}

/*
 * Releases one hold of the lock. A lock this session does not hold is an
 * error, found out before asking the server to release it (which would
 * also print a WARNING).
 */
static int pg_unlock(mig_conn *c, const char *key, mig_drv_error *err)
{
    int64_t k = lock_key(key);
    uint64_t u = (uint64_t)k;
    char kbuf[24], hi[16], lo[16];
    const char *params[3] = { kbuf, hi, lo };
    int released = 0, rc;

    snprintf(kbuf, sizeof kbuf, "%" PRId64, k);
    snprintf(hi, sizeof hi, "%" PRIu32, (uint32_t)(u >> 32));
    snprintf(lo, sizeof lo, "%" PRIu32, (uint32_t)u);
    rc = run_bool(c, &released,
                  "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_locks "
                  "WHERE locktype = 'advisory' AND pid = pg_catalog.pg_backend_pid() "
                  "AND granted AND objsubid = 1 AND classid = $2::oid AND objid = $3::oid) "
                  "THEN pg_catalog.pg_advisory_unlock($1::bigint) ELSE false END",
                  3, params, err);
    if (rc != MIG_DRV_OK)
        return rc;
    if (!released)
        return pg_error_msg(err, "migration lock \"%s\" was not held by this session", key);
    return MIG_DRV_OK;
}

/* ------------------------------------------------------------------ */
/* schemas, quoting, tables                                            */
/* ------------------------------------------------------------------ */

/* "name" with every '"' doubled: a pure function, no connection needed. */
static size_t pg_quote_ident(const char *name, char *buf, size_t buflen)
{
    outbuf o = { buf, buflen, 0 };

    out_put(&o, "\"", 1);
    for (const char *p = name; *p; p++) {
        out_put(&o, p, 1);
        if (*p == '"')
            out_put(&o, p, 1);
    }
    out_put(&o, "\"", 1);
    return out_end(&o);
}

/* malloc'd quoted identifier, NULL on out-of-memory. */
static char *quote_alloc(const char *name)
{
    size_t n = pg_quote_ident(name, NULL, 0);
    char *q = malloc(n + 1);

    if (q)
        pg_quote_ident(name, q, n + 1);
    return q;
}

/*
 * search_path = schema, then the core's extra list (already quoted). The
 * schema always comes first, because that is where CREATE puts
 * unqualified tables, mig's own version and history tables included;
 * an extra list that already starts with it is used as it is.
 * Run outside a transaction: a ROLLBACK would undo the SET.
 */
static int pg_set_schema(mig_conn *c, const char *schema, const char *search_path, mig_drv_error *err)
{
    char *q = quote_alloc(schema), *sql;
    int rc;

    if (q == NULL)
        return pg_error_msg(err, "out of memory");
    if (search_path && *search_path == '\0')
        search_path = NULL;
    size_t n = strlen(q) + (search_path ? strlen(search_path) : 0) + 40;
    sql = malloc(n);
    if (sql == NULL) {
        free(q);
        return pg_error_msg(err, "out of memory");
    }
    if (search_path == NULL) {
        snprintf(sql, n, "SET search_path TO %s", q);
    } else {
        const char *p = search_path;
        while (isspace((unsigned char)*p))
            p++;
        size_t ql = strlen(q), sl = strlen(schema);
        int first = (strncmp(p, q, ql) == 0 && (p[ql] == ',' || p[ql] == ' ' || p[ql] == '\0')) ||
                    (strncmp(p, schema, sl) == 0 && (p[sl] == ',' || p[sl] == ' ' || p[sl] == '\0'));
        if (first)
            snprintf(sql, n, "SET search_path TO %s", search_path);
        else
            snprintf(sql, n, "SET search_path TO %s, %s", q, search_path);
    }
    rc = pg_run(c, NULL, sql, 0, NULL, err);
    if (rc == MIG_DRV_OK) {
        char *copy = strdup(schema);
        if (copy == NULL)
            rc = pg_error_msg(err, "out of memory");
        else {
            free(c->schema);
            c->schema = copy;
        }
    }
    free(sql);
    free(q);
    return rc;
}

static int pg_schema_exists(mig_conn *c, const char *schema, int *exists, mig_drv_error *err)
{
    return run_bool(c, exists, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)",
                    1, &schema, err);
}

/*
 * CREATE SCHEMA IF NOT EXISTS is no guard against a concurrent creator:
 * both see no schema, and the second fails on pg_namespace's unique index
 * once the first commits. That failure means the schema is there, so it is
 * success -- inside a transaction behind a savepoint, so the failed
 * statement does not abort the caller's transaction.
 */
static int pg_create_schema(mig_conn *c, const char *schema, mig_drv_error *err)
{
    char *q = quote_alloc(schema), *sql;
    int in_txn = PQtransactionStatus(c->pg) == PQTRANS_INTRANS;
    int rc;

    if (q == NULL)
        return pg_error_msg(err, "out of memory");
    size_t n = strlen(q) + 40;
    sql = malloc(n);
    if (sql == NULL) {
        free(q);
        return pg_error_msg(err, "out of memory");
    }
    snprintf(sql, n, "CREATE SCHEMA IF NOT EXISTS %s", q);
    if (in_txn && (rc = pg_run(c, NULL, "SAVEPOINT mig_create_schema", 0, NULL, err)) != MIG_DRV_OK)
        goto done;
    rc = pg_run(c, NULL, sql, 0, NULL, err);
    if (rc == MIG_DRV_ERROR &&
        (strcmp(err->sqlstate, "23505") == 0 || strcmp(err->sqlstate, "42P06") == 0)) {
        mig_drv_error e;
        int exists = 0;
        if (in_txn)
            pg_run(c, NULL, "ROLLBACK TO SAVEPOINT mig_create_schema", 0, NULL, &e);
        if (pg_schema_exists(c, schema, &exists, &e) == MIG_DRV_OK && exists)
            rc = MIG_DRV_OK;
    }
    if (in_txn && rc == MIG_DRV_OK)
        rc = pg_run(c, NULL, "RELEASE SAVEPOINT mig_create_schema", 0, NULL, err);
done:
    free(sql);
    free(q);
    return rc;
}

/*
 * A table (or view) named exactly `table` in the schema set_schema chose,
 * else in current_schema().
 */
static int pg_table_exists(mig_conn *c, const char *table, int *exists, mig_drv_error *err)
{
    const char *params[2] = { table, c->schema };
    return run_bool(c, exists,
                    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c "
                    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = coalesce($2, current_schema()) AND c.relname = $1 "
                    "AND c.relkind IN ('r', 'p', 'v', 'm', 'f'))",
                    2, params, err);
}

static int pg_current_schema(mig_conn *c, char *buf, size_t buflen, mig_drv_error *err)
{
    PGresult *res = NULL;
    int rc = pg_run(c, &res, "SELECT current_schema()", 0, NULL, err);

    if (rc != MIG_DRV_OK)
        return rc;
    const char *v = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : "";
    if (buflen > 0)
        snprintf(buf, buflen, "%s", v);
    PQclear(res);
    return MIG_DRV_OK;
}

static int pg_column_exists(mig_conn *c, const char *table, const char *column, int *exists,
                            mig_drv_error *err)
{
    const char *params[3] = { table, column, c->schema };
    return run_bool(c, exists,
                    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a "
                    "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
                    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = coalesce($3, current_schema()) AND c.relname = $1 "
                    "AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped)",
                    3, params, err);
}

static size_t pg_statement_end(const char *sql, size_t len)
{
    int code = 0;
    size_t n = pg_lex_statement(sql, len, &code);
    return code ? n : 0;
}

static int pg_introspect_slot(mig_conn *c, const char *schema, const mig_schema_sink *sink,
                              void *payload, mig_drv_error *err)
{
    return pg_introspect(c, schema ? schema : c->schema, sink, payload, err);
}

/* ------------------------------------------------------------------ */
/* the driver table                                                    */
/* ------------------------------------------------------------------ */

static const char *const pg_schemes[] = { "postgresql", "postgres", NULL };

static const mig_dialect pg_dialect = {
    .begin_sql = "BEGIN",
    .begin_write_sql = "BEGIN",
    .commit_sql = "COMMIT",
    .rollback_sql = "ROLLBACK",
    .autoinc_pk = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    .timestamp_type = "TIMESTAMPTZ",
    .now_expr = "now()",
    .text_type = "TEXT",
    .ident_quote = '"',
    .backslash_escapes = 0,
    .dollar_quotes = 1,
    .hash_comments = 0,
};

/* mig test (pg_objects.c / objects.c) */
int pg_introspect_objects(mig_conn *conn, mig_object_fn fn, void *payload, const char **kinds,
                          mig_drv_error *err);

/*
 * Each limit is saved in a placeholder setting of the session before it is
 * set, and read back from there after the revision: a RESET would forget
 * what on_connect set, and SET LOCAL would outlive the revision in a
 * whole-run transaction. Plain SET (not LOCAL) so that a revision run
 * outside any transaction has its limits too; inside one, a rollback to
 * the revision's savepoint undoes them with the rest.
 */
static int pg_limits_sql(const mig_limits *lim, int restore, mig_ddl_emit_fn emit, void *payload)
{
    static const char *const names[2] = { "lock_timeout", "statement_timeout" };
    long long v[2] = { lim->lock_timeout_ms, lim->statement_timeout_ms };
    char sql[200];
    for (int i = 0; i < 2; i++) {
        if (v[i] < 0)
            continue;
        int rc;
        if (restore) {
            snprintf(sql, sizeof sql, "SELECT set_config('%s', current_setting('mig.saved_%s'), false)",
                     names[i], names[i]);
            rc = emit(payload, sql);
        } else {
            snprintf(sql, sizeof sql, "SELECT set_config('mig.saved_%s', current_setting('%s'), false)",
                     names[i], names[i]);
            rc = emit(payload, sql);
            if (rc == 0) {
                snprintf(sql, sizeof sql, "SET %s = '%lldms'", names[i], v[i]);
                rc = emit(payload, sql);
            }
        }
        if (rc)
            return rc;
    }
    return MIG_DRV_OK;
}

/* lock_not_available: lock_timeout, or NOWAIT (which also did nothing) */
static int pg_is_lock_timeout(const mig_drv_error *err)
{
    return strcmp(err->sqlstate, "55P03") == 0;
}

/* mig lint --trace: the locks that block writes (SHARE) or everything (ACCESS EXCLUSIVE), by backend */
#define PG_TRACE_LOCKS(pid)                                                                                 \
    "SELECT upper(regexp_replace(regexp_replace(l.mode, 'Lock$', ''), '([a-z])([A-Z])', '\\1 \\2', 'g')), " \
    "c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "                                      \
    "WHERE l.pid = " pid " AND l.locktype = 'relation' AND l.granted "                                      \
    "AND l.mode IN ('ShareLock', 'AccessExclusiveLock') AND c.relkind IN ('r', 'p') "                       \
    "AND c.relnamespace = current_schema()::regnamespace ORDER BY c.relname, l.mode"

static const mig_driver pg_driver = {
    .magic = MIG_DRIVER_MAGIC,
    .abi = MIG_DRIVER_ABI,
    .size = sizeof(mig_driver),
    .name = "postgres",
    .version = MIG_PG_DRIVER_VERSION,
    .description = "PostgreSQL through libpq: transactional DDL, advisory lock, schema tenants",
    .url_schemes = pg_schemes,
    .caps = MIG_CAP_TRANSACTIONAL_DDL | MIG_CAP_SESSION_LOCK | MIG_CAP_SCHEMAS | MIG_CAP_MULTI_STATEMENT,
    .dialect = &pg_dialect,
    .connect = pg_connect,
    .close = pg_close,
    .exec = pg_exec,
    .exec_params = pg_exec_params,
    .query = pg_query,
    .fetch = pg_fetch,
    .cursor_close = pg_cursor_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .lock_try = pg_lock_try,
    .unlock = pg_unlock,
    .set_schema = pg_set_schema,
    .schema_exists = pg_schema_exists,
    .create_schema = pg_create_schema,
    .quote_ident = pg_quote_ident,
    .statement_end = pg_statement_end,
    .table_exists = pg_table_exists,
    .introspect = pg_introspect_slot,
    .render_ddl = pg_render_ddl,
    .introspect_ddl = pg_introspect_ddl,
    .mask_url = pg_mask_url,
    /* NAMEDATALEN - 1: the server cuts longer names silently */
    .ident_max = 63,
    .ident_max_chars = 0,
    .current_schema = pg_current_schema,
    .column_exists = pg_column_exists,
    .introspect_objects = pg_introspect_objects,
    .limits_sql = pg_limits_sql,
    .is_lock_timeout = pg_is_lock_timeout,
    .lint_rules = pg_lint_rules,
    .lint = pg_lint,
    .table_rows = pg_table_rows,
    .cancel = pg_cancel,
    .reset = pg_reset,

    /* held until commit, so read after the statement inside its transaction */
    .trace_locks_sql = PG_TRACE_LOCKS("pg_backend_pid()"),
    .trace_session_sql = "SELECT pg_backend_pid()",
    .trace_poll_sql = PG_TRACE_LOCKS("%lld"),

};

MIG_DRIVER_DEFINE(pg_driver)
