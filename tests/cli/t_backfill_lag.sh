#!/usr/bin/env bash
# db:backfill's max_lag against a real PostgreSQL streaming replica, both
# started here on loopback (initdb, pg_basebackup -R, a standby on its own
# port): with the standby's replay paused (pg_wal_replay_pause) the
# backfill waits before its next batch and says why; resumed, it finishes,
# every row once.
. "$MIG_SRC/tests/cli/lib.sh"

bindir=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_basebackup" ] && bindir=$d; done
if [ -z "$bindir" ]; then
    [ "${MIG_TEST_REQUIRE_SERVERS:-0}" = 1 ] && { echo "FAIL: PostgreSQL binaries not found" >&2; exit 1; }
    echo "SKIP: PostgreSQL binaries not found" >&2; exit 77
fi
U=$(id -un)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && U=postgres

# outside T_TMP (private to root): the server user must reach its data
SRV=$(mktemp -d /tmp/mig-lag.XXXXXX)
chmod 755 "$SRV"
[ "$(id -u)" = 0 ] && chown postgres "$SRV"
T_CLEANUP+=("as_pg '$bindir/pg_ctl' -D '$SRV/standby' -m immediate stop; as_pg '$bindir/pg_ctl' -D '$SRV/primary' -m immediate stop; rm -rf '$SRV'")

free_port() {
    local p
    while :; do
        p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}
P1=$(free_port)
P2=$(free_port)
while [ "$P2" = "$P1" ]; do P2=$(free_port); done

as_pg "$bindir/initdb" -D "$SRV/primary" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$SRV/initdb.log" 2>&1 ||
    { fail "initdb: $(tail -3 "$SRV/initdb.log")"; done_testing; }
cat >> "$SRV/primary/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $P1
unix_socket_directories = '$SRV'
EOF
as_pg "$bindir/pg_ctl" -D "$SRV/primary" -l "$SRV/primary.log" -w -t 60 start >/dev/null ||
    { fail "primary did not start"; done_testing; }
as_pg "$bindir/pg_basebackup" -h 127.0.0.1 -p "$P1" -U postgres -D "$SRV/standby" -R -X stream >"$SRV/bb.log" 2>&1 ||
    { fail "pg_basebackup: $(tail -3 "$SRV/bb.log")"; done_testing; }
cat >> "$SRV/standby/postgresql.conf" <<EOF
port = $P2
EOF
as_pg "$bindir/pg_ctl" -D "$SRV/standby" -l "$SRV/standby.log" -w -t 60 start >/dev/null ||
    { fail "standby did not start: $(tail -5 "$SRV/standby.log")"; done_testing; }

p1() { psql -X -q -A -t -h 127.0.0.1 -p "$P1" -U postgres -d "${2:-app}" -c "$1"; }
p2() { psql -X -q -A -t -h 127.0.0.1 -p "$P2" -U postgres -d app -c "$1"; }
p1 "CREATE DATABASE app" postgres
caught_up() {
    local i
    for i in $(seq 1 200); do
        [ "$(p1 "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$(p2 "SELECT pg_last_wal_replay_lsn()" 2>/dev/null)')" 2>/dev/null)" = 0 ] && return 0
        sleep 0.1
    done
    return 1
}
caught_up || fail "the standby did not catch up"
expect_eq "$(p2 "SELECT pg_is_in_recovery()")" t "the standby is a standby"

mkdir -p migrations/versions
cat > mig.ini <<INI
[mig]
script_location = migrations
url = postgresql://postgres@127.0.0.1:$P1/app

[backfill]
replicas = postgresql://postgres@127.0.0.1:$P2/app
INI
write_rev migrations/versions a1a1a1a1a1a1 "" "items" \
    "CREATE TABLE items (id INTEGER PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0);
INSERT INTO items (id) SELECT generate_series(1, 3000);" "DROP TABLE items;"
cat > migrations/versions/a2a2a2a2a2a2_lag.lua <<'LUA'
-- mig:revision a2a2a2a2a2a2
-- mig:down_revision a1a1a1a1a1a1
-- mig:transaction false
return {
  upgrade = function(db, ctx)
    db:backfill{ table = "items", batch = 200, max_lag = "32kB",
                 sql = "UPDATE items SET n = n + 1 WHERE id > ? AND id <= ?" }
  end,
}
LUA
run upgrade a1a1a1a1a1a1
expect_rc 0 "the table"
caught_up || fail "the standby did not catch up with the table"

p2 "SELECT pg_wal_replay_pause()" >/dev/null
"$MIG" upgrade head >"$T_TMP/.out" 2>"$T_TMP/.err" &
BG=$!
sleep 3
a=$(p1 "SELECT coalesce(max(rows_done), 0) FROM mig_backfill")
sleep 1.5
b=$(p1 "SELECT coalesce(max(rows_done), 0) FROM mig_backfill")
expect_eq "$b" "$a" "replay paused: the backfill waits"
if [ "$b" -lt 3000 ]; then pass; else fail "replay paused: the backfill went on to the end"; fi
kill -0 "$BG" 2>/dev/null && pass || fail "replay paused: mig ended"
grep -q "waiting for replica postgresql://postgres@127.0.0.1:$P2/app: [0-9]* bytes of WAL behind" "$T_TMP/.err" && pass ||
    fail "no waiting line: $(cat "$T_TMP/.err")"

p2 "SELECT pg_wal_replay_resume()" >/dev/null
wait "$BG"
RC=$?
ERR=$(cat "$T_TMP/.err")
expect_rc 0 "replay resumed: the backfill finishes"
expect_eq "$(p1 "SELECT count(*) FROM items WHERE n = 1")" 3000 "every row once"
expect_eq "$(p1 "SELECT version_num FROM mig_version")" a2a2a2a2a2a2 "applied"

done_testing
