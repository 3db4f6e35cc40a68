/*
 * Where mig's own files are: the drivers and data (hooks, templates)
 * beside the running binary, at the configured install prefix, or in the
 * build and source trees of an uninstalled build.
 */
#ifndef MIG_PATHS_H
#define MIG_PATHS_H

#include "buf.h"

/* Folder of the running binary (cached; "" if unknown). */
const char *mig_exe_dir(void);
/* Is the running binary the one in the build tree mig was built in? */
int mig_running_from_build_tree(void);
/* The build tree's drivers folder for such a binary, else "". */
const char *mig_build_driver_dir(void);
/*
 * mig's data folders, most specific first: the source tree for a build
 * tree binary, <exe>/../share/mig, and the install prefix's share/mig.
 * Appends to out; -1 on oom.
 */
int mig_data_dirs(mig_strvec *out);

#endif
