/*
 * Internals shared by the files of the MySQL/MariaDB driver plugin. Nothing
 * here is exported: the plugin's only public symbol is mig_driver_entry().
 *
 *   mysql.c       the driver table, connections, exec, cursors, locks
 *   url.c         mysql:// and mariadb:// URLs: parsing and masking
 *   split.c       MySQL's lexical rules: where a statement ends
 *   introspect.c  information_schema -> mig_schema_sink
 */
#ifndef MIG_MYSQL_INT_H
#define MIG_MYSQL_INT_H

#include <stddef.h>
#include <mysql.h>

#include "mig/driver.h"

/* ---- url.c ---- */

/* A parsed URL; every string is malloc'ed and may be NULL (not given). */
typedef struct my_url {
    char *user;
    char *password;
    char *host;
    unsigned int port; /* 0: not given (3306) */
    char *db;
    char *socket;
    char *charset;                /* default utf8mb4 */
    unsigned int connect_timeout; /* seconds, 0: not given */
    char *ssl_mode;               /* disabled|preferred|required|verify_ca|verify_identity */
    char *ssl_ca;
    char *ssl_cert;
    char *ssl_key;
} my_url;

/*
 * Parse url into *out (zeroed first). On failure returns MIG_DRV_ERROR
 * with err->message saying what is wrong, never quoting the password.
 */
int my_url_parse(my_url *out, const char *url, mig_drv_error *err);
void my_url_release(my_url *u);
/* The driver's mask_url slot: scheme://user:***@rest. */
size_t my_url_mask(const char *url, char *buf, size_t buflen);

/* ---- split.c ---- */

/*
 * Scan the first statement of sql[0..len): returns its length including
 * the ';' that ends it (len when none does; *terminated tells which).
 * *first gets the offset of its first significant byte (len when there is
 * none) and *empty is set when it holds nothing but whitespace and
 * comments. MySQL rules: backslash
 * escapes in '' and "" strings, `` identifiers, # and "-- " comments, flat
 * block comments (an executable comment, slash-star-bang, counts as code),
 * and compound bodies
 * (CREATE TRIGGER/PROCEDURE/FUNCTION/EVENT, BEGIN NOT ATOMIC, IF, CASE,
 * LOOP, WHILE, REPEAT, FOR) whose inner ';' do not end the statement.
 */
size_t my_split_next(const char *sql, size_t len, size_t *first, int *empty, int *terminated);
/*
 * Can this statement send several results: CALL, or a compound statement
 * run on its own (BEGIN NOT ATOMIC, IF, CASE, LOOP, WHILE, REPEAT, FOR)?
 * Each SELECT inside sends a result set, and the statement ends with an OK.
 */
int my_split_multi_result(const char *sql, size_t len);
/* The driver's statement_end slot. */
size_t my_split_statement_end(const char *sql, size_t len);
/* One token for lint: returns its length; *kind 0 end, 1 word, 2 quoted, 3 punctuation, 4 ';'. */
size_t my_lex_next(const char *sql, size_t len, size_t *pos, size_t *start, int *kind);

/* ---- mysql_lint.c: the lint_rules, lint and table_rows slots ---- */
extern const mig_lint_rule my_lint_rules[];
int my_lint(const mig_lint_stmt *stmt, mig_lint_state *st, const mig_lint_sink *sink, void *payload);
int my_table_rows(mig_conn *conn, const char *table, int64_t *rows, mig_drv_error *err);

/* ---- introspect.c ---- */

int my_introspect(MYSQL *my, const char *schema, const mig_schema_sink *sink, void *payload,
                  mig_drv_error *err);

/* ---- mysql_ddl.c: autogenerate's render_ddl and introspect_ddl slots ---- */

int my_render_ddl(const mig_ddl_change *change, mig_ddl_emit_fn emit, void *payload);
int my_introspect_ddl(mig_conn *conn, const char *ddl, size_t len, const mig_schema_sink *sink,
                      void *payload, mig_drv_error *err);

/* ---- mysql.c, for the other files ---- */

/*
 * Fill err from the connection's last error: message "TEXT (errno N,
 * SQLSTATE S)", code, sqlstate. Returns MIG_DRV_CONN when the connection
 * is gone, else MIG_DRV_ERROR.
 */
int my_fail_conn(MYSQL *my, mig_drv_error *err);
/* printf into err->message (one line), code and sqlstate cleared; returns MIG_DRV_ERROR. */
int my_fail(mig_drv_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif /* MIG_MYSQL_INT_H */
