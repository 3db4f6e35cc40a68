#!/usr/bin/env bash
# SPEC §3 Revision files, sentence by sentence, on SQLite: file names, the
# header keys and their forms, ids and prefixes, empty sections, a missing
# downgrade section.
. "$(dirname "$0")/lib.sh"

DB="$T_TMP/r.db"
S=(--script-location m --url "sqlite:///$DB")
V=m/versions
mkdir -p $V
ver() { sqlite3 "$DB" "SELECT version_num FROM mig_version ORDER BY version_num" | tr '\n' ' ' | sed 's/ $//'; }

# --- "named <revision>_<slug>.sql or <revision>_<slug>.lua" (mig revision writes them) ---
run "${S[@]}" revision -m "add users table"
expect_rc 0 "§3 mig revision"
expect_out '/m/versions/[0-9a-f]{12}_add_users_table\.sql$'
P1=$OUT
# "Revision ids are 12 lowercase hex characters by default"
ID1=$(basename "$P1" | cut -c1-12)
[[ "$ID1" =~ ^[0-9a-f]{12}$ ]] && pass || fail "§3 default id is 12 lowercase hex: $ID1"
grep -qx -- "-- mig:revision $ID1" "$P1" && pass || fail "§3 header holds -- mig:revision $ID1"
run "${S[@]}" revision -m "backfill names" --lua
expect_rc 0 "§3 mig revision --lua"
expect_out '/m/versions/[0-9a-f]{12}_backfill_names\.lua$'
P2=$OUT
ID2=$(basename "$P2" | cut -c1-12)
grep -qx -- "-- mig:down_revision $ID1" "$P2" && pass || fail "§3/§4 the Lua revision's header names down_revision $ID1"
# "--rev-id may give any [A-Za-z0-9_]+"
run "${S[@]}" revision -m "custom id" --rev-id Release_2_0
expect_rc 0 "§3 --rev-id with letters, digits and _"
expect_out '/m/versions/Release_2_0_custom_id\.sql$'
for bad in "a-b" "a.b" "a b" "" "x/y"; do
    run "${S[@]}" revision -m "bad" --rev-id "$bad"
    expect_rc 2 "§3 --rev-id '$bad' is not [A-Za-z0-9_]+"
done
# the graph reads every header without running Lua
run "${S[@]}" heads
expect_rc 0 "§3 heads over .sql and .lua revisions"
expect_out '^Release_2_0 '
run "${S[@]}" upgrade head
expect_rc 0 "§3 upgrade over generated (empty) revisions"
expect_eq "$(ver)" Release_2_0 "§3 empty generated sections are no-op steps"
rm -f $V/* "$DB"

# --- header semantics ---
hdr_rev() { # hdr_rev FILE HEADER-LINES... (the rest: upgrade/downgrade creating/dropping t_<id>)
    local f=$1; shift
    { printf '%s\n' "$@"; } > "$V/$f"
}
# down_revision absent: a root; "none": a root too
hdr_rev aaaaaaaaaaa1_root.sql "-- mig:revision aaaaaaaaaaa1" "" "-- mig:upgrade" "CREATE TABLE a1 (x int);" "-- mig:downgrade" "DROP TABLE a1;"
hdr_rev bbbbbbbbbbb1_root2.sql "-- mig:revision bbbbbbbbbbb1" "-- mig:down_revision none" "-- mig:branch_labels other" \
    "-- mig:upgrade" "CREATE TABLE b1 (x int);" "-- mig:downgrade" "DROP TABLE b1;"
run "${S[@]}" history
expect_rc 0 "§3 create_date and message are optional"
expect_out '<base> -> aaaaaaaaaaa1'
expect_out '<base> -> bbbbbbbbbbb1'
run "${S[@]}" --json show bbbbbbbbbbb1
expect_rc 0 "§3 show a root"
printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get("revision", d); assert d["down_revisions"] == [], d' \
    && pass || fail "§3 down_revision none is a root: $OUT"
# two branches with comma- and space-separated labels; a merge with comma and space
hdr_rev aaaaaaaaaaa2_left.sql "-- mig:revision aaaaaaaaaaa2" "-- mig:down_revision aaaaaaaaaaa1" \
    "-- mig:branch_labels left, lefty" "-- mig:message left side" \
    "-- mig:upgrade" "" "-- mig:downgrade" ""
hdr_rev aaaaaaaaaaa3_right.sql "-- mig:revision aaaaaaaaaaa3" "-- mig:down_revision aaaaaaaaaaa1" \
    "-- mig:branch_labels right righty" "-- mig:create_date 2026-11-26 06:00:00" \
    "-- mig:upgrade" "-- only a comment" "   -- and another" "" "-- mig:downgrade" "/* block */"
hdr_rev aaaaaaaaaaa4_merge.sql "-- mig:revision aaaaaaaaaaa4" "-- mig:down_revision aaaaaaaaaaa2, aaaaaaaaaaa3" \
    "-- mig:message merge" "-- mig:depends_on bbbbbbbbbbb1" \
    "-- mig:upgrade" "CREATE TABLE a4 (x int);" "-- mig:downgrade" "DROP TABLE a4;"
hdr_rev aaaaaaaaaaa5_merge2.sql "-- mig:revision aaaaaaaaaaa5" "-- mig:down_revision aaaaaaaaaaa4" \
    "-- mig:depends_on bbbbbbbbbbb1 aaaaaaaaaaa2,aaaaaaaaaaa3" \
    "-- mig:upgrade" "CREATE TABLE a5 (x int);" "-- mig:downgrade" "DROP TABLE a5;"
run "${S[@]}" --json show aaaaaaaaaaa4
expect_rc 0 "§3 show a merge"
printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get("revision", d); assert sorted(d["down_revisions"]) == ["aaaaaaaaaaa2","aaaaaaaaaaa3"], d; assert d["depends_on"] == ["bbbbbbbbbbb1"], d' \
    && pass || fail "§3 down_revision of a merge separated by a comma: $OUT"
run "${S[@]}" --json show aaaaaaaaaaa5
printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get("revision", d); assert sorted(d["depends_on"]) == ["aaaaaaaaaaa2","aaaaaaaaaaa3","bbbbbbbbbbb1"], d' \
    && pass || fail "§3 depends_on separated by spaces and commas: $OUT"
run "${S[@]}" --json show aaaaaaaaaaa2
printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get("revision", d); assert d["branch_labels"] == ["left","lefty"], d' \
    && pass || fail "§3 branch_labels separated by a comma: $OUT"
run "${S[@]}" --json show aaaaaaaaaaa3
printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get("revision", d); assert d["branch_labels"] == ["right","righty"], d' \
    && pass || fail "§3 branch_labels separated by a space: $OUT"
run "${S[@]}" show aaaaaaaaaaa3
expect_out '2026-11-26 06:00:00'
# every label names its branch
run "${S[@]}" upgrade righty@+1
expect_rc 0 "§3 a second branch label names the branch"
expect_eq "$(ver)" aaaaaaaaaaa1 "§3 righty@+1"
run "${S[@]}" upgrade righty@+1
expect_eq "$(ver)" aaaaaaaaaaa3 "§3 righty@+1 again"
expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM sqlite_schema WHERE name='b1'")" 0 "§3 b1 not applied yet"
# depends_on: upgrading the merge brings in its dependency first
run "${S[@]}" upgrade aaaaaaaaaaa4
expect_rc 0 "§3 depends_on"
expect_err 'upgrade .*-> bbbbbbbbbbb1'
expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM sqlite_schema WHERE name='b1'")" 1 "§3 depends_on applies the dependency"
# empty and comment-only sections are steps that do nothing
expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM mig_history WHERE revision IN ('aaaaaaaaaaa2','aaaaaaaaaaa3') AND state='done'")" 2 \
    "§3 an empty or comment-only section is a recorded step"
run "${S[@]}" downgrade aaaaaaaaaaa1
expect_rc 0 "§3 downgrading through empty and comment-only downgrade sections"
run "${S[@]}" downgrade base
expect_rc 0 "§3 downgrade base"
rm -f $V/aaaaaaaaaaa5_merge2.sql

# --- "An exact id wins; otherwise any unique prefix names a revision" ---
hdr_rev abc_x.sql "-- mig:revision abc" "-- mig:down_revision aaaaaaaaaaa4" "-- mig:upgrade" "-- mig:downgrade"
hdr_rev abcdef_x.sql "-- mig:revision abcdef" "-- mig:down_revision abc" "-- mig:upgrade" "-- mig:downgrade"
hdr_rev abcxyz_x.sql "-- mig:revision abcxyz" "-- mig:down_revision abcdef" "-- mig:upgrade" "-- mig:downgrade"
run "${S[@]}" show abc
expect_rc 0 "§3 exact id"
expect_out '^Rev: abc( |$)'
run "${S[@]}" show abcd
expect_rc 0 "§3 unique prefix"
expect_out '^Rev: abcdef'
run "${S[@]}" show ab
expect_rc 2 "§3 an ambiguous prefix is a usage error"
expect_err 'ab'
run "${S[@]}" show zzz
expect_rc 2 "§3 an unknown revision"
run "${S[@]}" upgrade abc
expect_rc 0 "§3 upgrade to an exact id that is also a prefix"
expect_eq "$(ver | tr ' ' '\n' | grep ^abc)" "abc" "§3 exact id wins over prefix"
run "${S[@]}" upgrade abcx
expect_rc 0 "§3 upgrade to a prefix"
expect_eq "$(ver | tr ' ' '\n' | grep ^abc)" "abcxyz" "§3 prefix target"
run "${S[@]}" downgrade base
expect_rc 0

# --- "A missing downgrade section ... an error that names it, before anything runs" ---
hdr_rev ffffffffff01_nodown.sql "-- mig:revision ffffffffff01" "-- mig:down_revision abcxyz" \
    "-- mig:upgrade" "CREATE TABLE f1 (x int);"
hdr_rev ffffffffff02_after.sql "-- mig:revision ffffffffff02" "-- mig:down_revision ffffffffff01" \
    "-- mig:upgrade" "CREATE TABLE f2 (x int);" "-- mig:downgrade" "DROP TABLE f2;"
run "${S[@]}" upgrade ffffffffff02
expect_rc 0 "§3 a revision with no downgrade section upgrades"
run "${S[@]}" downgrade base
expect_rc 2 "§3/§4 downgrading through a revision with no downgrade is exit 2"
expect_err 'ffffffffff01'
expect_eq "$(ver | tr ' ' '\n' | grep ^f)" "ffffffffff02" "§3 ... before anything runs (version table unchanged)"
expect_eq "$(sqlite3 "$DB" "SELECT count(*) FROM sqlite_schema WHERE name='f2'")" 1 "§3 ... before anything runs (f2 kept)"
run "${S[@]}" downgrade --sql ffffffffff02:base
expect_rc 2 "§3 --sql downgrade through it is exit 2 too"
expect_err 'ffffffffff01'
run "${S[@]}" downgrade -1
expect_rc 0 "§3 downgrading above it still works"
expect_eq "$(ver | tr ' ' '\n' | grep ^f)" "ffffffffff01" "§3 downgrade -1 above the revision with no downgrade"

# --- a revision file error names the place as path:LINE ---
hdr_rev ffffffffff03_bad.sql "-- mig:revision ffffffffff03" "-- mig:down_revision nosuchparent" "-- mig:upgrade"
run "${S[@]}" heads
expect_rc 2 "§3/§4 an unknown down_revision is a revision-file error"
expect_err 'nosuchparent'
expect_err 'ffffffffff03_bad\.sql:2'
rm -f $V/ffffffffff03_bad.sql
hdr_rev ffffffffff04_dup.sql "-- mig:revision ffffffffff01" "-- mig:upgrade"
run "${S[@]}" heads
expect_rc 2 "§3 two files with one id"
expect_err 'ffffffffff01'
rm -f $V/ffffffffff04_dup.sql

# --- "-- mig:transaction false (optional: run outside a transaction)" ---
hdr_rev ffffffffff05_notx.sql "-- mig:revision ffffffffff05" "-- mig:down_revision ffffffffff02" \
    "-- mig:message no transaction" "-- mig:transaction false" \
    "-- mig:upgrade" "CREATE TABLE f5 (x int);" "-- mig:downgrade" "DROP TABLE f5;"
run "${S[@]}" --json show ffffffffff05
printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get("revision", d); assert d["transactional"] is False, d' \
    && pass || fail "§3 transaction false is read: $OUT"
run "${S[@]}" upgrade heads
expect_rc 0 "§3 a transaction false revision runs"
expect_err 'upgrade ffffffffff02 -> ffffffffff05  no transaction  \([0-9]+ ms\)'

done_testing
