/*
 * mig downgrade TARGET [--sql]: revert revisions down to TARGET; the run
 * itself is shared with upgrade (cli_run_migration in cmd_upgrade.c).
 */
#include "cmd.h"

static struct {
    int sql;
} o;

static const cli_opt opts[] = {
    { 0, "sql", NULL, CLI_FLAG, &o.sql, 0, "print the SQL instead (TARGET is FROM:TO)" }, { 0 }
};

const cli_spec cmd_downgrade_spec = { "TARGET", 1, 1, opts,
                                      "TARGET is base, a revision id or unique prefix, -N, REV-N or LABEL@base.\n"
                                      "With --sql it must be a range FROM:TO." };

int cmd_downgrade(cli *c)
{
    return cli_run_migration(c, CLI_DOWNGRADE, o.sql ? MIG_RUN_SQL : 0u);
}
