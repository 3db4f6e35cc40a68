/*
 * Option tables: parsing a word of argv against them, and writing the
 * synopsis and option list of `--help` from the same tables, so what is
 * accepted and what is documented cannot drift apart.
 *
 * Accepted forms: `--name VALUE`, `--name=VALUE`, `-n VALUE`, `-nVALUE`,
 * and clustered short flags (`-qv`). A word that starts with '-' and a
 * digit is a value, not an option: `mig downgrade -1` is a relative target.
 */
#include "cmd.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_list_push(cli_list *l, const char *s)
{
    const char **v = realloc(l->v, (l->n + 2) * sizeof *v);
    if (v == NULL)
        return MIG_ENOMEM;
    v[l->n++] = s;
    v[l->n] = NULL;
    l->v = v;
    return 0;
}

void cli_list_release(cli_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int cli_is_option(const char *arg)
{
    if (arg[0] != '-' || arg[1] == '\0')
        return 0; /* "-" alone is a value by convention */
    return !isdigit((unsigned char)arg[1]);
}

static const char *see(const char *cmd, char *buf, size_t size)
{
    if (cmd)
        snprintf(buf, size, "see 'mig %s --help'", cmd);
    else
        snprintf(buf, size, "see 'mig --help'");
    return buf;
}

static const cli_opt *find_long(const cli_opt *const *tables, size_t ntables, const char *name, size_t len)
{
    for (size_t t = 0; t < ntables; t++)
        for (const cli_opt *o = tables[t]; !CLI_OPT_END(o); o++)
            if (o->long_name && strlen(o->long_name) == len && memcmp(o->long_name, name, len) == 0)
                return o;
    return NULL;
}

/* The long option nearest to a mistyped one, among those that apply here. */
static const char *suggest_long(const cli_opt *const *tables, size_t ntables, const char *name)
{
    const char *names[128];
    size_t n = 0;
    for (size_t t = 0; t < ntables; t++)
        for (const cli_opt *o = tables[t]; !CLI_OPT_END(o) && n < 128; o++)
            if (o->long_name)
                names[n++] = o->long_name;
    return mig_suggest(name, names, n);
}

static const cli_opt *find_short(const cli_opt *const *tables, size_t ntables, char ch)
{
    for (size_t t = 0; t < ntables; t++)
        for (const cli_opt *o = tables[t]; !CLI_OPT_END(o); o++)
            if (o->short_name && o->short_name == ch)
                return o;
    return NULL;
}

/* Store one value; `shown` is the option as the user wrote it, for messages. */
static int set_value(cli *c, const cli_opt *o, const char *val, const char *shown)
{
    char *end;
    int takes_value = o->kind != CLI_FLAG && o->kind != CLI_VERBOSE && o->kind != CLI_HELP;
    if (val == NULL && takes_value)
        return cli_fail(c, MIG_EUSAGE, "option '%s' needs a value", shown);
    switch (o->kind) {
    case CLI_FLAG:
        *(int *)o->dest = 1;
        return 0;
    case CLI_STRING:
        *(const char **)o->dest = val;
        return 0;
    case CLI_KEYVAL: {
        const char *eq = strchr(val, '=');
        if (eq == NULL || eq == val)
            return cli_fail(c, MIG_EUSAGE, "option '%s' needs KEY=VALUE, got '%s'", shown, val);
        /* stored whole: libmig splits at the first '=', the value may hold more */
    }
    /* fall through */
    case CLI_LIST:
        if (cli_list_push(o->dest, val) != 0)
            return cli_fail(c, MIG_ENOMEM, "out of memory");
        return 0;
    case CLI_JOBS: {
        errno = 0;
        long n = strtol(val, &end, 10);
        if (errno || end == val || *end != '\0' || n < 1 || n > 10000)
            return cli_fail(c, MIG_EUSAGE, "option '%s' needs a whole number of at least 1, got '%s'",
                            shown, val);
        *(int *)o->dest = (int)n;
        return 0;
    }
    case CLI_SECONDS: {
        errno = 0;
        double d = strtod(val, &end);
        if (errno || end == val || *end != '\0' || !isfinite(d) || d < 0)
            return cli_fail(c, MIG_EUSAGE, "option '%s' needs a number of seconds, got '%s'", shown, val);
        *(double *)o->dest = d;
        return 0;
    }
    case CLI_VERBOSE:
        c->verbose++;
        return 0;
    case CLI_HELP:
        c->help = 1;
        return 0;
    }
    return 0;
}

static int parse_long(cli *c, const cli_opt *const *tables, size_t ntables, int argc, char **argv,
                      int *i, const char *cmd)
{
    const char *name = argv[*i] + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    char shown[128], buf[64];
    snprintf(shown, sizeof shown, "--%.*s", (int)(len < 100 ? len : 100), name);

    const cli_opt *o = find_long(tables, ntables, name, len);
    if (o == NULL) {
        const char *near = suggest_long(tables, ntables, shown + 2);
        if (near)
            return cli_fail(c, MIG_EUSAGE, "unknown option '%s' (did you mean '--%s'?)", shown, near);
        return cli_fail(c, MIG_EUSAGE, "unknown option '%s' (%s)", shown, see(cmd, buf, sizeof buf));
    }
    if (o->arg == NULL) {
        if (eq)
            return cli_fail(c, MIG_EUSAGE, "option '%s' takes no value", shown);
        return set_value(c, o, NULL, shown);
    }
    if (eq)
        return set_value(c, o, eq + 1, shown);
    if (*i + 1 >= argc)
        return cli_fail(c, MIG_EUSAGE, "option '%s' needs a value (%s)", shown, o->arg);
    return set_value(c, o, argv[++*i], shown);
}

static int parse_short(cli *c, const cli_opt *const *tables, size_t ntables, int argc, char **argv,
                       int *i, const char *cmd)
{
    const char *p = argv[*i] + 1;
    for (; *p; p++) {
        char shown[3] = { '-', *p, '\0' }, buf[64];
        const cli_opt *o = find_short(tables, ntables, *p);
        if (o == NULL) {
            if (p == argv[*i] + 1 && p[1] != '\0')
                return cli_fail(c, MIG_EUSAGE, "unknown option '%s' (%s)", argv[*i],
                                see(cmd, buf, sizeof buf));
            return cli_fail(c, MIG_EUSAGE, "unknown option '%s' (%s)", shown, see(cmd, buf, sizeof buf));
        }
        if (o->arg == NULL) {
            int rc = set_value(c, o, NULL, shown);
            if (rc != 0)
                return rc;
            continue;
        }
        /* An option with a value takes the rest of the word, else the next word. */
        if (p[1] != '\0')
            return set_value(c, o, p + 1, shown);
        if (*i + 1 >= argc)
            return cli_fail(c, MIG_EUSAGE, "option '%s' needs a value (%s)", shown, o->arg);
        return set_value(c, o, argv[++*i], shown);
    }
    return 0;
}

int cli_opt_parse(cli *c, const cli_opt *const *tables, size_t ntables, int argc, char **argv, int *i,
                  const char *cmd)
{
    int rc = argv[*i][1] == '-' ? parse_long(c, tables, ntables, argc, argv, i, cmd)
                                : parse_short(c, tables, ntables, argc, argv, i, cmd);
    return rc < 0 ? rc : 1;
}

static int format_option(char *buf, size_t size, const cli_opt *o)
{
    if (o->short_name)
        return snprintf(buf, size, "-%c%s%s", o->short_name, o->arg ? " " : "", o->arg ? o->arg : "");
    return snprintf(buf, size, "--%s%s%s", o->long_name, o->arg ? " " : "", o->arg ? o->arg : "");
}

int cli_opt_check_required(cli *c, const cli_opt *tbl, const char *cmd)
{
    for (const cli_opt *o = tbl; !CLI_OPT_END(o); o++) {
        if (!o->required || o->kind != CLI_STRING)
            continue;
        /* a blank value (-m "") says nothing either: the file would have no message and no slug */
        const char *v = *(const char **)o->dest;
        while (v && (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r'))
            v++;
        if (v != NULL && *v != '\0')
            continue;
        if (o->short_name)
            return cli_fail(c, MIG_EUSAGE, "'%s' needs -%c %s (see 'mig %s --help')", cmd, o->short_name,
                            o->arg, cmd);
        return cli_fail(c, MIG_EUSAGE, "'%s' needs --%s %s (see 'mig %s --help')", cmd, o->long_name,
                        o->arg, cmd);
    }
    return 0;
}

int cli_opt_synopsis(FILE *f, const cli_opt *tbl, int col, int indent)
{
    for (const cli_opt *o = tbl; !CLI_OPT_END(o); o++) {
        char item[96], opt[80];
        if (o->kind == CLI_HELP)
            continue;
        format_option(opt, sizeof opt, o);
        int n = snprintf(item, sizeof item, o->required ? "%s" : "[%s]", opt);
        /* Wrap before 80 columns, under the command name. */
        if (col + 1 + n > 79)
            col = fprintf(f, "\n%*s", indent, "") - 1;
        col += fprintf(f, " %s", item);
    }
    return col;
}

void cli_opt_help(FILE *f, const cli_opt *tbl)
{
    for (const cli_opt *o = tbl; !CLI_OPT_END(o); o++) {
        char left[64];
        int n;
        if (o->short_name && o->long_name == NULL)
            n = snprintf(left, sizeof left, "-%c%s%s", o->short_name, o->arg ? " " : "",
                         o->arg ? o->arg : "");
        else if (o->short_name)
            n = snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->long_name,
                         o->arg ? " " : "", o->arg ? o->arg : "");
        else
            n = snprintf(left, sizeof left, "    --%s%s%s", o->long_name, o->arg ? " " : "",
                         o->arg ? o->arg : "");
        if (n < 0)
            continue;
        if (n <= 26)
            fprintf(f, "  %-26s  %s\n", left, o->help);
        else
            fprintf(f, "  %s\n  %-26s  %s\n", left, "", o->help);
    }
}
