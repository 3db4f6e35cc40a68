#!/usr/bin/env bash
# What a per-tenant run prints, on every driver: the summary follows the
# tenant list (not the order in which tenants ended), a tenant not started
# shows where it stands, a terminal sees `[k/N tenants]`; a schema tenant
# on a driver without schemas is a configuration error (exit 2), and
# `mig tenants` with no [tenants] does not speak of --all-tenants.
. "$MIG_SRC/tests/cli/lib.sh"
new_db tsum
V=migrations/versions
mkdir -p $V
tenant_helpers
Z=$(tname zeta); A=$(tname acme); G=$(tname globex)
for t in "$Z" "$A" "$G"; do mk_tenant "$t"; done
cat > mig.ini <<INI
[mig]
script_location = migrations
url = $BASE_URL

[tenants]
list = $Z, $A, $G
INI

# the first tenant of the list is the slowest, so it ends last
cat > $V/s00000000001_create.lua <<'EOF2'
-- mig:revision s00000000001
-- mig:message create notes
return {
  upgrade = function(db, ctx)
    if ctx.tenant:match("zeta$") then
      local t = os.time() + 1
      while os.time() <= t do end
    end
    db:exec("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
  end,
  downgrade = function(db, ctx) db:exec("DROP TABLE notes") end,
}
EOF2
run --all-tenants -j 3 upgrade head
expect_rc 0 "upgrade, three at once"
summary() { printf '%s\n' "$ERR" | sed -n '/^tenant  *from/,$p' | awk 'NR > 1 && NF >= 4 { print $1 }' | paste -sd' '; }
expect_eq "$(summary)" "$Z $A $G" "summary rows in list order"
# the lines as tenants end: zeta last
expect_eq "$(printf '%s\n' "$ERR" | grep '^tenant .*: ' | tail -1 | sed 's/^tenant \([^:]*\):.*/\1/')" "$Z" "zeta ends last"

# a failure: tenants not started show their revision, not base
write_rev $V s00000000002 s00000000001 "needs a table" "INSERT INTO prereq (x) VALUES (1);" "DELETE FROM prereq;"
run --all-tenants -j 1 upgrade head
expect_rc 1 "upgrade with a failing first tenant"
row() { printf '%s\n' "$ERR" | sed -n '/^tenant  *from/,$p' | grep "^$1 "; }
expect_eq "$(row "$A" | awk '{ print $2, $3, $4, $5, $6 }')" "s00000000001 s00000000001 - not started" "acme not started, where it stands"
expect_eq "$(row "$Z" | awk '{ print $2, $3, $NF }')" "s00000000001 s00000000001 failed" "zeta failed"
expect_err "^detail: "

# a tenant not started whose schema (or file) a run would create: at base, and nothing created by the read
N=$(tname newbie)
[ "$MIG_TEST_DRIVER" = mysql ] &&
    T_CLEANUP+=("mariadb --no-defaults -h $MIG_TEST_MY_HOST -P $MIG_TEST_MY_PORT --protocol=tcp -u $MIG_TEST_MY_USER -e 'DROP DATABASE IF EXISTS \`$N\`'")
sed -i "s/^list = .*/list = $Z, $N/" mig.ini
printf 'create_schemas = true\n' >> mig.ini
run --all-tenants -j 1 upgrade head
expect_rc 1 "upgrade with a failing first tenant, second one new"
expect_eq "$(row "$N" | awk '{ print $2, $3, $4, $5, $6 }')" "base base - not started" "new tenant not started, at base"
case "$MIG_TEST_DRIVER" in
sqlite)   [ ! -e "$N.db" ] && pass || fail "the summary's read created $N.db" ;;
postgres) expect_eq "$(sql "SELECT count(*) FROM pg_namespace WHERE nspname = '$N'")" 0 "schema created by the summary's read" ;;
mysql)    expect_eq "$(sql "SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '$N'")" 0 "database created by the summary's read" ;;
esac
sed -i '/^create_schemas/d' mig.ini
sed -i "s/^list = .*/list = $Z, $A, $G/" mig.ini

# on a terminal: [k/N tenants]
if command -v script >/dev/null; then
    out=$(cd "$T_TMP" && MIG_DRIVER_PATH=$MIG_DRIVER_PATH script -qec "'$MIG' --all-tenants --keep-going -j 1 upgrade head" /dev/null 2>&1)
    if printf '%s' "$out" | grep -q '\[3/3 tenants\]'; then pass; else fail "no [3/3 tenants] on a terminal: $out"; fi
    if printf '%s' "$out" | grep -q 'tenants done'; then fail "old progress line: $out"; else pass; fi
fi

# a target the graph alone rejects is bad usage (exit 2), said once, before any tenant runs
before=$(tsql "$A" "SELECT version_num FROM mig_version")
for t in "downgrade nosuchrev" "upgrade nosuchrev" "upgrade -1" "downgrade +1" "downgrade zz@base" \
         "downgrade base-1" "stamp nosuchrev"; do
    for sel in --all-tenants "--tenant $A"; do
        # shellcheck disable=SC2086 # $sel and $t hold several words
        run $sel $t
        expect_rc 2 "$sel $t"
        expect_no "tenants failed"
        expect_no "not started"
        [ "$(printf '%s\n' "$ERR" | grep -c '^mig: ')" = 1 ] && pass || fail "$sel $t: not one error: $ERR"
    done
done
expect_eq "$(tsql "$A" "SELECT version_num FROM mig_version")" "$before" "acme untouched by bad targets"
# head with no revisions at all is nothing to do, as for one database
mv $V empty.versions && mkdir -p $V
run --all-tenants upgrade head
expect_rc 0 "--all-tenants upgrade head with no revisions"
expect_no "there are no revisions"
rmdir $V && mv empty.versions $V
# what depends on each tenant's own revision stays a failure of that tenant
run --all-tenants downgrade s00000000002
expect_rc 1 "a target above one tenant's revision"
expect_err "s00000000002 is not a valid downgrade target"

# mig tenants with no [tenants]: no word of --all-tenants
printf '[mig]\nscript_location = migrations\nurl = %s\n' "$BASE_URL" > none.ini
run -c none.ini tenants
expect_rc 2 "tenants with no [tenants]"
expect_err "no tenants: .*none.ini has no \[tenants\] list, query or script"
expect_no "--all-tenants"

# a schema tenant where the driver has none: exit 2, once, before any tenant
if [ "$MIG_TEST_DRIVER" = sqlite ]; then
    printf '[mig]\nscript_location = migrations\nurl = sqlite:one.db\n' > schema.ini
    for cmd in "upgrade head" current "stamp head" "downgrade base"; do
        run -c schema.ini --tenant acme $cmd
        expect_rc 2 "--tenant on sqlite: $cmd"
        expect_err "driver 'sqlite' has no schemas"
        expect_err "hint: put \{tenant\} in the URL"
    done
    [ ! -e one.db ] && pass || fail "one.db was created"
fi

done_testing
