/*
 * mig branches [-v]: each branch point with the revisions that branch
 * from it, drawn as Alembic does:
 *
 *     1f0e2d3c4b5a (branchpoint), add users table
 *                  -> 3c9a1e2b7f00 (head), backfill display names
 *                  -> 77aa00bb11cc (head), add orders
 */
#include "cmd.h"

#include <string.h>

static const cli_opt opts[] = {
    { 'v', "verbose", NULL, CLI_VERBOSE, NULL, 0, "print each branch point in full" }, { 0 }
};

const cli_spec cmd_branches_spec = { "", 0, 0, opts, NULL };

static int has_parent(const mig_revision *r, const char *id)
{
    for (const char *const *d = r->down; d && *d; d++)
        if (strcmp(*d, id) == 0)
            return 1;
    return 0;
}

int cmd_branches(cli *c)
{
    cli_graph g;
    /* With --json, current marks for the revision object; text draws none. */
    int rc = cli_graph_load(c, &g, c->json ? CLI_GRAPH_CURRENT : 0u);
    if (rc != 0) {
        cli_graph_release(&g);
        return rc;
    }
    json_t *list = c->json ? json_array() : NULL;
    for (size_t i = 0; i < g.n; i++) {
        const mig_revision *bp = g.revs[i];
        if (!bp->is_branch_point)
            continue;
        if (list) {
            json_array_append_new(list, cli_rev_json(c, &g, bp));
            continue;
        }
        if (c->verbose)
            cli_rev_entry(stdout, &g, bp);
        else
            cli_rev_line(stdout, &g, bp, CLI_LINE_MESSAGE | CLI_LINE_TREE);
        for (size_t k = 0; k < g.n; k++) {
            if (!has_parent(g.revs[k], bp->id))
                continue;
            printf("%*s -> ", (int)strlen(bp->id), "");
            cli_rev_line(stdout, &g, g.revs[k], CLI_LINE_MESSAGE | CLI_LINE_TREE);
        }
        if (c->verbose)
            putchar('\n');
    }
    if (list)
        json_object_set_new(c->doc, "branchpoints", list);
    cli_graph_release(&g);
    return 0;
}
