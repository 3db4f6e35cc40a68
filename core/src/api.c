/*
 * Public entry points that set a run up: creating the context from
 * options and configuration, and the lazily resolved pieces every command
 * needs (script location, graph, URL, driver, version table).
 */
#include "api.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tenant.h"
#include "url.h"

static void release_resources(mig_ctx *ctx)
{
    if (ctx->parent == NULL) {
        mig_graph_free(ctx->graph);
        mig_config_free(ctx->cfg);
        mig_drv_unload(ctx->drv);
    }
    free(ctx->tenant);
    free(ctx->script_location);
    free(ctx->versions_dir);
    free(ctx->version_table);
    free(ctx->rev_views);
    free(ctx->rev_storage);
    free(ctx->next_storage);
    free(ctx->head_views);
    mig_strvec_release(&ctx->current);
}

int mig_ctx_child(mig_ctx **out, mig_ctx *parent, const char *tenant)
{
    int rc = mig_ctx_new_empty(out);
    if (rc)
        return rc;
    mig_ctx *ctx = *out;
    ctx->opts = parent->opts;
    ctx->parent = parent;
    ctx->release_hook = release_resources;
    ctx->cfg = parent->cfg;
    ctx->graph = parent->graph;
    ctx->drv = parent->drv;
    ctx->log_fn = parent->log_fn;
    ctx->log_payload = parent->log_payload;
    ctx->progress_fn = parent->progress_fn;
    ctx->progress_payload = parent->progress_payload;
    ctx->tenant = mig_strdup(tenant);
    ctx->script_location = mig_strdup(parent->script_location);
    ctx->versions_dir = mig_strdup(parent->versions_dir);
    ctx->version_table = mig_strdup(parent->version_table);
    if (ctx->tenant == NULL || (parent->script_location && !ctx->script_location) ||
        (parent->versions_dir && !ctx->versions_dir) || (parent->version_table && !ctx->version_table))
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    return 0;
}

int mig_ctx_new(mig_ctx **out, const mig_options *opts)
{
    int rc = mig_ctx_new_empty(out);
    if (rc)
        return rc;
    mig_ctx *ctx = *out;
    if (opts)
        ctx->opts = *opts;
    ctx->release_hook = release_resources;
    for (size_t i = 0; i < ctx->opts.nx; i++)
        if (strchr(ctx->opts.x[i], '=') == NULL)
            return mig_fail(ctx, MIG_EUSAGE, "-x %s: expected KEY=VALUE", ctx->opts.x[i]);
    if (opts && opts->jobs < 0)
        return mig_fail(ctx, MIG_EUSAGE, "-j %d: expected a number of jobs of at least 1", opts->jobs);
    rc = mig_config_load(&ctx->cfg, ctx, ctx->opts.config_path, ctx->opts.config_required);
    if (rc)
        return rc;
    if (ctx->opts.lock_timeout < 0) {
        double t = 300.0;
        rc = mig_config_get_double(ctx->cfg, ctx, "mig", "lock_timeout", 300.0, &t);
        if (rc)
            return rc;
        ctx->opts.lock_timeout = t;
    }
    return 0;
}

const char *mig_version(void)
{
    return MIG_VERSION;
}

unsigned mig_driver_abi(void)
{
    return MIG_DRIVER_ABI;
}

void mig_set_step_callback(mig_ctx *ctx, mig_step_fn fn, void *payload)
{
    ctx->step_fn = fn;
    ctx->step_payload = payload;
}

void mig_set_sql_callback(mig_ctx *ctx, mig_sql_fn fn, void *payload)
{
    ctx->sql_fn = fn;
    ctx->sql_payload = payload;
}

int mig_ctx_script_location(mig_ctx *ctx, const char **out)
{
    if (ctx->script_location == NULL) {
        char *loc = NULL;
        if (ctx->opts.script_location) {
            char cwd[4096];
            if (getcwd(cwd, sizeof cwd) == NULL)
                return mig_fail(ctx, MIG_EFAIL, "cannot read the current folder");
            loc = mig_path_join(cwd, ctx->opts.script_location);
        } else {
            char *v = NULL;
            int rc = mig_config_get(ctx->cfg, ctx, "mig", "script_location", &v);
            if (rc)
                return rc;
            loc = mig_path_join(mig_config_dir(ctx->cfg), v ? v : "migrations");
            free(v);
        }
        /* both or neither: a later call takes a set script_location as done */
        char *versions = loc ? mig_aprintf("%s/versions", loc) : NULL;
        if (versions == NULL) {
            free(loc);
            return mig_fail(ctx, MIG_ENOMEM, "out of memory");
        }
        ctx->script_location = loc;
        ctx->versions_dir = versions;
    }
    *out = ctx->script_location;
    return 0;
}

/* Once per loaded graph: Alembic's .py revisions beside ours are never read. */
static void warn_py_files(mig_ctx *ctx)
{
    size_t n = mig_graph_py_files(ctx->graph);
    if (n)
        mig_log(ctx, MIG_LOG_WARN,
                "%s: warning: %zu Alembic revision file%s (.py) ignored: mig reads only .sql and .lua "
                "revisions (see docs/alembic.md)",
                ctx->versions_dir, n, n == 1 ? "" : "s");
}

/*
 * Neither a mig.ini nor --script-location said where the revisions are,
 * and the default folder is not there: the file is what is missing.
 */
static int no_config_for_versions(mig_ctx *ctx)
{
    if (ctx->opts.script_location != NULL || access(ctx->versions_dir, F_OK) == 0)
        return 0;
    return mig_config_fail_none(ctx->cfg, ctx, "or give the revisions' folder with --script-location DIR");
}

int mig_ctx_graph(mig_ctx *ctx, mig_graph **out)
{
    if (ctx->graph == NULL) {
        const char *loc;
        int rc = mig_ctx_script_location(ctx, &loc);
        if (rc)
            return rc;
        rc = no_config_for_versions(ctx);
        if (rc)
            return rc;
        rc = mig_graph_load(&ctx->graph, ctx, ctx->versions_dir);
        if (rc)
            return rc;
        warn_py_files(ctx);
    }
    *out = ctx->graph;
    return 0;
}

/* Is the URL from the command line or the environment (not from the file)? */
static int url_from_outside(const mig_ctx *ctx)
{
    const char *env = getenv("MIG_DATABASE_URL");
    return (ctx->opts.url && *ctx->opts.url) || (env && *env);
}

int mig_ctx_url(mig_ctx *ctx, char **out)
{
    *out = NULL;
    const char *u = ctx->opts.url;
    if (u == NULL || *u == '\0')
        u = getenv("MIG_DATABASE_URL");
    if (u && *u) {
        *out = mig_url_keep(mig_strdup(u));
        return *out ? 0 : mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    /* expanded only now: an unset ${VAR} in an unused url is no error */
    char *plain = NULL;
    int rc = mig_config_get(ctx->cfg, ctx, "mig", "url", &plain);
    if (rc || plain == NULL)
        return rc;
    *out = mig_url_keep(plain);
    return *out ? 0 : mig_fail(ctx, MIG_ENOMEM, "out of memory");
}

int mig_ctx_driver(mig_ctx *ctx, const mig_drv **out)
{
    if (ctx->drv == NULL) {
        char *name = NULL;
        int rc = 0;
        int from_file = 0;
        if (ctx->opts.driver && *ctx->opts.driver)
            name = mig_strdup(ctx->opts.driver);
        else if ((rc = mig_config_get(ctx->cfg, ctx, "mig", "driver", &name)) != 0)
            return rc;
        else
            from_file = name != NULL;
        if (name == NULL) {
            char *url = NULL;
            if ((rc = mig_ctx_url(ctx, &url)) != 0)
                return rc;
            if (url == NULL) {
                rc = mig_config_fail_none(ctx->cfg, ctx,
                                          "or give the database with --url or $MIG_DATABASE_URL");
                if (rc)
                    return rc;
                rc = mig_fail(ctx, MIG_ECONFIG, "no database given");
                mig_error_hint(ctx, "use --url, $MIG_DATABASE_URL or url in mig.ini (or --driver with the driver's defaults)");
                return rc;
            }
            rc = mig_drv_name_for_url(&name, ctx, url);
            mig_url_free(url);
            if (rc)
                return rc;
        }
        if (name == NULL)
            return mig_fail(ctx, MIG_ENOMEM, "out of memory");
        rc = mig_drv_load(&ctx->drv, ctx, name);
        free(name);
        if (rc == MIG_EDRIVER && from_file) {
            /* a driver named in mig.ini: say where, as for any bad value there */
            int line = 0;
            mig_config_raw(ctx->cfg, "mig", "driver", &line);
            char *m = mig_strdup(mig_last_error(ctx)->message);
            char *h = mig_strdup(mig_last_error(ctx)->hint);
            mig_fail_at(ctx, MIG_EDRIVER, mig_config_path(ctx->cfg), line, "%s", m ? m : "unknown driver");
            if (h && *h)
                mig_error_hint(ctx, "%s", h);
            free(m);
            free(h);
        }
        if (rc)
            return rc;
    }
    *out = ctx->drv;
    return 0;
}

int mig_ctx_version_table(mig_ctx *ctx, const char **out)
{
    if (ctx->version_table == NULL) {
        char *v = NULL;
        int rc = mig_config_get(ctx->cfg, ctx, "mig", "version_table", &v);
        if (rc)
            return rc;
        if (v && !mig_rev_id_valid(v)) {
            int line = 0;
            mig_config_raw(ctx->cfg, "mig", "version_table", &line);
            rc = mig_fail(ctx, MIG_ECONFIG, "%s:%d: version_table '%s' is not a plain table name",
                          mig_config_path(ctx->cfg), line, v);
            free(v);
            return rc;
        }
        if (v && (strcasecmp(v, MIG_HISTORY_TABLE) == 0 || strcasecmp(v, MIG_BACKFILL_TABLE) == 0)) {
            /* the history table is one per database: its name cannot hold the heads too */
            int line = 0;
            mig_config_raw(ctx->cfg, "mig", "version_table", &line);
            rc = mig_fail(ctx, MIG_ECONFIG, "%s:%d: version_table '%s' is the name of mig's %s table",
                          mig_config_path(ctx->cfg), line, v,
                          strcasecmp(v, MIG_HISTORY_TABLE) == 0 ? "history" : "backfill checkpoint");
            mig_error_hint(ctx, "choose another name, e.g. mig_version");
            free(v);
            return rc;
        }
        ctx->version_table = v ? v : mig_strdup("mig_version");
        if (ctx->version_table == NULL)
            return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    *out = ctx->version_table;
    return 0;
}

int mig_check_version_table(mig_ctx *ctx, const mig_drv *drv, const char *vt)
{
    /* the table and every name derived from it (see mig_state_create_tables) */
    char *pkc = mig_aprintf("%s_pkc", vt);
    if (pkc == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    char why[160];
    const char *bad = mig_drv_ident_too_long(drv, vt, why, sizeof why) ? vt
                      : mig_drv_ident_too_long(drv, pkc, why, sizeof why) ? pkc : NULL;
    int rc = 0;
    if (bad) {
        int line = 0;
        mig_config_raw(ctx->cfg, "mig", "version_table", &line);
        rc = mig_fail(ctx, MIG_ECONFIG, "%s:%d: version_table '%s': %s'%s' %s", mig_config_path(ctx->cfg), line,
                      vt, bad == vt ? "" : "the constraint name ", bad, why);
    }
    free(pkc);
    return rc;
}

int mig_check_tenant_name(mig_ctx *ctx, const mig_drv *drv, const char *name)
{
    char why[160];
    if (!mig_drv_ident_too_long(drv, name, why, sizeof why))
        return 0;
    return mig_fail(ctx, MIG_EUSAGE, "tenant name '%s' %s", name, why);
}

static int plain_name(const char *s)
{
    if (*s == '\0' || *s == '.' || strlen(s) > 63)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

/*
 * Schema tenants: make the tenant's schema current, so the revisions and
 * the state tables live there. [tenants] search_path widens the path;
 * every name in it is quoted, so no tenant name can inject SQL.
 */
static int enter_schema(mig_session *s, mig_ctx *ctx, int *missing)
{
    if (!(s->drv->table->caps & MIG_CAP_SCHEMAS))
        return mig_fail(ctx, MIG_ECONFIG, "driver '%s' has no schemas: put {tenant} in the URL for a database per tenant",
                        s->drv->table->name);
    int exists = 0;
    int rc = mig_db_schema_exists(s->db, ctx, ctx->tenant, &exists);
    if (rc)
        return rc;
    if (!exists) {
        int create = 0;
        rc = mig_config_get_bool(ctx->cfg, ctx, "tenants", "create_schemas", 0, &create);
        if (rc)
            return rc;
        if (!create) {
            rc = mig_fail(ctx, MIG_EFAIL, "tenant schema '%s' does not exist", ctx->tenant);
            mig_error_hint(ctx, "create it, or set create_schemas = true in [tenants]");
            return rc;
        }
        if (missing) {
            /* a read creates nothing: a schema a run would create is a tenant at base */
            *missing = 1;
            return 0;
        }
        if ((rc = mig_db_create_schema(s->db, ctx, ctx->tenant)) != 0)
            return rc;
    }
    mig_buf path = MIG_BUF_INIT;
    rc = mig_tenant_search_path(ctx, s->drv, &path);
    if (rc == 0)
        rc = mig_db_set_schema(s->db, ctx, ctx->tenant, path.len ? mig_buf_cstr(&path) : NULL);
    mig_buf_release(&path);
    return rc;
}

int mig_tenant_search_path(mig_ctx *ctx, const mig_drv *drv, mig_buf *out)
{
    char *raw = NULL;
    int rc = mig_config_get(ctx->cfg, ctx, "tenants", "search_path", &raw);
    if (rc)
        return rc;
    if (raw) {
        char *save = NULL;
        for (char *item = strtok_r(raw, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
            while (*item == ' ' || *item == '\t')
                item++;
            size_t n = strlen(item);
            while (n && (item[n - 1] == ' ' || item[n - 1] == '\t'))
                item[--n] = '\0';
            if (n == 0)
                continue;
            const char *name = strcmp(item, "{tenant}") == 0 ? ctx->tenant : item;
            char *q = mig_drv_quote_ident(drv, name);
            mig_buf_printf(out, "%s%s", out->len ? ", " : "", q ? q : "");
            free(q);
        }
    }
    free(raw);
    return out->oom ? mig_fail(ctx, MIG_ENOMEM, "out of memory") : 0;
}

static int session_connect(mig_session *s, mig_ctx *ctx, int *missing);
static int session_enter(mig_session *s, mig_ctx *ctx, int *missing);

static int session_open(mig_session *s, mig_ctx *ctx, int *missing)
{
    int rc = session_connect(s, ctx, missing);
    if (rc == 0 && s->db)
        rc = session_enter(s, ctx, missing);
    if (rc)
        mig_session_close(s);
    return rc;
}

int mig_session_open(mig_session *s, mig_ctx *ctx)
{
    return session_open(s, ctx, NULL);
}

int mig_session_open_ro(mig_session *s, mig_ctx *ctx, int *missing)
{
    *missing = 0;
    return session_open(s, ctx, missing);
}

/*
 * The connection alone: with missing set, a database that is not there is
 * not created (*missing = 1, s->db NULL). Nothing is run on it yet.
 */
static int session_connect(mig_session *s, mig_ctx *ctx, int *missing)
{
    memset(s, 0, sizeof *s);
    const char *vt = NULL;
    int rc = mig_ctx_driver(ctx, &s->drv);
    if (rc == 0)
        rc = mig_ctx_version_table(ctx, &vt);
    if (rc == 0)
        rc = mig_ctx_url(ctx, &s->url);
    if (rc == 0)
        rc = mig_drv_check_url(ctx, s->drv, s->url, ctx->opts.driver && *ctx->opts.driver);
    int db_tenant = s->url && mig_url_has_tenant(s->url);
    if (rc == 0 && ctx->tenant && db_tenant && !plain_name(ctx->tenant)) {
        /* a database tenant's name goes into a URL or a file path: keep it plain */
        rc = mig_fail(ctx, MIG_EUSAGE, "tenant name '%s' cannot name a database: use letters, digits, '_', '-' and '.'",
                      ctx->tenant);
    } else if (rc == 0 && ctx->tenant && db_tenant) {
        char *u = mig_url_keep(mig_url_with_tenant(s->url, ctx->tenant));
        if (u == NULL)
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        mig_url_free(s->url);
        s->url = u;
    } else if (rc == 0 && db_tenant) {
        rc = mig_fail(ctx, MIG_EUSAGE, "the URL names {tenant}: give --tenant NAME or --all-tenants");
    }
    s->db_tenant = db_tenant;
    if (rc == 0 && ctx->tenant)
        rc = mig_check_tenant_name(ctx, s->drv, ctx->tenant);
    if (rc == 0)
        rc = mig_check_version_table(ctx, s->drv, vt);
    if (rc == 0)
        rc = mig_state_init(&s->st, ctx, s->drv, vt);
    /* a relative sqlite: path is relative to where it was written down */
    char cwd[4096];
    const char *base = mig_config_dir(ctx->cfg);
    if (url_from_outside(ctx) && getcwd(cwd, sizeof cwd))
        base = cwd;
    s->base_dir = base == cwd ? NULL : base; /* NULL: the current folder */
    if (rc == 0 && mig_tenant_conns_apply(ctx, s->drv, db_tenant))
        rc = mig_tenant_work_db(ctx, s);
    else if (rc == 0 && missing)
        rc = mig_db_connect_ro(&s->db, missing, ctx, s->drv, s->url, base);
    else if (rc == 0)
        rc = mig_db_connect(&s->db, ctx, s->drv, s->url, base);
    return rc;
}

/*
 * on_connect first, as documented; then the tenant's schema, so that
 * whatever on_connect set (a search_path, a USE) the tenant's wins; then
 * a look at where unqualified names really go now, since a revision
 * creating its tables anywhere else would mix tenants.
 */
static int session_enter(mig_session *s, mig_ctx *ctx, int *missing)
{
    char *on_connect = NULL;
    int rc = mig_config_get(ctx->cfg, ctx, "mig", "on_connect", &on_connect);
    if (rc == 0 && on_connect && *on_connect) {
        rc = mig_db_exec(s->db, ctx, on_connect, strlen(on_connect), NULL, NULL);
        if (rc) {
            char *m = mig_strdup(mig_last_error(ctx)->message);
            mig_fail(ctx, MIG_EFAIL, "on_connect failed: %s", m ? m : "");
            free(m);
        }
    }
    free(on_connect);
    if (rc || !ctx->tenant || s->db_tenant)
        return rc;
    rc = enter_schema(s, ctx, missing);
    if (rc == 0 && missing && *missing)
        return 0; /* not created yet: the caller reads a tenant at base */
    char cur[256] = "";
    int known = 0;
    if (rc == 0)
        rc = mig_db_current_schema(s->db, ctx, cur, sizeof cur, &known);
    /* MySQL may fold database names to lower case (lower_case_table_names) */
    int same = !known || strcmp(cur, ctx->tenant) == 0 ||
               (s->drv->table->dialect->ident_quote == '`' && strcasecmp(cur, ctx->tenant) == 0);
    if (rc == 0 && !same) {
        rc = mig_fail(ctx, MIG_EFAIL, "tenant '%s': the session is in schema '%s', not the tenant's: refusing to run there",
                      ctx->tenant, cur[0] ? cur : "(none)");
        mig_error_hint(ctx, "check that the tenant's schema can be used by this user (USAGE) and that "
                            "[tenants] search_path starts with {tenant}");
    }
    return rc;
}

void mig_session_close(mig_session *s)
{
    if (s->pooled == NULL)
        mig_db_close(s->db);
    else if (s->db && s->db->broken) {
        /* the worker's next tenant connects anew */
        mig_db_close(s->db);
        *s->pooled = NULL;
    }
    mig_state_release(&s->st);
    mig_url_free(s->url);
    memset(s, 0, sizeof *s);
}

/* ---- the graph, read while the session connects ---- */

typedef struct graph_job {
    mig_ctx    *ctx;   /* its own context: its errors never race with the session's */
    const char *dir;
    mig_graph  *graph;
    int         rc;
} graph_job;

static void *graph_job_run(void *payload)
{
    graph_job *j = payload;
    j->rc = mig_graph_load(&j->graph, j->ctx, j->dir);
    return NULL;
}

void mig_ctx_swap_error(mig_ctx *dst, mig_ctx *src)
{
    mig_buf *d[] = { &dst->err_message, &dst->err_detail, &dst->err_hint, &dst->err_file, &dst->err_origin };
    mig_buf *o[] = { &src->err_message, &src->err_detail, &src->err_hint, &src->err_file, &src->err_origin };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        mig_buf t = *d[i];
        *d[i] = *o[i];
        *o[i] = t;
    }
    int code = dst->err_code, line = dst->err_line;
    dst->err_code = src->err_code;
    dst->err_line = src->err_line;
    src->err_code = code;
    src->err_line = line;
}

/*
 * Reading every revision header is a walk over the file system, and a
 * connect is a wait on the database (for SQLite, parsing the schema of a
 * large database): neither needs the other, so they overlap. The loader
 * only reads files and writes its own context; the result is handed over
 * after the join, so nothing is shared while both run.
 *
 * A broken graph must leave no trace: the overlapping connect creates
 * nothing (a missing SQLite file stays missing) and runs nothing, not even
 * on_connect or a tenant's CREATE SCHEMA; that waits for the graph.
 */
int mig_session_open_with_graph(mig_session *s, mig_ctx *ctx, mig_graph **g)
{
    memset(s, 0, sizeof *s);
    const char *loc;
    int rc = ctx->graph ? 0 : mig_ctx_script_location(ctx, &loc);
    if (rc == 0 && ctx->graph == NULL)
        rc = no_config_for_versions(ctx);
    if (rc)
        return rc;
    graph_job j = { NULL, ctx->versions_dir, NULL, 0 };
    pthread_t th;
    if (ctx->graph || mig_ctx_new_empty(&j.ctx) != 0 || pthread_create(&th, NULL, graph_job_run, &j) != 0) {
        /* loaded already, or no thread to be had: one after the other */
        mig_ctx_free(j.ctx);
        rc = mig_ctx_graph(ctx, g);
        return rc ? rc : mig_session_open(s, ctx);
    }
    int missing = 0;
    int src = session_connect(s, ctx, &missing);
    pthread_join(th, NULL);
    if (j.rc) {
        mig_session_close(s);
        mig_ctx_swap_error(ctx, j.ctx);
        mig_ctx_free(j.ctx);
        return j.rc;
    }
    ctx->graph = j.graph;
    *g = j.graph;
    warn_py_files(ctx);
    mig_ctx_free(j.ctx);
    rc = src;
    if (rc == 0 && missing) {
        /* the graph is sound: now the database may be created */
        rc = mig_db_connect(&s->db, ctx, s->drv, s->url, s->base_dir);
    }
    if (rc == 0)
        rc = session_enter(s, ctx, NULL);
    if (rc)
        mig_session_close(s);
    return rc;
}

/* The names graph.c takes for revision files: keep the two in step. */
int mig_ctx_may_have_revisions(mig_ctx *ctx)
{
    const char *loc;
    if (mig_ctx_script_location(ctx, &loc) != 0) {
        mig_error_clear(ctx);
        return 1;
    }
    DIR *d = opendir(ctx->versions_dir);
    if (d == NULL)
        return 1;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        found = e->d_name[0] != '.' && e->d_type != DT_DIR && n > 4 &&
                (strcmp(e->d_name + n - 4, ".sql") == 0 || strcmp(e->d_name + n - 4, ".lua") == 0);
    }
    closedir(d);
    return found;
}

/* ---- revisions for the public API ---- */

static int build_views(mig_ctx *ctx)
{
    if (ctx->rev_views)
        return 0;
    mig_graph *g;
    int rc = mig_ctx_graph(ctx, &g);
    if (rc)
        return rc;
    size_t n = mig_graph_count(g);
    ctx->rev_storage = calloc(n ? n : 1, sizeof *ctx->rev_storage);
    ctx->rev_views = calloc(n + 1, sizeof *ctx->rev_views);
    ctx->head_views = calloc(mig_graph_nheads(g) + 1, sizeof *ctx->head_views);
    if (!ctx->rev_storage || !ctx->rev_views || !ctx->head_views)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    ctx->nrev_views = n;
    /* one array holds every child list: n lists of children, each NULL-ended */
    size_t nlinks = 0;
    for (size_t i = 0; i < n; i++)
        nlinks += mig_graph_nchildren(g, mig_graph_at(g, i)) + 1;
    ctx->next_storage = calloc(nlinks, sizeof *ctx->next_storage);
    if (ctx->next_storage == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        /* newest first, as history prints */
        const mig_rev *r = mig_graph_at(g, n - 1 - i);
        mig_revision *v = &ctx->rev_storage[i];
        v->id = r->id;
        v->path = r->path;
        v->message = r->message ? r->message : "";
        v->create_date = r->create_date ? r->create_date : "";
        static const char *const empty[] = { NULL };
        v->down = r->down.n ? (const char *const *)r->down.v : empty;
        v->labels = r->labels.n ? (const char *const *)r->labels.v : empty;
        v->depends = r->depends.n ? (const char *const *)r->depends.v : empty;
        /* the arrays are borrowed from the graph, which outlives the views */
        v->next = &ctx->next_storage[at];
        for (size_t c = 0; c < mig_graph_nchildren(g, r); c++)
            ctx->next_storage[at++] = mig_graph_child(g, r, c)->id;
        ctx->next_storage[at++] = NULL;
        v->is_lua = r->is_lua;
        v->transactional = r->transactional;
        v->phase = mig_rev_phase(r);
        v->has_downgrade = -1; /* headers only: see mig_revision_find */
        v->is_head = mig_graph_nchildren(g, r) == 0;
        v->is_base = r->down.n == 0;
        v->is_branch_point = mig_graph_nchildren(g, r) > 1;
        v->is_merge = r->down.n > 1;
        ctx->rev_views[i] = v;
    }
    for (size_t i = 0; i < mig_graph_nheads(g); i++) {
        /* views are in reverse topological order */
        size_t idx = mig_graph_index(g, mig_graph_head(g, i));
        ctx->head_views[i] = ctx->rev_views[n - 1 - idx];
    }
    ctx->nhead_views = mig_graph_nheads(g);
    return 0;
}

int mig_revisions(mig_ctx *ctx, const mig_revision *const **out, size_t *n)
{
    int rc = build_views(ctx);
    if (rc)
        return rc;
    *out = (const mig_revision *const *)ctx->rev_views;
    *n = ctx->nrev_views;
    return 0;
}

int mig_heads(mig_ctx *ctx, const mig_revision *const **out, size_t *n)
{
    int rc = build_views(ctx);
    if (rc)
        return rc;
    *out = (const mig_revision *const *)ctx->head_views;
    *n = ctx->nhead_views;
    return 0;
}

/*
 * Whether a Lua revision defines a downgrade, without running it: the
 * runner compiles the chunk and knows for sure; for display, a function
 * named downgrade in the text is the answer.
 */
static int lua_mentions_downgrade(const mig_revbody *b)
{
    const char *p = b->data;
    while ((p = strstr(p, "downgrade")) != NULL) {
        const char *q = p + 9;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q == '=' || *q == '(')
            return 1;
        p = q;
    }
    return 0;
}

int mig_revision_find(mig_ctx *ctx, const char *name, const mig_revision **out)
{
    int rc = build_views(ctx);
    if (rc)
        return rc;
    mig_graph *g = ctx->graph;
    const mig_rev *r = NULL;
    if (strcmp(name, "head") == 0) {
        if (mig_graph_nheads(g) != 1)
            return mig_fail(ctx, MIG_ETARGET, "'head' is ambiguous: there are %zu heads",
                            mig_graph_nheads(g));
        r = mig_graph_head(g, 0);
    } else if (strcmp(name, "base") == 0) {
        if (mig_graph_nbases(g) != 1)
            return mig_fail(ctx, MIG_ETARGET, "'base' is ambiguous: there are %zu bases",
                            mig_graph_nbases(g));
        r = mig_graph_base(g, 0);
    } else {
        /* LABEL@head names the label's head, as a bare label does */
        const char *at = strchr(name, '@');
        char *label = at && strcmp(at, "@head") == 0 ? mig_strndup(name, (size_t)(at - name)) : NULL;
        rc = mig_graph_find(&r, ctx, g, label ? label : name);
        free(label);
        if (rc)
            return rc;
    }
    mig_revision *v = &ctx->rev_storage[ctx->nrev_views - 1 - mig_graph_index(g, r)];
    if (v->has_downgrade < 0) {
        /* one revision asked for by name: worth reading its body */
        mig_revbody b;
        if (mig_revfile_load_body(&b, ctx, r) == 0) {
            v->has_downgrade = r->is_lua ? lua_mentions_downgrade(&b) : b.has_downgrade;
            mig_revbody_release(&b);
        }
        mig_error_clear(ctx);
    }
    *out = v;
    return 0;
}

/* ---- drivers ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int mig_drivers_list(mig_ctx *ctx, mig_driver_fn fn, void *payload)
{
    mig_strvec dirs = MIG_STRVEC_INIT, seen = MIG_STRVEC_INIT;
    int rc = mig_drv_search_path(ctx, &dirs);
    for (size_t i = 0; rc == 0 && i < dirs.n; i++) {
        DIR *d = opendir(dirs.v[i]);
        if (d == NULL)
            continue;
        mig_strvec names = MIG_STRVEC_INIT;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            size_t len = strlen(e->d_name);
            if (strncmp(e->d_name, "mig_driver_", 11) == 0 && len > 14 &&
                strcmp(e->d_name + len - 3, ".so") == 0)
                mig_strvec_push_owned(&names, mig_strndup(e->d_name + 11, len - 14));
        }
        closedir(d);
        if (names.n)
            qsort(names.v, names.n, sizeof *names.v, cmp_str);
        for (size_t j = 0; j < names.n; j++) {
            /* an earlier folder shadows a later one, as when loading */
            if (mig_strvec_contains(&seen, names.v[j]))
                continue;
            mig_strvec_push(&seen, names.v[j]);
            char *path = mig_aprintf("%s/mig_driver_%s.so", dirs.v[i], names.v[j]);
            mig_drv *drv = NULL;
            mig_driver_info info = { names.v[j], path, 0, "", "", NULL };
            /* load exactly this file: the search could pick another folder */
            char *dir_only = mig_strdup(dirs.v[i]);
            const char *saved = ctx->opts.driver_path;
            ctx->opts.driver_path = dir_only;
            int lrc = mig_drv_load(&drv, ctx, names.v[j]);
            ctx->opts.driver_path = saved;
            free(dir_only);
            if (lrc == 0 && strcmp(drv->path, path) == 0) {
                info.abi = drv->table->abi;
                info.version = drv->table->version ? drv->table->version : "";
                info.description = drv->table->description ? drv->table->description : "";
            } else if (lrc != 0) {
                const char *m = mig_last_error(ctx)->message;
                const char *colon = strstr(m, ".so: ");
                info.problem = colon ? colon + 5 : m;
                /* a plugin refused for its ABI still says which ABI it has */
                if (strncmp(info.problem, "driver ABI ", 11) == 0) {
                    char *end;
                    unsigned long abi = strtoul(info.problem + 11, &end, 10);
                    if (end != info.problem + 11 && *end == ',')
                        info.abi = (unsigned)abi;
                }
            }
            fn(payload, &info);
            mig_drv_unload(drv);
            free(path);
        }
        mig_strvec_release(&names);
    }
    mig_strvec_release(&dirs);
    mig_strvec_release(&seen);
    mig_error_clear(ctx);
    return rc ? mig_fail(ctx, MIG_ENOMEM, "out of memory") : 0;
}
