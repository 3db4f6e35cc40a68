/*
 * The graph, read on a second thread while the session connects.
 */
#include "api.h"

#include <pthread.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

typedef struct graph_job {
    mig_ctx *ctx; /* its own context: its errors never race with the session's */
    const char *dir;
    mig_graph *graph;
    int rc;
} graph_job;

static void *graph_job_run(void *payload)
{
    graph_job *j = payload;
    j->rc = mig_graph_load(&j->graph, j->ctx, j->dir);
#ifdef __GLIBC__
    /*
     * The loader's temporaries are freed into this thread's own malloc
     * arena, where the connect on the main thread cannot reuse them: give
     * the pages back rather than keep them resident beside SQLite's schema.
     */
    malloc_trim(0);
#endif
    return NULL;
}

/*
 * Reading every revision header is a walk over the file system, and a
 * connect is a wait on the database (for SQLite, parsing the schema of a
 * large database): neither needs the other, so they overlap. The loader
 * only reads files and writes its own context; the result is handed over
 * after the join, so nothing is shared while both run.
 *
 * A broken graph must leave no trace: the overlapping connect creates
 * nothing (a missing SQLite file stays missing) and runs nothing, not even
 * on_connect or a tenant's CREATE SCHEMA; that waits for the graph.
 */
int mig_session_open_with_graph(mig_session *s, mig_ctx *ctx, mig_graph **g, const char *target,
                                mig_target_mode mode)
{
    memset(s, 0, sizeof *s);
    const char *loc;
    int rc = ctx->graph ? 0 : mig_ctx_script_location(ctx, &loc);
    if (rc == 0 && ctx->graph == NULL)
        rc = mig_ctx_no_config_for_versions(ctx);
    if (rc)
        return rc;
    graph_job j = { NULL, ctx->versions_dir, NULL, 0 };
    pthread_t th;
    if (ctx->graph || mig_ctx_new_empty(&j.ctx) != 0 || pthread_create(&th, NULL, graph_job_run, &j) != 0) {
        /* loaded already, or no thread to be had: one after the other */
        mig_ctx_free(j.ctx);
        rc = mig_ctx_graph(ctx, g);
        if (rc == 0 && target)
            rc = mig_graph_check_target(ctx, *g, target, mode);
        return rc ? rc : mig_session_open(s, ctx);
    }
    int missing = 0;
    int src = mig_session_connect(s, ctx, &missing);
    pthread_join(th, NULL);
    if (j.rc) {
        mig_session_close(s);
        mig_error_state st; /* the graph's error wins */
        mig_error_save(j.ctx, &st);
        mig_error_restore(ctx, &st);
        mig_ctx_free(j.ctx);
        return j.rc;
    }
    ctx->graph = j.graph;
    *g = j.graph;
    mig_ctx_warn_py_files(ctx);
    mig_ctx_free(j.ctx);
    /*
     * A target the graph refutes wins over the connect's error too, as if
     * it had been checked first; and nothing is created for it.
     */
    rc = target ? mig_graph_check_target(ctx, j.graph, target, mode) : 0;
    if (rc == 0)
        rc = src;
    if (rc == 0 && missing) {
        /* the graph is sound: now the database may be created */
        rc = mig_db_connect(&s->db, ctx, s->plugin, s->url, s->base_dir);
    }
    if (rc == 0)
        rc = mig_session_enter(s, ctx, NULL);
    if (rc)
        mig_session_close(s);
    return rc;
}
