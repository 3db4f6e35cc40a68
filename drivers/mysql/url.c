/*
 * mysql:// and mariadb:// URLs.
 *
 *   mysql://USER:PASSWORD@HOST:PORT/DATABASE?socket=/run/mysqld/mysqld.sock
 *
 * Every part is optional. User, password, database and parameter values are
 * percent-decoded, so a password may hold '@', ':' or '/'. HOST may be an
 * IPv6 address in brackets, or a percent-encoded socket path
 * (mysql://app@%2Frun%2Fmysqld%2Fmysqld.sock/app); relative file paths
 * (socket, ssl_*) are taken from the connect's base_dir. An unknown parameter is
 * an error rather than silently ignored: a misspelt ssl_mode must not
 * quietly connect in clear text. Messages never quote the password.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mysql_int.h"
#include "mig/secret.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Percent-decode s[0..n) into a new string. A decoded NUL would cut the
 * string short where the client library reads it, so it is refused.
 * Returns NULL on a bad escape (*bad set) or out of memory (*bad clear).
 */
static char *decode(const char *s, size_t n, int *bad)
{
    char *out = malloc(n + 1);
    size_t i, o = 0;

    *bad = 0;
    if (out == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        if (s[i] == '%') {
            int h = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int l = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (h < 0 || l < 0 || (h | l) == 0) {
                free(out);
                *bad = 1;
                return NULL;
            }
            out[o++] = (char)(h * 16 + l);
            i += 2;
            continue;
        }
        out[o++] = s[i];
    }
    out[o] = '\0';
    return out;
}

void my_url_release(my_url *u)
{
    if (u == NULL)
        return;
    free(u->user);
    free(u->password);
    free(u->host);
    free(u->db);
    free(u->socket);
    free(u->charset);
    free(u->ssl_mode);
    free(u->ssl_ca);
    free(u->ssl_cert);
    free(u->ssl_key);
    memset(u, 0, sizeof(*u));
}

/* Does url start with a scheme this driver takes? Sets *skip past "://". */
static int scheme_ok(const char *url, size_t *skip)
{
    static const char *const schemes[] = { "mysql://", "mariadb://" };
    size_t i;

    for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t n = strlen(schemes[i]);
        if (strncasecmp(url, schemes[i], n) == 0) {
            *skip = n;
            return 1;
        }
    }
    return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned int *out)
{
    char *end;
    unsigned long v;

    if (*s == '\0' || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = (unsigned int)v;
    return 0;
}

/* One key=value pair of the query string; value already decoded. */
static int set_param(my_url *u, const char *key, char *value, mig_drv_error *err)
{
    char **slot = NULL;

    if (strcmp(key, "socket") == 0 || strcmp(key, "unix_socket") == 0)
        slot = &u->socket;
    else if (strcmp(key, "charset") == 0)
        slot = &u->charset;
    else if (strcmp(key, "ssl_mode") == 0 || strcmp(key, "ssl-mode") == 0 || strcmp(key, "sslmode") == 0)
        slot = &u->ssl_mode;
    else if (strcmp(key, "ssl_ca") == 0 || strcmp(key, "ssl-ca") == 0)
        slot = &u->ssl_ca;
    else if (strcmp(key, "ssl_cert") == 0 || strcmp(key, "ssl-cert") == 0)
        slot = &u->ssl_cert;
    else if (strcmp(key, "ssl_key") == 0 || strcmp(key, "ssl-key") == 0)
        slot = &u->ssl_key;
    else if (strcmp(key, "connect_timeout") == 0) {
        int rc = parse_uint(value, 3600, &u->connect_timeout);
        free(value);
        if (rc != 0)
            return my_fail(err, "invalid connect_timeout in mysql URL (seconds, 0 to 3600)");
        return MIG_DRV_OK;
    } else {
        free(value);
        return my_fail(err,
                       "unknown parameter \"%s\" in mysql URL (known: socket, charset, "
                       "connect_timeout, ssl_mode, ssl_ca, ssl_cert, ssl_key)",
                       key);
    }
    if (slot == &u->ssl_mode) {
        static const char *const modes[] = { "disabled", "preferred", "required", "verify_ca",
                                             "verify_identity" };
        size_t i, ok = 0;
        for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
            ok |= strcasecmp(value, modes[i]) == 0;
        if (!ok) {
            free(value);
            return my_fail(err, "invalid ssl_mode in mysql URL (disabled, preferred, required, "
                                "verify_ca or verify_identity)");
        }
    }
    free(*slot);
    *slot = value;
    return MIG_DRV_OK;
}

static int parse_query(my_url *u, const char *q, mig_drv_error *err)
{
    while (*q != '\0') {
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        char key[64];
        char *value;
        int bad, rc;

        if (n == 0) {
            q++;
            continue;
        }
        if (eq == NULL || (size_t)(eq - q) >= sizeof(key) || eq == q)
            return my_fail(err, "invalid parameter in mysql URL: expected key=value");
        memcpy(key, q, (size_t)(eq - q));
        key[eq - q] = '\0';
        value = decode(eq + 1, n - (size_t)(eq - q) - 1, &bad);
        if (value == NULL)
            return bad ? my_fail(err, "invalid percent-escape in mysql URL parameter \"%s\"", key)
                       : my_fail(err, "out of memory");
        rc = set_param(u, key, value, err);
        if (rc != MIG_DRV_OK)
            return rc;
        q += n;
    }
    return MIG_DRV_OK;
}

/* Decode s[0..n) into *slot; NULL when n is 0. */
static int take(char **slot, const char *s, size_t n, const char *what, mig_drv_error *err)
{
    int bad;

    if (n == 0)
        return MIG_DRV_OK;
    *slot = decode(s, n, &bad);
    if (*slot == NULL)
        return bad ? my_fail(err, "invalid percent-escape in the %s of the mysql URL", what)
                   : my_fail(err, "out of memory");
    return MIG_DRV_OK;
}

int my_url_parse(my_url *out, const char *url, mig_drv_error *err)
{
    const char *p, *auth_end, *at, *hp, *host_end, *path_end;
    size_t skip;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!scheme_ok(url, &skip))
        return my_fail(err, "not a mysql URL: expected mysql:// or mariadb://");
    p = url + skip;

    /*
     * userinfo ends at the last '@' before the query, so a password with a
     * bare '@' or '/' still works (and my_url_mask hides the same span)
     */
    at = NULL;
    path_end = p + strcspn(p, "?#");
    for (hp = p; hp < path_end; hp++)
        if (*hp == '@')
            at = hp;
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon != NULL) {
            rc = take(&out->user, p, (size_t)(colon - p), "user", err);
            if (rc == MIG_DRV_OK)
                rc = take(&out->password, colon + 1, (size_t)(at - colon - 1), "password", err);
            /* an explicit empty password ("user:@host") is a password too */
            if (rc == MIG_DRV_OK && out->password == NULL && (out->password = strdup("")) == NULL)
                rc = my_fail(err, "out of memory");
        } else {
            rc = take(&out->user, p, (size_t)(at - p), "user", err);
        }
        if (rc != MIG_DRV_OK)
            goto fail;
        hp = at + 1;
    } else {
        hp = p;
    }
    auth_end = hp + strcspn(hp, "/?#");
    if (*auth_end == '#') {
        rc = my_fail(err, "invalid mysql URL: '#' must be written %%23");
        goto fail;
    }

    /* host, [v6], or %2F-encoded socket path; then :port */
    if (*hp == '[') {
        const char *close = memchr(hp, ']', (size_t)(auth_end - hp));
        if (close == NULL) {
            rc = my_fail(err, "invalid mysql URL: unclosed '[' in the host");
            goto fail;
        }
        rc = take(&out->host, hp + 1, (size_t)(close - hp - 1), "host", err);
        host_end = close + 1;
        if (rc == MIG_DRV_OK && host_end < auth_end && *host_end != ':')
            rc = my_fail(err, "invalid mysql URL: unexpected text after ']'");
    } else {
        host_end = memchr(hp, ':', (size_t)(auth_end - hp));
        if (host_end == NULL)
            host_end = auth_end;
        rc = take(&out->host, hp, (size_t)(host_end - hp), "host", err);
    }
    if (rc != MIG_DRV_OK)
        goto fail;
    if (host_end < auth_end && *host_end == ':') {
        char port[16];
        size_t n = (size_t)(auth_end - host_end - 1);
        if (n > 0) {
            if (n >= sizeof(port)) {
                rc = my_fail(err, "invalid port in mysql URL (a password holding '/', '?' "
                                  "or '#' must percent-encode them)");
                goto fail;
            }
            memcpy(port, host_end + 1, n);
            port[n] = '\0';
            /* not quoted back: with a stray '/' in a password, this is part of it */
            if (parse_uint(port, 65535, &out->port) != 0 || out->port == 0) {
                rc = my_fail(err, "invalid port in mysql URL (a password holding '/', '?' "
                                  "or '#' must percent-encode them)");
                goto fail;
            }
        }
    }
    if (out->host != NULL && out->host[0] == '/') {
        out->socket = out->host;
        out->host = NULL;
    }

    /* /database */
    p = auth_end;
    if (*p == '/') {
        p++;
        path_end = p + strcspn(p, "?#");
        if (*path_end == '#') {
            rc = my_fail(err, "invalid mysql URL: '#' must be written %%23");
            goto fail;
        }
        if (memchr(p, '/', (size_t)(path_end - p)) != NULL) {
            rc = my_fail(err, "invalid mysql URL: the path must be a single database name");
            goto fail;
        }
        rc = take(&out->db, p, (size_t)(path_end - p), "database", err);
        if (rc != MIG_DRV_OK)
            goto fail;
        p = path_end;
    }
    if (*p == '?') {
        rc = parse_query(out, p + 1, err);
        if (rc != MIG_DRV_OK)
            goto fail;
    }
    return MIG_DRV_OK;

fail:
    my_url_release(out);
    return rc;
}

/* The mask shared with the core (mig/secret.h): scheme://user:***@rest. */
size_t my_url_mask(const char *url, char *buf, size_t buflen)
{
    return mig_secret_mask_url(url, buf, buflen);
}
