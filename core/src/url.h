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
 * Free a copy of a URL, its bytes overwritten first: a copy holding a
 * password must not linger in freed memory. NULL is fine.
 */
void mig_url_free(char *url);

/* Does url contain the {tenant} placeholder? */
int mig_url_has_tenant(const char *url);
/* url with {tenant} replaced by name (caller frees), NULL on oom. */
char *mig_url_with_tenant(const char *url, const char *name);

#endif
