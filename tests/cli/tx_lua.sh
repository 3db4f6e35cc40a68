#!/bin/bash
# Lua in mig, end to end on every driver (MIG_TEST_DRIVER): Lua revisions
# (db:exec, db:query, db:rows with writes inside the loop, value round
# trips, ctx), errors (runtime and syntax, with file:line and revision,
# rolled back), migration hooks (order, a failing hook), post-write hooks
# (lua, exec, the shipped sqlformat) and `mig init`'s example.
. "$MIG_SRC/tests/cli/lib.sh"

D=$MIG_TEST_DRIVER

# write_lua DIR ID DOWN MESSAGE: a Lua revision whose body comes on stdin
write_lua() {
    local dir=$1 id=$2 down=$3 msg=$4
    mkdir -p "$dir"
    {
        echo "-- mig:revision $id"
        [ -n "$down" ] && echo "-- mig:down_revision $down"
        echo "-- mig:message $msg"
        echo
        cat
    } > "$dir/${id}_$(echo "$msg" | tr ' ' '_' | tr -cd 'A-Za-z0-9_').lua"
}
V=migrations/versions
lua_file() { ls "$V"/"$1"_*.lua; }
line_of() { grep -n -- "$2" "$1" | head -1 | cut -d: -f1; }

case "$D" in
sqlite)
    T_USERS="CREATE TABLE users (id INTEGER PRIMARY KEY, first TEXT, last TEXT, display TEXT);"
    T_VALS="CREATE TABLE vals (n INTEGER PRIMARY KEY, i INTEGER, f REAL, t TEXT, b BOOLEAN, bin BLOB);"
    T_BIG="CREATE TABLE big (id INTEGER PRIMARY KEY, v INTEGER);"
    ;;
postgres)
    T_USERS="CREATE TABLE users (id integer PRIMARY KEY, first text, last text, display text);"
    T_VALS="CREATE TABLE vals (n integer PRIMARY KEY, i bigint, f double precision, t text, b boolean, bin bytea);"
    T_BIG="CREATE TABLE big (id integer PRIMARY KEY, v bigint);"
    ;;
mysql)
    T_USERS="CREATE TABLE users (id int PRIMARY KEY, first varchar(50), last varchar(50), display varchar(120)) DEFAULT CHARSET=utf8mb4;"
    T_VALS="CREATE TABLE vals (n int PRIMARY KEY, i bigint, f double, t text, b boolean, bin longblob) DEFAULT CHARSET=utf8mb4;"
    T_BIG="CREATE TABLE big (id int PRIMARY KEY, v bigint);"
    ;;
esac

# ---------------------------------------------------------------------------
# a backfill with db:rows + db:exec in the loop, db:query, ctx
new_db lua1
project
write_rev $V a1 "" "users" "$T_USERS
$T_BIG
INSERT INTO users (id, first, last) VALUES (1, 'Ada', 'Lovelace');
INSERT INTO users (id, first, last) VALUES (2, 'Alan', 'Turing');
INSERT INTO users (id, first, last, display) VALUES (3, 'Grace', 'Hopper', 'kept');" "DROP TABLE big;
DROP TABLE users;"

write_lua $V a2 a1 "backfill display names" <<'LUA'
return {
  upgrade = function(db, ctx)
    assert(db.driver == ctx.x.drv, "db.driver is " .. tostring(db.driver))
    for row in db:rows("SELECT id, first, last FROM users WHERE display IS NULL ORDER BY id") do
      db:exec("UPDATE users SET display = ? WHERE id = ?", row.first .. " " .. row.last, row.id)
    end
    -- more rows than any driver fetches at once, written while they are read
    for i = 1, 2500 do db:exec("INSERT INTO big (id, v) VALUES (?, ?)", i, 0) end
    local seen = 0
    for row in db:rows("SELECT id FROM big ORDER BY id") do
      db:exec("UPDATE big SET v = ? WHERE id = ?", row.id * 2, row.id)
      seen = seen + 1
    end
    assert(seen == 2500, "db:rows saw " .. seen .. " rows")
    local n = db:query("SELECT count(*) AS n FROM users WHERE display IS NOT NULL")[1].n
    assert(math.type(n) == "integer" and n == 3, "count is " .. tostring(n))
    print("printed", "by", ctx.revision)
    ctx.log(string.format("ctx revision=%s direction=%s tenant=%s who=%s eq=%s",
      ctx.revision, ctx.direction, tostring(ctx.tenant), ctx.x.who, ctx.x.eq))
  end,
  downgrade = function(db, ctx)
    ctx.log("ctx revision=" .. ctx.revision .. " direction=" .. ctx.direction)
    db:exec("UPDATE users SET display = NULL WHERE id < 3")
    db:exec("DELETE FROM big")
  end,
}
LUA

run -x drv=$D -x who=alice -x eq=a=b upgrade head
expect_rc 0 "lua backfill"
expect_err "ctx revision=a2 direction=upgrade tenant=nil who=alice eq=a=b"
expect_err "upgrade a1 -> a2"
expect_err "printed	by	a2"
case "$OUT" in *printed*) fail "print() wrote to stdout" ;; *) pass ;; esac
expect_eq "$(sql "SELECT display FROM users ORDER BY id" | tr '\n' '|')" "Ada Lovelace|Alan Turing|kept|" "backfilled names"
expect_eq "$(sql "SELECT sum(v) FROM big")" "6252500" "rows updated while read"
expect_eq "$(sql "SELECT count(*) FROM big WHERE v = 2 * id")" "2500" "every row updated"

run -q downgrade -1
expect_rc 0 "lua downgrade, quiet"
expect_no "ctx revision"
expect_eq "$(sql "SELECT count(*) FROM users WHERE display IS NULL")" "2" "downgrade ran"
run downgrade -1
run -q -x drv=$D -x who=q upgrade head
expect_rc 0 "quiet upgrade"
expect_no "ctx revision"
expect_no "printed"
expect_eq "$OUT$ERR" "" "-q silences ctx.log and progress"

# ---------------------------------------------------------------------------
# values: bound, never spliced, and back as they went
write_rev $V a3 a2 "vals" "$T_VALS" "DROP TABLE vals;"
write_lua $V a4 a3 "round trips" <<'LUA'
local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v) .. " (" .. (math.type(v) or type(v)) .. ")"
end
local function same(got, want, col, drv)
  if col == "b" and want ~= nil and drv ~= "postgres" then
    -- no boolean type there: a 1/0 integer or a boolean
    return got == want or got == (want and 1 or 0)
  end
  if col == "i" and got ~= nil and math.type(got) ~= "integer" then return false end
  if col == "f" and got ~= nil and math.type(got) ~= "float" then return false end
  return got == want
end
return {
  upgrade = function(db, ctx)
    local cases = {
      { i = math.maxinteger }, { i = math.mininteger }, { i = 0 }, { i = -1 },
      { f = 0.1 }, { f = -2.5e300 }, { f = 1 / 3 }, { f = 0.0 },
      { t = "it's; \"quoted\" -- not a comment /* nor this */ ?" },
      { t = "déjà vu ✓ 日本語 🐘" }, { t = "" }, { t = "line\nbreak\ttab\\back" },
      { b = true }, { b = false },
      { bin = "a\0b\0\255c" }, { bin = "\0" }, { bin = "\255\254 not utf-8" },
      {},
    }
    for n, c in ipairs(cases) do
      assert(db:exec("INSERT INTO vals (n, i, f, t, b, bin) VALUES (?, ?, ?, ?, ?, ?)",
                     n, c.i, c.f, c.t, c.b, c.bin) == 1, "rows affected")
    end
    local function check(r, n, how)
      for _, col in ipairs({ "i", "f", "t", "b", "bin" }) do
        if not same(r[col], cases[n][col], col, db.driver) then
          error(string.format("%s case %d column %s: got %s, want %s", how, n, col,
                              show(r[col]), show(cases[n][col])))
        end
      end
    end
    for n = 1, #cases do
      local rows = db:query("SELECT n, i, f, t, b, bin FROM vals WHERE n = ?", n)
      assert(#rows == 1, "query returned " .. #rows .. " rows")
      check(rows[1], n, "query")
    end
    local k = 0
    for r in db:rows("SELECT n, i, f, t, b, bin FROM vals ORDER BY n") do
      k = k + 1
      check(r, r.n, "rows")
    end
    assert(k == #cases, "rows saw " .. k)
    -- a '?' inside a literal is no placeholder
    db:exec("INSERT INTO vals (n, t) VALUES (?, 'what?')", 100)
    assert(db:query("SELECT t FROM vals WHERE n = 100")[1].t == "what?")
    -- nil binds NULL
    db:exec("UPDATE vals SET t = ? WHERE n = ?", nil, 100)
    assert(db:query("SELECT count(*) AS c FROM vals WHERE t IS NULL AND n = 100")[1].c == 1)
    -- quote_ident makes any name usable
    local q = db:quote_ident('we"ird `name')
    db:exec("CREATE TABLE " .. q .. " (id int)")
    assert(db:exec("INSERT INTO " .. q .. " (id) VALUES (?)", 7) == 1)
    assert(db:query("SELECT id FROM " .. q)[1].id == 7)
    db:exec("DROP TABLE " .. q)
    -- an error inside a db:rows loop closes the cursor (then the table can go)
    db:exec("CREATE TABLE scratch (id int)")
    db:exec("INSERT INTO scratch (id) VALUES (1)")
    db:exec("INSERT INTO scratch (id) VALUES (2)")
    local ok, err = pcall(function()
      for _ in db:rows("SELECT id FROM scratch") do error("stop here") end
    end)
    assert(not ok and tostring(err):find("stop here"), tostring(err))
    for _ in db:rows("SELECT id FROM scratch") do break end
    db:exec("DROP TABLE scratch")
    -- bad arguments are errors, not silent
    local ok2, err2 = pcall(db.exec, db, "SELECT ?", {})
    assert(not ok2 and tostring(err2):find("cannot bind a table"), tostring(err2))
    _G.kept_db = db
  end,
  downgrade = function(db) db:exec("DELETE FROM vals") end,
}
LUA
write_lua $V a5 a4 "stale handle" <<'LUA'
return {
  upgrade = function(db, ctx)
    local ok, err = pcall(function() return _G.kept_db:exec("SELECT 1") end)
    assert(not ok and tostring(err):find("db used after its migration finished"), tostring(err))
  end,
  downgrade = function() end,
}
LUA
run upgrade head
expect_rc 0 "value round trips"
expect_eq "$(sql "SELECT count(*) FROM vals WHERE t IS NULL")" "15" "NULLs stored as NULL"
# the bytes as stored, through each database's own client
case "$D" in
postgres) HEXQ="SELECT upper(encode(convert_to(t, 'UTF8'), 'hex')) FROM vals WHERE n = 10" ;;
*)        HEXQ="SELECT upper(hex(t)) FROM vals WHERE n = 10" ;;
esac
expect_eq "$(sql "$HEXQ")" "$(printf '%s' 'déjà vu ✓ 日本語 🐘' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" "UTF-8 stored intact"

# ---------------------------------------------------------------------------
# a runtime error: file:line, revision, rolled back
write_lua $V a6 a5 "fails" <<'LUA'
return {
  upgrade = function(db, ctx)
    db:exec("INSERT INTO users (id, first, last) VALUES (99, 'x', 'y')")
    local t = nil
    return t.field -- the error
  end,
  downgrade = function() end,
}
LUA
F6=$(lua_file a6)
run upgrade head
expect_rc 1 "lua runtime error"
expect_err "revision a6"
expect_err "${F6##*/}:$(line_of "$F6" "the error")"
expect_err "attempt to index a nil value"
expect_eq "$(sql "SELECT count(*) FROM users WHERE id = 99")" "0" "work of the failed revision rolled back"
run current
expect_out "^a5$"

# a database error raised in Lua names the statement and the database's words
cat > "$F6" <<'LUA'
-- mig:revision a6
-- mig:down_revision a5
-- mig:message fails
return {
  upgrade = function(db, ctx)
    db:exec("INSERT INTO no_such_table (id) VALUES (?)", 1)
  end,
  downgrade = function() end,
}
LUA
run -v upgrade head
expect_rc 1 "db error in lua"
expect_err "${F6##*/}:6: db:exec: "
expect_err "no_such_table"
expect_err "statement: INSERT INTO no_such_table"

# a syntax error: bad input, caught before anything runs (exit 2)
write_rev $V a7 a5 "sql before" "INSERT INTO users (id, first, last) VALUES (77, 'p', 'q');" "DELETE FROM users WHERE id = 77;"
cat > "$F6" <<'LUA'
-- mig:revision a6
-- mig:down_revision a7
-- mig:message fails
return {
  upgrade = function(db, ctx)
    local x = = 1
  end,
}
LUA
run upgrade head
expect_rc 2 "lua syntax error"
expect_err "revision a6"
expect_err "${F6##*/}:6: syntax error"
expect_eq "$(sql "SELECT count(*) FROM users WHERE id = 77")" "0" "nothing ran before the syntax error was found"

# no upgrade function; no downgrade function
printf -- '-- mig:revision a6\n-- mig:down_revision a7\nreturn { downgrade = function() end }\n' > "$F6"
run upgrade head
expect_rc 2 "no upgrade function"
expect_err "no upgrade function"
printf -- '-- mig:revision a6\n-- mig:down_revision a7\nreturn { upgrade = function() end }\n' > "$F6"
run upgrade head
expect_rc 0 "a revision without downgrade applies"
run downgrade a7
expect_rc 2 "downgrading through it is refused"
expect_err "a6"
expect_err "no downgrade"
run upgrade head --sql
expect_rc 2 "offline --sql refuses lua revisions"

# ---------------------------------------------------------------------------
# migration hooks: order, in the transaction, a failing one rolls back
new_db lua2
rm -rf migrations mig.ini hooks
project
mkdir -p hooks
cat >> mig.ini <<'INI'
[hooks]
scripts = hooks/audit.lua
INI
cat > hooks/names.lua <<'LUA'
-- a module shared by hooks, found through package.path
local M = {}
function M.tag(what, ctx) return what .. " " .. (ctx.revision or "-") .. " " .. ctx.direction end
return M
LUA
cat > hooks/audit.lua <<'LUA'
local names = require "names"
local function audit(db, what)
  local n = db:query("SELECT count(*) AS c FROM audit")[1].c + 1
  db:exec("INSERT INTO audit (n, what) VALUES (?, ?)", n, what)
end
return {
  before_migrate = function(db, ctx)
    db:exec("CREATE TABLE IF NOT EXISTS audit (n int, what varchar(100))")
    audit(db, names.tag("before_migrate", ctx))
  end,
  before_each = function(db, ctx) audit(db, names.tag("before_each", ctx)) end,
  after_each = function(db, ctx)
    if ctx.x.fail == ctx.revision then error("after_each refuses " .. ctx.revision) end
    audit(db, names.tag("after_each", ctx))
  end,
  after_migrate = function(db, ctx) audit(db, names.tag("after_migrate", ctx)) end,
  on_error = function(ctx, err) ctx.log("on_error saw: " .. err) end,
}
LUA
write_rev $V h1 "" "one" "CREATE TABLE t1 (id int);" "DROP TABLE t1;"
write_lua $V h2 h1 "two" <<'LUA'
return {
  upgrade = function(db) db:exec("INSERT INTO t1 (id) VALUES (1)") end,
  downgrade = function(db) db:exec("DELETE FROM t1") end,
}
LUA
run -x fail=h2 upgrade head
expect_rc 1 "failing hook"
expect_err "hook after_each at revision h2 failed at .*audit.lua:$(line_of hooks/audit.lua "refuses")"
expect_err "on_error saw: hook after_each"
if [ "$D" != mysql ]; then
    run current
    expect_eq "$OUT" "" "a failing hook rolls the run back"
    table_exists audit && fail "the hooks' own writes were not rolled back" || pass
fi

new_db lua3
sed -i "s|^url = .*|url = $URL|" mig.ini
run upgrade head
expect_rc 0 "hooks"
expect_eq "$(sql "SELECT what FROM audit ORDER BY n" | tr '\n' '|')" \
    "before_migrate - upgrade|before_each h1 upgrade|after_each h1 upgrade|before_each h2 upgrade|after_each h2 upgrade|after_migrate - upgrade|" \
    "hooks in order, around each step"
run downgrade base
expect_rc 0 "hooks on downgrade"
expect_eq "$(sql "SELECT what FROM audit WHERE n > 6 ORDER BY n" | tr '\n' '|')" \
    "before_migrate - downgrade|before_each h2 downgrade|after_each h2 downgrade|before_each h1 downgrade|after_each h1 downgrade|after_migrate - downgrade|" \
    "hooks on downgrade"

# a hook script with a syntax error is a configuration error
echo "return {" > hooks/broken.lua
sed -i 's|^scripts = .*|scripts = hooks/audit.lua, hooks/broken.lua|' mig.ini
run upgrade head
expect_rc 2 "broken hook script"
expect_err "broken.lua:2: syntax error"
sed -i 's|^scripts = .*|scripts = hooks/missing.lua|' mig.ini
run upgrade head
expect_rc 2 "missing hook script"
expect_err "missing.lua"

# ---------------------------------------------------------------------------
# a Lua revision marked `-- mig:transaction false` runs on its own, between
# transactions (PostgreSQL: CREATE INDEX CONCURRENTLY works there)
new_db lua4
rm -rf migrations mig.ini hooks
project
write_rev $V c1 "" "users" "$T_USERS" "DROP TABLE users;"
write_lua $V c2 c1 "index concurrently" <<'LUA'
-- mig:transaction false
return {
  upgrade = function(db, ctx)
    if db.driver == "postgres" then
      db:exec("CREATE INDEX CONCURRENTLY users_last ON users (last)")
    else
      db:exec("CREATE INDEX users_last ON users (last)")
    end
  end,
  downgrade = function(db) db:exec("DROP INDEX users_last" .. (db.driver == "mysql" and " ON users" or "")) end,
}
LUA
write_rev $V c3 c2 "after" "INSERT INTO users (id, first, last) VALUES (5, 'e', 'f');" "DELETE FROM users WHERE id = 5;"
run upgrade head
expect_rc 0 "lua revision outside a transaction"
run current
expect_eq "$OUT" "c3" "version table right after a step outside the transaction"
run downgrade base
expect_rc 0 "and back"

# ctx.tenant, with database tenants (one SQLite file each)
if [ "$D" = sqlite ]; then
    sed -i "s|^url = .*|url = sqlite:///$T_TMP/tenant_{tenant}.db|" mig.ini
    rm -f migrations/versions/*
    write_lua $V d1 "" "tenant" <<'LUA'
return { upgrade = function(db, ctx) ctx.log("for tenant " .. tostring(ctx.tenant)) end }
LUA
    run -v --tenant acme upgrade head
    expect_rc 0 "lua revision for a tenant"
    expect_err "tenant acme: for tenant acme"
fi

# ---------------------------------------------------------------------------
# post-write hooks: lua, exec (PATH and relative), sqlformat; after merge too
rm -rf migrations mig.ini hooks bin
run init migrations
expect_rc 0 "init"
grep -q '^# sqlformat.script = hooks/sqlformat.lua' mig.ini && pass || fail "mig init: no sqlformat example in mig.ini"
sed -i "s|^url = .*|url = $URL|" mig.ini
mkdir -p hooks bin
cat > hooks/stamp.lua <<'LUA'
return function(path, ctx)
  local f = assert(io.open(path, "a"))
  f:write("-- stamped ", ctx.revision, " by ", ctx.x.who or "?", "\n")
  f:close()
end
LUA
cat > bin/addline <<'SH'
#!/bin/sh
echo "addline ran on $1"
echo "-- exec hook was here" >> "$1"
SH
cat > failer.sh <<'SH'
#!/bin/sh
exit 3
SH
chmod +x bin/addline failer.sh
cat >> mig.ini <<'INI'
[post_write_hooks]
hooks = stamp, add
stamp.type = lua
stamp.script = hooks/stamp.lua
add.type = exec
add.executable = addline
add.options = REVISION_SCRIPT_FILENAME
INI
PATH="$T_TMP/bin:$PATH" run -x who=bob revision -m "first" --rev-id p1
expect_rc 0 "post-write hooks"
expect_eq "$OUT" "$T_TMP/migrations/versions/p1_first.sql" "stdout is just the path"
expect_err "addline ran on"
P1=migrations/versions/p1_first.sql
expect_eq "$(tail -2 $P1 | tr '\n' '|')" "-- stamped p1 by bob|-- exec hook was here|" "hooks ran in order"

# a failing command: reported, the file kept
sed -i 's|^add.executable = .*|add.executable = ./failer.sh|' mig.ini
run revision -m "second" --rev-id p2
expect_rc 1 "failing post-write hook"
expect_err "post-write hook 'add' failed: ./failer.sh exited with status 3"
[ -f migrations/versions/p2_second.sql ] && pass || fail "the file of a failing hook was not kept"

# a command not on PATH
sed -i 's|^add.executable = .*|add.executable = no-such-formatter-here|' mig.ini
run revision -m "second b" --rev-id p2b --head p2
expect_rc 1 "post-write command not found"
expect_err "cannot run no-such-formatter-here"
rm -f migrations/versions/p2b_*

# a Lua error in a post-write hook names its file and line
echo 'return function(path) error("no thanks") end' > hooks/stamp.lua
sed -i 's|^hooks = stamp, add|hooks = stamp|' mig.ini
run revision -m "third" --rev-id p3 --head p2
expect_rc 1 "lua post-write hook error"
expect_err "post-write hook 'stamp' failed at .*stamp.lua:1: no thanks"

# the shipped formatter, found without copying it into the project
cat > mig.ini.tail <<'INI'
[post_write_hooks]
hooks = sqlformat
sqlformat.type = lua
sqlformat.script = hooks/sqlformat.lua
INI
sed -i '/^\[post_write_hooks\]/,$d' mig.ini
cat mig.ini.tail >> mig.ini
printf -- '-- mig:revision ${revision}\n-- mig:down_revision ${down_revision}\n-- mig:message ${message}\n\n-- mig:upgrade\nselect id, name from users where id = 1;\n\n-- mig:downgrade\n\n' > migrations/template.sql
run revision -m "formatted" --rev-id p4 --head p3
expect_rc 0 "sqlformat post-write hook"
grep -q '^SELECT id, name$' migrations/versions/p4_formatted.sql && pass || fail "sqlformat did not format: $(cat migrations/versions/p4_formatted.sql)"
grep -q '^-- mig:message formatted$' migrations/versions/p4_formatted.sql && pass || fail "header changed"

# merge runs them too
run revision -m "side" --rev-id p5 --head p1 --splice
run merge -m "join" --rev-id p6
expect_rc 0 "merge with post-write hook"
grep -q '^FROM users$' migrations/versions/p6_join.sql && pass || fail "post-write hook did not run after merge"

# ---------------------------------------------------------------------------
# docs/lua.md runs as written (its ```sh blocks, in order, on SQLite)
if [ "$D" = sqlite ]; then
    awk '/^```sh$/{f=1;next} /^```$/{f=0} f' "$MIG_SRC/docs/lua.md" > "$T_TMP/lua_md.sh"
    mkdir -p "$T_TMP/docrun"
    if (cd "$T_TMP/docrun" && PATH="$(dirname "$MIG"):$PATH" bash -e "$T_TMP/lua_md.sh") >"$T_TMP/doc.out" 2>&1; then
        pass
        grep -q "filled 2 names on sqlite" "$T_TMP/doc.out" && pass || fail "docs/lua.md: no ctx.log line"
        grep -q "^FROM users$" "$T_TMP/doc.out" && pass || fail "docs/lua.md: sqlformat did not run"
        grep -q "exit 1" "$T_TMP/doc.out" && pass || fail "docs/lua.md: the failing examples did not fail"
    else
        fail "docs/lua.md does not run as written: $(tail -5 "$T_TMP/doc.out")"
    fi
fi

done_testing
