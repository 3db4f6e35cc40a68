/*
 * Sessions: a connection to the database (the tenant's database or
 * schema, for a child context) with on_connect run and the state tables
 * described.
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tenant.h"
#include "url.h"

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
    if (!(s->plugin->driver->caps & MIG_CAP_SCHEMAS))
        return mig_fail(ctx, MIG_ECONFIG,
                        "driver '%s' has no schemas: put {tenant} in the URL for a database per tenant",
                        s->plugin->driver->name);
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
    rc = mig_tenant_search_path(ctx, s->plugin, &path);
    if (rc == 0)
        rc = mig_db_set_schema(s->db, ctx, ctx->tenant, path.len ? mig_buf_cstr(&path) : NULL);
    mig_buf_release(&path);
    return rc;
}

int mig_tenant_search_path(mig_ctx *ctx, const mig_plugin *plugin, mig_buf *out)
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
            char *q = mig_plugin_quote_ident(plugin, name);
            mig_buf_printf(out, "%s%s", out->len ? ", " : "", q ? q : "");
            free(q);
        }
    }
    free(raw);
    return out->oom ? mig_fail(ctx, MIG_ENOMEM, "out of memory") : 0;
}

static int session_open(mig_session *s, mig_ctx *ctx, int *missing)
{
    int rc = mig_session_connect(s, ctx, missing);
    if (rc == 0 && s->db)
        rc = mig_session_enter(s, ctx, missing);
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
int mig_session_connect(mig_session *s, mig_ctx *ctx, int *missing)
{
    memset(s, 0, sizeof *s);
    const char *vt = NULL;
    int rc = mig_ctx_plugin(ctx, &s->plugin);
    if (rc == 0)
        rc = mig_ctx_version_table(ctx, &vt);
    if (rc == 0)
        rc = mig_ctx_url(ctx, &s->url);
    if (rc == 0)
        rc = mig_plugin_check_url(ctx, s->plugin, s->url, ctx->opts.driver && *ctx->opts.driver);
    int db_tenant = s->url && mig_url_has_tenant(s->url);
    if (rc == 0 && ctx->tenant && db_tenant && !plain_name(ctx->tenant)) {
        /* a database tenant's name goes into a URL or a file path: keep it plain */
        rc = mig_fail(ctx, MIG_EUSAGE,
                      "tenant name '%s' cannot name a database: use letters, digits, '_', '-' and '.'",
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
        rc = mig_check_tenant_name(ctx, s->plugin, ctx->tenant);
    if (rc == 0)
        rc = mig_check_version_table(ctx, s->plugin, vt);
    if (rc == 0)
        rc = mig_state_init(&s->st, ctx, s->plugin, vt);
    /* a relative sqlite: path is relative to where it was written down */
    char cwd[4096];
    const char *base = mig_config_dir(ctx->cfg);
    if (mig_ctx_url_from_outside(ctx) && getcwd(cwd, sizeof cwd))
        base = cwd;
    s->base_dir = base == cwd ? NULL : base; /* NULL: the current folder */
    if (rc == 0 && mig_tenant_conns_apply(ctx, s->plugin, db_tenant))
        rc = mig_tenant_work_db(ctx, s);
    else if (rc == 0 && missing)
        rc = mig_db_connect_ro(&s->db, missing, ctx, s->plugin, s->url, base);
    else if (rc == 0)
        rc = mig_db_connect(&s->db, ctx, s->plugin, s->url, base);
    return rc;
}

/*
 * on_connect first, as documented; then the tenant's schema, so that
 * whatever on_connect set (a search_path, a USE) the tenant's wins; then
 * a look at where unqualified names really go now, since a revision
 * creating its tables anywhere else would mix tenants.
 */
int mig_session_enter(mig_session *s, mig_ctx *ctx, int *missing)
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
               (s->plugin->driver->dialect->ident_quote == '`' && strcasecmp(cur, ctx->tenant) == 0);
    if (rc == 0 && !same) {
        rc = mig_fail(ctx, MIG_EFAIL,
                      "tenant '%s': the session is in schema '%s', not the tenant's: refusing to run there",
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
