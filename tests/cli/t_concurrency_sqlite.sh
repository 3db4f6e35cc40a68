#!/usr/bin/env bash
# SQLite: the write transaction is the lock. Eight runs at once apply each
# revision once; a run that cannot get the lock in time exits 4.
. "$MIG_SRC/tests/cli/lib.sh"
new_db conc
project
V=migrations/versions
prev=""
for i in $(seq 1 20); do
    id=$(printf 'c%011d' "$i")
    write_rev $V "$id" "$prev" "step $i" "CREATE TABLE t$i (x INTEGER); INSERT INTO t$i VALUES ($i);" "DROP TABLE t$i;"
    prev=$id
done
pids=()
for k in $(seq 1 8); do
    "$MIG" upgrade head >/dev/null 2>"err.$k" & pids+=($!)
done
for k in $(seq 1 8); do
    wait "${pids[$((k-1))]}"; rc=$?
    expect_eq "$rc" 0 "concurrent run $k ($(cat err.$k))"
done
expect_eq "$(sql "SELECT count(*) FROM mig_history WHERE direction='upgrade'")" 20 "each revision once"
expect_eq "$(sql "SELECT version_num FROM mig_version")" "$prev" "at head"

# hold the write lock from another client; mig gives up after the timeout
write_rev $V d00000000001 "$prev" "one more" "CREATE TABLE d1 (x INTEGER);" "DROP TABLE d1;"
( printf 'BEGIN IMMEDIATE;\nSELECT 1;\n'; sleep 4; printf 'COMMIT;\n' ) | sqlite3 "$DB_FILE" >/dev/null &
holder=$!
sleep 1
run --lock-timeout 1 upgrade head
expect_rc 4 "lock timeout"
expect_err "lock"
wait $holder
run upgrade head
expect_rc 0 "after the lock is free"
done_testing
