/*
 * mig driver ABI: the contract between libmig and a database plugin.
 *
 * A plugin is a shared object named mig_driver_<name>.so that exports one
 * function, mig_driver_entry(), returning a constant mig_driver table. The
 * loader checks magic, ABI and size before it calls anything else, so a
 * plugin built for another ABI is refused with a message, never run.
 *
 * Versioning rules (see docs/drivers.md):
 *   - slots are only ever appended at the end of struct mig_driver;
 *   - an appended slot bumps MIG_DRIVER_ABI; the loader accepts any plugin
 *     whose abi is within [MIG_DRIVER_ABI_MIN, MIG_DRIVER_ABI] and reads
 *     slots past the plugin's `size` as absent (MIG_DRIVER_HAS);
 *   - a change to an existing slot or struct raises MIG_DRIVER_ABI_MIN.
 *
 * Memory: everything a driver returns through a pointer stays owned by the
 * driver and is valid until the next call on the same connection or cursor,
 * unless a slot says otherwise. The core never free()s driver memory.
 *
 * A driver knows only its database: no Lua, no revision files, no tenants
 * loop. Tenants reach it as "switch this connection to schema X".
 *
 * Threads: mig migrates tenants on worker threads (-j N), each with its own
 * connections, so every slot that takes a mig_conn or mig_cursor may run
 * at the same time as any slot on another connection, and connect may run
 * on several threads at once. One connection (and its cursors) is used by
 * one thread at a time, never concurrently, though not always the same
 * thread: a driver needs no lock of its own around a connection, but
 * must keep process-wide state (a client library's one-time init, caches)
 * safe to use from several threads. The slots that take no connection
 * (quote_ident, statement_end, mask_url, render_ddl, limits_sql,
 * is_lock_timeout, lint_rules, lint, ...) may be called from any thread
 * at any time and must not keep state between calls except through their
 * arguments (mig_lint_state is per revision, never shared).
 *
 * Callbacks (mig_schema_sink, mig_ddl_emit_fn, mig_object_fn,
 * mig_lint_sink) return 0 to go on. Any other value means stop: the driver
 * makes no further callback, releases what the walk holds (cursors,
 * statements) and returns that same value from the slot, leaving err as
 * it is -- the core has recorded why it stopped.
 *
 * Locking: a driver offers a migration lock with MIG_CAP_SESSION_LOCK
 * (lock_try/unlock) or MIG_CAP_WRITE_TXN_LOCKS (its write transaction
 * locks out other writers). With neither, mig warns, and refuses every
 * command that writes to the database (upgrade, downgrade, stamp, ...)
 * unless given --no-lock, the user's word that no other run is writing.
 */
#ifndef MIG_DRIVER_H
#define MIG_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MIG_DRIVER_MAGIC   0x4d494744u /* "MIGD" */
#define MIG_DRIVER_ABI     2u
#define MIG_DRIVER_ABI_MIN 1u

#if defined(__GNUC__)
#define MIG_EXPORT __attribute__((visibility("default")))
#else
#define MIG_EXPORT
#endif

/* Opaque, defined by each driver. */
typedef struct mig_conn mig_conn;
typedef struct mig_cursor mig_cursor;

/* Return codes of driver slots. */
#define MIG_DRV_OK     0
#define MIG_DRV_ERROR  -1 /* the statement or operation failed: see error */
#define MIG_DRV_CONN   -2 /* the connection is unusable (server gone, killed) */
#define MIG_DRV_BUSY   -3 /* a lock could not be taken now; try again */
#define MIG_DRV_NOTSUP -4 /* this driver cannot do that */
#define MIG_DRV_NODB   -5 /* connect with MIG_CONNECT_NO_CREATE: there is no such database */

/*
 * Filled by a driver when a slot fails. Fixed buffers: a driver never
 * allocates for an error, so out-of-memory can still be reported. Messages
 * must never contain a password (mask URLs before writing them here).
 */
typedef struct mig_drv_error {
    char message[1024]; /* the database's primary message, one line */
    char detail[1024];  /* detail / hint from the server, may be empty */
    char sqlstate[8];   /* five-character SQLSTATE, or empty */
    int code;           /* native error number (MySQL errno, SQLite rc), 0 if none */
    /*
     * Byte offset into the SQL text handed to exec/query at which the
     * failing statement starts (stmt_offset), and 1-based character
     * position of the error inside the whole text (position, 0 = unknown).
     */
    size_t stmt_offset;
    long position;
} mig_drv_error;

/* A bound parameter or a fetched column value. */
typedef enum mig_value_type {
    MIG_VAL_NULL = 0,
    MIG_VAL_INT,
    MIG_VAL_FLOAT,
    MIG_VAL_TEXT,
    MIG_VAL_BOOL,
    MIG_VAL_BLOB
} mig_value_type;

typedef struct mig_value {
    mig_value_type type;
    union {
        int64_t i;
        double f;
        int b;
        struct {
            const char *ptr; /* not NUL-terminated necessarily; may hold NULs */
            size_t len;
        } s;
    } u;
} mig_value;

/* Options handed to connect; unset fields are zero. */
typedef struct mig_connect_opts {
    const char *application_name; /* "mig": shown in pg_stat_activity etc. */
    double lock_timeout_s;        /* how long a blocked write may wait (SQLite busy timeout) */
    int flags;                    /* MIG_CONNECT_* */
} mig_connect_opts;

/*
 * The caller only reads: a database that does not exist yet must not be
 * created (an embedded file) but reported as MIG_DRV_NODB, so `mig current`
 * on a fresh project leaves no empty file behind. Server databases are
 * never created by connect anyway.
 */
#define MIG_CONNECT_NO_CREATE (1 << 0)

/* What a driver's database can do; the core plans around these. */
#define MIG_CAP_TRANSACTIONAL_DDL (1u << 0) /* DDL can be rolled back */
#define MIG_CAP_SESSION_LOCK      (1u << 1) /* lock_try/unlock on a dedicated connection */
#define MIG_CAP_SCHEMAS           (1u << 2) /* schema tenants: set_schema et al. */
#define MIG_CAP_MULTI_STATEMENT   (1u << 3) /* exec() accepts several statements at once */
#define MIG_CAP_WRITE_TXN_LOCKS   (1u << 4) /* begin(write=1) locks out other writers (SQLite) */
/*
 * exec() of several statements outside a transaction runs them on the
 * server one after the other, each committing on its own, up to the first
 * that fails, and goes on to the end when the client is gone meanwhile
 * (killed, disconnected): what one round trip sends either all runs or
 * stops at a failing statement. The core then sends a statement and the
 * record of its progress in one round trip (MySQL, MariaDB).
 */
#define MIG_CAP_SERVER_BATCH (1u << 5)

/*
 * SQL dialect, for SQL the core writes itself (version and history tables)
 * both online and in offline --sql output, so the two never differ.
 */
typedef struct mig_dialect {
    const char *begin_sql;       /* e.g. "BEGIN" */
    const char *begin_write_sql; /* begin when the run writes, e.g. "BEGIN IMMEDIATE" */
    const char *commit_sql;      /* e.g. "COMMIT" */
    const char *rollback_sql;    /* e.g. "ROLLBACK" */
    const char *autoinc_pk;      /* "INTEGER PRIMARY KEY AUTOINCREMENT" etc. */
    const char *timestamp_type;  /* "TIMESTAMP", "TEXT", "DATETIME(3)" */
    const char *now_expr;        /* current UTC timestamp as SQL */
    const char *text_type;       /* unbounded text */
    char ident_quote;            /* '"' or '`' */
    int backslash_escapes;       /* string literals treat \ as escape (MySQL default) */
    int dollar_quotes;           /* $tag$ ... $tag$ bodies (PostgreSQL) */
    int hash_comments;           /* '#' starts a comment (MySQL) */
} mig_dialect;

/*
 * One fetched row: ncols values with their column names, both valid until
 * the next fetch or close on the same cursor.
 */
typedef struct mig_row {
    int ncols;
    const char *const *names;
    const mig_value *values;
} mig_row;

/*
 * Introspection sink (schema model for autogenerate). The driver calls these
 * in order: a table, then its columns, keys, indexes and foreign keys, then
 * the next table. Strings are borrowed for the duration of the call. A list
 * of names (columns, enum labels) is an array with its count, as in the
 * mig_ddl_* structs below: never NULL when the count is not 0.
 *
 * Until ABI 2 each list was one NUL-separated, double-NUL-terminated
 * string; a driver built for ABI 1 still gets a sink of that form, which
 * the core turns into this one.
 */
typedef struct mig_schema_sink {
    int (*table)(void *payload, const char *table);
    int (*column)(void *payload, const char *table, const char *column, const char *type, int nullable,
                  const char *default_sql, int position);
    int (*primary_key)(void *payload, const char *table, const char *name, const char *const *columns,
                       size_t ncolumns);
    int (*unique)(void *payload, const char *table, const char *name, const char *const *columns,
                  size_t ncolumns);
    int (*index)(void *payload, const char *table, const char *name, int unique,
                 const char *const *columns, size_t ncolumns, const char *expression_sql,
                 const char *where_sql);
    int (*foreign_key)(void *payload, const char *table, const char *name, const char *const *columns,
                       size_t ncolumns, const char *ref_table, const char *const *ref_columns,
                       size_t nref_columns, const char *on_delete, const char *on_update);
    int (*enum_type)(void *payload, const char *name, const char *const *labels, size_t nlabels);
    int (*sequence)(void *payload, const char *name, const char *owner_table, const char *owner_column);
} mig_schema_sink;

/*
 * Autogenerate: a schema object as the core hands it to a driver's
 * renderer. Every string is borrowed for the duration of the render call.
 * Names may be NULL where the database keeps none (SQLite keys); a
 * renderer then writes the object without a name.
 */
typedef struct mig_ddl_column {
    const char *name;
    const char *type; /* as the database reports it */
    int nullable;
    const char *default_sql; /* an SQL expression, or NULL for none */
} mig_ddl_column;

/* A primary key or unique constraint. */
typedef struct mig_ddl_key {
    const char *name;
    const char *const *columns;
    size_t ncolumns;
} mig_ddl_key;

typedef struct mig_ddl_index {
    const char *name;
    int unique;
    const char *const *columns; /* plain columns, when expression_sql is NULL */
    size_t ncolumns;
    const char *expression_sql; /* the key list as SQL, or NULL */
    const char *where_sql;      /* predicate of a partial index, or NULL */
} mig_ddl_index;

typedef struct mig_ddl_foreign_key {
    const char *name;
    const char *const *columns;
    size_t ncolumns;
    const char *ref_table;
    const char *const *ref_columns;
    size_t nref_columns;
    const char *on_delete; /* "NO ACTION", "CASCADE", "SET NULL", ... */
    const char *on_update;
} mig_ddl_foreign_key;

typedef struct mig_ddl_table {
    const char *name;
    const mig_ddl_column *columns;
    size_t ncolumns;
    const mig_ddl_key *primary_key; /* NULL: none */
    const mig_ddl_key *uniques;
    size_t nuniques;
    const mig_ddl_index *indexes;
    size_t nindexes;
    const mig_ddl_foreign_key *foreign_keys;
    size_t nforeign_keys;
} mig_ddl_table;

/* A PostgreSQL enum type: its labels in their order. */
typedef struct mig_ddl_enum {
    const char *name;
    const char *const *labels;
    size_t nlabels;
} mig_ddl_enum;

/* What one change does. */
typedef enum mig_ddl_kind {
    MIG_DDL_CREATE_TABLE = 1, /* table: with its columns, keys and foreign keys, not its indexes */
    MIG_DDL_DROP_TABLE,       /* table */
    /* every change below also has old_table: the table before (NULL if new) */
    MIG_DDL_ADD_COLUMN,       /* table (after), column */
    MIG_DDL_DROP_COLUMN,      /* table (after), column (the dropped one) */
    MIG_DDL_ALTER_COLUMN,     /* table (after), old_column -> column (same name) */
    MIG_DDL_ADD_PRIMARY_KEY,  /* table (after), key */
    MIG_DDL_DROP_PRIMARY_KEY, /* table (after), key (the dropped one) */
    MIG_DDL_ADD_UNIQUE,       /* table, key */
    MIG_DDL_DROP_UNIQUE,      /* table, key */
    MIG_DDL_CREATE_INDEX,     /* table, index */
    MIG_DDL_DROP_INDEX,       /* table, index */
    MIG_DDL_ADD_FOREIGN_KEY,  /* table, foreign_key */
    MIG_DDL_DROP_FOREIGN_KEY, /* table, foreign_key */
    /*
     * old_table -> table in one step, for a database whose ALTER TABLE
     * cannot make a change (SQLite): the core sends it instead of a
     * table's other changes when the renderer refused one of them with
     * MIG_DRV_NOTSUP. The table's indexes are the renderer's to recreate.
     */
    MIG_DDL_REBUILD_TABLE,
    /* types, no table: created before the tables that use them, dropped after */
    MIG_DDL_CREATE_ENUM, /* enum_type */
    MIG_DDL_DROP_ENUM,   /* enum_type */
    MIG_DDL_ALTER_ENUM   /* old_enum -> enum_type: labels added (and maybe some gone) */
} mig_ddl_kind;

typedef struct mig_ddl_change {
    mig_ddl_kind kind;
    const mig_ddl_table *table;
    const mig_ddl_table *old_table; /* a table that stays, as it was before (NULL for a new one) */
    const mig_ddl_column *column;
    const mig_ddl_column *old_column; /* ALTER_COLUMN only */
    const mig_ddl_key *key;
    const mig_ddl_index *index;
    const mig_ddl_foreign_key *foreign_key;
    const mig_ddl_enum *enum_type;
    const mig_ddl_enum *old_enum; /* ALTER_ENUM only */
} mig_ddl_change;

/*
 * mig test: one schema object the schema model above does not hold. kind
 * is "check", "view", "trigger", "sequence" or "routine"; table is the
 * table it belongs to, or NULL; definition is the database's own spelling
 * (compared as text), or NULL. Strings are borrowed for the call; a
 * non-zero return stops the walk and is returned as it is.
 */
typedef int (*mig_object_fn)(void *payload, const char *kind, const char *table, const char *name,
                             const char *definition);

/* Receives one complete statement, without a terminating ';'. */
typedef int (*mig_ddl_emit_fn)(void *payload, const char *statement);

/*
 * The database's own limits while one revision runs (`-- mig:lock_timeout`,
 * `-- mig:statement_timeout`). A limit < 0 is not touched; 0 means none.
 */
typedef struct mig_limits {
    long long lock_timeout_ms;      /* how long a statement waits for a lock */
    long long statement_timeout_ms; /* how long a statement may run */
    double connect_wait_s;          /* mig_connect_opts.lock_timeout_s of the connection */
} mig_limits;

/*
 * Lint (see docs/lint.md): a driver judges one statement at a time with
 * its own knowledge of the database (PostgreSQL: its parser), the core
 * splits, suppresses, ranks by table size and reports.
 */
typedef enum mig_lint_level { MIG_LINT_INFO = 0, MIG_LINT_WARNING, MIG_LINT_ERROR } mig_lint_level;

typedef struct mig_lint_rule {
    const char *id;       /* "PG001": stable, never reused */
    const char *name;     /* "create-index-blocks-writes" */
    int level;            /* default mig_lint_level */
    const char *lock;     /* the lock the rule claims ("SHARE", "ACCESS EXCLUSIVE"), NULL if none */
    const char *summary;  /* one line: what the rule is about */
    const char *help_uri; /* the database's own documentation */
} mig_lint_rule;

/* One finding; every string is borrowed for the duration of the sink call. */
typedef struct mig_lint_finding {
    const mig_lint_rule *rule;
    const char *message; /* one line */
    const char *why;     /* the lock taken and what it blocks; NULL if none */
    const char *safe;    /* the safe way: a rewritten statement or advice; NULL if none */
    /*
     * The existing table the finding is about, as written (may be
     * schema-qualified): the core lowers the finding to info when the
     * table is small or created earlier in the run. NULL: size plays no part.
     */
    const char *table;
    size_t offset; /* byte offset into the statement the finding points at */
} mig_lint_finding;

/* One statement to judge. */
typedef struct mig_lint_stmt {
    const char *sql; /* as the splitter cut it, not NUL-terminated */
    size_t len;
    int in_transaction; /* runs inside a transaction (no "-- mig:transaction false") */
    int version;        /* the server version rules assume (PostgreSQL 150000); 0: the newest known */
} mig_lint_stmt;

/*
 * What a driver remembers between the statements of one revision. The
 * core zeroes it before a revision's first statement.
 */
typedef struct mig_lint_state {
    int lock_timeout; /* in: a lock_timeout is in force (header, on_connect); the driver sets it on a SET */
    long ddl;         /* the driver's: DDL statements so far */
    long dml;         /* the driver's: unbounded UPDATE/DELETE statements so far */
    int reported;     /* the driver's: a revision-wide rule already said its piece */
} mig_lint_state;

typedef struct mig_lint_sink {
    int (*finding)(void *payload, const mig_lint_finding *f);
    /* the statement creates table: it counts as empty for the rest of the run */
    int (*created)(void *payload, const char *table);
} mig_lint_sink;

typedef struct mig_driver mig_driver;
struct mig_driver {
    /* Checked by the loader before anything else: never move these. */
    uint32_t magic;   /* MIG_DRIVER_MAGIC */
    uint32_t abi;     /* MIG_DRIVER_ABI the plugin was built against */
    size_t size;      /* sizeof(mig_driver) when it was built */
    const char *name; /* "sqlite", "postgres", "mysql": matches the file name */

    /* ---- ABI 1 ---- */
    const char *version;            /* the plugin's own version */
    const char *description;        /* one line for `mig drivers` */
    const char *const *url_schemes; /* NULL-terminated: "postgresql", "postgres" */
    unsigned caps;                  /* MIG_CAP_* */
    const mig_dialect *dialect;

    /*
     * Open a connection. url may be NULL: then the driver's own defaults
     * apply (libpq's PG* environment). base_dir resolves relative paths
     * (SQLite) and may be NULL for the current folder.
     * Mandatory.
     */
    int (*connect)(mig_conn **out, const char *url, const char *base_dir, const mig_connect_opts *opts,
                   mig_drv_error *err);
    /* Close and free; NULL is harmless. Mandatory. */
    void (*close)(mig_conn *conn);

    /*
     * Run SQL text that may hold several statements (when the driver has
     * MIG_CAP_MULTI_STATEMENT, else exactly one), with no parameters.
     * On failure err->stmt_offset/position locate the failing statement.
     * *affected (may be NULL) receives rows changed by the last statement.
     * Mandatory.
     */
    int (*exec)(mig_conn *conn, const char *sql, size_t len, int64_t *affected, mig_drv_error *err);

    /*
     * One statement with `?` placeholders bound to params (never spliced).
     * Mandatory.
     */
    int (*exec_params)(mig_conn *conn, const char *sql, const mig_value *params, int nparams,
                       int64_t *affected, mig_drv_error *err);

    /*
     * Streaming query: open a cursor over one statement with `?` parameters,
     * fetch rows one at a time (*row NULL at the end), close. While a cursor
     * is open, exec/exec_params on the same connection must still work (a
     * backfill updates rows while it reads them), so drivers stream with a
     * server-side cursor fetched in batches, never a mode that blocks the
     * connection. Mandatory.
     */
    int (*query)(mig_cursor **out, mig_conn *conn, const char *sql, const mig_value *params, int nparams,
                 mig_drv_error *err);
    int (*fetch)(mig_cursor *cur, const mig_row **row, mig_drv_error *err);
    void (*cursor_close)(mig_cursor *cur);

    /*
     * Transactions. write=1: the transaction will write (SQLite: BEGIN
     * IMMEDIATE, waiting up to opts->lock_timeout_s for other writers, then
     * MIG_DRV_BUSY). Mandatory.
     */
    int (*begin)(mig_conn *conn, int write, mig_drv_error *err);
    int (*commit)(mig_conn *conn, mig_drv_error *err);
    int (*rollback)(mig_conn *conn, mig_drv_error *err);

    /*
     * Session-level migration lock (MIG_CAP_SESSION_LOCK): try once, never
     * block; MIG_DRV_BUSY when someone else holds it, and then, if the
     * driver can tell, a one-line description of the holder in holder.
     * The key is a stable string (version table, schema); the driver maps
     * it to its lock namespace. The server must free the lock if the
     * session dies. Optional.
     */
    int (*lock_try)(mig_conn *conn, const char *key, char *holder, size_t holder_len, mig_drv_error *err);
    int (*unlock)(mig_conn *conn, const char *key, mig_drv_error *err);

    /*
     * Schema tenants (MIG_CAP_SCHEMAS): make `schema` current for
     * unqualified names (search_path = extra, where extra is NULL or a
     * comma-separated list already quoted by the core), check it exists,
     * create it. Optional.
     */
    int (*set_schema)(mig_conn *conn, const char *schema, const char *search_path, mig_drv_error *err);
    int (*schema_exists)(mig_conn *conn, const char *schema, int *exists, mig_drv_error *err);
    int (*create_schema)(mig_conn *conn, const char *schema, mig_drv_error *err);

    /*
     * Quote an identifier into buf (always NUL-terminated); returns the
     * needed length excluding the NUL, so a short buffer can be retried.
     * Mandatory.
     */
    size_t (*quote_ident)(const char *name, char *buf, size_t buflen);

    /*
     * Length of the first complete SQL statement in sql[0..len), including
     * its terminator, using the database's own lexical rules (quotes,
     * comments, dollar quotes, trigger bodies). 0 if nothing but
     * whitespace and comments remains. Optional: the core has a generic
     * splitter driven by `dialect`.
     */
    size_t (*statement_end)(const char *sql, size_t len);

    /* Does a table exist (in the current schema)? Mandatory. */
    int (*table_exists)(mig_conn *conn, const char *table, int *exists, mig_drv_error *err);

    /*
     * Introspect the current schema (or `schema` if not NULL) into sink.
     * Optional (autogenerate).
     */
    int (*introspect)(mig_conn *conn, const char *schema, const mig_schema_sink *sink, void *payload,
                      mig_drv_error *err);

    /*
     * Mask the password in a URL the driver understands, into buf. Returns
     * needed length like quote_ident. Optional: the core masks
     * scheme://user:pass@host URLs itself.
     */
    size_t (*mask_url)(const char *url, char *buf, size_t buflen);

    /*
     * Autogenerate (ABI 1: added before its release). Render one
     * change as statements of the database's dialect through emit; return
     * MIG_DRV_OK, emit's non-zero result, or MIG_DRV_NOTSUP with nothing
     * emitted when ALTER TABLE cannot make the change (the core then sends
     * one MIG_DDL_REBUILD_TABLE for the table instead). Optional.
     */
    int (*render_ddl)(const mig_ddl_change *change, mig_ddl_emit_fn emit, void *payload);

    /*
     * Run ddl (the [autogenerate] target, several statements) in a scratch
     * place reached from conn that is thrown away afterwards -- an
     * in-memory database, a schema in a transaction that is rolled back, a
     * database that is dropped -- and introspect it into sink as
     * introspect does. Leaves the connection as it found it, outside any
     * transaction. Optional.
     */
    int (*introspect_ddl)(mig_conn *conn, const char *ddl, size_t len, const mig_schema_sink *sink,
                          void *payload, mig_drv_error *err);

    /* ---- ABI 2 ---- */

    /*
     * ABI 2 appends the slots from here on (CHANGELOG.md lists them).
     * Nothing before them changed, so ABI 1 plugins still load: their
     * table has a smaller size, and the loader reads these as absent
     * (MIG_DRIVER_HAS; ident_max then counts as 0).
     *
     * ident_max: the longest identifier (table, constraint, schema or
     * database name) the server keeps whole, in bytes, or in characters
     * when ident_max_chars is set; 0 for no limit. The core refuses longer
     * names before anything runs, since a server that truncates them
     * (PostgreSQL: 63 bytes) would make two names one.
     */
    size_t ident_max;
    int ident_max_chars;

    /*
     * The schema (MySQL: database) that unqualified names are created in
     * now, NUL-terminated into buf; "" when there is none. The core checks
     * it after switching a connection to a tenant. Optional.
     */
    int (*current_schema)(mig_conn *conn, char *buf, size_t buflen, mig_drv_error *err);

    /*
     * Does table have column (in the current schema)? Used to bring the
     * core's own tables up to date. Optional: without it the core takes
     * its tables for current.
     */
    int (*column_exists)(mig_conn *conn, const char *table, const char *column, int *exists,
                         mig_drv_error *err);

    /*
     * mig test: the objects of the current schema that the introspection
     * sink leaves out, through fn, in any order. *kinds is set to the
     * kinds the driver reads, comma-separated ("view,trigger"), so that
     * what it cannot see is named rather than passed. Optional.
     */
    int (*introspect_objects)(mig_conn *conn, mig_object_fn fn, void *payload, const char **kinds,
                              mig_drv_error *err);

    /*
     * Absent in an ABI 1 table: the core then runs revisions without
     * limits and without retries.
     *
     * limits_sql: the statements that set lim's limits for the session
     * (restore=0), each remembering the value it replaces, and the ones
     * that put the remembered values back (restore=1), through emit. The
     * same text runs online and goes into offline --sql output, so both
     * behave alike. Inside a transaction they must be undone by a rollback
     * to a savepoint taken before them. Optional.
     */
    int (*limits_sql)(const mig_limits *lim, int restore, mig_ddl_emit_fn emit, void *payload);

    /*
     * Did a statement fail because it waited too long for a lock (not for
     * running too long)? Such a statement did nothing, so the core may
     * run its revision again. Optional: without it, no retries.
     */
    int (*is_lock_timeout)(const mig_drv_error *err);

    /*
     * Lint (absent in an ABI 1 table: no driver findings). lint_rules: every rule the driver can report, ended by an
     * entry whose id is NULL. lint: judge one statement, calling sink for
     * each finding; returns MIG_DRV_OK or the sink's non-zero result. A
     * statement the driver cannot read is a finding, never a silent pass.
     * table_rows: the estimated number of rows of table (*rows = -1 when
     * the database does not know, or there is no such table). Optional.
     */
    const mig_lint_rule *lint_rules;
    int (*lint)(const mig_lint_stmt *stmt, mig_lint_state *st, const mig_lint_sink *sink, void *payload);
    int (*table_rows)(mig_conn *conn, const char *table, int64_t *rows, mig_drv_error *err);

    /*
     * Cancel the statement running on conn (appended like the slots
     * above). Called from another thread than the one blocked in exec,
     * exec_params, query or fetch -- a watcher acting on a flag that a
     * signal handler set, never the handler itself -- and never at the
     * same time as close(). The statement then fails as any failed
     * statement does (the transaction around it is rolled back by the
     * core) and conn stays usable. MIG_DRV_OK once the request is sent,
     * also when nothing was running. Optional: without it the core waits
     * for the statement to end.
     */
    int (*cancel)(mig_conn *conn, mig_drv_error *err);

    /*
     * mig lint --trace, appended like lint (no new ABI number). Each
     * query returns one row per lock that blocks writes or reads of a
     * table of the current schema: the mode as the database's
     * documentation names it ("ACCESS EXCLUSIVE", "SHARE",
     * "MDL_SHARED_NO_WRITE") and the table's name.
     * trace_locks_sql: the current session's locks, read inside the
     * statement's transaction after it ran (NULL when locks end with the
     * statement, as MariaDB's DDL commits). trace_session_sql: the
     * session's id, one integer. trace_poll_sql: a printf format with one
     * %lld, the id of another session: its locks, polled while it runs a
     * statement outside a transaction. All optional: without them no
     * locks are reported.
     */
    const char *trace_locks_sql;
    const char *trace_session_sql;
    const char *trace_poll_sql;

    /*
     * Schema tenants on one connection (appended like lint, no new ABI
     * number): put conn back in the state of a new connection -- an open
     * or failed transaction rolled back, session settings (search path,
     * variables), temporary tables, prepared statements, cursors and
     * session locks gone -- so that one worker's connection serves tenant
     * after tenant and nothing one tenant's revisions set reaches the
     * next. The core then runs on_connect and set_schema again.
     * MIG_DRV_CONN when the connection is gone (the core opens a new one).
     * Optional: without it every tenant gets a connection of its own.
     */
    int (*reset)(mig_conn *conn, mig_drv_error *err);

    /*
     * exec, also saying in *statements how many statements of the text
     * ran (those that were not empty: blanks, comments and lone `;` do
     * not count), appended like reset. mig_history records that count for
     * each revision: a driver that parses the text anyway saves the core a
     * second pass of statement_end over it. On failure *statements is
     * unspecified. Optional: without it the core counts with
     * statement_end.
     */
    int (*exec_counted)(mig_conn *conn, const char *sql, size_t len, int64_t *statements,
                        mig_drv_error *err);

    /* ABI 2 and later: append below, never reorder. */
};

/* Is an optional slot present in a driver table of any accepted ABI? */
#define MIG_DRIVER_HAS(d, slot) (offsetof(mig_driver, slot) < (d)->size && (d)->slot != NULL)

#define MIG_DRIVER_ENTRY_SYMBOL "mig_driver_entry"
typedef const mig_driver *(*mig_driver_entry_fn)(void);

/* Define the entry point of a plugin: MIG_DRIVER_DEFINE(my_table); */
#define MIG_DRIVER_DEFINE(tbl)                                                                          \
    MIG_EXPORT const mig_driver *mig_driver_entry(void)                                                 \
    {                                                                                                   \
        return &(tbl);                                                                                  \
    }

#ifdef __cplusplus
}
#endif

#endif /* MIG_DRIVER_H */
