#!/usr/bin/env bash
# Benchmark mig against the database's own client on the same SQL.
#
#   scripts/bench.sh deps                 install hyperfine and time (as root)
#   scripts/bench.sh BUILD [WORKLOADS]    run; WORKLOADS is a comma list of
#                                         START W1 W2 W3 W4 W4BIG W5 W6 W7 L1 W8 N SCALE T1 T2, or all
#
# Every workload is generated here, deterministically, as migration i =
# CREATE TABLE t_i (id, name, created_at); CREATE INDEX ix_t_i_name; INSERT
# three rows; downgrade DROP TABLE t_i (the shared benchmark's definition,
# byte for byte, so figures compare). raw is the database's own client
# running the concatenated SQL in one go: sqlite3 on BEGIN..COMMIT, psql -1,
# mariadb. Each comparison runs in rounds: one hyperfine call per round
# times every command once after the same untimed --prepare, and the order
# flips every round, so raw and mig share the machine's mood. Medians of
# the rounds are reported, with the ratio to raw. Before the rounds, every
# command runs once under /usr/bin/time -v (peak RSS) and its result is
# checked (the expected tables exist, or are gone).
#
# Knobs (environment):
#   N=...          migrations per workload (quick run: N=100); default per
#                  workload as in the issue (1000, 10000, 200, ...)
#   RUNS=5         timed rounds per comparison; WARMUP=1 untimed rounds;
#                  RUNS=0 WARMUP=0: the checked probe runs are the only measurement
#   W4_SCHEMAS="200"  W4_N=20  W4_JOBS="1 2 4"
#   W4BIG_SCHEMAS=10000  W4BIG_N=5  W4BIG_JOBS=4  W4BIG_RUNS=0 (the checked runs only: raw alone is 10,000 psql runs)
#   SCALE_NS="100 1000 10000"  W7_ROWS="100000 1000000"
#   N_NS="1000 10000 100000"  revisions of the N rows (heads, no-op upgrade, history)
#   START_RUNS=30  runs per round of the start-up row (a few ms each)
#   PER_ROUND=1    runs of each command per round elsewhere (their median counts)
#   T1_N=350       revisions of the mig test row; T2_TABLES=100  tables of the snapshot row
#   W8_SQLITE_ROWS=10000000  W8_ROWS=1000000 (PostgreSQL, MariaDB)  W8_BATCH=1000
#   W8_BT_ROWS=1000000  W8_BT_SQLITE_ROWS=10000000  W8_BT=200ms  the batch_time check's
#                  table sizes (PostgreSQL and MariaDB, SQLite) and target
#   CALLGRIND=1    also count instructions (valgrind), where a probe took
#                  under CALLGRIND_MAX_S=3 seconds
#   OUT=DIR        where logs, JSON and summary.md go (default BUILD/bench/<time>)
#   MIG=PATH       the binary (default BUILD/mig)
# PostgreSQL and MariaDB are started throw-away by tests/servers.sh when a
# workload needs them, and stopped at the end whatever happened.
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "bench: $*" >&2; exit 1; }

if [ "${1:-}" = deps ]; then
    missing=()
    for p in hyperfine time; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && exit 0
    [ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]}; run as root or install them"
    echo "bench: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    exit 0
fi

# summary OUT: the markdown table from OUT/medians and OUT/desc. A row per
# non-baseline command: its median against the baseline's (the first
# command of the comparison), its peak RSS, and the verdict against the
# first line of scripts/bench-targets.tsv that matches it; then a row for
# every target nothing matched ("not run").
summary() {
    local out=$1
    [ -f "$out/machine.txt" ] && sed 's/^/    /' "$out/machine.txt" && echo
    echo "| id | workload | baseline | baseline s | mig | mig s | ratio of medians | ratio per round, median | target | mig peak RSS MiB | instructions mig/baseline | client CPU s (baseline, mig) | server syncs (baseline, mig) | ms/rev (mig, baseline) | verdict |"
    echo "|---|---|---|---:|---|---:|---:|---:|---|---:|---:|---|---|---:|---|"
    touch "$out/counters" "$out/desc" "$out/medians" "$out/figures"
    awk -F'\t' 'FILENAME ~ /bench-targets.tsv$/ { if ($0 ~ /^#/ || NF < 7) next
                    nt++; trow[nt] = $1; tid[nt] = $2; tlab[nt] = $3; trat[nt] = $4; trss[nt] = $5; tsec[nt] = $6; tlin[nt] = $7; next }
        FILENAME ~ /counters$/ { split($0, c, " "); cnt[c[1] " " c[2]] = c[4]; next }
        FILENAME ~ /desc$/ { desc[$1] = $2; nrevs[$1] = $3; next }
        FILENAME ~ /figures$/ { for (t = 1; t <= nt; t++) if ($1 ~ tid[t]) seen[t] = 1; next }
        $2 == "pending" { printf "| %s | pending: no Lua revisions in this build | | | | | | | | | | | | | pending |\n", $1; next }
        {
            split($0, f, " "); id = f[1]; lab = f[2]; med = f[3]; rss = f[4] / 1024; pr = f[6]; ir = f[7]; cpu = f[8]
            if (!(id in base)) { base[id] = med; bl[id] = lab; bir[id] = ir; bcpu[id] = cpu; next }
            r = (base[id] > 0) ? med / base[id] : 0
            nrev = nrevs[id] + 0
            fam = id; sub(/-[0-9]+$/, "", fam)
            tgt = ""; v = "-"; why = ""; k = 0
            for (t = 1; t <= nt; t++) if (id ~ tid[t] && lab ~ tlab[t]) { k = t; break }
            if (k) {
                seen[k] = 1; v = "met"
                if (trat[k] != "-") {
                    tgt = sprintf("<= %.2f", trat[k])
                    # the verdict reads the per-round ratio: both ran in the same minute
                    if (base[id] <= 0) v = "-"
                    else if (pr > trat[k] + 0) why = why sprintf("; ratio %.2f > %.2f (by %.0f %%)", pr, trat[k], 100 * (pr / trat[k] - 1))
                }
                if (tsec[k] != "-") {
                    # a time of its own, not a ratio: the baseline only sets the scene
                    tgt = tgt (tgt == "" ? "" : ", ") sprintf("<= %s s", tsec[k])
                    if (med > tsec[k] + 0) why = why sprintf("; %.3f s > %s s", med, tsec[k])
                }
                if (trss[k] != "-") {
                    tgt = tgt (tgt == "" ? "" : ", ") sprintf("RSS <= %d MiB", trss[k])
                    if (rss > trss[k] + 0) why = why sprintf("; RSS %.1f > %d MiB", rss, trss[k])
                }
                if (tlin[k] == "linear" && nrev > 0) {
                    tgt = tgt (tgt == "" ? "" : ", ") "linear"
                    # per revision at most 1.5 x what the family took at its previous size
                    if ((fam lab) in prev && med / nrev > 1.5 * prev[fam lab])
                        why = why sprintf("; %.2f x the ms/rev at %d", (med / nrev) / prev[fam lab], prevn[fam lab])
                    prev[fam lab] = med / nrev; prevn[fam lab] = nrev
                }
                if (why != "") v = "missed" why
            }
            per = ""
            if (nrev > 0) per = sprintf("%.4f, %.4f", 1000 * med / nrev, 1000 * base[id] / nrev)
            irr = (ir != "-" && ir != "" && bir[id] > 0) ? sprintf("%.3f", ir / bir[id]) : "-"
            sy = ((id " " lab) in cnt) ? cnt[id " " bl[id]] ", " cnt[id " " lab] : "-"
            cp = (cpu != "") ? bcpu[id] ", " cpu : "-"
            printf "| %s | %s | %s | %.4f | %s | %.4f | %.2f | %.2f | %s | %.1f | %s | %s | %s | %s | %s |\n", \
                id, desc[id], bl[id], base[id], lab, med, r, pr, tgt, rss, irr, cp, sy, per, v
        }
        END {
            for (t = 1; t <= nt; t++) if (!seen[t]) {
                tg = ""
                if (trat[t] != "-") tg = "<= " trat[t]
                if (tsec[t] != "-") tg = tg (tg == "" ? "" : ", ") "<= " tsec[t] " s"
                if (trss[t] != "-") tg = tg (tg == "" ? "" : ", ") "RSS <= " trss[t] " MiB"
                if (tlin[t] == "linear") tg = tg (tg == "" ? "" : ", ") "linear"
                printf "| | %s | | | | | | | %s | | | | | | not run |\n", trow[t], tg
            }
        }' "$here/scripts/bench-targets.tsv" "$out/counters" "$out/desc" "$out/figures" "$out/medians"
    # rows timed inside mig (T2): one figure each, against a target in ms
    if [ -s "$out/figures" ]; then
        echo
        echo "| id | workload | median ms | slowest ms | target | verdict |"
        echo "|---|---|---:|---:|---|---|"
        awk -F'\t' '{ printf "| %s | %s | %.1f | %.1f | <= %d ms | %s |\n", $1, $2, $3, $4, $5,
                      ($3 <= $5) ? "met" : sprintf("missed: %.1f > %d ms", $3, $5) }' "$out/figures"
    fi
}

if [ "${1:-}" = summary ]; then
    [ $# -ge 2 ] || die "usage: $0 summary OUT"
    summary "$2"
    exit 0
fi

[ $# -ge 1 ] || die "usage: $0 deps | $0 BUILD [W1,W2,...|all]"
BUILD=$(cd "$1" && pwd) || die "no build folder $1"
WLS=${2:-all}
[ "$WLS" = all ] && WLS=START,W1,W3,W6,N,L1,W2,W4,W4BIG,W5,W7,W8,SCALE,T1,T2
MIG=${MIG:-$BUILD/mig}
[ -x "$MIG" ] || die "no mig binary at $MIG"
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
N=${N:-}
W4_SCHEMAS=${W4_SCHEMAS:-200}
W4_N=${W4_N:-20}
W4_JOBS=${W4_JOBS:-1 2 4}
W4BIG_SCHEMAS=${W4BIG_SCHEMAS:-10000}
W4BIG_N=${W4BIG_N:-5}
W4BIG_JOBS=${W4BIG_JOBS:-4}
W4BIG_RUNS=${W4BIG_RUNS:-0}
SCALE_NS=${SCALE_NS:-100 1000 10000}
N_NS=${N_NS:-1000 10000 100000}
W7_ROWS=${W7_ROWS:-100000 1000000}
T1_N=${T1_N:-350}
T2_TABLES=${T2_TABLES:-100}
W8_SQLITE_ROWS=${W8_SQLITE_ROWS:-10000000}
W8_ROWS=${W8_ROWS:-1000000}
W8_BATCH=${W8_BATCH:-1000}
W8_BT_ROWS=${W8_BT_ROWS:-1000000}
W8_BT_SQLITE_ROWS=${W8_BT_SQLITE_ROWS:-10000000}
W8_BT=${W8_BT:-200ms}
for c in hyperfine /usr/bin/time sqlite3 awk; do
    command -v "$c" >/dev/null || die "missing $c: run 'scripts/bench.sh deps' (make bench does)"
done

OUT=${OUT:-$BUILD/bench/$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d -t mig-bench.XXXXXX)
SRV=""
unset PGOPTIONS PGDATABASE PGPASSWORD PGHOST PGPORT PGUSER MIG_DATABASE_URL MIG_CONFIG

cleanup() {
    if [ -n "$SRV" ]; then
        "$here/tests/servers.sh" stop "$SRV" >/dev/null 2>&1 || true
        rm -rf "$SRV"
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

exec > >(tee -a "$OUT/run.log") 2>&1
say() { printf '\n== %s\n' "$*"; }

# ---------------------------------------------------------------- machine
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -srm)"
    echo "cpu: $(awk -F: '/model name/{print $2; exit}' /proc/cpuinfo | sed 's/^ *//')"
    echo "os: $(. /etc/os-release; echo "$PRETTY_NAME")"
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "mig: $("$MIG" --version 2>&1 | head -1) ($MIG, $(git -C "$here" rev-parse --short HEAD 2>/dev/null))"
    echo "hyperfine: $(hyperfine --version)"
    echo "sqlite3: $(sqlite3 --version | cut -d' ' -f1)"
    echo "runs: $RUNS timed rounds, $WARMUP warmup, order flipped every round"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt"

# ---------------------------------------------------------------- servers
need_servers() {
    [ -n "$SRV" ] && return 0
    SRV=$(mktemp -d -t mig-bench-srv.XXXXXX)
    "$here/tests/servers.sh" start "$SRV" "$SRV/env" || die "servers did not start"
    # shellcheck disable=SC1091
    . "$SRV/env"
    PGPORT=$MIG_TEST_PG_PORT; MYPORT=$MIG_TEST_MY_PORT
    PSQL="psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $PGPORT -U postgres"
    MARIADB="mariadb --no-defaults -h 127.0.0.1 -P $MYPORT --protocol=tcp -u root"
    {
        echo "postgresql: $($PSQL -tA -d postgres -c 'show server_version')"
        echo "mariadb: $($MARIADB -N -e 'select version()')"
    } | tee -a "$OUT/machine.txt"
}

# ---------------------------------------------------------------- generator
# gen DIR DIALECT N URL [TENANTS]: DIR/mig.ini, DIR/migrations/versions/*,
# DIR/up.sql and DIR/down.sql (the raw client's files).
gen() {
    local dir=$1 dialect=$2 n=$3 url=$4 tenants=${5:-0} k
    mkdir -p "$dir/migrations/versions"
    {
        printf '[mig]\nscript_location = migrations\nurl = %s\n' "$url"
        if [ "$tenants" -gt 0 ]; then
            printf '\n[tenants]\nlist = s1'
            for k in $(seq 2 "$tenants"); do printf ', s%d' "$k"; done
            printf '\n'
        fi
    } > "$dir/mig.ini"
    awk -v dir="$dir" -v d="$dialect" -v n="$n" 'BEGIN {
        up = dir "/up.sql"; down = dir "/down.sql"
        if (d == "sqlite") { printf "BEGIN;\n" > up; printf "BEGIN;\n" > down }
        for (i = 1; i <= n; i++) {
            if (d == "sqlite")
                c = "CREATE TABLE t_" i " (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created_at TEXT)"
            else if (d == "pg")
                c = "CREATE TABLE t_" i " (id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name TEXT NOT NULL, created_at TEXT)"
            else
                c = "CREATE TABLE t_" i " (id INTEGER AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL, created_at TEXT)"
            sql = c ";\nCREATE INDEX ix_t_" i "_name ON t_" i " (name);\nINSERT INTO t_" i " (name) VALUES ('"'"'a'"'"'), ('"'"'b'"'"'), ('"'"'c'"'"');\n"
            rev = sprintf("%012x", i)
            f = dir "/migrations/versions/" rev "_create_t_" i ".sql"
            printf "-- mig:revision %s\n", rev > f
            if (i > 1) printf "-- mig:down_revision %012x\n", i - 1 > f
            printf "-- mig:message create t_%d\n-- mig:upgrade\n%s-- mig:downgrade\nDROP TABLE t_%d;\n", i, sql, i > f
            close(f)
            printf "%s", sql > up
        }
        for (i = n; i >= 1; i--) printf "DROP TABLE t_%d;\n", i > down
        if (d == "sqlite") { printf "COMMIT;\n" > up; printf "COMMIT;\n" > down }
    }'
}

sqlite_tables() { sqlite3 "$1" "select count(*) from sqlite_master where type='table' and name glob 't_[0-9]*'"; }
pg_tables() {  # pg_tables DB [SCHEMA-PATTERN]
    $PSQL -tA -d "$1" -c "select count(*) from pg_tables where tablename ~ '^t_[0-9]+\$' and schemaname like '${2:-public}'"
}
my_tables() {
    $MARIADB -N -e "select count(*) from information_schema.tables where table_schema='$1' and table_name regexp '^t_[0-9]+\$'"
}

# ---------------------------------------------------------------- measuring
# A comparison: ID, PREP (untimed, before every command), CHECK (a command
# printing what must equal EXPECT after each command), then LABEL CMD pairs;
# the first pair is the baseline. Appends "ID LABEL median_s rss_kb runs" to
# $OUT/medians.
compare() {
    local id=$1 prep=$2; shift 2
    local labels=() cmds=() i r got
    while [ $# -ge 2 ]; do labels+=("$1"); cmds+=("$2"); shift 2; done
    say "$id: ${DESC:-}"
    printf '%s\t%s\t%s\n' "$id" "${DESC:-}" "${NREV:-0}" >> "$OUT/desc"
    printf '%s\n' "prepare: ${prep:-none}" "check: ${CHECK:-none} = ${EXPECT:-}" > "$OUT/$id.cmds"
    for i in "${!labels[@]}"; do echo "${labels[$i]}: ${cmds[$i]}" | tee -a "$OUT/$id.cmds"; done
    # probe: peak RSS and a correctness check, once per command
    for i in "${!labels[@]}"; do
        if [ -n "$prep" ] && ! bash -c "$prep" >"$OUT/$id.${labels[$i]}.prep.log" 2>&1; then
            echo "$id ${labels[$i]} FAIL prepare: $(tail -3 "$OUT/$id.${labels[$i]}.prep.log")"; return 1
        fi
        local c0=""
        [ -n "${COUNTER:-}" ] && c0=$(bash -c "$COUNTER")
        if ! /usr/bin/time -v -o "$OUT/$id.${labels[$i]}.time.txt" bash -c "${cmds[$i]}" \
                >"$OUT/$id.${labels[$i]}.probe.log" 2>&1; then
            echo "$id ${labels[$i]} FAIL: $(tail -5 "$OUT/$id.${labels[$i]}.probe.log" | cut -c1-300)"; return 1
        fi
        # the server's own count of its work (fsyncs), as steady as instructions
        if [ -n "$c0" ]; then
            echo "$id ${labels[$i]} $COUNTER_NAME $(( $(bash -c "$COUNTER") - c0 ))" | tee -a "$OUT/counters"
        fi
        if [ -n "${CHECK:-}" ]; then
            got=$(bash -c "$CHECK" 2>&1 | tr -d ' \n')
            if [ "$got" != "$EXPECT" ]; then
                echo "$id ${labels[$i]} FAIL check: expected '$EXPECT' got '$got'"; return 1
            fi
        fi
    done
    # rounds: every command once per hyperfine call, order flipped each round
    local order args csv
    : > "$OUT/$id.times"
    if [ "$RUNS" = 0 ]; then
        # RUNS=0: the probe runs are the measurement (one each, in order; for hour-long sizes)
        for i in "${!labels[@]}"; do
            awk -F': ' -v l="${labels[$i]}" '/Elapsed \(wall clock\)/ { n = split($2, p, ":")
                s = p[n] + 60 * p[n - 1] + (n > 2 ? 3600 * p[n - 2] : 0); print 1, l, s }' \
                "$OUT/$id.${labels[$i]}.time.txt" >> "$OUT/$id.times"
        done
    fi
    for r in $(seq $(( 1 - WARMUP )) "$RUNS"); do
        order=("${!labels[@]}")
        if [ $(( r % 2 )) = 0 ]; then
            order=(); for (( i = ${#labels[@]} - 1; i >= 0; i-- )); do order+=("$i"); done
        fi
        args=()
        for i in "${order[@]}"; do args+=(-n "${labels[$i]}" "${cmds[$i]}"); done
        csv=$OUT/$id.round$r.csv
        # PER_ROUND: runs of each command per round (their median), for commands of a few ms
        if ! hyperfine --shell=bash --style=none --runs "${PER_ROUND:-1}" ${prep:+--prepare "$prep"} \
                --export-csv "$csv" --export-json "${csv%.csv}.json" "${args[@]}" >/dev/null 2>"$OUT/$id.round$r.err"; then
            echo "$id FAIL hyperfine round $r: $(tail -3 "$OUT/$id.round$r.err")"; return 1
        fi
        [ "$r" -ge 1 ] && awk -F, -v r="$r" 'NR > 1 { print r, $1, $4 }' "$csv" >> "$OUT/$id.times"
        printf '  round %s:%s\n' "$r" "$(awk -F, 'NR > 1 { printf " %s %.4f", $1, $4 }' "$csv")$([ "$r" -lt 1 ] && echo ' (warmup)')"
    done
    # instructions (callgrind), stable where wall time is not: every
    # process the command starts is counted, the shell's exec included
    local ir
    # (skipped where the slowest probe took over CALLGRIND_MAX_S=3 s: ~50x slower under callgrind)
    local slow
    slow=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = p[n] + 60 * p[n - 1]; if (s > m) m = s }
                      END { print (m > '"${CALLGRIND_MAX_S:-3}"') ? 1 : 0 }' "$OUT/$id".*.time.txt)
    if [ "${CALLGRIND:-0}" = 1 ] && [ "$slow" = 0 ]; then
        mkdir -p "$OUT/callgrind"
        for i in "${!labels[@]}"; do
            [ -n "$prep" ] && bash -c "$prep" >/dev/null 2>&1
            valgrind --tool=callgrind --trace-children=yes \
                --callgrind-out-file="$OUT/callgrind/$id.${labels[$i]}.%p" \
                bash -c "${cmds[$i]}" >/dev/null 2>&1
        done
    fi
    local med rss pr cpu
    for i in "${!labels[@]}"; do
        med=$(awk -v l="${labels[$i]}" '$2 == l { print $3 }' "$OUT/$id.times" | median)
        # the ratio to the baseline within each round, then the median of those
        pr=$(awk -v l="${labels[$i]}" -v b="${labels[0]}" '$2 == b { t[$1] = $3 } $2 == l { u[$1] = $3 }
             END { for (r in u) if (t[r] > 0) print u[r] / t[r] }' "$OUT/$id.times" | median)
        rss=$(awk -F': ' '/Maximum resident/ { print $2 }' "$OUT/$id.${labels[$i]}.time.txt")
        ir=-
        if [ "${CALLGRIND:-0}" = 1 ] && [ "$slow" = 0 ]; then
            ir=$(cat "$OUT/callgrind/$id.${labels[$i]}".* 2>/dev/null | awk '/^summary:/ { s += $2 } END { print s + 0 }')
        fi
        cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.3f", s }' "$OUT/$id.${labels[$i]}.time.txt")
        echo "$id ${labels[$i]} $med $rss $RUNS $pr $ir $cpu" >> "$OUT/medians"
        printf '  %-10s median %8.3f s  round ratio %5.2f  peak RSS %6.1f MiB  instructions %s\n' \
            "${labels[$i]}" "$med" "$pr" "$(echo "$rss / 1024" | bc -l)" "$ir"
    done
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

pg_fresh() {  # pg_fresh DB [SCHEMAS]: a command string that recreates DB
    local s="$PSQL -d postgres -c 'DROP DATABASE IF EXISTS $1 WITH (FORCE)' -c 'CREATE DATABASE $1'"
    if [ "${2:-0}" -gt 0 ]; then
        seq 1 "$2" | awk '{ printf "CREATE SCHEMA s%d;\n", $1 }' > "$WORK/schemas-$1-$2.sql"
        # one transaction: 10,000 schemas are one commit, not 10,000
        s="$s && $PSQL -1 -d $1 -f $WORK/schemas-$1-$2.sql"
    fi
    # flush what the drop left dirty, so the timed command does not pay for it
    echo "$s && $PSQL -d postgres -c CHECKPOINT && sync"
}

# ---------------------------------------------------------------- workloads
W1() {  # W1 [N] [ID]: N migrations into an empty SQLite file
    local n=${1:-${N:-1000}} id=${2:-W1}; local p=$WORK/$id
    gen "$p" sqlite "$n" "sqlite://$p/db.sqlite"
    CHECK="sqlite3 $p/db.sqlite \"select count(*) from sqlite_master where type='table' and name glob 't_[0-9]*'\""
    EXPECT=$n; DESC="$n migrations into an empty SQLite file"; NREV=$n
    compare "$id" "rm -f $p/db.sqlite $p/db.sqlite-journal" \
        raw "sqlite3 $p/db.sqlite < $p/up.sql" \
        mig "$MIG -c $p/mig.ini upgrade head"
}

W3() {  # W3 [N] [ID]: upgrade head with N applied; mig heads on the files
    local n=${1:-${N:-10000}} id=${2:-W3}; local p=$WORK/$id
    gen "$p" sqlite "$n" "sqlite://$p/db.sqlite"
    "$MIG" -q -c "$p/mig.ini" upgrade head >"$OUT/$id.setup.log" 2>&1 || { echo "$id FAIL setup"; return 1; }
    CHECK="$MIG -c $p/mig.ini current"; EXPECT=$(printf '%012x' "$n")
    DESC="upgrade head, nothing to do, $n applied (SQLite)"; NREV=$n
    compare "$id" "" \
        raw "sqlite3 $p/db.sqlite 'select version_num from mig_version'" \
        mig "$MIG -c $p/mig.ini upgrade head"
    CHECK=""; EXPECT=""; DESC="mig heads on $n files, no database"; NREV=$n
    compare "$id-heads" "" \
        head "head -q -n 8 $p/migrations/versions/* > /dev/null" \
        mig "$MIG -c $p/mig.ini heads"
}

W6() {  # 1,000 applied migrations downgraded to base (SQLite)
    local n=${N:-1000} p=$WORK/W6
    gen "$p" sqlite "$n" "sqlite://$p/db.sqlite"
    "$MIG" -q -c "$p/mig.ini" upgrade head >"$OUT/W6.setup.log" 2>&1 || { echo "W6 FAIL setup"; return 1; }
    cp "$p/db.sqlite" "$p/snap.sqlite"
    CHECK="sqlite3 $p/db.sqlite \"select count(*) from sqlite_master where type='table' and name glob 't_[0-9]*'\""
    EXPECT=0; DESC="$n applied migrations downgraded to base (SQLite)"; NREV=$n
    compare W6 "cp $p/snap.sqlite $p/db.sqlite" \
        raw "sqlite3 $p/db.sqlite < $p/down.sql" \
        mig "$MIG -c $p/mig.ini downgrade base"
}

L1() {  # mig lint --offline over 1,000 PostgreSQL revisions (libpg_query on every statement)
    local n=${N:-1000} p=$WORK/L1
    gen "$p" pg "$n" "postgresql://postgres@127.0.0.1:1/none"
    CHECK="$MIG -q -c $p/mig.ini lint --offline --json | grep -c '\"rule\": \"PG'"; EXPECT=$n
    DESC="mig lint --offline over $n PostgreSQL revisions"; NREV=$n
    compare L1 "" \
        cat "cat $p/migrations/versions/* > /dev/null" \
        mig "$MIG -q -c $p/mig.ini lint --offline"
}

W2() {  # 1,000 migrations into an empty PostgreSQL database
    need_servers
    local n=${N:-1000} p=$WORK/W2
    gen "$p" pg "$n" "postgresql://postgres@127.0.0.1:$PGPORT/bench_w2"
    CHECK="$(declare -f pg_tables); PSQL='$PSQL'; pg_tables bench_w2"; EXPECT=$n
    DESC="$n migrations into an empty PostgreSQL database"; NREV=$n
    $PSQL -d postgres -c CHECKPOINT >/dev/null; sync
    COUNTER="$PSQL -tA -d postgres -c 'select wal_sync from pg_stat_wal'"; COUNTER_NAME=wal_syncs
    compare W2 "$(pg_fresh bench_w2)" \
        raw "$PSQL -1 -d bench_w2 -f $p/up.sql" \
        mig "$MIG -c $p/mig.ini upgrade head"
}

W4() {  # schema tenants x 20 migrations, raw serial against mig -j 1/2/4/8
    need_servers
    local k n=${N:-$W4_N} j p args
    for k in $W4_SCHEMAS; do
        p=$WORK/W4-$k
        gen "$p" pg "$n" "postgresql://postgres@127.0.0.1:$PGPORT/bench_w4" "$k"
        {
            echo "set -e"
            echo "for s in \$(seq 1 $k); do PGOPTIONS=-csearch_path=s\$s $PSQL -1 -d bench_w4 -f $p/up.sql; done"
        } > "$p/raw.sh"
        CHECK="$(declare -f pg_tables); PSQL='$PSQL'; pg_tables bench_w4 's%'"; EXPECT=$(( k * n ))
        DESC="$k schema tenants x $n migrations (PostgreSQL)"; NREV=$(( k * n ))
        args=(raw "bash $p/raw.sh")
        for j in $W4_JOBS; do args+=("mig-j$j" "$MIG -c $p/mig.ini --all-tenants -j $j upgrade head"); done
        $PSQL -d postgres -c CHECKPOINT >/dev/null; sync
        COUNTER="$PSQL -tA -d postgres -c 'select wal_sync from pg_stat_wal'"; COUNTER_NAME=wal_syncs
        compare "W4-$k" "$(pg_fresh bench_w4 "$k")" "${args[@]}"
    done
}

W4BIG() {  # 10,000 schema tenants x 5 migrations in one process: flat memory, -j 4 against the raw loop
    need_servers
    local k=$W4BIG_SCHEMAS n=${N:-$W4BIG_N} j p=$WORK/W4BIG args
    gen "$p" pg "$n" "postgresql://postgres@127.0.0.1:$PGPORT/bench_w4" "$k"
    {
        echo "set -e"
        echo "for s in \$(seq 1 $k); do PGOPTIONS=-csearch_path=s\$s $PSQL -1 -d bench_w4 -f $p/up.sql; done"
    } > "$p/raw.sh"
    CHECK="$(declare -f pg_tables); PSQL='$PSQL'; pg_tables bench_w4 's%'"; EXPECT=$(( k * n ))
    DESC="$k schema tenants x $n migrations in one process (PostgreSQL)"; NREV=$(( k * n ))
    args=(raw "bash $p/raw.sh")
    for j in $W4BIG_JOBS; do args+=("mig-j$j" "$MIG -c $p/mig.ini --all-tenants -j $j upgrade head"); done
    $PSQL -d postgres -c CHECKPOINT >/dev/null; sync
    COUNTER="$PSQL -tA -d postgres -c 'select wal_sync from pg_stat_wal'"; COUNTER_NAME=wal_syncs
    RUNS=$W4BIG_RUNS WARMUP=0 compare "W4-${k}x$n" "$(pg_fresh bench_w4 "$k")" "${args[@]}"
}

W5() {  # 200 migrations on MariaDB
    need_servers
    local n=${N:-200} p=$WORK/W5
    gen "$p" mysql "$n" "mysql://root@127.0.0.1:$MYPORT/bench_w5"
    CHECK="$(declare -f my_tables); MARIADB='$MARIADB'; my_tables bench_w5"; EXPECT=$n
    DESC="$n migrations on MariaDB"; NREV=$n
    COUNTER="$MARIADB -N -e \"show global status like 'Innodb_data_fsyncs'\" | cut -f2"
    COUNTER_NAME=innodb_data_fsyncs
    compare W5 "$MARIADB -e 'DROP DATABASE IF EXISTS bench_w5; CREATE DATABASE bench_w5' && sync" \
        raw "$MARIADB bench_w5 < $p/up.sql" \
        mig "$MIG -c $p/mig.ini upgrade head"
}

W7() {  # Lua backfill over each of W7_ROWS rows (needs Lua revisions)
    if [ ! -f "$here/core/src/lua_db.c" ]; then
        echo "W7 pending: this build has no Lua revisions yet"
        echo "W7 pending" >> "$OUT/medians"
        return 0
    fi
    local rows
    for rows in $W7_ROWS; do W7_one "$rows"; done
}

W7_one() {
    local rows=$1 p=$WORK/W7-$1 v=$WORK/W7-$1/migrations/versions
    mkdir -p "$v"
    printf '[mig]\nscript_location = migrations\nurl = sqlite://%s/db.sqlite\n' "$p" > "$p/mig.ini"
    cat > "$v/000000000001_users.sql" <<EOF
-- mig:revision 000000000001
-- mig:message users
-- mig:upgrade
CREATE TABLE users (id INTEGER PRIMARY KEY, first TEXT NOT NULL, last TEXT NOT NULL, display TEXT);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $rows)
INSERT INTO users (id, first, last) SELECT i, 'first' || i, 'last' || i FROM c;
-- mig:downgrade
DROP TABLE users;
EOF
    cat > "$v/000000000002_backfill.lua" <<'EOF'
-- mig:revision 000000000002
-- mig:down_revision 000000000001
-- mig:message backfill display names
local BATCH = 500
-- one UPDATE per BATCH rows: the new values travel as bound parameters
return {
  upgrade = function(db, ctx)
    local args, n = {}, 0
    local function flush()
      if n == 0 then return end
      db:exec("UPDATE users SET display = v.column2 FROM (VALUES " .. string.rep("(?, ?)", n, ", ") ..
              ") AS v WHERE users.id = v.column1", table.unpack(args, 1, 2 * n))
      n = 0
    end
    for row in db:rows("SELECT id, first, last FROM users WHERE display IS NULL") do
      args[2 * n + 1] = row.id
      args[2 * n + 2] = row.first .. " " .. row.last
      n = n + 1
      if n == BATCH then flush() end
    end
    flush()
  end,
  downgrade = function(db, ctx) db:exec("UPDATE users SET display = NULL") end,
}
EOF
    "$MIG" -q -c "$p/mig.ini" upgrade 000000000001 >"$OUT/W7-$rows.setup.log" 2>&1 || { echo "W7-$rows FAIL setup"; return 1; }
    cp "$p/db.sqlite" "$p/snap.sqlite"
    CHECK="sqlite3 $p/db.sqlite \"select count(*) from users where display = first || ' ' || last\""; EXPECT=$rows
    DESC="Lua backfill over $rows rows, db:rows + batched db:exec (SQLite)"; NREV=0
    compare "W7-$rows" "cp $p/snap.sqlite $p/db.sqlite" \
        raw "sqlite3 $p/db.sqlite \"UPDATE users SET display = first || ' ' || last WHERE display IS NULL\"" \
        mig "$MIG -c $p/mig.ini upgrade head"
}

W8() {  # db:backfill: SQLite, PostgreSQL, MariaDB against the same batches from the client in a loop
    W8_one sqlite "$W8_SQLITE_ROWS"
    need_servers
    W8_one pg "$W8_ROWS"
    W8_one my "$W8_ROWS"
    local d
    for d in sqlite pg my; do W8_bt "$d"; done
}

# W8_bt DIALECT: does batch_time hold each batch within 2x of its target?
# One run of a db:backfill with batch_time = W8_BT over W8_BT_ROWS rows,
# its batches timed by mig itself (-v says each one's rows and time). The
# first batches are the ramp-up (100 rows, then at most double each time,
# until one takes half the target); the last one takes what is left. Every
# batch in between must take between half and twice the target. The
# verdict means something on an idle machine only.
W8_bt() {
    local d=$1 rows=$W8_BT_ROWS p=$WORK/W8bt-$1 v=$WORK/W8bt-$1/migrations/versions url client fill id
    id="W8-bt-$d"
    # SQLite walks ~250,000 rows in 200 ms: a few batches would be all there is to judge
    [ "$d" = sqlite ] && rows=$W8_BT_SQLITE_ROWS
    mkdir -p "$v"
    case $d in
    sqlite) rm -f "$p/db.sqlite"; url="sqlite://$p/db.sqlite"; client="sqlite3 $p/db.sqlite"
            fill="WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $rows) INSERT INTO items (id) SELECT i FROM c;" ;;
    pg)     $PSQL -d postgres -c "DROP DATABASE IF EXISTS bench_w8bt" -c "CREATE DATABASE bench_w8bt" >/dev/null
            url="postgresql://postgres@127.0.0.1:$PGPORT/bench_w8bt"; client="$PSQL -d bench_w8bt"
            fill="INSERT INTO items (id) SELECT generate_series(1, $rows);" ;;
    my)     $MARIADB -e "DROP DATABASE IF EXISTS bench_w8bt; CREATE DATABASE bench_w8bt"
            url="mysql://root@127.0.0.1:$MYPORT/bench_w8bt"; client="$MARIADB bench_w8bt"
            fill="SET SESSION max_recursive_iterations = $(( rows + 1 )); INSERT INTO items (id) WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $rows) SELECT i FROM c;" ;;
    esac
    printf '[mig]\nscript_location = migrations\nurl = %s\n' "$url" > "$p/mig.ini"
    printf '%s\n' "-- mig:revision 000000000001" "-- mig:message items" "-- mig:upgrade" \
        "CREATE TABLE items (id INTEGER NOT NULL PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0);" \
        "-- mig:downgrade" "DROP TABLE items;" > "$v/000000000001_items.sql"
    printf '%s\n' "-- mig:revision 000000000002" "-- mig:down_revision 000000000001" \
        "-- mig:message count every row" "-- mig:transaction false" "return {" \
        "  upgrade = function(db, ctx)" \
        "    db:backfill{ table = \"items\", batch_time = \"$W8_BT\"," \
        "                 sql = \"UPDATE items SET n = n + 1 WHERE id > ? AND id <= ?\" }" \
        "  end," "}" > "$v/000000000002_backfill.lua"
    say "$id: batch_time = $W8_BT over $rows rows ($d)"
    "$MIG" -q -c "$p/mig.ini" upgrade 000000000001 >"$OUT/$id.setup.log" 2>&1 || { echo "$id FAIL setup"; return 1; }
    echo "$fill" | $client >>"$OUT/$id.setup.log" 2>&1 || { echo "$id FAIL fill"; return 1; }
    "$MIG" -v -c "$p/mig.ini" upgrade head >"$OUT/$id.log" 2>&1 || { echo "$id FAIL: $(tail -3 "$OUT/$id.log")"; return 1; }
    local target_ms
    target_ms=$(echo "$W8_BT" | awk '/ms$/ { print $0 + 0; next } /s$/ { print 1000 * $0; next } { print 1000 * $0 }')
    printf '%s\t%s\t' "$id" "$(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/checks"
    awk -v t="$target_ms" -v id="$id" -v w="batch_time = $W8_BT over $rows rows ($d)" '
        / batch [0-9]+: [0-9]+ rows in [0-9.]+ ms$/ { n++; ms[n] = $(NF - 1) + 0; r[n] = $(NF - 4) + 0 }
        END {
            ramp = 0
            while (ramp < n && ms[ramp + 1] < t / 2) ramp++
            held = 0; off = 0; worst = 1
            for (i = ramp + 1; i < n; i++) {
                q = ms[i] > t ? ms[i] / t : (ms[i] > 0 ? t / ms[i] : 1e9)
                if (q > worst) worst = q
                if (q <= 2) held++; else off++
            }
            v = (held + off == 0) ? "too few batches" : (off == 0) ? "ok" : "MISS"
            printf "%s\t%s\t%d\t%d\t%d of %d\t%.2f\t%s\n", id, w, n, ramp, held, held + off, worst, v
        }' "$OUT/$id.log" | tee -a "$OUT/checks"
}

# W8_one DIALECT ROWS: the table filled by the database's client after a
# first revision, then a Lua revision with db:backfill (batches of W8_BATCH
# rows, each its own transaction with its checkpoint); raw is the
# database's own client running the same batches, each in its own
# transaction, from one script.
W8_one() {
    local d=$1 rows=$2 p=$WORK/W8-$1 v=$WORK/W8-$1/migrations/versions url client fill id count
    id="W8-$d-$rows"
    mkdir -p "$v"
    case $d in
    sqlite) url="sqlite://$p/db.sqlite"; client="sqlite3 $p/db.sqlite"; count="sqlite3 $p/db.sqlite"
            fill="WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $rows) INSERT INTO items (id) SELECT i FROM c;" ;;
    pg)     $PSQL -d postgres -c "DROP DATABASE IF EXISTS bench_w8" -c "CREATE DATABASE bench_w8" >/dev/null
            url="postgresql://postgres@127.0.0.1:$PGPORT/bench_w8"; client="$PSQL -d bench_w8"; count="$PSQL -tA -d bench_w8"
            fill="INSERT INTO items (id) SELECT generate_series(1, $rows);" ;;
    my)     $MARIADB -e "DROP DATABASE IF EXISTS bench_w8; CREATE DATABASE bench_w8"
            url="mysql://root@127.0.0.1:$MYPORT/bench_w8"; client="$MARIADB bench_w8"; count="$MARIADB -N bench_w8"
            fill="SET SESSION max_recursive_iterations = $(( rows + 1 )); INSERT INTO items (id) WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $rows) SELECT i FROM c;" ;;
    esac
    printf '[mig]\nscript_location = migrations\nurl = %s\n' "$url" > "$p/mig.ini"
    printf '%s\n' "-- mig:revision 000000000001" "-- mig:message items" "-- mig:upgrade" \
        "CREATE TABLE items (id INTEGER NOT NULL PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0);" \
        "-- mig:downgrade" "DROP TABLE items;" > "$v/000000000001_items.sql"
    printf '%s\n' "-- mig:revision 000000000002" "-- mig:down_revision 000000000001" \
        "-- mig:message count every row" "-- mig:transaction false" "return {" \
        "  upgrade = function(db, ctx)" \
        "    db:backfill{ table = \"items\", batch = $W8_BATCH," \
        "                 sql = \"UPDATE items SET n = n + 1 WHERE id > ? AND id <= ?\" }" \
        "  end," "}" > "$v/000000000002_backfill.lua"
    "$MIG" -q -c "$p/mig.ini" upgrade 000000000001 >"$OUT/$id.setup.log" 2>&1 || { echo "$id FAIL setup"; return 1; }
    echo "$fill" | $client >>"$OUT/$id.setup.log" 2>&1 || { echo "$id FAIL fill"; return 1; }
    awk -v n="$rows" -v b="$W8_BATCH" -v d="$d" 'BEGIN {
        for (k = 0; k < n; k += b)
            printf "%s;\nUPDATE items SET n = n + 1 WHERE id > %d AND id <= %d;\nCOMMIT;\n", (d == "my" ? "START TRANSACTION" : "BEGIN"), k, k + b
    }' > "$p/raw.sql"
    # back to "no row done, the backfill not started" before every command
    printf '%s\n' "set -e" "echo 'UPDATE items SET n = 0;' | $client >/dev/null" \
        "$MIG -q -c $p/mig.ini stamp 000000000001" "$MIG -q -c $p/mig.ini backfill reset 000000000002" > "$p/prep.sh"
    CHECK="echo 'SELECT count(*) FROM items WHERE n = 1;' | $count"; EXPECT=$rows
    DESC="db:backfill over $rows rows, batches of $W8_BATCH ($d)"; NREV=0
    compare "$id" "bash $p/prep.sh" \
        raw "$client < $p/raw.sql >/dev/null" \
        mig "$MIG -q -c $p/mig.ini upgrade head"
}

START() {  # start-up: mig current on a 1-revision SQLite project against sqlite3 reading the version table
    local p=$WORK/START
    gen "$p" sqlite 1 "sqlite://$p/db.sqlite"
    "$MIG" -q -c "$p/mig.ini" upgrade head >"$OUT/START.setup.log" 2>&1 || { echo "START FAIL setup"; return 1; }
    CHECK="$MIG -c $p/mig.ini current"; EXPECT=000000000001
    DESC="start-up: mig current on a 1-revision SQLite project"; NREV=0
    # a few ms each: the median of START_RUNS runs per round, so one slow exec does not decide a round
    PER_ROUND=${START_RUNS:-30} compare START "" \
        raw "sqlite3 $p/db.sqlite 'select version_num from mig_version'" \
        mig "$MIG -c $p/mig.ini current"
}

# N: mig heads, a no-op upgrade head and history over N_NS revisions (1,000
# to 100,000), stamped at head rather than applied (applying 100,000 CREATE
# TABLEs measures SQLite, not the graph); the baseline reads the first lines
# of every file (heads, history) or the version table (no-op upgrade).
N() {
    local n p
    for n in $N_NS; do
        p=$WORK/N-$n
        gen "$p" sqlite "$n" "sqlite://$p/db.sqlite"
        "$MIG" -q -c "$p/mig.ini" stamp head >"$OUT/N-$n.setup.log" 2>&1 || { echo "N-$n FAIL setup"; return 1; }
        local heads="find $p/migrations/versions -name '*.sql' -print0 | xargs -0 head -q -n 8 > /dev/null"
        CHECK="$MIG -c $p/mig.ini heads | cut -d' ' -f1"; EXPECT=$(printf '%012x' "$n")
        DESC="mig heads, $n revisions"; NREV=$n
        compare "N-heads-$n" "" head "$heads" mig "$MIG -c $p/mig.ini heads"
        CHECK="$MIG -c $p/mig.ini current | cut -d' ' -f1"
        DESC="no-op upgrade head, $n revisions stamped (SQLite)"; NREV=$n
        compare "N-noop-$n" "" raw "sqlite3 $p/db.sqlite 'select version_num from mig_version'" \
            mig "$MIG -c $p/mig.ini upgrade head"
        CHECK=""; EXPECT=""; DESC="mig history, $n revisions (SQLite)"; NREV=$n
        compare "N-history-$n" "" head "$heads" mig "$MIG -c $p/mig.ini history > /dev/null"
        rm -rf "$p"
    done
}

SCALE() {  # W1 and W3 at several sizes: the cost per revision should stay flat
    local n
    for n in $SCALE_NS; do
        W1 "$n" "S1-$n"
        W3 "$n" "S3-$n"
    done
}

T1() {  # mig test on a history of T1_N revisions (PostgreSQL), against applying and removing it raw
    need_servers
    local n=$T1_N p=$WORK/T1
    gen "$p" pg "$n" "postgresql://postgres@127.0.0.1:$PGPORT/bench_t1"
    # the scratch database is mig's own; the configured one stays empty
    CHECK="$PSQL -tA -d postgres -c \"select count(*) from pg_database where datname like 'mig\\_test\\_%'\""; EXPECT=0
    DESC="mig test, $n revisions up, down and up again (PostgreSQL)"; NREV=$n
    compare T1 "$(pg_fresh bench_t1)" \
        raw "$PSQL -1 -d bench_t1 -f $p/up.sql && $PSQL -1 -d bench_t1 -f $p/down.sql" \
        mig "$MIG -q -c $p/mig.ini test"
}

# T2_TABLES tables with a key, a unique key, an index and a foreign key each
t2_schema() {
    local d=$1 i ref
    for i in $(seq 1 "$T2_TABLES"); do
        ref=$(( i > 1 ? i - 1 : 1 ))
        case $d in
        sqlite) echo "CREATE TABLE t_$i (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at TEXT, ref INTEGER REFERENCES t_$ref (id));" ;;
        pg)     echo "CREATE TABLE t_$i (id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at TEXT, ref INTEGER REFERENCES t_$ref (id));" ;;
        mysql)  echo "CREATE TABLE t_$i (id INTEGER AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL UNIQUE, created_at TEXT, ref INTEGER, FOREIGN KEY (ref) REFERENCES t_$ref (id));" ;;
        esac
        echo "CREATE INDEX ix_t_${i}_name ON t_$i (name, ref);"
    done
}

T2() {  # one mig test snapshot of a T2_TABLES-table schema, on each driver (tests/bench/bench_snapshot)
    local tool=$BUILD/tests/bench/bench_snapshot line d url
    [ -x "$tool" ] || { echo "T2 FAIL: no $tool (tests/bench/CMakeLists.txt builds it)"; return 1; }
    need_servers
    for d in sqlite pg mysql; do
        case $d in
        sqlite) rm -f "$WORK/t2.sqlite"; t2_schema sqlite | sqlite3 "$WORK/t2.sqlite"; url="sqlite:///$WORK/t2.sqlite" ;;
        pg)     bash -c "$(pg_fresh bench_t2)" >/dev/null 2>&1; t2_schema pg | $PSQL -d bench_t2 >/dev/null
                url="postgresql://postgres@127.0.0.1:$PGPORT/bench_t2" ;;
        mysql)  $MARIADB -e 'DROP DATABASE IF EXISTS bench_t2; CREATE DATABASE bench_t2'
                t2_schema mysql | $MARIADB bench_t2; url="mysql://root@127.0.0.1:$MYPORT/bench_t2" ;;
        esac
        say "T2-$d: snapshot of $T2_TABLES tables"
        line=$("$tool" "$url" "${T2_RUNS:-20}") || { echo "T2-$d FAIL: $line"; return 1; }
        echo "  $line"
        printf 'T2-%s\tsnapshot of %s tables (%s)\t%s\t%s\t50\n' "$d" "$T2_TABLES" "$d" \
            "$(echo "$line" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')" \
            "$(echo "$line" | sed -n 's/.*slowest \([0-9.]*\) ms.*/\1/p')" >> "$OUT/figures"
    done
}

# One function, called on the script's last line: bash reads a script as it
# runs it, and this way the whole of it is read before the first workload,
# so editing the file during an hour-long run cannot change what runs.
run_all() {
    local w
    IFS=, read -r -a WL <<< "$WLS"
    for w in "${WL[@]}"; do
        case $w in
            W1|W2|W3|W4|W5|W6|W7|W8|L1|SCALE|T1|T2|START|N|W4BIG) CHECK=""; EXPECT=""; DESC=""; NREV=0; COUNTER=""; $w || echo "$w FAILED" >> "$OUT/failures" ;;
            *) die "unknown workload $w" ;;
        esac
    done
    say "summary ($OUT/summary.md)"
    summary "$OUT" | tee "$OUT/summary.md"
    # checks of how something holds, not of a time against a baseline
    if [ -s "$OUT/checks" ]; then
        { echo
          echo "| id | check | batches | ramp-up batches | within 2x of the target (last batch aside) | worst ratio to the target | verdict | load |"
          echo "|---|---|---:|---:|---:|---:|---|---|"
          awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $3, $4, $5, $6, $7, $8, $9, $2 }' "$OUT/checks"
        } | tee -a "$OUT/summary.md"
    fi
    [ ! -s "$OUT/failures" ]
}

run_all; exit $?
