/*
 * Output of per-tenant runs: one line on stderr as each tenant ends, then
 * a summary table (tenant, from, to, time, status), or a "tenants" array
 * in the JSON document. A progress bar is drawn on a terminal only.
 */
#include "cmd.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct row {
    char *tenant, *from, *to, *status, *error, *detail;
    double ms;
    size_t steps;
    size_t index; /* place in the tenant list: the summary's order */
    int unread;   /* not started, and its state could not be read */
} row;

static struct {
    pthread_mutex_t mu;
    row *rows;
    size_t n, cap;
    int quiet;
    int tty;
} t = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0, 0 };

static char *dup0(const char *s)
{
    size_t n = strlen(s ? s : "");
    char *p = malloc(n + 1);
    if (p)
        memcpy(p, s ? s : "", n + 1);
    return p;
}

static void on_tenant(void *payload, const mig_tenant_report *r)
{
    (void)payload;
    pthread_mutex_lock(&t.mu);
    if (t.n == t.cap) {
        size_t cap = t.cap ? t.cap * 2 : 64;
        row *nr = realloc(t.rows, cap * sizeof *nr);
        if (nr == NULL) {
            pthread_mutex_unlock(&t.mu);
            return;
        }
        t.rows = nr;
        t.cap = cap;
    }
    row *w = &t.rows[t.n++];
    w->tenant = dup0(r->tenant);
    w->from = dup0(r->from);
    w->to = dup0(r->to);
    w->status = dup0(r->status);
    w->error = dup0(r->error);
    w->detail = dup0(r->detail);
    w->ms = r->duration_ms;
    w->steps = r->steps;
    w->index = r->index;
    w->unread = r->from == NULL;
    if (!t.quiet && strcmp(r->status, "not started") != 0) {
        cli_live_hold();
        if (strcmp(r->status, "failed") == 0) {
            char *name = cli_text(r->tenant, CLI_TEXT_LINE), *why = cli_text(r->error, CLI_TEXT_LINE);
            fprintf(stderr, "tenant %s: failed: %s\n", name ? name : "?", why ? why : "?");
            free(name);
            free(why);
            /* the statement and the database's code, as a run without tenants shows them */
            cli_labelled(stderr, "detail", w->detail);
        } else {
            char *name = cli_text(r->tenant, CLI_TEXT_LINE);
            fprintf(stderr, "tenant %s: %s -> %s  %s, %zu step%s  (%.0f ms)\n", name ? name : "?",
                    *r->from ? r->from : "base", *r->to ? r->to : "base", r->status, r->steps,
                    r->steps == 1 ? "" : "s", r->duration_ms);
            free(name);
        }
        char counter[64];
        snprintf(counter, sizeof counter, "[%zu/%zu tenants]", r->ended, r->total);
        fflush(stderr);
        cli_live_release(t.tty ? counter : NULL);
    }
    pthread_mutex_unlock(&t.mu);
}

void cli_tenants_begin(cli *c)
{
    t.quiet = c->quiet || c->json;
    /* with -v the workers print their steps: a line redrawn in place would be torn up by them */
    t.tty = !t.quiet && !c->verbose && cli_color_stderr();
    mig_set_tenant_callback(c->ctx, on_tenant, NULL);
    /* the counter, and under it the step a worker is running */
    if (t.tty)
        cli_live_begin(c);
}

/* Rows arrive as tenants end; the summary follows the list, as they were started. */
static int by_index(const void *a, const void *b)
{
    size_t x = ((const row *)a)->index, y = ((const row *)b)->index;
    return (x > y) - (x < y);
}

void cli_tenants_end(cli *c)
{
    mig_set_tenant_callback(c->ctx, NULL, NULL);
    if (t.tty)
        cli_live_end(c);
    if (t.n)
        qsort(t.rows, t.n, sizeof *t.rows, by_index);
    if (c->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < t.n; i++) {
            json_t *o = json_object();
            json_object_set_new(o, "tenant", cli_json_str(t.rows[i].tenant));
            /* null: a tenant not started whose state could not be read ("" is base) */
            json_object_set_new(o, "from", t.rows[i].unread ? json_null() : cli_json_str(t.rows[i].from));
            json_object_set_new(o, "to", t.rows[i].unread ? json_null() : cli_json_str(t.rows[i].to));
            json_object_set_new(o, "duration_ms", json_real(t.rows[i].ms));
            json_object_set_new(o, "status", cli_json_str(t.rows[i].status));
            json_object_set_new(o, "steps", json_integer((json_int_t)t.rows[i].steps));
            if (*t.rows[i].error)
                json_object_set_new(o, "error", cli_json_str(t.rows[i].error));
            if (t.rows[i].detail && *t.rows[i].detail)
                json_object_set_new(o, "detail", cli_json_str(t.rows[i].detail));
            json_array_append_new(arr, o);
        }
        json_object_set_new(c->doc, "tenants", arr);
    } else if (t.n && !c->quiet) {
        size_t w = 6;
        for (size_t i = 0; i < t.n; i++) {
            char *name = cli_text(t.rows[i].tenant, CLI_TEXT_LINE);
            if (name) {
                free(t.rows[i].tenant);
                t.rows[i].tenant = name;
            }
            if (strlen(t.rows[i].tenant) > w)
                w = strlen(t.rows[i].tenant);
        }
        fprintf(stderr, "\n%-*s  %-14s  %-14s  %9s  %s\n", (int)w, "tenant", "from", "to", "time",
                "status");
        for (size_t i = 0; i < t.n; i++) {
            row *r = &t.rows[i];
            /* a tenant never started took no time; one that could not be read is unknown, not base */
            char ms[32] = "-";
            if (strcmp(r->status, "not started") != 0)
                snprintf(ms, sizeof ms, "%.0f ms", r->ms);
            fprintf(stderr, "%-*s  %-14s  %-14s  %9s  %s\n", (int)w, r->tenant,
                    r->unread  ? "-"
                    : *r->from ? r->from
                               : "base",
                    r->unread ? "-"
                    : *r->to  ? r->to
                              : "base",
                    ms, r->status);
        }
    }
    for (size_t i = 0; i < t.n; i++) {
        free(t.rows[i].tenant);
        free(t.rows[i].from);
        free(t.rows[i].to);
        free(t.rows[i].status);
        free(t.rows[i].error);
        free(t.rows[i].detail);
    }
    free(t.rows);
    t.rows = NULL;
    t.n = t.cap = 0;
}
