#!/usr/bin/env bash
# SPEC §8 Tenants (and §5 "in the tenant's schema"), sentence by sentence,
# once per driver: schema tenants on PostgreSQL / MySQL, database tenants
# ({tenant} in the URL) on SQLite; the output formats of current, tenants
# and the summary; sources; order; failures; quoting.
. "$MIG_SRC/tests/cli/lib.sh"

new_db spec_ten
D=$MIG_TEST_DRIVER
V=migrations/versions
mkdir -p $V
write_rev $V d00000000001 "" "create notes" "CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(100));" "DROP TABLE notes;"
write_rev $V d00000000002 d00000000001 "seed notes" "INSERT INTO notes (id, body) VALUES (1, 'hello');" "DELETE FROM notes;"

tenant_helpers
case $D in
sqlite) has_table() { [ "$(tsql "$1" "SELECT count(*) FROM sqlite_schema WHERE name='$2'")" = 1 ]; } ;;
*)      has_table() { [ "$(sql "SELECT count(*) FROM information_schema.tables WHERE table_schema='$1' AND table_name='$2'")" = 1 ]; } ;;
esac
A=$(tname acme); G=$(tname globex); I=$(tname initech)
for t in "$A" "$G" "$I"; do mk_tenant "$t"; done
ini() {
    cat > mig.ini <<INI
[mig]
script_location = migrations
url = $BASE_URL

[tenants]
$1
INI
}
ini "list = $A, $G, $I"

# --- mig tenants: tenant, current revision and pending count ---
run tenants
expect_rc 0 "§8 mig tenants ($D)"
expect_eq "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 3 "§8 mig tenants: one line per tenant ($D)"
printf '%s\n' "$OUT" | head -1 | grep -Eq "^$A[[:space:]]+(base|-|)[[:space:]]*.*2" && pass || fail "§8 mig tenants: tenant, current, pending ($D): $OUT"
run --json tenants
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); t=d["tenants"]; assert [x["tenant"] for x in t]==sys.argv[2:], t; assert all(x["pending"]==2 for x in t), t' \
    "$OUT" "$A" "$G" "$I" && pass || fail "§8 --json tenants ($D): $OUT"

# --- --tenant NAME (repeatable) ---
run --tenant "$A" --tenant "$G" upgrade d00000000001
expect_rc 0 "§8 --tenant NAME, repeatable ($D)"
has_table "$A" notes && pass || fail "§8 --tenant: $A migrated ($D)"
has_table "$I" notes && fail "§8 --tenant: $I untouched ($D)" || pass
# §5 "Both tables are created on first use, in the tenant's schema"
has_table "$A" mig_version && pass || fail "§5 mig_version in the tenant's schema ($D)"
has_table "$A" mig_history && pass || fail "§5 mig_history in the tenant's schema ($D)"
expect_eq "$(tsql "$A" "SELECT version_num FROM mig_version")" d00000000001 "§8 each tenant has its own version table ($D)"

# --- current with tenants: one line per tenant, TENANT REVISION ---
run --all-tenants current
expect_rc 0 "§8 current --all-tenants ($D)"
expect_eq "$(printf '%s\n' "$OUT" | sed -n 1p)" "$A d00000000001" "§8 current prints TENANT REVISION ($D)"
expect_eq "$(printf '%s\n' "$OUT" | sed -n 2p)" "$G d00000000001" "§8 current, second tenant ($D)"
expect_eq "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 3 "§8 current prints one line per tenant ($D)"
run --tenant "$G" current
expect_eq "$OUT" "$G d00000000001" "§8 current --tenant ($D)"
run tenants
printf '%s\n' "$OUT" | grep -Eq "^$A[[:space:]]+d00000000001[[:space:]]+.*1" && pass || fail "§8 mig tenants after one step ($D): $OUT"

# --- --all-tenants upgrade: started in list order (-j 1); summary tenant, from, to, time, status ---
run --all-tenants -j 1 upgrade head
expect_rc 0 "§8 --all-tenants upgrade ($D)"
order=$(printf '%s\n' "$ERR" | grep -E '^tenant [^ ]+:' | sed -E 's/^tenant ([^:]+):.*/\1/' | tr '\n' ' ')
expect_eq "$order" "$A $G $I " "§8 tenants are started in the order of [tenants] list ($D)"
expect_err '^tenant +from +to +time +status$'
expect_err "^$I +base +d00000000002 +[0-9]+ ms +ok$"
expect_err "^$A +d00000000001 +d00000000002 +[0-9]+ ms +"
for t in "$A" "$G" "$I"; do
    expect_eq "$(tsql "$t" "SELECT body FROM notes")" hello "§8 the revisions ran in tenant $t ($D)"
done
run --json --all-tenants upgrade head
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); t=d["tenants"]; assert all(set(["tenant","from","to","status"]) <= set(x) for x in t), t' "$OUT" \
    && pass || fail "§8 --json summary ($D): $OUT"
run --all-tenants downgrade base
expect_rc 0 "§8 --all-tenants downgrade ($D)"

# jobs = N in [tenants] and -j N
ini "list = $A, $G, $I
jobs = 3"
run --all-tenants upgrade head
expect_rc 0 "§8 [tenants] jobs ($D)"
run --all-tenants -j 2 downgrade base
expect_rc 0 "§8 -j N ($D)"

# --- a failure rolls back that tenant only; no new tenant is started (unless --keep-going) ---
case $D in
sqlite)   tsql "$G" "CREATE TABLE notes (x int)" ;;
*)        tsql "$G" "CREATE TABLE notes (x int)" ;;
esac
ini "list = $A, $G, $I"
run --all-tenants -j 1 upgrade head
expect_rc 1 "§8 a failing tenant is exit 1 ($D)"
expect_err "tenant $G"
expect_err 'd00000000001'
expect_err 'd00000000001_create_notes\.sql:[0-9]+'
expect_err 'CREATE TABLE notes'
case $D in postgres) expect_err 'SQLSTATE 42P07' ;; mysql) expect_err 'SQLSTATE 42S01' ;; esac
expect_eq "$(tsql "$A" "SELECT version_num FROM mig_version")" d00000000002 "§8 the tenant before the failure stays migrated ($D)"
expect_eq "$(tsql "$I" "SELECT count(*) FROM mig_version")" 0 "§8 mig starts no new tenant after a failure ($D)"
expect_err "^$I +.*not started"
run --all-tenants -j 1 --keep-going upgrade head
expect_rc 1 "§8 --keep-going still ends in failure ($D)"
expect_eq "$(tsql "$I" "SELECT version_num FROM mig_version")" d00000000002 "§8 --keep-going starts the remaining tenants ($D)"
tsql "$G" "DROP TABLE notes"
run --all-tenants upgrade head
expect_rc 0 "§8 all tenants after the fix ($D)"
run --all-tenants downgrade base
expect_rc 0

# --- sources: query (on the base connection) and script (Lua returning a list) ---
case $D in
sqlite)
    # database tenants have no base connection to run a query on: a configuration error
    ini "query = SELECT name FROM tenant_registry"
    run --all-tenants upgrade head
    expect_rc 2 "§8 [tenants] query with a {tenant} URL is a configuration error ($D)"
    expect_err 'query'
    expect_err '\{tenant\}'
    ;;
postgres|mysql)
    sql "CREATE TABLE tenant_registry (name VARCHAR(100))"
    sql "INSERT INTO tenant_registry VALUES ('$G'), ('$A')"
    ini "query = SELECT name FROM tenant_registry ORDER BY name DESC"
    run tenants
    expect_rc 0 "§8 [tenants] query ($D)"
    expect_eq "$(printf '%s\n' "$OUT" | awk '{print $1}' | sort | tr '\n' ' ')" "$A $G " "§8 query: the tenants it returns ($D)"
    run --all-tenants -j 1 upgrade head
    expect_rc 0 "§8 --all-tenants with query ($D)"
    order=$(printf '%s\n' "$ERR" | grep -E '^tenant [^ ]+:' | sed -E 's/^tenant ([^:]+):.*/\1/' | tr '\n' ' ')
    expect_eq "$order" "$G $A " "§8 query: tenants are started in the query's order ($D)"
    run --all-tenants downgrade base
    ;;
esac
cat > tenants.lua <<LUA
return { "$I", "$A" }
LUA
ini "script = tenants.lua"
run tenants
expect_rc 0 "§8 [tenants] script ($D)"
expect_eq "$(printf '%s\n' "$OUT" | awk '{print $1}' | sort | tr '\n' ' ')" "$A $I " "§8 script: a Lua list ($D)"
run --all-tenants -j 1 upgrade head
expect_rc 0 "§8 --all-tenants with script ($D)"
order=$(printf '%s\n' "$ERR" | grep -E '^tenant [^ ]+:' | sed -E 's/^tenant ([^:]+):.*/\1/' | tr '\n' ' ')
expect_eq "$order" "$I $A " "§8 script: tenants are started in the list's order ($D)"
run --all-tenants downgrade base

# --- a tenant name is always quoted as an identifier ---
ini "list = $A"
EVIL=$(tname 'x"; DROP TABLE notes; --')
run --tenant "$EVIL" upgrade head
[ "$RC" != 0 ] || [ "$D" = sqlite ] && pass || fail "§8 an injected tenant name ($D): exit $RC"
run --tenant "$A" upgrade head
expect_rc 0
has_table "$A" notes && pass || fail "§8 no name can inject SQL: notes survived ($D)"

# --- §7 ctx.tenant in a Lua revision; §4 no colour or progress bar off a terminal or with NO_COLOR ---
cat > $V/d00000000009_tenant.lua <<'LUA'
-- mig:revision d00000000009
-- mig:down_revision d00000000002
-- mig:message which tenant
return {
  upgrade = function(db, ctx) ctx.log("in tenant [" .. tostring(ctx.tenant) .. "]") end,
  downgrade = function(db, ctx) end,
}
LUA
ini "list = $A, $G"
run --all-tenants -j 1 upgrade head
expect_rc 0 "§7 ctx.tenant ($D)"
expect_err "in tenant \\[$A\\]"
expect_err "in tenant \\[$G\\]"
printf '%s%s' "$OUT" "$ERR" | grep -q $'\033' && fail "§4 no colour or progress bar when not on a terminal ($D)" || pass
if command -v script >/dev/null 2>&1; then
    NO_COLOR=1 script -qc "'$MIG' --all-tenants -j 1 downgrade d00000000002" /dev/null > tty.out 2>&1
    grep -q $'\033' tty.out && fail "§4 never colour or progress bars when NO_COLOR is set ($D): $(cat -v tty.out)" || pass
    grep -q "tenant $A" tty.out && pass || fail "§4 the run under a terminal printed its lines ($D): $(cat tty.out)"
fi
rm -f $V/d00000000009_tenant.lua
run --all-tenants downgrade d00000000002

# --- schema tenants only: create_schemas, search_path ---
if [ "$D" != sqlite ]; then
    NEW=$(tname newco)
    run --tenant "$NEW" upgrade head
    expect_rc 1 "§8 a tenant that does not exist is an error for that tenant ($D)"
    expect_err "$NEW"
    ini "list = $A
create_schemas = true"
    [ "$D" = mysql ] && T_CLEANUP+=("mariadb --no-defaults -h $MIG_TEST_MY_HOST -P $MIG_TEST_MY_PORT --protocol=tcp -u $MIG_TEST_MY_USER -e 'DROP DATABASE IF EXISTS \`$NEW\`'")
    run --tenant "$NEW" upgrade head
    expect_rc 0 "§8 create_schemas = true creates it ($D)"
    has_table "$NEW" notes && pass || fail "§8 create_schemas: the revisions ran in the new tenant ($D)"
fi
if [ "$D" = postgres ]; then
    sql "CREATE TABLE public.shared_lookup (id integer)"
    write_rev $V d00000000003 d00000000002 "use shared" "CREATE VIEW notes_shared AS SELECT id FROM shared_lookup;" "DROP VIEW notes_shared;"
    ini "list = $A
search_path = {tenant}, public"
    run --tenant "$A" upgrade head
    expect_rc 0 "§8 search_path = {tenant}, public widens it ($D)"
    has_table "$A" notes_shared && pass || fail "§8 search_path: created in the tenant, reading public ($D)"
fi

done_testing
