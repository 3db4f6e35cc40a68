/*
 * The generic statement splitter: finds where the first statement of a
 * SQL text ends, by the dialect's flags, in one pass over the bytes.
 *
 * A ';' ends a statement unless it is inside a quoted string or
 * identifier, a comment, a $tag$ body, or the BEGIN ... END body of a
 * compound CREATE (trigger, function, procedure, event). The scanner never
 * reads at or past len, and anything left open at the end of the text (a
 * quote, a comment, a body) makes the statement run to len: the database
 * then reports the real error with the whole text in hand.
 */
#include "sqlsplit.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static int ident_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

static int word_is(const char *w, size_t n, const char *kw)
{
    return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

/* From the opening quote at i: the offset just past the closing one. */
static size_t skip_quoted(const char *sql, size_t len, size_t i, char q, int backslash)
{
    size_t j = i + 1;
    while (j < len) {
        char c = sql[j];
        if (backslash && c == '\\') {
            j += 2;
            continue;
        }
        if (c == q) {
            if (j + 1 < len && sql[j + 1] == q) { /* 'it''s' */
                j += 2;
                continue;
            }
            return j + 1;
        }
        j++;
    }
    return len;
}

/* From "--" or "#" at i: the offset of the newline that ends it (or len). */
static size_t skip_line_comment(const char *sql, size_t len, size_t i)
{
    const char *nl = memchr(sql + i, '\n', len - i);
    return nl ? (size_t)(nl - sql) : len;
}

/*
 * From "/" "*" at i: just past the matching close. PostgreSQL nests block
 * comments; SQLite and MySQL end at the first close.
 */
static size_t skip_block_comment(const char *sql, size_t len, size_t i, int nested)
{
    size_t j = i + 2;
    int level = 1;
    while (j < len) {
        if (sql[j] == '*' && j + 1 < len && sql[j + 1] == '/') {
            j += 2;
            if (--level == 0)
                return j;
        } else if (nested && sql[j] == '/' && j + 1 < len && sql[j + 1] == '*') {
            level++;
            j += 2;
        } else {
            j++;
        }
    }
    return len;
}

/* Length of a $tag$ opening at i ("$$" or "$name$"), 0 if it is none ($1). */
static size_t dollar_tag(const char *sql, size_t len, size_t i)
{
    size_t j = i + 1;
    if (j < len && sql[j] == '$')
        return 2;
    if (j >= len)
        return 0;
    unsigned char c = (unsigned char)sql[j];
    if (!(isalpha(c) || c == '_' || c >= 0x80))
        return 0;
    while (j < len && (isalnum((unsigned char)sql[j]) || sql[j] == '_' || (unsigned char)sql[j] >= 0x80))
        j++;
    return (j < len && sql[j] == '$') ? j - i + 1 : 0;
}

/*
 * From a $tag$ at i: just past the same tag closing the body. Every '$'
 * costs at most one compare of the tag's few bytes, so this stays linear.
 */
static size_t skip_dollar(const char *sql, size_t len, size_t i, size_t tag)
{
    size_t j = i + tag;
    while (j < len) {
        const char *p = memchr(sql + j, '$', len - j);
        if (p == NULL)
            break;
        j = (size_t)(p - sql);
        if (len - j >= tag && memcmp(sql + j, sql + i, tag) == 0)
            return j + tag;
        j++;
    }
    return len;
}

/*
 * Tracks the words of one statement: whether it is a compound CREATE
 * (trigger, function, procedure, event) and how deep its BEGIN/CASE ...
 * END blocks are. The kind must come right after CREATE and its modifiers
 * (OR REPLACE, TEMP, CONSTRAINT, DEFINER = user@host), so a column named
 * "event" in a CREATE TABLE changes nothing. MySQL closes IF, LOOP, WHILE
 * and REPEAT with "END IF" etc. and those were never counted as openers,
 * so an END followed by one of them is taken back; "END CASE" closes a
 * CASE that was counted.
 */
typedef struct words {
    int nwords;
    int head;    /* still in CREATE's modifiers, before the object kind */
    int definer; /* words of a DEFINER = user@host clause still to come */
    int compound;
    int depth;
    int after_end;
} words;

static int is_modifier(const char *s, size_t n)
{
    static const char *const mods[] = {
        "OR", "REPLACE", "TEMP", "TEMPORARY", "CONSTRAINT", "AGGREGATE", NULL,
    };
    for (size_t i = 0; mods[i]; i++)
        if (word_is(s, n, mods[i]))
            return 1;
    return 0;
}

static void see_head_word(words *w, const char *s, size_t n)
{
    if (word_is(s, n, "TRIGGER") || word_is(s, n, "FUNCTION") || word_is(s, n, "PROCEDURE") ||
        word_is(s, n, "EVENT")) {
        w->compound = 1;
        w->head = 0;
    } else if (word_is(s, n, "DEFINER")) {
        w->definer = 3; /* user, host, or CURRENT_USER */
    } else if (w->definer > 0) {
        w->definer--;
    } else if (!is_modifier(s, n)) {
        w->head = 0;
    }
}

static void see_word(words *w, const char *s, size_t n)
{
    w->nwords++;
    if (w->nwords == 1) {
        w->head = word_is(s, n, "CREATE");
        return;
    }
    if (w->head) {
        see_head_word(w, s, n);
        return;
    }
    if (!w->compound)
        return;
    if (w->after_end) {
        w->after_end = 0;
        if (word_is(s, n, "IF") || word_is(s, n, "LOOP") || word_is(s, n, "WHILE") ||
            word_is(s, n, "REPEAT")) {
            w->depth++;
            return;
        }
        if (word_is(s, n, "CASE"))
            return;
    }
    if (word_is(s, n, "BEGIN") || word_is(s, n, "CASE")) {
        w->depth++;
    } else if (word_is(s, n, "END")) {
        w->depth--;
        w->after_end = 1;
    }
}

/* Just past the comment that starts at i, or i when none does. */
static size_t skip_comment(const mig_dialect *d, const char *sql, size_t len, size_t i)
{
    char c = sql[i];
    /*
     * MySQL (the dialect with # comments) wants a blank after "--":
     * there "1--1" is arithmetic.
     */
    if (c == '-' && i + 1 < len && sql[i + 1] == '-' &&
        (!d->hash_comments || i + 2 >= len || (unsigned char)sql[i + 2] <= ' '))
        return skip_line_comment(sql, len, i);
    if (c == '#' && d->hash_comments)
        return skip_line_comment(sql, len, i);
    if (c == '/' && i + 1 < len && sql[i + 1] == '*')
        return skip_block_comment(sql, len, i, d->dollar_quotes);
    return i;
}

size_t mig_sql_statement_end(const mig_dialect *d, const char *sql, size_t len, int *empty)
{
    int blank = 1;
    words w = { 0, 0, 0, 0, 0, 0 };
    size_t i = 0, tag;
    while (i < len) {
        unsigned char c = (unsigned char)sql[i];
        if (isspace(c)) {
            i++;
            continue;
        }
        size_t past = skip_comment(d, sql, len, i);
        if (past != i) {
            i = past;
            continue;
        }
        if (c == ';' && w.depth <= 0) {
            i++;
            break;
        }
        blank = 0;
        if (ident_char(c) && c != '$') {
            size_t s = i;
            while (i < len && ident_char((unsigned char)sql[i]))
                i++;
            if (!isdigit(c))
                see_word(&w, sql + s, i - s);
            continue;
        }
        w.after_end = 0;
        if (c == '\'') {
            /* PostgreSQL E'...' strings take backslash escapes */
            int bs = d->backslash_escapes ||
                     (d->dollar_quotes && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                      (i < 2 || !ident_char((unsigned char)sql[i - 2])));
            i = skip_quoted(sql, len, i, '\'', bs);
        } else if (c == '"') {
            i = skip_quoted(sql, len, i, '"', d->backslash_escapes);
        } else if (c == '`') {
            i = skip_quoted(sql, len, i, '`', 0);
        } else if (c == '$' && d->dollar_quotes && (tag = dollar_tag(sql, len, i)) > 0) {
            i = skip_dollar(sql, len, i, tag);
        } else {
            i++; /* operator, punctuation, $1 */
        }
    }
    if (empty)
        *empty = blank;
    return i;
}

/*
 * 1 when the text holds only whitespace, comments and empty statements
 * (stray ';'), so running it would do nothing; 0 otherwise.
 */
int mig_sql_is_blank(const mig_dialect *d, const char *sql, size_t len)
{
    /*
     * Before its first word a ';' always ends a statement, so the text is
     * blank unless some byte is no space, comment or ';': the first such
     * byte answers, with no need to find where its statement ends.
     */
    size_t i = 0;
    while (i < len) {
        size_t past = skip_comment(d, sql, len, i);
        if (past != i)
            i = past;
        else if (isspace((unsigned char)sql[i]) || sql[i] == ';')
            i++;
        else
            return 0;
    }
    return 1;
}
