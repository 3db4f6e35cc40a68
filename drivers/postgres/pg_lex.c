/*
 * PostgreSQL lexical rules for the driver: the scanner skips what the
 * server would not read as code -- 'strings' (E'...' with backslash
 * escapes), "identifiers", $tag$ dollar quotes $tag$, -- line comments and
 * nested block comments -- and reports the code in between as words and
 * single characters. Statement ends follow psql: a ';' ends a statement
 * only outside parentheses and outside a BEGIN ... END body of
 * CREATE FUNCTION / PROCEDURE (SQL-standard bodies, BEGIN ATOMIC).
 * The server's standard_conforming_strings is assumed on (the default
 * since 9.1): a plain '...' string has no backslash escapes.
 */
#include "pg_lex.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int ident_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static int ident_char(unsigned char c)
{
    return ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

/*
 * If a dollar quote opens at s[i], the length of its tag including both
 * '$' (2 for $$), else 0. A '$' inside an identifier (foo$bar) or before
 * a digit ($1) opens nothing.
 */
static size_t dollar_tag(const char *s, size_t len, size_t i)
{
    size_t j = i + 1;

    if (i > 0 && ident_char((unsigned char)s[i - 1]))
        return 0;
    if (j < len && s[j] == '$')
        return 2;
    if (j >= len || !ident_start((unsigned char)s[j]))
        return 0;
    while (j < len && ident_char((unsigned char)s[j]) && s[j] != '$')
        j++;
    if (j < len && s[j] == '$')
        return j - i + 1;
    return 0;
}

/*
 * If s[i] opens a string, quoted identifier, dollar quote or comment, the
 * offset just past its end (len when unterminated); else i.
 */
static size_t skip_quoted(const char *s, size_t len, size_t i)
{
    char c = s[i];

    if (c == '-' && i + 1 < len && s[i + 1] == '-') {
        while (i < len && s[i] != '\n')
            i++;
        return i;
    }
    if (c == '/' && i + 1 < len && s[i + 1] == '*') {
        int depth = 0;
        while (i < len) {
            if (s[i] == '/' && i + 1 < len && s[i + 1] == '*') {
                depth++;
                i += 2;
            } else if (s[i] == '*' && i + 1 < len && s[i + 1] == '/') {
                i += 2;
                if (--depth == 0)
                    return i;
            } else {
                i++;
            }
        }
        return len;
    }
    if (c == '\'' || c == '"') {
        /* E'...': the E must stand alone, not end an identifier */
        int esc = c == '\'' && i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') &&
                  (i < 2 || !ident_char((unsigned char)s[i - 2]));
        i++;
        while (i < len) {
            if (esc && s[i] == '\\') {
                i += 2;
            } else if (s[i] == c) {
                if (i + 1 < len && s[i + 1] == c)
                    i += 2; /* doubled quote stays inside */
                else
                    return i + 1;
            } else {
                i++;
            }
        }
        return len;
    }
    if (c == '$') {
        size_t tag = dollar_tag(s, len, i);
        if (tag == 0)
            return i;
        for (size_t j = i + tag; j + tag <= len; j++)
            if (s[j] == '$' && memcmp(s + j, s + i, tag) == 0)
                return j + tag;
        return len;
    }
    return i;
}

static int word_is(const char *w, size_t n, const char *kw)
{
    return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

/*
 * Walks the code of sql[0..len): for each word (identifier or keyword) and
 * each other code character, calls the matching callback; quoted text and
 * comments are skipped. A callback returning non-zero stops the walk, and
 * walk returns the offset just past that token; else len.
 */
typedef struct walker {
    int (*word)(struct walker *w, const char *s, size_t at, size_t n);
    int (*punct)(struct walker *w, const char *s, size_t at);
} walker;

static size_t walk(walker *w, const char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t j = skip_quoted(s, len, i);
        if (j != i) {
            i = j;
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        if (ident_start(c)) {
            j = i;
            while (j < len && ident_char((unsigned char)s[j]))
                j++;
            /* E'..', U&'..': the quote is scanned next, with its prefix */
            if (w->word && w->word(w, s, i, j - i))
                return j;
            i = j;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
            i++;
        } else if (c >= '0' && c <= '9') {
            /* a number, with any exponent letters: never a keyword */
            while (i < len && ident_char((unsigned char)s[i]))
                i++;
            if (w->punct && w->punct(w, s, i - 1))
                return i;
        } else {
            if (w->punct && w->punct(w, s, i))
                return i + 1;
            i++;
        }
    }
    return len;
}

/* ---- statement end ---- */

typedef struct stmt_walk {
    walker base;
    int has_code;
    int nwords;
    int routine; /* CREATE [OR REPLACE] FUNCTION|PROCEDURE */
    int begin_depth;
    int paren_depth;
    char head[4][16]; /* the first words, for `routine` */
} stmt_walk;

static int stmt_word(walker *base, const char *s, size_t at, size_t n)
{
    stmt_walk *w = (stmt_walk *)base;
    const char *p = s + at;

    w->has_code = 1;
    if (w->nwords < 4) {
        size_t k = n < 15 ? n : 15;
        memcpy(w->head[w->nwords], p, k);
        w->head[w->nwords][k] = '\0';
        w->nwords++;
        if (strcasecmp(w->head[0], "create") == 0) {
            if (w->nwords == 2 &&
                (strcasecmp(w->head[1], "function") == 0 || strcasecmp(w->head[1], "procedure") == 0))
                w->routine = 1;
            if (w->nwords == 4 && strcasecmp(w->head[1], "or") == 0 &&
                strcasecmp(w->head[2], "replace") == 0 &&
                (strcasecmp(w->head[3], "function") == 0 || strcasecmp(w->head[3], "procedure") == 0))
                w->routine = 1;
        }
        return 0;
    }
    if (!w->routine)
        return 0;
    if (word_is(p, n, "begin") || (word_is(p, n, "case") && w->begin_depth > 0))
        w->begin_depth++;
    else if (word_is(p, n, "end") && w->begin_depth > 0)
        w->begin_depth--;
    return 0;
}

static int stmt_punct(walker *base, const char *s, size_t at)
{
    stmt_walk *w = (stmt_walk *)base;

    switch (s[at]) {
    case '(':
        w->paren_depth++;
        break;
    case ')':
        if (w->paren_depth > 0)
            w->paren_depth--;
        break;
    case ';':
        /* an empty statement is folded into the next one */
        if (!w->has_code)
            return 0;
        if (w->paren_depth == 0 && w->begin_depth == 0)
            return 1;
        break;
    default:
        break;
    }
    w->has_code = 1;
    return 0;
}

size_t pg_lex_statement(const char *sql, size_t len, int *has_code)
{
    stmt_walk w;

    memset(&w, 0, sizeof w);
    w.base.word = stmt_word;
    w.base.punct = stmt_punct;
    size_t end = walk(&w.base, sql, len);
    if (has_code)
        *has_code = w.has_code;
    return end;
}

/* ---- placeholders ---- */

typedef struct param_walk {
    walker base;
    int count;
    char *out;     /* NULL while counting */
    size_t copied; /* sql bytes copied to out so far */
    size_t olen;
} param_walk;

static int param_punct(walker *base, const char *s, size_t at)
{
    param_walk *w = (param_walk *)base;

    if (s[at] != '?')
        return 0;
    w->count++;
    if (w->out) {
        memcpy(w->out + w->olen, s + w->copied, at - w->copied);
        w->olen += at - w->copied;
        w->olen += (size_t)sprintf(w->out + w->olen, "$%d", w->count);
        w->copied = at + 1;
    }
    return 0;
}

int pg_lex_count_params(const char *sql, size_t len)
{
    param_walk w;

    memset(&w, 0, sizeof w);
    w.base.punct = param_punct;
    walk(&w.base, sql, len);
    return w.count;
}

char *pg_lex_number_params(const char *sql, size_t len, int *nparams)
{
    param_walk w;
    int n = pg_lex_count_params(sql, len);

    memset(&w, 0, sizeof w);
    w.base.punct = param_punct;
    /* "?" becomes at most "$" and ten digits */
    w.out = malloc(len + (size_t)n * 11 + 1);
    if (w.out == NULL)
        return NULL;
    walk(&w.base, sql, len);
    memcpy(w.out + w.olen, sql + w.copied, len - w.copied);
    w.olen += len - w.copied;
    w.out[w.olen] = '\0';
    *nparams = w.count;
    return w.out;
}

/* ---- cursorable queries ---- */

typedef struct kind_walk {
    walker base;
    int first_seen;
    int reads;  /* the first word makes it a query */
    int writes; /* a word that DECLARE ... WITH HOLD refuses */
} kind_walk;

static int kind_word(walker *base, const char *s, size_t at, size_t n)
{
    static const char *const refused[] = { "insert", "update", "delete", "merge", "into", "share", NULL };
    kind_walk *w = (kind_walk *)base;
    const char *p = s + at;

    if (!w->first_seen) {
        w->first_seen = 1;
        w->reads = word_is(p, n, "select") || word_is(p, n, "values") || word_is(p, n, "table") ||
                   word_is(p, n, "with");
        return !w->reads;
    }
    for (int k = 0; refused[k]; k++)
        if (word_is(p, n, refused[k])) {
            w->writes = 1;
            return 1;
        }
    return 0;
}

static int kind_punct(walker *base, const char *s, size_t at)
{
    kind_walk *w = (kind_walk *)base;

    /* (SELECT ...) UNION ...: leading parentheses are part of a query */
    if (!w->first_seen && s[at] != '(') {
        w->first_seen = 1;
        return 1;
    }
    return 0;
}

int pg_lex_is_cursorable(const char *sql, size_t len)
{
    kind_walk w;

    memset(&w, 0, sizeof w);
    w.base.word = kind_word;
    w.base.punct = kind_punct;
    walk(&w.base, sql, len);
    return w.reads && !w.writes;
}

/* ---- positions ---- */

typedef struct start_walk {
    walker base;
    size_t at;
} start_walk;

static int start_word(walker *base, const char *s, size_t at, size_t n)
{
    (void)s;
    (void)n;
    ((start_walk *)base)->at = at;
    return 1;
}

static int start_punct(walker *base, const char *s, size_t at)
{
    if (s[at] == ';')
        return 0;
    /* a number's callback names its last digit: walk back to its first */
    while (at > 0 && s[at] >= '0' && s[at] <= '9' && s[at - 1] >= '0' && s[at - 1] <= '9')
        at--;
    ((start_walk *)base)->at = at;
    return 1;
}

size_t pg_lex_code_start(const char *sql, size_t len)
{
    start_walk w;

    memset(&w, 0, sizeof w);
    w.base.word = start_word;
    w.base.punct = start_punct;
    w.at = len;
    walk(&w.base, sql, len);
    return w.at;
}

typedef struct unnumber_walk {
    walker base;
    int count;
    size_t off;   /* offset asked about, in the numbered text */
    size_t shift; /* bytes the numbered text has gained before off */
} unnumber_walk;

static int unnumber_punct(walker *base, const char *s, size_t at)
{
    unnumber_walk *w = (unnumber_walk *)base;
    char num[16];

    if (s[at] != '?')
        return 0;
    w->count++;
    if (at + w->shift >= w->off)
        return 1;
    w->shift += (size_t)snprintf(num, sizeof num, "$%d", w->count) - 1;
    return 0;
}

size_t pg_lex_unnumber_offset(const char *sql, size_t len, size_t off)
{
    unnumber_walk w;

    memset(&w, 0, sizeof w);
    w.base.punct = unnumber_punct;
    w.off = off;
    walk(&w.base, sql, len);
    if (w.shift > off)
        return 0;
    off -= w.shift;
    return off > len ? len : off;
}

size_t pg_lex_char_to_byte(const char *sql, size_t len, long pos)
{
    long chars = 0;

    if (pos <= 1)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)sql[i] & 0xC0) != 0x80 && ++chars == pos)
            return i;
    }
    return len;
}

long pg_lex_byte_to_char(const char *sql, size_t len, size_t off)
{
    long chars = 0;

    if (off > len)
        off = len;
    for (size_t i = 0; i < off; i++)
        if (((unsigned char)sql[i] & 0xC0) != 0x80)
            chars++;
    return chars + 1;
}
