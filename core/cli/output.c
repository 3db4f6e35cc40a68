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

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
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

void cli_logger(void *payload, mig_log_level level, const char *line)
{
    (void)payload;
    /* One fprintf per line: stdio locks the stream, so lines from tenant workers never interleave. */
    if (level == MIG_LOG_WARN && cli_color_stderr())
        fprintf(stderr, BOLD "%s" RESET "\n", line);
    else
        fprintf(stderr, "%s\n", line);
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
            snprintf(e->fallback, sizeof e->fallback, "'%s' failed (%s)", c->cmd->name, cli_error_name(rc));
        else
            snprintf(e->fallback, sizeof e->fallback, "failed (%s)", cli_error_name(rc));
        e->message = e->fallback;
    }
}

void cli_report_error(cli *c, int rc)
{
    cli_error_view e;
    cli_error_get(c, rc, &e);
    int color = cli_color_stderr();
    fputs(color ? BOLD "mig:" RESET " " : "mig: ", stderr);
    one_line(e.message);
    fputc('\n', stderr);
    /*
     * A failed migration shows its statement and the database's code
     * (SQLSTATE) at once; bad input stays one line.
     */
    if (!c->verbose && (rc == MIG_EFAIL || rc == MIG_EPARTIAL))
        labelled("detail", e.detail);
    labelled("hint", e.hint);
    if (c->verbose) {
        labelled("detail", e.detail);
        if (*e.file) {
            if (e.line > 0)
                fprintf(stderr, "where: %s:%d\n", e.file, e.line);
            else
                fprintf(stderr, "where: %s\n", e.file);
        }
        if (*e.origin)
            fprintf(stderr, "origin: %s\n", e.origin);
    }
}
