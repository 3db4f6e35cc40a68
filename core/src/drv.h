/*
 * Loading driver plugins and calling them. This is the only module that
 * touches a mig_driver table: the rest of libmig (runner, Lua bindings,
 * tenants) goes through these wrappers, which turn a driver's
 * mig_drv_error into the context's error.
 *
 * One word for each thing, in code and docs:
 *   plugin             mig_plugin: a driver's shared object, loaded once per
 *                      context (its dlopen handle, its driver table, its path).
 *   driver table       mig_driver (driver.h): the slots a plugin exports.
 *                      Only this module calls them (mig_plugin_* and mig_db_*).
 *   connection         mig_db: libmig's handle on one open database connection:
 *                      the plugin it came from, the driver connection, and what
 *                      libmig tracks about it (in a transaction, broken, lock
 *                      timeouts).
 *   driver connection  mig_conn (driver.h): the driver's own opaque object,
 *                      used by one thread at a time.
 *   session            mig_session (api.h, session.c): what one command holds
 *                      for its run on one database or tenant: the plugin, the
 *                      connection, the state tables, the URL.
 */
#ifndef MIG_DRV_H
#define MIG_DRV_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mig/driver.h"

typedef struct mig_ctx mig_ctx;

/* A loaded plugin. */
typedef struct mig_plugin {
    void *handle;
    const mig_driver *driver;
    char *path;
} mig_plugin;

/*
 * Find mig_driver_<name>.so on --driver-path, $MIG_DRIVER_PATH, the
 * install folder and the build tree, dlopen it, check magic, ABI and
 * mandatory slots. Errors: MIG_EDRIVER naming the file and the reason
 * (not found — listing where it looked —, not a mig driver, ABI N while
 * this mig needs M, a missing mandatory slot).
 */
int mig_plugin_load(mig_plugin **out, mig_ctx *ctx, const char *name);
void mig_plugin_unload(mig_plugin *plugin);
/* Driver name for a URL scheme ("postgresql" -> "postgres"). */
int mig_plugin_name_for_url(char **out, mig_ctx *ctx, const char *url);
/* MIG_ECONFIG when url's scheme is a built-in driver's other than plugin (from_flag: named by --driver). */
int mig_plugin_check_url(mig_ctx *ctx, const mig_plugin *plugin, const char *url, int from_flag);

/* The folders searched, in order, NULL-terminated (caller frees with mig_strvec_release). */
struct mig_strvec;
int mig_plugin_search_path(mig_ctx *ctx, struct mig_strvec *out);

/* A connection. */
typedef struct mig_db {
    const mig_plugin *plugin;
    mig_conn *conn;
    char *url_masked; /* for messages */
    int in_txn;
    int broken;    /* the connection failed (MIG_DRV_CONN) */
    double wait_s; /* mig_connect_opts.lock_timeout_s it was opened with */
    /* statements that failed waiting for a lock (driver's is_lock_timeout): whether to retry */
    unsigned lock_timeouts;
} mig_db;

int mig_db_connect(mig_db **out, mig_ctx *ctx, const mig_plugin *plugin, const char *url,
                   const char *base_dir);
/*
 * The same for a caller that only reads: a database that does not exist is
 * not created; *missing = 1 then and the result is 0 with *out NULL.
 */
int mig_db_connect_ro(mig_db **out, int *missing, mig_ctx *ctx, const mig_plugin *plugin,
                      const char *url, const char *base_dir);
void mig_db_close(mig_db *db);

/*
 * Run SQL; on failure set the context's error: MIG_EFAIL with the
 * database's message, detail "SQLSTATE xxxxx" etc. The caller adds the
 * revision/file/line context (see runner.c). *derr (may be NULL) gets the
 * raw driver error for positioning.
 */
int mig_db_exec(mig_db *db, mig_ctx *ctx, const char *sql, size_t len, int64_t *affected,
                mig_drv_error *derr);
int mig_db_exec_params(mig_db *db, mig_ctx *ctx, const char *sql, const mig_value *params, int nparams,
                       int64_t *affected, mig_drv_error *derr);
/*
 * mig_db_exec that says in *statements how many statements ran (exec_counted),
 * or -1 when the driver cannot tell: then the caller counts them.
 */
int mig_db_exec_counted(mig_db *db, mig_ctx *ctx, const char *sql, size_t len, int64_t *statements,
                        mig_drv_error *derr);
int mig_db_query(mig_cursor **out, mig_db *db, mig_ctx *ctx, const char *sql, const mig_value *params,
                 int nparams);
/* *row = NULL at the end. */
int mig_db_fetch(mig_cursor *cur, mig_db *db, mig_ctx *ctx, const mig_row **row);
void mig_db_cursor_close(mig_db *db, mig_cursor *cur);

int mig_db_begin(mig_db *db, mig_ctx *ctx, int write);
int mig_db_commit(mig_db *db, mig_ctx *ctx);
int mig_db_rollback(mig_db *db, mig_ctx *ctx);

/*
 * Cancel the statement running under ctx, from another thread than the one
 * running it, and refuse the statements after it (MIG_EFAIL "cancelled")
 * until mig_ctx_cancel_clear: what a second Ctrl-C does, and the ground
 * of a public mig_cancel(ctx). A signal handler only sets a flag; the
 * thread that watches it calls this. Without the driver's cancel slot the
 * running statement ends by itself and the next one is refused.
 */
void mig_ctx_cancel(mig_ctx *ctx);
void mig_ctx_cancel_clear(mig_ctx *ctx);
/* The driver's cancel slot on db's running statement; the caller holds the run_mu of db's context. */
void mig_db_cancel_locked(mig_db *db);

/*
 * Try the session lock once: 0 with *busy = 0 when taken, 0 with *busy = 1
 * (and holder filled) when another session holds it, or a MIG_E* error.
 */
int mig_db_lock_try(mig_db *db, mig_ctx *ctx, const char *key, int *busy, char *holder, size_t holder_len);
int mig_db_unlock(mig_db *db, mig_ctx *ctx, const char *key);

/*
 * The connection as new (driver's reset slot), for the next schema tenant:
 * MIG_EFAIL without the slot, or a database error (db->broken when gone).
 */
int mig_db_reset(mig_db *db, mig_ctx *ctx);

int mig_db_set_schema(mig_db *db, mig_ctx *ctx, const char *schema, const char *search_path);
int mig_db_schema_exists(mig_db *db, mig_ctx *ctx, const char *schema, int *exists);
int mig_db_create_schema(mig_db *db, mig_ctx *ctx, const char *schema);
int mig_db_table_exists(mig_db *db, mig_ctx *ctx, const char *table, int *exists);
/* The current schema into buf; *known = 0 (and 0 returned) when the driver cannot tell. */
int mig_db_current_schema(mig_db *db, mig_ctx *ctx, char *buf, size_t buflen, int *known);
/* *exists = 1 also when the driver cannot tell (see column_exists in driver.h). */
int mig_db_column_exists(mig_db *db, mig_ctx *ctx, const char *table, const char *column, int *exists);

/*
 * Is name longer than the driver's identifiers may be? 0 if not; else 1,
 * with "is N bytes: <driver> keeps identifiers of at most M bytes" in why.
 */
int mig_plugin_ident_too_long(const mig_plugin *plugin, const char *name, char *why, size_t whylen);

/*
 * Quoted identifier into buf (NUL-terminated when it fits): its length,
 * which is buflen or more when it did not fit.
 */
size_t mig_plugin_quote_ident_to(const mig_plugin *plugin, const char *name, char *buf, size_t buflen);
/* Quoted identifier (caller frees), NULL on oom. */
char *mig_plugin_quote_ident(const mig_plugin *plugin, const char *name);
/*
 * Offline SQL that makes schema current (after creating it, with create),
 * as set_schema does online; extra is the quoted [tenants] search_path.
 * MIG_EDRIVER, with nothing set on a context, when the driver has no such
 * SQL (not a built-in one).
 */
int mig_plugin_schema_sql(mig_buf *out, const mig_plugin *plugin, const char *schema, const char *extra,
                          int create);
/* First statement's length (driver's rules, else the generic splitter). */
size_t mig_plugin_statement_end(const mig_plugin *plugin, const char *sql, size_t len, int *empty);

/*
 * Autogenerate. Introspect the connection's current schema, or the target
 * DDL loaded into the driver's scratch place, into sink: 0, a sink's
 * positive result as it is, or MIG_EFAIL/MIG_EDRIVER with the error set.
 */
int mig_db_introspect(mig_db *db, mig_ctx *ctx, const mig_schema_sink *sink, void *payload);
int mig_db_introspect_ddl(mig_db *db, mig_ctx *ctx, const char *ddl, size_t len,
                          const mig_schema_sink *sink, void *payload);
/*
 * mig test: the objects the schema model leaves out, through fn. 0 with
 * *kinds the kinds read (NULL when the driver has no introspect_objects),
 * fn's positive result as it is, or MIG_EFAIL with the error set.
 */
int mig_db_introspect_objects(mig_db *db, mig_ctx *ctx, mig_object_fn fn, void *payload,
                              const char **kinds);
/*
 * The driver's render_ddl: 0, emit's (positive) result as it is, or
 * MIG_EFAIL when the driver failed otherwise; nothing is set on a context.
 * *supported = 0 (and 0 returned) when the driver cannot write this change
 * or has no renderer.
 */
int mig_plugin_render_ddl(const mig_plugin *plugin, const mig_ddl_change *change, mig_ddl_emit_fn emit,
                          void *payload, int *supported);

/*
 * The SQL that sets a revision's time limits (restore: puts the session's
 * own back), each statement handed to emit: 0 (also with no limits_sql),
 * emit's non-zero result as it is, or MIG_EFAIL.
 */
int mig_plugin_limits_sql(const mig_plugin *plugin, const mig_limits *lim, int restore,
                          mig_ddl_emit_fn emit, void *payload);

/*
 * Lint (lint.c): the driver's rules (NULL: none), one statement judged (0,
 * also when the driver has no linter; the sink's positive result as it is;
 * MIG_EFAIL when the driver failed), a table's estimated rows.
 */
const mig_lint_rule *mig_plugin_lint_rules(const mig_plugin *plugin);
int mig_plugin_lint(const mig_plugin *plugin, const mig_lint_stmt *stmt, mig_lint_state *st,
                    const mig_lint_sink *sink, void *payload);
/* *rows = -1 when unknown (or the driver cannot tell). */
int mig_db_table_rows(mig_db *db, mig_ctx *ctx, const char *table, int64_t *rows);

#endif
