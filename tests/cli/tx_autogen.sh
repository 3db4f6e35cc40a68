#!/usr/bin/env bash
# Autogenerate end to end, on each driver: mig revision --autogenerate from
# an [autogenerate] target, no file when nothing differs, the revision
# applied and reverted, drift reported by mig check (exit 3), adopting an
# existing database with --from-empty and mig stamp head, and the errors.
. "$MIG_SRC/tests/cli/lib.sh"

new_db ag
project

# types every driver spells the same way
cat > schema.sql <<'SQL'
CREATE TABLE users (id integer NOT NULL, email varchar(80) NOT NULL, name varchar(40), PRIMARY KEY (id), UNIQUE (email));
CREATE TABLE posts (id integer NOT NULL, user_id integer, title varchar(100) NOT NULL DEFAULT 'untitled', PRIMARY KEY (id), FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE);
CREATE INDEX posts_title ON posts (title);
SQL

# no target configured: a configuration error that says what to add
run revision --autogenerate -m "initial"
expect_rc 2 "autogenerate without a target"
expect_err "\[autogenerate\] target"
one_line_err

cat >> mig.ini <<'INI'
[autogenerate]
target = schema.sql
INI

# option errors come before anything is read
run revision --from-empty -m x
expect_rc 2 "--from-empty alone"
expect_err "needs '--autogenerate'"
run revision --autogenerate --lua -m x
expect_rc 2 "--autogenerate --lua"

# the first revision creates everything, the downgrade drops it with a warning
run revision --autogenerate -m "initial"
expect_rc 0 "autogenerate initial"
rev1=$OUT
[ -f "$rev1" ] && pass || fail "no revision file at '$rev1'"
body=$(cat "$rev1")
for want in "CREATE TABLE" "posts_title" "FOREIGN KEY" "-- may lose data: drops table posts"; do
    printf '%s' "$body" | grep -Fq -- "$want" && pass || fail "revision lacks '$want': $body"
done
# the upgrade creates users before posts, which points at it; the downgrade drops posts first
up=$(sed -n '/^-- mig:upgrade/,/^-- mig:downgrade/p' "$rev1")
down=$(sed -n '/^-- mig:downgrade/,$p' "$rev1")
[ "$(printf '%s\n' "$up" | grep -n 'CREATE TABLE .*users' | cut -d: -f1)" -lt \
  "$(printf '%s\n' "$up" | grep -n 'CREATE TABLE .*posts' | cut -d: -f1)" ] && pass || fail "users not created first: $up"
[ "$(printf '%s\n' "$down" | grep -n 'DROP TABLE .*posts' | cut -d: -f1)" -lt \
  "$(printf '%s\n' "$down" | grep -n 'DROP TABLE .*users' | cut -d: -f1)" ] && pass || fail "posts not dropped first: $down"

# not applied yet: autogenerate refuses to write the same change twice
run revision --autogenerate -m "again"
expect_rc 2 "autogenerate on a database behind"
expect_err "not up to date"

run upgrade head
expect_rc 0 "upgrade to the generated revision"
table_exists users && table_exists posts && pass || fail "tables not created"

# nothing differs: no file and a clear message
n_before=$(ls migrations/versions | wc -l)
run revision --autogenerate -m "nothing"
expect_rc 0 "autogenerate with no differences"
expect_err "no differences"
expect_eq "$OUT" "" "stdout with no differences"
expect_eq "$(ls migrations/versions | wc -l)" "$n_before" "files after no differences"

run check
expect_rc 0 "check on a database that matches the target"

# the target changes: check reports the drift, autogenerate writes it
cat > schema.sql <<'SQL'
CREATE TABLE users (id integer NOT NULL, email varchar(80) NOT NULL, name varchar(80), PRIMARY KEY (id), UNIQUE (email));
CREATE TABLE posts (id integer NOT NULL, user_id integer, title varchar(100) NOT NULL DEFAULT 'untitled', body varchar(200), PRIMARY KEY (id), FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE);
CREATE INDEX posts_user ON posts (user_id, title);
SQL
run check
expect_rc 3 "check with drift"
expect_out "drift"
expect_out "posts.body"
expect_out "posts_title"

# post-write hooks run on a generated revision as on any other: the shipped
# formatter, then a script of our own
cat > tag.sh <<'SH'
#!/bin/sh
echo "-- tagged by the post-write hook" >> "$1"
SH
chmod +x tag.sh
cat >> mig.ini <<INI
[post_write_hooks]
hooks = sqlformat, tag
sqlformat.type = lua
sqlformat.script = $MIG_SRC/hooks/sqlformat.lua
tag.type = exec
tag.executable = ./tag.sh
tag.options = REVISION_SCRIPT_FILENAME
INI

run revision --autogenerate -m "edit"
expect_rc 0 "autogenerate edit"
rev2=$OUT
grep -q "tagged by the post-write hook" "$rev2" && pass || fail "post-write hook did not run on $rev2"
grep -q "may lose data: drops column posts.body" "$rev2" && pass || fail "downgrade lacks the data-loss comment: $(cat "$rev2")"
run upgrade head
expect_rc 0 "upgrade edit"
run check
expect_rc 0 "check after the upgrade"
run downgrade -1
expect_rc 0 "downgrade edit"
run check
expect_rc 3 "check after the downgrade"
expect_out "drift"
run upgrade head
expect_rc 0 "upgrade edit again"

# drift made by hand on the live database
sql "ALTER TABLE users ADD COLUMN extra integer" >/dev/null
run check
expect_rc 3 "check with a column added by hand"
expect_out "users.extra"
run --json check
expect_rc 3 "check --json with drift"; expect_json "check --json with drift"
expect_out '"drift"'
sql "ALTER TABLE users DROP COLUMN extra" >/dev/null
run check
expect_rc 0 "check after the hand change is undone"

# ---- adopting an existing database ----
new_db adopt
mkdir adopt && cd adopt
project
sql "CREATE TABLE customers (id integer NOT NULL, name varchar(50) NOT NULL, PRIMARY KEY (id))" >/dev/null
sql "CREATE TABLE orders (id integer NOT NULL, customer_id integer NOT NULL, total integer DEFAULT 0, PRIMARY KEY (id), FOREIGN KEY (customer_id) REFERENCES customers (id))" >/dev/null
sql "CREATE INDEX orders_customer ON orders (customer_id, total)" >/dev/null
run revision --autogenerate --from-empty -m "initial"
expect_rc 0 "autogenerate --from-empty"
adopt_rev=$OUT
grep -q "CREATE TABLE" "$adopt_rev" && pass || fail "initial revision lacks CREATE TABLE"
run stamp head
expect_rc 0 "stamp head after adopting"
run check
expect_rc 0 "check after adopting"
# the initial revision rebuilds the same schema on an empty database
adopted_url=$URL
new_db rebuilt
run --url "$URL" upgrade head
expect_rc 0 "the adoption revision runs on an empty database"
for t in customers orders; do table_exists $t && pass || fail "$t not recreated"; done
cat > schema.sql <<SQL
CREATE TABLE customers (id integer NOT NULL, name varchar(50) NOT NULL, PRIMARY KEY (id));
CREATE TABLE orders (id integer NOT NULL, customer_id integer NOT NULL, total integer DEFAULT 0, PRIMARY KEY (id), FOREIGN KEY (customer_id) REFERENCES customers (id));
CREATE INDEX orders_customer ON orders (customer_id, total);
SQL
printf '[autogenerate]\ntarget = schema.sql\n' >> mig.ini
run --url "$URL" check
expect_rc 0 "the rebuilt database matches the adopted one"
run --url "$adopted_url" check
expect_rc 0 "the adopted database matches the same DDL"

# an empty database has nothing to adopt
new_db empty
run --url "$URL" revision --autogenerate --from-empty -m "initial"
expect_rc 0 "--from-empty on an empty database"
expect_err "nothing to adopt"
cd ..

# ---- PostgreSQL: enum types and identity columns ----
if [ "$MIG_TEST_DRIVER" = postgres ]; then
    new_db enums
    mkdir enums && cd enums
    project
    printf '[autogenerate]\ntarget = schema.sql\n' >> mig.ini
    cat > schema.sql <<'SQL'
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE people (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, feel mood NOT NULL DEFAULT 'ok');
SQL
    run revision --autogenerate -m "people"
    expect_rc 0 "autogenerate an enum and an identity column"
    grep -q 'CREATE TYPE "mood" AS ENUM' "$OUT" && pass || fail "no CREATE TYPE: $(cat "$OUT")"
    run upgrade head
    expect_rc 0 "upgrade with an enum"
    run check
    expect_rc 0 "check with an enum and an identity column"
    sql "INSERT INTO people (feel) VALUES ('sad')" >/dev/null
    sed -i "s/('sad', 'ok')/('sad', 'ok', 'happy')/" schema.sql
    run check
    expect_rc 3 "check with a new enum label"
    expect_out "alter enum mood"
    run revision --autogenerate -m "happy"
    expect_rc 0 "autogenerate a new label"
    grep -q "ADD VALUE 'happy'" "$OUT" && pass || fail "no ADD VALUE: $(cat "$OUT")"
    grep -q "enum mood keeps 'happy'" "$OUT" && pass || fail "downgrade does not say the label stays: $(cat "$OUT")"
    run upgrade head
    expect_rc 0 "upgrade with a new label"
    run check
    expect_rc 0 "check after the new label"
    expect_eq "$(sql "SELECT id, feel FROM people")" "1	sad" "rows after the enum grew"
    cd ..
fi

done_testing
