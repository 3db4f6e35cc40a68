#!/usr/bin/env bash
# Run every libFuzzer target of a MIG_FUZZ build for SECONDS each, starting
# from the seed corpus (tests/fuzz/corpus/<name>, never written to) and a
# working corpus in BUILD/fuzz/<name>. Prints one line per target with its
# executions and findings; exits 1 when any target found a crash, leak or
# timeout (the input is kept in BUILD/fuzz/artifacts/).
#   usage: tests/fuzz/run.sh BUILD SECONDS [TARGET...]
set -uo pipefail
BUILD=${1:?build folder}; SECONDS_EACH=${2:-60}; shift 2 || true
SRC=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config revfile target url sqlsplit)
mkdir -p "$BUILD/fuzz/artifacts"
status=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
for t in "${targets[@]}"; do
    exe="$BUILD/tests/fuzz/fuzz_$t"
    [ -x "$exe" ] || { echo "fuzz: $exe not built (make fuzz builds it)" >&2; exit 2; }
    work="$BUILD/fuzz/$t"
    mkdir -p "$work"
    log="$BUILD/fuzz/$t.log"
    "$exe" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$BUILD/fuzz/artifacts/${t}-" "$work" "$SRC/corpus/$t" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    corpus=$(ls "$work" | wc -l)
    if [ $rc -eq 0 ]; then
        printf 'fuzz %-9s %4ss  %10s execs  cov %5s  corpus %5s  findings 0\n' "$t" "$SECONDS_EACH" "${execs:-?}" "${cov:-?}" "$corpus"
    else
        status=1
        printf 'fuzz %-9s %4ss  %10s execs  FINDING (exit %d), see %s\n' "$t" "$SECONDS_EACH" "${execs:-?}" "$rc" "$log"
        grep -E 'ERROR|SUMMARY|runtime error|abort' "$log" | head -5 | sed 's/^/    /'
    fi
done
exit $status
