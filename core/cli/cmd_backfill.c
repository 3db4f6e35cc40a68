/*
 * mig backfill status | reset REV: the checkpoints of db:backfill, read
 * from mig_backfill (to watch a backfill from another shell), and starting
 * one over.
 */
#include "cmd.h"

#include <string.h>

static const cli_opt opts[] = { { 0 } };

const cli_spec cmd_backfill_spec = {
    "status | reset REV", 1, 2, opts,
    "status: every backfill of this project (per tenant with --tenant or\n"
    "--all-tenants): name, revision, direction, state (running, paused,\n"
    "finished), rows done of the estimated total, rate, last update, and\n"
    "the last key done. A backfill killed mid-run still reads `running';\n"
    "its last update says since when.\n"
    "reset REV: forget the checkpoints of revision REV, so its backfills\n"
    "start over (needed to resume after the revision's file was edited)."
};

typedef struct collected {
    json_t *arr;
} collected;

static void on_backfill(void *payload, const mig_backfill_info *b)
{
    collected *col = payload;
    json_t *o = json_object();
    if (b->tenant)
        json_object_set_new(o, "tenant", cli_json_str(b->tenant));
    json_object_set_new(o, "name", cli_json_str(b->name));
    json_object_set_new(o, "revision", cli_json_str(b->revision));
    json_object_set_new(o, "direction", cli_json_str(b->direction));
    json_object_set_new(o, "state", cli_json_str(b->state));
    json_object_set_new(o, "position", cli_json_str(b->position));
    json_object_set_new(o, "rows_done", json_integer((json_int_t)b->rows_done));
    json_object_set_new(o, "rows_total",
                        b->rows_total >= 0 ? json_integer((json_int_t)b->rows_total) : json_null());
    json_object_set_new(o, "batches", json_integer((json_int_t)b->batches));
    json_object_set_new(o, "rate", json_real(b->rate));
    json_object_set_new(o, "started_at", cli_json_str(b->started_at));
    json_object_set_new(o, "updated_at", cli_json_str(b->updated_at));
    json_array_append_new(col->arr, o);
}

static int status(cli *c)
{
    collected col = { json_array() };
    int rc = mig_backfill_status(c->ctx, on_backfill, &col);
    if (c->json) {
        json_object_set_new(c->doc, "backfills", json_incref(col.arr));
    } else {
        /* TSV, as `mig tenants` */
        for (size_t i = 0; i < json_array_size(col.arr); i++) {
            json_t *o = json_array_get(col.arr, i);
            const char *t = json_string_value(json_object_get(o, "tenant"));
            if (t) {
                cli_put(stdout, t);
                putchar('\t');
            }
            static const char *const cols[] = { "name", "revision", "direction", "state" };
            for (size_t k = 0; k < 4; k++) {
                cli_put(stdout, json_string_value(json_object_get(o, cols[k])));
                putchar('\t');
            }
            long long done = (long long)json_integer_value(json_object_get(o, "rows_done"));
            json_t *total = json_object_get(o, "rows_total");
            if (json_is_integer(total) && json_integer_value(total) > 0) {
                long long tt = (long long)json_integer_value(total);
                int pct = (int)(100.0 * (double)done / (double)tt);
                printf("%lld\tof ~%lld (%d %%)\t", done, tt, pct > 100 ? 100 : pct);
            } else {
                printf("%lld\tof ?\t", done);
            }
            printf("%.0f rows/s\tupdated ", json_real_value(json_object_get(o, "rate")));
            cli_put(stdout, json_string_value(json_object_get(o, "updated_at")));
            const char *pos = json_string_value(json_object_get(o, "position"));
            fputs("\tat ", stdout);
            cli_put(stdout, pos && *pos ? pos : "the start");
            putchar('\n');
        }
    }
    json_decref(col.arr);
    return rc;
}

int cmd_backfill(cli *c)
{
    const char *what = c->args[0];
    if (strcmp(what, "status") == 0) {
        if (c->nargs != 1)
            return cli_fail(c, MIG_EUSAGE, "backfill status takes no argument");
        if (c->json)
            json_object_set_new(c->doc, "action", json_string("status"));
        return status(c);
    }
    if (strcmp(what, "reset") == 0) {
        if (c->nargs != 2)
            return cli_fail(c, MIG_EUSAGE, "backfill reset needs one REV");
        size_t removed = 0;
        int rc = mig_backfill_reset(c->ctx, c->args[1], &removed);
        if (c->json) {
            json_object_set_new(c->doc, "action", json_string("reset"));
            if (rc == 0) {
                json_object_set_new(c->doc, "revision", cli_json_str(c->args[1]));
                json_object_set_new(c->doc, "removed", json_integer((json_int_t)removed));
            }
        }
        return rc;
    }
    int rc = cli_fail(c, MIG_EUSAGE, "unknown backfill action '%s'", what);
    cli_hint(c, "mig backfill status, or mig backfill reset REV");
    return rc;
}
