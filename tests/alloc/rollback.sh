#!/usr/bin/env bash
# Allocation failures while a failed run cleans up: a revision whose second
# statement fails, then `mig upgrade head` again with one allocation failing
# among the last ones of the run (MIG_ALLOC_TAIL of them), where the run
# rolls back and reports. The rollback must happen whatever allocation
# fails (no table left), and the revision's error must come out whole: its
# message with the failed statement as detail, never another error's detail
# in its place nor an empty message.
#
#   MIG, MIG_SRC, MIG_BUILD  as for the CLI tests
#   MIG_ALLOC_TAIL=K         how many of the last allocations to fail (200)
set -u
: "${MIG:?}" "${MIG_SRC:?}" "${MIG_BUILD:?}"
export MIG_DRIVER_PATH=${MIG_DRIVER_PATH:-$MIG_BUILD/drivers}
unset MIG_CONFIG MIG_DATABASE_URL
export USER=${USER:-mig} # no getpwuid() (run.sh says why)
TAIL=${MIG_ALLOC_TAIL:-200}
W=$(mktemp -d -t mig-alloc-rb.XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
command -v sqlite3 >/dev/null || { echo "skip: no sqlite3"; exit 77; }
cc -O1 -g -shared -fPIC -o "$W/failmalloc.so" "$MIG_SRC/tests/alloc/failmalloc.c" -ldl || exit 1

mkdir -p migrations/versions
printf '[mig]\nscript_location = migrations\nurl = sqlite:db.sqlite\n' > mig.ini
cat > migrations/versions/aaaaaaaaaaaa_fails.sql <<'SQL'
-- mig:revision aaaaaaaaaaaa
-- mig:message fails

-- mig:upgrade
CREATE TABLE t1 (x INTEGER);
INSERT INTO nosuch VALUES (1);

-- mig:downgrade
DROP TABLE t1;
SQL

# as in run.sh: the sanitizers' exit codes apart from mig's, libcrypto spared
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0:exitcode=99:detect_leaks=1
printf 'leak:dl_open_worker_begin\n' > "$W/lsan.supp"
export LSAN_OPTIONS=${LSAN_OPTIONS:-}:exitcode=98:suppressions=$W/lsan.supp
export MIG_ALLOC_SPARE=${MIG_ALLOC_SPARE-libcrypto.so:stack=libasan}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-}:halt_on_error=1:exitcode=97:print_stacktrace=1

run() { # run N: fail allocation N (0: none)
    rm -f db.sqlite report.txt
    MIG_ALLOC_FAIL=$1 MIG_ALLOC_REPORT=$W/report.txt LD_PRELOAD=$W/failmalloc.so \
        "$MIG" upgrade head >out.txt 2>err.txt
}
run 0
rc=$?
total=$(sed -n 's/^allocs //p' report.txt)
msg='no such table: nosuch'
stmt='detail: statement: INSERT INTO nosuch'
if [ "$rc" != 1 ] || ! grep -q "$msg" err.txt || ! grep -q "$stmt" err.txt || [ -z "$total" ]; then
    echo "FAIL: the run without an allocation failure: exit $rc"; cat err.txt; exit 1
fi
fails=0 runs=0 kept=0
N=$((total > TAIL ? total - TAIL + 1 : 1))
while [ "$N" -le "$total" ]; do
    run "$N"
    rc=$?
    runs=$((runs + 1))
    bad=""
    case "$rc" in 1|2) ;; *) bad="exit $rc" ;; esac
    tables=$(sqlite3 db.sqlite "SELECT group_concat(name) FROM sqlite_schema WHERE name = 't1'" 2>&1)
    [ -z "$tables" ] || bad="${bad:+$bad, }not rolled back: $tables"
    # the CLI's own printing may fail ('?'), the error may never have formed
    # ("out of memory"): but the revision's message goes with its own detail
    if grep -q "$msg" err.txt; then
        kept=$((kept + 1))
        grep -q "^detail: error 7" err.txt && bad="${bad:+$bad, }another error's detail with the revision's message"
    fi
    grep -q "failed (failed)" err.txt && bad="${bad:+$bad, }the message was lost"
    if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' err.txt; then bad="${bad:+$bad, }sanitizer report"; fi
    if [ -n "$bad" ]; then
        fails=$((fails + 1))
        echo "FAIL: allocation $N of $total: $bad"
        sed 's/^/    /' err.txt | head -10
    fi
    N=$((N + 1))
done
echo "cleanup allocation failures: $runs runs, the revision's error kept in $kept, bad: $fails"
[ "$fails" = 0 ]
