#!/usr/bin/env bash
# The Debian packages: build them the way a distribution would (a copy of
# the source configured with -DCMAKE_INSTALL_PREFIX=/usr, then cpack), check
# each driver package depends on its own client library only, install mig
# and two drivers (and libmig0, libmig-dev, mig-dev) into this machine with
# dpkg -i, and with the source copy moved away run mig --version, mig
# drivers and the demo from the installed paths alone, and build and run
# examples/embed.c against the packaged libmig. Everything installed is
# removed again (dpkg -P), whatever happens.
#
# It changes the machine, so it runs only as the CTest test `package_deb`
# (cmake/Packaging.cmake: RUN_SERIAL, MIG_TEST_DEB=1), as root, and never
# over a mig package that was already installed.
. "$(dirname "$0")/lib.sh"
unset MIG_DRIVER_PATH DATABASE_URL

if [ "${MIG_TEST_DEB:-}" != 1 ]; then
    echo "installs packages into the machine: runs as the test package_deb only"
    exit 77
fi
[ "$(id -u)" = 0 ] || { echo "needs root for dpkg -i: skipped"; exit 77; }
for tool in dpkg dpkg-deb dpkg-shlibdeps cpack; do
    command -v "$tool" >/dev/null || { echo "$tool not installed: skipped"; exit 77; }
done
# Other checkouts on this machine may run this test at the same moment:
# one at a time, machine-wide, or one's dpkg -r pulls the other's packages.
exec 9>"${TMPDIR:-/tmp}/mig-test-deb.lock"
if ! flock -w 1200 9; then
    echo "another run of this test held the machine-wide lock for 20 minutes: skipped"
    exit 77
fi
for p in mig mig-dev libmig0 libmig-dev mig-driver-sqlite mig-driver-postgres mig-driver-mysql; do
    if dpkg -s "$p" >/dev/null 2>&1; then
        echo "package $p is already installed here: not touching it, skipped"
        exit 77
    fi
done

cache() { sed -n "s/^$1:[A-Z]*=//p" "$MIG_BUILD/CMakeCache.txt"; }
# dpkg, waiting while something else (apt, unattended upgrades) holds its lock
dpkg_wait() {
    local i out
    for i in $(seq 150); do
        if out=$(dpkg "$@" 2>&1); then echo "$out"; return 0; fi
        case $out in *"lock"*) sleep 2 ;; *) echo "$out"; return 1 ;; esac
    done
    echo "$out"
    return 1
}

# ---- build from a copy of the source, kept for the next run (incremental) ----
work=$MIG_BUILD/deb
src=$work/src
mkdir -p "$src"
if git -C "$MIG_SRC" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$MIG_SRC" && git ls-files -co --exclude-standard -z | tar -c --null -T - -f -) | tar -x -C "$src" -f -
else
    (cd "$MIG_SRC" && tar -c --exclude='./build*' -f - .) | tar -x -C "$src" -f -
fi
log=$work/build.log
if ! { cmake -S "$src" -B "$work/build" -DCMAKE_INSTALL_PREFIX=/usr -DMIG_BUILD_TESTS=OFF \
           -DCMAKE_BUILD_TYPE="$(cache CMAKE_BUILD_TYPE)" &&
       cmake --build "$work/build" -j 2 &&
       rm -rf "$work/packages" &&
       (cd "$work/build" && cpack -G DEB -B "$work/packages"); } >"$log" 2>&1; then
    fail "building the packages failed: $(tail -20 "$log")"
    exit 1
fi

deb() { ls "$work"/packages/"$1"_*.deb 2>/dev/null | head -1; }
depends() { dpkg-deb -f "$(deb "$1")" Depends; }
for p in mig mig-dev libmig0 libmig-dev mig-driver-sqlite; do
    [ -n "$(deb "$p")" ] && pass || fail "cpack made no $p package: $(ls "$work/packages")"
done
drivers=(sqlite)
for d in postgres mysql; do
    if [ -f "$MIG_SRC/drivers/$d/CMakeLists.txt" ]; then
        drivers+=("$d")
        [ -n "$(deb "mig-driver-$d")" ] && pass || fail "cpack made no mig-driver-$d package"
    fi
done
version=$("$MIG" --version | awk '{print $2}')
expect_eq "$(dpkg-deb -f "$(deb mig)" Version)" "$version" "package version"
# each package needs what it links and nothing more
for p in mig mig-driver-sqlite mig-driver-postgres; do
    [ -n "$(deb "$p")" ] || continue
    if depends "$p" | grep -Eq 'libmariadb|libmysql'; then
        fail "$p depends on the MariaDB client: $(depends "$p")"
    else pass; fi
done
for d in "${drivers[@]}"; do
    if depends "mig-driver-$d" | grep -q "mig (= $version)"; then pass
    else fail "mig-driver-$d does not depend on mig (= $version): $(depends "mig-driver-$d")"; fi
done
if depends mig | grep -Eq 'libpq|libsqlite3'; then fail "mig depends on a driver's library: $(depends mig)"; else pass; fi
[ -n "$(deb mig-driver-postgres)" ] && { depends mig-driver-postgres | grep -q libpq && pass || fail "mig-driver-postgres lacks libpq: $(depends mig-driver-postgres)"; }
[ -n "$(deb mig-driver-mysql)" ] && { depends mig-driver-mysql | grep -q libmariadb && pass || fail "mig-driver-mysql lacks libmariadb: $(depends mig-driver-mysql)"; }
dpkg-deb -c "$(deb mig)" >"$T_TMP/mig.contents"
for f in ./usr/bin/mig ./usr/share/man/man1/mig.1 ./usr/share/mig/templates/template.sql \
         ./usr/share/bash-completion/completions/mig ./usr/share/zsh/vendor-completions/_mig \
         ./usr/share/mig/schema/upgrade.json ./usr/share/mig/schema/mig.json; do
    if grep -q " $f\$" "$T_TMP/mig.contents"; then pass; else fail "package mig lacks $f"; fi
done
# libmig: the library under its SONAME in libmig0, the rest in libmig-dev
dpkg-deb -c "$(deb libmig0)" >"$T_TMP/libmig0.contents"
dpkg-deb -c "$(deb libmig-dev)" >"$T_TMP/libmig-dev.contents"
grep -Eq ' ./usr/lib/([^/]+/)?libmig\.so\.0 ' "$T_TMP/libmig0.contents" && pass ||
    fail "libmig0 lacks libmig.so.0: $(cat "$T_TMP/libmig0.contents")"
if grep -Eq 'libmig\.so$|include/' "$T_TMP/libmig0.contents"; then fail "libmig0 holds development files"; else pass; fi
for f in 'libmig\.so ->' 'pkgconfig/mig\.pc$' 'include/mig/mig\.h$' 'cmake/mig/migLibTargets\.cmake$'; do
    grep -Eq "$f" "$T_TMP/libmig-dev.contents" && pass || fail "libmig-dev lacks $f"
done
depends libmig-dev | grep -q "libmig0 (= $version)" && pass || fail "libmig-dev does not depend on libmig0: $(depends libmig-dev)"
if depends libmig0 | grep -Eq 'libpq|libsqlite3|libmariadb'; then fail "libmig0 depends on a driver's library: $(depends libmig0)"; else pass; fi
dpkg-deb -I "$(deb libmig0)" postinst 2>/dev/null | grep -q ldconfig && pass || fail "libmig0 does not run ldconfig"
if dpkg-deb -f "$(deb mig)" Depends | grep -q libmig0; then fail "mig depends on libmig0 (it links libmig statically)"; else pass; fi
# libcrypto is opened with dlopen, which the shared-library scan cannot see: named by hand
for p in mig libmig0; do
    depends "$p" | grep -q libssl3 && pass || fail "$p does not depend on libssl3 (libcrypto): $(depends "$p")"
done

# ---- install mig, sqlite and (without MariaDB's) postgres driver ----
installed=()
remove_all() {
    # purge: libmig0's ldconfig postrm would otherwise keep it listed
    # (config-files), and the next run would refuse to start
    [ ${#installed[@]} -gt 0 ] && dpkg_wait -P "${installed[@]}" >>"$work/dpkg.log" 2>&1
    [ -d "$src.away" ] && mv "$src.away" "$src"
    [ -d "$work/build.away" ] && mv "$work/build.away" "$work/build"
    installed=()
}
T_CLEANUP+=("remove_all")
want=(mig mig-driver-sqlite mig-dev libmig0 libmig-dev)
[ -n "$(deb mig-driver-postgres)" ] && want+=(mig-driver-postgres)
files=()
for p in "${want[@]}"; do files+=("$(deb "$p")"); done
installed=("${want[@]}")
if dpkg_wait -i "${files[@]}" >"$work/dpkg.log" 2>&1; then pass
else fail "dpkg -i ${want[*]} failed: $(tail -10 "$work/dpkg.log")"; remove_all; exit 1; fi

# nothing of the source or build tree may help from here on
mv "$src" "$src.away"
mv "$work/build" "$work/build.away"
run_i() { /usr/bin/mig "$@" >"$T_TMP/.out" 2>"$T_TMP/.err"; RC=$?; OUT=$(cat "$T_TMP/.out"); ERR=$(cat "$T_TMP/.err"); }
run_i --version
expect_rc 0 "installed mig --version"
expect_eq "$OUT" "$("$MIG" --version)" "installed mig --version"
run_i drivers
expect_rc 0 "installed mig drivers"
expect_out "^sqlite +ABI [0-9]+ .* /usr/lib/.*mig/drivers/mig_driver_sqlite.so"
[ -n "$(deb mig-driver-postgres)" ] && expect_out "^postgres +ABI [0-9]+ .* /usr/lib/.*mig/drivers/mig_driver_postgres.so"
if printf '%s' "$OUT" | grep -q '^mysql '; then fail "mysql driver present though not installed"; else pass; fi
man -w mig >/dev/null 2>&1 && pass || fail "man -w mig does not find the installed page"
# the packaged binaries name no folder of the machine that built them
for f in /usr/bin/mig /usr/lib/*mig/drivers/*.so /usr/lib/*/mig/drivers/*.so; do
    [ -f "$f" ] || continue
    hits=$(strings -a "$f" | grep -cE "$src|$work|$(cd "$MIG_SRC" && pwd -P)" || true)
    expect_eq "$hits" 0 "build paths in installed $f"
done

# the demo, from the installed example
cp -r /usr/share/mig/example "$T_TMP/demo"
cd "$T_TMP/demo"
for step in "upgrade head" "history" "current" "downgrade -1" "upgrade head"; do
    # shellcheck disable=SC2086
    run_i $step
    expect_rc 0 "installed mig $step"
done
# every revision up, one down, one up again
nrev=$(ls migrations/versions | wc -l)
expect_eq "$(sqlite3 demo.db 'SELECT count(*) FROM mig_history')" $((nrev + 2)) "mig_history rows after the demo"
# a new project takes its templates from /usr/share/mig/templates
mkdir "$T_TMP/fresh" && cd "$T_TMP/fresh"
run_i init
expect_rc 0 "installed mig init"
cmp -s migrations/template.sql /usr/share/mig/templates/template.sql && pass ||
    fail "mig init did not copy /usr/share/mig/templates/template.sql"
# the shipped hooks are found without a path, from /usr/share/mig/hooks
if [ -f /usr/share/mig/hooks/sqlformat.lua ]; then
    printf '[post_write_hooks]\nhooks = fmt\nfmt.type = lua\nfmt.script = hooks/sqlformat.lua\n' >>mig.ini
    run_i revision -m "first"
    expect_rc 0 "mig revision with the shipped sqlformat hook"
fi
cd "$T_TMP"

# an application built against the packaged libmig, with pkg-config and
# with find_package(mig) mig::mig, runs the demo project
cp -r /usr/share/mig/example "$T_TMP/embed-demo"
# shellcheck disable=SC2046
if cc -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags mig) -o "$T_TMP/embed-pc" \
        "$src.away/examples/embed.c" $(pkg-config --libs mig) 2>"$T_TMP/embed-pc.log"; then pass
else fail "examples/embed.c does not build with the packaged pkg-config mig: $(cat "$T_TMP/embed-pc.log")"; fi
(cd "$T_TMP/embed-demo" && "$T_TMP/embed-pc" mig.ini) >"$T_TMP/embed-run.log" 2>&1
expect_eq "$?" 0 "embed example on the packaged libmig"
ldd "$T_TMP/embed-pc" | grep -Eq 'libmig\.so\.0 => (/usr)?/lib/' && pass || fail "the example does not load /usr/lib/.../libmig.so.0: $(ldd "$T_TMP/embed-pc")"
if cmake -S "$src.away/tests/embed" -B "$T_TMP/embed-build" >"$T_TMP/embed-cmake.log" 2>&1 &&
   cmake --build "$T_TMP/embed-build" >>"$T_TMP/embed-cmake.log" 2>&1; then pass
else fail "tests/embed does not build with the packaged find_package(mig): $(tail -20 "$T_TMP/embed-cmake.log")"; fi

# ---- remove: nothing left behind ----
remove_all
for f in /usr/bin/mig /usr/share/mig /usr/share/man/man1/mig.1 /usr/include/mig; do
    if [ -e "$f" ]; then fail "$f is still there after dpkg -r"; else pass; fi
done
if ls /usr/lib/*/mig /usr/lib/mig 2>/dev/null | grep -q .; then fail "driver folder left after dpkg -r"; else pass; fi
if ls /usr/lib/*/libmig.so* /usr/lib/libmig.so* 2>/dev/null | grep -q .; then fail "libmig left after dpkg -r"; else pass; fi

echo "$T_COUNT checks, $T_FAILS failures"
[ "$T_FAILS" = 0 ]
