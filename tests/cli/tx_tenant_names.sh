#!/usr/bin/env bash
# Each tenant's tables stay in the tenant's schema (MySQL: database):
# on_connect runs first and the tenant's schema wins whatever it sets, and
# mig checks where the session really is before the first statement.
# Names longer than the server keeps whole (PostgreSQL cuts them at 63
# bytes, MySQL refuses more than 64 characters) are refused before
# anything runs, tenant names and version_table alike.
. "$MIG_SRC/tests/cli/lib.sh"
new_db tnames
V=migrations/versions
mkdir -p $V
write_rev $V n00000000001 "" "create users" "CREATE TABLE users (id INTEGER PRIMARY KEY);" "DROP TABLE users;"

tenant_helpers
case "$MIG_TEST_DRIVER" in
sqlite)
    # database tenants: on_connect on each file
    cat > mig.ini <<INI
[mig]
script_location = migrations
url = sqlite:{tenant}.db
on_connect = PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000

[tenants]
list = t1, t2
INI
    run --all-tenants upgrade head
    expect_rc 0 "sqlite tenants with on_connect"
    for t in t1 t2; do
        expect_eq "$(sqlite3 "$T_TMP/$t.db" "SELECT version_num FROM mig_version")" n00000000001 "$t at head"
    done
    done_testing
    ;;
postgres)
    tables_in() { sql "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = '$1'"; }
    APP=app
    ON_CONNECT="SET search_path = app; SET lock_timeout = '5s'"
    LIMIT="at most 63 bytes"
    # 63 letters: the longest name PostgreSQL keeps whole
    LONG=$(printf 'L%.0s' $(seq 1 63))
    ;;
mysql)
    tables_in() { sql "SELECT IFNULL(GROUP_CONCAT(table_name ORDER BY table_name), '') FROM information_schema.tables WHERE table_schema = '$1'"; }
    APP=$(tname app)
    ON_CONNECT="USE \`$APP\`; SET lock_wait_timeout = 5"
    LIMIT="at most 64 characters"
    LONG=$(tname "")$(printf 'L%.0s' $(seq 1 64))
    LONG=${LONG:0:64}
    ;;
esac

T1=$(tname t1); T2=$(tname t2)
for t in "$T1" "$T2" "$APP"; do mk_tenant "$t"; done

# 1. the documented on_connect moves the session; the tenant's schema wins
cat > mig.ini <<INI
[mig]
script_location = migrations
url = $URL
on_connect = $ON_CONNECT

[tenants]
list = $T1, $T2
INI
run --all-tenants upgrade head
expect_rc 0 "tenants with an on_connect that moves the session"
for t in "$T1" "$T2"; do
    expect_eq "$(tables_in "$t")" "mig_history,mig_version,users" "$t holds its own tables"
    expect_eq "$(tsql "$t" "SELECT version_num FROM mig_version")" n00000000001 "$t at head"
done
expect_eq "$(tables_in "$APP")" "" "nothing written where on_connect pointed"
run --all-tenants current
expect_rc 0 "current per tenant"
expect_out "^$T1 n00000000001$"
expect_out "^$T2 n00000000001$"

# the session is checked before the first statement: a schema the user may not use is refused
if [ "$MIG_TEST_DRIVER" = postgres ]; then
    ROLE="mt_nouse_$$"
    sql "CREATE ROLE $ROLE LOGIN; GRANT CONNECT, CREATE ON DATABASE \"$DB_NAME\" TO $ROLE; CREATE SCHEMA locked" >/dev/null
    T_CLEANUP+=("psql -X -q -h $MIG_TEST_PG_HOST -p $MIG_TEST_PG_PORT -U $MIG_TEST_PG_USER -d postgres -c 'DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)' -c 'DROP ROLE IF EXISTS $ROLE'")
    run --url "postgresql://$ROLE@$MIG_TEST_PG_HOST:$MIG_TEST_PG_PORT/$DB_NAME" --tenant locked upgrade head
    expect_rc 1 "a schema the session cannot be in"
    expect_err "tenant 'locked': the session is in schema '\(none\)', not the tenant's"
    expect_eq "$(tables_in locked)" "" "nothing written for the refused tenant"
fi

# a [tenants] query row that is no name is an error at the query's line, not
# skipped; a name with a NUL byte (MySQL text may hold one) is not cut there,
# which would name another tenant (here: the database mig runs against)
for q in "SELECT 42" "SELECT NULL"; do
    printf '[mig]\nscript_location = migrations\nurl = %s\n\n[tenants]\nquery = %s\n' "$URL" "$q" > q.ini
    run -c q.ini --all-tenants upgrade head
    expect_rc 2 "a tenant query giving $q"
    expect_err "^mig: q.ini:6: \[tenants\] query: row 1 is (an integer|NULL), not a name"
done
if [ "$MIG_TEST_DRIVER" = mysql ]; then
    printf '[mig]\nscript_location = migrations\nurl = %s\n\n[tenants]\nquery = SELECT CONCAT(%s, CHAR(0 USING utf8mb4), %s)\n' \
        "$URL" "'$DB_NAME'" "'_x'" > q.ini
    before=$(tables_in "$DB_NAME")
    run -c q.ini --all-tenants upgrade head
    expect_rc 2 "a tenant name with a NUL byte"
    expect_err "^mig: q.ini:6: \[tenants\] query: row 1 holds a NUL byte"
    expect_eq "$(tables_in "$DB_NAME")" "$before" "nothing run where the name would have been cut"
fi

# 2. names the server would cut short: refused before anything runs, with the limit
cat > mig.ini <<INI
[mig]
script_location = migrations
url = $URL

[tenants]
list = $LONG, ${LONG}_one, ${LONG}_two
create_schemas = true
INI
run --all-tenants upgrade head
expect_rc 2 "tenant names longer than the server keeps"
expect_err "tenant name '${LONG}_one' .*$LIMIT"
one_line_err
n=$(sql "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE '${LONG:0:20}%'")
expect_eq "$n" 0 "no schema created for any of them"
run tenants --all-tenants
expect_rc 2 "mig tenants refuses them too"
run --tenant "${LONG}_two" current
expect_rc 2 "one long --tenant"
expect_err "$LIMIT"
# the longest name that fits still works
run --tenant "$LONG" upgrade head
expect_rc 0 "a name at the limit"
expect_eq "$(tsql "$LONG" "SELECT version_num FROM mig_version")" n00000000001 "long tenant at head"

# version_table and the constraint name derived from it
VT=$(printf 'v%.0s' $(seq 1 61))
new_db tnames_vt
cat > mig.ini <<INI
[mig]
script_location = migrations
url = $URL
version_table = $VT
INI
run upgrade head
expect_rc 2 "a version_table whose constraint name is too long"
expect_err "mig.ini:4: version_table '$VT': the constraint name '${VT}_pkc' .*$LIMIT"
base=$DB_NAME; [ "$MIG_TEST_DRIVER" = postgres ] && base=public
expect_eq "$(tables_in "$base")" "" "nothing created"
run upgrade head --sql
expect_rc 2 "offline too"

done_testing
