/*
 * Tenants: the list (--tenant, or [tenants] list / query / script with
 * --all-tenants) and the loop that runs an operation once per tenant, in
 * parallel, each in a child context on its own connection.
 */
#ifndef MIG_TENANT_H
#define MIG_TENANT_H

#include "buf.h"

typedef struct mig_ctx mig_ctx;

int mig_tenants_resolve(mig_ctx *ctx, mig_strvec *out);
/* MIG_ECONFIG when tenants would be schemas and the driver has none. */
int mig_tenant_check_schemas(mig_ctx *ctx);

/*
 * The operation for one tenant, run in a child context (ctx->tenant set).
 * Its result is reported through the tenant callback; a failure stops new
 * starts unless --keep-going. Returns MIG_EFAIL if any tenant failed.
 */
typedef int (*mig_tenant_op)(mig_ctx *child, void *payload);
/* Flags of mig_tenant_foreach, for loops that only read. */
#define MIG_TENANT_KEEP_GOING 1u /* a failure stops no new starts, --keep-going or not */
#define MIG_TENANT_NO_REPORT  2u /* the tenant callback hears nothing of this loop */
int mig_tenant_foreach(mig_ctx *ctx, mig_tenant_op op, void *payload, unsigned flags);
/*
 * The same for `upgrade head` where head is the graph's one head: schema
 * tenants whose version table already says head (and whose last history
 * row is no failed revision) are found in batched reads, UNION ALL over
 * their schemas, and reported skipped without a run of their own.
 */
int mig_tenant_foreach_upgrade(mig_ctx *ctx, mig_tenant_op op, void *payload, const char *head);

/*
 * A tenant worker's two connections, kept from one schema tenant to the
 * next: the work one (reset between tenants, then on_connect and the
 * tenant's schema again) and the lock one (tenant locks taken and released
 * on it), instead of two new connections per tenant.
 */
struct mig_db;
struct mig_plugin;
struct mig_session;
typedef struct mig_tenant_conns {
    struct mig_db *work;
    struct mig_db *lock;
} mig_tenant_conns;

/* Does ctx run on its worker's kept connections (schema tenants, a driver with reset)? */
int mig_tenant_conns_apply(mig_ctx *ctx, const struct mig_plugin *plugin, int db_tenant);
/* s->db: the worker's work connection, reset, or a new one kept for its next tenants. */
int mig_tenant_work_db(mig_ctx *ctx, struct mig_session *s);
/* The lock connection for s: the worker's when kept (*pooled = 1), else a new one. */
int mig_tenant_lock_db(mig_ctx *ctx, const struct mig_session *s, struct mig_db **out, int *pooled);
/* Done with it: a kept one stays open unless it broke or may still hold a lock (held). */
void mig_tenant_lock_db_done(mig_ctx *ctx, struct mig_db *db, int pooled, int held);

/* [tenants] script: a Lua file returning a list of names (lua_tenants.c). */
int mig_tenant_script(mig_ctx *ctx, const char *path, mig_strvec *out);

#endif
