#!/usr/bin/env bash
# Every command's --json document, on success and on failure, on every
# driver, is valid against its JSON Schema (schema/<command>.json, checked
# with Debian's python3-jsonschema); the revision object and the error
# object are the same in every document; upgrade --sql lists its steps; and
# a failure is reported on stderr as well as in the document.
. "$MIG_SRC/tests/cli/lib.sh"
S=$MIG_SRC/schema
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || { fail "python3-jsonschema is missing: run scripts/deps.sh --test"; done_testing; }
# jq-like: print the value of a Python expression over the document in $OUT (as d)
jget() { printf '%s' "$OUT" | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); v=$1; print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))"; }

# ---- the schemas themselves: one per command, the shared parts identical ----
for cmd in $("$MIG" --help | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }'); do
    [ "$cmd" = help ] && continue   # prints the --help text of a command, never a document
    [ -f "$S/$cmd.json" ] && pass || fail "no schema/$cmd.json for command $cmd"
done
/usr/bin/python3 - "$S" <<'PY' && pass || fail "schema/*.json disagree on a shared definition"
import glob, json, sys
seen = {}
for p in sorted(glob.glob(sys.argv[1] + "/*.json")):
    for k, v in json.load(open(p)).get("$defs", {}).items():
        if seen.setdefault(k, (p, v))[1] != v:
            sys.exit("%s and %s define %s differently" % (seen[k][0], p, k))
PY

new_db json
project
V=migrations/versions
write_rev $V aaaaaaaaaaa1 "" "create things" "CREATE TABLE things (id INTEGER PRIMARY KEY);" "DROP TABLE things;"
write_rev $V bbbbbbbbbbb2 aaaaaaaaaaa1 "branch one" "CREATE TABLE one (id INTEGER PRIMARY KEY);" "DROP TABLE one;"
write_rev $V ccccccccccc3 aaaaaaaaaaa1 "branch two" "CREATE TABLE two (id INTEGER PRIMARY KEY);"

# ---- before any command ----
run --json --version
expect_rc 0 "--version --json"; expect_json "--version --json"
run --json upgrade --version
expect_rc 0 "--version beside a command"; expect_json "--version beside a command"
run --json frobnicate
expect_rc 2 "unknown command"; expect_json "unknown command"
expect_err "^mig: unknown command 'frobnicate'"

# ---- graph commands, with the database not yet migrated ----
for cmd in history heads branches; do
    run --json $cmd
    expect_rc 0 "$cmd --json"; expect_json "$cmd --json"
done
run --json show aaaa
expect_rc 0 "show --json"; expect_json "show --json"
# the same revision object everywhere: has_downgrade as show reads it
expect_eq "$(jget 'd["revision"]["has_downgrade"]')" true "show has_downgrade"
show_a=$(jget 'd["revision"]')
run --json history
expect_eq "$(jget '[r for r in d["revisions"] if r["revision"] == "aaaaaaaaaaa1"][0]')" "$show_a" "history and show agree"
expect_eq "$(jget '[r["has_downgrade"] for r in d["revisions"]]')" '[false, true, true]' "history has_downgrade"
run --json branches
expect_eq "$(jget 'd["branchpoints"][0]')" "$show_a" "branches and show agree"
run --json heads
expect_eq "$(jget '[r["has_downgrade"] for r in sorted(d["heads"], key=lambda r: r["revision"])]')" '[true, false]' "heads has_downgrade"

run --json show nosuchrev
expect_rc 2 "show unknown"; expect_json "show unknown"
run --json history -r nocolon
expect_rc 2 "history bad range"; expect_json "history bad range"
expect_eq "$(jget 'sorted(d["error"])')" '["code", "detail", "exit", "file", "hint", "line", "message"]' "history error fields"
# the error goes to stderr as well as into the document
expect_err "^mig: option '-r' needs a range A:B, got 'nocolon'$"

# ---- offline SQL lists the steps it rendered ----
run --json upgrade --sql base:bbbbbbbbbbb2
expect_rc 0 "upgrade --sql"; expect_json "upgrade --sql"
expect_eq "$(jget '[s["revision"] for s in d["steps"]]')" '["aaaaaaaaaaa1", "bbbbbbbbbbb2"]' "upgrade --sql steps"
expect_eq "$(jget '"CREATE TABLE one" in d["sql"]')" true "upgrade --sql sql"
run --json downgrade --sql bbbbbbbbbbb2:base
expect_rc 0 "downgrade --sql"; expect_json "downgrade --sql"
expect_eq "$(jget '[s["direction"] for s in d["steps"]]')" '["downgrade", "downgrade"]' "downgrade --sql steps"
run --json downgrade --sql head
expect_rc 2 "downgrade --sql without a range"; expect_json "downgrade --sql without a range"
table_exists things && fail "--sql touched the database" || pass

# ---- running ----
run --json upgrade heads
expect_rc 0 "upgrade heads"; expect_json "upgrade heads"
expect_eq "$(jget 'len(d["steps"])')" 3 "upgrade steps"
for cmd in current history heads branches check; do
    run --json $cmd
    expect_rc 0 "$cmd --json after upgrade"; expect_json "$cmd --json after upgrade"
done
run --json current
expect_eq "$(jget 'sorted(d["current"])')" '["bbbbbbbbbbb2", "ccccccccccc3"]' "current ids"
expect_eq "$(jget 'all(r["current"] for r in d["revisions"])')" true "current marks"
run --json heads
expect_eq "$(jget '[r["current"] for r in d["heads"]]')" '[true, true]' "heads current marks"
run --json upgrade nosuchrev
expect_rc 2 "upgrade unknown"; expect_json "upgrade unknown"
run --json upgrade
expect_rc 2 "upgrade without target"; expect_json "upgrade without target"
# downgrading through a revision with no downgrade: refused before anything runs
run --json downgrade aaaaaaaaaaa1
expect_rc 2 "downgrade through no downgrade"; expect_json "downgrade through no downgrade"
run --json downgrade ccccccccccc3
expect_rc 0 "downgrade one branch"; expect_json "downgrade one branch"
run --json stamp bbbbbbbbbbb2
expect_rc 0 "stamp"; expect_json "stamp"
run --json stamp nosuchrev
expect_rc 2 "stamp unknown"; expect_json "stamp unknown"

# lint: pending revisions (none now), every revision offline, and the error document
run --json lint
expect_rc 0 "lint"; expect_json "lint"
run --json lint --offline
expect_rc 0 "lint --offline"; expect_json "lint --offline"
expect_eq "$(jget '[f["rule"] for f in d["findings"] if f["revision"] == "aaaaaaaaaaa1"]')" '["MIG002"]' "lint --offline finds the destructive downgrade"
run lint --offline --format json
expect_rc 0 "lint --format json"; expect_json "lint --format json"
run --json lint --format yaml
expect_rc 2 "lint bad format"; expect_json "lint bad format"
run --json check --lint
expect_rc 0 "check --lint"; expect_json "check --lint"
# backfill status and reset: with no checkpoints, then with one
run --json backfill status
expect_rc 0 "backfill status, none"; expect_json "backfill status, none"
expect_eq "$(jget 'd["backfills"]')" '[]' "backfill status, none: empty"
cat > $V/bf00000000b1_fill.lua <<'LUA'
-- mig:revision bf00000000b1
-- mig:down_revision bbbbbbbbbbb2
-- mig:transaction false
return {
  upgrade = function(db, ctx)
    db:backfill{ table = "one", sql = "UPDATE one SET id = id WHERE id > ? AND id <= ?" }
  end,
  downgrade = function(db, ctx) end,
}
LUA
sql "INSERT INTO one (id) VALUES (1), (2), (3)" >/dev/null
run --json upgrade bf00000000b1
expect_rc 0 "backfill upgrade"; expect_json "backfill upgrade"
run --json backfill status
expect_rc 0 "backfill status"; expect_json "backfill status"
expect_eq "$(jget '[(b["name"], b["state"], b["rows_done"], b["rows_total"]) for b in d["backfills"]]')" \
    '[["one", "finished", 3, 3]]' "backfill status row"
run --json backfill status extra
expect_rc 2 "backfill status extra"; expect_json "backfill status extra"
run --json backfill frobnicate
expect_rc 2 "backfill unknown action"; expect_json "backfill unknown action"
run --json backfill reset bf00000000b1
expect_rc 0 "backfill reset"; expect_json "backfill reset"
expect_eq "$(jget 'd["removed"]')" 1 "backfill reset removed"
run --json downgrade bbbbbbbbbbb2
expect_rc 0 "backfill downgrade"; expect_json "backfill downgrade"
rm $V/bf00000000b1_fill.lua

# a failing revision: the database's error, with the file and line
write_rev $V ddddddddddd4 bbbbbbbbbbb2 "breaks" "INSERT INTO no_such_table VALUES (1);" ""
run --json check
expect_rc 3 "check pending"; expect_json "check pending"
run --json upgrade bbbbbbbbbbb2+1
expect_rc 1 "failing upgrade"; expect_json "failing upgrade"
expect_eq "$(jget 'd["error"]["file"].endswith("ddddddddddd4_breaks.sql") and d["error"]["line"] > 0 and d["error"]["detail"] != ""')" \
    true "failing upgrade error names file, line and detail"
expect_err "^mig: "

# ---- project files and drivers ----
run --json revision -m "another one" --rev-id eeeeeeeeeee5 --head ccccccccccc3
expect_rc 0 "revision"; expect_json "revision"
run --json revision
expect_rc 2 "revision without -m"; expect_json "revision without -m"
run --json merge -m "join" --rev-id fffffffffff6 ddddddddddd4 eeeeeeeeeee5
expect_rc 0 "merge"; expect_json "merge"
run --json merge -m "nothing"
expect_rc 2 "merge one head"; expect_json "merge one head"
run --json drivers
expect_rc 0 "drivers"; expect_json "drivers"
run --json drivers extra
expect_rc 2 "drivers extra"; expect_json "drivers extra"
(mkdir -p sub && cd sub && run --json init && expect_rc 0 "init" && expect_json "init") || fail "init in sub"
touch afile
run --json init afile
expect_rc 1 "init into a file"; expect_json "init into a file"

# ---- a broken graph: every graph command fails with the file named ----
mkdir -p broken/versions
printf -- '-- mig:revision zzzzzzzzzzz1\n-- mig:down_revision nonexistent\n\n-- mig:upgrade\nSELECT 1;\n' >broken/versions/zzzzzzzzzzz1_bad.sql
for cmd in history heads branches "show zzzz" current check; do
    run --json --script-location broken $cmd
    [ "$RC" != 0 ] || [ "$cmd" = current ] || fail "$cmd on a broken graph: exit 0"
    expect_json "$cmd on a broken graph"
done

# ---- tenants ----
tcfg() {
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
    write_rev ten/migrations/versions 111111111111 "" "tenant table" "CREATE TABLE tt (id INTEGER PRIMARY KEY);" "DROP TABLE tt;"
    printf '[mig]\nscript_location = migrations\nurl = %s\n\n[tenants]\nlist = %s, %s\n' "$TURL" "$T1" "$T2" >ten/mig.ini
}
tcfg
cd ten
run --json tenants
expect_rc 0 "tenants"; expect_json "tenants"
run --json --all-tenants upgrade head
expect_rc 0 "upgrade all tenants"; expect_json "upgrade all tenants"
expect_eq "$(jget 'len(d["tenants"])')" 2 "tenant rows"
run --json --all-tenants current
expect_rc 0 "current all tenants"; expect_json "current all tenants"
run --json --all-tenants stamp base
expect_rc 0 "stamp all tenants"; expect_json "stamp all tenants"
write_rev migrations/versions 222222222222 111111111111 "tenant breaks" "INSERT INTO no_such_table VALUES (1);" ""
run --json --all-tenants upgrade head
expect_rc 1 "failing tenant upgrade"; expect_json "failing tenant upgrade"
run --json --all-tenants downgrade nosuchrev
expect_rc 2 "tenant downgrade unknown"; expect_json "tenant downgrade unknown"
# offline, a section per tenant: each step names its tenant, and no tenant ran
if [ "$MIG_TEST_DRIVER" != sqlite ]; then
    run --json --all-tenants upgrade --sql base:111111111111
    expect_rc 0 "tenants upgrade --sql"; expect_json "tenants upgrade --sql"
    expect_eq "$(jget '[s.get("tenant") for s in d["steps"]]')" "[\"$T1\", \"$T2\"]" "tenants --sql: each step's tenant"
    expect_eq "$(jget '"tenants" in d')" false "tenants --sql: no tenant rows"
fi
run --json --tenant "$T2" downgrade --sql 111111111111:base
expect_rc 0 "tenant downgrade --sql"; expect_json "tenant downgrade --sql"
expect_eq "$(jget '[s.get("tenant") for s in d["steps"]]')" "[\"$T2\"]" "tenant downgrade --sql: the step's tenant"
cd ..
run --json tenants
expect_rc 2 "tenants without [tenants]"; expect_json "tenants without [tenants]"

done_testing
