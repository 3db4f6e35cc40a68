/*
 * Public entry points that set a run up: creating the context from
 * options and configuration, and the lazily resolved pieces every command
 * needs (script location, graph, URL, driver, version table).
 */
#include "api.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "url.h"

int mig_ctx_child(mig_ctx **out, mig_ctx *parent, const char *tenant)
{
    int rc = mig_ctx_new_empty(out);
    if (rc)
        return rc;
    mig_ctx *ctx = *out;
    ctx->opts = parent->opts;
    if (mig_cancel_adopt(parent, ctx) != 0)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    ctx->parent = parent;
    ctx->cfg = parent->cfg;
    ctx->graph = parent->graph;
    ctx->plugin = parent->plugin;
    ctx->log_fn = parent->log_fn;
    ctx->log_payload = parent->log_payload;
    ctx->event_fn = parent->event_fn;
    ctx->event_payload = parent->event_payload;
    ctx->tenant = mig_strdup(tenant);
    ctx->script_location = mig_strdup(parent->script_location);
    ctx->versions_dir = mig_strdup(parent->versions_dir);
    ctx->version_table = mig_strdup(parent->version_table);
    if (ctx->tenant == NULL || (parent->script_location && !ctx->script_location) ||
        (parent->versions_dir && !ctx->versions_dir) || (parent->version_table && !ctx->version_table))
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    return 0;
}

int mig_ctx_new(const mig_options *opts, mig_ctx **out)
{
    int rc = mig_ctx_new_empty(out);
    if (rc)
        return rc;
    mig_ctx *ctx = *out;
    if (opts)
        ctx->opts = *opts;
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
void mig_ctx_warn_py_files(mig_ctx *ctx)
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
int mig_ctx_no_config_for_versions(mig_ctx *ctx)
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
        rc = mig_ctx_no_config_for_versions(ctx);
        if (rc)
            return rc;
        rc = mig_graph_load(&ctx->graph, ctx, ctx->versions_dir);
        if (rc)
            return rc;
        mig_ctx_warn_py_files(ctx);
    }
    *out = ctx->graph;
    return 0;
}

/* Is the URL from the command line or the environment (not from the file)? */
int mig_ctx_url_from_outside(const mig_ctx *ctx)
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

int mig_ctx_plugin(mig_ctx *ctx, const mig_plugin **out)
{
    if (ctx->plugin == NULL) {
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
                mig_error_hint(
                    ctx,
                    "use --url, $MIG_DATABASE_URL or url in mig.ini (or --driver with the driver's defaults)");
                return rc;
            }
            rc = mig_plugin_name_for_url(&name, ctx, url);
            mig_url_free(url);
            if (rc)
                return rc;
        }
        if (name == NULL)
            return mig_fail(ctx, MIG_ENOMEM, "out of memory");
        rc = mig_plugin_load(&ctx->plugin, ctx, name);
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
    *out = ctx->plugin;
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

int mig_check_version_table(mig_ctx *ctx, const mig_plugin *plugin, const char *vt)
{
    /* the table and every name derived from it (see mig_state_create_tables) */
    char *pkc = mig_aprintf("%s_pkc", vt);
    if (pkc == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    char why[160];
    const char *bad = mig_plugin_ident_too_long(plugin, vt, why, sizeof why)    ? vt
                      : mig_plugin_ident_too_long(plugin, pkc, why, sizeof why) ? pkc
                                                                                : NULL;
    int rc = 0;
    if (bad) {
        int line = 0;
        mig_config_raw(ctx->cfg, "mig", "version_table", &line);
        rc = mig_fail(ctx, MIG_ECONFIG, "%s:%d: version_table '%s': %s'%s' %s", mig_config_path(ctx->cfg),
                      line, vt, bad == vt ? "" : "the constraint name ", bad, why);
    }
    free(pkc);
    return rc;
}

int mig_check_tenant_name(mig_ctx *ctx, const mig_plugin *plugin, const char *name)
{
    char why[160];
    if (!mig_plugin_ident_too_long(plugin, name, why, sizeof why))
        return 0;
    return mig_fail(ctx, MIG_EUSAGE, "tenant name '%s' %s", name, why);
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
