/*
 * Reading the files mig is given: mig.ini, revisions, hooks, tenant
 * scripts, templates, the autogenerate target. Every one is opened
 * without blocking and must be a regular file, so a FIFO, a device or a
 * folder put where a file is expected is an error naming it, never a hang;
 * a whole file is read into one allocation of its size (from fstat).
 *
 *     char *data; size_t len;
 *     int e = mig_file_read(path, &data, &len);
 *     if (e)
 *         return mig_fail(ctx, MIG_ECONFIG, "%s: cannot read: %s", path, mig_file_strerror(e));
 */
#ifndef MIG_FILEIO_H
#define MIG_FILEIO_H

#include <stddef.h>

/* Not an errno value: the path names something other than a regular file. */
#define MIG_FILE_NOTREG (-1)

/*
 * Open path for reading: a regular file, or an error. On success *fd is
 * open (close-on-exec; O_NONBLOCK still set, which a regular file's reads
 * ignore) and *size is its size. Returns 0, an errno value, or
 * MIG_FILE_NOTREG.
 */
int mig_file_open(const char *path, int *fd, size_t *size);
/*
 * The whole file, NUL-terminated (caller frees *data); *len excludes the
 * NUL. Returns 0, an errno value, or MIG_FILE_NOTREG.
 */
int mig_file_read(const char *path, char **data, size_t *len);
/* The words for a return value of the two above. */
const char *mig_file_strerror(int e);

#endif
