/*
 * Plugins that claim URL schemes (tests/cli/t_spec_drivers.sh): widget
 * takes "widgetdb" and "dupdb", widgettoo takes "dupdb" too, so a widgetdb:
 * URL finds widget and a dupdb: URL is claimed twice. Connecting always
 * fails with a message naming the driver: the test sees which one ran.
 * abione (ABI_ONE) is an ABI 1 table, which this mig must still load.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "mig/driver.h"

static int widget_connect(mig_conn **out, const char *url, const char *base_dir,
                          const mig_connect_opts *opts, mig_drv_error *err)
{
    (void)url, (void)base_dir, (void)opts;
    *out = NULL;
    snprintf(err->message, sizeof err->message, "%s: no database behind this test driver", BROKEN_NAME);
    return MIG_DRV_CONN;
}

/* Never reached: there is never a connection to call them on. */
static void w_close(mig_conn *c)
{
    (void)c;
}
static int w_exec(mig_conn *c, const char *s, size_t n, int64_t *a, mig_drv_error *e)
{
    (void)c, (void)s, (void)n, (void)a, (void)e;
    abort();
}
static int w_exec_params(mig_conn *c, const char *s, const mig_value *p, int np, int64_t *a,
                         mig_drv_error *e)
{
    (void)c, (void)s, (void)p, (void)np, (void)a, (void)e;
    abort();
}
static int w_query(mig_cursor **o, mig_conn *c, const char *s, const mig_value *p, int np,
                   mig_drv_error *e)
{
    (void)o, (void)c, (void)s, (void)p, (void)np, (void)e;
    abort();
}
static int w_fetch(mig_cursor *c, const mig_row **r, mig_drv_error *e)
{
    (void)c, (void)r, (void)e;
    abort();
}
static void w_cursor_close(mig_cursor *c)
{
    (void)c;
}
static int w_begin(mig_conn *c, int w, mig_drv_error *e)
{
    (void)c, (void)w, (void)e;
    abort();
}
static int w_txn(mig_conn *c, mig_drv_error *e)
{
    (void)c, (void)e;
    abort();
}
static size_t w_quote_ident(const char *name, char *buf, size_t n)
{
    return (size_t)snprintf(buf, n, "\"%s\"", name);
}
static int w_table_exists(mig_conn *c, const char *t, int *x, mig_drv_error *e)
{
    (void)c, (void)t, (void)x, (void)e;
    abort();
}

static const char *const schemes[] = { SCHEMES, NULL };

static const mig_driver table = {
    .magic = MIG_DRIVER_MAGIC,
#if defined(ABI_ONE)
    /* built against mig 0.1.0's header: ABI 1, the table ending before ident_max */
    .abi = 1,
    .size = offsetof(mig_driver, ident_max),
#else
    .abi = MIG_DRIVER_ABI,
    .size = sizeof(mig_driver),
#endif
    .name = BROKEN_NAME,
    .version = "1.0.0",
    .description = "test driver claiming URL schemes",
    .url_schemes = schemes,
    .connect = widget_connect,
    .close = w_close,
    .exec = w_exec,
    .exec_params = w_exec_params,
    .query = w_query,
    .fetch = w_fetch,
    .cursor_close = w_cursor_close,
    .begin = w_begin,
    .commit = w_txn,
    .rollback = w_txn,
    .quote_ident = w_quote_ident,
    .table_exists = w_table_exists,
};

MIG_EXPORT const mig_driver *mig_driver_entry(void)
{
    return &table;
}
