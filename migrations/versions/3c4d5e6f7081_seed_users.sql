-- mig:revision 3c4d5e6f7081
-- mig:down_revision 2b3c4d5e6f70
-- mig:message seed the first users
-- mig:create_date 2026-11-26 06:10:00

-- mig:upgrade
INSERT INTO users (id, email, display_name) VALUES
    (1, 'Ada@Example.com', 'Ada Lovelace'),
    (2, 'grace@example.com', 'Grace Hopper'),
    (3, 'LINUS@example.com', NULL);
INSERT INTO posts (author_id, title, body) VALUES
    (1, 'Notes on the Analytical Engine', 'It weaves algebraic patterns.'),
    (2, 'On debugging', 'There was a moth; it''s in the log book.');

-- mig:downgrade
DELETE FROM posts WHERE author_id IN (1, 2, 3);
DELETE FROM users WHERE id IN (1, 2, 3);
