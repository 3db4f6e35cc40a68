-- The SQLite lint corpus: each dangerous case beside its safe twin. The
-- corpus runs with [lint] sqlite_version = 3.22.0 (run_corpus.py).

-- case: SQ001 a hand-written table rebuild
-- expect: SQ001
CREATE TABLE orders_new (id INTEGER PRIMARY KEY, total INTEGER NOT NULL);
INSERT INTO orders_new (id, total) SELECT id, total FROM orders;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;

-- case: SQ001 safe twin: ADD COLUMN needs no rebuild
-- expect: none
ALTER TABLE orders ADD COLUMN note TEXT;

-- case: SQ002 ALTER COLUMN does not exist in SQLite
-- expect: SQ002
ALTER TABLE orders ALTER COLUMN total TYPE BIGINT;

-- case: SQ002 ADD CONSTRAINT does not exist in SQLite
-- expect: SQ002
ALTER TABLE orders ADD CONSTRAINT total_pos CHECK (total >= 0);

-- case: SQ002 safe twin: an index instead of a constraint
-- expect: none
CREATE UNIQUE INDEX orders_ref ON orders (ref);

-- case: SQ003 RETURNING is newer than 3.22
-- expect: SQ003
INSERT INTO settings (key, value) VALUES ('a', 'b') RETURNING key;

-- case: SQ003 safe twin: no RETURNING
-- expect: none
INSERT INTO settings (key, value) VALUES ('a', 'b');

-- case: SQ003 STRICT table and DROP COLUMN
-- expect: SQ003
CREATE TABLE fresh_s (id INTEGER PRIMARY KEY) STRICT;

-- case: SQ003 upsert
-- expect: SQ003
INSERT INTO settings (key, value) VALUES ('a', 'b') ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- case: SQ003 safe twin: INSERT OR REPLACE
-- expect: none
INSERT OR REPLACE INTO settings (key, value) VALUES ('a', 'b');

-- case: SQ003 SQ004 DROP COLUMN (3.35+)
-- expect: SQ003 SQ004 MIG006
ALTER TABLE orders DROP COLUMN legacy;

-- case: MIG006 twin: the same DROP COLUMN in a contract revision
-- expect: SQ003 SQ004
-- phase: contract
ALTER TABLE orders DROP COLUMN legacy;

-- case: SQ005 DROP TABLE
-- expect: SQ005 MIG006
DROP TABLE legacy_orders;

-- case: SQ003 SQ006 RENAME COLUMN (3.25+)
-- expect: SQ003 SQ006 MIG006
ALTER TABLE orders RENAME COLUMN total TO amount;

-- case: SQ007 RENAME TO
-- expect: SQ007 MIG006
ALTER TABLE orders RENAME TO purchases;

-- case: SQ007 safe twin: a view
-- expect: none
CREATE VIEW purchases AS SELECT * FROM orders;
