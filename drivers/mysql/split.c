/*
 * Where a MySQL statement ends.
 *
 * The server parses multi-statement text itself; this splitter exists so
 * the driver can tell which statement a failure belongs to (the server only
 * says which result failed) and so the core can count and resume statements
 * of a revision. It must therefore end statements exactly where the server
 * does, with MySQL's lexical rules in the default sql_mode:
 *
 *   'text' and "text"  backslash escapes and doubled quotes
 *   `name`             doubled backticks, no escapes
 *   # ...  and  -- ... comments to the end of the line ("--" only when a
 *                      space or control character follows: 1--1 is maths)
 *   block comments     flat (they do not nest); an executable comment
 *                      (slash-star-bang, slash-star-M-bang) is code
 *
 * and compound statements, whose inner ';' do not end them: the bodies of
 * CREATE TRIGGER/PROCEDURE/FUNCTION/EVENT/PACKAGE (and ALTER EVENT), and
 * MariaDB's top-level BEGIN NOT ATOMIC, IF, CASE, LOOP, WHILE, REPEAT and
 * FOR blocks. Inside those, BEGIN, CASE, LOOP, WHILE and REPEAT (not
 * REPEAT() the function) open a block; IF and FOR open one only where a
 * statement may start (after ';', BEGIN, THEN, ELSE, DO, LOOP, REPEAT,
 * FOR EACH ROW, a label) and IF(a, b, c) the function never does; END
 * closes one, swallowing the IF/CASE/LOOP... that may follow it. No
 * DELIMITER command is needed, or understood: it is a client feature the
 * server never sees.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "mysql_int.h"

typedef enum tok_kind {
    T_END,   /* end of input */
    T_WORD,  /* keyword, name or number */
    T_TEXT,  /* quoted string or identifier, executable comment */
    T_PUNCT, /* any other single character */
    T_SEMI   /* ';' */
} tok_kind;

typedef struct tok {
    tok_kind kind;
    size_t start, end;
} tok;

static int word_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

/* Skip a quoted run opened by sql[i] == q; returns the index past it (or len). */
static size_t skip_quoted(const char *sql, size_t len, size_t i, char q)
{
    for (i++; i < len; i++) {
        if (sql[i] == '\\' && q != '`') {
            i++;
        } else if (sql[i] == q) {
            if (i + 1 < len && sql[i + 1] == q)
                i++; /* doubled quote */
            else
                return i + 1;
        }
    }
    return len;
}

/* Next significant token at or after *pos; whitespace and comments are skipped. */
static tok next_tok(const char *sql, size_t len, size_t *pos)
{
    size_t i = *pos;
    tok t;

    for (;;) {
        while (i < len && isspace((unsigned char)sql[i]))
            i++;
        if (i >= len)
            break;
        if (sql[i] == '#' ||
            (sql[i] == '-' && i + 1 < len && sql[i + 1] == '-' &&
             (i + 2 >= len || isspace((unsigned char)sql[i + 2]) || iscntrl((unsigned char)sql[i + 2])))) {
            while (i < len && sql[i] != '\n')
                i++;
            continue;
        }
        if (sql[i] == '/' && i + 1 < len && sql[i + 1] == '*') {
            size_t start = i;
            int code = i + 2 < len &&
                       (sql[i + 2] == '!' || (sql[i + 2] == 'M' && i + 3 < len && sql[i + 3] == '!'));
            for (i += 2; i < len; i++)
                if (sql[i] == '*' && i + 1 < len && sql[i + 1] == '/') {
                    i += 2;
                    break;
                }
            if (i > len)
                i = len;
            if (code) {
                t.kind = T_TEXT;
                t.start = start;
                t.end = i;
                *pos = i;
                return t;
            }
            continue;
        }
        break;
    }
    t.start = i;
    if (i >= len) {
        t.kind = T_END;
        t.end = len;
    } else if (sql[i] == '\'' || sql[i] == '"' || sql[i] == '`') {
        t.kind = T_TEXT;
        t.end = skip_quoted(sql, len, i, sql[i]);
    } else if (word_char((unsigned char)sql[i])) {
        t.kind = T_WORD;
        while (i < len && word_char((unsigned char)sql[i]))
            i++;
        t.end = i;
    } else {
        t.kind = sql[i] == ';' ? T_SEMI : T_PUNCT;
        t.end = i + 1;
    }
    *pos = t.end;
    return t;
}

static int is_kw(const char *sql, tok t, const char *kw)
{
    size_t n = strlen(kw);
    return t.kind == T_WORD && t.end - t.start == n && strncasecmp(sql + t.start, kw, n) == 0;
}

static int is_punct(const char *sql, tok t, char c)
{
    return t.kind == T_PUNCT && sql[t.start] == c;
}

static int is_any_kw(const char *sql, tok t, const char *const *kws)
{
    for (; *kws != NULL; kws++)
        if (is_kw(sql, t, *kws))
            return 1;
    return 0;
}

/* Can a statement start right after prev (prev.kind T_END: at the start)? */
static int statement_position(const char *sql, tok prev)
{
    static const char *const kws[] = { "BEGIN",  "THEN", "ELSE",   "DO", "LOOP",
                                       "REPEAT", "ROW",  "ATOMIC", NULL };
    return prev.kind == T_END || prev.kind == T_SEMI || is_punct(sql, prev, ':') ||
           is_any_kw(sql, prev, kws);
}

/*
 * After IF at pos: is it the function IF(cond, a, b) rather than the
 * statement IF cond THEN? The function's parentheses hold a comma at their
 * own level; a statement's condition in parentheses does not.
 */
static int if_function(const char *sql, size_t len, size_t pos)
{
    tok t = next_tok(sql, len, &pos);
    int depth = 1;

    if (!is_punct(sql, t, '('))
        return 0;
    for (;;) {
        t = next_tok(sql, len, &pos);
        if (t.kind == T_END || t.kind == T_SEMI)
            return 0;
        if (is_punct(sql, t, '('))
            depth++;
        else if (is_punct(sql, t, ')') && --depth == 0)
            return 0;
        else if (depth == 1 && is_punct(sql, t, ','))
            return 1;
    }
}

enum { M_PLAIN, M_HEADER, M_COMPOUND };

size_t my_split_next(const char *sql, size_t len, size_t *first, int *empty, int *terminated)
{
    static const char *const routines[] = { "TRIGGER", "PROCEDURE", "FUNCTION", "EVENT", "PACKAGE", NULL };
    static const char *const header_words[] = { "OR",        "REPLACE",      "DEFINER",
                                                "AGGREGATE", "CURRENT_USER", NULL };
    static const char *const top_blocks[] = { "IF", "WHILE", "LOOP", "REPEAT", "CASE", "FOR", NULL };
    static const char *const end_suffix[] = { "IF", "CASE", "LOOP", "WHILE", "REPEAT", "FOR", NULL };
    size_t pos = 0;
    int ntok = 0, mode = M_PLAIN, depth = 0;
    tok prev = { T_END, 0, 0 };

    *first = len;
    *empty = 1;
    *terminated = 0;
    for (;;) {
        tok t = next_tok(sql, len, &pos);

        if (t.kind == T_END)
            return len;
        if (t.kind == T_SEMI) {
            if (depth == 0) {
                *terminated = 1;
                return t.end;
            }
            prev = t;
            continue;
        }
        if (ntok++ == 0) {
            *first = t.start;
            *empty = 0;
            if (is_kw(sql, t, "CREATE") || is_kw(sql, t, "ALTER")) {
                mode = M_HEADER;
            } else if (is_kw(sql, t, "BEGIN")) {
                size_t p2 = pos;
                if (is_kw(sql, next_tok(sql, len, &p2), "NOT"))
                    mode = M_COMPOUND;
            } else if (is_any_kw(sql, t, top_blocks)) {
                mode = M_COMPOUND;
            }
        } else if (mode == M_HEADER) {
            /* CREATE [OR REPLACE] [DEFINER = user@host] [AGGREGATE] FUNCTION ... */
            if (is_any_kw(sql, t, routines))
                mode = M_COMPOUND;
            else if (!(is_any_kw(sql, t, header_words) || t.kind == T_TEXT || is_punct(sql, t, '=') ||
                       is_punct(sql, t, '@') || is_punct(sql, t, '(') || is_punct(sql, t, ')') ||
                       (t.kind == T_WORD && (is_punct(sql, prev, '=') || is_punct(sql, prev, '@')))))
                mode = M_PLAIN;
            prev = t;
            continue;
        }

        if (mode == M_COMPOUND && t.kind == T_WORD) {
            if (is_kw(sql, prev, "END") && is_any_kw(sql, t, end_suffix)) {
                /* END IF, END LOOP ...: the block was closed by END */
            } else if (is_kw(sql, t, "END")) {
                if (depth > 0)
                    depth--;
            } else if (is_kw(sql, t, "BEGIN") || is_kw(sql, t, "CASE") || is_kw(sql, t, "LOOP") ||
                       is_kw(sql, t, "WHILE")) {
                depth++;
            } else if (is_kw(sql, t, "REPEAT")) {
                size_t p2 = pos;
                if (!is_punct(sql, next_tok(sql, len, &p2), '('))
                    depth++;
            } else if (is_kw(sql, t, "IF")) {
                if (statement_position(sql, prev) && !if_function(sql, len, pos))
                    depth++;
            } else if (is_kw(sql, t, "FOR")) {
                if (statement_position(sql, prev))
                    depth++;
            }
        }
        prev = t;
    }
}

size_t my_split_statement_end(const char *sql, size_t len)
{
    size_t first;
    int empty, terminated;
    size_t n = my_split_next(sql, len, &first, &empty, &terminated);

    /* only whitespace and comments, with no ';' to make an empty statement */
    if (empty && !terminated)
        return 0;
    return n;
}

int my_split_multi_result(const char *sql, size_t len)
{
    static const char *const blocks[] = { "CALL", "IF", "CASE", "LOOP", "WHILE", "REPEAT", "FOR", NULL };
    size_t pos = 0;
    tok t = next_tok(sql, len, &pos);

    if (is_kw(sql, t, "BEGIN")) {
        size_t p2 = pos;
        return is_kw(sql, next_tok(sql, len, &p2), "NOT");
    }
    return is_any_kw(sql, t, blocks);
}

/*
 * The tokenizer above for the lint rules (mysql_lint.c): the next
 * significant token at or after *pos, *kind 0 at the end, 1 a word, 2
 * quoted text, 3 punctuation, 4 ';'.
 */
size_t my_lex_next(const char *sql, size_t len, size_t *pos, size_t *start, int *kind)
{
    tok t = next_tok(sql, len, pos);
    *start = t.start;
    *kind = t.kind == T_END     ? 0
            : t.kind == T_WORD  ? 1
            : t.kind == T_TEXT  ? 2
            : t.kind == T_PUNCT ? 3
                                : 4;
    return t.end - t.start;
}
