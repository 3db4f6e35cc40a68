#!/usr/bin/env bash
# Faults, on each driver where they apply: kill -9 mid-revision, the
# connection killed from the server side, the server stopped mid-run (a
# private server pair, so other tests keep theirs), a full disk (SQLite: a
# small tmpfs, or ulimit -f where mounting is not allowed), and a revision
# that runs into statement_timeout / lock_timeout set through on_connect.
# Each fault ends with a clear message and exit 1 (kill -9 excepted: the
# process is gone), and a database whose version table matches its schema;
# once the fault is fixed, running again succeeds.
. "$MIG_SRC/tests/cli/lib.sh"
D=$MIG_TEST_DRIVER
V=migrations/versions
R1=111111111111 R2=222222222222 R3=333333333333

case $D in
sqlite)   SLOW="WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 300000000) SELECT count(*) FROM c;"
          QUICK="SELECT 1;" ;;
# a server notices a killed client only when the sleep ends, and frees its
# lock then: keep the sleep short, so the rerun after kill -9 waits little
postgres) SLOW="SELECT pg_sleep(6);"; QUICK="SELECT pg_sleep(0.01);" ;;
mysql)    SLOW="SELECT SLEEP(6);";    QUICK="SELECT SLEEP(0.01);" ;;
esac

# setup NAME [R2_FIRST_STATEMENT]: a fresh database and project, three
# revisions; r2 opens with the given statement (the slow one by default)
setup() {
    rm -rf migrations mig.ini
    new_db "$1"
    project
    write_rev $V $R1 "" "one" "CREATE TABLE t1 (x INTEGER);" "DROP TABLE t1;"
    write_rev $V $R2 $R1 "two" "${2:-$SLOW}
CREATE TABLE t2 (x INTEGER);" "DROP TABLE t2;"
    write_rev $V $R3 $R2 "three" "CREATE TABLE t3 (x INTEGER);" "DROP TABLE t3;"
}
fix_r2() { # the fault is gone: r2 runs quickly
    rm -f $V/${R2}_*
    write_rev $V $R2 $R1 "two" "$QUICK
CREATE TABLE t2 (x INTEGER);" "DROP TABLE t2;"
}

# consistent WHAT [HALF]: mig_version names exactly the revisions whose
# tables exist, and HALF (default 0) steps are recorded as half-applied
consistent() {
    local v t want
    v=$(sql "SELECT version_num FROM mig_version" 2>/dev/null | tr -d '\r' | sort | tr '\n' ' ')
    t=""
    for x in t1 t2 t3; do table_exists $x && t="$t$x "; done
    case "$v" in
    "")     want="" ;;
    "$R1 ") want="t1 " ;;
    "$R2 ") want="t1 t2 " ;;
    "$R3 ") want="t1 t2 t3 " ;;
    *)      want="?" ;;
    esac
    expect_eq "$t" "$want" "$1: tables for version '$v'"
    # where DDL is not transactional a step is logged as failed before it
    # runs and marked done after: a kill leaves "failed, 0 applied", which
    # is nothing half-done, and a rerun simply runs it
    local half
    half=$(sql "SELECT count(*) FROM mig_history WHERE state <> 'done' AND statements_applied > 0" 2>/dev/null | tr -d '\r')
    expect_eq "${half:-0}" "${2:-0}" "$1: steps recorded as half-applied"
}

# settle: the round trip a killed mig sent has run to its end on the server
# (MySQL: the server finishes it, and records it, without the client)
settle() {
    [ "$D" = mysql ] || return 0
    local i
    for i in $(seq 1 150); do
        [ "$(sql "SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE()
                  AND id <> CONNECTION_ID() AND command <> 'Sleep'")" = 0 ] && return 0
        sleep 0.1
    done
    fail "the killed run's statements still run on the server"
}

# start_bg ARGS...: mig in the background; waits until r1 is through and r2 runs
start_bg() {
    "$MIG" "$@" >"$T_TMP/bg.out" 2>"$T_TMP/bg.err" &
    BG=$!
    local i
    for i in $(seq 1 300); do
        grep -q -- "-> $R1" "$T_TMP/bg.err" 2>/dev/null && break
        kill -0 $BG 2>/dev/null || break
        sleep 0.1
    done
    sleep 0.5 # into r2's slow statement
}
wait_bg() { # sets RC, ERR
    wait $BG
    RC=$?
    ERR=$(cat "$T_TMP/bg.err")
    OUT=$(cat "$T_TMP/bg.out")
}
expect_clean_failure() { # WHAT: exit 1 with a one-line mig message
    expect_rc 1 "$1"
    if printf '%s\n' "$ERR" | grep -q '^mig: '; then pass; else fail "$1: no 'mig:' message: $ERR"; fi
    if [ "$RC" -ge 128 ]; then fail "$1 crashed"; fi
}
rerun_ok() { # WHAT: once fixed, upgrade head succeeds and the state is whole
    fix_r2
    run --lock-timeout 30 upgrade head
    expect_rc 0 "$1: rerun"
    expect_eq "$(sql 'SELECT version_num FROM mig_version' | tr -d '\r')" $R3 "$1: rerun reaches head"
    consistent "$1: after the rerun"
    run check
    expect_rc 0 "$1: check after the rerun"
}

# ---- kill -9 mid-revision, whole run in one transaction and one per revision
for per in false true; do
    setup "kill_$per"
    printf 'transaction_per_migration = %s\n' $per >> mig.ini
    start_bg upgrade head
    kill -9 $BG
    wait $BG 2>/dev/null
    settle
    if [ "$D" = mysql ]; then
        # r2's SLEEP ran to its end on the server, which recorded it in the
        # same round trip: r2 is part-way at exactly one statement
        consistent "kill -9 (per revision: $per)" 1
        expect_eq "$(sql "SELECT state, statements_applied FROM mig_history WHERE revision = '$R2' ORDER BY id DESC LIMIT 1")" \
            "failed	1" "kill -9: r2's first statement is recorded"
        run --lock-timeout 30 upgrade --resume head
        expect_rc 0 "kill -9 (per revision: $per): --resume"
        consistent "kill -9 (per revision: $per): after --resume"
        expect_eq "$(sql 'SELECT version_num FROM mig_version' | tr -d '\r')" $R3 "kill -9: --resume reaches head"
        continue
    fi
    consistent "kill -9 (per revision: $per)"
    if [ $per = true ]; then
        expect_eq "$(sql 'SELECT version_num FROM mig_version' | tr -d '\r')" $R1 "kill -9: r1 was committed on its own"
    fi
    rerun_ok "kill -9 (per revision: $per)"
done

# ---- kill -9 at each statement of a ten-statement revision (MySQL): the
# server finishes the statement it runs, and its progress record travels in
# the same round trip, so the record says exactly how far the revision got
# and --resume continues after the last statement applied -- never running
# one twice (CREATE TABLE would fail) or skipping one
if [ "$D" = mysql ]; then
    for k in $(seq 1 10); do
        rm -rf migrations mig.ini
        new_db "kill_at_$k"
        project
        up="" down=""
        for j in $(seq 1 10); do
            if [ "$j" = "$k" ]; then
                up="${up}CREATE TABLE f$j (x INTEGER) AS SELECT SLEEP(1.5) AS x;"$'\n'
            else
                up="${up}CREATE TABLE f$j (x INTEGER);"$'\n'
            fi
            down="DROP TABLE f$j;"$'\n'"$down"
        done
        write_rev $V $R1 "" "ten" "$up" "$down"
        "$MIG" upgrade head >"$T_TMP/bg.out" 2>"$T_TMP/bg.err" &
        BG=$!
        for i in $(seq 1 200); do
            [ "$(sql "SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE()
                      AND id <> CONNECTION_ID() AND info LIKE '%SLEEP(1.5)%'")" != 0 ] && break
            kill -0 $BG 2>/dev/null || break
            sleep 0.05
        done
        kill -9 $BG
        wait $BG 2>/dev/null
        settle
        tables=$(sql "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'f%'")
        expect_eq "$tables" "$k" "kill -9 at statement $k: statements 1..$k applied"
        rec=$(sql "SELECT state, statements_applied FROM mig_history WHERE revision = '$R1' ORDER BY id DESC LIMIT 1")
        if [ "$k" = 10 ]; then
            # the last statement travels with the version change and the done mark
            expect_eq "$rec" "done	10" "kill -9 at statement $k: recorded as done"
            expect_eq "$(sql 'SELECT version_num FROM mig_version')" $R1 "kill -9 at statement $k: applied"
        else
            expect_eq "$rec" "failed	$k" "kill -9 at statement $k: recorded as $k applied"
            run upgrade head
            expect_rc 1 "kill -9 at statement $k: upgrade refuses a part-way revision"
            expect_err -- "--resume"
        fi
        run --lock-timeout 30 upgrade --resume head
        expect_rc 0 "kill -9 at statement $k: --resume"
        tables=$(sql "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'f%'")
        expect_eq "$tables" 10 "kill -9 at statement $k: --resume applied the rest once"
        expect_eq "$(sql 'SELECT version_num FROM mig_version')" $R1 "kill -9 at statement $k: at head"
        expect_eq "$(sql "SELECT state, statements_applied FROM mig_history WHERE revision = '$R1' ORDER BY id DESC LIMIT 1")" \
            "done	10" "kill -9 at statement $k: done"
        run check
        expect_rc 0 "kill -9 at statement $k: check"
    done
fi

# ---- the connection killed from the server side
if [ "$D" != sqlite ]; then
    setup killconn
    start_bg upgrade head
    case $D in
    postgres) sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()" >/dev/null ;;
    mysql)    for id in $(sql "SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()"); do
                  sql "KILL $id" >/dev/null 2>&1
              done ;;
    esac
    wait_bg
    expect_clean_failure "connection killed by the server"
    consistent "connection killed by the server"
    rerun_ok "connection killed by the server"
fi

# ---- statement_timeout / lock_timeout through on_connect
if [ "$D" != sqlite ]; then
    # statement timeout: r2's slow statement is cancelled
    setup stmt_timeout
    case $D in
    postgres) echo "on_connect = SET statement_timeout = '1s'" >> mig.ini ;;
    mysql)    echo "on_connect = SET SESSION max_statement_time = 1" >> mig.ini ;;
    esac
    run --lock-timeout 30 upgrade head
    expect_clean_failure "statement timeout"
    case $D in
    postgres) expect_err "statement timeout|57014" ;;
    mysql)    expect_err "max_statement_time|1969|70100" ;;
    esac
    consistent "statement timeout"
    rerun_ok "statement timeout"

    # lock timeout: another session holds t1, r2 wants to alter it
    setup lock_timeout "ALTER TABLE t1 ADD COLUMN y INTEGER;"
    run upgrade $R1
    expect_rc 0 "lock timeout: r1"
    case $D in
    postgres)
        echo "on_connect = SET lock_timeout = '1s'" >> mig.ini
        psql -X -q -h "$MIG_TEST_PG_HOST" -p "$MIG_TEST_PG_PORT" -U "$MIG_TEST_PG_USER" -d "$DB_NAME" \
            -c "BEGIN" -c "LOCK TABLE t1 IN ACCESS EXCLUSIVE MODE" -c "SELECT pg_sleep(20)" -c "COMMIT" >/dev/null 2>&1 &
        HOLDER=$! ;;
    mysql)
        echo "on_connect = SET SESSION lock_wait_timeout = 1" >> mig.ini
        mariadb --no-defaults -h "$MIG_TEST_MY_HOST" -P "$MIG_TEST_MY_PORT" --protocol=tcp -u "$MIG_TEST_MY_USER" "$DB_NAME" \
            -e "LOCK TABLES t1 WRITE; SELECT SLEEP(20); UNLOCK TABLES" >/dev/null 2>&1 &
        HOLDER=$! ;;
    esac
    T_CLEANUP+=("kill $HOLDER")
    sleep 1
    run --lock-timeout 30 upgrade head
    expect_clean_failure "lock timeout"
    case $D in
    postgres) expect_err "lock timeout|55P03" ;;
    mysql)    expect_err "[Ll]ock wait timeout|1205" ;;
    esac
    consistent "lock timeout"
    kill $HOLDER 2>/dev/null; wait $HOLDER 2>/dev/null
    case $D in  # the holder's session may outlive its client for a moment
    postgres) sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()" >/dev/null ;;
    mysql)    for id in $(sql "SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()"); do sql "KILL $id" >/dev/null 2>&1; done ;;
    esac
    rm -f $V/${R2}_*
    write_rev $V $R2 $R1 "two" "ALTER TABLE t1 ADD COLUMN y INTEGER;
CREATE TABLE t2 (x INTEGER);" "DROP TABLE t2;"
    run --lock-timeout 30 upgrade head
    expect_rc 0 "lock timeout: rerun"
    consistent "lock timeout: after the rerun"
fi

# ---- the server stopped mid-run: a private server pair
if [ "$D" != sqlite ]; then
    # outside T_TMP (private to root): the server users must reach the
    # data, and data kept inside DIR survives a stop and start
    SRV=$(mktemp -d /tmp/mig-faults-servers.XXXXXX)
    T_CLEANUP+=("'$MIG_SRC/tests/servers.sh' stop '$SRV'; rm -rf '$SRV'")
    if "$MIG_SRC/tests/servers.sh" start "$SRV" "$SRV/env" >/dev/null 2>&1; then
        saved=$(env | grep '^MIG_TEST_\(PG\|MY\)_' | sed 's/^/export /')
        . "$SRV/env"
        setup stopped
        start_bg upgrade head
        "$MIG_SRC/tests/servers.sh" stop "$SRV" >/dev/null 2>&1
        wait_bg
        expect_clean_failure "server stopped mid-run"
        "$MIG_SRC/tests/servers.sh" start "$SRV" "$SRV/env" >/dev/null 2>&1 || fail "private servers did not come back"
        . "$SRV/env"
        # the same database on the restarted server (its port may differ)
        case $D in
        postgres) URL="postgresql://$MIG_TEST_PG_USER@$MIG_TEST_PG_HOST:$MIG_TEST_PG_PORT/$DB_NAME" ;;
        mysql)    URL="mysql://$MIG_TEST_MY_USER@$MIG_TEST_MY_HOST:$MIG_TEST_MY_PORT/$DB_NAME" ;;
        esac
        sed -i "s#^url = .*#url = $URL#" mig.ini
        consistent "server stopped mid-run"
        rerun_ok "server stopped mid-run"
        "$MIG_SRC/tests/servers.sh" stop "$SRV" >/dev/null 2>&1
        eval "$saved"
    else
        fail "could not start a private server pair for the server-stop case"
    fi
fi

# ---- a full disk (SQLite)
if [ "$D" = sqlite ]; then
    BIG="CREATE TABLE big (b BLOB);
INSERT INTO big WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 40000) SELECT randomblob(500) FROM c;"
    for how in tmpfs ulimit; do
        setup "disk_$how" "$BIG"
        if [ $how = tmpfs ]; then
            mkdir -p "$T_TMP/small"
            if ! mount -t tmpfs -o size=2m tmpfs "$T_TMP/small" 2>/dev/null; then
                echo "note: cannot mount a tmpfs here; the ulimit -f case stands in for it" >&2
                continue
            fi
            T_CLEANUP+=("umount '$T_TMP/small'")
            URL="sqlite:///$T_TMP/small/disk.db"; DB_FILE="$T_TMP/small/disk.db"
            sed -i "s#^url = .*#url = $URL#" mig.ini
            run upgrade $R1
            expect_rc 0 "full disk ($how): r1 fits"
            run upgrade head
        else
            run upgrade $R1
            expect_rc 0 "full disk ($how): r1 fits"
            # writes past 2 MB fail with EFBIG; SIGXFSZ ignored, as a shell would not
            set +e
            (trap '' XFSZ; ulimit -f 4096; exec "$MIG" upgrade head) >"$T_TMP/.out" 2>"$T_TMP/.err"
            RC=$?
            OUT=$(cat "$T_TMP/.out"); ERR=$(cat "$T_TMP/.err")
        fi
        expect_clean_failure "full disk ($how)"
        expect_err "full|too large|disk|I/O"
        consistent "full disk ($how)"
        expect_eq "$(sql 'SELECT version_num FROM mig_version')" $R1 "full disk ($how): still at r1"
        [ $how = tmpfs ] && mount -o remount,size=64m "$T_TMP/small"
        run upgrade head
        expect_rc 0 "full disk ($how): rerun with room"
        consistent "full disk ($how): after the rerun"
    done
fi

done_testing
