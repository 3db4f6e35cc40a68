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

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
        cached = isatty(STDERR_FILENO) && getenv("NO_COLOR") == NULL
                 && !(term && strcmp(term, "dumb") == 0);
    }
    return cached;
}

void cli_logger(void *payload, mig_log_level level, const char *line)
{
    (void)payload;
    /* a progress line is one line; a tab in it is print's separator */
    char *e = cli_text(line, CLI_TEXT_TABS);
    /* One fprintf per line: stdio locks the stream, so lines from tenant workers never interleave. */
    if (level == MIG_LOG_WARN && cli_color_stderr())
        fprintf(stderr, BOLD "%s" RESET "\n", e ? e : "?");
    else
        fprintf(stderr, "%s\n", e ? e : "?");
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
            snprintf(e->fallback, sizeof e->fallback, "'%s' failed (%s)", c->cmd->name, cli_error_name(rc));
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
    labelled("hint", e.hint);
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
}
