#!/usr/bin/env bash
# `mig revision -m`: an empty (or blank) message is refused like a missing
# one, and the file name keeps the words of a message outside ASCII: Latin
# letters with marks as their base letter, other scripts as UTF-8, never a
# letter dropped in the middle of a word.
. "$MIG_SRC/tests/cli/lib.sh"
new_db slug
project

for m in "" "   "; do
    run revision -m "$m"
    expect_rc 2 "revision -m '$m'"
    expect_err "'revision' needs -m MSG"
    one_line_err
done
run merge -m ""
expect_rc 2 "merge -m ''"
expect_err "'merge' needs -m MSG"
expect_eq "$(ls migrations/versions | wc -l)" 0 "files written by refused commands"

N=0
check_slug() { # check_slug MSG WANTED WHAT
    N=$((N + 1))
    run revision -m "$1" --rev-id "r$N"
    expect_rc 0 "revision -m '$1'"
    expect_eq "$(basename "$OUT")" "r${N}_$2" "$3"
}
check_slug 'Ünïcode / weird: name!!' "unicode_weird_name.sql" "Latin letters with marks"
check_slug 'Straße für Œuvre' "strasse_fur_oeuvre.sql" "letters that become two"
check_slug 'Ça coûte 5€' "ca_coute_5.sql" "a symbol separates"
check_slug 'добавить таблицу' "добавить_таблицу.sql" "Cyrillic kept"
check_slug 'ユーザー表を追加' "ユーザー表を追加.sql" "Japanese kept"
check_slug $'cafe\xcc\x81 bar' "cafe_bar.sql" "a combining mark joins its letter"
check_slug "$(printf 'ж%.0s' $(seq 1 30))" "$(printf 'ж%.0s' $(seq 1 20)).sql" "40 bytes, no sequence cut"
run history
expect_rc 0 "the graph reads every file"

done_testing
