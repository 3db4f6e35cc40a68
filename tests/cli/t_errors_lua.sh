#!/usr/bin/env bash
# Bad input, Lua: revisions, hooks and tenant scripts that do not load or
# return the wrong type. Each case exits 2 with a one-line reason naming
# the script (and its line, for a syntax error), never crashes and leaves
# the database as it was. docs/errors.md lists every case; with
# MIG_ERRORS_DOC=FILE each case appends its row.
. "$MIG_SRC/tests/cli/lib.sh"

new_db lua
project
V=migrations/versions
write_rev $V 111111111111 "" "first" "CREATE TABLE t1 (x INTEGER);" "DROP TABLE t1;"
write_rev $V 222222222222 111111111111 "second" "CREATE TABLE t2 (x INTEGER);" "DROP TABLE t2;"
run upgrade 111111111111
expect_rc 0 "setup"
snapshot() { sqlite3 "$DB_FILE" .dump | md5sum; }
BEFORE=$(snapshot)

case_rc2() { # case_rc2 NAME ERR_REGEX mig-args...
    local name=$1 re=$2; shift 2
    run "$@"
    expect_rc 2 "$name"
    expect_err "$re"
    one_line_err
    expect_eq "$(snapshot)" "$BEFORE" "database unchanged after $name"
    if [ -n "${MIG_ERRORS_DOC:-}" ]; then
        printf '| %s | `%s` | %s | `%s` |\n' "$name" "mig $*" "$RC" \
            "$(printf '%s' "$ERR" | head -1 | sed "s#$T_TMP/##g")" >> "$MIG_ERRORS_DOC"
    fi
}
L=$V/333333333333_lua.lua
HEAD='-- mig:revision 333333333333\n-- mig:down_revision 222222222222\n'
lua_rev() { # lua_rev NAME ERR_REGEX BODY
    printf "%b%b" "$HEAD" "$3" > $L
    case_rc2 "$1" "$2" upgrade head
    rm -f $L
}
lua_rev "Lua revision with a syntax error" "333333333333_lua.lua:4: syntax error" \
    'return { upgrade = function(db, ctx) db:exec("SELECT 1") end\n'
lua_rev "Lua revision returning a number" "333333333333_lua.lua: the file returned number, not a table" 'return 42\n'
lua_rev "Lua revision whose upgrade is no function" "333333333333_lua.lua: the returned table has no upgrade function \(upgrade is string\)" \
    'return { upgrade = "CREATE TABLE x (y INTEGER)" }\n'
lua_rev "Lua revision raising while it loads" "333333333333_lua.lua:3: boom" 'error("boom")\n'
mkdir -p hooks
mkfifo hooks/fifomod.lua
SAVED_RUN=("${MIG_RUN[@]}"); MIG_RUN=(timeout 60 "${MIG_RUN[@]}")
lua_rev "Lua revision requiring a module that is a FIFO" "333333333333_lua.lua:3: .*fifomod.lua.*cannot read: not a regular file" \
    'require("fifomod")\nreturn { upgrade = function() end }\n'
MIG_RUN=("${SAVED_RUN[@]}")
rm -f hooks/fifomod.lua
printf "%b%b" "$HEAD" 'return { upgrade = function(db, ctx) end, downgrade = function(db, ctx) end }\n' > $L
case_rc2 "Lua revision in an offline --sql range" "333333333333_lua.lua: revision 333333333333 is a Lua revision" upgrade --sql head
rm -f $L

# migration hooks (they load only when there is something to run: 222222222222 is pending)
mkdir -p hooks
hook_ini() { printf '[mig]\nscript_location = migrations\nurl = %s\n[hooks]\nscripts = hooks/%s\n' "$URL" "$1" > hooks.ini; }
hook_case() { # hook_case NAME ERR_REGEX SCRIPT_TEXT
    printf '%b' "$3" > hooks/h.lua
    hook_ini h.lua
    case_rc2 "$1" "$2" -c hooks.ini upgrade head
}
hook_case "hook script with a syntax error" "hooks/h.lua:2: syntax error" 'return { before_each = function(db, ctx)\n'
hook_case "hook script returning a number" "hooks/h.lua: the script returned number, not a table of hook functions" 'return 42\n'
hook_case "hook that is no function" "hooks/h.lua: before_each is number, not a function" 'return { before_each = 7 }\n'
hook_case "hook script raising while it loads" "hooks/h.lua:1: no hooks today" 'error("no hooks today")\n'
hook_ini nope.lua
case_rc2 "hook script that does not exist" "hooks.ini:5: hook script .*nope.lua" -c hooks.ini upgrade head

# a FIFO where a hook script should be: an error naming it, never a hang
rm -f hooks/h.lua
mkfifo hooks/h.lua
hook_ini h.lua
SAVED_RUN=("${MIG_RUN[@]}"); MIG_RUN=(timeout 60 "${MIG_RUN[@]}")
case_rc2 "hook script that is a FIFO" "hooks/h.lua: cannot read: not a regular file" -c hooks.ini upgrade head
MIG_RUN=("${SAVED_RUN[@]}")
rm -f hooks/h.lua

# tenant scripts
ten_case() { # ten_case NAME ERR_REGEX SCRIPT_TEXT
    printf '%b' "$3" > hooks/tenants.lua
    printf '[mig]\nscript_location = migrations\nurl = %s\n[tenants]\nscript = hooks/tenants.lua\n' "$URL" > ten.ini
    case_rc2 "$1" "$2" -c ten.ini --all-tenants upgrade head
}
ten_case "tenants script returning a number" "tenants.lua: the script must return a list of names, got number" 'return 5\n'
ten_case "tenants script listing a table" "tenants.lua: tenant 2 is a table, not a name" 'return { "a", {} }\n'
ten_case "tenants script with a syntax error" "tenants.lua:2: syntax error" 'return {\n'
# the list's length and items may come from metamethods: they run protected too
ten_case "tenants script whose __len raises" "tenants script failed at .*tenants.lua:1: boom" \
    'return setmetatable({}, {__len = function() error("boom") end})\n'
ten_case "tenants script whose __len returns a string" "tenants.lua: object length is not an integer" \
    'return setmetatable({}, {__len = function() return "many" end})\n'
ten_case "tenants script whose __len is huge" "tenants.lua: the list has 4611686018427387904 names: at most 1000000" \
    'return setmetatable({}, {__len = function() return 1 << 62 end, __index = function(t, i) return "t" .. i end})\n'
ten_case "tenants script whose __index raises" "tenants.lua:1: no such tenant" \
    'return setmetatable({}, {__len = function() return 1 end, __index = function() error("no such tenant") end})\n'
ten_case "tenants script raising a table" "tenants.lua:1: table: 0x" 'error({})\n'
ten_case "tenants function raising nil" "tenants.lua:1: nil\$" 'return function() error(nil) end\n'
rm -f hooks/tenants.lua
mkfifo hooks/tenants.lua
MIG_RUN=(timeout 60 "${SAVED_RUN[@]}")
case_rc2 "tenants script that is a FIFO" "tenants.lua: cannot read: not a regular file" -c ten.ini --all-tenants upgrade head
MIG_RUN=("${SAVED_RUN[@]}")
rm -f hooks/tenants.lua

done_testing
