#!/usr/bin/env bash
# The embedding example migrates a fresh SQLite file with the bundled
# project, and a second start finds it current.
EMBED=$1
. "$MIG_SRC/tests/cli/lib.sh"
cp -r "$MIG_SRC/migrations" .
printf '[mig]\nscript_location = migrations\nurl = sqlite:app.db\n' > mig.ini
DB_FILE=$PWD/app.db

set +e
out=$("$EMBED" mig.ini); rc=$?
expect_eq "$rc" 0 "first start exit"
echo "$out" | grep -q "database is current (6 steps)" && pass || fail "first start: $out"
expect_eq "$(sql "SELECT count(*) FROM mig_version")" 1 "one head row"
out=$("$EMBED" mig.ini); rc=$?
expect_eq "$rc" 0 "second start exit"
echo "$out" | grep -q "(0 steps)" && pass || fail "second start: $out"
done_testing
