#!/usr/bin/env bash
# A driver that offers no migration lock (neither lock_try nor a write
# transaction that locks out other writers): mig warns, and writes with it
# only when --no-lock says no other run is writing. nulldb is such a driver.
. "$(dirname "$0")/lib.sh"

P=${MIG_TEST_PLUGINS:-}
[ -n "$P" ] && [ -f "$P/mig_driver_nulldb.so" ] || { echo "1..0 # skip: no test plugins"; exit 0; }

mkdir -p proj/versions
write_rev proj/versions a00000000001 "" "one" "CREATE TABLE t (x int);" "DROP TABLE t;"

run --driver-path "$P" --url nulldb:x --script-location proj upgrade head
expect_rc 2 "a write with a driver without a lock is refused"
expect_err "driver 'nulldb' offers no migration lock: nothing stops another mig run"
expect_err "^mig: driver 'nulldb' offers no migration lock, so mig does not write with it"
expect_err "give --no-lock"
expect_no "upgrade  -> a00000000001"

run --driver-path "$P" --url nulldb:x --script-location proj stamp head
expect_rc 2 "stamp with a driver without a lock is refused"

run --driver-path "$P" --url nulldb:x --script-location proj --no-lock upgrade head
expect_rc 0 "--no-lock writes with a driver without a lock"
expect_err "driver 'nulldb' offers no migration lock: nothing stops another mig run"
expect_err "a00000000001"

# offline SQL writes nothing: no lock needed
run --driver-path "$P" --url nulldb:x --script-location proj upgrade --sql head
expect_rc 0 "upgrade --sql needs no lock"

# a driver with a lock (SQLite's write transaction) is not warned about
run --url "sqlite:///$T_TMP/l.db" --script-location proj upgrade head
expect_rc 0 "sqlite upgrade"
expect_no "offers no migration lock"

done_testing
