/*
 * Passwords in database URLs: the one masker and the one scrubber, shared
 * by the core and every driver. Header-only because drivers do not link
 * libmig; every function is static inline, so a driver that includes this
 * file carries its own copy of the same code.
 *
 *   mig_secret_mask_url  the URL with every password replaced by "***"
 *   mig_secret_scrub     a message with every fragment of the URL's
 *                        passwords (and the raw URL) removed
 *   mig_secret_scrub_value  the same for one password known by value
 *   mig_secret_blank     a URL's passwords overwritten in place
 *
 * A password typed into a URL unencoded may hold '@', '/', ':', '?', '#',
 * and every parser splits such a URL its own way, so a driver's message may
 * quote any fragment of it (libpq reads "u:pw/x@h" as host "u", port "pw").
 * Both functions therefore err on the side of hiding too much:
 *   - the user info of scheme://user:password@host runs to the LAST '@' of
 *     the whole URL;
 *   - the scrubber hides the password, its percent-decoded form, and every
 *     piece of it between the characters parsers split on. A piece of four
 *     characters or more is hidden wherever it occurs, with the rest of
 *     the word it is in; a shorter one only as a whole word, so "a" in
 *     "a@secret" does not turn "translate" into "tr***nslate" (which would
 *     both mangle the message and tell the piece). A word of four
 *     characters or more that a piece starts with is hidden too: a server
 *     may quote a value cut short;
 *   - a password of more pieces than the scrubber holds withholds the
 *     whole message;
 *   - secret keys are password, passwd, pwd and sslpassword, in query
 *     strings and in libpq keyword strings alike.
 * The scrubber makes one pass and never looks at what it wrote, so a
 * password such as "*" or "***" (what a masked URL shows) cannot loop.
 */
#ifndef MIG_SECRET_H
#define MIG_SECRET_H

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MIG_SECRET_MASK "***"

/* Bounded output that counts what did not fit, like snprintf. */
typedef struct mig_secret_out {
    char *buf;
    size_t cap;
    size_t len;
} mig_secret_out;

static inline void mig_secret_put(mig_secret_out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, o->len++)
        if (o->len + 1 < o->cap)
            o->buf[o->len] = s[i];
}

static inline size_t mig_secret_end(mig_secret_out *o)
{
    if (o->cap > 0)
        o->buf[o->len < o->cap ? o->len : o->cap - 1] = '\0';
    return o->len;
}

static inline int mig_secret_ieq(const char *a, size_t n, const char *b)
{
    if (strlen(b) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* Keys whose values are secrets, in query strings and keyword strings. */
static inline int mig_secret_is_key(const char *k, size_t n)
{
    return mig_secret_ieq(k, n, "password") || mig_secret_ieq(k, n, "passwd") ||
           mig_secret_ieq(k, n, "pwd") || mig_secret_ieq(k, n, "sslpassword");
}

/* Length of the scheme at the start of url (RFC 3986 shape), 0 if none. */
static inline size_t mig_secret_scheme_len(const char *url)
{
    if (!isalpha((unsigned char)url[0]))
        return 0;
    size_t i = 1;
    while (isalnum((unsigned char)url[i]) || url[i] == '+' || url[i] == '-' || url[i] == '.')
        i++;
    return url[i] == ':' ? i : 0;
}

/*
 * Where the password of a URL's user info lies: rest is what follows
 * "scheme://" (or "scheme:" for the opaque form). Returns 1 and the span
 * when there is one. The user info ends at the last '@'; when a '/' comes
 * before the first ':' there is no user info (sqlite:///path/a@b.db).
 */
static inline int mig_secret_userinfo(const char *rest, int opaque, const char **pw, size_t *len)
{
    const char *at = strrchr(rest, '@');
    if (at == NULL)
        return 0;
    size_t user = strcspn(rest, opaque ? "/" : ":/");
    if (opaque) {
        /* scheme:user:pw@host where "scheme" may be the user: no '/' before '@' */
        if (rest + user < at)
            return 0;
        *pw = rest;
        *len = (size_t)(at - rest);
        return 1;
    }
    if (rest + user >= at || rest[user] != ':')
        return 0;
    *pw = rest + user + 1;
    *len = (size_t)(at - *pw);
    return 1;
}

/*
 * Call fn(value, len, arg) for each secret value in s: query parameters
 * after the first '?' when query is set, else keyword=value pairs (libpq
 * keyword strings, blank-separated, values plain or 'quoted').
 */
typedef void (*mig_secret_fn)(const char *v, size_t n, void *arg);

static inline void mig_secret_query_values(const char *s, mig_secret_fn fn, void *arg)
{
    const char *q = strchr(s, '?');
    if (q == NULL)
        return;
    for (q++; *q;) {
        size_t n = strcspn(q, "&;#");
        const char *eq = memchr(q, '=', n);
        if (eq && mig_secret_is_key(q, (size_t)(eq - q)))
            fn(eq + 1, n - (size_t)(eq + 1 - q), arg);
        q += n;
        if (*q == '#')
            return;
        if (*q)
            q++;
    }
}

/*
 * One keyword=value pair of a keyword string at s[*i]: sets the key and
 * value spans (the value with its quotes) and returns 1, or 0 when what
 * follows is not a pair (then nothing after seg can be trusted).
 */
static inline int mig_secret_kw_pair(const char *s, size_t n, size_t *i, size_t *key, size_t *key_len,
                                     size_t *value)
{
    while (*i < n && isspace((unsigned char)s[*i]))
        (*i)++;
    *key = *i;
    while (*i < n && !isspace((unsigned char)s[*i]) && s[*i] != '=')
        (*i)++;
    *key_len = *i - *key;
    while (*i < n && isspace((unsigned char)s[*i]))
        (*i)++;
    if (*i >= n || s[*i] != '=' || *key_len == 0)
        return 0;
    (*i)++;
    while (*i < n && isspace((unsigned char)s[*i]))
        (*i)++;
    *value = *i;
    if (*i < n && s[*i] == '\'') {
        (*i)++;
        while (*i < n && s[*i] != '\'')
            *i += (s[*i] == '\\' && *i + 1 < n) ? 2 : 1;
        if (*i < n)
            (*i)++;
    } else {
        while (*i < n && !isspace((unsigned char)s[*i]))
            *i += (s[*i] == '\\' && *i + 1 < n) ? 2 : 1;
    }
    if (*i > n)
        *i = n;
    return 1;
}

static inline int mig_secret_has_pass(const char *s)
{
    for (; *s; s++)
        if (mig_secret_ieq(s, 4, "pass") || mig_secret_ieq(s, 3, "pwd"))
            return 1;
    return 0;
}

/* Query string: the value of every secret parameter becomes ***. */
static inline void mig_secret_mask_query(mig_secret_out *o, const char *s, size_t n)
{
    const char *q = memchr(s, '?', n);
    if (q == NULL) {
        mig_secret_put(o, s, n);
        return;
    }
    size_t i = (size_t)(q - s) + 1;
    mig_secret_put(o, s, i);
    while (i < n) {
        size_t start = i;
        while (i < n && s[i] != '&' && s[i] != ';')
            i++;
        const char *eq = memchr(s + start, '=', i - start);
        if (eq != NULL && mig_secret_is_key(s + start, (size_t)(eq - (s + start)))) {
            mig_secret_put(o, s + start, (size_t)(eq - (s + start)) + 1);
            mig_secret_put(o, MIG_SECRET_MASK, 3);
        } else {
            mig_secret_put(o, s + start, i - start);
        }
        if (i < n)
            mig_secret_put(o, s + i++, 1);
    }
}

/*
 * Copy url into buf with every password replaced by "***". Like snprintf:
 * returns the full length; buf is always terminated when buflen > 0. NULL
 * is shown as "(none)".
 */
static inline size_t mig_secret_mask_url(const char *url, char *buf, size_t buflen)
{
    mig_secret_out o = { buf, buflen, 0 };
    if (url == NULL) {
        mig_secret_put(&o, "(none)", 6);
        return mig_secret_end(&o);
    }
    size_t sl = mig_secret_scheme_len(url), n = strlen(url);
    if (sl > 0) {
        int opaque = !(url[sl + 1] == '/' && url[sl + 2] == '/');
        const char *rest = url + sl + (opaque ? 1 : 3), *pw;
        size_t len;
        if (mig_secret_userinfo(rest, opaque, &pw, &len)) {
            mig_secret_put(&o, url, (size_t)(pw - url));
            mig_secret_put(&o, MIG_SECRET_MASK, 3);
            mig_secret_mask_query(&o, pw + len, n - (size_t)(pw + len - url));
        } else {
            mig_secret_mask_query(&o, url, n);
        }
        return mig_secret_end(&o);
    }
    size_t i = 0;
    while (i < n) {
        size_t seg = i, key, key_len, value;
        if (!mig_secret_kw_pair(url, n, &i, &key, &key_len, &value)) {
            /* not a keyword string after all: show the rest only if it cannot hold a password */
            if (mig_secret_has_pass(url + seg))
                mig_secret_put(&o, seg > 0 ? " " MIG_SECRET_MASK : MIG_SECRET_MASK, seg > 0 ? 4 : 3);
            else
                mig_secret_put(&o, url + seg, n - seg);
            break;
        }
        if (mig_secret_is_key(url + key, key_len)) {
            mig_secret_put(&o, url + seg, value - seg);
            mig_secret_put(&o, MIG_SECRET_MASK, 3);
        } else {
            mig_secret_put(&o, url + seg, i - seg);
        }
    }
    return mig_secret_end(&o);
}

/* ---- scrubbing ---- */

#define MIG_SECRET_MAX_PIECES 64

typedef struct mig_secret_set {
    const char *s[MIG_SECRET_MAX_PIECES];
    size_t n[MIG_SECRET_MAX_PIECES];
    const char *r[MIG_SECRET_MAX_PIECES]; /* what replaces it; NULL: *** */
    int count;
    int overflow;  /* a piece did not fit: what to hide is not all known */
    char *decoded; /* owns the percent-decoded copies */
    size_t dlen, dcap;
} mig_secret_set;

static inline void mig_secret_add1(mig_secret_set *set, const char *s, size_t n)
{
    size_t stars = 0;
    while (stars < n && s[stars] == '*')
        stars++;
    /* nothing to hide in what a mask prints anyway (and hiding it would loop forever) */
    if (n == 0 || stars == n)
        return;
    for (int i = 0; i < set->count; i++)
        if (set->n[i] == n && memcmp(set->s[i], s, n) == 0)
            return;
    if (set->count >= MIG_SECRET_MAX_PIECES) {
        set->overflow = 1;
        return;
    }
    set->s[set->count] = s;
    set->n[set->count++] = n;
}

/* The characters URL and keyword parsers split on. */
static inline int mig_secret_is_split(char c)
{
    return c != '\0' && strchr("@/:?#&=;,'\"\\ \t\r\n", c) != NULL;
}

/* The whole value and each of its pieces. */
static inline void mig_secret_add_pieces(mig_secret_set *set, const char *s, size_t n)
{
    mig_secret_add1(set, s, n);
    size_t i = 0;
    while (i < n) {
        while (i < n && mig_secret_is_split(s[i]))
            i++;
        size_t start = i;
        while (i < n && !mig_secret_is_split(s[i]))
            i++;
        if (i > start && i - start < n)
            mig_secret_add1(set, s + start, i - start);
    }
}

static inline int mig_secret_hex(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Add v, its quotes and \ escapes undone, and its %XX-decoded form. */
static inline void mig_secret_add_value(const char *v, size_t n, void *arg)
{
    mig_secret_set *set = arg;
    mig_secret_add_pieces(set, v, n);
    if (set->decoded == NULL || set->dlen + n + 1 > set->dcap)
        return;
    char *d = set->decoded + set->dlen;
    size_t k = 0, i = 0;
    if (n >= 2 && v[0] == '\'' && v[n - 1] == '\'') {
        i = 1;
        n--;
    }
    for (; i < n; i++) {
        int h1, h2;
        if (v[i] == '%' && i + 2 < n && (h1 = mig_secret_hex(v[i + 1])) >= 0 &&
            (h2 = mig_secret_hex(v[i + 2])) >= 0) {
            d[k++] = (char)(h1 * 16 + h2);
            i += 2;
        } else if (v[i] == '\\' && i + 1 < n) {
            d[k++] = v[++i];
        } else {
            d[k++] = v[i];
        }
    }
    d[k] = '\0';
    set->dlen += k + 1;
    mig_secret_add_pieces(set, d, k);
}

/* Every secret of url: the user-info password, secret parameters and keywords. */
static inline void mig_secret_collect(mig_secret_set *set, const char *url)
{
    size_t sl = mig_secret_scheme_len(url), n = strlen(url);
    if (sl > 0) {
        int opaque = !(url[sl + 1] == '/' && url[sl + 2] == '/');
        const char *pw;
        size_t len;
        if (mig_secret_userinfo(url + sl + (opaque ? 1 : 3), opaque, &pw, &len)) {
            mig_secret_add_value(pw, len, set);
            /*
             * The opaque form "app:secret@db" takes "app" for the scheme,
             * so the password is what follows the first ':' too.
             */
            const char *c = opaque ? memchr(pw, ':', len) : NULL;
            if (c)
                mig_secret_add_value(c + 1, len - (size_t)(c + 1 - pw), set);
        }
        mig_secret_query_values(url, mig_secret_add_value, set);
        return;
    }
    size_t i = 0;
    while (i < n) {
        size_t seg = i, key, key_len, value;
        if (!mig_secret_kw_pair(url, n, &i, &key, &key_len, &value)) {
            /* not a keyword string: hide every piece of what follows a "pass" */
            if (mig_secret_has_pass(url + seg))
                mig_secret_add_value(url + seg, n - seg, set);
            return;
        }
        if (mig_secret_is_key(url + key, key_len))
            mig_secret_add_value(url + value, i - value, set);
    }
}

static inline int mig_secret_word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/*
 * Out of memory, or a password of more pieces than the set holds: what is
 * safe to show cannot be told, so show none of it.
 */
static inline void mig_secret_withhold(char *msg, size_t cap, int overflow)
{
    const char *w = overflow ? "(message withheld: the password has too many pieces to hide)"
                             : "(message withheld: out of memory)";
    size_t n = strlen(w) < cap - 1 ? strlen(w) : cap - 1;
    memcpy(msg, w, n);
    msg[n] = '\0';
}

/* One pass over msg; matches at the longest secret first. */
static inline void mig_secret_apply(char *msg, size_t cap, const mig_secret_set *set)
{
    size_t n = strlen(msg), most = 3;
    for (int k = 0; k < set->count; k++)
        if (set->r[k] && strlen(set->r[k]) > most)
            most = strlen(set->r[k]);
    if (set->overflow) {
        mig_secret_withhold(msg, cap, 1);
        return;
    }
    char *out = malloc((n + 1) * (most + 1));
    if (out == NULL) {
        /* cannot tell what is safe to show: show nothing of it */
        if (set->count > 0)
            mig_secret_withhold(msg, cap, 0);
        return;
    }
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t best = 0;
        int which = -1;
        for (int k = 0; k < set->count; k++) {
            size_t len = set->n[k];
            if (len <= best || len > n - i || memcmp(msg + i, set->s[k], len) != 0)
                continue;
            int whole = (i == 0 || !mig_secret_word_char(msg[i - 1])) &&
                        (i + len == n || !mig_secret_word_char(msg[i + len]));
            if (len >= 4 || whole) {
                best = len;
                which = k;
            }
        }
        if (which < 0 && (i == 0 || !mig_secret_word_char(msg[i - 1]))) {
            /*
             * A word that is the start of a piece, cut short: servers cut
             * what they quote (PostgreSQL keeps 63 bytes of a database
             * name), and the cut piece is no longer found whole.
             */
            size_t w = 0;
            while (i + w < n && mig_secret_word_char(msg[i + w]))
                w++;
            int cut = 0;
            for (int k = 0; w >= 4 && !cut && k < set->count; k++)
                cut = set->r[k] == NULL && set->n[k] > w && memcmp(msg + i, set->s[k], w) == 0;
            if (cut) {
                memcpy(out + o, MIG_SECRET_MASK, 3);
                o += 3;
                i += w;
                continue;
            }
        }
        if (which >= 0) {
            const char *r = set->r[which] ? set->r[which] : MIG_SECRET_MASK;
            if (set->r[which] == NULL) {
                /*
                 * A piece inside a longer word hides the whole word: "pa***"
                 * would tell the rest of the word is the piece.
                 */
                while (o > 0 && i > 0 && mig_secret_word_char(msg[i - 1])) {
                    o--;
                    i--;
                    best++;
                }
                while (i + best < n && mig_secret_word_char(msg[i + best]))
                    best++;
            }
            memcpy(out + o, r, strlen(r));
            o += strlen(r);
            i += best;
        } else {
            out[o++] = msg[i++];
        }
    }
    out[o] = '\0';
    size_t keep = o < cap - 1 ? o : cap - 1;
    memcpy(msg, out, keep);
    msg[keep] = '\0';
    free(out);
}

/*
 * Replace in msg (a buffer of cap bytes, in place) every copy of url
 * itself by its masked form and every fragment of its passwords by "***".
 */
static inline void mig_secret_scrub(char *msg, size_t cap, const char *url)
{
    if (msg == NULL || cap == 0 || url == NULL || *url == '\0')
        return;
    size_t ul = strlen(url);
    mig_secret_set set;
    memset(&set, 0, sizeof set);
    set.dcap = ul * 2 + 2;
    set.decoded = malloc(set.dcap);
    char *masked = malloc(ul + 64);
    if (set.decoded == NULL || masked == NULL) {
        mig_secret_withhold(msg, cap, 0);
    } else {
        mig_secret_mask_url(url, masked, ul + 64);
        /* the raw URL quoted whole: its masked form keeps the message readable */
        set.s[0] = url;
        set.n[0] = ul;
        set.r[0] = masked;
        set.count = 1;
        mig_secret_collect(&set, url);
        mig_secret_apply(msg, cap, &set);
    }
    free(masked);
    free(set.decoded);
}

/*
 * Overwrite every password in url with '*', in place and at the same
 * length: for the copy of a URL that stays visible, such as the process's
 * own argv (/proc/PID/cmdline, ps).
 */
static inline void mig_secret_blank(char *url)
{
    if (url == NULL)
        return;
    size_t ul = strlen(url);
    mig_secret_set set;
    memset(&set, 0, sizeof set);
    mig_secret_collect(&set, url);
    for (int k = 0; k < set.count; k++)
        if (set.s[k] >= url && set.s[k] + set.n[k] <= url + ul)
            memset(url + (set.s[k] - url), '*', set.n[k]);
}

/* The same for one password known by value (PGPASSWORD, a password file). */
static inline void mig_secret_scrub_value(char *msg, size_t cap, const char *secret)
{
    if (msg == NULL || cap == 0 || secret == NULL || *secret == '\0')
        return;
    mig_secret_set set;
    memset(&set, 0, sizeof set);
    mig_secret_add_pieces(&set, secret, strlen(secret));
    mig_secret_apply(msg, cap, &set);
}

#endif
