/*
 * libmig public API.
 *
 * Everything the `mig` command line does is reachable from here, so an
 * application can migrate its own database at start-up:
 *
 *     mig_options o = MIG_OPTIONS_INIT;
 *     o.config_path = "mig.ini";
 *     mig_ctx *ctx = NULL;
 *     int rc = mig_ctx_new(&o, &ctx);
 *     if (rc == 0)
 *         rc = mig_upgrade(ctx, "head", 0);
 *     if (rc != 0)
 *         fprintf(stderr, "mig: %s\n", mig_last_error(ctx)->message);
 *     mig_ctx_free(ctx);
 *
 * Conventions: fallible functions return 0 or a negative MIG_E* code, and
 * no other (a driver's MIG_DRV_* codes never come out; out of memory is
 * always MIG_ENOMEM); the words are kept on the context (mig_last_error). Pointers returned as
 * `const` are borrowed from the context and stay valid until the next call
 * that takes the same context, unless stated otherwise.
 *
 * Arguments, in one order everywhere: the context first; then what the
 * call reads (flags among them); then a callback and its payload; then the
 * out-parameters, always last (mig_ctx_new, whose result is the context,
 * takes it last too). A behaviour is never a bare 0/1 argument: it is a
 * MIG_* flag in an `unsigned flags` argument (MIG_RUN_SQL, MIG_STAMP_PURGE)
 * or a named field of an options struct, so a call site says what it asks.
 *
 * Threads: a context is used by one thread at a time; different contexts
 * may run on different threads at once. mig_cancel is the exception: it
 * may be called on a context another thread is running, from any thread
 * or from a signal handler (it is async-signal-safe). mig_version,
 * mig_driver_abi, mig_exit_status and mig_suggest take no context and are
 * safe anywhere. In a run per tenant (--tenant, --all-tenants, -j) libmig
 * runs the tenants on worker threads of its own, which call the logger,
 * the event callback and the tenant callback: those must then be
 * thread-safe; the other callbacks are called on the caller's thread.
 * libmig installs no signal handler, not even during a db:backfill: to
 * have Ctrl-C pause a backfill after its batch, call mig_cancel from the
 * application's own handler, as the mig command does.
 *
 * Words and ownership (as in docs/drivers.md#words): a driver is the
 * plugin (mig_driver_<name>.so) that reaches one kind of database; a
 * connection is one open database connection through it; a session is
 * what one call holds on one database or tenant while it runs. The context
 * owns every plugin, connection and session it opens, and closes them by
 * mig_ctx_free at the latest. The caller owns the context, and only what a
 * function says it hands over (a `char **` result marked "caller frees",
 * freed with free()); what the caller passes in (options, strings, arrays)
 * is copied or read during the call unless stated otherwise.
 */
#ifndef MIG_H
#define MIG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Every function declared here is marked MIG_API: libmig.so is built with
 * -fvisibility=hidden, so these are all it exports (tests/abi/exports.sh).
 */
#if defined(__GNUC__) && __GNUC__ >= 4
#define MIG_API __attribute__((visibility("default")))
#else
#define MIG_API
#endif

#define MIG_VERSION_MAJOR 0
#define MIG_VERSION_MINOR 1
#define MIG_VERSION_PATCH 0
#define MIG_VERSION       "0.1.0"

/* Error codes; mig_exit_status() maps them to the documented exit codes. */
#define MIG_OK       0
#define MIG_EFAIL    -1  /* a migration, hook or database operation failed (exit 1) */
#define MIG_ENOMEM   -2  /* out of memory (exit 1) */
#define MIG_EPARTIAL -3  /* a part-way failed revision must be resolved first (exit 1) */
#define MIG_EUSAGE   -4  /* bad command line (exit 2) */
#define MIG_ECONFIG  -5  /* configuration error (exit 2) */
#define MIG_EREVFILE -6  /* revision file or graph error (exit 2) */
#define MIG_ETARGET  -7  /* unknown, ambiguous or impossible target (exit 2) */
#define MIG_EDRIVER  -8  /* driver not found or unusable (exit 2) */
#define MIG_ECHECK   -9  /* `check` found differences (exit 3) */
#define MIG_ELOCK    -10 /* the migration lock could not be taken in time (exit 4) */

typedef struct mig_ctx mig_ctx;

typedef struct mig_error {
    int code;            /* MIG_E* */
    const char *message; /* one line, never a password */
    const char *detail;  /* statement, SQLSTATE, server text; may be "" */
    const char *hint;    /* how to go on; may be "" */
    const char *file;    /* user's file the error is about, or "" */
    int line;            /* line in that file, 0 if none */
    const char *origin;  /* libmig source file:line, for -v */
} mig_error;

/* Options as the command line gives them; NULL/0 means "not given". */
typedef struct mig_options {
    const char *config_path;     /* -c; else $MIG_CONFIG; else the first mig.ini here or above */
    const char *url;             /* --url; else $MIG_DATABASE_URL; else config */
    const char *driver;          /* --driver; else config; else from the URL scheme */
    const char *driver_path;     /* --driver-path, ':'-separated */
    const char *script_location; /* --script-location */
    const char *const *x;        /* -x KEY=VALUE pairs */
    size_t nx;
    const char *const *tenants; /* --tenant NAME */
    size_t ntenants;
    int all_tenants;     /* --all-tenants */
    int jobs;            /* -j; 0 = config or 1 */
    int keep_going;      /* --keep-going */
    double lock_timeout; /* --lock-timeout; <0 = default (300 s) */
    int verbose;         /* -v */
    int quiet;           /* -q */
    int config_required; /* error if no config file is found */
    int no_lock;         /* --no-lock: write even with a driver that has no lock */
} mig_options;

#define MIG_OPTIONS_INIT                                                                                \
    {                                                                                                   \
        .lock_timeout = -1.0                                                                            \
    } /* everything else unset */

/* Messages mig prints while it works (progress, results, warnings). */
typedef enum mig_log_level {
    MIG_LOG_INFO = 0, /* progress and results: silenced by -q */
    MIG_LOG_VERBOSE,  /* only with -v */
    MIG_LOG_WARN      /* always */
} mig_log_level;
typedef void (*mig_log_fn)(void *payload, mig_log_level level, const char *line);

/*
 * Create a context: reads the configuration (not the database, not the
 * revision files). On failure *out is still set, so mig_last_error() can
 * say why; free it with mig_ctx_free(). The strings and arrays opts points
 * to are borrowed: they must outlive the context (argv does).
 */
MIG_API int mig_ctx_new(const mig_options *opts, mig_ctx **out);
MIG_API void mig_ctx_free(mig_ctx *ctx);
MIG_API const mig_error *mig_last_error(const mig_ctx *ctx);
MIG_API void mig_set_logger(mig_ctx *ctx, mig_log_fn fn, void *payload);
/* Exit status for a return code: 0, 1, 2, 3 or 4. */
MIG_API int mig_exit_status(int rc);
MIG_API const char *mig_version(void);
MIG_API unsigned mig_driver_abi(void);
/*
 * The candidate nearest to word when it is close enough to be a typo (one
 * edit for names of up to 4 characters, two for longer ones; case
 * ignored, a swap of neighbours counts one), else NULL. mig's own "did you
 * mean" for config keys, commands and options.
 */
MIG_API const char *mig_suggest(const char *word, const char *const *candidates, size_t n);

/* ---- revisions (read from headers only) ---- */

typedef struct mig_revision {
    const char *id;
    const char *path;           /* as found in versions/ */
    const char *message;        /* "" when absent */
    const char *create_date;    /* "" when absent */
    const char *const *down;    /* NULL-terminated down_revision ids */
    const char *const *labels;  /* NULL-terminated branch_labels */
    const char *const *depends; /* NULL-terminated depends_on ids */
    const char *const *next;    /* NULL-terminated ids of the revisions built on this one */
    int is_lua;
    int transactional; /* 0 with -- mig:transaction false */
    /*
     * 1 or 0 once the file's body has been read (mig_revision_find reads
     * it); -1 in lists, which are built from headers alone.
     */
    int has_downgrade;
    int is_head;
    int is_base;
    int is_branch_point;
    int is_merge;
    /*
     * "expand" (the default) or "contract" with -- mig:phase contract: a
     * revision only the new version of the application can live with
     * (dropping what the old one still reads), which upgrade --expand
     * holds back. A static string.
     */
    const char *phase;
} mig_revision;

/*
 * Every revision, newest first (reverse topological order, as `history`
 * prints it). Loads and validates the graph on first use.
 */
MIG_API int mig_revisions(mig_ctx *ctx, const mig_revision *const **out, size_t *n);
MIG_API int mig_heads(mig_ctx *ctx, const mig_revision *const **out, size_t *n);
/*
 * One revision by id, unique prefix, label or symbolic name (head, base).
 * It reads the body for has_downgrade into the same view the lists hold,
 * and leaves lists from mig_revisions and mig_heads valid.
 */
MIG_API int mig_revision_find(mig_ctx *ctx, const char *name, const mig_revision **out);

/* ---- the database ---- */

/* Current heads in the version table (connects). */
MIG_API int mig_current(mig_ctx *ctx, const char *const **out, size_t *n);

/* Flags for mig_upgrade/mig_downgrade. */
#define MIG_RUN_SQL    (1u << 0) /* print the SQL instead of running it (offline) */
#define MIG_RUN_RESUME (1u << 1) /* continue a part-way failed revision */
/*
 * upgrade only: stop before the first pending contract revision on each
 * branch, and hold back whatever depends on one (a merge or depends_on
 * after it); mig_last_run says which were held back. MIG_EUSAGE for a
 * downgrade.
 */
#define MIG_RUN_EXPAND (1u << 2)

/*
 * One step of a run, for the caller's report. Reported once the run has
 * ended (or right away for --sql), with what became of it: a step applied
 * inside a transaction that was later rolled back is "rolled_back".
 */
typedef struct mig_step_report {
    const char *revision;
    const char *from;      /* where this step moves from: the parent(s), comma-separated, or "base" */
    const char *direction; /* "upgrade" / "downgrade" */
    const char *message;
    double duration_ms; /* 0 for a step rendered by MIG_RUN_SQL */
    const char *status; /* "applied", "rolled_back", "failed", or "rendered" (MIG_RUN_SQL) */
    int attempts;       /* times it ran: 1, more after retries on a lock timeout, 0 rendered */
    const char *tenant; /* the tenant whose section rendered it (MIG_RUN_SQL with tenants), else NULL */
} mig_step_report;
typedef void (*mig_step_fn)(void *payload, const mig_step_report *step);
MIG_API void mig_set_step_callback(mig_ctx *ctx, mig_step_fn fn, void *payload);

/*
 * What happens while a run works, as it happens, for an application to
 * log and show progress:
 *
 *   MIG_EVENT_STEP_BEGIN  a step begins (step, line)
 *   MIG_EVENT_PROGRESS    a Lua revision called ctx.progress(done, total),
 *                         or a db:backfill ended a batch (detail)
 *   MIG_EVENT_STEP_END    the step ended (failed says how; line carries
 *                         its duration)
 *   MIG_EVENT_STATEMENT   a revision's SQL goes to the database (sql): one
 *                         statement, or a whole section where the driver
 *                         takes several at once; mig's own bookkeeping
 *                         statements are not reported
 *   MIG_EVENT_WARNING     a warning (line), e.g. waiting for a lock
 *
 * Without a callback libmig writes the step lines and the warnings
 * through the logger (a start line, at most one progress line every few
 * seconds, an end line); with one, the caller shows them (a live line on
 * a terminal, say) and libmig writes none of them. In a run per tenant
 * the workers call it too, from their own threads, with `tenant` set: the
 * callback must be thread-safe. The strings are borrowed for the call.
 */
typedef enum mig_event_kind {
    MIG_EVENT_STEP_BEGIN = 0,
    MIG_EVENT_PROGRESS,
    MIG_EVENT_STEP_END,
    MIG_EVENT_STATEMENT,
    MIG_EVENT_WARNING
} mig_event_kind;
typedef struct mig_event {
    mig_event_kind kind;
    const char *step;   /* "upgrade 9e8d7c6b5a40 -> 1f0e2d3c4b5a  add users table"; "" outside a step */
    const char *detail; /* MIG_EVENT_PROGRESS: "1200/5000 (24%, 310/s, about 12 s left)"; else "" */
    const char *line;   /* the whole line as libmig would log it */
    const char *sql;    /* MIG_EVENT_STATEMENT: the text sent; else "" */
    double elapsed_ms;  /* since the step began; 0 outside a step */
    int failed;         /* MIG_EVENT_STEP_END: the step failed */
    const char *tenant; /* the tenant whose worker runs the step, else NULL */
} mig_event;
typedef void (*mig_event_fn)(void *payload, const mig_event *e);
MIG_API void mig_set_event_callback(mig_ctx *ctx, mig_event_fn fn, void *payload);

/*
 * Where the last mig_upgrade / mig_downgrade left the database, true also
 * after a failure: the version table's rows (NULL-terminated, none at
 * base), and, when the run failed, one line saying what was undone and
 * what stays ("rolled back: 2 applied revision(s) undone; the database is
 * still at base"); "" after a run that succeeded.
 */
typedef struct mig_run_result {
    const char *const *current;
    size_t ncurrent;
    const char *summary;
    size_t applied;     /* steps that stay applied */
    size_t rolled_back; /* steps applied, then undone with their transaction */
    int known;          /* 0: the run ended before it read the version table */
    /*
     * MIG_RUN_EXPAND: the pending revisions held back (NULL-terminated ids,
     * in the order a later plain upgrade applies them); with tenants, of
     * the tenant that ended last. Empty otherwise.
     */
    const char *const *held_back;
    size_t nheld_back;
} mig_run_result;
MIG_API void mig_last_run(mig_ctx *ctx, mig_run_result *out);
/* Where MIG_RUN_SQL output goes (default: stdout). */
typedef void (*mig_sql_fn)(void *payload, const char *sql);
MIG_API void mig_set_sql_callback(mig_ctx *ctx, mig_sql_fn fn, void *payload);

/*
 * Ask the run under ctx to stop; callable from any thread and from a
 * signal handler (it only stores to a lock-free atomic). The thread
 * running mig_upgrade / mig_downgrade acts on it within about 50 ms:
 *
 *   the first call stops safely: the revision statement running now is
 *   cancelled (PostgreSQL: PQcancel; MySQL: KILL QUERY from a second
 *   connection; SQLite: sqlite3_interrupt), no further one starts (Lua
 *   code busy in Lua raises "cancelled"), what
 *   the run has open is rolled back (a part-way revision where DDL is not
 *   transactional is recorded as failed, as after any failure), and a
 *   db:backfill finishes its batch and pauses at its checkpoint;
 *   a second call also cancels whatever still runs (a backfill's batch,
 *   mig's own statements) and refuses every statement after it.
 *
 * A wait for mig's migration lock ends at the first call; on SQLite a wait
 * for another writer's lock is inside SQLite and ends only at
 * --lock-timeout (the command line's second Ctrl-C exits instead).
 * The run then returns MIG_EFAIL with a message starting "cancelled". A
 * run per tenant starts no more tenants, and each running tenant stops
 * as above. A call while no run is going stops the next run before its
 * first statement of a revision; a request is spent when the run it
 * stopped returns. mig_test obeys it too (see there); other calls do not.
 */
MIG_API void mig_cancel(mig_ctx *ctx);

MIG_API int mig_upgrade(mig_ctx *ctx, const char *target, unsigned flags);
MIG_API int mig_downgrade(mig_ctx *ctx, const char *target, unsigned flags);
/* Flags for mig_stamp. */
#define MIG_STAMP_PURGE (1u << 0) /* empty the version table first (--purge) */
MIG_API int mig_stamp(mig_ctx *ctx, const char *const *targets, size_t n, unsigned flags);

/* ---- applied history (mig_history table) ---- */

typedef struct mig_history_row {
    const char *revision;
    const char *direction;
    const char *checksum;
    const char *started_at;
    int64_t duration_ms;
    const char *applied_by;
    const char *state;
    int64_t statements_applied;
} mig_history_row;

/* The mig_history table, oldest first (connects). */
typedef void (*mig_history_fn)(void *payload, const mig_history_row *row);
MIG_API int mig_history_applied(mig_ctx *ctx, mig_history_fn fn, void *payload);

/* Revisions not yet applied on the way to every head (connects). */
MIG_API int mig_pending(mig_ctx *ctx, size_t *n);
/*
 * The contract revisions (-- mig:phase contract) not applied given
 * current, the version table's rows as mig_current gives them (no
 * connection): what `upgrade --expand` holds back, parents first. The
 * list is borrowed until the next call on ctx.
 */
MIG_API int mig_pending_contract(mig_ctx *ctx, const char *const *current, size_t ncurrent,
                                 const char *const **out, size_t *n);

/* ---- check ---- */

typedef struct mig_check_problem {
    const char *kind; /* "graph", "pending", "changed", "failed", "unknown", "drift", or a rule's name */
    const char *revision; /* "" when not about one revision */
    const char *message;  /* one line */
    const char *path;     /* the revision's file; "" when not about one revision */
    const char *level;    /* "error" (exit 3), or "warning" (exit 3 only with MIG_CHECK_STRICT) */
    const char *rule;     /* a warning's rule id ("MIG001"); "" otherwise */
} mig_check_problem;
typedef void (*mig_check_fn)(void *payload, const mig_check_problem *p);
/*
 * mig check: 0 when the graph is valid, nothing is pending, no applied
 * file changed and no revision is part-way failed; else MIG_ECHECK after
 * reporting each problem through fn.
 */
MIG_API int mig_check(mig_ctx *ctx, mig_check_fn fn, void *payload);
/* As mig_check; with MIG_CHECK_STRICT a warning fails the check too. */
#define MIG_CHECK_STRICT (1u << 0)
MIG_API int mig_check_ex(mig_ctx *ctx, unsigned flags, mig_check_fn fn, void *payload);

/* ---- test ---- */

/* mig test: options as the command line gives them; zero = not given. */
typedef struct mig_test_opts {
    const char *range; /* "FROM:TO", ":TO", "FROM:" or "REV" (= ":REV"), ends included; NULL: all */
    const char *scratch_url; /* NULL: a temporary database on the configured server (a file for SQLite) */
    int data;                /* generated rows in the tables a revision touched, before its downgrade */
    int strict;              /* a revision without a downgrade section fails */
    int allow_heads;         /* several heads are no failure */
} mig_test_opts;

/* One check of a revision: "upgrade", "downgrade", "upgrade again"; or of the graph. */
typedef struct mig_test_check {
    const char *name;
    const char *status;  /* "ok", "failed", "skipped" */
    const char *message; /* why it failed (a failed statement as path:LINE: ...); "" when ok */
    const char *diff;    /* the schema difference as DDL (left over, missing, differs); may be "" */
    double duration_ms;
} mig_test_check;

/*
 * One revision's verdict, in graph order; graph-wide checks ("one head",
 * "snapshot": what the snapshots compare and what not, "target",
 * "downgrade to base") come with revision "".
 */
typedef struct mig_test_report {
    const char *revision;
    const char *message; /* the revision's message */
    const char *path;
    const char *status; /* "ok", "failed", "irreversible", "skipped" */
    const char *note;   /* warnings, one per line ("MIG001 empty-downgrade: ..."), or "" */
    const mig_test_check *checks;
    size_t nchecks;
    double duration_ms;
} mig_test_report;
typedef void (*mig_test_fn)(void *payload, const mig_test_report *r);

/*
 * Every revision up, down and up again on a scratch database, never the
 * configured one, with the schema compared at each step. 0 when every
 * check passed, MIG_ECHECK when one failed (each reported through fn),
 * MIG_EUSAGE for bad usage (tenant options, a scratch database that is
 * the configured one or not empty), MIG_EFAIL when the run could not go on
 * or was stopped by mig_cancel: a first request stops after the running
 * step, a second also cancels the statement running now; the scratch
 * database is dropped either way.
 */
MIG_API int mig_test(mig_ctx *ctx, const mig_test_opts *o, mig_test_fn fn, void *payload);

/* ---- lint ---- */

/* A rule `mig lint` can report, with its level after [lint] error/warning. */
typedef struct mig_lint_rule_info {
    const char *id;       /* "PG001", "MIG001": stable, never reused */
    const char *name;     /* "create-index-blocks-writes" */
    const char *level;    /* "error", "warning", "info" */
    const char *lock;     /* the lock it claims ("SHARE"), "" if none */
    const char *summary;  /* one line */
    const char *help_uri; /* the database's documentation, "" if none */
    int disabled;         /* [lint] disable names it */
} mig_lint_rule_info;
typedef void (*mig_lint_rule_fn)(void *payload, const mig_lint_rule_info *r);
/* Every rule of the configured driver's dialect and the dialect-free MIG rules. */
MIG_API int mig_lint_rules(mig_ctx *ctx, mig_lint_rule_fn fn, void *payload);

/* What mig lint --trace saw one statement do in the scratch database. */
typedef struct mig_lint_evidence {
    const char *lock;  /* "SHARE", "ACCESS EXCLUSIVE"; "write" for SQLite's database-wide lock;
                          "" when the locks were not read */
    const char *table; /* "" for a database-wide lock or none */
    double ms;         /* the statement's duration */
    const char *text;  /* one line for people */
} mig_lint_evidence;

/* One finding. Strings are borrowed for the duration of the call. */
typedef struct mig_lint_report {
    const char *rule;  /* "PG001" */
    const char *name;  /* "create-index-blocks-writes" */
    const char *level; /* "error", "warning", "info" */
    const char *revision;
    const char *path;       /* the revision's file */
    int line;               /* 1-based, in the file */
    int column;             /* 1-based, in bytes */
    size_t statement_index; /* 0-based, in the upgrade section (lock evidence attaches by it) */
    const char *statement;  /* the statement's text; "" for a finding about the whole revision */
    const char *message;    /* one line */
    const char *why;        /* the lock taken and what it blocks; "" if none */
    const char *safe;       /* the safe way; "" if none */
    const char *lock;       /* the rule's lock, "" if none */
    const char *table;      /* the table the finding is about, "" if none */
    long long rows;         /* its size with a connection (largest across tenants), -1 unknown */
    /* --trace: what the statement did in the scratch database; nevidence 0 without --trace */
    const struct mig_lint_evidence *evidence;
    size_t nevidence;
} mig_lint_report;
typedef void (*mig_lint_fn)(void *payload, const mig_lint_report *r);

/* Lint without connecting: every revision in range (default all). */
#define MIG_LINT_OFFLINE (1u << 0)
/*
 * mig lint: judge the upgrade sections of the revisions not yet applied
 * (with MIG_LINT_OFFLINE or no reachable database: every revision), or
 * those in range ("REV", "A:B", "A:", ":B"; NULL for the default), and
 * report each finding through fn, oldest revision first. Returns 0, or
 * MIG_ECHECK when a finding is at error level.
 */
MIG_API int mig_lint(mig_ctx *ctx, const char *range, unsigned flags, mig_lint_fn fn, void *payload);
/*
 * mig lint --trace: as mig_lint, and the pending revisions run in a
 * scratch database (scratch_url, or NULL for a temporary one next to the
 * configured database; a temporary file on SQLite) after the applied ones,
 * each statement's table locks and duration attached to its findings as
 * evidence. A traced ACCESS EXCLUSIVE or SHARE lock on a table that existed
 * before the run that no finding predicted is a finding of its own (MIG004).
 * MIG_EUSAGE when the scratch database is the configured one or not empty;
 * MIG_EFAIL when a statement fails there.
 */
MIG_API int mig_lint_trace(mig_ctx *ctx, const char *range, unsigned flags, const char *scratch_url,
                           mig_lint_fn fn, void *payload);

/* ---- project files ---- */

/* mig init: writes mig.ini (if absent), DIR/versions, templates. */
MIG_API int mig_init_project(mig_ctx *ctx, const char *dir);

typedef struct mig_revision_opts {
    const char *message;
    const char *rev_id; /* NULL: random 12 hex */
    int lua;
    const char *const *head; /* --head (NULL-terminated), NULL: the single head */
    int splice;
    const char *const *branch_labels; /* NULL-terminated */
    const char *const *depends_on;    /* NULL-terminated */
    const char *const *merge_of;      /* for merge: revisions to join; NULL = all heads */
    /*
     * SQL revisions: statements to write under -- mig:upgrade and
     * -- mig:downgrade instead of the template's empty sections; NULL: none.
     */
    const char *upgrade_sql;
    const char *downgrade_sql;
    int contract; /* --phase contract: write -- mig:phase contract */
} mig_revision_opts;

/* mig revision / mig merge; *path_out (caller frees) is the new file. */
MIG_API int mig_revision_new(mig_ctx *ctx, const mig_revision_opts *o, char **path_out);
MIG_API int mig_merge(mig_ctx *ctx, const mig_revision_opts *o, char **path_out);

/*
 * mig revision --autogenerate: compare the live database (which must have
 * every revision applied) with the [autogenerate] target and write a SQL
 * revision whose upgrade makes the one into the other and whose downgrade
 * undoes it; changes that may lose data carry a comment. With MIG_AUTOGEN_FROM_EMPTY,
 * the upgrade recreates the live schema from nothing (to adopt a database;
 * then `mig stamp head`). When there is nothing to write, returns 0 with
 * *path_out NULL and says so through the logger.
 */
#define MIG_AUTOGEN_FROM_EMPTY (1u << 0) /* the upgrade recreates the live schema from nothing */
MIG_API int mig_autogenerate(mig_ctx *ctx, const mig_revision_opts *o, unsigned flags, char **path_out);

/* ---- tenants ---- */

/*
 * With --tenant or --all-tenants in the options, mig_upgrade,
 * mig_downgrade, mig_stamp and mig_check run once per tenant (-j at a
 * time, each on its own connection) and report each tenant here as it
 * ends; tenants never started are reported at the end with status
 * "not started" and their heads as read then (from = to). The call
 * returns MIG_EFAIL if any tenant failed.
 */
typedef struct mig_tenant_report {
    const char *tenant;
    const char *from; /* heads before, space-separated; "" = base; NULL = unknown
                             (a tenant not started whose state could not be read) */
    const char *to;   /* heads after */
    double duration_ms;
    const char *status; /* "ok", "failed", "skipped", "not started" */
    const char *error;  /* "" unless failed */
    size_t steps;
    const char *detail; /* failed: statement, SQLSTATE, server text; may be NULL or "" */
    size_t index;       /* the tenant's place in the list, from 0 */
    size_t total;       /* tenants in the list */
    size_t ended;       /* tenants ended so far, this one included ("not started": those that ran) */
} mig_tenant_report;
typedef void (*mig_tenant_fn)(void *payload, const mig_tenant_report *r);
MIG_API void mig_set_tenant_callback(mig_ctx *ctx, mig_tenant_fn fn, void *payload);

/* Does this context run per tenant (--tenant / --all-tenants)? */
MIG_API int mig_has_tenants(const mig_ctx *ctx);

/* One tenant's state, for `mig current` and `mig tenants`. */
typedef struct mig_tenant_status {
    const char *tenant;
    const char *const *current; /* NULL-terminated heads */
    size_t pending;
    const char *error; /* NULL, or why it could not be read */
} mig_tenant_status;
typedef void (*mig_tenant_status_fn)(void *payload, const mig_tenant_status *s);
MIG_API int mig_tenants_status(mig_ctx *ctx, mig_tenant_status_fn fn, void *payload);

/* ---- backfills: the checkpoints of db:backfill (mig_backfill) ---- */

typedef struct mig_backfill_info {
    const char *tenant; /* NULL without tenants */
    const char *name;
    const char *revision;
    const char *direction; /* upgrade, downgrade */
    const char *state;     /* running, paused, finished */
    const char *position;  /* the last key done, as shown ("id 4,812,000"); "" before the first batch */
    int64_t rows_done;
    int64_t rows_total; /* an estimate while it runs; -1 when unknown */
    int64_t batches;
    double rate;            /* rows per second over the time it ran; 0 when unknown */
    const char *started_at; /* UTC */
    const char *updated_at;
} mig_backfill_info;
typedef void (*mig_backfill_fn)(void *payload, const mig_backfill_info *b);
/* Every checkpoint of this project's version table (per tenant with tenants), oldest first. */
MIG_API int mig_backfill_status(mig_ctx *ctx, mig_backfill_fn fn, void *payload);
/*
 * Forget the checkpoints of revision (an id or a unique prefix), so its
 * backfills start over; *removed (may be NULL) counts the rows removed.
 */
MIG_API int mig_backfill_reset(mig_ctx *ctx, const char *revision, size_t *removed);

/* ---- drivers ---- */

typedef struct mig_driver_info {
    const char *name;
    const char *path;
    unsigned abi;
    const char *version;
    const char *description;
    const char *problem; /* NULL if usable, else why not */
} mig_driver_info;
typedef void (*mig_driver_fn)(void *payload, const mig_driver_info *info);
/* Every mig_driver_<name>.so on the search path, usable or not. */
MIG_API int mig_drivers_list(mig_ctx *ctx, mig_driver_fn fn, void *payload);

#ifdef __cplusplus
}
#endif

#endif /* MIG_H */
