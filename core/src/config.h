/*
 * mig.ini: finding it, reading it, and expanding values on use.
 *
 * The file is parsed once (inih). Values are kept raw; expansion of
 * ${VAR}, ${VAR:-default} and %(here)s happens in mig_config_get(), so an
 * unused `url = ${DATABASE_URL}` is no error when --url is given. Keys are
 * checked against the known keys of each section at load, with a
 * "did you mean" for near misses.
 */
#ifndef MIG_CONFIG_H
#define MIG_CONFIG_H

#include <stddef.h>

typedef struct mig_ctx mig_ctx;
typedef struct mig_config mig_config;

/*
 * Load the configuration. path: -c value or NULL; then $MIG_CONFIG, then
 * the first mig.ini in the current folder or a folder above it (the search
 * stops after the root, $HOME or a folder holding .git, and passes over a
 * file owned by neither the user nor root, with a warning). When nothing
 * is found and required is 0, *out is an empty configuration whose folder
 * is the current directory.
 * Errors: MIG_ECONFIG (unreadable file, syntax error with path:LINE,
 * unknown key), MIG_ENOMEM.
 */
int mig_config_load(mig_config **out, mig_ctx *ctx, const char *path, int required);
void mig_config_free(mig_config *cfg);

/* The file's path ("" if none) and absolute folder (cwd if none). Borrowed. */
const char *mig_config_path(const mig_config *cfg);
const char *mig_config_dir(const mig_config *cfg);
/*
 * When no file was given and the search found none: fail with "no mig.ini
 * in DIR or any folder above it (...)" and the hint (what else would have
 * done), returning MIG_ECONFIG. Else 0, nothing set. For what a file
 * would have given and the command line did not.
 */
int mig_config_fail_none(const mig_config *cfg, mig_ctx *ctx, const char *hint);

/*
 * Expanded value of section.key into *out (caller frees), or *out = NULL
 * when the key is absent. Errors: MIG_ECONFIG naming the variable, the file
 * and the line of the key for ${UNSET}; MIG_ENOMEM.
 */
int mig_config_get(const mig_config *cfg, mig_ctx *ctx, const char *section, const char *key, char **out);
/* Raw (unexpanded) value, borrowed; NULL when absent. Line via *line. */
const char *mig_config_raw(const mig_config *cfg, const char *section, const char *key, int *line);
/* Booleans: true/false/yes/no/on/off/1/0; *out = dflt when absent. */
int mig_config_get_bool(const mig_config *cfg, mig_ctx *ctx, const char *section, const char *key,
                        int dflt, int *out);
int mig_config_get_int(const mig_config *cfg, mig_ctx *ctx, const char *section, const char *key,
                       long dflt, long *out);
int mig_config_get_double(const mig_config *cfg, mig_ctx *ctx, const char *section, const char *key,
                          double dflt, double *out);
/* A duration (500ms, 5s, 2min; a bare number is seconds) in milliseconds; *out = dflt when absent. */
int mig_config_get_duration_ms(const mig_config *cfg, mig_ctx *ctx, const char *section, const char *key,
                               long long dflt, long long *out);

/* Iterate keys of a section in file order (for [post_write_hooks] etc.). */
typedef int (*mig_config_key_fn)(void *payload, const char *key, const char *raw_value, int line);
int mig_config_foreach(const mig_config *cfg, const char *section, mig_config_key_fn fn, void *payload);
int mig_config_has_section(const mig_config *cfg, const char *section);

/*
 * Expand ${VAR}, ${VAR:-default} and %(here)s in s; here is the file's
 * folder. what/file/line name the value in an error. *out caller frees.
 */
int mig_config_expand(mig_ctx *ctx, const char *s, const char *here, const char *what, const char *file,
                      int line, char **out);

/* Resolve a path: absolute stays, relative joins base. Caller frees. */
char *mig_path_join(const char *base, const char *rel);

#endif
