#!/usr/bin/env bash
# SPEC §7 Lua, sentence by sentence, on SQLite: ctx fields, ctx.log and -q,
# migration hooks (names, order, same transaction, errors, on_error),
# post-write hooks (lua and exec, order, PATH and config-relative
# executables), the shipped sqlformat hook, Lua errors with file and line.
. "$(dirname "$0")/lib.sh"

mkdir -p proj/m/versions proj/hooks proj/bin other pathbin
cd proj
DB="$T_TMP/proj/l.db"
cat > hooks/audit.lua <<'LUA'
return {
  before_migrate = function(db, ctx) ctx.log("hook before_migrate " .. ctx.direction) end,
  before_each = function(db, ctx) ctx.log("hook before_each " .. ctx.revision .. " " .. ctx.direction) end,
  after_each = function(db, ctx)
    ctx.log("hook after_each " .. ctx.revision)
    db:exec("INSERT INTO audit (rev, dir) VALUES (?, ?)", ctx.revision, ctx.direction)
    if ctx.x.fail_after == ctx.revision then error("hook refuses " .. ctx.revision) end
  end,
  after_migrate = function(db, ctx) ctx.log("hook after_migrate") end,
  on_error = function(ctx, err) ctx.log("hook on_error [" .. tostring(err) .. "]") end,
}
LUA
cat > mig.ini <<'INI'
[mig]
script_location = m
url = sqlite:l.db

[hooks]
scripts = hooks/audit.lua
INI
write_rev m/versions a00000000001 "" "audit table" "CREATE TABLE audit (rev text, dir text);" "DROP TABLE audit;"
# the audit table must exist before after_each of the first revision: create it first
sqlite3 "$DB" "CREATE TABLE audit (rev text, dir text)"
rm -f m/versions/*
write_rev m/versions a00000000001 "" "one" "CREATE TABLE t1 (x int);" "DROP TABLE t1;"
write_rev m/versions a00000000002 a00000000001 "two" "CREATE TABLE t2 (x int);" "DROP TABLE t2;"

run upgrade head
expect_rc 0 "§7 migration hooks"
order=$(printf '%s\n' "$ERR" | grep '^hook' | tr '\n' '|')
expect_eq "$order" "hook before_migrate upgrade|hook before_each a00000000001 upgrade|hook after_each a00000000001|hook before_each a00000000002 upgrade|hook after_each a00000000002|hook after_migrate|" \
    "§7 before_migrate, before_each, after_each, after_migrate in order"
expect_eq "$(sqlite3 "$DB" "SELECT rev || ' ' || dir FROM audit ORDER BY rowid" | tr '\n' '|')" \
    "a00000000001 upgrade|a00000000002 upgrade|" "§7 hooks get db and ctx"
run -q downgrade base
expect_rc 0 "§7 -q"
printf '%s' "$ERR" | grep -q '^hook' && fail "§7 ctx.log is silenced by -q: $ERR" || pass
expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM audit WHERE dir='downgrade'")" 2 "§7 hooks run on downgrade too"
sqlite3 "$DB" "DELETE FROM audit"

# an error raised in a hook fails the run like a failing statement; the hooks
# run inside the same transaction as the revisions, so all of it rolls back
run upgrade head -x fail_after=a00000000002
expect_rc 1 "§7 an error raised in a hook fails the run (exit 1)"
expect_err 'hook refuses a00000000002'
expect_err 'audit\.lua:7'
expect_err 'hook on_error \[.*hook refuses a00000000002'
expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM audit")" 0 "§7 hooks run inside the run's transaction (their writes roll back)"
expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM mig_version")" 0 "§7 the failed run left the version table where it was"
# on_error is called for a failing statement too
write_rev m/versions a00000000003 a00000000002 "three breaks" "INSERT INTO nowhere VALUES (1);" ""
run upgrade head
expect_rc 1 "§7 a failing statement with hooks"
expect_err 'hook on_error \[.*nowhere'
rm -f m/versions/a00000000003_*

# a Lua revision's error is reported with its file and line
cat > m/versions/a00000000004_lua.lua <<'LUA'
-- mig:revision a00000000004
-- mig:down_revision a00000000002
-- mig:message lua breaks
return {
  upgrade = function(db, ctx)
    local t = nil
    return t.field
  end,
}
LUA
run upgrade head
expect_rc 1 "§7 a Lua error in a revision"
expect_err 'a00000000004_lua\.lua:7'
# a syntax error in a hook file names it too
echo "return {" > hooks/broken.lua
sed -i 's|^scripts = .*|scripts = hooks/broken.lua|' mig.ini
run upgrade head
[ "$RC" = 1 ] || [ "$RC" = 2 ] && pass || fail "§7 a broken hook file fails: exit $RC"
expect_err 'broken\.lua:[0-9]+'
rm -f m/versions/a00000000004_lua.lua

# --- post-write hooks: after mig revision and mig merge, in the order of hooks = ---
cat > hooks/stamp.lua <<'LUA'
return function(path, ctx)
  local f = assert(io.open(path)); local s = f:read("a"); f:close()
  f = assert(io.open(path, "w")); f:write(s .. "-- lua hook saw " .. path:match("[^/]+$") .. "\n"); f:close()
end
LUA
cat > bin/tagit <<'SH'
#!/bin/sh
# tagit FLAG PATH: append a line naming the file
echo "-- exec hook $1 $(basename "$2")" >> "$2"
SH
chmod +x bin/tagit
cp bin/tagit "$T_TMP/pathbin/tagonpath"
cat > mig.ini <<'INI'
[mig]
script_location = m
url = sqlite:l.db

[post_write_hooks]
hooks = first, second, third
first.type = lua
first.script = hooks/stamp.lua
second.type = exec
second.executable = bin/tagit
second.options = -i REVISION_SCRIPT_FILENAME
third.type = exec
third.executable = tagonpath
third.options = -p REVISION_SCRIPT_FILENAME
INI
cd "$T_TMP/other"
PATH="$T_TMP/pathbin:$PATH" run -c ../proj/mig.ini revision -m "hooked" --rev-id b00000000001
expect_rc 0 "§7 post-write hooks on mig revision"
F="$T_TMP/proj/m/versions/b00000000001_hooked.sql"
expect_eq "$(tail -3 "$F" | tr '\n' '|')" \
    "-- lua hook saw b00000000001_hooked.sql|-- exec hook -i b00000000001_hooked.sql|-- exec hook -p b00000000001_hooked.sql|" \
    "§7 lua then exec hooks, in the order of hooks =; a '/' executable relative to the config file; REVISION_SCRIPT_FILENAME replaced"
cd "$T_TMP/proj"
PATH="$T_TMP/pathbin:$PATH" run revision -m "side" --head a00000000001 --splice --rev-id b00000000002
expect_rc 0
PATH="$T_TMP/pathbin:$PATH" run merge -m "joined" --rev-id b00000000003
expect_rc 0 "§7 post-write hooks on mig merge"
F="$T_TMP/proj/m/versions/b00000000003_joined.sql"
grep -q -- "-- lua hook saw b00000000003_joined.sql" "$F" && pass || fail "§7 lua hook after mig merge"
grep -q -- "-- exec hook -p b00000000003_joined.sql" "$F" && pass || fail "§7 exec hook after mig merge"
# an exec hook that is not found is an error that names it
sed -i 's|^third.executable = .*|third.executable = no-such-formatter|' mig.ini
run revision -m "unhooked" --rev-id b00000000004
[ "$RC" != 0 ] && pass || fail "§7 a missing exec hook fails"
expect_err 'no-such-formatter'
rm -f m/versions/b00000000004_*

# --- the shipped hooks/sqlformat.lua formats the SQL sections and is idempotent ---
cat > mig.ini <<INI
[mig]
script_location = m
url = sqlite:l.db

[post_write_hooks]
hooks = sqlformat
sqlformat.type = lua
sqlformat.script = $MIG_SRC/hooks/sqlformat.lua
INI
cat > m/template.sql <<'SQL'
-- mig:revision ${revision}
-- mig:down_revision ${down_revision}
-- mig:message ${message}

-- mig:upgrade
create table users (id integer primary key, email text not null); create unique index users_email on users (email);
insert into users (id, email) values (1, 'a;b@example.com');

-- mig:downgrade
drop table users;
SQL
run revision -m "fmt once" --rev-id c00000000001 --head b00000000003
expect_rc 0 "§7 sqlformat hook"
F1=m/versions/c00000000001_fmt_once.sql
grep -q "a;b@example.com" $F1 && pass || fail "§7 sqlformat keeps string literals"
grep -q "create table users (id integer primary key, email text not null); create unique" $F1 \
    && fail "§7 sqlformat did not format: $(cat $F1)" || pass
# formatting its own output again changes nothing
{ sed -n '1,3p' m/template.sql; sed -n '/^-- mig:upgrade/,$p' $F1; } > m/template.sql.new
mv m/template.sql.new m/template.sql
run revision -m "fmt once" --rev-id c00000000002 --head c00000000001
expect_rc 0
F2=m/versions/c00000000002_fmt_once.sql
expect_eq "$(sed -n '/^-- mig:upgrade/,$p' $F2)" "$(sed -n '/^-- mig:upgrade/,$p' $F1)" "§7 sqlformat is idempotent"
run upgrade c00000000001
expect_rc 0 "§7 the formatted revision runs"
expect_eq "$(sqlite3 "$DB" "SELECT email FROM users")" "a;b@example.com" "§7 the formatted SQL means the same"

# --- §1 "hooks/: Lua hooks shipped with mig (the SQL formatter, examples)" ---
[ -f "$MIG_SRC/hooks/sqlformat.lua" ] && pass || fail "§1 hooks/sqlformat.lua is shipped"
[ -f "$MIG_SRC/hooks/audit.lua" ] && pass || fail "§1 hooks/ ships an example migration hook"
cat > mig.ini <<INI
[mig]
script_location = m
url = sqlite:audit.db

[hooks]
scripts = $MIG_SRC/hooks/audit.lua
INI
run upgrade c00000000001 -x by=spec
expect_rc 0 "§1/§7 the shipped audit hook runs"
expect_eq "$(sqlite3 audit.db "SELECT what || ' ' || coalesce(revision, '-') || ' ' || by_whom FROM mig_audit WHERE what = 'upgrade' ORDER BY rowid LIMIT 1")" \
    "upgrade a00000000001 spec" "§1/§7 the shipped audit hook writes its table"

done_testing
