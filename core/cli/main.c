/*
 * The `mig` command line: parses the global options (before or after the
 * command name), finds the command in the table below, creates the libmig
 * context from the options, runs the command, and turns the result into an
 * exit status in one place (finish). It also makes sure stdout was really
 * written: a full disk or a closed pipe is a failure, not a silent success.
 *
 * Everything it does goes through mig.h; each command lives in its own
 * cmd_<name>.c with its own option table, from which `mig COMMAND --help`
 * is written.
 */
#include "cmd.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mig/secret.h"

/* The global options, as parsed; turned into mig_options by make_context. */
static struct {
    const char *config;
    const char *url;
    const char *driver;
    const char *driver_path;
    const char *script_location;
    cli_list x;
    cli_list tenants;
    int all_tenants;
    int jobs;
    int keep_going;
    double lock_timeout;
    int no_lock;
    int json;
    int quiet;
    int version;
} g = { .lock_timeout = -1.0 };

static const cli_opt global_opts[] = {
    { 'c', "config", "PATH", CLI_STRING, &g.config, 0,
      "config file (else $MIG_CONFIG, else mig.ini here or above)" },
    { 0, "url", "URL", CLI_STRING, &g.url, 0, "database URL (else $MIG_DATABASE_URL, config url)" },
    { 0, "driver", "NAME", CLI_STRING, &g.driver, 0, "database driver (default: from the URL's scheme)" },
    { 0, "driver-path", "DIRS", CLI_STRING, &g.driver_path, 0,
      "folders to search for drivers, separated by ':'" },
    { 0, "script-location", "DIR", CLI_STRING, &g.script_location, 0,
      "folder holding versions/ and the templates" },
    { 'x', NULL, "KEY=VALUE", CLI_KEYVAL, &g.x, 0, "a value for Lua code as ctx.x.KEY (repeatable)" },
    { 0, "tenant", "NAME", CLI_LIST, &g.tenants, 0, "work on this tenant (repeatable)" },
    { 0, "all-tenants", NULL, CLI_FLAG, &g.all_tenants, 0, "work on every tenant listed in [tenants]" },
    { 'j', "jobs", "N", CLI_JOBS, &g.jobs, 0, "migrate N tenants at once" },
    { 0, "keep-going", NULL, CLI_FLAG, &g.keep_going, 0, "start the remaining tenants after one fails" },
    { 0, "lock-timeout", "SECONDS", CLI_SECONDS, &g.lock_timeout, 0,
      "wait this long for mig's migration lock (default 300); not the database's lock_timeout" },
    { 0, "no-lock", NULL, CLI_FLAG, &g.no_lock, 0,
      "write with a driver that offers no migration lock (run one mig at a time)" },
    { 0, "json", NULL, CLI_FLAG, &g.json, 0, "write one JSON document on stdout instead of text" },
    { 'q', "quiet", NULL, CLI_FLAG, &g.quiet, 0, "no progress lines" },
    { 'v', "verbose", NULL, CLI_VERBOSE, NULL, 0, "more detail: full revisions, error details" },
    { 'h', "help", NULL, CLI_HELP, NULL, 0, "show this help, or a command's help" },
    { 0, "version", NULL, CLI_FLAG, &g.version, 0, "show mig's version" },
    { 0 }
};

/* `mig help [COMMAND]`: answered in main, before any context exists. */
static const cli_opt help_opts[] = { { 0 } };
static const cli_spec help_spec = { "[COMMAND]", 0, 1, help_opts, NULL };

/* Sorted by name (bsearch). tests/cli/t_cli_usage.sh lists the names too: keep both in step. */
static const cli_cmd commands[] = {
    { "backfill", cmd_backfill, CMD_TENANTS,
      "show the checkpoints of db:backfill, or reset one (status | reset REV)", &cmd_backfill_spec },
    { "branches", cmd_branches, 0, "show the branch points", &cmd_branches_spec },
    { "check", cmd_check, CMD_TENANTS, "check the graph, pending and changed revisions", &cmd_check_spec },
    { "current", cmd_current, CMD_TENANTS, "show the database's current revision(s)", &cmd_current_spec },
    { "downgrade", cmd_downgrade, CMD_TENANTS | CMD_STOPS, "revert revisions down to TARGET",
      &cmd_downgrade_spec },
    { "drivers", cmd_drivers, 0, "list the drivers found, usable or not", &cmd_drivers_spec },
    { "heads", cmd_heads, 0, "show the heads of the graph", &cmd_heads_spec },
    { "help", NULL, 0, "show this help, or a command's (as 'mig COMMAND --help')", &help_spec },
    { "history", cmd_history, 0, "list the revisions, newest first", &cmd_history_spec },
    { "init", cmd_init, 0, "create mig.ini and a migrations folder", &cmd_init_spec },
    { "lint", cmd_lint, CMD_TENANTS, "find locks, rewrites and breaking changes in revisions",
      &cmd_lint_spec },
    { "merge", cmd_merge, 0, "write a revision that merges heads", &cmd_merge_spec },
    { "revision", cmd_revision, 0, "write a new revision file", &cmd_revision_spec },
    { "show", cmd_show, 0, "show one revision in full", &cmd_show_spec },
    { "stamp", cmd_stamp, CMD_TENANTS, "set the version table without running anything", &cmd_stamp_spec },
    { "tenants", cmd_tenants, CMD_TENANTS | CMD_ALL_TENANTS,
      "list tenants with current revision and pending count", &cmd_tenants_spec },
    { "test", cmd_test, CMD_STOPS | CMD_CLEANS_UP,
      "prove each revision up, down and up again on a scratch database", &cmd_test_spec },
    { "upgrade", cmd_upgrade, CMD_TENANTS | CMD_STOPS, "apply revisions up to TARGET", &cmd_upgrade_spec },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static int compare_command(const void *key, const void *elem)
{
    return strcmp(key, ((const cli_cmd *)elem)->name);
}

static const cli_cmd *find_command(const char *name)
{
    return bsearch(name, commands, NCOMMANDS, sizeof commands[0], compare_command);
}

static int unknown_command(cli *c, const char *name)
{
    const char *names[NCOMMANDS];
    for (size_t i = 0; i < NCOMMANDS; i++)
        names[i] = commands[i].name;
    const char *near = mig_suggest(name, names, NCOMMANDS);
    if (near)
        return cli_fail(c, MIG_EUSAGE, "unknown command '%s' (did you mean '%s'?)", name, near);
    return cli_fail(c, MIG_EUSAGE, "unknown command '%s' (see 'mig --help')", name);
}

static void usage(FILE *f)
{
    fputs("usage: mig [options] COMMAND [ARGS]\n\n"
          "Schema migrations: a graph of revision files applied to a database.\n\n"
          "commands:\n",
          f);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s  %s\n", commands[i].name, commands[i].summary);
    fputs("\noptions (before or after the command):\n", f);
    cli_opt_help(f, global_opts);
    fputs("\nRun 'mig COMMAND --help' for a command's own options.\n", f);
    fputs("The JSON Schema of each --json document: " MIG_SCHEMA_DIR "/COMMAND.json\n", f);
}

static void command_help(FILE *f, const cli_cmd *cmd)
{
    const cli_spec *s = cmd->spec;
    int indent = fprintf(f, "usage: mig [options] %s", cmd->name);
    int col = cli_opt_synopsis(f, s->opts, indent, indent);
    if (s->args && *s->args) {
        if (col + 1 + (int)strlen(s->args) > 79)
            fprintf(f, "\n%*s", indent, "");
        fprintf(f, " %s", s->args);
    }
    fprintf(f, "\n\n%c%s.\n", cmd->summary[0] - 'a' + 'A', cmd->summary + 1);
    if (s->about)
        fprintf(f, "\n%s\n", s->about);
    if (!CLI_OPT_END(s->opts)) {
        fputs("\noptions:\n", f);
        cli_opt_help(f, s->opts);
    }
    fputs("\nGlobal options (see 'mig --help') go before or after the command.\n", f);
}

/* mig help [COMMAND]: the same text as mig --help and mig COMMAND --help. */
static int help(cli *c)
{
    if (c->nargs == 0) {
        usage(stdout);
        return 0;
    }
    const cli_cmd *cmd = find_command(c->args[0]);
    if (cmd == NULL)
        return unknown_command(c, c->args[0]);
    command_help(stdout, cmd);
    return 0;
}

/* Before parsing: so that even a usage error answers in JSON when asked. */
static int asks_for_json(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0)
            return 1;
    return 0;
}

static int parse(cli *c, int argc, char **argv, cli_list *args)
{
    int only_args = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_args && strcmp(a, "--") == 0) {
            only_args = 1;
            continue;
        }
        if (!only_args && cli_is_option(a)) {
            const cli_opt *tables[2] = { global_opts, NULL };
            size_t ntables = 1;
            if (c->cmd) {
                tables[0] = c->cmd->spec->opts;
                tables[1] = global_opts;
                ntables = 2;
            }
            int rc = cli_opt_parse(c, tables, ntables, argc, argv, &i, c->cmd ? c->cmd->name : NULL);
            if (rc < 0)
                return rc;
            continue;
        }
        if (c->cmd == NULL) {
            c->cmd = find_command(a);
            if (c->cmd == NULL)
                return unknown_command(c, a);
            continue;
        }
        if (cli_list_push(args, a) != 0)
            return cli_fail(c, MIG_ENOMEM, "out of memory");
    }
    return 0;
}

/* What the parsed command line must satisfy before anything runs. */
static int validate(cli *c)
{
    const cli_cmd *cmd = c->cmd;
    const cli_spec *s = cmd->spec;
    if (!(cmd->flags & CMD_TENANTS)) {
        const char *bad = g.tenants.n     ? "--tenant"
                          : g.all_tenants ? "--all-tenants"
                          : g.jobs        ? "--jobs"
                          : g.keep_going  ? "--keep-going"
                                          : NULL;
        if (bad)
            return cli_fail(c, MIG_EUSAGE, "option '%s' does not apply to '%s'", bad, cmd->name);
    }
    if (c->nargs < s->min_args)
        return cli_fail(c, MIG_EUSAGE, "'%s' needs %s (see 'mig %s --help')", cmd->name, s->args,
                        cmd->name);
    if (s->max_args != CLI_MANY && c->nargs > s->max_args)
        return cli_fail(c, MIG_EUSAGE, "unexpected argument '%s' for '%s' (see 'mig %s --help')",
                        c->args[s->max_args], cmd->name, cmd->name);
    return cli_opt_check_required(c, s->opts, cmd->name);
}

static int make_context(cli *c)
{
    mig_options o = MIG_OPTIONS_INIT;
    o.config_path = g.config;
    o.url = g.url;
    o.driver = g.driver;
    o.driver_path = g.driver_path;
    o.script_location = g.script_location;
    o.x = g.x.v;
    o.nx = g.x.n;
    o.tenants = g.tenants.v;
    o.ntenants = g.tenants.n;
    /* `mig tenants` lists them all unless told which (its help says so) */
    o.all_tenants = g.all_tenants || ((c->cmd->flags & CMD_ALL_TENANTS) && g.tenants.n == 0);
    o.jobs = g.jobs;
    o.keep_going = g.keep_going;
    o.lock_timeout = g.lock_timeout;
    o.no_lock = g.no_lock;
    o.verbose = c->verbose;
    o.quiet = c->quiet;
    int rc = mig_ctx_new(&o, &c->ctx);
    if (rc != 0)
        return rc;
    mig_set_logger(c->ctx, cli_logger, c);
    return 0;
}

/*
 * The one place a result becomes an exit status. The error goes to stderr
 * always, and into the JSON document as well with --json: a script reads
 * stdout, the person watching it reads stderr. Then stdout must have been
 * written in full, or the run failed whatever the command said.
 */
static int finish(cli *c, int rc, int ran)
{
    if (rc != 0)
        cli_report_error(c, rc);
    if (c->json && (rc != 0 || ran)) {
        if (rc != 0)
            cli_json_error(c, rc);
        if (cli_json_print(c) != 0 && rc == 0)
            rc = cli_fail(c, MIG_EFAIL, "cannot write the JSON document");
    }
    int status = mig_exit_status(rc);
    errno = 0; /* so a stale value is not blamed on stdout */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "mig: cannot write to stdout: %s\n", errno ? strerror(errno) : "write error");
        if (status == 0)
            status = 1;
    }
    json_decref(c->doc);
    mig_ctx_free(c->ctx);
    cli_list_release(&g.x);
    cli_list_release(&g.tenants);
    return status;
}

/*
 * A core dump would hold the database URL, password and all: none unless
 * MIG_CORE_DUMPS=1 (for debugging mig itself). Not dumpable also keeps
 * other users' tools out of /proc/PID/environ and ptrace.
 */
static void no_core_dumps(void)
{
    const char *want = getenv("MIG_CORE_DUMPS");
    if (want && strcmp(want, "1") == 0)
        return;
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    struct rlimit none = { 0, 0 };
    (void)setrlimit(RLIMIT_CORE, &none);
}

/*
 * The URL with its password is kept in one place for the whole run: a
 * page of its own, locked in memory where the system allows (so it is
 * never swapped) and left out of core dumps. libmig reads it from there
 * for every connection (tenant workers, cancel connections). The copies
 * in argv and the environment, which ps and /proc show, have their
 * password overwritten, and $MIG_DATABASE_URL is taken out of the
 * environment, so no child process (post-write hooks) inherits it.
 */
static void keep_url_secret(void)
{
    const char *env = getenv("MIG_DATABASE_URL");
    const char *u = g.url && *g.url ? g.url : env && *env ? env : NULL;
    if (u == NULL) {
        unsetenv("MIG_DATABASE_URL");
        return;
    }
    size_t n = strlen(u) + 1;
    long page = sysconf(_SC_PAGESIZE);
    size_t len = page > 0 ? (n + (size_t)page - 1) / (size_t)page * (size_t)page : n;
    char *store = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (store == MAP_FAILED)
        return; /* no copy then: libmig reads it where it is */
    (void)mlock(store, len);
#ifdef MADV_DONTDUMP
    (void)madvise(store, len, MADV_DONTDUMP);
#endif
    memcpy(store, u, n);
    /* the original strings are what /proc/PID/cmdline and environ show */
    if (g.url)
        mig_secret_blank((char *)g.url);
    if (env)
        mig_secret_blank((char *)env);
    g.url = store;
    unsetenv("MIG_DATABASE_URL");
}

/*
 * Ctrl-C for the commands that run revisions (CMD_STOPS), one rule for
 * all (docs/reliability.md): the first SIGINT or SIGTERM stops safely
 * (mig_cancel: the running revision statement is cancelled and what is
 * open rolled back, a backfill finishes its batch, mig test drops its
 * scratch database); the second cancels whatever still runs, and the
 * command exits as soon as it returns, or STOP_GRACE_S later by the
 * signal if something blocks where no cancel reaches -- except for a command that must clean up (mig
 * test drops its scratch database: a third signal ends it); a third is
 * not waited on. Other
 * commands only read, or write in one short transaction: Ctrl-C ends
 * them at once, as for any program. A handler may only store:
 * mig_cancel does no more.
 */
#define STOP_GRACE_S 2

static mig_ctx *volatile stop_ctx;
static volatile sig_atomic_t stop_grace; /* the second signal arms the grace */
static atomic_int stop_signals;

/* The second signal's grace is over: die of SIGINT, as without a handler. */
static void on_stop_grace(int sig)
{
    (void)sig;
    signal(SIGINT, SIG_DFL);
    raise(SIGINT);
}

static void on_stop_signal(int sig)
{
    int n = atomic_fetch_add(&stop_signals, 1) + 1;
    if (n >= 3) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    static const char first[] = "\nmig: stopping safely (interrupt again to cancel whatever still runs)\n";
    static const char second[] = "\nmig: interrupted again: cancelling whatever still runs\n";
    ssize_t w = n == 1 ? write(STDERR_FILENO, first, sizeof first - 1)
                       : write(STDERR_FILENO, second, sizeof second - 1);
    (void)w;
    mig_cancel(stop_ctx);
    if (n == 2 && stop_grace)
        alarm(STOP_GRACE_S);
}

static int run_command(cli *c)
{
    if (!(c->cmd->flags & CMD_STOPS))
        return c->cmd->fn(c);
    struct sigaction sa, grace, old_int, old_term, old_alrm;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    grace = sa;
    grace.sa_handler = on_stop_grace;
    stop_ctx = c->ctx;
    stop_grace = !(c->cmd->flags & CMD_CLEANS_UP);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGALRM, &grace, &old_alrm);
    int rc = c->cmd->fn(c);
    alarm(0);
    sigaction(SIGALRM, &old_alrm, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    stop_ctx = NULL;
    return rc;
}

int main(int argc, char **argv)
{
    cli c;
    memset(&c, 0, sizeof c);
    cli_list args = { NULL, 0 };

    no_core_dumps();
    int rc = parse(&c, argc, argv, &args);
    if (rc == 0)
        keep_url_secret();
    c.args = args.v;
    c.nargs = args.n;
    c.json = rc == 0 ? g.json : asks_for_json(argc, argv);
    c.quiet = g.quiet;
    int ran = 0;

    if (rc == 0 && g.version) {
        if (c.json) {
            c.doc = cli_json_doc(&c);
            /* about mig, not a command named beside --version: mig.json describes it */
            json_object_del(c.doc, "command");
            json_object_set_new(c.doc, "version", json_string(mig_version()));
            json_object_set_new(c.doc, "driver_abi", json_integer(mig_driver_abi()));
            ran = 1;
        } else {
            printf("mig %s (driver ABI %u)\n", mig_version(), mig_driver_abi());
        }
    } else if (rc == 0 && c.help) {
        if (c.cmd)
            command_help(stdout, c.cmd);
        else
            usage(stdout);
    } else if (rc == 0 && c.cmd == NULL) {
        usage(stderr);
        fputc('\n', stderr);
        rc = cli_fail(&c, MIG_EUSAGE, "no command given");
    } else if (rc == 0 && c.cmd->fn == NULL) {
        rc = validate(&c);
        if (rc == 0)
            rc = help(&c);
    } else if (rc == 0) {
        rc = validate(&c);
        if (rc == 0)
            rc = make_context(&c);
        if (rc == 0) {
            if (c.json)
                c.doc = cli_json_doc(&c);
            ran = 1;
            rc = run_command(&c);
        }
    }
    int status = finish(&c, rc, ran);
    cli_list_release(&args);
    return status;
}
