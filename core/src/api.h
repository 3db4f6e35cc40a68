/*
 * What the public entry points share: resolving the configuration into a
 * script location, a URL and a driver, and opening a session on the
 * database (connection + state tables description).
 */
#ifndef MIG_API_H
#define MIG_API_H

#include "ctx.h"
#include "drv.h"
#include "state.h"

/* The URL to use (caller frees; NULL = the driver's defaults). */
int mig_ctx_url(mig_ctx *ctx, char **out);
/* The driver, loaded once per context. */
int mig_ctx_plugin(mig_ctx *ctx, const mig_plugin **out);
/* The version table's name (borrowed). */
int mig_ctx_version_table(mig_ctx *ctx, const char **out);

typedef struct mig_session {
    const mig_plugin *plugin;
    mig_db *db;
    mig_state st;
    char *url;
    const char *base_dir;   /* relative paths in url resolve here */
    int db_tenant;          /* the URL named {tenant}: a database per tenant */
    struct mig_db **pooled; /* db is a tenant worker's, kept there when closed */
} mig_session;

/*
 * A tenant name the driver's server would truncate or refuse as an
 * identifier (its schema or database name): MIG_EUSAGE naming the limit.
 */
int mig_check_tenant_name(mig_ctx *ctx, const mig_plugin *plugin, const char *name);
/* The same for version_table and the names derived from it: MIG_ECONFIG at its line. */
int mig_check_version_table(mig_ctx *ctx, const mig_plugin *plugin, const char *vt);

/*
 * Pieces the files of the public API share (api.c sets the context up,
 * session.c opens sessions, graph_thread.c overlaps the two).
 */
/* Once per loaded graph: warn of Alembic .py revisions, which are never read. */
void mig_ctx_warn_py_files(mig_ctx *ctx);
/* MIG_ECONFIG when no mig.ini, no --script-location and no default folder say where revisions are. */
int mig_ctx_no_config_for_versions(mig_ctx *ctx);
/* Is the URL from the command line or the environment (not from the file)? */
int mig_ctx_url_from_outside(const mig_ctx *ctx);

/* Load graph, driver and names before tenant workers borrow them. */
int mig_ctx_prepare_shared(mig_ctx *ctx);

/* A worker's context for one tenant: borrows the parent's config, graph, driver. */
int mig_ctx_child(mig_ctx **out, mig_ctx *parent, const char *tenant);
/* [tenants] search_path for ctx->tenant, every name quoted, into out ("" when not set). */
int mig_tenant_search_path(mig_ctx *ctx, const mig_plugin *plugin, mig_buf *out);

/* Connect (to the tenant's database or schema, for a child) and run on_connect. */
int mig_session_open(mig_session *s, mig_ctx *ctx);
/*
 * For commands that only read: a database that does not exist yet is not
 * created; *missing = 1 and s->db is NULL then (an empty state).
 */
int mig_session_open_ro(mig_session *s, mig_ctx *ctx, int *missing);
void mig_session_close(mig_session *s);
/*
 * The two halves of mig_session_open: the connection alone (with missing
 * set, a database that is not there is not created: *missing = 1, s->db
 * NULL), then on_connect and the tenant's schema.
 */
int mig_session_connect(mig_session *s, mig_ctx *ctx, int *missing);
int mig_session_enter(mig_session *s, mig_ctx *ctx, int *missing);

/*
 * mig_session_open and mig_ctx_graph at once: the graph loads on a second
 * thread while this one connects. *g is borrowed from ctx. A graph error
 * wins over a session error (as when the graph loaded first); on any
 * error the session is closed. A target (NULL: none) is checked against
 * the graph (mig_graph_check_target) before a missing database is
 * created, so a target the graph refutes leaves nothing behind.
 */
int mig_session_open_with_graph(mig_session *s, mig_ctx *ctx, mig_graph **g, const char *target,
                                mig_target_mode mode);

/*
 * 0 when the versions folder holds no revision file for certain (a look
 * at the names only, stopping at the first); 1 otherwise, errors included
 * (the graph load reports them).
 */
int mig_ctx_may_have_revisions(mig_ctx *ctx);

/*
 * A scratch database (core/src/stairway.c, shared by mig test and mig lint
 * --trace): url when given (refused when it is the configured database or
 * not empty), else a temporary database on the configured server (a
 * temporary file for SQLite). *sctx is a context on it and *surl its URL,
 * both borrowed from *out; what names the command in errors.
 * mig_scratch_close drops what was created, empties what was given; call
 * it also after a failed open (*out may be set then).
 */
typedef struct mig_scratch mig_scratch;
int mig_scratch_open(mig_ctx *ctx, const char *url, const char *what, mig_scratch **out, mig_ctx **sctx,
                     char **surl);
void mig_scratch_close(mig_scratch *sc);

#endif
