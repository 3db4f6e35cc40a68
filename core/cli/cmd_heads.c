/*
 * mig heads [-v]: the revisions nothing builds on yet, `id (label) (head)`
 * per line, or in full with -v.
 */
#include "cmd.h"

#include <string.h>

static const cli_opt opts[] = { { 'v', "verbose", NULL, CLI_VERBOSE, NULL, 0, "print each head in full" },
                                { 0 } };

const cli_spec cmd_heads_spec = { "", 0, 0, opts, NULL };

int cmd_heads(cli *c)
{
    cli_graph g;
    const mig_revision *const *heads = NULL;
    size_t n = 0;
    memset(&g, 0, sizeof g);
    /* The JSON revision object says whether each is current; no database only leaves that null. */
    if (c->json && cli_graph_read_current(c, &g) == MIG_ENOMEM) {
        cli_graph_release(&g);
        return MIG_ENOMEM;
    }
    /* A head has no children, so the entry needs no other revision: an empty view will do. */
    int rc = mig_heads(c->ctx, &heads, &n);
    if (rc != 0) {
        cli_graph_release(&g);
        return rc;
    }
    json_t *list = c->json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        if (list)
            json_array_append_new(list, cli_rev_json(c, &g, heads[i]));
        else if (c->verbose)
            cli_rev_entry(stdout, &g, heads[i]);
        else
            cli_rev_line(stdout, &g, heads[i], 0);
    }
    if (list)
        json_object_set_new(c->doc, "heads", list);
    cli_graph_release(&g);
    return 0;
}
