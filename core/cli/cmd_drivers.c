/*
 * mig drivers: every mig_driver_<name>.so on the search path, one line
 * each: name, ABI, version, path, and why it cannot be used if it cannot.
 */
#include "cmd.h"

static const cli_opt opts[] = { { 0 } };

const cli_spec cmd_drivers_spec = { "", 0, 0, opts,
                                    "The search path is --driver-path, $MIG_DRIVER_PATH, the install folder\n"
                                    "and the build tree." };

static void on_driver(void *payload, const mig_driver_info *d)
{
    cli *c = payload;
    if (c->json) {
        json_t *j = json_object();
        json_object_set_new(j, "name", cli_json_str(d->name));
        json_object_set_new(j, "abi", d->abi ? json_integer(d->abi) : json_null());
        json_object_set_new(j, "version", cli_json_str(d->version));
        json_object_set_new(j, "path", cli_json_str(d->path));
        json_object_set_new(j, "description", cli_json_str(d->description));
        json_object_set_new(j, "usable", json_boolean(d->problem == NULL));
        json_object_set_new(j, "problem", cli_json_str(d->problem));
        json_array_append_new(json_object_get(c->doc, "drivers"), j);
        return;
    }
    /* ABI 0 is no ABI: the plugin could not say (no entry point, bad magic, ...) */
    char abi[16] = "-";
    if (d->abi)
        snprintf(abi, sizeof abi, "%u", d->abi);
    printf("%-10s ABI %-3s %-10s %s", d->name ? d->name : "?", abi,
           d->version && *d->version ? d->version : "-", d->path ? d->path : "");
    if (d->problem) {
        fputs("  unusable: ", stdout);
        cli_put(stdout, d->problem);
    }
    putchar('\n');
}

int cmd_drivers(cli *c)
{
    if (c->json)
        json_object_set_new(c->doc, "drivers", json_array());
    return mig_drivers_list(c->ctx, on_driver, c);
}
