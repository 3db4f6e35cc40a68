#!/usr/bin/env bash
# mig lint on every driver: pending revisions by default, every revision
# offline, findings ranked by the live table size ([lint] min_rows; tables
# created earlier in the run count as empty; with --all-tenants the
# largest size across tenants), suppression comments, [lint] levels and
# their errors, exit statuses, SARIF 2.1.0's required properties, a Lua
# revision, and `mig check --lint` (MIG001 said once).
. "$MIG_SRC/tests/cli/lib.sh"
new_db lint
project
V=migrations/versions
jget() { printf '%s' "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); v=$1; print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))"; }

# a dangerous statement on an existing table "big", the rule it breaks, and how to fill and measure tables
case "$MIG_TEST_DRIVER" in
sqlite)
    BAD="CREATE TABLE big_new (id INTEGER PRIMARY KEY, n INTEGER);
INSERT INTO big_new SELECT id, n FROM big;
DROP TABLE big;
ALTER TABLE big_new RENAME TO big;"
    RULE=SQ001; SAFE="ALTER TABLE big ADD COLUMN note TEXT;"
    fill() { # fill TABLE ROWS [DBFILE]
        sqlite3 "${3:-$DB_FILE}" "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < $2) INSERT INTO $1 (id, n) SELECT x, x FROM g;"; }
    ;;
postgres)
    BAD="SET lock_timeout = '1s';
CREATE INDEX big_n ON big (n);"
    RULE=PG001; SAFE="SET lock_timeout = '1s';
ALTER TABLE big ADD COLUMN note text;"
    fill() { sql "INSERT INTO $1 (id, n) SELECT g, g FROM generate_series(1, $2) g; ANALYZE $1;" >/dev/null; }
    ;;
mysql)
    BAD="CREATE UNIQUE INDEX big_n ON big (n);"
    RULE=MY007; SAFE="CREATE INDEX big_n ON big (n);"
    fill() { sql "INSERT INTO $1 (id, n) SELECT seq, seq FROM seq_1_to_$2; ANALYZE TABLE $1;" >/dev/null; }
    ;;
esac

write_rev $V aaaaaaaaaaa1 "" "tables" "CREATE TABLE big (id INTEGER PRIMARY KEY, n INTEGER);
CREATE TABLE small (id INTEGER PRIMARY KEY, n INTEGER);" "DROP TABLE small;
DROP TABLE big;"

# ---- offline: every revision; a table created earlier in the run counts as empty ----
write_rev $V bbbbbbbbbbb2 aaaaaaaaaaa1 "dangerous" "$BAD" "SELECT 1;"
run --json lint --offline
expect_rc 0 "lint --offline"; expect_json "lint --offline"
expect_eq "$(jget '[(f["rule"], f["level"]) for f in d["findings"] if f["revision"] == "bbbbbbbbbbb2"]')" \
    "[[\"$RULE\", \"info\"]]" "big is created in the run: info"
expect_eq "$(jget '"MIG002" in [f["rule"] for f in d["findings"] if f["revision"] == "aaaaaaaaaaa1"]')" true \
    "destructive downgrade"
run lint --offline bbbbbbbbbbb2
expect_rc 0 "lint --offline REV"
expect_out "bbbbbbbbbbb2_dangerous.sql:[0-9]+:[0-9]+: warning\[$RULE [a-z-]+\]: "
expect_out "^  why: "
expect_out "^  safe: "
run lint --offline bbbbbbbbbbb2:
expect_rc 0 "lint --offline REV:"
expect_out "warning\[$RULE "
run lint --offline nosuchrev
expect_rc 2 "lint unknown revision"

# ---- online: the pending revisions, ranked by the table's real size ----
run upgrade aaaaaaaaaaa1
expect_rc 0 "upgrade tables"
fill small 10
fill big 20
run --json lint
expect_rc 0 "lint pending, small table"; expect_json "lint pending"
expect_eq "$(jget '[f["revision"] for f in d["findings"]]')" '["bbbbbbbbbbb2"]' "only the pending revision"
expect_eq "$(jget '[(f["rule"], f["level"], f["rows"]) for f in d["findings"]]')" "[[\"$RULE\", \"info\", 20]]" \
    "20 rows < min_rows: info, with the size"
expect_eq "$(jget 'd["findings"][0]["message"]')" "$(jget 'd["findings"][0]["message"]' | grep -E '~20 rows, under \[lint\] min_rows 10000')" "the message says the size"
printf '\n[lint]\nmin_rows = 5\n' >>mig.ini
run --json lint
expect_eq "$(jget '[(f["rule"], f["level"], f["rows"]) for f in d["findings"]]')" "[[\"$RULE\", \"warning\", 20]]" \
    "20 rows >= min_rows 5: warning"
# [lint] error: the finding fails the run (exit 3); disable: gone
printf 'error = %s\n' "$RULE" >>mig.ini
run lint
expect_rc 3 "an error-level finding"
expect_out "error\[$RULE "
expect_err "^mig: lint found 1 error-level finding"
sed -i "s/^error = .*/disable = $RULE/" mig.ini
run lint
expect_rc 0 "disabled rule"
expect_no "$RULE"
sed -i '/^disable = /d' mig.ini

# ---- suppression: the line before the statement, the header ----
write_rev $V ccccccccccc3 bbbbbbbbbbb2 "suppressed" "$BAD" "SELECT 1;"
run --json lint --offline ccccccccccc3
expect_eq "$(jget '[f["rule"] for f in d["findings"] if f["level"] != "info"]')" "[\"$RULE\"]" "before suppression"
sed -i "1a -- mig:lint disable=$RULE -- measured: fine" $V/ccccccccccc3_suppressed.sql
run --json lint --offline ccccccccccc3
expect_rc 0 "suppressed"
expect_eq "$(jget '[f["rule"] for f in d["findings"] if f["level"] != "info"]')" '[]' "suppressed in the header"
sed -i "1a -- mig:lint disable=NOPE999" $V/ccccccccccc3_suppressed.sql
run lint --offline ccccccccccc3
expect_rc 2 "unknown rule in a suppression"
expect_err "ccccccccccc3_suppressed.sql:2: mig:lint disable: unknown rule 'NOPE999'"
sed -i "2s/.*/-- mig:lint enable=$RULE/" $V/ccccccccccc3_suppressed.sql
run lint --offline ccccccccccc3
expect_rc 2 "malformed mig:lint line"
expect_err "ccccccccccc3_suppressed.sql:2: malformed '-- mig:lint' line"
rm $V/ccccccccccc3_suppressed.sql

# ---- [lint] errors: exit 2 naming the file and line ----
cp mig.ini mig.ini.ok
printf 'disable = NOPE999\n' >>mig.ini
run lint --offline
expect_rc 2 "unknown rule in [lint]"
expect_err "mig.ini:[0-9]+: \[lint\] disable: unknown rule 'NOPE999'"
cp mig.ini.ok mig.ini
printf 'min_rows = -3\n' >>mig.ini
run lint --offline
expect_rc 2 "negative min_rows"
cp mig.ini.ok mig.ini
printf 'postgres_version = banana\n' >>mig.ini
run lint --offline
expect_rc 2 "bad postgres_version"
expect_err "postgres_version: 'banana' is not a version"
cp mig.ini.ok mig.ini
printf 'colour = red\n' >>mig.ini
run lint --offline
expect_rc 2 "unknown key in [lint]"
cp mig.ini.ok mig.ini
run lint --format yaml
expect_rc 2 "bad --format"
run lint --format sarif --json
expect_rc 2 "sarif and --json"
run lint a b
expect_rc 2 "two ranges"

# ---- SARIF 2.1.0: every property SARIF requires of what mig emits ----
run lint --offline --format sarif
expect_rc 0 "sarif"
if printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["version"] == "2.1.0", "version"
assert isinstance(d["runs"], list) and d["runs"], "runs"
for run in d["runs"]:
    drv = run["tool"]["driver"]
    assert drv["name"] == "mig", "tool.driver.name"
    ids = [r["id"] for r in drv["rules"]]
    assert ids and len(ids) == len(set(ids)), "rules ids unique"
    for r in drv["rules"]:
        assert r["defaultConfiguration"]["level"] in ("none", "note", "warning", "error"), "rule level"
    assert run["results"], "results"
    for res in run["results"]:
        assert res["ruleId"] in ids, "ruleId names a rule"
        assert res["level"] in ("none", "note", "warning", "error"), "level"
        assert res["message"]["text"], "message.text"
        for loc in res["locations"]:
            pl = loc["physicalLocation"]
            assert pl["artifactLocation"]["uri"], "uri"
            assert isinstance(pl["region"]["startLine"], int) and pl["region"]["startLine"] >= 1, "startLine"
'; then pass; else fail "SARIF: $OUT"; fi

# ---- a Lua revision: one info finding ----
printf -- '-- mig:revision ddddddddddd4\n-- mig:down_revision bbbbbbbbbbb2\nfunction upgrade(db) end\nfunction downgrade(db) end\n' >$V/ddddddddddd4_lua.lua
run --json lint --offline ddddddddddd4
expect_eq "$(jget '[(f["rule"], f["level"]) for f in d["findings"]]')" '[["MIG003", "info"]]' "Lua: not analysed"
rm $V/ddddddddddd4_lua.lua

# ---- MIG005: DDL in a backfill revision (a scan of the Lua text) ----
cat >$V/ddddddddddd4_bf.lua <<'LUA'
-- mig:revision ddddddddddd4
-- mig:down_revision bbbbbbbbbbb2
-- mig:transaction false
return {
  upgrade = function(db, ctx)
    db:exec("ALTER TABLE users ADD COLUMN nick VARCHAR(40)")
    db:backfill{ table = "users", key = "id", sql = "UPDATE users SET nick = name WHERE id > ? AND id <= ?" }
  end,
  downgrade = function(db, ctx) end,
}
LUA
run --json lint --offline ddddddddddd4
expect_rc 0 "MIG005 is a warning"
expect_eq "$(jget '[(f["rule"], f["level"], f["line"]) for f in d["findings"]]')" '[["MIG003", "info", 1], ["MIG005", "warning", 6]]' \
    "DDL before db:backfill: MIG005 on the db:exec line"
expect_eq "$(jget '"idempotent" in [f["message"] for f in d["findings"] if f["rule"] == "MIG005"][0]')" true "MIG005 says the DDL must be idempotent"
# the same backfill with only DML before it: no MIG005
sed -i 's/db:exec("ALTER TABLE users ADD COLUMN nick VARCHAR(40)")/db:exec("UPDATE users SET nick = NULL WHERE 1 = 0")/' $V/ddddddddddd4_bf.lua
run --json lint --offline ddddddddddd4
expect_eq "$(jget '[f["rule"] for f in d["findings"]]')" '["MIG003"]' "DML before db:backfill: no MIG005"
rm $V/ddddddddddd4_bf.lua

# ---- check --lint: lint's findings in the gate, MIG001 once ----
write_rev $V eeeeeeeeeee5 bbbbbbbbbbb2 "no downgrade" "SELECT 1;" ""
run check --lint
expect_rc 3 "check --lint with pending revisions"
expect_eq "$(printf '%s\n' "$OUT" | grep -c 'MIG001')" 1 "MIG001 said once"
expect_out "warning: $RULE "
run upgrade heads
run check --lint
expect_rc 0 "check --lint with nothing pending"
printf '\n[lint]\nerror = MIG002\n' >>mig.ini
run lint --offline
expect_rc 3 "MIG002 as error"
cp mig.ini.ok mig.ini

# ---- PostgreSQL: a lock_timeout from [mig] on_connect counts for PG021 ----
if [ "$MIG_TEST_DRIVER" = postgres ]; then
    write_rev $V fffffffffff6 bbbbbbbbbbb2 "no timeout" "ALTER TABLE big ADD COLUMN w text;" "SELECT 1;"
    run --json lint --offline fffffffffff6
    expect_eq "$(jget '[f["rule"] for f in d["findings"]]')" '["PG021"]' "PG021 without a lock_timeout"
    sed -i "s/^\[mig\]$/[mig]\non_connect = SET lock_timeout = '5s'/" mig.ini
    run --json lint --offline fffffffffff6
    expect_eq "$(jget '[f["rule"] for f in d["findings"]]')" '[]' "PG021 with on_connect's lock_timeout"
    cp mig.ini.ok mig.ini
    rm $V/fffffffffff6_no_timeout.sql
    # [lint] postgres_version: rules of older servers
    write_rev $V fffffffffff7 bbbbbbbbbbb2 "old server" "SET lock_timeout = '1s';
ALTER TYPE mood ADD VALUE 'meh';
ALTER TABLE big ADD COLUMN k text DEFAULT 'x';" "SELECT 1;"
    run --json lint --offline fffffffffff7
    expect_eq "$(jget '[f["rule"] for f in d["findings"]]')" '[]' "PostgreSQL 15: ADD VALUE in a transaction and a constant default are fine"
    printf '\n[lint]\npostgres_version = 10\n' >>mig.ini
    run --json lint --offline fffffffffff7
    expect_rc 3 "ADD VALUE in a transaction before PostgreSQL 12 is an error"
    expect_eq "$(jget '[f["rule"] for f in d["findings"]]')" '["PG015", "PG004"]' "PostgreSQL 10: PG015 and PG004"
    sed -i 's/^postgres_version = 10$/postgres_version = 12/' mig.ini
    run --json lint --offline fffffffffff7
    expect_eq "$(jget '[f["rule"] for f in d["findings"]]')" '[]' "PostgreSQL 12: neither"
    cp mig.ini.ok mig.ini
    rm $V/fffffffffff7_old_server.sql
fi

# ---- no reachable database: every revision, said on stderr ----
case "$MIG_TEST_DRIVER" in
postgres) run --url "postgresql://nobody@127.0.0.1:1/none" lint ;;
mysql) run --url "mysql://nobody@127.0.0.1:1/none" lint ;;
sqlite) run --url "sqlite:///nonexistent-dir/x.db" lint ;; # no file: an empty database, all pending
esac
[ "$MIG_TEST_DRIVER" = sqlite ] || expect_err "database not reachable"
expect_out "bbbbbbbbbbb2_dangerous.sql"

# ---- tenants: the size is the largest across the tenants ----
case "$MIG_TEST_DRIVER" in
sqlite) TURL="sqlite:$T_TMP/ten_{tenant}.db"; T1=t1; T2=t2 ;;
postgres) TURL=$URL; T1=t1; T2=t2; sql 'CREATE SCHEMA t1; CREATE SCHEMA t2' >/dev/null ;;
mysql)
    TURL=$URL; T1=${DB_NAME}_t1; T2=${DB_NAME}_t2
    for t in "$T1" "$T2"; do
        sql "CREATE DATABASE \`$t\`" >/dev/null
        T_CLEANUP+=("mariadb --no-defaults -h $MIG_TEST_MY_HOST -P $MIG_TEST_MY_PORT --protocol=tcp -u $MIG_TEST_MY_USER -e 'DROP DATABASE IF EXISTS \`$t\`'")
    done ;;
esac
mkdir -p ten/migrations/versions
cp $V/aaaaaaaaaaa1_tables.sql $V/bbbbbbbbbbb2_dangerous.sql ten/migrations/versions/
printf '[mig]\nscript_location = migrations\nurl = %s\n\n[tenants]\nlist = %s, %s\n\n[lint]\nmin_rows = 50\n' "$TURL" "$T1" "$T2" >ten/mig.ini
cd ten
run --all-tenants upgrade aaaaaaaaaaa1
expect_rc 0 "tenants upgrade"
case "$MIG_TEST_DRIVER" in
sqlite) fill big 10 "$T_TMP/ten_t1.db"; fill big 70 "$T_TMP/ten_t2.db" ;;
postgres) fill t1.big 10; fill t2.big 70 ;;
mysql) fill "\`$T1\`.big" 10; fill "\`$T2\`.big" 70 ;;
esac
run --json --all-tenants lint
expect_rc 0 "lint all tenants"; expect_json "lint all tenants"
expect_eq "$(jget '[(f["rule"], f["level"], f["rows"]) for f in d["findings"]]')" "[[\"$RULE\", \"warning\", 70]]" \
    "the largest size across tenants"
run --json --tenant "$T1" lint
expect_eq "$(jget '[(f["rule"], f["level"], f["rows"]) for f in d["findings"]]')" "[[\"$RULE\", \"info\", 10]]" \
    "one tenant: its own size"
cd ..

done_testing
