#!/usr/bin/env bash
# Control characters from outside mig (revision messages, tenant names,
# SQL, the database's messages) never reach the terminal raw: C0, DEL and
# C1 are escaped in every human-readable output; one-line fields (messages,
# names, TSV cells) escape \n, \r and \t too; a multi-line statement in an
# error detail keeps its line breaks (indented under its first line) and
# its tabs. JSON carries the text as it is.
. "$MIG_SRC/tests/cli/lib.sh"

new_db ctl
project
V=migrations/versions

# raw_ctl WHAT: no control character but line breaks (and, with tabs=1, tabs) in stdout or stderr
raw_ctl() {
    local keep=${2:-'\n'}
    if printf '%s\n%s' "$OUT" "$ERR" | tr -d "$keep" | LC_ALL=C grep -q '[[:cntrl:]]'; then
        fail "$1 writes raw control characters: $(printf '%s\n%s' "$OUT" "$ERR" | cat -A | head -5)"
    else
        pass
    fi
    if printf '%s\n%s' "$OUT" "$ERR" | LC_ALL=C grep -q $'\xc2[\x80-\x9f]'; then
        fail "$1 writes a raw C1 control"
    else
        pass
    fi
}

MSG=$'\e[31mred\a \xc2\x9b2J end\x7f'
run revision -m "$MSG" --rev-id c0000000000a
expect_rc 0 "revision with escapes in its message"
for cmd in "history" "history -v" "heads" "heads -v" "branches" "show c0000000000a" "upgrade head" "current -v" "downgrade base" "check"; do
    # shellcheck disable=SC2086
    run $cmd
    raw_ctl "mig $cmd"
done
# on a terminal the live step line is escaped too: the only escape sequence is mig's own \r ESC[K
if command -v script >/dev/null; then
    TTY=$(env -u NO_COLOR script -qec "MIG_DRIVER_PATH='$MIG_DRIVER_PATH' TERM=xterm $(printf '%q ' "${MIG_RUN[@]}") upgrade head" /dev/null </dev/null 2>&1)
    printf '%s' "$TTY" | grep -aq $'\033\\[K' && pass || fail "no live line on a terminal: $TTY"
    OUT=$(printf '%s' "$TTY" | sed 's/\x1b\[K//g' | tr -d '\r'); ERR=
    raw_ctl "the live line on a terminal"
    expect_out 'upgrade base -> c0000000000a  .x1b\[31mred\\x07 .* \([0-9]+ ms\)'
    run downgrade base
fi
run history
expect_out 'x1b\[31mred\\x07 \\u009b2J end\\x7f'
run --json history
printf '%s' "$OUT" | grep -Fiq '\u001b[31mred\u0007' && pass || fail "JSON lost the message as it is: $OUT"

# one-line fields: a message with a tab or a line break stays on its line
write_rev $V c0000000000b c0000000000a $'two\tcells' "SELECT 1;" "SELECT 1;"
sed -i "s/^-- mig:message .*/-- mig:message $(printf 'line\rover')/" $V/c0000000000b_*.sql
run history
raw_ctl "history with \\t and \\r in a message" '\n'
expect_out 'line\\rover'
rm -f $V/c0000000000b_*.sql

# an error message naming what the user typed
run show $'\e]0;title\a'
expect_rc 2 "show an unknown revision"
raw_ctl "an error quoting the argument"

# tenant names with \t, \r, \n: the summary and the TSV of `mig tenants`
# keep one line per tenant and their cells
T_URL="sqlite:///$T_TMP/ten_{tenant}.db"
TEN=(--tenant $'a\tb' --tenant $'c\rd' --tenant $'e\nf' --tenant ok)
run --url "$T_URL" "${TEN[@]}" upgrade head
raw_ctl "upgrade of tenants with control characters in their names"
expect_err 'a\\tb'
expect_err 'e\\nf'
run --url "$T_URL" "${TEN[@]}" tenants
raw_ctl "mig tenants" '\n\t'
expect_eq "$(printf '%s\n' "$OUT" | wc -l)" 4 "mig tenants: one line per tenant"
expect_eq "$(printf '%s\n' "$OUT" | awk -F'\t' 'NF < 2 || NF > 3' | wc -l)" 0 "mig tenants: two or three cells a line"
run --url "$T_URL" "${TEN[@]}" current
raw_ctl "current of tenants"

# a failing multi-line statement: its lines, indented under the first, tab kept
write_rev $V c0000000000c c0000000000a "broken" "$(printf 'CREATE TABLE ok (x INT);\n    CREATE TABLE bad (\n\tx INT,\n        y NOPE(\n    );')" "SELECT 1;"
run upgrade head
expect_rc 1 "a failing multi-line statement"
raw_ctl "the detail of a multi-line statement" '\n\t'
expect_eq "$(printf '%s\n' "$ERR" | grep -A3 '^detail: statement:')" "$(printf 'detail: statement: CREATE TABLE bad (\n                   \tx INT,\n                           y NOPE(\n                       );')" \
    "a statement keeps its line breaks, indented under its first line, trimmed, tabs kept"
run --json upgrade head
printf '%s' "$OUT" | grep -Fq 'statement: CREATE TABLE bad (\n' && pass || fail "JSON detail lost the statement's line breaks: $OUT"
rm -f $V/c0000000000c_*.sql

# a revision id read from the database (written by anyone with access to
# it) lands in an error and its hint: one line each, no forged "hint:" line
run upgrade head
sqlite3 "$DB_FILE" "UPDATE mig_version SET version_num = char(27) || '[31mEVIL' || char(10) || 'hint: forged' || char(7)"
for cmd in current "upgrade head" check; do
    # shellcheck disable=SC2086
    run $cmd
    raw_ctl "mig $cmd with a control character in mig_version"
    n=$(printf '%s\n%s\n' "$OUT" "$ERR" | grep -c 'forged')
    [ "$n" -le 2 ] && [ "$(printf '%s\n%s\n' "$OUT" "$ERR" | grep -c '^ *forged\|^hint: forged\|^hint: hint: forged')" = 0 ] && pass ||
        fail "mig $cmd: a revision id from the database broke a line: $ERR"
done
run current
expect_err '^hint: write a placeholder revision .*EVIL\\nhint: forged\\x07'

done_testing
