/*
 * The SQLite driver: mig's driver ABI (mig/driver.h) over the sqlite3 C
 * library, built as mig_driver_sqlite.so.
 *
 * SQLite runs in the process, so the job here is mostly translation: URLs
 * to file names, mig_value to sqlite3_bind_*, sqlite3_column_* back to
 * mig_value, SQLite's result codes to MIG_DRV_*. The one lock that matters
 * is SQLite's own write lock: begin(write=1) is BEGIN IMMEDIATE, and the
 * busy handler makes a second writer wait for it instead of failing.
 *
 * A benchmark runs the same SQL through mig and through the sqlite3 shell,
 * so this file sets no pragma the shell does not (journal mode, synchronous
 * and foreign_keys keep SQLite's defaults), prepares each statement once,
 * and hands SQLite the caller's text without copying it.
 */
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "mig/driver.h"
#include "mig/driver_util.h"
#include "mig/secret.h"

/*
 * Statements run through exec_params and query are kept prepared, keyed by
 * their text: a data migration that runs one UPDATE per row then parses it
 * once, not once per row.
 */
#define STMT_CACHE_SIZE 16

/* Busy timeout when the core gives none: long enough for another mig run. */
#define DEFAULT_BUSY_TIMEOUT_MS 60000

/*
 * The busy timeout is how long a writer waits for another's write lock
 * (BEGIN IMMEDIATE, COMMIT): lock_timeout_s, or a minute when the core
 * leaves it 0; negative means fail at once with BUSY.
 */
static int busy_ms(double t)
{
    return t > 0   ? (t * 1000.0 >= INT_MAX ? INT_MAX : (int)(t * 1000.0))
           : t < 0 ? 0
                   : DEFAULT_BUSY_TIMEOUT_MS;
}

typedef struct cached_stmt {
    sqlite3_stmt *stmt; /* NULL: free slot */
    char *sql;          /* key, NUL-terminated copy */
    size_t len;
    unsigned long used; /* last use, for eviction */
    int busy;           /* held by an open cursor */
} cached_stmt;

struct mig_conn {
    sqlite3 *db;
    cached_stmt cache[STMT_CACHE_SIZE];
    unsigned long clock;
    struct mig_cursor *cursors; /* open cursors, finalized by close() */
    int busy_ms;                /* how long a wait for the write lock lasts */
    struct timespec busy_t0;    /* when the present wait began */
    atomic_int cancelled;       /* set by sq_cancel, cleared at the next statement */
};

struct mig_cursor {
    mig_conn *conn; /* NULL once the connection was closed */
    sqlite3_stmt *stmt;
    cached_stmt *slot; /* the cache slot stmt came from, or NULL */
    int ncols;         /* -1 until the first row */
    const char **names;
    mig_value *values;
    mig_row row;
    int done;
    struct mig_cursor *next, *prev;
};

/* ---- errors ------------------------------------------------------------ */

static void set_msg(mig_drv_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fill err from a formatted one-line message; never allocates. */
static void set_msg(mig_drv_error *err, int code, const char *fmt, ...)
{
    if (err == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    mig_drv_error_vset(err, fmt, ap);
    va_end(ap);
    /* the message is one line whatever SQLite or a path put in it */
    for (char *p = err->message; *p != '\0'; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    err->code = code;
}

/* Map a SQLite result code to the driver return code. */
static int drv_code(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
        return MIG_DRV_BUSY;
    default:
        return MIG_DRV_ERROR;
    }
}

/* Fill err with the connection's last error; returns the driver code. */
static int fail_db(mig_conn *conn, mig_drv_error *err)
{
    int rc = sqlite3_extended_errcode(conn->db);
    set_msg(err, rc, "%s", sqlite3_errmsg(conn->db));
    return drv_code(rc);
}

/* ---- URLs -------------------------------------------------------------- */

/*
 * The part of url after the scheme and an empty (or localhost) authority;
 * *authority is set when there was one ("sqlite://"). NULL with err filled
 * for something that is no SQLite URL.
 */
static const char *url_path(const char *url, int *authority, mig_drv_error *err)
{
    const char *path = url;
    int has_scheme = 0;
    static const char *const schemes[] = { "sqlite3:", "sqlite:", NULL };
    for (int i = 0; schemes[i] != NULL; i++) {
        size_t n = strlen(schemes[i]);
        if (strncmp(url, schemes[i], n) == 0) {
            path = url + n;
            has_scheme = 1;
            break;
        }
    }
    /*
     * Another database's URL or a libpq keyword string is no file name:
     * opening it would create a file named after it, password and all.
     */
    if (!has_scheme && (strstr(url, "://") != NULL || strchr(url, '=') != NULL)) {
        set_msg(err, 0, "not a sqlite url: use sqlite:///abs/path.db or sqlite:rel/path.db");
        return NULL;
    }
    *authority = 0;
    if (has_scheme && strncmp(path, "//", 2) == 0) {
        *authority = 1;
        path += 2;
        /* an empty host or localhost, as in file: URIs; nothing else */
        if (strncmp(path, "localhost/", 10) == 0)
            path += 9;
        else if (*path != '/' && *path != '\0' && *path != '?') {
            char masked[512];
            mig_secret_mask_url(url, masked, sizeof masked);
            set_msg(err, 0,
                    "sqlite url \"%s\" names a host: use sqlite:///abs/path.db "
                    "or sqlite:rel/path.db",
                    masked);
            return NULL;
        }
        /* SQLAlchemy's sqlite:////abs is the same file as sqlite:///abs */
        while (path[0] == '/' && path[1] == '/')
            path++;
    }
    return path;
}

/* dir (may be NULL) and path[0..plen) joined, as a plain file name. */
static char *plain_filename(const char *dir, size_t dlen, const char *path, size_t plen, mig_drv_error *err)
{
    char *out = malloc(dlen + 1 + plen + 1);
    if (out == NULL) {
        set_msg(err, SQLITE_NOMEM, "out of memory");
        return NULL;
    }
    size_t o = 0;
    if (dir) {
        memcpy(out, dir, dlen);
        o = dlen;
        if (o > 0 && out[o - 1] != '/')
            out[o++] = '/';
    }
    memcpy(out + o, path, plen);
    out[o + plen] = '\0';
    return out;
}

/* The same as a file: URI with query; '%', '?' and '#' in the path are escaped so it stays literal. */
static char *uri_filename(const char *dir, size_t dlen, const char *path, size_t plen, const char *query,
                          mig_drv_error *err)
{
    size_t qlen = strlen(query);
    char *out = malloc(5 + 3 * (dlen + 1 + plen) + 1 + qlen + 1);
    if (out == NULL) {
        set_msg(err, SQLITE_NOMEM, "out of memory");
        return NULL;
    }
    size_t o = 0;
    memcpy(out, "file:", 5);
    o = 5;
    for (int part = 0; part < 2; part++) {
        const char *s = part == 0 ? dir : path;
        size_t n = part == 0 ? dlen : plen;
        if (s == NULL)
            continue;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == '%' || c == '?' || c == '#') {
                o += (size_t)sprintf(out + o, "%%%02x", c);
            } else {
                out[o++] = (char)c;
            }
        }
        if (part == 0 && dlen > 0 && dir[dlen - 1] != '/')
            out[o++] = '/';
    }
    out[o++] = '?';
    memcpy(out + o, query, qlen + 1);
    return out;
}

/*
 * Turn a URL into what sqlite3_open_v2 takes. Accepted forms:
 *   sqlite:///abs/path.db, sqlite:////abs/path.db  absolute
 *   sqlite:rel/path.db                             relative to base_dir
 *   sqlite://, sqlite:///:memory:, sqlite::memory: in memory
 *   a bare path, or a file: URI passed through as is
 * A ?query is handed to SQLite as URI parameters (mode=ro, cache=shared...),
 * which means building a file: URI with the path escaped. *uri is set when
 * the result is a URI. Returns a malloc'd string, or NULL with err filled.
 */
static char *url_to_filename(const char *url, const char *base_dir, int *uri, mig_drv_error *err)
{
    *uri = 0;
    if (url == NULL || *url == '\0') {
        set_msg(err, 0, "sqlite needs a url naming the database file (sqlite:///path/to.db)");
        return NULL;
    }
    if (strncmp(url, "file:", 5) == 0) {
        *uri = 1;
        return strdup(url);
    }
    int authority;
    const char *path = url_path(url, &authority, err);
    if (path == NULL)
        return NULL;
    const char *q = strchr(path, '?');
    size_t plen = q ? (size_t)(q - path) : strlen(path);
    const char *query = q ? q + 1 : NULL;

    int memory = 0;
    if (plen == 0) {
        if (!authority) {
            char masked[512];
            mig_secret_mask_url(url, masked, sizeof masked);
            set_msg(err, 0, "sqlite url \"%s\" names no file", masked);
            return NULL;
        }
        memory = 1; /* sqlite:// */
    } else if ((plen == 8 && memcmp(path, ":memory:", 8) == 0) ||
               (plen == 9 && memcmp(path, "/:memory:", 9) == 0)) {
        memory = 1;
    }

    /* relative paths resolve against base_dir (the config file's folder) */
    const char *dir = NULL;
    if (!memory && path[0] != '/' && base_dir != NULL && *base_dir != '\0')
        dir = base_dir;
    size_t dlen = dir ? strlen(dir) : 0;

    if (memory)
        path = ":memory:", plen = 8;
    if (query == NULL || *query == '\0')
        return plain_filename(dir, dlen, path, plen, err);
    char *out = uri_filename(dir, dlen, path, plen, query, err);
    *uri = out != NULL;
    return out;
}

/* ---- waiting for the write lock ------------------------------------------ */

/*
 * SQLite's own busy timeout sleeps inside SQLite, where sqlite3_interrupt
 * does not reach: this handler waits the same time in short naps and gives
 * up as soon as sq_cancel was called, so a first Ctrl-C ends a wait for
 * another writer's lock too.
 */
static int on_busy(void *arg, int count)
{
    mig_conn *conn = arg;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (count == 0)
        conn->busy_t0 = now;
    if (atomic_load(&conn->cancelled))
        return 0;
    long waited = (long)(now.tv_sec - conn->busy_t0.tv_sec) * 1000 +
                  (now.tv_nsec - conn->busy_t0.tv_nsec) / 1000000;
    if (waited >= conn->busy_ms)
        return 0;
    /* SQLite's own steps, capped so a cancel is seen within 50 ms */
    static const int steps[] = { 1, 2, 5, 10, 15, 20, 25, 25, 25, 50 };
    long nap = count < (int)(sizeof steps / sizeof steps[0]) ? steps[count] : 50;
    if (nap > conn->busy_ms - waited)
        nap = conn->busy_ms - waited;
    struct timespec ts = { 0, nap * 1000000L };
    nanosleep(&ts, NULL);
    return 1;
}

static void busy_set(mig_conn *conn, int ms)
{
    conn->busy_ms = ms;
    sqlite3_busy_handler(conn->db, ms > 0 ? on_busy : NULL, conn);
}

/*
 * sqlite3_busy_handler makes PRAGMA busy_timeout read 0: mig_busy_timeout()
 * says how long a wait for the write lock lasts now, in milliseconds.
 */
static void fn_busy_timeout(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    mig_conn *conn = sqlite3_user_data(cx);
    sqlite3_result_int(cx, conn->busy_ms);
}

/*
 * PRAGMA busy_timeout (sq_limits_sql's, or a revision's) puts SQLite's own
 * handler back: read the value it set and wait with on_busy again.
 */
static void busy_rearm(mig_conn *conn, const char *sql)
{
    while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r')
        sql++;
    if (strncasecmp(sql, "pragma", 6) != 0 || strstr(sql, "busy_timeout") == NULL)
        return;
    sqlite3_stmt *st = NULL;
    int ms = 0;
    if (sqlite3_prepare_v2(conn->db, "PRAGMA busy_timeout", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        ms = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    busy_set(conn, ms);
}

/* ---- connect / close ---------------------------------------------------- */

static int sq_connect(mig_conn **out, const char *url, const char *base_dir,
                      const mig_connect_opts *opts, mig_drv_error *err)
{
    *out = NULL;
    int uri = 0;
    char *filename = url_to_filename(url, base_dir, &uri, err);
    if (filename == NULL)
        return MIG_DRV_ERROR;

    mig_conn *conn = calloc(1, sizeof *conn);
    if (conn == NULL) {
        free(filename);
        set_msg(err, SQLITE_NOMEM, "out of memory");
        return MIG_DRV_ERROR;
    }
    /*
     * NOMUTEX: a connection is only ever used by one thread at a time (each
     * tenant job opens its own), so SQLite's per-call mutex is pure cost.
     */
    int no_create = opts && (opts->flags & MIG_CONNECT_NO_CREATE);
    int flags = SQLITE_OPEN_READWRITE | (no_create ? 0 : SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
    if (uri)
        flags |= SQLITE_OPEN_URI;
    int rc = sqlite3_open_v2(filename, &conn->db, flags, NULL);
    if (no_create && rc == SQLITE_CANTOPEN && access(filename, F_OK) != 0) {
        set_msg(err, rc, "sqlite database \"%s\" does not exist", filename);
        sqlite3_close(conn->db);
        free(conn);
        free(filename);
        return MIG_DRV_NODB;
    }
    if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(conn->db, 1);
        busy_set(conn, busy_ms(opts ? opts->lock_timeout_s : 0));
        rc = sqlite3_create_function_v2(conn->db, "mig_busy_timeout", 0, SQLITE_UTF8, conn,
                                        fn_busy_timeout, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK) {
        /*
         * Read the schema now: sqlite3_open_v2 does not read the file, and a
         * file that is no database should fail here, where the message can
         * name it, not at the first migration.
         */
        rc = sqlite3_exec(conn->db, "SELECT 1 FROM sqlite_schema LIMIT 0", NULL, NULL, NULL);
    }
    /*
     * Foreign keys stay off, as in the sqlite3 shell: a migration that
     * rebuilds a table (create new, copy, drop old, rename) must behave the
     * same under mig as when a user runs it by hand, and with enforcement
     * on, the DROP would cascade or fail. Revisions that want it say
     * PRAGMA foreign_keys = ON themselves.
     */
    if (rc != SQLITE_OK) {
        const char *why = conn->db ? sqlite3_errmsg(conn->db) : sqlite3_errstr(rc);
        int code = conn->db ? sqlite3_extended_errcode(conn->db) : rc;
        set_msg(err, code, "cannot open sqlite database \"%s\": %s", filename, why);
        sqlite3_close(conn->db);
        free(conn);
        free(filename);
        return drv_code(code);
    }
    free(filename);
    *out = conn;
    return MIG_DRV_OK;
}

static void cursor_detach(mig_cursor *cur);

/* sqlite3_interrupt may be called from any thread while the connection is open. */
static int sq_cancel(mig_conn *conn, mig_drv_error *err)
{
    (void)err;
    atomic_store(&conn->cancelled, 1); /* for on_busy, which the interrupt does not reach */
    sqlite3_interrupt(conn->db);
    return MIG_DRV_OK;
}

static void sq_close(mig_conn *conn)
{
    if (conn == NULL)
        return;
    /* cursors still open keep their memory, but lose their statement */
    while (conn->cursors != NULL)
        cursor_detach(conn->cursors);
    for (int i = 0; i < STMT_CACHE_SIZE; i++) {
        sqlite3_finalize(conn->cache[i].stmt);
        free(conn->cache[i].sql);
    }
    /* _v2: should a statement still be live, close when it is finalized */
    sqlite3_close_v2(conn->db);
    free(conn);
}

/* ---- lexing --------------------------------------------------------------- */

/*
 * A small lexer with SQLite's rules: enough to find where statements begin
 * and end (for error offsets and statement_end) and to pick apart CREATE
 * INDEX text for introspection.
 */
typedef enum tok_kind {
    TK_END,   /* no more input */
    TK_SPACE, /* whitespace or a comment */
    TK_SEMI,
    TK_WORD, /* identifier or keyword, unquoted */
    TK_LPAREN,
    TK_RPAREN,
    TK_OTHER, /* strings, quoted names, numbers, operators */
    TK_OPEN   /* an unterminated string or comment */
} tok_kind;

static int is_word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || c >= 0x80;
}

/* Kind of the token at s[*i], advancing *i past it. */
static tok_kind next_token(const char *s, size_t len, size_t *i)
{
    size_t p = *i;
    if (p >= len)
        return TK_END;
    unsigned char c = (unsigned char)s[p];
    tok_kind k = TK_OTHER;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
        while (p < len && (s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\r' || s[p] == '\f' ||
                           s[p] == '\v'))
            p++;
        k = TK_SPACE;
    } else if (c == '-' && p + 1 < len && s[p + 1] == '-') {
        while (p < len && s[p] != '\n')
            p++;
        k = TK_SPACE;
    } else if (c == '/' && p + 1 < len && s[p + 1] == '*') {
        p += 2;
        while (p + 1 < len && !(s[p] == '*' && s[p + 1] == '/'))
            p++;
        if (p + 1 >= len) {
            p = len;
            k = TK_OPEN;
        } else {
            p += 2;
            k = TK_SPACE;
        }
    } else if (c == '\'' || c == '"' || c == '`' || c == '[') {
        char close = c == '[' ? ']' : (char)c;
        p++;
        while (p < len && s[p] != close)
            p++;
        if (p >= len)
            k = TK_OPEN;
        else
            p++; /* a doubled quote lexes as two adjacent strings: same extent */
    } else if (c == ';') {
        p++;
        k = TK_SEMI;
    } else if (c == '(') {
        p++;
        k = TK_LPAREN;
    } else if (c == ')') {
        p++;
        k = TK_RPAREN;
    } else if (is_word_char(c)) {
        while (p < len && is_word_char((unsigned char)s[p]))
            p++;
        k = TK_WORD;
    } else {
        p++;
    }
    *i = p;
    return k;
}

static int word_is(const char *s, size_t start, size_t end, const char *kw)
{
    size_t n = strlen(kw);
    return end - start == n && sqlite3_strnicmp(s + start, kw, (int)n) == 0;
}

/* Offset of the first token in s[from..len) that is not space or comment. */
static size_t skip_space(const char *s, size_t len, size_t from)
{
    size_t i = from;
    for (;;) {
        size_t at = i;
        if (next_token(s, len, &i) != TK_SPACE)
            return at;
    }
}

/*
 * Length of the first statement, with sqlite3_complete's rules: a ';' ends
 * a statement, except inside CREATE [TEMP] TRIGGER, whose body ends only at
 * a ';' that follows "; END" (so CASE ... END; inside the body does not).
 * Empty statements (";;") are skipped over. 0 when only space remains.
 */
static size_t sq_statement_end(const char *sql, size_t len)
{
    size_t i = 0;
    int words = 0;       /* significant words seen in this statement */
    int significant = 0; /* any non-space token in this statement */
    int create = 0, trigger = 0;
    int after_semi = 0, end_after_semi = 0;
    for (;;) {
        size_t start = i;
        tok_kind k = next_token(sql, len, &i);
        switch (k) {
        case TK_END:
        case TK_OPEN:
            return significant || k == TK_OPEN ? len : 0;
        case TK_SPACE:
            break;
        case TK_SEMI:
            if (!significant)
                break;
            if (!trigger || end_after_semi)
                return i;
            after_semi = 1;
            end_after_semi = 0;
            break;
        case TK_WORD:
            significant = 1;
            if (trigger) {
                end_after_semi = after_semi && word_is(sql, start, i, "END");
                after_semi = 0;
                break;
            }
            words++;
            if (words == 1 && word_is(sql, start, i, "EXPLAIN"))
                words = 0;
            else if (words == 1)
                create = word_is(sql, start, i, "CREATE");
            else if (create && words == 2 &&
                     (word_is(sql, start, i, "TEMP") || word_is(sql, start, i, "TEMPORARY")))
                words = 1;
            else if (create && words == 2)
                trigger = word_is(sql, start, i, "TRIGGER");
            break;
        default:
            significant = 1;
            if (words < 2)
                words = 2; /* EXPLAIN QUERY PLAN / anything else: no trigger */
            after_semi = end_after_semi = 0;
            break;
        }
    }
}

/* 1-based character (not byte) position of byte offset off in s. */
static long char_position(const char *s, size_t off)
{
    long n = 1;
    for (size_t i = 0; i < off; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            n++;
    return n;
}

/* ---- exec ------------------------------------------------------------------ */

/* Fill err for a failure of the statement starting at sql+start. */
static int fail_stmt(mig_conn *conn, const char *sql, size_t len, size_t start, mig_drv_error *err)
{
    int rc = fail_db(conn, err);
    if (err != NULL) {
        err->stmt_offset = skip_space(sql, len, start);
        int eo = sqlite3_error_offset(conn->db);
        if (eo >= 0 && start + (size_t)eo <= len)
            err->position = char_position(sql, start + (size_t)eo);
    }
    return rc;
}

/* Step a statement to its end, discarding rows; SQLite rc. */
static int step_all(sqlite3_stmt *stmt)
{
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        ;
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/*
 * sqlite3_prepare_v2 copies its input whenever the text it is given does not
 * end in a NUL, and exec hands it "the rest of the script" once per
 * statement: quadratic in the script's size. A text whose length covers a
 * NUL is parsed in place. Any other is parsed through a window: a
 * NUL-terminated copy of the next WINDOW bytes or so, refilled from the
 * current statement when less than half of it is left, and doubled when a
 * statement does not end inside it. So each byte is copied about twice and
 * the memory is that of the longest statement, not of the script (a 100 MB
 * revision needs no second 100 MB).
 */
#define WINDOW ((size_t)1 << 20)

typedef struct window {
    const char *sql;
    size_t len;
    char *buf; /* sql[base .. base + n), then a NUL */
    size_t base, n, cap;
} window;

/* Copy sql[from ..) into the window, cap bytes at most. */
static int window_fill(window *w, size_t from, size_t cap)
{
    if (cap > w->cap || w->buf == NULL) {
        char *b = realloc(w->buf, cap + 1);
        if (b == NULL)
            return -1;
        w->buf = b;
        w->cap = cap;
    }
    w->base = from;
    w->n = w->len - from < w->cap ? w->len - from : w->cap;
    memcpy(w->buf, w->sql + from, w->n);
    w->buf[w->n] = '\0';
    return 0;
}

/* exec and exec_counted: *statements (may be NULL) counts the statements that ran */
static int exec_text(mig_conn *conn, const char *sql, size_t len, int64_t *affected, int64_t *statements,
                     mig_drv_error *err)
{
    if (affected)
        *affected = 0;
    if (statements)
        *statements = 0;
    if (len > INT_MAX - 1) {
        set_msg(err, SQLITE_TOOBIG, "sql text is too long (%zu bytes)", len);
        return MIG_DRV_ERROR;
    }
    atomic_store(&conn->cancelled, 0);
    int in_place = len > 0 && sql[len - 1] == '\0';
    if (in_place)
        len--; /* the NUL is no part of the SQL */
    window w = { sql, len, NULL, 0, 0, 0 };
    if (!in_place && len > 0 && window_fill(&w, 0, len < WINDOW ? len : WINDOW) < 0) {
        set_msg(err, SQLITE_NOMEM, "out of memory");
        return MIG_DRV_ERROR;
    }
    int out = MIG_DRV_OK;
    size_t off = 0;
    while (off < len) {
        const char *at = sql + off;
        size_t avail = len - off;
        int partial = 0; /* the window ends before the text does */
        if (!in_place) {
            if (w.base + w.n < len && (w.base + w.n - off) < w.cap / 2 && window_fill(&w, off, w.cap) < 0) {
                set_msg(err, SQLITE_NOMEM, "out of memory");
                out = MIG_DRV_ERROR;
                break;
            }
            at = w.buf + (off - w.base);
            avail = w.base + w.n - off;
            partial = w.base + w.n < len;
        }
        sqlite3_stmt *stmt = NULL;
        const char *tail = NULL;
        /* + 1: the NUL is inside the given length, so SQLite copies nothing */
        int rc = sqlite3_prepare_v2(conn->db, at, (int)(avail + 1), &stmt, &tail);
        if (partial && (rc != SQLITE_OK || stmt == NULL || tail >= at + avail)) {
            /* the statement may go on past the window: look again with more of it */
            sqlite3_finalize(stmt);
            if (window_fill(&w, off, off == w.base ? w.cap * 2 : w.cap) < 0) {
                set_msg(err, SQLITE_NOMEM, "out of memory");
                out = MIG_DRV_ERROR;
                break;
            }
            continue;
        }
        if (rc != SQLITE_OK) {
            out = fail_stmt(conn, sql, len, off, err);
            break;
        }
        if (stmt == NULL) /* only space and comments were left */
            break;
        sqlite3_int64 before = sqlite3_total_changes64(conn->db);
        rc = step_all(stmt);
        if (rc != SQLITE_OK) {
            /* read the message before finalize, which would reset it */
            out = fail_stmt(conn, sql, len, off, err);
            sqlite3_finalize(stmt);
            break;
        }
        sqlite3_finalize(stmt);
        busy_rearm(conn, at);
        /* SQLite skips empty statements (a lone `;`, comments) and gives NULL only at the end */
        if (statements)
            ++*statements;
        if (affected) {
            /*
             * sqlite3_changes64 keeps the count of the last INSERT, UPDATE
             * or DELETE across later DDL; only believe it when this
             * statement changed something.
             */
            *affected = sqlite3_total_changes64(conn->db) != before ? sqlite3_changes64(conn->db) : 0;
        }
        off += (size_t)(tail - at);
    }
    free(w.buf);
    return out;
}

static int sq_exec(mig_conn *conn, const char *sql, size_t len, int64_t *affected, mig_drv_error *err)
{
    return exec_text(conn, sql, len, affected, NULL, err);
}

static int sq_exec_counted(mig_conn *conn, const char *sql, size_t len, int64_t *statements,
                           mig_drv_error *err)
{
    return exec_text(conn, sql, len, NULL, statements, err);
}

/* ---- prepared statement cache -------------------------------------------- */

/*
 * A prepared statement for sql (one statement; trailing space allowed),
 * from the cache when a free one is there. *slot is the cache slot it
 * belongs to (mark it busy while in use) or NULL for a private statement
 * that the caller finalizes.
 */
static int stmt_get(mig_conn *conn, const char *sql, sqlite3_stmt **out, cached_stmt **slot,
                    mig_drv_error *err)
{
    *out = NULL;
    *slot = NULL;
    size_t len = strlen(sql);
    cached_stmt *victim = NULL;
    for (int i = 0; i < STMT_CACHE_SIZE; i++) {
        cached_stmt *c = &conn->cache[i];
        if (c->stmt != NULL && !c->busy && c->len == len && memcmp(c->sql, sql, len) == 0) {
            c->used = ++conn->clock;
            *out = c->stmt;
            *slot = c;
            return MIG_DRV_OK;
        }
        if (c->busy)
            continue;
        if (victim == NULL || c->stmt == NULL || (victim->stmt != NULL && c->used < victim->used))
            victim = c;
    }
    if (len > INT_MAX) {
        set_msg(err, SQLITE_TOOBIG, "sql text is too long (%zu bytes)", len);
        return MIG_DRV_ERROR;
    }
    sqlite3_stmt *stmt = NULL;
    const char *tail = NULL;
    /* len + 1: SQLite may then skip copying the NUL-terminated text */
    int rc = sqlite3_prepare_v3(conn->db, sql, (int)len + 1, victim ? SQLITE_PREPARE_PERSISTENT : 0,
                                &stmt, &tail);
    if (rc != SQLITE_OK)
        return fail_stmt(conn, sql, len, 0, err);
    if (stmt == NULL) {
        set_msg(err, 0, "no statement in sql text");
        return MIG_DRV_ERROR;
    }
    size_t rest = skip_space(sql, len, (size_t)(tail - sql));
    if (rest < len && !(sql[rest] == ';' && skip_space(sql, len, rest + 1) == len)) {
        sqlite3_finalize(stmt);
        set_msg(err, 0, "more than one statement given where one is expected");
        if (err != NULL)
            err->stmt_offset = rest;
        return MIG_DRV_ERROR;
    }
    if (victim != NULL) {
        char *copy = malloc(len + 1);
        if (copy != NULL) {
            memcpy(copy, sql, len + 1);
            sqlite3_finalize(victim->stmt);
            free(victim->sql);
            victim->stmt = stmt;
            victim->sql = copy;
            victim->len = len;
            victim->used = ++conn->clock;
            *slot = victim;
        }
    }
    *out = stmt;
    return MIG_DRV_OK;
}

/* Give back a statement from stmt_get: reset it for the next user. */
static void stmt_put(sqlite3_stmt *stmt, cached_stmt *slot)
{
    if (slot == NULL) {
        sqlite3_finalize(stmt);
        return;
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    slot->busy = 0;
}

/*
 * Bind params to stmt. copy: SQLite keeps its own copy of text and blobs
 * (a cursor outlives the caller's buffers); else they are used in place.
 */
static int bind_params(mig_conn *conn, sqlite3_stmt *stmt, const mig_value *params, int nparams,
                       int copy, mig_drv_error *err)
{
    int want = sqlite3_bind_parameter_count(stmt);
    if (want != nparams) {
        set_msg(err, SQLITE_RANGE, "statement has %d parameter%s, %d given", want, want == 1 ? "" : "s",
                nparams);
        return MIG_DRV_ERROR;
    }
    sqlite3_destructor_type how = copy ? SQLITE_TRANSIENT : SQLITE_STATIC;
    for (int i = 0; i < nparams; i++) {
        const mig_value *v = &params[i];
        int rc;
        switch (v->type) {
        case MIG_VAL_NULL:
            rc = sqlite3_bind_null(stmt, i + 1);
            break;
        case MIG_VAL_INT:
            rc = sqlite3_bind_int64(stmt, i + 1, v->u.i);
            break;
        case MIG_VAL_FLOAT:
            /* SQLite stores NaN as NULL, silently; infinities it stores and returns as they are */
            if (isnan(v->u.f)) {
                set_msg(err, SQLITE_MISMATCH,
                        "parameter %d is NaN, which SQLite cannot store (it would "
                        "become NULL)",
                        i + 1);
                return MIG_DRV_ERROR;
            }
            rc = sqlite3_bind_double(stmt, i + 1, v->u.f);
            break;
        case MIG_VAL_BOOL:
            rc = sqlite3_bind_int(stmt, i + 1, v->u.b != 0);
            break;
        case MIG_VAL_TEXT:
            /* a NULL pointer would bind SQL NULL, not an empty string */
            rc = sqlite3_bind_text64(stmt, i + 1, v->u.s.ptr ? v->u.s.ptr : "", v->u.s.len, how,
                                     SQLITE_UTF8);
            break;
        case MIG_VAL_BLOB:
            rc = v->u.s.len == 0 ? sqlite3_bind_zeroblob(stmt, i + 1, 0)
                                 : sqlite3_bind_blob64(stmt, i + 1, v->u.s.ptr, v->u.s.len, how);
            break;
        default:
            set_msg(err, SQLITE_MISMATCH, "parameter %d has unknown type %d", i + 1, (int)v->type);
            return MIG_DRV_ERROR;
        }
        if (rc != SQLITE_OK)
            return fail_db(conn, err);
    }
    return MIG_DRV_OK;
}

static int sq_exec_params(mig_conn *conn, const char *sql, const mig_value *params, int nparams,
                          int64_t *affected, mig_drv_error *err)
{
    if (affected)
        *affected = 0;
    atomic_store(&conn->cancelled, 0);
    sqlite3_stmt *stmt;
    cached_stmt *slot;
    int rc = stmt_get(conn, sql, &stmt, &slot, err);
    if (rc != MIG_DRV_OK)
        return rc;
    rc = bind_params(conn, stmt, params, nparams, 0, err);
    if (rc == MIG_DRV_OK) {
        sqlite3_int64 before = sqlite3_total_changes64(conn->db);
        if (step_all(stmt) != SQLITE_OK)
            rc = fail_stmt(conn, sql, strlen(sql), 0, err);
        else if (affected)
            *affected = sqlite3_total_changes64(conn->db) != before ? sqlite3_changes64(conn->db) : 0;
    }
    stmt_put(stmt, slot);
    return rc;
}

/* ---- cursors --------------------------------------------------------------- */

static int sq_query(mig_cursor **out, mig_conn *conn, const char *sql, const mig_value *params,
                    int nparams, mig_drv_error *err)
{
    *out = NULL;
    atomic_store(&conn->cancelled, 0);
    mig_cursor *cur = calloc(1, sizeof *cur);
    if (cur == NULL) {
        set_msg(err, SQLITE_NOMEM, "out of memory");
        return MIG_DRV_ERROR;
    }
    int rc = stmt_get(conn, sql, &cur->stmt, &cur->slot, err);
    if (rc != MIG_DRV_OK) {
        free(cur);
        return rc;
    }
    if (cur->slot)
        cur->slot->busy = 1;
    rc = bind_params(conn, cur->stmt, params, nparams, 1, err);
    if (rc != MIG_DRV_OK) {
        stmt_put(cur->stmt, cur->slot);
        free(cur);
        return rc;
    }
    cur->conn = conn;
    cur->ncols = -1;
    cur->next = conn->cursors;
    if (conn->cursors)
        conn->cursors->prev = cur;
    conn->cursors = cur;
    *out = cur;
    return MIG_DRV_OK;
}

/*
 * Column names and the value array are set up at the first row, not at
 * query time: the first step may re-prepare the statement after a schema
 * change, and that can change both (SELECT * after ALTER TABLE).
 */
static int cursor_shape(mig_cursor *cur, mig_drv_error *err)
{
    int n = sqlite3_column_count(cur->stmt);
    cur->names = calloc(n > 0 ? (size_t)n : 1, sizeof *cur->names);
    cur->values = calloc(n > 0 ? (size_t)n : 1, sizeof *cur->values);
    if (cur->names == NULL || cur->values == NULL) {
        set_msg(err, SQLITE_NOMEM, "out of memory");
        return MIG_DRV_ERROR;
    }
    for (int i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(cur->stmt, i);
        cur->names[i] = name ? name : "";
    }
    cur->ncols = n;
    cur->row.ncols = n;
    cur->row.names = cur->names;
    cur->row.values = cur->values;
    return MIG_DRV_OK;
}

static int sq_fetch(mig_cursor *cur, const mig_row **row, mig_drv_error *err)
{
    *row = NULL;
    if (cur->conn == NULL) {
        set_msg(err, SQLITE_MISUSE, "cursor used after its connection was closed");
        return MIG_DRV_ERROR;
    }
    if (cur->done)
        return MIG_DRV_OK;
    int rc = sqlite3_step(cur->stmt);
    if (rc == SQLITE_DONE) {
        /* reset now: a finished statement should not pin a read transaction */
        cur->done = 1;
        sqlite3_reset(cur->stmt);
        return MIG_DRV_OK;
    }
    if (rc != SQLITE_ROW) {
        cur->done = 1;
        const char *sql = sqlite3_sql(cur->stmt);
        return fail_stmt(cur->conn, sql, strlen(sql), 0, err);
    }
    if (cur->ncols < 0 && cursor_shape(cur, err) != MIG_DRV_OK)
        return MIG_DRV_ERROR;
    for (int i = 0; i < cur->ncols; i++) {
        mig_value *v = &cur->values[i];
        switch (sqlite3_column_type(cur->stmt, i)) {
        case SQLITE_INTEGER:
            v->type = MIG_VAL_INT;
            v->u.i = sqlite3_column_int64(cur->stmt, i);
            break;
        case SQLITE_FLOAT:
            v->type = MIG_VAL_FLOAT;
            v->u.f = sqlite3_column_double(cur->stmt, i);
            break;
        case SQLITE_TEXT:
            v->type = MIG_VAL_TEXT;
            /* text before bytes: the documented order that avoids conversions */
            v->u.s.ptr = (const char *)sqlite3_column_text(cur->stmt, i);
            v->u.s.len = (size_t)sqlite3_column_bytes(cur->stmt, i);
            if (v->u.s.ptr == NULL) {
                set_msg(err, SQLITE_NOMEM, "out of memory");
                return MIG_DRV_ERROR;
            }
            break;
        case SQLITE_BLOB:
            v->type = MIG_VAL_BLOB;
            v->u.s.ptr = sqlite3_column_blob(cur->stmt, i);
            v->u.s.len = (size_t)sqlite3_column_bytes(cur->stmt, i);
            if (v->u.s.ptr == NULL)
                v->u.s.ptr = ""; /* zero-length blob */
            break;
        default:
            v->type = MIG_VAL_NULL;
            break;
        }
    }
    *row = &cur->row;
    return MIG_DRV_OK;
}

/* Give the statement back and unlink from the connection; memory stays. */
static void cursor_detach(mig_cursor *cur)
{
    mig_conn *conn = cur->conn;
    if (conn == NULL)
        return;
    stmt_put(cur->stmt, cur->slot);
    cur->stmt = NULL;
    cur->slot = NULL;
    if (cur->prev)
        cur->prev->next = cur->next;
    else
        conn->cursors = cur->next;
    if (cur->next)
        cur->next->prev = cur->prev;
    cur->conn = NULL;
}

static void sq_cursor_close(mig_cursor *cur)
{
    if (cur == NULL)
        return;
    cursor_detach(cur);
    free(cur->names);
    free(cur->values);
    free(cur);
}

/* ---- transactions ------------------------------------------------------------ */

static int run_simple(mig_conn *conn, const char *sql, mig_drv_error *err)
{
    atomic_store(&conn->cancelled, 0);
    int rc = sqlite3_exec(conn->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return fail_db(conn, err);
    return MIG_DRV_OK;
}

static int sq_begin(mig_conn *conn, int write, mig_drv_error *err)
{
    return run_simple(conn, write ? "BEGIN IMMEDIATE" : "BEGIN", err);
}

static int sq_commit(mig_conn *conn, mig_drv_error *err)
{
    return run_simple(conn, "COMMIT", err);
}

static int sq_rollback(mig_conn *conn, mig_drv_error *err)
{
    /*
     * Some errors (disk full, I/O, busy during commit) make SQLite roll the
     * transaction back itself; rolling back again is then no failure.
     */
    if (sqlite3_get_autocommit(conn->db))
        return MIG_DRV_OK;
    return run_simple(conn, "ROLLBACK", err);
}

/* ---- quoting, existence ------------------------------------------------------ */

static size_t sq_quote_ident(const char *name, char *buf, size_t buflen)
{
    size_t need = 2;
    for (const char *p = name; *p; p++)
        need += *p == '"' ? 2 : 1;
    if (buflen == 0)
        return need;
    if (need < buflen) {
        size_t o = 0;
        buf[o++] = '"';
        for (const char *p = name; *p; p++) {
            if (*p == '"')
                buf[o++] = '"';
            buf[o++] = *p;
        }
        buf[o++] = '"';
        buf[o] = '\0';
    } else {
        buf[0] = '\0'; /* a cut quoted name would be a different name */
    }
    return need;
}

static int sq_table_exists(mig_conn *conn, const char *table, int *exists, mig_drv_error *err)
{
    *exists = 0;
    sqlite3_stmt *stmt;
    cached_stmt *slot;
    /* names compare as SQLite compares identifiers: ASCII case folded */
    int rc = stmt_get(conn,
                      "SELECT 1 FROM sqlite_schema WHERE type = 'table' "
                      "AND name = ?1 COLLATE NOCASE",
                      &stmt, &slot, err);
    if (rc != MIG_DRV_OK)
        return rc;
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
    int src = sqlite3_step(stmt);
    if (src == SQLITE_ROW)
        *exists = 1;
    else if (src != SQLITE_DONE)
        rc = fail_db(conn, err);
    stmt_put(stmt, slot);
    return rc;
}

/*
 * sqlite_stat1 (kept by ANALYZE: its first number is the table's rows)
 * when it knows the table, else a count(*): SQLite keeps no cheaper count.
 */
static int sq_table_rows(mig_conn *conn, const char *table, int64_t *rows, mig_drv_error *err)
{
    *rows = -1;
    int exists = 0, rc = sq_table_exists(conn, table, &exists, err);
    if (rc != MIG_DRV_OK || !exists)
        return rc;
    int stat = 0;
    rc = sq_table_exists(conn, "sqlite_stat1", &stat, err);
    char *sql = stat ? sqlite3_mprintf("SELECT coalesce((SELECT CAST(stat AS INTEGER) FROM sqlite_stat1 "
                                       "WHERE tbl = %Q COLLATE NOCASE LIMIT 1), "
                                       "(SELECT count(*) FROM \"%w\"))",
                                       table, table)
                     : sqlite3_mprintf("SELECT count(*) FROM \"%w\"", table);
    if (sql == NULL) {
        set_msg(err, SQLITE_NOMEM, "out of memory");
        return MIG_DRV_ERROR;
    }
    sqlite3_stmt *stmt = NULL;
    if (rc == MIG_DRV_OK && sqlite3_prepare_v2(conn->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        rc = fail_db(conn, err);
    if (rc == MIG_DRV_OK) {
        int src = sqlite3_step(stmt);
        if (src == SQLITE_ROW)
            *rows = sqlite3_column_int64(stmt, 0);
        else if (src != SQLITE_DONE)
            rc = fail_db(conn, err);
    }
    sqlite3_finalize(stmt);
    sqlite3_free(sql);
    return rc;
}

static int sq_column_exists(mig_conn *conn, const char *table, const char *column, int *exists,
                            mig_drv_error *err)
{
    *exists = 0;
    sqlite3_stmt *stmt;
    cached_stmt *slot;
    int rc = stmt_get(conn, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2 COLLATE NOCASE", &stmt,
                      &slot, err);
    if (rc != MIG_DRV_OK)
        return rc;
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, column, -1, SQLITE_STATIC);
    int src = sqlite3_step(stmt);
    if (src == SQLITE_ROW)
        *exists = 1;
    else if (src != SQLITE_DONE)
        rc = fail_db(conn, err);
    stmt_put(stmt, slot);
    return rc;
}

/* ---- introspection ----------------------------------------------------------- */

/* Column lists for the sink: <mig/driver_util.h>. */
typedef mig_names name_list;
#define list_add   mig_names_add
#define list_clear mig_names_clear

/*
 * Introspection state: one connection, one schema, one sink. The walkers
 * return 0 to go on, else what sq_introspect returns: a sink's non-zero
 * value as is, or a MIG_DRV_* code with err filled.
 */
typedef struct walk {
    mig_conn *conn;
    const char *schema;
    char qschema[256]; /* quoted, for schema.sqlite_schema */
    const mig_schema_sink *sink;
    void *payload;
    mig_drv_error *err;
    name_list a, b;
} walk;

/*
 * Prepare an introspection statement: "%s" in fmt becomes the quoted schema
 * name; ?1 is bound to arg and ?2 to the schema name.
 */
static int walk_prepare(walk *w, sqlite3_stmt **stmt, const char *fmt, const char *arg)
{
    char sql[1024];
    snprintf(sql, sizeof sql, fmt, w->qschema);
    if (sqlite3_prepare_v2(w->conn->db, sql, -1, stmt, NULL) != SQLITE_OK)
        return fail_db(w->conn, w->err);
    if (sqlite3_bind_parameter_count(*stmt) >= 1)
        sqlite3_bind_text(*stmt, 1, arg, -1, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(*stmt) >= 2)
        sqlite3_bind_text(*stmt, 2, w->schema, -1, SQLITE_STATIC);
    return 0;
}

/* Finish a walker's statement: 0 when it ran to its end, else an error. */
static int walk_done(walk *w, sqlite3_stmt *stmt, int rc)
{
    int out = 0;
    if (rc == SQLITE_NOMEM) {
        set_msg(w->err, SQLITE_NOMEM, "out of memory");
        out = MIG_DRV_ERROR;
    } else if (rc != SQLITE_DONE) {
        out = fail_db(w->conn, w->err);
    }
    sqlite3_finalize(stmt);
    return out;
}

/* The text of s[a..b) trimmed, as a new string. */
static char *dup_trim(const char *s, size_t a, size_t b)
{
    while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\n' || s[a] == '\r'))
        a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\n' || s[b - 1] == '\r' ||
                     s[b - 1] == ';'))
        b--;
    char *out = malloc(b - a + 1);
    if (out) {
        memcpy(out, s + a, b - a);
        out[b - a] = '\0';
    }
    return out;
}

/*
 * From CREATE INDEX text, the key list between the parentheses after ON
 * table (without them) and what follows a top-level WHERE.
 */
static void split_index_sql(const char *sql, char **keys, char **where)
{
    *keys = *where = NULL;
    if (sql == NULL)
        return;
    size_t len = strlen(sql), i = 0;
    int seen_on = 0, depth = 0;
    size_t open = 0;
    for (;;) {
        size_t start = i;
        tok_kind k = next_token(sql, len, &i);
        if (k == TK_END || k == TK_OPEN)
            return;
        if (k == TK_WORD && depth == 0) {
            if (word_is(sql, start, i, "ON"))
                seen_on = 1;
            else if (word_is(sql, start, i, "WHERE") && *keys != NULL) {
                *where = dup_trim(sql, i, len);
                return;
            }
        } else if (k == TK_LPAREN && seen_on) {
            if (depth++ == 0)
                open = i;
        } else if (k == TK_RPAREN && depth > 0) {
            if (--depth == 0 && *keys == NULL)
                *keys = dup_trim(sql, open, start);
        }
    }
}

/* The primary key columns of table, in key order, into l (empty if none). */
static int primary_key_columns(walk *w, const char *table, name_list *l)
{
    sqlite3_stmt *st;
    int rc = walk_prepare(w, &st,
                          "SELECT name FROM pragma_table_info(?1, ?2) "
                          "WHERE pk > 0 ORDER BY pk",
                          table);
    if (rc != 0)
        return rc;
    list_clear(l);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (list_add(l, (const char *)sqlite3_column_text(st, 0)) != 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    return walk_done(w, st, rc);
}

static int walk_columns(walk *w, const char *table)
{
    sqlite3_stmt *st;
    /* table_xinfo, not table_info: generated columns are columns too */
    int rc = walk_prepare(w, &st,
                          "SELECT name, type, \"notnull\", dflt_value, hidden "
                          "FROM pragma_table_xinfo(?1, ?2) ORDER BY cid",
                          table);
    if (rc != 0)
        return rc;
    int position = 0, cb = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_int(st, 4) == 1)
            continue; /* hidden column of a virtual table */
        const char *type = (const char *)sqlite3_column_text(st, 1);
        position++;
        if (w->sink->column != NULL &&
            (cb = w->sink->column(w->payload, table, (const char *)sqlite3_column_text(st, 0),
                                  type ? type : "", !sqlite3_column_int(st, 2),
                                  (const char *)sqlite3_column_text(st, 3), position)) != 0)
            break;
    }
    if (cb != 0) {
        sqlite3_finalize(st);
        return cb;
    }
    if ((rc = walk_done(w, st, rc)) != 0)
        return rc;
    if ((rc = primary_key_columns(w, table, &w->a)) != 0)
        return rc;
    if (w->a.count > 0 && w->sink->primary_key != NULL)
        return w->sink->primary_key(w->payload, table, NULL, mig_names_v(&w->a), w->a.count);
    return 0;
}

/*
 * Unique constraints (origin 'u') go to sink->unique; indexes made by
 * CREATE INDEX (origin 'c') to sink->index, with the key list as written
 * in expression_sql when it is more than plain columns (an expression,
 * DESC, COLLATE), and the WHERE of a partial index. Then columns lists the
 * plain columns among the keys.
 */
static int walk_indexes(walk *w, const char *table)
{
    sqlite3_stmt *st;
    int rc = walk_prepare(w, &st,
                          "SELECT il.name, il.\"unique\", il.origin, il.partial, s.sql "
                          "FROM pragma_index_list(?1, ?2) AS il "
                          "LEFT JOIN %s.sqlite_schema AS s ON s.type = 'index' AND s.name = il.name "
                          "ORDER BY il.name",
                          table);
    if (rc != 0)
        return rc;
    int cb = 0;
    while (cb == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *origin = (const char *)sqlite3_column_text(st, 2);
        if (origin == NULL || strcmp(origin, "pk") == 0)
            continue; /* reported with the columns */

        sqlite3_stmt *ix;
        if ((cb = walk_prepare(w, &ix,
                               "SELECT name, \"desc\", coll FROM pragma_index_xinfo(?1, ?2) "
                               "WHERE key ORDER BY seqno",
                               name)) != 0)
            break;
        list_clear(&w->a);
        int plain = 1, xrc;
        while ((xrc = sqlite3_step(ix)) == SQLITE_ROW) {
            const char *col = (const char *)sqlite3_column_text(ix, 0);
            const char *coll = (const char *)sqlite3_column_text(ix, 2);
            if (col == NULL || sqlite3_column_int(ix, 1) ||
                (coll != NULL && sqlite3_stricmp(coll, "BINARY") != 0))
                plain = 0;
            if (col != NULL && list_add(&w->a, col) != 0) {
                xrc = SQLITE_NOMEM;
                break;
            }
        }
        if ((cb = walk_done(w, ix, xrc)) != 0)
            break;

        if (strcmp(origin, "u") == 0) {
            if (w->sink->unique != NULL)
                cb = w->sink->unique(w->payload, table, NULL, mig_names_v(&w->a), w->a.count);
            continue;
        }
        char *keys = NULL, *where = NULL;
        int partial = sqlite3_column_int(st, 3);
        if (!plain || partial)
            split_index_sql((const char *)sqlite3_column_text(st, 4), &keys, &where);
        if (w->sink->index != NULL)
            cb = w->sink->index(w->payload, table, name, sqlite3_column_int(st, 1), mig_names_v(&w->a),
                                w->a.count, plain ? NULL : keys, partial ? where : NULL);
        free(keys);
        free(where);
    }
    if (cb != 0) {
        sqlite3_finalize(st);
        return cb;
    }
    return walk_done(w, st, rc);
}

/* Copy of a column's text, "" for NULL; NULL only when out of memory. */
static char *column_dup(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return strdup(s ? s : "");
}

/*
 * Foreign keys: one key spans the rows of foreign_key_list with one id.
 * REFERENCES parent without columns means the parent's primary key.
 */
static int walk_foreign_keys(walk *w, const char *table)
{
    sqlite3_stmt *st;
    int rc = walk_prepare(w, &st,
                          "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete "
                          "FROM pragma_foreign_key_list(?1, ?2) ORDER BY id, seq",
                          table);
    if (rc != 0)
        return rc;
    int cb = 0, id = -1, implicit = 0;
    char *ref = NULL, *on_update = NULL, *on_delete = NULL;
    for (;;) {
        rc = sqlite3_step(st);
        int row = rc == SQLITE_ROW;
        if (id >= 0 && (!row || sqlite3_column_int(st, 0) != id)) {
            if (implicit && (cb = primary_key_columns(w, ref, &w->b)) != 0)
                break;
            if (w->sink->foreign_key != NULL &&
                (cb = w->sink->foreign_key(w->payload, table, NULL, mig_names_v(&w->a), w->a.count, ref,
                                           mig_names_v(&w->b), w->b.count, on_delete, on_update)) != 0)
                break;
            id = -1;
        }
        if (!row)
            break;
        if (id < 0) {
            id = sqlite3_column_int(st, 0);
            implicit = 0;
            list_clear(&w->a);
            list_clear(&w->b);
            free(ref), free(on_update), free(on_delete);
            ref = column_dup(st, 1);
            on_update = column_dup(st, 4);
            on_delete = column_dup(st, 5);
            if (ref == NULL || on_update == NULL || on_delete == NULL) {
                rc = SQLITE_NOMEM;
                break;
            }
        }
        const char *to = (const char *)sqlite3_column_text(st, 3);
        if (list_add(&w->a, (const char *)sqlite3_column_text(st, 2)) != 0 ||
            (to != NULL && list_add(&w->b, to) != 0)) {
            rc = SQLITE_NOMEM;
            break;
        }
        if (to == NULL)
            implicit = 1;
    }
    free(ref), free(on_update), free(on_delete);
    if (cb != 0) {
        sqlite3_finalize(st);
        return cb;
    }
    return walk_done(w, st, rc);
}

/*
 * Walk the tables of schema (an attached database name; NULL is "main")
 * in name order, skipping SQLite's own sqlite_* tables. SQLite keeps no
 * names for primary keys, unique constraints or foreign keys, so those
 * arrive with name NULL; indexes made by CREATE INDEX have theirs. A
 * non-zero return from a sink callback stops the walk and is returned.
 */
static int sq_introspect(mig_conn *conn, const char *schema, const mig_schema_sink *sink, void *payload,
                         mig_drv_error *err)
{
    walk w = {
        .conn = conn, .schema = schema ? schema : "main", .sink = sink, .payload = payload, .err = err
    };
    if (sq_quote_ident(w.schema, w.qschema, sizeof w.qschema) >= sizeof w.qschema) {
        set_msg(err, 0, "schema name \"%.200s\" is too long", w.schema);
        return MIG_DRV_ERROR;
    }
    sqlite3_stmt *st = NULL;
    int rc = walk_prepare(&w, &st,
                          "SELECT name FROM %s.sqlite_schema WHERE type = 'table' "
                          "AND name NOT LIKE 'sqlite\\_%%' ESCAPE '\\' ORDER BY name",
                          NULL);
    int cb = rc;
    while (cb == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *table = (const char *)sqlite3_column_text(st, 0);
        if (sink->table != NULL)
            cb = sink->table(payload, table);
        if (cb == 0)
            cb = walk_columns(&w, table);
        if (cb == 0)
            cb = walk_indexes(&w, table);
        if (cb == 0)
            cb = walk_foreign_keys(&w, table);
    }
    if (cb == 0)
        cb = walk_done(&w, st, rc);
    else if (rc == 0 || rc == SQLITE_ROW)
        sqlite3_finalize(st);
    mig_names_free(&w.a);
    mig_names_free(&w.b);
    return cb;
}

/* ---- the table ----------------------------------------------------------------- */

static const mig_dialect sqlite_dialect = {
    .begin_sql = "BEGIN",
    .begin_write_sql = "BEGIN IMMEDIATE",
    .commit_sql = "COMMIT",
    .rollback_sql = "ROLLBACK",
    .autoinc_pk = "INTEGER PRIMARY KEY AUTOINCREMENT",
    .timestamp_type = "TEXT",
    .now_expr = "strftime('%Y-%m-%d %H:%M:%f', 'now')",
    .text_type = "TEXT",
    .ident_quote = '"',
    .backslash_escapes = 0,
    .dollar_quotes = 0,
    .hash_comments = 0,
};

/* Lint: sqlite_lint.c */
extern const mig_lint_rule sq_lint_rules[];
int sq_lint(const mig_lint_stmt *stmt, mig_lint_state *st, const mig_lint_sink *sink, void *payload);

/* Autogenerate: sqlite_ddl.c */
int sq_render_ddl(const mig_ddl_change *change, mig_ddl_emit_fn emit, void *payload);
int sq_introspect_ddl(mig_conn *conn, const char *ddl, size_t len, const mig_schema_sink *sink,
                      void *payload, mig_drv_error *err);

static const char *const sqlite_schemes[] = { "sqlite", "sqlite3", NULL };

/* mig test (sq_objects.c / objects.c) */
int sq_introspect_objects(mig_conn *conn, mig_object_fn fn, void *payload, const char **kinds,
                          mig_drv_error *err);

/*
 * SQLite has no lock timeout but its busy timeout: a revision's
 * lock_timeout becomes that (0, no limit, the longest it takes), and
 * afterwards it is the connection's own again. It has no statement time
 * limit: statement_timeout is accepted and does nothing.
 */
static int sq_limits_sql(const mig_limits *lim, int restore, mig_ddl_emit_fn emit, void *payload)
{
    if (lim->lock_timeout_ms < 0)
        return MIG_DRV_OK;
    int ms = restore                                                       ? busy_ms(lim->connect_wait_s)
             : lim->lock_timeout_ms == 0 || lim->lock_timeout_ms > INT_MAX ? INT_MAX
                                                                           : (int)lim->lock_timeout_ms;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA busy_timeout = %d", ms);
    return emit(payload, sql);
}

static const mig_driver sqlite_driver = {
    .magic = MIG_DRIVER_MAGIC,
    .abi = MIG_DRIVER_ABI,
    .size = sizeof(mig_driver),
    .name = "sqlite",
    .version = "0.1.0",
    .description = "SQLite " SQLITE_VERSION " files, in process",
    .url_schemes = sqlite_schemes,
    .caps = MIG_CAP_TRANSACTIONAL_DDL | MIG_CAP_MULTI_STATEMENT | MIG_CAP_WRITE_TXN_LOCKS,
    .dialect = &sqlite_dialect,
    .connect = sq_connect,
    .close = sq_close,
    .exec = sq_exec,
    .exec_params = sq_exec_params,
    .query = sq_query,
    .fetch = sq_fetch,
    .cursor_close = sq_cursor_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .quote_ident = sq_quote_ident,
    .statement_end = sq_statement_end,
    .table_exists = sq_table_exists,
    .introspect = sq_introspect,
    .render_ddl = sq_render_ddl,
    .introspect_ddl = sq_introspect_ddl,
    .ident_max = 0, /* SQLite keeps names of any length */
    .column_exists = sq_column_exists,
    .introspect_objects = sq_introspect_objects,
    .limits_sql = sq_limits_sql,
    .lint_rules = sq_lint_rules,
    .lint = sq_lint,
    .table_rows = sq_table_rows,
    .cancel = sq_cancel,
    .exec_counted = sq_exec_counted,
};

MIG_DRIVER_DEFINE(sqlite_driver)
