#!/usr/bin/env bash
# One worker serves schema tenant after tenant on the same two connections
# (PostgreSQL, MariaDB): what one tenant's revisions leave in the session
# (a setting, a user variable, a temporary table, a prepared statement)
# must not reach the next, on_connect runs again for each, a tenant that
# fails (even leaving its transaction open and aborted) does not poison the
# next, and the tenant locks still keep a concurrent process out. Tenants
# already at head are read in one query and skipped, also when some schema
# has no version table. SQLite has database tenants only: each opens its
# own file, and the same checks hold.
. "$MIG_SRC/tests/cli/lib.sh"
new_db reuse
V=migrations/versions
mkdir -p $V

tenant_helpers

A=$(tname ta); B=$(tname tb); C=$(tname tc)
for t in "$A" "$B" "$C"; do mk_tenant "$t"; done

# Each tenant records what it finds in its session, then leaves things behind.
# The temporary table and the prepared statement have fixed names: one left
# by the tenant before makes the next tenant's revision fail outright.
case "$MIG_TEST_DRIVER" in
postgres)
    ON_CONNECT="SET statement_timeout = '123s'"
    UP="CREATE TABLE seen (what VARCHAR(20), val VARCHAR(100));
INSERT INTO seen VALUES ('setting', current_setting('work_mem'));
INSERT INTO seen VALUES ('custom', coalesce(current_setting('mig_t.leak', true), ''));
INSERT INTO seen VALUES ('on_connect', current_setting('statement_timeout'));
INSERT INTO seen VALUES ('temp', (SELECT count(*) FROM pg_catalog.pg_class WHERE relname = 'leak_tmp' AND relpersistence = 't')::text);
INSERT INTO seen VALUES ('session', pg_backend_pid()::text);
SET work_mem = '7MB';
SET mig_t.leak = 'leaked';
CREATE TEMP TABLE leak_tmp (id int);
PREPARE leak_p AS SELECT 1;"
    FRESH_SETTING=$(sql "SHOW work_mem")
    FRESH_CUSTOM=""
    WANT_ON_CONNECT=123s
    # leaves its transaction open and aborted in the tenant named $B
    ABORT="BEGIN;
SELECT 1 / (CASE WHEN current_schema() = '$B' THEN 0 ELSE 1 END);"
    ;;
mysql)
    ON_CONNECT="SET SESSION lock_wait_timeout = 123"
    UP="CREATE TABLE seen (what VARCHAR(20), val VARCHAR(100));
INSERT INTO seen VALUES ('setting', @@SESSION.group_concat_max_len);
INSERT INTO seen VALUES ('custom', COALESCE(@mig_t_leak, ''));
INSERT INTO seen VALUES ('on_connect', @@SESSION.lock_wait_timeout);
INSERT INTO seen VALUES ('session', CONNECTION_ID());
INSERT INTO seen VALUES ('charset', @@SESSION.character_set_client);
CREATE TEMPORARY TABLE \`$DB_NAME\`.leak_tmp (id INT);
INSERT INTO seen VALUES ('temp', '0');
SET SESSION group_concat_max_len = 7777;
SET @mig_t_leak = 'leaked';"
    FRESH_SETTING=$(sql "SELECT @@GLOBAL.group_concat_max_len")
    FRESH_CUSTOM=""
    WANT_ON_CONNECT=123
    ABORT="BEGIN;
SELECT IF(DATABASE() = '$B', (SELECT 1 UNION SELECT 2), 1);"
    ;;
sqlite)
    ON_CONNECT="PRAGMA cache_size = -123"
    UP="CREATE TABLE seen (what VARCHAR(20), val VARCHAR(100));
INSERT INTO seen VALUES ('setting', 'x');
INSERT INTO seen VALUES ('custom', '');
INSERT INTO seen SELECT 'on_connect', cache_size FROM pragma_cache_size;
CREATE TEMP TABLE leak_tmp (id int);
INSERT INTO seen VALUES ('temp', '0');"
    FRESH_SETTING=x
    FRESH_CUSTOM=""
    WANT_ON_CONNECT=-123
    ABORT="SELECT CASE WHEN (SELECT count(*) FROM seen WHERE what = 'me' AND val = '$B') > 0 THEN abs(-9223372036854775807 - 1) ELSE 1 END;"
    ;;
esac
write_rev $V r00000000001 "" "leave things behind" "$UP" "DROP TABLE seen;"

cat > mig.ini <<INI
[mig]
script_location = migrations
url = $BASE_URL
on_connect = $ON_CONNECT

[tenants]
list = $A, $B, $C
INI

# -j 1: one worker, so tenant after tenant on the same connections
run --all-tenants -j 1 upgrade head
expect_rc 0 "three tenants on one worker"
for t in "$A" "$B" "$C"; do
    expect_eq "$(tsql "$t" "SELECT val FROM seen WHERE what = 'setting'")" "$FRESH_SETTING" "$t: a setting of the tenant before"
    expect_eq "$(tsql "$t" "SELECT val FROM seen WHERE what = 'custom'")" "$FRESH_CUSTOM" "$t: a variable of the tenant before"
    expect_eq "$(tsql "$t" "SELECT val FROM seen WHERE what = 'temp'")" 0 "$t: a temporary table of the tenant before"
    expect_eq "$(tsql "$t" "SELECT val FROM seen WHERE what = 'on_connect'")" "$WANT_ON_CONNECT" "$t: on_connect ran for it"
done
if [ "$MIG_TEST_DRIVER" != sqlite ]; then
    # the checks above are about one session: all three ran on one connection
    sessions=$(for t in "$A" "$B" "$C"; do tsql "$t" "SELECT val FROM seen WHERE what = 'session'"; done | sort -u | wc -l)
    expect_eq "$sessions" 1 "tenants on one worker share its connection"
fi
if [ "$MIG_TEST_DRIVER" = mysql ]; then
    # the reset returns settings to the server's defaults: the connection's character set stays
    expect_eq "$(tsql "$C" "SELECT val FROM seen WHERE what = 'charset'")" utf8mb4 "character set after a reset"
fi

# A tenant that fails leaving its transaction open and aborted: the next
# one on the same connection runs as on a new one.
if [ "$MIG_TEST_DRIVER" = sqlite ]; then
    for t in "$A" "$B" "$C"; do tsql "$t" "INSERT INTO seen VALUES ('me', '$t')"; done
fi
write_rev $V r00000000002 r00000000001 "abort in one tenant" "-- mig:transaction false
$ABORT" ""
write_rev $V r00000000003 r00000000002 "after" "CREATE TABLE after_abort (id INT);" "DROP TABLE after_abort;"
run --all-tenants -j 1 --keep-going upgrade head
expect_rc 1 "one tenant fails"
expect_err "$B.*failed"
expect_eq "$(tsql "$A" "SELECT version_num FROM mig_version")" r00000000003 "tenant before the failure"
expect_eq "$(tsql "$C" "SELECT version_num FROM mig_version")" r00000000003 "tenant after the failure, same connection"
expect_eq "$(tsql "$C" "SELECT count(*) FROM after_abort")" 0 "its revision ran in its own schema"

# Tenants at head are read at once and skipped; a schema without a version
# table (a new tenant) among them still migrates, and the failed one is
# neither skipped nor run past its failure.
D=$(tname td)
mk_tenant "$D"
sed -i "s/^list = .*/list = $A, $B, $C, $D/" mig.ini
run --all-tenants -j 2 --keep-going upgrade head
expect_rc 1 "the failed tenant still refuses"
expect_err "$A: r00000000003 -> r00000000003 +skipped"
expect_err "$C: r00000000003 -> r00000000003 +skipped"
expect_err "$B.*failed"
expect_eq "$(tsql "$D" "SELECT version_num FROM mig_version")" r00000000003 "a new tenant among current ones"
run --all-tenants -j 1 current
expect_out "^$D r00000000003$"
# at head, but its newest history row is a downgrade that failed part-way:
# upgrade refuses it as for one database, it is not skipped
tsql "$C" "INSERT INTO mig_history (revision, direction, started_at, duration_ms, state, statements_applied, version_table) VALUES ('r00000000003', 'downgrade', '2026-01-01 00:00:00', 1, 'failed', 1, 'mig_version')" >/dev/null
run --all-tenants -j 2 --keep-going upgrade head
expect_rc 1 "a failed downgrade at head"
expect_err "$A: r00000000003 -> r00000000003 +skipped"
expect_err "$C: .*failed"

# The tenant locks still keep a second process out: two processes, one
# worker each, over 20 tenants whose revision takes a moment.
names=()
for k in $(seq 1 20); do n=$(tname "m$k"); names+=("$n"); mk_tenant "$n"; done
rm -f $V/r*.sql
case "$MIG_TEST_DRIVER" in
postgres) SLOW="SELECT pg_sleep(0.05);" ;;
mysql) SLOW="DO SLEEP(0.05);" ;;
sqlite) SLOW="SELECT 1;" ;;
esac
write_rev $V s00000000001 "" "slow" "CREATE TABLE s1 (id INT);
$SLOW" "DROP TABLE s1;"
write_rev $V s00000000002 s00000000001 "slow 2" "CREATE TABLE s2 (id INT);
$SLOW" "DROP TABLE s2;"
sed -i "s/^list = .*/list = $(IFS=,; echo "${names[*]}")/" mig.ini
"$MIG" --all-tenants -j 1 upgrade head >/dev/null 2>p1.err & p1=$!
"$MIG" --all-tenants -j 1 upgrade head >/dev/null 2>p2.err & p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
expect_eq "$r1:$r2" "0:0" "both processes ($(tail -2 p1.err) / $(tail -2 p2.err))"
once=0
for n in "${names[@]}"; do
    c=$(tsql "$n" "SELECT count(*) FROM mig_history WHERE direction='upgrade'")
    [ "$c" = 2 ] && once=$((once + 1))
done
expect_eq "$once" 20 "every tenant migrated exactly once"
done_testing
