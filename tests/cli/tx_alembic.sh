#!/usr/bin/env bash
# A project taken over from Alembic, on every driver: Alembic's .py
# revisions in versions/ are named in a warning, never silently skipped, and
# a version table holding a revision no file declares is an error for
# `current` and for a `revision` that would start a new root (exit 2, with
# the way out), until a placeholder revision declares it.
. "$(dirname "$0")/lib.sh"

new_db alembic
project
touch migrations/versions/27c6a30d7c24_add_last_login.py migrations/versions/ae1027a6acf0_create_account.py \
      migrations/versions/__init__.py
run current
expect_rc 0 "current on a fresh database"
expect_err "warning: 2 Alembic revision files \(\.py\) ignored"
expect_err "docs/alembic\.md"

# the table as Alembic leaves it
run stamp base
sql "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
sql "INSERT INTO alembic_version (version_num) VALUES ('27c6a30d7c24')"
echo "version_table = alembic_version" >> mig.ini

run current
expect_rc 2 "current at a revision no file declares"
expect_err "the database is at revision '27c6a30d7c24', which no revision file declares"
expect_err "hint: .*mig revision -m placeholder --rev-id 27c6a30d7c24"
expect_err "mig stamp"
expect_eq "$OUT" "" "stdout of a refused current"

run revision -m first
expect_rc 2 "revision writing a new root beside an unknown current"
expect_err "which no revision file declares"
expect_eq "$(ls migrations/versions | grep -c '\.sql$')" 0 "files written by a refused revision"

# the way out the hint gives
run revision -m placeholder --rev-id 27c6a30d7c24
expect_rc 0 "placeholder revision"
run current
expect_rc 0 "current once the placeholder declares it"
expect_eq "$OUT" "27c6a30d7c24" "current"
run revision -m next
expect_rc 0 "revision on top of the placeholder"
run upgrade head
expect_rc 0 "upgrade"
expect_eq "$(sql "SELECT count(*) FROM alembic_version")" 1 "rows in alembic_version"

done_testing
