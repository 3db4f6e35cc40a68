/*
 * MySQL/MariaDB lint rules. There is no parser library for MySQL's grammar
 * in Debian, so these rules read the driver's own tokenizer (split.c):
 * the statement's kind, its table and the clauses of an ALTER TABLE, by
 * keyword. They judge what the words say, not what the server's parser
 * would make of them (docs/lint.md says which forms they know).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mig/driver_util.h"
#include "mysql_int.h"

#define MYDOCS    "https://dev.mysql.com/doc/refman/8.0/en/"
#define MARIADOCS "https://mariadb.com/kb/en/"

enum {
    R_COPY,
    R_SEVERAL_DDL,
    R_DROP_COLUMN,
    R_DROP_TABLE,
    R_RENAME_COLUMN,
    R_RENAME_TABLE,
    R_ADD_UNIQUE,
    R_COUNT
};

const mig_lint_rule my_lint_rules[] = {
    [R_COPY] = { "MY001", "alter-table-copies", MIG_LINT_WARNING, "MDL_SHARED_NO_WRITE",
                 "an ALTER TABLE form that copies the table: writes wait for the whole copy",
                 MYDOCS "innodb-online-ddl-operations.html" },
    [R_SEVERAL_DDL] = { "MY002", "several-ddl-statements", MIG_LINT_WARNING, NULL,
                        "each DDL statement commits on its own: a failure part-way leaves the revision half done",
                        MYDOCS "implicit-commit.html" },
    [R_DROP_COLUMN] = { "MY003", "drop-column", MIG_LINT_WARNING, NULL,
                        "DROP COLUMN breaks the application version still running that reads it",
                        MYDOCS "alter-table.html" },
    [R_DROP_TABLE] = { "MY004", "drop-table", MIG_LINT_WARNING, NULL,
                       "DROP TABLE breaks the application version still running that uses it",
                       MYDOCS "drop-table.html" },
    [R_RENAME_COLUMN] = { "MY005", "rename-column", MIG_LINT_WARNING, NULL,
                          "renaming a column breaks the application version still running",
                          MYDOCS "alter-table.html" },
    [R_RENAME_TABLE] = { "MY006", "rename-table", MIG_LINT_WARNING, NULL,
                         "renaming a table breaks the application version still running",
                         MYDOCS "rename-table.html" },
    [R_ADD_UNIQUE] = { "MY007", "add-unique", MIG_LINT_WARNING, NULL,
                       "a unique index on an existing table fails on the first duplicate, after scanning it",
                       MARIADOCS "alter-table/" },
    { NULL, NULL, 0, NULL, NULL, NULL },
};

#define MAXTOK 4096

typedef struct toks {
    const char *sql;
    size_t n;
    size_t start[MAXTOK], len[MAXTOK];
    int kind[MAXTOK];
} toks;

static int kw(const toks *t, size_t i, const char *w)
{
    return i < t->n && t->kind[i] == 1 && t->len[i] == strlen(w) &&
           strncasecmp(t->sql + t->start[i], w, t->len[i]) == 0;
}

static int punct(const toks *t, size_t i, char c)
{
    return i < t->n && t->kind[i] == 3 && t->sql[t->start[i]] == c;
}

/* A name at token i (`quoted` or bare, maybe db.table) into buf; returns the token after it. */
static size_t name_at(const toks *t, size_t i, char *buf, size_t n)
{
    buf[0] = 0;
    size_t used = 0;
    for (;;) {
        if (i >= t->n || (t->kind[i] != 1 && t->kind[i] != 2))
            return i;
        const char *s = t->sql + t->start[i];
        size_t l = t->len[i];
        if (t->kind[i] == 2 && l >= 2) {
            s++;
            l -= 2;
        }
        if (used + l + 2 < n) {
            memcpy(buf + used, s, l);
            used += l;
            buf[used] = 0;
        }
        i++;
        if (!punct(t, i, '.'))
            return i;
        if (used + 2 < n) {
            buf[used++] = '.';
            buf[used] = 0;
        }
        i++;
    }
}

typedef struct run {
    const mig_lint_stmt *in;
    const mig_lint_sink *sink;
    void *payload;
    int rc;
} run;

/* A finding of rule (an index into my_lint_rules), unless the sink already said stop. */
#define say(r, rule, ...)                                                                               \
    mig_lint_say((r)->sink, (r)->payload, &(r)->rc, &my_lint_rules[rule], __VA_ARGS__)

/* ALTER TABLE t ...: its clauses, split at top-level commas. */
static void lint_alter(run *r, const toks *t, size_t i)
{
    char tbl[256], a[256], b[256];
    if (kw(t, i, "IGNORE"))
        i++;
    i = name_at(t, i, tbl, sizeof tbl);
    int algo_ok = 0; /* ALGORITHM=INSTANT/INPLACE: the server refuses rather than copy */
    for (size_t j = i; j < t->n; j++)
        if (kw(t, j, "ALGORITHM") &&
            (kw(t, j + 1, "INSTANT") || kw(t, j + 1, "INPLACE") || kw(t, j + 1, "NOCOPY") ||
             (punct(t, j + 1, '=') &&
              (kw(t, j + 2, "INSTANT") || kw(t, j + 2, "INPLACE") || kw(t, j + 2, "NOCOPY")))))
            algo_ok = 1;
    const char *copy_why = NULL;
    size_t copy_at = 0, drop_pk_at = 0;
    int drop_pk = 0, add_pk = 0;
    for (size_t j = i, clause = i; j < t->n; j = clause) {
        /* j is the first token of a clause */
        size_t k = j;
        if (kw(t, k, "DROP")) {
            k++;
            if (kw(t, k, "PRIMARY")) {
                /* dropping one without adding another is COPY only; replacing it is done in place */
                drop_pk = 1;
                drop_pk_at = t->start[j];
            } else if (!kw(t, k, "INDEX") && !kw(t, k, "KEY") && !kw(t, k, "FOREIGN") &&
                       !kw(t, k, "CONSTRAINT") && !kw(t, k, "CHECK") && !kw(t, k, "PARTITION")) {
                if (kw(t, k, "COLUMN"))
                    k++;
                if (kw(t, k, "IF") && kw(t, k + 1, "EXISTS"))
                    k += 2;
                name_at(t, k, a, sizeof a);
                say(r, R_DROP_COLUMN, NULL, t->start[j], NULL,
                    "expand/contract: first release an application version that no longer reads or writes the "
                    "column, then drop it in a later revision",
                    "DROP COLUMN `%s` of table `%s` breaks the application version still running", a, tbl);
            }
        } else if (kw(t, k, "RENAME")) {
            k++;
            if (kw(t, k, "COLUMN")) {
                size_t m = name_at(t, k + 1, a, sizeof a);
                name_at(t, m + 1, b, sizeof b);
                say(r, R_RENAME_COLUMN, NULL, t->start[j], NULL,
                    "expand/contract: add the new column, write both, backfill, switch reads, drop the old one later",
                    "RENAME COLUMN `%s` to `%s` of table `%s` breaks the application version still running",
                    a, b, tbl);
            } else if (kw(t, k, "TO") || kw(t, k, "AS") ||
                       (k < t->n && t->kind[k] == 1 && !kw(t, k, "INDEX") && !kw(t, k, "KEY")) ||
                       (k < t->n && t->kind[k] == 2)) {
                say(r, R_RENAME_TABLE, NULL, t->start[j], NULL,
                    "expand/contract: create a view with the old name for the old application version, or "
                    "rename only after it is gone",
                    "renaming table `%s` breaks the application version still running", tbl);
            }
        } else if (kw(t, k, "CHANGE")) {
            k++;
            if (kw(t, k, "COLUMN"))
                k++;
            size_t m = name_at(t, k, a, sizeof a);
            name_at(t, m, b, sizeof b);
            if (strcasecmp(a, b) != 0)
                say(r, R_RENAME_COLUMN, NULL, t->start[j], NULL,
                    "expand/contract: add the new column, write both, backfill, switch reads, drop the old one later",
                    "CHANGE renames column `%s` to `%s` of table `%s`: breaks the application version still running",
                    a, b, tbl);
            copy_why =
                copy_why ? copy_why : "changing a column's definition (a type change copies the table)";
            copy_at = copy_at ? copy_at : t->start[j];
        } else if (kw(t, k, "MODIFY")) {
            copy_why = copy_why ? copy_why : "changing a column's type (MODIFY) copies the table";
            copy_at = copy_at ? copy_at : t->start[j];
        } else if (kw(t, k, "ADD")) {
            k++;
            if (kw(t, k, "CONSTRAINT")) {
                k++;
                if (!kw(t, k, "PRIMARY") && !kw(t, k, "UNIQUE") && !kw(t, k, "FOREIGN") &&
                    !kw(t, k, "CHECK"))
                    k++;
            }
            if (kw(t, k, "PRIMARY")) {
                add_pk = 1;
            } else if (kw(t, k, "UNIQUE")) {
                say(r, R_ADD_UNIQUE, tbl, t->start[j],
                    "the whole table is scanned; one duplicate fails the statement",
                    "check for duplicates first (SELECT ... GROUP BY ... HAVING COUNT(*) > 1), then ADD UNIQUE "
                    "with ALGORITHM=INPLACE, LOCK=NONE",
                    "ADD UNIQUE on existing table `%s`", tbl);
            }
        } else if (kw(t, k, "CONVERT")) {
            copy_why = copy_why ? copy_why : "converting the character set copies the table";
            copy_at = copy_at ? copy_at : t->start[j];
        }
        /* the next clause starts after the next top-level comma */
        int d = 0;
        for (clause = j + 1; clause < t->n; clause++) {
            if (punct(t, clause, '('))
                d++;
            else if (punct(t, clause, ')'))
                d--;
            else if (d == 0 && punct(t, clause, ',')) {
                clause++;
                break;
            }
        }
    }
    if (drop_pk && !add_pk && !copy_why) {
        copy_why = "dropping the primary key without adding another copies the table";
        copy_at = drop_pk_at;
    }
    if (copy_why && !algo_ok)
        say(r, R_COPY, tbl, copy_at,
            "ALGORITHM=COPY: the table is copied row by row while writes wait (LOCK=SHARED); on a large "
            "table, for the whole copy",
            "add ', ALGORITHM=INPLACE, LOCK=NONE' (or ALGORITHM=INSTANT): the server then refuses at once "
            "instead of copying, and you can plan the change (new column, backfill, switch) instead",
            "ALTER TABLE `%s`: %s", tbl, copy_why);
}

int my_lint(const mig_lint_stmt *in, mig_lint_state *st, const mig_lint_sink *sink, void *payload)
{
    toks *t = malloc(sizeof *t);
    if (t == NULL)
        return MIG_DRV_ERROR;
    t->sql = in->sql;
    t->n = 0;
    size_t pos = 0;
    while (t->n < MAXTOK) {
        size_t s;
        int k;
        size_t l = my_lex_next(in->sql, in->len, &pos, &s, &k);
        if (k == 0 || k == 4)
            break;
        t->start[t->n] = s;
        t->len[t->n] = l;
        t->kind[t->n] = k;
        t->n++;
    }
    run r = { in, sink, payload, 0 };
    char tbl[256];
    int ddl = kw(t, 0, "CREATE") || kw(t, 0, "ALTER") || kw(t, 0, "DROP") || kw(t, 0, "RENAME") ||
              kw(t, 0, "TRUNCATE");
    if (ddl && ++st->ddl == 2 && !st->reported) {
        st->reported = 1;
        say(&r, R_SEVERAL_DDL, NULL, 0,
            "MySQL commits each DDL statement on its own: if this one fails, the ones before it stay applied",
            "one DDL statement per revision, or be ready to finish a failed run with `mig upgrade --resume`",
            "a second DDL statement in one revision: each commits on its own");
    }
    if (kw(t, 0, "ALTER") && kw(t, 1, "TABLE")) {
        lint_alter(&r, t, 2);
    } else if (kw(t, 0, "ALTER") && kw(t, 1, "IGNORE") && kw(t, 2, "TABLE")) {
        lint_alter(&r, t, 3);
    } else if (kw(t, 0, "DROP") && kw(t, 1, "TABLE")) {
        size_t i = 2;
        if (kw(t, i, "IF") && kw(t, i + 1, "EXISTS"))
            i += 2;
        name_at(t, i, tbl, sizeof tbl);
        say(&r, R_DROP_TABLE, NULL, 0, NULL,
            "expand/contract: release an application version that no longer uses the table, then drop it "
            "in a later revision",
            "DROP TABLE `%s` breaks the application version still running", tbl);
    } else if (kw(t, 0, "RENAME") && kw(t, 1, "TABLE")) {
        name_at(t, 2, tbl, sizeof tbl);
        say(&r, R_RENAME_TABLE, NULL, 0, NULL,
            "expand/contract: create a view with the old name for the old application version, or rename "
            "only after it is gone",
            "RENAME TABLE `%s` breaks the application version still running", tbl);
    } else if (kw(t, 0, "CREATE") && kw(t, 1, "UNIQUE") && kw(t, 2, "INDEX")) {
        size_t i = 3;
        while (i < t->n && !kw(t, i, "ON"))
            i++;
        name_at(t, i + 1, tbl, sizeof tbl);
        say(&r, R_ADD_UNIQUE, tbl, 0, "the whole table is scanned; one duplicate fails the statement",
            "check for duplicates first (SELECT ... GROUP BY ... HAVING COUNT(*) > 1), then create it with "
            "ALGORITHM=INPLACE, LOCK=NONE",
            "CREATE UNIQUE INDEX on existing table `%s`", tbl);
    } else if (kw(t, 0, "CREATE") && (kw(t, 1, "TABLE") || (kw(t, 1, "TEMPORARY") && kw(t, 2, "TABLE")))) {
        size_t i = kw(t, 1, "TABLE") ? 2 : 3;
        if (kw(t, i, "IF") && kw(t, i + 1, "NOT") && kw(t, i + 2, "EXISTS"))
            i += 3;
        name_at(t, i, tbl, sizeof tbl);
        if (*tbl && sink->created && r.rc == 0)
            r.rc = sink->created(payload, tbl);
    }
    free(t);
    return r.rc;
}
