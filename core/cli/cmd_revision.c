/*
 * mig revision -m MSG ...: a new revision file from the template, on top of
 * the single head (or --head); libmig runs the post-write hooks. The new
 * file's path is the command's output, on stdout, so scripts can open it.
 */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>

static struct {
    const char *message;
    const char *rev_id;
    int lua;
    cli_list head;
    int splice;
    cli_list labels;
    cli_list depends;
    int autogenerate;
    int from_empty;
    const char *phase;
} o;

static const cli_opt opts[] = {
    { 'm', "message", "MSG", CLI_STRING, &o.message, 1, "what the revision does" },
    { 0, "lua", NULL, CLI_FLAG, &o.lua, 0, "write a Lua revision instead of SQL" },
    { 0, "rev-id", "ID", CLI_STRING, &o.rev_id, 0, "use this id instead of a random one" },
    { 0, "head", "REV", CLI_LIST, &o.head, 0, "build on this head (repeatable)" },
    { 0, "splice", NULL, CLI_FLAG, &o.splice, 0, "allow --head to name a revision that is not a head" },
    { 0, "branch-label", "L", CLI_LIST, &o.labels, 0, "label for a new branch (repeatable)" },
    { 0, "depends-on", "R", CLI_LIST, &o.depends, 0, "revision this one depends on (repeatable)" },
    { 0, "phase", "PHASE", CLI_STRING, &o.phase, 0,
      "expand (the default) or contract: held back by upgrade --expand" },
    { 0, "autogenerate", NULL, CLI_FLAG, &o.autogenerate, 0,
      "write what the database lacks or has too much" },
    { 0, "from-empty", NULL, CLI_FLAG, &o.from_empty, 0, "with --autogenerate: the whole live schema" },
    { 0 }
};

const cli_spec cmd_revision_spec = { "", 0, 0, opts,
                                     "With several heads and no --head, refuses: build on one with --head,\n"
                                     "or join them first with 'mig merge'. Prints the new file's path." };

int cmd_revision(cli *c)
{
    int rc = 0;
    char *path = NULL;
    if (o.from_empty && !o.autogenerate) {
        rc = cli_fail(c, MIG_EUSAGE, "option '--from-empty' needs '--autogenerate'");
        goto out;
    }
    if (o.phase && strcmp(o.phase, "expand") != 0 && strcmp(o.phase, "contract") != 0) {
        rc = cli_fail(c, MIG_EUSAGE, "option '--phase' must be expand or contract, not '%s'", o.phase);
        goto out;
    }
    mig_revision_opts ro = { 0 };
    ro.contract = o.phase && strcmp(o.phase, "contract") == 0;
    ro.message = o.message;
    ro.rev_id = o.rev_id;
    ro.lua = o.lua;
    ro.head = o.head.v;
    ro.splice = o.splice;
    ro.branch_labels = o.labels.v;
    ro.depends_on = o.depends.v;
    if (o.autogenerate)
        rc = mig_autogenerate(c->ctx, &ro, o.from_empty ? MIG_AUTOGEN_FROM_EMPTY : 0u, &path);
    else
        rc = mig_revision_new(c->ctx, &ro, &path);
    if (rc == 0 && path == NULL) {
        /* autogenerate found nothing to write and has said so */
        if (c->json)
            json_object_set_new(c->doc, "path", json_null());
    } else if (rc == 0) {
        if (c->json) {
            json_object_set_new(c->doc, "path", cli_json_str(path));
        } else {
            cli_put(stdout, path);
            putchar('\n');
        }
    }
out:
    free(path);
    cli_list_release(&o.head);
    cli_list_release(&o.labels);
    cli_list_release(&o.depends);
    return rc;
}
