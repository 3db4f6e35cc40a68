#!/usr/bin/env bash
# Taking over a database that Alembic managed (docs/alembic.md): an
# Alembic-shaped SQLite database made by hand with the sqlite3 client,
# alembic_version(version_num VARCHAR(32) NOT NULL, CONSTRAINT
# alembic_version_pkc PRIMARY KEY (version_num)) holding the revision Alembic
# applied last. With `version_table = alembic_version`, mig reads that
# revision as current, applies only what follows, keeps writing the same
# table (so Alembic could read it back), and downgrades back to it.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "sqlite3 client not installed: skipped"; exit 77; }

mkdir -p migrations/versions
# The revisions Alembic had applied, rewritten as mig revisions with the
# same ids (Alembic's are 12 hex characters too).
cat >migrations/versions/ae1027a6acf0_create_account.sql <<'EOF'
-- mig:revision ae1027a6acf0
-- mig:message create account table

-- mig:upgrade
CREATE TABLE account (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL);

-- mig:downgrade
DROP TABLE account;
EOF
cat >migrations/versions/27c6a30d7c24_add_last_login.sql <<'EOF'
-- mig:revision 27c6a30d7c24
-- mig:down_revision ae1027a6acf0
-- mig:message add last_login

-- mig:upgrade
ALTER TABLE account ADD COLUMN last_login TIMESTAMP;

-- mig:downgrade
ALTER TABLE account DROP COLUMN last_login;
EOF
# The first revision written with mig.
cat >migrations/versions/1975ea83b712_add_email.sql <<'EOF'
-- mig:revision 1975ea83b712
-- mig:down_revision 27c6a30d7c24
-- mig:message add email

-- mig:upgrade
ALTER TABLE account ADD COLUMN email TEXT;
CREATE UNIQUE INDEX account_email ON account (email);

-- mig:downgrade
DROP INDEX account_email;
ALTER TABLE account DROP COLUMN email;
EOF
cat >mig.ini <<'EOF'
[mig]
script_location = migrations
url = sqlite:app.db
version_table = alembic_version
EOF

# The database as Alembic left it, at 27c6a30d7c24.
sqlite3 app.db <<'EOF'
CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
CREATE TABLE account (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL, last_login TIMESTAMP);
INSERT INTO account (name) VALUES ('ada');
INSERT INTO alembic_version (version_num) VALUES ('27c6a30d7c24');
EOF
schema_before=$(sqlite3 app.db ".schema alembic_version")

run current
expect_rc 0 "current on the Alembic database"
expect_eq "$OUT" 27c6a30d7c24 "current read from alembic_version"

run check
expect_rc 3 "check: one revision pending"

run upgrade head
expect_rc 0 "upgrade head from the Alembic revision"
expect_err "27c6a30d7c24 -> 1975ea83b712"
if printf '%s' "$ERR" | grep -q "ae1027a6acf0"; then
    fail "upgrade re-applied a revision Alembic had applied: $ERR"
else pass; fi
expect_eq "$(sqlite3 app.db 'SELECT version_num FROM alembic_version')" 1975ea83b712 "alembic_version after upgrade"
expect_eq "$(sqlite3 app.db ".schema alembic_version")" "$schema_before" "alembic_version keeps Alembic's shape"
expect_eq "$(sqlite3 app.db 'SELECT name FROM account')" ada "the data Alembic's database held"
expect_eq "$(sqlite3 app.db "SELECT count(*) FROM pragma_table_info('account') WHERE name = 'email'")" 1 "email column added"
if sqlite3 app.db ".tables" | grep -qw mig_version; then
    fail "mig created mig_version beside alembic_version"
else pass; fi
expect_eq "$(sqlite3 app.db "SELECT revision || ' ' || direction || ' ' || state FROM mig_history")" \
    "1975ea83b712 upgrade done" "mig_history holds mig's own step"

run history
expect_rc 0 "history"
expect_out "27c6a30d7c24 -> 1975ea83b712 \\(head\\) \\(current\\)"

run check
expect_rc 0 "check after taking over"

run downgrade -1
expect_rc 0 "downgrade back to the Alembic revision"
expect_eq "$(sqlite3 app.db 'SELECT version_num FROM alembic_version')" 27c6a30d7c24 "alembic_version after downgrade"

# --sql writes the same table
run upgrade --sql 27c6a30d7c24:head
expect_rc 0 "upgrade --sql"
expect_out "INSERT INTO \"alembic_version\""

echo "$T_COUNT checks, $T_FAILS failures"
[ "$T_FAILS" = 0 ]
