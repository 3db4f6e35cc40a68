/*
 * mig current [-v]: the revisions in the version table, one per line,
 * nothing at base; with -v each one in full, as `show` prints it.
 */
#include "cmd.h"

#include <string.h>

static const cli_opt opts[] = {
    { 'v', "verbose", NULL, CLI_VERBOSE, NULL, 0, "print each current revision in full" },
    { 0 }
};

const cli_spec cmd_current_spec = { "", 0, 0, opts, NULL };

int cmd_current(cli *c)
{
    cli_graph g;
    memset(&g, 0, sizeof g);
    /* Copied first: the revision list borrowed next would not survive another call. */
    int rc = cli_graph_read_current(c, &g);
    if (rc != 0)
        goto out;
    /* Broken revision files do not hide what the database says: print bare ids then. */
    if ((c->verbose || c->json) && mig_revisions(c->ctx, &g.revs, &g.n) != 0) {
        g.revs = NULL;
        g.n = 0;
    }

    if (c->json) {
        json_t *cur = json_array(), *revs = json_array();
        for (size_t i = 0; i < g.ncurrent; i++) {
            json_array_append_new(cur, cli_json_str(g.current[i]));
            const mig_revision *r = cli_graph_find(&g, g.current[i]);
            if (r)
                json_array_append_new(revs, cli_rev_json(&g, r));
        }
        json_object_set_new(c->doc, "current", cur);
        json_object_set_new(c->doc, "revisions", revs);
        goto out;
    }
    for (size_t i = 0; i < g.ncurrent; i++) {
        const mig_revision *r = cli_graph_find(&g, g.current[i]);
        if (c->verbose && r)
            cli_rev_entry(stdout, &g, r);
        else
            printf("%s\n", g.current[i]);
    }
out:
    cli_graph_release(&g);
    return rc;
}
