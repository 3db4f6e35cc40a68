#!/usr/bin/env bash
# mig.ini is found as git finds .git: in the current folder, then each
# folder above, stopping after the root, $HOME or a folder holding .git.
# Relative paths in it resolve against its own folder wherever mig runs;
# -v names the file used; a file owned by neither the user nor root is
# passed over with a warning (its hooks never run); with none found, what
# needed it says so, and what works from flags alone still does.
. "$(dirname "$0")/lib.sh"

# a project: mig.ini at the top, revisions in migrations/versions, the
# database at the top (sqlite:app.db, relative to the file)
mkdir -p top/migrations/versions top/src/deep
cat >top/mig.ini <<'INI'
[mig]
script_location = migrations
url = sqlite:app.db
INI
write_rev top/migrations/versions aaaaaaaaaaaa "" "first" "CREATE TABLE t1 (x INTEGER);" "DROP TABLE t1;"
write_rev top/migrations/versions bbbbbbbbbbbb aaaaaaaaaaaa "second" "CREATE TABLE t2 (x INTEGER);" "DROP TABLE t2;"

cd top/migrations
run upgrade head
expect_rc 0 "upgrade from migrations/"
[ -f "$T_TMP/top/app.db" ] && pass || fail "the database is not beside the mig.ini found: $(find "$T_TMP" -name '*.db')"
[ ! -e app.db ] && pass || fail "the database was made in the current folder"
run current
expect_rc 0 "current from migrations/ (was: no database given)"
expect_out "bbbbbbbbbbbb"
run history
expect_rc 0 "history from migrations/ (was: migrations/migrations/versions)"
expect_out "aaaaaaaaaaaa -> bbbbbbbbbbbb"
cd "$T_TMP/top/src/deep"
run downgrade -1
expect_rc 0 "downgrade two folders down"
DB_FILE=$T_TMP/top/app.db
expect_eq "$(sql 'SELECT version_num FROM mig_version')" aaaaaaaaaaaa "the project's database moved"
run -v current
expect_rc 0 "current -v"
expect_err "^using $T_TMP/top/mig.ini\$"
run revision -m "from deep"
expect_rc 0 "revision from a subfolder"
ls "$T_TMP/top/migrations/versions/"*from_deep.sql >/dev/null 2>&1 && pass || fail "the revision is not in the project's versions/"
# an error in the found file names it by its path from here
cp "$T_TMP/top/mig.ini" "$T_TMP/top/mig.ini.good"
printf 'verison_table = x\n' >>"$T_TMP/top/mig.ini"
run current
expect_rc 2 "a typo in the found file"
expect_err "^mig: \.\./\.\./mig\.ini:4: unknown key 'verison_table'"
mv "$T_TMP/top/mig.ini.good" "$T_TMP/top/mig.ini"

# -c and $MIG_CONFIG are unchanged: relative to the current folder, no search
mkdir -p "$T_TMP/top/src/deep/conf"
printf '[mig]\nscript_location = nowhere\nurl = sqlite:own.db\n' >conf/own.ini
run -c conf/own.ini history
expect_rc 2 "-c names its own file, not the one above"
expect_err "nowhere/versions"
MIG_CONFIG=conf/own.ini run history
expect_rc 2 "\$MIG_CONFIG names its own file"
expect_err "nowhere/versions"
# the nearest file wins
printf '[mig]\nscript_location = near\nurl = sqlite:near.db\n' >mig.ini
run -v history
expect_err "^using $T_TMP/top/src/deep/mig.ini\$"
expect_err "near/versions"
rm mig.ini

# the search stops at a folder holding .git ...
mkdir -p "$T_TMP/top/repo/.git" "$T_TMP/top/repo/sub"
cd "$T_TMP/top/repo/sub"
run current
expect_rc 2 "no mig.ini inside the repository"
expect_err "^mig: no mig.ini in $T_TMP/top/repo/sub or any folder above it \(use -c FILE, or mig init\)\$"
expect_err "^hint: or give the database with --url or \\\$MIG_DATABASE_URL\$"
run -v current
expect_err "^no mig.ini in $T_TMP/top/repo/sub or any folder above it\$"
run history
expect_rc 2 "history with no mig.ini"
expect_err "^mig: no mig.ini in $T_TMP/top/repo/sub or any folder above it"
expect_err "^hint: or give the revisions' folder with --script-location DIR\$"
run --url "sqlite:here.db" upgrade head
expect_rc 2 "upgrade with --url, no mig.ini and no migrations/"
expect_err "^mig: no mig.ini in $T_TMP/top/repo/sub or any folder above it"
expect_err "^hint: or give the revisions' folder with --script-location DIR\$"
run revision -m x
expect_rc 2 "revision with no mig.ini"
expect_err "^mig: no mig.ini in $T_TMP/top/repo/sub or any folder above it"
# ... but a mig.ini in the folder holding .git is found
printf '[mig]\nurl = sqlite:repo.db\n' >../mig.ini
run -v current
expect_rc 0 "mig.ini beside .git"
expect_err "^using $T_TMP/top/repo/mig.ini\$"
rm ../mig.ini
# ... and at $HOME
mkdir -p "$T_TMP/top/home/me/work"
cd "$T_TMP/top/home/me/work"
HOME=$T_TMP/top/home/me run current
expect_rc 2 "the search stops at \$HOME"
expect_err "no mig.ini in $T_TMP/top/home/me/work or any folder above it"

# with no mig.ini, what works from flags alone still works
cd "$T_TMP/top/repo/sub"
mkdir -p m/versions
write_rev m/versions cccccccccccc "" "flags" "CREATE TABLE t3 (x INTEGER);"
run --url "sqlite:flags.db" --script-location m upgrade head
expect_rc 0 "upgrade from flags alone"
DB_FILE=$PWD/flags.db
expect_eq "$(sql 'SELECT version_num FROM mig_version')" cccccccccccc "flags alone: upgraded"
run --url "sqlite:flags.db" current
expect_rc 0 "current with --url and no mig.ini"
expect_out cccccccccccc
run --url "sqlite:flags.db" --script-location m history
expect_rc 0 "history with --script-location and no mig.ini"
run drivers
expect_rc 0 "drivers with no mig.ini"
run init proj
expect_rc 0 "init with no mig.ini"
[ -f mig.ini ] && [ -d proj/versions ] && pass || fail "init wrote no project"
rm -rf mig.ini proj

# a mig.ini owned by someone else (a shared /tmp) is passed over
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$T_TMP/shared/mine"
    cat >"$T_TMP/shared/evil.lua" <<LUA
local f = io.open("$T_TMP/shared/RAN", "w"); f:write("hook ran"); f:close()
return { before_migrate = function() end }
LUA
    printf '[mig]\nurl = sqlite:%s/shared/evil.db\n[hooks]\nscripts = evil.lua\n' "$T_TMP" >"$T_TMP/shared/mig.ini"
    chown 4242:4242 "$T_TMP/shared/mig.ini" "$T_TMP/shared/evil.lua"
    cd "$T_TMP/shared/mine"
    mkdir -p migrations/versions
    write_rev migrations/versions dddddddddddd "" "mine" "CREATE TABLE t4 (x INTEGER);" "DROP TABLE t4;"
    run --url "sqlite:mine.db" upgrade head
    expect_rc 0 "upgrade below a stranger's mig.ini"
    expect_err "^warning: skipping $T_TMP/shared/mig.ini: owned by uid 4242, neither you nor root\$"
    [ ! -e "$T_TMP/shared/RAN" ] && pass || fail "the hooks of a stranger's mig.ini ran"
    [ ! -e "$T_TMP/shared/evil.db" ] && pass || fail "a stranger's mig.ini chose the database"
    [ -f mine.db ] && pass || fail "the --url database was not written"
    run current
    expect_rc 2 "a stranger's mig.ini is as none"
    expect_err "no mig.ini in $T_TMP/shared/mine or any folder above it"
    # owned by root or by the user: used
    chown 0:0 "$T_TMP/shared/mig.ini"
    run -v current
    expect_err "^using $T_TMP/shared/mig.ini\$"
    expect_no "skipping"
    # the check above means something: the same file, trusted, runs its hook
    run --url "sqlite:mine.db" --script-location migrations downgrade base
    expect_rc 0 "downgrade below a trusted mig.ini"
    [ -e "$T_TMP/shared/RAN" ] && pass || fail "the hook of a trusted mig.ini did not run: $ERR"
else
    echo "note: not root: the test of a mig.ini owned by another user needs chown"
fi

done_testing
