#!/usr/bin/env bash
# The README's tutorial and the worked examples in docs/ run as written:
# every ```sh block of each file, in order, in one shell that stops at the
# first failing command (blocks that show a failure say `|| echo`;
# examples not meant to run here are fenced as ```text).
. "$MIG_SRC/tests/cli/lib.sh"
export PATH="$(dirname "$MIG"):$PATH"
for doc in README.md docs/branches.md; do
    script="$T_TMP/$(basename "$doc").sh"
    awk '/^```sh$/{f=1;next} /^```$/{f=0} f' "$MIG_SRC/$doc" > "$script"
    # the README's first block is `make demo`/`make test`: that is the suite itself
    sed -i '/^make \(demo\|test\)/d' "$script"
    if (cd "$T_TMP" && bash -e "$script") >"$T_TMP/doc.out" 2>&1; then
        pass
    else
        fail "$doc does not run as written: $(tail -5 "$T_TMP/doc.out")"
    fi
done
done_testing
