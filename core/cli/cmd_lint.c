/*
 * mig lint [RANGE]: findings about locks, rewrites and breaking changes,
 * compiler-style (path:line:col: level[ID name]: message, then the
 * statement, why and the safe way), as JSON, or as SARIF 2.1.0 for code
 * review annotations. Exit 3 when a finding is at error level.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

static struct {
    int offline;
    int trace;
    const char *format;
    const char *scratch_url;
} o;

static const cli_opt opts[] = {
    { 0, "offline", NULL, CLI_FLAG, &o.offline, 0,
      "do not connect: every revision in RANGE (default all), sizes unknown" },
    { 0, "format", "FORMAT", CLI_STRING, &o.format, 0,
      "text (default), json (as --json) or sarif (SARIF 2.1.0)" },
    { 0, "trace", NULL, CLI_FLAG, &o.trace, 0,
      "run the pending revisions in a scratch database and report the locks each statement takes" },
    { 0, "scratch-url", "URL", CLI_STRING, &o.scratch_url, 0,
      "with --trace: an empty database to run in (default: a temporary one, dropped after)" },
    { 0 }
};

const cli_spec cmd_lint_spec = { "[RANGE]", 0, 1, opts,
                                 "Judges the upgrade sections of the revisions not yet applied (RANGE:\n"
                                 "REV, A:B, A: or :B; without a reachable database or with --offline,\n"
                                 "every revision in RANGE, default all). Findings on tables smaller than\n"
                                 "[lint] min_rows are lowered to info. Suppress one with\n"
                                 "'-- mig:lint disable=PG001 -- reason' on the line before the statement\n"
                                 "or in the header. Rules and their safe ways: docs/lint.md.\n"
                                 "With --trace the pending revisions also run in a scratch database and\n"
                                 "each finding shows the locks its statement took (evidence).\n"
                                 "Exit status: 0 no finding at error level, 3 one or more, 2 bad usage." };

typedef struct lint_out {
    cli *c;
    int sarif;
    json_t *list; /* json / sarif: the findings */
    size_t counts[3];
    char cwd[4096];
} lint_out;

/* The file's path relative to the current folder when it is below it, as compilers print it. */
static const char *rel_path(const lint_out *lo, const char *path)
{
    size_t n = strlen(lo->cwd);
    if (n && strncmp(path, lo->cwd, n) == 0 && path[n] == '/')
        return path + n + 1;
    return path;
}

static int level_index(const char *level)
{
    return strcmp(level, "error") == 0 ? 2 : strcmp(level, "warning") == 0 ? 1 : 0;
}

static void print_block(const char *label, const char *text)
{
    if (!*text)
        return;
    printf("  %s: ", label);
    cli_put(stdout, text);
    putchar('\n');
}

/* --trace's evidence, the same in --json and in SARIF's properties */
static json_t *evidence_json(const mig_lint_report *r)
{
    json_t *ev = json_array();
    for (size_t i = 0; i < r->nevidence; i++) {
        const mig_lint_evidence *e = &r->evidence[i];
        json_t *o1 = json_object();
        json_object_set_new(o1, "lock", cli_json_str(e->lock));
        json_object_set_new(o1, "table", cli_json_str(e->table));
        json_object_set_new(o1, "ms", json_real(e->ms));
        json_object_set_new(o1, "text", cli_json_str(e->text));
        json_array_append_new(ev, o1);
    }
    return ev;
}

static void on_finding(void *payload, const mig_lint_report *r)
{
    lint_out *lo = payload;
    lo->counts[level_index(r->level)]++;
    const char *path = rel_path(lo, r->path);
    if (lo->sarif) {
        static const char *const sarif_level[] = { "note", "warning", "error" };
        json_t *res = json_object();
        json_object_set_new(res, "ruleId", json_string(r->rule));
        json_object_set_new(res, "level", json_string(sarif_level[level_index(r->level)]));
        char *text = NULL;
        size_t n = strlen(r->message) + strlen(r->why) + strlen(r->safe) + 32;
        if ((text = malloc(n)) != NULL)
            snprintf(text, n, "%s%s%s%s%s", r->message, *r->why ? ". Why: " : "", r->why,
                     *r->safe ? ". Safe way: " : "", r->safe);
        json_t *msg = json_object();
        json_object_set_new(msg, "text", cli_json_str(text ? text : r->message));
        free(text);
        json_object_set_new(res, "message", msg);
        json_t *region = json_object();
        json_object_set_new(region, "startLine", json_integer(r->line));
        json_object_set_new(region, "startColumn", json_integer(r->column));
        json_t *art = json_object();
        json_object_set_new(art, "uri", cli_json_str(path));
        json_t *phys = json_object();
        json_object_set_new(phys, "artifactLocation", art);
        json_object_set_new(phys, "region", region);
        json_t *loc = json_object();
        json_object_set_new(loc, "physicalLocation", phys);
        json_t *locs = json_array();
        json_array_append_new(locs, loc);
        json_object_set_new(res, "locations", locs);
        json_t *props = json_object();
        json_object_set_new(props, "revision", cli_json_str(r->revision));
        json_object_set_new(props, "ruleName", cli_json_str(r->name));
        if (*r->table)
            json_object_set_new(props, "table", cli_json_str(r->table));
        if (r->rows >= 0)
            json_object_set_new(props, "rows", json_integer(r->rows));
        if (r->nevidence)
            json_object_set_new(props, "evidence", evidence_json(r));
        json_object_set_new(res, "properties", props);
        json_array_append_new(lo->list, res);
    } else if (lo->list) {
        json_t *j = json_object();
        json_object_set_new(j, "rule", cli_json_str(r->rule));
        json_object_set_new(j, "name", cli_json_str(r->name));
        json_object_set_new(j, "level", cli_json_str(r->level));
        json_object_set_new(j, "revision", cli_json_str(r->revision));
        json_object_set_new(j, "path", cli_json_str(path));
        json_object_set_new(j, "line", json_integer(r->line));
        json_object_set_new(j, "column", json_integer(r->column));
        json_object_set_new(j, "statement_index", json_integer((json_int_t)r->statement_index));
        json_object_set_new(j, "statement", cli_json_str(r->statement));
        json_object_set_new(j, "message", cli_json_str(r->message));
        json_object_set_new(j, "why", cli_json_str(r->why));
        json_object_set_new(j, "safe", cli_json_str(r->safe));
        json_object_set_new(j, "lock", cli_json_str(r->lock));
        json_object_set_new(j, "table", cli_json_str(r->table));
        json_object_set_new(j, "rows", r->rows >= 0 ? json_integer(r->rows) : json_null());
        json_object_set_new(j, "evidence", evidence_json(r));
        json_array_append_new(lo->list, j);
    } else {
        cli_put(stdout, path);
        printf(":%d:%d: %s[%s %s]: ", r->line, r->column, r->level, r->rule, r->name);
        cli_put(stdout, r->message);
        putchar('\n');
        if (*r->statement) {
            fputs("    ", stdout);
            /* the statement on one line: enough to find it, the location says where */
            char *one = strdup(r->statement);
            if (one) {
                for (char *p = one; *p; p++)
                    if (*p == '\n' || *p == '\t' || *p == '\r')
                        *p = ' ';
                cli_put(stdout, one);
                free(one);
            }
            putchar('\n');
        }
        print_block("why", r->why);
        print_block("safe", r->safe);
        for (size_t i = 0; i < r->nevidence; i++)
            print_block("evidence", r->evidence[i].text);
    }
}

static void on_rule(void *payload, const mig_lint_rule_info *ri)
{
    json_t *rules = payload;
    json_t *r = json_object();
    json_object_set_new(r, "id", json_string(ri->id));
    json_object_set_new(r, "name", json_string(ri->name));
    json_t *sd = json_object();
    json_object_set_new(sd, "text", cli_json_str(ri->summary));
    json_object_set_new(r, "shortDescription", sd);
    if (*ri->help_uri)
        json_object_set_new(r, "helpUri", cli_json_str(ri->help_uri));
    json_t *cfg = json_object();
    static const struct {
        const char *mig, *sarif;
    } lv[] = {
        { "error", "error" },
        { "warning", "warning" },
        { "info", "note" },
    };
    for (size_t i = 0; i < 3; i++)
        if (strcmp(ri->level, lv[i].mig) == 0)
            json_object_set_new(cfg, "level", json_string(lv[i].sarif));
    json_object_set_new(cfg, "enabled", json_boolean(!ri->disabled));
    json_object_set_new(r, "defaultConfiguration", cfg);
    if (*ri->lock) {
        json_t *props = json_object();
        json_object_set_new(props, "lock", cli_json_str(ri->lock));
        json_object_set_new(r, "properties", props);
    }
    json_array_append_new(rules, r);
}

static int print_sarif(cli *c, json_t *results)
{
    json_t *rules = json_array();
    int rc = mig_lint_rules(c->ctx, on_rule, rules);
    json_t *plugin = json_object();
    json_object_set_new(plugin, "name", json_string("mig"));
    json_object_set_new(plugin, "version", json_string(mig_version()));
    json_object_set_new(plugin, "rules", rules);
    json_t *tool = json_object();
    json_object_set_new(tool, "driver", plugin);
    json_t *run = json_object();
    json_object_set_new(run, "tool", tool);
    json_object_set_new(run, "results", json_incref(results));
    json_t *runs = json_array();
    json_array_append_new(runs, run);
    json_t *doc = json_object();
    json_object_set_new(doc, "$schema", json_string("https://json.schemastore.org/sarif-2.1.0.json"));
    json_object_set_new(doc, "version", json_string("2.1.0"));
    json_object_set_new(doc, "runs", runs);
    if (json_dumpf(doc, stdout, JSON_INDENT(2)) != 0 || putchar('\n') == EOF || fflush(stdout) != 0)
        rc = rc ? rc : cli_fail(c, MIG_EFAIL, "cannot write the SARIF document");
    json_decref(doc);
    return rc;
}

int cmd_lint(cli *c)
{
    lint_out lo;
    memset(&lo, 0, sizeof lo);
    lo.c = c;
    if (getcwd(lo.cwd, sizeof lo.cwd) == NULL)
        lo.cwd[0] = 0;
    if (o.format && strcmp(o.format, "text") && strcmp(o.format, "json") && strcmp(o.format, "sarif"))
        return cli_fail(c, MIG_EUSAGE, "option '--format' must be text, json or sarif, not '%s'",
                        o.format);
    if (o.format && strcmp(o.format, "sarif") == 0) {
        if (c->json)
            return cli_fail(c, MIG_EUSAGE, "'--format sarif' and '--json' do not go together");
        lo.sarif = 1;
    } else if (o.format && strcmp(o.format, "json") == 0 && !c->json) {
        c->json = 1;
        c->doc = cli_json_doc(c);
    }
    if (c->json || lo.sarif)
        lo.list = json_array();
    if (o.scratch_url && !o.trace) {
        json_decref(lo.list);
        return cli_fail(c, MIG_EUSAGE, "option '--scratch-url' needs '--trace'");
    }
    unsigned flags = o.offline ? MIG_LINT_OFFLINE : 0u;
    const char *range = c->nargs ? c->args[0] : NULL;
    int rc = o.trace ? mig_lint_trace(c->ctx, range, flags, o.scratch_url, on_finding, &lo)
                     : mig_lint(c->ctx, range, flags, on_finding, &lo);
    if (lo.sarif && (rc == 0 || rc == MIG_ECHECK)) {
        int src = print_sarif(c, lo.list);
        if (src)
            rc = src;
    } else if (c->json) {
        json_object_set_new(c->doc, "findings", json_incref(lo.list));
        json_t *cnt = json_object();
        json_object_set_new(cnt, "error", json_integer((json_int_t)lo.counts[2]));
        json_object_set_new(cnt, "warning", json_integer((json_int_t)lo.counts[1]));
        json_object_set_new(cnt, "info", json_integer((json_int_t)lo.counts[0]));
        json_object_set_new(c->doc, "counts", cnt);
    } else if ((rc == 0 || rc == MIG_ECHECK) && !c->quiet) {
        size_t total = lo.counts[0] + lo.counts[1] + lo.counts[2];
        if (total == 0)
            fputs("lint: no findings\n", stderr);
        else
            fprintf(stderr, "lint: %zu finding%s: %zu error%s, %zu warning%s, %zu info\n", total,
                    total == 1 ? "" : "s", lo.counts[2], lo.counts[2] == 1 ? "" : "s", lo.counts[1],
                    lo.counts[1] == 1 ? "" : "s", lo.counts[0]);
    }
    json_decref(lo.list);
    return rc;
}
