#!/usr/bin/env bash
# SPEC §9 Drivers (and §1 "each built as mig_driver_<name>.so"): where mig
# finds plugins, `mig drivers` with ABI version and path, and a plugin that
# cannot be used named with its file and the reason.
. "$(dirname "$0")/lib.sh"

B="$MIG_BUILD/drivers"
for d in postgres sqlite mysql; do
    [ -f "$B/mig_driver_$d.so" ] && pass || fail "§1 drivers/$d is built as mig_driver_$d.so"
done

# --- `mig drivers`: the drivers found, with their ABI version and path ---
run drivers
expect_rc 0 "§9 mig drivers"
for d in postgres sqlite mysql; do
    expect_out "^$d +ABI [0-9]+ .*$B/mig_driver_$d\\.so"
done
run --json drivers
python3 -c '
import json, sys
d = json.loads(sys.argv[1])["drivers"]
names = {x["name"]: x for x in d}
for n in ("postgres", "sqlite", "mysql"):
    assert isinstance(names[n]["abi"], int) and names[n]["abi"] >= 1, names[n]
    assert names[n]["path"].endswith("/mig_driver_%s.so" % n), names[n]
' "$OUT" && pass || fail "§9 --json drivers: name, abi, path: $OUT"

# --- the search path: --driver-path, $MIG_DRIVER_PATH, the install folder, the build tree ---
mkdir -p first second
cp "$B/mig_driver_sqlite.so" first/
cp "$B/mig_driver_sqlite.so" second/
MIG_DRIVER_PATH="$T_TMP/second" run drivers --driver-path "$T_TMP/first"
expect_out "^sqlite .*$T_TMP/first/mig_driver_sqlite\\.so"
printf '%s' "$OUT" | grep -q "$T_TMP/second/mig_driver_sqlite.so" && fail "§9 --driver-path shadows \$MIG_DRIVER_PATH: $OUT" || pass
MIG_DRIVER_PATH="$T_TMP/none:$T_TMP/second" run drivers
expect_out "^sqlite .*$T_TMP/second/mig_driver_sqlite\\.so"
run drivers --driver-path "$T_TMP/none:$T_TMP/first"
expect_out "^sqlite .*$T_TMP/first/mig_driver_sqlite\\.so"
# with neither, the build tree (this binary's own drivers)
env -u MIG_DRIVER_PATH "$MIG" drivers > out.txt 2>&1
grep -Eq "^sqlite +ABI [0-9]+ " out.txt && pass || fail "§9 the build tree is searched: $(cat out.txt)"
mkdir -p m/versions
write_rev m/versions a00000000001 "" "one" "CREATE TABLE t (x int);" "DROP TABLE t;"
(unset MIG_DRIVER_PATH; "$MIG" --script-location m --url "sqlite:///$T_TMP/b.db" upgrade head) 2>/dev/null
[ "$(sqlite3 "$T_TMP/b.db" "SELECT version_num FROM mig_version")" = a00000000001 ] && pass \
    || fail "§9 an upgrade finds the sqlite driver in the build tree without \$MIG_DRIVER_PATH"

# --- a plugin that cannot be used: the file and the reason ---
mkdir -p bad
echo "not a shared object" > bad/mig_driver_junk.so
run --driver-path "$T_TMP/bad" --driver junk --url "junk:x" current
expect_rc 2 "§9 an unusable plugin is exit 2"
expect_err "$T_TMP/bad/mig_driver_junk\\.so"
run drivers --driver-path "$T_TMP/bad"
expect_rc 0 "§9 mig drivers lists an unusable plugin"
expect_out "junk .*$T_TMP/bad/mig_driver_junk\\.so.*unusable"
P=${MIG_TEST_PLUGINS:-}
if [ -n "$P" ] && [ -f "$P/mig_driver_abinext.so" ]; then
    run --driver-path "$P" --driver abinext --url "abinext:x" current
    expect_rc 2 "§9 a plugin of another ABI"
    expect_err "$P/mig_driver_abinext\\.so"
    expect_err "driver ABI 3, this mig needs 1 to 2"
    run drivers --driver-path "$P"
    expect_out "^abinext +ABI 3 .*mig_driver_abinext\\.so.*unusable: .*ABI"
    expect_out "^noentry +.*mig_driver_noentry\\.so.*unusable: "
    run --driver-path "$P" --driver noentry --url "noentry:x" current
    expect_rc 2 "§9 a plugin without the entry symbol"
    expect_err "mig_driver_noentry\\.so"
fi
if [ -n "$P" ] && [ -f "$P/mig_driver_widget.so" ]; then
    # a scheme no built-in takes goes to the plugin that declares it in url_schemes
    run --driver-path "$P" --url "widgetdb:x" current
    expect_err "^mig: widget: no database behind this test driver"
    # two plugins claiming one scheme: an error naming both, nothing connected
    run --driver-path "$P" --url "dupdb:x" current
    expect_rc 2 "§9 a URL scheme claimed by two plugins"
    expect_err "scheme 'dupdb' is claimed by two drivers: .*widget .*widgettoo |scheme 'dupdb' is claimed by two drivers: .*widgettoo .*widget "
    expect_err "mig_driver_widget\\.so"
    expect_err "mig_driver_widgettoo\\.so"
    # an ABI 1 plugin (mig 0.1.0's table) still loads: its ABI 2 slots read as absent
    run drivers --driver-path "$P"
    expect_out "^abione +ABI 1 +1\\.0\\.0 .*mig_driver_abione\\.so"
    expect_no "abione.so  unusable"
    run --driver-path "$P" --url "abionedb:x" current
    expect_err "^mig: abione: no database behind this test driver"
    # built-in schemes never look at plugins, even one claiming them
    run --driver-path "$P" --url "sqlite:///$T_TMP/w.db" current
    expect_rc 0 "§9 a built-in scheme goes to the built-in driver"
fi
run --driver nosuch --url "nosuch:x" current
expect_rc 2 "§9 an unknown driver"
expect_err "nosuch"

done_testing
