/*
 * Fuzz target: URL scheme, masking and the {tenant} placeholder. Raw input
 * goes through every function; then the input is cut into user, password
 * and host to build scheme://user:password@host (and a libpq keyword
 * string, and a ?password= parameter), and a distinctive password must
 * never survive masking, nor scrubbing, whole or cut short.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"
#include "mig/secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A password worth checking: 6+ alphanumerics, found nowhere else in url. */
static int distinctive(const char *pw, const char *url)
{
    if (strlen(pw) < 6)
        return 0;
    for (const char *p = pw; *p; p++)
        if (!isalnum((unsigned char)*p))
            return 0;
    const char *first = strstr(url, pw);
    return first && strstr(first + 1, pw) == NULL;
}

static void check_masked(const char *url, const char *pw)
{
    char *m = mig_url_mask(url);
    char buf[512];
    mig_url_mask_buf(url, buf, sizeof buf);
    if (distinctive(pw, url) && ((m && strstr(m, pw)) || strstr(buf, pw))) {
        fprintf(stderr, "password '%s' survives masking of '%s': '%s'\n", pw, url, m ? m : buf);
        abort();
    }
    free(m);
    /* a message quoting the URL and the password loses both */
    char msg[1024];
    snprintf(msg, sizeof msg, "at %s: \"%s\" refused", url, pw);
    mig_secret_scrub(msg, sizeof msg, url);
    if (distinctive(pw, url) && strstr(msg, pw)) {
        fprintf(stderr, "password '%s' survives scrubbing with '%s': '%s'\n", pw, url, msg);
        abort();
    }
    /* a server may quote it cut short (PostgreSQL keeps 63 bytes of a name) */
    if (distinctive(pw, url)) {
        int cut = (int)strlen(pw) - 2;
        snprintf(msg, sizeof msg, "database \"%.*s\" does not exist", cut, pw);
        mig_secret_scrub(msg, sizeof msg, url);
        if (strncmp(msg, "(message withheld", 17) != 0 && strstr(msg, "\"***\"") == NULL) {
            fprintf(stderr, "password '%s' cut short survives scrubbing with '%s': '%s'\n", pw, url, msg);
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2048)
        return 0;
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    char scheme[32];
    (void)mig_url_scheme(s, scheme, sizeof scheme);
    char tiny[4];
    (void)mig_url_scheme(s, tiny, sizeof tiny);
    free(mig_url_mask(s));
    char buf[64];
    mig_url_mask_buf(s, buf, sizeof buf);
    mig_url_mask_buf(s, buf, 1);
    if (mig_url_has_tenant(s))
        free(mig_url_with_tenant(s, "acme"));
    /* the input scrubbed of itself, and of itself as one password: must end */
    char msg[256];
    snprintf(msg, sizeof msg, "%s", s);
    mig_secret_scrub(msg, sizeof msg, s);
    snprintf(msg, sizeof msg, "x%s %s", s, s);
    mig_secret_scrub_value(msg, sizeof msg, s);
    mig_secret_scrub(msg, 1, s);

    /* user \x01 password \x01 host/path, the rest as given */
    char *user = s, *pw = strchr(s, '\x01'), *host = NULL;
    if (pw) {
        *pw++ = '\0';
        host = strchr(pw, '\x01');
        if (host)
            *host++ = '\0';
    }
    if (pw && host && !strpbrk(user, "@/:?#") && !strpbrk(pw, "@/?#") && !strpbrk(host, "@")) {
        static const char *const schemes[] = { "postgresql", "postgres", "mysql",
                                               "mariadb",    "sqlite",   "postgresql+psycopg2" };
        size_t n = strlen(user) + strlen(pw) + strlen(host) + 64;
        char *url = malloc(n);
        if (url) {
            for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++) {
                snprintf(url, n, "%s://%s:%s@%s", schemes[i], user, pw, host);
                check_masked(url, pw);
            }
            if (!strpbrk(host, "?&#")) {
                snprintf(url, n, "postgresql://%s@%s?sslmode=require&password=%s", user, host, pw);
                check_masked(url, pw);
            }
            /* libpq reads "user= password=x" as a user named "password=x": keep both set */
            if (*user && *host && !strpbrk(pw, " '\\\t\n\v\f\r") && !strpbrk(user, " ='\\\t\n\v\f\r") &&
                !strpbrk(host, " ='\\\t\n\v\f\r")) {
                snprintf(url, n, "host=%s user=%s password=%s dbname=app", host, user, pw);
                check_masked(url, pw);
            }
            free(url);
        }
    }
    free(s);
    return 0;
}
