#!/usr/bin/env bash
# db:backfill on each driver: a kill -9 at a random batch (several seeds),
# SIGINT (the batch finishes, the run pauses), a second SIGINT (the running
# batch is rolled back), the server stopped mid-backfill: after each, a
# rerun continues after the last committed batch, so every row is
# processed exactly once (a counter column incremented by the batch ends
# at 1 everywhere), the checkpoint matches the rows done, and the revision
# is recorded as applied once, at the end. Also: an edited file refuses to
# resume until `mig backfill reset`, composite and text keys, `each`,
# status and reset (--json), a transactional revision refused, --sql
# refused, downgrade.
. "$MIG_SRC/tests/cli/lib.sh"
D=$MIG_TEST_DRIVER
V=migrations/versions
R1=b1b1b1b1b1b1 R2=b2b2b2b2b2b2
N=2000

# the rows, written by the database's own client
fill() {
    case $D in
    sqlite)   sql "INSERT INTO items (id) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT $N) SELECT x FROM c" ;;
    postgres) sql "INSERT INTO items (id) SELECT generate_series(1, $N)" ;;
    mysql)    sql "SET SESSION max_recursive_iterations = 1000000; INSERT INTO items (id) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $N) SELECT x FROM c" ;;
    esac
}

# write_bf [OPTIONS]: the backfill revision; OPTIONS go into the db:backfill call
SQLO='sql = "UPDATE items SET n = n + 1 WHERE id > ? AND id <= ?"'
DEF_OPTS="$SQLO, batch = 20, sleep = \"15ms\""
write_bf() {
    local opts=${1:-$DEF_OPTS}
    cat > $V/${R2}_backfill.lua <<LUA
-- mig:revision $R2
-- mig:down_revision $R1
-- mig:message count rows
-- mig:transaction false
return {
  upgrade = function(db, ctx)
    db:backfill{ table = "items", key = "id", name = "items_n",
                 $opts }
  end,
  downgrade = function(db, ctx) db:exec("UPDATE items SET n = 0") end,
}
LUA
}

setup() {
    rm -rf migrations mig.ini
    new_db "$1"
    project
    write_rev $V $R1 "" "items" "CREATE TABLE items (id INTEGER NOT NULL PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0);" \
        "DROP TABLE items;"
    write_bf "${2:-}"
    run upgrade $R1
    expect_rc 0 "$1: first revision"
    fill
}

# consistent WHAT: rows done once each, up to where the checkpoint says
consistent() {
    local twice done_rows ck
    twice=$(sql "SELECT count(*) FROM items WHERE n > 1" | tr -d '\r')
    expect_eq "$twice" 0 "$1: no row processed twice"
    done_rows=$(sql "SELECT count(*) FROM items WHERE n = 1" | tr -d '\r')
    ck=$(sql "SELECT rows_done FROM mig_backfill WHERE name = 'items_n'" 2>/dev/null | tr -d '\r')
    expect_eq "${ck:-0}" "$done_rows" "$1: the checkpoint counts the rows done"
    # keys are 1..N, batches walk them in order: the rows done are a prefix
    local top
    top=$(sql "SELECT coalesce(max(id), 0) FROM items WHERE n = 1" | tr -d '\r')
    expect_eq "$top" "$done_rows" "$1: the rows done are the first ones"
    local v
    v=$(sql "SELECT count(*) FROM mig_version WHERE version_num = '$R2'" | tr -d '\r')
    expect_eq "$v" 0 "$1: not recorded as applied before the backfill finished"
}

# finished WHAT: a rerun finishes it; every row once; applied once
finished() {
    run upgrade head
    expect_rc 0 "$1: rerun"
    local ones
    ones=$(sql "SELECT count(*) FROM items WHERE n = 1" | tr -d '\r')
    expect_eq "$ones" "$N" "$1: every row processed exactly once"
    expect_eq "$(sql "SELECT state, rows_done FROM mig_backfill WHERE name = 'items_n'" | tr -d '\r' | tr '\t' ' ')" \
        "finished $N" "$1: the checkpoint says finished"
    expect_eq "$(sql "SELECT version_num FROM mig_version" | tr -d '\r')" "$R2" "$1: applied"
    expect_eq "$(sql "SELECT count(*) FROM mig_history WHERE revision = '$R2' AND direction = 'upgrade'" | tr -d '\r')" \
        1 "$1: one history row"
}

start_bg() {
    "$MIG" "$@" >"$T_TMP/.out" 2>"$T_TMP/.err" &
    BG=$!
}
wait_bg() {
    wait "$BG"
    RC=$?
    OUT=$(cat "$T_TMP/.out")
    ERR=$(cat "$T_TMP/.err")
}
# wait until the backfill has committed at least one batch (or gave up)
first_batch() {
    local i
    for i in $(seq 1 200); do
        [ "$(sql "SELECT count(*) FROM items WHERE n = 1" 2>/dev/null | tr -d '\r')" -gt 0 ] 2>/dev/null && return 0
        sleep 0.05
    done
}

# ---- kill -9 at a random batch, several seeds, then rerun
for seed in 11 23 37; do
    setup "kill$seed"
    RANDOM=$seed
    for round in 1 2; do
        start_bg upgrade head
        first_batch
        sleep "0.$((RANDOM % 4 + 1))"
        kill -9 "$BG" 2>/dev/null
        wait "$BG" 2>/dev/null
        consistent "kill -9 (seed $seed, round $round)"
    done
    run upgrade head
    expect_err "resuming backfill items_n of $R2 at id [0-9,]+: [0-9]+ % done"
    finished "kill -9 (seed $seed)"
    # nothing more to do, nothing done twice
    run upgrade head
    expect_rc 0 "kill -9 (seed $seed): a third run"
    expect_eq "$(sql "SELECT count(*) FROM items WHERE n <> 1" | tr -d '\r')" 0 "kill -9 (seed $seed): still once"
done

# ---- SIGINT: the running batch finishes, the run pauses (exit 1)
setup sigint
start_bg upgrade head
first_batch
sleep 0.2
kill -INT "$BG"
wait_bg
expect_rc 1 "SIGINT"
# the command's own handler (mig_cancel) is the one that answers: libmig installs none
expect_err "stopping safely \(interrupt again to cancel whatever still runs\)"
expect_err "paused at id [0-9,]+ \([0-9]+ % done\); run mig upgrade again to continue"
expect_eq "$(sql "SELECT state FROM mig_backfill WHERE name = 'items_n'" | tr -d '\r')" paused "SIGINT: paused"
consistent "SIGINT"
run backfill status
expect_rc 0 "backfill status"
expect_out "items_n[[:space:]]+$R2[[:space:]]+upgrade[[:space:]]+paused"
run --json backfill status
expect_rc 0 "backfill status --json"
expect_json "backfill status --json"
expect_out "\"state\": *\"paused\""
finished "SIGINT"
run backfill status
expect_out "items_n[[:space:]]+$R2[[:space:]]+upgrade[[:space:]]+finished[[:space:]]+$N"

# ---- a second SIGINT cancels the running batch: rolled back
setup sigint2 'batch = 250, each = function(rows, db)
      for _, r in ipairs(rows) do db:exec("UPDATE items SET n = n + 1 WHERE id = ?", r.id) end
      local t = os.clock() while os.clock() - t < 0.3 do end
    end'
start_bg upgrade head
first_batch
sleep 0.1
kill -INT "$BG"
sleep 0.05
kill -INT "$BG"
wait_bg
if [ "$RC" = 0 ]; then fail "second SIGINT: the run went on (exit 0)"; else pass; fi
expect_err "interrupted again: cancelling whatever still runs"
consistent "second SIGINT"
finished "second SIGINT"

# ---- an edited file refuses to resume, until reset
setup edited
start_bg upgrade head
first_batch
kill -INT "$BG"
wait_bg
expect_rc 1 "edited: paused"
echo "-- edited" >> $V/${R2}_backfill.lua
run upgrade head
expect_rc 1 "edited: refused"
expect_err "changed since this backfill started .*mig backfill reset $R2"
run backfill reset "${R2:0:6}"
expect_rc 0 "backfill reset"
expect_err "reset 1 backfill checkpoint"
expect_eq "$(sql "SELECT count(*) FROM mig_backfill" | tr -d '\r')" 0 "reset: no checkpoint left"
run --json backfill reset $R2
expect_rc 0 "backfill reset --json"
expect_json "backfill reset --json"
sql "UPDATE items SET n = 0" >/dev/null
finished "edited, after reset"

# ---- downgrade runs the downgrade; --sql refuses the revision by name
run downgrade $R1
expect_rc 0 "downgrade"
expect_eq "$(sql "SELECT count(*) FROM items WHERE n <> 0" | tr -d '\r')" 0 "downgrade: its downgrade ran"
run upgrade --sql $R1:$R2
expect_rc 2 "--sql"
expect_err "revision $R2 is a Lua revision"
# the upgrade's checkpoint went with the downgrade: upgrading again backfills again
run upgrade head
expect_rc 0 "upgrade after downgrade"
expect_eq "$(sql "SELECT count(*) FROM items WHERE n = 1" | tr -d '\r')" "$N" "upgrade after downgrade: done again"

# ---- a transactional revision is refused, naming the file and line
setup txn
sed -i '/mig:transaction false/d' $V/${R2}_backfill.lua
run upgrade head
expect_rc 1 "transactional revision"
expect_err "${R2}_backfill.lua:6: db:backfill .*mig:transaction false"
expect_eq "$(sql "SELECT count(*) FROM items WHERE n <> 0" | tr -d '\r')" 0 "transactional revision: nothing done"

# ---- bad options: one line naming the option
setup badopt "$SQLO, batch = 0"
run upgrade head
expect_rc 1 "batch = 0"
expect_err "${R2}_backfill.lua:7: db:backfill: option batch must be a whole number"
write_bf "$SQLO, batch = 5, batch_time = \"1s\""
run upgrade head
expect_err "give batch \(rows\) or batch_time"
write_bf "$SQLO, bacth = 5"
run upgrade head
expect_err "unknown option bacth"

# ---- where: only matching rows count into batches; the last batch is short
setup where 'where = "id % 3 = 0", batch = 70, sql = "UPDATE items SET n = n + 1 WHERE id > ? AND id <= ? AND id % 3 = 0"'
run upgrade head
expect_rc 0 "where"
expect_eq "$(sql "SELECT count(*) FROM items WHERE n = 1" | tr -d '\r')" 666 "where: the matching rows, once"
expect_eq "$(sql "SELECT count(*) FROM items WHERE n <> 0 AND id % 3 <> 0" | tr -d '\r')" 0 "where: no other row"
expect_eq "$(sql "SELECT rows_done, batches FROM mig_backfill" | tr -d '\r' | tr '\t' ' ')" "666 10" "where: rows and batches counted"

# ---- a composite key with text, each, batch_time, max_rate
rm -rf migrations mig.ini
new_db composite
project
write_rev $V $R1 "" "pairs" "CREATE TABLE pairs (a INTEGER NOT NULL, b VARCHAR(20) NOT NULL, n INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (a, b));" "DROP TABLE pairs;"
cat > $V/${R2}_pairs.lua <<LUA
-- mig:revision $R2
-- mig:down_revision $R1
-- mig:transaction false
return {
  upgrade = function(db, ctx)
    local walked = db:backfill{ table = "pairs", key = { "a", "b" }, batch_time = "20ms", max_rate = 5000,
      each = function(rows, db)
        for _, r in ipairs(rows) do db:exec("UPDATE pairs SET n = n + 1 WHERE a = ? AND b = ?", r.a, r.b) end
      end }
    ctx.log("walked " .. walked)
    -- the bounds come in order: the batch's lower key (exclusive), then its upper key
    db:backfill{ table = "pairs", key = { "a", "b" }, name = "pairs_sql", batch = 7,
      sql = "UPDATE pairs SET n = n + 10 WHERE (a, b) > (?, ?) AND (a, b) <= (?, ?)" }
  end,
}
LUA
run upgrade $R1
expect_rc 0 "composite: table"
vals=""
for a in $(seq 1 30); do
    for b in x y zz ""; do
        [ "$a" = 1 ] && [ -z "$b" ] && continue
        vals="$vals${vals:+, }($a, '$b')"
    done
done
sql "INSERT INTO pairs (a, b) VALUES $vals" >/dev/null
run -v upgrade head
expect_rc 0 "composite key"
expect_err "walked 119"
# -v says each batch's rows and time (the bench reads batch_time's hold from it)
expect_err "backfill pairs_sql: batch 1: 7 rows in [0-9]+\.[0-9] ms"
expect_eq "$(printf '%s\n' "$ERR" | awk '/^backfill pairs_sql: batch [0-9]+: [0-9]+ rows in/ { s += $5 } END { print s + 0 }')" 119 \
    "-v: the batches' rows add up to the table's"
expect_eq "$(sql "SELECT count(*) FROM pairs WHERE n <> 11" | tr -d '\r')" 0 "composite key: every row once by each, once by sql"
expect_eq "$(sql "SELECT count(*) FROM pairs" | tr -d '\r')" 119 "composite key: all rows"

# mig_backfill is mig's own: autogenerate leaves it out, as it does mig_history
echo "CREATE TABLE pairs (a INTEGER NOT NULL, b VARCHAR(20) NOT NULL, n INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (a, b));" > schema.sql
printf '\n[autogenerate]\ntarget = schema.sql\n' >> mig.ini
run check
expect_rc 0 "check: mig_backfill is no drift"
if printf '%s' "$OUT$ERR" | grep -q mig_backfill; then fail "check names mig_backfill: $OUT"; else pass; fi

# ---- tenants: each tenant has its own checkpoints
rm -rf migrations mig.ini
new_db tenants
project
case $D in
sqlite)   TA=ta; TB=tb; sed -i "s#^url = .*#url = sqlite:{tenant}.db#" mig.ini
          tsql() { sqlite3 -batch "$T_TMP/$1.db" "$2"; } ;;
postgres) TA=ta; TB=tb; sql "CREATE SCHEMA ta; CREATE SCHEMA tb" >/dev/null
          tsql() { sql "SET search_path TO \"$1\"; $2"; } ;;
mysql)    TA=${DB_NAME}_ta; TB=${DB_NAME}_tb
          sql "CREATE DATABASE \`$TA\`; CREATE DATABASE \`$TB\`" >/dev/null
          T_CLEANUP+=("mariadb --no-defaults -h $MIG_TEST_MY_HOST -P $MIG_TEST_MY_PORT --protocol=tcp -u $MIG_TEST_MY_USER -e 'DROP DATABASE IF EXISTS \`$TA\`; DROP DATABASE IF EXISTS \`$TB\`'")
          tsql() { mariadb --no-defaults -N -B -h "$MIG_TEST_MY_HOST" -P "$MIG_TEST_MY_PORT" --protocol=tcp -u "$MIG_TEST_MY_USER" "$1" -e "$2"; } ;;
esac
printf '\n[tenants]\nlist = %s, %s\n' "$TA" "$TB" >> mig.ini
write_rev $V $R1 "" "items" "CREATE TABLE items (id INTEGER NOT NULL PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0);
INSERT INTO items (id) VALUES (1), (2), (3), (4), (5);" "DROP TABLE items;"
write_bf "$SQLO, batch = 2"
run --tenant "$TA" upgrade head
expect_rc 0 "tenant $TA"
run --all-tenants backfill status
expect_rc 0 "backfill status --all-tenants"
expect_out "^$TA[[:space:]]+items_n[[:space:]]+$R2[[:space:]]+upgrade[[:space:]]+finished[[:space:]]+5"
if printf '%s' "$OUT" | grep -q "^$TB"; then fail "tenant $TB has no backfill yet: $OUT"; else pass; fi
run --all-tenants upgrade head
expect_rc 0 "all tenants"
expect_eq "$(tsql "$TB" "SELECT count(*) FROM items WHERE n = 1" | tr -d '\r')" 5 "tenant $TB: its own backfill"
expect_eq "$(tsql "$TA" "SELECT count(*) FROM items WHERE n = 1" | tr -d '\r')" 5 "tenant $TA: not done twice"
run --json --all-tenants backfill status
expect_json "backfill status --all-tenants --json"
expect_out "\"tenant\": *\"$TB\""

# ---- peak memory: a bigger table walked in constant memory
if ldd "$MIG" 2>/dev/null | grep -q libasan; then
    echo "note: a sanitizer build: its memory is no measure" >&2
elif [ -x /usr/bin/time ]; then
    N=200000
    setup rss "$SQLO, batch = 1000"
    set +e
    /usr/bin/time -v -o "$T_TMP/time.txt" "$MIG" upgrade head >"$T_TMP/.out" 2>"$T_TMP/.err"
    RC=$?
    set -e 2>/dev/null; set +e
    ERR=$(cat "$T_TMP/.err")
    expect_rc 0 "$N rows"
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$T_TMP/time.txt")
    if [ "${rss:-999999}" -le $((32 * 1024)) ]; then pass; else fail "$N rows: peak RSS ${rss} KiB, over 32 MiB"; fi
    expect_eq "$(sql "SELECT count(*) FROM items WHERE n = 1" | tr -d '\r')" "$N" "$N rows: every row once"
    N=2000
else
    fail "/usr/bin/time is missing: run scripts/deps.sh --test"
fi

# ---- the server stopped mid-backfill (a private server pair), then started again
if [ "$D" != sqlite ]; then
    SRV=$(mktemp -d /tmp/mig-backfill-servers.XXXXXX)
    T_CLEANUP+=("'$MIG_SRC/tests/servers.sh' stop '$SRV'; rm -rf '$SRV'")
    if "$MIG_SRC/tests/servers.sh" start "$SRV" "$SRV/env" >/dev/null 2>&1; then
        saved=$(env | grep '^MIG_TEST_\(PG\|MY\)_' | sed 's/^/export /')
        . "$SRV/env"
        setup restart
        start_bg upgrade head
        first_batch
        sleep 0.2
        "$MIG_SRC/tests/servers.sh" stop "$SRV" >/dev/null 2>&1
        wait_bg
        expect_rc 1 "server stopped mid-backfill"
        "$MIG_SRC/tests/servers.sh" start "$SRV" "$SRV/env" >/dev/null 2>&1 || fail "private servers did not come back"
        . "$SRV/env"
        case $D in
        postgres) URL="postgresql://$MIG_TEST_PG_USER@$MIG_TEST_PG_HOST:$MIG_TEST_PG_PORT/$DB_NAME" ;;
        mysql)    URL="mysql://$MIG_TEST_MY_USER@$MIG_TEST_MY_HOST:$MIG_TEST_MY_PORT/$DB_NAME" ;;
        esac
        sed -i "s#^url = .*#url = $URL#" mig.ini
        consistent "server restarted"
        finished "server restarted"
        "$MIG_SRC/tests/servers.sh" stop "$SRV" >/dev/null 2>&1
        eval "$saved"
    else
        fail "could not start a private server pair for the restart case"
    fi
fi

done_testing
