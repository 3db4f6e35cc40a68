#!/usr/bin/env bash
# SPEC §2 URLs against the real servers, once per driver: every URL form
# the driver takes, the driver's own defaults with no URL (postgres: libpq's
# PG* variables), on_connect on every new connection.
. "$MIG_SRC/tests/cli/lib.sh"

new_db spec_url
D=$MIG_TEST_DRIVER
mkdir -p m/versions
cat > m/versions/u00000000001_probe.lua <<'LUA'
-- mig:revision u00000000001
-- mig:message probe
return {
  upgrade = function(db, ctx)
    ctx.log("driver=" .. db.driver)
    if db.driver == "postgres" then
      ctx.log("lock_timeout=" .. db:query("SHOW lock_timeout")[1].lock_timeout)
    elseif db.driver == "mysql" then
      ctx.log("lock_wait_timeout=" .. tostring(db:query("SELECT @@session.lock_wait_timeout AS v")[1].v))
    end
  end,
  downgrade = function(db, ctx) end,
}
LUA
S=(--script-location m)
try_url() { # try_url WHAT URL [extra args]: upgrade then downgrade through URL
    local what=$1 u=$2; shift 2
    run "${S[@]}" --url "$u" "$@" upgrade head
    expect_rc 0 "§2 $what ($D)"
    expect_err "driver=$D"
    run "${S[@]}" --url "$u" "$@" downgrade base
    expect_rc 0 "§2 $what: downgrade ($D)"
}

case $D in
sqlite)
    try_url "sqlite:///abs/path.db" "sqlite:///$T_TMP/u3.db"
    try_url "sqlite:////abs/path.db (four slashes)" "sqlite:////$T_TMP/u4.db"
    try_url "sqlite:rel/path.db" "sqlite:u5.db"
    [ -f "$T_TMP/u3.db" ] && [ -f "$T_TMP/u4.db" ] && [ -f "$T_TMP/u5.db" ] && pass || fail "§2 the sqlite files are where the URLs say"
    ;;
postgres)
    H=$MIG_TEST_PG_HOST P=$MIG_TEST_PG_PORT U=$MIG_TEST_PG_USER
    try_url "postgresql://user@host:port/db" "postgresql://$U@$H:$P/$DB_NAME"
    try_url "postgres:// (alias)" "postgres://$U@$H:$P/$DB_NAME"
    try_url "postgresql://...?sslmode=disable" "postgresql://$U@$H:$P/$DB_NAME?sslmode=disable"
    try_url "a libpq keyword string" "host=$H port=$P user=$U dbname=$DB_NAME"
    try_url "a password in the URL (trust auth ignores it)" "postgresql://$U:s3cretpw@$H:$P/$DB_NAME"
    expect_no s3cretpw
    # the driver's own defaults: mig --driver=postgres upgrade head works with no URL
    PGHOST=$H PGPORT=$P PGUSER=$U PGDATABASE=$DB_NAME run --driver=postgres "${S[@]}" upgrade head
    expect_rc 0 "§2 --driver=postgres with no URL uses libpq's PGHOST, PGDATABASE, ... ($D)"
    expect_eq "$(sql "SELECT version_num FROM mig_version")" u00000000001 "§2 driver defaults reached the database ($D)"
    PGHOST=$H PGPORT=$P PGUSER=$U PGDATABASE=$DB_NAME run --driver=postgres "${S[@]}" downgrade base
    expect_rc 0
    # driver = postgres in the file, no url at all
    printf '[mig]\nscript_location = m\ndriver = postgres\n' > mig.ini
    PGHOST=$H PGPORT=$P PGUSER=$U PGDATABASE=$DB_NAME run current
    expect_rc 0 "§2 driver = postgres in the file with no url ($D)"
    # on_connect runs on every new connection
    printf '[mig]\nscript_location = m\nurl = postgresql://%s@%s:%s/%s\non_connect = SET lock_timeout = '"'"'5s'"'"'\n' \
        "$U" "$H" "$P" "$DB_NAME" > mig.ini
    run upgrade head
    expect_rc 0 "§2 on_connect ($D)"
    expect_err 'lock_timeout=5s'
    run downgrade base
    ;;
mysql)
    H=$MIG_TEST_MY_HOST P=$MIG_TEST_MY_PORT U=$MIG_TEST_MY_USER
    try_url "mysql://user@host:port/db" "mysql://$U@$H:$P/$DB_NAME"
    try_url "mariadb:// (alias)" "mariadb://$U@$H:$P/$DB_NAME"
    try_url "a password in the URL is never shown" "mysql://$U@$H:$P/$DB_NAME"
    SOCK=$(sql "SELECT @@socket")
    if [ -S "$SOCK" ]; then
        try_url "mysql://...?socket=PATH" "mysql://$U@localhost/$DB_NAME?socket=$SOCK"
    fi
    run "${S[@]}" --url "mysql://$U:s3cretpw@$H:$P/$DB_NAME" current
    expect_no s3cretpw
    printf '[mig]\nscript_location = m\nurl = mysql://%s@%s:%s/%s\non_connect = SET SESSION lock_wait_timeout = 17\n' \
        "$U" "$H" "$P" "$DB_NAME" > mig.ini
    run upgrade head
    expect_rc 0 "§2 on_connect ($D)"
    expect_err 'lock_wait_timeout=17'
    run downgrade base
    ;;
esac

done_testing
