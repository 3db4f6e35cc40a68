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
#include <sys/mman.h>
#include <unistd.h>

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

/*
 * A kept URL is preceded by this header, in a mapping of its own where
 * one could be made (locked, left out of core dumps), else in the heap.
 */
typedef struct url_head {
    size_t maplen; /* 0: malloc'd */
    size_t pad;    /* keeps the string aligned as malloc's memory is */
} url_head;

static void wipe(char *s)
{
    /* volatile: a memset before free may be dropped as a dead store */
    for (volatile char *p = s; *p; p++)
        *p = '\0';
}

char *mig_url_keep(char *plain)
{
    if (plain == NULL)
        return NULL;
    size_t n = strlen(plain) + 1, need = sizeof(url_head) + n;
    long page = sysconf(_SC_PAGESIZE);
    size_t len = page > 0 ? (need + (size_t)page - 1) / (size_t)page * (size_t)page : need;
    url_head *h = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (h != MAP_FAILED) {
        (void)mlock(h, len);
#ifdef MADV_DONTDUMP
        (void)madvise(h, len, MADV_DONTDUMP);
#endif
        h->maplen = len;
    } else if ((h = malloc(need)) != NULL) {
        h->maplen = 0;
    }
    if (h != NULL)
        memcpy(h + 1, plain, n);
    wipe(plain);
    free(plain);
    return h ? (char *)(h + 1) : NULL;
}

void mig_url_free(char *url)
{
    if (url == NULL)
        return;
    wipe(url);
    url_head *h = (url_head *)url - 1;
    if (h->maplen > 0) {
        (void)munlock(h, h->maplen);
        munmap(h, h->maplen);
    } else {
        free(h);
    }
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
