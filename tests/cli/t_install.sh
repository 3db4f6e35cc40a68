#!/usr/bin/env bash
# cmake --install lays out what SPEC.md section 1 lists; the installed mig
# finds its drivers, templates and man page with no environment variable;
# the uninstalled build does too; and a driver built out of tree against the
# installed SDK (tests/sdk: once with find_package(mig), once with
# pkg-config) is loaded by `mig drivers` and used by `mig --sql`; and the
# embedding example built against the installed libmig (tests/embed with
# find_package(mig) and mig::mig, then with pkg-config mig) migrates a
# database through the installed libmig.so.
. "$(dirname "$0")/lib.sh"
unset MIG_DRIVER_PATH DATABASE_URL

cache() { sed -n "s/^$1:[A-Z]*=//p" "$MIG_BUILD/CMakeCache.txt"; }
libdir=$(cache CMAKE_INSTALL_LIBDIR)
datadir=$(cache CMAKE_INSTALL_DATAROOTDIR)
mandir=$datadir/man
builddrivers=$(ls "$MIG_BUILD"/drivers/mig_driver_*.so 2>/dev/null)
[ -n "$builddrivers" ] || { fail "no driver in $MIG_BUILD/drivers"; exit 1; }

# ---- the uninstalled build finds its own drivers ----
run drivers
expect_rc 0 "build-tree mig drivers"
for so in $builddrivers; do
    expect_out "$(basename "$so" .so | sed 's/^mig_driver_//') .*ABI"
done

# ---- install into a fresh prefix ----
prefix=$T_TMP/prefix
if ! cmake --install "$MIG_BUILD" --prefix "$prefix" >"$T_TMP/install.log" 2>&1; then
    fail "cmake --install failed: $(tail -5 "$T_TMP/install.log")"
    exit 1
fi
want=(
    bin/mig
    bin/mig-driver-conformance
    "$libdir/mig/drivers/mig_driver_sqlite.so"
    "$datadir/mig/templates/template.sql" "$datadir/mig/templates/template.lua"
    "$datadir/mig/example/mig.ini"
    include/mig/driver.h include/mig/driver_util.h include/mig/mig.h include/mig/secret.h
    "$libdir/cmake/mig/migConfig.cmake" "$libdir/cmake/mig/migConfigVersion.cmake"
    "$libdir/cmake/mig/migTargets.cmake"
    "$libdir/pkgconfig/mig-driver.pc"
    "$libdir/libmig.so" "$libdir/libmig.so.0" "$libdir/pkgconfig/mig.pc"
    "$libdir/cmake/mig/migLibTargets.cmake"
    "$mandir/man1/mig.1"
    "$datadir/bash-completion/completions/mig"
    "$datadir/zsh/site-functions/_mig"
    "$datadir/doc/mig/CHANGELOG.md"
)
for j in "$MIG_SRC"/schema/*.json; do want+=("$datadir/mig/schema/$(basename "$j")"); done
for so in $builddrivers; do want+=("$libdir/mig/drivers/$(basename "$so")"); done
for h in "$MIG_SRC"/hooks/*.lua; do
    [ -f "$h" ] && want+=("$datadir/mig/hooks/$(basename "$h")")
done
for f in "${want[@]}"; do
    if [ -f "$prefix/$f" ]; then pass; else fail "cmake --install did not install $f"; fi
done
imig=$prefix/bin/mig

# ---- nothing installed names the build machine's folders ----
# (a packaged mig searched its build's source folder for Lua modules and hooks)
[ ! -e "$prefix/bin/mig-build-tree" ] && pass || fail "the build-tree marker was installed"
# (a sanitizer build names its modules by their full path: it is never packaged)
[ "$(cache MIG_SANITIZE)" = ON ] ||
for f in "$imig" "$prefix/$libdir"/libmig.so.0 "$prefix/$libdir"/mig/drivers/*.so; do
    src_hits=$(strings -a "$f" | grep -cF "$(cd "$MIG_SRC" && pwd -P)" || true)
    build_hits=$(strings -a "$f" | grep -cF "$(cd "$MIG_BUILD" && pwd -P)" || true)
    expect_eq "$src_hits $build_hits" "0 0" "source/build paths in $(basename "$f")"
done

# ---- the installed mig: version, drivers beside it, a project, the man page ----
expect_eq "$("$imig" --version)" "$("$MIG" --version)" "installed mig --version"
if "$imig" --version | grep -Eq '^mig [0-9]+\.[0-9]+\.[0-9]+ \(driver ABI [0-9]+\)$'; then pass
else fail "mig --version is not 'mig X.Y.Z (driver ABI N)': $("$imig" --version)"; fi
# drivers as `mig drivers` lists them, with canonical paths: NAME PATH
drivers_found() {
    "$imig" drivers 2>&1 | while read -r name _ abi version path _; do
        echo "$name $abi $version $(readlink -f "$path")"
    done
}
drivers_found >"$T_TMP/drivers.txt"
for so in $builddrivers; do
    if grep -qF " $prefix/$libdir/mig/drivers/$(basename "$so")" "$T_TMP/drivers.txt"; then pass
    else fail "installed mig does not find its $(basename "$so") beside it: $(cat "$T_TMP/drivers.txt")"; fi
done

cp -r "$prefix/$datadir/mig/example" "$T_TMP/example"
(cd "$T_TMP/example" && "$imig" upgrade head) >"$T_TMP/demo.log" 2>&1 ||
    fail "installed mig cannot run the example: $(cat "$T_TMP/demo.log")"
expect_eq "$(cd "$T_TMP/example" && "$imig" current 2>/dev/null)" \
    "$(cd "$T_TMP/example" && "$imig" -q heads 2>/dev/null | cut -d' ' -f1)" "example current after upgrade"

mkdir "$T_TMP/fresh"
(cd "$T_TMP/fresh" && "$imig" init) >/dev/null 2>&1 || fail "installed mig init failed"
if cmp -s "$T_TMP/fresh/migrations/template.sql" "$prefix/$datadir/mig/templates/template.sql"; then pass
else fail "mig init did not copy the shipped template.sql"; fi

if man -l "$prefix/$mandir/man1/mig.1" 2>/dev/null | grep -q "EXIT STATUS"; then pass
else fail "the installed man page does not render"; fi

# ---- the SDK, with find_package(mig) ----
sdk=$MIG_SRC/tests/sdk
if cmake -S "$sdk" -B "$T_TMP/sdk-build" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_BUILD_TYPE=Release >"$T_TMP/sdk.log" 2>&1 &&
   cmake --build "$T_TMP/sdk-build" >>"$T_TMP/sdk.log" 2>&1 &&
   cmake --install "$T_TMP/sdk-build" >>"$T_TMP/sdk.log" 2>&1; then pass
else fail "the out-of-tree driver does not build with find_package(mig): $(tail -20 "$T_TMP/sdk.log")"; fi
if grep -q "driver ABI $("$imig" --json --version | sed -n 's/.*"driver_abi": *\([0-9]*\).*/\1/p')" "$T_TMP/sdk.log"; then pass
else fail "find_package(mig) does not report the driver ABI of mig --version"; fi
sdkso=$prefix/$libdir/mig/drivers/mig_driver_nulldb.so
[ -f "$sdkso" ] && pass || fail "mig_add_driver did not install into the driver folder ($sdkso)"
run_i() { "$imig" "$@" >"$T_TMP/.out" 2>"$T_TMP/.err"; RC=$?; OUT=$(cat "$T_TMP/.out"); ERR=$(cat "$T_TMP/.err"); }
expect_eq "$(drivers_found | grep '^nulldb ')" "nulldb 2 1.0.0 $sdkso" "mig drivers finds the find_package driver"
# the only exported symbol is the entry point
exported=$(nm -D --defined-only "$sdkso" | awk '$2 == "T" {print $3}')
expect_eq "$exported" mig_driver_entry "symbols exported by the SDK-built driver"
# the driver is used: an offline plan in its dialect, and a run against it
mkdir -p "$T_TMP/nullproj/versions"
printf '%s\n' '-- mig:revision a1' '-- mig:upgrade' 'CREATE TABLE t (id integer);' \
    '-- mig:downgrade' 'DROP TABLE t;' >"$T_TMP/nullproj/versions/a1_t.sql"
run_i --driver nulldb --url nulldb:x --script-location "$T_TMP/nullproj" upgrade --sql head
expect_rc 0 "upgrade --sql on nulldb"
expect_out "CREATE TABLE t"
run_i --url nulldb:x --script-location "$T_TMP/nullproj" --no-lock upgrade head
expect_rc 0 "upgrade head --no-lock on nulldb (a driver without a lock)"

# ---- the installed conformance runner against an installed driver ----
run_conf() { "$prefix/bin/mig-driver-conformance" "$@" >"$T_TMP/conf.out" 2>&1; }
if run_conf "$prefix/$libdir/mig/drivers/mig_driver_sqlite.so" "sqlite:///{tmpdir}/conformance.db"; then pass
else fail "mig-driver-conformance on the installed sqlite driver: $(tail -5 "$T_TMP/conf.out")"; fi
run_conf; expect_eq "$?" 2 "mig-driver-conformance without arguments is a usage error"

# ---- the SDK, with pkg-config ----
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
if pkg-config --exists mig-driver; then pass; else fail "pkg-config does not find mig-driver"; fi
expect_eq "$(pkg-config --variable=abi mig-driver)" 2 "pkg-config abi"
expect_eq "$(readlink -f "$(pkg-config --variable=driverdir mig-driver)")" "$prefix/$libdir/mig/drivers" "pkg-config driverdir (relocated)"
mkdir "$T_TMP/pc"
# shellcheck disable=SC2046
if cc -std=c11 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden $(pkg-config --cflags mig-driver) \
        -o "$T_TMP/pc/mig_driver_nulldb.so" "$sdk/nulldb.c" 2>"$T_TMP/pc.log"; then pass
else fail "the out-of-tree driver does not build with pkg-config: $(cat "$T_TMP/pc.log")"; fi
rm -f "$sdkso"
expect_eq "$(MIG_DRIVER_PATH=$T_TMP/pc drivers_found | grep '^nulldb ')" "nulldb 2 1.0.0 $T_TMP/pc/mig_driver_nulldb.so" \
    "mig drivers finds the pkg-config driver"

# ---- an application embedding the installed libmig ----
# runs examples/embed.c as built: it links the installed libmig.so.0 (not
# the build tree's), and migrates a fresh SQLite project with it
embed_run() {
    local exe=$1 how=$2 dir
    dir=$T_TMP/embedproj-$how
    mkdir "$dir" && cp -r "$MIG_SRC/migrations" "$dir/"
    printf '[mig]\nscript_location = migrations\nurl = sqlite:app.db\n' >"$dir/mig.ini"
    local lib
    lib=$(ldd "$exe" | awk '$1 == "libmig.so.0" {print $3}')
    expect_eq "$(readlink -f "$lib")" "$(readlink -f "$prefix/$libdir/libmig.so.0")" "libmig the $how-built example loads"
    # the test prefix is not the prefix compiled into libmig: say where its drivers are
    (cd "$dir" && MIG_DRIVER_PATH=$prefix/$libdir/mig/drivers "$exe" mig.ini) >"$T_TMP/embed-$how.log" 2>&1
    expect_eq "$?" 0 "the $how-built example exits 0"
    grep -q "database is current (6 steps)" "$T_TMP/embed-$how.log" && pass ||
        fail "the $how-built example did not migrate: $(cat "$T_TMP/embed-$how.log")"
}
# a sanitizer build's libmig needs its runtime first in the application, as
# any instrumented library does: the application is built with it too
app_san=""
[ "$(cache MIG_SANITIZE)" = ON ] && app_san="-fsanitize=address,undefined"
if cmake -S "$MIG_SRC/tests/embed" -B "$T_TMP/embed-build" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="$app_san" -DCMAKE_EXE_LINKER_FLAGS="$app_san" \
        >"$T_TMP/embed.log" 2>&1 &&
   cmake --build "$T_TMP/embed-build" >>"$T_TMP/embed.log" 2>&1; then
    pass
    embed_run "$T_TMP/embed-build/embed" cmake
else fail "the embedding example does not build with find_package(mig) mig::mig: $(tail -20 "$T_TMP/embed.log")"; fi
if pkg-config --exists mig; then pass; else fail "pkg-config does not find mig"; fi
expect_eq "$(pkg-config --modversion mig)" "$("$imig" --version | awk '{print $2}')" "pkg-config mig version"
mkdir "$T_TMP/embed-pc"
# shellcheck disable=SC2046
if cc -std=c11 -Wall -Wextra -Werror $app_san $(pkg-config --cflags mig) -o "$T_TMP/embed-pc/embed" \
        "$MIG_SRC/examples/embed.c" $(pkg-config --libs mig) -Wl,-rpath,"$(pkg-config --variable=libdir mig)" \
        2>"$T_TMP/embed-pc.log"; then
    pass
    embed_run "$T_TMP/embed-pc/embed" pkg-config
else fail "the embedding example does not build with pkg-config mig: $(cat "$T_TMP/embed-pc.log")"; fi
# the application needs no symbol of libmig beyond mig.h: nothing of the
# internal modules is visible to it
if nm -D --defined-only "$prefix/$libdir/libmig.so.0" | awk 'NF == 3 {print $3}' | grep -qv '^mig_'; then
    fail "the installed libmig.so.0 exports more than mig_*: $(nm -D --defined-only "$prefix/$libdir/libmig.so.0" | grep -v ' mig_' | head -5)"
else pass; fi

echo "$T_COUNT checks, $T_FAILS failures"
[ "$T_FAILS" = 0 ]
