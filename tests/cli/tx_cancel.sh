#!/usr/bin/env bash
# Ctrl-C and mig_cancel during a long statement (postgres pg_sleep, mysql
# SLEEP(), sqlite a recursive CTE): the first SIGINT (or SIGTERM) to `mig
# upgrade` cancels the running statement through the driver and rolls back
# what is open: exit 1, "stopping safely" and "cancelled:" on stderr, long
# before the statement would have ended, the revision not recorded and the
# database as before (postgres/sqlite: the whole run; mysql: the revisions
# before it stay, as after any failure), and the next upgrade runs; a run
# per tenant starts no further tenant; mig_cancel from another thread of an
# embedding application does the same (a db:backfill finishes its batch);
# a Lua revision looping in Lua stops too, and one in a long db:query.
. "$MIG_SRC/tests/cli/lib.sh"
V=migrations/versions
R1=c1a000000001
R2=c1a000000002

case "$MIG_TEST_DRIVER" in
postgres) LONG="SELECT pg_sleep(60);" ;;
mysql)    LONG="SELECT SLEEP(60);" ;;
sqlite)   LONG="WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000000000) SELECT count(*) FROM c;" ;;
esac

# fresh NAME: an empty database and a project: R1 a table, R2 the long statement then a table
fresh() {
    mkdir -p "$T_TMP/$1"
    cd "$T_TMP/$1"
    new_db "$1"
    project
    write_rev $V $R1 "" "first" "CREATE TABLE t_first (x INTEGER);" "DROP TABLE t_first;"
    write_rev $V $R2 $R1 "slow" "$LONG
CREATE TABLE t_second (x INTEGER);" "DROP TABLE t_second;"
}

start_bg() {
    "$MIG" "$@" >"$T_TMP/.out" 2>"$T_TMP/.err" &
    BG=$!
}
# wait_bg: wait for the background mig, at most 30 s (a statement never
# cancelled would run for a minute): kill -9 and fail past that
wait_bg() {
    local i
    for i in $(seq 1 300); do
        kill -0 "$BG" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$BG" 2>/dev/null; then
        kill -9 "$BG"
        fail "mig did not stop within 30 s of the signal"
    fi
    wait "$BG"
    RC=$?
    OUT=$(cat "$T_TMP/.out")
    ERR=$(cat "$T_TMP/.err")
}
# in_long: wait until the long statement runs (its step's line is out, and the server shows it)
in_long() {
    local i
    for i in $(seq 1 300); do
        if grep -q -- "-> $R2" "$T_TMP/.err" 2>/dev/null; then
            case "$MIG_TEST_DRIVER" in
            postgres) [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%' AND state = 'active'")" = 1 ] && return 0 ;;
            mysql)    [ "$(sql "SELECT count(*) FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(60)%'")" = 1 ] && return 0 ;;
            sqlite)   sleep 0.3; return 0 ;;
            esac
        fi
        sleep 0.1
    done
    fail "the long statement never started: $(cat "$T_TMP/.err")"
}
# still_running: does the server still run the long statement?
still_running() {
    case "$MIG_TEST_DRIVER" in
    postgres) sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%' AND state = 'active'" ;;
    mysql)    sql "SELECT count(*) FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(60)%'" ;;
    sqlite)   echo 0 ;;
    esac
}
# unchanged WHAT: the run left the database as it found it
unchanged() {
    if [ "$MIG_TEST_DRIVER" = mysql ]; then
        # no transactional DDL: R1 committed with its version row before R2 began
        expect_eq "$(sql "SELECT version_num FROM mig_version" | tr -d '\r')" "$R1" "$1: version table"
        table_exists t_first && pass || fail "$1: t_first (R1 stays applied)"
    else
        expect_eq "$(sql "SELECT count(*) FROM mig_version" 2>/dev/null | tr -d '\r')" "" "$1: version table (rolled back with its creation)"
        table_exists t_first && fail "$1: t_first left behind" || pass
    fi
    table_exists t_second && fail "$1: t_second created" || pass
    expect_eq "$(sql "SELECT count(*) FROM mig_history WHERE revision = '$R2' AND state = 'done'" 2>/dev/null | tr -d '\r')" \
        "$([ "$MIG_TEST_DRIVER" = mysql ] && echo 0)" "$1: $R2 not recorded as done"
    expect_eq "$(still_running | tr -d '\r')" 0 "$1: the statement no longer runs on the server"
}
# goes_on WHAT: without the long statement, the next upgrade applies everything
goes_on() {
    write_rev $V $R2 $R1 "slow" "CREATE TABLE t_second (x INTEGER);" "DROP TABLE t_second;"
    run upgrade head
    expect_rc 0 "$1: the next upgrade"
    expect_eq "$(sql "SELECT version_num FROM mig_version" | tr -d '\r')" "$R2" "$1: at head afterwards"
}

# ---- SIGINT to mig upgrade
fresh sigint
start_bg upgrade head
in_long
t0=$(date +%s)
kill -INT "$BG"
wait_bg
t1=$(date +%s)
expect_rc 1 "SIGINT"
expect_err "mig: stopping safely \(interrupt again to cancel whatever still runs\)"
expect_err "cancelled: "
expect_err "$R2"
[ $((t1 - t0)) -lt 15 ] && pass || fail "SIGINT: took $((t1 - t0)) s: the statement was not cancelled"
unchanged "SIGINT"
goes_on "SIGINT"

# ---- SIGTERM, the same
fresh sigterm
start_bg upgrade head
in_long
kill -TERM "$BG"
wait_bg
expect_rc 1 "SIGTERM"
expect_err "cancelled: "
unchanged "SIGTERM"

# ---- --json: the error in the document, still exit 1
fresh json
start_bg --json upgrade head
in_long
kill -INT "$BG"
wait_bg
expect_rc 1 "SIGINT --json"
expect_json "SIGINT --json"
expect_out "\"message\": *\"cancelled: "

# ---- a Lua revision busy in Lua, never reaching the database, stops too
if [ "$MIG_TEST_DRIVER" != mysql ]; then
    fresh lua
    rm -f $V/${R2}_*.sql
    printf -- '-- mig:revision %s\n-- mig:down_revision %s\n-- mig:message spin\n\nreturn { upgrade = function(db) db:exec("CREATE TABLE t_second (x INTEGER)") while true do end end }\n' \
        $R2 $R1 > $V/${R2}_spin.lua
    start_bg upgrade head
    for _ in $(seq 1 100); do grep -q -- "-> $R2" "$T_TMP/.err" && break; sleep 0.1; done
    sleep 0.5
    kill -TERM "$BG"
    wait_bg
    expect_rc 1 "Lua loop: SIGTERM"
    expect_err "cancelled: revision $R2 failed at .*_spin.lua:5: cancelled"
    table_exists t_second && fail "Lua loop: t_second left behind" || pass
fi

# ---- a long db:query in a Lua revision: the first signal cancels it, as db:exec
fresh luaquery
rm -f $V/${R2}_*.sql
cat > $V/${R2}_query.lua <<LUA
-- mig:revision $R2
-- mig:down_revision $R1
-- mig:message slow query

return { upgrade = function(db) db:query("${LONG%;}") db:exec("CREATE TABLE t_second (x INTEGER)") end }
LUA
start_bg upgrade head
# in_long's server check does not fit: PostgreSQL runs a query through a cursor
for _ in $(seq 1 100); do grep -q -- "-> $R2" "$T_TMP/.err" && break; sleep 0.1; done
sleep 1
t0=$(date +%s)
kill -INT "$BG"
wait_bg
t1=$(date +%s)
expect_rc 1 "db:query: SIGINT"
expect_err "cancelled: "
[ $((t1 - t0)) -le 10 ] && pass || fail "db:query: took $((t1 - t0)) s after the signal"
table_exists t_second && fail "db:query: t_second created" || pass

# ---- SQLite: the first signal ends a wait for another writer's lock
# (the driver's busy handler gives up when cancelled): exit 1 at once,
# long before the holder lets go, with "cancelled", nothing applied
if [ "$MIG_TEST_DRIVER" = sqlite ]; then
    fresh lockwait
    write_rev $V $R2 $R1 "slow" "CREATE TABLE t_second (x INTEGER);" "DROP TABLE t_second;"
    sql "CREATE TABLE other (x INTEGER)"
    printf 'BEGIN IMMEDIATE;\nINSERT INTO other VALUES (1);\n.shell sleep 8\nCOMMIT;\n' | sqlite3 "$DB_FILE" >/dev/null &
    HOLDER=$!
    sleep 0.5
    start_bg --lock-timeout 60 upgrade head
    for _ in $(seq 1 100); do grep -q "waiting for the database write lock" "$T_TMP/.err" && break; sleep 0.1; done
    t0=$(date +%s)
    kill -INT "$BG"
    wait_bg
    t1=$(date +%s)
    expect_rc 1 "lock wait: first SIGINT"
    expect_err "mig: stopping safely"
    expect_err "mig: cancelled: "
    expect_no "interrupted again"
    [ $((t1 - t0)) -le 3 ] && pass || fail "lock wait: took $((t1 - t0)) s after the first signal"
    kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null
    table_exists t_first && fail "lock wait: t_first created" || pass
fi

# ---- mig_cancel from another thread of an embedding application
EMBED=$MIG_BUILD/examples/mig_embed_example
if [ -x "$EMBED" ]; then
    fresh embed
    set +e
    t0=$(date +%s)
    "$EMBED" --cancel-after 1500 mig.ini >"$T_TMP/.out" 2>"$T_TMP/.err"
    RC=$?
    t1=$(date +%s)
    set -e 2>/dev/null; set +e
    ERR=$(cat "$T_TMP/.err"); OUT=$(cat "$T_TMP/.out")
    expect_rc 1 "mig_cancel"
    expect_err "^embed: cancelled: "
    [ $((t1 - t0)) -lt 15 ] && pass || fail "mig_cancel: took $((t1 - t0)) s: the statement was not cancelled"
    unchanged "mig_cancel"
    goes_on "mig_cancel"
fi

# ---- mig_cancel during a db:backfill: the running batch finishes (its
# db:exec calls are not refused), commits with its checkpoint, and the
# backfill pauses; the next upgrade does the rest, every row once
if [ -x "$EMBED" ]; then
    fresh backfill
    rm -f $V/*.sql
    write_rev $V $R1 "" "items" "CREATE TABLE items (id INTEGER NOT NULL PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0);" \
        "DROP TABLE items;"
    cat > $V/${R2}_backfill.lua <<LUA
-- mig:revision $R2
-- mig:down_revision $R1
-- mig:message count rows
-- mig:transaction false
return {
  upgrade = function(db, ctx)
    db:backfill{ table = "items", key = "id", name = "items_n", batch = 50,
                 each = function(rows, db)
                   for _, r in ipairs(rows) do db:exec("UPDATE items SET n = n + 1 WHERE id = ?", r.id) end
                   local t = os.clock() while os.clock() - t < 0.2 do end
                 end }
  end,
  downgrade = function(db, ctx) db:exec("UPDATE items SET n = 0") end,
}
LUA
    run upgrade $R1
    expect_rc 0 "backfill: first revision"
    for i in $(seq 1 500); do echo "INSERT INTO items (id) VALUES ($i);"; done > fill.sql
    case "$MIG_TEST_DRIVER" in
    sqlite)   sqlite3 "$DB_FILE" < fill.sql ;;
    postgres) psql -X -q -h "$MIG_TEST_PG_HOST" -p "$MIG_TEST_PG_PORT" -U "$MIG_TEST_PG_USER" -d "$DB_NAME" -f fill.sql ;;
    mysql)    mariadb --no-defaults -h "$MIG_TEST_MY_HOST" -P "$MIG_TEST_MY_PORT" --protocol=tcp -u "$MIG_TEST_MY_USER" "$DB_NAME" < fill.sql ;;
    esac
    set +e
    "$EMBED" --cancel-after 700 mig.ini >"$T_TMP/.out" 2>"$T_TMP/.err"
    RC=$?
    set -e 2>/dev/null; set +e
    ERR=$(cat "$T_TMP/.err"); OUT=$(cat "$T_TMP/.out")
    expect_rc 1 "backfill: mig_cancel"
    expect_err "paused at id [0-9,]+"
    done_rows=$(sql "SELECT count(*) FROM items WHERE n = 1" | tr -d '\r')
    expect_eq "$(sql "SELECT count(*) FROM items WHERE n > 1" | tr -d '\r')" 0 "backfill: no row twice"
    expect_eq "$(sql "SELECT rows_done FROM mig_backfill WHERE name = 'items_n'" | tr -d '\r')" "$done_rows" \
        "backfill: the checkpoint counts the rows done"
    [ "$done_rows" -gt 0 ] && [ $((done_rows % 50)) = 0 ] && [ "$done_rows" -lt 500 ] && pass \
        || fail "backfill: $done_rows rows done: not whole batches short of the end"
    run upgrade head
    expect_rc 0 "backfill: the next upgrade"
    expect_eq "$(sql "SELECT count(*) FROM items WHERE n = 1" | tr -d '\r')" 500 "backfill: every row once"
fi

# ---- tenants: the running tenant is cancelled, the others never start
if [ "$MIG_TEST_DRIVER" = sqlite ]; then
    mkdir -p "$T_TMP/tenants" && cd "$T_TMP/tenants"
    mkdir -p migrations/versions tenants
    cat > mig.ini <<INI
[mig]
script_location = migrations
url = sqlite:tenants/{tenant}.db

[tenants]
list = one, two, three
INI
    write_rev $V $R1 "" "first" "CREATE TABLE t_first (x INTEGER);" "DROP TABLE t_first;"
    write_rev $V $R2 $R1 "slow" "$LONG
CREATE TABLE t_second (x INTEGER);" "DROP TABLE t_second;"
    start_bg -v --all-tenants -j 1 --keep-going upgrade head
    in_long
    kill -INT "$BG"
    wait_bg
    expect_rc 1 "tenants: SIGINT"
    expect_err "cancelled: "
    n=0
    for t in one two three; do [ -f "tenants/$t.db" ] && n=$((n + 1)); done
    expect_eq "$n" 1 "tenants: only the first tenant's database was touched (--keep-going notwithstanding)"
    expect_err "two .*not started"
fi

done_testing
