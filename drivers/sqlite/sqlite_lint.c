/*
 * SQLite lint rules. SQLite offers no parse tree to a program (its parser
 * builds bytecode), so these rules read tokens: the statement's kind, its
 * table and keywords, with SQLite's lexical rules for quotes and comments.
 * What they judge: ALTER TABLE forms SQLite lacks (the table must be
 * rebuilt), hand-written rebuilds (copying every row under the write
 * lock), breaking changes, and syntax newer than [lint] sqlite_version
 * (default: the linked library's).
 */
#include <ctype.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mig/driver.h"
#include "mig/driver_util.h"

#define SQDOCS "https://www.sqlite.org/"

enum {
    R_REBUILD,
    R_ALTER_UNSUPPORTED,
    R_TOO_NEW,
    R_DROP_COLUMN,
    R_DROP_TABLE,
    R_RENAME_COLUMN,
    R_RENAME_TABLE,
    R_COUNT
};

const mig_lint_rule sq_lint_rules[] = {
    [R_REBUILD] = { "SQ001", "table-rebuild", MIG_LINT_WARNING, "RESERVED (database write lock)",
                    "a table rebuild copies every row while the database's write lock is held",
                    SQDOCS "lang_altertable.html#otheralter" },
    [R_ALTER_UNSUPPORTED] = { "SQ002", "alter-needs-rebuild", MIG_LINT_ERROR, NULL,
                              "an ALTER TABLE form SQLite does not have: the table must be rebuilt",
                              SQDOCS "lang_altertable.html" },
    [R_TOO_NEW] = { "SQ003", "feature-too-new", MIG_LINT_ERROR, NULL,
                    "syntax newer than [lint] sqlite_version: an older library refuses it",
                    SQDOCS "changes.html" },
    [R_DROP_COLUMN] = { "SQ004", "drop-column", MIG_LINT_WARNING, NULL,
                        "DROP COLUMN breaks the application version still running that reads it",
                        SQDOCS "lang_altertable.html#altertabdropcol" },
    [R_DROP_TABLE] = { "SQ005", "drop-table", MIG_LINT_WARNING, NULL,
                       "DROP TABLE breaks the application version still running that uses it",
                       SQDOCS "lang_droptable.html" },
    [R_RENAME_COLUMN] = { "SQ006", "rename-column", MIG_LINT_WARNING, NULL,
                          "RENAME COLUMN breaks the application version still running",
                          SQDOCS "lang_altertable.html#altertabmvcol" },
    [R_RENAME_TABLE] = { "SQ007", "rename-table", MIG_LINT_WARNING, NULL,
                         "RENAME TO breaks the application version still running",
                         SQDOCS "lang_altertable.html#altertabrename" },
    { NULL, NULL, 0, NULL, NULL, NULL },
};

#define MAXTOK 4096

typedef struct toks {
    const char *sql;
    size_t n;
    size_t start[MAXTOK], len[MAXTOK];
    int kind[MAXTOK]; /* 1 word, 2 quoted, 3 punctuation */
} toks;

static void lex(toks *t, const char *s, size_t n)
{
    size_t i = 0;
    t->sql = s;
    t->n = 0;
    while (i < n && t->n < MAXTOK) {
        unsigned char c = (unsigned char)s[i];
        if (isspace(c)) {
            i++;
        } else if (c == '-' && i + 1 < n && s[i + 1] == '-') {
            while (i < n && s[i] != '\n')
                i++;
        } else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
            i += 2;
            while (i + 1 < n && !(s[i] == '*' && s[i + 1] == '/'))
                i++;
            i += 2;
        } else if (c == '\'' || c == '"' || c == '`' || c == '[') {
            char close = c == '[' ? ']' : (char)c;
            size_t b = i++;
            while (i < n && !(s[i] == close && !(close != ']' && i + 1 < n && s[i + 1] == close)))
                i += (close != ']' && s[i] == close) ? 2 : 1;
            i = i < n ? i + 1 : n;
            t->start[t->n] = b;
            t->len[t->n] = i - b;
            t->kind[t->n++] = 2;
        } else if (isalnum(c) || c == '_' || c >= 0x80) {
            size_t b = i;
            while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_' ||
                             (unsigned char)s[i] >= 0x80 || s[i] == '$'))
                i++;
            t->start[t->n] = b;
            t->len[t->n] = i - b;
            t->kind[t->n++] = 1;
        } else if (c == ';') {
            break;
        } else {
            /* -> and ->> are one token: they are a version's feature */
            size_t b = i++;
            if (c == '-' && i < n && s[i] == '>') {
                i++;
                if (i < n && s[i] == '>')
                    i++;
            }
            t->start[t->n] = b;
            t->len[t->n] = i - b;
            t->kind[t->n++] = 3;
        }
    }
}

static int kw(const toks *t, size_t i, const char *w)
{
    return i < t->n && t->kind[i] == 1 && t->len[i] == strlen(w) &&
           strncasecmp(t->sql + t->start[i], w, t->len[i]) == 0;
}

static int op(const toks *t, size_t i, const char *o)
{
    return i < t->n && t->kind[i] == 3 && t->len[i] == strlen(o) &&
           strncmp(t->sql + t->start[i], o, t->len[i]) == 0;
}

static size_t name_at(const toks *t, size_t i, char *buf, size_t n)
{
    buf[0] = 0;
    if (i >= t->n || t->kind[i] == 3)
        return i;
    if (i + 2 < t->n && op(t, i + 1, ".")) /* schema.table: the table */
        i += 2;
    const char *s = t->sql + t->start[i];
    size_t l = t->len[i];
    if (t->kind[i] == 2 && l >= 2) {
        s++;
        l -= 2;
    }
    snprintf(buf, n, "%.*s", (int)l, s);
    return i + 1;
}

typedef struct run {
    const mig_lint_sink *sink;
    void *payload;
    int rc;
} run;

/* A finding of rule (an index into sq_lint_rules), unless the sink already said stop. */
#define say(r, rule, ...)                                                                               \
    mig_lint_say((r)->sink, (r)->payload, &(r)->rc, &sq_lint_rules[rule], __VA_ARGS__)

static const char *version_str(int v, char *buf, size_t n)
{
    snprintf(buf, n, "%d.%d.%d", v / 1000000, v / 1000 % 1000, v % 1000);
    return buf;
}

static void too_new(run *r, int version, int needs, size_t at, const char *what)
{
    if (version >= needs)
        return;
    char a[32], b[32];
    say(r, R_TOO_NEW, NULL, at, "SQLite before this version fails with a syntax error",
        "write it the older way (a table rebuild for DROP/RENAME COLUMN), or raise [lint] sqlite_version "
        "when every database runs a newer library",
        "%s needs SQLite %s; [lint] sqlite_version is %s", what, version_str(needs, a, sizeof a),
        version_str(version, b, sizeof b));
}

static void lint_versions(run *r, const toks *t, int version)
{
    for (size_t i = 0; i < t->n; i++) {
        size_t at = t->start[i];
        if (kw(t, i, "RETURNING"))
            too_new(r, version, 3035000, at, "RETURNING");
        else if (kw(t, i, "STRICT") && i > 0 && op(t, i - 1, ")"))
            too_new(r, version, 3037000, at, "a STRICT table");
        else if (kw(t, i, "GENERATED") && kw(t, i + 1, "ALWAYS"))
            too_new(r, version, 3031000, at, "a generated column");
        else if (kw(t, i, "DO") && i > 0 && (kw(t, i + 1, "UPDATE") || kw(t, i + 1, "NOTHING")))
            too_new(r, version, 3024000, at, "an upsert (ON CONFLICT ... DO)");
        else if (op(t, i, "->") || op(t, i, "->>"))
            too_new(r, version, 3038000, at, "the -> and ->> JSON operators");
        else if (kw(t, i, "OVER") && i > 0 && op(t, i - 1, ")"))
            too_new(r, version, 3025000, at, "a window function");
        else if (kw(t, i, "DROP") && kw(t, 0, "ALTER") && i > 2)
            too_new(r, version, 3035000, at, "ALTER TABLE ... DROP COLUMN");
        else if (kw(t, i, "RENAME") && kw(t, 0, "ALTER") && !kw(t, i + 1, "TO"))
            too_new(r, version, 3025000, at, "ALTER TABLE ... RENAME COLUMN");
    }
}

int sq_lint(const mig_lint_stmt *in, mig_lint_state *st, const mig_lint_sink *sink, void *payload)
{
    toks *t = malloc(sizeof *t);
    if (t == NULL)
        return MIG_DRV_ERROR;
    lex(t, in->sql, in->len);
    run r = { sink, payload, 0 };
    int version = in->version ? in->version : sqlite3_libversion_number();
    char tbl[256], a[256], b[256];
    lint_versions(&r, t, version);
    if (kw(t, 0, "ALTER") && kw(t, 1, "TABLE")) {
        st->ddl++;
        size_t i = name_at(t, 2, tbl, sizeof tbl);
        if (kw(t, i, "DROP")) {
            size_t k = i + 1 + kw(t, i + 1, "COLUMN");
            name_at(t, k, a, sizeof a);
            say(&r, R_DROP_COLUMN, NULL, t->start[i], NULL,
                "expand/contract: first release an application version that no longer reads or writes the "
                "column, then drop it in a later revision",
                "DROP COLUMN \"%s\" of table \"%s\" breaks the application version still running", a, tbl);
        } else if (kw(t, i, "RENAME") && kw(t, i + 1, "TO")) {
            /* the last step of a rebuild (SQ001) puts the old name back */
            if (!st->dml)
                say(&r, R_RENAME_TABLE, NULL, t->start[i], NULL,
                    "expand/contract: rename only after no running application version uses the old name",
                    "renaming table \"%s\" breaks the application version still running", tbl);
        } else if (kw(t, i, "RENAME")) {
            size_t k = i + 1 + kw(t, i + 1, "COLUMN");
            k = name_at(t, k, a, sizeof a);
            name_at(t, k + 1, b, sizeof b);
            say(&r, R_RENAME_COLUMN, NULL, t->start[i], NULL,
                "expand/contract: add the new column, write both, backfill, switch reads, drop the old one later",
                "RENAME COLUMN \"%s\" to \"%s\" of table \"%s\" breaks the application version still running",
                a, b, tbl);
        } else if (!kw(t, i, "ADD") || kw(t, i + 1, "CONSTRAINT") || kw(t, i + 1, "PRIMARY") ||
                   kw(t, i + 1, "UNIQUE") || kw(t, i + 1, "FOREIGN") || kw(t, i + 1, "CHECK")) {
            say(&r, R_ALTER_UNSUPPORTED, NULL, i < t->n ? t->start[i] : 0, "SQLite refuses the statement",
                "rebuild the table: CREATE TABLE new_t (...); INSERT INTO new_t SELECT ... FROM t; DROP TABLE t; "
                "ALTER TABLE new_t RENAME TO t (`mig revision --autogenerate` writes it)",
                "ALTER TABLE \"%s\" %.*s ...: SQLite has no such ALTER TABLE form", tbl,
                i < t->n ? (int)t->len[i] : 0, i < t->n ? t->sql + t->start[i] : "");
        }
    } else if (kw(t, 0, "DROP") && kw(t, 1, "TABLE")) {
        st->ddl++;
        size_t i = 2;
        if (kw(t, i, "IF") && kw(t, i + 1, "EXISTS"))
            i += 2;
        name_at(t, i, tbl, sizeof tbl);
        /* in a rebuild the old table goes: SQ001 says it at the copy, not here */
        if (!st->dml)
            say(&r, R_DROP_TABLE, NULL, 0, NULL,
                "expand/contract: release an application version that no longer uses the table, then drop it "
                "in a later revision",
                "DROP TABLE \"%s\" breaks the application version still running", tbl);
    } else if (kw(t, 0, "CREATE") && (kw(t, 1, "TABLE") || kw(t, 2, "TABLE"))) {
        st->ddl++;
        size_t i = kw(t, 1, "TABLE") ? 2 : 3;
        if (kw(t, i, "IF") && kw(t, i + 1, "NOT") && kw(t, i + 2, "EXISTS"))
            i += 3;
        name_at(t, i, tbl, sizeof tbl);
        if (*tbl && sink->created && r.rc == 0)
            r.rc = sink->created(payload, tbl);
    } else if (kw(t, 0, "INSERT") && st->ddl) {
        /* INSERT INTO new SELECT ... FROM old after a CREATE TABLE: a hand-written rebuild */
        size_t i = 0;
        while (i < t->n && !kw(t, i, "SELECT"))
            i++;
        while (i < t->n && !kw(t, i, "FROM"))
            i++;
        if (i < t->n) {
            name_at(t, i + 1, tbl, sizeof tbl);
            st->dml++;
            say(&r, R_REBUILD, tbl, 0,
                "every row is copied while the database's write lock is held: other writers wait (SQLITE_BUSY)",
                "fine for small tables; for a large one, use an ALTER TABLE form SQLite has (ADD COLUMN, "
                "RENAME), or copy in batches in revisions of their own",
                "rebuilding table \"%s\" copies every row under the write lock", tbl);
        }
    } else if (kw(t, 0, "CREATE") || kw(t, 0, "DROP")) {
        st->ddl++;
    }
    free(t);
    return r.rc;
}
