#!/usr/bin/env bash
# The command line itself: help for every command, --version, usage errors
# (exit 2, one line that names the culprit), global options before and
# after the command name, and `mig drivers`. Runs the built binary on SQLite.
. "$(dirname "$0")/lib.sh"

COMMANDS="backfill branches check current downgrade drivers heads help history init merge revision show stamp tenants test upgrade"

# one_line_only: stderr is exactly one line
one_line_only() {
    local n; n=$(printf '%s\n' "$ERR" | grep -c .)
    if [ "$n" -eq 1 ]; then pass; else fail "error is not one line ($n lines): $ERR"; fi
}

# --version, --help, no command
run --version
expect_rc 0 "--version"
expect_out '^mig [0-9]+\.[0-9]+\.[0-9]+ \(driver ABI [0-9]+\)$'

run --help
expect_rc 0 "--help"
expect_out '^usage: mig '
for c in $COMMANDS; do expect_out "^  $c  "; done
expect_out '--lock-timeout SECONDS'

run -h
expect_rc 0 "-h"
expect_out '^usage: mig '

run
expect_rc 2 "no command"
expect_err 'usage: mig '
expect_err 'upgrade'

# every command's help, after and before the command name
for c in $COMMANDS; do
    run "$c" --help
    expect_rc 0 "$c --help"
    expect_out "^usage: mig \[options\] $c"
    run --help "$c"
    expect_rc 0 "--help $c"
    expect_out "^usage: mig \[options\] $c"
done
run revision --help
expect_out '-m MSG'
expect_out '--autogenerate'
run upgrade --help
expect_out '--sql'
expect_out '--resume'
expect_out 'TARGET'
run history --help
expect_out '-r A:B'
run stamp --help
expect_out '--purge'

# unknown command and options: exit 2, one line naming them
run frobnicate
expect_rc 2 "unknown command"
one_line_only
expect_err "^mig: .*'frobnicate'"

run --frob upgrade head
expect_rc 2 "unknown option before the command"
one_line_only
expect_err "'--frob'"

run upgrade head --frob=3
expect_rc 2 "unknown option after the command"
one_line_only
expect_err "'--frob'"

run history -Z
expect_rc 2 "unknown short option"
one_line_only
expect_err "'-Z'"

run upgrade --purge head
expect_rc 2 "another command's option"
expect_err "'--purge'"

run --json=yes current
expect_rc 2 "value given to a flag"
expect_err "'--json'"

run --url
expect_rc 2 "option without its value"
one_line_only
expect_err "'--url'"

# -x needs KEY=VALUE; -j at least 1; --lock-timeout a number
run -x novalue upgrade head
expect_rc 2 "-x without ="
one_line_only
expect_err "'-x'"
run upgrade head -x =v
expect_rc 2 "-x with an empty key"
expect_err "'-x'"

run -j 0 --all-tenants upgrade head
expect_rc 2 "-j 0"
one_line_only
expect_err "'-j'"
run --jobs=0 --all-tenants upgrade head
expect_rc 2 "--jobs=0"
expect_err "'--jobs'"
run --jobs two upgrade head
expect_rc 2 "--jobs two"

run --lock-timeout soon upgrade head
expect_rc 2 "--lock-timeout soon"
expect_err "'--lock-timeout'"

# missing or extra positional arguments
for c in upgrade downgrade stamp; do
    run "$c"
    expect_rc 2 "$c without TARGET"
    one_line_only
    expect_err 'TARGET'
done
run show
expect_rc 2 "show without REV"
expect_err 'REV'
run upgrade head base
expect_rc 2 "upgrade with two targets"
expect_err "'base'"
run revision
expect_rc 2 "revision without -m"
expect_err '-m MSG'
run merge
expect_rc 2 "merge without -m"
run revision -m x --from-empty
expect_rc 2 "--from-empty without --autogenerate"
run upgrade a:b
expect_rc 2 "range without --sql"
run downgrade --sql base
expect_rc 2 "downgrade --sql without FROM"

# tenant options on a command that does not work per tenant
run --tenant acme history
expect_rc 2 "--tenant with history"
expect_err "'--tenant'"

# global options before and after the command name, in both forms
new_db usage
write_rev migrations/versions a1a1a1a1a1a1 "" "first table" \
    "CREATE TABLE first_t (id integer);" "DROP TABLE first_t;"
write_rev migrations/versions b2b2b2b2b2b2 a1a1a1a1a1a1 "second table" \
    "CREATE TABLE second_t (id integer);" "DROP TABLE second_t;"

run --url "$URL" --script-location migrations upgrade a1a1
expect_rc 0 "options before the command"
if table_exists first_t; then pass; else fail "first_t not created"; fi

run current --url="$URL" --script-location=migrations
expect_rc 0 "options after the command, --opt=value form"
expect_eq "$OUT" "a1a1a1a1a1a1" "current"

run --url "$URL" upgrade -q head --script-location migrations
expect_rc 0 "options on both sides"
if table_exists second_t; then pass; else fail "second_t not created"; fi

# -1 is a relative target, not an option
run --url "$URL" --script-location migrations downgrade -1
expect_rc 0 "downgrade -1"
if table_exists second_t; then fail "second_t still there after downgrade -1"; else pass; fi

# -c after the command
project
run current -c mig.ini
expect_rc 0 "-c after the command"
expect_eq "$OUT" "a1a1a1a1a1a1" "current with -c"

run history
expect_rc 0 "history"
expect_out '^a1a1a1a1a1a1 -> b2b2b2b2b2b2 \(head\), second table$'
expect_out '^<base> -> a1a1a1a1a1a1 \(current\), first table$'

# history -r A:B: ids, open sides, counts from current or from a revision
run history -r a1a1:
expect_rc 0 "history -r a1a1:"
expect_eq "$(printf '%s\n' "$OUT" | wc -l)" 2 "history -r a1a1: lines"
run history -r :current
expect_rc 0 "history -r :current"
expect_eq "$OUT" "<base> -> a1a1a1a1a1a1 (current), first table" "history -r :current"
run history -r current+1:
expect_eq "$OUT" "a1a1a1a1a1a1 -> b2b2b2b2b2b2 (head), second table" "history -r current+1:"
run history --rev-range=b2b2-1:b2b2-1
expect_eq "$OUT" "<base> -> a1a1a1a1a1a1 (current), first table" "history --rev-range=b2b2-1:b2b2-1"
run history -r a1a1-1:
expect_rc 2 "history -r past base"
expect_err "'a1a1-1'"
run history -r a1a1
expect_rc 2 "history -r without ':'"
expect_err "'-r'"

# --json: one valid document, also for errors
run --json current
expect_rc 0 "--json current"
if printf '%s' "$OUT" | jq -e '.current == ["a1a1a1a1a1a1"]' >/dev/null; then pass; else fail "current JSON: $OUT"; fi

run --json frobnicate
expect_rc 2 "--json with an unknown command"
if printf '%s' "$OUT" | jq -e '.error.exit == 2' >/dev/null; then pass; else fail "error JSON: $OUT"; fi

# stdout that cannot be written is a failure
set +e
"$MIG" --help >/dev/full 2>"$T_TMP/.err"
RC=$?
expect_rc 1 "--help into a full disk"

# drivers
run drivers
expect_rc 0 "drivers"
expect_out '^sqlite +ABI [0-9]+ '
run --json drivers
if printf '%s' "$OUT" | jq -e '[.drivers[] | select(.name == "sqlite")] | length == 1' >/dev/null; then
    pass
else
    fail "drivers JSON lacks sqlite: $OUT"
fi

done_testing
