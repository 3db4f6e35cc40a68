#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "rules.h"

const mig_rule mig_rule_empty_downgrade = { "MIG001", "empty-downgrade" };

int mig_rule_empty_downgrade_hits(const mig_rev *rev, const mig_revbody *b, const mig_dialect *d)
{
    if (rev->is_lua || !b->has_downgrade)
        return 0;
    /* an empty upgrade (a merge, a placeholder) has nothing to undo: its empty downgrade is right */
    if (!b->has_upgrade || mig_sql_is_blank(d, b->data + b->up_off, b->up_len))
        return 0;
    return mig_sql_is_blank(d, b->data + b->down_off, b->down_len);
}

void mig_rule_empty_downgrade_say(mig_buf *out, const mig_rev *rev)
{
    mig_buf_printf(out, "no downgrade in %s", rev->id);
    if (rev->message && *rev->message)
        mig_buf_printf(out, " %s", rev->message);
}

const mig_rule mig_rule_destructive_downgrade = { "MIG002", "destructive-downgrade" };
const mig_rule mig_rule_lua_not_analysed = { "MIG003", "lua-not-analysed" };

/* Skip blanks and -- / # line comments and block comments. */
static const char *skip_space(const char *p, const char *end)
{
    for (;;) {
        while (p < end && isspace((unsigned char)*p))
            p++;
        if (p + 1 < end && ((p[0] == '-' && p[1] == '-') || p[0] == '#')) {
            while (p < end && *p != '\n')
                p++;
        } else if (p + 1 < end && p[0] == '/' && p[1] == '*') {
            const char *e = p + 2;
            while (e + 1 < end && !(e[0] == '*' && e[1] == '/'))
                e++;
            p = e + 1 < end ? e + 2 : end;
        } else {
            return p;
        }
    }
}

/* Does the word at *p match w (case ignored)? Advances past it and the blanks after. */
static int word(const char **p, const char *end, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(end - *p) < n || strncasecmp(*p, w, n) != 0)
        return 0;
    if (*p + n < end && (isalnum((unsigned char)(*p)[n]) || (*p)[n] == '_'))
        return 0;
    *p = skip_space(*p + n, end);
    return 1;
}

/* DROP TABLE, TRUNCATE, DELETE, or an ALTER TABLE with DROP COLUMN anywhere in it. */
static int destructive(const char *s, const char *end)
{
    const char *p = skip_space(s, end);
    if (word(&p, end, "TRUNCATE") || word(&p, end, "DELETE"))
        return 1;
    if (word(&p, end, "DROP"))
        return word(&p, end, "TABLE");
    if (!word(&p, end, "ALTER") || !word(&p, end, "TABLE"))
        return 0;
    for (; p < end; p++)
        if ((p == s || !isalnum((unsigned char)p[-1])) && strncasecmp(p, "DROP", 4) == 0) {
            const char *q = p;
            if (word(&q, end, "DROP") &&
                (word(&q, end, "COLUMN") ||
                 !(word(&q, end, "CONSTRAINT") || word(&q, end, "INDEX") || word(&q, end, "KEY") ||
                   word(&q, end, "PRIMARY") || word(&q, end, "FOREIGN") || word(&q, end, "DEFAULT") ||
                   word(&q, end, "NOT") || word(&q, end, "CHECK") || word(&q, end, "IDENTITY") ||
                   word(&q, end, "EXPRESSION") || word(&q, end, "PARTITION"))))
                return 1;
        }
    return 0;
}

size_t mig_rule_destructive_downgrade_hits(const mig_revbody *b, const mig_dialect *d, size_t *offset)
{
    if (!b->has_downgrade)
        return 0;
    const char *sql = b->data + b->down_off;
    size_t len = b->down_len, off = 0, idx = 0;
    while (off < len) {
        int empty = 0;
        size_t n = mig_sql_statement_end(d, sql + off, len - off, &empty);
        if (n == 0)
            break;
        if (!empty) {
            idx++;
            if (destructive(sql + off, sql + off + n)) {
                *offset = b->down_off + (size_t)(skip_space(sql + off, sql + off + n) - sql);
                return idx;
            }
        }
        off += n;
    }
    return 0;
}
