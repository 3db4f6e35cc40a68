#!/usr/bin/env bash
# Throw-away PostgreSQL and MariaDB servers for the tests.
#
#   tests/servers.sh start DIR ENVFILE   start both, data under DIR, and write
#                                        ENVFILE (MIG_TEST_PG_*, MIG_TEST_MY_*)
#   tests/servers.sh stop DIR            stop both (fast); safe to call twice
#
# Each server listens on 127.0.0.1 only, on a port found free at start (a
# collision with another process is retried on a new port), with trust / no
# password auth: PostgreSQL user postgres, MariaDB user root. As root, the
# servers run as the postgres and mysql users, since both refuse to run as
# root. Works on a fresh Debian machine with the postgresql and mariadb-server
# packages only (initdb is not on PATH there: /usr/lib/postgresql/*/bin).
set -euo pipefail

die() { echo "servers.sh: $*" >&2; exit 1; }

[ $# -ge 2 ] || die "usage: $0 start DIR ENVFILE | stop DIR"
cmd=$1
DIR=$2

root=0; [ "$(id -u)" = 0 ] && root=1
PG_USER=postgres; [ $root = 1 ] || PG_USER=$(id -un)
MY_USER=mysql;    [ $root = 1 ] || MY_USER=$(id -un)

as_user() {
    local u=$1; shift
    if [ $root = 1 ]; then runuser -u "$u" -- "$@"; else "$@"; fi
}

pg_bindir() {
    local d
    for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
        [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
    done
    command -v pg_ctl >/dev/null 2>&1 && { dirname "$(command -v pg_ctl)"; return; }
    die "pg_ctl not found (install postgresql)"
}

# A port nobody listens on now; the server start retries if it loses a race.
free_port() {
    local p i
    for i in $(seq 1 100); do
        p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"; return
        fi
    done
    die "no free port found on 127.0.0.1"
}

# Where the data goes: DIR, unless the server users cannot reach it (a
# folder under /root, say); then a folder in /tmp, named in DIR/dataroot.
data_root() {
    ROOT=$DIR
    if [ -f "$DIR/dataroot" ]; then ROOT=$(cat "$DIR/dataroot"); return; fi
    # mktemp -d makes DIR 0700: the server users must be able to reach their data
    chmod 755 "$DIR"
    if [ $root = 1 ] && ! { runuser -u "$PG_USER" -- test -x "$DIR" && runuser -u "$MY_USER" -- test -x "$DIR"; }; then
        ROOT=$(mktemp -d /tmp/mig-servers-data.XXXXXX)
        chmod 755 "$ROOT"
        echo "$ROOT" > "$DIR/dataroot"
    fi
}

# Unix sockets have a path limit (~107 bytes): use a short folder if DIR is deep.
sock_dir() {
    if [ -f "$DIR/sockdir" ]; then cat "$DIR/sockdir"; return; fi
    local s="$ROOT/s"
    if [ ${#s} -gt 70 ]; then s=$(mktemp -d /tmp/mig-sock.XXXXXX); fi
    mkdir -p "$s"; chmod 777 "$s"
    echo "$s" > "$DIR/sockdir"
    echo "$s"
}

pg_start() {
    local bin data log port try
    bin=$(pg_bindir)
    data=$ROOT/pg/data; log=$ROOT/pg/server.log
    mkdir -p "$ROOT/pg"
    [ $root = 1 ] && chown "$PG_USER" "$ROOT/pg"
    if [ ! -f "$data/PG_VERSION" ]; then
        as_user "$PG_USER" "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 \
            --locale=C.UTF-8 >"$ROOT/pg/initdb.log" 2>&1 || { cat "$ROOT/pg/initdb.log" >&2; die "initdb failed"; }
    fi
    for try in 1 2 3 4 5; do
        port=$(free_port)
        # the last setting wins: rewritten on a retry
        cat >> "$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$SOCK'
# a migration may create 1,000 tables (with indexes, sequences) in one transaction
max_locks_per_transaction = 1024
EOF
        if as_user "$PG_USER" "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null 2>&1; then
            PG_PORT=$port
            return
        fi
        as_user "$PG_USER" "$bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    done
    tail -n 20 "$log" >&2 || true
    die "postgres did not start (log: $log)"
}

my_running() { [ -f "$ROOT/mariadb/mysqld.pid" ] && kill -0 "$(cat "$ROOT/mariadb/mysqld.pid")" 2>/dev/null; }

my_start() {
    local base=$ROOT/mariadb port try i pid
    local data=$base/data sock=$SOCK/my.sock log=$base/error.log
    mkdir -p "$base" "$base/tmp"
    [ $root = 1 ] && chown "$MY_USER" "$base" "$base/tmp"
    if [ ! -d "$data/mysql" ]; then
        as_user "$MY_USER" mariadb-install-db --no-defaults --datadir="$data" \
            --auth-root-authentication-method=normal --skip-test-db \
            >"$base/install.log" 2>&1 || { tail -n 20 "$base/install.log" >&2; die "mariadb-install-db failed"; }
    fi
    for try in 1 2 3 4 5; do
        port=$(free_port)
        # a private tmpdir: servers of parallel test runs must not share /tmp
        # files; utf8mb4 as a current MySQL has it, not latin1; metadata_lock_info
        # shows the metadata locks a statement holds (lint's evidence tests)
        as_user "$MY_USER" mariadbd --no-defaults --datadir="$data" --socket="$sock" \
            --tmpdir="$base/tmp" --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
            --plugin-load-add=metadata_lock_info \
            --port="$port" --bind-address=127.0.0.1 --skip-name-resolve \
            --pid-file="$base/mysqld.pid" --log-error="$log" >/dev/null 2>&1 &
        pid=$!
        for i in $(seq 1 120); do
            mariadb-admin --no-defaults --socket="$sock" -uroot ping >/dev/null 2>&1 && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
        if mariadb-admin --no-defaults --socket="$sock" -uroot ping >/dev/null 2>&1; then
            # install-db's root may not match 127.0.0.1 with --skip-name-resolve
            mariadb --no-defaults --socket="$sock" -uroot -e \
                "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
                 GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;"
            mariadb --no-defaults -h127.0.0.1 -P"$port" --protocol=tcp -uroot -e 'SELECT 1' >/dev/null
            MY_PORT=$port
            return
        fi
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    tail -n 20 "$log" >&2 || true
    die "mariadb did not start (log: $log)"
}

pg_running() {
    [ -f "$ROOT/pg/data/postmaster.pid" ] &&
        as_user "$PG_USER" "$(pg_bindir)/pg_ctl" -D "$ROOT/pg/data" status >/dev/null 2>&1
}

pg_stop() {
    local data=$ROOT/pg/data
    [ -f "$data/postmaster.pid" ] || return 0
    as_user "$PG_USER" "$(pg_bindir)/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

my_stop() {
    local pid i
    my_running || return 0
    pid=$(cat "$ROOT/mariadb/mysqld.pid")
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}

case $cmd in
start)
    [ $# -ge 3 ] || die "usage: $0 start DIR ENVFILE"
    ENVFILE=$3
    mkdir -p "$DIR"
    data_root
    if pg_running || my_running; then
        die "$DIR: servers already running here (stop them first)"
    fi
    SOCK=$(sock_dir)
    # a half-started pair is stopped again: the caller only stops what it was told about
    trap 'pg_stop; my_stop' EXIT
    pg_start
    my_start
    trap - EXIT
    umask 022
    cat > "$ENVFILE" <<EOF
export MIG_TEST_PG_HOST=127.0.0.1 MIG_TEST_PG_PORT=$PG_PORT MIG_TEST_PG_USER=postgres MIG_TEST_MY_HOST=127.0.0.1 MIG_TEST_MY_PORT=$MY_PORT MIG_TEST_MY_USER=root
EOF
    echo "postgres on 127.0.0.1:$PG_PORT, mariadb on 127.0.0.1:$MY_PORT (data in $ROOT)"
    ;;
stop)
    [ -d "$DIR" ] || exit 0
    ROOT=$DIR
    [ -f "$DIR/dataroot" ] && ROOT=$(cat "$DIR/dataroot")
    pg_stop
    my_stop
    if [ -f "$DIR/sockdir" ]; then
        s=$(cat "$DIR/sockdir")
        case $s in /tmp/mig-sock.*) rm -rf "$s" ;; esac
        rm -f "$DIR/sockdir"
    fi
    # data kept out of DIR (see data_root) goes with the servers
    if [ "$ROOT" != "$DIR" ]; then
        case $ROOT in /tmp/mig-servers-data.*) rm -rf "$ROOT" ;; esac
        rm -f "$DIR/dataroot"
    fi
    ;;
*)
    die "usage: $0 start DIR ENVFILE | stop DIR"
    ;;
esac
