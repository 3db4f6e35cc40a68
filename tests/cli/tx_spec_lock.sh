#!/usr/bin/env bash
# SPEC §6 locking and crashes, once per driver: every command that writes
# takes the lock (upgrade, downgrade, stamp wait and time out with exit 4);
# a killed process leaves nothing half-recorded where DDL is transactional
# and its lock is freed by the server; CREATE INDEX CONCURRENTLY does not
# deadlock against the lock (postgres).
. "$MIG_SRC/tests/cli/lib.sh"

new_db spec_lock
project
V=migrations/versions
D=$MIG_TEST_DRIVER
ver() { sql "SELECT version_num FROM mig_version ORDER BY version_num" 2>/dev/null | tr '\n' ' ' | sed 's/ $//'; }
case $D in
postgres) SLOW="SELECT pg_sleep(10);" ;;
mysql)    SLOW="SELECT SLEEP(10);" ;;
sqlite)   SLOW="WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400000000) SELECT count(*) FROM c;" ;;
esac
write_rev $V k00000000001 "" "first" "CREATE TABLE k1 (x integer);" "DROP TABLE k1;"
write_rev $V k00000000002 k00000000001 "slow" "CREATE TABLE k2 (x integer);
$SLOW" "DROP TABLE k2;"
run upgrade k00000000001
expect_rc 0 "§6 first step ($D)"

# a slow run holds the lock; every writing command waits, says who holds it, and times out with 4
"$MIG" upgrade head >slow.out 2>slow.err &
SLOWPID=$!
T_CLEANUP+=("kill -9 $SLOWPID")
sleep 2
for cmd in "upgrade head" "downgrade base" "stamp head"; do
    run --lock-timeout 1 $cmd
    expect_rc 4 "§6 '$cmd' takes the lock first: exit 4 past --lock-timeout ($D)"
done
run --lock-timeout 1.5 upgrade head
# "While waiting, mig says who holds it" (SQLite knows only that another connection does)
case $D in
sqlite) expect_err 'waiting for the database write lock on .+, held by another connection' ;;
*)      expect_err 'waiting for the migration lock held by .+' ;;
esac
# reading commands do not wait for it
run --lock-timeout 1 current
expect_rc 0 "§6 current does not take the lock ($D)"
expect_eq "$OUT" k00000000001 "§6 current while another run works ($D)"
run --lock-timeout 1 history
expect_rc 0 "§6 history does not take the lock ($D)"

# kill -9 the run in the middle of its revision
kill -9 $SLOWPID 2>/dev/null
wait $SLOWPID 2>/dev/null
sleep 1
case $D in
sqlite|postgres)
    expect_eq "$(ver)" k00000000001 "§6 a killed process leaves the version table where it was ($D)"
    expect_eq "$(sql "SELECT count(*) FROM mig_history WHERE revision='k00000000002'")" 0 \
        "§6 a killed process never leaves a revision half-recorded ($D)"
    table_exists k2 && fail "§6 the killed revision's DDL is rolled back ($D)" || pass
    ;;
esac
# the server freed the lock: the next run does not wait
write_rev $V k00000000002 k00000000001 "slow" "CREATE TABLE k2 (x integer);" "DROP TABLE k2;"
[ "$D" = mysql ] && { sql "DROP TABLE IF EXISTS k2"; sql "DELETE FROM mig_history WHERE revision='k00000000002'"; }
run --lock-timeout 5 upgrade head
expect_rc 0 "§6 the lock of a killed process is freed ($D)"
expect_eq "$(ver)" k00000000002 "§6 upgrade after the kill ($D)"
expect_eq "$(sql "SELECT count(*) FROM mig_history WHERE revision='k00000000002' AND state='done'")" 1 "§6 applied once ($D)"

# postgres: the lock is held outside any transaction, so CREATE INDEX CONCURRENTLY works
if [ "$D" = postgres ]; then
    cat > $V/k00000000003_concurrently.sql <<'SQL'
-- mig:revision k00000000003
-- mig:down_revision k00000000002
-- mig:message index concurrently
-- mig:transaction false

-- mig:upgrade
CREATE INDEX CONCURRENTLY k2_x ON k2 (x);

-- mig:downgrade
DROP INDEX CONCURRENTLY k2_x;
SQL
    timeout 60 "$MIG" upgrade head >ci.out 2>ci.err
    expect_eq "$?" 0 "§6 CREATE INDEX CONCURRENTLY does not deadlock against the lock ($(cat ci.err))"
    expect_eq "$(sql "SELECT count(*) FROM pg_indexes WHERE indexname='k2_x'")" 1 "§6 the index exists"
    timeout 60 "$MIG" downgrade -1 >ci.out 2>ci.err
    expect_eq "$?" 0 "§6 DROP INDEX CONCURRENTLY on downgrade ($(cat ci.err))"
fi

done_testing
