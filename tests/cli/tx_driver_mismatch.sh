#!/usr/bin/env bash
# A driver (--driver, or driver = in mig.ini) that does not match the URL's
# scheme is one clear configuration error naming both (exit 2), on every
# driver, before any connection: not the other driver's parser error.
. "$MIG_SRC/tests/cli/lib.sh"
new_db mism
project
write_rev migrations/versions a00000000001 "" "first" "CREATE TABLE t1 (x INTEGER);" "DROP TABLE t1;"
case "$MIG_TEST_DRIVER" in
sqlite)   OTHER=postgres ;;
postgres) OTHER=mysql ;;
mysql)    OTHER=sqlite ;;
esac
for cmd in "upgrade head" current "stamp head"; do
    run --driver "$OTHER" $cmd
    expect_rc 2 "--driver $OTHER with a $MIG_TEST_DRIVER URL: $cmd"
    expect_err "^mig: driver '$OTHER' \(--driver\) cannot use URL '.*', which is a $MIG_TEST_DRIVER URL$"
    expect_err "^hint: "
    one_line_err
done
expect_eq "$(table_exists t1 && echo yes || echo no)" no "nothing ran"
echo "driver = $OTHER" >> mig.ini
run upgrade head
expect_rc 2 "driver = $OTHER in mig.ini"
expect_err "driver '$OTHER' cannot use URL"
# the matching driver named explicitly still works
sed -i '$d' mig.ini
run --driver "$MIG_TEST_DRIVER" upgrade head
expect_rc 0 "--driver $MIG_TEST_DRIVER"
expect_eq "$(table_exists t1 && echo yes || echo no)" yes "upgrade ran"

done_testing
