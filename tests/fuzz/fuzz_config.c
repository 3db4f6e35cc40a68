/*
 * Fuzz target: mig.ini parsing (inih under config.c's checks) and value
 * expansion. The input is written to a file (in /dev/shm when there is
 * one: the loader wants a real folder for %(here)s) and loaded as a
 * configuration; then every known value is read, expanded and converted,
 * as a run would. Errors are fine; crashes, leaks and UB are not.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>

#include "config.h"
#include "ctx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static char folder[64];

static void remove_file(void)
{
    unlink(path);
    rmdir(folder);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[][2] = {
        { "mig", "script_location" },    { "mig", "url" },        { "mig", "driver" },
        { "mig", "version_table" },      { "mig", "on_connect" }, { "hooks", "scripts" },
        { "post_write_hooks", "hooks" }, { "tenants", "list" },   { "autogenerate", "target" },
    };
    if (path[0] == '\0') {
        char dir[] = "/dev/shm/mig-fuzz-XXXXXX";
        char dir2[] = "/tmp/mig-fuzz-XXXXXX";
        const char *d = mkdtemp(dir) ? dir : mkdtemp(dir2);
        if (d == NULL)
            abort();
        snprintf(folder, sizeof folder, "%s", d);
        snprintf(path, sizeof path, "%s/mig.ini", d);
        atexit(remove_file);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return 0;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    close(fd);
    setenv("FUZZ_SET", "value", 1);
    unsetenv("FUZZ_UNSET");

    mig_ctx *ctx = NULL;
    if (mig_ctx_new_empty(&ctx) != 0)
        return 0;
    mig_config *cfg = NULL;
    if (mig_config_load(&cfg, ctx, path, 1) == 0) {
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
            char *v = NULL;
            int line = 0;
            (void)mig_config_raw(cfg, keys[i][0], keys[i][1], &line);
            if (mig_config_get(cfg, ctx, keys[i][0], keys[i][1], &v) == 0)
                free(v);
        }
        int b;
        long n;
        double d;
        (void)mig_config_get_bool(cfg, ctx, "mig", "transaction_per_migration", 0, &b);
        (void)mig_config_get_int(cfg, ctx, "tenants", "jobs", 1, &n);
        (void)mig_config_get_double(cfg, ctx, "mig", "lock_timeout", 300, &d);
        (void)mig_config_has_section(cfg, "tenants");
    }
    mig_config_free(cfg);
    mig_ctx_free(ctx);
    return 0;
}
