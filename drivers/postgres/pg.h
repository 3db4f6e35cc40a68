/*
 * Internals shared by the PostgreSQL driver's files: the connection
 * struct and the helpers that turn libpq results into mig_drv_error.
 */
#ifndef MIG_PG_H
#define MIG_PG_H

#include <libpq-fe.h>
#include <stddef.h>

#include "mig/driver.h"

struct mig_conn {
    PGconn *pg;
    unsigned cursor_seq; /* names mig_cur_N, unique per connection */
    int locked;          /* lock_try has succeeded on this session */
    /*
     * The schema set_schema made current, NULL before: table_exists and
     * introspect look there, not at current_schema(), which skips a schema
     * that does not exist (yet) and would answer for the next one on the
     * path (public).
     */
    char *schema;
    PGcancel *cancel; /* made at connect: cancel() only sends it */
};

/* Fill err from an error result (NULL res: the connection's message). */
int pg_error(mig_conn *c, const PGresult *res, mig_drv_error *err);

/* Fill err with a message of the driver's own. Returns MIG_DRV_ERROR. */
int pg_error_msg(mig_drv_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Run a statement with text parameters (NULL entries bind NULL); *out
 * receives the result on success (caller PQclear()s it).
 */
int pg_run(mig_conn *c, PGresult **out, const char *sql, int nparams, const char *const *params,
           mig_drv_error *err);

int pg_introspect(mig_conn *c, const char *schema, const mig_schema_sink *sink, void *payload,
                  mig_drv_error *err);

/* Autogenerate (postgres_ddl.c): the render_ddl and introspect_ddl slots. */
int pg_render_ddl(const mig_ddl_change *change, mig_ddl_emit_fn emit, void *payload);
int pg_introspect_ddl(mig_conn *c, const char *ddl, size_t len, const mig_schema_sink *sink,
                      void *payload, mig_drv_error *err);

/* Lint (pg_lint.c): the lint_rules, lint and table_rows slots. */
extern const mig_lint_rule pg_lint_rules[];
int pg_lint(const mig_lint_stmt *stmt, mig_lint_state *st, const mig_lint_sink *sink, void *payload);
int pg_table_rows(mig_conn *c, const char *table, int64_t *rows, mig_drv_error *err);

#endif
