#!/usr/bin/env bash
# Allocation-failure run: `mig upgrade head` on SQLite, with the Nth
# allocation failing (failmalloc.c, preloaded), for N = 1, 2, ... until a
# run no longer reaches N. Every run must end with exit 0, 1 or 2 (no
# crash, no sanitizer report; running out of memory is exit 1), a one-line
# message when it fails, and a database that is either untouched or fully
# migrated.
#
#   MIG, MIG_SRC, MIG_BUILD  as for the CLI tests (a sanitizer build's mig
#                            also has its leaks checked on every run)
#   MIG_ALLOC_STEP=K         try every Kth N only (CI: a quick sample)
#   MIG_ALLOC_FROM=N         start at N (to replay one failure)
#   MIG_ALLOC_KEEP=1         keep the work folder
#   MIG_ALLOC_VERBOSE=1      also name the allocations whose failure was
#                            absorbed (exit 0, database migrated)
#   MIG_ALLOC_PERSIST=1      every allocation from the Nth on fails (what
#                            Lua's retry after a collection cannot absorb);
#                            a failed run must then say it ran out of memory
#   MIG_ALLOC_HOOKS=1        the project also has a [hooks] script and its
#                            last revision is a Lua one, so that Lua's state,
#                            the scripts' loading and the calls into them
#                            meet the failures as well
set -u
: "${MIG:?}" "${MIG_SRC:?}" "${MIG_BUILD:?}"
export MIG_DRIVER_PATH=${MIG_DRIVER_PATH:-$MIG_BUILD/drivers}
unset MIG_CONFIG MIG_DATABASE_URL
# with $USER set, applied_by needs no getpwuid(): glibc's NSS asserts when an
# allocation fails inside it (docs/reliability.md)
export USER=${USER:-mig}
STEP=${MIG_ALLOC_STEP:-1}
N=${MIG_ALLOC_FROM:-1}
W=$(mktemp -d -t mig-alloc.XXXXXX)
[ "${MIG_ALLOC_KEEP:-0}" = 1 ] || trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1

cc -O1 -g -shared -fPIC -o "$W/failmalloc.so" "$MIG_SRC/tests/alloc/failmalloc.c" -ldl || exit 1

mkdir -p migrations/versions
cat > mig.ini <<INI
[mig]
script_location = migrations
url = sqlite:db.sqlite
INI
rev() { # rev ID DOWN SQL
    { echo "-- mig:revision $1"; [ -n "$2" ] && echo "-- mig:down_revision $2"
      echo "-- mig:message step $1"; echo; echo "-- mig:upgrade"; echo "$3"
      echo; echo "-- mig:downgrade"; echo "SELECT 1;"; } > "migrations/versions/$1_step.sql"
}
rev aaaaaaaaaaaa "" "CREATE TABLE t1 (x INTEGER); INSERT INTO t1 VALUES (1);"
rev bbbbbbbbbbbb aaaaaaaaaaaa "CREATE TABLE t2 (x TEXT DEFAULT 'a;b'); CREATE INDEX t2_x ON t2 (x);"
if [ "${MIG_ALLOC_HOOKS:-0}" = 1 ]; then
    mkdir -p hooks
    cat >> mig.ini <<INI

[hooks]
scripts = hooks/audit.lua
INI
    cat > hooks/audit.lua <<'LUA'
local seen = {}
return {
  before_migrate = function(db, ctx) seen[#seen + 1] = "begin " .. ctx.direction end,
  before_each = function(db, ctx) seen[#seen + 1] = ctx.revision end,
  after_each = function(db, ctx) db:exec("SELECT ?", ctx.revision) end,
  after_migrate = function(db, ctx) ctx.log(table.concat(seen, ",")) end,
  on_error = function(ctx, err) seen[#seen + 1] = tostring(err) end,
}
LUA
    { echo "-- mig:revision cccccccccccc"; echo "-- mig:down_revision bbbbbbbbbbbb"
      echo "-- mig:message step cccccccccccc"
      echo 'return {'
      echo '  upgrade = function(db, ctx)'
      echo '    db:exec("CREATE TABLE t3 (x INTEGER)")'
      echo '    for row in db:rows("SELECT x FROM t1") do db:exec("INSERT INTO t3 VALUES (?)", row.x) end'
      echo '  end,'
      echo '  downgrade = function(db, ctx) db:exec("DROP TABLE t3") end,'
      echo '}'; } > migrations/versions/cccccccccccc_step.lua
else
    rev cccccccccccc bbbbbbbbbbbb "CREATE TABLE t3 (x INTEGER); -- the end"
fi

# sanitizer builds: keep mig's exit codes apart from the sanitizers'
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0:exitcode=99:detect_leaks=1
# the shim's own backtrace() has glibc dlopen libgcc_s, which LeakSanitizer
# then reports as a 56-byte leak in dl_open_worker_begin: not mig's
printf 'leak:dl_open_worker_begin\n' > "$W/lsan.supp"
export LSAN_OPTIONS=${LSAN_OPTIONS:-}:exitcode=98:suppressions=$W/lsan.supp
# spared (docs/reliability.md): libcrypto, which crashes on a failed
# allocation in its own initialisation, and what AddressSanitizer's runtime
# has libc allocate for it (at a thread's start), whose failure it takes
# for fatal
export MIG_ALLOC_SPARE=${MIG_ALLOC_SPARE-libcrypto.so:stack=libasan}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-}:halt_on_error=1:exitcode=97:print_stacktrace=1

state() { # "untouched", "migrated" or what it is
    local got
    got=$(sqlite3 db.sqlite "SELECT (SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_schema
                 WHERE type='table' AND name IN ('t1','t2','t3') ORDER BY name)) || '|' ||
             coalesce((SELECT group_concat(version_num, ',') FROM mig_version), '')" 2>/dev/null ||
          sqlite3 db.sqlite "SELECT (SELECT group_concat(name, ',') FROM sqlite_schema WHERE type='table') || '|'")
    case "$got" in
    "|"|"") echo untouched ;;
    "t1,t2,t3|cccccccccccc") echo migrated ;;
    *) echo "tables and version: $got" ;;
    esac
}
sqlite3 empty.sqlite "PRAGMA user_version = 0" # an existing, empty database

fails=0 runs=0 by_rc0=0 by_rc1=0 by_rc2=0
while :; do
    rm -f report.txt
    cp empty.sqlite db.sqlite
    MIG_ALLOC_FAIL=$N MIG_ALLOC_REPORT=$W/report.txt LD_PRELOAD=$W/failmalloc.so \
        "$MIG" upgrade head >out.txt 2>err.txt
    rc=$?
    runs=$((runs + 1))
    if ! grep -q '^failed' report.txt 2>/dev/null; then
        total=$(sed -n 's/^allocs //p' report.txt)
        [ "$rc" = 0 ] && [ "$(state)" = migrated ] || { echo "FAIL: the run without a failure: exit $rc, $(state)"; fails=$((fails + 1)); }
        break
    fi
    st=$(state)
    case "$rc" in
    0) by_rc0=$((by_rc0 + 1))    # the failure was absorbed (a cache, a retry)
       [ "${MIG_ALLOC_VERBOSE:-0}" = 1 ] && echo "allocation $N: absorbed, exit 0" ;;
    1) by_rc1=$((by_rc1 + 1)) ;;
    2) by_rc2=$((by_rc2 + 1)) ;;
    esac
    bad=""
    case "$rc" in 0|1|2) ;; *) bad="exit $rc" ;; esac
    if [ "$rc" = 0 ] && [ "$st" != migrated ]; then bad="exit 0 but $st"; fi
    if [ "$rc" != 0 ] && [ "$st" != untouched ] && [ "$st" != migrated ]; then bad="half-applied: $st"; fi
    if [ "$rc" != 0 ] && ! grep -q '^mig: ' err.txt; then bad="${bad:+$bad, }no error message"; fi
    # running out of memory is exit 1 (mig.h: MIG_ENOMEM), never a usage or driver error
    if [ "$rc" = 2 ] && grep -Eqi 'out of memory|cannot allocate memory' err.txt; then
        bad="${bad:+$bad, }out of memory reported as exit 2"
    fi
    # every allocation failing from N on (MIG_ALLOC_PERSIST=1): a failed run is out of memory and says so
    if [ "${MIG_ALLOC_PERSIST:-0}" = 1 ] && [ "$rc" != 0 ] &&
       ! grep -Eqi 'out of memory|not enough memory|cannot allocate memory' err.txt; then
        bad="${bad:+$bad, }not reported as out of memory"
    fi
    if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' err.txt; then bad="${bad:+$bad, }sanitizer report"; fi
    if [ -n "$bad" ]; then
        fails=$((fails + 1))
        echo "FAIL: allocation $N: $bad"
        sed 's/^/    /' err.txt | head -40
    fi
    N=$((N + STEP))
done
echo "allocation failures: $runs runs over ${total:-?} allocations (step $STEP): exit 0: $by_rc0, exit 1: $by_rc1, exit 2: $by_rc2, bad: $fails"
[ "$fails" = 0 ]
