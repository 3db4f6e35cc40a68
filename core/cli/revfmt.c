/*
 * Revisions as `history`, `heads`, `branches`, `show` and `current` print
 * them, in the shapes Alembic users know:
 *
 *     <base> -> 1f0e2d3c4b5a (accounts) (head) (current), add users table
 *
 * and the full entry (`Rev:`, `Parent:`, `Path:`, then the message and the
 * revision's ids and date, indented). The graph view is loaded once per
 * command: libmig's borrowed pointers stay valid only until the next call
 * on the context, so the current heads are read first and copied.
 */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>

int cli_graph_read_current(cli *c, cli_graph *g)
{
    const char *const *cur = NULL;
    size_t n = 0;
    int rc = mig_current(c->ctx, &cur, &n);
    if (rc != 0)
        return rc;
    g->current = calloc(n + 1, sizeof *g->current);
    if (g->current == NULL)
        return cli_fail(c, MIG_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        g->current[i] = strdup(cur[i]);
        if (g->current[i] == NULL)
            return cli_fail(c, MIG_ENOMEM, "out of memory");
        g->ncurrent++;
    }
    g->have_current = 1;
    return 0;
}

int cli_graph_load(cli *c, cli_graph *g, unsigned flags)
{
    memset(g, 0, sizeof *g);
    /* No database (no URL, server down) only means no (current) marks. */
    if ((flags & CLI_GRAPH_CURRENT) && cli_graph_read_current(c, g) == MIG_ENOMEM)
        return MIG_ENOMEM;
    return mig_revisions(c->ctx, &g->revs, &g->n);
}

void cli_graph_release(cli_graph *g)
{
    for (size_t i = 0; i < g->ncurrent; i++)
        free(g->current[i]);
    free(g->current);
    memset(g, 0, sizeof *g);
}

const mig_revision *cli_graph_find(const cli_graph *g, const char *id)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->revs[i]->id, id) == 0)
            return g->revs[i];
    return NULL;
}

int cli_graph_is_current(const cli_graph *g, const char *id)
{
    for (size_t i = 0; i < g->ncurrent; i++)
        if (strcmp(g->current[i], id) == 0)
            return 1;
    return 0;
}

static int empty(const char *const *v)
{
    return v == NULL || v[0] == NULL;
}

static void comma_list(FILE *f, const char *const *v)
{
    for (size_t i = 0; v && v[i]; i++) {
        fputs(i ? ", " : "", f);
        cli_put(f, v[i]);
    }
}

static void down_list(FILE *f, const mig_revision *r)
{
    if (empty(r->down))
        fputs("<base>", f);
    else
        comma_list(f, r->down);
}

/* Revisions whose down_revision names r. */
static void children(FILE *f, const cli_graph *g, const mig_revision *r)
{
    (void)g;
    for (const char *const *c = r->next; c && *c; c++) {
        fputs(c == r->next ? "" : ", ", f);
        cli_put(f, *c);
    }
}

void cli_rev_line(FILE *f, const cli_graph *g, const mig_revision *r, unsigned what)
{
    if (what & CLI_LINE_PARENTS) {
        down_list(f, r);
        if (!empty(r->depends)) {
            fputs(" (", f);
            comma_list(f, r->depends);
            fputc(')', f);
        }
        fputs(" -> ", f);
    }
    cli_put(f, r->id);
    if (!empty(r->labels)) {
        fputs(" (", f);
        comma_list(f, r->labels);
        fputc(')', f);
    }
    if (r->is_head)
        fputs(" (head)", f);
    if (cli_graph_is_current(g, r->id))
        fputs(" (current)", f);
    if (r->phase && strcmp(r->phase, "contract") == 0)
        fputs(" (contract)", f);
    if (what & CLI_LINE_TREE) {
        if (r->is_branch_point)
            fputs(" (branchpoint)", f);
        if (r->is_merge)
            fputs(" (mergepoint)", f);
    }
    if ((what & CLI_LINE_MESSAGE) && r->message && *r->message) {
        fputs(", ", f);
        cli_put(f, r->message);
    }
    fputc('\n', f);
}

void cli_rev_entry(FILE *f, const cli_graph *g, const mig_revision *r)
{
    fputs("Rev: ", f);
    cli_put(f, r->id);
    fprintf(f, "%s%s%s%s\n", r->is_head ? " (head)" : "", r->is_branch_point ? " (branchpoint)" : "",
            r->is_merge ? " (mergepoint)" : "", cli_graph_is_current(g, r->id) ? " (current)" : "");
    fputs(r->is_merge ? "Merges: " : "Parent: ", f);
    down_list(f, r);
    fputc('\n', f);
    if (!empty(r->depends)) {
        fputs("Also depends on: ", f);
        comma_list(f, r->depends);
        fputc('\n', f);
    }
    if (r->is_branch_point) {
        fputs("Branches into: ", f);
        children(f, g, r);
        fputc('\n', f);
    }
    if (!empty(r->labels)) {
        fputs("Branch names: ", f);
        comma_list(f, r->labels);
        fputc('\n', f);
    }
    if (r->phase && strcmp(r->phase, "contract") == 0)
        fputs("Phase: contract (held back by upgrade --expand)\n", f);
    fputs("Path: ", f);
    cli_put(f, r->path);
    fputs("\n\n", f);
    if (r->message && *r->message) {
        fputs("    ", f);
        cli_put(f, r->message);
        fputs("\n\n", f);
    }
    fputs("    Revision ID: ", f);
    cli_put(f, r->id);
    fprintf(f, "\n    Revises:%s", empty(r->down) ? "" : " ");
    comma_list(f, r->down);
    fputc('\n', f);
    if (r->create_date && *r->create_date) {
        fputs("    Create Date: ", f);
        cli_put(f, r->create_date);
        fputc('\n', f);
    }
    fputc('\n', f);
}

json_t *cli_rev_json(cli *c, const cli_graph *g, const mig_revision *r)
{
    if (r->has_downgrade < 0) {
        /* Fills in the same view, and leaves the caller's list valid (mig.h). */
        const mig_revision *full = NULL;
        if (mig_revision_find(c->ctx, r->id, &full) == 0 && strcmp(full->id, r->id) == 0)
            r = full;
    }
    json_t *o = json_object();
    json_object_set_new(o, "revision", cli_json_str(r->id));
    json_object_set_new(o, "down_revisions", cli_json_strv(r->down));
    json_object_set_new(o, "next_revisions", cli_json_strv(r->next));
    json_object_set_new(o, "branch_labels", cli_json_strv(r->labels));
    json_object_set_new(o, "depends_on", cli_json_strv(r->depends));
    json_object_set_new(o, "message", cli_json_str(r->message));
    json_object_set_new(o, "create_date", cli_json_str(r->create_date));
    json_object_set_new(o, "path", cli_json_str(r->path));
    json_object_set_new(o, "lua", json_boolean(r->is_lua));
    json_object_set_new(o, "transactional", json_boolean(r->transactional));
    json_object_set_new(o, "phase", cli_json_str(r->phase ? r->phase : "expand"));
    /* null only when the body could not be read; running it will say why */
    json_object_set_new(o, "has_downgrade",
                        r->has_downgrade < 0 ? json_null() : json_boolean(r->has_downgrade));
    json_object_set_new(o, "head", json_boolean(r->is_head));
    json_object_set_new(o, "base", json_boolean(r->is_base));
    json_object_set_new(o, "branchpoint", json_boolean(r->is_branch_point));
    json_object_set_new(o, "mergepoint", json_boolean(r->is_merge));
    /* null: the database was not read (no URL, unreachable) */
    json_object_set_new(o, "current",
                        g->have_current ? json_boolean(cli_graph_is_current(g, r->id)) : json_null());
    return o;
}
