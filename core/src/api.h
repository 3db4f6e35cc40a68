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
int mig_ctx_driver(mig_ctx *ctx, const mig_drv **out);
/* The version table's name (borrowed). */
int mig_ctx_version_table(mig_ctx *ctx, const char **out);

typedef struct mig_session {
    const mig_drv *drv;
    mig_db        *db;
    mig_state      st;
    char          *url;
} mig_session;

/* Connect and run on_connect. */
int  mig_session_open(mig_session *s, mig_ctx *ctx);
void mig_session_close(mig_session *s);

#endif
