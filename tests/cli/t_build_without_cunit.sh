#!/usr/bin/env bash
# What make demo needs on a fresh machine, and what a failed configure
# leaves behind:
#  - configured without CUnit (as if libcunit1-dev were not installed), the
#    source tree configures with no error, says the tests are not built,
#    and mig and the three drivers build; so does a tree first configured
#    when MIG_BUILD_TESTS was a BOOL, ON by default;
#  - -DMIG_BUILD_TESTS=ON without CUnit fails, says what to install, and
#    leaves no stamp for the Makefile to take for a configured tree, so the
#    next make configures again (and succeeds once CUnit is there).
. "$(dirname "$0")/lib.sh"

unset MAKEFLAGS MFLAGS MAKELEVEL   # run by make test: not the outer make's variables
B=$T_TMP/b
if ! cmake -S "$MIG_SRC" -B "$B" -DCMAKE_DISABLE_FIND_PACKAGE_CUnit=ON >"$T_TMP/conf.log" 2>&1; then
    fail "configure without CUnit failed: $(grep -m3 -i error "$T_TMP/conf.log")"
else
    pass
    grep -q "CUnit not found: the tests are not built" "$T_TMP/conf.log" && pass \
        || fail "configure does not say the tests are not built"
    grep -q "^MIG_BUILD_TESTS:STRING=AUTO$" "$B/CMakeCache.txt" && pass \
        || fail "MIG_BUILD_TESTS is not left at AUTO in the cache"
    if cmake --build "$B" -j 2 --target mig mig_driver_sqlite mig_driver_postgres mig_driver_mysql \
        >"$T_TMP/build.log" 2>&1; then
        pass
        out=$("$B/mig" --driver-path "$B/drivers" drivers 2>&1)
        for d in sqlite postgres mysql; do
            printf '%s\n' "$out" | grep -q "^$d" && pass || fail "driver $d not listed: $out"
        done
    else
        fail "build of mig and the drivers without CUnit failed: $(tail -5 "$T_TMP/build.log")"
    fi
fi

# a tree first configured before AUTO existed (MIG_BUILD_TESTS a BOOL, ON
# by default) is taken for AUTO: it configures without CUnit too
O=$T_TMP/old
if cmake -S "$MIG_SRC" -B "$O" -DMIG_BUILD_TESTS:BOOL=ON -DCMAKE_DISABLE_FIND_PACKAGE_CUnit=ON \
    >"$T_TMP/old.log" 2>&1; then
    pass
    grep -q "^MIG_BUILD_TESTS:STRING=AUTO$" "$O/CMakeCache.txt" && pass || fail "the old BOOL ON was not turned into AUTO"
else
    fail "a tree with the old MIG_BUILD_TESTS:BOOL=ON fails without CUnit: $(grep -m3 -i error "$T_TMP/old.log")"
fi

# asked for the tests without CUnit: a clear error, and no stamp
M=$T_TMP/m
flags="-DMIG_BUILD_TESTS=ON -DCMAKE_DISABLE_FIND_PACKAGE_CUnit=ON"
if make -s -C "$MIG_SRC" BUILD="$M" CMAKE_FLAGS="$flags" "$M/configured.stamp" >"$T_TMP/m.log" 2>&1; then
    fail "configure with MIG_BUILD_TESTS=ON and no CUnit succeeded"
else
    pass
    grep -q "scripts/deps.sh --test" "$T_TMP/m.log" && pass || fail "the error does not say how to get CUnit: $(cat "$T_TMP/m.log")"
fi
[ -e "$M/CMakeCache.txt" ] && pass || fail "the failed configure left no CMakeCache.txt (the case to cover)"
[ ! -e "$M/configured.stamp" ] && pass || fail "a failed configure left the stamp behind"
# make -q: 1 when the target is out of date, i.e. the next make configures again
make -q -C "$MIG_SRC" BUILD="$M" "$M/configured.stamp" >/dev/null 2>&1
expect_eq "$?" 1 "after a failed configure, make still wants to configure"
if make -s -C "$MIG_SRC" BUILD="$M" CMAKE_FLAGS="-DMIG_BUILD_TESTS=OFF" "$M/configured.stamp" >"$T_TMP/m2.log" 2>&1; then
    pass
    [ -f "$M/configured.stamp" ] && pass || fail "a configure that succeeded wrote no stamp"
    make -q -C "$MIG_SRC" BUILD="$M" "$M/configured.stamp" >/dev/null 2>&1
    expect_eq "$?" 0 "after a good configure, make takes the tree as configured"
else
    fail "configure again after the failed one: $(tail -5 "$T_TMP/m2.log")"
fi

done_testing
