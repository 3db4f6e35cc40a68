#!/usr/bin/env bash
# check-skips.sh CTEST_OUTPUT LAST_TEST_LOG ALLOWED
# List the tests CTest reported as skipped, each with the last line it
# printed (its reason), and exit 1 when one of them is not in ALLOWED with
# that reason. ALLOWED holds lines `TEST REASON`: the test's name, then a
# fixed string its reason must contain.
set -euo pipefail
output=$1 log=$2 allowed=$3

mapfile -t skipped < <(sed -nE 's/^[[:space:]]*[0-9]+ - ([^ ]+) \(Skipped\)$/\1/p' "$output")
[ ${#skipped[@]} -eq 0 ] && { echo "skipped tests: none"; exit 0; }

# the last line the test printed before CTest's "<end of output>"
reason_of() {
    awk -v t="$1" '
        $0 ~ "^[0-9]+/[0-9]+ Test: " && $NF == t { inside = 1; out = 0; next }
        inside && /^Output:$/ { out = 1; getline; next }
        inside && out && /^<end of output>$/ { print last; exit }
        inside && out && NF { last = $0 }' "$log"
}

bad=0
echo "skipped tests:"
for t in "${skipped[@]}"; do
    reason=$(reason_of "$t")
    ok=0
    while read -r name want; do
        case $name in ''|'#'*) continue ;; esac
        [ "$name" = "$t" ] && [[ $reason == *"$want"* ]] && ok=1
    done <"$allowed"
    if [ $ok = 1 ]; then
        echo "  $t: $reason"
    else
        echo "  $t: $reason  <- not an allowed skip (tests/skips.allowed)"
        bad=1
    fi
done
[ $bad = 0 ] || echo "FAIL: a test skipped that must run here: install what it needs (scripts/deps.sh --test)"
exit $bad
