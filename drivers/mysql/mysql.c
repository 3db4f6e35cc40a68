/*
 * The MySQL and MariaDB driver: mig's driver ABI over MariaDB Connector/C.
 *
 * MySQL has no transactional DDL, so the core runs each revision with its
 * version update and records a part-way failure; what it needs from this
 * file is to know exactly which statement of a revision failed. exec()
 * sends a revision's statements in one multi-statement round trip, counts
 * the results the server returns and maps the failing one back to its byte
 * offset with the splitter in split.c.
 *
 * Parameters are always bound through server-side prepared statements,
 * never spliced. query() streams through a read-only server cursor fetched
 * in batches: the server keeps the rows, so the connection stays free for
 * exec()/exec_params() between fetches (a Lua backfill updates the rows it
 * reads). Where the server opens no cursor (statements other than SELECT)
 * the result is buffered instead, which frees the connection just as well.
 *
 * The migration lock is GET_LOCK() on a connection of its own: it belongs
 * to the session, not to a transaction, and the server drops it when the
 * session ends, so a killed mig never leaves it behind.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "mig/driver_util.h"
#include "mysql_int.h"

#ifndef MIG_DRIVER_VERSION
#define MIG_DRIVER_VERSION "0.1.0"
#endif

#define STMT_CACHE      8   /* prepared statements kept per connection for exec_params */
#define FETCH_BATCH     256 /* rows per round trip of a cursor */
#define CONNECT_TIMEOUT 10  /* seconds, unless the URL says connect_timeout */

struct mig_conn {
    MYSQL *my;
    /* exec_params statements by SQL text, so a backfill loop prepares once */
    struct {
        char *sql;
        MYSQL_STMT *stmt;
    } cache[STMT_CACHE];
    unsigned cache_next;
    int locked;       /* took a GET_LOCK: release it before quitting (see my_close) */
    int lock_session; /* wait_timeout raised for holding the lock */
    /* cancel() kills the running query from a second connection made as this one was */
    char *url; /* NULL: the [client] defaults */
    char *base_dir;
    unsigned long thread_id;
};

typedef enum col_kind {
    K_NULL,
    K_INT,
    K_UINT,
    K_FLOAT,
    K_DECIMAL,
    K_BIT,
    K_TIME,
    K_TEXT,
    K_BLOB
} col_kind;

/* One result column: where the client library writes it and what it becomes. */
typedef struct col {
    col_kind kind;
    unsigned decimals;
    enum enum_field_types type;
    long long i;
    double f;
    MYSQL_TIME tm;
    char *buf; /* K_DECIMAL, K_BIT, K_TEXT, K_BLOB: grows on truncation */
    unsigned long cap;
    unsigned long length;
    my_bool is_null;
    my_bool error;
    char tmp[64]; /* formatted times and huge unsigned integers */
} col;

struct mig_cursor {
    MYSQL_STMT *stmt;
    MYSQL_RES *meta;
    int ncols;
    col *cols;
    MYSQL_BIND *binds;
    const char **names;
    mig_value *values;
    mig_row row;
    int done;
};

/* ---------------------------------------------------------------- errors */

static void one_line(char *s)
{
    for (; *s != '\0'; s++)
        if (*s == '\n' || *s == '\r' || *s == '\t')
            *s = ' ';
}

int my_fail(mig_drv_error *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    mig_drv_error_vset(err, fmt, ap);
    va_end(ap);
    one_line(err->message);
    return MIG_DRV_ERROR;
}

/* Errors after which the connection cannot be used again. */
static int connection_lost(unsigned int code)
{
    return code == CR_SERVER_GONE_ERROR || code == CR_SERVER_LOST || code == CR_SERVER_LOST_EXTENDED ||
           code == CR_CONNECTION_ERROR || code == CR_CONN_HOST_ERROR || code == ER_CONNECTION_KILLED;
}

static int fill_err(mig_drv_error *err, unsigned int code, const char *state, const char *text)
{
    mig_drv_error_clear(err);
    err->code = (int)code;
    snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state != NULL ? state : "");
    /* the server's words only: errno and SQLSTATE travel in their fields, and are shown once from there */
    snprintf(err->message, sizeof(err->message), "%s",
             text != NULL && *text != '\0' ? text : "unknown error");
    one_line(err->message);
    return connection_lost(code) ? MIG_DRV_CONN : MIG_DRV_ERROR;
}

int my_fail_conn(MYSQL *my, mig_drv_error *err)
{
    return fill_err(err, mysql_errno(my), mysql_sqlstate(my), mysql_error(my));
}

static int fail_stmt(MYSQL_STMT *st, mig_drv_error *err)
{
    return fill_err(err, mysql_stmt_errno(st), mysql_stmt_sqlstate(st), mysql_stmt_error(st));
}

/* ------------------------------------------------------------ connecting */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_rc = -1;

/* mysql_init() would do this lazily, but not safely from several threads (-j N tenants). */
static void lib_init(void)
{
    lib_rc = mysql_library_init(0, NULL, NULL);
}

/*
 * Give the client library's globals back when the plugin is unloaded
 * (dlclose): the core has closed every connection by then.
 */
#if defined(__GNUC__)
__attribute__((destructor)) static void lib_end(void)
{
    if (lib_rc == 0)
        mysql_library_end();
}
#endif

/* Where we connect, for messages: never the password, which it cannot hold. */
static void describe_server(const my_url *u, int have_url, char *buf, size_t n)
{
    if (u->socket != NULL)
        snprintf(buf, n, "socket %s", u->socket);
    else if (!have_url)
        snprintf(buf, n, "localhost (client defaults)");
    else if (u->host == NULL || strcmp(u->host, "localhost") == 0)
        /* the client library takes "localhost" to mean its default socket */
        snprintf(buf, n, "localhost (default socket)");
    else if (strchr(u->host, ':') != NULL)
        snprintf(buf, n, "[%s]:%u", u->host, u->port != 0 ? u->port : 3306);
    else
        snprintf(buf, n, "%s:%u", u->host, u->port != 0 ? u->port : 3306);
}

static void set_tls(MYSQL *my, const my_url *u)
{
    my_bool on = 1;

    if (u->ssl_ca != NULL)
        mysql_optionsv(my, MYSQL_OPT_SSL_CA, u->ssl_ca);
    if (u->ssl_cert != NULL)
        mysql_optionsv(my, MYSQL_OPT_SSL_CERT, u->ssl_cert);
    if (u->ssl_key != NULL)
        mysql_optionsv(my, MYSQL_OPT_SSL_KEY, u->ssl_key);
    if (u->ssl_mode == NULL || strcasecmp(u->ssl_mode, "disabled") == 0 ||
        strcasecmp(u->ssl_mode, "preferred") == 0)
        return;
    mysql_optionsv(my, MYSQL_OPT_SSL_ENFORCE, &on);
    if (strncasecmp(u->ssl_mode, "verify", 6) == 0)
        mysql_optionsv(my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
}

/* A relative file path from the URL, taken from base_dir (the config file's folder). */
static int resolve_path(char **path, const char *base_dir)
{
    char *joined;
    size_t n;

    if (*path == NULL || (*path)[0] == '/' || base_dir == NULL || base_dir[0] == '\0')
        return 0;
    n = strlen(base_dir) + strlen(*path) + 2;
    if ((joined = malloc(n)) == NULL)
        return -1;
    snprintf(joined, n, "%s/%s", base_dir, *path);
    free(*path);
    *path = joined;
    return 0;
}

/* The copy of the URL holds its password: overwritten before it is freed. */
static void forget_url(mig_conn *c)
{
    if (c->url != NULL) {
        volatile char *p = c->url;
        while (*p)
            *p++ = 0;
    }
    free(c->url);
    free(c->base_dir);
    c->url = c->base_dir = NULL;
}

static int my_connect(mig_conn **out, const char *url, const char *base_dir,
                      const mig_connect_opts *opts, mig_drv_error *err)
{
    my_url u;
    mig_conn *c = NULL;
    char where[512];
    unsigned int timeout;
    my_bool no = 0;
    const char *app = opts != NULL && opts->application_name != NULL ? opts->application_name : "mig";
    int rc;

    *out = NULL;
    memset(&u, 0, sizeof(u));
    if (url != NULL && (rc = my_url_parse(&u, url, err)) != MIG_DRV_OK)
        return rc;
    if (resolve_path(&u.socket, base_dir) != 0 || resolve_path(&u.ssl_ca, base_dir) != 0 ||
        resolve_path(&u.ssl_cert, base_dir) != 0 || resolve_path(&u.ssl_key, base_dir) != 0) {
        my_url_release(&u);
        return my_fail(err, "out of memory");
    }
    describe_server(&u, url != NULL, where, sizeof(where));
    pthread_once(&lib_once, lib_init);
    if (lib_rc != 0) {
        rc = my_fail(err, "could not connect to %s: the MySQL client library failed to initialise", where);
        goto out;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL || (c->my = mysql_init(NULL)) == NULL) {
        rc = my_fail(err, "could not connect to %s: out of memory", where);
        goto out;
    }
    /* with no URL, behave like the mysql client: ~/.my.cnf [client] and friends */
    if (url == NULL)
        mysql_optionsv(c->my, MYSQL_READ_DEFAULT_GROUP, "client");
    timeout = u.connect_timeout != 0 ? u.connect_timeout : CONNECT_TIMEOUT;
    mysql_optionsv(c->my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    /* a silent reconnect would drop the session's GET_LOCK while we think we hold it */
    mysql_optionsv(c->my, MYSQL_OPT_RECONNECT, &no);
    mysql_optionsv(c->my, MYSQL_SET_CHARSET_NAME, u.charset != NULL ? u.charset : "utf8mb4");
    /* shown in performance_schema.session_connect_attrs: who holds the lock */
    mysql_optionsv(c->my, MYSQL_OPT_CONNECT_ATTR_ADD, "program_name", app);
    set_tls(c->my, &u);

    /*
     * CLIENT_FOUND_ROWS: an UPDATE reports the rows it matched, as on
     * PostgreSQL and SQLite, not only the ones whose value changed.
     */
    if (mysql_real_connect(c->my, u.host, u.user, u.password, u.db, u.port, u.socket,
                           CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS | CLIENT_FOUND_ROWS) == NULL) {
        mig_drv_error_clear(err);
        err->code = (int)mysql_errno(c->my);
        snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", mysql_sqlstate(c->my));
        snprintf(err->message, sizeof(err->message), "could not connect to %s: %s (errno %u)", where,
                 mysql_error(c->my), mysql_errno(c->my));
        one_line(err->message);
        rc = MIG_DRV_CONN;
        goto out;
    }
    c->thread_id = mysql_thread_id(c->my);
    if ((url != NULL && (c->url = strdup(url)) == NULL) ||
        (base_dir != NULL && (c->base_dir = strdup(base_dir)) == NULL)) {
        rc = my_fail(err, "could not connect to %s: out of memory", where);
        goto out;
    }
    *out = c;
    c = NULL;
    rc = MIG_DRV_OK;
out:
    if (c != NULL) {
        if (c->my != NULL)
            mysql_close(c->my);
        forget_url(c);
        free(c);
    }
    my_url_release(&u);
    return rc;
}

static int simple(mig_conn *c, const char *sql, mig_drv_error *err);

static void drop_cache(mig_conn *c)
{
    unsigned i;

    for (i = 0; i < STMT_CACHE; i++) {
        if (c->cache[i].stmt != NULL)
            mysql_stmt_close(c->cache[i].stmt);
        free(c->cache[i].sql);
        c->cache[i].stmt = NULL;
        c->cache[i].sql = NULL;
    }
}

static void my_close(mig_conn *c)
{
    if (c == NULL)
        return;
    drop_cache(c);
    /*
     * The server frees a session's locks once it has processed our QUIT,
     * which mysql_close() does not wait for: a process that closes and
     * another that tries the lock right after would race. Releasing them
     * here, in a round trip, makes close mean "unlocked". A dead process
     * still gets its locks freed by the server.
     */
    if (c->locked) {
        mig_drv_error e;
        simple(c, "DO RELEASE_ALL_LOCKS()", &e);
    }
    mysql_close(c->my);
    forget_url(c);
    free(c);
}

/*
 * The next schema tenant on this connection: COM_RESET_CONNECTION rolls
 * back, drops temporary tables, user variables, session settings,
 * prepared statements (the cache's too) and GET_LOCKs, and keeps the
 * login and the character set of the handshake (tx_tenants_reuse checks
 * it), so nothing of connect needs doing again.
 */
static int my_reset(mig_conn *c, mig_drv_error *err)
{
    drop_cache(c);
    if (mysql_reset_connection(c->my) != 0)
        return my_fail_conn(c->my, err);
    c->locked = 0;
    return MIG_DRV_OK;
}

/*
 * The server has no out-of-band cancel: KILL QUERY from a connection of our
 * own stops the statement and leaves the session open, as PQcancel does.
 */
static int my_cancel(mig_conn *c, mig_drv_error *err)
{
    mig_conn *k = NULL;
    char sql[64];
    int rc = my_connect(&k, c->url, c->base_dir, NULL, err);
    if (rc != MIG_DRV_OK)
        return rc;
    snprintf(sql, sizeof sql, "KILL QUERY %lu", c->thread_id);
    rc = simple(k, sql, err);
    my_close(k);
    return rc;
}

/* ------------------------------------------------------------------ exec */

/* One non-empty statement of an exec() text. */
typedef struct span {
    size_t raw;   /* where its text starts (after the previous ';') */
    size_t first; /* its first significant byte */
    size_t end;   /* past its ';', or the end of the text */
    int run;      /* starts a new round trip: an empty statement came before it */
    int multi;    /* may send several results, then an OK (my_split_multi_result) */
} span;

static size_t utf8_chars(const char *s, size_t n)
{
    size_t i, c = 0;

    for (i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* memmem(), which C11 and POSIX lack */
static const char *find_bytes(const char *hay, size_t hn, const char *needle, size_t nn)
{
    size_t i;

    for (i = 0; nn <= hn && i <= hn - nn; i++)
        if (memcmp(hay + i, needle, nn) == 0)
            return hay + i;
    return NULL;
}

static const char *last_match(const char *hay, const char *needle)
{
    const char *p, *last = NULL;

    for (p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        last = p;
    return last;
}

/*
 * err->position for a syntax error: the server says "... near 'TEXT' at
 * line N", N counted from where the failing statement starts: the first
 * byte sent for the first statement of a round trip, else the first byte
 * after the previous ';' and its whitespace. Find TEXT there; 0 (unknown)
 * when the message has no such place.
 */
static long error_position(const char *sql, const span *s, int first_sent, const char *msg)
{
    const char *near = strstr(msg, " near '");
    const char *tail, *hit = NULL;
    size_t base = first_sent ? s->first : s->raw, p, n, slen;
    long line, l;

    if (near == NULL)
        return 0;
    near += 7;
    if ((tail = last_match(near, "' at line ")) == NULL)
        return 0;
    line = strtol(tail + 10, NULL, 10);
    slen = (size_t)(tail - near);
    if (slen == 0) {
        /* "near ''": the statement ended too early */
        p = s->end;
        while (p > s->first && (sql[p - 1] == ';' || sql[p - 1] == ' ' || sql[p - 1] == '\n' ||
                                sql[p - 1] == '\t' || sql[p - 1] == '\r'))
            p--;
        return (long)utf8_chars(sql, p) + 1;
    }
    if (slen > 48)
        slen = 48; /* the server shortens long snippets */
    while (base < s->first &&
           (sql[base] == ' ' || sql[base] == '\n' || sql[base] == '\t' || sql[base] == '\r'))
        base++;
    for (p = base, l = 1; l < line && p < s->end; p++)
        if (sql[p] == '\n')
            l++;
    for (n = 0; n < 2 && hit == NULL; n++, p = s->raw)
        if (s->end > p && s->end - p >= slen)
            hit = find_bytes(sql + p, s->end - p, near, slen);
    if (hit == NULL)
        return 0;
    return (long)utf8_chars(sql, (size_t)(hit - sql)) + 1;
}

/*
 * A syntax error's "near '...'" is the text from the error on, to the end
 * of what the round trip sent: for a statement with others after it, it
 * runs on into them (the core's own records, for one). Cut it where the
 * statement ends, as the server shows it for the statement sent alone
 * (without its ';'), into out. 0: nothing to cut.
 */
static int clip_near(const char *msg, const char *sql, size_t sent_end, const span *s, char *out,
                     size_t cap)
{
    const char *near = strstr(msg, " near '"), *tail, *hit;
    size_t slen, end = s->end, keep;

    if (near == NULL)
        return 0;
    near += 7;
    if ((tail = last_match(near, "' at line ")) == NULL)
        return 0;
    slen = (size_t)(tail - near);
    /* the server copies the text as sent: find it there, past the statement's end if need be */
    if (slen == 0 ||
        (hit = find_bytes(sql + s->first, sent_end - s->first, near, slen > 48 ? 48 : slen)) == NULL)
        return 0;
    while (end > s->first && (sql[end - 1] == ';' || sql[end - 1] == ' ' || sql[end - 1] == '\n' ||
                              sql[end - 1] == '\t' || sql[end - 1] == '\r'))
        end--;
    if ((size_t)(hit - sql) + slen <= end)
        return 0;
    keep = (size_t)(hit - sql) < end ? end - (size_t)(hit - sql) : 0;
    snprintf(out, cap, "%.*s%.*s%s", (int)(near - msg), msg, (int)keep, hit, tail);
    return 1;
}

/*
 * Run spans [a, b) of sql in one multi-statement round trip. On failure
 * err locates the statement the server stopped at. The server sends one
 * result per statement, except that CALL and compound statements send a
 * result set per SELECT they run and then an OK: only that OK ends them.
 */
static int run_spans(mig_conn *c, const char *sql, const span *v, size_t a, size_t b, int64_t *last,
                     mig_drv_error *err)
{
    size_t idx = a;
    int failed = mysql_real_query(c->my, sql + v[a].first, v[b - 1].end - v[a].first) != 0;

    for (;;) {
        int next, ended = 1;

        if (!failed) {
            ended = !(v[idx < b ? idx : b - 1].multi && mysql_field_count(c->my) > 0);
            if (mysql_field_count(c->my) == 0) {
                my_ulonglong n = mysql_affected_rows(c->my);
                *last = n == (my_ulonglong)~0ULL ? 0 : (int64_t)n;
            } else {
                MYSQL_RES *res = mysql_store_result(c->my);
                if (res == NULL)
                    failed = 1;
                mysql_free_result(res);
                *last = 0;
            }
        }
        if (failed) {
            char clipped[sizeof err->message];
            const char *msg = mysql_error(c->my);
            if (idx >= b)
                idx = b - 1; /* the server split more finely than we did */
            if (idx + 1 < b && clip_near(msg, sql, v[b - 1].end, &v[idx], clipped, sizeof clipped))
                msg = clipped;
            int rc = fill_err(err, mysql_errno(c->my), mysql_sqlstate(c->my), msg);
            err->stmt_offset = v[idx].first;
            err->position = error_position(sql, &v[idx], idx == a, msg);
            if (v[idx].end - v[idx].first >= 9 && strncasecmp(sql + v[idx].first, "DELIMITER", 9) == 0)
                snprintf(err->detail, sizeof(err->detail),
                         "DELIMITER is a command of the mysql "
                         "client, not SQL: mig sends every statement, BEGIN ... END bodies "
                         "included, as it is; drop the DELIMITER lines and end statements with ';'");
            /* drain: nothing runs after a failed statement, but be sure */
            while (mysql_more_results(c->my) && mysql_next_result(c->my) == 0)
                mysql_free_result(mysql_store_result(c->my));
            return rc;
        }
        next = mysql_next_result(c->my);
        if (next == -1)
            return MIG_DRV_OK;
        if (ended)
            idx++;
        if (next > 0)
            failed = 1;
    }
}

/* Whether a statement (from its first significant byte) is USE db. */
static int is_use(const char *s, size_t n)
{
    return n >= 3 && strncasecmp(s, "use", 3) == 0 &&
           (n == 3 || s[3] == ' ' || s[3] == '\t' || s[3] == '\n' || s[3] == '\r' || s[3] == '`' ||
            s[3] == ';');
}

static int my_exec(mig_conn *c, const char *sql, size_t len, int64_t *affected, mig_drv_error *err)
{
    span *v = NULL, *nv;
    size_t n = 0, cap = 0, pos = 0, a, b;
    int64_t last = 0;
    int rc = MIG_DRV_OK, new_run = 1;

    while (pos < len) {
        size_t first, slen;
        int empty, term;

        slen = my_split_next(sql + pos, len - pos, &first, &empty, &term);
        if (empty) {
            /* the server rejects an empty statement between two others: cut there */
            new_run = 1;
        } else {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
                    free(v);
                    return my_fail(err, "out of memory");
                }
                v = nv;
            }
            v[n].raw = pos;
            v[n].first = pos + first;
            v[n].end = pos + slen;
            v[n].run = new_run;
            v[n].multi = my_split_multi_result(sql + v[n].first, v[n].end - v[n].first);
            new_run = 0;
            n++;
        }
        if (slen == 0)
            break;
        pos += slen;
    }
    /*
     * Cached statements keep the database they were prepared in: a USE
     * drops them. Anything else leaves them, since the server prepares a
     * statement again by itself when a table it uses has changed; dropping
     * them after every DDL statement cost two round trips per bookkeeping
     * statement of a migration.
     */
    for (a = 0; a < n; a++)
        if (is_use(sql + v[a].first, v[a].end - v[a].first)) {
            drop_cache(c);
            break;
        }
    /* only comments and whitespace: a step that does nothing */
    for (a = 0; a < n && rc == MIG_DRV_OK; a = b) {
        for (b = a + 1; b < n && !v[b].run; b++)
            ;
        rc = run_spans(c, sql, v, a, b, &last, err);
    }
    free(v);
    if (affected != NULL)
        *affected = rc == MIG_DRV_OK ? last : 0;
    return rc;
}

/* One statement of SQL text with no parameters, results discarded. */
static int simple(mig_conn *c, const char *sql, mig_drv_error *err)
{
    if (mysql_real_query(c->my, sql, strlen(sql)) != 0)
        return my_fail_conn(c->my, err);
    do {
        MYSQL_RES *res = mysql_store_result(c->my);
        if (res == NULL && mysql_field_count(c->my) != 0)
            return my_fail_conn(c->my, err);
        mysql_free_result(res);
    } while (mysql_next_result(c->my) == 0);
    if (mysql_errno(c->my) != 0)
        return my_fail_conn(c->my, err);
    return MIG_DRV_OK;
}

/* ------------------------------------------------------------ parameters */

/* Storage a bound parameter array points into while the statement executes. */
typedef struct params {
    MYSQL_BIND *b;
    unsigned long *lens;
    signed char *bools;
} params;

static void params_release(params *p)
{
    free(p->b);
    free(p->lens);
    free(p->bools);
    memset(p, 0, sizeof *p); /* a second release is harmless */
}

static int bind_params(MYSQL_STMT *st, const mig_value *v, int n, params *p, mig_drv_error *err)
{
    unsigned long want = mysql_stmt_param_count(st);
    int i;

    memset(p, 0, sizeof(*p));
    if (n < 0 || want != (unsigned long)n)
        return my_fail(err, "the statement has %lu placeholder%s but %d value%s given", want,
                       want == 1 ? "" : "s", n, n == 1 ? " was" : "s were");
    if (n == 0)
        return MIG_DRV_OK;
    p->b = calloc((size_t)n, sizeof(*p->b));
    p->lens = calloc((size_t)n, sizeof(*p->lens));
    p->bools = calloc((size_t)n, sizeof(*p->bools));
    if (p->b == NULL || p->lens == NULL || p->bools == NULL) {
        params_release(p);
        return my_fail(err, "out of memory");
    }
    for (i = 0; i < n; i++) {
        MYSQL_BIND *b = &p->b[i];
        switch (v[i].type) {
        case MIG_VAL_NULL:
            b->buffer_type = MYSQL_TYPE_NULL;
            break;
        case MIG_VAL_INT:
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = (void *)&v[i].u.i; /* only read */
            break;
        case MIG_VAL_FLOAT:
            /* the server would store 0 for NaN and DBL_MAX for infinity, silently */
            if (!isfinite(v[i].u.f)) {
                params_release(p);
                return my_fail(err, "parameter %d is %s, which MariaDB and MySQL cannot store", i + 1,
                               isnan(v[i].u.f) ? "NaN"
                               : v[i].u.f < 0  ? "-infinity"
                                               : "infinity");
            }
            b->buffer_type = MYSQL_TYPE_DOUBLE;
            b->buffer = (void *)&v[i].u.f;
            break;
        case MIG_VAL_BOOL:
            /* MySQL's BOOLEAN is TINYINT(1) */
            p->bools[i] = v[i].u.b != 0;
            b->buffer_type = MYSQL_TYPE_TINY;
            b->buffer = &p->bools[i];
            break;
        case MIG_VAL_TEXT:
        case MIG_VAL_BLOB:
            b->buffer_type = v[i].type == MIG_VAL_TEXT ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
            /* with a length, NUL bytes inside the value are sent as they are */
            b->buffer = (void *)(v[i].u.s.ptr != NULL ? v[i].u.s.ptr : "");
            b->buffer_length = (unsigned long)v[i].u.s.len;
            p->lens[i] = (unsigned long)v[i].u.s.len;
            b->length = &p->lens[i];
            break;
        default:
            params_release(p);
            return my_fail(err, "parameter %d has an unknown value type %d", i + 1, (int)v[i].type);
        }
    }
    if (mysql_stmt_bind_param(st, p->b)) {
        int rc = fail_stmt(st, err);
        params_release(p);
        return rc;
    }
    return MIG_DRV_OK;
}

/* ----------------------------------------------------------- exec_params */

/* Statements worth keeping prepared: the ones a loop repeats. */
static int cacheable(const char *sql)
{
    static const char *const verbs[] = { "SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", NULL };
    size_t i;

    while (*sql == ' ' || *sql == '\n' || *sql == '\t' || *sql == '\r' || *sql == '(')
        sql++;
    for (i = 0; verbs[i] != NULL; i++) {
        size_t n = strlen(verbs[i]);
        if (strncasecmp(sql, verbs[i], n) == 0 &&
            (sql[n] == ' ' || sql[n] == '\n' || sql[n] == '\t' || sql[n] == '\r' || sql[n] == '('))
            return 1;
    }
    return 0;
}

static MYSQL_STMT *cache_find(mig_conn *c, const char *sql)
{
    unsigned i;

    for (i = 0; i < STMT_CACHE; i++)
        if (c->cache[i].sql != NULL && strcmp(c->cache[i].sql, sql) == 0)
            return c->cache[i].stmt;
    return NULL;
}

/* Keep st under sql, evicting the oldest; 0 when out of memory (st stays the caller's). */
static int cache_put(mig_conn *c, const char *sql, MYSQL_STMT *st)
{
    unsigned i = c->cache_next++ % STMT_CACHE;
    char *copy = strdup(sql);

    if (copy == NULL)
        return 0;
    if (c->cache[i].stmt != NULL)
        mysql_stmt_close(c->cache[i].stmt);
    free(c->cache[i].sql);
    c->cache[i].sql = copy;
    c->cache[i].stmt = st;
    return 1;
}

/* Discard whatever result sets a statement produced (a SELECT, a CALL). */
static int discard_results(MYSQL_STMT *st, mig_drv_error *err)
{
    for (;;) {
        if (mysql_stmt_field_count(st) > 0) {
            if (mysql_stmt_store_result(st))
                return fail_stmt(st, err);
            mysql_stmt_free_result(st);
        }
        if (!mysql_stmt_more_results(st))
            return MIG_DRV_OK;
        if (mysql_stmt_next_result(st) > 0)
            return fail_stmt(st, err);
    }
}

static int my_exec_params(mig_conn *c, const char *sql, const mig_value *pv, int nparams,
                          int64_t *affected, mig_drv_error *err)
{
    MYSQL_STMT *st;
    params p;
    int rc, keep = cacheable(sql);

    if (affected != NULL)
        *affected = 0;
    st = keep ? cache_find(c, sql) : NULL;
    if (st == NULL) {
        if ((st = mysql_stmt_init(c->my)) == NULL)
            return my_fail_conn(c->my, err);
        if (mysql_stmt_prepare(st, sql, strlen(sql))) {
            unsigned int code = mysql_stmt_errno(st);
            rc = fail_stmt(st, err);
            mysql_stmt_close(st);
            /* a few statements cannot be prepared; with nothing to bind, send the text */
            if (code == ER_UNSUPPORTED_PS && nparams == 0) {
                drop_cache(c);
                rc = simple(c, sql, err);
                if (rc == MIG_DRV_OK && affected != NULL) {
                    my_ulonglong n = mysql_affected_rows(c->my);
                    *affected = n == (my_ulonglong)~0ULL ? 0 : (int64_t)n;
                }
            }
            return rc;
        }
        if (keep && !cache_put(c, sql, st))
            keep = 0; /* out of memory: run it uncached */
    }
    rc = bind_params(st, pv, nparams, &p, err);
    if (rc == MIG_DRV_OK) {
        if (mysql_stmt_execute(st)) {
            rc = fail_stmt(st, err);
        } else {
            my_ulonglong n = mysql_stmt_affected_rows(st);
            if (affected != NULL)
                *affected = n == (my_ulonglong)~0ULL ? 0 : (int64_t)n;
            rc = discard_results(st, err);
        }
        params_release(&p);
    }
    if (!keep) {
        mysql_stmt_close(st);
        /* it may have been USE, or DDL: start the cache afresh */
        drop_cache(c);
    } else if (rc == MIG_DRV_CONN) {
        drop_cache(c);
    }
    return rc;
}

/* ---------------------------------------------------------------- cursor */

static void my_cursor_close(mig_cursor *cur)
{
    int i;

    if (cur == NULL)
        return;
    if (cur->stmt != NULL)
        mysql_stmt_close(cur->stmt);
    if (cur->meta != NULL)
        mysql_free_result(cur->meta);
    for (i = 0; i < cur->ncols && cur->cols != NULL; i++)
        free(cur->cols[i].buf);
    free(cur->cols);
    free(cur->binds);
    free(cur->names);
    free(cur->values);
    free(cur);
}

/* How column f is fetched and what it becomes. */
static void setup_column(col *k, MYSQL_BIND *b, const MYSQL_FIELD *f)
{
    k->type = f->type;
    k->decimals = f->decimals;
    b->is_null = &k->is_null;
    b->error = &k->error;
    switch (f->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
        /* TINYINT(1), MySQL's BOOLEAN, comes back as 0/1: nothing marks it boolean */
        k->kind = (f->flags & UNSIGNED_FLAG) ? K_UINT : K_INT;
        b->buffer_type = MYSQL_TYPE_LONGLONG;
        b->buffer = &k->i;
        b->is_unsigned = (f->flags & UNSIGNED_FLAG) != 0;
        return;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
        k->kind = K_FLOAT;
        b->buffer_type = MYSQL_TYPE_DOUBLE;
        b->buffer = &k->f;
        return;
    case MYSQL_TYPE_NULL:
        k->kind = K_NULL;
        b->buffer_type = MYSQL_TYPE_NULL;
        return;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
    case MYSQL_TYPE_TIME:
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
        k->kind = K_TIME;
        b->buffer_type = f->type == MYSQL_TYPE_NEWDATE ? MYSQL_TYPE_DATE : f->type;
        b->buffer = &k->tm;
        b->buffer_length = sizeof(k->tm);
        return;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL:
        k->kind = K_DECIMAL;
        b->buffer_type = MYSQL_TYPE_STRING;
        break;
    case MYSQL_TYPE_BIT:
        k->kind = K_BIT;
        b->buffer_type = MYSQL_TYPE_BLOB;
        break;
    case MYSQL_TYPE_JSON:
        k->kind = K_TEXT; /* MySQL labels JSON binary, yet it is text */
        b->buffer_type = MYSQL_TYPE_STRING;
        break;
    default:
        /* charset 63 is "binary": BLOB, VARBINARY, BINARY, GEOMETRY */
        k->kind = f->charsetnr == 63 ? K_BLOB : K_TEXT;
        b->buffer_type = k->kind == K_BLOB ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING;
        break;
    }
    b->buffer = k->buf;
    b->buffer_length = k->cap - 1; /* room for a NUL of our own */
    b->length = &k->length;
}

static int cursor_columns(mig_cursor *cur, mig_drv_error *err)
{
    int i;

    cur->ncols = (int)mysql_num_fields(cur->meta);
    cur->cols = calloc((size_t)cur->ncols, sizeof(*cur->cols));
    cur->binds = calloc((size_t)cur->ncols, sizeof(*cur->binds));
    cur->names = calloc((size_t)cur->ncols, sizeof(*cur->names));
    cur->values = calloc((size_t)cur->ncols, sizeof(*cur->values));
    if (cur->ncols > 0 &&
        (cur->cols == NULL || cur->binds == NULL || cur->names == NULL || cur->values == NULL))
        return my_fail(err, "out of memory");
    for (i = 0; i < cur->ncols; i++) {
        const MYSQL_FIELD *f = mysql_fetch_field_direct(cur->meta, (unsigned)i);
        unsigned long cap = f->length < 16 ? 16 : f->length > 1024 ? 1024 : f->length;
        cur->names[i] = f->name;
        cur->cols[i].cap = cap + 1;
        if ((cur->cols[i].buf = malloc(cap + 1)) == NULL)
            return my_fail(err, "out of memory");
        setup_column(&cur->cols[i], &cur->binds[i], f);
    }
    if (cur->ncols > 0 && mysql_stmt_bind_result(cur->stmt, cur->binds))
        return fail_stmt(cur->stmt, err);
    cur->row.ncols = cur->ncols;
    cur->row.names = cur->names;
    cur->row.values = cur->values;
    return MIG_DRV_OK;
}

/*
 * Prepare, bind and execute sql. With stream set, rows are read through a
 * server cursor in batches; otherwise (internal one-row queries) they are
 * buffered at once.
 */
static int cursor_open(mig_cursor **out, mig_conn *c, const char *sql, const mig_value *pv, int nparams,
                       int stream, mig_drv_error *err)
{
    mig_cursor *cur;
    params p;
    unsigned long type = stream ? CURSOR_TYPE_READ_ONLY : CURSOR_TYPE_NO_CURSOR;
    unsigned long batch = FETCH_BATCH;
    int rc;

    *out = NULL;
    if ((cur = calloc(1, sizeof(*cur))) == NULL)
        return my_fail(err, "out of memory");
    if ((cur->stmt = mysql_stmt_init(c->my)) == NULL) {
        free(cur);
        return my_fail_conn(c->my, err);
    }
    if (mysql_stmt_prepare(cur->stmt, sql, strlen(sql)) ||
        mysql_stmt_attr_set(cur->stmt, STMT_ATTR_CURSOR_TYPE, &type) ||
        (stream && mysql_stmt_attr_set(cur->stmt, STMT_ATTR_PREFETCH_ROWS, &batch))) {
        rc = fail_stmt(cur->stmt, err);
        goto fail;
    }
    if ((rc = bind_params(cur->stmt, pv, nparams, &p, err)) != MIG_DRV_OK)
        goto fail;
    if (mysql_stmt_execute(cur->stmt)) {
        rc = fail_stmt(cur->stmt, err);
        params_release(&p);
        goto fail;
    }
    params_release(&p);
    cur->meta = mysql_stmt_result_metadata(cur->stmt);
    if (cur->meta == NULL) {
        if (mysql_stmt_errno(cur->stmt) != 0) {
            rc = fail_stmt(cur->stmt, err);
            goto fail;
        }
        cur->done = 1; /* no result set: INSERT, UPDATE ... */
        *out = cur;
        return MIG_DRV_OK;
    }
    if ((rc = cursor_columns(cur, err)) != MIG_DRV_OK)
        goto fail;
    if (stream) {
        unsigned int status = 0;
        mariadb_get_infov(c->my, MARIADB_CONNECTION_SERVER_STATUS, &status);
        stream = (status & SERVER_STATUS_CURSOR_EXISTS) != 0;
    }
    /*
     * No server cursor (not a SELECT, or an old server): the rows are on
     * the wire now and would block the connection, so read them all.
     */
    if (!stream && mysql_stmt_store_result(cur->stmt)) {
        rc = fail_stmt(cur->stmt, err);
        goto fail;
    }
    *out = cur;
    return MIG_DRV_OK;
fail:
    my_cursor_close(cur);
    return rc;
}

static int my_query(mig_cursor **out, mig_conn *c, const char *sql, const mig_value *pv, int nparams,
                    mig_drv_error *err)
{
    return cursor_open(out, c, sql, pv, nparams, 1, err);
}

/* A MYSQL_TIME as MySQL writes it: 2026-11-26 06:00:00.123, -838:59:59. */
static void format_time(col *k)
{
    const MYSQL_TIME *t = &k->tm;
    size_t n;

    if (k->type == MYSQL_TYPE_DATE || k->type == MYSQL_TYPE_NEWDATE) {
        snprintf(k->tmp, sizeof(k->tmp), "%04u-%02u-%02u", t->year, t->month, t->day);
        return;
    }
    if (k->type == MYSQL_TYPE_TIME)
        n = (size_t)snprintf(k->tmp, sizeof(k->tmp), "%s%02u:%02u:%02u", t->neg ? "-" : "",
                             t->hour + t->day * 24, t->minute, t->second);
    else
        n = (size_t)snprintf(k->tmp, sizeof(k->tmp), "%04u-%02u-%02u %02u:%02u:%02u", t->year, t->month,
                             t->day, t->hour, t->minute, t->second);
    if (k->decimals > 0 && k->decimals <= 6 && n < sizeof(k->tmp)) {
        char frac[8];
        snprintf(frac, sizeof(frac), "%06lu", t->second_part % 1000000UL);
        frac[k->decimals] = '\0';
        snprintf(k->tmp + n, sizeof(k->tmp) - n, ".%s", frac);
    }
}

static void set_text(mig_value *v, mig_value_type type, const char *p, size_t n)
{
    v->type = type;
    v->u.s.ptr = p;
    v->u.s.len = n;
}

/* The fetched row's column k as a mig_value. */
static void convert(col *k, mig_value *v)
{
    if (k->is_null || k->kind == K_NULL) {
        v->type = MIG_VAL_NULL;
        return;
    }
    switch (k->kind) {
    case K_INT:
        v->type = MIG_VAL_INT;
        v->u.i = (int64_t)k->i;
        return;
    case K_UINT:
        if ((unsigned long long)k->i > (unsigned long long)INT64_MAX) {
            /* BIGINT UNSIGNED above 2^63: text keeps it exact */
            snprintf(k->tmp, sizeof(k->tmp), "%llu", (unsigned long long)k->i);
            set_text(v, MIG_VAL_TEXT, k->tmp, strlen(k->tmp));
        } else {
            v->type = MIG_VAL_INT;
            v->u.i = (int64_t)k->i;
        }
        return;
    case K_FLOAT:
        v->type = MIG_VAL_FLOAT;
        v->u.f = k->f;
        return;
    case K_DECIMAL: {
        /*
         * DECIMAL is a number, so it comes back as one (SPEC 7: integers as
         * integers, other numbers as floats): without a scale and within
         * int64 as an integer (SUM() of integers is DECIMAL), else a float.
         * CAST(x AS CHAR) in the query keeps every digit when that matters.
         */
        char *end;
        k->buf[k->length < k->cap ? k->length : k->cap - 1] = '\0';
        if (k->decimals == 0 && strchr(k->buf, '.') == NULL) {
            long long i;
            errno = 0;
            i = strtoll(k->buf, &end, 10);
            if (errno == 0 && *end == '\0') {
                v->type = MIG_VAL_INT;
                v->u.i = (int64_t)i;
                return;
            }
        }
        v->type = MIG_VAL_FLOAT;
        v->u.f = strtod(k->buf, NULL);
        return;
    }
    case K_BIT: {
        /* BIT(n) arrives as big-endian bytes */
        uint64_t x = 0;
        unsigned long i;
        for (i = 0; i < k->length && i < 8; i++)
            x = (x << 8) | (unsigned char)k->buf[i];
        v->type = MIG_VAL_INT;
        v->u.i = (int64_t)x;
        return;
    }
    case K_TIME:
        format_time(k);
        set_text(v, MIG_VAL_TEXT, k->tmp, strlen(k->tmp));
        return;
    case K_TEXT:
    case K_BLOB:
        set_text(v, k->kind == K_TEXT ? MIG_VAL_TEXT : MIG_VAL_BLOB, k->buf, k->length);
        return;
    default:
        v->type = MIG_VAL_NULL;
        return;
    }
}

/* A value longer than its buffer: grow the buffer and read that column again. */
static int refetch_truncated(mig_cursor *cur, mig_drv_error *err)
{
    int i, grown = 0;

    for (i = 0; i < cur->ncols; i++) {
        col *k = &cur->cols[i];
        MYSQL_BIND *b = &cur->binds[i];
        char *nb;

        if (k->buf == NULL || b->length == NULL || k->is_null || k->length < k->cap)
            continue;
        if ((nb = realloc(k->buf, k->length + 1)) == NULL)
            return my_fail(err, "out of memory");
        k->buf = nb;
        k->cap = k->length + 1;
        b->buffer = k->buf;
        b->buffer_length = k->cap - 1;
        if (mysql_stmt_fetch_column(cur->stmt, b, (unsigned)i, 0))
            return fail_stmt(cur->stmt, err);
        grown = 1;
    }
    /* later rows land in the grown buffers */
    if (grown && mysql_stmt_bind_result(cur->stmt, cur->binds))
        return fail_stmt(cur->stmt, err);
    return MIG_DRV_OK;
}

static int my_fetch(mig_cursor *cur, const mig_row **row, mig_drv_error *err)
{
    int r, i, rc;

    *row = NULL;
    if (cur->done) /* NOLINT(clang-analyzer-core.NullDereference) */
        return MIG_DRV_OK;
    r = mysql_stmt_fetch(cur->stmt);
    if (r == MYSQL_NO_DATA) {
        cur->done = 1;
        return MIG_DRV_OK;
    }
    if (r == 1)
        return fail_stmt(cur->stmt, err);
    if (r == MYSQL_DATA_TRUNCATED && (rc = refetch_truncated(cur, err)) != MIG_DRV_OK)
        return rc;
    for (i = 0; i < cur->ncols; i++)
        convert(&cur->cols[i], &cur->values[i]);
    *row = &cur->row;
    return MIG_DRV_OK;
}

/*
 * First column of the first row of an internal query, as an integer
 * (*is_null when NULL or no row). For GET_LOCK(), information_schema.
 */
static int scalar_int(mig_conn *c, const char *sql, const mig_value *pv, int n, int64_t *out,
                      int *is_null, mig_drv_error *err)
{
    mig_cursor *cur;
    const mig_row *row;
    int rc = cursor_open(&cur, c, sql, pv, n, 0, err);

    *out = 0;
    *is_null = 1;
    if (rc != MIG_DRV_OK)
        return rc;
    rc = my_fetch(cur, &row, err);
    if (rc == MIG_DRV_OK && row != NULL && row->ncols > 0 && row->values[0].type == MIG_VAL_INT) {
        *out = row->values[0].u.i;
        *is_null = 0;
    }
    my_cursor_close(cur);
    return rc;
}

static mig_value text_value(const char *s)
{
    mig_value v;

    v.type = MIG_VAL_TEXT;
    v.u.s.ptr = s;
    v.u.s.len = strlen(s);
    return v;
}

/* ---------------------------------------------------------- transactions */

static int my_begin(mig_conn *c, int write, mig_drv_error *err)
{
    (void)write; /* InnoDB takes row and metadata locks as it goes */
    return simple(c, "START TRANSACTION", err);
}

static int my_commit(mig_conn *c, mig_drv_error *err)
{
    return simple(c, "COMMIT", err);
}

static int my_rollback(mig_conn *c, mig_drv_error *err)
{
    return simple(c, "ROLLBACK", err);
}

/* ------------------------------------------------------------------ lock */

/*
 * The GET_LOCK name for key. MySQL limits names to 64 characters, so a
 * longer key keeps a readable head and ends in a hash of the whole key
 * (64-bit FNV-1a): every mig process maps a key the same way.
 */
static void lock_name(const char *key, char out[65])
{
    size_t n = strlen(key), head;
    uint64_t h = 14695981039346656037ULL;
    size_t i;

    if (n <= 64) {
        memcpy(out, key, n + 1);
        return;
    }
    for (i = 0; i < n; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ULL;
    }
    head = 64 - 17;
    while (head > 0 && ((unsigned char)key[head] & 0xC0) == 0x80)
        head--; /* do not cut a UTF-8 character */
    memcpy(out, key, head);
    snprintf(out + head, 65 - head, "~%016" PRIx64, h);
}

/* One line on who holds lock `name`; empty when it was released meanwhile. */
static void describe_holder(mig_conn *c, const char *name, char *holder, size_t len)
{
    mig_value key = text_value(name), id;
    mig_cursor *cur;
    const mig_row *row;
    mig_drv_error e;
    int64_t conn_id;
    int is_null, n;
    char who[256] = "", prog[128] = "";

    if (scalar_int(c, "SELECT IS_USED_LOCK(?)", &key, 1, &conn_id, &is_null, &e) != MIG_DRV_OK || is_null)
        return;
    id.type = MIG_VAL_INT;
    id.u.i = conn_id;
    /* needs the PROCESS privilege to see other users' sessions; without it, the id only */
    if (cursor_open(&cur, c,
                    "SELECT USER, HOST, DB, TIME FROM information_schema.PROCESSLIST "
                    "WHERE ID = ?",
                    &id, 1, 0, &e) == MIG_DRV_OK) {
        if (my_fetch(cur, &row, &e) == MIG_DRV_OK && row != NULL) {
            const mig_value *v = row->values;
            n = snprintf(who, sizeof(who), ", %.*s@%.*s",
                         v[0].type == MIG_VAL_TEXT ? (int)v[0].u.s.len : 1,
                         v[0].type == MIG_VAL_TEXT ? v[0].u.s.ptr : "?",
                         v[1].type == MIG_VAL_TEXT ? (int)v[1].u.s.len : 1,
                         v[1].type == MIG_VAL_TEXT ? v[1].u.s.ptr : "?");
            if (n > 0 && (size_t)n < sizeof(who) && v[2].type == MIG_VAL_TEXT)
                snprintf(who + n, sizeof(who) - (size_t)n, ", database %.*s", (int)v[2].u.s.len,
                         v[2].u.s.ptr);
        }
        my_cursor_close(cur);
    }
    /* program name and pid, when performance_schema is on */
    if (cursor_open(&cur, c,
                    "SELECT ATTR_NAME, ATTR_VALUE FROM "
                    "performance_schema.session_connect_attrs WHERE PROCESSLIST_ID = ? "
                    "AND ATTR_NAME IN ('program_name', '_pid') ORDER BY ATTR_NAME DESC",
                    &id, 1, 0, &e) == MIG_DRV_OK) {
        size_t used = 0;
        while (my_fetch(cur, &row, &e) == MIG_DRV_OK && row != NULL && used < sizeof(prog)) {
            const mig_value *v = row->values;
            if (v[0].type != MIG_VAL_TEXT || v[1].type != MIG_VAL_TEXT)
                continue;
            n = snprintf(prog + used, sizeof(prog) - used, "%s%s%.*s", used ? " " : "",
                         v[0].u.s.len == 4 ? "pid " : "", (int)v[1].u.s.len, v[1].u.s.ptr);
            if (n > 0)
                used += (size_t)n;
        }
        my_cursor_close(cur);
    }
    snprintf(holder, len, "connection %" PRId64 "%s%s%s%s", conn_id, prog[0] ? " (" : "", prog,
             prog[0] ? ")" : "", who);
}

/*
 * GET_LOCK names are server-wide, while the core's key names a version
 * table: prefix the database the lock connection was opened on, so
 * projects in two databases of one server do not wait for each other.
 */
static void scoped_lock_name(mig_conn *c, const char *key, char out[65])
{
    char scoped[512];
    const char *db = c->my && c->my->db ? c->my->db : "";
    snprintf(scoped, sizeof scoped, "%s/%s", db, key);
    lock_name(scoped, out);
}

static int my_lock_try(mig_conn *c, const char *key, char *holder, size_t holder_len, mig_drv_error *err)
{
    char name[65];
    mig_value v;
    int64_t got;
    int is_null, rc;

    if (holder != NULL && holder_len > 0)
        holder[0] = '\0';
    /*
     * This connection sits idle while the migration runs on another one;
     * the server would end it after wait_timeout (8 hours by default) and
     * so free the lock in the middle of a long run. A year is the most
     * MySQL accepts.
     */
    if (!c->lock_session) {
        if ((rc = simple(c, "SET SESSION wait_timeout = 31536000", err)) == MIG_DRV_CONN)
            return rc;
        c->lock_session = 1;
    }
    scoped_lock_name(c, key, name);
    v = text_value(name);
    /* timeout 0: try once; the core polls, so it can give up and report */
    rc = scalar_int(c, "SELECT GET_LOCK(?, 0)", &v, 1, &got, &is_null, err);
    if (rc != MIG_DRV_OK)
        return rc;
    if (is_null)
        return my_fail(err, "GET_LOCK('%s') failed", name);
    if (got == 1) {
        c->locked = 1;
        return MIG_DRV_OK;
    }
    if (holder != NULL && holder_len > 0)
        describe_holder(c, name, holder, holder_len);
    return MIG_DRV_BUSY;
}

static int my_unlock(mig_conn *c, const char *key, mig_drv_error *err)
{
    char name[65];
    mig_value v;
    int64_t released;
    int is_null, rc;

    scoped_lock_name(c, key, name);
    v = text_value(name);
    rc = scalar_int(c, "SELECT RELEASE_LOCK(?)", &v, 1, &released, &is_null, err);
    if (rc != MIG_DRV_OK)
        return rc;
    if (is_null)
        return my_fail(err, "lock '%s' was not held", name);
    if (released != 1)
        return my_fail(err, "lock '%s' is held by another connection", name);
    return MIG_DRV_OK;
}

/* --------------------------------------------------------------- schemas */

static size_t my_quote_ident(const char *name, char *buf, size_t buflen)
{
    size_t need = 0, i;

#define PUT(ch)                                                                                         \
    do {                                                                                                \
        if (buflen > 0 && need < buflen - 1)                                                            \
            buf[need] = (ch);                                                                           \
        need++;                                                                                         \
    } while (0)
    PUT('`');
    for (i = 0; name[i] != '\0'; i++) {
        if (name[i] == '`')
            PUT('`');
        PUT(name[i]);
    }
    PUT('`');
#undef PUT
    if (buflen > 0)
        buf[need < buflen - 1 ? need : buflen - 1] = '\0';
    return need;
}

/* A MySQL database is a tenant schema: search_path has no MySQL meaning. */
static int my_set_schema(mig_conn *c, const char *schema, const char *search_path, mig_drv_error *err)
{
    (void)search_path;
    if (schema == NULL)
        return MIG_DRV_OK;
    drop_cache(c); /* cached statements would go on naming the old database's tables */
    if (mysql_select_db(c->my, schema) != 0)
        return my_fail_conn(c->my, err);
    return MIG_DRV_OK;
}

static int my_schema_exists(mig_conn *c, const char *schema, int *exists, mig_drv_error *err)
{
    mig_value v = text_value(schema);
    int64_t n;
    int is_null, rc;

    rc = scalar_int(c, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", &v, 1,
                    &n, &is_null, err);
    *exists = rc == MIG_DRV_OK && n > 0;
    return rc;
}

static int my_create_schema(mig_conn *c, const char *schema, mig_drv_error *err)
{
    static const char head[] = "CREATE DATABASE IF NOT EXISTS ";
    size_t n = my_quote_ident(schema, NULL, 0);
    char *sql = malloc(sizeof(head) + n);
    int rc;

    if (sql == NULL)
        return my_fail(err, "out of memory");
    memcpy(sql, head, sizeof(head) - 1);
    my_quote_ident(schema, sql + sizeof(head) - 1, n + 1);
    rc = simple(c, sql, err);
    free(sql);
    return rc;
}

static int my_table_exists(mig_conn *c, const char *table, int *exists, mig_drv_error *err)
{
    mig_value v = text_value(table);
    int64_t n;
    int is_null, rc;

    rc = scalar_int(c,
                    "SELECT COUNT(*) FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
                    &v, 1, &n, &is_null, err);
    *exists = rc == MIG_DRV_OK && n > 0;
    return rc;
}

/* The estimate information_schema keeps (InnoDB: from its statistics, refreshed by ANALYZE TABLE). */
int my_table_rows(mig_conn *c, const char *table, int64_t *rows, mig_drv_error *err)
{
    const char *dot = strchr(table, '.');
    char schema[256] = "";
    if (dot && (size_t)(dot - table) < sizeof schema) {
        memcpy(schema, table, (size_t)(dot - table));
        schema[dot - table] = 0;
        table = dot + 1;
    }
    mig_value v[2] = { text_value(table), text_value(schema) };
    int64_t n = -1;
    int is_null = 1;
    int rc = scalar_int(c,
                        "SELECT TABLE_ROWS FROM information_schema.TABLES "
                        "WHERE TABLE_NAME = ? AND TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE())",
                        v, 2, &n, &is_null, err);
    *rows = rc == MIG_DRV_OK && !is_null ? n : -1;
    return rc;
}

static int my_column_exists(mig_conn *c, const char *table, const char *column, int *exists,
                            mig_drv_error *err)
{
    mig_value v[2] = { text_value(table), text_value(column) };
    int64_t n;
    int is_null, rc;

    rc = scalar_int(c,
                    "SELECT COUNT(*) FROM information_schema.COLUMNS "
                    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?",
                    v, 2, &n, &is_null, err);
    *exists = rc == MIG_DRV_OK && n > 0;
    return rc;
}

/* The database a tenant's session is in: USE in on_connect could have moved it. */
static int my_current_schema(mig_conn *c, char *buf, size_t buflen, mig_drv_error *err)
{
    mig_cursor *cur;
    const mig_row *row;
    int rc = cursor_open(&cur, c, "SELECT DATABASE()", NULL, 0, 0, err);

    if (buflen > 0)
        buf[0] = '\0';
    if (rc != MIG_DRV_OK)
        return rc;
    rc = my_fetch(cur, &row, err);
    if (rc == MIG_DRV_OK && row != NULL && row->ncols > 0 &&
        (row->values[0].type == MIG_VAL_TEXT || row->values[0].type == MIG_VAL_BLOB) && buflen > 0) {
        size_t n = row->values[0].u.s.len < buflen - 1 ? row->values[0].u.s.len : buflen - 1;
        memcpy(buf, row->values[0].u.s.ptr, n);
        buf[n] = '\0';
    }
    my_cursor_close(cur);
    return rc;
}

static int my_introspect_slot(mig_conn *c, const char *schema, const mig_schema_sink *sink,
                              void *payload, mig_drv_error *err)
{
    return my_introspect(c->my, schema, sink, payload, err);
}

/* ----------------------------------------------------------------- table */

static const char *const url_schemes[] = { "mysql", "mariadb", NULL };

static const mig_dialect dialect = {
    .begin_sql = "START TRANSACTION",
    .begin_write_sql = "START TRANSACTION",
    .commit_sql = "COMMIT",
    .rollback_sql = "ROLLBACK",
    .autoinc_pk = "BIGINT AUTO_INCREMENT PRIMARY KEY",
    .timestamp_type = "DATETIME(3)",
    .now_expr = "UTC_TIMESTAMP(3)",
    /* unbounded, so never indexed: version_num is VARCHAR(64) for its key */
    .text_type = "TEXT",
    .ident_quote = '`',
    .backslash_escapes = 1,
    .dollar_quotes = 0,
    .hash_comments = 1,
};

/* mig test (my_objects.c / objects.c) */
int my_introspect_objects(mig_conn *conn, mig_object_fn fn, void *payload, const char **kinds,
                          mig_drv_error *err);

/*
 * A lock timeout is two settings here: lock_wait_timeout for metadata
 * locks (what DDL waits for) and innodb_lock_wait_timeout for row locks
 * (what DML waits for), both whole seconds, so a limit is rounded up;
 * "none" is the largest lock_wait_timeout takes (a year). The statement
 * limit is MariaDB's max_statement_time (seconds; 0 = none). The values
 * replaced are kept in user variables and put back after the revision.
 */
static int my_limits_sql(const mig_limits *lim, int restore, mig_ddl_emit_fn emit, void *payload)
{
    char sql[320];
    int rc = 0;
    if (lim->lock_timeout_ms >= 0) {
        if (restore) {
            rc = emit(payload, "SET SESSION lock_wait_timeout = @mig_saved_lock_wait_timeout, "
                               "SESSION innodb_lock_wait_timeout = @mig_saved_innodb_lock_wait_timeout");
        } else {
            long long sec = lim->lock_timeout_ms == 0 ? 31536000 : (lim->lock_timeout_ms + 999) / 1000;
            rc = emit(payload, "SET @mig_saved_lock_wait_timeout = @@SESSION.lock_wait_timeout, "
                               "@mig_saved_innodb_lock_wait_timeout = @@SESSION.innodb_lock_wait_timeout");
            if (rc == 0) {
                snprintf(sql, sizeof sql,
                         "SET SESSION lock_wait_timeout = %lld, SESSION innodb_lock_wait_timeout = %lld",
                         sec, sec);
                rc = emit(payload, sql);
            }
        }
    }
    if (rc == 0 && lim->statement_timeout_ms >= 0) {
        if (restore) {
            rc = emit(payload, "SET SESSION max_statement_time = @mig_saved_max_statement_time");
        } else {
            rc = emit(payload, "SET @mig_saved_max_statement_time = @@SESSION.max_statement_time");
            if (rc == 0) {
                snprintf(sql, sizeof sql, "SET SESSION max_statement_time = %lld.%03lld",
                         lim->statement_timeout_ms / 1000, lim->statement_timeout_ms % 1000);
                rc = emit(payload, sql);
            }
        }
    }
    return rc;
}

/*
 * ER_LOCK_WAIT_TIMEOUT, for row and metadata locks alike: the statement
 * was rolled back and did nothing. A statement stopped by
 * max_statement_time (MariaDB 1969, MySQL 3024) ran, and is no lock wait.
 */
static int my_is_lock_timeout(const mig_drv_error *err)
{
    return err->code == ER_LOCK_WAIT_TIMEOUT;
}

static const mig_driver driver = {
    .magic = MIG_DRIVER_MAGIC,
    .abi = MIG_DRIVER_ABI,
    .size = sizeof(mig_driver),
    .name = "mysql",
    .version = MIG_DRIVER_VERSION,
    .description = "MySQL and MariaDB, through MariaDB Connector/C",
    .url_schemes = url_schemes,
    /* no MIG_CAP_TRANSACTIONAL_DDL: every DDL statement commits */
    .caps = MIG_CAP_SESSION_LOCK | MIG_CAP_SCHEMAS | MIG_CAP_MULTI_STATEMENT | MIG_CAP_SERVER_BATCH,
    .dialect = &dialect,
    .connect = my_connect,
    .close = my_close,
    .exec = my_exec,
    .exec_params = my_exec_params,
    .query = my_query,
    .fetch = my_fetch,
    .cursor_close = my_cursor_close,
    .begin = my_begin,
    .commit = my_commit,
    .rollback = my_rollback,
    .lock_try = my_lock_try,
    .unlock = my_unlock,
    .set_schema = my_set_schema,
    .schema_exists = my_schema_exists,
    .create_schema = my_create_schema,
    .quote_ident = my_quote_ident,
    .statement_end = my_split_statement_end,
    .table_exists = my_table_exists,
    .introspect = my_introspect_slot,
    .render_ddl = my_render_ddl,
    .introspect_ddl = my_introspect_ddl,
    .mask_url = my_url_mask,
    /* MySQL and MariaDB refuse longer names (error 1059) */
    .ident_max = 64,
    .ident_max_chars = 1,
    .current_schema = my_current_schema,
    .column_exists = my_column_exists,
    .introspect_objects = my_introspect_objects,
    .limits_sql = my_limits_sql,
    .is_lock_timeout = my_is_lock_timeout,
    .lint_rules = my_lint_rules,
    .lint = my_lint,
    .table_rows = my_table_rows,
    .cancel = my_cancel,
    .reset = my_reset,

    /* DDL commits on its own, so its metadata locks are only seen from another session while it runs */
    .trace_session_sql = "SELECT CONNECTION_ID()",
    .trace_poll_sql =
        "SELECT lock_mode, table_name FROM information_schema.metadata_lock_info "
        "WHERE thread_id = %lld AND table_schema = DATABASE() "
        "AND lock_mode IN ('MDL_SHARED_NO_WRITE', 'MDL_SHARED_NO_READ_WRITE', 'MDL_EXCLUSIVE')",
};

MIG_DRIVER_DEFINE(driver)
