/*
 * mig test [RANGE]: every revision up, down and up again on a scratch
 * database (mig_test). One line per revision on stdout and a summary;
 * --json writes the same as one document, --junit FILE a JUnit report
 * (testsuites > testsuite > testcase per revision and check) for CI.
 *
 * The first Ctrl-C stops after the running step, a second cancels the
 * running statement; either way the scratch database is dropped before
 * mig exits.
 */
#include "cmd.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *scratch_url;
static const char *junit;
static int data, strict, allow_heads;

static const cli_opt opts[] = {
    { 0, "scratch-url", "URL", CLI_STRING, &scratch_url, 0,
      "an empty database to run in (else a new one)" },
    { 0, "data", NULL, CLI_FLAG, &data, 0, "put rows in touched tables before each downgrade" },
    { 0, "strict", NULL, CLI_FLAG, &strict, 0, "a revision without a downgrade section fails" },
    { 0, "allow-heads", NULL, CLI_FLAG, &allow_heads, 0, "several heads are no failure" },
    { 0, "junit", "FILE", CLI_STRING, &junit, 0, "also write a JUnit XML report to FILE" },
    { 0 }
};

const cli_spec cmd_test_spec = {
    "[RANGE]", 0, 1, opts,
    "On a scratch database, each revision in graph order is upgraded, downgraded\n"
    "and upgraded again, and the schema compared at every step. Also checked: one\n"
    "head, the head equals the [autogenerate] target, downgrade base leaves only\n"
    "mig's tables. RANGE is FROM:TO, :TO, FROM: or REV (both ends included).\n"
    "Without --scratch-url a temporary database is made on the configured server\n"
    "(a temporary file for SQLite) and dropped afterwards, even after Ctrl-C.\n"
    "Exit status: 0 all passed, 3 a check failed, 1 could not run, 2 bad usage."
};

typedef struct run {
    cli *c;
    json_t *revisions; /* every report, for --json and --junit */
    json_t *graph;
} run;

static json_t *report_json(const mig_test_report *r)
{
    json_t *checks = json_array();
    for (size_t i = 0; i < r->nchecks; i++) {
        const mig_test_check *k = &r->checks[i];
        json_t *j = json_object();
        json_object_set_new(j, "name", cli_json_str(k->name));
        json_object_set_new(j, "status", cli_json_str(k->status));
        json_object_set_new(j, "message", cli_json_str(k->message));
        json_object_set_new(j, "diff", cli_json_str(k->diff));
        json_object_set_new(j, "duration_ms", json_real(k->duration_ms));
        json_array_append_new(checks, j);
    }
    json_t *j = json_object();
    if (*r->revision) {
        json_object_set_new(j, "revision", cli_json_str(r->revision));
        json_object_set_new(j, "message", cli_json_str(r->message));
        json_object_set_new(j, "path", cli_json_str(r->path));
    } else {
        json_object_set_new(j, "check", cli_json_str(r->nchecks ? r->checks[0].name : ""));
    }
    json_object_set_new(j, "status", cli_json_str(r->status));
    json_object_set_new(j, "note", cli_json_str(r->note));
    json_object_set_new(j, "duration_ms", json_real(r->duration_ms));
    json_object_set_new(j, "checks", checks);
    return j;
}

static void put_indented(const char *text)
{
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\n");
        printf("      %.*s\n", (int)n, p);
        p += n;
        if (*p == '\n')
            p++;
    }
}

static void on_report(void *payload, const mig_test_report *r)
{
    run *u = payload;
    json_array_append_new(*r->revision ? u->revisions : u->graph, report_json(r));
    if (u->c->json)
        return;
    const char *word = strcmp(r->status, "failed") == 0 ? "FAIL" : r->status;
    if (*r->revision)
        printf("%-12s %s  %s  (%.0f ms)\n", word, r->revision, r->message, r->duration_ms);
    else if (strcmp(r->status, "ok") == 0 && *r->checks[0].message == '\0')
        printf("%-12s %s\n", word, r->checks[0].name);
    else
        printf("%-12s %s: %s\n", word, r->checks[0].name, r->checks[0].message);
    for (const char *p = r->note; *p;) {
        size_t n = strcspn(p, "\n");
        printf("    warning: %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
    for (size_t i = 0; *r->revision && i < r->nchecks; i++) {
        const mig_test_check *k = &r->checks[i];
        if (strcmp(k->status, "failed") == 0 || (strcmp(r->status, "skipped") == 0 && *k->message))
            printf("    %s: %s\n", k->name, k->message);
        if (strcmp(k->status, "failed") == 0 && *k->diff)
            put_indented(k->diff);
    }
    if (!*r->revision && strcmp(r->status, "failed") == 0 && *r->checks[0].diff)
        put_indented(r->checks[0].diff);
    fflush(stdout);
}

/* ---- JUnit ---- */

static void xml_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '<')
            fputs("&lt;", f);
        else if (ch == '>')
            fputs("&gt;", f);
        else if (ch == '&')
            fputs("&amp;", f);
        else if (ch == '"')
            fputs("&quot;", f);
        else if (ch < 0x20 && ch != '\n' && ch != '\t')
            fputc(' ', f); /* not allowed in XML 1.0 */
        else
            fputc(ch, f);
    }
}

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void junit_cases(FILE *f, json_t *list, size_t *tests, size_t *failures, size_t *skipped)
{
    size_t i, k;
    json_t *r, *ck;
    json_array_foreach(list, i, r)
    {
        const char *rev = jstr(r, "revision");
        json_array_foreach(json_object_get(r, "checks"), k, ck)
        {
            const char *status = jstr(ck, "status");
            fputs("    <testcase classname=\"", f);
            xml_text(f, *rev ? rev : "graph");
            fputs("\" name=\"", f);
            xml_text(f, jstr(ck, "name"));
            fprintf(f, "\" time=\"%.3f\"", json_real_value(json_object_get(ck, "duration_ms")) / 1000.0);
            ++*tests;
            if (strcmp(status, "failed") == 0) {
                ++*failures;
                fputs(">\n      <failure message=\"", f);
                xml_text(f, jstr(ck, "message"));
                fputs("\" type=\"failed\">", f);
                xml_text(f, jstr(ck, "diff"));
                fputs("</failure>\n    </testcase>\n", f);
            } else if (strcmp(status, "skipped") == 0) {
                ++*skipped;
                fputs(">\n      <skipped message=\"", f);
                xml_text(f, *jstr(ck, "message") ? jstr(ck, "message") : jstr(r, "note"));
                fputs("\"/>\n    </testcase>\n", f);
            } else {
                fputs("/>\n", f);
            }
        }
    }
}

static int write_junit(cli *c, run *u, double seconds)
{
    FILE *f = fopen(junit, "w");
    if (f == NULL)
        return cli_fail(c, MIG_EFAIL, "cannot write the JUnit report %s: %s", junit, strerror(errno));
    /* counts go in the testsuite's attributes: write the cases to memory first */
    char *body = NULL;
    size_t blen = 0, tests = 0, failures = 0, skipped = 0;
    FILE *m = open_memstream(&body, &blen);
    if (m == NULL) {
        fclose(f);
        return cli_fail(c, MIG_ENOMEM, "out of memory");
    }
    junit_cases(m, u->graph, &tests, &failures, &skipped);
    junit_cases(m, u->revisions, &tests, &failures, &skipped);
    fclose(m);
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<testsuites name=\"mig test\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" time=\"%.3f\">\n"
            "  <testsuite name=\"mig test\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"%.3f\">\n",
            tests, failures, seconds, tests, failures, skipped, seconds);
    fwrite(body, 1, blen, f);
    fputs("  </testsuite>\n</testsuites>\n", f);
    free(body);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return cli_fail(c, MIG_EFAIL, "cannot write the JUnit report %s", junit);
    return 0;
}

static size_t count(json_t *list, const char *status)
{
    size_t i, n = 0;
    json_t *r;
    json_array_foreach(list, i, r) n += strcmp(jstr(r, "status"), status) == 0;
    return n;
}

int cmd_test(cli *c)
{
    run u = { c, json_array(), json_array() };
    mig_test_opts o = { 0 };
    o.range = c->nargs ? c->args[0] : NULL;
    o.scratch_url = scratch_url;
    o.data = data;
    o.strict = strict;
    o.allow_heads = allow_heads;
    /* Ctrl-C: main.c's handler asks mig_test to stop (mig_cancel) */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = mig_test(c->ctx, &o, on_report, &u);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

    size_t ok = count(u.revisions, "ok"), failed = count(u.revisions, "failed") + count(u.graph, "failed");
    size_t irrev = count(u.revisions, "irreversible"), skipped = count(u.revisions, "skipped");
    int ran = rc == 0 || rc == MIG_ECHECK;
    if (ran && junit) {
        int jrc = write_junit(c, &u, seconds);
        if (jrc)
            rc = jrc;
    }
    if (c->json) {
        json_object_set_new(c->doc, "ok", json_boolean(rc == 0));
        json_object_set_new(c->doc, "revisions", u.revisions);
        json_object_set_new(c->doc, "checks", u.graph);
        json_object_set_new(c->doc, "summary",
                            json_pack("{s:I, s:I, s:I, s:I, s:f}", "ok", (json_int_t)ok, "failed",
                                      (json_int_t)failed, "irreversible", (json_int_t)irrev, "skipped",
                                      (json_int_t)skipped, "seconds", seconds));
    } else {
        if (ran)
            printf("test: %zu ok, %zu failed, %zu irreversible, %zu skipped (%.1f s)\n", ok, failed,
                   irrev, skipped, seconds);
        json_decref(u.revisions);
        json_decref(u.graph);
    }
    return rc;
}
