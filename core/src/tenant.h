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

/* [tenants] script: a Lua file returning a list of names (lua_tenants.c). */
int mig_tenant_script(mig_ctx *ctx, const char *path, mig_strvec *out);

#endif
