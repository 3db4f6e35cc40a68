#!/usr/bin/env bash
# The migration lock on every driver: eight runs at once apply each
# revision exactly once and all succeed; while a run holds the lock another
# one says who holds it and, past --lock-timeout, exits 4; a run that finds
# the database at head does not wait for the lock at all.
. "$MIG_SRC/tests/cli/lib.sh"
new_db lock
project
V=migrations/versions
prev=""
for i in $(seq 1 12); do
    id=$(printf 'l%011d' "$i")
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
expect_eq "$(sql "SELECT count(*) FROM mig_history WHERE direction='upgrade'")" 12 "each revision applied once"
expect_eq "$(sql "SELECT version_num FROM mig_version")" "$prev" "at head"

case "$MIG_TEST_DRIVER" in
postgres) SLOW="SELECT pg_sleep(4);" ;;
mysql)    SLOW="SELECT SLEEP(4);" ;;
*)        SLOW="" ;;
esac
if [ -n "$SLOW" ]; then
    write_rev $V m00000000001 "$prev" "slow" "$SLOW" "-- nothing"
    "$MIG" upgrade head >/dev/null 2>slow.err & slow=$!
    sleep 1.5
    write_rev $V m00000000002 m00000000001 "after slow" "CREATE TABLE after_slow (x INTEGER);" "DROP TABLE after_slow;"
    run --lock-timeout 1 upgrade head
    expect_rc 4 "lock timeout while another run holds it"
    expect_err "held by"
    [ "$MIG_TEST_DRIVER" = postgres ] && expect_err "mig"
    wait $slow; expect_eq "$?" 0 "the slow run finished ($(cat slow.err))"
    table_exists after_slow && fail "the timed-out run applied something" || pass
    run upgrade head
    expect_rc 0 "after the lock is free"
    table_exists after_slow && pass || fail "after_slow missing"
fi
done_testing
