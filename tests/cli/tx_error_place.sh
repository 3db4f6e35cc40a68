#!/usr/bin/env bash
# A failing statement is reported once and at the right place, on every
# driver: the line is the one where the database says the error is (a
# syntax error on the 4th line of a statement that starts on line 6 is
# line 9, whether the statement ran alone or in one round trip with
# others), and the SQLSTATE is printed once, on the detail line.
. "$MIG_SRC/tests/cli/lib.sh"
new_db place
project
cat > migrations/versions/p00000000001_bad.sql <<'EOF2'
-- mig:revision p00000000001
-- mig:message bad syntax

-- mig:upgrade
CREATE TABLE ok1 (id INTEGER);
CREATE TABLE t (
  id INTEGER,
  name VARCHAR(10)
  bogus thing
);

-- mig:downgrade
DROP TABLE ok1;
EOF2
F=migrations/versions/p00000000001_bad.sql
WANT=9
for tpm in false true; do
    sed -i '/^transaction_per_migration/d' mig.ini
    echo "transaction_per_migration = $tpm" >> mig.ini
    run upgrade head
    expect_rc 1 "syntax error (transaction_per_migration = $tpm)"
    expect_err "failed at .*$F:$WANT: "
    state=$(printf '%s\n' "$ERR" | grep -o 'SQLSTATE [0-9A-Z]\{5\}' | sort -u)
    if [ "$MIG_TEST_DRIVER" != sqlite ]; then
        expect_eq "$(printf '%s\n' "$ERR" | grep -c 'SQLSTATE')" 1 "lines naming the SQLSTATE"
        expect_eq "$(printf '%s\n' "$ERR" | grep -o '[0-9A-Z]\{5\}' | grep -c "^${state#SQLSTATE }$")" 1 "times the SQLSTATE is printed"
        expect_err "^detail: SQLSTATE [0-9A-Z]{5}"
    fi
    expect_no "(errno"
    # mysql: the first statement stayed; clean up for the next round
    run stamp --purge base
    sql "DROP TABLE IF EXISTS ok1" >/dev/null 2>&1
    sql "DELETE FROM mig_history" >/dev/null 2>&1
done

done_testing
