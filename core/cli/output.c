/*
 * What mig says on stderr: the progress lines libmig hands to the logger,
 * and the error that ends a failed run. An error is one line, `mig: ...`,
 * with its hint on a second line when there is one; the detail (statement,
 * SQLSTATE, server text), the user's file and line and the libmig origin
 * follow only with -v, so a failure stays readable at a glance.
 *
 * Colour is kept to bold on errors and warnings, and only when stderr is a
 * terminal, TERM is not "dumb" and NO_COLOR is not set.
 *
 * Text from outside mig (revision messages, tenant names, SQL, the
 * database's messages) reaches the terminal only through cli_text and its
 * callers here: a control character in it could recolour the terminal,
 * retitle the window or forge a line of output.
 */
#include "cmd.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define BOLD  "\033[1m"
#define RESET "\033[0m"

/*
 * Escape s into out (NULL: only count): C0 controls, DEL, and C1 controls
 * (U+0080..U+009F in UTF-8, or a stray byte 0x80..0x9F that 8-bit
 * terminals take for one) become \xHH or \u00HH; \n, \r and \t become
 * those two characters, except that CLI_TEXT_BLOCK lets line breaks and
 * tabs through, and CLI_TEXT_TABS tabs. Returns the length written.
 */
static size_t escape_into(char *out, const char *s, int mode)
{
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;
    char tmp[8];
    while (*p) {
        /* printable ASCII, most of every line, is copied a run at a time */
        size_t run = 0;
        while (p[run] >= 0x20 && p[run] < 0x7f)
            run++;
        if (run) {
            if (out)
                memcpy(out + o, p, run);
            o += run;
            p += run;
            continue;
        }
        unsigned char c = *p;
        const char *esc = NULL;
        size_t take = 1;
        if (c < 0x20 || c == 0x7f) {
            if ((mode == CLI_TEXT_BLOCK && c == '\n') || (mode != CLI_TEXT_LINE && c == '\t'))
                esc = NULL;
            else if (c == '\n')
                esc = "\\n";
            else if (c == '\r')
                esc = "\\r";
            else if (c == '\t')
                esc = "\\t";
            else {
                snprintf(tmp, sizeof tmp, "\\x%02x", c);
                esc = tmp;
            }
        } else if (c == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            snprintf(tmp, sizeof tmp, "\\u%04x", p[1]);
            esc = tmp;
            take = 2;
        } else if (c >= 0x80 && c <= 0x9f) {
            snprintf(tmp, sizeof tmp, "\\x%02x", c);
            esc = tmp;
        } else if (c >= 0xc2 && c <= 0xf4) {
            /* a whole UTF-8 sequence at once, so its continuation bytes are not taken for C1 */
            size_t want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
            while (take < want && p[take] >= 0x80 && p[take] <= 0xbf)
                take++;
            if (take < want)
                take = 1;
        }
        if (esc) {
            size_t n = strlen(esc);
            if (out)
                memcpy(out + o, esc, n);
            o += n;
        } else {
            if (out)
                memcpy(out + o, p, take);
            o += take;
        }
        p += take;
    }
    if (out)
        out[o] = '\0';
    return o;
}

char *cli_text(const char *s, int mode)
{
    if (s == NULL)
        s = "";
    char *out = malloc(escape_into(NULL, s, mode) + 1);
    if (out)
        escape_into(out, s, mode);
    return out;
}

void cli_put(FILE *f, const char *s)
{
    char *e = cli_text(s, CLI_TEXT_LINE);
    if (e == NULL && s && escape_into(NULL, s, CLI_TEXT_LINE) < 512) {
        /* out of memory: an error's words still come out ("out of memory" is short) */
        char line[512];
        escape_into(line, s, CLI_TEXT_LINE);
        fputs(line, f);
        return;
    }
    fputs(e ? e : "?", f);
    free(e);
}

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
        cached =
            isatty(STDERR_FILENO) && getenv("NO_COLOR") == NULL && !(term && strcmp(term, "dumb") == 0);
    }
    return cached;
}

/*
 * The live line. One step runs at a time in a run without tenants, so one
 * line is all there is. A ticker thread redraws it every TICK_MS so a
 * twenty-minute index build shows its time going by. In a run per tenant
 * the line is the tenant counter (`[k/N tenants]`, set by tenants_out.c)
 * followed by the step a worker last began or reported progress on; the
 * workers' steps leave no line of their own (each tenant ends with one).
 */
#define TICK_MS 250

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thr;
    int thread_on, stop;
    int active; /* a step is running */
    int drawn;  /* its line is on the screen */
    char step[512];
    char detail[160];
    double t0;
    int tenants;     /* a run per tenant: see above */
    char owner[256]; /* the tenant whose step is shown */
    char prefix[64]; /* the tenant counter */
} live = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, "", "", 0, 0, "", "" };

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
    char line[900];
    double s = (mono_ms() - live.t0) / 1000.0;
    char el[32];
    if (s < 60)
        snprintf(el, sizeof el, "%.1f s", s);
    else
        snprintf(el, sizeof el, "%d min %02d s", (int)s / 60, (int)s % 60);
    const char *sep = *live.prefix ? " " : "";
    int n = live.active ? snprintf(line, sizeof line, "%s%s%s ... %s%s%s", live.prefix, sep, live.step,
                                   live.detail, *live.detail ? "  " : "", el)
                        : snprintf(line, sizeof line, "%s", live.prefix);
    if (n == 0)
        return;
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

/* A tenant worker's step: it takes the line over; its end gives the line back to the counter. */
static void on_tenant_progress(const mig_event *p, const char *step)
{
    const char *owner = p->tenant ? p->tenant : "";
    if (p->kind == MIG_EVENT_STEP_END) {
        if (live.active && strcmp(live.owner, owner) == 0) {
            live.active = 0;
            draw();
        }
        return;
    }
    int mine = live.active && strcmp(live.owner, owner) == 0;
    /* progress comes as fast as a backfill's batches: another worker's takes the line only once it is free */
    if (p->kind == MIG_EVENT_PROGRESS && live.active && !mine)
        return;
    int was = mine && p->kind != MIG_EVENT_STEP_BEGIN;
    if (!was) {
        char *name = cli_text(owner, CLI_TEXT_LINE);
        snprintf(live.step, sizeof live.step, "tenant %s: %s", name ? name : "?", step ? step : "?");
        free(name);
        snprintf(live.owner, sizeof live.owner, "%s", owner);
        live.t0 = mono_ms() - p->elapsed_ms;
        live.active = 1;
    }
    snprintf(live.detail, sizeof live.detail, "%s", p->detail);
    if (!was)
        draw();
}

static void on_event(void *payload, const mig_event *p)
{
    (void)payload;
    if (p->kind == MIG_EVENT_WARNING) {
        cli_logger(NULL, MIG_LOG_WARN, p->line);
        return;
    }
    if (p->kind == MIG_EVENT_STATEMENT)
        return; /* the statements are the revision's: the step line says enough */
    /* a revision's message is the file author's text: it must not drive the terminal */
    char *step =
        cli_text(p->kind == MIG_EVENT_STEP_END && !live.tenants ? p->line : p->step, CLI_TEXT_LINE);
    pthread_mutex_lock(&live.mu);
    if (live.tenants) {
        on_tenant_progress(p, step);
    } else if (p->kind == MIG_EVENT_STEP_END) {
        live.active = 0;
        fprintf(stderr, "\r\033[K%s\n", step ? step : "?");
        fflush(stderr);
        live.drawn = 0;
    } else {
        if (p->kind == MIG_EVENT_STEP_BEGIN) {
            snprintf(live.step, sizeof live.step, "%s", step ? step : "?");
            live.t0 = mono_ms() - p->elapsed_ms;
            live.active = 1;
        }
        snprintf(live.detail, sizeof live.detail, "%s", p->detail);
        /* updates come as fast as a backfill's batches: the ticker draws them */
        if (p->kind == MIG_EVENT_STEP_BEGIN)
            draw();
    }
    pthread_mutex_unlock(&live.mu);
    free(step);
}

void cli_live_begin(cli *c)
{
    if (c->quiet || !cli_color_stderr())
        return;
    /* with -v the workers print their steps as lines: a line redrawn in place would be torn up by them */
    live.tenants = mig_has_tenants(c->ctx);
    if (live.tenants && c->verbose)
        return;
    live.stop = 0;
    if (pthread_create(&live.thr, NULL, ticker, NULL) != 0)
        return; /* no thread: plain lines, from libmig */
    live.thread_on = 1;
    mig_set_event_callback(c->ctx, on_event, NULL);
}

void cli_live_end(cli *c)
{
    mig_set_event_callback(c->ctx, NULL, NULL);
    if (!live.thread_on)
        return;
    pthread_mutex_lock(&live.mu);
    live.stop = 1;
    if (live.drawn)
        fputs("\r\033[K", stderr);
    live.drawn = live.active = 0;
    live.prefix[0] = '\0';
    pthread_cond_signal(&live.cv);
    pthread_mutex_unlock(&live.mu);
    pthread_join(live.thr, NULL);
    live.thread_on = live.tenants = 0;
}

void cli_live_hold(void)
{
    pthread_mutex_lock(&live.mu);
    if (live.drawn)
        fputs("\r\033[K", stderr);
    live.drawn = 0;
}

void cli_live_release(const char *prefix)
{
    if (prefix) {
        snprintf(live.prefix, sizeof live.prefix, "%s", prefix);
        draw();
    } else if (live.active) {
        draw();
    }
    pthread_mutex_unlock(&live.mu);
}

void cli_logger(void *payload, mig_log_level level, const char *line)
{
    (void)payload;
    /* a progress line is one line; a tab in it is print's separator */
    char *e = cli_text(line, CLI_TEXT_TABS);
    /* One fprintf per line, under the live line's lock: lines from tenant workers never interleave. */
    pthread_mutex_lock(&live.mu);
    if (live.drawn)
        fputs("\r\033[K", stderr);
    if (level == MIG_LOG_WARN && cli_color_stderr())
        fprintf(stderr, BOLD "%s" RESET "\n", e ? e : "?");
    else
        fprintf(stderr, "%s\n", e ? e : "?");
    live.drawn = 0;
    if (live.active || *live.prefix)
        draw();
    pthread_mutex_unlock(&live.mu);
    free(e);
}

/*
 * Each line of a multi-line field, under its label. A line that starts
 * with a blank continues the one before (a statement's own lines, indented
 * under its first by libmig): it goes under the text, not the label. Tabs
 * are kept there; everything else is escaped.
 */
void cli_labelled(FILE *f, const char *label, const char *text)
{
    while (text && *text) {
        const char *nl = strchr(text, '\n');
        size_t len = nl ? (size_t)(nl - text) : strlen(text);
        char *line = malloc(len + 1);
        if (line == NULL)
            return;
        memcpy(line, text, len);
        line[len] = '\0';
        int more = line[0] == ' ';
        while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
            line[--len] = '\0';
        char *e = cli_text(line, more ? CLI_TEXT_BLOCK : CLI_TEXT_LINE);
        if (more)
            fprintf(f, "%*s%s\n", (int)strlen(label) + 2, "", e ? e : "?");
        else
            fprintf(f, "%s: %s\n", label, e ? e : "?");
        free(e);
        free(line);
        text = nl ? nl + 1 : NULL;
    }
}

void cli_error_get(const cli *c, int rc, cli_error_view *e)
{
    e->message = e->detail = e->hint = e->file = e->origin = "";
    e->line = 0;
    if (c->err_code != 0) {
        e->message = c->err_message;
        e->hint = c->err_hint;
    } else if (c->ctx != NULL) {
        const mig_error *me = mig_last_error(c->ctx);
        e->message = me->message ? me->message : "";
        e->hint = me->hint ? me->hint : "";
        e->detail = me->detail ? me->detail : "";
        e->file = me->file ? me->file : "";
        e->line = me->line;
        e->origin = me->origin ? me->origin : "";
    }
    if (*e->message == '\0') {
        if (c->cmd)
            snprintf(e->fallback, sizeof e->fallback, "'%s' failed (%s)", c->cmd->name,
                     cli_error_name(rc));
        else
            snprintf(e->fallback, sizeof e->fallback, "failed (%s)", cli_error_name(rc));
        e->message = e->fallback;
    }
}

static void labelled(const char *label, const char *text)
{
    cli_labelled(stderr, label, text);
}

void cli_report_error(cli *c, int rc)
{
    cli_error_view e;
    cli_error_get(c, rc, &e);
    int color = cli_color_stderr();
    fputs(color ? BOLD "mig:" RESET " " : "mig: ", stderr);
    cli_put(stderr, e.message);
    fputc('\n', stderr);
    /*
     * A failed migration shows its statement and the database's code
     * (SQLSTATE) at once; bad input stays one line.
     */
    if (!c->verbose && (rc == MIG_EFAIL || rc == MIG_EPARTIAL))
        labelled("detail", e.detail);
    /* one line: a revision id read from the database may hold a line break that would forge a "hint:" line */
    if (*e.hint) {
        char *h = cli_text(e.hint, CLI_TEXT_LINE);
        fprintf(stderr, "hint: %s\n", h ? h : "?");
        free(h);
    }
    if (c->verbose) {
        labelled("detail", e.detail);
        if (*e.file) {
            fputs("where: ", stderr);
            cli_put(stderr, e.file);
            if (e.line > 0)
                fprintf(stderr, ":%d", e.line);
            fputc('\n', stderr);
        }
        if (*e.origin)
            fprintf(stderr, "origin: %s\n", e.origin);
    }
    if (c->err_after[0])
        fprintf(stderr, "%s\n", c->err_after);
}
