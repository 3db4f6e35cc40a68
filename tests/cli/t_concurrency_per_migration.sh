#!/usr/bin/env bash
# SQLite with transaction_per_migration = true: each revision commits, so
# another run can take the write lock between two revisions. The run that
# gets it back must notice and plan again: every revision once, all exit 0.
. "$MIG_SRC/tests/cli/lib.sh"
new_db perm
project
printf 'transaction_per_migration = true\n' >> mig.ini
V=migrations/versions
prev=""
for i in $(seq 1 40); do
    id=$(printf 'p%011d' "$i")
    write_rev $V "$id" "$prev" "step $i" "CREATE TABLE t$i (x INTEGER); INSERT INTO t$i VALUES ($i);" "DROP TABLE t$i;"
    prev=$id
done
pids=()
for k in $(seq 1 6); do
    "$MIG" upgrade head >/dev/null 2>"err.$k" & pids+=($!)
done
for k in $(seq 1 6); do
    wait "${pids[$((k-1))]}"; rc=$?
    expect_eq "$rc" 0 "run $k ($(cat err.$k))"
done
expect_eq "$(sql "SELECT count(*) FROM mig_history WHERE direction='upgrade'")" 40 "each revision once"
expect_eq "$(sql "SELECT count(DISTINCT revision) FROM mig_history")" 40 "no revision twice"
expect_eq "$(sql "SELECT version_num FROM mig_version")" "$prev" "at head"
done_testing
