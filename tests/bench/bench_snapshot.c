/*
 * bench_snapshot URL [N]: how long one schema snapshot of mig test takes on
 * the database at URL (what the stairway reads three times a revision):
 * the same reads as mig test (the schema model, then the other objects),
 * N times (default 20) on one connection, and prints the median and the
 * slowest in milliseconds. scripts/bench.sh runs it; it is no CTest test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "ctx.h"
#include "schema.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int no_object(void *payload, const char *kind, const char *table, const char *name, const char *def)
{
    (void)kind, (void)table, (void)name, (void)def;
    ++*(size_t *)payload;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_snapshot URL [N]\n");
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 20;
    if (n < 1 || n > 10000)
        n = 20;
    mig_options o = MIG_OPTIONS_INIT;
    o.url = argv[1];
    o.quiet = 1;
    mig_ctx *ctx = NULL;
    mig_session s;
    if (mig_ctx_new(&o, &ctx) != 0 || mig_session_open(&s, ctx) != 0) {
        fprintf(stderr, "bench_snapshot: %s\n", ctx ? mig_last_error(ctx)->message : "out of memory");
        mig_ctx_free(ctx);
        return 1;
    }
    const char *skip[] = { s.st.version_name, s.st.history_name, NULL };
    double *ms = calloc((size_t)n, sizeof *ms);
    size_t tables = 0, objects = 0;
    int rc = ms ? 0 : 1;
    for (int i = 0; i < n && rc == 0; i++) {
        mig_schema *sc = NULL;
        const char *kinds = NULL;
        double t0 = now_ms();
        rc = mig_schema_load(&sc, ctx, s.db, skip);
        objects = 0;
        if (rc == 0 && MIG_DRIVER_HAS(s.plugin->driver, introspect_objects)) {
            mig_drv_error e;
            memset(&e, 0, sizeof e);
            rc = s.plugin->driver->introspect_objects(s.db->conn, no_object, &objects, &kinds, &e) !=
                 MIG_DRV_OK;
        }
        ms[i] = now_ms() - t0;
        if (sc)
            tables = sc->ntables;
        mig_schema_free(sc);
    }
    if (rc == 0) {
        qsort(ms, (size_t)n, sizeof *ms, cmp);
        printf("snapshot of %zu tables and %zu other objects: median %.1f ms, slowest %.1f ms (%d runs)\n",
               tables, objects, ms[n / 2], ms[n - 1], n);
    } else {
        fprintf(stderr, "bench_snapshot: %s\n", mig_last_error(ctx)->message);
    }
    free(ms);
    mig_session_close(&s);
    mig_ctx_free(ctx);
    return rc ? 1 : 0;
}
