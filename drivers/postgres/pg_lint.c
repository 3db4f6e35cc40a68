/*
 * PostgreSQL lint rules, on the server's own parser: libpg_query parses a
 * statement into the parse tree PostgreSQL itself builds, handed over as
 * JSON and read with jansson. The rules look at that tree, never at the
 * text, so comments, quoting and odd spacing cannot fool them. Statement
 * boundaries stay the driver's (pg_lex), since libpg_query's own splitter
 * cuts inside BEGIN ATOMIC bodies.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <pg_query.h>

#include "mig/driver_util.h"
#include "pg.h"

#define DOCS "https://www.postgresql.org/docs/current/"

enum {
    R_UNPARSABLE,
    R_INDEX,
    R_CONCURRENT_TX,
    R_REINDEX,
    R_ADD_COLUMN_DEFAULT,
    R_ADD_COLUMN_NOT_NULL,
    R_COLUMN_TYPE,
    R_SET_NOT_NULL,
    R_FOREIGN_KEY,
    R_CHECK,
    R_UNIQUE,
    R_DROP_COLUMN,
    R_DROP_TABLE,
    R_RENAME_COLUMN,
    R_RENAME_TABLE,
    R_ENUM_VALUE,
    R_VACUUM_FULL,
    R_CLUSTER,
    R_LOCK_TABLE,
    R_TRUNCATE,
    R_IDENTITY,
    R_NO_LOCK_TIMEOUT,
    R_DDL_WITH_DML,
    R_COUNT
};

const mig_lint_rule pg_lint_rules[] = {
    [R_UNPARSABLE] = { "PG000", "unparsable-statement", MIG_LINT_WARNING, NULL,
                       "a statement the PostgreSQL parser cannot read is not analysed",
                       DOCS "sql-commands.html" },
    [R_INDEX] = { "PG001", "create-index-blocks-writes", MIG_LINT_WARNING, "SHARE",
                  "CREATE INDEX without CONCURRENTLY blocks writes to the table for the whole build",
                  DOCS "sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY" },
    [R_CONCURRENT_TX] = { "PG002", "concurrently-in-transaction", MIG_LINT_ERROR, NULL,
                          "CONCURRENTLY cannot run inside a transaction block",
                          DOCS "sql-createindex.html" },
    [R_REINDEX] = { "PG003", "reindex-blocks-writes", MIG_LINT_WARNING, "SHARE",
                    "REINDEX without CONCURRENTLY blocks writes to the table", DOCS "sql-reindex.html" },
    [R_ADD_COLUMN_DEFAULT] = { "PG004", "add-column-volatile-default", MIG_LINT_WARNING, "ACCESS EXCLUSIVE",
                               "ADD COLUMN with a volatile default (any default before PostgreSQL 11) rewrites the table",
                               DOCS "sql-altertable.html#SQL-ALTERTABLE-NOTES" },
    [R_ADD_COLUMN_NOT_NULL] = { "PG005", "add-column-not-null-no-default", MIG_LINT_WARNING,
                                "ACCESS EXCLUSIVE",
                                "ADD COLUMN ... NOT NULL without a default fails on a table with rows",
                                DOCS "sql-altertable.html" },
    [R_COLUMN_TYPE] = { "PG006", "alter-column-type-rewrites", MIG_LINT_WARNING, "ACCESS EXCLUSIVE",
                        "ALTER COLUMN ... TYPE rewrites the table and its indexes under ACCESS EXCLUSIVE",
                        DOCS "sql-altertable.html#SQL-ALTERTABLE-NOTES" },
    [R_SET_NOT_NULL] = { "PG007", "set-not-null-scans", MIG_LINT_WARNING, "ACCESS EXCLUSIVE",
                         "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE",
                         DOCS "sql-altertable.html" },
    [R_FOREIGN_KEY] = { "PG008", "foreign-key-validates", MIG_LINT_WARNING, "SHARE ROW EXCLUSIVE",
                        "ADD FOREIGN KEY without NOT VALID checks every row while blocking writes to both tables",
                        DOCS "sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT" },
    [R_CHECK] = { "PG009", "check-constraint-validates", MIG_LINT_WARNING, "ACCESS EXCLUSIVE",
                  "ADD CHECK without NOT VALID checks every row under ACCESS EXCLUSIVE",
                  DOCS "sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT" },
    [R_UNIQUE] = { "PG010", "unique-builds-index", MIG_LINT_WARNING, "ACCESS EXCLUSIVE",
                   "ADD PRIMARY KEY / UNIQUE without USING INDEX builds the index under ACCESS EXCLUSIVE",
                   DOCS "sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX" },
    [R_DROP_COLUMN] = { "PG011", "drop-column", MIG_LINT_WARNING, NULL,
                        "DROP COLUMN breaks the application version still running that reads it",
                        DOCS "sql-altertable.html" },
    [R_DROP_TABLE] = { "PG012", "drop-table", MIG_LINT_WARNING, NULL,
                       "DROP TABLE breaks the application version still running that uses it",
                       DOCS "sql-droptable.html" },
    [R_RENAME_COLUMN] = { "PG013", "rename-column", MIG_LINT_WARNING, NULL,
                          "RENAME COLUMN breaks the application version still running",
                          DOCS "sql-altertable.html" },
    [R_RENAME_TABLE] = { "PG014", "rename-table", MIG_LINT_WARNING, NULL,
                         "RENAME TABLE breaks the application version still running",
                         DOCS "sql-altertable.html" },
    [R_ENUM_VALUE] = { "PG015", "enum-add-value-in-transaction", MIG_LINT_ERROR, NULL,
                       "ALTER TYPE ... ADD VALUE cannot run in a transaction before PostgreSQL 12",
                       DOCS "sql-altertype.html" },
    [R_VACUUM_FULL] = { "PG016", "vacuum-full", MIG_LINT_WARNING, "ACCESS EXCLUSIVE",
                        "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE", DOCS "sql-vacuum.html" },
    [R_CLUSTER] = { "PG017", "cluster", MIG_LINT_WARNING, "ACCESS EXCLUSIVE",
                    "CLUSTER rewrites the table under ACCESS EXCLUSIVE", DOCS "sql-cluster.html" },
    [R_LOCK_TABLE] = { "PG018", "lock-table", MIG_LINT_WARNING, "ACCESS EXCLUSIVE",
                       "LOCK TABLE holds a lock until the end of the transaction", DOCS "sql-lock.html" },
    [R_TRUNCATE] = { "PG019", "truncate", MIG_LINT_WARNING, "ACCESS EXCLUSIVE",
                     "TRUNCATE takes ACCESS EXCLUSIVE and throws the rows away", DOCS "sql-truncate.html" },
    [R_IDENTITY] = { "PG020", "add-identity-column", MIG_LINT_WARNING, "ACCESS EXCLUSIVE",
                     "adding a serial or identity column fills every row: a table rewrite",
                     DOCS "sql-altertable.html#SQL-ALTERTABLE-NOTES" },
    [R_NO_LOCK_TIMEOUT] = { "PG021", "access-exclusive-without-lock-timeout", MIG_LINT_WARNING,
                            "ACCESS EXCLUSIVE",
                            "ACCESS EXCLUSIVE with no lock_timeout: while it waits, every query on the table queues",
                            DOCS "runtime-config-client.html#GUC-LOCK-TIMEOUT" },
    [R_DDL_WITH_DML] = { "PG022", "ddl-with-unbounded-dml", MIG_LINT_WARNING, NULL,
                         "DDL and an unbounded UPDATE/DELETE in one transaction hold the DDL's lock for the whole update",
                         DOCS "explicit-locking.html" },
    { NULL, NULL, 0, NULL, NULL, NULL },
};

typedef struct lint_run {
    const mig_lint_stmt *in;
    mig_lint_state *st;
    const mig_lint_sink *sink;
    void *payload;
    const char *sql; /* NUL-terminated copy */
    int rc;
} lint_run;

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int jtrue(const json_t *o, const char *key)
{
    return json_is_true(json_object_get(o, key));
}

static size_t jloc(const json_t *o)
{
    json_int_t l = json_integer_value(json_object_get(o, "location"));
    return l > 0 ? (size_t)l : 0;
}

/* A node {"Type": {...}}: its type name and body. */
static const char *node_type(const json_t *n, json_t **body)
{
    const char *key;
    json_t *v;
    *body = NULL;
    json_object_foreach((json_t *)n, key, v)
    {
        *body = v;
        return key;
    }
    return "";
}

/* "schema.table" of a RangeVar, into buf. */
static const char *relname(const json_t *rv, char *buf, size_t n)
{
    const char *schema = jstr(rv, "schemaname"), *rel = jstr(rv, "relname");
    if (*schema)
        snprintf(buf, n, "%s.%s", schema, rel);
    else
        snprintf(buf, n, "%s", rel);
    return buf;
}

/* A finding of rule (an index into pg_lint_rules), unless the sink already said stop. */
#define say(r, rule, ...)                                                                               \
    mig_lint_say((r)->sink, (r)->payload, &(r)->rc, &pg_lint_rules[rule], __VA_ARGS__)

/* The statement with word inserted after the first keyword kw (case ignored), for a rewrite. */
static char *insert_after(const char *sql, const char *kw, const char *word)
{
    size_t kl = strlen(kw);
    for (const char *p = sql; *p; p++) {
        if (strncasecmp(p, kw, kl) == 0 && (p == sql || !isalnum((unsigned char)p[-1]) || p[-1] == '_') &&
            !isalnum((unsigned char)p[kl]) && p[kl] != '_') {
            size_t at = (size_t)(p - sql) + kl, wl = strlen(word), sl = strlen(sql);
            char *out = malloc(sl + wl + 2);
            if (out == NULL)
                return NULL;
            memcpy(out, sql, at);
            out[at] = ' ';
            memcpy(out + at + 1, word, wl);
            memcpy(out + at + 1 + wl, sql + at, sl - at + 1);
            return out;
        }
    }
    return NULL;
}

/* The statement's text without leading blanks and comments, trailing ';' and blanks. */
static char *stmt_text(const char *sql)
{
    for (;;) {
        while (isspace((unsigned char)*sql))
            sql++;
        if (sql[0] == '-' && sql[1] == '-') {
            sql += strcspn(sql, "\n");
            continue;
        }
        break;
    }
    size_t n = strlen(sql);
    while (n && (isspace((unsigned char)sql[n - 1]) || sql[n - 1] == ';'))
        n--;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, sql, n);
        s[n] = 0;
    }
    return s;
}

/* A default PostgreSQL must compute per row, so the column cannot be added without a rewrite. */
static int volatile_expr(const json_t *e)
{
    static const char *const volatile_fns[] = {
        "random",
        "gen_random_uuid",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "clock_timestamp",
        "timeofday",
        "nextval",
        "txid_current",
        "setseed",
        NULL,
    };
    if (json_is_object(e)) {
        json_t *body;
        const char *t = node_type(e, &body);
        if (strcmp(t, "FuncCall") == 0) {
            json_t *names = json_object_get(body, "funcname");
            json_t *last = json_array_get(names, json_array_size(names) - 1);
            json_t *sb;
            node_type(last, &sb);
            const char *fn = jstr(sb, "sval");
            for (size_t i = 0; volatile_fns[i]; i++)
                if (strcmp(fn, volatile_fns[i]) == 0)
                    return 1;
        }
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)e, key, v) if (volatile_expr(v)) return 1;
    } else if (json_is_array(e)) {
        size_t i;
        json_t *v;
        json_array_foreach(e, i, v) if (volatile_expr(v)) return 1;
    }
    return 0;
}

static const char *type_last_name(const json_t *tn)
{
    json_t *names = json_object_get(tn, "names"), *b;
    node_type(json_array_get(names, json_array_size(names) - 1), &b);
    return jstr(b, "sval");
}

static int access_exclusive_cmd(const char *subtype, const json_t *def)
{
    static const char *const lighter[] = {
        "AT_ValidateConstraint",
        "AT_SetStatistics",
        "AT_ClusterOn",
        "AT_DropCluster",
        "AT_SetRelOptions",
        "AT_ResetRelOptions",
        "AT_EnableTrig",
        "AT_DisableTrig",
        "AT_AttachPartition",
        "AT_DetachPartitionFinalize",
        NULL,
    };
    for (size_t i = 0; lighter[i]; i++)
        if (strcmp(subtype, lighter[i]) == 0)
            return 0;
    if (strcmp(subtype, "AT_AddConstraint") == 0) {
        json_t *c;
        node_type(def, &c);
        if (strcmp(jstr(c, "contype"), "CONSTR_FOREIGN") == 0)
            return 0; /* SHARE ROW EXCLUSIVE */
    }
    return 1;
}

/* PG021: ACCESS EXCLUSIVE on tbl with no lock_timeout in force; safe says how to set one. */
static void no_lock_timeout(lint_run *r, const char *tbl, const char *safe)
{
    say(r, R_NO_LOCK_TIMEOUT, tbl, 0,
        "a lock request waiting behind a long query makes every later query on the table wait too", safe,
        "ACCESS EXCLUSIVE on existing table \"%s\" with no lock_timeout in force", tbl);
}

static void lint_add_column(lint_run *r, const char *tbl, const json_t *cmd)
{
    json_t *cd;
    node_type(json_object_get(cmd, "def"), &cd);
    const char *col = jstr(cd, "colname");
    const char *type = type_last_name(json_object_get(cd, "typeName"));
    json_t *cons = json_object_get(cd, "constraints"), *c;
    const json_t *dflt = NULL;
    int notnull = 0, identity = 0;
    size_t i, at = jloc(cd);
    json_array_foreach(cons, i, c)
    {
        json_t *b;
        node_type(c, &b);
        const char *ct = jstr(b, "contype");
        if (strcmp(ct, "CONSTR_DEFAULT") == 0)
            dflt = json_object_get(b, "raw_expr");
        else if (strcmp(ct, "CONSTR_NOTNULL") == 0)
            notnull = 1;
        else if (strcmp(ct, "CONSTR_IDENTITY") == 0)
            identity = 1;
        else if (strcmp(ct, "CONSTR_FOREIGN") == 0 && !jtrue(b, "skip_validation"))
            say(r, R_FOREIGN_KEY, tbl, jloc(b),
                "SHARE ROW EXCLUSIVE on both tables while every row is checked: no writes to either",
                "add the column first, then ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID and, in a "
                "later statement, VALIDATE CONSTRAINT (SHARE UPDATE EXCLUSIVE: writes go on)",
                "column \"%s\" REFERENCES another table on existing table \"%s\": every row is checked",
                col, tbl);
    }
    if (identity || strstr(type, "serial")) {
        say(r, R_IDENTITY, tbl, at,
            "ACCESS EXCLUSIVE while every row gets a value: no reads or writes for the whole rewrite",
            "add a nullable bigint column, attach a sequence as its DEFAULT, backfill in batches, "
            "then add the NOT NULL through a validated CHECK",
            "adding %s column \"%s\" to existing table \"%s\" rewrites it",
            identity ? "identity" : "serial", col, tbl);
        return;
    }
    int old = r->in->version && r->in->version < 110000;
    if (dflt && (old || volatile_expr(dflt)))
        say(r, R_ADD_COLUMN_DEFAULT, tbl, at, "ACCESS EXCLUSIVE for the whole rewrite: no reads or writes",
            "add the column without a default (or with a constant one on PostgreSQL 11 and later), "
            "set the default with ALTER COLUMN ... SET DEFAULT, backfill existing rows in batches",
            "ADD COLUMN \"%s\" with %s default rewrites existing table \"%s\"", col,
            old ? "a (pre-PostgreSQL 11)" : "a volatile", tbl);
    if (notnull && !dflt)
        say(r, R_ADD_COLUMN_NOT_NULL, tbl, at, "the statement fails as soon as the table has a row",
            "add the column nullable, or with a constant DEFAULT; backfill; then add NOT NULL through a "
            "validated CHECK (... IS NOT NULL)",
            "ADD COLUMN \"%s\" NOT NULL without a default fails on existing table \"%s\" when it has rows",
            col, tbl);
}

static void lint_alter_table(lint_run *r, const json_t *stmt)
{
    char tbl[256];
    relname(json_object_get(stmt, "relation"), tbl, sizeof tbl);
    if (strcmp(jstr(stmt, "objtype"), "OBJECT_TABLE") != 0 && *jstr(stmt, "objtype"))
        return;
    int exclusive = 0;
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(stmt, "cmds"), i, n)
    {
        json_t *cmd;
        node_type(n, &cmd);
        const char *sub = jstr(cmd, "subtype");
        json_t *def = json_object_get(cmd, "def");
        const char *col = jstr(cmd, "name");
        if (access_exclusive_cmd(sub, def))
            exclusive = 1;
        if (strcmp(sub, "AT_AddColumn") == 0) {
            lint_add_column(r, tbl, cmd);
        } else if (strcmp(sub, "AT_AlterColumnType") == 0) {
            json_t *cd;
            node_type(def, &cd);
            json_t *tn = json_object_get(cd, "typeName");
            const char *t = type_last_name(tn);
            /* these need no rewrite whatever the old type's length was (varchar(n) to text or unbounded) */
            int safe = strcmp(t, "text") == 0 || (strcmp(t, "varchar") == 0 &&
                                                  json_array_size(json_object_get(tn, "typmods")) == 0);
            if (!safe)
                say(r, R_COLUMN_TYPE, tbl, jloc(cd),
                    "ACCESS EXCLUSIVE for the rewrite of the table and every index: no reads or writes",
                    "add a new column of the new type, backfill it in batches, switch the application "
                    "over, then drop the old column (only varchar(n) to a longer varchar or text, and "
                    "other binary-coercible changes, are done without a rewrite)",
                    "ALTER COLUMN \"%s\" TYPE %s rewrites existing table \"%s\"", col, t, tbl);
        } else if (strcmp(sub, "AT_SetNotNull") == 0) {
            char safe[2048];
            snprintf(safe, sizeof safe,
                     "ALTER TABLE %s ADD CONSTRAINT %s_not_null CHECK (%s IS NOT NULL) NOT VALID; then "
                     "ALTER TABLE %s VALIDATE CONSTRAINT %s_not_null; then SET NOT NULL uses the "
                     "validated constraint instead of a scan (PostgreSQL 12 and later)",
                     tbl, col, col, tbl, col);
            say(r, R_SET_NOT_NULL, tbl, 0,
                "ACCESS EXCLUSIVE while the whole table is scanned: no reads or writes", safe,
                "SET NOT NULL on column \"%s\" of existing table \"%s\" scans it under ACCESS EXCLUSIVE",
                col, tbl);
        } else if (strcmp(sub, "AT_AddConstraint") == 0) {
            json_t *c;
            node_type(def, &c);
            const char *ct = jstr(c, "contype");
            if (strcmp(ct, "CONSTR_FOREIGN") == 0 && !jtrue(c, "skip_validation")) {
                say(r, R_FOREIGN_KEY, tbl, jloc(c),
                    "SHARE ROW EXCLUSIVE on both tables while every row is checked: no writes to either",
                    "ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID, then in a later statement "
                    "ALTER TABLE ... VALIDATE CONSTRAINT (SHARE UPDATE EXCLUSIVE: writes go on)",
                    "ADD FOREIGN KEY on existing table \"%s\" validates every row while writes wait", tbl);
            } else if (strcmp(ct, "CONSTR_CHECK") == 0 && !jtrue(c, "skip_validation")) {
                say(r, R_CHECK, tbl, jloc(c),
                    "ACCESS EXCLUSIVE while every row is checked: no reads or writes",
                    "ADD CONSTRAINT ... CHECK (...) NOT VALID, then in a later statement "
                    "ALTER TABLE ... VALIDATE CONSTRAINT (SHARE UPDATE EXCLUSIVE: writes go on)",
                    "ADD CHECK on existing table \"%s\" validates every row under ACCESS EXCLUSIVE", tbl);
            } else if ((strcmp(ct, "CONSTR_PRIMARY") == 0 || strcmp(ct, "CONSTR_UNIQUE") == 0) &&
                       *jstr(c, "indexname") == 0) {
                say(r, R_UNIQUE, tbl, jloc(c),
                    "ACCESS EXCLUSIVE while the index is built: no reads or writes",
                    "CREATE UNIQUE INDEX CONCURRENTLY ... (in a -- mig:transaction false revision), then "
                    "ALTER TABLE ... ADD CONSTRAINT ... PRIMARY KEY / UNIQUE USING INDEX ...",
                    "ADD %s on existing table \"%s\" builds its index under ACCESS EXCLUSIVE",
                    strcmp(ct, "CONSTR_PRIMARY") == 0 ? "PRIMARY KEY" : "UNIQUE", tbl);
            }
        } else if (strcmp(sub, "AT_DropColumn") == 0) {
            say(r, R_DROP_COLUMN, NULL, 0, NULL,
                "expand/contract: first release an application version that no longer reads or writes "
                "the column, then drop it in a later revision",
                "DROP COLUMN \"%s\" of table \"%s\" breaks the application version still running", col,
                tbl);
        }
    }
    if (exclusive && !r->st->lock_timeout)
        no_lock_timeout(r, tbl,
                        "SET lock_timeout = '5s'; before the statement (or -- mig:lock_timeout 5s, or "
                        "[mig] on_connect), and retry when it times out");
}

static int has_option(const json_t *params, const char *name)
{
    size_t i;
    json_t *n;
    json_array_foreach(params, i, n)
    {
        json_t *b;
        node_type(n, &b);
        if (strcmp(jstr(b, "defname"), name) == 0)
            return 1;
    }
    return 0;
}

/* A CONCURRENTLY statement the server refuses inside a transaction: what names it ("REINDEX"). */
static void concurrent_in_tx(lint_run *r, const char *what)
{
    if (r->in->in_transaction)
        say(r, R_CONCURRENT_TX, NULL, 0, "the server refuses it: ERROR 25001",
            "put the statement in a revision of its own with -- mig:transaction false",
            "%s CONCURRENTLY cannot run inside a transaction", what);
}

static void lint_index(lint_run *r, const json_t *s)
{
    char tbl[256];
    relname(json_object_get(s, "relation"), tbl, sizeof tbl);
    r->st->ddl++;
    if (jtrue(s, "concurrent")) {
        concurrent_in_tx(r, "CREATE INDEX");
        return;
    }
    char *stmt = stmt_text(r->sql);
    char *safe = stmt ? insert_after(stmt, "INDEX", "CONCURRENTLY") : NULL;
    char *advice = NULL;
    if (safe && (advice = malloc(strlen(safe) + 64)) != NULL)
        sprintf(advice, "%s; -- in a -- mig:transaction false revision", safe);
    say(r, R_INDEX, tbl, 0, "SHARE lock on the table for the whole build: INSERT, UPDATE and DELETE wait",
        advice ? advice : "CREATE INDEX CONCURRENTLY in a -- mig:transaction false revision",
        "CREATE INDEX on existing table \"%s\" blocks writes for the whole build", tbl);
    free(stmt);
    free(safe);
    free(advice);
}

static void lint_reindex(lint_run *r, const json_t *s)
{
    char tbl[256];
    r->st->ddl++;
    const json_t *rv = json_object_get(s, "relation");
    relname(rv, tbl, sizeof tbl);
    if (!*tbl)
        snprintf(tbl, sizeof tbl, "%s", jstr(s, "name"));
    if (has_option(json_object_get(s, "params"), "concurrently")) {
        concurrent_in_tx(r, "REINDEX");
        return;
    }
    char *stmt = stmt_text(r->sql);
    char *safe =
        stmt ? insert_after(stmt, strcmp(jstr(s, "kind"), "REINDEX_OBJECT_INDEX") == 0 ? "INDEX" : "TABLE",
                            "CONCURRENTLY")
             : NULL;
    say(r, R_REINDEX, strcmp(jstr(s, "kind"), "REINDEX_OBJECT_TABLE") == 0 ? tbl : NULL, 0,
        "SHARE lock on the table (ACCESS EXCLUSIVE on the index being rebuilt): writes wait",
        safe ? safe
             : "REINDEX ... CONCURRENTLY in a -- mig:transaction false revision (PostgreSQL 12 and later)",
        "REINDEX of \"%s\" blocks writes while it rebuilds", tbl);
    free(stmt);
    free(safe);
}

static void lint_drop(lint_run *r, const json_t *s)
{
    r->st->ddl++;
    const char *rt = jstr(s, "removeType");
    if (jtrue(s, "concurrent"))
        concurrent_in_tx(r, "DROP INDEX");
    if (strcmp(rt, "OBJECT_TABLE") == 0) {
        /* objects[0] is a List of the name's parts: the last is the table */
        json_t *list, *last;
        node_type(json_array_get(json_object_get(s, "objects"), 0), &list);
        json_t *items = json_object_get(list, "items");
        node_type(json_array_get(items, json_array_size(items) - 1), &last);
        const json_t *lb = last;
        say(r, R_DROP_TABLE, NULL, 0, NULL,
            "expand/contract: release an application version that no longer uses the table, then "
            "drop it in a later revision",
            "DROP TABLE \"%s\" breaks the application version still running", jstr(lb, "sval"));
    }
}

static void lint_rename(lint_run *r, const json_t *s)
{
    char tbl[256];
    r->st->ddl++;
    const char *rt = jstr(s, "renameType");
    relname(json_object_get(s, "relation"), tbl, sizeof tbl);
    if (strcmp(rt, "OBJECT_COLUMN") == 0)
        say(r, R_RENAME_COLUMN, NULL, 0, NULL,
            "expand/contract: add the new column, write both, backfill, switch reads, drop the old "
            "one later (or a view with the old name)",
            "RENAME COLUMN \"%s\" of table \"%s\" breaks the application version still running",
            jstr(s, "subname"), tbl);
    else if (strcmp(rt, "OBJECT_TABLE") == 0)
        say(r, R_RENAME_TABLE, NULL, 0, NULL,
            "expand/contract: rename, then CREATE VIEW with the old name for the old application "
            "version, drop the view in a later revision",
            "RENAME of table \"%s\" breaks the application version still running", tbl);
    if ((strcmp(rt, "OBJECT_COLUMN") == 0 || strcmp(rt, "OBJECT_TABLE") == 0) && !r->st->lock_timeout)
        no_lock_timeout(r, tbl,
                        "SET lock_timeout = '5s'; before the statement (or -- mig:lock_timeout 5s), and retry "
                        "when it times out");
}

static void lint_vacuum(lint_run *r, const json_t *s)
{
    char tbl[256];
    size_t i;
    json_t *n;
    if (!has_option(json_object_get(s, "options"), "full"))
        return;
    json_array_foreach(json_object_get(s, "rels"), i, n)
    {
        json_t *b;
        node_type(n, &b);
        relname(json_object_get(b, "relation"), tbl, sizeof tbl);
        say(r, R_VACUUM_FULL, tbl, 0, "ACCESS EXCLUSIVE for the whole rewrite: no reads or writes",
            "plain VACUUM (no lock on reads and writes), or pg_repack run outside the migration",
            "VACUUM FULL of table \"%s\" rewrites it under ACCESS EXCLUSIVE", tbl);
    }
    if (json_array_size(json_object_get(s, "rels")) == 0)
        say(r, R_VACUUM_FULL, NULL, 0, "ACCESS EXCLUSIVE on every table in turn", "plain VACUUM",
            "VACUUM FULL rewrites every table under ACCESS EXCLUSIVE");
}

/* LOCK TABLE and TRUNCATE: one finding per table named, "<what> \"<table>\" <tail>". */
static void lint_relations(lint_run *r, const json_t *s, int rule, const char *why, const char *safe,
                           const char *what, const char *tail)
{
    char tbl[256];
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(s, "relations"), i, n)
    {
        json_t *b;
        node_type(n, &b);
        relname(b, tbl, sizeof tbl);
        say(r, rule, tbl, 0, why, safe, "%s \"%s\" %s", what, tbl, tail);
    }
}

static void lint_create(lint_run *r, const json_t *s)
{
    char tbl[256];
    r->st->ddl++;
    const json_t *rv = json_object_get(s, "relation");
    if (rv == NULL)
        rv = json_object_get(json_object_get(s, "into"), "rel");
    if (rv && r->sink->created && r->rc == 0)
        r->rc = r->sink->created(r->payload, relname(rv, tbl, sizeof tbl));
}

static void lint_tree(lint_run *r, const char *type, const json_t *s)
{
    char tbl[256];
    mig_lint_state *st = r->st;
    if (strcmp(type, "IndexStmt") == 0) {
        lint_index(r, s);
    } else if (strcmp(type, "ReindexStmt") == 0) {
        lint_reindex(r, s);
    } else if (strcmp(type, "AlterTableStmt") == 0) {
        st->ddl++;
        lint_alter_table(r, s);
    } else if (strcmp(type, "DropStmt") == 0) {
        lint_drop(r, s);
    } else if (strcmp(type, "RenameStmt") == 0) {
        lint_rename(r, s);
    } else if (strcmp(type, "AlterEnumStmt") == 0) {
        st->ddl++;
        if (r->in->in_transaction && *jstr(s, "newVal") && !*jstr(s, "oldVal") && r->in->version &&
            r->in->version < 120000)
            say(r, R_ENUM_VALUE, NULL, 0, "the server refuses it: ERROR 25001",
                "put the statement in a revision of its own with -- mig:transaction false",
                "ALTER TYPE ... ADD VALUE cannot run inside a transaction before PostgreSQL 12");
    } else if (strcmp(type, "VacuumStmt") == 0) {
        lint_vacuum(r, s);
    } else if (strcmp(type, "ClusterStmt") == 0) {
        relname(json_object_get(s, "relation"), tbl, sizeof tbl);
        say(r, R_CLUSTER, *tbl ? tbl : NULL, 0,
            "ACCESS EXCLUSIVE for the whole rewrite: no reads or writes",
            "leave physical ordering to a maintenance window, outside migrations",
            "CLUSTER of table \"%s\" rewrites it under ACCESS EXCLUSIVE", *tbl ? tbl : "(all)");
    } else if (strcmp(type, "LockStmt") == 0) {
        lint_relations(r, s, R_LOCK_TABLE,
                       "the lock is held until the transaction ends; ACCESS EXCLUSIVE "
                       "(the default mode) blocks even reads",
                       "do without an explicit lock; if one is needed, take the weakest mode and set lock_timeout",
                       "LOCK TABLE", "holds the lock until the end of the transaction");
    } else if (strcmp(type, "TruncateStmt") == 0) {
        lint_relations(r, s, R_TRUNCATE, "ACCESS EXCLUSIVE: no reads or writes until the transaction ends",
                       "DELETE in batches, if the rows must go while the application runs",
                       "TRUNCATE of table", "takes ACCESS EXCLUSIVE");
    } else if (strcmp(type, "UpdateStmt") == 0 || strcmp(type, "DeleteStmt") == 0) {
        if (json_object_get(s, "whereClause") == NULL)
            st->dml++;
    } else if (strcmp(type, "VariableSetStmt") == 0) {
        if (strcmp(jstr(s, "name"), "lock_timeout") == 0)
            st->lock_timeout = strcmp(jstr(s, "kind"), "VAR_SET_VALUE") == 0;
    } else if (strcmp(type, "CreateStmt") == 0 || strcmp(type, "CreateTableAsStmt") == 0) {
        lint_create(r, s);
    } else if (strcmp(type, "SelectStmt") && strcmp(type, "InsertStmt") &&
               strcmp(type, "TransactionStmt") && strcmp(type, "VariableShowStmt") &&
               strcmp(type, "CopyStmt") && strcmp(type, "DoStmt")) {
        st->ddl++;
    }
}

int pg_lint(const mig_lint_stmt *in, mig_lint_state *st, const mig_lint_sink *sink, void *payload)
{
    char *sql = malloc(in->len + 1);
    if (sql == NULL)
        return MIG_DRV_ERROR;
    memcpy(sql, in->sql, in->len);
    sql[in->len] = 0;
    lint_run r = { in, st, sink, payload, sql, 0 };
    PgQueryParseResult pr = pg_query_parse(sql);
    if (pr.error) {
        say(&r, R_UNPARSABLE, NULL, pr.error->cursorpos > 0 ? (size_t)pr.error->cursorpos - 1 : 0, NULL,
            "fix the statement, or check it with `mig lint --trace` on a scratch database",
            "statement not analysed: the PostgreSQL parser says: %s", pr.error->message);
    } else {
        json_t *tree = json_loads(pr.parse_tree, 0, NULL);
        size_t i;
        json_t *raw;
        json_array_foreach(json_object_get(tree, "stmts"), i, raw)
        {
            json_t *body;
            const char *type = node_type(json_object_get(raw, "stmt"), &body);
            long dml = st->dml, ddl = st->ddl;
            lint_tree(&r, type, body);
            /* the first statement that brings DDL and unbounded DML together in one transaction */
            if (in->in_transaction && !st->reported && st->ddl && st->dml &&
                (dml != st->dml || ddl != st->ddl)) {
                st->reported = 1;
                say(&r, R_DDL_WITH_DML, NULL, 0,
                    "the DDL's lock is held until COMMIT, so the whole UPDATE/DELETE runs with the table locked",
                    "move the data change to a revision of its own, run it in batches (db:backfill), "
                    "or use transaction_per_migration with the DDL apart",
                    "DDL and an UPDATE/DELETE without WHERE run in one transaction");
            }
        }
        json_decref(tree);
    }
    pg_query_free_parse_result(pr);
    free(sql);
    return r.rc;
}

/*
 * The planner's estimate: pg_class.reltuples, kept by VACUUM and ANALYZE.
 * A table never analysed (-1 since PostgreSQL 14) counts as empty when it
 * has no pages yet, else as unknown.
 */
int pg_table_rows(mig_conn *c, const char *table, int64_t *rows, mig_drv_error *err)
{
    char schema[256] = "";
    const char *dot = strchr(table, '.');
    if (dot && (size_t)(dot - table) < sizeof schema) {
        memcpy(schema, table, (size_t)(dot - table));
        schema[dot - table] = 0;
        table = dot + 1;
    }
    const char *params[2] = { table, *schema ? schema : c->schema };
    PGresult *res = NULL;
    int rc = pg_run(c, &res,
                    "SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint "
                    "WHEN c.relpages = 0 THEN 0 ELSE -1 END "
                    "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relname = $1 AND n.nspname = coalesce($2, current_schema())",
                    2, params, err);
    if (rc != MIG_DRV_OK)
        return rc;
    *rows = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;
    PQclear(res);
    return MIG_DRV_OK;
}
