-- mig:revision 1a2b3c4d5e60
-- mig:message create users
-- mig:create_date 2026-11-26 06:00:00

-- mig:upgrade
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    display_name TEXT,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX users_email ON users (email);

-- mig:downgrade
DROP TABLE users;
