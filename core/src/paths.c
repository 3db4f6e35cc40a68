/*
 * Locating mig's own files. An installed mig finds them relative to its
 * binary first, so an install moved to another prefix keeps working; a
 * binary in the build tree prefers the build tree, so a stale install in
 * /usr/local never shadows what was just built.
 *
 * No folder of the machine that built mig is compiled in: a packaged
 * binary would otherwise search (and let any local user create) a folder
 * that only meant something on the build machine. A binary knows it runs
 * from its build tree by the marker the build writes beside it,
 * MIG_BUILD_MARKER, which names the source tree and the built drivers and
 * is never installed.
 */
#include "paths.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"

static char exe_dir[PATH_MAX];
static char source_dir[PATH_MAX];  /* from the marker; "" when installed */
static char drivers_dir[PATH_MAX]; /* likewise */
static int from_build_tree;

/* "KEY PATH" lines of the marker: copy PATH of key into out. */
static void marker_value(const char *text, const char *key, char *out, size_t size)
{
    size_t klen = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, klen) != 0 || p[klen] != ' ')
            continue;
        const char *v = p + klen + 1;
        size_t n = strcspn(v, "\n");
        if (n > 0 && n < size) {
            memcpy(out, v, n);
            out[n] = '\0';
        }
        return;
    }
}

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

    char marker[PATH_MAX + sizeof MIG_BUILD_MARKER + 1];
    snprintf(marker, sizeof marker, "%s/%s", exe_dir, MIG_BUILD_MARKER);
    char *text = NULL;
    size_t len;
    if (mig_file_read(marker, &text, &len) != 0)
        return;
    marker_value(text, "source", source_dir, sizeof source_dir);
    marker_value(text, "drivers", drivers_dir, sizeof drivers_dir);
    free(text);
    from_build_tree = source_dir[0] == '/' && drivers_dir[0] == '/';
    if (!from_build_tree)
        source_dir[0] = drivers_dir[0] = '\0';
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

const char *mig_build_driver_dir(void)
{
    once();
    return drivers_dir;
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
        rc |= push(out, source_dir);
    if (exe_dir[0]) {
        char *beside = mig_aprintf("%s/../share/mig", exe_dir);
        if (beside == NULL)
            return -1;
        char real[PATH_MAX];
        rc |= push(out, realpath(beside, real) ? real : beside);
        free(beside);
    }
    rc |= push(out, MIG_INSTALL_DATA_DIR);
    return rc ? -1 : 0;
}
