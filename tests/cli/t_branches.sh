#!/usr/bin/env bash
# Branches and merges through the CLI on SQLite: several heads, labels,
# upgrade heads / LABEL@head, merge, stamp, check, offline SQL, JSON.
. "$MIG_SRC/tests/cli/lib.sh"
new_db br
project
V=migrations/versions
write_rev $V a00000000001 "" "base" "CREATE TABLE a (x INTEGER);" "DROP TABLE a;"
write_rev $V b00000000001 a00000000001 "billing one" "CREATE TABLE b1 (x INTEGER);" "DROP TABLE b1;"
write_rev $V b00000000002 b00000000001 "billing two" "CREATE TABLE b2 (x INTEGER);" "DROP TABLE b2;"
write_rev $V c00000000001 a00000000001 "catalog one" "CREATE TABLE c1 (x INTEGER);" "DROP TABLE c1;"
sed -i 's/^-- mig:message billing one$/&\n-- mig:branch_labels billing/' $V/b00000000001_*.sql
sed -i 's/^-- mig:message catalog one$/&\n-- mig:branch_labels catalog/' $V/c00000000001_*.sql

run heads
expect_rc 0 heads
expect_out "b00000000002"
expect_out "c00000000001"
run branches
expect_out "a00000000001"

# head is ambiguous with two heads; revision refuses without --head
run upgrade head
expect_rc 2 "upgrade head with two heads"
expect_err "heads"
run revision -m "where to"
expect_rc 2 "revision with two heads"
expect_err "--head"
expect_err "merge"

# one branch at a time
run upgrade billing@head
expect_rc 0 "billing@head"
expect_eq "$(sql "SELECT version_num FROM mig_version")" b00000000002 "billing applied"
table_exists c1 && fail "catalog applied too" || pass
run upgrade heads
expect_rc 0 "upgrade heads"
expect_eq "$(sql "SELECT version_num FROM mig_version ORDER BY 1" | tr '\n' ' ')" "b00000000002 c00000000001 " "two rows"

# downgrade one branch, the other stays
run downgrade billing@base
expect_rc 0 "billing@base"
table_exists b1 && fail "b1 still there" || pass
table_exists c1 && pass || fail "c1 reverted with the other branch"
expect_eq "$(sql "SELECT version_num FROM mig_version ORDER BY 1" | tr '\n' ' ')" "c00000000001 " "catalog only"
run upgrade heads
expect_rc 0 "heads again"

# two heads, both applied, are a valid graph: check passes (SPEC §4); merge joins them
run check
expect_rc 0 "check with two applied heads"
run merge -m "join billing and catalog" --rev-id d00000000001
expect_rc 0 merge
expect_out "d00000000001_join_billing_and_catalog.sql"
grep -q "^-- mig:down_revision b00000000002 c00000000001$" $V/d00000000001_*.sql && pass || fail "merge header: $(head -3 $V/d00000000001_*.sql)"
run check
expect_rc 3 "check with merge pending"
expect_out "pending|not applied"
run upgrade head
expect_rc 0 "upgrade to merge"
expect_eq "$(sql "SELECT version_num FROM mig_version")" d00000000001 "one row at merge"
run check
expect_rc 0 "check clean"

# a changed file is caught by check
printf -- '-- edited\n' >> $V/c00000000001_*.sql
run check
expect_rc 3 "check after edit"
expect_out "c00000000001"
sed -i '$ d' $V/c00000000001_*.sql
run check
expect_rc 0 "check after undo"

# revision --head / --splice / --branch-label / --depends-on / --rev-id
run revision -m "hotfix" --head a00000000001 --rev-id e00000000001
expect_rc 2 "not a head without --splice"
expect_err "splice"
run revision -m "hotfix" --head a00000000001 --splice --branch-label hotfix --depends-on c00000000001 --rev-id e00000000001
expect_rc 0 "splice"
f=$(ls $V/e00000000001_*.sql)
grep -q "^-- mig:down_revision a00000000001$" "$f" && pass || fail "splice parent"
grep -q "^-- mig:branch_labels hotfix$" "$f" && pass || fail "label header"
grep -q "^-- mig:depends_on c00000000001$" "$f" && pass || fail "depends header"

# stamp: set the table without running anything; --purge replaces it
run stamp e00000000001
expect_rc 0 "stamp"
table_exists e1 && fail "stamp ran SQL" || pass
expect_eq "$(sql "SELECT count(*) FROM mig_version WHERE version_num='e00000000001'")" 1 "stamped row"
expect_eq "$(sql "SELECT count(*) FROM mig_history WHERE direction='stamp'")" 1 "stamp history"
run stamp --purge d00000000001
expect_rc 0 "stamp --purge"
expect_eq "$(sql "SELECT version_num FROM mig_version" | tr '\n' ' ')" "d00000000001 " "purged"

# offline SQL: no connection at all (an unreachable URL), transactions included
run --url "postgresql://nobody:pw@127.0.0.1:1/none" upgrade --sql a00000000001:billing@head
expect_rc 0 "offline with unreachable url"
expect_out "^BEGIN;"
expect_out "CREATE TABLE b1"
expect_out "INSERT INTO \"mig_version\""
expect_out "COMMIT;"
run --url "postgresql://nobody:pw@127.0.0.1:1/none" downgrade --sql billing@head
expect_rc 2 "downgrade --sql needs a range"

# JSON documents
run --json heads
expect_rc 0 "json heads"
echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["heads"])==2, d' && pass || fail "json heads: $OUT"
run --json current
echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["current"]==["d00000000001"], d' && pass || fail "json current: $OUT"
run --json history
echo "$OUT" | python3 -c 'import json,sys; json.load(sys.stdin)' && pass || fail "json history: $OUT"
run --json upgrade heads
echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert [s["revision"] for s in d["steps"]]==["e00000000001"], d' && pass || fail "json upgrade: $OUT"
done_testing
