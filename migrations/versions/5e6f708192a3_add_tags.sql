-- mig:revision 5e6f708192a3
-- mig:down_revision 4d5e6f708192
-- mig:message add tags
-- mig:create_date 2026-11-26 06:20:00

-- mig:upgrade
CREATE TABLE tags (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE post_tags (
    post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, tag_id)
);
CREATE INDEX post_tags_tag ON post_tags (tag_id);

-- mig:downgrade
DROP TABLE post_tags;
DROP TABLE tags;
