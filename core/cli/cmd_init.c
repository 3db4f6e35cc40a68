/*
 * mig init [DIR]: mig.ini (if absent), DIR/versions/ and the two
 * templates; DIR defaults to `migrations`. Nothing is ever overwritten.
 */
#include "cmd.h"

static const cli_opt opts[] = { { 0 } };

const cli_spec cmd_init_spec = { "[DIR]", 0, 1, opts, NULL };

int cmd_init(cli *c)
{
    const char *dir = c->nargs ? c->args[0] : "migrations";
    int rc = mig_init_project(c->ctx, dir);
    if (rc == 0 && c->json)
        json_object_set_new(c->doc, "script_location", cli_json_str(dir));
    return rc;
}
