#!/usr/bin/env bash
# `upgrade --sql FROM:TO` with tenants, on every driver: one script for
# every tenant of a list or script source, each section switching to its
# schema (PostgreSQL search_path, MySQL USE) with its own version-table
# statements; the script, run by the database's own client, migrates
# every tenant, and mig then reads each one at the target. A query source
# needs a connection (exit 2, naming it); database tenants cannot be
# switched by a script (one --tenant at a time).
. "$MIG_SRC/tests/cli/lib.sh"
new_db toff
V=migrations/versions
mkdir -p $V
write_rev $V o00000000001 "" "create notes" "CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(100));" "DROP TABLE notes;"
write_rev $V o00000000002 o00000000001 "seed notes" "INSERT INTO notes (id, body) VALUES (1, 'hello');" "DELETE FROM notes;"

client() { # client < script: run a script with the driver's own client, stop at the first error
    case "$MIG_TEST_DRIVER" in
    sqlite)   sqlite3 -bail "$1" ;;
    postgres) psql -X -q -v ON_ERROR_STOP=1 -h "$MIG_TEST_PG_HOST" -p "$MIG_TEST_PG_PORT" -U "$MIG_TEST_PG_USER" -d "$DB_NAME" >/dev/null ;;
    mysql)    mariadb --no-defaults -h "$MIG_TEST_MY_HOST" -P "$MIG_TEST_MY_PORT" --protocol=tcp -u "$MIG_TEST_MY_USER" "$DB_NAME" ;;
    esac
}

if [ "$MIG_TEST_DRIVER" = sqlite ]; then
    # database tenants: a script cannot switch files; one tenant renders, and runs
    printf '[mig]\nscript_location = migrations\nurl = sqlite:{tenant}.db\n[tenants]\nlist = acme, globex\n' > mig.ini
    run --all-tenants upgrade --sql base:head
    expect_rc 2 "--sql for two database tenants"
    expect_err "a script cannot switch databases"
    expect_eq "$OUT" "" "no script on stdout"
    run --tenant acme upgrade --sql base:head
    expect_rc 0 "--sql for one database tenant"
    printf '%s\n' "$OUT" | client acme.db && pass || fail "sqlite3 ran the script"
    run --tenant acme current
    expect_eq "$OUT" "acme o00000000002" "acme migrated by the script"
    # schema tenants on SQLite: a configuration error
    printf '[mig]\nscript_location = migrations\nurl = sqlite:one.db\n[tenants]\nlist = acme\n' > mig.ini
    run --all-tenants upgrade --sql base:head
    expect_rc 2 "--sql for schema tenants on sqlite"
    expect_err "driver 'sqlite' has no schemas"
    done_testing
fi

case "$MIG_TEST_DRIVER" in
postgres) tname() { echo "$1"; }; SWITCH="SET search_path TO" ;;
mysql)
    tname() { echo "${DB_NAME}_$1"; }
    SWITCH="USE"
    ;;
esac
A=$(tname acme); G=$(tname globex); I=$(tname initech)
for t in "$A" "$G" "$I"; do
    [ "$MIG_TEST_DRIVER" = mysql ] &&
        T_CLEANUP+=("mariadb --no-defaults -h $MIG_TEST_MY_HOST -P $MIG_TEST_MY_PORT --protocol=tcp -u $MIG_TEST_MY_USER -e 'DROP DATABASE IF EXISTS \`$t\`'")
done
cat > mig.ini <<INI
[mig]
script_location = migrations
url = $URL

[tenants]
list = $A, $G
create_schemas = true
INI

run --all-tenants upgrade --sql base:o00000000001
expect_rc 0 "--sql for a list of tenants"
SCRIPT1=$OUT
expect_eq "$(printf '%s\n' "$OUT" | grep -c "^$SWITCH ")" 2 "one switch per tenant"
sections=$(printf '%s\n' "$OUT" | sed -n 's/^-- tenant \(.*\) ([0-9]*\/[0-9]*)$/\1/p' | tr -d '"`' | paste -sd' ')
expect_eq "$sections" "$A $G" "tenant sections in list order"
expect_eq "$(printf '%s\n' "$OUT" | grep -ci "INSERT INTO .mig_version.")" 2 "version-table statements per tenant"

# the DBA runs it: every tenant is migrated
printf '%s\n' "$SCRIPT1" | client && pass || fail "client ran the script"
run --all-tenants current
expect_rc 0 "current after the script"
expect_out "^$A o00000000001$"
expect_out "^$G o00000000001$"

# a tenant script source, and a range from where they are
printf 'return { "%s", "%s", "%s" }\n' "$I" "$A" "$G" > tenants.lua
sed -i 's/^list = .*/script = tenants.lua/' mig.ini
run --all-tenants upgrade --sql base:o00000000002
expect_rc 0 "--sql from a tenant script"
first=$(printf '%s\n' "$OUT" | grep -m1 "^-- tenant ")
case "$first" in *initech*) pass ;; *) fail "first section is not initech: $first" ;; esac
run --all-tenants upgrade --sql o00000000001:o00000000002
expect_rc 0 "--sql FROM:TO"
# initech is still at base: render its start separately, then the same range for all
run --tenant "$I" upgrade --sql base:o00000000001
printf '%s\n' "$OUT" | client && pass || fail "client ran initech's first part"
run --all-tenants upgrade --sql o00000000001:o00000000002
printf '%s\n' "$OUT" | client && pass || fail "client ran the rollout"
run --all-tenants current
for t in "$I" "$A" "$G"; do expect_out "^$t o00000000002$"; done
run --all-tenants check
expect_rc 0 "check after the offline rollout"

# a Lua revision cannot be rendered: exit 2, and no part of the script is printed
printf -- '-- mig:revision o00000000003\n-- mig:down_revision o00000000002\nreturn { upgrade = function(db) end }\n' > $V/o00000000003_lua.lua
run --all-tenants upgrade --sql o00000000002:head
expect_rc 2 "--sql through a Lua revision"
expect_err "Lua revision"
expect_eq "$OUT" "" "no part of the script on stdout"
rm $V/o00000000003_lua.lua

# a query source needs a connection
sed -i "s/^script = .*/query = SELECT 'x'/" mig.ini
run --all-tenants upgrade --sql base:head
expect_rc 2 "--sql with [tenants] query"
expect_err "mig.ini:[0-9]+: .*\[tenants\] query"
expect_eq "$OUT" "" "no script on stdout"

done_testing
