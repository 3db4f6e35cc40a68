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

# a large revision in one transaction: PostgreSQL gets it in batches of about
# 1 MB (it used to get one string of the whole text, which the driver copied
# and libpq buffered: peak RSS 4.4 times the file); a failure past the first
# batch is still placed on its line, and the peak stays near the file's size
# (MySQL runs statement by statement, so 20,000 round trips: not here)
if [ "$MIG_TEST_DRIVER" != mysql ]; then
    new_db place_big
    project
    rm -f migrations/versions/*
    PAD=$(head -c 1000 /dev/zero | tr '\0' x)
    B=migrations/versions/b00000000001_big.sql
    { printf -- '-- mig:revision b00000000001\n-- mig:message big\n\n-- mig:upgrade\nCREATE TABLE big (s VARCHAR(2000));\n'
      yes "INSERT INTO big VALUES ('$PAD');" | head -n 15000
      printf 'INSERT INTO no_such_table VALUES (1);\n'
      yes "INSERT INTO big VALUES ('$PAD');" | head -n 5000; } > $B
    run upgrade head
    expect_rc 1 "a failure 15 MB into a 20 MB revision"
    expect_err "b00000000001_big.sql:15006: .*no_such_table"
    table_exists big && fail "the failed revision left its table" || pass
    sed -i 's|^INSERT INTO no_such_table VALUES (1);$|SELECT 1;|' $B
    if [ -x /usr/bin/time ] && ! grep -q '^MIG_SANITIZE:BOOL=ON' "$MIG_BUILD/CMakeCache.txt" 2>/dev/null; then
        size_kb=$(( $(stat -c %s $B) / 1024 ))
        /usr/bin/time -f %M -o "$T_TMP/rss" "$MIG" upgrade head > /dev/null 2>&1
        rss_kb=$(tail -1 "$T_TMP/rss")
        # the file once, plus the libraries' few MB: under 1.8 times a 20 MB file
        [ $(( rss_kb * 10 )) -lt $(( size_kb * 18 )) ] && pass || fail "20 MB revision: peak RSS $rss_kb kB for a $size_kb kB file"
    else
        run upgrade head
    fi
    expect_eq "$(sql "SELECT count(*) FROM big")" 20000 "rows of the large revision"
fi

done_testing
