/*
 * mig upgrade TARGET [--sql] [--resume] [--expand], and the run shared with
 * downgrade. libmig prints the progress lines itself, through the logger;
 * here the steps are only collected for --json, and the SQL of an offline
 * (--sql) run is written on stdout, or into the JSON document.
 */
#include "cmd.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static struct {
    int sql;
    int resume;
    int expand;
} o;

static const cli_opt opts[] = {
    { 0, "sql", NULL, CLI_FLAG, &o.sql, 0, "print the SQL instead, without connecting" },
    { 0, "resume", NULL, CLI_FLAG, &o.resume, 0, "go on at the failed statement of a revision" },
    { 0, "expand", NULL, CLI_FLAG, &o.expand, 0,
      "stop before the first pending contract revision on each branch" },
    { 0 }
};

const cli_spec cmd_upgrade_spec = { "TARGET", 1, 1, opts,
                                    "TARGET is head, heads, a revision id or unique prefix, +N, REV+N,\n"
                                    "LABEL@head or LABEL@+N. With --sql it may be a range FROM:TO; the\n"
                                    "start is base when no FROM is given. With --expand, revisions marked\n"
                                    "`-- mig:phase contract`, and those that stand on them, are held back\n"
                                    "for a later plain upgrade (docs/zero-downtime.md)." };

int cmd_upgrade(cli *c)
{
    unsigned flags =
        (o.sql ? MIG_RUN_SQL : 0u) | (o.resume ? MIG_RUN_RESUME : 0u) | (o.expand ? MIG_RUN_EXPAND : 0u);
    return cli_run_migration(c, CLI_UPGRADE, flags);
}

/* What the callbacks collect; tenant workers may report steps at once. */
typedef struct run_report {
    pthread_mutex_t lock;
    json_t *steps;
    char *sql;
    size_t sql_len;
    int oom;
} run_report;

static void on_step(void *payload, const mig_step_report *s)
{
    run_report *r = payload;
    json_t *j = json_object();
    json_object_set_new(j, "revision", cli_json_str(s->revision));
    json_object_set_new(j, "from", cli_json_str(s->from));
    json_object_set_new(j, "direction", cli_json_str(s->direction));
    json_object_set_new(j, "message", cli_json_str(s->message));
    /* Microseconds are as fine as a clock reading here means anything. */
    json_object_set_new(j, "duration_ms", json_real(round(s->duration_ms * 1000.0) / 1000.0));
    json_object_set_new(j, "status", cli_json_str(s->status));
    json_object_set_new(j, "attempts", json_integer(s->attempts));
    if (s->tenant) /* --sql with tenants: the section it was rendered in */
        json_object_set_new(j, "tenant", cli_json_str(s->tenant));
    pthread_mutex_lock(&r->lock);
    json_array_append_new(r->steps, j);
    pthread_mutex_unlock(&r->lock);
}

static void append_sql(run_report *r, const char *s, size_t len)
{
    char *p = realloc(r->sql, r->sql_len + len + 1);
    if (p == NULL) {
        r->oom = 1;
        return;
    }
    memcpy(p + r->sql_len, s, len);
    r->sql_len += len;
    p[r->sql_len] = '\0';
    r->sql = p;
}

/* Each piece of SQL ends a line, whether or not libmig ended it. */
static void on_sql_json(void *payload, const char *sql)
{
    run_report *r = payload;
    size_t len = strlen(sql);
    pthread_mutex_lock(&r->lock);
    append_sql(r, sql, len);
    if (len == 0 || sql[len - 1] != '\n')
        append_sql(r, "\n", 1);
    pthread_mutex_unlock(&r->lock);
}

static void on_sql_text(void *payload, const char *sql)
{
    (void)payload;
    size_t len = strlen(sql);
    fputs(sql, stdout);
    if (len == 0 || sql[len - 1] != '\n')
        fputc('\n', stdout);
}

int cli_run_migration(cli *c, cli_direction dir, unsigned flags)
{
    int down = dir == CLI_DOWNGRADE, sql = (flags & MIG_RUN_SQL) != 0;
    int resume = (flags & MIG_RUN_RESUME) != 0, expand = (flags & MIG_RUN_EXPAND) != 0;
    const char *target = c->args[0];
    int range = strchr(target, ':') != NULL;
    if (range && !sql)
        return cli_fail(c, MIG_EUSAGE, "a range '%s' works only with --sql", target);
    if (down && sql && !range) {
        cli_fail(c, MIG_EUSAGE, "'downgrade --sql' needs a range FROM:TO, got '%s'", target);
        cli_hint(c, "e.g. mig downgrade --sql head:base");
        return MIG_EUSAGE;
    }
    if (resume && sql)
        return cli_fail(c, MIG_EUSAGE, "options '--resume' and '--sql' do not go together");

    run_report r;
    memset(&r, 0, sizeof r);
    pthread_mutex_init(&r.lock, NULL);
    if (c->json) {
        r.steps = json_array();
        mig_set_step_callback(c->ctx, on_step, &r);
        if (sql)
            mig_set_sql_callback(c->ctx, on_sql_json, &r);
    } else if (sql) {
        mig_set_sql_callback(c->ctx, on_sql_text, NULL);
    }

    int tenants = mig_has_tenants(c->ctx);
    /* offline no tenant runs: the script has a section per tenant, and each step names its tenant */
    if (tenants && !sql)
        cli_tenants_begin(c);
    else if (!sql)
        cli_live_begin(c);
    int rc = down ? mig_downgrade(c->ctx, target, flags) : mig_upgrade(c->ctx, target, flags);
    if (tenants && !sql)
        cli_tenants_end(c);
    else if (!sql)
        cli_live_end(c);
    mig_run_result res;
    mig_last_run(c->ctx, &res);
    if (rc != 0 && *res.summary)
        snprintf(c->err_after, sizeof c->err_after, "%s", res.summary);

    /* The callbacks point into this frame: unhook them before it ends. */
    mig_set_step_callback(c->ctx, NULL, NULL);
    mig_set_sql_callback(c->ctx, NULL, NULL);
    if (c->json) {
        json_object_set_new(c->doc, "target", cli_json_str(target));
        if (sql)
            json_object_set_new(c->doc, "sql", cli_json_str(r.sql ? r.sql : ""));
        json_object_set_new(c->doc, "steps", r.steps);
        if (expand)
            json_object_set_new(c->doc, "held_back", cli_json_strv(res.held_back));
        /* where the database is now, failed or not; null when it was never read (--sql, tenants) */
        if (res.known && !tenants) {
            json_t *cur = json_array();
            for (size_t i = 0; i < res.ncurrent; i++)
                json_array_append_new(cur, cli_json_str(res.current[i]));
            json_object_set_new(c->doc, "current", cur);
        } else {
            json_object_set_new(c->doc, "current", json_null());
        }
    }
    free(r.sql);
    pthread_mutex_destroy(&r.lock);
    if (rc == 0 && r.oom)
        rc = cli_fail(c, MIG_ENOMEM, "out of memory collecting the SQL");
    return rc;
}
