#!/usr/bin/env bash
# docs/mig.1 agrees with the binary: every command of `mig --help` has an
# entry in COMMANDS, every global option of `mig --help` appears in GLOBAL
# OPTIONS, every option of `mig COMMAND --help` appears in that command's
# entry, and every environment variable the sources read, every exit status
# and every command in the bash and zsh completions are there too.
. "$(dirname "$0")/lib.sh"

page=$MIG_SRC/docs/mig.1
[ -f "$page" ] || { fail "$page is missing"; exit 1; }
command -v groff >/dev/null || { echo "groff not installed: skipped"; exit 77; }

# Render wide and without hyphenation, so no option name is split at a line end.
if ! groff -mdoc -Tutf8 -rLL=400n -rHY=0 -ww -z "$page" 2>"$T_TMP/warn"; then
    fail "groff cannot render $page"
fi
[ -s "$T_TMP/warn" ] && fail "groff warns about $page: $(cat "$T_TMP/warn")"
groff -mdoc -Tutf8 -rLL=400n -rHY=0 "$page" 2>/dev/null | col -bx | sed 's/‐/-/g' >"$T_TMP/page.txt"

# section NAME: the lines from the heading to the next heading
section() { sed -n "/^$1\$/,/^[A-Z][A-Z ]*\$/p" "$T_TMP/page.txt" | sed '$d'; }
section "GLOBAL OPTIONS" >"$T_TMP/global.txt"
section "COMMANDS" >"$T_TMP/commands.txt"
section "ENVIRONMENT" >"$T_TMP/env.txt"
section "EXIT STATUS" >"$T_TMP/exit.txt"

# the entry of one command: from its tag line to the next command's
entry() {
    awk -v cmd="$1" '
        /^     [a-z]/ { inside = ($1 == cmd) }
        inside' "$T_TMP/commands.txt"
}

# options of a help text: "-c, --config PATH", "--sql", "-x KEY=VALUE" -> -c --config --sql -x
options_of() {
    sed -n 's/^ *\(-[^ ].*\)$/\1/p' | sed 's/  .*//' | tr ',' '\n' |
        sed 's/^ *//; s/ .*//' | grep -E '^-'
}

# the page names the version it documents
version=$("$MIG" --version | awk '{print $2}')
expect_eq "$(sed -n 's/^\.Os mig //p' "$page")" "$version" "version in mig.1 (.Os)"
grep -q "^## \[$version\]" "$MIG_SRC/CHANGELOG.md" && pass || fail "CHANGELOG.md has no entry for $version"

"$MIG" --help >"$T_TMP/help.txt" || fail "mig --help failed"
commands=$(sed -n '/^commands:/,/^$/p' "$T_TMP/help.txt" | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
[ -n "$commands" ] || fail "no commands in mig --help"

for opt in $(sed -n '/^options/,/^$/p' "$T_TMP/help.txt" | options_of); do
    if grep -qE -- "(^|[ ,(\[])$opt([ ,=]|\$)" "$T_TMP/global.txt"; then pass
    else fail "global option $opt (mig --help) is not in GLOBAL OPTIONS of mig.1"; fi
done

for cmd in $commands; do
    entry "$cmd" >"$T_TMP/entry.txt"
    if [ -s "$T_TMP/entry.txt" ]; then pass
    else fail "command '$cmd' (mig --help) has no entry in COMMANDS of mig.1"; continue; fi
    "$MIG" "$cmd" --help >"$T_TMP/cmdhelp.txt" || fail "mig $cmd --help failed"
    for opt in $(sed -n '/^options:/,/^$/p' "$T_TMP/cmdhelp.txt" | options_of); do
        if grep -qE -- "(^|[ ,(\[])$opt([] ,=)]|\$)" "$T_TMP/entry.txt"; then pass
        else fail "option $opt of 'mig $cmd --help' is not in the entry of '$cmd' in mig.1"; fi
    done
    # the synopsis's arguments too (TARGET, REV, DIR, ...)
    args=$(sed -n '1s/^usage: mig \[options\] [a-z]*//p' "$T_TMP/cmdhelp.txt" |
           sed 's/\[[^]]*\]//g; s/-[a-z] [A-Z]*//g' | tr -c 'A-Z\n' ' ')
    for a in $args; do
        if grep -q -- "$a" "$T_TMP/entry.txt"; then pass
        else fail "argument $a of 'mig $cmd' is not in its entry in mig.1"; fi
    done
done

# every option the page documents is one mig takes (no stale ones)
for cmd in "" $commands; do
    if [ -z "$cmd" ]; then text=$T_TMP/global.txt; help=$("$MIG" --help)
    else entry "$cmd" >"$T_TMP/entry.txt"; text=$T_TMP/entry.txt
         help=$("$MIG" "$cmd" --help; "$MIG" --help); fi
    for opt in $(grep -oE '(^|[ ,(\[])--?[a-zA-Z][a-z-]*' "$text" | sed 's/^[ ,(\[]//' | sort -u); do
        if printf '%s\n' "$help" | grep -qE -- "(^|[ ,\[])$opt([] ,=]|\$)"; then pass
        else fail "mig.1 documents $opt${cmd:+ for '$cmd'}, which mig${cmd:+ $cmd} --help does not list"; fi
    done
done

# every entry in COMMANDS is a real command (no stale ones)
for documented in $(sed -n 's/^     \([a-z][a-z]*\).*/\1/p' "$T_TMP/commands.txt"); do
    if printf '%s\n' $commands | grep -qx "$documented"; then pass
    else fail "mig.1 documents '$documented', which mig --help does not list"; fi
done

# every environment variable the code reads
vars=$(grep -rhoE --exclude='test_*' 'getenv\("[A-Z_]+"\)' "$MIG_SRC/core" "$MIG_SRC/drivers" 2>/dev/null |
       sed 's/getenv("\(.*\)")/\1/' | sort -u)
for v in $vars; do
    if grep -qw -- "$v" "$T_TMP/env.txt"; then pass
    else fail "environment variable $v (read by the code) is not in ENVIRONMENT of mig.1"; fi
done

for code in 0 1 2 3 4; do
    if grep -qE "^     $code( |\$)" "$T_TMP/exit.txt"; then pass
    else fail "exit status $code is not in EXIT STATUS of mig.1"; fi
done

# bash completion, run for real: commands, options and revision ids
complete_words() { # complete_words WORD... : COMPREPLY for the last word
    (
        PATH=$(dirname "$MIG"):$PATH
        unset -f _init_completion 2>/dev/null
        . "$MIG_SRC/completions/mig.bash"
        COMP_WORDS=(mig "$@")
        COMP_CWORD=$#
        COMP_LINE="mig $*"
        COMP_POINT=${#COMP_LINE}
        _mig
        printf '%s\n' "${COMPREPLY[@]}"
    )
}
got=$(complete_words "")
for cmd in $commands; do
    if printf '%s\n' "$got" | grep -qx -- "$cmd"; then pass
    else fail "bash completion does not offer the command '$cmd'"; fi
done
got=$(complete_words upgrade --)
for opt in --sql --resume --config --json; do
    if printf '%s\n' "$got" | grep -qx -- "$opt"; then pass
    else fail "bash completion of 'mig upgrade --' lacks $opt: $got"; fi
done
got=$(complete_words -c "$MIG_SRC/mig.ini" upgrade "")
for rev in 1a2b3c4d5e60 5e6f708192a3 head; do
    if printf '%s\n' "$got" | grep -qx -- "$rev"; then pass
    else fail "bash completion of 'mig -c mig.ini upgrade' lacks $rev: $got"; fi
done
got=$(complete_words --config "$MIG_SRC/mig.ini" show 2b)
expect_eq "$got" 2b3c4d5e6f70 "bash completion of a revision prefix"
# completing never opens the database: no SQLite file appears
mkdir "$T_TMP/proj" && cp -r "$MIG_SRC/migrations" "$T_TMP/proj/" &&
    printf '[mig]\nscript_location = migrations\nurl = sqlite:fresh.db\n' >"$T_TMP/proj/mig.ini"
got=$(cd "$T_TMP/proj" && complete_words upgrade 1a)
expect_eq "$got" 1a2b3c4d5e60 "bash completion in a project without a database"
[ -e "$T_TMP/proj/fresh.db" ] && fail "completing a revision id created the database file" || pass
got=$(complete_words help up)
expect_eq "$got" upgrade "bash completion of 'mig help up'"
# from a subfolder the project's mig.ini is found, as mig finds it
mkdir -p "$T_TMP/proj/migrations/sub"
got=$(cd "$T_TMP/proj/migrations/sub" && complete_words upgrade 1a)
expect_eq "$got" 1a2b3c4d5e60 "bash completion in a subfolder of the project"

# zsh (read, not run: zsh may not be installed) lists every command and option
zsh_file=$MIG_SRC/completions/_mig
for cmd in $commands; do
    if grep -qE -- "^  '$cmd:|[|(]$cmd[|)]|^      $cmd\)" "$zsh_file"; then pass
    else fail "_mig does not complete the command '$cmd'"; fi
    for opt in $("$MIG" "$cmd" --help | sed -n '/^options:/,/^$/p' | options_of); do
        if grep -qF -- "$opt" "$zsh_file"; then pass
        else fail "_mig does not complete $opt of '$cmd'"; fi
    done
done
if command -v zsh >/dev/null && zsh -fc 'zmodload zsh/zpty' 2>/dev/null; then
    zsh -n "$zsh_file" || fail "_mig is not valid zsh"
    # Run zsh's completion for real in a pseudo-terminal: type WORDS, press
    # TAB, and collect every candidate _mig hands to compadd.
    cat >"$T_TMP/zcomplete.zsh" <<'ZSH'
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PS1=''; fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z 'compadd() { local -a h; builtin compadd -O h "$@"; local m; for m in $h; do print -r -- "@@$m@@"; done; builtin compadd "$@" }'
zpty -w z "$2"$'\t'
# Under load the completion may take seconds: read until candidates came
# and nothing more for a second (at most 20 s of silence in all).
local all="" chunk
integer idle=0 waited=0
while (( waited < 200 )); do
    if zpty -r -t z chunk 2>/dev/null; then all+=$chunk; idle=0; continue; fi
    [[ $all == *@@* ]] && (( idle >= 10 )) && break
    sleep 0.1; (( idle++, waited++ ))
done
print -r -- "$all" | tr -d '\r' | grep -o '@@[^@$]*@@' | sed 's/@@//g' | sort -u
zpty -d z
ZSH
    zcomplete() { (cd "$1" && PATH=$(dirname "$MIG"):$PATH zsh -f "$T_TMP/zcomplete.zsh" "$MIG_SRC/completions" "$2"); }
    got=$(zcomplete "$T_TMP" "mig ")
    for cmd in $commands; do
        if printf '%s\n' "$got" | grep -qx -- "$cmd"; then pass
        else fail "zsh completion does not offer the command '$cmd': $got"; fi
    done
    got=$(zcomplete "$T_TMP" "mig upgrade --")
    for opt in --sql --resume --config --json; do
        if printf '%s\n' "$got" | grep -qx -- "$opt"; then pass
        else fail "zsh completion of 'mig upgrade --' lacks $opt: $got"; fi
    done
    got=$(zcomplete "$T_TMP/proj" "mig upgrade ")
    for rev in 1a2b3c4d5e60 5e6f708192a3 head; do
        if printf '%s\n' "$got" | grep -qx -- "$rev"; then pass
        else fail "zsh completion of 'mig upgrade' in the example project lacks $rev: $got"; fi
    done
    [ -e "$T_TMP/proj/fresh.db" ] && fail "zsh completion created the database file" || pass
    got=$(zcomplete "$T_TMP" "mig help up")
    printf '%s\n' "$got" | grep -qx upgrade && pass || fail "zsh completion of 'mig help up' lacks upgrade: $got"
else
    echo "note: zsh (with zpty) not installed: _mig only read, not run"
fi
bash -n "$MIG_SRC/completions/mig.bash" || fail "mig.bash is not valid bash"

# relative links between the documents lead somewhere (docs/lua.md and
# docs/errors.md are written alongside; until they exist a link to them is noted)
for doc in "$MIG_SRC"/README.md "$MIG_SRC"/CHANGELOG.md "$MIG_SRC"/docs/*.md; do
    dir=$(dirname "$doc")
    for target in $(grep -oE '\]\([^)#:]+(#[^)]*)?\)' "$doc" | sed 's/^](//; s/)$//; s/#.*//' | sort -u); do
        if [ -e "$dir/$target" ]; then pass
        elif [ "$target" = lua.md ] || [ "$target" = errors.md ] ||
             [ "$target" = docs/lua.md ] || [ "$target" = docs/errors.md ]; then
            echo "note: $(basename "$doc") links $target, not written yet"
        else fail "$(basename "$doc") links $target, which does not exist"; fi
    done
done

echo "$T_COUNT checks, $T_FAILS failures"
[ "$T_FAILS" = 0 ]
