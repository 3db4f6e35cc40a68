/*
 * mig lint: what a revision does to a live database while it runs.
 *
 * The core knows no database, so the rules of a dialect live with its
 * driver (the lint slot: PostgreSQL reads libpg_query's parse tree, the
 * others their tokenizer's output). The core does the rest, the same for
 * every dialect: which revisions to judge, statement boundaries (the
 * driver's own splitter), suppression comments, [lint] levels, the rules
 * about whole revisions (MIG001-MIG003) and ranking by the live size of
 * each table. Findings are gathered first and reported after ranking, so
 * lock evidence from a traced run can be attached by (revision,
 * statement_index) before they go out.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api.h"
#include "revfile.h"
#include "schema.h"
#include "rules.h"
#include "tenant.h"

static const mig_lint_rule core_rules[] = {
    { "MIG001", "empty-downgrade", MIG_LINT_WARNING, NULL,
      "the downgrade section holds no statement: downgrading through it undoes nothing", NULL },
    { "MIG002", "destructive-downgrade", MIG_LINT_WARNING, NULL,
      "the downgrade drops a table or a column, or deletes rows: the data written since is lost", NULL },
    { "MIG003", "lua-not-analysed", MIG_LINT_INFO, NULL,
      "a Lua revision's statements are only known when it runs", NULL },
    { "MIG004", "traced-lock", MIG_LINT_WARNING, NULL,
      "mig lint --trace saw a statement take an ACCESS EXCLUSIVE or SHARE lock on an existing table "
      "that no rule predicted",
      NULL },
    { "MIG005", "ddl-in-backfill", MIG_LINT_WARNING, NULL,
      "a Lua revision runs DDL and db:backfill: its upgrade runs again from the top when the backfill resumes",
      NULL },
    { "MIG006", "destructive-outside-contract", MIG_LINT_WARNING, NULL,
      "a DROP or RENAME of a column or table in a revision not marked -- mig:phase contract", NULL },
    { NULL, NULL, 0, NULL, NULL, NULL },
};
enum {
    CORE_EMPTY_DOWN,
    CORE_DESTRUCTIVE_DOWN,
    CORE_LUA,
    CORE_TRACED,
    CORE_DDL_BACKFILL,
    CORE_OUTSIDE_CONTRACT
};

static const char *const level_names[] = { "info", "warning", "error" };

typedef struct lint_item {
    const mig_lint_rule *rule;
    int level;
    const mig_rev *rev;
    int line, column;
    size_t stmt_index;
    char *statement;
    char *message, *why, *safe, *table;
    int created; /* the table was created earlier in the run */
    long long rows;
    mig_strvec evidence; /* --trace: "lock\ttable\tms\ttext" each */
} lint_item;

typedef struct lint_cfg {
    mig_strvec disable, error, warning, info;
    long min_rows;
    int pg_version, sqlite_version;
    int lock_timeout; /* [mig] on_connect sets one, or [mig] lock_timeout_ddl is set */
} lint_cfg;

typedef struct lint_run {
    mig_ctx *ctx;
    const mig_plugin *plugin;
    lint_cfg cfg;
    lint_item *items;
    size_t n, cap;
    mig_strvec created; /* tables created so far in the run */
    mig_strvec tables;  /* tables findings are about, for the size queries */
    long long *rows;    /* per tables entry, the largest seen */
    pthread_mutex_t mu;
    /* the statement being judged */
    const mig_rev *rev;
    const char *file; /* the revision file's bytes */
    size_t stmt_off, stmt_len;
    size_t stmt_index;
    size_t outside_contract_at; /* stmt_index + 1 of the last MIG006, said once per statement */
    mig_strvec suppress;        /* rule ids or names off for this statement (header's + its own) */
    int rc;
} lint_run;

/* ------------------------------------------------------------------ */
/* configuration                                                       */

static int split_names(mig_strvec *out, const char *v)
{
    while (v && *v) {
        while (*v == ',' || isspace((unsigned char)*v))
            v++;
        size_t n = strcspn(v, ", \t");
        if (n && mig_strvec_push_owned(out, mig_strndup(v, n)) < 0)
            return MIG_ENOMEM;
        v += n;
    }
    return 0;
}

/* "15", "9.6", "12.3" -> 150000, 90600, 120000 (PostgreSQL numbering); "3.35.0" -> 3035000 (SQLite). */
static int parse_version(const char *s, int sqlite, int *out)
{
    int a = 0, b = 0, c = 0;
    char tail = 0;
    int n = sscanf(s, "%d.%d.%d%c", &a, &b, &c, &tail);
    if (n < 1 || n > 3 || a <= 0)
        return -1;
    if (sqlite)
        *out = a * 1000000 + b * 1000 + c;
    else
        *out = a >= 10 ? a * 10000 : a * 10000 + b * 100;
    return 0;
}

static int rule_known(const lint_run *r, const char *name);

static int contains_ci(const char *s, const char *w)
{
    size_t n = strlen(w);
    for (; *s; s++)
        if (strncasecmp(s, w, n) == 0)
            return 1;
    return 0;
}

static int load_cfg(lint_run *r)
{
    mig_ctx *ctx = r->ctx;
    lint_cfg *c = &r->cfg;
    c->min_rows = 10000;
    if (ctx->cfg == NULL)
        return 0;
    static const char *const lists[] = { "disable", "error", "warning" };
    mig_strvec *vecs[] = { &c->disable, &c->error, &c->warning };
    for (size_t i = 0; i < 3; i++) {
        char *v = NULL;
        int line = 0;
        if (mig_config_raw(ctx->cfg, "lint", lists[i], &line) == NULL)
            continue;
        int rc = mig_config_get(ctx->cfg, ctx, "lint", lists[i], &v);
        if (rc == 0)
            rc = split_names(vecs[i], v);
        free(v);
        if (rc)
            return rc;
        for (size_t j = 0; j < vecs[i]->n; j++)
            if (!rule_known(r, vecs[i]->v[j]))
                return mig_fail_at(ctx, MIG_ECONFIG, mig_config_path(ctx->cfg), line,
                                   "[lint] %s: unknown rule '%s' (the rules: docs/lint.md)", lists[i],
                                   vecs[i]->v[j]);
    }
    const char *oc = mig_config_raw(ctx->cfg, "mig", "on_connect", NULL);
    c->lock_timeout = mig_config_raw(ctx->cfg, "mig", "lock_timeout_ddl", NULL) != NULL ||
                      (oc && contains_ci(oc, "lock_timeout"));
    int rc = mig_config_get_int(ctx->cfg, ctx, "lint", "min_rows", 10000, &c->min_rows);
    if (rc == 0 && c->min_rows < 0) {
        int line = 0;
        mig_config_raw(ctx->cfg, "lint", "min_rows", &line);
        rc = mig_fail_at(ctx, MIG_ECONFIG, mig_config_path(ctx->cfg), line,
                         "[lint] min_rows must be 0 or more, not %ld", c->min_rows);
    }
    static const char *const vers[] = { "postgres_version", "sqlite_version" };
    int *outs[] = { &c->pg_version, &c->sqlite_version };
    for (size_t i = 0; rc == 0 && i < 2; i++) {
        int line = 0;
        if (mig_config_raw(ctx->cfg, "lint", vers[i], &line) == NULL)
            continue;
        char *v = NULL;
        rc = mig_config_get(ctx->cfg, ctx, "lint", vers[i], &v);
        if (rc == 0 && parse_version(v, i == 1, outs[i]) != 0)
            rc = mig_fail_at(ctx, MIG_ECONFIG, mig_config_path(ctx->cfg), line,
                             "[lint] %s: '%s' is not a version (want e.g. %s)", vers[i], v,
                             i == 1 ? "3.35.0" : "15 or 9.6");
        free(v);
    }
    return rc;
}

static const mig_lint_rule *driver_rules(const lint_run *r)
{
    return r->plugin ? mig_plugin_lint_rules(r->plugin) : NULL;
}

static int rule_is(const mig_lint_rule *rule, const char *name)
{
    return strcasecmp(rule->id, name) == 0 || strcmp(rule->name, name) == 0;
}

static int rule_known(const lint_run *r, const char *name)
{
    for (const mig_lint_rule *p = core_rules; p->id; p++)
        if (rule_is(p, name))
            return 1;
    const mig_lint_rule *d = driver_rules(r);
    for (; d && d->id; d++)
        if (rule_is(d, name))
            return 1;
    return 0;
}

static int listed(const mig_strvec *v, const mig_lint_rule *rule)
{
    for (size_t i = 0; i < v->n; i++)
        if (rule_is(rule, v->v[i]))
            return 1;
    return 0;
}

static int rule_level(const lint_cfg *c, const mig_lint_rule *rule)
{
    if (listed(&c->error, rule))
        return MIG_LINT_ERROR;
    if (listed(&c->warning, rule))
        return MIG_LINT_WARNING;
    if (listed(&c->info, rule))
        return MIG_LINT_INFO;
    return rule->level;
}

/* ------------------------------------------------------------------ */
/* suppression comments                                                */

/*
 * "-- mig:lint disable=PG001,PG007 -- reason" in line[0..n): the names
 * go into out. Returns 1 when the line is such a comment, -1 when it is
 * one but malformed.
 */
static int parse_disable(const char *line, size_t n, mig_strvec *out)
{
    const char *p = line, *end = line + n;
    while (p < end && isspace((unsigned char)*p))
        p++;
    if (end - p < 2 || p[0] != '-' || p[1] != '-')
        return 0;
    p += 2;
    while (p < end && isspace((unsigned char)*p))
        p++;
    if ((size_t)(end - p) < 8 || strncmp(p, "mig:lint", 8) != 0 ||
        (p + 8 < end && !isspace((unsigned char)p[8])))
        return 0;
    p += 8;
    while (p < end && isspace((unsigned char)*p))
        p++;
    if ((size_t)(end - p) < 8 || strncmp(p, "disable=", 8) != 0)
        return -1;
    p += 8;
    const char *stop = p;
    while (stop < end && !(stop + 1 < end && stop[0] == '-' && stop[1] == '-'))
        stop++;
    char *names = mig_strndup(p, (size_t)(stop - p));
    if (names == NULL)
        return -1;
    int rc = split_names(out, names);
    free(names);
    return rc ? -1 : 1;
}

/* Does a header line (data[0..end)) start with "-- KEY"? */
static int header_has(const char *data, size_t end, const char *key)
{
    size_t kl = strlen(key);
    for (size_t off = 0; off < end;) {
        const char *p = data + off, *nl = memchr(p, '\n', end - off);
        size_t n = nl ? (size_t)(nl - p) : end - off;
        if (n > 3 && p[0] == '-' && p[1] == '-') {
            const char *q = p + 2;
            while (q < p + n && (*q == ' ' || *q == '\t'))
                q++;
            if ((size_t)(p + n - q) >= kl && strncmp(q, key, kl) == 0 &&
                (q + kl == p + n || q[kl] == ' ' || q[kl] == '\t'))
                return 1;
        }
        off += n + 1;
    }
    return 0;
}

static int line_of(const char *data, size_t off, int *col)
{
    int line = 1;
    size_t bol = 0;
    for (size_t i = 0; i < off; i++)
        if (data[i] == '\n') {
            line++;
            bol = i + 1;
        }
    if (col)
        *col = (int)(off - bol) + 1;
    return line;
}

/* Read every "-- mig:lint" line of a region; bad ones are MIG_EREVFILE at their line. */
static int read_disables(lint_run *r, const char *data, size_t from, size_t to, mig_strvec *out)
{
    size_t off = from;
    while (off < to) {
        const char *nl = memchr(data + off, '\n', to - off);
        size_t n = nl ? (size_t)(nl - (data + off)) : to - off;
        mig_strvec names = MIG_STRVEC_INIT;
        int k = parse_disable(data + off, n, &names);
        for (size_t i = 0; k == 1 && i < names.n; i++)
            if (!rule_known(r, names.v[i])) {
                int line = line_of(data, off, NULL);
                int rc = mig_fail_at(r->ctx, MIG_EREVFILE, r->rev->path, line,
                                     "mig:lint disable: unknown rule '%s'", names.v[i]);
                mig_strvec_release(&names);
                return rc;
            }
        if (k < 0) {
            mig_strvec_release(&names);
            return mig_fail_at(r->ctx, MIG_EREVFILE, r->rev->path, line_of(data, off, NULL),
                               "malformed '-- mig:lint' line (want '-- mig:lint disable=PG001,PG007 -- reason')");
        }
        for (size_t i = 0; i < names.n; i++)
            if (mig_strvec_push(out, names.v[i]) < 0) {
                mig_strvec_release(&names);
                return mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
            }
        mig_strvec_release(&names);
        off += n + 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* findings                                                            */

/* Same table, with or without a schema on either side. */
static int same_table(const char *a, const char *b)
{
    if (strcmp(a, b) == 0)
        return 1;
    const char *da = strrchr(a, '.'), *db = strrchr(b, '.');
    if ((da == NULL) == (db == NULL))
        return 0;
    return strcmp(da ? da + 1 : a, db ? db + 1 : b) == 0;
}

static int add_item(lint_run *r, const mig_lint_rule *rule, int line, int col, const char *stmt,
                    const char *msg, const char *why, const char *safe, const char *table)
{
    if (listed(&r->cfg.disable, rule) || listed(&r->suppress, rule))
        return 0;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        lint_item *v = realloc(r->items, cap * sizeof *v);
        if (v == NULL)
            return mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
        r->items = v;
        r->cap = cap;
    }
    lint_item *it = &r->items[r->n];
    memset(it, 0, sizeof *it);
    it->rule = rule;
    it->level = rule_level(&r->cfg, rule);
    it->rev = r->rev;
    it->line = line;
    it->column = col;
    it->stmt_index = r->stmt_index;
    it->rows = -1;
    it->statement = mig_strdup(stmt ? stmt : "");
    it->message = mig_strdup(msg ? msg : "");
    it->why = mig_strdup(why ? why : "");
    it->safe = mig_strdup(safe ? safe : "");
    it->table = mig_strdup(table ? table : "");
    r->n++;
    if (!it->statement || !it->message || !it->why || !it->safe || !it->table)
        return mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
    if (table) {
        for (size_t i = 0; i < r->created.n; i++)
            if (same_table(r->created.v[i], table))
                it->created = 1;
        if (!it->created && !mig_strvec_contains(&r->tables, table) &&
            mig_strvec_push(&r->tables, table) < 0)
            return mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
    }
    return 0;
}

/* The statement's text from its first token, trailing blanks and ';' cut. */
static char *statement_text(const char *s, size_t n, size_t *skipped)
{
    size_t i = 0;
    for (;;) {
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (i + 1 < n && ((s[i] == '-' && s[i + 1] == '-') || s[i] == '#')) {
            while (i < n && s[i] != '\n')
                i++;
            continue;
        }
        break;
    }
    size_t e = n;
    while (e > i && (isspace((unsigned char)s[e - 1]) || s[e - 1] == ';'))
        e--;
    *skipped = i;
    return mig_strndup(s + i, e - i);
}

/*
 * The dialects' drop-column, drop-table, rename-column and rename-table
 * rules find the steps that break the running application version; MIG006
 * says, once per statement and under one id on every driver, that such a
 * step belongs in a contract revision. Keyed by the rules' names, which
 * every driver shares, so the dialects' parsing is not done twice.
 */
static int breaks_running_version(const mig_lint_rule *rule)
{
    static const char *const names[] = { "drop-column", "drop-table", "rename-column", "rename-table" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (rule && rule->name && strcmp(rule->name, names[i]) == 0)
            return 1;
    return 0;
}

static int on_finding(void *payload, const mig_lint_finding *f)
{
    lint_run *r = payload;
    size_t at = r->stmt_off + (f->offset < r->stmt_len ? f->offset : 0), skipped = 0;
    char *stmt = statement_text(r->file + r->stmt_off, r->stmt_len, &skipped);
    if (f->offset == 0)
        at = r->stmt_off + skipped;
    int col = 0, line = line_of(r->file, at, &col);
    int rc = stmt ? add_item(r, f->rule, line, col, stmt, f->message, f->why, f->safe, f->table)
                  : mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
    if (rc == 0 && !r->rev->contract && breaks_running_version(f->rule) &&
        r->outside_contract_at != r->stmt_index + 1) {
        r->outside_contract_at = r->stmt_index + 1;
        char *m = mig_aprintf("%s in %s, which is not marked -- mig:phase contract: %s", f->rule->name,
                              r->rev->id, stmt);
        rc = m ? add_item(r, &core_rules[CORE_OUTSIDE_CONTRACT], line, col, stmt, m,
                          "`mig upgrade --expand` applies it before the new application version is out, "
                          "while the running version still uses what it drops or renames",
                          "move it into a revision of its own marked -- mig:phase contract", f->table)
               : mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
        free(m);
    }
    free(stmt);
    return rc ? 1 : 0;
}

static int on_created(void *payload, const char *table)
{
    lint_run *r = payload;
    if (mig_strvec_push(&r->created, table) < 0) {
        mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
        return 1;
    }
    return 0;
}

static int version_for(const lint_run *r)
{
    const char *name = r->plugin->driver->name;
    if (strcmp(name, "postgres") == 0)
        return r->cfg.pg_version;
    if (strcmp(name, "sqlite") == 0)
        return r->cfg.sqlite_version;
    return 0;
}

/*
 * Where a db:exec/db:query string literal at p starts with DDL: its first
 * word after the literal's opening quote (", ' or [[).
 */
static int lua_call_is_ddl(const char *p)
{
    static const char *const kw[] = { "ALTER", "CREATE", "DROP", "RENAME", "TRUNCATE" };
    while (*p == ' ' || *p == '\t' || *p == '(')
        p++;
    if (*p == '"' || *p == '\'')
        p++;
    else if (p[0] == '[' && p[1] == '[')
        p += 2;
    else
        return 0;
    while (isspace((unsigned char)*p))
        p++;
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++) {
        size_t n = strlen(kw[i]);
        if (strncasecmp(p, kw[i], n) == 0 && !isalnum((unsigned char)p[n]) && p[n] != '_')
            return 1;
    }
    return 0;
}

/*
 * MIG005 ddl-in-backfill. A Lua revision is otherwise not analysed, so this
 * is a scan of its text: a call of db:backfill, and a db:exec or db:query
 * whose string literal starts with DDL. On resume the upgrade function runs
 * again from the top, so that DDL must be idempotent.
 */
static int lint_lua_backfill(lint_run *r, const mig_rev *rev)
{
    mig_revbody b;
    int rc = mig_revfile_load_body(&b, r->ctx, rev);
    if (rc)
        return rc;
    const char *ddl = NULL;
    if (strstr(b.data, "db:backfill") != NULL) {
        for (const char *p = b.data; ddl == NULL && (p = strstr(p, "db:")) != NULL; p += 3) {
            if (strncmp(p + 3, "exec", 4) == 0 && lua_call_is_ddl(p + 7))
                ddl = p;
            else if (strncmp(p + 3, "query", 5) == 0 && lua_call_is_ddl(p + 8))
                ddl = p;
        }
    }
    if (ddl) {
        r->file = b.data;
        int col = 0, line = line_of(b.data, (size_t)(ddl - b.data), &col);
        size_t n = strcspn(ddl, "\n");
        char *stmt = mig_strndup(ddl, n);
        char *m =
            mig_aprintf("Lua revision %s runs DDL and db:backfill: its upgrade runs again from the top "
                        "when the backfill resumes, so the statements before db:backfill must be idempotent",
                        rev->id);
        rc = stmt && m
                 ? add_item(r, &core_rules[CORE_DDL_BACKFILL], line, col, stmt, m,
                            "after a kill or Ctrl-C the next upgrade runs the function again from the top",
                            "make the DDL idempotent (IF NOT EXISTS, IF EXISTS) or move it into a revision "
                            "of its own",
                            NULL)
                 : mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
        free(stmt);
        free(m);
        r->file = NULL;
    }
    mig_revbody_release(&b);
    return rc;
}

static int lint_rev(lint_run *r, const mig_rev *rev)
{
    mig_ctx *ctx = r->ctx;
    r->rev = rev;
    r->outside_contract_at = 0;
    mig_strvec_release(&r->suppress);
    if (rev->is_lua) {
        mig_buf m = MIG_BUF_INIT;
        mig_buf_printf(&m, "Lua revision %s not analysed; `mig lint --trace` sees what it does", rev->id);
        int rc = add_item(r, &core_rules[CORE_LUA], 1, 1, "", mig_buf_cstr(&m), NULL,
                          "run it on a scratch database first", NULL);
        mig_buf_release(&m);
        if (rc == 0)
            rc = lint_lua_backfill(r, rev);
        return rc;
    }
    mig_revbody b;
    int rc = mig_revfile_load_body(&b, ctx, rev);
    if (rc)
        return rc;
    r->file = b.data;
    /* the header's lines (up to the first section) apply to every statement */
    size_t head_end = b.has_upgrade ? b.up_off : b.len;
    rc = read_disables(r, b.data, 0, head_end, &r->suppress);
    mig_lint_state st;
    memset(&st, 0, sizeof st);
    /* a lock_timeout from the configuration or the revision's header is in force for every statement */
    st.lock_timeout =
        r->cfg.lock_timeout || header_has(b.data, b.has_upgrade ? b.up_off : b.len, "mig:lock_timeout");
    const mig_lint_sink sink = { on_finding, on_created };
    size_t off = 0, header_n = r->suppress.n;
    const char *sql = b.data + b.up_off;
    r->stmt_index = 0;
    while (rc == 0 && b.has_upgrade && off < b.up_len) {
        int empty = 0;
        size_t n = mig_plugin_statement_end(r->plugin, sql + off, b.up_len - off, &empty);
        if (n == 0)
            break;
        if (!empty) {
            /* a suppression on the lines before the statement (its leading comments) */
            while (r->suppress.n > header_n)
                mig_strvec_remove_at(&r->suppress, r->suppress.n - 1);
            size_t lead = 0;
            char *t = statement_text(sql + off, n, &lead);
            free(t);
            rc = read_disables(r, b.data, b.up_off + off, b.up_off + off + lead, &r->suppress);
            r->stmt_off = b.up_off + off;
            r->stmt_len = n;
            mig_lint_stmt in = { sql + off, n, rev->transactional, version_for(r) };
            if (rc == 0) {
                int drc = mig_plugin_lint(r->plugin, &in, &st, &sink, r);
                if (drc > 0) /* the sink failed and said why */
                    rc = ctx->err_code ? ctx->err_code : MIG_ENOMEM;
                else if (drc < 0)
                    rc = mig_fail_at(ctx, MIG_EDRIVER, rev->path, line_of(b.data, r->stmt_off, NULL),
                                     "driver %s could not lint this statement", r->plugin->driver->name);
            }
            r->stmt_index++;
        }
        off += n;
    }
    /* the downgrade after the upgrade: findings come in file order */
    const mig_dialect *d = r->plugin->driver->dialect;
    if (rc == 0 && mig_rule_empty_downgrade_hits(rev, &b, d)) {
        mig_buf m = MIG_BUF_INIT;
        mig_rule_empty_downgrade_say(&m, rev);
        mig_buf_puts(&m, ": downgrading through it undoes nothing");
        rc = add_item(r, &core_rules[CORE_EMPTY_DOWN], line_of(b.data, b.down_off, NULL), 1, "",
                      mig_buf_cstr(&m), NULL, "write the statements that undo the upgrade", NULL);
        mig_buf_release(&m);
    }
    size_t doff = 0;
    if (rc == 0 && mig_rule_destructive_downgrade_hits(&b, d, &doff)) {
        size_t skipped = 0, n = strcspn(b.data + doff, ";");
        char *stmt = statement_text(b.data + doff, n, &skipped);
        int col = 0, line = line_of(b.data, doff, &col);
        char *m = mig_aprintf("downgrade of %s throws data away: %s", rev->id, stmt ? stmt : "");
        rc = add_item(r, &core_rules[CORE_DESTRUCTIVE_DOWN], line, col, stmt ? stmt : "", m ? m : "",
                      "rows written since the upgrade are lost when it is undone",
                      "keep the data: rename or leave the table/column, or copy it out before dropping",
                      NULL);
        free(stmt);
        free(m);
    }
    r->file = NULL;
    mig_revbody_release(&b);
    return rc;
}

/* ------------------------------------------------------------------ */
/* which revisions                                                     */

typedef struct select_state {
    lint_run *r;
    mig_graph *g;
    unsigned char *pending; /* per graph index: not applied in some tenant */
    int sizes;              /* this pass reads table sizes */
} select_state;

static int visit_db(mig_ctx *c, select_state *s)
{
    mig_session ses;
    int missing = 0;
    int rc = mig_session_open_ro(&ses, c, &missing);
    if (rc)
        return rc;
    size_t n = mig_graph_count(s->g);
    if (!s->sizes) {
        mig_strvec heads = MIG_STRVEC_INIT;
        unsigned char *applied = calloc(n + 1, 1);
        if (applied == NULL)
            rc = mig_fail(c, MIG_ENOMEM, "out of memory");
        if (rc == 0 && !missing)
            rc = mig_state_read_heads(&ses.st, c, ses.db, &heads);
        if (rc == 0 && mig_graph_applied(applied, c, s->g, (const char *const *)heads.v, heads.n) != 0)
            rc = c->err_code;
        pthread_mutex_lock(&s->r->mu);
        for (size_t i = 0; rc == 0 && i < n; i++)
            if (!applied[i])
                s->pending[i] = 1;
        pthread_mutex_unlock(&s->r->mu);
        free(applied);
        mig_strvec_release(&heads);
    } else if (!missing) {
        for (size_t i = 0; rc == 0 && i < s->r->tables.n; i++) {
            int64_t rows = -1;
            rc = mig_db_table_rows(ses.db, c, s->r->tables.v[i], &rows);
            pthread_mutex_lock(&s->r->mu);
            if (rows > s->r->rows[i])
                s->r->rows[i] = rows;
            pthread_mutex_unlock(&s->r->mu);
        }
    }
    mig_session_close(&ses);
    return rc;
}

static int visit_tenant(mig_ctx *child, void *payload)
{
    return visit_db(child, payload);
}

/* Every database (each tenant's, or the one): pending revisions, or table sizes. */
static int visit_all(mig_ctx *ctx, select_state *s)
{
    if (!mig_has_tenants(ctx) || ctx->tenant)
        return visit_db(ctx, s);
    int rc = mig_ctx_prepare_shared(ctx);
    if (rc)
        return rc;
    return mig_tenant_foreach(ctx, visit_tenant, s, MIG_TENANT_NO_REPORT);
}

/* RANGE: "REV" alone, "A:B", "A:" (A and what follows), ":B" (B and what precedes). */
static int select_range(mig_ctx *ctx, const mig_graph *g, const char *range, unsigned char *keep)
{
    const char *colon = strchr(range, ':');
    const mig_rev *lo = NULL, *hi = NULL;
    char *a = colon ? mig_strndup(range, (size_t)(colon - range)) : mig_strdup(range);
    const char *b = colon ? colon + 1 : NULL;
    int rc = a ? 0 : mig_fail(ctx, MIG_ENOMEM, "out of memory");
    if (rc == 0 && *a && strcmp(a, "base") != 0)
        rc = mig_graph_find(&lo, ctx, g, a);
    if (rc == 0 && b && *b && strcmp(b, "head") != 0 && strcmp(b, "heads") != 0)
        rc = mig_graph_find(&hi, ctx, g, b);
    free(a);
    if (rc)
        return rc == MIG_ENOMEM ? rc : MIG_ETARGET;
    for (size_t i = 0; i < mig_graph_count(g); i++) {
        const mig_rev *rev = mig_graph_at(g, i);
        if (!colon)
            keep[i] = rev == lo;
        else
            keep[i] = (lo == NULL || rev == lo || mig_graph_is_ancestor(g, lo, rev)) &&
                      (hi == NULL || rev == hi || mig_graph_is_ancestor(g, rev, hi));
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* --trace: the pending revisions in a scratch database                */

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

typedef struct trace_run {
    lint_run *r;
    mig_ctx *sctx;
    mig_db *db;
    mig_graph *g;
    mig_db *poll;      /* a second session, for locks seen only while the statement runs */
    long long sid;     /* db's session id, for poll */
    mig_strvec before; /* the tables there before the pending revisions */
    int sqlite;
} trace_run;

/* The statement's findings get line; without one, MIG004 at line (about table). */
static int attach(trace_run *t, const mig_rev *rev, size_t idx, const char *line, const char *stmt,
                  int at_line, int at_col, const char *mode, const char *table)
{
    lint_run *r = t->r;
    int found = 0;
    for (size_t i = 0; i < r->n; i++) {
        lint_item *it = &r->items[i];
        if (it->rev == rev && it->stmt_index == idx && *it->statement) {
            found = 1;
            if (mig_strvec_push(&it->evidence, line) < 0)
                return mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
        }
    }
    if (found || mode == NULL)
        return 0;
    char *m = mig_aprintf("%s took %s on \"%s\", which no rule predicted", rev->id, mode, table);
    char *why = mig_aprintf("%s blocks %s on \"%s\" while it is held", mode,
                            strstr(mode, "EXCLUSIVE") && !strstr(mode, "NO_WRITE") ? "reads and writes"
                                                                                   : "writes",
                            table);
    size_t before = r->n;
    int rc = m && why ? add_item(r, &core_rules[CORE_TRACED], at_line, at_col, stmt, m, why,
                                 "run it where the table is idle, or split the change", table)
                      : mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
    free(m);
    free(why);
    if (rc == 0 && r->n > before && mig_strvec_push(&r->items[r->n - 1].evidence, line) < 0)
        rc = mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
    if (rc == 0 && r->n > before) {
        /* in place: graph order, then the statement's order in its file (whole-revision findings last) */
        size_t gi = mig_graph_index(t->g, rev), at = 0;
        while (at < r->n - 1) {
            const lint_item *o = &r->items[at];
            size_t oi = mig_graph_index(t->g, o->rev);
            if (oi > gi || (oi == gi && (o->stmt_index > idx || !*o->statement)))
                break;
            at++;
        }
        if (at < r->n - 1) {
            lint_item it = r->items[r->n - 1];
            memmove(&r->items[at + 1], &r->items[at], (r->n - 1 - at) * sizeof it);
            r->items[at] = it;
        }
    }
    return rc;
}

/* The locks of the query's rows into seen ("MODE\ttable", each once). */
static int read_locks(trace_run *t, mig_db *db, const char *sql, mig_strvec *seen)
{
    lint_run *r = t->r;
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    int rc = mig_db_query(&cur, db, r->ctx, sql, NULL, 0);
    while (rc == 0 && (rc = mig_db_fetch(cur, db, r->ctx, &row)) == 0 && row) {
        if (row->ncols < 2 || row->values[0].type != MIG_VAL_TEXT || row->values[1].type != MIG_VAL_TEXT)
            continue;
        char *e = mig_aprintf("%.*s\t%.*s", (int)row->values[0].u.s.len, row->values[0].u.s.ptr,
                              (int)row->values[1].u.s.len, row->values[1].u.s.ptr);
        if (e == NULL || (!mig_strvec_contains(seen, e) && mig_strvec_push(seen, e) < 0))
            rc = mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
        free(e);
    }
    if (cur)
        mig_db_cursor_close(db, cur);
    return rc;
}

typedef struct exec_job {
    mig_db *db;
    mig_ctx *ctx; /* the thread's own, for its error */
    const char *sql;
    size_t len;
    int rc;
    pthread_mutex_t mu;
    int done;
} exec_job;

static void *exec_thread(void *arg)
{
    exec_job *j = arg;
    int rc = mig_db_exec(j->db, j->ctx, j->sql, j->len, NULL, NULL);
    pthread_mutex_lock(&j->mu);
    j->rc = rc;
    j->done = 1;
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* Run the statement on t->db while the second session polls its locks into seen. */
static int exec_polled(trace_run *t, const char *sql, size_t len, mig_strvec *seen)
{
    lint_run *r = t->r;
    exec_job j = { t->db, NULL, sql, len, 0, PTHREAD_MUTEX_INITIALIZER, 0 };
    if (mig_ctx_new_empty(&j.ctx) != 0)
        return mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
    char *q = mig_aprintf(r->plugin->driver->trace_poll_sql, t->sid);
    pthread_t th;
    int rc = q == NULL ? mig_fail(r->ctx, MIG_ENOMEM, "out of memory") : 0;
    if (rc == 0 && pthread_create(&th, NULL, exec_thread, &j) != 0)
        rc = mig_fail(r->ctx, MIG_EFAIL, "cannot start a thread to trace the statement");
    else if (rc == 0) {
        for (int done = 0, prc = 0; !done;) {
            if (prc == 0)
                prc = read_locks(t, t->poll, q, seen);
            if (prc)
                mig_error_clear(r->ctx); /* a failed poll loses evidence, not the run */
            pthread_mutex_lock(&j.mu);
            done = j.done;
            pthread_mutex_unlock(&j.mu);
            if (!done)
                nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
        }
        pthread_join(th, NULL);
        rc = j.rc;
        if (rc) {
            mig_error_state st;
            mig_error_save(j.ctx, &st);
            mig_error_restore(r->ctx, &st);
        }
    }
    free(q);
    mig_ctx_free(j.ctx);
    pthread_mutex_destroy(&j.mu);
    return rc;
}

static int trace_stmt(trace_run *t, const mig_rev *rev, size_t idx, const char *sql, size_t len,
                      const char *stmt, int line, int col)
{
    lint_run *r = t->r;
    const char *locks =
        MIG_DRIVER_HAS(r->plugin->driver, trace_locks_sql) ? r->plugin->driver->trace_locks_sql : NULL;
    int in_tx = rev->transactional;
    /* without locks that last until commit, see them while the statement runs */
    int polled = t->poll && (!in_tx || locks == NULL);
    mig_strvec seen = MIG_STRVEC_INIT; /* "MODE\ttable" */
    int rc = in_tx ? mig_db_begin(t->db, r->ctx, 1) : 0;
    double t0 = now_ms();
    if (rc == 0)
        rc = polled ? exec_polled(t, sql, len, &seen) : mig_db_exec(t->db, r->ctx, sql, len, NULL, NULL);
    double ms = now_ms() - t0;
    if (rc) {
        if (in_tx)
            mig_db_rollback(t->db, r->ctx);
        mig_strvec_release(&seen);
        char *why = mig_strdup(mig_last_error(r->ctx)->message);
        rc = mig_fail_at(r->ctx, MIG_EFAIL, rev->path, line,
                         "--trace: the statement failed in the scratch database: %s", why ? why : "");
        free(why);
        return rc;
    }
    if (in_tx && locks && !polled && !t->sqlite)
        rc = read_locks(t, t->db, locks, &seen);
    if (in_tx) {
        if (rc == 0)
            rc = mig_db_commit(t->db, r->ctx);
        else
            mig_db_rollback(t->db, r->ctx);
    }
    if (rc == 0 && t->sqlite) {
        /* one lock for the whole file: every statement of a write transaction holds it */
        char *e =
            mig_aprintf("write\t\t%.3f\tSQLite has one database-wide write lock: held %s (%.0f ms)", ms,
                        in_tx ? "until the statement's transaction commits" : "while it ran", ms);
        rc = e ? attach(t, rev, idx, e, stmt, line, col, NULL, NULL)
               : mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
        free(e);
    } else if (rc == 0 && !in_tx && !polled) {
        char *e =
            mig_aprintf("\t\t%.3f\tran outside a transaction (%.0f ms): its locks are not read", ms, ms);
        rc = e ? attach(t, rev, idx, e, stmt, line, col, NULL, NULL)
               : mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
        free(e);
    }
    for (size_t i = 0; rc == 0 && i < seen.n; i++) {
        char *tab = strchr(seen.v[i], '\t');
        *tab++ = '\0';
        const char *mode = seen.v[i];
        /* the driver's query names only the locks that block; a table made in this run is nobody's yet */
        if (!mig_strvec_contains(&t->before, tab))
            continue;
        char *e = mig_aprintf("%s\t%s\t%.3f\t%s on \"%s\" until commit (statement: %.0f ms)", mode, tab,
                              ms, mode, tab, ms);
        rc = e ? attach(t, rev, idx, e, stmt, line, col, mode, tab)
               : mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
        free(e);
    }
    mig_strvec_release(&seen);
    return rc;
}

/* The second session, and a first poll to learn the lock table is there. */
static int poll_open(trace_run *t, const char *surl)
{
    lint_run *r = t->r;
    mig_cursor *cur = NULL;
    const mig_row *row = NULL;
    int rc = mig_db_query(&cur, t->db, r->ctx, r->plugin->driver->trace_session_sql, NULL, 0);
    if (rc == 0 && (rc = mig_db_fetch(cur, t->db, r->ctx, &row)) == 0 && row && row->ncols > 0) {
        const mig_value *v = &row->values[0];
        t->sid = v->type == MIG_VAL_INT    ? (long long)v->u.i
                 : v->type == MIG_VAL_TEXT ? strtoll(v->u.s.ptr, NULL, 10)
                                           : 0;
    }
    if (cur)
        mig_db_cursor_close(t->db, cur);
    if (rc == 0)
        rc = mig_db_connect(&t->poll, r->ctx, r->plugin, surl, NULL);
    mig_strvec probe = MIG_STRVEC_INIT;
    char *q = rc == 0 ? mig_aprintf(r->plugin->driver->trace_poll_sql, t->sid) : NULL;
    if (rc == 0 && q == NULL)
        rc = mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
    if (rc == 0 && (rc = read_locks(t, t->poll, q, &probe)) != 0) {
        char *why = mig_strdup(mig_last_error(r->ctx)->message);
        rc = mig_fail(r->ctx, MIG_EFAIL, "--trace cannot read the locks of the scratch database: %s",
                      why ? why : "");
        free(why);
        if (strcmp(r->plugin->driver->name, "mysql") == 0)
            mig_error_hint(r->ctx,
                           "the server needs the metadata_lock_info plugin: INSTALL SONAME 'metadata_lock_info' "
                           "(or plugin-load-add = metadata_lock_info)");
    }
    free(q);
    mig_strvec_release(&probe);
    return rc;
}

static int trace_rev(trace_run *t, const mig_rev *rev)
{
    lint_run *r = t->r;
    if (rev->is_lua) {
        mig_log(r->ctx, MIG_LOG_WARN,
                "lint --trace: Lua revision %s is not traced; the revisions after it "
                "run without its changes",
                rev->id);
        return 0;
    }
    mig_revbody b;
    int rc = mig_revfile_load_body(&b, r->ctx, rev);
    if (rc)
        return rc;
    r->rev = rev;
    const char *sql = b.data + b.up_off;
    size_t off = 0, idx = 0;
    while (rc == 0 && b.has_upgrade && off < b.up_len) {
        int empty = 0;
        size_t n = mig_plugin_statement_end(r->plugin, sql + off, b.up_len - off, &empty);
        if (n == 0)
            break;
        if (!empty) {
            size_t lead = 0;
            char *st = statement_text(sql + off, n, &lead);
            int col = 0, line = line_of(b.data, b.up_off + off + lead, &col);
            r->stmt_index = idx;
            rc = st ? trace_stmt(t, rev, idx, sql + off, n, st, line, col)
                    : mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
            free(st);
            idx++;
        }
        off += n;
    }
    mig_revbody_release(&b);
    return rc;
}

static int trace(lint_run *r, mig_graph *g, const unsigned char *keep, const unsigned char *pending,
                 const char *url)
{
    trace_run t;
    memset(&t, 0, sizeof t);
    t.r = r;
    t.g = g;
    t.sqlite = strcmp(r->plugin->driver->name, "sqlite") == 0;
    mig_scratch *sc = NULL;
    char *surl = NULL;
    int rc = mig_scratch_open(r->ctx, url, "mig lint --trace", &sc, &t.sctx, &surl);
    size_t n = mig_graph_count(g);
    /* the applied revisions first, so the tables the pending ones touch exist as they do live */
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (!pending[i] && (rc = mig_upgrade(t.sctx, mig_graph_at(g, i)->id, 0)) != 0) {
            mig_error_state st;
            mig_error_save(t.sctx, &st);
            mig_error_restore(r->ctx, &st);
        }
    if (rc == 0)
        rc = mig_db_connect(&t.db, r->ctx, r->plugin, surl, NULL);
    const mig_driver *dt = r->plugin->driver;
    if (rc == 0 && !t.sqlite && MIG_DRIVER_HAS(dt, trace_poll_sql) && dt->trace_poll_sql &&
        dt->trace_session_sql)
        rc = poll_open(&t, surl);
    if (rc == 0) {
        mig_schema *s = NULL;
        static const char *const none[] = { NULL };
        rc = mig_schema_load(&s, r->ctx, t.db, none);
        for (size_t i = 0; rc == 0 && i < s->ntables; i++)
            if (mig_strvec_push(&t.before, s->tables[i].name) < 0)
                rc = mig_fail(r->ctx, MIG_ENOMEM, "out of memory");
        mig_schema_free(s);
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (pending[i] && keep[i])
            rc = trace_rev(&t, mig_graph_at(g, i));
    mig_db_close(t.poll);
    mig_db_close(t.db);
    mig_strvec_release(&t.before);
    mig_scratch_close(sc);
    return rc;
}

static void run_release(lint_run *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->items[i].statement);
        free(r->items[i].message);
        free(r->items[i].why);
        free(r->items[i].safe);
        free(r->items[i].table);
        mig_strvec_release(&r->items[i].evidence);
    }
    free(r->items);
    free(r->rows);
    mig_strvec *v[] = { &r->cfg.disable, &r->cfg.error, &r->cfg.warning, &r->cfg.info,
                        &r->created,     &r->tables,    &r->suppress };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        mig_strvec_release(v[i]);
    pthread_mutex_destroy(&r->mu);
}

static int run_init(lint_run *r, mig_ctx *ctx)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->ctx = ctx;
    int rc = mig_ctx_plugin(ctx, &r->plugin);
    if (rc == 0)
        rc = load_cfg(r);
    return rc;
}

int mig_lint_rules(mig_ctx *ctx, mig_lint_rule_fn fn, void *payload)
{
    mig_error_clear(ctx);
    lint_run r;
    int rc = run_init(&r, ctx);
    for (int pass = 0; rc == 0 && pass < 2; pass++) {
        const mig_lint_rule *p = pass == 0 ? driver_rules(&r) : core_rules;
        for (; p && p->id; p++) {
            mig_lint_rule_info ri = { p->id,
                                      p->name,
                                      level_names[rule_level(&r.cfg, p)],
                                      p->lock ? p->lock : "",
                                      p->summary ? p->summary : "",
                                      p->help_uri ? p->help_uri : "",
                                      listed(&r.cfg.disable, p) };
            if (fn)
                fn(payload, &ri);
        }
    }
    run_release(&r);
    return rc;
}

static int lint_main(mig_ctx *ctx, const char *range, unsigned flags, int traced,
                     const char *scratch_url, mig_lint_fn fn, void *payload);

int mig_lint(mig_ctx *ctx, const char *range, unsigned flags, mig_lint_fn fn, void *payload)
{
    return lint_main(ctx, range, flags, 0, NULL, fn, payload);
}

int mig_lint_trace(mig_ctx *ctx, const char *range, unsigned flags, const char *scratch_url,
                   mig_lint_fn fn, void *payload)
{
    if (flags & MIG_LINT_OFFLINE)
        return mig_fail(ctx, MIG_EUSAGE,
                        "--trace runs the pending revisions: it needs the database, not --offline");
    if (mig_has_tenants(ctx))
        return mig_fail(ctx, MIG_EUSAGE,
                        "--trace runs on a scratch database: tenant options do not apply");
    return lint_main(ctx, range, flags, 1, scratch_url, fn, payload);
}

/* One finding to the caller, with what the table sizes say of it (the level may drop to info). */
static int report_item(mig_ctx *ctx, lint_run *r, lint_item *it, mig_lint_fn fn, void *payload)
{
    int rc = 0;
    mig_buf m = MIG_BUF_INIT;
    mig_buf_puts(&m, it->message);
    if (it->created && it->level > MIG_LINT_INFO) {
        it->level = MIG_LINT_INFO;
        mig_buf_printf(&m, " (table \"%s\" is created earlier in this run: empty)", it->table);
    } else if (*it->table && r->rows) {
        for (size_t t = 0; t < r->tables.n; t++)
            if (strcmp(r->tables.v[t], it->table) == 0)
                it->rows = r->rows[t];
        if (it->rows >= 0 && it->rows < r->cfg.min_rows && it->level > MIG_LINT_INFO) {
            it->level = MIG_LINT_INFO;
            mig_buf_printf(&m, " (table has ~%lld rows, under [lint] min_rows %ld)", it->rows,
                           r->cfg.min_rows);
        } else if (it->rows >= 0) {
            mig_buf_printf(&m, " (table has ~%lld rows)", it->rows);
        }
    }
    mig_lint_report rep = {
        it->rule->id,
        it->rule->name,
        level_names[it->level],
        it->rev->id,
        it->rev->path,
        it->line,
        it->column,
        it->stmt_index,
        it->statement,
        mig_buf_cstr(&m),
        it->why,
        it->safe,
        it->rule->lock ? it->rule->lock : "",
        it->table,
        it->rows,
        NULL,
        0,
    };
    mig_lint_evidence *ev = it->evidence.n ? calloc(it->evidence.n, sizeof *ev) : NULL;
    if (it->evidence.n && ev == NULL)
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    for (size_t e = 0; ev && e < it->evidence.n; e++) {
        /* the fields were joined by tabs where they were read (trace_stmt) */
        char *f[4] = { it->evidence.v[e], NULL, NULL, NULL };
        for (int k = 1; k < 4; k++) {
            f[k] = strchr(f[k - 1], '\t');
            *f[k]++ = '\0';
        }
        ev[e] = (mig_lint_evidence){ f[0], f[1], strtod(f[2], NULL), f[3] };
    }
    rep.evidence = ev;
    rep.nevidence = ev ? it->evidence.n : 0;
    if (fn && rc == 0)
        fn(payload, &rep);
    free(ev);
    mig_buf_release(&m);
    return rc;
}

static int lint_main(mig_ctx *ctx, const char *range, unsigned flags, int traced,
                     const char *scratch_url, mig_lint_fn fn, void *payload)
{
    mig_error_clear(ctx);
    lint_run r;
    int rc = run_init(&r, ctx);
    mig_graph *g = NULL;
    if (rc == 0)
        rc = mig_ctx_graph(ctx, &g);
    if (rc) {
        run_release(&r);
        return rc;
    }
    size_t n = mig_graph_count(g);
    unsigned char *keep = calloc(n + 1, 1), *pending = calloc(n + 1, 1);
    if (keep == NULL || pending == NULL)
        rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
    if (rc == 0 && range)
        rc = select_range(ctx, g, range, keep);
    else if (rc == 0)
        memset(keep, 1, n);
    int online = 0;
    if (rc == 0 && !(flags & MIG_LINT_OFFLINE)) {
        select_state s = { &r, g, pending, 0 };
        int vrc = visit_all(ctx, &s);
        if (vrc == 0) {
            online = 1;
            if (range == NULL)
                memcpy(keep, pending, n);
        } else if (vrc == MIG_EFAIL) {
            /* no reachable database: judge every revision in range, said once */
            mig_log(ctx, MIG_LOG_WARN,
                    "lint: database not reachable (%s): every revision%s is linted, "
                    "sizes unknown",
                    mig_last_error(ctx)->message, range ? " in the range" : "");
            mig_error_clear(ctx);
        } else {
            rc = vrc;
        }
    }
    /* graph order is apply order: a table created by an earlier revision is new to a later one */
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (keep[i])
            rc = lint_rev(&r, mig_graph_at(g, i));
    if (rc == 0 && traced && !online)
        rc = mig_fail(ctx, MIG_EFAIL,
                      "--trace needs the configured database, to know the applied revisions");
    if (rc == 0 && traced)
        rc = trace(&r, g, keep, pending, scratch_url);
    if (rc == 0 && online && r.tables.n) {
        r.rows = malloc(r.tables.n * sizeof *r.rows);
        if (r.rows == NULL)
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        for (size_t i = 0; rc == 0 && i < r.tables.n; i++)
            r.rows[i] = -1;
        select_state s = { &r, g, pending, 1 };
        if (rc == 0)
            rc = visit_all(ctx, &s);
    }
    int errors = 0;
    for (size_t i = 0; rc == 0 && i < r.n; i++) {
        rc = report_item(ctx, &r, &r.items[i], fn, payload);
        if (r.items[i].level == MIG_LINT_ERROR)
            errors++;
    }
    free(keep);
    free(pending);
    run_release(&r);
    if (rc == 0 && errors)
        return mig_fail(ctx, MIG_ECHECK, "lint found %d error-level finding%s", errors,
                        errors == 1 ? "" : "s");
    return rc;
}
