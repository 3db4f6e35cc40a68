/*
 * Driver plugins: finding, loading and checking them, and the wrappers the
 * rest of libmig calls. Only this file reads a mig_driver table.
 */
#include "drv.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "drv_abi1.h"
#include "paths.h"
#include "ctx.h"
#include "sqlsplit.h"
#include "url.h"
#include "mig/secret.h"

static int push_path_list(mig_strvec *out, const char *list)
{
    if (list == NULL)
        return 0;
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n > 0) {
            char *dir = mig_strndup(p, n);
            if (dir == NULL)
                return MIG_ENOMEM;
            if (mig_strvec_contains(out, dir))
                free(dir);
            else if (mig_strvec_push_owned(out, dir) < 0)
                return MIG_ENOMEM;
        }
        p += n;
        if (*p == ':')
            p++;
    }
    return 0;
}

/*
 * A relocated install keeps drivers beside the binary: <prefix>/bin/mig
 * finds <prefix>/lib/mig/drivers without being told, wherever <prefix> is.
 */
static int push_exe_relative(mig_strvec *out)
{
    const char *exe = mig_exe_dir();
    if (*exe == '\0')
        return 0;
    char *dir = mig_aprintf("%s/../lib/mig/drivers", exe);
    if (dir == NULL)
        return MIG_ENOMEM;
    if (mig_strvec_contains(out, dir)) {
        free(dir);
        return 0;
    }
    return mig_strvec_push_owned(out, dir);
}

int mig_plugin_search_path(mig_ctx *ctx, mig_strvec *out)
{
    int rc = 0;
    rc |= push_path_list(out, ctx->opts.driver_path);
    rc |= push_path_list(out, getenv("MIG_DRIVER_PATH"));
    if (ctx->cfg) {
        char *cfgpath = NULL;
        if (mig_config_get(ctx->cfg, ctx, "mig", "driver_path", &cfgpath) == 0 && cfgpath) {
            /* relative folders in the file are relative to the file */
            mig_strvec tmp = MIG_STRVEC_INIT;
            rc |= push_path_list(&tmp, cfgpath);
            for (size_t i = 0; i < tmp.n; i++) {
                char *abs = mig_path_join(mig_config_dir(ctx->cfg), tmp.v[i]);
                if (abs == NULL || mig_strvec_push_owned(out, abs) < 0)
                    rc = -1;
            }
            mig_strvec_release(&tmp);
        }
        free(cfgpath);
    }
    /* a build tree's mig loads the drivers built with it, never a stale install */
    if (mig_running_from_build_tree())
        rc |= push_path_list(out, mig_build_driver_dir());
    rc |= push_exe_relative(out);
    rc |= push_path_list(out, MIG_INSTALL_DRIVER_DIR);
    return rc ? MIG_ENOMEM : 0;
}

/* Offsets of the slots every driver must fill, with their names for errors. */
#define SLOT(s)                                                                                         \
    {                                                                                                   \
        offsetof(mig_driver, s), #s                                                                     \
    }
static const struct {
    size_t off;
    const char *name;
} mandatory[] = {
    SLOT(connect), SLOT(close),    SLOT(exec),         SLOT(exec_params),
    SLOT(query),   SLOT(fetch),    SLOT(cursor_close), SLOT(begin),
    SLOT(commit),  SLOT(rollback), SLOT(quote_ident),  SLOT(table_exists),
};

/*
 * Check a freshly opened plugin. Returns NULL when usable, else the reason
 * (static or in reason_buf).
 */
static const char *check_table(const mig_driver *d, const char *name, char *reason_buf, size_t n)
{
    if (d == NULL)
        return "its entry point returned no driver table";
    if (d->magic != MIG_DRIVER_MAGIC)
        return "not a mig driver (bad magic number)";
    if (d->abi < MIG_DRIVER_ABI_MIN || d->abi > MIG_DRIVER_ABI) {
        if (MIG_DRIVER_ABI_MIN == MIG_DRIVER_ABI)
            snprintf(reason_buf, n, "driver ABI %u, this mig needs %u", d->abi, MIG_DRIVER_ABI);
        else
            snprintf(reason_buf, n, "driver ABI %u, this mig needs %u to %u", d->abi, MIG_DRIVER_ABI_MIN,
                     MIG_DRIVER_ABI);
        return reason_buf;
    }
    if (d->size < offsetof(mig_driver, mask_url)) {
        snprintf(reason_buf, n, "driver table too small (%zu bytes)", d->size);
        return reason_buf;
    }
    if (d->name == NULL || (name && strcmp(d->name, name) != 0)) {
        snprintf(reason_buf, n, "driver calls itself '%s', file says '%s'", d->name ? d->name : "(null)",
                 name ? name : "");
        return reason_buf;
    }
    for (size_t i = 0; i < sizeof mandatory / sizeof *mandatory; i++) {
        void *slot;
        memcpy(&slot, (const char *)d + mandatory[i].off, sizeof slot);
        if (slot == NULL) {
            snprintf(reason_buf, n, "driver lacks mandatory function '%s'", mandatory[i].name);
            return reason_buf;
        }
    }
    return NULL;
}

/*
 * Open one file. On success *out owns the handle; otherwise *reason says
 * why (static, or in reason_buf) and the return is MIG_ENOMEM when memory
 * ran out (exit 1, as everywhere: not a broken driver), else -1.
 */
static int open_plugin(mig_plugin **out, const char *path, const char *name, const char **reason,
                       char *reason_buf, size_t n)
{
    *out = NULL;
    errno = 0;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        /* dlerror() has no code of its own; the loader's failed allocation leaves ENOMEM */
        int oom = errno == ENOMEM;
        const char *e = dlerror();
        snprintf(reason_buf, n, "cannot be loaded: %s", e ? e : "unknown error");
        *reason = reason_buf;
        return oom ? MIG_ENOMEM : -1;
    }
    mig_driver_entry_fn entry;
    void *sym = dlsym(h, MIG_DRIVER_ENTRY_SYMBOL);
    if (sym == NULL) {
        dlclose(h);
        *reason = "not a mig driver (no " MIG_DRIVER_ENTRY_SYMBOL " symbol)";
        return -1;
    }
    memcpy(&entry, &sym, sizeof entry);
    const mig_driver *d = entry();
    const char *why = check_table(d, name, reason_buf, n);
    if (why) {
        dlclose(h);
        *reason = why;
        return -1;
    }
    mig_plugin *plugin = calloc(1, sizeof *plugin);
    if (plugin == NULL || (plugin->path = mig_strdup(path)) == NULL) {
        free(plugin);
        dlclose(h);
        *reason = "out of memory";
        return MIG_ENOMEM;
    }
    plugin->handle = h;
    plugin->driver = d;
    *out = plugin;
    return 0;
}

static int valid_driver_name(const char *name)
{
    if (*name == '\0' || strlen(name) > 64)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return 1;
}

int mig_plugin_load(mig_plugin **out, mig_ctx *ctx, const char *name)
{
    *out = NULL;
    if (!valid_driver_name(name))
        return mig_fail(ctx, MIG_EDRIVER, "unknown driver '%s'", name);
    mig_strvec dirs = MIG_STRVEC_INIT;
    if (mig_plugin_search_path(ctx, &dirs) < 0) {
        mig_strvec_release(&dirs);
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    int rc = MIG_EDRIVER;
    for (size_t i = 0; i < dirs.n; i++) {
        char *path = mig_aprintf("%s/mig_driver_%s.so", dirs.v[i], name);
        if (path == NULL) {
            rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
            break;
        }
        if (access(path, F_OK) != 0) {
            free(path);
            continue;
        }
        const char *reason = NULL;
        char buf[512];
        int orc = open_plugin(out, path, name, &reason, buf, sizeof buf);
        if (orc == 0) {
            free(path);
            rc = 0;
            break;
        }
        /* the first file found decides: a broken plugin is not silently skipped */
        rc = mig_fail(ctx, orc == MIG_ENOMEM ? MIG_ENOMEM : MIG_EDRIVER, "%s: %s", path, reason);
        free(path);
        break;
    }
    if (rc == MIG_EDRIVER && ctx->err_code != MIG_EDRIVER) {
        mig_fail(ctx, MIG_EDRIVER, "unknown driver '%s': no mig_driver_%s.so found", name, name);
        mig_buf where = MIG_BUF_INIT;
        for (size_t i = 0; i < dirs.n; i++)
            mig_buf_printf(&where, "%s%s", i ? ":" : "", dirs.v[i]);
        mig_error_detail(ctx, "searched %s", mig_buf_cstr(&where));
        mig_error_hint(ctx, "use --driver-path DIR or $MIG_DRIVER_PATH, or see `mig drivers`");
        mig_buf_release(&where);
    }
    mig_strvec_release(&dirs);
    return rc;
}

void mig_plugin_unload(mig_plugin *plugin)
{
    if (plugin == NULL)
        return;
    /*
     * Plugins stay mapped until exit: a driver's client library may keep
     * thread-local state or atexit handlers that must not outlive its code.
     */
    free(plugin->path);
    free(plugin);
}

static const struct {
    const char *scheme, *driver;
} builtin[] = {
    { "sqlite", "sqlite" },     { "sqlite3", "sqlite" }, { "postgresql", "postgres" },
    { "postgres", "postgres" }, { "pgsql", "postgres" }, { "mysql", "mysql" },
    { "mariadb", "mysql" },
};

int mig_plugin_check_url(mig_ctx *ctx, const mig_plugin *plugin, const char *url, int from_flag)
{
    char scheme[64];
    if (url == NULL || mig_url_scheme(url, scheme, sizeof scheme) < 0)
        return 0;
    for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++) {
        if (strcmp(scheme, builtin[i].scheme) != 0 || strcmp(builtin[i].driver, plugin->driver->name) == 0)
            continue;
        /* caught here, not by the driver: its parser would take the URL for something else */
        char *masked = mig_url_mask(url);
        int rc = mig_fail(ctx, MIG_ECONFIG, "driver '%s'%s cannot use URL '%s', which is a %s URL",
                          plugin->driver->name, from_flag ? " (--driver)" : "", masked ? masked : "",
                          builtin[i].driver);
        mig_error_hint(ctx, "leave the driver out (it follows from the URL), or give a %s URL",
                       plugin->driver->name);
        free(masked);
        return rc;
    }
    return 0;
}

static int plugin_claims(const mig_driver *d, const char *scheme)
{
    if (d->url_schemes == NULL)
        return 0;
    for (const char *const *s = d->url_schemes; *s; s++)
        if (strcmp(*s, scheme) == 0)
            return 1;
    return 0;
}

/*
 * A scheme no built-in driver claims: the plugins on the search path say
 * which schemes they take (url_schemes). Only the first file of each name
 * counts, as when loading; a plugin that cannot be opened claims nothing
 * here (naming it with --driver reports why). No plugin claiming the
 * scheme leaves the driver named after it, as before plugins declared any.
 */
static int claimed_by_plugin(char **out, mig_ctx *ctx, const char *scheme, const char *url)
{
    mig_strvec dirs = MIG_STRVEC_INIT, seen = MIG_STRVEC_INIT;
    char *winner = NULL, *winner_path = NULL;
    int rc = mig_plugin_search_path(ctx, &dirs) < 0 ? mig_fail(ctx, MIG_ENOMEM, "out of memory") : 0;
    for (size_t i = 0; rc == 0 && i < dirs.n; i++) {
        DIR *dh = opendir(dirs.v[i]);
        if (dh == NULL)
            continue;
        struct dirent *e;
        while (rc == 0 && (e = readdir(dh)) != NULL) {
            size_t len = strlen(e->d_name);
            if (strncmp(e->d_name, "mig_driver_", 11) != 0 || len <= 14 ||
                strcmp(e->d_name + len - 3, ".so") != 0)
                continue;
            char *name = mig_strndup(e->d_name + 11, len - 14);
            if (name == NULL || mig_strvec_contains(&seen, name) || !valid_driver_name(name)) {
                free(name);
                continue;
            }
            char *path = mig_aprintf("%s/%s", dirs.v[i], e->d_name);
            mig_plugin *plugin = NULL;
            const char *reason;
            char buf[512];
            int orc = path ? open_plugin(&plugin, path, name, &reason, buf, sizeof buf) : MIG_ENOMEM;
            if (orc == MIG_ENOMEM) {
                /* a plugin skipped for want of memory could be the one that claims the scheme */
                rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
            } else if (orc == 0 && plugin_claims(plugin->driver, scheme)) {
                if (winner) {
                    char *masked = mig_url_mask(url);
                    rc = mig_fail(ctx, MIG_ECONFIG,
                                  "URL scheme '%s' is claimed by two drivers: %s (%s) and %s (%s)",
                                  scheme, winner, winner_path, name, path);
                    mig_error_detail(ctx, "URL '%s'", masked ? masked : "");
                    mig_error_hint(ctx, "choose one with --driver, or remove one from the driver path");
                    free(masked);
                } else {
                    winner = mig_strdup(name);
                    winner_path = mig_strdup(path);
                }
            }
            mig_plugin_unload(plugin);
            free(path);
            if (mig_strvec_push_owned(&seen, name) < 0)
                rc = mig_fail(ctx, MIG_ENOMEM, "out of memory");
        }
        closedir(dh);
    }
    mig_strvec_release(&dirs);
    mig_strvec_release(&seen);
    free(winner_path);
    if (rc) {
        free(winner);
        return rc;
    }
    /* before plugins declared schemes, a third-party driver was named after its scheme */
    *out = winner ? winner : mig_strdup(scheme);
    return *out ? 0 : mig_fail(ctx, MIG_ENOMEM, "out of memory");
}

int mig_plugin_name_for_url(char **out, mig_ctx *ctx, const char *url)
{
    *out = NULL;
    char scheme[64];
    if (mig_url_scheme(url, scheme, sizeof scheme) < 0) {
        /* host=... dbname=...: a libpq keyword string */
        if (strchr(url, '=')) {
            *out = mig_strdup("postgres");
            return *out ? 0 : mig_fail(ctx, MIG_ENOMEM, "out of memory");
        }
        char *masked = mig_url_mask(url);
        int rc = mig_fail(ctx, MIG_ECONFIG, "cannot tell the driver from URL '%s'", masked ? masked : "");
        mig_error_hint(ctx, "give a scheme (sqlite:, postgresql://, mysql://) or --driver");
        free(masked);
        return rc;
    }
    for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++)
        if (strcmp(scheme, builtin[i].scheme) == 0) {
            *out = mig_strdup(builtin[i].driver);
            return *out ? 0 : mig_fail(ctx, MIG_ENOMEM, "out of memory");
        }
    return claimed_by_plugin(out, ctx, scheme, url);
}

/* ---- connections ---- */

static int drv_error(mig_db *db, mig_ctx *ctx, int drc, const mig_drv_error *e)
{
    if (drc == MIG_DRV_CONN)
        db->broken = 1;
    else if (MIG_DRIVER_HAS(db->plugin->driver, is_lock_timeout) && db->plugin->driver->is_lock_timeout(e))
        db->lock_timeouts++;
    /* a write lock that could not be had in time (SQLite BEGIN IMMEDIATE) */
    int code = drc == MIG_DRV_BUSY ? MIG_ELOCK : MIG_EFAIL;
    int rc = mig_fail(ctx, code, "%s", e->message[0] ? e->message : "database error");
    if (e->sqlstate[0] && e->code)
        mig_error_detail(ctx, "SQLSTATE %s, error %d", e->sqlstate, e->code);
    else if (e->sqlstate[0])
        mig_error_detail(ctx, "SQLSTATE %s", e->sqlstate);
    else if (e->code)
        mig_error_detail(ctx, "error %d", e->code);
    if (e->detail[0])
        mig_error_detail(ctx, "%s", e->detail);
    return rc;
}

static void err_init(mig_drv_error *e)
{
    memset(e, 0, sizeof *e);
}

static int connect_with(mig_db **out, int *missing, mig_ctx *ctx, const mig_plugin *plugin,
                        const char *url, const char *base_dir, int flags);

int mig_db_connect(mig_db **out, mig_ctx *ctx, const mig_plugin *plugin, const char *url,
                   const char *base_dir)
{
    return connect_with(out, NULL, ctx, plugin, url, base_dir, 0);
}

int mig_db_connect_ro(mig_db **out, int *missing, mig_ctx *ctx, const mig_plugin *plugin,
                      const char *url, const char *base_dir)
{
    *missing = 0;
    return connect_with(out, missing, ctx, plugin, url, base_dir, MIG_CONNECT_NO_CREATE);
}

static int connect_with(mig_db **out, int *missing, mig_ctx *ctx, const mig_plugin *plugin,
                        const char *url, const char *base_dir, int flags)
{
    *out = NULL;
    mig_db *db = calloc(1, sizeof *db);
    if (db == NULL)
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    db->plugin = plugin;
    db->url_masked = url ? mig_url_mask(url) : mig_strdup("(driver defaults)");
    if (db->url_masked == NULL) {
        free(db);
        return mig_fail(ctx, MIG_ENOMEM, "out of memory");
    }
    mig_connect_opts o = { 0 };
    o.application_name = "mig";
    o.lock_timeout_s = ctx->opts.lock_timeout >= 0 ? ctx->opts.lock_timeout : 300.0;
    o.flags = flags;
    db->wait_s = o.lock_timeout_s;
    mig_drv_error e;
    err_init(&e);
    int drc = plugin->driver->connect(&db->conn, url, base_dir, &o, &e);
    if (drc == MIG_DRV_NODB && missing) {
        *missing = 1;
        mig_db_close(db);
        return 0;
    }
    if (drc != MIG_DRV_OK) {
        /* a driver that quotes the URL must not leak its password */
        mig_secret_scrub(e.message, sizeof e.message, url);
        mig_secret_scrub(e.detail, sizeof e.detail, url);
        int rc = mig_fail(ctx, MIG_EFAIL, "%s", e.message[0] ? e.message : "cannot connect");
        if (e.detail[0])
            mig_error_detail(ctx, "%s", e.detail);
        mig_db_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

void mig_db_close(mig_db *db)
{
    if (db == NULL)
        return;
    if (db->conn)
        db->plugin->driver->close(db->conn);
    free(db->url_masked);
    free(db);
}

/*
 * Around each call that may block in the server: the connection is the one
 * mig_ctx_cancel reaches, and a cancelled context runs nothing more. The
 * mutex also keeps close() from running while another thread cancels.
 */
static int run_enter(mig_db *db, mig_ctx *ctx)
{
    pthread_mutex_lock(&ctx->run_mu);
    int cancelled = ctx->cancelled;
    if (!cancelled) {
        ctx->running = db;
        ctx->running_user = ctx->user_next;
    }
    ctx->user_next = 0;
    pthread_mutex_unlock(&ctx->run_mu);
    return cancelled ? mig_fail(ctx, MIG_EFAIL, "cancelled: the statement was not run") : 0;
}

static void run_leave(mig_ctx *ctx)
{
    pthread_mutex_lock(&ctx->run_mu);
    ctx->running = NULL;
    ctx->running_user = 0;
    pthread_mutex_unlock(&ctx->run_mu);
}

void mig_db_cancel_locked(mig_db *db)
{
    if (db && db->conn && MIG_DRIVER_HAS(db->plugin->driver, cancel)) {
        mig_drv_error e;
        err_init(&e);
        db->plugin->driver->cancel(db->conn, &e); /* a failure leaves the statement to end by itself */
    }
}

void mig_ctx_cancel(mig_ctx *ctx)
{
    pthread_mutex_lock(&ctx->run_mu);
    ctx->cancelled = 1;
    mig_db_cancel_locked(ctx->running);
    pthread_mutex_unlock(&ctx->run_mu);
}

void mig_ctx_cancel_clear(mig_ctx *ctx)
{
    pthread_mutex_lock(&ctx->run_mu);
    ctx->cancelled = 0;
    pthread_mutex_unlock(&ctx->run_mu);
}

int mig_db_exec(mig_db *db, mig_ctx *ctx, const char *sql, size_t len, int64_t *affected,
                mig_drv_error *derr)
{
    mig_drv_error e;
    mig_drv_error *pe = derr ? derr : &e;
    err_init(pe);
    if (run_enter(db, ctx))
        return MIG_EFAIL;
    int drc = db->plugin->driver->exec(db->conn, sql, len, affected, pe);
    run_leave(ctx);
    return drc == MIG_DRV_OK ? 0 : drv_error(db, ctx, drc, pe);
}

int mig_db_exec_counted(mig_db *db, mig_ctx *ctx, const char *sql, size_t len, int64_t *statements,
                        mig_drv_error *derr)
{
    *statements = -1;
    if (!MIG_DRIVER_HAS(db->plugin->driver, exec_counted))
        return mig_db_exec(db, ctx, sql, len, NULL, derr);
    mig_drv_error e;
    mig_drv_error *pe = derr ? derr : &e;
    err_init(pe);
    if (run_enter(db, ctx))
        return MIG_EFAIL;
    int drc = db->plugin->driver->exec_counted(db->conn, sql, len, statements, pe);
    run_leave(ctx);
    return drc == MIG_DRV_OK ? 0 : drv_error(db, ctx, drc, pe);
}

int mig_db_exec_params(mig_db *db, mig_ctx *ctx, const char *sql, const mig_value *params, int nparams,
                       int64_t *affected, mig_drv_error *derr)
{
    mig_drv_error e;
    mig_drv_error *pe = derr ? derr : &e;
    err_init(pe);
    if (run_enter(db, ctx))
        return MIG_EFAIL;
    int drc = db->plugin->driver->exec_params(db->conn, sql, params, nparams, affected, pe);
    run_leave(ctx);
    return drc == MIG_DRV_OK ? 0 : drv_error(db, ctx, drc, pe);
}

int mig_db_query(mig_cursor **out, mig_db *db, mig_ctx *ctx, const char *sql, const mig_value *params,
                 int nparams)
{
    mig_drv_error e;
    err_init(&e);
    *out = NULL;
    if (run_enter(db, ctx))
        return MIG_EFAIL;
    int drc = db->plugin->driver->query(out, db->conn, sql, params, nparams, &e);
    run_leave(ctx);
    return drc == MIG_DRV_OK ? 0 : drv_error(db, ctx, drc, &e);
}

int mig_db_fetch(mig_cursor *cur, mig_db *db, mig_ctx *ctx, const mig_row **row)
{
    mig_drv_error e;
    err_init(&e);
    *row = NULL;
    if (run_enter(db, ctx))
        return MIG_EFAIL;
    int drc = db->plugin->driver->fetch(cur, row, &e);
    run_leave(ctx);
    return drc == MIG_DRV_OK ? 0 : drv_error(db, ctx, drc, &e);
}

void mig_db_cursor_close(mig_db *db, mig_cursor *cur)
{
    if (cur)
        db->plugin->driver->cursor_close(cur);
}

/*
 * Where the write transaction is the lock (SQLite), BEGIN waits inside the
 * driver, which cannot say so: a watcher says once, after a second, that mig
 * waits and for what, as the session lock's poll does (lock.c).
 */
typedef struct begin_watch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    mig_ctx *ctx;
    const char *what;
} begin_watch;

static void *watch_begin(void *payload)
{
    begin_watch *w = payload;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    pthread_mutex_lock(&w->mu);
    int rc = 0;
    while (!w->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w->cv, &w->mu, &until);
    if (!w->done)
        mig_log(w->ctx, MIG_LOG_WARN,
                "waiting for the database write lock on %s, held by another connection", w->what);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int mig_db_begin(mig_db *db, mig_ctx *ctx, int write)
{
    mig_drv_error e;
    err_init(&e);
    begin_watch w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, ctx, db->url_masked };
    pthread_t watcher;
    int watching = write && !(db->plugin->driver->caps & MIG_CAP_SESSION_LOCK) &&
                   pthread_create(&watcher, NULL, watch_begin, &w) == 0;
    /*
     * A wait for the write lock (SQLite's) has nothing open yet: a first
     * cancel may end it, as a revision statement, except inside a backfill
     * batch or once cancelled (the cleanups' own transactions).
     */
    pthread_mutex_lock(&ctx->run_mu);
    ctx->running = db;
    ctx->running_user = watching && !ctx->in_batch && mig_cancel_level(ctx) == 0;
    pthread_mutex_unlock(&ctx->run_mu);
    int drc = db->plugin->driver->begin(db->conn, write, &e);
    run_leave(ctx);
    if (watching) {
        pthread_mutex_lock(&w.mu);
        w.done = 1;
        pthread_cond_signal(&w.cv);
        pthread_mutex_unlock(&w.mu);
        pthread_join(watcher, NULL);
    }
    if (drc != MIG_DRV_OK)
        return drv_error(db, ctx, drc, &e);
    db->in_txn = 1;
    return 0;
}

int mig_db_commit(mig_db *db, mig_ctx *ctx)
{
    mig_drv_error e;
    err_init(&e);
    db->in_txn = 0;
    int drc = db->plugin->driver->commit(db->conn, &e);
    return drc == MIG_DRV_OK ? 0 : drv_error(db, ctx, drc, &e);
}

int mig_db_rollback(mig_db *db, mig_ctx *ctx)
{
    mig_drv_error e;
    err_init(&e);
    db->in_txn = 0;
    int drc = db->plugin->driver->rollback(db->conn, &e);
    return drc == MIG_DRV_OK ? 0 : drv_error(db, ctx, drc, &e);
}

int mig_db_lock_try(mig_db *db, mig_ctx *ctx, const char *key, int *busy, char *holder, size_t holder_len)
{
    *busy = 0;
    if (!MIG_DRIVER_HAS(db->plugin->driver, lock_try))
        return mig_fail(ctx, MIG_EFAIL, "driver '%s' has no session lock", db->plugin->driver->name);
    mig_drv_error e;
    err_init(&e);
    if (holder_len)
        holder[0] = '\0';
    int drc = db->plugin->driver->lock_try(db->conn, key, holder, holder_len, &e);
    if (drc == MIG_DRV_BUSY) {
        *busy = 1;
        return 0;
    }
    return drc == MIG_DRV_OK ? 0 : drv_error(db, ctx, drc, &e);
}

int mig_db_unlock(mig_db *db, mig_ctx *ctx, const char *key)
{
    if (!MIG_DRIVER_HAS(db->plugin->driver, unlock))
        return 0;
    mig_drv_error e;
    err_init(&e);
    int drc = db->plugin->driver->unlock(db->conn, key, &e);
    return drc == MIG_DRV_OK ? 0 : drv_error(db, ctx, drc, &e);
}

int mig_db_reset(mig_db *db, mig_ctx *ctx)
{
    if (!MIG_DRIVER_HAS(db->plugin->driver, reset))
        return mig_fail(ctx, MIG_EFAIL, "driver '%s' cannot reset a connection", db->plugin->driver->name);
    mig_drv_error e;
    err_init(&e);
    int drc = db->plugin->driver->reset(db->conn, &e);
    if (drc != MIG_DRV_OK)
        return drv_error(db, ctx, drc, &e);
    /* whatever the last user left open is gone with the session's state */
    db->in_txn = 0;
    db->lock_timeouts = 0;
    return 0;
}

#define NEED_SLOT(db, ctx, slot)                                                                        \
    do {                                                                                                \
        if (!MIG_DRIVER_HAS((db)->plugin->driver, slot))                                                \
            return mig_fail((ctx), MIG_EFAIL, "driver '%s' cannot do " #slot,                           \
                            (db)->plugin->driver->name);                                                \
    } while (0)

int mig_db_set_schema(mig_db *db, mig_ctx *ctx, const char *schema, const char *search_path)
{
    NEED_SLOT(db, ctx, set_schema);
    mig_drv_error e;
    err_init(&e);
    int drc = db->plugin->driver->set_schema(db->conn, schema, search_path, &e);
    return drc == MIG_DRV_OK ? 0 : drv_error(db, ctx, drc, &e);
}

int mig_db_schema_exists(mig_db *db, mig_ctx *ctx, const char *schema, int *exists)
{
    NEED_SLOT(db, ctx, schema_exists);
    mig_drv_error e;
    err_init(&e);
    int drc = db->plugin->driver->schema_exists(db->conn, schema, exists, &e);
    return drc == MIG_DRV_OK ? 0 : drv_error(db, ctx, drc, &e);
}

int mig_db_create_schema(mig_db *db, mig_ctx *ctx, const char *schema)
{
    NEED_SLOT(db, ctx, create_schema);
    mig_drv_error e;
    err_init(&e);
    int drc = db->plugin->driver->create_schema(db->conn, schema, &e);
    return drc == MIG_DRV_OK ? 0 : drv_error(db, ctx, drc, &e);
}

int mig_db_table_exists(mig_db *db, mig_ctx *ctx, const char *table, int *exists)
{
    mig_drv_error e;
    err_init(&e);
    *exists = 0;
    int drc = db->plugin->driver->table_exists(db->conn, table, exists, &e);
    return drc == MIG_DRV_OK ? 0 : drv_error(db, ctx, drc, &e);
}

int mig_db_current_schema(mig_db *db, mig_ctx *ctx, char *buf, size_t buflen, int *known)
{
    *known = 0;
    if (buflen)
        buf[0] = '\0';
    if (!MIG_DRIVER_HAS(db->plugin->driver, current_schema))
        return 0;
    mig_drv_error e;
    err_init(&e);
    int drc = db->plugin->driver->current_schema(db->conn, buf, buflen, &e);
    if (drc == MIG_DRV_NOTSUP)
        return 0;
    if (drc != MIG_DRV_OK)
        return drv_error(db, ctx, drc, &e);
    *known = 1;
    return 0;
}

int mig_db_column_exists(mig_db *db, mig_ctx *ctx, const char *table, const char *column, int *exists)
{
    *exists = 1;
    if (!MIG_DRIVER_HAS(db->plugin->driver, column_exists))
        return 0;
    mig_drv_error e;
    err_init(&e);
    int drc = db->plugin->driver->column_exists(db->conn, table, column, exists, &e);
    if (drc == MIG_DRV_NOTSUP) {
        *exists = 1;
        return 0;
    }
    return drc == MIG_DRV_OK ? 0 : drv_error(db, ctx, drc, &e);
}

int mig_plugin_ident_too_long(const mig_plugin *plugin, const char *name, char *why, size_t whylen)
{
    const mig_driver *t = plugin->driver;
    if (offsetof(mig_driver, ident_max_chars) >= t->size || t->ident_max == 0)
        return 0;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (!t->ident_max_chars || (*p & 0xC0) != 0x80)
            n++;
    if (n <= t->ident_max)
        return 0;
    const char *unit = t->ident_max_chars ? "characters" : "bytes";
    snprintf(why, whylen, "is %zu %s long: %s keeps identifiers of at most %zu %s", n, unit, t->name,
             t->ident_max, unit);
    return 1;
}

size_t mig_plugin_quote_ident_to(const mig_plugin *plugin, const char *name, char *buf, size_t buflen)
{
    return plugin->driver->quote_ident(name, buf, buflen);
}

char *mig_plugin_quote_ident(const mig_plugin *plugin, const char *name)
{
    char small[128];
    size_t need = plugin->driver->quote_ident(name, small, sizeof small);
    if (need < sizeof small)
        return mig_strdup(small);
    char *big = malloc(need + 1);
    if (big)
        plugin->driver->quote_ident(name, big, need + 1);
    return big;
}

int mig_plugin_schema_sql(mig_buf *out, const mig_plugin *plugin, const char *schema, const char *extra,
                          int create)
{
    /*
     * The plugin ABI switches schemas on a live connection only; the SQL
     * that does it is known for the built-in drivers, whose set_schema
     * runs exactly this.
     */
    int pg = strcmp(plugin->driver->name, "postgres") == 0,
        my = strcmp(plugin->driver->name, "mysql") == 0;
    if (!pg && !my)
        return MIG_EDRIVER;
    char *q = mig_plugin_quote_ident(plugin, schema);
    if (q == NULL) {
        out->oom = 1;
        return 0;
    }
    if (create)
        mig_buf_printf(out, "CREATE %s IF NOT EXISTS %s;\n", pg ? "SCHEMA" : "DATABASE", q);
    if (my) {
        mig_buf_printf(out, "USE %s;\n", q);
    } else if (extra == NULL || *extra == '\0') {
        mig_buf_printf(out, "SET search_path TO %s;\n", q);
    } else {
        /* the tenant first, as pg_set_schema puts it, unless the list starts with it */
        size_t ql = strlen(q);
        int first = strncmp(extra, q, ql) == 0 && (extra[ql] == ',' || extra[ql] == '\0');
        mig_buf_printf(out, "SET search_path TO %s%s%s;\n", first ? "" : q, first ? "" : ", ", extra);
    }
    free(q);
    return 0;
}

size_t mig_plugin_statement_end(const mig_plugin *plugin, const char *sql, size_t len, int *empty)
{
    if (MIG_DRIVER_HAS(plugin->driver, statement_end)) {
        size_t n = plugin->driver->statement_end(sql, len);
        if (empty)
            *empty = n == 0 ? 1 : mig_sql_is_blank(plugin->driver->dialect, sql, n);
        return n == 0 ? len : n;
    }
    return mig_sql_statement_end(plugin->driver->dialect, sql, len, empty);
}

/*
 * Autogenerate's calls. A sink callback that fails returns a positive
 * value, which the driver hands back as it is: then the sink's owner has
 * the reason and nothing is set here.
 */
int mig_db_introspect(mig_db *db, mig_ctx *ctx, const mig_schema_sink *sink, void *payload)
{
    if (!MIG_DRIVER_HAS(db->plugin->driver, introspect))
        return mig_fail(ctx, MIG_EDRIVER, "driver %s cannot read a schema (no introspect)",
                        db->plugin->driver->name);
    mig_abi1_bridge abi1;
    if (db->plugin->driver->abi < 2)
        sink = mig_abi1_sink_bridge(&abi1, sink, &payload);
    mig_drv_error e;
    err_init(&e);
    int drc = db->plugin->driver->introspect(db->conn, NULL, sink, payload, &e);
    if (drc > 0)
        return drc;
    return drc == MIG_DRV_OK ? 0 : drv_error(db, ctx, drc, &e);
}

int mig_db_introspect_ddl(mig_db *db, mig_ctx *ctx, const char *ddl, size_t len,
                          const mig_schema_sink *sink, void *payload)
{
    if (!MIG_DRIVER_HAS(db->plugin->driver, introspect_ddl))
        return mig_fail(ctx, MIG_EDRIVER, "driver %s cannot load a target schema (no introspect_ddl)",
                        db->plugin->driver->name);
    mig_abi1_bridge abi1;
    if (db->plugin->driver->abi < 2)
        sink = mig_abi1_sink_bridge(&abi1, sink, &payload);
    mig_drv_error e;
    err_init(&e);
    int drc = db->plugin->driver->introspect_ddl(db->conn, ddl, len, sink, payload, &e);
    if (drc > 0)
        return drc;
    return drc == MIG_DRV_OK ? 0 : drv_error(db, ctx, drc, &e);
}

int mig_db_introspect_objects(mig_db *db, mig_ctx *ctx, mig_object_fn fn, void *payload, const char **kinds)
{
    *kinds = NULL;
    if (!MIG_DRIVER_HAS(db->plugin->driver, introspect_objects))
        return 0;
    mig_drv_error e;
    err_init(&e);
    const char *k = "";
    int drc = db->plugin->driver->introspect_objects(db->conn, fn, payload, &k, &e);
    if (drc > 0)
        return drc;
    if (drc != MIG_DRV_OK)
        return drv_error(db, ctx, drc, &e);
    *kinds = k;
    return 0;
}

int mig_plugin_render_ddl(const mig_plugin *plugin, const mig_ddl_change *change, mig_ddl_emit_fn emit,
                          void *payload, int *supported)
{
    *supported = 0;
    if (!MIG_DRIVER_HAS(plugin->driver, render_ddl))
        return 0;
    int drc = plugin->driver->render_ddl(change, emit, payload);
    if (drc == MIG_DRV_NOTSUP)
        return 0;
    *supported = 1;
    return drc < 0 ? MIG_EFAIL : drc;
}

int mig_plugin_limits_sql(const mig_plugin *plugin, const mig_limits *lim, int restore,
                          mig_ddl_emit_fn emit, void *payload)
{
    if (!MIG_DRIVER_HAS(plugin->driver, limits_sql))
        return 0;
    int drc = plugin->driver->limits_sql(lim, restore, emit, payload);
    /* emit's own result (a MIG_E* code from the caller's emit) comes back as it is */
    return drc == MIG_DRV_NOTSUP || drc == MIG_DRV_BUSY || drc == MIG_DRV_NODB ? MIG_EFAIL : drc;
}

/* Lint: the driver's rules for its dialect (lint.c). NULL when the driver has none. */
const mig_lint_rule *mig_plugin_lint_rules(const mig_plugin *plugin)
{
    return MIG_DRIVER_HAS(plugin->driver, lint_rules) && MIG_DRIVER_HAS(plugin->driver, lint)
               ? plugin->driver->lint_rules
               : NULL;
}

int mig_plugin_lint(const mig_plugin *plugin, const mig_lint_stmt *stmt, mig_lint_state *st,
                    const mig_lint_sink *sink, void *payload)
{
    if (!MIG_DRIVER_HAS(plugin->driver, lint))
        return 0;
    int drc = plugin->driver->lint(stmt, st, sink, payload);
    if (drc == MIG_DRV_NOTSUP)
        return 0;
    return drc < 0 ? MIG_EFAIL : drc;
}

int mig_db_table_rows(mig_db *db, mig_ctx *ctx, const char *table, int64_t *rows)
{
    *rows = -1;
    if (!MIG_DRIVER_HAS(db->plugin->driver, table_rows))
        return 0;
    mig_drv_error e;
    err_init(&e);
    int drc = db->plugin->driver->table_rows(db->conn, table, rows, &e);
    return drc == MIG_DRV_OK ? 0 : drv_error(db, ctx, drc, &e);
}
