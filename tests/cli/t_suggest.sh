#!/usr/bin/env bash
# "did you mean" for mistyped commands and options (the same suggestion
# code as for mistyped mig.ini keys), and `mig help [COMMAND]`, which
# prints exactly what `mig --help` and `mig COMMAND --help` print.
. "$(dirname "$0")/lib.sh"

# suggest WANTED_ERROR mig-args...: exit 2, one line, nothing written
suggest() {
    local want=$1; shift
    run "$@"
    expect_rc 2 "mig $*"
    expect_err "^mig: $want\$"
    one_line_err
    expect_eq "$OUT" "" "mig $*: nothing on stdout"
}
suggest "unknown command 'upgarde' \(did you mean 'upgrade'\?\)" upgarde head
suggest "unknown command 'histroy' \(did you mean 'history'\?\)" histroy
suggest "unknown command 'UPGRADE' \(did you mean 'upgrade'\?\)" UPGRADE
suggest "unknown command 'hed' \(did you mean 'heads'\?\)" hed
suggest "unknown option '--sqll' \(did you mean '--sql'\?\)" upgrade --sqll head
suggest "unknown option '--sqll' \(did you mean '--sql'\?\)" upgrade head --sqll=1
suggest "unknown option '--verbos' \(did you mean '--verbose'\?\)" --verbos current
suggest "unknown option '--purg' \(did you mean '--purge'\?\)" stamp --purg head
# the global options are candidates after a command too
suggest "unknown option '--lock-timout' \(did you mean '--lock-timeout'\?\)" upgrade --lock-timout 3 head
# nothing near: the old pointer to the help
suggest "unknown command 'frobnicate' \(see 'mig --help'\)" frobnicate
suggest "unknown option '--frobnicate' \(see 'mig upgrade --help'\)" upgrade --frobnicate
# another command's option is not suggested for this one
suggest "unknown option '--purge' \(see 'mig upgrade --help'\)" upgrade --purge head
# the same code as for mig.ini keys
printf '[mig]\nverison_table = v\n' >typo.ini
run -c typo.ini current
expect_rc 2 "mig.ini key"
expect_err "typo.ini:2: unknown key 'verison_table' in \[mig\] \(did you mean 'version_table'\?\)"

# mig help [COMMAND]
run --help
want=$OUT
run help
expect_rc 0 "mig help"
expect_eq "$OUT" "$want" "mig help is mig --help"
expect_out "^  help  "
for c in upgrade history stamp revision help; do
    run "$c" --help
    want=$OUT
    run help "$c"
    expect_rc 0 "mig help $c"
    expect_eq "$OUT" "$want" "mig help $c is mig $c --help"
done
suggest "unknown command 'upgarde' \(did you mean 'upgrade'\?\)" help upgarde
run help upgrade head
expect_rc 2 "mig help with two words"
expect_err "unexpected argument 'head' for 'help'"
# help reads no mig.ini: a broken one is no error
printf '[mig]\nbogus = 1\n' >mig.ini
run help upgrade
expect_rc 0 "mig help beside a broken mig.ini"
rm mig.ini

done_testing
