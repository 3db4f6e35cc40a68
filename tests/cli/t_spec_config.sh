#!/usr/bin/env bash
# SPEC §2 Configuration, sentence by sentence: where the file is found, runs
# with no file, relative paths, ${VAR} / ${VAR:-default} / %(here)s, lazy
# expansion, whole-line comments, URL precedence, every URL form, masking.
. "$(dirname "$0")/lib.sh"

# a project in proj/ with one revision; the database is named by each case
mkdir -p proj/migrations/versions
write_rev proj/migrations/versions aaaaaaaaaaaa "" "one" "CREATE TABLE t1 (x int);" "DROP TABLE t1;"
ini() { cat > proj/mig.ini; }
ver() { sqlite3 "$1" "SELECT version_num FROM mig_version" 2>/dev/null; }

# --- "Found at -c/--config PATH, else $MIG_CONFIG, else ./mig.ini" ---
ini <<'INI'
[mig]
script_location = migrations
url = sqlite:from_file.db
INI
run -c proj/mig.ini upgrade head
expect_rc 0 "§2 -c PATH"
expect_eq "$(ver proj/from_file.db)" aaaaaaaaaaaa "§2 -c PATH: relative url resolves against the file's folder"
rm -f proj/from_file.db
run --config proj/mig.ini upgrade head
expect_rc 0 "§2 --config PATH"
expect_eq "$(ver proj/from_file.db)" aaaaaaaaaaaa "§2 --config PATH"
rm -f proj/from_file.db
MIG_CONFIG=proj/mig.ini run upgrade head
expect_rc 0 "§2 \$MIG_CONFIG"
expect_eq "$(ver proj/from_file.db)" aaaaaaaaaaaa "§2 \$MIG_CONFIG is read"
rm -f proj/from_file.db
(cd proj && "$MIG" upgrade head 2>/dev/null)
expect_eq "$(ver proj/from_file.db)" aaaaaaaaaaaa "§2 ./mig.ini is read"
# -c wins over $MIG_CONFIG, which wins over ./mig.ini
mkdir -p other/migrations/versions
cat > other/mig.ini <<'INI'
[mig]
script_location = migrations
url = sqlite:other.db
INI
write_rev other/migrations/versions bbbbbbbbbbbb "" "two" "CREATE TABLE t2 (x int);" "DROP TABLE t2;"
rm -f proj/from_file.db
MIG_CONFIG=other/mig.ini run -c proj/mig.ini upgrade head
expect_rc 0 "§2 -c over \$MIG_CONFIG"
expect_eq "$(ver proj/from_file.db)" aaaaaaaaaaaa "§2 -c wins over \$MIG_CONFIG"
[ -e other/other.db ] && fail "§2 -c wins over \$MIG_CONFIG: \$MIG_CONFIG's database was written" || pass
(cd proj && MIG_CONFIG=../other/mig.ini "$MIG" upgrade head 2>/dev/null)
expect_eq "$(ver other/other.db)" bbbbbbbbbbbb "§2 \$MIG_CONFIG wins over ./mig.ini"
# a -c that does not exist is an error, not a silent fallback
run -c nowhere.ini current
expect_rc 2 "§2 -c to a missing file"
expect_err 'nowhere\.ini'

# --- "mig also runs with no file at all, from flags" ---
mkdir -p bare && cd bare
run --url "sqlite:bare.db" --script-location ../proj/migrations upgrade head
expect_rc 0 "§2 runs with no file at all, from flags"
expect_eq "$(ver bare.db)" aaaaaaaaaaaa "§2 no file: the database from --url"
run --url "sqlite:bare.db" --script-location ../proj/migrations current
expect_eq "$OUT" aaaaaaaaaaaa "§2 no file: current from flags"
cd ..

# --- "relative paths given on the command line, against the current folder" ---
rm -f proj/from_file.db
run -c proj/mig.ini --url sqlite:cmdline.db upgrade head
expect_rc 0 "§2 relative --url"
expect_eq "$(ver cmdline.db)" aaaaaaaaaaaa "§2 a relative --url resolves against the current folder"
[ -e proj/cmdline.db ] && fail "§2 relative --url resolved against the file's folder" || pass
run -c proj/mig.ini --url sqlite:cmdline2.db --script-location other/migrations upgrade head
expect_rc 0 "§2 relative --script-location"
expect_eq "$(ver cmdline2.db)" bbbbbbbbbbbb "§2 a relative --script-location resolves against the current folder"

# --- ${VAR}, ${VAR:-default}, %(here)s ---
ini <<'INI'
[mig]
script_location = %(here)s/migrations
url = ${SPEC_DB_URL}
INI
unset SPEC_DB_URL
run -c proj/mig.ini current
expect_rc 2 "§2 an unset \${VAR} in a used value is an error"
expect_err 'SPEC_DB_URL'
run -c proj/mig.ini --url sqlite:lazy.db upgrade head
expect_rc 0 "§2 url = \${VAR} is no error when --url is given"
expect_eq "$(ver lazy.db)" aaaaaaaaaaaa "§2 --url used while url = \${VAR} is unset"
MIG_DATABASE_URL=sqlite:lazy_env.db run -c proj/mig.ini upgrade head
expect_rc 0 "§2 url = \${VAR} is no error when \$MIG_DATABASE_URL is given"
SPEC_DB_URL=sqlite:from_var.db run -c proj/mig.ini upgrade head
expect_rc 0 "§2 \${VAR} from the environment"
expect_eq "$(ver proj/from_var.db)" aaaaaaaaaaaa "§2 \${VAR} expands (relative, in the file: the file's folder)"
ini <<'INI'
[mig]
script_location = %(here)s/migrations
url = ${SPEC_DB_URL:-sqlite:%(here)s/defaulted.db}
INI
run -c proj/mig.ini upgrade head
expect_rc 0 "§2 \${VAR:-default}"
expect_eq "$(ver proj/defaulted.db)" aaaaaaaaaaaa "§2 \${VAR:-default} and %(here)s"
SPEC_DB_URL=sqlite:given.db run -c proj/mig.ini upgrade head
expect_eq "$(ver proj/given.db)" aaaaaaaaaaaa "§2 \${VAR:-default}: the variable wins when set"
# an unset variable in a value that is never used is no error
ini <<'INI'
[mig]
script_location = migrations
url = sqlite:unused.db
on_connect = ${SPEC_UNSET_ON_CONNECT}

[autogenerate]
target = ${SPEC_UNSET_TARGET}
INI
run -c proj/mig.ini heads
expect_rc 0 "§2 a value is expanded only when it is used (heads needs no database)"

# --- "Comments take whole lines (# or ;) ...: a value may hold ';'" ---
ini <<'INI'
# hash comment
; semicolon comment
[mig]
  # an indented comment
script_location = migrations
url = sqlite:semi#hash.db
on_connect = CREATE TABLE IF NOT EXISTS "a;b" (v int)
INI
run -c proj/mig.ini upgrade head
expect_rc 0 "§2 whole-line comments with # and ;"
[ -e "proj/semi#hash.db" ] && pass || fail "§2 a value may hold '#': url was cut"
expect_eq "$(sqlite3 "proj/semi#hash.db" "SELECT name FROM sqlite_schema WHERE name='a;b'")" "a;b" \
    "§2 a value may hold ';' (on_connect kept whole)"
expect_eq "$(ver "proj/semi#hash.db")" aaaaaaaaaaaa "§2 on_connect runs on every new connection"

# --- "first match wins: --url, $MIG_DATABASE_URL, the file's url, then the driver's own defaults" ---
ini <<'INI'
[mig]
script_location = migrations
url = sqlite:p_file.db
INI
MIG_DATABASE_URL=sqlite:p_env.db run -c proj/mig.ini --url sqlite:p_flag.db upgrade head
expect_eq "$(ver p_flag.db)" aaaaaaaaaaaa "§2 --url wins over \$MIG_DATABASE_URL"
[ -e p_env.db ] || [ -e proj/p_file.db ] && fail "§2 --url wins: another url was used" || pass
MIG_DATABASE_URL=sqlite:p_env.db run -c proj/mig.ini upgrade head
expect_eq "$(ver p_env.db)" aaaaaaaaaaaa "§2 \$MIG_DATABASE_URL wins over the file's url"
[ -e proj/p_file.db ] && fail "§2 \$MIG_DATABASE_URL wins: the file's url was used" || pass
run -c proj/mig.ini upgrade head
expect_eq "$(ver proj/p_file.db)" aaaaaaaaaaaa "§2 the file's url when nothing else is given"
# the driver's own defaults: postgres with no URL goes to libpq's PGHOST/PGPORT
run --script-location proj/migrations current
expect_rc 2 "§2 no URL and no driver is a configuration error"
PGHOST=127.0.0.1 PGPORT=1 PGDATABASE=nodb PGUSER=nobody \
    run --driver=postgres --script-location proj/migrations current
expect_rc 1 "§2 --driver=postgres with no URL uses libpq's defaults"
expect_err '127\.0\.0\.1.*1|port 1'

# --- driver "optional: inferred from the URL scheme" ---
ini <<'INI'
[mig]
script_location = migrations
driver = sqlite
url = sqlite:explicit_driver.db
INI
run -c proj/mig.ini upgrade head
expect_rc 0 "§2 driver = sqlite in the file"

# --- URL forms ---
run --script-location proj/migrations --url "sqlite:///$T_TMP/abs3.db" upgrade head
expect_rc 0 "§2 sqlite:///abs/path.db"
expect_eq "$(ver "$T_TMP/abs3.db")" aaaaaaaaaaaa "§2 sqlite:///abs/path.db is absolute"
run --script-location proj/migrations --url "sqlite:////$T_TMP/abs4.db" upgrade head
expect_rc 0 "§2 sqlite:////abs/path.db (four slashes)"
expect_eq "$(ver "$T_TMP/abs4.db")" aaaaaaaaaaaa "§2 four-slash form means the same"
mkdir -p rel/sub
run --script-location proj/migrations --url "sqlite:rel/sub/r.db" upgrade head
expect_rc 0 "§2 sqlite:rel/path.db"
expect_eq "$(ver rel/sub/r.db)" aaaaaaaaaaaa "§2 sqlite:rel/path.db is relative"
# every server URL form is understood and routed to its driver (the
# connection fails: nothing listens on port 1) and never shows the password
S="--script-location proj/migrations"
for u in "postgresql://app:s3cretpw@127.0.0.1:1/app?sslmode=require" \
         "postgres://app:s3cretpw@127.0.0.1:1/app" \
         "host=127.0.0.1 port=1 user=app password=s3cretpw dbname=app" \
         "mysql://app:s3cretpw@127.0.0.1:1/app" \
         "mariadb://app:s3cretpw@127.0.0.1:1/app" \
         "mysql://app:s3cretpw@localhost/app?socket=$T_TMP/no.sock"; do
    run $S --url "$u" upgrade head
    expect_rc 1 "§2 URL form '${u%%:*}...' reaches its driver and fails to connect"
    expect_no s3cretpw
    run $S -v --url "$u" current
    expect_no s3cretpw
    run $S --json --url "$u" current
    expect_no s3cretpw
done
run $S --url "mysql://app:s3cretpw@localhost/app?socket=$T_TMP/no.sock" current
expect_err "no\.sock"
run $S --url "postgresql://app:s3cretpw@127.0.0.1:1/app" current
expect_err "127\.0\.0\.1"
# the masked form is exactly user:***@host
run $S --url "postgresql://app:s3cretpw@[db/app" current
expect_err 'postgresql://app:\*\*\*@'
expect_no s3cretpw
MIG_DATABASE_URL="postgresql://app:s3cretpw@127.0.0.1:1/app" run $S -v current
expect_no s3cretpw

done_testing
