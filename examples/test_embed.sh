#!/usr/bin/env bash
# The embedding example migrates a fresh SQLite file with the bundled
# project, and a second start finds it current; --test proves every
# revision on a scratch file and leaves the application's database alone.
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

# the event callback: each step begins and ends, its SQL goes by, and a
# warning comes through it rather than the logger
touch migrations/versions/0001_alembic.py
out=$("$EMBED" --events mig.ini sqlite:events.db 2>err.txt); rc=$?
expect_eq "$rc" 0 "--events exit"
expect_eq "$(echo "$out" | grep -c '^event: begin upgrade ')" 6 "a begin event per step"
expect_eq "$(echo "$out" | grep -c '^event: end upgrade ')" 6 "an end event per step"
echo "$out" | grep -q '^event: statement .*CREATE TABLE' && pass || fail "statement events: $out"
echo "$out" | grep -q '^event: warning .*1 Alembic revision file (.py) ignored' && pass || fail "warning event: $out"
grep -q 'Alembic' err.txt && fail "the warning went to the logger too: $(cat err.txt)" || pass
rm migrations/versions/0001_alembic.py

export TMPDIR=$PWD/tmp
mkdir -p "$TMPDIR"
before=$(sql "SELECT count(*) FROM mig_history")
out=$("$EMBED" --test mig.ini 2>&1); rc=$?
expect_eq "$rc" 0 "--test exit"
echo "$out" | grep -q "every revision proved (6 revisions)" && pass || fail "--test: $out"
expect_eq "$(sql "SELECT count(*) FROM mig_history")" "$before" "the application's database untouched"
expect_eq "$(ls "$TMPDIR" | grep -c '^mig_test_')" 0 "scratch files left behind"
# a downgrade that forgets its table is named, and the exit status is 3
last=$(ls migrations/versions/*.sql | tail -1)
sed -i '/^-- mig:downgrade/,$ { /^-- mig:downgrade/!d }' "$last"
printf 'SELECT 1;\n' >> "$last"
out=$("$EMBED" --test mig.ini 2>&1); rc=$?
expect_eq "$rc" 3 "--test exit with a bad downgrade"
echo "$out" | grep -q "^FAIL .* downgrade: downgrade of .* does not restore the schema" && pass || fail "--test: $out"
done_testing
