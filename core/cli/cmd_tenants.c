/*
 * mig tenants: every tenant with its current revision and pending count.
 */
#include "cmd.h"

static const cli_opt opts[] = {
    { 0 }
};

const cli_spec cmd_tenants_spec = { "", 0, 0, opts, NULL };

int cmd_tenants(cli *c)
{
    /* mig.h has no per-tenant listing yet: say so rather than print a guess. */
    return cli_fail(c, MIG_EFAIL, "'tenants' is not available in this build of mig");
}
