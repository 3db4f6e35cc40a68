#!/usr/bin/env bash
# Values mig cannot pass on as they are are errors, not silently changed,
# on every driver (MIG_TEST_DRIVER):
#   - a NUL byte in SQL text, an identifier, a ctx.log or print line (the C
#     APIs stop at it: quote_ident("users\0; DROP") used to give "users");
#   - a non-finite number where the database cannot store it (MariaDB: NaN
#     and infinity; SQLite: NaN, which it would store as NULL), while
#     PostgreSQL gets 'NaN' and 'Infinity' and SQLite infinity as they are.
. "$MIG_SRC/tests/cli/lib.sh"

D=$MIG_TEST_DRIVER
new_db strict
project
V=migrations/versions
mkdir -p $V

# lua_rev BODY: the only revision, whose upgrade is BODY
lua_rev() {
    rm -f $V/*
    printf -- '-- mig:revision 5c0000000001\n-- mig:message strict\n\nreturn {\n  upgrade = function(db, ctx)\n%s\n  end,\n  downgrade = function() end,\n}\n' "$1" \
        > $V/5c0000000001_strict.lua
}

# rows in tgt tell whether the revision's work was rolled back (MariaDB's DDL is not)
sql "CREATE TABLE tgt (x INTEGER)"

# ---- NUL bytes
for body in 'db:exec("CREATE TABLE nul_t (x INTEGER)\0; DROP TABLE tgt")' \
            'db:query("SELECT 1 AS a\0; DROP TABLE tgt")' \
            'for r in db:rows("SELECT 1 AS a\0; DROP TABLE tgt") do end' \
            'db:exec("CREATE TABLE " .. db:quote_ident("users\0; DROP") .. " (x INTEGER)")' \
            'ctx.log("line\0hidden")' \
            'print("line\0hidden")'; do
    lua_rev "db:exec(\"INSERT INTO tgt (x) VALUES (1)\")
    $body"
    run upgrade head
    expect_rc 1 "NUL byte: $body"
    expect_err "NUL byte"
    table_exists tgt && pass || fail "$body: what follows the NUL was run"
    expect_eq "$(sql "SELECT count(*) FROM tgt")" 0 "$body: the revision was rolled back"
    table_exists users && fail "$body: quote_ident cut the name at the NUL" || pass
    run current
    expect_eq "$OUT" "" "$body: no revision applied"
done

# ---- NaN and infinity
lua_rev '
    local function get(v) return db:query("SELECT ? AS a", v)[1].a end
    local nan, inf = get(0/0), get(1/0)
    if nan == nan then error("NaN came back as " .. tostring(nan)) end
    if inf ~= math.huge then error("infinity came back as " .. tostring(inf)) end
    if get(-1/0) ~= -math.huge then error("-infinity came back wrong") end
    ctx.log("non-finite numbers round-trip")'
run upgrade head
case "$D" in
postgres)
    expect_rc 0 "PostgreSQL stores NaN and infinity"
    expect_err "non-finite numbers round-trip" ;;
mysql)
    expect_rc 1 "MariaDB refuses NaN"
    expect_err "parameter 1 is NaN, which MariaDB and MySQL cannot store" ;;
sqlite)
    expect_rc 1 "SQLite refuses NaN"
    expect_err "parameter 1 is NaN, which SQLite cannot store" ;;
esac
for v in '1/0' '-1/0'; do
    lua_rev "local r = db:query(\"SELECT ? AS a\", $v)[1].a
    if r ~= $v then error(\"got \" .. tostring(r)) end"
    run upgrade head
    case "$D" in
    mysql) expect_rc 1 "MariaDB refuses $v"; expect_err "infinity, which MariaDB and MySQL cannot store" ;;
    *)     expect_rc 0 "$D stores $v as it is" ;;
    esac
    run downgrade base
done

done_testing
