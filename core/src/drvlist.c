/*
 * Listing the driver plugins on the search path (mig drivers).
 */
#include "api.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int mig_drivers_list(mig_ctx *ctx, mig_driver_fn fn, void *payload)
{
    mig_strvec dirs = MIG_STRVEC_INIT, seen = MIG_STRVEC_INIT;
    int rc = mig_plugin_search_path(ctx, &dirs);
    for (size_t i = 0; rc == 0 && i < dirs.n; i++) {
        DIR *d = opendir(dirs.v[i]);
        if (d == NULL)
            continue;
        mig_strvec names = MIG_STRVEC_INIT;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            size_t len = strlen(e->d_name);
            if (strncmp(e->d_name, "mig_driver_", 11) == 0 && len > 14 &&
                strcmp(e->d_name + len - 3, ".so") == 0)
                mig_strvec_push_owned(&names, mig_strndup(e->d_name + 11, len - 14));
        }
        closedir(d);
        if (names.n)
            qsort(names.v, names.n, sizeof *names.v, cmp_str);
        for (size_t j = 0; j < names.n; j++) {
            /* an earlier folder shadows a later one, as when loading */
            if (mig_strvec_contains(&seen, names.v[j]))
                continue;
            mig_strvec_push(&seen, names.v[j]);
            char *path = mig_aprintf("%s/mig_driver_%s.so", dirs.v[i], names.v[j]);
            mig_plugin *plugin = NULL;
            mig_driver_info info = { names.v[j], path, 0, "", "", NULL };
            /* load exactly this file: the search could pick another folder */
            char *dir_only = mig_strdup(dirs.v[i]);
            const char *saved = ctx->opts.driver_path;
            ctx->opts.driver_path = dir_only;
            int lrc = mig_plugin_load(&plugin, ctx, names.v[j]);
            ctx->opts.driver_path = saved;
            free(dir_only);
            if (lrc == 0 && strcmp(plugin->path, path) == 0) {
                info.abi = plugin->driver->abi;
                info.version = plugin->driver->version ? plugin->driver->version : "";
                info.description = plugin->driver->description ? plugin->driver->description : "";
            } else if (lrc != 0) {
                const char *m = mig_last_error(ctx)->message;
                const char *colon = strstr(m, ".so: ");
                info.problem = colon ? colon + 5 : m;
                /* a plugin refused for its ABI still says which ABI it has */
                if (strncmp(info.problem, "driver ABI ", 11) == 0) {
                    char *end;
                    unsigned long abi = strtoul(info.problem + 11, &end, 10);
                    if (end != info.problem + 11 && *end == ',')
                        info.abi = (unsigned)abi;
                }
            }
            fn(payload, &info);
            mig_plugin_unload(plugin);
            free(path);
        }
        mig_strvec_release(&names);
    }
    mig_strvec_release(&dirs);
    mig_strvec_release(&seen);
    mig_error_clear(ctx);
    return rc ? mig_fail(ctx, MIG_ENOMEM, "out of memory") : 0;
}
