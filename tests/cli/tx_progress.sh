#!/usr/bin/env bash
# What a run says while it runs and after it ends, on every driver: a line
# when each step begins and one when it ends, what a failed run undid and
# where the database is (text and --json), one phrase for "nothing to do",
# targets on the wrong side of the current revision, the hint at a merge,
# MIG001 empty-downgrade, and `mig check` naming what it found.
. "$MIG_SRC/tests/cli/lib.sh"

new_db progress
project
V=migrations/versions
write_rev $V aaaaaaaaaaa1 "" "step one" "CREATE TABLE p1 (x INTEGER);" "DROP TABLE p1;"
write_rev $V bbbbbbbbbbb2 aaaaaaaaaaa1 "step two" "CREATE TABLE p2 (x INTEGER);" "DROP TABLE p2;"
write_rev $V ccccccccccc3 bbbbbbbbbbb2 "step three" "CREATE TABLE p3 (x INTEGER);
INSERT INTO no_such_table VALUES (1);" "DROP TABLE p3;"

# --- a line when a step begins, another when it ends (into a pipe) ---
run upgrade bbbbbbbbbbb2
expect_rc 0 "upgrade to the second revision"
expect_eq "$(printf '%s\n' "$ERR" | sed -n 1p)" "upgrade base -> aaaaaaaaaaa1  step one ..." "start line first"
printf '%s\n' "$ERR" | sed -n 2p | grep -Eq '^upgrade base -> aaaaaaaaaaa1  step one  \([0-9]+ ms\)$' \
    && pass || fail "end line after the start line: $ERR"
expect_eq "$(printf '%s\n' "$ERR" | sed -n 3p)" "upgrade aaaaaaaaaaa1 -> bbbbbbbbbbb2  step two ..." "second start line"
expect_eq "$(printf '%s\n' "$ERR" | grep -c .)" 4 "two lines per step, nothing else"
expect_no $'\r'
expect_no $'\033'
run downgrade aaaaaaaaaaa1
expect_eq "$(printf '%s\n' "$ERR" | sed -n 1p)" "downgrade bbbbbbbbbbb2 -> aaaaaaaaaaa1  step two ..." "downgrade start line"
expect_err '^downgrade bbbbbbbbbbb2 -> aaaaaaaaaaa1  step two  \([0-9]+ ms\)$'
run -q upgrade bbbbbbbbbbb2
expect_eq "$ERR" "" "-q silences the step lines"

# --- one phrase for "nothing to do" ---
run upgrade bbbbbbbbbbb2
expect_rc 0 "upgrade to the current revision"
expect_eq "$ERR" "nothing to do: already at bbbbbbbbbbb2" "upgrade to the current revision"
run downgrade bbbbbbbbbbb2
expect_rc 0 "downgrade to the current revision"
expect_eq "$ERR" "nothing to do: already at bbbbbbbbbbb2" "downgrade to the current revision"

# --- a target on the wrong side of the current revision is exit 2 ---
run downgrade ccccccccccc3
expect_rc 2 "downgrade to a revision above the current one"
expect_err '^mig: ccccccccccc3 is not a valid downgrade target: it is above the current revision \(bbbbbbbbbbb2\)$'
expect_err 'hint: to go up to it, run `mig upgrade ccccccccccc3`'
run upgrade aaaaaaaaaaa1
expect_rc 2 "upgrade to a revision below the current one"
expect_err '^mig: aaaaaaaaaaa1 is not a valid upgrade target: it is below the current revision \(bbbbbbbbbbb2\)$'
expect_err 'hint: to go down to it, run `mig downgrade aaaaaaaaaaa1`'
expect_eq "$(sql "SELECT version_num FROM mig_version")" bbbbbbbbbbb2 "refused targets change nothing"
run downgrade base
run downgrade base
expect_rc 0 "downgrade base at base"
expect_eq "$ERR" "nothing to do: already at base" "downgrade base at base"
run downgrade aaaaaaaaaaa1
expect_rc 2 "downgrade at base to a revision"
expect_err 'above the current revision \(base\)'
# -1 at base is a walk past base, worded as +1 past the head is: never "nothing to ..." with an exit 2
run downgrade -1
expect_rc 2 "downgrade -1 at base"
expect_err "^mig: relative target '-1' walks past base: the database is at base\$"
expect_no "nothing to"

# --- a failed run says what it undid and where the database is ---
failed_run() { # what is true after the third revision fails, for the transaction mode in $1
    run --json upgrade head
    expect_rc 1 "$1: the third revision fails"
    expect_json "$1: the failed run's document"
    expect_err '^upgrade bbbbbbbbbbb2 -> ccccccccccc3  step three  failed \([0-9]+ ms\)$'
    # the summary is the last line, after the error
    last=$(printf '%s\n' "$ERR" | tail -n 1)
    expect_eq "$last" "$2" "$1: the last line says what is true"
    printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
want = sys.argv[1].split(",")
got = [s["status"] for s in d["steps"]]
assert got == want, (got, want)
assert [s["revision"] for s in d["steps"]] == ["aaaaaaaaaaa1", "bbbbbbbbbbb2", "ccccccccccc3"], d["steps"]
assert d["current"] == json.loads(sys.argv[2]), d["current"]
' "$3" "$4" && pass || fail "$1: --json steps and current: $OUT"
}
case "$MIG_TEST_DRIVER" in
mysql)
    # each revision commits with its version change: two stay
    failed_run "per revision (mysql)" \
        "not rolled back: revision ccccccccccc3 stopped part-way, 1 of its 2 statements applied (recorded as failed); 2 revision(s) committed before stay applied; the database is at bbbbbbbbbbb2" \
        applied,applied,failed '["bbbbbbbbbbb2"]'
    expect_eq "$(sql "SELECT version_num FROM mig_version")" bbbbbbbbbbb2 "mysql: the database is where it says"
    # settle the part-way revision, then fail a revision at its first statement
    run stamp bbbbbbbbbbb2
    sql "DROP TABLE p3" >/dev/null
    run downgrade base
    expect_rc 0 "mysql: back to base"
    write_rev $V ccccccccccc3 bbbbbbbbbbb2 "step three" "INSERT INTO no_such_table VALUES (1);" "SELECT 1;"
    run upgrade head
    expect_rc 1 "mysql: the third revision fails at once"
    # nothing of it applied: no --resume to suggest, the same command runs it again
    expect_err '^hint: revision ccccccccccc3 applied none of its statements; fix the cause and run the same command again$'
    expect_no "--resume"
    expect_eq "$(printf '%s\n' "$ERR" | tail -n 1)" \
        "stopped: revision ccccccccccc3 applied none of its statements; 2 revision(s) committed before stay applied; the database is at bbbbbbbbbbb2" \
        "mysql: a revision that failed at its first statement"
    write_rev $V ccccccccccc3 bbbbbbbbbbb2 "step three" "SELECT 1;" "SELECT 1;"
    run upgrade head
    expect_rc 0 "mysql: the same command, once fixed, runs it"
    run stamp bbbbbbbbbbb2
    run downgrade base
    ;;
*)
    failed_run "whole run" \
        "rolled back: 2 applied revision(s) undone; the database is still at base" \
        rolled_back,rolled_back,failed '[]'
    table_exists p1 && fail "whole run: p1 stayed" || pass
    expect_eq "$(sql "SELECT count(*) FROM mig_version")" 0 "whole run: the database is untouched"
    cp mig.ini mig.ini.whole
    printf 'transaction_per_migration = true\n' >> mig.ini
    failed_run "per migration" \
        "rolled back: the failed revision was undone; 2 revision(s) committed before stay applied; the database is at bbbbbbbbbbb2" \
        applied,applied,failed '["bbbbbbbbbbb2"]'
    expect_eq "$(sql "SELECT version_num FROM mig_version")" bbbbbbbbbbb2 "per migration: the database is where it says"
    run downgrade base
    mv mig.ini.whole mig.ini
    # a failure after steps were committed: only the ones after the commit are undone
    run upgrade aaaaaaaaaaa1
    run upgrade head
    expect_eq "$(printf '%s\n' "$ERR" | tail -n 1)" \
        "rolled back: 1 applied revision(s) undone; the database is still at aaaaaaaaaaa1" \
        "whole run from a revision"
    run downgrade base
    ;;
esac
# a run that succeeds: every step applied, and where the database is
rm -f $V/ccccccccccc3_*.sql
run --json upgrade head
expect_rc 0 "--json upgrade head"
printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [s["status"] for s in d["steps"]] == ["applied", "applied"], d
assert d["current"] == ["bbbbbbbbbbb2"], d
' && pass || fail "--json after a run that succeeded: $OUT"
run --json upgrade head
printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["steps"] == [] and d["current"] == ["bbbbbbbbbbb2"], d
' && pass || fail "--json with nothing to do: $OUT"
run downgrade base

# --- mig check names each pending revision, and MIG001 ---
write_rev $V ddddddddddd4 bbbbbbbbbbb2 "add email" "CREATE TABLE p4 (x INTEGER);" ""
run check
expect_rc 3 "check with pending revisions"
expect_out '^pending aaaaaaaaaaa1: not applied: step one$'
expect_out '^pending bbbbbbbbbbb2: not applied: step two$'
expect_out '^pending ddddddddddd4: not applied: add email$'
expect_out '^warning: MIG001 empty-downgrade: no downgrade in ddddddddddd4 add email \(.*ddddddddddd4_add_email\.sql\): downgrading through it undoes nothing$'
run --json check
expect_rc 3 "check --json with pending revisions and a warning"; expect_json "check --json, pending and a warning"
run upgrade head
run check
expect_rc 0 "check: a warning alone leaves exit 0"
expect_out 'warning: MIG001 empty-downgrade: no downgrade in ddddddddddd4'
expect_err '^check: no problems found, 1 warning$'
run check --strict
expect_rc 3 "check --strict: a warning fails the check"
run --json check --strict
expect_rc 3 "check --strict --json"; expect_json "check --strict --json"
run --json check
printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["ok"] is True, d
[p] = d["problems"]
assert p["kind"] == "empty-downgrade" and p["rule"] == "MIG001" and p["level"] == "warning", p
assert p["revision"] == "ddddddddddd4" and p["path"].endswith("ddddddddddd4_add_email.sql"), p
' && pass || fail "check --json: the warning: $OUT"
# a changed file is named with its id and path
printf -- '-- an edit\n' >> $V/bbbbbbbbbbb2_step_two.sql
run --json check
printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
ch = [p for p in d["problems"] if p["kind"] == "changed"]
assert len(ch) == 1 and ch[0]["revision"] == "bbbbbbbbbbb2" and ch[0]["path"].endswith("bbbbbbbbbbb2_step_two.sql"), d
assert ch[0]["level"] == "error" and ch[0]["rule"] == "", ch
' && pass || fail "check --json: the changed file: $OUT"
run check
expect_out '^changed bbbbbbbbbbb2: .*bbbbbbbbbbb2_step_two\.sql changed since it was applied'
# downgrading through the empty section says so, with the rule's id
run downgrade bbbbbbbbbbb2
expect_rc 0 "downgrade through an empty downgrade section"
expect_err '^warning: MIG001 empty-downgrade: no downgrade in ddddddddddd4 add email: nothing was undone$'
table_exists p4 && pass || fail "the empty downgrade left p4 (nothing was undone)"
run downgrade base
sql "DROP TABLE p4" >/dev/null
rm -f $V/ddddddddddd4_*.sql

# --- at a merge, -1 is ambiguous; the hint names commands that work ---
write_rev $V eeeeeeeeeee5 aaaaaaaaaaa1 "side" "CREATE TABLE p5 (x INTEGER);" "DROP TABLE p5;"
{
    echo "-- mig:revision fffffffffff6"
    echo "-- mig:down_revision bbbbbbbbbbb2 eeeeeeeeeee5"
    echo "-- mig:message merge"
    echo "-- mig:upgrade"
    echo "-- mig:downgrade"
    echo "-- nothing"
} > $V/fffffffffff6_merge.sql
run upgrade head
expect_rc 0 "upgrade to the merge"
run downgrade -1
expect_rc 2 "downgrade -1 at a merge"
expect_err "relative target '-1' is ambiguous: fffffffffff6 merges bbbbbbbbbbb2, eeeeeeeeeee5"
expect_err '^hint: name the way: `mig downgrade bbbbbbbbbbb2` or `mig downgrade eeeeeeeeeee5`$'
run downgrade fffffffffff6-1
expect_rc 2 "downgrade REV-1 at a merge"
expect_err '`mig downgrade bbbbbbbbbbb2` or `mig downgrade eeeeeeeeeee5`'
# the commands named work: each undoes the merge and leaves both parents
run check
expect_rc 0 "check at the merge"
expect_no "MIG001"
run downgrade bbbbbbbbbbb2
expect_rc 0 "the first command named works"
# an empty upgrade (a merge) has nothing to undo: its empty downgrade is no forgotten one
expect_no "MIG001"
expect_eq "$(sql "SELECT version_num FROM mig_version ORDER BY version_num" | tr '\n' ' ')" "bbbbbbbbbbb2 eeeeeeeeeee5 " "at both parents"
run upgrade head
run downgrade eeeeeeeeeee5
expect_rc 0 "the second command named works"
expect_eq "$(sql "SELECT version_num FROM mig_version ORDER BY version_num" | tr '\n' ' ')" "bbbbbbbbbbb2 eeeeeeeeeee5 " "at both parents again"
# with two current revisions, -1 names each one's own step
run downgrade -1
expect_rc 2 "downgrade -1 with two current revisions"
expect_err '^hint: name the way: `mig downgrade bbbbbbbbbbb2-1` or `mig downgrade eeeeeeeeeee5-1`$'
run downgrade eeeeeeeeeee5-1
expect_rc 0 "REV-1 as named works"
expect_eq "$(sql "SELECT version_num FROM mig_version")" bbbbbbbbbbb2 "REV-1 undid that branch's step"

# --- Lua: ctx.progress into a pipe is no flood of lines ---
cat > $V/ggggggggggg7_fill.lua <<'EOF'
-- mig:revision ggggggggggg7
-- mig:down_revision fffffffffff6
-- mig:message fill
return {
  upgrade = function(db, ctx)
    for i = 1, 1000 do ctx.progress(i, 1000) end
    ctx.progress(5)
  end,
  downgrade = function(db, ctx) end,
}
EOF
run upgrade head
expect_rc 0 "a Lua revision reporting progress"
expect_eq "$(printf '%s\n' "$ERR" | grep -c 'fill')" 2 "into a pipe: a start line and an end line"
cat > $V/hhhhhhhhhhh8_bad.lua <<'EOF'
-- mig:revision hhhhhhhhhhh8
-- mig:down_revision ggggggggggg7
-- mig:message bad progress
return {
  upgrade = function(db, ctx) ctx.progress(-1, 10) end,
  downgrade = function(db, ctx) end,
}
EOF
run upgrade head
expect_rc 1 "ctx.progress with a negative count"
expect_err "hhhhhhhhhhh8_bad.lua:5:.*bad argument #1 to 'progress'"

# --- a Lua revision outside a transaction: what it did stays, and the last line says so ---
cat > $V/hhhhhhhhhhh8_bad.lua <<'EOF'
-- mig:revision hhhhhhhhhhh8
-- mig:down_revision ggggggggggg7
-- mig:message outside
-- mig:transaction false
return {
  upgrade = function(db, ctx)
    db:exec("CREATE TABLE p8 (x INTEGER)")
    error("boom")
  end,
  downgrade = function(db, ctx) end,
}
EOF
run --json upgrade head
expect_rc 1 "a Lua revision outside a transaction fails"; expect_json "a Lua revision outside a transaction"
expect_eq "$(printf '%s\n' "$ERR" | tail -n 1)" \
    "not rolled back: revision hhhhhhhhhhh8 runs outside a transaction: what it did before it failed stays; the database is still at ggggggggggg7" \
    "the last line after a failure outside a transaction"
table_exists p8 && pass || fail "outside a transaction: p8 should stay"

done_testing
