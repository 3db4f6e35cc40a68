#!/usr/bin/env bash
# SPEC §3 (empty sections on every driver), §5 (the state tables, exactly),
# §6 (transactions, part-way failures, what a failure names) and §7 (the Lua
# db API), run once per driver.
. "$MIG_SRC/tests/cli/lib.sh"

new_db spec_state
project
V=migrations/versions
D=$MIG_TEST_DRIVER
ver() { sql "SELECT version_num FROM mig_version ORDER BY version_num" | tr '\n' ' ' | sed 's/ $//'; }
exists() { table_exists "$1" && echo yes || echo no; }
rev() { # rev ID DOWN [HEADER-LINE...] -- BODY-LINES...
    local id=$1 down=$2; shift 2
    {
        echo "-- mig:revision $id"
        [ -n "$down" ] && echo "-- mig:down_revision $down"
        while [ $# -gt 0 ] && [ "$1" != "--" ]; do echo "$1"; shift; done
        shift
        printf '%s\n' "$@"
    } > "$V/${id}_r.sql"
}

# --- §3 "An empty or comment-only section is a step that does nothing, on every driver" ---
rev e00000000001 "" "-- mig:message empty" -- "-- mig:upgrade" "-- mig:downgrade"
rev e00000000002 e00000000001 "-- mig:message comments" -- "-- mig:upgrade" "-- only a comment" "/* a block" "   comment */" "" \
    "-- mig:downgrade" "   -- indented comment"
rev e00000000003 e00000000002 "-- mig:message empty outside a transaction" "-- mig:transaction false" -- \
    "-- mig:upgrade" "" "-- mig:downgrade" "-- nothing"
run upgrade head
expect_rc 0 "§3 empty and comment-only sections upgrade on $D"
expect_eq "$(ver)" e00000000003 "§3 empty sections are steps ($D)"
expect_eq "$(sql "SELECT count(*) FROM mig_history WHERE direction='upgrade' AND state='done'")" 3 "§3 each empty step is recorded ($D)"
run downgrade base
expect_rc 0 "§3 empty and comment-only sections downgrade on $D"
expect_eq "$(ver)" "" "§3 back at base ($D)"
rm -f $V/*

# --- §5 the state tables ---
rev a00000000001 "" "-- mig:message add users table" -- "-- mig:upgrade" \
    "CREATE TABLE users (id integer PRIMARY KEY, email varchar(200) NOT NULL);" \
    "CREATE UNIQUE INDEX users_email ON users (email);" \
    "-- mig:downgrade" "DROP TABLE users;"
run upgrade head
expect_rc 0 "§5 upgrade"
expect_eq "$(ver)" a00000000001 "§5 mig_version holds the head"
case $D in
sqlite)   cols=$(sql "SELECT name FROM pragma_table_info('mig_version')")
          ty=$(sql "SELECT type || ' ' || pk FROM pragma_table_info('mig_version') WHERE name='version_num'")
          expect_eq "$ty" "VARCHAR(64) 1" "§5 version_num VARCHAR(64) PRIMARY KEY ($D)" ;;
postgres) cols=$(sql "SELECT column_name FROM information_schema.columns WHERE table_name='mig_version' ORDER BY ordinal_position")
          ty=$(sql "SELECT data_type || ' ' || character_maximum_length FROM information_schema.columns WHERE table_name='mig_version' AND column_name='version_num'")
          expect_eq "$ty" "character varying 64" "§5 version_num VARCHAR(64) ($D)"
          expect_eq "$(sql "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid=i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid='mig_version'::regclass AND i.indisprimary")" \
              version_num "§5 version_num is the PRIMARY KEY ($D)" ;;
mysql)    cols=$(sql "SELECT column_name FROM information_schema.columns WHERE table_schema=DATABASE() AND table_name='mig_version' ORDER BY ordinal_position")
          ty=$(sql "SELECT column_type, column_key FROM information_schema.columns WHERE table_schema=DATABASE() AND table_name='mig_version' AND column_name='version_num'")
          expect_eq "$ty" "varchar(64)	PRI" "§5 version_num VARCHAR(64) PRIMARY KEY ($D)" ;;
esac
expect_eq "$cols" version_num "§5 mig_version has the one column version_num ($D)"
for c in revision direction checksum started_at duration_ms applied_by state statements_applied; do
    case $D in
    sqlite) n=$(sql "SELECT count(*) FROM pragma_table_info('mig_history') WHERE name='$c'") ;;
    postgres) n=$(sql "SELECT count(*) FROM information_schema.columns WHERE table_name='mig_history' AND column_name='$c'") ;;
    mysql) n=$(sql "SELECT count(*) FROM information_schema.columns WHERE table_schema=DATABASE() AND table_name='mig_history' AND column_name='$c'") ;;
    esac
    expect_eq "$n" 1 "§5 mig_history has the column $c ($D)"
done
sum=$(sha256sum $V/a00000000001_r.sql | cut -d' ' -f1)
expect_eq "$(sql "SELECT revision, direction, checksum, state, statements_applied FROM mig_history WHERE revision='a00000000001'")" \
    "a00000000001	upgrade	$sum	done	2" "§5 one history row: revision, direction, hex SHA-256 of the file's bytes, state, statements ($D)"
sql "SELECT started_at, duration_ms, applied_by FROM mig_history WHERE revision='a00000000001'" | grep -Eq '^20[0-9]{2}-[0-9]{2}-[0-9]{2}.*	[0-9]+	.+$' \
    && pass || fail "§5 started_at, duration_ms, applied_by are filled ($D): $(sql "SELECT started_at, duration_ms, applied_by FROM mig_history")"
run downgrade base
expect_eq "$(sql "SELECT revision, direction, checksum FROM mig_history WHERE direction='downgrade' AND revision='a00000000001'")" \
    "a00000000001	downgrade	$sum" "§5 a downgrade row ($D)"
run stamp head
expect_eq "$(sql "SELECT revision, direction, state FROM mig_history WHERE direction='stamp'")" \
    "a00000000001	stamp	done" "§5 a stamp row ($D)"
run stamp base
expect_eq "$(ver)" "" "§5 stamp base ($D)"

# version_table = alembic_version takes over a database Alembic managed
sql "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
sql "INSERT INTO alembic_version (version_num) VALUES ('a00000000001')"
sql "CREATE TABLE users (id integer PRIMARY KEY, email varchar(200) NOT NULL)"
rev a00000000002 a00000000001 "-- mig:message second" -- "-- mig:upgrade" "CREATE TABLE t2 (x integer);" "-- mig:downgrade" "DROP TABLE t2;"
run --url "$URL" -c /dev/null --script-location migrations current
cat >> mig.ini <<INI
version_table = alembic_version
INI
run current
expect_rc 0 "§5 version_table = alembic_version ($D)"
expect_eq "$OUT" a00000000001 "§5 reads Alembic's table ($D)"
run upgrade head
expect_rc 0 "§5 upgrade over Alembic's table ($D)"
expect_eq "$(sql "SELECT version_num FROM alembic_version")" a00000000002 "§5 alembic_version moves ($D)"
expect_eq "$(exists t2)" yes "§5 the revision ran ($D)"
run downgrade base
sql "DROP TABLE alembic_version"
project
rm -f $V/*
sql "DELETE FROM mig_history"

# --- §6 transactions ---
rev b00000000001 "" "-- mig:message one" -- "-- mig:upgrade" "CREATE TABLE b1 (x integer);" "-- mig:downgrade" "DROP TABLE b1;"
rev b00000000002 b00000000001 "-- mig:message two" -- "-- mig:upgrade" "CREATE TABLE b2 (x integer);" "-- mig:downgrade" "DROP TABLE b2;"
rev b00000000003 b00000000002 "-- mig:message three breaks" -- "-- mig:upgrade" "CREATE TABLE b3 (x integer);" \
    "INSERT INTO no_such_table VALUES (1);" "-- mig:downgrade" "DROP TABLE b3;"
run upgrade head
expect_rc 1 "§6 a failing statement is exit 1 ($D)"
# "A failure names the revision, its file and line, the statement, the database's message and code (SQLSTATE)"
expect_err 'b00000000003'
expect_err 'b00000000003_r\.sql:6'
expect_err 'INSERT INTO no_such_table VALUES \(1\)'
expect_err 'no_such_table'
case $D in
postgres) expect_err 'SQLSTATE 42P01' ;;
mysql)    expect_err 'SQLSTATE 42S02' ;;
sqlite)   expect_err 'error 1|code 1|SQLITE_ERROR' ;;
esac
case $D in
sqlite|postgres)
    expect_eq "$(ver)" "" "§6 the whole run is one transaction: the version table stays where it was ($D)"
    expect_eq "$(exists b1)" no "§6 a failure anywhere rolls everything back ($D)"
    expect_eq "$(exists b3)" no "§6 the failing revision's own DDL is rolled back ($D)"
    # transaction_per_migration = true commits each revision with its version update
    cat >> mig.ini <<INI
transaction_per_migration = true
INI
    run upgrade head
    expect_rc 1 "§6 transaction_per_migration ($D)"
    expect_eq "$(ver)" b00000000002 "§6 transaction_per_migration = true commits each revision ($D)"
    expect_eq "$(exists b2)" yes "§6 per-migration: b2 committed ($D)"
    expect_eq "$(exists b3)" no "§6 per-migration: the failing one rolled back ($D)"
    expect_eq "$(sql "SELECT count(*) FROM mig_history WHERE state='failed'")" 0 "§6 nothing half-recorded ($D)"
    project
    run downgrade base
    expect_rc 0
    # a transaction false revision: what ran before it is committed first, what follows starts anew
    rev b00000000002 b00000000001 "-- mig:message two outside" "-- mig:transaction false" -- "-- mig:upgrade" \
        "CREATE TABLE b2 (x integer);" "-- mig:downgrade" "DROP TABLE b2;"
    run upgrade head
    expect_rc 1 "§6 transaction false in the middle ($D)"
    expect_eq "$(ver)" b00000000002 "§6 before and the transaction false revision are committed ($D)"
    expect_eq "$(exists b1)" yes "§6 what ran before it is committed first ($D)"
    expect_eq "$(exists b3)" no "§6 what follows starts a new transaction, rolled back ($D)"
    run downgrade base
    expect_rc 0
    ;;
mysql)
    # each revision runs with its version update; the failing one is recorded failed, part-way
    expect_eq "$(ver)" b00000000002 "§6 mysql: each revision commits with its version update ($D)"
    expect_eq "$(exists b3)" yes "§6 mysql: the failing revision's first statement stays ($D)"
    expect_eq "$(sql "SELECT state, statements_applied FROM mig_history WHERE revision='b00000000003'")" "failed	1" \
        "§6 mysql: recorded failed with how many statements were applied ($D)"
    ;;
esac

# --- §6 a part-way failure: -- mig:transaction false on any driver, every revision on mysql ---
rm -f $V/b00000000003_r.sql
rev b00000000002 b00000000001 "-- mig:message two" -- "-- mig:upgrade" "CREATE TABLE b2 (x integer);" "-- mig:downgrade" "DROP TABLE b2;"
if [ "$D" != mysql ]; then
    run upgrade head
    expect_rc 0
fi
sql "DELETE FROM mig_history WHERE state='failed'" >/dev/null 2>&1
[ "$D" = mysql ] && sql "DROP TABLE b3"
rev c00000000003 b00000000002 "-- mig:message outside breaks" "-- mig:transaction false" -- "-- mig:upgrade" \
    "CREATE TABLE c3a (x integer);" "CREATE TABLE c3b (x integer);" "INSERT INTO no_such_table VALUES (1);" \
    "CREATE TABLE c3c (x integer);" "-- mig:downgrade" "DROP TABLE c3c;" "DROP TABLE c3b;" "DROP TABLE c3a;"
rev c00000000004 c00000000003 "-- mig:message after" -- "-- mig:upgrade" "CREATE TABLE c4 (x integer);" "-- mig:downgrade" "DROP TABLE c4;"
run upgrade head
expect_rc 1 "§6 a part-way failure ($D)"
expect_eq "$(ver)" b00000000002 "§6 part-way: the version table stays below it ($D)"
expect_eq "$(sql "SELECT state, statements_applied FROM mig_history WHERE revision='c00000000003'")" "failed	2" \
    "§6 recorded as failed with how many statements were applied ($D)"
# later commands refuse and say which revision, which statement, how to go on
run upgrade head
expect_rc 1 "§6 upgrade refuses while a revision failed part-way ($D)"
expect_err 'c00000000003'
expect_err '3'
expect_err -- '--resume'
expect_err 'mig stamp'
run downgrade base
expect_rc 1 "§6 downgrade refuses while a revision failed part-way ($D)"
expect_err 'c00000000003'
run current
expect_rc 0 "§6 current still works ($D)"
expect_eq "$OUT" b00000000002 "§6 current ($D)"
run history
expect_rc 0 "§6 history still works ($D)"
run check
expect_rc 3 "§6 check still works and reports it (exit 3) ($D)"
expect_out 'c00000000003'
# mig upgrade --resume continues at the failed statement once the cause is fixed
sql "CREATE TABLE no_such_table (x integer)"
run upgrade --resume head
expect_rc 0 "§6 upgrade --resume ($D)"
expect_eq "$(ver)" c00000000004 "§6 --resume finishes the run ($D)"
expect_eq "$(sql "SELECT count(*) FROM no_such_table")" 1 "§6 --resume ran the failed statement once ($D)"
expect_eq "$(exists c3c)" yes "§6 --resume ran the statements after it ($D)"
expect_eq "$(sql "SELECT state, statements_applied FROM mig_history WHERE revision='c00000000003' AND direction='upgrade'")" "done	4" \
    "§6 the row is done with all statements ($D)"
# mig stamp marks it done by hand
run downgrade b00000000002
expect_rc 0 "§6 downgrade after resume ($D)"
sql "DROP TABLE no_such_table"
run upgrade head
expect_rc 1
sql "CREATE TABLE c3c (x integer)"
run stamp c00000000003
expect_rc 0 "§6 mig stamp marks a failed revision done by hand ($D)"
run upgrade head
expect_rc 0 "§6 upgrade goes on after the stamp ($D)"
expect_eq "$(ver)" c00000000004 "§6 after stamp ($D)"
expect_eq "$(sql "SELECT state FROM mig_history WHERE revision='c00000000003' AND direction='stamp'")" done "§6 the stamp is recorded done ($D)"
rm -f $V/*
run stamp --purge base
sql "DELETE FROM mig_history"

# --- §7 the Lua db API on this driver ---
cat > $V/d00000000001_lua.lua <<'LUA'
-- mig:revision d00000000001
-- mig:message lua api
return {
  upgrade = function(db, ctx)
    db:exec("CREATE TABLE lt (id integer PRIMARY KEY, a varchar(20), b double precision, c integer)")
    local n = db:exec("INSERT INTO lt (id, a, b, c) VALUES (?, ?, ?, ?), (?, ?, ?, ?)", 1, "it's ? here", 1.5, 7, 2, nil, nil, nil)
    ctx.log("affected=" .. n .. " driver=" .. db.driver)
    local rows = db:query("SELECT id, a, b, c FROM lt ORDER BY id")
    for i, r in ipairs(rows) do
      ctx.log(string.format("row%d %s|%s|%s|%s", i, math.type(r.id), tostring(r.a), tostring(math.type(r.b)), tostring(math.type(r.c))))
    end
    ctx.log("rows=" .. #rows)
    for r in db:rows("SELECT id FROM lt WHERE a = ?", "it's ? here") do ctx.log("iter " .. r.id) end
    ctx.log("qi=" .. db:quote_ident("lt"))
    ctx.log("ctx " .. ctx.revision .. " " .. ctx.direction .. " " .. tostring(ctx.tenant) .. " " .. tostring(ctx.x.k))
  end,
  downgrade = function(db, ctx) db:exec("DROP TABLE lt") end,
}
LUA
run upgrade head -x k=v=w
expect_rc 0 "§7 a Lua revision ($D)"
expect_err "affected=2 driver=$D"
expect_err 'row1 integer\|it'"'"'s \? here\|float\|integer'
expect_err 'row2 integer\|nil\|nil\|nil'
expect_err 'rows=2'
expect_err 'iter 1'
case $D in mysql) expect_err 'qi=`lt`' ;; *) expect_err 'qi="lt"' ;; esac
expect_err 'ctx d00000000001 upgrade nil v=w'
expect_eq "$(sql "SELECT count(*) FROM lt WHERE a IS NULL")" 1 "§7 nil binds NULL ($D)"
if [ "$D" = postgres ]; then
    cat > $V/d00000000002_bool.lua <<'LUA'
-- mig:revision d00000000002
-- mig:down_revision d00000000001
return {
  upgrade = function(db, ctx)
    local r = db:query("SELECT true AS t, false AS f, NULL AS n, 2.5::float8 AS x, 3::bigint AS i, 'txt' AS s")[1]
    ctx.log(string.format("bool %s %s %s %s %s %s", type(r.t), tostring(r.f), tostring(r.n), math.type(r.x), math.type(r.i), type(r.s)))
  end,
  downgrade = function(db, ctx) end,
}
LUA
    run upgrade head
    expect_rc 0 "§7 types on postgres"
    expect_err 'bool boolean false nil float integer string'
fi
# a Lua error is reported with its file and line; it fails like a statement
cat > $V/d00000000003_err.lua <<'LUA'
-- mig:revision d00000000003
-- mig:down_revision d00000000001
return {
  upgrade = function(db, ctx)
    db:exec("CREATE TABLE le (x integer)")
    error("boom from lua")
  end,
  downgrade = function(db, ctx) end,
}
LUA
run downgrade base
rm -f $V/d00000000002_bool.lua
run upgrade head
expect_rc 1 "§7 a Lua error fails the run ($D)"
expect_err 'd00000000003_err\.lua:6'
expect_err 'boom from lua'
run -q downgrade base
expect_rc 0
rm -f $V/*

# --- §3 the Lua revision of the SPEC, as written there, over a users table ---
cat > $V/1f0e2d3c4b5a_add_users_table.sql <<'SQL'
-- mig:revision 1f0e2d3c4b5a
-- mig:message add users table
-- mig:create_date 2026-11-26 06:00:00
-- mig:branch_labels accounts

-- mig:upgrade
CREATE TABLE users (id integer PRIMARY KEY, email varchar(100) NOT NULL, first varchar(50), last varchar(50), display varchar(100));
CREATE UNIQUE INDEX users_email ON users (email);
INSERT INTO users (id, email, first, last) VALUES (1, 'ada@example.com', 'Ada', 'Lovelace'), (2, 'alan@example.com', 'Alan', 'Turing');

-- mig:downgrade
DROP TABLE users;
SQL
cat > $V/3c9a1e2b7f00_backfill_display_names.lua <<'LUA'
-- mig:revision 3c9a1e2b7f00
-- mig:down_revision 1f0e2d3c4b5a
-- mig:message backfill display names
return {
  upgrade = function(db, ctx)
    for row in db:rows("SELECT id, first, last FROM users WHERE display IS NULL") do
      db:exec("UPDATE users SET display = ? WHERE id = ?", row.first .. " " .. row.last, row.id)
    end
  end,
  downgrade = function(db, ctx) db:exec("UPDATE users SET display = NULL") end,
}
LUA
run upgrade accounts@head
expect_rc 0 "§3 the SPEC's example revisions ($D)"
expect_err '^upgrade 1f0e2d3c4b5a -> 3c9a1e2b7f00  backfill display names  \([0-9]+ ms\)$'
expect_eq "$(sql "SELECT display FROM users ORDER BY id" | tr '\n' '|')" "Ada Lovelace|Alan Turing|" "§3/§7 db:rows with db:exec inside ($D)"
run downgrade -1
expect_rc 0 "§3 the Lua downgrade ($D)"
expect_eq "$(sql "SELECT count(*) FROM users WHERE display IS NULL")" 2 "§3 the Lua downgrade ran ($D)"
run downgrade accounts@base
expect_rc 0

done_testing
