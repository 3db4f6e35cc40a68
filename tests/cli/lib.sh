# Shared helpers for the CLI end-to-end tests (sourced by tests/cli/t_*.sh
# and tx_*.sh). Each test runs the built `mig` binary against a real
# database and checks the result with that database's own client.
#
# Environment (set by CTest, see tests/CMakeLists.txt):
#   MIG               the mig binary
#   MIG_SRC           source tree; MIG_BUILD build tree
#   MIG_TEST_DRIVER   sqlite | postgres | mysql
# Servers (make test starts them): $MIG_BUILD/test-servers.env defines
#   MIG_TEST_PG_HOST/PORT/USER and MIG_TEST_MY_HOST/PORT/USER.
set -u

: "${MIG:?MIG must point at the mig binary}"
: "${MIG_SRC:?}" "${MIG_BUILD:?}"
MIG_TEST_DRIVER=${MIG_TEST_DRIVER:-sqlite}
export MIG_DRIVER_PATH=${MIG_DRIVER_PATH:-$MIG_BUILD/drivers}
unset MIG_CONFIG MIG_DATABASE_URL
[ -f "$MIG_BUILD/test-servers.env" ] && . "$MIG_BUILD/test-servers.env"

T_FAILS=0
T_COUNT=0
T_TMP=$(mktemp -d -t mig-test.XXXXXX)
T_CLEANUP=()
cleanup() {
    local c
    for c in "${T_CLEANUP[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
    rm -rf "$T_TMP"
}
trap cleanup EXIT
cd "$T_TMP"

fail() { echo "FAIL: $*" >&2; T_FAILS=$((T_FAILS + 1)); }
pass() { T_COUNT=$((T_COUNT + 1)); }

# MIG_VALGRIND=1: run() runs mig under valgrind memcheck; a leak or an
# invalid access exits 211 (taken for a crash below), and the report is
# kept in $MIG_VALGRIND_LOGS (default $MIG_BUILD/valgrind).
MIG_RUN=("$MIG")
if [ "${MIG_VALGRIND:-0}" = 1 ]; then
    MIG_VALGRIND_LOGS=${MIG_VALGRIND_LOGS:-$MIG_BUILD/valgrind}
    mkdir -p "$MIG_VALGRIND_LOGS"
    MIG_RUN=(valgrind -q --error-exitcode=211 --leak-check=full --show-leak-kinds=definite,indirect
             --errors-for-leak-kinds=definite,indirect --track-origins=yes
             --log-file="$MIG_VALGRIND_LOGS/$(basename "$0" .sh).%p.log" "$MIG")
fi

# run mig, capturing stdout/stderr/exit code into OUT, ERR, RC
run() {
    set +e
    "${MIG_RUN[@]}" "$@" >"$T_TMP/.out" 2>"$T_TMP/.err"
    RC=$?
    set -e 2>/dev/null; set +e
    OUT=$(cat "$T_TMP/.out")
    ERR=$(cat "$T_TMP/.err")
    if [ "$RC" -ge 128 ]; then fail "mig $* crashed (exit $RC): $ERR"; fi
}

expect_rc() { # expect_rc CODE what
    if [ "$RC" = "$1" ]; then pass; else fail "${2:-mig}: exit $RC, wanted $1; stderr: $ERR; stdout: $OUT"; fi
}
expect_out() { # expect_out REGEX
    if printf '%s' "$OUT" | grep -Eq -- "$1"; then pass; else fail "stdout lacks /$1/: $OUT"; fi
}
expect_err() {
    if printf '%s' "$ERR" | grep -Eq -- "$1"; then pass; else fail "stderr lacks /$1/: $ERR"; fi
}
expect_no() { # expect_no STRING: in neither stdout nor stderr
    if printf '%s\n%s' "$OUT" "$ERR" | grep -Fq -- "$1"; then fail "output shows '$1'"; else pass; fi
}
expect_eq() { # expect_eq ACTUAL WANTED what
    if [ "$1" = "$2" ]; then pass; else fail "${3:-value}: got '$1', wanted '$2'"; fi
}
one_line_err() {
    local n; n=$(printf '%s\n' "$ERR" | grep -c .)
    if [ "$n" -le 2 ]; then pass; else fail "error is not short ($n lines): $ERR"; fi
}

# new_db NAME: a fresh, empty database for the current driver; sets URL.
new_db() {
    local name=${1:-t$$}
    case "$MIG_TEST_DRIVER" in
    sqlite)
        URL="sqlite:///$T_TMP/$name.db"
        DB_FILE="$T_TMP/$name.db"
        ;;
    postgres)
        [ -n "${MIG_TEST_PG_PORT:-}" ] || need_server postgres
        DB_NAME="mt_${name}_$$"
        psql -X -q -h "$MIG_TEST_PG_HOST" -p "$MIG_TEST_PG_PORT" -U "$MIG_TEST_PG_USER" -d postgres \
            -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null
        T_CLEANUP+=("psql -X -q -h $MIG_TEST_PG_HOST -p $MIG_TEST_PG_PORT -U $MIG_TEST_PG_USER -d postgres -c 'DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)'")
        URL="postgresql://$MIG_TEST_PG_USER@$MIG_TEST_PG_HOST:$MIG_TEST_PG_PORT/$DB_NAME"
        ;;
    mysql)
        [ -n "${MIG_TEST_MY_PORT:-}" ] || need_server mysql
        DB_NAME="mt_${name}_$$"
        mariadb --no-defaults -h "$MIG_TEST_MY_HOST" -P "$MIG_TEST_MY_PORT" --protocol=tcp -u "$MIG_TEST_MY_USER" \
            -e "DROP DATABASE IF EXISTS \`$DB_NAME\`; CREATE DATABASE \`$DB_NAME\`"
        T_CLEANUP+=("mariadb --no-defaults -h $MIG_TEST_MY_HOST -P $MIG_TEST_MY_PORT --protocol=tcp -u $MIG_TEST_MY_USER -e 'DROP DATABASE IF EXISTS \`$DB_NAME\`'")
        URL="mysql://$MIG_TEST_MY_USER@$MIG_TEST_MY_HOST:$MIG_TEST_MY_PORT/$DB_NAME"
        ;;
    esac
    export URL
}

# sql "QUERY": run QUERY with the driver's own client, print rows
# (tab-separated, no header).
sql() {
    case "$MIG_TEST_DRIVER" in
    sqlite)   sqlite3 -batch -separator $'\t' "$DB_FILE" "$1" ;;
    postgres) psql -X -q -A -t -F $'\t' -h "$MIG_TEST_PG_HOST" -p "$MIG_TEST_PG_PORT" -U "$MIG_TEST_PG_USER" -d "$DB_NAME" -c "$1" ;;
    mysql)    mariadb --no-defaults -N -B -h "$MIG_TEST_MY_HOST" -P "$MIG_TEST_MY_PORT" --protocol=tcp -u "$MIG_TEST_MY_USER" "$DB_NAME" -e "$1" ;;
    esac
}

# tenant_helpers: per driver, BASE_URL (the [mig] url of a tenant
# project) and three functions: tname NAME (a tenant's name: MySQL tenants
# are databases, so the run's database name keeps them apart), mk_tenant
# NAME (create it, dropped at cleanup where it outlives the run) and tsql
# NAME QUERY (run QUERY inside the tenant with the driver's own client).
tenant_helpers() {
    case "$MIG_TEST_DRIVER" in
    sqlite)
        BASE_URL="sqlite:{tenant}.db"
        tname() { echo "$1"; }
        mk_tenant() { :; }
        tsql() { sqlite3 -batch "$T_TMP/$1.db" "$2"; }
        ;;
    postgres)
        BASE_URL=$URL
        tname() { echo "$1"; }
        mk_tenant() { sql "CREATE SCHEMA \"$1\"" >/dev/null; }
        tsql() { sql "SET search_path TO \"$1\"; $2"; }
        ;;
    mysql)
        BASE_URL=$URL
        tname() { echo "${DB_NAME}_$1"; }
        mk_tenant() {
            sql "CREATE DATABASE \`$1\`" >/dev/null
            T_CLEANUP+=("mariadb --no-defaults -h $MIG_TEST_MY_HOST -P $MIG_TEST_MY_PORT --protocol=tcp -u $MIG_TEST_MY_USER -e 'DROP DATABASE IF EXISTS \`$1\`'")
        }
        tsql() { mariadb --no-defaults -N -B -h "$MIG_TEST_MY_HOST" -P "$MIG_TEST_MY_PORT" --protocol=tcp -u "$MIG_TEST_MY_USER" "$1" -e "$2"; }
        ;;
    esac
}

# table_exists NAME -> 0/1
table_exists() {
    local n
    case "$MIG_TEST_DRIVER" in
    sqlite)   n=$(sql "SELECT count(*) FROM sqlite_schema WHERE type='table' AND name='$1'") ;;
    postgres) n=$(sql "SELECT count(*) FROM information_schema.tables WHERE table_schema=current_schema() AND table_name='$1'") ;;
    mysql)    n=$(sql "SELECT count(*) FROM information_schema.tables WHERE table_schema=DATABASE() AND table_name='$1'") ;;
    esac
    [ "$n" = 1 ]
}

need_server() {
    if [ "${MIG_TEST_REQUIRE_SERVERS:-0}" = 1 ]; then
        echo "FAIL: $1 server not available (run via make test)" >&2; exit 1
    fi
    echo "SKIP: $1 server not available" >&2; exit 77
}

# write_rev DIR ID DOWN MESSAGE UPGRADE_SQL [DOWNGRADE_SQL]
write_rev() {
    local dir=$1 id=$2 down=$3 msg=$4 up=$5 downsql=${6-}
    mkdir -p "$dir"
    {
        echo "-- mig:revision $id"
        [ -n "$down" ] && echo "-- mig:down_revision $down"
        echo "-- mig:message $msg"
        echo
        echo "-- mig:upgrade"
        printf '%s\n' "$up"
        if [ -n "$downsql" ] || [ $# -ge 6 ]; then
            echo
            echo "-- mig:downgrade"
            printf '%s\n' "$downsql"
        fi
    } > "$dir/${id}_$(echo "$msg" | tr ' ' '_' | tr -cd 'A-Za-z0-9_').sql"
}

# project: a mig.ini in the current folder for $URL and ./migrations
project() {
    mkdir -p migrations/versions
    cat > mig.ini <<INI
[mig]
script_location = migrations
url = $URL
INI
}

# expect_json what: stdout is one JSON document, valid against the schema of
# its command (schema/*.json), with an error exactly when the exit status is not 0
expect_json() {
    local why
    if why=$(printf '%s' "$OUT" | /usr/bin/python3 "$MIG_SRC/tests/cli/json_valid.py" "$MIG_SRC/schema" "$RC" 2>&1); then pass
    else fail "${1:-mig --json}: $why"; fi
}

done_testing() {
    if [ "$T_FAILS" -gt 0 ]; then
        echo "$T_COUNT passed, $T_FAILS failed"
        exit 1
    fi
    echo "$T_COUNT passed, 0 failed"
    exit 0
}
