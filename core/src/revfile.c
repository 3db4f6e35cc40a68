/*
 * Revision files: the `-- mig:KEY value` header that the graph is built
 * from, and the body (sections and checksum) that the runner executes.
 *
 * The header is the run of leading lines that are blank or `--` comments;
 * it ends at the first other line or at a `-- mig:upgrade` or
 * `-- mig:downgrade` marker. Reading a header touches only the first
 * block of a file, because `mig heads` reads every file of the project.
 */
#include "revfile.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctx.h"
#include "error.h"
#include "fileio.h"

#define ID_MAX      64
#define FIRST_BLOCK 4096

int mig_rev_id_valid(const char *id)
{
    size_t n = 0;
    if (id == NULL)
        return 0;
    for (const char *p = id; *p; p++, n++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    /* targets use these words; a revision so named could never be named */
    if ((n == 4 || n == 5) &&
        (strcmp(id, "head") == 0 || strcmp(id, "heads") == 0 || strcmp(id, "base") == 0))
        return 0;
    return n >= 1 && n <= ID_MAX;
}

/* Branch labels and depends_on names: ids, plus '-' for readable labels. */
int mig_rev_name_valid(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++, n++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              (c == '-' && n > 0)))
            return 0;
    }
    return n >= 1 && n <= ID_MAX;
}

/* An absent message or date: one shared "", not an allocation per revision of the graph */
static char no_text[] = "";

int mig_revlist_push_owned(mig_revlist *l, char *s)
{
    /* lists are a few items long: one realloc an item costs less than the room kept */
    char **v = s ? realloc(l->v, (l->n + 2) * sizeof *v) : NULL;
    if (v == NULL) {
        free(s);
        return -1;
    }
    v[l->n++] = s;
    v[l->n] = NULL;
    l->v = v;
    return 0;
}

size_t mig_strs_count(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

static void revlist_release(mig_revlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* mig_rev keeps its timeouts in an int */
_Static_assert(MIG_DURATION_MAX_MS <= INT_MAX, "a revision's timeouts are ints");
_Static_assert(MIG_RETRIES_MAX <= SCHAR_MAX, "a revision's retries are a signed char");

void mig_rev_release(mig_rev *rev)
{
    if (rev == NULL)
        return;
    free(rev->id);
    free(rev->path);
    if (rev->message != no_text)
        free(rev->message);
    if (rev->create_date != no_text)
        free(rev->create_date);
    revlist_release(&rev->down);
    mig_revlist l = { rev->labels, mig_strs_count(rev->labels) };
    revlist_release(&l);
    l = (mig_revlist){ rev->depends, mig_strs_count(rev->depends) };
    revlist_release(&l);
    memset(rev, 0, sizeof *rev);
}

void mig_revbody_release(mig_revbody *body)
{
    if (body == NULL)
        return;
    free(body->data);
    memset(body, 0, sizeof *body);
}

/*
 * Length of the valid UTF-8 prefix of s[0..n): n when all of it is valid.
 * Overlong forms, surrogates and code points past U+10FFFF are invalid.
 */
size_t mig_utf8_valid_prefix(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            /* revision files are mostly ASCII: eight bytes a test, not one */
            uint64_t w;
            while (i + 8 <= n && (memcpy(&w, s + i, 8), (w & UINT64_C(0x8080808080808080)) == 0))
                i += 8;
            if (i < n && s[i] < 0x80)
                i++;
            continue;
        }
        size_t len;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            len = 2;
        else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else
            return i;
        if (i + len > n)
            return i;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return i;
        i += len;
    }
    return n;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* One line of the file, without its newline and trailing blanks. */
typedef struct line {
    const char *s;
    size_t len;   /* trimmed length */
    size_t next;  /* offset of the following line */
    int complete; /* ended by '\n' (or by the end of a whole file) */
} line;

static line line_at(const char *data, size_t len, size_t off, int truncated)
{
    line l;
    const char *nl = memchr(data + off, '\n', len - off);
    size_t end = nl ? (size_t)(nl - data) : len;
    l.s = data + off;
    l.len = end - off;
    l.next = nl ? end + 1 : len;
    l.complete = nl != NULL || !truncated;
    while (l.len && is_space(l.s[l.len - 1]))
        l.len--;
    return l;
}

static int line_blank(const line *l)
{
    for (size_t i = 0; i < l->len; i++)
        if (!is_space(l->s[i]))
            return 0;
    return 1;
}

/* Leading blanks skipped; is it a `--` comment? */
static int line_comment(const line *l, size_t *after)
{
    size_t i = 0;
    while (i < l->len && is_space(l->s[i]))
        i++;
    if (i + 2 <= l->len && l->s[i] == '-' && l->s[i + 1] == '-') {
        *after = i + 2;
        return 1;
    }
    return 0;
}

/*
 * The `mig:` key of a comment line, if any: key in [*k, *k+*klen), value
 * (trimmed) in [*v, *v+*vlen).
 */
static int line_key(const line *l, size_t *k, size_t *klen, size_t *v, size_t *vlen)
{
    size_t i;
    if (!line_comment(l, &i))
        return 0;
    while (i < l->len && is_space(l->s[i]))
        i++;
    if (l->len - i < 4 || memcmp(l->s + i, "mig:", 4) != 0)
        return 0;
    i += 4;
    *k = i;
    while (i < l->len && !is_space(l->s[i]))
        i++;
    *klen = i - *k;
    while (i < l->len && is_space(l->s[i]))
        i++;
    *v = i;
    *vlen = l->len - i;
    return 1;
}

static int key_is(const line *l, size_t k, size_t klen, const char *name)
{
    return strlen(name) == klen && memcmp(l->s + k, name, klen) == 0;
}

/*
 * Does a line cut by the end of the block already show it is not a comment
 * (so the header ends before it, whatever follows)?
 */
static int partial_is_code(const line *l)
{
    size_t i = 0;
    while (i < l->len && is_space(l->s[i]))
        i++;
    if (i == l->len)
        return 0;
    return l->s[i] != '-' || (i + 1 < l->len && l->s[i + 1] != '-');
}

/* Split "a b,c" into vec entries, each checked with valid(). */
static int split_list(mig_revlist *out, const char *s, size_t n, int (*valid)(const char *), char **bad)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (is_space(s[i]) || s[i] == ','))
            i++;
        size_t start = i;
        while (i < n && !is_space(s[i]) && s[i] != ',')
            i++;
        if (i == start)
            break;
        char *item = mig_strndup(s + start, i - start);
        if (item == NULL)
            return MIG_ENOMEM;
        if (!valid(item)) {
            *bad = item;
            return MIG_EREVFILE;
        }
        if (mig_revlist_push_owned(out, item) < 0)
            return MIG_ENOMEM;
    }
    return 0;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

enum {
    K_REVISION,
    K_DOWN,
    K_MESSAGE,
    K_DATE,
    K_LABELS,
    K_DEPENDS,
    K_TRANSACTION,
    K_PHASE,
    K_LOCK_TIMEOUT,
    K_STATEMENT_TIMEOUT,
    K_RETRIES,
    K_LINT,
    K_COUNT
};
static const char *const key_names[K_COUNT] = {
    "revision",    "down_revision", "message",      "create_date",       "branch_labels", "depends_on",
    "transaction", "phase",         "lock_timeout", "statement_timeout", "retries",       "lint",
};

const char *mig_rev_phase(const mig_rev *rev)
{
    return rev->contract ? "contract" : "expand";
}

/* A name list for key (the error names the first bad item). */
static int header_list(mig_revlist *vec, mig_ctx *ctx, const char *path, int lineno, const char *what,
                       const char *val, size_t vlen, int (*valid)(const char *))
{
    char *bad = NULL;
    int rc = split_list(vec, val, vlen, valid, &bad);
    if (rc == MIG_EREVFILE) {
        rc = mig_fail_at(ctx, MIG_EREVFILE, path, lineno, "invalid %s '%s'", what, bad);
        free(bad);
        return rc;
    }
    return rc ? mig_fail(ctx, MIG_ENOMEM, "out of memory") : 0;
}

/* val is one of two words: *out = 1 for yes, 0 for no; -1 for neither. */
static int pick_word(unsigned char *out, const char *val, size_t vlen, const char *yes, const char *no)
{
    if (vlen == strlen(yes) && memcmp(val, yes, vlen) == 0)
        *out = 1;
    else if (vlen == strlen(no) && memcmp(val, no, vlen) == 0)
        *out = 0;
    else
        return -1;
    return 0;
}

/* The value of one header key (not empty) into out; errors name path:lineno. */
static int header_key(mig_rev *out, mig_ctx *ctx, const char *path, int lineno, int key, const char *val,
                      size_t vlen)
{
    switch (key) {
    case K_REVISION:
        out->id = mig_strndup(val, vlen);
        if (out->id == NULL)
            return mig_fail(ctx, MIG_ENOMEM, "out of memory");
        if (!mig_rev_id_valid(out->id))
            return mig_fail_at(ctx, MIG_EREVFILE, path, lineno,
                               "invalid revision id '%s' (want [A-Za-z0-9_], at most %d)", out->id,
                               ID_MAX);
        break;
    case K_DOWN:
        out->down_line = lineno;
        if (vlen == 4 && strncasecmp(val, "none", 4) == 0)
            break;
        return header_list(&out->down, ctx, path, lineno, "down_revision id", val, vlen, mig_rev_id_valid);
    case K_MESSAGE:
        if ((out->message = mig_strndup(val, vlen)) == NULL)
            return mig_fail(ctx, MIG_ENOMEM, "out of memory");
        break;
    case K_DATE:
        if ((out->create_date = mig_strndup(val, vlen)) == NULL)
            return mig_fail(ctx, MIG_ENOMEM, "out of memory");
        break;
    case K_LABELS:
    case K_DEPENDS: {
        /* each key once (parse_header): the list is new; what was read is out's, also on failure */
        mig_revlist l = { NULL, 0 };
        int rc =
            key == K_LABELS
                ? header_list(&l, ctx, path, lineno, "branch label", val, vlen, mig_rev_name_valid)
                : header_list(&l, ctx, path, lineno, "depends_on name", val, vlen, mig_rev_name_valid);
        if (key == K_LABELS)
            out->labels = l.v;
        else {
            out->depends = l.v;
            out->depends_line = lineno;
        }
        return rc;
    }
    case K_TRANSACTION:
        if (pick_word(&out->transactional, val, vlen, "true", "false") != 0)
            return mig_fail_at(ctx, MIG_EREVFILE, path, lineno,
                               "'mig:transaction' must be true or false, not '%.*s'", (int)vlen, val);
        break;
    case K_PHASE:
        if (pick_word(&out->contract, val, vlen, "contract", "expand") != 0)
            return mig_fail_at(ctx, MIG_EREVFILE, path, lineno,
                               "'mig:phase' must be expand or contract, not '%.*s'", (int)vlen, val);
        break;
    case K_LOCK_TIMEOUT:
    case K_STATEMENT_TIMEOUT: {
        long long ms;
        if (mig_parse_duration_ms(val, vlen, &ms) != 0)
            return mig_fail_at(ctx, MIG_EREVFILE, path, lineno,
                               "'mig:%s' takes a duration such as 500ms, 5s or 2min "
                               "(at most %lldms), not '%.*s'",
                               key_names[key], MIG_DURATION_MAX_MS, (int)vlen, val);
        *(key == K_LOCK_TIMEOUT ? &out->lock_timeout_ms : &out->statement_timeout_ms) = (int)ms;
        break;
    }
    case K_RETRIES: {
        int n = 0;
        size_t i = 0;
        while (i < vlen && val[i] >= '0' && val[i] <= '9' && n <= MIG_RETRIES_MAX)
            n = n * 10 + (val[i++] - '0');
        if (i == 0 || i < vlen || n > MIG_RETRIES_MAX)
            return mig_fail_at(ctx, MIG_EREVFILE, path, lineno,
                               "'mig:retries' takes a whole number from 0 to %d, not '%.*s'",
                               MIG_RETRIES_MAX, (int)vlen, val);
        out->retries = (signed char)n;
        break;
    }
    case K_LINT:
        break;
    }
    return 0;
}

/*
 * The header parser proper. Returns 1 in *need_more when data is a prefix
 * of the file (truncated) and the header may continue past its end.
 */
static int parse_header(mig_rev *out, mig_ctx *ctx, const char *path, const char *data, size_t len,
                        int truncated, int *need_more)
{
    int seen[K_COUNT] = { 0 };
    int rev_line = 0;
    int lineno = 0;
    size_t off = 0;
    int rc = 0;

    *need_more = 0;
    memset(out, 0, sizeof *out);
    out->transactional = 1;
    out->lock_timeout_ms = out->statement_timeout_ms = -1;
    out->retries = -1;
    if (len == 0 && !truncated)
        return mig_fail_at(ctx, MIG_EREVFILE, path, 1, "empty file");
    /* a UTF-8 byte order mark is not part of the first line's text */
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        off = 3;

    while (off < len) {
        line l = line_at(data, len, off, truncated);
        if (!l.complete && !partial_is_code(&l)) {
            *need_more = 1;
            goto fail_quiet;
        }
        lineno++;
        if (!l.complete)
            break; /* code, cut by the block's end: checked when the body loads */
        size_t full = (l.next > off) ? l.next - off : 0;
        if (memchr(data + off, '\0', full) != NULL) {
            rc = mig_fail_at(ctx, MIG_EREVFILE, path, lineno, "NUL byte: binary file?");
            goto fail;
        }
        if (mig_utf8_valid_prefix((const unsigned char *)data + off, full) != full) {
            rc = mig_fail_at(ctx, MIG_EREVFILE, path, lineno, "invalid UTF-8");
            goto fail;
        }
        /* a key line is a comment: the header's lines are mostly keys, so that look first */
        size_t k, klen, v, vlen, after;
        int is_key = line_key(&l, &k, &klen, &v, &vlen);
        if (!is_key && !line_blank(&l) && !line_comment(&l, &after))
            break; /* first statement or code line: the header is over */
        if (is_key) {
            if (klen == 0) {
                rc = mig_fail_at(ctx, MIG_EREVFILE, path, lineno, "'mig:' without a key");
                goto fail;
            }
            if (key_is(&l, k, klen, "upgrade") || key_is(&l, k, klen, "downgrade")) {
                if (vlen) {
                    rc = mig_fail_at(ctx, MIG_EREVFILE, path, lineno, "'mig:%.*s' takes no value",
                                     (int)klen, l.s + k);
                    goto fail;
                }
                break;
            }
            int key = -1;
            /* strncmp stops at the name's NUL: no name's length is taken per line */
            for (int i = 0; i < K_COUNT && key < 0; i++)
                if (key_names[i][0] == l.s[k] && strncmp(key_names[i], l.s + k, klen) == 0 &&
                    key_names[i][klen] == '\0')
                    key = i;
            if (key < 0) {
                rc = mig_fail_at(ctx, MIG_EREVFILE, path, lineno, "unknown key 'mig:%.*s'", (int)klen,
                                 l.s + k);
                goto fail;
            }
            /* lint lines may repeat; `mig lint` reads them from the file (lint.c) */
            if (seen[key] && key != K_LINT) {
                rc = mig_fail_at(ctx, MIG_EREVFILE, path, lineno,
                                 "duplicate key 'mig:%s' (first at line %d)", key_names[key], seen[key]);
                goto fail;
            }
            seen[key] = lineno;
            if (vlen == 0) {
                rc = mig_fail_at(ctx, MIG_EREVFILE, path, lineno, "'mig:%s' has no value", key_names[key]);
                goto fail;
            }
            rc = header_key(out, ctx, path, lineno, key, l.s + v, vlen);
            if (rc)
                goto fail;
            if (key == K_REVISION)
                rev_line = lineno;
        }
        off = l.next;
    }
    if (off >= len && truncated) {
        /* the block ended inside the header: it may go on */
        *need_more = 1;
        goto fail_quiet;
    }
    /* lines before the one that ended the header (or all, at end of file) */
    out->header_lines = (off < len) ? lineno - 1 : lineno;

    if (out->id == NULL) {
        rc = mig_fail_at(ctx, MIG_EREVFILE, path, 1, "no '-- mig:revision ID' line in the header");
        goto fail;
    }
    const char *base = base_name(path);
    size_t idlen = strlen(out->id);
    if (strncmp(base, out->id, idlen) != 0 || (base[idlen] != '_' && base[idlen] != '.')) {
        rc = mig_fail_at(ctx, MIG_EREVFILE, path, rev_line,
                         "revision '%s' does not match the file name (want %s_<slug>)", out->id, out->id);
        goto fail;
    }
    out->path = mig_strdup(path);
    if (out->message == NULL)
        out->message = no_text;
    if (out->create_date == NULL)
        out->create_date = no_text;
    if (!out->path || !out->message || !out->create_date)
        goto oom;
    return 0;

oom:
    rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
fail:
    mig_rev_release(out);
    return rc;
fail_quiet:
    mig_rev_release(out);
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int mig_revfile_parse_header(mig_rev *out, mig_ctx *ctx, const char *path, const char *data, size_t len,
                             int truncated)
{
    int need_more = 0;
    int rc = parse_header(out, ctx, path, data, len, truncated, &need_more);
    if (rc == 0 && need_more)
        return mig_fail(ctx, MIG_EREVFILE, "%s: header continues past the data given", path);
    if (rc == 0)
        out->is_lua = ends_with(path, ".lua");
    return rc;
}

/* Fill buf[have..cap) from fd; returns bytes now held, -1 on error, sets *eof. */
/*
 * One read into buf[have..cap) (retried on EINTR): the header usually ends
 * in the first block, and a second read only to learn of the end of the
 * file would cost a system call per revision. *eof is set on a read of 0.
 */
static ssize_t fill(int fd, char *buf, size_t have, size_t cap, int *eof)
{
    while (have < cap) {
        ssize_t n = read(fd, buf + have, cap - have);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            *eof = 1;
        have += (size_t)n;
        break;
    }
    return (ssize_t)have;
}

int mig_revfile_read_header(mig_rev *out, mig_ctx *ctx, const char *path, int is_lua)
{
    memset(out, 0, sizeof *out);
    int fd;
    size_t size;
    int e = mig_file_open(path, &fd, &size);
    if (e)
        return mig_fail_os(ctx, MIG_EREVFILE, e, "%s: cannot open: %s", path, mig_file_strerror(e));
    /* the first block on the stack: most headers end in it, and a malloc a file is no help */
    char first[FIRST_BLOCK];
    size_t cap = sizeof first, have = 0;
    char *buf = first;
    int eof = 0, rc = 0;
    for (;;) {
        if (buf == NULL) {
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
            break;
        }
        ssize_t got = fill(fd, buf, have, cap, &eof);
        if (got < 0) {
            rc = mig_fail_os(ctx, MIG_EREVFILE, errno, "%s: cannot read: %s", path, strerror(errno));
            break;
        }
        have = (size_t)got;
        int need_more = 0;
        rc = parse_header(out, ctx, path, buf, have, !eof, &need_more);
        if (rc || !need_more)
            break;
        if (eof)
            break; /* cannot happen: a whole file is never "truncated" */
        if (have < cap)
            continue; /* a short read: read on into the room left */
        /* a long header (or a long first line): read on */
        char *more = NULL;
        if (cap <= ((size_t)-1) / 2)
            more = buf == first ? malloc(cap * 2) : realloc(buf, cap * 2);
        if (more != NULL && buf == first)
            memcpy(more, first, have);
        if (more == NULL && buf != first)
            free(buf);
        buf = more;
        cap *= 2;
    }
    if (buf != first)
        free(buf);
    close(fd);
    if (rc == 0)
        out->is_lua = is_lua;
    return rc;
}

static int read_all(mig_ctx *ctx, const char *path, char **data, size_t *len)
{
    int e = mig_file_read(path, data, len);
    if (e == ENOMEM)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    if (e)
        return mig_fail(ctx, MIG_EREVFILE, "%s: cannot read: %s", path, mig_file_strerror(e));
    return 0;
}

static int line_of(const char *data, size_t off)
{
    int n = 1;
    for (const char *p = data; (p = memchr(p, '\n', (size_t)(data + off - p))) != NULL; p++)
        n++;
    return n;
}

/* Does p begin with w? Stops at the first difference, so at p's NUL. */
static int starts_with(const char *p, const char *w)
{
    while (*w && *p == *w)
        p++, w++;
    return *w == '\0';
}

/*
 * Can the section scan pass over the line at p without trimming or parsing
 * it? p is in the body's data, which is NUL-terminated with no NUL before
 * its end, so looking ahead stops at the line's end or the data's. Yes for
 * a statement's line inside a section, and for a `--` comment that is no
 * `mig:upgrade` or `mig:downgrade` line (with or without a value): the
 * scan has nothing to do with either. Anything else gets the full look.
 */
static int line_passes(const char *p, int in_section)
{
    if (p[0] != '-')
        return in_section && !is_space(p[0]) && p[0] != '\n';
    if (p[1] != '-')
        return in_section;
    p += 2;
    while (is_space(*p))
        p++;
    if (!starts_with(p, "mig:"))
        return 1;
    p += 4;
    return !starts_with(p, "upgrade") && !starts_with(p, "downgrade");
}

int mig_revfile_load_body(mig_revbody *out, mig_ctx *ctx, const mig_rev *rev)
{
    memset(out, 0, sizeof *out);
    int rc = read_all(ctx, rev->path, &out->data, &out->len);
    if (rc)
        return rc;
    const char *data = out->data;
    size_t len = out->len;
    const char *nul = memchr(data, '\0', len);
    if (nul != NULL) {
        rc = mig_fail_at(ctx, MIG_EREVFILE, rev->path, line_of(data, (size_t)(nul - data)),
                         "NUL byte: binary file?");
        goto fail;
    }
    size_t good = mig_utf8_valid_prefix((const unsigned char *)data, len);
    if (good != len) {
        rc = mig_fail_at(ctx, MIG_EREVFILE, rev->path, line_of(data, good), "invalid UTF-8");
        goto fail;
    }
    mig_sha256_hex(data, len, out->checksum);
    if (out->checksum[0] == '?') {
        /* libcrypto failed (out of memory): a '???' checksum would be recorded as if real */
        rc = mig_fail(ctx, MIG_ENOMEM, "%s: cannot compute the checksum: out of memory", rev->path);
        goto fail;
    }

    if (rev->is_lua) {
        /* a Lua revision is one chunk; the Lua module finds its functions */
        out->has_upgrade = 1;
        out->up_off = 0;
        out->up_len = len;
        out->up_line = 1;
        return 0;
    }

    /* which section the text belongs to: 0 none yet, 1 upgrade, 2 downgrade */
    int current = 0, lineno = 0;
    size_t off = 0, section_start = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        off = 3; /* the byte order mark, as in the header */
    int marker_line[3] = { 0, 0, 0 };
    while (off < len) {
        lineno++;
        if (line_passes(data + off, current != 0)) {
            const char *nl = memchr(data + off, '\n', len - off);
            off = nl ? (size_t)(nl - data) + 1 : len;
            continue;
        }
        line l = line_at(data, len, off, 0);
        /* one look at the line: a marker is a key line, and most lines are SQL */
        size_t k, klen, v, vlen;
        int m = 0;
        if (line_key(&l, &k, &klen, &v, &vlen))
            m = key_is(&l, k, klen, "upgrade") ? 1 : key_is(&l, k, klen, "downgrade") ? 2 : 0;
        if (m && vlen) {
            rc = mig_fail_at(ctx, MIG_EREVFILE, rev->path, lineno, "'mig:%.*s' takes no value",
                             (int)klen, l.s + k);
            goto fail;
        }
        if (m) {
            if (marker_line[m]) {
                rc = mig_fail_at(ctx, MIG_EREVFILE, rev->path, lineno,
                                 "second '-- mig:%s' section (first at line %d)",
                                 m == 1 ? "upgrade" : "downgrade", marker_line[m]);
                goto fail;
            }
            if (current == 1)
                out->up_len = off - section_start;
            else if (current == 2)
                out->down_len = off - section_start;
            marker_line[m] = lineno;
            current = m;
            section_start = l.next;
            if (m == 1) {
                out->has_upgrade = 1;
                out->up_off = l.next;
                out->up_line = lineno + 1;
            } else {
                out->has_downgrade = 1;
                out->down_off = l.next;
                out->down_line = lineno + 1;
            }
        } else if (current == 0) {
            size_t after;
            if (!line_blank(&l) && !line_comment(&l, &after)) {
                rc = mig_fail_at(ctx, MIG_EREVFILE, rev->path, lineno,
                                 "statement outside a section: put '-- mig:upgrade' above it");
                goto fail;
            }
        }
        off = l.next;
    }
    if (current == 1)
        out->up_len = len - section_start;
    else if (current == 2)
        out->down_len = len - section_start;
    return 0;

fail:
    mig_revbody_release(out);
    return rc;
}
