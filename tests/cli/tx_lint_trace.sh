#!/usr/bin/env bash
# mig lint --trace on every driver: the pending revisions run in a scratch
# database after the applied ones, and each finding carries the locks its
# statement took as evidence (a lock no rule predicted is MIG004); the
# scratch database is dropped after and the configured one is untouched.
. "$MIG_SRC/tests/cli/lib.sh"
new_db lint_trace
project
V=migrations/versions
D=$MIG_TEST_DRIVER
export TMPDIR="$T_TMP/tmp"
mkdir -p "$TMPDIR"
jget() { printf '%s' "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); v=$1; print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))"; }

leftovers() {
    case "$D" in
    sqlite)   ls "$TMPDIR" | grep -c '^mig_test_' ;;
    postgres) psql -X -q -A -t -h "$MIG_TEST_PG_HOST" -p "$MIG_TEST_PG_PORT" -U "$MIG_TEST_PG_USER" -d postgres \
                   -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'mig\_test\_%'" ;;
    mysql)    mariadb --no-defaults -N -B -h "$MIG_TEST_MY_HOST" -P "$MIG_TEST_MY_PORT" --protocol=tcp \
                   -u "$MIG_TEST_MY_USER" -e "SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'mig\\_test\\_%'" ;;
    esac
}
base=$(leftovers)

write_rev $V aaaaaaaaaaa1 "" "tables" "CREATE TABLE big (id INTEGER PRIMARY KEY, n INTEGER);" "DROP TABLE big;"
# MariaDB's metadata locks are seen by polling while the statement runs: a copy long enough to be seen
[ "$D" = mysql ] && write_rev $V aaaaaaaaaaa1 "" "tables" "CREATE TABLE big (id INTEGER PRIMARY KEY, n INTEGER);
INSERT INTO big (id, n) SELECT seq, seq FROM seq_1_to_300000;" "DROP TABLE big;"
run upgrade head
expect_rc 0 "upgrade the first revision"
case "$D" in
postgres) IX="CREATE INDEX big_n ON big (n);" ;;
mysql)    IX="ALTER TABLE big MODIFY n BIGINT;" ;;
sqlite)   IX="CREATE TABLE big_new (id INTEGER PRIMARY KEY, n INTEGER);
INSERT INTO big_new SELECT id, n FROM big;
DROP TABLE big;
ALTER TABLE big_new RENAME TO big;
CREATE INDEX big_n ON big (n);" ;;
esac
write_rev $V bbbbbbbbbbb2 aaaaaaaaaaa1 "index" "$IX" "SELECT 1;"

run --json lint --trace
expect_rc 0 "lint --trace"; expect_json "lint --trace"
EV=$(jget '[e for f in d["findings"] if f["revision"] == "bbbbbbbbbbb2" for e in f["evidence"]]')
case "$D" in
postgres)
    case "$EV" in *'SHARE on \"big\"'*) pass ;; *) fail "CREATE INDEX shows SHARE on big: $EV" ;; esac ;;
sqlite)
    case "$EV" in *"SQLite has one database-wide write lock"*) pass ;; *) fail "SQLite's write lock: $EV" ;; esac ;;
mysql)
    case "$EV" in *'MDL_SHARED_NO_WRITE on \"big\"'*) pass ;; *) fail "ALTER shows the metadata lock on big: $EV" ;; esac ;;
esac
expect_eq "$(leftovers)" "$base" "scratch database dropped"
# the configured database: still at the first revision, no index
run current
expect_out "aaaaaaaaaaa1"
case "$D" in
postgres) expect_eq "$(sql "SELECT count(*) FROM pg_indexes WHERE indexname = 'big_n'")" 0 "configured database untouched" ;;
sqlite)   expect_eq "$(sql "SELECT count(*) FROM sqlite_master WHERE name = 'big_n'")" 0 "configured database untouched" ;;
mysql)    expect_eq "$(sql "SELECT count(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND index_name = 'big_n'")" 0 "configured database untouched" ;;
esac

# text: the evidence under the finding
run lint --trace
expect_rc 0 "lint --trace, text"
expect_out "^  evidence: "

# SARIF: the evidence in the result's properties
run lint --trace --format sarif
expect_rc 0 "lint --trace --format sarif"
expect_out '"evidence"'

if [ "$D" = postgres ]; then
    # CONCURRENTLY: no SHARE
    rm $V/bbbbbbbbbbb2_*.sql
    write_rev $V bbbbbbbbbbb2 aaaaaaaaaaa1 "index" "CREATE INDEX CONCURRENTLY big_n ON big (n);" "SELECT 1;"
    sed -i 's/^-- mig:message index$/&\n-- mig:transaction false/' $V/bbbbbbbbbbb2_*.sql
    run --json lint --trace
    expect_rc 0 "lint --trace CONCURRENTLY"
    EV=$(jget '[e for f in d["findings"] for e in f["evidence"]]')
    case "$EV" in *'SHARE on'*) fail "CONCURRENTLY shows no SHARE: $EV" ;; *) pass ;; esac
    # a lock no rule predicted: MIG004
    rm $V/bbbbbbbbbbb2_*.sql
    write_rev $V bbbbbbbbbbb2 aaaaaaaaaaa1 "lock" "SET lock_timeout = '1s';
ALTER TABLE big ALTER COLUMN n SET DEFAULT 0;
CREATE INDEX big_n ON big (n);" "SELECT 1;"
    run --json lint --trace
    expect_rc 0 "lint --trace LOCK TABLE"
    # in file order: the ALTER's MIG004 before the CREATE INDEX's PG001
    expect_eq "$(jget '[(f["rule"], f["statement_index"], f["evidence"][0]["lock"]) for f in d["findings"] if f["revision"] == "bbbbbbbbbbb2"]')" \
        '[["MIG004", 1, "ACCESS EXCLUSIVE"], ["PG001", 2, "SHARE"]]' "an unpredicted lock is MIG004, in file order"
fi

# refusals
run lint --scratch-url "$URL"
expect_rc 2 "--scratch-url without --trace"
run lint --trace --scratch-url "$URL"
expect_rc 2 "scratch is the configured database"
expect_err "the scratch database is the configured database"
run lint --trace --offline
expect_rc 2 "--trace with --offline"
expect_eq "$(leftovers)" "$base" "no scratch database left behind"
done_testing
