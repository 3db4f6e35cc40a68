#!/usr/bin/env bash
# Bad input, revision files and the graph: each case exits 2 with a
# one-line reason naming the file (and the line, where there is one), never
# crashes and leaves the database as it was. Also: a 50 MB revision and one
# of 100,000 statements run in linear time, and the same files spoilt at
# their last byte are refused before anything runs. docs/errors.md lists
# every case; MIG_ERRORS_DOC=FILE appends rows.
. "$MIG_SRC/tests/cli/lib.sh"

new_db revs
project
V=migrations/versions
write_rev $V 111111111111 "" "first" "CREATE TABLE t1 (x INTEGER);" "DROP TABLE t1;"
write_rev $V 222222222222 111111111111 "second" "CREATE TABLE t2 (x INTEGER);" "DROP TABLE t2;"
run upgrade 111111111111
expect_rc 0 "setup"
snapshot() { sqlite3 "$DB_FILE" .dump | md5sum; }
BEFORE=$(snapshot)

case_rc2() { # case_rc2 NAME ERR_REGEX mig-args...
    local name=$1 re=$2; shift 2
    run "$@"
    expect_rc 2 "$name"
    expect_err "$re"
    one_line_err
    expect_eq "$(snapshot)" "$BEFORE" "database unchanged after $name"
    if [ -n "${MIG_ERRORS_DOC:-}" ]; then
        printf '| %s | `%s` | %s | `%s` |\n' "$name" "mig $*" "$RC" \
            "$(printf '%s' "$ERR" | head -1 | sed "s#$T_TMP/##g")" >> "$MIG_ERRORS_DOC"
    fi
}
# bad_file NAME ERR_REGEX FILENAME CONTENT: CONTENT as printf %b, then
# `mig upgrade head` must refuse it; the file is removed afterwards.
bad_file() {
    printf '%b' "$4" > "$V/$3"
    case_rc2 "$1" "$2" upgrade head
    rm -f "$V/$3"
}
F=333333333333_x.sql
H='-- mig:revision 333333333333\n-- mig:down_revision 222222222222\n'

bad_file "empty file" "$F.*empty" $F ''
bad_file "binary file" "$F:2:.*(binary|NUL)" $F '-- mig:revision 333333333333\n\x00\x01\x02\x03\n'
bad_file "invalid UTF-8 in the header" "$F:3:.*UTF-8" $F "$H"'-- mig:message caf\xe9\n-- mig:upgrade\n'
bad_file "invalid UTF-8 in a section" "$F:5:.*UTF-8" $F "$H"'-- mig:upgrade\nSELECT 1;\n\xff\xfe\n'
bad_file "unknown header key" "$F:2: unknown key 'mig:down_revisionn'" $F '-- mig:revision 333333333333\n-- mig:down_revisionn 222222222222\n-- mig:upgrade\n'
bad_file "header truncated after the key" "$F:1: 'mig:revision' has no value" $F '-- mig:revision'
bad_file "header truncated mid-key" "$F:1: unknown key 'mig:rev'" $F '-- mig:rev'
bad_file "header truncated before the upgrade section" "$F: revision 333333333333 has no '-- mig:upgrade' section" $F "$H"
bad_file "no revision line" "$F.*revision" $F '-- mig:down_revision 222222222222\n-- mig:upgrade\n'
bad_file "header key given twice" "$F:3: duplicate key 'mig:revision'.*line 1" $F "$H"'-- mig:revision 333333333333\n-- mig:upgrade\n'
bad_file "invalid revision id" "$F:1: invalid revision id" $F '-- mig:revision 33333333333-\n-- mig:upgrade\n'
bad_file "id that does not match the file name" "$F:1: revision '444444444444' does not match the file name" $F '-- mig:revision 444444444444\n-- mig:down_revision 222222222222\n-- mig:upgrade\n'
bad_file "transaction that is no boolean" "$F:3: 'mig:transaction' must be true or false" $F "$H"'-- mig:transaction maybe\n-- mig:upgrade\n'
bad_file "phase that is neither expand nor contract" "$F:3: 'mig:phase' must be expand or contract, not 'later'" $F "$H"'-- mig:phase later\n-- mig:upgrade\n'
bad_file "lock_timeout that is no duration" "$F:3: 'mig:lock_timeout' takes a duration such as 500ms, 5s or 2min" $F "$H"'-- mig:lock_timeout fast\n-- mig:upgrade\n'
bad_file "statement_timeout out of range" "$F:3: 'mig:statement_timeout' takes a duration.*at most 2147483647ms" $F "$H"'-- mig:statement_timeout 99999999999999min\n-- mig:upgrade\n'
bad_file "retries that is no number" "$F:3: 'mig:retries' takes a whole number from 0 to 100, not 'three'" $F "$H"'-- mig:retries three\n-- mig:upgrade\n'
bad_file "statement before any section" "$F:3: statement outside a section" $F "$H"'CREATE TABLE q (x INTEGER);\n-- mig:upgrade\n'
bad_file "second upgrade section" "$F:5: second '-- mig:upgrade' section \(first at line 3\)" $F "$H"'-- mig:upgrade\nSELECT 1;\n-- mig:upgrade\n'
bad_file "duplicate id" "111111111111" 111111111111_again.sql '-- mig:revision 111111111111\n-- mig:upgrade\n'
bad_file "dangling down_revision" "$F:2: down_revision '999999999999' is not a known revision" $F '-- mig:revision 333333333333\n-- mig:down_revision 999999999999\n-- mig:upgrade\n'
bad_file "dangling depends_on" "$F:3: depends_on '999999999999' is not a known revision or branch label" $F "$H"'-- mig:depends_on 999999999999\n-- mig:upgrade\n'
bad_file "revision that is its own parent" "$F: revision cycle: 333333333333 -> 333333333333" $F '-- mig:revision 333333333333\n-- mig:down_revision 333333333333\n-- mig:upgrade\n'
bad_file "file name without an id" "x.sql:1: revision '333333333333' does not match the file name" x.sql '-- mig:revision 333333333333\n-- mig:upgrade\n'

# a cycle through two files
printf -- '-- mig:revision 555555555555\n-- mig:down_revision 666666666666\n-- mig:upgrade\n' > $V/555555555555_a.sql
printf -- '-- mig:revision 666666666666\n-- mig:down_revision 555555555555\n-- mig:upgrade\n' > $V/666666666666_b.sql
case_rc2 "cycle through two files" "revision cycle" upgrade head
rm -f $V/555555555555_a.sql $V/666666666666_b.sql

# an ambiguous reference: depends_on a prefix that names two revisions
write_rev $V 3333aaaa0000 222222222222 "left" "SELECT 1;" "SELECT 1;"
write_rev $V 3333bbbb0000 222222222222 "right" "SELECT 1;" "SELECT 1;"
printf -- '-- mig:revision 444444444444\n-- mig:down_revision 3333aaaa0000\n-- mig:depends_on 3333\n-- mig:upgrade\n' > $V/444444444444_c.sql
case_rc2 "ambiguous depends_on" "444444444444_c.sql:3: depends_on '3333' is ambiguous: 3333aaaa0000, 3333bbbb0000" upgrade heads
rm -f $V/444444444444_c.sql
# one branch label on two branches
printf -- '-- mig:revision 3333aaaa0000\n-- mig:down_revision 222222222222\n-- mig:branch_labels same\n-- mig:upgrade\n' > $V/3333aaaa0000_left.sql
printf -- '-- mig:revision 3333bbbb0000\n-- mig:down_revision 222222222222\n-- mig:branch_labels same\n-- mig:upgrade\n' > $V/3333bbbb0000_right.sql
case_rc2 "branch label on two branches" "same" upgrade heads
rm -f $V/3333aaaa0000_* $V/3333bbbb0000_*

# big files: 50 MB and 100,000 statements, each spoilt at its very end
big_file() { # big_file PATH ID LINES LINE_TEXT
    { printf -- '-- mig:revision %s\n-- mig:down_revision 222222222222\n-- mig:upgrade\nCREATE TABLE big (x TEXT);\n' "$2"
      yes "$4" | head -n "$3"; } > "$1"
}
PAD=$(head -c 1000 /dev/zero | tr '\0' x)
big_file $V/444444444444_big.sql 444444444444 51000 "INSERT INTO big VALUES ('$PAD');"
printf '\xff\n' >> $V/444444444444_big.sql
case_rc2 "50 MB revision with invalid UTF-8 at its end" "444444444444_big.sql:51005:.*UTF-8" upgrade head
rm -f $V/444444444444_big.sql
big_file $V/444444444444_many.sql 444444444444 100000 "INSERT INTO big VALUES ('x');"
printf '\x00' >> $V/444444444444_many.sql
case_rc2 "100,000 statements with a NUL byte at the end" "444444444444_many.sql:100005:.*(binary|NUL)" upgrade head
rm -f $V/444444444444_many.sql

# ... and the same files, whole, apply in seconds
big_file $V/444444444444_big.sql 444444444444 51000 "INSERT INTO big VALUES ('$PAD');"
start=$(date +%s)
run upgrade head
expect_rc 0 "50 MB revision"
expect_eq "$(sql 'SELECT count(*) FROM big')" 51000 "rows of the 50 MB revision"
run downgrade 222222222222
expect_rc 2 "downgrade through the 50 MB revision, which has no downgrade"
sqlite3 "$DB_FILE" "DROP TABLE big; DELETE FROM mig_version; INSERT INTO mig_version VALUES ('222222222222')"
rm -f $V/444444444444_big.sql
big_file $V/444444444444_many.sql 444444444444 100000 "INSERT INTO big VALUES ('x');"
run upgrade head
expect_rc 0 "100,000 statements"
expect_eq "$(sql 'SELECT count(*) FROM big')" 100000 "rows of the 100,000-statement revision"
took=$(( $(date +%s) - start ))
[ "$took" -lt 120 ] && pass || fail "big revisions took $took s"
rm -f $V/444444444444_many.sql
sqlite3 "$DB_FILE" "DROP TABLE big; DELETE FROM mig_version; INSERT INTO mig_version VALUES ('222222222222')"

# memory in proportion (docs/performance.md): a 100 MB revision, with a downgrade section after
# its upgrade (so the upgrade text is no NUL-terminated tail of the file), is read once and run
# without a second copy: peak RSS under 1.4 times the file (the old reader and the driver's copy
# of the script made it 2.1)
# (not under sanitizers, whose shadow memory and quarantine are no measure of mig's)
if [ -x /usr/bin/time ] && ! grep -q '^MIG_SANITIZE:BOOL=ON' "$MIG_BUILD/CMakeCache.txt" 2>/dev/null; then
    big_file $V/444444444444_big.sql 444444444444 100000 "INSERT INTO big VALUES ('$PAD');"
    printf -- '-- mig:downgrade\nDROP TABLE big;\n' >> $V/444444444444_big.sql
    size_kb=$(( $(stat -c %s $V/444444444444_big.sql) / 1024 ))
    /usr/bin/time -f %M -o "$T_TMP/rss" "$MIG" upgrade head > /dev/null 2>&1
    expect_eq "$(sql 'SELECT count(*) FROM big')" 100000 "rows of the 100 MB revision"
    rss_kb=$(tail -1 "$T_TMP/rss")
    [ $(( rss_kb * 10 )) -lt $(( size_kb * 14 )) ] && pass || fail "100 MB revision: peak RSS $rss_kb kB for a $size_kb kB file"
    sqlite3 "$DB_FILE" "DROP TABLE big; DELETE FROM mig_version; INSERT INTO mig_version VALUES ('222222222222')"
    rm -f $V/444444444444_big.sql
fi
# time in proportion: a revision run statement by statement (`transaction false`, and every
# revision on MySQL) records after each statement the hash of those applied so far; hashing the
# whole prefix again each time was quadratic (1,000 statements of 20 kB: 8 s of CPU, now 0.1 s)
if [ -x /usr/bin/time ] && ! grep -q '^MIG_SANITIZE:BOOL=ON' "$MIG_BUILD/CMakeCache.txt" 2>/dev/null; then
    PAD20=$(head -c 20000 /dev/zero | tr '\0' x)
    { printf -- '-- mig:revision 444444444444\n-- mig:down_revision 222222222222\n-- mig:transaction false\n-- mig:upgrade\nCREATE TABLE big (x TEXT);\n'
      yes "INSERT INTO big VALUES ('$PAD20');" | head -n 1000; } > $V/444444444444_stepwise.sql
    printf '[mig]\nscript_location = migrations\nurl = %s\non_connect = PRAGMA synchronous = OFF\n' "$URL" > fast.ini
    /usr/bin/time -f %U -o "$T_TMP/cpu" "$MIG" -c fast.ini upgrade head > /dev/null 2>&1
    expect_eq "$(sql 'SELECT count(*) FROM big')" 1000 "rows of the stepwise revision"
    expect_eq "$(sql "SELECT statements_applied FROM mig_history WHERE revision = '444444444444' ORDER BY id DESC LIMIT 1")" 1001 "every statement counted"
    cpu=$(tail -1 "$T_TMP/cpu")
    awk -v c="$cpu" 'BEGIN { exit !(c < 2) }' && pass || fail "a 20 MB revision run statement by statement took $cpu s of CPU"
    sqlite3 "$DB_FILE" "DROP TABLE big; DELETE FROM mig_version; INSERT INTO mig_version VALUES ('222222222222')"
    rm -f $V/444444444444_stepwise.sql fast.ini
fi
# statements longer than the driver's window (1 MB), with ';' inside a string and a trigger
# body, still split where SQLite splits them
{ printf -- '-- mig:revision 444444444444\n-- mig:down_revision 222222222222\n-- mig:upgrade\n'
  printf "CREATE TABLE w (x TEXT);\nINSERT INTO w VALUES ('"; head -c 3000000 /dev/zero | tr '\0' ';'; printf "');\n"
  printf 'CREATE TRIGGER wt AFTER INSERT ON w BEGIN SELECT 1; SELECT 2; END;\nINSERT INTO w VALUES (%s);\n' "'x'"
  printf -- '-- mig:downgrade\nDROP TABLE w;\n'; } > $V/444444444444_wide.sql
run upgrade head
expect_rc 0 "statements wider than the window"
expect_eq "$(sql "SELECT count(*), max(length(x)) FROM w")" "$(printf '2\t3000000')" "rows of the wide revision"
run downgrade 222222222222
expect_rc 0 "downgrade of the wide revision"
rm -f $V/444444444444_wide.sql

# downgrade through a revision with no downgrade section: refused before anything runs
write_rev $V 777777777777 222222222222 "no way back" "CREATE TABLE t7 (x INTEGER);"
run upgrade head
expect_rc 0 "apply one-way"
BEFORE=$(snapshot)
case_rc2 "downgrade through a revision with no downgrade" "777777777777_no_way_back.sql: revision 777777777777 has no downgrade" downgrade base

# a FIFO (or a device) where a revision file should be: an error naming it, never a
# wait for a writer (timeout turns a hang into a failure, not a stuck test)
mkfifo "$V/fifo1_x.sql"
SAVED_RUN=("${MIG_RUN[@]}"); MIG_RUN=(timeout 60 "${MIG_RUN[@]}")
case_rc2 "revision file that is a FIFO" "fifo1_x.sql: cannot open: not a regular file" heads
case_rc2 "revision file that is a FIFO, on upgrade" "fifo1_x.sql: cannot open: not a regular file" upgrade head
MIG_RUN=("${SAVED_RUN[@]}")
rm -f "$V/fifo1_x.sql"

done_testing
