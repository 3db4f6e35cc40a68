/*
 * mig stamp TARGET... [--purge]: set the version table to the TARGETs
 * without running any revision. Heads on other branches stay, as in
 * Alembic; --purge empties the table first.
 */
#include "cmd.h"

static struct {
    int purge;
} o;

static const cli_opt opts[] = {
    { 0, "purge", NULL, CLI_FLAG, &o.purge, 0, "empty the version table first" }, { 0 }
};

const cli_spec cmd_stamp_spec = { "TARGET...", 1, CLI_MANY, opts,
                                  "TARGET is as for upgrade and downgrade: head, heads, base, a revision\n"
                                  "id or unique prefix, LABEL@head. Also marks a part-way failed revision\n"
                                  "as done, once it was finished by hand." };

int cmd_stamp(cli *c)
{
    int tenants = mig_has_tenants(c->ctx);
    if (tenants)
        cli_tenants_begin(c);
    int rc = mig_stamp(c->ctx, c->args, c->nargs, o.purge ? MIG_STAMP_PURGE : 0u);
    if (tenants)
        cli_tenants_end(c);
    if (rc != 0 || !c->json)
        return rc;
    json_object_set_new(c->doc, "targets", cli_json_strv(c->args));
    json_object_set_new(c->doc, "purge", json_boolean(o.purge));
    const char *const *cur;
    size_t n;
    /* What the table holds now, for scripts; stamping succeeded even if this read fails. */
    if (mig_current(c->ctx, &cur, &n) == 0) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, cli_json_str(cur[i]));
        json_object_set_new(c->doc, "current", a);
    }
    return 0;
}
