-- The MySQL/MariaDB lint corpus: each dangerous case beside its safe twin.
-- Tables named here exist already. See run_corpus.py for the format.

-- case: MY001 MODIFY changes a column's type: table copy
-- expect: MY001
ALTER TABLE orders MODIFY total DECIMAL(14,2) NOT NULL;

-- case: MY001 safe twin: ALGORITHM=INPLACE, LOCK=NONE makes the server refuse a copy
-- expect: none
ALTER TABLE orders MODIFY total DECIMAL(14,2) NOT NULL, ALGORITHM=INPLACE, LOCK=NONE;

-- case: MY001 dropping the primary key alone
-- expect: MY001
ALTER TABLE events DROP PRIMARY KEY;

-- case: MY001 safe twin: replacing the primary key is done in place
-- expect: none
ALTER TABLE events DROP PRIMARY KEY, ADD PRIMARY KEY (id, created_at);

-- case: MY001 safe twin: ALGORITHM=INSTANT form
-- expect: none
ALTER TABLE events ADD COLUMN source VARCHAR(32), ALGORITHM=INSTANT;

-- case: MY001 charset conversion
-- expect: MY001
ALTER TABLE users CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- case: MY001 safe twin: new columns get the charset
-- expect: none
ALTER TABLE users ADD COLUMN bio TEXT CHARACTER SET utf8mb4;

-- case: MY001 ADD PRIMARY KEY rebuilds in place, no copy
-- expect: none
ALTER TABLE `audit` ADD PRIMARY KEY (`id`);

-- case: MY001 an index is built in place
-- expect: none
ALTER TABLE `audit` ADD INDEX audit_at (`at`);

-- case: MY001 ENGINE=InnoDB is an in-place rebuild
-- expect: none
ALTER TABLE logs ENGINE=InnoDB;

-- case: MY001 MODIFY in a multi-clause ALTER
-- expect: MY001
ALTER TABLE logs COMMENT = 'request log', MODIFY msg MEDIUMTEXT;

-- case: MY001 CHANGE keeps the name but changes the type
-- expect: MY001
ALTER TABLE orders CHANGE qty qty BIGINT NOT NULL;

-- case: MY001 safe twin: with ALGORITHM=INPLACE
-- expect: none
ALTER TABLE orders CHANGE qty qty BIGINT NOT NULL, ALGORITHM=INPLACE, LOCK=NONE;

-- case: MY002 several DDL statements in one revision
-- expect: MY002
ALTER TABLE orders ADD COLUMN a INT;
ALTER TABLE orders ADD COLUMN b INT;

-- case: MY002 safe twin: one ALTER TABLE with both
-- expect: none
ALTER TABLE orders ADD COLUMN a INT, ADD COLUMN b INT;

-- case: MY002 CREATE TABLE then CREATE INDEX
-- expect: MY002
CREATE TABLE fresh_tags (id INT PRIMARY KEY, name VARCHAR(64));
CREATE INDEX fresh_tags_name ON fresh_tags (name);

-- case: MY002 safe twin: the index inside CREATE TABLE
-- expect: none
CREATE TABLE fresh_tags2 (id INT PRIMARY KEY, name VARCHAR(64), INDEX (name));

-- case: MY003 DROP COLUMN
-- expect: MY003 MIG006
ALTER TABLE orders DROP COLUMN legacy_code;

-- case: MIG006 twin: the same DROP COLUMN in a contract revision
-- expect: MY003
-- phase: contract
ALTER TABLE orders DROP COLUMN legacy_code;

-- case: MY003 DROP without COLUMN
-- expect: MY003 MIG006
ALTER TABLE orders DROP legacy_flag;

-- case: MY003 safe twin: DROP INDEX is not a column
-- expect: none
ALTER TABLE orders DROP INDEX orders_legacy;

-- case: MY004 DROP TABLE
-- expect: MY004 MIG006
DROP TABLE IF EXISTS legacy_orders;

-- case: MY004 safe twin: keep it, say so
-- expect: none
ALTER TABLE legacy_orders COMMENT = 'unused since 2.3';

-- case: MY005 RENAME COLUMN
-- expect: MY005 MIG006
ALTER TABLE orders RENAME COLUMN status TO state;

-- case: MY005 CHANGE with a new name
-- expect: MY001 MY005 MIG006
ALTER TABLE orders CHANGE status state VARCHAR(16);

-- case: MY005 safe twin: add the new column
-- expect: none
ALTER TABLE orders ADD COLUMN state VARCHAR(16);

-- case: MY006 RENAME TABLE
-- expect: MY006 MIG006
RENAME TABLE orders TO purchases;

-- case: MY006 ALTER TABLE ... RENAME TO
-- expect: MY006 MIG006
ALTER TABLE orders RENAME TO purchases;

-- case: MY006 safe twin: a view under the new name
-- expect: none
CREATE VIEW purchases AS SELECT * FROM orders;

-- case: MY006 safe twin: RENAME INDEX is not a table rename
-- expect: none
ALTER TABLE orders RENAME INDEX a TO b;

-- case: MY007 ADD UNIQUE
-- expect: MY007
ALTER TABLE users ADD UNIQUE KEY users_email (email);

-- case: MY007 CREATE UNIQUE INDEX
-- expect: MY007
CREATE UNIQUE INDEX users_login ON users (login);

-- case: MY007 ADD CONSTRAINT ... UNIQUE
-- expect: MY007
ALTER TABLE users ADD CONSTRAINT users_handle UNIQUE (handle);

-- case: MY007 safe twin: a plain index
-- expect: none
CREATE INDEX users_login ON users (login);

-- case: MY007 on a table created earlier in the run is info only
-- expect: MY002
-- info: MY007
CREATE TABLE fresh_people (id INT PRIMARY KEY, email VARCHAR(255));
CREATE UNIQUE INDEX fresh_people_email ON fresh_people (email);

-- case: comments and backticks do not confuse the tokenizer
-- expect: none
ALTER TABLE `orders` /* DROP COLUMN x */ ADD COLUMN `drop` INT; -- DROP TABLE y

-- case: plain DML is fine
-- expect: none
UPDATE orders SET state = 'new' WHERE state IS NULL;
