/*
 * Database URLs as the core sees them: the scheme (to pick a driver), a
 * masked copy for every message and listing, and the {tenant} placeholder.
 *
 * Masking errs on the side of hiding too much. A password pasted into a URL
 * unencoded may hold '@', ':', '/', '?' or '#', so the user-info part ends
 * at the LAST '@' of the URL: when a query value also holds an '@', some of
 * the host part is hidden with the password, which is ugly but leaks
 * nothing. libpq keyword strings (`host=db password='x y'`) and ?password=
 * query parameters are masked as well.
 */
#include "url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

#define MASK "***"

/* Length of the scheme at the start of url (RFC 3986 shape), 0 if none. */
static size_t scheme_len(const char *url)
{
    if (!isalpha((unsigned char)url[0]))
        return 0;
    size_t i = 1;
    while (isalnum((unsigned char)url[i]) || url[i] == '+' || url[i] == '-' || url[i] == '.')
        i++;
    return url[i] == ':' ? i : 0;
}

int mig_url_scheme(const char *url, char *buf, size_t buflen)
{
    if (url == NULL || buf == NULL || buflen == 0)
        return -1;
    size_t n = scheme_len(url);
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

/* Keys whose values are secrets, in query strings and keyword strings. */
static int is_secret_key(const char *k, size_t n)
{
    static const char *const keys[] = { "password", "passwd", "pwd", "sslpassword", NULL };
    for (size_t i = 0; keys[i]; i++)
        if (strlen(keys[i]) == n && strncasecmp(k, keys[i], n) == 0)
            return 1;
    return 0;
}

/*
 * Append s[0..n) to b with the values of secret query parameters masked:
 * everything after the first '?' is split on '&' (and ';') into key=value.
 */
static void put_masking_query(mig_buf *b, const char *s, size_t n)
{
    const char *q = memchr(s, '?', n);
    if (q == NULL) {
        mig_buf_put(b, s, n);
        return;
    }
    size_t i = (size_t)(q - s) + 1;
    mig_buf_put(b, s, i);
    while (i < n) {
        size_t start = i;
        while (i < n && s[i] != '&' && s[i] != ';')
            i++;
        const char *eq = memchr(s + start, '=', i - start);
        if (eq != NULL && is_secret_key(s + start, (size_t)(eq - (s + start)))) {
            mig_buf_put(b, s + start, (size_t)(eq - (s + start)) + 1);
            mig_buf_puts(b, MASK);
        } else {
            mig_buf_put(b, s + start, i - start);
        }
        if (i < n)
            mig_buf_putc(b, s[i++]);
    }
}

/* scheme://[user[:password]@]host... */
static void mask_url_form(mig_buf *b, const char *url, const char *rest)
{
    size_t n = strlen(rest);
    const char *at = strrchr(rest, '@');
    if (at != NULL) {
        /*
         * The user name runs to the first ':'. When a '/' comes first there
         * is no user info at all (sqlite:///path/a@b.db): the '@' is in the
         * path.
         */
        size_t user = strcspn(rest, ":/");
        if (rest + user < at && rest[user] == ':') {
            mig_buf_put(b, url, (size_t)(rest - url) + user + 1);
            mig_buf_puts(b, MASK);
            put_masking_query(b, at, n - (size_t)(at - rest));
            return;
        }
    }
    mig_buf_put(b, url, (size_t)(rest - url));
    put_masking_query(b, rest, n);
}

/*
 * scheme:rest with no "//": sqlite:rel/path.db?mode=ro, but also a
 * mistyped "app:secret@db/app", whose "scheme" is the user. When an '@'
 * follows with no '/' before it, what lies between is taken for a password.
 */
static void mask_opaque(mig_buf *b, const char *url, size_t sl)
{
    const char *rest = url + sl + 1;
    const char *at = strrchr(rest, '@');
    if (at != NULL && memchr(rest, '/', (size_t)(at - rest)) == NULL) {
        mig_buf_put(b, url, sl + 1);
        mig_buf_puts(b, MASK);
        put_masking_query(b, at, strlen(at));
        return;
    }
    put_masking_query(b, url, strlen(url));
}

static int contains_nocase(const char *s, const char *needle)
{
    size_t nl = strlen(needle);
    for (; *s; s++)
        if (strncasecmp(s, needle, nl) == 0)
            return 1;
    return 0;
}

/*
 * libpq keyword string: key = value pairs separated by blanks; a value is
 * either a run of non-blanks or 'single quoted', both with \ escapes.
 */
static void mask_keywords(mig_buf *b, const char *s)
{
    size_t n = strlen(s), i = 0;
    while (i < n) {
        size_t seg = i;
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        size_t key = i;
        while (i < n && !isspace((unsigned char)s[i]) && s[i] != '=')
            i++;
        size_t key_len = i - key;
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (i >= n || s[i] != '=' || key_len == 0) {
            /*
             * Not a keyword string after all. Show the rest only when it
             * cannot hold a password.
             */
            if (contains_nocase(s + seg, "pass") || contains_nocase(s + seg, "pwd"))
                mig_buf_puts(b, seg > 0 ? " " MASK : MASK);
            else
                mig_buf_put(b, s + seg, n - seg);
            return;
        }
        i++;
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        size_t value = i;
        if (i < n && s[i] == '\'') {
            i++;
            while (i < n && s[i] != '\'')
                i += (s[i] == '\\' && i + 1 < n) ? 2 : 1;
            if (i < n)
                i++;
        } else {
            while (i < n && !isspace((unsigned char)s[i]))
                i += (s[i] == '\\' && i + 1 < n) ? 2 : 1;
        }
        if (i > n)
            i = n;
        if (is_secret_key(s + key, key_len)) {
            mig_buf_put(b, s + seg, value - seg);
            mig_buf_puts(b, MASK);
        } else {
            mig_buf_put(b, s + seg, i - seg);
        }
    }
}

char *mig_url_mask(const char *url)
{
    if (url == NULL)
        return mig_strdup("(none)");
    mig_buf b = MIG_BUF_INIT;
    mig_buf_puts(&b, "");
    size_t sl = scheme_len(url);
    if (sl > 0 && url[sl + 1] == '/' && url[sl + 2] == '/')
        mask_url_form(&b, url, url + sl + 3);
    else if (sl > 0)
        mask_opaque(&b, url, sl);
    else
        mask_keywords(&b, url);
    return mig_buf_detach(&b);
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
