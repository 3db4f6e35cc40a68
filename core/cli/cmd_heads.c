/*
 * mig heads [-v]: the revisions nothing builds on yet, `id (label) (head)`
 * per line, or in full with -v.
 */
#include "cmd.h"

#include <string.h>

static const cli_opt opts[] = {
    { 'v', "verbose", NULL, CLI_VERBOSE, NULL, 0, "print each head in full" },
    { 0 }
};

const cli_spec cmd_heads_spec = { "", 0, 0, opts, NULL };

int cmd_heads(cli *c)
{
    cli_graph g;
    const mig_revision *const *heads = NULL;
    size_t n = 0;
    memset(&g, 0, sizeof g);
    /* A head has no children, so the entry needs no other revision: an empty view will do. */
    int rc = mig_heads(c->ctx, &heads, &n);
    if (rc != 0)
        return rc;
    json_t *list = c->json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        if (list)
            json_array_append_new(list, cli_rev_json(&g, heads[i]));
        else if (c->verbose)
            cli_rev_entry(stdout, &g, heads[i]);
        else
            cli_rev_line(stdout, &g, heads[i], 0);
    }
    if (list)
        json_object_set_new(c->doc, "heads", list);
    return 0;
}
