#!/usr/bin/env bash
# Bad input, configuration: each case exits 2 with a one-line reason that
# names the file and line (or the option), never crashes (no exit >= 128)
# and leaves the database as it was. docs/errors.md lists every case.
# With MIG_ERRORS_DOC=FILE each case appends its row (name, exit, message).
. "$MIG_SRC/tests/cli/lib.sh"

new_db cfg
project
V=migrations/versions
write_rev $V 111111111111 "" "first" "CREATE TABLE t1 (x INTEGER);" "DROP TABLE t1;"
write_rev $V 222222222222 111111111111 "second" "CREATE TABLE t2 (x INTEGER);" "DROP TABLE t2;"
run upgrade 111111111111
expect_rc 0 "setup"
snapshot() { sqlite3 "$DB_FILE" .dump | md5sum; }
BEFORE=$(snapshot)

# case_rc2 NAME ERR_REGEX mig-args...
case_rc2() {
    local name=$1 re=$2; shift 2
    run "$@"
    expect_rc 2 "$name"
    expect_err "$re"
    one_line_err
    expect_eq "$(snapshot)" "$BEFORE" "database unchanged after $name"
    if [ -n "${MIG_ERRORS_DOC:-}" ]; then
        printf '| %s | `%s` | %s | `%s` |\n' "$name" "mig $*" "$RC" \
            "$(printf '%s' "$ERR" | head -1 | sed "s#$T_TMP/##g")" >> "$MIG_ERRORS_DOC"
    fi
}
ini() { # ini FILE LINES...: a configuration for the test database plus LINES
    local f=$1; shift
    { printf '[mig]\nscript_location = migrations\nurl = %s\n' "$URL"; printf '%b\n' "$@"; } > "$f"
}

case_rc2 "-c names a missing file" "nope.ini" -c nope.ini upgrade head
# no mig.ini here or above (the search stops at the folder holding .git)
mkdir -p lone/.git
cd lone
case_rc2 "no mig.ini found" "no mig.ini in .*/lone or any folder above it \\(use -c FILE, or mig init\\)" upgrade head
cd ..
MIG_CONFIG=$T_TMP/gone.ini case_rc2 "\$MIG_CONFIG names a missing file" "gone.ini.*MIG_CONFIG" upgrade head
mkdir -p adir
case_rc2 "-c names a folder" "adir" -c adir upgrade head
printf '[mig\nurl = x\n' > c_section.ini
case_rc2 "section header without ]" "c_section.ini:1" -c c_section.ini upgrade head
ini c_noeq.ini 'just some words'
case_rc2 "line that is no key = value" "c_noeq.ini:4: syntax error" -c c_noeq.ini upgrade head
printf 'url = %s\n' "$URL" > c_nosect.ini
case_rc2 "key outside any section" "c_nosect.ini:1:.*outside any section" -c c_nosect.ini upgrade head
ini c_typo.ini 'version_tabel = v'
case_rc2 "unknown key, with did you mean" "c_typo.ini:4: unknown key 'version_tabel'.*did you mean 'version_table'" -c c_typo.ini upgrade head
ini c_ddl.ini 'lock_timeout_ddl = 5 seconds'
case_rc2 "lock_timeout_ddl that is no duration" "c_ddl.ini:4: \[mig\] lock_timeout_ddl: '5 seconds' is not a duration" -c c_ddl.ini upgrade head
ini c_retries.ini 'lock_retries = -1'
case_rc2 "lock_retries out of range" "c_retries.ini:4: \[mig\] lock_retries: -1 is not a whole number from 0 to 100" -c c_retries.ini upgrade head
ini c_sect.ini '[hookz]' 'scripts = x.lua'
case_rc2 "unknown section, with did you mean" "c_sect.ini:4: unknown section.*did you mean '\[hooks\]'" -c c_sect.ini upgrade head
ini c_dup.ini "url = $URL"
case_rc2 "duplicate key" "c_dup.ini:4: duplicate key 'url'.*line 3" -c c_dup.ini upgrade head
printf '[mig]\nscript_location = migrations\nurl = ${MIG_TEST_UNSET_VAR}\n' > c_unset.ini
case_rc2 "\${UNSET} in a used value" "c_unset.ini:3:.*MIG_TEST_UNSET_VAR.*not set" -c c_unset.ini upgrade head
printf '[mig]\nscript_location = migrations\nurl = ${DB:-sqlite:x.db\n' > c_brace.ini
case_rc2 "unterminated \${" "c_brace.ini:3:.*malformed" -c c_brace.ini upgrade head
ini c_bool.ini 'transaction_per_migration = maybe'
case_rc2 "boolean that is not one" "c_bool.ini:4:.*not a boolean" -c c_bool.ini upgrade head
ini c_jobs.ini '[tenants]' 'list = a, b' 'jobs = many'
case_rc2 "number that is not one" "c_jobs.ini:6:.*jobs.*not a whole number" -c c_jobs.ini --all-tenants upgrade head
printf '[mig]\nurl = x\x00y\n' > c_nul.ini
case_rc2 "NUL byte in the file" "c_nul.ini:2: NUL byte" -c c_nul.ini upgrade head
{ printf '[mig]\nscript_location = migrations\nurl = %s\non_connect = ' "$URL"; head -c 1100000 /dev/zero | tr '\0' x; echo; } > c_long.ini
case_rc2 "line too long" "c_long.ini:4: line longer than" -c c_long.ini upgrade head
head -c 4096 /dev/urandom | tr -d '\n' > c_binary.ini
case_rc2 "binary file" "c_binary.ini:1" -c c_binary.ini upgrade head
: > c_empty.ini
case_rc2 "empty file: no database" "no database given" -c c_empty.ini upgrade head
ini c_vt.ini 'version_table = bad;name'
case_rc2 "version_table that is no plain name" "c_vt.ini:4: version_table 'bad;name'" -c c_vt.ini upgrade head
ini c_vthist.ini 'version_table = mig_history'
case_rc2 "version_table naming the history table" "c_vthist.ini:4: version_table 'mig_history' is the name of mig's history table" -c c_vthist.ini upgrade head
ini c_drv.ini 'driver = nosuchdb'
case_rc2 "unknown driver in the file" "c_drv.ini:4: unknown driver 'nosuchdb'" -c c_drv.ini upgrade head
printf '[mig]\nscript_location = migrations\nurl = oracle://scott@db/orcl\n' > c_scheme.ini
case_rc2 "URL with an unknown scheme" "unknown driver 'oracle'" -c c_scheme.ini upgrade head
printf '[mig]\nscript_location = migrations\nurl = some/file.db\n' > c_noscheme.ini
case_rc2 "URL with no scheme" "cannot tell the driver from URL 'some/file.db'" -c c_noscheme.ini upgrade head
printf '[mig]\nscript_location = elsewhere\nurl = %s\n' "$URL" > c_loc.ini
case_rc2 "script_location that does not exist" "elsewhere/versions" -c c_loc.ini upgrade head
ini c_tenants.ini '[tenants]'
case_rc2 "--all-tenants with no tenant source" "no tenants: c_tenants.ini has no \[tenants\] list, query or script" -c c_tenants.ini --all-tenants upgrade head
case_rc2 "mig tenants with no tenant source" "no tenants: c_tenants.ini has no \[tenants\]" -c c_tenants.ini tenants
ini c_query.ini '[tenants]' "query = SELECT 'acme'"
case_rc2 "--sql with a [tenants] query" "c_query.ini:5: --sql renders without a connection, and \[tenants\] query needs one" -c c_query.ini --all-tenants upgrade --sql base:head
printf '[mig]\nscript_location = migrations\nurl = sqlite:t_{tenant}.db\n[tenants]\nlist = a, b\n' > c_dbten.ini
case_rc2 "--sql for several database tenants" "a script cannot switch databases" -c c_dbten.ini --all-tenants upgrade --sql base:head
printf '[mig]\nscript_location = migrations\nurl = %s\ndriver = mysql\n' "$URL" > c_mismatch.ini
case_rc2 "driver in the file that does not match the URL" "driver 'mysql' cannot use URL '.*', which is a sqlite URL" -c c_mismatch.ini upgrade head

# a FIFO named as the configuration, or as the project's template: an error, never a hang
mkfifo c_fifo.ini
SAVED_RUN=("${MIG_RUN[@]}"); MIG_RUN=(timeout 60 "${MIG_RUN[@]}")
case_rc2 "configuration file that is a FIFO" "c_fifo.ini'?: not a regular file" -c c_fifo.ini upgrade head
case_rc2 "configuration file that is a folder" "migrations'?: Is a directory" -c migrations upgrade head
mkfifo migrations/template.sql
case_rc2 "revision template that is a FIFO" "template.sql: cannot read: not a regular file" revision -m fifo
rm -f migrations/template.sql
MIG_RUN=("${SAVED_RUN[@]}")

# ${A:-${A:-...}} 30,000 deep: a clear error at its line, not a stack overflow
{ printf '[mig]\nscript_location = migrations\nurl = '
  for _ in $(seq 30000); do printf '${MIG_T_UNSET:-'; done; printf '%s' "$URL"
  for _ in $(seq 30000); do printf '}'; done; echo; } > c_nest.ini
case_rc2 "\${...} nested too deep" "c_nest.ini:3: \[mig\] url: \\$\{...\} nested more than 32 deep" -c c_nest.ini upgrade head

# many keys load in linear time: 100,000 [post_write_hooks] options take about 10 times as
# long as 10,000 (a lookup by scanning made it 100 times); 40 leaves room for a noisy machine
many_keys() { # many_keys FILE N
    { printf '[mig]\nscript_location = migrations\nurl = %s\n[post_write_hooks]\n' "$URL"
      seq "$2" | sed 's/.*/h&.opt = v/'; } > "$1"
}
many_keys c_10k.ini 10000
many_keys c_100k.ini 100000
elapsed_ms() { local t0 t1; t0=$(date +%s%N); "$MIG" -c "$1" current > /dev/null 2>&1; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
t10=$(elapsed_ms c_10k.ini); t100=$(elapsed_ms c_100k.ini)
[ "$t100" -le $(( (t10 > 5 ? t10 : 5) * 40 )) ] && pass || fail "100,000 keys took $t100 ms, 10,000 took $t10 ms"
run -c c_100k.ini current
expect_rc 0 "a file of 100,000 keys"

# many tenants, the same way: duplicates are dropped in one pass over the whole list (checked
# name by name, 100,000 tenants took 12 s); the first of equal names keeps its place
many_tenants() { # many_tenants FILE N
    printf 'local t = {} for i = 1, %d do t[i] = "t" .. i end t[#t + 1] = "t1" return t\n' "$2" > "$1.lua"
    printf '[mig]\nscript_location = migrations\nurl = sqlite:%s/none/{tenant}.db\n[tenants]\nscript = %s.lua\n' "$T_TMP" "$1" > "$1"
}
many_tenants c_t10k.ini 10000
many_tenants c_t100k.ini 100000
elapsed_ms() { local t0 t1; t0=$(date +%s%N); "$MIG" -c "$1" --all-tenants current > /dev/null 2>&1; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
t10=$(elapsed_ms c_t10k.ini); t100=$(elapsed_ms c_t100k.ini)
[ "$t100" -le $(( (t10 > 5 ? t10 : 5) * 40 )) ] && pass || fail "100,000 tenants took $t100 ms, 10,000 took $t10 ms"
run -c c_t10k.ini --all-tenants current
expect_eq "$(printf '%s\n' "$OUT" | wc -l)" 10000 "a duplicate tenant dropped"
expect_eq "$(printf '%s\n' "$OUT" | head -1 | cut -d' ' -f1)" t1 "the first of equal names keeps its place"

done_testing
