/*
 * What the files of the `mig` command line share: the option tables that
 * drive both parsing and `--help`, the run state handed to each command,
 * and the helpers for output (revision lines, JSON, errors).
 *
 * The CLI sees libmig only through mig.h. Its own symbols are prefixed
 * `cli_` (and `cmd_` for the commands) so they never meet libmig's
 * `mig_` names in the one static link.
 */
#ifndef MIG_CLI_CMD_H
#define MIG_CLI_CMD_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "mig/mig.h"

/* ---- option tables ---- */

typedef enum cli_opt_kind {
    CLI_FLAG,    /* int, set to 1 */
    CLI_STRING,  /* const char *, the last one given wins */
    CLI_LIST,    /* cli_list, repeatable */
    CLI_KEYVAL,  /* cli_list of "KEY=VALUE", repeatable, '=' checked */
    CLI_JOBS,    /* int >= 1 */
    CLI_SECONDS, /* double >= 0 */
    CLI_VERBOSE, /* no dest: the run's -v (also listed by commands that use it) */
    CLI_HELP     /* no dest: the run's --help */
} cli_opt_kind;

/*
 * One option. A table is an array ending with an all-zero entry (CLI_OPT_END);
 * an option may have a short name, a long name or both. `dest` points at a static of the file that owns the table: the CLI
 * runs one command per process, so a static is the simplest home.
 */
typedef struct cli_opt {
    char short_name; /* 0: long form only */
    const char *long_name;
    const char *arg; /* value's name in help, NULL for flags */
    cli_opt_kind kind;
    void *dest;
    int required; /* shown without [] in the synopsis, checked after parsing */
    const char *help;
} cli_opt;
#define CLI_OPT_END(o) ((o)->long_name == NULL && (o)->short_name == 0)

/* A growing, NULL-terminated list of borrowed argv strings. */
typedef struct cli_list {
    const char **v;
    size_t n;
} cli_list;

/* What a command accepts besides the global options. */
typedef struct cli_spec {
    const char *args; /* positional synopsis: "TARGET", "[DIR]", "" */
    size_t min_args;
    size_t max_args; /* CLI_MANY: no limit */
    const cli_opt *opts;
    const char *about; /* paragraph for `mig COMMAND --help`, may be NULL */
} cli_spec;
#define CLI_MANY ((size_t)-1)

/* Command flags, used by main.c before the command runs. */
#define CMD_TENANTS     (1u << 0) /* --tenant / --all-tenants / -j apply */
#define CMD_ALL_TENANTS (1u << 1) /* without --tenant, --all-tenants is implied */
#define CMD_STOPS       (1u << 2) /* Ctrl-C stops it safely through mig_cancel (main.c) */
#define CMD_CLEANS_UP   (1u << 3) /* with CMD_STOPS: after a second Ctrl-C its cleanup is waited for */

typedef struct cli cli;
typedef int (*cli_cmd_fn)(cli *c);

typedef struct cli_cmd {
    const char *name;
    cli_cmd_fn fn;
    unsigned flags;
    const char *summary;
    const cli_spec *spec;
} cli_cmd;

/* ---- one run ---- */

struct cli {
    const cli_cmd *cmd;
    mig_ctx *ctx;
    const char **args; /* positional arguments after the command */
    size_t nargs;
    int json;    /* --json */
    int verbose; /* -v count */
    int quiet;   /* -q */
    int help;    /* --help seen */
    json_t *doc; /* with --json: the document the command fills */

    /* An error the CLI raises itself (bad usage); else mig_last_error(ctx). */
    int err_code;
    char err_message[512];
    char err_hint[256];
    /* said after the error: where a failed run left the database */
    char err_after[512];
};

/* Set the CLI's own error and return code, like mig_fail() inside libmig. */
int cli_fail(cli *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cli_hint(cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* opts.c */
int cli_list_push(cli_list *l, const char *s);
void cli_list_release(cli_list *l);
/*
 * Parse the option at argv[*i] against the tables in order (the command's
 * first, so it may reuse a letter). Returns 1 when consumed (*i is left on
 * its last word), or MIG_EUSAGE with the error set on c. `cmd` names the
 * command in messages, NULL before it is known.
 */
int cli_opt_parse(cli *c, const cli_opt *const *tables, size_t ntables, int argc, char **argv, int *i,
                  const char *cmd);
/* True when arg is an option word, not a value like "-1" (a relative target). */
int cli_is_option(const char *arg);
/* Check the required options of a table; MIG_EUSAGE naming the first missing. */
int cli_opt_check_required(cli *c, const cli_opt *tbl, const char *cmd);
/* Write the option lines of a table (help). */
void cli_opt_help(FILE *f, const cli_opt *tbl);
/*
 * Write the synopsis of a table (`-m MSG [--lua] ...`) from column col,
 * wrapping lines to indent; returns the column it ends at.
 */
int cli_opt_synopsis(FILE *f, const cli_opt *tbl, int col, int indent);

/* output.c: stderr, and text from outside mig on any human-readable output */
#define CLI_TEXT_LINE  0 /* a one-line field: line breaks and tabs escaped too */
#define CLI_TEXT_BLOCK 1 /* lines of a block: line breaks and tabs kept */
#define CLI_TEXT_TABS  2 /* one line whose tabs are its own (print's separator): tabs kept */
/* s with control characters escaped (malloc'd, NULL on out of memory). */
char *cli_text(const char *s, int mode);
/* Write a one-line field, escaped. */
void cli_put(FILE *f, const char *s);
/* "label: line" for each line of text, escaped; see output.c. */
void cli_labelled(FILE *f, const char *label, const char *text);
int cli_color_stderr(void);
void cli_logger(void *payload, mig_log_level level, const char *line);
/*
 * The error of a failed run, the CLI's own or libmig's: what both stderr
 * and the JSON document report. Fields are "" (line 0) when there is none;
 * message never is.
 */
typedef struct cli_error_view {
    const char *message, *detail, *hint, *file, *origin;
    int line;
    char fallback[128]; /* the message when none was set */
} cli_error_view;
void cli_error_get(const cli *c, int rc, cli_error_view *e);
/*
 * The running step as one live line on a terminal (redrawn a few times a
 * second with its elapsed time); cli_logger's lines go above it. Begin
 * installs the progress callback when stderr is a terminal (and colour is
 * allowed there); end takes it away.
 */
void cli_live_begin(cli *c);
void cli_live_end(cli *c);
/* Write lines above the live line: hold it (erased), write, release it (redrawn, with a new tenant counter if given). */
void cli_live_hold(void);
void cli_live_release(const char *prefix);
/* The error of a failed run: one line, a hint, and with -v the rest. */
void cli_report_error(cli *c, int rc);

/* json.c */
/*
 * docs/json.md and the schemas in schema/: every document carries this number, and
 * it goes up with every change to the shape of any document.
 */
#define CLI_JSON_SCHEMA_VERSION 1
/* A new document: schema_version, and the command when one was named. */
json_t *cli_json_doc(const cli *c);
/* A JSON string for s with every byte that is not UTF-8 replaced by U+FFFD; null for NULL. */
json_t *cli_json_str(const char *s);
json_t *cli_json_strv(const char *const *v); /* NULL-terminated list, NULL = [] */
const char *cli_error_name(int code);
/* The {"error": {...}} member for a failed run, added to doc. */
void cli_json_error(cli *c, int rc);
/* Write doc on stdout, one document and a newline; 0 or MIG_EFAIL. */
int cli_json_print(cli *c);

/* revfmt.c: revisions the way `history` and friends print them */
typedef struct cli_graph {
    const mig_revision *const *revs; /* newest first, borrowed from the ctx */
    size_t n;
    char **current; /* ids in the version table (owned) */
    size_t ncurrent;
    int have_current; /* the database answered */
} cli_graph;
/*
 * Load the revisions, and the current heads with CLI_GRAPH_CURRENT (a
 * database that cannot be read there only means no (current) marks).
 * Release with cli_graph_release even on failure.
 */
#define CLI_GRAPH_CURRENT (1u << 0)
int cli_graph_load(cli *c, cli_graph *g, unsigned flags);
/* Read and copy the current heads into a zeroed or loaded g (connects). */
int cli_graph_read_current(cli *c, cli_graph *g);
void cli_graph_release(cli_graph *g);
const mig_revision *cli_graph_find(const cli_graph *g, const char *id);
int cli_graph_is_current(const cli_graph *g, const char *id);
/* One-line form: "<base> -> id (label) (head) (current), message". */
#define CLI_LINE_PARENTS (1u << 0)
#define CLI_LINE_MESSAGE (1u << 1)
#define CLI_LINE_TREE    (1u << 2) /* (branchpoint) (mergepoint) */
void cli_rev_line(FILE *f, const cli_graph *g, const mig_revision *r, unsigned what);
/* Full form: Rev:, Parent:/Merges:, Branches into:, Path:, the message and dates. */
void cli_rev_entry(FILE *f, const cli_graph *g, const mig_revision *r);
/*
 * The revision object of every JSON document. Reads the file's body when
 * the list gave no has_downgrade, so the object is the same everywhere.
 */
json_t *cli_rev_json(cli *c, const cli_graph *g, const mig_revision *r);

/* ---- the commands, one file each (cmd_<name>.c) ---- */
#define CLI_COMMAND(name)                                                                               \
    int cmd_##name(cli *c);                                                                             \
    extern const cli_spec cmd_##name##_spec
CLI_COMMAND(backfill);
CLI_COMMAND(branches);
CLI_COMMAND(check);
CLI_COMMAND(current);
CLI_COMMAND(downgrade);
CLI_COMMAND(drivers);
CLI_COMMAND(heads);
CLI_COMMAND(history);
CLI_COMMAND(init);
CLI_COMMAND(lint);
CLI_COMMAND(merge);
CLI_COMMAND(revision);
CLI_COMMAND(show);
CLI_COMMAND(stamp);
CLI_COMMAND(tenants);
CLI_COMMAND(test);
CLI_COMMAND(upgrade);

/* tenants_out.c: per-tenant lines and the summary of a tenant run */
void cli_tenants_begin(cli *c);
void cli_tenants_end(cli *c);

/* cmd_upgrade.c: shared by upgrade and downgrade */
/* Which way cli_run_migration goes. */
typedef enum cli_direction { CLI_UPGRADE, CLI_DOWNGRADE } cli_direction;
/* flags: MIG_RUN_* as for mig_upgrade */
int cli_run_migration(cli *c, cli_direction dir, unsigned flags);

#endif
