#!/usr/bin/env bash
# The README's tutorial and the worked examples in docs/ run as written:
# every ```sh block of each file (or of one "## " section of it), in order,
# in one shell that stops at the first failing command (blocks that show a
# failure say `|| echo`; examples not meant to run here are fenced as
# ```text or ```console). These need nothing but SQLite; the PostgreSQL
# paths are t_docs_postgres.sh.
. "$MIG_SRC/tests/cli/lib.sh"
export PATH="$(dirname "$MIG"):$PATH"

# doc_blocks FILE [HEADING]: the ```sh blocks of FILE, or of its "## HEADING" section only
doc_blocks() {
    awk -v want="${2-}" '
        /^## / { in_sec = (want == "" || substr($0, 4) == want) }
        /^```sh$/ { f = in_sec || want == ""; next }
        /^```/ { f = 0 }
        f' "$MIG_SRC/$1"
}

run_doc() { # run_doc NAME FILE [HEADING]
    local script="$T_TMP/$1.sh" dir="$T_TMP/$1"
    doc_blocks "$2" "${3-}" > "$script"
    # the README's first block is `make demo`/`make test`: that is the suite itself
    sed -i '/^make \(demo\|test\)/d' "$script"
    if [ ! -s "$script" ]; then fail "$2: no sh blocks found${3:+ under '## $3'}"; return; fi
    mkdir -p "$dir"
    # TMPDIR: the docs' own `mktemp -d` folders go with the test's
    if (cd "$dir" && TMPDIR="$dir" bash -e "$script") >"$T_TMP/$1.out" 2>&1; then
        pass
    else
        fail "$2${3:+ ($3)} does not run as written: $(tail -5 "$T_TMP/$1.out")"
    fi
}

run_doc readme README.md
run_doc branches docs/branches.md
run_doc lua docs/lua.md
run_doc tenants_sqlite docs/tenants.md "Walk-through: a SQLite file per tenant"
run_doc adopting docs/adopting.md
run_doc testing docs/testing.md "Walk-through"
run_doc zero_downtime docs/zero-downtime.md "A worked example"
done_testing
