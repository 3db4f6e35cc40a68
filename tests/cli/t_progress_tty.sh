#!/usr/bin/env bash
# The running step on a terminal: one live line, redrawn in place with its
# elapsed time and the progress a Lua revision reports, then finished with
# the duration; log lines go above it. Run under script(1), which gives mig
# a real pseudo-terminal. Into a pipe, a long step gets a progress line at
# most every few seconds. With tenants the live line is the tenant counter
# and the step a worker runs; with tenants and -v, or NO_COLOR, none.
. "$(dirname "$0")/lib.sh"

command -v script >/dev/null || { echo "script(1) not installed: skipped"; exit 77; }
new_db tty
project
V=migrations/versions
write_rev $V aaaaaaaaaaa1 "" "step one" "CREATE TABLE p1 (x INTEGER);" "DROP TABLE p1;"
# about 1.5 s of work, in ten reported parts, and a line logged part-way
cat > $V/bbbbbbbbbbb2_slow.lua <<'LUA'
-- mig:revision bbbbbbbbbbb2
-- mig:down_revision aaaaaaaaaaa1
-- mig:message slow fill
return {
  upgrade = function(db, ctx)
    local t0 = os.clock()
    for i = 1, 10 do
      while os.clock() - t0 < i * 0.15 do end
      ctx.progress(i, 10)
      if i == 5 then ctx.log("halfway") end
    end
  end,
  downgrade = function(db, ctx) end,
}
LUA

# in a terminal: stderr goes to the pty, which script copies to its stdout
COLS=200
tty_run() { # tty_run ARGS...: mig on a terminal $COLS wide; the bytes it wrote in $TTY
    local cmd="stty cols $COLS; MIG_DRIVER_PATH='$MIG_DRIVER_PATH' TERM=xterm"
    cmd+=" $(printf '%q ' "${MIG_RUN[@]}" "$@")"
    TTY=$(env -u NO_COLOR script -qec "$cmd" /dev/null </dev/null 2>&1)
}
tty_run upgrade head
# the live line of a step: drawn from the start of the line, cleared, redrawn
printf '%s' "$TTY" | grep -aq $'\r\033\\[Kupgrade base -> aaaaaaaaaaa1  step one \\.\\.\\. 0\\.[0-9] s' \
    && pass || fail "a live line when the step begins: $(printf '%s' "$TTY" | od -c | head)"
printf '%s' "$TTY" | grep -aEq $'\r\033\\[Kupgrade base -> aaaaaaaaaaa1  step one  \\([0-9]+ ms\\)\r?$' \
    && pass || fail "the live line finished with the duration: $TTY"
# redrawn with the progress: done/total, percentage, rate, time left, elapsed
printf '%s' "$TTY" | grep -aEq $'\r\033\\[Kupgrade aaaaaaaaaaa1 -> bbbbbbbbbbb2  slow fill \\.\\.\\. [0-9]+/10 \\([0-9]+%, [0-9]+/s, (about [0-9]+ s|under 1 s) left\\)  [0-9]+\\.[0-9] s' \
    && pass || fail "progress on the live line: $TTY"
n=$(printf '%s' "$TTY" | grep -ao $'\r\033\\[Kupgrade aaaaaaaaaaa1 -> bbbbbbbbbbb2  slow fill \\.\\.\\.' | wc -l)
[ "$n" -ge 3 ] && pass || fail "the live line is redrawn while the step runs ($n draws)"
# at most a few redraws a second (every 250 ms, and when a line is logged), whatever the rate of ctx.progress
ms=$(printf '%s' "$TTY" | grep -aoE 'slow fill  \([0-9]+ ms\)' | grep -oE '[0-9]+' | head -n 1)
[ -n "$ms" ] && [ "$n" -le $((ms / 250 + 4)) ] && pass || fail "the live line is redrawn $n times in ${ms:-?} ms"
# a logged line goes above the live line, which comes back under it
printf '%s' "$TTY" | grep -aq $'\r\033\\[Khalfway\r\n\r\033\\[Kupgrade aaaaaaaaaaa1 -> bbbbbbbbbbb2  slow fill \\.\\.\\.' \
    && pass || fail "a log line above the live line: $TTY"
printf '%s' "$TTY" | grep -aEq $'\r\033\\[Kupgrade aaaaaaaaaaa1 -> bbbbbbbbbbb2  slow fill  \\([0-9]+ ms\\)\r?$' \
    && pass || fail "the slow step finished with its duration: $TTY"
# what is left on the screen, once the redraws are applied: one line per step
screen=$(printf '%s' "$TTY" | tr -d '\r' | sed 's/.*\x1b\[K//' | grep -av '^$')
expect_eq "$screen" "upgrade base -> aaaaaaaaaaa1  step one  ($(printf '%s' "$screen" | sed -n '1s/.*(\([0-9]*\) ms)/\1/p') ms)
halfway
upgrade aaaaaaaaaaa1 -> bbbbbbbbbbb2  slow fill  ($(printf '%s' "$screen" | sed -n '3s/.*(\([0-9]*\) ms)/\1/p') ms)" "the screen after the run"

# on a narrow terminal the live line is cut to fit (a wrapped line cannot be redrawn in place)
run downgrade base
COLS=40 tty_run upgrade head
long=$(printf '%s' "$TTY" | tr '\r' '\n' | grep -a 'slow fill \.\.\.' | sed 's/\x1b\[K//' | awk 'length > 39' | head -n 1)
expect_eq "$long" "" "live lines fit a terminal 40 wide"
printf '%s' "$TTY" | grep -aEq 'upgrade aaaaaaaaaaa1 -> bbbbbbbbbbb2  slow fill  \([0-9]+ ms\)' \
    && pass || fail "the finished line is whole on a narrow terminal: $TTY"

# a failed step on a terminal: its live line ends "failed", then the error and what is true
write_rev $V ccccccccccc3 bbbbbbbbbbb2 "broken" "INSERT INTO no_such_table VALUES (1);" ""
tty_run upgrade head
printf '%s' "$TTY" | grep -aEq $'\r\033\\[Kupgrade bbbbbbbbbbb2 -> ccccccccccc3  broken  failed \\([0-9]+ ms\\)\r?$' \
    && pass || fail "a failed step on a terminal: $TTY"
printf '%s' "$TTY" | tr -d '\r' | tail -n 1 | grep -q '^rolled back: the failed revision was undone; the database is still at bbbbbbbbbbb2$' \
    && pass || fail "the last line on a terminal: $TTY"
rm -f $V/ccccccccccc3_*.sql

# NO_COLOR and -q: no live line
run downgrade base
TTY=$(script -qec "NO_COLOR=1 MIG_DRIVER_PATH='$MIG_DRIVER_PATH' TERM=xterm $(printf '%q ' "${MIG_RUN[@]}") upgrade head" /dev/null </dev/null 2>&1)
printf '%s' "$TTY" | grep -aq $'\033' && fail "NO_COLOR: escape sequences: $TTY" || pass
printf '%s' "$TTY" | grep -aq '^upgrade base -> aaaaaaaaaaa1  step one \.\.\.' && pass || fail "NO_COLOR: plain lines: $TTY"
run downgrade base
tty_run -q upgrade head
expect_eq "$TTY" "" "-q on a terminal: nothing"

# with tenants no live line: several workers would draw over each other
run downgrade base
cat >> mig.ini <<INI
[tenants]
list = t1, t2
INI
case "$URL" in
sqlite:*) sed -i "s#^url = .*#url = sqlite:///$T_TMP/tty_{tenant}.db#" mig.ini ;;
esac
# without -v: one live line, the step a worker runs, with its tenant and elapsed time, then the counter
tty_run --all-tenants -j 1 upgrade head
printf '%s' "$TTY" | grep -aEq $'\r\033\\[Ktenant t1: upgrade aaaaaaaaaaa1 -> bbbbbbbbbbb2  slow fill \\.\\.\\. [0-9]+/10 .* [0-9]+\\.[0-9] s' \
    && pass || fail "tenants: the running step on the live line: $TTY"
printf '%s' "$TTY" | grep -aEq $'\r\033\\[K\\[1/2 tenants\\] tenant t2: upgrade' \
    && pass || fail "tenants: the counter before the step: $TTY"
n=$(printf '%s' "$TTY" | grep -ao 'slow fill \.\.\.' | wc -l)
[ "$n" -ge 4 ] && pass || fail "tenants: the live line redrawn while the step runs ($n draws)"
# what stays on the screen: ctx.log's line, a line per tenant and the summary, no step line
screen=$(printf '%s' "$TTY" | tr -d '\r' | sed 's/.*\x1b\[K//' | grep -av '^$' | grep -av '^tenant  *from' | grep -av 'halfway$' | awk '{ print $1, $2 }' | paste -sd' ')
expect_eq "$screen" "tenant t1: tenant t2: t1 base t2 base" "tenants: the screen after the run"
run --all-tenants downgrade base
tty_run --all-tenants -j 2 -v upgrade head
printf '%s' "$TTY" | grep -aq $'\033' && fail "tenants -v: a line redrawn in place: $TTY" || pass
printf '%s' "$TTY" | grep -aq '^tenant t1: upgrade base -> aaaaaaaaaaa1  step one \.\.\.' \
    && pass || fail "tenants -v: plain start lines, each with its tenant: $TTY"
printf '%s' "$TTY" | grep -aEq '^tenant t2: upgrade aaaaaaaaaaa1 -> bbbbbbbbbbb2  slow fill  \([0-9]+ ms\)' \
    && pass || fail "tenants -v: plain end lines, each with its tenant: $TTY"

# into a pipe: a step longer than five seconds gets a progress line, not one per call
sed -i '/^\[tenants\]/,$d' mig.ini
sed -i "s#^url = .*#url = $URL#" mig.ini
run downgrade base
cat > $V/ccccccccccc3_long.lua <<'LUA'
-- mig:revision ccccccccccc3
-- mig:down_revision bbbbbbbbbbb2
-- mig:message long fill
return {
  upgrade = function(db, ctx)
    local t0, n = os.time(), 0
    while os.time() - t0 < 7 do n = n + 1; if n % 1000 == 0 then ctx.progress(n) end end
  end,
  downgrade = function(db, ctx) end,
}
LUA
run upgrade head
expect_rc 0 "a long step into a pipe"
n=$(printf '%s\n' "$ERR" | grep -c '^upgrade bbbbbbbbbbb2 -> ccccccccccc3  long fill \.\.\. [0-9]* done ([0-9]*/s)$')
[ "$n" -ge 1 ] && [ "$n" -le 2 ] && pass || fail "into a pipe: one progress line per five seconds ($n): $ERR"
expect_err '^upgrade bbbbbbbbbbb2 -> ccccccccccc3  long fill \.\.\.$'

done_testing
