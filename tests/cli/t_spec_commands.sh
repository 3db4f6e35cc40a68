#!/usr/bin/env bash
# SPEC §4 Commands, sentence by sentence, on SQLite: global options before
# and after the command, -x, every command of the table with its options,
# every target form, current, --sql ranges, exit codes, output on stderr /
# stdout, --json.
. "$(dirname "$0")/lib.sh"

json_ok() { # json_ok WHAT: stdout is one valid JSON document
    if printf '%s' "$OUT" | python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null; then pass
    else fail "$1: stdout is not one JSON document: $OUT"; fi
}
ver() { sqlite3 "$T_TMP/c.db" "SELECT version_num FROM mig_version ORDER BY version_num" 2>/dev/null | tr '\n' ' ' | sed 's/ $//'; }

# --- mig init [DIR] ---
mkdir i1 && cd i1
run init
expect_rc 0 "§4 init"
for f in mig.ini migrations/versions migrations/template.sql migrations/template.lua; do
    [ -e "$f" ] && pass || fail "§4 init writes $f (DIR defaults to migrations)"
done
grep -Eq '^script_location *= *migrations$' mig.ini && pass || fail "§4 init: mig.ini points at migrations"
echo "-- mine" >> migrations/template.sql
echo "; mine" >> mig.ini
run init
expect_rc 0 "§4 init again"
grep -q -- "-- mine" migrations/template.sql && pass || fail "§4 init never overwrites template.sql"
grep -q "; mine" mig.ini && pass || fail "§4 init never overwrites mig.ini"
run init other
expect_rc 0 "§4 init DIR"
for f in other/versions other/template.sql other/template.lua; do
    [ -e "$f" ] && pass || fail "§4 init DIR writes $f"
done
grep -q "; mine" mig.ini && pass || fail "§4 init DIR: mig.ini (if absent) is kept"
cd ..
mkdir i2 && cd i2
run init custom
expect_rc 0 "§4 init custom"
grep -Eq '^script_location *= *custom$' mig.ini && pass || fail "§4 init DIR: the new mig.ini points at DIR"
cd ..

# --- a project for the rest ---
mkdir p && cd p
cat > mig.ini <<INI
[mig]
script_location = migrations
url = sqlite:///$T_TMP/c.db
INI
mkdir -p migrations/versions
cp ../i1/migrations/template.sql ../i1/migrations/template.lua migrations/
V=migrations/versions

# --- mig revision ---
run revision -m "add users table" --rev-id 1f0e2d3c4b5a
expect_rc 0 "§4 revision -m"
expect_eq "$OUT" "$(pwd)/$V/1f0e2d3c4b5a_add_users_table.sql" "§4 revision prints the path on stdout"
[ -f "$OUT" ] || [ -f "$V/1f0e2d3c4b5a_add_users_table.sql" ] && pass || fail "§4 revision writes the file"
cat > $V/1f0e2d3c4b5a_add_users_table.sql <<'SQL'
-- mig:revision 1f0e2d3c4b5a
-- mig:message add users table

-- mig:upgrade
CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL);
CREATE UNIQUE INDEX users_email ON users (email);

-- mig:downgrade
DROP TABLE users;
SQL
run revision -m "second step" --rev-id 2a2a2a2a2a2a
expect_rc 0 "§4 revision on top of the head"
grep -qx -- "-- mig:down_revision 1f0e2d3c4b5a" $V/2a2a2a2a2a2a_*.sql && pass \
    || fail "§4 revision: down_revision = the current head"
run revision -m "lua step" --lua --rev-id 3c9a1e2b7f00
expect_rc 0 "§4 revision --lua"
expect_out '3c9a1e2b7f00_lua_step\.lua$'
grep -qx -- "-- mig:down_revision 2a2a2a2a2a2a" $V/3c9a1e2b7f00_*.lua && pass || fail "§4 --lua header"
run revision -m "side branch" --head 1f0e2d3c4b5a --rev-id 4b4b4b4b4b4b
expect_rc 2 "§4 revision --head on a non-head needs --splice"
run revision -m "side branch" --head 1f0e2d3c4b5a --splice --branch-label side --rev-id 4b4b4b4b4b4b
expect_rc 0 "§4 revision --head REV --splice --branch-label L"
grep -qx -- "-- mig:down_revision 1f0e2d3c4b5a" $V/4b4b4b4b4b4b_*.sql && pass || fail "§4 --head REV"
grep -Eq -- "^-- mig:branch_labels side$" $V/4b4b4b4b4b4b_*.sql && pass || fail "§4 --branch-label"
# "With several heads and no --head, refuses (exit 2) and says to use --head or mig merge"
run revision -m "where"
expect_rc 2 "§4 revision with several heads and no --head"
expect_err -- '--head'
expect_err 'mig merge'
[ "$(ls $V | wc -l)" = 4 ] && pass || fail "§4 the refused revision wrote nothing"
run revision -m "on side" --head side@head --depends-on 3c9a --rev-id 5d5d5d5d5d5d
expect_rc 0 "§4 revision --head LABEL@head --depends-on R"
grep -qx -- "-- mig:down_revision 4b4b4b4b4b4b" $V/5d5d5d5d5d5d_*.sql && pass || fail "§4 --head side@head"
grep -Eq -- "^-- mig:depends_on 3c9a1e2b7f00$" $V/5d5d5d5d5d5d_*.sql && pass || fail "§4 --depends-on"
sed -i '/^-- mig:depends_on/d' $V/5d5d5d5d5d5d_*.sql  # two independent branches below
run revision
expect_rc 2 "§4 revision without -m"

# --- heads, branches, show ---
run heads
expect_rc 0 "§4 heads"
expect_out '^3c9a1e2b7f00'
expect_out '^5d5d5d5d5d5d'
run --json heads
json_ok "§4 --json heads"
run branches
expect_rc 0 "§4 branches"
expect_out '^1f0e2d3c4b5a'
run show 1f0e
expect_rc 0 "§4 show REV"
expect_out '1f0e2d3c4b5a'
expect_out 'add users table'
run show nosuch
expect_rc 2 "§4 show an unknown revision"

# --- targets ---
run upgrade head
expect_rc 2 "§4 head with several heads is exit 2"
expect_err "heads"
expect_err "@head"
expect_eq "$(ver)" "" "§4 the refused upgrade changed nothing"
run upgrade side@head
expect_rc 0 "§4 LABEL@head"
expect_eq "$(ver)" "5d5d5d5d5d5d" "§4 LABEL@head"
# progress and results on stderr in plain lines, nothing on stdout
expect_err '^upgrade base -> 1f0e2d3c4b5a  add users table  \([0-9]+ ms\)$'
expect_eq "$OUT" "" "§4 upgrade writes no data on stdout"
run upgrade 3c9a1e2b7f00
expect_err '^upgrade 1f0e2d3c4b5a -> 2a2a2a2a2a2a  second step  \([0-9]+ ms\)$'
run current
expect_rc 0 "§4 current"
expect_eq "$OUT" "3c9a1e2b7f00
5d5d5d5d5d5d" "§4 current prints one current revision per line"
run current -v
expect_rc 0 "§4 current -v"
expect_out '3c9a1e2b7f00'
expect_out 'lua step'
run --json current
json_ok "§4 --json current"
for v in "-v current" "current --verbose" "--verbose history" "heads -v" "-v -q current"; do
    run $v
    expect_rc 0 "§4 -v/--verbose takes no value: mig $v"
done
run downgrade side@base
expect_rc 0 "§4 LABEL@base"
expect_eq "$(ver)" "3c9a1e2b7f00" "§4 side@base"
run downgrade base
expect_rc 0 "§4 base"
run current
expect_eq "$OUT" "" "§4 current prints nothing at base"
run upgrade +1
expect_rc 0 "§4 +N"
expect_eq "$(ver)" "1f0e2d3c4b5a" "§4 +1 from base"
run upgrade +1
expect_rc 2 "§4 +1 through a branch point is ambiguous"
expect_eq "$(ver)" "1f0e2d3c4b5a" "§4 the ambiguous step changed nothing"
run upgrade side@+1
expect_rc 0 "§4 LABEL@+N"
expect_eq "$(ver)" "4b4b4b4b4b4b" "§4 side@+1"
run downgrade -1
expect_rc 0 "§4 -N"
expect_eq "$(ver)" "1f0e2d3c4b5a" "§4 -1"
run upgrade 2a2a2a2a2a2a+1
expect_rc 0 "§4 REV+N"
expect_eq "$(ver)" "3c9a1e2b7f00" "§4 2a2a2a2a2a2a+1"
run downgrade 3c9a1e2b7f00-2
expect_rc 0 "§4 REV-N"
expect_eq "$(ver)" "1f0e2d3c4b5a" "§4 3c9a1e2b7f00-2"
run upgrade 3c9a
expect_rc 0 "§4 unique prefix"
expect_eq "$(ver)" "3c9a1e2b7f00" "§4 prefix 3c9a"
run downgrade 2a2a
expect_rc 0 "§4 downgrade to a prefix"
expect_eq "$(ver)" "2a2a2a2a2a2a" "§4 downgrade 2a2a"
run upgrade heads
expect_rc 0 "§4 heads"
expect_eq "$(ver)" "3c9a1e2b7f00 5d5d5d5d5d5d" "§4 upgrade heads"
run downgrade -1
expect_rc 2 "§4 -1 with several current revisions is ambiguous"
run upgrade nosuch
expect_rc 2 "§4 an unknown target is exit 2"

# --- history ---
run history
expect_rc 0 "§4 history"
first=$(printf '%s\n' "$OUT" | head -1)
printf '%s' "$first" | grep -Eq '5d5d5d5d5d5d|3c9a1e2b7f00' && pass || fail "§4 history is newest first: $first"
expect_out '3c9a1e2b7f00 \(head\) \(current\)'
last=$(printf '%s\n' "$OUT" | tail -1)
printf '%s' "$last" | grep -q '<base> -> 1f0e2d3c4b5a' && pass || fail "§4 history ends at the root: $last"
run history -r 1f0e2d3c4b5a:2a2a2a2a2a2a
expect_rc 0 "§4 history -r A:B"
expect_out '2a2a2a2a2a2a'
printf '%s' "$OUT" | grep -q 5d5d5d5d5d5d && fail "§4 history -r A:B shows a revision out of range" || pass
run history -v
expect_rc 0 "§4 history -v"
expect_out 'Path: '
run --json history
json_ok "§4 --json history"

# --- stamp ---
run downgrade base
run stamp 2a2a2a2a2a2a
expect_rc 0 "§4 stamp TARGET"
expect_eq "$(ver)" "2a2a2a2a2a2a" "§4 stamp sets the version table"
sqlite3 "$T_TMP/c.db" "SELECT name FROM sqlite_schema WHERE name='users'" | grep -q users \
    && fail "§4 stamp ran a revision" || pass
run stamp side@head
expect_rc 0 "§4 stamp a head on another branch"
expect_eq "$(ver)" "2a2a2a2a2a2a 5d5d5d5d5d5d" "§4 stamp: heads on other branches stay"
run stamp 2a2a2a2a2a2a 4b4b
expect_rc 0 "§4 stamp TARGET..."
expect_eq "$(ver)" "2a2a2a2a2a2a 4b4b4b4b4b4b" "§4 stamp of several targets"
run stamp --purge 2a2a2a2a2a2a
expect_rc 0 "§4 stamp --purge"
expect_eq "$(ver)" "2a2a2a2a2a2a" "§4 --purge empties the table first"
expect_eq "$(sqlite3 "$T_TMP/c.db" "SELECT count(*) > 2 FROM mig_history WHERE direction='stamp'")" 1 "§5 stamp rows in mig_history"
run stamp base
expect_rc 0 "§4 stamp base"
expect_eq "$(ver)" "" "§4 stamp base empties the table"

# --- check (before merge: pending) ---
run check
expect_rc 3 "§4 check with pending revisions is exit 3"
expect_out '.'
run upgrade heads
run check
expect_rc 0 "§4 check: graph valid, nothing pending, no file changed"
run --json check
json_ok "§4 --json check"
echo "-- changed" >> $V/2a2a2a2a2a2a_*.sql
run check
expect_rc 3 "§4 check: an applied revision's file changed"
expect_out '2a2a2a2a2a2a'
run --json check
json_ok "§4 --json check with a report"
sed -i '$d' $V/2a2a2a2a2a2a_*.sql
run check
expect_rc 0 "§4 check after restoring the file"
mv $V/5d5d5d5d5d5d_*.sql "$T_TMP/"
run check
expect_rc 3 "§4 check: an applied revision whose file is gone is a difference (exit 3)"
expect_out '5d5d5d5d5d5d'
mv "$T_TMP"/5d5d5d5d5d5d_*.sql $V/

# --- merge ---
run merge -m "join all" --rev-id 6e6e6e6e6e6e
expect_rc 0 "§4 merge -m MSG (default: all heads)"
expect_out '6e6e6e6e6e6e_join_all\.sql$'
grep -Eq -- "^-- mig:down_revision (3c9a1e2b7f00[ ,]+5d5d5d5d5d5d|5d5d5d5d5d5d[ ,]+3c9a1e2b7f00)$" $V/6e6e6e6e6e6e_*.sql \
    && pass || fail "§4 merge names all heads: $(head -3 $V/6e6e6e6e6e6e_*.sql)"
run upgrade head
expect_rc 0 "§4 head after the merge"
expect_eq "$(ver)" "6e6e6e6e6e6e" "§4 the merge is the only head"
run revision -m "a" --rev-id 7a7a7a7a7a7a
run revision -m "b" --head 6e6e6e6e6e6e --splice --rev-id 7b7b7b7b7b7b
run revision -m "c" --head 6e6e6e6e6e6e --splice --rev-id 7c7c7c7c7c7c
run merge -m "two of three" 7a7a 7b7b7b7b7b7b --rev-id 8d8d8d8d8d8d
expect_rc 0 "§4 merge -m MSG REV..."
grep -Eq -- "^-- mig:down_revision 7a7a7a7a7a7a[ ,]+7b7b7b7b7b7b$" $V/8d8d8d8d8d8d_*.sql \
    && pass || fail "§4 merge of the given revisions: $(head -3 $V/8d8d8d8d8d8d_*.sql)"
run heads
expect_out '^7c7c7c7c7c7c'
expect_out '^8d8d8d8d8d8d'
rm -f $V/7a7a* $V/7b7b* $V/7c7c* $V/8d8d*

# --- --sql ---
run --url "sqlite:///$T_TMP/nodir/never.db" upgrade --sql 1f0e2d3c4b5a:2a2a2a2a2a2a
expect_rc 0 "§4 upgrade --sql FROM:TO without connecting"
expect_out 'INSERT INTO "?mig_version"?'
expect_out 'CREATE TABLE IF NOT EXISTS "?mig_version"?'
expect_out "2a2a2a2a2a2a"
printf '%s' "$OUT" | grep -q "CREATE TABLE users" && fail "§4 --sql FROM:TO includes FROM itself" || pass
[ -e "$T_TMP/nodir" ] && fail "§4 --sql connected" || pass
run --url "sqlite:///$T_TMP/nodir/never.db" upgrade --sql 2a2a2a2a2a2a
expect_rc 0 "§4 upgrade --sql TO starts at base"
expect_out "CREATE TABLE users"
run --url "sqlite:///$T_TMP/nodir/never.db" downgrade --sql 2a2a2a2a2a2a:base
expect_rc 0 "§4 downgrade --sql FROM:TO"
expect_out "DROP TABLE users"
expect_out 'DELETE FROM "?mig_version"?'
run --url "sqlite:///$T_TMP/nodir/never.db" downgrade --sql base
expect_rc 2 "§4 downgrade --sql needs a FROM"
run --url "sqlite:///$T_TMP/nodir/never.db" upgrade --sql side@head
expect_rc 2 "§4 a Lua revision in an --sql range is exit 2"
expect_err '3c9a1e2b7f00'
run --url "sqlite:///$T_TMP/nodir/never.db" upgrade --sql 3c9a1e2b7f00:side@head
expect_rc 0 "§4 --sql range that starts after the Lua revision"
run --url "sqlite:///$T_TMP/nodir/never.db" downgrade --sql side@head:1f0e2d3c4b5a
expect_rc 2 "§4 a Lua revision in a downgrade --sql range is exit 2"
expect_err '3c9a1e2b7f00'
run --json --url "sqlite:///$T_TMP/nodir/never.db" upgrade --sql 2a2a2a2a2a2a
json_ok "§4 --json upgrade --sql"

# --- global options before or after the command name ---
run current --url "sqlite:///$T_TMP/c.db" --script-location migrations
expect_rc 0 "§4 global options after the command"
expect_eq "$OUT" "6e6e6e6e6e6e" "§4 options after the command"
cd ..
run current -c p/mig.ini
expect_rc 0 "§4 -c after the command"
expect_eq "$OUT" "6e6e6e6e6e6e" "§4 -c after the command"
run --config=p/mig.ini current
expect_rc 0 "§4 --config=PATH"
run current --json -c p/mig.ini
json_ok "§4 --json after the command"
run --version
expect_rc 0 "§4 --version"
expect_out '^mig [0-9]'
run --help
expect_rc 0 "§4 --help"
for o in -c/--config --url --driver --driver-path --script-location -x --tenant --all-tenants -j/--jobs \
         --keep-going --lock-timeout --json -q -v --help --version; do
    for w in ${o//\// }; do expect_out -- "$w"; done
done
expect_out 'default 300'
cd p

# -x KEY=VALUE: repeatable; the value is everything after the first '='
cat > $V/9f9f9f9f9f9f_x.lua <<'LUA'
-- mig:revision 9f9f9f9f9f9f
-- mig:down_revision 6e6e6e6e6e6e
-- mig:message show x
return {
  upgrade = function(db, ctx)
    ctx.log("x.k=[" .. tostring(ctx.x.k) .. "] x.empty=[" .. tostring(ctx.x.empty) .. "] x.two=[" .. tostring(ctx.x.two) .. "]")
  end,
  downgrade = function(db, ctx) end,
}
LUA
run upgrade head -x "k=a=b=c" -x empty= -x two="x y"
expect_rc 0 "§4 -x KEY=VALUE"
expect_err 'x\.k=\[a=b=c\] x\.empty=\[\] x\.two=\[x y\]'
run downgrade -1 -q
expect_rc 0 "§4 -q"
expect_eq "$ERR" "" "§4 -q: no progress lines"
run -x noequals upgrade head
expect_rc 2 "§4 -x without '=' is a usage error"

# --driver-path DIRS and $MIG_DRIVER_PATH, separated by ':'
run --driver-path "$T_TMP/none:$MIG_BUILD/drivers" current
expect_rc 0 "§4 --driver-path DIRS separated by ':'"
MIG_DRIVER_PATH="$T_TMP/none:$MIG_BUILD/drivers" run current
expect_rc 0 "§4 \$MIG_DRIVER_PATH separated by ':'"
run drivers --driver-path "$T_TMP/none:$MIG_BUILD/drivers"
expect_rc 0 "§4 mig drivers"
expect_out "sqlite.*$MIG_BUILD/drivers/mig_driver_sqlite\.so"

# --- exit codes ---
run frobnicate
expect_rc 2 "§4 an unknown command is exit 2"
run upgrade head --no-such-option
expect_rc 2 "§4 an unknown option is exit 2"
run upgrade
expect_rc 2 "§4 upgrade without TARGET is exit 2"
run --lock-timeout abc upgrade head
expect_rc 2 "§4 --lock-timeout needs SECONDS"
cat > $V/aaaa00000001_bad.sql <<'SQL'
-- mig:revision aaaa00000001
-- mig:down_revision 9f9f9f9f9f9f
-- mig:message breaks

-- mig:upgrade
CREATE TABLE ok_before (x int);
INSERT INTO no_such_table VALUES (1);
SQL
run upgrade head
expect_rc 1 "§4 a failing migration is exit 1"
expect_err 'aaaa00000001'
expect_err 'aaaa00000001_bad\.sql:7'
expect_err 'no_such_table'
run --json upgrade head
expect_rc 1 "§4 --json failing migration"
json_ok "§4 --json on failure"
rm -f $V/aaaa00000001_bad.sql
# 4: the lock could not be taken in time (a writer holds the SQLite write lock)
( sqlite3 "$T_TMP/c.db" "BEGIN IMMEDIATE; CREATE TABLE hold (x int);" ".shell sleep 3" "ROLLBACK;" >/dev/null 2>&1 & )
sleep 0.5
run --lock-timeout 1 downgrade -1
expect_rc 4 "§4 the lock not taken in time is exit 4"
sleep 3

# --- --json: one valid JSON document on stdout, for every command ---
for c in "current" "heads" "branches" "history" "show 1f0e" "drivers" "check" "stamp head" \
         "upgrade head" "downgrade -1" "upgrade head"; do
    run --json $c
    json_ok "§4 --json $c"
done
run --json revision -m "json rev" --rev-id bbbb00000001
json_ok "§4 --json revision"
run --json merge -m "nothing to merge"
json_ok "§4 --json merge (refused)"
run --json upgrade nosuch
expect_rc 2 "§4 --json usage error"
json_ok "§4 --json usage error"

done_testing
