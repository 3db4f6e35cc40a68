/*
 * mig show REV: one revision in full. REV is an id, a unique prefix, a
 * branch label or a symbolic name (head, base) as libmig resolves it.
 */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = { { 0 } };

const cli_spec cmd_show_spec = { "REV", 1, 1, opts, NULL };

int cmd_show(cli *c)
{
    const mig_revision *r = NULL;
    cli_graph g;
    memset(&g, 0, sizeof g);
    int rc = mig_revision_find(c->ctx, c->args[0], &r);
    if (rc != 0)
        return rc;
    /* Kept by id: the pointer is borrowed only until the next call on the context. */
    char *id = strdup(r->id);
    if (id == NULL)
        return cli_fail(c, MIG_ENOMEM, "out of memory");
    (void)cli_graph_read_current(c, &g); /* for the (current) mark only */
    rc = mig_revisions(c->ctx, &g.revs, &g.n);
    if (rc == 0) {
        r = cli_graph_find(&g, id);
        if (r == NULL)
            rc = cli_fail(c, MIG_EREVFILE, "revision '%s' is not in the revision list", id);
    }
    if (rc == 0) {
        if (c->json)
            json_object_set_new(c->doc, "revision", cli_rev_json(c, &g, r));
        else
            cli_rev_entry(stdout, &g, r);
    }
    free(id);
    cli_graph_release(&g);
    return rc;
}
