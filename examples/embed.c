/*
 * An application that migrates its own database at start-up, the
 * equivalent of `mig upgrade head`, through the public API only; with
 * --test, what the application's own test suite would call instead: every
 * revision up, down and up again on a scratch database (`mig test`).
 * With --events, what a run does is logged as it happens (the event
 * callback), as an application would feed its own log; with
 * --cancel-after MS, another thread calls mig_cancel after MS ms, as an
 * application shutting down would.
 *
 *     embed [--test] [--events] [--cancel-after MS] CONFIG_PATH [URL]
 */
/* nanosleep, for --cancel-after, under a strict -std=c11 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mig/mig.h>

static void on_step(void *payload, const mig_step_report *step)
{
    int *count = payload;
    (*count)++;
    printf("applied %s (%s)\n", step->revision, step->message);
}

/* Steps, statements and warnings as they happen, one line each. */
static void on_event(void *payload, const mig_event *e)
{
    (void)payload;
    switch (e->kind) {
    case MIG_EVENT_STEP_BEGIN:
        printf("event: begin %s\n", e->step);
        break;
    case MIG_EVENT_PROGRESS:
        printf("event: progress %s\n", e->detail);
        break;
    case MIG_EVENT_STEP_END:
        printf("event: %s %s (%.0f ms)\n", e->failed ? "failed" : "end", e->step, e->elapsed_ms);
        break;
    case MIG_EVENT_STATEMENT:
        printf("event: statement %s\n", e->sql);
        break;
    case MIG_EVENT_WARNING:
        printf("event: warning %s\n", e->line);
        break;
    }
}

/* One line per revision that did not pass, with the check and its reason. */
static void on_verdict(void *payload, const mig_test_report *r)
{
    int *count = payload;
    if (r->revision[0])
        (*count)++;
    if (strcmp(r->status, "failed") != 0)
        return;
    for (size_t i = 0; i < r->nchecks; i++)
        if (strcmp(r->checks[i].status, "failed") == 0)
            printf("FAIL %s %s: %s\n", r->revision[0] ? r->revision : "graph", r->checks[i].name,
                   r->checks[i].message);
}

/* --cancel-after MS: what an application's shutdown does to a run on another thread. */
typedef struct canceller {
    mig_ctx *ctx;
    long ms;
} canceller;

static void *cancel_later(void *arg)
{
    canceller *c = arg;
    struct timespec ts = { c->ms / 1000, (c->ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
    mig_cancel(c->ctx);
    return NULL;
}

int main(int argc, char **argv)
{
    int test = 0, events = 0, i = 1;
    long cancel_ms = -1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--test") == 0)
            test = 1;
        else if (strcmp(argv[i], "--events") == 0)
            events = 1;
        else if (strcmp(argv[i], "--cancel-after") == 0 && i + 1 < argc)
            cancel_ms = atol(argv[++i]);
        else
            break;
    }
    if (i >= argc || argv[i][0] == '-') {
        fprintf(stderr, "usage: %s [--test] [--events] [--cancel-after MS] CONFIG_PATH [URL]\n", argv[0]);
        return 2;
    }
    mig_options o = MIG_OPTIONS_INIT;
    o.config_path = argv[i];
    o.url = i + 1 < argc ? argv[i + 1] : NULL;
    o.quiet = 1;

    mig_ctx *ctx = NULL;
    int steps = 0;
    int rc = mig_ctx_new(&o, &ctx);
    pthread_t th;
    canceller cc = { ctx, cancel_ms };
    int cancelling = rc == 0 && cancel_ms >= 0 && pthread_create(&th, NULL, cancel_later, &cc) == 0;
    if (rc == 0 && test) {
        /* a temporary database on the configured server, dropped afterwards */
        mig_test_opts t = { 0 };
        rc = mig_test(ctx, &t, on_verdict, &steps);
    } else if (rc == 0) {
        mig_set_step_callback(ctx, on_step, &steps);
        if (events)
            mig_set_event_callback(ctx, on_event, NULL);
        rc = mig_upgrade(ctx, "head", 0);
    }
    if (cancelling)
        pthread_join(th, NULL);
    if (rc != 0)
        fprintf(stderr, "embed: %s\n", mig_last_error(ctx)->message);
    else if (test)
        printf("every revision proved (%d revision%s)\n", steps, steps == 1 ? "" : "s");
    else
        printf("database is current (%d step%s)\n", steps, steps == 1 ? "" : "s");
    mig_ctx_free(ctx);
    return mig_exit_status(rc);
}
