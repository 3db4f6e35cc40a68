#!/usr/bin/env bash
# Tenants on every driver: schema tenants (PostgreSQL schemas, MySQL
# databases) or database tenants (SQLite files), the three tenant sources,
# -j, failure isolation, --keep-going, two processes sharing 50 tenants,
# and a tenant name that tries to inject SQL.
. "$MIG_SRC/tests/cli/lib.sh"
new_db ten
V=migrations/versions
mkdir -p $V
write_rev $V t00000000001 "" "create notes" "CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(100));" "DROP TABLE notes;"
write_rev $V t00000000002 t00000000001 "seed notes" "INSERT INTO notes (id, body) VALUES (1, 'hello');" "DELETE FROM notes;"

tenant_helpers

A=$(tname acme); G=$(tname globex); I=$(tname initech)
for t in "$A" "$G" "$I"; do mk_tenant "$t"; done
cat > mig.ini <<INI
[mig]
script_location = migrations
url = $BASE_URL

[tenants]
list = $A, $G, $I
jobs = 2
INI

# --all-tenants from the list, in parallel
run --all-tenants upgrade head
expect_rc 0 "all tenants"
for t in "$A" "$G" "$I"; do
    expect_eq "$(tsql "$t" "SELECT version_num FROM mig_version")" t00000000002 "$t at head"
    expect_eq "$(tsql "$t" "SELECT body FROM notes")" hello "$t data"
done
expect_err "$A"

# current and tenants, one line per tenant
run --all-tenants current
expect_rc 0 "current per tenant"
expect_out "^$A t00000000002$"
expect_out "^$I t00000000002$"
run tenants --all-tenants --json
expect_rc 0 "tenants --json"
echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["tenants"])==3 and all(t["pending"]==0 for t in d["tenants"]), d' && pass || fail "tenants json: $OUT"

# one tenant only
run --tenant "$G" downgrade -1
expect_rc 0 "one tenant down"
expect_eq "$(tsql "$G" "SELECT version_num FROM mig_version")" t00000000001 "globex down"
expect_eq "$(tsql "$A" "SELECT version_num FROM mig_version")" t00000000002 "acme untouched"
run tenants --all-tenants
expect_out "$G.*1 pending"

# failure isolation: a broken tenant rolls back alone; without --keep-going nothing new starts
write_rev $V t00000000003 t00000000002 "needs a table" "INSERT INTO prereq (x) VALUES (1);" "DELETE FROM prereq;"
case "$MIG_TEST_DRIVER" in
sqlite) sqlite3 "$T_TMP/$A.db" "CREATE TABLE prereq (x INTEGER)"; sqlite3 "$T_TMP/$I.db" "CREATE TABLE prereq (x INTEGER)" ;;
*) tsql "$A" "CREATE TABLE prereq (x INTEGER)"; tsql "$I" "CREATE TABLE prereq (x INTEGER)" ;;
esac
run --all-tenants -j 1 upgrade head
expect_rc 1 "one tenant fails"
expect_err "$G.*failed"
expect_err "not started"
if [ "$MIG_TEST_DRIVER" = mysql ]; then
    # no transactional DDL: the revision before the failing one stays applied
    expect_eq "$(tsql "$G" "SELECT version_num FROM mig_version")" t00000000002 "failed tenant kept its good step"
else
    expect_eq "$(tsql "$G" "SELECT version_num FROM mig_version")" t00000000001 "failed tenant rolled back"
fi
expect_eq "$(tsql "$A" "SELECT version_num FROM mig_version")" t00000000003 "tenant before it migrated"
expect_eq "$(tsql "$I" "SELECT version_num FROM mig_version")" t00000000002 "tenant after it not started"
run --all-tenants -j 1 --keep-going upgrade head
expect_rc 1 "keep going still fails"
expect_eq "$(tsql "$I" "SELECT version_num FROM mig_version")" t00000000003 "keep-going migrated the rest"
run --all-tenants --keep-going downgrade t00000000002
rm $V/t00000000003_*.sql
run --all-tenants upgrade head
expect_rc 0 "all healthy again"

# tenants from a query on the base connection, and from a Lua script
case "$MIG_TEST_DRIVER" in
sqlite) : ;;
postgres)
    sql "CREATE TABLE public.customers (schema_name text)" >/dev/null
    sql "INSERT INTO public.customers VALUES ('$A'), ('$I')" >/dev/null
    sed -i "s/^list = .*/query = SELECT schema_name FROM public.customers ORDER BY 1/" mig.ini
    run --all-tenants current
    expect_rc 0 "tenants from a query"
    expect_out "^$A "; expect_out "^$I "
    printf 'no_g' | grep -q "$G" 2>/dev/null; [[ "$OUT" == *"$G"* ]] && fail "query listed globex" || pass
    ;;
mysql)
    sql "CREATE TABLE customers (db VARCHAR(100))" >/dev/null
    sql "INSERT INTO customers VALUES ('$A'), ('$I')" >/dev/null
    sed -i "s/^list = .*/query = SELECT db FROM customers ORDER BY 1/" mig.ini
    run --all-tenants current
    expect_rc 0 "tenants from a query"
    expect_out "^$A "; expect_out "^$I "
    ;;
esac
printf 'local t = {}\nfor _, n in ipairs({"%s", "%s"}) do t[#t + 1] = n end\nreturn t\n' "$G" "$A" > tenants.lua
sed -i "/^list = /d; /^query = /d" mig.ini
sed -i "s/^\[tenants\]$/&\nscript = tenants.lua/" mig.ini
run --all-tenants current
expect_rc 0 "tenants from a Lua script"
expect_out "^$G "; expect_out "^$A "

# a tenant whose schema does not exist is an error for that tenant only
if [ "$MIG_TEST_DRIVER" != sqlite ]; then
    M=$(tname missing)
    run --tenant "$M" upgrade head
    expect_rc 1 "missing schema"
    expect_err "does not exist"
    # a name that tries to inject SQL is only ever an identifier
    EVIL='x"; DROP TABLE notes; --'
    [ "$MIG_TEST_DRIVER" = mysql ] && EVIL='x`; DROP TABLE notes; --'
    run --tenant "$EVIL" upgrade head
    expect_rc 1 "evil tenant does not exist"
    run --tenant "$EVIL" current
    for t in "$A" "$G"; do
        expect_eq "$(tsql "$t" "SELECT count(*) FROM notes")" 1 "$t notes survive"
    done
    printf 'create_schemas = true\n' >> mig.ini
    run --tenant "$M" upgrade head
    expect_rc 0 "create_schemas"
    [ "$MIG_TEST_DRIVER" = mysql ] && T_CLEANUP+=("mariadb --no-defaults -h $MIG_TEST_MY_HOST -P $MIG_TEST_MY_PORT --protocol=tcp -u $MIG_TEST_MY_USER -e 'DROP DATABASE IF EXISTS \`$M\`'")
    expect_eq "$(tsql "$M" "SELECT version_num FROM mig_version")" t00000000002 "created and migrated"

    if [ "$MIG_TEST_DRIVER" = postgres ]; then
        run --tenant "$EVIL" upgrade head   # create_schemas = true: a schema with that exact name
        expect_rc 0 "evil name as a schema"
        expect_eq "$(sql "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'x\"; DROP TABLE notes; --'")" 1 "schema named literally"
    fi
fi

# [tenants] search_path widens the path: a shared table in public is visible
if [ "$MIG_TEST_DRIVER" = postgres ]; then
    sql "CREATE TABLE public.plans (name text)" >/dev/null
    sql "INSERT INTO public.plans VALUES ('gold')" >/dev/null
    write_rev $V t00000000004 t00000000002 "copy plans" \
        "CREATE TABLE my_plans AS SELECT name FROM plans;" "DROP TABLE my_plans;"
    printf 'search_path = {tenant}, public\n' >> mig.ini
    run --tenant "$A" upgrade head
    expect_rc 0 "search_path with public"
    expect_eq "$(tsql "$A" "SELECT name FROM my_plans")" gold "shared table seen through search_path"
    expect_eq "$(sql "SELECT count(*) FROM information_schema.tables WHERE table_schema='$A' AND table_name='my_plans'")" 1 "created in the tenant schema"
    run --tenant "$A" downgrade t00000000002
    rm $V/t00000000004_*.sql
    sed -i '/^search_path = /d' mig.ini
fi

# two processes over 50 tenants: each tenant migrated exactly once
names=()
for k in $(seq 1 50); do n=$(tname "m$k"); names+=("$n"); mk_tenant "$n"; done
sed -i '/^script = /d' mig.ini
sed -i "s/^\[tenants\]$/&\nlist = $(IFS=,; echo "${names[*]}")/" mig.ini
"$MIG" --all-tenants -j 2 upgrade head >/dev/null 2>p1.err & p1=$!
"$MIG" --all-tenants -j 2 upgrade head >/dev/null 2>p2.err & p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
expect_eq "$r1:$r2" "0:0" "both processes ($(tail -2 p1.err) / $(tail -2 p2.err))"
once=0
for n in "${names[@]}"; do
    c=$(tsql "$n" "SELECT count(*) FROM mig_history WHERE direction='upgrade'")
    [ "$c" = 2 ] && once=$((once + 1))
done
expect_eq "$once" 50 "every tenant migrated exactly once"
done_testing
