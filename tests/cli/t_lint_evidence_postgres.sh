#!/usr/bin/env bash
# Evidence for the PostgreSQL lint rules that claim a lock: each dangerous
# statement runs on the real server in one session while another reads
# pg_locks, and the lock the rule states (the "lock" of its `mig lint`
# finding) must be there; the safe twin runs the same way and must not
# take it. For the rules about a rewrite, the table's relfilenode must
# change under the dangerous statement and stay under the safe twin.
#
# How a lock is seen: a third session holds SHARE UPDATE EXCLUSIVE on the
# table, which every lock from SHARE UPDATE EXCLUSIVE up conflicts with, so
# the statement waits with its lock request in pg_locks (granted or not)
# for as long as the observer needs; a statement that takes only weaker
# locks does not wait at all. Then the holder is ended and the statement
# finishes.
MIG_TEST_DRIVER=postgres
. "$MIG_SRC/tests/cli/lib.sh"
new_db lint_ev
project
V=migrations/versions

P=(psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$MIG_TEST_PG_HOST" -p "$MIG_TEST_PG_PORT" -U "$MIG_TEST_PG_USER" -d "$DB_NAME")

setup() {
    sql "SET client_min_messages = warning; DROP TABLE IF EXISTS ev CASCADE; DROP TABLE IF EXISTS ev_ref CASCADE;
         CREATE TABLE ev_ref (id integer PRIMARY KEY);
         INSERT INTO ev_ref SELECT g FROM generate_series(1, 100) g;
         CREATE TABLE ev (id integer, a integer, v varchar(10), ref integer);
         INSERT INTO ev SELECT g, g, 'x', g FROM generate_series(1, 100) g;
         CREATE INDEX ev_a_idx ON ev (a);
         CREATE UNIQUE INDEX ev_id_idx ON ev (id);" >/dev/null
}

# locks STATEMENT TX: the lock modes the statement's session holds or waits for on ev
locks() {
    local stmt=$1 tx=$2 i modes=""
    PGAPPNAME=ev_hold "${P[@]}" -c "BEGIN; LOCK TABLE ev IN SHARE UPDATE EXCLUSIVE MODE; SELECT pg_sleep(30); COMMIT;" >/dev/null 2>&1 &
    local holder=$!
    for i in $(seq 1 100); do
        [ "$(sql "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                  WHERE a.application_name = 'ev_hold' AND l.granted AND l.relation = 'ev'::regclass")" = 1 ] && break
        sleep 0.05
    done
    if [ "$tx" = tx ]; then
        PGAPPNAME=ev_stmt "${P[@]}" -c "BEGIN; $stmt; COMMIT;" >"$T_TMP/stmt.out" 2>&1 &
    else
        PGAPPNAME=ev_stmt "${P[@]}" -c "$stmt" >"$T_TMP/stmt.out" 2>&1 &
    fi
    local runner=$!
    for i in $(seq 1 40); do
        modes=$(sql "SELECT string_agg(DISTINCT l.mode, ',' ORDER BY l.mode) FROM pg_locks l
                     JOIN pg_stat_activity a USING (pid) JOIN pg_class c ON c.oid = l.relation
                     WHERE a.application_name = 'ev_stmt' AND c.relname = 'ev'")
        [ -n "$modes" ] && break
        kill -0 "$runner" 2>/dev/null || break
        sleep 0.05
    done
    sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ev_hold'" >/dev/null
    wait "$holder" 2>/dev/null
    wait "$runner"
    STMT_RC=$?
    LOCKS=$modes
}

relfile() { sql "SELECT relfilenode FROM pg_class WHERE relname = 'ev'"; }

# the finding mig lint gives the statement: its rule ids and the first finding's lock
lint_of() {
    local stmt=$1 tx=$2
    rm -rf $V && mkdir -p $V
    { echo "-- mig:revision ev0000000001"; echo "-- mig:down_revision none"
      [ "$tx" = tx ] || echo "-- mig:transaction false"
      echo; echo "-- mig:upgrade"; echo "SET lock_timeout = '5s';"; echo "$stmt;"
      echo; echo "-- mig:downgrade"; echo "SELECT 1;"; } >$V/ev0000000001_ev.sql
    run --json lint --offline
    RULES=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join(sorted(f["rule"] for f in json.load(sys.stdin)["findings"] if f["level"] != "info")))')
}

pg_mode() { # "ACCESS EXCLUSIVE" -> AccessExclusiveLock
    local w out=""
    for w in $1; do out+="${w:0:1}$(echo "${w:1}" | tr 'A-Z' 'a-z')"; done
    echo "${out}Lock"
}

# evidence RULE DANGEROUS DTX SAFE STX [rewrite]
evidence() {
    local rule=$1 bad=$2 btx=$3 good=$4 gtx=$5 rewrite=${6:-}
    lint_of "$bad" "$btx"
    case " $RULES " in *" $rule "*) pass ;; *) fail "$rule: lint of '$bad' says '$RULES'" ;; esac
    local lock want
    lock=$(printf '%s' "$OUT" | python3 -c 'import json,sys; r=sys.argv[1]; print([f["lock"] for f in json.load(sys.stdin)["findings"] if f["rule"] == r][0])' "$rule")
    want=$(pg_mode "$lock")
    setup
    local before after
    before=$(relfile)
    locks "$bad" "$btx"
    after=$(relfile)
    case ",$LOCKS," in
    *",$want,"*) pass ;;
    *) fail "$rule: '$bad' took '$LOCKS' on ev, the rule says $lock ($want); $(cat "$T_TMP/stmt.out")" ;;
    esac
    if [ "$rewrite" = rewrite ]; then
        [ "$before" != "$after" ] && pass || fail "$rule: '$bad' did not rewrite ev"
    fi
    lint_of "$good" "$gtx"
    case " $RULES " in *" $rule "*) fail "$rule: lint of the safe twin '$good' says '$RULES'" ;; *) pass ;; esac
    setup
    [ -n "${SAFE_PREP:-}" ] && sql "$SAFE_PREP" >/dev/null
    before=$(relfile)
    locks "$good" "$gtx"
    after=$(relfile)
    [ "$STMT_RC" = 0 ] || fail "$rule: safe twin '$good' failed: $(cat "$T_TMP/stmt.out")"
    if [ "$rewrite" = rewrite ]; then
        [ "$before" = "$after" ] && pass || fail "$rule: safe twin '$good' rewrote ev"
    else
        case ",$LOCKS," in
        *",$want,"*) fail "$rule: safe twin '$good' took $want too ($LOCKS)" ;;
        *) pass ;;
        esac
    fi
    SAFE_PREP=
}

evidence PG001 "CREATE INDEX ev_v_idx ON ev (v)" tx "CREATE INDEX CONCURRENTLY ev_v_idx ON ev (v)" notx
evidence PG003 "REINDEX TABLE ev" tx "REINDEX TABLE CONCURRENTLY ev" notx
evidence PG004 "ALTER TABLE ev ADD COLUMN u uuid DEFAULT gen_random_uuid()" tx "ALTER TABLE ev ADD COLUMN u text DEFAULT 'k'" tx rewrite
evidence PG006 "ALTER TABLE ev ALTER COLUMN a TYPE bigint" tx "ALTER TABLE ev ALTER COLUMN v TYPE text" tx rewrite
SAFE_PREP="ALTER TABLE ev ADD CONSTRAINT ev_a_nn CHECK (a IS NOT NULL) NOT VALID"
evidence PG007 "ALTER TABLE ev ALTER COLUMN a SET NOT NULL" tx "ALTER TABLE ev VALIDATE CONSTRAINT ev_a_nn" tx
SAFE_PREP="ALTER TABLE ev ADD CONSTRAINT ev_ref_fk FOREIGN KEY (ref) REFERENCES ev_ref (id) NOT VALID"
evidence PG008 "ALTER TABLE ev ADD CONSTRAINT ev_ref_fk FOREIGN KEY (ref) REFERENCES ev_ref (id)" tx \
    "ALTER TABLE ev VALIDATE CONSTRAINT ev_ref_fk" tx
SAFE_PREP="ALTER TABLE ev ADD CONSTRAINT ev_a_pos CHECK (a > 0) NOT VALID"
evidence PG009 "ALTER TABLE ev ADD CONSTRAINT ev_a_pos CHECK (a > 0)" tx "ALTER TABLE ev VALIDATE CONSTRAINT ev_a_pos" tx
evidence PG010 "ALTER TABLE ev ADD CONSTRAINT ev_a_key UNIQUE (a)" tx "CREATE UNIQUE INDEX CONCURRENTLY ev_a_key ON ev (a)" notx
evidence PG016 "VACUUM FULL ev" notx "VACUUM ev" notx
evidence PG017 "CLUSTER ev USING ev_a_idx" tx "ANALYZE ev" tx
evidence PG018 "LOCK TABLE ev" tx "SELECT count(*) FROM ev" tx
evidence PG019 "TRUNCATE ev" tx "DELETE FROM ev WHERE id <= 10" tx
evidence PG020 "ALTER TABLE ev ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY" tx "ALTER TABLE ev ADD COLUMN n bigint" tx rewrite
evidence PG020 "ALTER TABLE ev ADD COLUMN n bigserial" tx "ALTER TABLE ev ADD COLUMN n bigint" tx rewrite

# PG005: ACCESS EXCLUSIVE, and on a table with rows it fails; the twin with a default does not
lint_of "ALTER TABLE ev ADD COLUMN r text NOT NULL" tx
case " $RULES " in *" PG005 "*) pass ;; *) fail "PG005: lint says '$RULES'" ;; esac
setup
locks "ALTER TABLE ev ADD COLUMN r text NOT NULL" tx
case ",$LOCKS," in *",AccessExclusiveLock,"*) pass ;; *) fail "PG005: took '$LOCKS'" ;; esac
[ "$STMT_RC" != 0 ] && grep -q 'contains null values' "$T_TMP/stmt.out" && pass || fail "PG005: did not fail on a table with rows"
setup
locks "ALTER TABLE ev ADD COLUMN r text NOT NULL DEFAULT ''" tx
[ "$STMT_RC" = 0 ] && pass || fail "PG005 twin failed: $(cat "$T_TMP/stmt.out")"

# PG021: an ACCESS EXCLUSIVE request waiting behind a reader makes later readers wait too;
# with lock_timeout the request gives up instead (55P03) and the readers go on
setup
PGAPPNAME=ev_reader "${P[@]}" -c "BEGIN; SELECT count(*) FROM ev; SELECT pg_sleep(30); COMMIT;" >/dev/null 2>&1 &
reader=$!
sleep 0.3
PGAPPNAME=ev_alter "${P[@]}" -c "ALTER TABLE ev ADD COLUMN w text" >/dev/null 2>&1 &
alter=$!
sleep 0.3
if "${P[@]}" -c "SET statement_timeout = '500ms'; SELECT count(*) FROM ev" >/dev/null 2>&1; then
    fail "PG021: a later reader was not held up by the waiting ACCESS EXCLUSIVE request"
else
    pass
fi
sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name IN ('ev_reader', 'ev_alter')" >/dev/null
wait "$reader" "$alter" 2>/dev/null
PGAPPNAME=ev_reader "${P[@]}" -c "BEGIN; SELECT count(*) FROM ev; SELECT pg_sleep(30); COMMIT;" >/dev/null 2>&1 &
reader=$!
sleep 0.3
out=$("${P[@]}" -c "SET lock_timeout = '200ms'; ALTER TABLE ev ADD COLUMN w text" 2>&1) && fail "PG021: ALTER went through" || pass
case "$out" in *"lock timeout"*) pass ;; *) fail "PG021: not a lock timeout: $out" ;; esac
"${P[@]}" -c "SET statement_timeout = '500ms'; SELECT count(*) FROM ev" >/dev/null 2>&1 && pass || fail "PG021: readers held up although the ALTER gave up"
sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ev_reader'" >/dev/null
wait "$reader" 2>/dev/null

done_testing
