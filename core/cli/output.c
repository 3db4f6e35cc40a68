/*
 * What mig says on stderr: the progress lines libmig hands to the logger,
 * and the error that ends a failed run. An error is one line, `mig: ...`,
 * with its hint on a second line when there is one; the detail (statement,
 * SQLSTATE, server text), the user's file and line and the libmig origin
 * follow only with -v, so a failure stays readable at a glance.
 *
 * Colour is kept to bold on errors and warnings, and only when stderr is a
 * terminal, TERM is not "dumb" and NO_COLOR is not set.
 */
#include "cmd.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define BOLD  "\033[1m"
#define RESET "\033[0m"

int cli_fail(cli *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err_message, sizeof c->err_message, fmt, ap);
    va_end(ap);
    c->err_hint[0] = '\0';
    c->err_code = code;
    return code;
}

void cli_hint(cli *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err_hint, sizeof c->err_hint, fmt, ap);
    va_end(ap);
}

int cli_color_stderr(void)
{
    static int cached = -1;
    if (cached < 0) {
        const char *term = getenv("TERM");
        cached = isatty(STDERR_FILENO) && getenv("NO_COLOR") == NULL
                 && !(term && strcmp(term, "dumb") == 0);
    }
    return cached;
}

/*
 * The live line. One step runs at a time in a run without tenants (with
 * tenants no live line is drawn: several workers would fight over it), so
 * one line is all there is. A ticker thread redraws it every TICK_MS so a
 * twenty-minute index build shows its time going by.
 */
#define TICK_MS 250

static struct {
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    pthread_t       thr;
    int             thread_on, stop;
    int             active;   /* a step is running */
    int             drawn;    /* its line is on the screen */
    char            step[512];
    char            detail[160];
    double          t0;
} live = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, "", "", 0 };

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t term_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
        return ws.ws_col;
    return 80;
}

/* Called with live.mu held. The line is cut to the terminal's width: a wrapped line cannot be redrawn in place. */
static void draw(void)
{
    char line[800];
    double s = (mono_ms() - live.t0) / 1000.0;
    char el[32];
    if (s < 60)
        snprintf(el, sizeof el, "%.1f s", s);
    else
        snprintf(el, sizeof el, "%d min %02d s", (int)s / 60, (int)s % 60);
    int n = snprintf(line, sizeof line, "%s ... %s%s%s", live.step, live.detail, *live.detail ? "  " : "", el);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    size_t w = term_width() - 1;
    if (len > w) {
        len = w;
        while (len > 0 && ((unsigned char)line[len] & 0xC0) == 0x80)
            len--; /* not in the middle of a character */
    }
    fprintf(stderr, "\r\033[K%.*s", (int)len, line);
    fflush(stderr);
    live.drawn = 1;
}

static void *ticker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&live.mu);
    while (!live.stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&live.cv, &live.mu, &ts);
        if (!live.stop && live.active)
            draw();
    }
    pthread_mutex_unlock(&live.mu);
    return NULL;
}

static void on_progress(void *payload, const mig_progress *p)
{
    (void)payload;
    pthread_mutex_lock(&live.mu);
    if (p->event == MIG_PROGRESS_END) {
        live.active = 0;
        fprintf(stderr, "\r\033[K%s\n", p->line);
        fflush(stderr);
        live.drawn = 0;
    } else {
        if (p->event == MIG_PROGRESS_BEGIN) {
            snprintf(live.step, sizeof live.step, "%s", p->step);
            live.t0 = mono_ms() - p->elapsed_ms;
            live.active = 1;
        }
        snprintf(live.detail, sizeof live.detail, "%s", p->detail);
        /* updates come as fast as a backfill's batches: the ticker draws them */
        if (p->event == MIG_PROGRESS_BEGIN)
            draw();
    }
    pthread_mutex_unlock(&live.mu);
}

void cli_live_begin(cli *c)
{
    if (c->quiet || !cli_color_stderr() || mig_has_tenants(c->ctx))
        return;
    live.stop = 0;
    if (pthread_create(&live.thr, NULL, ticker, NULL) != 0)
        return; /* no thread: plain lines, from libmig */
    live.thread_on = 1;
    mig_set_progress_callback(c->ctx, on_progress, NULL);
}

void cli_live_end(cli *c)
{
    mig_set_progress_callback(c->ctx, NULL, NULL);
    if (!live.thread_on)
        return;
    pthread_mutex_lock(&live.mu);
    live.stop = 1;
    if (live.drawn)
        fputs("\r\033[K", stderr);
    live.drawn = live.active = 0;
    pthread_cond_signal(&live.cv);
    pthread_mutex_unlock(&live.mu);
    pthread_join(live.thr, NULL);
    live.thread_on = 0;
}

void cli_logger(void *payload, mig_log_level level, const char *line)
{
    (void)payload;
    /* One fprintf per line, under the live line's lock: lines from tenant workers never interleave. */
    pthread_mutex_lock(&live.mu);
    if (live.drawn)
        fputs("\r\033[K", stderr);
    if (level == MIG_LOG_WARN && cli_color_stderr())
        fprintf(stderr, BOLD "%s" RESET "\n", line);
    else
        fprintf(stderr, "%s\n", line);
    live.drawn = 0;
    if (live.active)
        draw();
    pthread_mutex_unlock(&live.mu);
}

/* Write text with newlines folded to spaces: the message must stay one line. */
static void one_line(const char *s)
{
    for (; *s; s++)
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, stderr);
}

/* Each line of a multi-line field, under its label. */
static void labelled(const char *label, const char *text)
{
    while (text && *text) {
        const char *nl = strchr(text, '\n');
        size_t len = nl ? (size_t)(nl - text) : strlen(text);
        fprintf(stderr, "%s: %.*s\n", label, (int)len, text);
        text = nl ? nl + 1 : NULL;
    }
}

void cli_report_error(cli *c, int rc)
{
    const char *message = "", *hint = "", *detail = "", *file = "", *origin = "";
    int line = 0;
    if (c->err_code != 0) {
        message = c->err_message;
        hint = c->err_hint;
    } else if (c->ctx != NULL) {
        const mig_error *e = mig_last_error(c->ctx);
        message = e->message ? e->message : "";
        hint = e->hint ? e->hint : "";
        detail = e->detail ? e->detail : "";
        file = e->file ? e->file : "";
        line = e->line;
        origin = e->origin ? e->origin : "";
    }

    int color = cli_color_stderr();
    fputs(color ? BOLD "mig:" RESET " " : "mig: ", stderr);
    if (*message)
        one_line(message);
    else if (c->cmd)
        fprintf(stderr, "'%s' failed (%s)", c->cmd->name, cli_error_name(rc));
    else
        fprintf(stderr, "failed (%s)", cli_error_name(rc));
    fputc('\n', stderr);
    /*
     * A failed migration shows its statement and the database's code
     * (SQLSTATE) at once; bad input stays one line.
     */
    if (!c->verbose && (rc == MIG_EFAIL || rc == MIG_EPARTIAL))
        labelled("detail", detail);
    labelled("hint", hint);
    if (c->verbose) {
        labelled("detail", detail);
        if (*file) {
            if (line > 0)
                fprintf(stderr, "where: %s:%d\n", file, line);
            else
                fprintf(stderr, "where: %s\n", file);
        }
        if (*origin)
            fprintf(stderr, "origin: %s\n", origin);
    }
    if (c->err_after[0])
        fprintf(stderr, "%s\n", c->err_after);
}
