/*
 * One source for every broken plugin in tests/plugins/CMakeLists.txt: the
 * BROKEN_<KIND> macro picks what is wrong with it. None of the functions
 * may ever run: the loader must refuse each table before calling into it.
 */
#include <stdlib.h>

#include "mig/driver.h"

#if defined(BROKEN_NOENTRY)
/* Exports something, but not the entry point. */
MIG_EXPORT int mig_driver_something_else(void)
{
    abort();
}
#elif defined(BROKEN_NULLTABLE)
/* The entry point is there but hands back no table. */
MIG_EXPORT const mig_driver *mig_driver_entry(void)
{
    return NULL;
}
#else

#if !defined(BROKEN_NOSLOTS)
static int never_connect(mig_conn **out, const char *url, const char *base_dir,
                         const mig_connect_opts *opts, mig_drv_error *err)
{
    (void)out, (void)url, (void)base_dir, (void)opts, (void)err;
    abort(); /* a refused plugin must never be called */
}
#endif

static const mig_driver table = {
#if defined(BROKEN_NOMAGIC)
    .magic = 0x12345678u,
#else
    .magic = MIG_DRIVER_MAGIC,
#endif
#if defined(BROKEN_ABINEXT)
    .abi = MIG_DRIVER_ABI + 1,
#elif defined(BROKEN_ABIZERO)
    .abi = MIG_DRIVER_ABI_MIN - 1,
#else
    .abi = MIG_DRIVER_ABI,
#endif
    .size = sizeof(mig_driver),
#if defined(BROKEN_MISNAMED)
    .name = "someotherdb",
#else
    .name = BROKEN_NAME,
#endif
#if defined(BROKEN_NOSLOTS)
    .connect = NULL,
#else
    .connect = never_connect,
#endif
};

MIG_EXPORT const mig_driver *mig_driver_entry(void)
{
    return &table;
}
#endif
