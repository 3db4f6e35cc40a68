#!/usr/bin/env bash
# PostgreSQL specifics through the CLI: dollar-quoted bodies and DO blocks,
# CREATE INDEX CONCURRENTLY in a `transaction false` revision, the error
# position turned into a file line, SQLSTATE in the message, libpq's
# environment when no URL is given.
MIG_TEST_DRIVER=postgres
. "$MIG_SRC/tests/cli/lib.sh"
new_db pgx
project
V=migrations/versions
write_rev $V p00000000001 "" "functions" \
'CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL);
CREATE FUNCTION touch_name() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    NEW.name := upper(NEW.name); -- a semicolon; inside the body
    RETURN NEW;
END;
$body$;
CREATE TRIGGER items_touch BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION touch_name();
DO $$ BEGIN INSERT INTO items VALUES (1, '"'"'first; one'"'"'); END $$;' \
"DROP TABLE items; DROP FUNCTION touch_name();"
write_rev $V p00000000002 p00000000001 "concurrent index" \
"CREATE INDEX CONCURRENTLY items_name ON items (name);" \
"DROP INDEX CONCURRENTLY items_name;"
sed -i 's/^-- mig:message concurrent index$/&\n-- mig:transaction false/' $V/p00000000002_*.sql
run upgrade head
expect_rc 0 "upgrade with bodies and a concurrent index"
expect_eq "$(sql "SELECT name FROM items")" "FIRST; ONE" "trigger and DO block ran"
expect_eq "$(sql "SELECT count(*) FROM pg_indexes WHERE indexname='items_name'")" 1 "concurrent index"
expect_eq "$(sql "SELECT state, statements_applied FROM mig_history WHERE revision='p00000000002' AND direction='upgrade'")" "done	1" "stepwise history"
run downgrade base
expect_rc 0 "downgrade with a concurrent drop"
table_exists items && fail "items still there" || pass

# an error: SQLSTATE, and the line of the failing statement in the file
write_rev $V p00000000003 p00000000002 "typo" \
"CREATE TABLE ok_one (x integer);

SELECT * FROM no_such_relation;"
run upgrade head
expect_rc 1 "failing statement"
expect_err "p00000000003_typo.sql:8"
expect_err "no_such_relation"
run -v upgrade head
expect_err "42P01"
# the `transaction false` revision committed what ran before it; the rest rolled back
expect_eq "$(sql "SELECT version_num FROM mig_version")" p00000000002 "committed up to the stepwise revision"
table_exists ok_one && fail "ok_one half-applied" || pass
rm $V/p00000000003_*.sql

# no URL: libpq's own environment
sed -i '/^url/d' mig.ini
PGHOST=$MIG_TEST_PG_HOST PGPORT=$MIG_TEST_PG_PORT PGUSER=$MIG_TEST_PG_USER PGDATABASE=$DB_NAME \
    run --driver=postgres upgrade head
expect_rc 0 "upgrade from PG* environment"
expect_eq "$(sql "SELECT version_num FROM mig_version")" p00000000002 "at head via environment"
done_testing
