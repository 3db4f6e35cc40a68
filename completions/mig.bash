# bash completion for mig                                  -*- shell-script -*-
#
# Commands and options come from `mig --help` and `mig COMMAND --help`, so
# they are always those of the mig being completed; revision ids come from
# `mig -q history`, run with the -c/--config and --script-location already
# typed but never connecting to a database, and silently give nothing when
# there is no project here.

# The words of a help text's option lines: -c --config --url ...
_mig_help_options()
{
    sed -n 's/^ *\(-[^ ].*\)$/\1/p' | sed 's/  .*//' | tr ',' '\n' |
        sed 's/^ *//; s/ .*//' | grep -E '^-'
}

# Revision ids and the symbolic targets, newest first.
_mig_revisions()
{
    local -a pass=()
    local i w
    for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
            -c | --config | --script-location)
                pass+=("$w" "${COMP_WORDS[i + 1]}") ;;
            --config=* | --script-location=*)
                pass+=("$w") ;;
        esac
    done
    # a leading ~ as the shell would expand it; nothing typed is evaluated
    pass=("${pass[@]/#\~\//$HOME/}")
    # a driver that does not exist: the graph is read, no database is
    # opened (or created) and nothing waits on a server
    command mig -q "${pass[@]}" --driver _none --url _none: history 2>/dev/null |
        sed -n 's/^.*-> \([A-Za-z0-9_]*\).*$/\1/p'
    printf '%s\n' head heads base
}

_mig()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion -n = || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi

    # the command is the first word that is neither an option nor its value
    local cmd="" i w
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        case $w in
            -c | --config | --url | --driver | --driver-path | --script-location | -x | \
            --tenant | -j | --jobs | --lock-timeout)
                ((i++)) ;;
            -*) ;;
            *) cmd=$w; break ;;
        esac
    done

    case $prev in
        -c | --config | --junit)
            COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null; return ;;
        --script-location | --driver-path)
            COMPREPLY=($(compgen -d -- "$cur")); compopt -o filenames 2>/dev/null; return ;;
        --driver)
            COMPREPLY=($(compgen -W "$(command mig drivers 2>/dev/null | awk '{print $1}') sqlite postgres mysql" -- "$cur"))
            return ;;
        --url | --scratch-url | -x | --tenant | -j | --jobs | --lock-timeout | -m | --message | --rev-id | --branch-label)
            return ;;
        --phase)
            COMPREPLY=($(compgen -W "expand contract" -- "$cur")); return ;;
        --head | --depends-on)
            COMPREPLY=($(compgen -W "$(_mig_revisions)" -- "$cur")); return ;;
        --format)
            [ "$cmd" = lint ] && COMPREPLY=($(compgen -W "text json sarif" -- "$cur"))
            return ;;
        -r | --rev-range)
            local from=""
            [[ $cur == *:* ]] && from=${cur%%:*}:
            COMPREPLY=($(compgen -P "$from" -W "$(_mig_revisions)" -- "${cur#*:}")); return ;;
    esac

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$(command mig --help 2>/dev/null | sed -n '/^options/,/^$/p' | _mig_help_options)" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(command mig --help 2>/dev/null | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')" -- "$cur"))
        fi
        return
    fi

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(command mig "$cmd" --help 2>/dev/null | sed -n '/^options:/,/^$/p' | _mig_help_options)
                                 $(command mig --help 2>/dev/null | sed -n '/^options/,/^$/p' | _mig_help_options)" -- "$cur"))
        return
    fi

    case $cmd in
        upgrade | downgrade | stamp | show | merge | test | lint)
            COMPREPLY=($(compgen -W "$(_mig_revisions)" -- "$cur")) ;;
        backfill)
            # status | reset REV
            if [[ ${words[cword - 1]} == reset ]]; then
                COMPREPLY=($(compgen -W "$(_mig_revisions)" -- "$cur"))
            elif [[ ${words[cword - 1]} == backfill ]]; then
                COMPREPLY=($(compgen -W "status reset" -- "$cur"))
            fi ;;
        init)
            COMPREPLY=($(compgen -d -- "$cur")); compopt -o filenames 2>/dev/null ;;
        help)
            COMPREPLY=($(compgen -W "$(command mig --help 2>/dev/null | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')" -- "$cur")) ;;
    esac
}
complete -F _mig mig
