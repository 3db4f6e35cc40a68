/*
 * mig check: exit 0 when the graph is valid, nothing is pending, no applied
 * revision's file changed and none is part-way failed; else exit 3 with one
 * line per problem on stdout (`pending 1f0e2d3c4b5a: not applied: add
 * users table`). Warnings (rules such as MIG001 empty-downgrade) are
 * listed too (`warning: MIG001 empty-downgrade: ...`) and fail the check
 * only with --strict.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

#include <string.h>

static struct {
    int strict;
    int lint;
} o;

static size_t warnings; /* listed, and not counted among the problems */

static const cli_opt opts[] = {
    { 0, "strict", NULL, CLI_FLAG, &o.strict, 0, "warnings fail the check too (exit 3)" },
    { 0, "lint", NULL, CLI_FLAG, &o.lint, 0,
      "also lint the pending revisions (as `mig lint`): error-level findings fail the check" },
    { 0 }
};

const cli_spec cmd_check_spec = { "", 0, 0, opts,
                                  "Exit status: 0 nothing to report (warnings only), 3 problems found\n"
                                  "(listed on stdout; warnings count with --strict; with --lint, lint\n"
                                  "findings at error level, and with --strict at warning level, too),\n"
                                  "others as for every command." };

static void on_problem(void *payload, const mig_check_problem *p)
{
    cli *c = payload;
    if (c->json) {
        json_t *j = json_object();
        json_object_set_new(j, "kind", cli_json_str(p->kind));
        json_object_set_new(j, "revision", cli_json_str(p->revision));
        json_object_set_new(j, "message", cli_json_str(p->message));
        json_object_set_new(j, "path", cli_json_str(p->path));
        json_object_set_new(j, "level", cli_json_str(p->level));
        json_object_set_new(j, "rule", cli_json_str(p->rule));
        json_array_append_new(json_object_get(c->doc, "problems"), j);
    } else if (*p->rule) {
        if (strcmp(p->level, "warning") == 0)
            warnings++;
        fputs("warning: ", stdout);
        cli_put(stdout, p->rule);
        putchar(' ');
        cli_put(stdout, p->kind);
        fputs(": ", stdout);
        cli_put(stdout, p->message);
        putchar('\n');
    } else {
        fputs(p->kind, stdout);
        if (p->revision && *p->revision) {
            putchar(' ');
            cli_put(stdout, p->revision);
        }
        fputs(": ", stdout);
        cli_put(stdout, p->message);
        putchar('\n');
    }
}

typedef struct lint_fold {
    cli *c;
    int failing; /* findings that fail the check */
} lint_fold;

/*
 * A lint finding as a check problem. MIG001 is check's own warning already
 * (same rule, same level): said once, by check.
 */
static void on_lint(void *payload, const mig_lint_report *r)
{
    lint_fold *f = payload;
    if (strcmp(r->rule, "MIG001") == 0)
        return;
    if (strcmp(r->level, "error") == 0 || (o.strict && strcmp(r->level, "warning") == 0))
        f->failing++;
    char *m = NULL;
    size_t n = strlen(r->path) + strlen(r->message) + 32;
    if ((m = malloc(n)) != NULL)
        snprintf(m, n, "%s:%d:%d: %s", r->path, r->line, r->column, r->message);
    mig_check_problem p = { r->name,
                            r->revision,
                            m ? m : r->message,
                            r->path,
                            strcmp(r->level, "error") == 0 ? "error" : "warning",
                            r->rule };
    if (f->c->json) {
        json_t *j = json_object();
        json_object_set_new(j, "rule", cli_json_str(r->rule));
        json_object_set_new(j, "name", cli_json_str(r->name));
        json_object_set_new(j, "level", cli_json_str(r->level));
        json_object_set_new(j, "revision", cli_json_str(r->revision));
        json_object_set_new(j, "path", cli_json_str(r->path));
        json_object_set_new(j, "line", json_integer(r->line));
        json_object_set_new(j, "column", json_integer(r->column));
        json_object_set_new(j, "message", cli_json_str(r->message));
        json_array_append_new(json_object_get(f->c->doc, "lint"), j);
    } else if (strcmp(r->level, "info") != 0) {
        printf("%s: %s %s: ", p.level, r->rule, r->name);
        cli_put(stdout, p.message);
        putchar('\n');
    }
    free(m);
}

int cmd_check(cli *c)
{
    if (c->json)
        json_object_set_new(c->doc, "problems", json_array());
    int rc = mig_check_ex(c->ctx, o.strict ? MIG_CHECK_STRICT : 0u, on_problem, c);
    if (o.lint && (rc == 0 || rc == MIG_ECHECK)) {
        lint_fold f = { c, 0 };
        if (c->json)
            json_object_set_new(c->doc, "lint", json_array());
        /* lint starts a new call on the context: keep check's own error to say it after */
        char *said = rc ? strdup(mig_last_error(c->ctx)->message) : NULL;
        int lrc = mig_lint(c->ctx, NULL, 0u, on_lint, &f);
        if (lrc != 0 && lrc != MIG_ECHECK)
            rc = lrc;
        else if (rc)
            rc = cli_fail(c, MIG_ECHECK, "%s", said ? said : "check found problems");
        free(said);
        if (rc == 0 && f.failing)
            rc = cli_fail(c, MIG_ECHECK, "check found %d lint finding%s that fail%s it", f.failing,
                          f.failing == 1 ? "" : "s", f.failing == 1 ? "s" : "");
    }
    if (c->json)
        json_object_set_new(c->doc, "ok", json_boolean(rc == 0));
    else if (rc == 0 && !c->quiet && warnings)
        fprintf(stderr, "check: no problems found, %zu warning%s\n", warnings, warnings == 1 ? "" : "s");
    else if (rc == 0 && !c->quiet)
        fputs("check: no problems found\n", stderr);
    return rc;
}
