#!/usr/bin/env bash
# Start throw-away PostgreSQL and MariaDB servers, run every CTest test,
# stop the servers whatever happened.
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
ctest --output-on-failure -j 2 ${CTEST_ARGS:-}
