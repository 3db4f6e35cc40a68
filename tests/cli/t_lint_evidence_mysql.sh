#!/usr/bin/env bash
# Evidence for MY001 alter-table-copies on MariaDB: the metadata lock the
# rule states (MDL_SHARED_NO_WRITE: no writes while the table is copied),
# read from information_schema.metadata_lock_info (the test server loads
# the plugin) in another session, while a reader's open transaction keeps
# the ALTER from finishing; the safe twins hold only MDL_SHARED_UPGRADABLE
# (writes go on). MY002: the first of two DDL statements stays applied
# when the second fails.
MIG_TEST_DRIVER=mysql
. "$MIG_SRC/tests/cli/lib.sh"
new_db lint_ev
project
V=migrations/versions
M=(mariadb --no-defaults --comments -N -B -h "$MIG_TEST_MY_HOST" -P "$MIG_TEST_MY_PORT" --protocol=tcp -u "$MIG_TEST_MY_USER" "$DB_NAME")

[ "$(sql "SELECT count(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'METADATA_LOCK_INFO' AND PLUGIN_STATUS = 'ACTIVE'")" = 1 ] ||
    { fail "metadata_lock_info is not loaded (tests/servers.sh loads it)"; done_testing; }

setup() {
    sql "DROP TABLE IF EXISTS ev; CREATE TABLE ev (id INT PRIMARY KEY, a INT, v VARCHAR(10)) CHARACTER SET latin1;
         INSERT INTO ev SELECT seq, seq, 'x' FROM seq_1_to_100;"
}

# mdl STATEMENT: the metadata lock modes its session holds on ev while a reader keeps it waiting
mdl() {
    local stmt=$1 i modes="" id
    "${M[@]}" -e "START TRANSACTION; SELECT count(*) FROM ev; SELECT SLEEP(30) /* ev_reader */; COMMIT;" >/dev/null 2>&1 &
    local reader=$!
    for i in $(seq 1 100); do
        [ -n "$(sql "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(30) /* ev_reader */%'")" ] && break
        sleep 0.05
    done
    "${M[@]}" -e "$stmt /* ev_stmt */" >"$T_TMP/stmt.out" 2>&1 &
    local runner=$!
    for i in $(seq 1 60); do
        id=$(sql "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%/* ev_stmt */' AND INFO NOT LIKE '%PROCESSLIST%'")
        if [ -n "$id" ]; then
            # the ALTER is at its last step (it waits for the reader to let go); what it holds now
            if [ "$(sql "SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = $id")" = "Waiting for table metadata lock" ]; then
                modes=$(sql "SELECT GROUP_CONCAT(DISTINCT LOCK_MODE ORDER BY LOCK_MODE) FROM information_schema.metadata_lock_info
                             WHERE THREAD_ID = $id AND TABLE_NAME = 'ev'")
                break
            fi
        fi
        kill -0 "$runner" 2>/dev/null || break
        sleep 0.05
    done
    id=$(sql "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(30) /* ev_reader */%'")
    [ -n "$id" ] && sql "KILL $id" >/dev/null 2>&1
    wait "$reader" 2>/dev/null
    wait "$runner"
    STMT_RC=$?
    MDL=$modes
}

lint_rules() {
    rm -rf $V && mkdir -p $V
    printf -- '-- mig:revision ev0000000001\n-- mig:down_revision none\n\n-- mig:upgrade\n%s;\n\n-- mig:downgrade\nSELECT 1;\n' "$1" \
        >$V/ev0000000001_ev.sql
    run --json lint --offline
    RULES=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join(sorted(f["rule"] for f in json.load(sys.stdin)["findings"] if f["level"] != "info")))')
    LOCK=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(([f["lock"] for f in json.load(sys.stdin)["findings"] if f["rule"] == "MY001"] + [""])[0])')
}

# copy BAD SAFE
copy_evidence() {
    local bad=$1 good=$2
    lint_rules "$bad"
    case " $RULES " in *" MY001 "*) pass ;; *) fail "MY001: lint of '$bad' says '$RULES'" ;; esac
    local want=$LOCK
    setup
    mdl "$bad"
    case ",$MDL," in *",$want,"*) pass ;; *) fail "MY001: '$bad' held '$MDL', the rule says $want; $(cat "$T_TMP/stmt.out")" ;; esac
    lint_rules "$good"
    case " $RULES " in *" MY001 "*) fail "MY001: lint of safe twin '$good' says '$RULES'" ;; *) pass ;; esac
    setup
    mdl "$good"
    [ "$STMT_RC" = 0 ] || fail "MY001 safe twin '$good' failed: $(cat "$T_TMP/stmt.out")"
    case ",$MDL," in *",$want,"*) fail "MY001: safe twin '$good' held $want too" ;; *) pass ;; esac
}

copy_evidence "ALTER TABLE ev MODIFY a BIGINT" "ALTER TABLE ev ADD COLUMN b INT, ALGORITHM=INSTANT"
copy_evidence "ALTER TABLE ev CONVERT TO CHARACTER SET utf8mb4" "ALTER TABLE ev ADD COLUMN w VARCHAR(10) CHARACTER SET utf8mb4, ALGORITHM=INPLACE, LOCK=NONE"
copy_evidence "ALTER TABLE ev DROP PRIMARY KEY" "ALTER TABLE ev DROP PRIMARY KEY, ADD PRIMARY KEY (id, a), ALGORITHM=INPLACE, LOCK=NONE"

# MY002: two DDL statements, the second fails: the first stays applied (each commits on its own)
setup
rm -rf $V && mkdir -p $V
printf -- '-- mig:revision ev0000000002\n-- mig:down_revision none\n\n-- mig:upgrade\nALTER TABLE ev ADD COLUMN c1 INT;\nALTER TABLE ev ADD COLUMN a INT;\n\n-- mig:downgrade\nSELECT 1;\n' \
    >$V/ev0000000002_ev.sql
run --json lint --offline
case "$OUT" in *'"MY002"'*) pass ;; *) fail "MY002 not found: $OUT" ;; esac
run upgrade head
expect_rc 1 "the second DDL statement fails"
[ "$(sql "SELECT count(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ev' AND COLUMN_NAME = 'c1'")" = 1 ] &&
    pass || fail "MY002: the first DDL statement did not stay applied"

done_testing
