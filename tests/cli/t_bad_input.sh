#!/usr/bin/env bash
# Bad input: each case exits 2 with a one-line reason naming the file, line
# or option, never crashes, and leaves the database as it was.
. "$MIG_SRC/tests/cli/lib.sh"

new_db bad
project
V=migrations/versions
write_rev $V 111111111111 "" "first" "CREATE TABLE t1 (x INTEGER);" "DROP TABLE t1;"
write_rev $V 222222222222 111111111111 "second" "CREATE TABLE t2 (x INTEGER);" "DROP TABLE t2;"
run upgrade 111111111111
expect_rc 0 "setup"
snapshot() { sqlite3 "$DB_FILE" .dump | md5sum; }
BEFORE=$(snapshot)
unchanged() { expect_eq "$(snapshot)" "$BEFORE" "database unchanged after $1"; }

case_rc2() { # case_rc2 NAME ERR_REGEX mig-args...
    local name=$1 re=$2; shift 2
    run "$@"
    expect_rc 2 "$name"
    expect_err "$re"
    one_line_err
    unchanged "$name"
}

# configuration
case_rc2 "missing -c file" "nope.ini" -c nope.ini upgrade head
printf '[mig\nurl = x\n' > broken.ini
case_rc2 "ini syntax" "broken.ini:1" -c broken.ini upgrade head
printf '[mig]\nscript_location = migrations\nurl = ${NO_SUCH_VAR_X}\n' > unset.ini
case_rc2 "unset variable" "NO_SUCH_VAR_X" -c unset.ini upgrade head
printf '[mig]\nscript_locaton = migrations\nurl = %s\n' "$URL" > typo.ini
case_rc2 "unknown key" "script_location" -c typo.ini upgrade head
case_rc2 "unknown driver" "nosuchdb" --driver nosuchdb upgrade head
case_rc2 "unknown scheme" "oracle" --url oracle://x/y upgrade head
mkdir -p plug && cp /usr/lib/x86_64-linux-gnu/libz.so.1 plug/mig_driver_fake.so 2>/dev/null || printf 'not elf' > plug/mig_driver_fake.so
case_rc2 "non-driver .so" "mig_driver_fake.so" --driver-path plug --driver fake upgrade head

# options
case_rc2 "-x without =" "-x" -x novalue upgrade head
case_rc2 "-j 0" "-j" -j 0 upgrade head
case_rc2 "unknown option" "--frobnicate" --frobnicate upgrade head
case_rc2 "unknown command" "frobnicate" frobnicate

# targets
case_rc2 "unknown target" "nosuchrev" upgrade nosuchrev
case_rc2 "bad relative" "\+x" upgrade +x

# revision files
bad_file() { # bad_file NAME ERR_REGEX FILENAME CONTENT
    printf '%b' "$4" > "$V/$3"
    case_rc2 "$1" "$2" upgrade head
    rm -f "$V/$3"
}
bad_file "duplicate id" "111111111111" "111111111111_again.sql" '-- mig:revision 111111111111\n-- mig:upgrade\n'
bad_file "dangling down_revision" "999999999999" "333333333333_x.sql" '-- mig:revision 333333333333\n-- mig:down_revision 999999999999\n-- mig:upgrade\n'
bad_file "malformed header" "333333333333_x.sql:2" "333333333333_x.sql" '-- mig:revision 333333333333\n-- mig:down_revisionn 222222222222\n-- mig:upgrade\n'
bad_file "empty file" "333333333333_x.sql" "333333333333_x.sql" ''
bad_file "binary file" "333333333333_x.sql" "333333333333_x.sql" '-- mig:revision 333333333333\n\x00\x01\x02\n'
bad_file "invalid utf-8 header" "333333333333_x.sql" "333333333333_x.sql" '-- mig:revision 333333333333\n-- mig:message caf\xe9\n-- mig:upgrade\n'
bad_file "id does not match file" "444444444444" "333333333333_x.sql" '-- mig:revision 444444444444\n-- mig:down_revision 222222222222\n-- mig:upgrade\n'
# a cycle: two files naming each other
printf -- '-- mig:revision 555555555555\n-- mig:down_revision 666666666666\n-- mig:upgrade\n' > $V/555555555555_a.sql
printf -- '-- mig:revision 666666666666\n-- mig:down_revision 555555555555\n-- mig:upgrade\n' > $V/666666666666_b.sql
case_rc2 "cycle" "cycle" upgrade head
rm -f $V/555555555555_a.sql $V/666666666666_b.sql

# downgrade through a revision with no downgrade section
write_rev $V 777777777777 222222222222 "no way back" "CREATE TABLE t7 (x INTEGER);"
run upgrade head
expect_rc 0 "apply one-way"
BEFORE=$(snapshot)
case_rc2 "no downgrade section" "777777777777.*no downgrade" downgrade base

# a target the graph alone refutes: exit 2 before the database is created
# (a missing SQLite file stays missing)
no_file() { # no_file NAME ERR_REGEX mig-args...
    local name=$1 re=$2; shift 2
    rm -f "$T_TMP/missing.db"
    run --url "sqlite:///$T_TMP/missing.db" "$@"
    expect_rc 2 "$name"
    expect_err "$re"
    one_line_err
    [ -e "$T_TMP/missing.db" ] && fail "$name: created $T_TMP/missing.db" || pass
}
no_file "upgrade to an unknown revision" "nosuchrev" upgrade nosuchrev
no_file "upgrade to a malformed target" "\+x" upgrade +x
no_file "upgrade to an unknown label" "nolabel" upgrade nolabel@head
no_file "upgrade going down" "goes down" upgrade -1
no_file "downgrade to an unknown revision" "nosuchrev" downgrade nosuchrev
no_file "downgrade going up" "goes up" downgrade +1
no_file "stamp an unknown revision" "nosuchrev" stamp nosuchrev
no_file "stamp a relative target" "relative" stamp +1

# nothing crashed, nothing printed a stack
done_testing
