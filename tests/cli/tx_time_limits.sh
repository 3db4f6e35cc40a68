#!/usr/bin/env bash
# The database's own time limits while a revision runs (-- mig:lock_timeout,
# -- mig:statement_timeout, [mig] lock_timeout_ddl) and retries on a lock
# timeout (-- mig:retries, [mig] lock_retries): bad values are revision-file
# errors before anything runs; the limits hold for their revision only and
# give back what on_connect set; a statement timeout cancels a sleep; a
# revision blocked by another session's lock is retried until the lock is
# free (postgres: from its savepoint, earlier revisions kept, also with
# transaction_per_migration, per tenant, and for a transaction false
# revision; mysql: only when none of its statements had applied); retries
# run out into the usual failure; hooks and Lua revisions; --sql renders
# the same statements, and the PostgreSQL script runs as online.
. "$MIG_SRC/tests/cli/lib.sh"
V=migrations/versions

# rev ID DOWN HEADER UPGRADE: a revision with extra header lines
rev() {
    local id=$1 down=$2 hdr=$3 up=$4
    {
        echo "-- mig:revision $id"
        [ -n "$down" ] && echo "-- mig:down_revision $down"
        echo "-- mig:message $id"
        [ -n "$hdr" ] && printf '%s\n' "$hdr"
        echo
        echo "-- mig:upgrade"
        printf '%s\n' "$up"
        echo
        echo "-- mig:downgrade"
    } > "$V/${id}_r.sql"
}

# fresh NAME: an empty database and a project of its own in a new folder
fresh() {
    mkdir -p "$T_TMP/$1"
    cd "$T_TMP/$1"
    new_db "$1"
    project
}

# client SQL...: the driver's own client on $DB_NAME, statements on stdin
client() {
    case "$MIG_TEST_DRIVER" in
    postgres) psql -X -q -A -t -h "$MIG_TEST_PG_HOST" -p "$MIG_TEST_PG_PORT" -U "$MIG_TEST_PG_USER" -d "$DB_NAME" ;;
    mysql)    mariadb --no-defaults -N -B -h "$MIG_TEST_MY_HOST" -P "$MIG_TEST_MY_PORT" --protocol=tcp \
                  -u "$MIG_TEST_MY_USER" "$DB_NAME" ;;
    esac
}

# hold_lock TABLE SECONDS: another session locks TABLE for SECONDS, in the
# background (HOLDER is its pid); returns once the lock is held
hold_lock() {
    case "$MIG_TEST_DRIVER" in
    postgres)
        printf 'BEGIN;\nLOCK TABLE %s IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(%s);\nCOMMIT;\n' "$1" "$2" \
            | client >/dev/null & HOLDER=$!
        for _ in $(seq 1 600); do
            [ "$(sql "SELECT count(*) FROM pg_locks l WHERE l.relation = '$1'::regclass
                      AND l.mode = 'AccessExclusiveLock' AND l.granted")" = 1 ] && return
            sleep 0.05
        done ;;
    mysql)
        printf 'LOCK TABLES %s WRITE;\nSELECT SLEEP(%s);\nUNLOCK TABLES;\n' "$1" "$2" | client >/dev/null & HOLDER=$!
        for _ in $(seq 1 600); do
            # this database's session only: other tests share the server
            [ "$(sql "SELECT count(*) FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP%'
                      AND db = DATABASE()")" = 1 ] && return
            sleep 0.05
        done ;;
    esac
    fail "the other session did not take its lock"
}

# --- bad values: exit 2 naming path:LINE, before anything runs ----------
fresh bad
rev b0000000000a "" "" "CREATE TABLE never (x INTEGER);"
for hdr in "lock_timeout fast" "lock_timeout -5s" "lock_timeout 1.5s" "statement_timeout 99999999999999min" \
           "statement_timeout 25days" "lock_timeout 3000000s" "retries three" "retries -1" "retries 1000"; do
    rev b0000000000a "" "-- mig:$hdr" "CREATE TABLE never (x INTEGER);"
    run upgrade head
    expect_rc 2 "-- mig:$hdr"
    expect_err "b0000000000a_r.sql:3: 'mig:${hdr%% *}'"
    one_line_err
done
table_exists never && fail "a bad header let a revision run" || pass
table_exists mig_version && fail "a bad header touched the database" || pass
rev b0000000000a "" "" "CREATE TABLE never (x INTEGER);"
printf 'lock_timeout_ddl = soon\n' >> mig.ini
run upgrade head
expect_rc 2 "[mig] lock_timeout_ddl = soon"
expect_err "mig.ini:4: \[mig\] lock_timeout_ddl: 'soon' is not a duration"
project
printf 'lock_retries = 500\n' >> mig.ini
run upgrade head
expect_rc 2 "[mig] lock_retries = 500"
expect_err "mig.ini:4: \[mig\] lock_retries"
table_exists never && fail "a bad setting let a revision run" || pass
# good values parse: units, bare seconds, 0
project
rev b0000000000a "" "-- mig:lock_timeout 250ms
-- mig:statement_timeout 2min
-- mig:retries 0" "CREATE TABLE never (x INTEGER);"
run upgrade head
expect_rc 0 "good values"

# --- the limits hold for their revision only -----------------------------
# seen(rev, value): what each revision saw of the lock limit
case "$MIG_TEST_DRIVER" in
postgres) NOW="current_setting('lock_timeout')"; ONC="SET lock_timeout = '7s'"; WANT_IN=1500ms; WANT_LUA=2500ms; WANT_AFTER=7s ;;
mysql)    NOW="@@SESSION.lock_wait_timeout"; ONC="SET SESSION lock_wait_timeout = 77"; WANT_IN=2; WANT_LUA=3; WANT_AFTER=77 ;;
sqlite)   NOW="mig_busy_timeout()"; ONC="SELECT 1"; WANT_IN=1500; WANT_LUA=2500; WANT_AFTER=60000 ;;
esac
fresh leak
printf 'on_connect = %s\n' "$ONC" >> mig.ini
rev l0000000000a "" "" "CREATE TABLE seen (rev VARCHAR(20), val VARCHAR(40));"
rev l0000000000b l0000000000a "-- mig:lock_timeout 1500ms" "INSERT INTO seen SELECT 'b', $NOW;"
cat > $V/l0000000000c_lua.lua <<LUA
-- mig:revision l0000000000c
-- mig:down_revision l0000000000b
-- mig:message a Lua revision has its limits too
-- mig:lock_timeout 2500ms
return {
  upgrade = function(db)
    for row in db:rows("SELECT $NOW AS v") do
      db:exec("INSERT INTO seen VALUES ('c', ?)", tostring(row.v))
    end
  end,
}
LUA
rev l0000000000d l0000000000c "" "INSERT INTO seen SELECT 'd', $NOW;"
# hooks run outside the revision's limits
mkdir -p hooks
cat > hooks/seen.lua <<LUA
local function seen(when)
  return function(db, ctx)
    if ctx.revision == "l0000000000b" then
      for row in db:rows("SELECT $NOW AS v") do
        db:exec("INSERT INTO seen VALUES (?, ?)", when, tostring(row.v))
      end
    end
  end
end
return { before_each = seen("before_b"), after_each = seen("after_b") }
LUA
printf '[hooks]\nscripts = hooks/seen.lua\n' >> mig.ini
[ "$MIG_TEST_DRIVER" = sqlite ] && run --lock-timeout 60 upgrade head || run upgrade head
expect_rc 0 "upgrade with a limited revision"
expect_eq "$(sql "SELECT val FROM seen WHERE rev = 'before_b'")" "$WANT_AFTER" "before_each outside the limits"
expect_eq "$(sql "SELECT val FROM seen WHERE rev = 'after_b'")" "$WANT_AFTER" "after_each outside the limits"
expect_eq "$(sql "SELECT val FROM seen WHERE rev = 'b'")" "$WANT_IN" "the limit inside its revision"
expect_eq "$(sql "SELECT val FROM seen WHERE rev = 'c'")" "$WANT_LUA" "a Lua revision's statements have its limits"
expect_eq "$(sql "SELECT val FROM seen WHERE rev = 'd'")" "$WANT_AFTER" "no leak into the revision after"
# [mig] lock_timeout_ddl for every revision without its own
rev l0000000000e l0000000000d "" "INSERT INTO seen SELECT 'e', $NOW;"
rev l0000000000f l0000000000e "-- mig:lock_timeout 1500ms" "INSERT INTO seen SELECT 'f', $NOW;"
sed -i 's/^\[hooks\]$/lock_timeout_ddl = 3s\n&/' mig.ini
[ "$MIG_TEST_DRIVER" = sqlite ] && run --lock-timeout 60 upgrade head || run upgrade head
expect_rc 0 "upgrade with lock_timeout_ddl"
case "$MIG_TEST_DRIVER" in
postgres) WANT_DDL=3s ;; mysql) WANT_DDL=3 ;; sqlite) WANT_DDL=3000 ;;
esac
expect_eq "$(sql "SELECT val FROM seen WHERE rev = 'e'")" "$WANT_DDL" "lock_timeout_ddl"
expect_eq "$(sql "SELECT val FROM seen WHERE rev = 'f'")" "$WANT_IN" "the header wins over lock_timeout_ddl"

# --- --sql renders the same statements -----------------------------------
run upgrade --sql l0000000000a:l0000000000b
expect_rc 0 "--sql"
case "$MIG_TEST_DRIVER" in
postgres)
    expect_out "SAVEPOINT mig_revision;"
    expect_out "SET lock_timeout = '1500ms';"
    expect_out "SELECT set_config\('lock_timeout', current_setting\('mig.saved_lock_timeout'\), false\);"
    expect_out "RELEASE SAVEPOINT mig_revision;" ;;
mysql)
    expect_out "SET SESSION lock_wait_timeout = 2, SESSION innodb_lock_wait_timeout = 2;"
    expect_out "SET SESSION lock_wait_timeout = @mig_saved_lock_wait_timeout" ;;
sqlite)
    expect_out "PRAGMA busy_timeout = 1500;"
    expect_out "PRAGMA busy_timeout = 300000;" ;;
esac

if [ "$MIG_TEST_DRIVER" = sqlite ]; then
    # no statement limit and no lock timeout to retry: accepted, no retry comment
    rev l0000000000g l0000000000f "-- mig:statement_timeout 1s
-- mig:retries 2" "SELECT 1;"
    run upgrade head
    expect_rc 0 "statement_timeout and retries are accepted on sqlite"
    done_testing
fi

# --- a statement timeout cancels a long statement ------------------------
case "$MIG_TEST_DRIVER" in
postgres) SLEEP="SELECT pg_sleep(5);"; NAP="SELECT pg_sleep(1.2);"; TIMEOUT_MSG="statement timeout" ;;
mysql)    SLEEP="SELECT SLEEP(5);"; NAP="SELECT SLEEP(1.2);"; TIMEOUT_MSG="max_statement_time" ;;
esac
fresh stmt
rev s0000000000a "" "-- mig:statement_timeout 800ms" "CREATE TABLE s (x INTEGER);"
# the limit before it is gone: this one may take its time
rev s00000000a2a s0000000000a "" "$NAP"
rev s0000000000b s00000000a2a "-- mig:statement_timeout 500ms" "$SLEEP"
t0=$(date +%s)
run upgrade head
t1=$(date +%s)
expect_rc 1 "statement timeout"
expect_err "$TIMEOUT_MSG"
expect_err "revision s0000000000b failed at [^ ]*s0000000000b_r.sql:7: "
expect_no "s00000000a2a failed"
[ $((t1 - t0)) -lt 5 ] && pass || fail "the statement ran $((t1 - t0)) s despite its 500ms limit"

# --- a lock timeout is retried until the lock is free --------------------
fresh retry
rev r0000000000a "" "" "CREATE TABLE t (x INTEGER);"
run upgrade head
expect_rc 0 "base"
rev r0000000000b r0000000000a "" "CREATE TABLE earlier (x INTEGER);"
rev r0000000000c r0000000000b "-- mig:lock_timeout 400ms
-- mig:retries 6" "ALTER TABLE t ADD COLUMN y INTEGER;"
hold_lock t 2
run upgrade head
wait $HOLDER
expect_rc 0 "retried until the lock was free"
expect_err "^retrying revision r0000000000c in 0.5 s \(attempt 2 of 7\) after a lock timeout: revision r0000000000c failed at [^ ]*/r0000000000c_r.sql:8: "
table_exists earlier && pass || fail "what the earlier revision did is gone"
expect_eq "$(sql "SELECT count(*) FROM mig_history WHERE revision = 'r0000000000c'")" 1 "one history row for the retried revision"
expect_eq "$(sql "SELECT version_num FROM mig_version")" r0000000000c "at head"
case "$MIG_TEST_DRIVER" in
postgres) expect_eq "$(sql "SELECT count(*) FROM information_schema.columns WHERE table_name = 't' AND column_name = 'y'")" 1 "column y" ;;
mysql)    expect_eq "$(sql "SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 't' AND column_name = 'y'")" 1 "column y" ;;
esac

# [mig] lock_retries for a revision that says nothing
rev r0000000000d r0000000000c "-- mig:lock_timeout 400ms" "ALTER TABLE t ADD COLUMN z INTEGER;"
printf 'lock_retries = 6\n' >> mig.ini
hold_lock t 2
run --json upgrade head
wait $HOLDER
expect_rc 0 "lock_retries"
expect_err "retrying revision r0000000000d in 0.5 s \(attempt 2 of 7\)"
expect_json "upgrade --json after retries"
n=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["steps"][0]["attempts"])')
[ "$n" -ge 2 ] && pass || fail "the step report says $n attempt(s)"

# --- retries run out: the usual failure ----------------------------------
project
rev r0000000000e r0000000000d "" "CREATE TABLE before_e (x INTEGER);"
rev r0000000000f r0000000000e "-- mig:lock_timeout 300ms
-- mig:retries 1" "ALTER TABLE t ADD COLUMN w INTEGER;"
hold_lock t 4
run upgrade head
wait "$HOLDER"
expect_rc 1 "retries exhausted"
expect_err "attempt 2 of 2"
expect_no "attempt 3"
case "$MIG_TEST_DRIVER" in
postgres)
    expect_err "lock timeout"
    expect_err "rolled back"
    table_exists before_e && fail "the earlier revision of the failed run was kept" || pass
    expect_eq "$(sql "SELECT version_num FROM mig_version")" r0000000000d "version table unchanged" ;;
mysql)
    expect_err "Lock wait timeout"
    expect_eq "$(sql "SELECT state, statements_applied FROM mig_history WHERE revision = 'r0000000000f'")" \
        "failed	0" "recorded as failed with nothing applied" ;;
esac

if [ "$MIG_TEST_DRIVER" = postgres ]; then
    # transaction_per_migration: the retry stays inside the revision's own transaction
    fresh perm
    printf 'transaction_per_migration = true\n' >> mig.ini
    rev m0000000000a "" "" "CREATE TABLE t (x INTEGER);"
    run upgrade head
    rev m0000000000b m0000000000a "-- mig:lock_timeout 400ms
-- mig:retries 6" "INSERT INTO t VALUES (1);
ALTER TABLE t ADD COLUMN y INTEGER;"
    hold_lock t 2
    run upgrade head
    wait $HOLDER
    expect_rc 0 "transaction_per_migration retried"
    expect_err "retrying revision m0000000000b in 0.5 s \(attempt 2 of 7\)"
    expect_eq "$(sql "SELECT count(*) FROM t")" 1 "the retried revision's insert, once"

    # a transaction false revision: SET around it, retried while nothing applied
    fresh nontx
    rev n0000000000a "" "" "CREATE TABLE t (x INTEGER);"
    run upgrade head
    rev n0000000000b n0000000000a "-- mig:transaction false
-- mig:lock_timeout 400ms
-- mig:retries 6" "CREATE INDEX CONCURRENTLY t_x ON t (x);
INSERT INTO t SELECT 1 WHERE current_setting('lock_timeout') = '400ms';"
    rev n0000000000c n0000000000b "" "INSERT INTO t SELECT 2 WHERE current_setting('lock_timeout') = '0';"
    hold_lock t 2
    run upgrade head
    wait $HOLDER
    expect_rc 0 "transaction false revision retried"
    expect_err "retrying revision n0000000000b in 0.5 s \(attempt 2 of 7\)"
    expect_eq "$(sql "SELECT string_agg(x::text, ',' ORDER BY x) FROM t")" "1,2" "limit inside, none after"
    expect_eq "$(sql "SELECT count(*) FROM mig_history WHERE revision = 'n0000000000b'")" 1 "one history row"
    # the rendered script runs as it is
    new_db offline
    rev n0000000000b n0000000000a "-- mig:lock_timeout 400ms
-- mig:retries 3" "CREATE INDEX t_x ON t (x);
INSERT INTO t SELECT 1 WHERE current_setting('lock_timeout') = '400ms';"
    rev n0000000000c n0000000000b "" "INSERT INTO t SELECT 2 WHERE current_setting('lock_timeout') = '0';"
    run upgrade --sql head
    expect_rc 0 "--sql"
    expect_out "^-- revision n0000000000b is retried up to 3 time\(s\) on a lock timeout when mig runs it; a script cannot retry"
    printf '%s\n' "$OUT" > script.sql
    psql -X -q -v ON_ERROR_STOP=1 -h "$MIG_TEST_PG_HOST" -p "$MIG_TEST_PG_PORT" -U "$MIG_TEST_PG_USER" \
        -d "$DB_NAME" -f script.sql >/dev/null 2>psql.err && pass || fail "the --sql script failed: $(cat psql.err)"
    expect_eq "$(sql "SELECT string_agg(x::text, ',' ORDER BY x) FROM t")" "1,2" "the script's limits as online"
fi

if [ "$MIG_TEST_DRIVER" = postgres ]; then
    # tenants: each tenant's session has the limits, and retries on its own
    fresh ten
    sql 'CREATE SCHEMA acme; CREATE SCHEMA globex; CREATE TABLE acme.t (x INTEGER); CREATE TABLE globex.t (x INTEGER)' >/dev/null
    printf '[tenants]\nlist = acme, globex\njobs = 2\n' >> mig.ini
    rev e0000000000a "" "-- mig:lock_timeout 1500ms
-- mig:retries 6" "CREATE TABLE seen (val TEXT);
ALTER TABLE t ADD COLUMN y INTEGER;
INSERT INTO seen SELECT current_setting('lock_timeout');"
    rev e0000000000b e0000000000a "" "INSERT INTO seen SELECT current_setting('lock_timeout');"
    hold_lock acme.t 2
    run --all-tenants upgrade head
    wait $HOLDER
    expect_rc 0 "tenants with limits"
    expect_err "^tenant acme: retrying revision e0000000000a in 0.5 s \(attempt 2 of 7\)"
    expect_no "tenant globex: retrying"
    for t in acme globex; do
        expect_eq "$(sql "SELECT string_agg(val, ',' ORDER BY val DESC) FROM $t.seen")" "1500ms,0" "tenant $t: its limits, then none"
    done
fi

if [ "$MIG_TEST_DRIVER" = mysql ]; then
    # a statement had applied: no retry, the usual part-way failure
    fresh partway
    rev p0000000000a "" "" "CREATE TABLE t (x INTEGER);"
    run upgrade head
    rev p0000000000b p0000000000a "-- mig:lock_timeout 1s
-- mig:retries 5" "CREATE TABLE first_done (x INTEGER);
ALTER TABLE t ADD COLUMN y INTEGER;"
    hold_lock t 3
    run upgrade head
    wait "$HOLDER"
    expect_rc 1 "part-way"
    expect_no "retrying"
    expect_err "1 of 2 statements of revision p0000000000b were applied"
    expect_eq "$(sql "SELECT state, statements_applied FROM mig_history WHERE revision = 'p0000000000b'")" \
        "failed	1" "recorded part-way"
fi
done_testing
