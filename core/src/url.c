/*
 * Database URLs as the core sees them: the scheme (to pick a driver), a
 * masked copy for every message and listing, and the {tenant} placeholder.
 *
 * Masking is mig/secret.h's, the one the drivers use too: see there for
 * what it hides and why it errs on the side of hiding too much.
 */
#include "url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "mig/secret.h"

#define MASK MIG_SECRET_MASK

int mig_url_scheme(const char *url, char *buf, size_t buflen)
{
    if (url == NULL || buf == NULL || buflen == 0)
        return -1;
    size_t n = mig_secret_scheme_len(url);
    if (n == 0)
        return -1;
    /* postgresql+psycopg2://: the part after '+' names a Python driver */
    const char *plus = memchr(url, '+', n);
    if (plus != NULL)
        n = (size_t)(plus - url);
    if (n == 0 || n >= buflen)
        return -1;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)tolower((unsigned char)url[i]);
    buf[n] = '\0';
    return 0;
}

char *mig_url_mask(const char *url)
{
    size_t n = mig_secret_mask_url(url, NULL, 0);
    char *m = malloc(n + 1);
    if (m != NULL)
        mig_secret_mask_url(url, m, n + 1);
    return m;
}

void mig_url_mask_buf(const char *url, char *buf, size_t buflen)
{
    if (buf == NULL || buflen == 0)
        return;
    char *m = mig_url_mask(url);
    /* out of memory: show nothing of the URL rather than risk the password */
    snprintf(buf, buflen, "%s", m ? m : MASK);
    free(m);
}

void mig_url_free(char *url)
{
    if (url == NULL)
        return;
    /* volatile: a memset before free may be dropped as a dead store */
    for (volatile char *p = url; *p; p++)
        *p = '\0';
    free(url);
}

#define TENANT "{tenant}"

int mig_url_has_tenant(const char *url)
{
    return url != NULL && strstr(url, TENANT) != NULL;
}

char *mig_url_with_tenant(const char *url, const char *name)
{
    if (url == NULL)
        return NULL;
    mig_buf b = MIG_BUF_INIT;
    mig_buf_puts(&b, "");
    const char *p = url, *hit;
    while ((hit = strstr(p, TENANT)) != NULL) {
        mig_buf_put(&b, p, (size_t)(hit - p));
        mig_buf_puts(&b, name ? name : "");
        p = hit + strlen(TENANT);
    }
    mig_buf_puts(&b, p);
    return mig_buf_detach(&b);
}
