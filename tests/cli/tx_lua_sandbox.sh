#!/bin/bash
# [lua] sandbox = true on every driver (MIG_TEST_DRIVER): revisions, [hooks]
# scripts and the tenants script see the allow-list only (base functions
# without dofile/loadfile, string, table, math, utf8, coroutine,
# os.time/clock/date, db and ctx; require of the project's Lua files), and
# still do their data work. Without the key Lua is unrestricted, but no
# chunk is ever loaded as bytecode.
. "$MIG_SRC/tests/cli/lib.sh"

V=migrations/versions
write_lua() { # write_lua ID DOWN MESSAGE: a Lua revision whose body comes on stdin
    {
        echo "-- mig:revision $1"
        [ -n "$2" ] && echo "-- mig:down_revision $2"
        echo "-- mig:message $3"
        echo
        cat
    } > "$V/$1_$3.lua"
}

new_db sandbox
project
mkdir -p hooks
cat >> mig.ini <<'INI'
[hooks]
scripts = hooks/probe.lua
[lua]
sandbox = true
INI
printf 'return { twice = function(x) return 2 * x end }\n' > hooks/util.lua
# what a script can reach, as one line: NAME=yes|no
cat > hooks/probe_list.lua <<'LUA'
return function()
  local r = {}
  for _, n in ipairs{ "io", "debug", "package", "dofile", "loadfile", "os.execute", "os.getenv",
                      "os.remove", "os.exit", "os.time", "os.clock", "os.date", "string.rep",
                      "table.concat", "math.floor", "utf8.char", "coroutine.wrap", "require",
                      "load", "pcall" } do
    local v = _G
    for part in n:gmatch("[^.]+") do v = type(v) == "table" and v[part] or nil end
    r[#r + 1] = n .. "=" .. (v and "yes" or "no")
  end
  return table.concat(r, " ")
end
LUA
cat > hooks/probe.lua <<'LUA'
local list = require("probe_list")
return { before_each = function(db, ctx) ctx.log("hook sees: " .. list()) end }
LUA
write_lua 111111111111 "" sandboxed <<'LUA'
local list = require("probe_list")
return {
  upgrade = function(db, ctx)
    ctx.log("revision sees: " .. list())
    ctx.log("util: " .. require("util").twice(21))
    ctx.log("require io: " .. tostring((pcall(require, "io"))))
    ctx.log("require a C module: " .. tostring((pcall(require, "lfs"))))
    ctx.log("bytecode: " .. tostring(load(string.dump(function() return 1 end), "x", "b")))
    ctx.log("date: " .. os.date("!%Y", 0))
    db:exec("CREATE TABLE sandboxed (x INTEGER)")
    db:exec("INSERT INTO sandboxed VALUES (" .. math.floor(2.5) .. ")")
  end,
  downgrade = function(db, ctx) db:exec("DROP TABLE sandboxed") end,
}
LUA
run upgrade head
expect_rc 0 "sandboxed revision and hook run"
ALLOWED="os.time=yes os.clock=yes os.date=yes string.rep=yes table.concat=yes math.floor=yes utf8.char=yes coroutine.wrap=yes require=yes load=yes pcall=yes"
DENIED="io=no debug=no package=no dofile=no loadfile=no os.execute=no os.getenv=no os.remove=no os.exit=no"
expect_err "revision sees: $DENIED $ALLOWED"
expect_err "hook sees: $DENIED $ALLOWED"
expect_err "util: 42"
expect_err "require io: false"
expect_err "require a C module: false"
expect_err "bytecode: nil"
expect_err "date: 1970"
expect_eq "$(sql 'SELECT x FROM sandboxed')" 2 "the sandboxed revision did its data work"

# a sandboxed script that reaches for what is not there fails with its file:line
write_lua 222222222222 111111111111 escape <<'LUA'
return { upgrade = function(db, ctx) os.execute("true") end }
LUA
run upgrade head
expect_rc 1 "os.execute in the sandbox"
expect_err "222222222222_escape.lua:[0-9]+: .*execute"
rm -f "$V"/222222222222_*.lua

# the tenants script is sandboxed too (it raises, to show what it saw)
cat > hooks/tenants.lua <<'LUA'
error("saw io=" .. tostring(io) .. " getenv=" .. tostring(os.getenv) .. " date=" .. type(os.date))
LUA
cp mig.ini ten.ini
printf '[tenants]\nscript = hooks/tenants.lua\n' >> ten.ini
run -c ten.ini --all-tenants current
expect_rc 2 "sandboxed tenants script"
expect_err "tenants script failed at .*tenants.lua:1: saw io=nil getenv=nil date=function"

# without the key: unrestricted (trusted code), but still no bytecode
sed -i '/^\[lua\]/,$d' mig.ini
write_lua 333333333333 111111111111 open <<'LUA'
return {
  upgrade = function(db, ctx)
    ctx.log("io: " .. tostring(io ~= nil) .. " getenv: " .. tostring(os.getenv ~= nil))
    local f = string.dump(function() return 1 end)
    ctx.log("load b: " .. tostring(load(f, "x", "b")) .. " load bt: " .. tostring(load(f, "x", "bt")))
    local name = os.tmpname()
    local out = io.open(name, "wb"); out:write(f); out:close()
    ctx.log("loadfile b: " .. tostring(loadfile(name, "b")) .. " dofile: " .. tostring(pcall(dofile, name)))
    os.remove(name)
  end,
}
LUA
run upgrade head
expect_rc 0 "unsandboxed revision"
expect_err "io: true getenv: true"
expect_err "load b: nil load bt: nil"
expect_err "loadfile b: nil dofile: false"
# a precompiled module on the hooks path is not loaded either
if command -v luac5.4 >/dev/null; then
    printf 'return { x = 1 }\n' > "$T_TMP/m.lua"
    luac5.4 -o hooks/binmod.lua "$T_TMP/m.lua"
    write_lua 444444444444 333333333333 binmod <<'LUA'
return { upgrade = function(db, ctx) ctx.log("binmod: " .. tostring((pcall(require, "binmod")))) end }
LUA
    run upgrade head
    expect_rc 0 "revision requiring a precompiled module"
    expect_err "binmod: false"
fi

# a sandbox value that is no boolean is a configuration error at its line
write_lua 555555555555 "" pending <<'LUA'
return { upgrade = function(db, ctx) end }
LUA
printf '[lua]\nsandbox = maybe\n' >> mig.ini
run upgrade head
expect_rc 2 "sandbox = maybe"
expect_err "mig.ini:[0-9]+: \[lua\] sandbox: 'maybe' is not a boolean"

done_testing
