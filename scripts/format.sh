#!/usr/bin/env bash
# Format the project's C sources and headers with .clang-format:
#   scripts/format.sh           rewrite the files that differ
#   scripts/format.sh --check   list the files that differ and fail (make format-check)
# The files are the tracked *.c and *.h (git ls-files), so a build tree or
# anything generated or untracked is never touched; outside a git checkout,
# those under core, drivers, tests and examples. CLANG_FORMAT names another
# binary. Output differs between clang-format versions: CI uses the one
# scripts/deps.sh --test installs (Debian 12: clang-format 14).
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
case "${1:-}" in
--check) check=1 ;;
"") ;;
*) echo "usage: scripts/format.sh [--check]" >&2; exit 2 ;;
esac

cf=${CLANG_FORMAT:-clang-format}
if ! command -v "$cf" >/dev/null 2>&1; then
    echo "format: $cf not found: install it (scripts/deps.sh --test) or set CLANG_FORMAT" >&2
    exit 2
fi

files=()
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    while IFS= read -r -d '' f; do files+=("$f"); done < <(git ls-files -z -- '*.c' '*.h')
else
    while IFS= read -r -d '' f; do files+=("$f"); done \
        < <(find core drivers tests examples -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)
fi

differ=()
for f in "${files[@]}"; do
    [ -f "$f" ] || continue     # deleted in the work tree, not yet in the index
    if ! "$cf" --style=file "$f" | cmp -s - "$f"; then
        differ+=("$f")
    fi
done

if [ "$check" = 0 ]; then
    [ ${#differ[@]} -gt 0 ] && "$cf" --style=file -i "${differ[@]}"
    echo "format: ${#differ[@]} of ${#files[@]} files rewritten ($("$cf" --version))"
    exit 0
fi
if [ ${#differ[@]} -gt 0 ]; then
    printf '%s\n' "${differ[@]}"
    echo "format-check: ${#differ[@]} of ${#files[@]} files differ from .clang-format" \
         "($("$cf" --version)); run make format" >&2
    exit 1
fi
echo "format-check: ${#files[@]} files match .clang-format"
