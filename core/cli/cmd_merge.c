/*
 * mig merge -m MSG [REV...]: a revision whose down_revision is each of the
 * given revisions (default: every head), joining the branches again.
 * Prints the new file's path on stdout.
 */
#include "cmd.h"

#include <stdlib.h>

static struct {
    const char *message;
    const char *rev_id;
    cli_list labels;
} o;

static const cli_opt opts[] = {
    { 'm', "message", "MSG", CLI_STRING, &o.message, 1, "what the merge is for" },
    { 0, "rev-id", "ID", CLI_STRING, &o.rev_id, 0, "use this id instead of a random one" },
    { 0, "branch-label", "L", CLI_LIST, &o.labels, 0, "label for the merged branch (repeatable)" },
    { 0 }
};

const cli_spec cmd_merge_spec = { "[REV...]", 0, CLI_MANY, opts, NULL };

int cmd_merge(cli *c)
{
    char *path = NULL;
    mig_revision_opts ro = { 0 };
    ro.message = o.message;
    ro.rev_id = o.rev_id;
    ro.branch_labels = o.labels.v;
    ro.merge_of = c->nargs ? c->args : NULL;
    int rc = mig_merge(c->ctx, &ro, &path);
    if (rc == 0) {
        if (c->json) {
            json_object_set_new(c->doc, "path", cli_json_str(path));
        } else {
            cli_put(stdout, path);
            putchar('\n');
        }
    }
    free(path);
    cli_list_release(&o.labels);
    return rc;
}
