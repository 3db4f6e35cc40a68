#!/bin/bash
# hooks/sqlformat.lua on tricky SQL: expected output, idempotence, header and
# tokens (strings, quoted names, dollar bodies, comments) kept. Runs the
# shipped hook with the lua5.4 interpreter, the way mig loads it.
: "${MIG_SRC:?}"
if ! command -v lua5.4 >/dev/null 2>&1; then
    echo "SKIP: lua5.4 interpreter not installed" >&2
    exit 77
fi
exec lua5.4 "$MIG_SRC/tests/lua/test_sqlformat.lua" "$MIG_SRC"
