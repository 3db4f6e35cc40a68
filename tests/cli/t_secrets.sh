#!/usr/bin/env bash
# Secrets: every command, with and without -v and --json, succeeding and
# failing, with a password in --url, in $MIG_DATABASE_URL and in a config
# value taken from the environment: the password appears in no output and
# in no file mig writes (revisions, mig.ini from init, the database itself).
# Runs on SQLite (a password parameter in the URL, which SQLite ignores) and,
# when their drivers are built, against PostgreSQL and MariaDB URLs too
# (the servers from make test, and a closed port for the failures).
. "$MIG_SRC/tests/cli/lib.sh"

PW='Pw0rd-s3cr3t-Zq9'
new_db secrets
project
V=migrations/versions
write_rev $V 111111111111 "" "first" "CREATE TABLE t1 (x INTEGER);" "DROP TABLE t1;"
write_rev $V 222222222222 111111111111 "second" "CREATE TABLE t2 (x INTEGER);" "DROP TABLE t2;"
GOOD="sqlite:///$T_TMP/secrets.db?password=$PW"
BAD="sqlite:///$T_TMP/no/such/dir/x.db?password=$PW"
printf '[mig]\nscript_location = migrations\nurl = ${SECRET_TEST_URL}\n' > env.ini

no_pw() { # no_pw WHAT: the password is in neither stdout nor stderr
    if printf '%s\n%s' "$OUT" "$ERR" | grep -Fq -- "$PW"; then
        fail "$1 shows the password: $(printf '%s\n%s' "$OUT" "$ERR" | grep -F -- "$PW" | head -3)"
    else
        pass
    fi
}

# every command, as ARGS lines; those that cannot succeed still must not leak
COMMANDS=(
    "current" "history" "history -v" "heads" "branches" "show 222222222222"
    "upgrade --sql head" "downgrade --sql head:base"
    "upgrade 111111111111" "upgrade head" "downgrade -1" "upgrade head" "downgrade base"
    "stamp head" "stamp base" "check" "tenants" "current --tenant a" "upgrade --all-tenants head"
    "drivers" "upgrade nosuchrev" "merge -m m" "revision -m secret-check"
)

# sweep URL_MODE URL: every command x (quiet, -v) x (plain, --json)
sweep() {
    local mode=$1 url=$2 cmd v j
    for cmd in "${COMMANDS[@]}"; do
        for v in "" "-v"; do
            for j in "" "--json"; do
                # shellcheck disable=SC2086
                case "$mode" in
                url) run $v $j --url "$url" $cmd ;;
                env) MIG_DATABASE_URL=$url run $v $j $cmd ;;
                ini) SECRET_TEST_URL=$url run $v $j -c env.ini $cmd ;;
                esac
                no_pw "$mode: mig $v $j $cmd"
            done
        done
    done
}

for mode in url env ini; do
    sweep $mode "$GOOD"
    sweep $mode "$BAD"
done
# the sweep wrote revisions (and checked them for the password, below): set them aside
grep -rlaF -- "$PW" $V >/dev/null 2>&1 && fail "a revision holds the password"
ls $V | grep -q secret_check && pass || fail "no revision was written by the sweep"
rm -f $V/*secret_check* $V/*_m.sql
# the good URL did migrate: the sweep succeeded where it should
run --url "$GOOD" upgrade head
expect_rc 0 "upgrade with a password in the URL"
# a failing revision, quiet and verbose
write_rev $V 333333333333 222222222222 "broken" "CREATE TABLE t3 (x INTEGER); SELEC 1;" "DROP TABLE t3;"
for v in "" "-v"; do
    run $v --url "$GOOD" upgrade head;                          expect_rc 1 "failing revision"; no_pw "failing revision $v"
    MIG_DATABASE_URL=$GOOD run $v --json upgrade head;          expect_rc 1 "failing revision"; no_pw "failing revision, env $v"
done
rm -f $V/333333333333_broken.sql
# tenants: a per-tenant URL with a password
for v in "" "-v"; do
    run $v --url "sqlite:///$T_TMP/ten_{tenant}.db?password=$PW" --tenant a --tenant 'b/c' upgrade head
    no_pw "tenants $v"
done
# init writes mig.ini and templates: never the URL it was given
mkdir -p initdir && (cd initdir && MIG_DATABASE_URL=$GOOD "$MIG" -v init >/dev/null 2>&1; "$MIG" --url "$GOOD" init other >/dev/null 2>&1)

# other drivers' URLs: connection failures on a closed port, and, with
# make test's servers, a session that works (they trust loopback, so the
# password is accepted and ignored)
for drv in postgres mysql; do
    [ -f "$MIG_DRIVER_PATH/mig_driver_$drv.so" ] || continue
    case $drv in
    postgres) closed="postgresql://app:$PW@127.0.0.1:1/app"
              open=""
              if [ -n "${MIG_TEST_PG_PORT:-}" ]; then
                  pgdb="mt_secrets_$$"
                  pgc=(psql -X -q -h "$MIG_TEST_PG_HOST" -p "$MIG_TEST_PG_PORT" -U "$MIG_TEST_PG_USER" -d postgres)
                  "${pgc[@]}" -c "DROP DATABASE IF EXISTS $pgdb" -c "CREATE DATABASE $pgdb" >/dev/null 2>&1
                  T_CLEANUP+=("${pgc[*]} -c 'DROP DATABASE IF EXISTS $pgdb WITH (FORCE)'")
                  open="postgresql://$MIG_TEST_PG_USER:$PW@$MIG_TEST_PG_HOST:$MIG_TEST_PG_PORT/$pgdb"
              fi ;;
    mysql)    closed="mysql://app:$PW@127.0.0.1:1/app"
              open="" ;; # the MariaDB user has no password: a wrong one is refused, which is a failure case too
    esac
    for v in "" "-v"; do
        for cmd in "current" "upgrade head" "upgrade --sql head" "check" "tenants"; do
            # shellcheck disable=SC2086
            run $v --url "$closed" $cmd; no_pw "$drv closed port: $v $cmd"
            MIG_DATABASE_URL=$closed run $v --json $cmd; no_pw "$drv closed port, env: $v $cmd"
            if [ -n "$open" ]; then run $v --url "$open" $cmd; no_pw "$drv server: $v $cmd"; fi
        done
        if [ "$drv" = mysql ] && [ -n "${MIG_TEST_MY_PORT:-}" ]; then
            run $v --url "mysql://$MIG_TEST_MY_USER:$PW@$MIG_TEST_MY_HOST:$MIG_TEST_MY_PORT/mysql" current
            no_pw "mysql wrong password $v"
        fi
    done
done

# A password typed unencoded, with '@', '/' or ':' in it, is split
# differently by each parser, and a driver's message may quote any piece of
# it; a keyword string may name it by any alias. No piece may show, and a
# short piece must not be scrubbed inside other words ("tr***nslate").
FR='Zx9FRAG'
frag_urls=(
    "sqlite://u:$FR@h/x.db" "sqlite:u:$FR@h" "sqlite:///$T_TMP/no/dir/x.db?pwd=$FR"
    "sqlite:///$T_TMP/no/dir/x.db?passwd=$FR" "sqlite:///$T_TMP/no/dir/x.db?sslpassword=$FR"
    "nosuchscheme://u:$FR/abc@h/x"
)
[ -f "$MIG_DRIVER_PATH/mig_driver_postgres.so" ] && frag_urls+=(
    "postgresql://postgres:$FR/abc@127.0.0.1:1/x" "postgresql://postgres:a@$FR@127.0.0.1:1/x"
    "postgresql://postgres:$FR:x@127.0.0.1:1/x" "postgresql://postgres:x:$FR@127.0.0.1:1/x"
    "postgresql://postgres:$FR?x@127.0.0.1:1/x" "postgresql://postgres:$FR#x@127.0.0.1:1/x"
    "postgresql://u@127.0.0.1:1/x?password=$FR" "postgresql://u@127.0.0.1:1/x?passwd=$FR"
    "host=127.0.0.1 port=1 password=$FR" "host=127.0.0.1 port=1 passwd=$FR"
    "host=127.0.0.1 port=1 pwd=$FR" "host=127.0.0.1 port=1 sslpassword=$FR"
    "host=127.0.0.1 port=1 password='a b $FR'" "host=127.0.0.1 port=1 password=$FR/x@y"
)
[ -f "$MIG_DRIVER_PATH/mig_driver_mysql.so" ] && frag_urls+=(
    "mysql://root:$FR/abc@127.0.0.1:1/x" "mysql://root:a@$FR@127.0.0.1:1/x"
    "mysql://root:$FR:x@127.0.0.1:1/x" "mariadb://root:$FR?x@127.0.0.1:1/x"
)
for u in "${frag_urls[@]}"; do
    for j in "" "--json"; do
        # shellcheck disable=SC2086
        run $j --url "$u" current
        if printf '%s\n%s' "$OUT" "$ERR" | grep -Fq -- "$FR"; then
            fail "mig $j --url '$u' shows a piece of the password: $ERR$OUT"
        else
            pass
        fi
        if printf '%s\n%s' "$OUT" "$ERR" | grep -Eq '[a-z]\*\*\*[a-z]'; then
            fail "mig $j --url '$u' scrubs inside words: $ERR$OUT"
        else
            pass
        fi
    done
done

# A server may quote a piece of the password cut short: libpq reads
# "HOST:PORT/xxx/pw@..." as database "xxx/pw@...", which PostgreSQL cuts at
# 63 bytes. And a password of more pieces than the scrubber holds: the
# message is withheld rather than half-scrubbed.
if [ -n "${MIG_TEST_PG_PORT:-}" ] && [ -f "$MIG_DRIVER_PATH/mig_driver_postgres.so" ]; then
    pad=$(printf 'x%.0s' $(seq 1 56))
    many=$MIG_TEST_PG_PORT; for i in $(seq 1 70); do many="$many/pcxx$i"; done
    for u in "postgresql://$MIG_TEST_PG_HOST:$MIG_TEST_PG_PORT/$pad/${FR}LONGER@$MIG_TEST_PG_HOST:$MIG_TEST_PG_PORT/x?user=$MIG_TEST_PG_USER" \
             "postgresql://$MIG_TEST_PG_HOST:$many/${FR}@$MIG_TEST_PG_HOST:$MIG_TEST_PG_PORT/x?user=$MIG_TEST_PG_USER"; do
        for j in "" "--json"; do
            # shellcheck disable=SC2086
            run $j --url "$u" current
            expect_rc 1 "a password cut short or in many pieces"
            if printf '%s\n%s' "$OUT" "$ERR" | grep -Eq -- "${FR:0:4}|pcxx"; then
                fail "mig $j --url '$u' shows a piece of the password cut short: $ERR$OUT"
            else
                pass
            fi
        done
    done
fi

# A password of stars is what a masked URL shows: pasting a URL mig printed
# must fail as usual, at once (the scrubber used to find its own *** again).
for u in "sqlite:///$T_TMP/no/dir/x.db?password=***" "sqlite:///$T_TMP/no/dir/x.db?password=*" \
         "sqlite://u:**@h*st/x.db" "postgresql://app:***@127.0.0.1:1/x?bogus=1" \
         "postgresql://u:*@h*st/db" "mysql://u:**@127.0.0.1:1/x?bogus=1"; do
    case $u in
    postgresql*) [ -f "$MIG_DRIVER_PATH/mig_driver_postgres.so" ] || continue ;;
    mysql*) [ -f "$MIG_DRIVER_PATH/mig_driver_mysql.so" ] || continue ;;
    esac
    for cmd in "upgrade head" "current"; do
        saved=("${MIG_RUN[@]}"); MIG_RUN=(timeout 10 "${saved[@]}")
        # shellcheck disable=SC2086
        run --url "$u" $cmd
        MIG_RUN=("${saved[@]}")
        # current on a file that is not there is no error: no revision yet
        if [ "$RC" -eq 1 ] || { [ "$RC" -eq 0 ] && [ "$cmd" = current ]; }; then pass
        else fail "a password of stars ($u, $cmd): exit $RC (124: it hung): $ERR"; fi
    done
done

# A running mig: no core dump (RLIMIT_CORE 0) unless MIG_CORE_DUMPS=1; the
# password is gone from its argv and environment as /proc (and ps) show
# them; a post-write hook does not inherit $MIG_DATABASE_URL.
mkdir -p spin/m/versions
printf '[mig]\nscript_location = m\n\n[post_write_hooks]\nhooks = env\nenv.type = exec\nenv.executable = ./env.sh\n' > spin/mig.ini
printf '#!/bin/sh\nenv > "$(dirname "$0")/hook.env"\n' > spin/env.sh && chmod +x spin/env.sh
printf -- '-- mig:revision 5b0000000001\n-- mig:message spin\n\nreturn { upgrade = function(db) while true do end end, downgrade = function(db) end }\n' \
    > spin/m/versions/5b0000000001_spin.lua
spin() { # spin [VAR=VALUE...] MIG [OPTIONS]: start `mig upgrade head` on a revision that runs forever
    (cd spin && exec env "$@" upgrade head >/dev/null 2>&1) &
    SPIN=$!
    local i
    for i in $(seq 100); do
        tr '\0' ' ' < "/proc/$SPIN/cmdline" 2>/dev/null | grep -q "upgrade head" && break
        sleep 0.05
    done
    sleep 0.3
}
unspin() { kill "$SPIN" 2>/dev/null; wait "$SPIN" 2>/dev/null; }
spin MIG_DATABASE_URL="sqlite:///$T_TMP/spin.db?password=$PW" "$MIG" --url "sqlite:///$T_TMP/spin.db?password=$PW"
lim=$(awk '/core file size/ {print $5, $6}' "/proc/$SPIN/limits")
expect_eq "$lim" "0 0" "a running mig may dump no core"
if tr '\0' '\n' < "/proc/$SPIN/cmdline" | grep -Fq -- "$PW"; then fail "argv of a running mig shows the password"; else pass; fi
if tr '\0' '\n' < "/proc/$SPIN/environ" | grep -Fq -- "$PW"; then fail "environ of a running mig shows the password"; else pass; fi
# the URL's copies are in locked pages of their own: the command line's, and
# the session's (the one a -j worker or a tenant's session holds), at least
# two pages where the system lets mig lock that much (AddressSanitizer
# makes mlock a no-op)
if { [ "$(ulimit -l)" = unlimited ] || [ "$(ulimit -l)" -ge 64 ]; } &&
   ! grep -q '^MIG_SANITIZE:BOOL=ON' "$MIG_BUILD/CMakeCache.txt" 2>/dev/null; then
    lck=$(awk '/^VmLck:/ {print $2}' "/proc/$SPIN/status")
    page_kb=$(( $(getconf PAGESIZE) / 1024 ))
    [ "${lck:-0}" -ge $(( 2 * page_kb )) ] && pass || fail "a running mig locks ${lck:-0} kB: the session's copy of the URL is not in a locked page"
fi
unspin
spin MIG_CORE_DUMPS=1 "$MIG" --url "sqlite:///$T_TMP/spin.db"
lim=$(awk '/core file size/ {print $6}' "/proc/$SPIN/limits")
[ "$lim" != 0 ] && pass || fail "MIG_CORE_DUMPS=1 still turns core dumps off"
unspin
(cd spin && MIG_DATABASE_URL="sqlite:///$T_TMP/spin.db?password=$PW" "$MIG" revision -m hooked >/dev/null 2>&1)
if [ ! -f spin/hook.env ]; then fail "the post-write hook did not run"
elif grep -Fq -- "$PW" spin/hook.env; then fail "a post-write hook inherits the password"
else pass; fi
rm -f spin/hook.env

# no file under the test folder holds the password, the databases included
# (.out/.err hold what run() captured, checked above)
leaks=$(grep -rlaF -- "$PW" "$T_TMP" 2>/dev/null | grep -v -e '/\.out$' -e '/\.err$' -e '/env\.ini$' || true)
if [ -n "$leaks" ]; then fail "files hold the password: $leaks"; else pass; fi
[ -f initdir/mig.ini ] && pass || fail "init wrote no mig.ini"

done_testing
