/*
 * mig check: exit 0 when the graph is valid, nothing is pending, no applied
 * revision's file changed and none is part-way failed; else exit 3 with one
 * line per problem on stdout (`pending 1f0e2d3c4b5a: not applied: add
 * users table`). Warnings (rules such as MIG001 empty-downgrade) are
 * listed too (`warning: MIG001 empty-downgrade: ...`) and fail the check
 * only with --strict.
 */
#include "cmd.h"

#include <string.h>

static struct {
    int strict;
} o;

static size_t warnings; /* listed, and not counted among the problems */

static const cli_opt opts[] = {
    { 0, "strict", NULL, CLI_FLAG, &o.strict, 0,
      "warnings fail the check too (exit 3)" },
    { 0 }
};

const cli_spec cmd_check_spec = {
    "", 0, 0, opts,
    "Exit status: 0 nothing to report (warnings only), 3 problems found\n"
    "(listed on stdout; warnings count with --strict), others as for every\n"
    "command."
};

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

int cmd_check(cli *c)
{
    if (c->json)
        json_object_set_new(c->doc, "problems", json_array());
    int rc = mig_check_ex(c->ctx, o.strict ? MIG_CHECK_STRICT : 0u, on_problem, c);
    if (c->json)
        json_object_set_new(c->doc, "ok", json_boolean(rc == 0));
    else if (rc == 0 && !c->quiet && warnings)
        fprintf(stderr, "check: no problems found, %zu warning%s\n", warnings, warnings == 1 ? "" : "s");
    else if (rc == 0 && !c->quiet)
        fputs("check: no problems found\n", stderr);
    return rc;
}
