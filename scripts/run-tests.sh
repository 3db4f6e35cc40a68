#!/usr/bin/env bash
# Start throw-away PostgreSQL and MariaDB servers, run every CTest test,
# stop the servers whatever happened. Then list the tests that skipped,
# each with the reason it gave, and fail when one skipped that
# tests/skips.allowed does not allow (for that reason): a test that
# quietly never runs is no test.
set -uo pipefail
BUILD=${1:-build}
BUILD=$(cd "$BUILD" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)

export MIG_TEST_SERVERS_DIR=$(mktemp -d -t mig-servers.XXXXXX)
stop() { "$here/tests/servers.sh" stop "$MIG_TEST_SERVERS_DIR" >/dev/null 2>&1 || true; rm -f "$BUILD/test-servers.env"; rm -rf "$MIG_TEST_SERVERS_DIR"; }
trap stop EXIT INT TERM

if [ -x "$here/tests/servers.sh" ]; then
    "$here/tests/servers.sh" start "$MIG_TEST_SERVERS_DIR" "$BUILD/test-servers.env" || exit 1
    export MIG_TEST_REQUIRE_SERVERS=1
fi
cd "$BUILD"
out=$BUILD/Testing/ctest-output.txt
mkdir -p "$BUILD/Testing"
# shellcheck disable=SC2086 # CTEST_ARGS holds several words
ctest --output-on-failure -j 2 ${CTEST_ARGS:-} | tee "$out"
status=${PIPESTATUS[0]}
"$here/scripts/check-skips.sh" "$out" "$BUILD/Testing/Temporary/LastTest.log" \
    "$here/tests/skips.allowed" || status=1
exit "$status"
