#!/usr/bin/env bash
# Bad input, command line and drivers: options, targets and plugins that
# cannot be used. Each case exits 2 with a one-line reason naming the
# option (or the plugin's file), never crashes and leaves the database as it
# was. docs/errors.md lists every case; MIG_ERRORS_DOC=FILE appends rows.
. "$MIG_SRC/tests/cli/lib.sh"

new_db cli
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
            "$(printf '%s' "$ERR" | head -1 | sed "s#$T_TMP/##g; s#${MIG_TEST_PLUGINS:-/nowhere}/##g")" >> "$MIG_ERRORS_DOC"
    fi
}

# options
case_rc2 "-j 0" "option '-j'.*'0'" -j 0 upgrade head
case_rc2 "-j that is no number" "option '-j'.*'two'" -j two upgrade head
case_rc2 "-x without =" "option '-x' needs KEY=VALUE" -x novalue upgrade head
case_rc2 "-x with an empty key" "option '-x' needs KEY=VALUE" -x =v upgrade head
case_rc2 "--lock-timeout that is no number" "option '--lock-timeout'" --lock-timeout soon upgrade head
case_rc2 "--lock-timeout below zero" "option '--lock-timeout'" --lock-timeout -1 upgrade head
case_rc2 "--tenant with an empty name" "option '--tenant' needs a name" --tenant '' upgrade head
case_rc2 "unknown option" "unknown option '--frobnicate'" --frobnicate upgrade head
case_rc2 "unknown command" "unknown command 'frobnicate'" frobnicate
case_rc2 "mistyped command" "unknown command 'upgarde' \\(did you mean 'upgrade'\\?\\)" upgarde head
case_rc2 "mistyped option" "unknown option '--sqll' \\(did you mean '--sql'\\?\\)" upgrade --sqll head
case_rc2 "command without its TARGET" "'upgrade' needs TARGET" upgrade
case_rc2 "extra argument" "unexpected argument 'extra'" upgrade head extra
case_rc2 "revision without -m" "'revision' needs -m MSG" revision
case_rc2 "revision with an empty -m" "'revision' needs -m MSG" revision -m ""
case_rc2 "revision --phase that is neither expand nor contract" "option '--phase' must be expand or contract, not 'later'" revision -m x --phase later
case_rc2 "downgrade --expand" "unknown option '--expand'" downgrade --expand base

# targets
case_rc2 "unknown target" "unknown revision 'nosuchrev'" upgrade nosuchrev
case_rc2 "relative step that is no number" "'\+x'" upgrade +x
case_rc2 "REV+N with garbage" "'head\+abc'" upgrade head+abc
case_rc2 "unknown branch label" "unknown branch 'nolabel'" upgrade nolabel@head
case_rc2 "range without --sql" "range '111111111111:head' works only with --sql" upgrade 111111111111:head
case_rc2 "downgrade --sql without a range" "needs a range FROM:TO" downgrade --sql base
case_rc2 "show an unknown revision" "unknown revision 'nosuchrev'" show nosuchrev
case_rc2 "stamp an unknown revision" "unknown revision 'nosuchrev'" stamp nosuchrev
write_rev $V 3333aaaa0000 222222222222 "left" "SELECT 1;" "SELECT 1;"
write_rev $V 3333bbbb0000 222222222222 "right" "SELECT 1;" "SELECT 1;"
case_rc2 "ambiguous prefix" "prefix '3333' is ambiguous: 3333aaaa0000, 3333bbbb0000" upgrade 3333
case_rc2 "head with several heads" "'head' is ambiguous.*use 'heads' or LABEL@head" upgrade head
rm -f $V/3333aaaa0000_* $V/3333bbbb0000_*

# drivers
case_rc2 "unknown driver" "unknown driver 'nosuchdb': no mig_driver_nosuchdb.so found" --driver nosuchdb upgrade head
case_rc2 "driver name with a path in it" "unknown driver '../x'" --driver ../x upgrade head
case_rc2 "--driver that does not match the URL" "driver 'postgres' \(--driver\) cannot use URL '.*', which is a sqlite URL" --driver postgres upgrade head
case_rc2 "--tenant where the driver has no schemas" "driver 'sqlite' has no schemas" --tenant acme upgrade head
mkdir -p plug
printf 'not an ELF file\n' > plug/mig_driver_text.so
case_rc2 "text file named like a driver" "mig_driver_text.so: cannot be loaded" --driver-path plug --driver text upgrade head
for lib in /usr/lib/x86_64-linux-gnu/libz.so.1 /lib/x86_64-linux-gnu/libz.so.1 /usr/lib/*/libz.so.1; do
    [ -f "$lib" ] && { cp "$lib" plug/mig_driver_zlib.so; break; }
done
if [ -f plug/mig_driver_zlib.so ]; then
    case_rc2 "shared object that is no driver" "mig_driver_zlib.so: not a mig driver \(no mig_driver_entry symbol\)" \
        --driver-path plug --driver zlib upgrade head
fi
P=${MIG_TEST_PLUGINS:-$MIG_BUILD/tests/plugins}
if [ -f "$P/mig_driver_abinext.so" ]; then
    case_rc2 "driver built for a later ABI" "mig_driver_abinext.so: driver ABI 3, this mig needs 1 to 2" --driver-path "$P" --driver abinext upgrade head
    case_rc2 "driver built for ABI 0" "mig_driver_abizero.so: driver ABI 0, this mig needs 1 to 2" --driver-path "$P" --driver abizero upgrade head
    case_rc2 "driver without the magic number" "mig_driver_nomagic.so: not a mig driver \(bad magic number\)" --driver-path "$P" --driver nomagic upgrade head
    case_rc2 "driver without an entry symbol" "mig_driver_noentry.so: not a mig driver \(no mig_driver_entry symbol\)" --driver-path "$P" --driver noentry upgrade head
    case_rc2 "driver whose entry returns NULL" "mig_driver_nulltable.so: its entry point returned no driver table" --driver-path "$P" --driver nulltable upgrade head
    case_rc2 "driver that calls itself another name" "mig_driver_misnamed.so: driver calls itself 'someotherdb'" --driver-path "$P" --driver misnamed upgrade head
    case_rc2 "driver without mandatory functions" "mig_driver_noslots.so: driver lacks mandatory function 'connect'" --driver-path "$P" --driver noslots upgrade head
    # a broken plugin on the path does not hide the good ones, and is listed with its reason
    run --driver-path "$P" drivers
    expect_rc 0 "drivers with broken plugins on the path"
    expect_out "abinext.*unusable: driver ABI"
    expect_out "^sqlite"
else
    fail "no test plugins in $P (tests/plugins not built)"
fi

# values that go into a new revision's header: refused before a file is written, so no
# later command meets a file it rejects
nfiles() { ls $V | wc -l; }
N0=$(nfiles)
rev_case() { # rev_case NAME ERR_REGEX mig-args...
    local name=$1; shift
    case_rc2 "$name" "$@"
    expect_eq "$(nfiles)" "$N0" "no file written after $name"
    run heads
    expect_rc 0 "heads after $name"
}
rev_case "--branch-label with a slash" "--branch-label 'feature/login': use letters, digits" revision -m x --branch-label feature/login
rev_case "--branch-label with a dot" "--branch-label 'a.b'" revision -m x --branch-label a.b
rev_case "--branch-label naming a parent folder" "--branch-label '../x'" revision -m x --branch-label ../x
rev_case "--branch-label head" "would not read back: .*'head' cannot be a branch label" revision -m x --branch-label head
rev_case "--branch-label that is a revision id" "would not read back: .*branch label '111111111111' is the id" \
    revision -m x --branch-label 111111111111
rev_case "-m with invalid UTF-8" "would not read back: .*invalid UTF-8" revision -m "$(printf 'caf\xe9')"
run revision -m "ok" --branch-label feature-login
expect_rc 0 "a valid label is written"
run heads
expect_rc 0 "heads reads the labelled revision"
expect_out "feature-login"
rm -f $V/*_ok.sql

done_testing
