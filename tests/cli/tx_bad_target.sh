#!/usr/bin/env bash
# A target the graph alone refutes (unknown, malformed, the wrong way) is
# exit 2 before anything is created: with a URL naming a database that is
# not there, it is still not there afterwards, on every driver.
. "$MIG_SRC/tests/cli/lib.sh"
new_db badtgt
project
write_rev migrations/versions a00000000001 "" "first" "CREATE TABLE t1 (x INTEGER);" "DROP TABLE t1;"
# the same server, a database name nobody created
case "$MIG_TEST_DRIVER" in
sqlite)   GONE="$T_TMP/gone.db"; GONE_URL="sqlite:///$GONE" ;;
postgres) GONE="${DB_NAME}_gone"; GONE_URL="${URL%/*}/$GONE" ;;
mysql)    GONE="${DB_NAME}_gone"; GONE_URL="${URL%/*}/$GONE" ;;
esac
gone_exists() {
    case "$MIG_TEST_DRIVER" in
    sqlite)   [ -e "$GONE" ] ;;
    postgres) [ "$(psql -X -q -A -t -h "$MIG_TEST_PG_HOST" -p "$MIG_TEST_PG_PORT" -U "$MIG_TEST_PG_USER" -d postgres \
                   -c "SELECT count(*) FROM pg_database WHERE datname = '$GONE'")" != 0 ] ;;
    mysql)    [ "$(mariadb --no-defaults -N -B -h "$MIG_TEST_MY_HOST" -P "$MIG_TEST_MY_PORT" --protocol=tcp -u "$MIG_TEST_MY_USER" \
                   -e "SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '$GONE'")" != 0 ] ;;
    esac
}
for args in "upgrade nosuchrev" "upgrade +x" "upgrade -1" "downgrade nosuchrev" "downgrade +1" "stamp nosuchrev" "stamp +1"; do
    run --url "$GONE_URL" $args
    expect_rc 2 "$args"
    one_line_err
    if gone_exists; then fail "$args: created $GONE"; else pass; fi
done
done_testing
