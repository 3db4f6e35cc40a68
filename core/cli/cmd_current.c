/*
 * mig current [-v]: the revisions in the version table, one per line,
 * nothing at base; with -v each one in full, as `show` prints it. A
 * revision no file declares is an error (exit 2), not a line. Pending
 * contract revisions are said on stderr, so stdout stays the ids.
 */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = {
    { 'v', "verbose", NULL, CLI_VERBOSE, NULL, 0, "print each current revision in full" }, { 0 }
};

const cli_spec cmd_current_spec = { "", 0, 0, opts, NULL };

static void on_tenant_status(void *payload, const mig_tenant_status *s)
{
    json_t *arr = payload;
    json_t *o = json_object();
    json_object_set_new(o, "tenant", cli_json_str(s->tenant));
    json_object_set_new(o, "current", cli_json_strv(s->current));
    if (s->error)
        json_object_set_new(o, "error", cli_json_str(s->error));
    json_array_append_new(arr, o);
}

static int by_tenant(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "tenant"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "tenant"));
    return strcmp(x ? x : "", y ? y : "");
}

/* "N contract revision(s) pending: ID ..." on stderr, for one database or one tenant (-q: nothing). */
static void say_contract(const cli *c, const char *tenant, const char *const *ids, size_t n)
{
    if (n == 0 || c->quiet)
        return;
    if (tenant) {
        fputs("tenant ", stderr);
        cli_put(stderr, tenant);
        fputs(": ", stderr);
    }
    fprintf(stderr, "%zu contract revision%s pending:", n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        fputc(' ', stderr);
        cli_put(stderr, ids[i]);
    }
    fprintf(stderr,
            " (held back by `mig upgrade --expand`; a plain `mig upgrade head` applies %s "
            "once the new version of the application is live)\n",
            n == 1 ? "it" : "them");
}

/* A tenant's pending contract revisions, from the heads its status gave (no connection). */
static void say_contract_tenant(cli *c, const char *tenant, json_t *cur)
{
    size_t n = json_array_size(cur);
    const char **heads = calloc(n + 1, sizeof *heads);
    const char *const *ids = NULL;
    size_t nids = 0;
    for (size_t k = 0; heads && k < n; k++)
        heads[k] = json_string_value(json_array_get(cur, k));
    if (heads && mig_pending_contract(c->ctx, heads, n, &ids, &nids) == 0)
        say_contract(c, tenant, ids, nids);
    free(heads);
}

/* With tenants: one line per tenant and head, `TENANT REVISION`. */
static int current_tenants(cli *c)
{
    json_t *arr = json_array();
    int rc = mig_tenants_status(c->ctx, on_tenant_status, arr);
    size_t n = json_array_size(arr);
    json_t **items = calloc(n ? n : 1, sizeof *items);
    for (size_t i = 0; items && i < n; i++)
        items[i] = json_array_get(arr, i);
    if (items)
        qsort(items, n, sizeof *items, by_tenant);
    if (c->json) {
        json_t *sorted = json_array();
        for (size_t i = 0; items && i < n; i++)
            json_array_append(sorted, items[i]);
        json_object_set_new(c->doc, "tenants", sorted);
    } else {
        for (size_t i = 0; items && i < n; i++) {
            const char *name = json_string_value(json_object_get(items[i], "tenant"));
            const char *err = json_string_value(json_object_get(items[i], "error"));
            json_t *cur = json_object_get(items[i], "current");
            if (err) {
                char *en = cli_text(name, CLI_TEXT_LINE), *ee = cli_text(err, CLI_TEXT_LINE);
                fprintf(stderr, "mig: tenant %s: %s\n", en ? en : "?", ee ? ee : "?");
                free(en);
                free(ee);
            } else if (json_array_size(cur) == 0) {
                cli_put(stdout, name);
                putchar('\n');
            }
            for (size_t k = 0; k < json_array_size(cur); k++) {
                cli_put(stdout, name);
                putchar(' ');
                cli_put(stdout, json_string_value(json_array_get(cur, k)));
                putchar('\n');
            }
            if (!err)
                say_contract_tenant(c, name, cur);
        }
    }
    free(items);
    json_decref(arr);
    return rc;
}

int cmd_current(cli *c)
{
    if (mig_has_tenants(c->ctx))
        return current_tenants(c);
    cli_graph g;
    memset(&g, 0, sizeof g);
    /* Copied first: the revision list borrowed next would not survive another call. */
    int rc = cli_graph_read_current(c, &g);
    if (rc != 0)
        goto out;
    /* Broken revision files do not hide what the database says: print bare ids then. */
    if (mig_revisions(c->ctx, &g.revs, &g.n) != 0) {
        g.revs = NULL;
        g.n = 0;
    } else {
        /* a revision no file declares (Alembic's, say): every later command would trip on it */
        for (size_t i = 0; i < g.ncurrent; i++)
            if (cli_graph_find(&g, g.current[i]) == NULL) {
                rc = cli_fail(c, MIG_ETARGET,
                              "the database is at revision '%s', which no revision file declares",
                              g.current[i]);
                cli_hint(c,
                         "write a placeholder revision with that id (`mig revision -m placeholder --rev-id %s`, "
                         "see docs/alembic.md), or set the version table with `mig stamp REV`",
                         g.current[i]);
                goto out;
            }
    }

    /* what `upgrade --expand` left for the contract step; unknown with broken files */
    const char *const *contract = NULL;
    size_t ncontract = 0;
    if (g.revs && mig_pending_contract(c->ctx, (const char *const *)g.current, g.ncurrent, &contract,
                                       &ncontract) != 0) {
        rc = MIG_ENOMEM == mig_last_error(c->ctx)->code ? MIG_ENOMEM : 0;
        if (rc)
            goto out;
        contract = NULL;
        ncontract = 0;
    }
    if (c->json) {
        json_t *cur = json_array(), *revs = json_array();
        json_object_set_new(c->doc, "pending_contract", cli_json_strv(contract));
        for (size_t i = 0; i < g.ncurrent; i++) {
            json_array_append_new(cur, cli_json_str(g.current[i]));
            const mig_revision *r = cli_graph_find(&g, g.current[i]);
            if (r)
                json_array_append_new(revs, cli_rev_json(c, &g, r));
        }
        json_object_set_new(c->doc, "current", cur);
        json_object_set_new(c->doc, "revisions", revs);
        goto out;
    }
    for (size_t i = 0; i < g.ncurrent; i++) {
        const mig_revision *r = cli_graph_find(&g, g.current[i]);
        if (c->verbose && r)
            cli_rev_entry(stdout, &g, r);
        else {
            cli_put(stdout, g.current[i]);
            putchar('\n');
        }
    }
    say_contract(c, NULL, contract, ncontract);
out:
    cli_graph_release(&g);
    return rc;
}
