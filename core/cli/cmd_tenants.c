/*
 * mig tenants: every tenant with its current revision and pending count
 * (--all-tenants or --tenant NAME select them; --all-tenants is implied).
 */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = { { 0 } };

const cli_spec cmd_tenants_spec = { "", 0, 0, opts,
                                    "Lists the tenants of [tenants] (or those given with --tenant): name,\n"
                                    "current revision(s) and the number of revisions not yet applied." };

typedef struct collected {
    json_t *arr;
    int failed;
} collected;

static void on_status(void *payload, const mig_tenant_status *s)
{
    collected *col = payload;
    json_t *o = json_object();
    json_object_set_new(o, "tenant", cli_json_str(s->tenant));
    json_object_set_new(o, "current", cli_json_strv(s->current));
    json_object_set_new(o, "pending", json_integer((json_int_t)s->pending));
    if (s->error) {
        json_object_set_new(o, "error", cli_json_str(s->error));
        col->failed++;
    }
    json_array_append_new(col->arr, o);
}

/* Tenants arrive as they finish; sort them back into a stable order. */
static int by_tenant(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "tenant"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "tenant"));
    return strcmp(x ? x : "", y ? y : "");
}

int cmd_tenants(cli *c)
{
    collected col = { json_array(), 0 };
    int rc = mig_tenants_status(c->ctx, on_status, &col);
    size_t n = json_array_size(col.arr);
    json_t **items = calloc(n ? n : 1, sizeof *items);
    for (size_t i = 0; items && i < n; i++)
        items[i] = json_incref(json_array_get(col.arr, i));
    if (items)
        qsort(items, n, sizeof *items, by_tenant);
    if (c->json) {
        json_t *arr = json_array();
        for (size_t i = 0; items && i < n; i++)
            json_array_append(arr, items[i]);
        json_object_set_new(c->doc, "tenants", arr);
    } else {
        for (size_t i = 0; items && i < n; i++) {
            json_t *o = items[i];
            const char *err = json_string_value(json_object_get(o, "error"));
            const char *name = json_string_value(json_object_get(o, "tenant"));
            /* TSV: a tab or line break in a name or message would forge a cell or a row */
            cli_put(stdout, name);
            if (err) {
                fputs("\terror: ", stdout);
                cli_put(stdout, err);
                putchar('\n');
                continue;
            }
            json_t *cur = json_object_get(o, "current");
            putchar('\t');
            if (json_array_size(cur) == 0)
                printf("base");
            for (size_t k = 0; k < json_array_size(cur); k++) {
                fputs(k ? " " : "", stdout);
                cli_put(stdout, json_string_value(json_array_get(cur, k)));
            }
            printf("\t%lld pending\n", (long long)json_integer_value(json_object_get(o, "pending")));
        }
    }
    for (size_t i = 0; items && i < n; i++)
        json_decref(items[i]);
    free(items);
    json_decref(col.arr);
    return rc;
}
