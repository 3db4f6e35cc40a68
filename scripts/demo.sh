#!/usr/bin/env bash
# make demo: migrate the bundled example (migrations/) into a fresh
# embedded SQLite file, demo.db, then show what happened.
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
MIG="$BUILD/mig"
export MIG_DRIVER_PATH="$BUILD/drivers"
unset DATABASE_URL MIG_DATABASE_URL MIG_CONFIG
rm -f demo.db

step() { printf '\n$ %s\n' "$*"; "$@"; }
step "$MIG" -c mig.ini upgrade head
step "$MIG" -c mig.ini history
step "$MIG" -c mig.ini current
step "$MIG" -c mig.ini downgrade -1
step "$MIG" -c mig.ini upgrade head
printf '\n$ sqlite3 demo.db ".tables"\n'
sqlite3 demo.db ".tables"
printf '\n$ sqlite3 demo.db "SELECT revision, direction, state FROM mig_history"\n'
sqlite3 -column -header demo.db "SELECT revision, direction, state, duration_ms FROM mig_history ORDER BY id"
printf '\n$ sqlite3 demo.db "SELECT id, email, display_name FROM users"\n'
sqlite3 -column -header demo.db "SELECT id, email, display_name FROM users"
