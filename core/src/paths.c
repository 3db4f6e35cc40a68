/*
 * Locating mig's own files. An installed mig finds them relative to its
 * binary first, so an install moved to another prefix keeps working; a
 * binary in the build tree prefers the build tree, so a stale install in
 * /usr/local never shadows what was just built.
 */
#include "paths.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char exe_dir[PATH_MAX];
static int from_build_tree;

static void find_exe(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash == NULL)
        return;
    *slash = '\0';
    memcpy(exe_dir, buf, (size_t)(slash - buf) + 1);

    /* the build tree is the folder above the build's drivers/ */
    char build[PATH_MAX];
    snprintf(build, sizeof build, "%s", MIG_BUILD_DRIVER_DIR);
    char *b = strrchr(build, '/');
    if (b)
        *b = '\0';
    char real_build[PATH_MAX];
    if (realpath(build, real_build) == NULL)
        return;
    size_t len = strlen(real_build);
    from_build_tree = strncmp(exe_dir, real_build, len) == 0 &&
                      (exe_dir[len] == '\0' || exe_dir[len] == '/');
}

static void once(void)
{
    static pthread_once_t o = PTHREAD_ONCE_INIT;
    pthread_once(&o, find_exe);
}

const char *mig_exe_dir(void)
{
    once();
    return exe_dir;
}

int mig_running_from_build_tree(void)
{
    once();
    return from_build_tree;
}

static int push(mig_strvec *out, const char *dir)
{
    if (dir == NULL || *dir == '\0' || mig_strvec_contains(out, dir))
        return 0;
    return mig_strvec_push(out, dir);
}

int mig_data_dirs(mig_strvec *out)
{
    once();
    int rc = 0;
    if (from_build_tree)
        rc |= push(out, MIG_SOURCE_DIR);
    if (exe_dir[0]) {
        char *beside = mig_aprintf("%s/../share/mig", exe_dir);
        if (beside == NULL)
            return -1;
        char real[PATH_MAX];
        rc |= push(out, realpath(beside, real) ? real : beside);
        free(beside);
    }
    rc |= push(out, MIG_INSTALL_DATA_DIR);
    rc |= push(out, MIG_SOURCE_DIR);
    return rc ? -1 : 0;
}
