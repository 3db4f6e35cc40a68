/*
 * Database URLs: scheme, masking, and the SQLite path forms. The core knows
 * only the generic shape scheme://user:pass@host:port/db?params; drivers
 * parse the rest.
 */
#ifndef MIG_URL_H
#define MIG_URL_H

#include <stddef.h>

/*
 * Scheme of url ("postgresql", "sqlite", ...) into buf, lowercased, without
 * any "+dialect" suffix (postgresql+psycopg2 -> postgresql). 0 on success,
 * -1 when url has no scheme (e.g. a libpq keyword string).
 */
int mig_url_scheme(const char *url, char *buf, size_t buflen);

/*
 * Copy of url with the password replaced by *** (user:***@host), including
 * libpq keyword strings (password=***) and ?password= query parameters.
 * Returns a malloc'd string, NULL on oom. NULL url gives "(none)".
 */
char *mig_url_mask(const char *url);

/* Same, into a fixed buffer (always terminated, truncated if short). */
void mig_url_mask_buf(const char *url, char *buf, size_t buflen);

/*
 * Every copy of a URL that libmig holds for a session (it may hold a
 * password) is a kept copy: mig_url_keep moves a malloc'd URL into a
 * mapping of its own, locked in memory where the system allows (never
 * swapped) and left out of core dumps, overwriting and freeing the
 * original; NULL in, NULL out; NULL on out of memory. mig_url_free
 * overwrites a kept copy and releases it (NULL is fine); it takes kept
 * copies only.
 */
char *mig_url_keep(char *plain);
void mig_url_free(char *url);

/* Does url contain the {tenant} placeholder? */
int mig_url_has_tenant(const char *url);
/* url with {tenant} replaced by name (caller frees), NULL on oom. */
char *mig_url_with_tenant(const char *url, const char *name);

#endif
