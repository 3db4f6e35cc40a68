#!/usr/bin/env bash
# The PostgreSQL paths of the docs run as written: every ```sh block of
# docs/tutorial.md, and of the schema-per-tenant walk-through of
# docs/tenants.md, in order, in one shell that stops at the first failing
# command. As a reader would, the test only sets libpq's own PGHOST, PGPORT
# and PGUSER; the docs make their databases with createdb and psql.
. "$MIG_SRC/tests/cli/lib.sh"
[ -n "${MIG_TEST_PG_PORT:-}" ] || need_server postgres
export PATH="$(dirname "$MIG"):$PATH"
export PGHOST=$MIG_TEST_PG_HOST PGPORT=$MIG_TEST_PG_PORT PGUSER=$MIG_TEST_PG_USER
unset PGDATABASE PGPASSWORD PGSERVICE PGOPTIONS DATABASE_URL

# the databases the docs create: gone before (a rerun on a kept server) and after
for db in shop saas; do
    dropdb --if-exists --force "$db" >/dev/null 2>&1 || true
    T_CLEANUP+=("dropdb --if-exists --force $db")
done

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
    if [ ! -s "$script" ]; then fail "$2: no sh blocks found${3:+ under '## $3'}"; return; fi
    mkdir -p "$dir"
    # TMPDIR: the docs' own `mktemp -d` folders go with the test's
    if (cd "$dir" && TMPDIR="$dir" bash -e "$script") >"$T_TMP/$1.out" 2>&1; then
        pass
    else
        fail "$2${3:+ ($3)} does not run as written: $(tail -8 "$T_TMP/$1.out")"
    fi
}

run_doc tutorial docs/tutorial.md
run_doc tenants docs/tenants.md "Walk-through: a schema per tenant on PostgreSQL"
done_testing
