#!/usr/bin/env bash
# Commands that only read (check, current, tenants) visit every tenant, even
# with one job and tenants that fail: a failure stops no new starts there,
# as it does for upgrade without --keep-going.
. "$MIG_SRC/tests/cli/lib.sh"
V=migrations/versions
write_rev $V r00000000001 "" "create notes" "CREATE TABLE notes (id INTEGER);" "DROP TABLE notes;"
cat > mig.ini <<INI
[mig]
script_location = migrations
url = sqlite:{tenant}.db

[tenants]
list = acme, globex, initech
jobs = 1
INI

run --tenant initech upgrade head
expect_rc 0 "initech at head"

# acme fails the check first; globex is still checked after it
run --all-tenants check
expect_rc 3 "check with pending tenants"
expect_out "tenant acme: not applied"
expect_out "tenant globex: not applied"
expect_err "check found problems in some tenants"
expect_no "tenant initech: not applied"

run --all-tenants current
expect_rc 0 "current of every tenant"
expect_out "^acme$"
expect_out "^globex$"
expect_out "^initech r00000000001$"

run --all-tenants tenants
expect_rc 0 "tenants"
for t in acme globex; do expect_out "^$t	base	1 pending$"; done
expect_out "^initech	r00000000001	0 pending$"

done_testing
