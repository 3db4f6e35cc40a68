#!/usr/bin/env bash
# Start-up cost: a command loads only what it uses (docs/performance.md).
# libcrypto is opened on the first checksum, not at exec; only the driver
# the URL names is opened; and the checksum through the lazily opened
# library is still the file's SHA-256.
. "$(dirname "$0")/lib.sh"

new_db s
project
write_rev migrations/versions 000000000001 "" "one" "CREATE TABLE one (id INTEGER);" "DROP TABLE one;"
write_rev migrations/versions 000000000002 000000000001 "two" "CREATE TABLE two (id INTEGER);" "DROP TABLE two;"

# loaded: the shared objects the dynamic loader maps for one command
loaded() { LD_DEBUG=files "$MIG" "$@" 2>&1 >/dev/null | grep -o 'file=[^ ]*' | sort -u; }

run upgrade head
expect_rc 0 "upgrade head"
for f in migrations/versions/000000000001_one.sql migrations/versions/000000000002_two.sql; do
    id=$(basename "$f" | cut -c1-12)
    expect_eq "$(sql "SELECT checksum FROM mig_history WHERE revision = '$id'")" \
        "$(sha256sum "$f" | cut -d' ' -f1)" "recorded checksum of $id"
done
# a checksum of a running hash (the statement-by-statement record) matches too
run check
expect_rc 0 "check: recorded checksums match the files"

for cmd in current heads history "upgrade head"; do
    # shellcheck disable=SC2086
    libs=$(loaded $cmd)
    case $libs in
        *libcrypto*) fail "mig $cmd loads libcrypto: $libs" ;;
        *) pass ;;
    esac
    case $libs in
        *mig_driver_postgres*|*mig_driver_mysql*|*libpq*|*libmariadb*) fail "mig $cmd loads a driver the URL does not name: $libs" ;;
        *) pass ;;
    esac
done
# heads reads no database at all
case $(loaded heads) in
    *mig_driver_*) fail "mig heads opens a driver" ;;
    *) pass ;;
esac
# the Lua interpreter, the JSON library and the config parser are not
# libraries loaded at exec (linked in from their archives where the system
# has them; CMake's MIG_STATIC_DEPS)
if grep -q "^MIG_STATIC_DEPS:BOOL=ON" "$MIG_BUILD/CMakeCache.txt" 2>/dev/null &&
   grep -q "^MIG_LUA54_A:FILEPATH=/" "$MIG_BUILD/CMakeCache.txt"; then
    case $(loaded current) in
        *liblua*|*libjansson*|*libinih*) fail "mig current loads Lua, jansson or inih at exec: $(loaded current)" ;;
        *) pass ;;
    esac
    # Lua C modules outside the sandbox find the Lua API in the process
    if nm -D --defined-only "$MIG" | grep -q ' lua_pushinteger$'; then pass; else fail "mig does not export the Lua API"; fi
fi

# reading a revision file is open, fstat, read, close: nothing more per file
if command -v strace >/dev/null; then
    strace -f -c -o "$T_TMP/heads.strace" "$MIG" -q heads >/dev/null 2>&1
    n=$(awk '$NF == "fcntl" { print $4 }' "$T_TMP/heads.strace")
    expect_eq "${n:-0}" 0 "fcntl calls of mig heads"
fi

# the graph's memory: 30,000 revisions read by mig heads within 23 MiB
# (the nodes made in place, no allocation for an absent message or date:
# 20 MiB; copying the nodes and a "" per absent date took 26 MiB)
if [ -x /usr/bin/time ] && ! grep -q "^MIG_SANITIZE:BOOL=ON" "$MIG_BUILD/CMakeCache.txt" 2>/dev/null && [ "${MIG_VALGRIND:-0}" != 1 ]; then
    mkdir -p big/migrations/versions
    printf '[mig]\nscript_location = migrations\nurl = sqlite:///%s/big/b.db\n' "$T_TMP" > big/mig.ini
    awk -v dir="$T_TMP/big/migrations/versions" 'BEGIN {
        for (i = 1; i <= 30000; i++) {
            f = sprintf("%s/%012x_create_t_%d.sql", dir, i, i)
            printf "-- mig:revision %012x\n", i > f
            if (i > 1) printf "-- mig:down_revision %012x\n", i - 1 > f
            printf "-- mig:message create t_%d\n-- mig:upgrade\nCREATE TABLE t_%d (id INTEGER);\n", i, i > f
            close(f)
        }
    }'
    kib=$( { /usr/bin/time -f '%M' "$MIG" -q -c big/mig.ini heads >/dev/null; } 2>&1 | tail -1)
    if [ "$kib" -le $(( 23 * 1024 )) ]; then pass; else fail "mig heads over 30,000 revisions peaked at $kib KiB (budget 23 MiB)"; fi
    rm -rf big
fi

run downgrade base
expect_rc 0 "downgrade base"
case $(loaded upgrade head) in
    *libcrypto*) pass ;;
    *) fail "an upgrade that applies revisions should hash them through libcrypto" ;;
esac

# -q with no live line formats no step lines, yet a step that fails is
# still recorded as one (the runner knows a step is under way without its line)
mkdir -p q/migrations/versions
printf '[mig]\nscript_location = migrations\nurl = sqlite:///%s/q/q.db\n' "$T_TMP" > q/mig.ini
printf '%s\n' "-- mig:revision 000000000001" "-- mig:transaction false" "-- mig:upgrade" \
    "CREATE TABLE a (id INTEGER);" "CREATE TABLE a (id INTEGER);" > q/migrations/versions/000000000001_a.sql
run -q -c q/mig.ini upgrade head
expect_rc 1 "-q upgrade of a failing revision"
expect_eq "$OUT" "" "-q prints nothing on stdout"
expect_eq "$(sqlite3 "$T_TMP/q/q.db" "SELECT state || ' ' || statements_applied FROM mig_history")" "failed 1" \
    "-q: the failed step's record"
rm -f q/q.db
run -c q/mig.ini upgrade head
expect_rc 1 "upgrade of a failing revision"
expect_err "upgrade base -> 000000000001 .*failed"

done_testing
