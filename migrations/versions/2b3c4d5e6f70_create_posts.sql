-- mig:revision 2b3c4d5e6f70
-- mig:down_revision 1a2b3c4d5e60
-- mig:message create posts
-- mig:create_date 2026-11-26 06:05:00

-- mig:upgrade
CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    author_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    published_at TEXT
);
CREATE INDEX posts_author ON posts (author_id);

-- mig:downgrade
DROP TABLE posts;
