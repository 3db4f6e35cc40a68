#!/usr/bin/env bash
# Expand/contract phases on every driver: `upgrade --expand` stops before
# the first pending `-- mig:phase contract` revision on every branch and
# holds back what stands on one (its descendants, a merge after it, a
# revision that depends_on it from another branch); a plain `upgrade head`
# applies the rest. current and check say what is pending; --sql and
# tenants hold back the same; bad phases and `downgrade --expand` are
# usage errors (exit 2) that change nothing.
. "$MIG_SRC/tests/cli/lib.sh"
new_db expand
project
V=migrations/versions
# the value of a Python expression over the JSON document in $OUT (as d)
jget() { printf '%s' "$OUT" | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(json.dumps($1))"; }

# rev ID DOWN PHASE MESSAGE [EXTRA HEADER LINE]: a revision that creates table t_ID
rev() {
    local id=$1 down=$2 phase=$3 msg=$4 extra=${5-}
    {
        echo "-- mig:revision $id"
        [ -n "$down" ] && echo "-- mig:down_revision $down"
        [ -n "$phase" ] && echo "-- mig:phase $phase"
        [ -n "$extra" ] && echo "$extra"
        echo "-- mig:message $msg"
        echo
        echo "-- mig:upgrade"
        echo "CREATE TABLE t_$id (id INTEGER PRIMARY KEY);"
        echo
        echo "-- mig:downgrade"
        echo "DROP TABLE t_$id;"
    } > "$V/${id}_rev.sql"
}
# applied ID...: the tables of exactly these revisions exist, of the others none
applied() {
    local id want
    for id in a1 a2 a3 a4 b1 c1 c2 c3 d1 d2 e1 m1; do
        [ -f "$V/${id}_rev.sql" ] || continue
        want=no
        case " $* " in *" $id "*) want=yes ;; esac
        if table_exists "t_$id"; then got=yes; else got=no; fi
        expect_eq "$got" "$want" "t_$id applied"
    done
}

# ---- one line: expand, then the rest ----
rev a1 "" "" "create users"
rev a2 a1 expand "add display column"
rev a3 a2 contract "drop name column"
rev a4 a3 "" "after the contract"

run upgrade --expand head
expect_rc 0 "upgrade --expand head"
applied a1 a2
expect_eq "$(sql "SELECT version_num FROM mig_version")" a2 "version table after --expand"
expect_err "held back a3  drop name column  \(phase contract\)"
expect_err "held back a4  after the contract  \(after a contract revision\)"
expect_err "--expand held back 2 revision\(s\).*a plain \`mig upgrade head\` applies them"

# current: stdout stays the ids, stderr says what waits
run current
expect_rc 0 "current between the steps"
expect_eq "$OUT" a2 "current stdout"
expect_err "^1 contract revision pending: a3 "
run -q current
expect_eq "$ERR" "" "current -q says nothing on stderr"
run --json current
expect_json "current --json"
expect_eq "$(jget 'd["pending_contract"]')" '["a3"]' "current --json pending_contract"

# check: pending all the same (exit 3), each saying it waits for the contract step
run check
expect_rc 3 "check between the steps"
expect_out "pending a3: not applied: drop name column \(contract revision: held back by \`upgrade --expand\`"
expect_out "pending a4: not applied: after the contract \(stands on a contract revision"

# again: nothing more to do before the contract step, and it says what waits
run upgrade --expand head
expect_rc 0 "second --expand"
expect_err "nothing to do: already at a2"
expect_err "held back a3"
run --json upgrade --expand head
expect_json "upgrade --expand --json"
expect_eq "$(jget 'd["held_back"]')" '["a3", "a4"]' "held_back"

# the contract step
run upgrade head
expect_rc 0 "plain upgrade head"
applied a1 a2 a3 a4
expect_no "held back"
run current
expect_eq "$OUT" a4 "current at head"
expect_eq "$ERR" "" "nothing pending, nothing said"
run --json upgrade --expand head
expect_json "upgrade --expand at head"
expect_eq "$(jget 'd["held_back"]')" '[]' "held_back at head"

# ---- history, show and --json show the phase ----
run history
expect_out "a2 -> a3 \(contract\), drop name column"
run show a3
expect_out "^Phase: contract"
run show a2
expect_no "Phase:"
run --json show a3
expect_json "show --json"
expect_out '"phase": "contract"'
run --json show a2
expect_out '"phase": "expand"'
run --json history
expect_json "history --json"

# ---- downgrade has no phases ----
run downgrade --expand a2
expect_rc 2 "downgrade --expand"
expect_err "'--expand'"
applied a1 a2 a3 a4

# ---- branches, a merge after a contract revision, depends_on across branches ----
new_db expand_branches
project
rm -f $V/*
rev b1 "" "" "base"
rev c1 b1 "" "branch c expands"
rev c2 c1 contract "branch c contracts"
rev c3 c2 "" "branch c after its contract"
rev d1 b1 "" "branch d expands"
rev d2 d1 "" "branch d expands more"
rev e1 d2 "" "branch d, depends on c2" "-- mig:depends_on c2"
rev m1 "c3 e1" "" "merge"
run upgrade --expand head
expect_rc 0 "--expand with branches"
applied b1 c1 d1 d2
expect_err "held back c2 .*\(phase contract\)"
expect_err "held back e1 .*\(after a contract revision\)"
expect_err "held back m1 .*\(after a contract revision\)"
expect_eq "$(sql "SELECT version_num FROM mig_version ORDER BY version_num" | tr '\n' ' ')" "c1 d2 " \
    "version table: each branch stopped before its contract"
run check
expect_rc 3 "check on branches"
expect_out "pending c2: .*contract revision"
expect_out "pending e1: .*stands on a contract revision"
run upgrade head
expect_rc 0 "plain upgrade after branches"
applied b1 c1 c2 c3 d1 d2 e1 m1
expect_eq "$(sql "SELECT version_num FROM mig_version")" m1 "merged at head"

# a contract revision first on a branch: that branch waits, the other goes on
new_db expand_first
project
rm -f $V/*
rev b1 "" "" "base"
rev c1 b1 contract "branch c contracts first"
rev d1 b1 "" "branch d expands"
run upgrade --expand heads
expect_rc 0 "--expand heads, contract first on a branch"
applied b1 d1
run upgrade heads
applied b1 c1 d1

# ---- --sql renders the expand step (and what is left, from there) ----
new_db expand_sql
project
rm -f $V/*
rev a1 "" "" "create users"
rev a2 a1 "" "add display column"
rev a3 a2 contract "drop name column"
rev a4 a3 "" "after the contract"
run upgrade --sql --expand head
expect_rc 0 "upgrade --sql --expand"
expect_out "CREATE TABLE t_a2"
if printf '%s' "$OUT" | grep -q "t_a3\|t_a4"; then fail "--sql --expand rendered a held-back revision"; else pass; fi
expect_err "held back a3"
run upgrade --sql a2:head
expect_out "CREATE TABLE t_a3"
expect_out "CREATE TABLE t_a4"
run --json upgrade --sql --expand base:head
expect_json "upgrade --sql --expand --json"
expect_eq "$(jget 'd["held_back"]')" '["a3", "a4"]' "held_back"
table_exists t_a1 && fail "--sql touched the database" || pass

# --expand --resume is allowed; a range needs --sql as always
run upgrade --expand base:head
expect_rc 2 "a range without --sql"

# ---- tenants ----
new_db expand_tenants
case "$MIG_TEST_DRIVER" in
sqlite)
    TURL="sqlite:{tenant}.db"
    tname() { echo "$1"; }
    tsql() { sqlite3 -batch "$T_TMP/$1.db" "$2"; }
    ;;
postgres)
    TURL=$URL
    tname() { echo "$1"; }
    sql 'CREATE SCHEMA "acme"; CREATE SCHEMA "globex"' >/dev/null
    tsql() { sql "SET search_path TO \"$1\"; $2"; }
    ;;
mysql)
    TURL=$URL
    tname() { echo "${DB_NAME}_$1"; }
    for t in acme globex; do
        sql "CREATE DATABASE \`${DB_NAME}_$t\`" >/dev/null
        T_CLEANUP+=("mariadb --no-defaults -h $MIG_TEST_MY_HOST -P $MIG_TEST_MY_PORT --protocol=tcp -u $MIG_TEST_MY_USER -e 'DROP DATABASE IF EXISTS \`${DB_NAME}_$t\`'")
    done
    tsql() { mariadb --no-defaults -N -B -h "$MIG_TEST_MY_HOST" -P "$MIG_TEST_MY_PORT" --protocol=tcp -u "$MIG_TEST_MY_USER" "$1" -e "$2"; }
    ;;
esac
TA=$(tname acme); TG=$(tname globex)
cat > mig.ini <<INI
[mig]
script_location = migrations
url = $TURL

[tenants]
list = $TA, $TG
jobs = 2
INI
run --all-tenants upgrade --expand head
expect_rc 0 "tenants --expand"
for t in "$TA" "$TG"; do
    expect_eq "$(tsql "$t" "SELECT version_num FROM mig_version")" a2 "$t stopped before the contract"
done
expect_err "--expand held back a3 a4 on 2 tenant\(s\)"
run --all-tenants current
expect_rc 0 "tenants current between the steps"
expect_err "tenant $TA: 1 contract revision pending: a3 "
expect_err "tenant $TG: 1 contract revision pending: a3 "
if printf '%s' "$OUT" | grep -q contract; then fail "tenants current: stdout is the ids only"; else pass; fi
run --json --all-tenants upgrade --expand head
expect_json "tenants --expand --json"
expect_eq "$(jget 'd["held_back"]')" '["a3", "a4"]' "held_back"
run --all-tenants check
expect_rc 3 "tenants check between the steps"
expect_out "contract revision"
run --all-tenants upgrade head
expect_rc 0 "tenants contract step"
for t in "$TA" "$TG"; do
    expect_eq "$(tsql "$t" "SELECT version_num FROM mig_version")" a4 "$t at head"
done
# offline, per tenant: the script holds the expand step only
run --json --tenant "$TA" upgrade --sql --expand head
expect_rc 0 "tenant --sql --expand"
expect_json "tenant --sql --expand --json"
expect_eq "$(jget 'd["held_back"]')" '["a3", "a4"]' "tenant --sql held_back"
expect_eq "$(jget '"t_a2" in d["sql"] and "t_a3" not in d["sql"]')" true "tenant --sql renders the expand step"

# ---- bad phases: a revision-file error naming path:LINE, nothing run ----
new_db expand_bad
project
rm -f $V/*
rev a1 "" "" "create users"
rev a2 a1 destroy "bad phase"
run upgrade head
expect_rc 2 "bad phase"
expect_err "a2_rev.sql:3: 'mig:phase' must be expand or contract, not 'destroy'"
table_exists t_a1 && fail "a bad phase let a revision run" || pass
rev a2 a1 "Contract" "wrong case"
run upgrade --expand head
expect_rc 2 "phase is case-sensitive"
rm -f $V/a2_rev.sql
printf '%s\n' "-- mig:revision a2" "-- mig:down_revision a1" "-- mig:phase contract" "-- mig:phase expand" \
    "-- mig:upgrade" "SELECT 1;" > $V/a2_rev.sql
run upgrade head
expect_rc 2 "duplicate phase"
expect_err "a2_rev.sql:4: duplicate key 'mig:phase'"
rm -f $V/a2_rev.sql

# ---- mig revision --phase ----
run revision -m "drop old" --phase contract
expect_rc 0 "revision --phase contract"
F=$OUT
expect_eq "$(grep -c '^-- mig:phase contract$' "$F")" 1 "the file declares its phase"
run revision -m "expand more" --phase expand
expect_rc 0 "revision --phase expand"
expect_eq "$(grep -c 'mig:phase' "$OUT")" 0 "expand is the default: no line"
run revision -m "bogus" --phase later
expect_rc 2 "revision --phase later"
expect_err "option '--phase' must be expand or contract, not 'later'"
# a project template without \${phase} still gets the contract line
sed -i '/mig:phase/d' migrations/template.sql 2>/dev/null || true
printf '%s\n' '-- mig:revision ${revision}' '-- mig:down_revision ${down_revision}' '-- mig:message ${message}' \
    '' '-- mig:upgrade' '' '-- mig:downgrade' > migrations/template.sql
run revision -m "old template" --phase contract
expect_rc 0 "old template"
expect_eq "$(sed -n 2p "$OUT")" "-- mig:phase contract" "phase line after the revision line"
run upgrade --expand head
expect_rc 0 "new revisions with --expand"
expect_err "held back .*drop old  \(phase contract\)"

done_testing
