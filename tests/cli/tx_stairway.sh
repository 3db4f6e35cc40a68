#!/usr/bin/env bash
# mig test on every driver: a healthy chain passes; planted defects are
# caught with the right revision and reason; the scratch database is gone
# after success, failure and Ctrl-C; the configured database is never
# touched; usage errors exit 2; --json and --junit (checked against
# tests/junit.xsd with xmllint).
. "$MIG_SRC/tests/cli/lib.sh"
D=$MIG_TEST_DRIVER
new_db stair
export TMPDIR=$T_TMP/tmp
mkdir -p "$TMPDIR"
V=migrations/versions

case "$D" in
sqlite)   DROPIX() { echo "DROP INDEX $1;"; }; INT=INTEGER; TXT=TEXT; VC=TEXT ;;
postgres) DROPIX() { echo "DROP INDEX $1;"; }; INT=integer; TXT=text; VC="varchar(40)" ;;
mysql)    DROPIX() { echo "DROP INDEX $1 ON $2;"; }; INT=int; TXT=text; VC="varchar(40)" ;;
esac

# scratch databases left behind by mig test (0 when all were dropped)
leftovers() {
    case "$D" in
    sqlite)   ls "$TMPDIR" | grep -c '^mig_test_' ;;
    postgres) psql -X -q -A -t -h "$MIG_TEST_PG_HOST" -p "$MIG_TEST_PG_PORT" -U "$MIG_TEST_PG_USER" -d postgres \
                   -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'mig\_test\_%'" ;;
    mysql)    mariadb --no-defaults -N -B -h "$MIG_TEST_MY_HOST" -P "$MIG_TEST_MY_PORT" --protocol=tcp \
                   -u "$MIG_TEST_MY_USER" -e "SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'mig\\_test\\_%'" ;;
    esac
}
# the configured database holds no table at all (mig test never ran there)
untouched() {
    local n
    case "$D" in
    sqlite)   if [ -e "$DB_FILE" ]; then n=$(sql "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite\_%' ESCAPE '\'"); else n=0; fi ;;
    postgres) n=$(sql "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()") ;;
    mysql)    n=$(sql "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE()") ;;
    esac
    expect_eq "$n" 0 "tables in the configured database"
    expect_eq "$(leftovers)" 0 "scratch databases left behind"
}
fresh() { rm -rf migrations mig.ini; project; }

base_chain() {
    write_rev $V a1 "" "users" \
        "CREATE TABLE users (id $INT PRIMARY KEY, name $VC NOT NULL, email $VC);
CREATE INDEX ix_users_name ON users (name);" \
        "DROP TABLE users;"
    write_rev $V b2 a1 "posts" \
        "CREATE TABLE posts (id $INT PRIMARY KEY, user_id $INT, title $VC, CONSTRAINT fk_posts_user FOREIGN KEY (user_id) REFERENCES users (id));
CREATE UNIQUE INDEX uq_users_email ON users (email);" \
        "$(DROPIX uq_users_email users)
DROP TABLE posts;"
}

# ---- a healthy chain passes, Lua revisions included ----
fresh
base_chain
mkdir -p $V
cat > $V/c3_tags.lua <<LUA
-- mig:revision c3
-- mig:down_revision b2
-- mig:message tags
return {
  upgrade = function(db, ctx) db:exec("CREATE TABLE tags (id $INT PRIMARY KEY, label $VC)") end,
  downgrade = function(db, ctx) db:exec("DROP TABLE tags") end,
}
LUA
run test
expect_rc 0 "healthy chain"
expect_out "^ok +one head"
expect_out "^ok +a1  users"
expect_out "^ok +b2  posts"
expect_out "^ok +c3  tags"
expect_out "^ok +downgrade to base"
expect_out "^test: 3 ok, 0 failed, 0 irreversible, 0 skipped"
untouched

# --json: one document with every revision's checks
run --json test
expect_rc 0 "healthy chain --json"
expect_json "mig test --json"
expect_eq "$(printf '%s' "$OUT" | jq -r '[.ok, (.revisions | length), .revisions[1].revision, .revisions[1].checks[2].name, .summary.ok] | @tsv')" \
    "$(printf 'true\t3\tb2\tupgrade again\t3')" "json document"
untouched

# a backfill revision (db:rows feeding db:exec, with progress) runs like any other, rows and all
cat > $V/d4_backfill.lua <<LUA
-- mig:revision d4
-- mig:down_revision c3
-- mig:message backfill nick
return {
  upgrade = function(db, ctx)
    db:exec("ALTER TABLE users ADD COLUMN nick $VC")
    local n = 0
    for row in db:rows("SELECT id, name FROM users WHERE nick IS NULL") do
      db:exec("UPDATE users SET nick = ? WHERE id = ?", row.name, row.id)
      n = n + 1
      ctx.progress(n)
    end
  end,
  downgrade = function(db, ctx) db:exec("ALTER TABLE users DROP COLUMN nick") end,
}
LUA
run test --data
expect_rc 0 "backfill revision"
expect_out "^ok +d4  backfill nick"
rm $V/d4_backfill.lua
untouched

# a real db:backfill revision (batched, checkpointed, outside a transaction)
# passes the stairway: up, down, up again walks the rows again
cat > $V/d4_backfill.lua <<LUA
-- mig:revision d4
-- mig:down_revision c3
-- mig:message backfill titles
-- mig:transaction false
return {
  upgrade = function(db, ctx)
    db:backfill{ table = "posts", key = "id", name = "posts_title", batch = 2,
                 sql = "UPDATE posts SET title = 'backfilled' WHERE id > ? AND id <= ?" }
  end,
  downgrade = function(db, ctx) db:exec("UPDATE posts SET title = NULL") end,
}
LUA
for data in "" --data; do
    run test $data
    expect_rc 0 "db:backfill revision ${data:-without rows}"
    expect_out "^ok +d4  backfill titles"
    expect_out "^test: 4 ok, 0 failed"
done
rm $V/d4_backfill.lua
untouched

# a range tests only its revisions; what comes before goes up untested
run test b2:c3
expect_rc 0 "range"
expect_out "^ok +b2"
expect_out "^ok +c3"
if printf '%s' "$OUT" | grep -q "a1  users"; then fail "a1 is outside the range b2:c3"; else pass; fi

# --data: rows in the touched tables (foreign keys pointing at real rows) before each downgrade
run test --data
expect_rc 0 "healthy chain --data"
expect_out "^test: 3 ok, 0 failed"
if printf '%s' "$OUT" | grep -q "left empty"; then fail "--data left a table empty: $OUT"; else pass; fi
untouched

# ---- planted defects: the right revision, the right reason ----

# a downgrade that works only on empty tables: caught with --data
fresh
base_chain
write_rev $V c3 b2 "labels" "CREATE TABLE labels (id $INT PRIMARY KEY, label $VC NOT NULL);" \
    "UPDATE labels SET label = NULL;
DROP TABLE labels;"
run test
expect_rc 0 "data-dependent downgrade, no --data"
run test --data
expect_rc 3 "data-dependent downgrade, --data"
expect_out "^FAIL +c3  labels"
expect_out "downgrade: downgrade of c3 failed: .*c3_labels.sql:9"
untouched

# an empty downgrade section
fresh
base_chain
write_rev $V c3 b2 "empty down" "CREATE TABLE audit (id $INT PRIMARY KEY);" "-- nothing to do"
run test
expect_rc 3 "empty downgrade"
expect_out "^FAIL +c3  empty down"
expect_out "warning: MIG001 empty-downgrade: the downgrade section is empty"
expect_out "downgrade: downgrade of c3 does not restore the schema"
expect_out "left over:"
expect_out "audit"
expect_out "^ok +b2"
expect_out "^test: 2 ok, 1 failed"
untouched

# a downgrade that forgets an index
fresh
base_chain
write_rev $V c3 b2 "title index" "CREATE TABLE drafts (id $INT PRIMARY KEY);
CREATE INDEX ix_posts_title ON posts (title);" "DROP TABLE drafts;"
run test
expect_rc 3 "forgotten index"
expect_out "^FAIL +c3  title index"
expect_out "downgrade of c3 does not restore the schema"
expect_out "ix_posts_title"
if printf '%s' "$OUT" | grep -q "drafts"; then fail "drafts is dropped by the downgrade: not a difference"; else pass; fi
untouched

# a downgrade that forgets a column
fresh
base_chain
write_rev $V c3 b2 "nick" "ALTER TABLE users ADD COLUMN nick $VC;
CREATE TABLE drafts (id $INT PRIMARY KEY);" "DROP TABLE drafts;"
run test
expect_rc 3 "forgotten column"
expect_out "^FAIL +c3  nick"
expect_out "left over:"
expect_out "nick"
untouched

# a downgrade that drops the wrong constraint: the new unique index stays, the old one goes
fresh
base_chain
write_rev $V c3 b2 "unique name" "CREATE UNIQUE INDEX uq_users_name ON users (name);" "$(DROPIX uq_users_email users)"
run test
expect_rc 3 "wrong constraint"
expect_out "^FAIL +c3  unique name"
expect_out "left over:"
expect_out "uq_users_name"
expect_out "missing:"
expect_out "uq_users_email"
untouched

# a downgrade that forgets a view (the snapshots compare views and triggers too)
fresh
base_chain
write_rev $V c3 b2 "user view" "CREATE VIEW v_users AS SELECT id, name FROM users;" \
    "UPDATE users SET name = name WHERE 1 = 0;"
run test
expect_rc 3 "forgotten view"
expect_out "^ok +snapshot: .*views, triggers"
expect_out "^FAIL +c3  user view"
expect_out "left over \\(objects\\):"
expect_out "view v_users"
untouched

# a revision that cannot run again after its own downgrade
fresh
base_chain
write_rev $V c3 b2 "settings" "CREATE TABLE settings (k $VC PRIMARY KEY);" "DROP TABLE settings;"
write_rev $V d4 c3 "seed" "INSERT INTO settings (k) VALUES ('theme');" "UPDATE settings SET k = k WHERE 1 = 0;"
write_rev $V e5 d4 "after" "CREATE TABLE later (id $INT PRIMARY KEY);" "DROP TABLE later;"
run test
expect_rc 3 "not re-runnable"
expect_out "^FAIL +d4  seed"
expect_out "upgrade again: d4 is not re-runnable after its downgrade"
# the verdict on the next revision is not hidden
expect_out "^ok +e5  after"
untouched

# a failing statement is reported at its file:line
fresh
base_chain
write_rev $V c3 b2 "broken" "CREATE TABLE ok_one (id $INT PRIMARY KEY);
CREATE TABLE broken (id $INT PRIMARY KEY, id $INT);" "DROP TABLE broken;
DROP TABLE ok_one;"
write_rev $V d4 c3 "child" "CREATE TABLE child (id $INT PRIMARY KEY);" "DROP TABLE child;"
run test
expect_rc 3 "failing statement"
expect_out "^FAIL +c3  broken"
expect_out "upgrade: upgrade of c3 failed: .*c3_broken.sql:7"
expect_out "^skipped +d4  child"
expect_out "not run: c3 failed before it"
untouched

# two heads: a failure unless --allow-heads
fresh
base_chain
write_rev $V c3 b2 "left" "CREATE TABLE l (id $INT PRIMARY KEY);" "DROP TABLE l;"
write_rev $V d4 b2 "right" "CREATE TABLE r (id $INT PRIMARY KEY);" "DROP TABLE r;"
run test
expect_rc 3 "two heads"
expect_out "^FAIL +one head: 2 heads: (c3 d4|d4 c3)"
expect_out "^ok +c3  left"
expect_out "^ok +d4  right"
run test --allow-heads
expect_rc 0 "two heads allowed"
untouched
# merged again: every branch tested, through the merge
write_rev $V e5 "c3 d4" "merge" "" ""
run test
expect_rc 0 "merge"
expect_out "^ok +e5  merge"
expect_out "^ok +downgrade to base"

# a merge whose first parent has another child: only the merge comes down
fresh
base_chain
write_rev $V c3 b2 "left" "CREATE TABLE l (id $INT PRIMARY KEY);" "DROP TABLE l;"
write_rev $V d4 b2 "right" "CREATE TABLE r (id $INT PRIMARY KEY);" "DROP TABLE r;"
write_rev $V e5 c3 "beyond left" "CREATE TABLE bl (id $INT PRIMARY KEY);" "DROP TABLE bl;"
write_rev $V f6 "c3 d4" "merge" "CREATE TABLE m (id $INT PRIMARY KEY);" "DROP TABLE m;"
run test --allow-heads
expect_rc 0 "merge beside a branch"
expect_out "^ok +f6  merge"
expect_out "^ok +e5  beyond left"

# no downgrade section: irreversible, a failure only with --strict
fresh
base_chain
write_rev $V c3 b2 "one way" "CREATE TABLE archive (id $INT PRIMARY KEY);"
run test
expect_rc 0 "irreversible"
expect_out "^irreversible +c3  one way"
expect_out "^skipped +downgrade to base"
run test --strict
expect_rc 3 "irreversible --strict"
expect_out "c3 has no downgrade section"
untouched

# ---- the head equals the [autogenerate] target ----
fresh
base_chain
cat > schema.sql <<SQL
CREATE TABLE users (id $INT PRIMARY KEY, name $VC NOT NULL, email $VC);
CREATE INDEX ix_users_name ON users (name);
CREATE UNIQUE INDEX uq_users_email ON users (email);
CREATE TABLE posts (id $INT PRIMARY KEY, user_id $INT, title $VC, CONSTRAINT fk_posts_user FOREIGN KEY (user_id) REFERENCES users (id));
SQL
printf '\n[autogenerate]\ntarget = schema.sql\n' >> mig.ini
run test
expect_rc 0 "head matches the target"
expect_out "^ok +target"
echo "CREATE TABLE comments (id $INT PRIMARY KEY);" >> schema.sql
run test
expect_rc 3 "head differs from the target"
expect_out "^FAIL +target: the schema at the head differs from the \[autogenerate\] target"
expect_out "comments"
untouched

# ---- --junit, valid against the JUnit schema ----
fresh
base_chain
write_rev $V c3 b2 "empty down" "CREATE TABLE audit (id $INT PRIMARY KEY);" "-- nothing"
run --json test
expect_rc 3 "failing chain --json"
expect_json "mig test --json, a check failed"
expect_eq "$(printf '%s' "$OUT" | jq -r '[.ok, .error.code, .revisions[2].status, .revisions[2].checks[1].status] | @tsv')" \
    "$(printf 'false\tcheck\tfailed\tfailed')" "json document of a failure"
run test --junit "$T_TMP/junit.xml"
expect_rc 3 "junit"
if xmllint --noout --schema "$MIG_SRC/tests/junit.xsd" "$T_TMP/junit.xml" 2>"$T_TMP/xmllint.err"; then pass
else fail "junit report does not validate: $(cat "$T_TMP/xmllint.err")"; fi
expect_eq "$(xmllint --xpath 'string(/testsuites/testsuite/@failures)' "$T_TMP/junit.xml")" 1 "junit failures"
expect_eq "$(xmllint --xpath 'string(//testcase[@classname="c3" and @name="downgrade"]/failure/@message)' "$T_TMP/junit.xml")" \
    "downgrade of c3 does not restore the schema (its downgrade section is empty)" "junit failure message"
if xmllint --xpath 'string(//testcase[@classname="c3" and @name="downgrade"]/failure)' "$T_TMP/junit.xml" | grep -q audit
then pass; else fail "junit failure text lacks the diff"; fi

# ---- usage: exit 2, nothing touched ----
fresh
base_chain
run test --scratch-url "$URL"
expect_rc 2 "scratch is the configured database"
expect_err "the scratch database is the configured database"
# ... also when spelled another way
case "$D" in
sqlite) other="sqlite:${DB_FILE##*/}" ;;
*)      other=${URL/127.0.0.1/localhost} ;;
esac
run test --scratch-url "$other"
expect_rc 2 "scratch is the configured database, spelled another way"
expect_err "the scratch database is the configured database"
run --tenant t1 test
expect_rc 2 "tenant options"
run --json test --scratch-url "$URL"
expect_rc 2 "usage error --json"
expect_json "mig test --json, usage error"
untouched
# a scratch database that is not empty is refused
old_url=$URL old_file=${DB_FILE:-} old_name=${DB_NAME:-}
new_db scratch
sql "CREATE TABLE keep_me (id $INT PRIMARY KEY)" >/dev/null
SCRATCH=$URL
URL=$old_url DB_FILE=$old_file DB_NAME=$old_name
run test --scratch-url "$SCRATCH"
expect_rc 2 "scratch not empty"
expect_err "is not empty"
# ... and an empty one given by URL is used and left empty
URL=$SCRATCH; [ "$D" = sqlite ] && DB_FILE=${SCRATCH#sqlite://}; [ "$D" != sqlite ] && DB_NAME=${SCRATCH##*/}
sql "DROP TABLE keep_me" >/dev/null
URL=$old_url DB_FILE=$old_file DB_NAME=$old_name
run test --scratch-url "$SCRATCH"
expect_rc 0 "given scratch database"
URL=$SCRATCH; [ "$D" = sqlite ] && DB_FILE=${SCRATCH#sqlite://}; [ "$D" != sqlite ] && DB_NAME=${SCRATCH##*/}
untouched
URL=$old_url DB_FILE=$old_file DB_NAME=$old_name

# ---- Ctrl-C: stops after the running step, drops the scratch database ----
fresh
base_chain
cat > $V/c3_slow.lua <<'LUA'
-- mig:revision c3
-- mig:down_revision b2
-- mig:message slow
return {
  upgrade = function(db, ctx) local t = os.clock() while os.clock() - t < 3 do end end,
  downgrade = function(db, ctx) end,
}
LUA
set +e
"$MIG" test >"$T_TMP/int.out" 2>"$T_TMP/int.err" &
pid=$!
sleep 1.5
kill -INT $pid
wait $pid
RC=$?
ERR=$(cat "$T_TMP/int.err")
expect_rc 1 "interrupted"
expect_err "interrupted: the scratch database is dropped"
untouched

# ---- a second Ctrl-C cancels the running statement, then drops the scratch database ----
fresh
base_chain
case "$D" in
sqlite)   LONG="CREATE TABLE slow AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000000000) SELECT max(x) AS m FROM c;" ;;
postgres) LONG="SELECT pg_sleep(120);" ;;
mysql)    LONG="SELECT SLEEP(120);" ;;
esac
write_rev $V c3 b2 "long" "$LONG
CREATE TABLE after_long (id $INT PRIMARY KEY);" "DROP TABLE after_long;"
set +e
start=$SECONDS
"$MIG" test >"$T_TMP/int2.out" 2>"$T_TMP/int2.err" &
pid=$!
# The first Ctrl-C must land while the long statement runs: on a server,
# wait until it shows among the sessions (under load mig may take seconds
# to get there).
case "$D" in
postgres) running="SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(120)%'" ;;
mysql)    running="SELECT count(*) FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(120)%'" ;;
*)        running= ;;
esac
if [ -n "$running" ]; then
    for _ in $(seq 300); do
        [ "$(sql "$running" 2>/dev/null)" -ge 1 ] 2>/dev/null && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.1
    done
else
    sleep 2
fi
kill -INT $pid
sleep 0.5
kill -INT $pid
wait $pid
RC=$?
took=$((SECONDS - start))
ERR=$(cat "$T_TMP/int2.err")
expect_rc 1 "cancelled by a second Ctrl-C"
expect_err "interrupted \(the running statement cancelled\): the scratch database is dropped"
if [ "$took" -lt 30 ]; then pass; else fail "the long statement ran on after the second Ctrl-C ($took s)"; fi
OUT=$(cat "$T_TMP/int2.out")
expect_out "skipped +c3 +long"
untouched

done_testing
