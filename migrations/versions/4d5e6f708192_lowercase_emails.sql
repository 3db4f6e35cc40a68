-- mig:revision 4d5e6f708192
-- mig:down_revision 3c4d5e6f7081
-- mig:message lower-case every email
-- mig:create_date 2026-11-26 06:15:00

-- mig:upgrade
-- Emails compare case-insensitively in practice; store them lower-cased so
-- the unique index catches duplicates that differ only in case.
UPDATE users SET email = lower(email) WHERE email <> lower(email);

-- mig:downgrade
-- The original case is not recoverable and nothing depends on it.
