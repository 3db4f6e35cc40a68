/*
 * The context: one per run (per tenant worker when tenants run in
 * parallel). It owns the options, the configuration, the loaded graph, the
 * driver, the last error and the output callbacks. Opaque to mig.h users.
 */
#ifndef MIG_CTX_H
#define MIG_CTX_H

#include <pthread.h>
#include <stdatomic.h>

#include "buf.h"
#include "cancel.h"
#include "config.h"
#include "error.h"
#include "graph.h"
#include "mig/mig.h"
#include "progress.h"

typedef struct mig_plugin mig_plugin;

struct mig_ctx {
    /* options, copied */
    mig_options opts;
    mig_strvec owned; /* strings the copied options point into */

    mig_config *cfg;

    /* the error of the last failing call */
    int err_code;
    mig_buf err_message, err_detail, err_hint, err_file, err_origin;
    int err_line;
    mig_error err_view;

    mig_log_fn log_fn;
    void *log_payload;
    mig_step_fn step_fn;
    void *step_payload;
    mig_sql_fn sql_fn;
    void *sql_payload;
    mig_event_fn event_fn;
    void *event_payload;
    mig_prog prog; /* the step running now */

    /* resolved lazily */
    char *script_location; /* absolute */
    char *versions_dir;
    mig_graph *graph;
    mig_plugin *plugin;
    char *version_table;

    /* views for the public API */
    const mig_revision **rev_views;
    mig_revision *rev_storage;
    const char **next_storage; /* every revision's children, NULL after each list */
    size_t nrev_views;
    const mig_revision **head_views;
    size_t nhead_views;
    mig_strvec current;

    /* tenants: the tenant this context runs for (a worker's child context) */
    char *tenant;
    mig_ctx *parent;   /* a child borrows cfg, graph and driver */
    int lock_try_only; /* a busy tenant lock is MIG_EBUSY at once */
    int no_lock;       /* a database only this process knows (mig test's own): no session lock */
    mig_buf run_from;  /* heads before and after the last run */
    mig_buf run_to;
    size_t run_steps;
    /* where the last run left the database, failed or not (mig_last_run) */
    int run_known;
    mig_strvec run_current;
    mig_buf run_summary;
    size_t run_applied, run_rolled_back;
    mig_strvec pending_contract; /* mig_pending_contract's answer */
    mig_strvec run_held;         /* MIG_RUN_EXPAND: revisions held back (tenants: their union) */
    size_t run_held_tenants;     /* tenants that held some back */
    mig_tenant_fn tenant_fn;
    void *tenant_payload;
    /* a tenant worker's connections, kept across its schema tenants (tenant.h) */
    struct mig_tenant_conns *conns;

    /*
     * The statement running now, so that another thread can cancel it
     * (mig_ctx_cancel in plugin.h); cancelled refuses the next ones too.
     */
    pthread_mutex_t run_mu;
    struct mig_db *running;
    int cancelled;
    /* mig_cancel (cancel.c): requests so far; run_mu guards the rest */
    atomic_int cancel_req;
    int user_next;    /* the next statement is a revision's (mig_cancel_check) */
    int running_user; /* the running one is: a first request cancels it */
    mig_ctx **kids;   /* live children (tenant workers), for the watcher */
    int in_batch;     /* a backfill's batch runs: a first request waits for its end */
    size_t nkids, kids_cap;
};

/* A line of output through the logger (stderr by default). */
void mig_log(mig_ctx *ctx, mig_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Lazily loaded pieces; each returns 0 or a MIG_E* code with the error set. */
int mig_ctx_graph(mig_ctx *ctx, mig_graph **out);
int mig_ctx_script_location(mig_ctx *ctx, const char **out);

/*
 * A context with default options and no configuration file (unit tests,
 * and the start of mig_ctx_new). Free with mig_ctx_free.
 */
int mig_ctx_new_empty(mig_ctx **out);

#endif
