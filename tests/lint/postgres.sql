-- The PostgreSQL lint corpus: each dangerous case beside its safe twin.
-- Tables named here exist already (none is created in the run) unless a
-- case creates one itself. See run_corpus.py for the format.

-- case: PG001 index on an existing table
-- expect: PG001
CREATE INDEX orders_status ON orders (status);

-- case: PG001 safe twin: CONCURRENTLY outside a transaction
-- expect: none
-- transaction: false
CREATE INDEX CONCURRENTLY orders_status ON orders (status);

-- case: PG001 unique index, schema-qualified
-- expect: PG001
CREATE UNIQUE INDEX IF NOT EXISTS users_email ON app.users (lower(email));

-- case: PG001 safe twin: unique CONCURRENTLY
-- expect: none
-- transaction: false
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email ON app.users (lower(email));

-- case: PG001 partial index
-- expect: PG001
CREATE INDEX orders_open ON orders (created_at) WHERE status = 'open';

-- case: PG001 safe twin: partial index CONCURRENTLY
-- expect: none
-- transaction: false
CREATE INDEX CONCURRENTLY orders_open ON orders (created_at) WHERE status = 'open';

-- case: PG001 index on a table created in the same revision is info only
-- expect: none
-- info: PG001
CREATE TABLE fresh_events (id bigint PRIMARY KEY, kind text);
CREATE INDEX fresh_events_kind ON fresh_events (kind);

-- case: PG002 CONCURRENTLY inside the revision's transaction
-- expect: PG002
CREATE INDEX CONCURRENTLY orders_customer ON orders (customer_id);

-- case: PG002 safe twin
-- expect: none
-- transaction: false
CREATE INDEX CONCURRENTLY orders_customer ON orders (customer_id);

-- case: PG002 DROP INDEX CONCURRENTLY in a transaction
-- expect: PG002
DROP INDEX CONCURRENTLY orders_customer;

-- case: PG002 safe twin: DROP INDEX CONCURRENTLY alone
-- expect: none
-- transaction: false
DROP INDEX CONCURRENTLY orders_customer;

-- case: PG003 REINDEX TABLE
-- expect: PG003
REINDEX TABLE orders;

-- case: PG003 safe twin
-- expect: none
-- transaction: false
REINDEX TABLE CONCURRENTLY orders;

-- case: PG003 REINDEX INDEX
-- expect: PG003
REINDEX INDEX orders_status;

-- case: PG003 safe twin: REINDEX INDEX CONCURRENTLY
-- expect: none
-- transaction: false
REINDEX INDEX CONCURRENTLY orders_status;

-- case: PG002 REINDEX CONCURRENTLY in a transaction
-- expect: PG002
REINDEX TABLE CONCURRENTLY orders;

-- case: PG004 volatile default
-- expect: PG004
ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();

-- case: PG004 safe twin: constant default (PostgreSQL 11+)
-- expect: none
ALTER TABLE orders ADD COLUMN token_kind text DEFAULT 'v4';

-- case: PG004 random() inside an expression
-- expect: PG004
ALTER TABLE orders ADD COLUMN jitter double precision DEFAULT (random() * 10);

-- case: PG004 safe twin: now() is stable, not volatile
-- expect: none
ALTER TABLE orders ADD COLUMN seen_at timestamptz DEFAULT now();

-- case: PG004 clock_timestamp
-- expect: PG004
ALTER TABLE orders ADD COLUMN stamped_at timestamptz NOT NULL DEFAULT clock_timestamp();

-- case: PG004 safe twin: add nullable, then set the default
-- expect: none
ALTER TABLE orders ADD COLUMN stamped_at timestamptz;
ALTER TABLE orders ALTER COLUMN stamped_at SET DEFAULT clock_timestamp();

-- case: PG005 NOT NULL without a default
-- expect: PG005
ALTER TABLE orders ADD COLUMN region text NOT NULL;

-- case: PG005 safe twin: NOT NULL with a constant default
-- expect: none
ALTER TABLE orders ADD COLUMN region text NOT NULL DEFAULT 'eu';

-- case: PG005 safe twin: nullable column
-- expect: none
ALTER TABLE orders ADD COLUMN note text;

-- case: PG006 type change to bigint
-- expect: PG006
ALTER TABLE orders ALTER COLUMN customer_id TYPE bigint;

-- case: PG006 safe twin: to text
-- expect: none
ALTER TABLE orders ALTER COLUMN status TYPE text;

-- case: PG006 SET DATA TYPE numeric with USING
-- expect: PG006
ALTER TABLE orders ALTER COLUMN total SET DATA TYPE numeric(12,2) USING total::numeric;

-- case: PG006 safe twin: unbounded varchar
-- expect: none
ALTER TABLE orders ALTER COLUMN code TYPE varchar;

-- case: PG006 timestamp to timestamptz
-- expect: PG006
ALTER TABLE orders ALTER COLUMN created_at TYPE timestamptz;

-- case: PG006 safe twin: new column instead
-- expect: none
ALTER TABLE orders ADD COLUMN created_at_tz timestamptz;

-- case: PG007 SET NOT NULL
-- expect: PG007
ALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;

-- case: PG007 safe twin: CHECK NOT VALID
-- expect: none
ALTER TABLE orders ADD CONSTRAINT customer_id_not_null CHECK (customer_id IS NOT NULL) NOT VALID;

-- case: PG007 safe twin: VALIDATE in a later step
-- expect: none
ALTER TABLE orders VALIDATE CONSTRAINT customer_id_not_null;

-- case: PG007 suppressed on the line before, with a reason
-- expect: none
-- mig:lint disable=PG007 -- the CHECK above was validated in the previous revision
ALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL;

-- case: PG008 foreign key validated at once
-- expect: PG008
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);

-- case: PG008 safe twin: NOT VALID
-- expect: none
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;

-- case: PG008 inline REFERENCES on a new column
-- expect: PG008
ALTER TABLE orders ADD COLUMN shop_id bigint REFERENCES shops (id);

-- case: PG008 safe twin: column first, NOT VALID key after
-- expect: none
ALTER TABLE orders ADD COLUMN shop_id bigint;
ALTER TABLE orders ADD CONSTRAINT orders_shop_fk FOREIGN KEY (shop_id) REFERENCES shops (id) NOT VALID;

-- case: PG009 CHECK validated at once
-- expect: PG009
ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total >= 0);

-- case: PG009 safe twin: NOT VALID
-- expect: none
ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total >= 0) NOT VALID;

-- case: PG010 ADD PRIMARY KEY builds its index
-- expect: PG010
ALTER TABLE events ADD PRIMARY KEY (id);

-- case: PG010 safe twin: USING INDEX
-- expect: none
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX events_id_idx;

-- case: PG010 ADD UNIQUE
-- expect: PG010
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);

-- case: PG010 safe twin: UNIQUE USING INDEX
-- expect: none
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;

-- case: PG011 DROP COLUMN
-- expect: PG011 MIG006
ALTER TABLE orders DROP COLUMN legacy_code;

-- case: MIG006 twin: the same DROP COLUMN in a contract revision
-- expect: PG011
-- phase: contract
ALTER TABLE orders DROP COLUMN legacy_code;

-- case: PG011 safe twin: stop using it first (nothing dropped)
-- expect: none
COMMENT ON COLUMN orders.legacy_code IS 'unused since 2.3; dropped in a later release';

-- case: PG012 DROP TABLE
-- expect: PG012 MIG006
DROP TABLE legacy_orders;

-- case: PG012 safe twin: rename aside, keep the data
-- expect: none
COMMENT ON TABLE legacy_orders IS 'read by nothing since 2.3';

-- case: PG013 RENAME COLUMN
-- expect: PG013 MIG006
ALTER TABLE orders RENAME COLUMN status TO state;

-- case: PG013 safe twin: add the new column
-- expect: none
ALTER TABLE orders ADD COLUMN state text;

-- case: PG014 RENAME TABLE
-- expect: PG014 MIG006
ALTER TABLE orders RENAME TO purchases;

-- case: PG014 safe twin: a view under the new name
-- expect: none
CREATE VIEW purchases AS SELECT * FROM orders;

-- case: PG015 ADD VALUE in a transaction is fine on PostgreSQL 12+
-- expect: none
ALTER TYPE order_state ADD VALUE 'refunded';

-- case: PG015 safe twin: ADD VALUE outside a transaction
-- expect: none
-- transaction: false
ALTER TYPE order_state ADD VALUE IF NOT EXISTS 'refunded';

-- case: PG016 VACUUM FULL
-- expect: PG016
-- transaction: false
VACUUM FULL orders;

-- case: PG016 safe twin: plain VACUUM
-- expect: none
-- transaction: false
VACUUM (ANALYZE) orders;

-- case: PG017 CLUSTER
-- expect: PG017
CLUSTER orders USING orders_created;

-- case: PG017 safe twin: no physical reordering
-- expect: none
ANALYZE orders;

-- case: PG018 LOCK TABLE
-- expect: PG018
LOCK TABLE orders IN ACCESS EXCLUSIVE MODE;

-- case: PG018 safe twin: no explicit lock
-- expect: none
SELECT count(*) FROM orders;

-- case: PG019 TRUNCATE
-- expect: PG019
TRUNCATE orders_archive;

-- case: PG019 safe twin: delete in a bounded batch
-- expect: none
DELETE FROM orders_archive WHERE id IN (SELECT id FROM orders_archive LIMIT 1000);

-- case: PG020 serial column
-- expect: PG020
ALTER TABLE orders ADD COLUMN seq bigserial;

-- case: PG020 identity column
-- expect: PG020
ALTER TABLE orders ADD COLUMN num bigint GENERATED ALWAYS AS IDENTITY;

-- case: PG020 safe twin: plain bigint, default from a sequence later
-- expect: none
ALTER TABLE orders ADD COLUMN num bigint;

-- case: PG021 ACCESS EXCLUSIVE with no lock_timeout
-- expect: PG021
-- lock_timeout: none
ALTER TABLE orders ADD COLUMN note2 text;

-- case: PG021 safe twin: SET lock_timeout first
-- expect: none
-- lock_timeout: none
SET lock_timeout = '3s';
ALTER TABLE orders ADD COLUMN note2 text;

-- case: PG021 with a rename and no lock_timeout
-- expect: PG013 PG021 MIG006
-- lock_timeout: none
ALTER TABLE orders RENAME COLUMN note TO remark;

-- case: PG021 lock_timeout set back to the default
-- expect: PG021
-- lock_timeout: none
SET lock_timeout = '3s';
RESET lock_timeout;
ALTER TABLE orders ALTER COLUMN note SET DEFAULT '';

-- case: PG021 suppressed by name on the line before; the next statement is not
-- expect: PG021
-- lock_timeout: none
-- mig:lint disable=access-exclusive-without-lock-timeout -- a quiet table
ALTER TABLE orders ALTER COLUMN note SET DEFAULT 'x';
ALTER TABLE orders ALTER COLUMN note DROP DEFAULT;

-- case: PG022 DDL and an UPDATE without WHERE
-- expect: PG022
ALTER TABLE orders ADD COLUMN flag boolean;
UPDATE orders SET flag = false;

-- case: PG022 safe twin: bounded update
-- expect: none
ALTER TABLE orders ADD COLUMN flag boolean;
UPDATE orders SET flag = false WHERE id < 1000;

-- case: PG022 DELETE without WHERE then DDL
-- expect: PG022
DELETE FROM order_events;
ALTER TABLE order_events ADD COLUMN kind text;

-- case: PG022 safe twin: outside a transaction each statement commits
-- expect: none
-- transaction: false
DELETE FROM order_events;
ALTER TABLE order_events ADD COLUMN kind text;

-- case: PG000 a statement the parser cannot read
-- expect: PG000
ALTER TABLE orders ADD COLUMN;

-- case: PG000 safe twin: a readable statement
-- expect: none
ALTER TABLE orders ADD COLUMN extra text;

-- case: PG000 dollar-quoted function bodies are read
-- expect: none
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

-- case: BEGIN ATOMIC bodies stay one statement
-- expect: none
CREATE FUNCTION order_total(o bigint) RETURNS numeric LANGUAGE sql
BEGIN ATOMIC
  SELECT sum(amount) FROM order_lines WHERE order_id = o;
END;

-- case: plain DML alone is fine
-- expect: none
INSERT INTO settings (key, value) VALUES ('mode', 'on');
UPDATE settings SET value = 'off' WHERE key = 'mode';

-- case: several findings in one ALTER TABLE
-- expect: PG004 PG006 PG011 MIG006
ALTER TABLE orders ADD COLUMN tok uuid DEFAULT gen_random_uuid(), ALTER COLUMN qty TYPE bigint, DROP COLUMN old;

-- case: safe twin: the same work split into safe steps
-- expect: none
ALTER TABLE orders ADD COLUMN tok uuid;
ALTER TABLE orders ADD COLUMN qty_big bigint;

-- case: a new table with its keys is safe
-- expect: none
CREATE TABLE fresh_audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, order_id bigint REFERENCES orders (id), at timestamptz NOT NULL DEFAULT now());

-- case: constraints on a table created earlier in the run are info only
-- expect: none
-- info: PG008 PG010
CREATE TABLE fresh_lines (id bigint, order_id bigint);
ALTER TABLE fresh_lines ADD PRIMARY KEY (id);
ALTER TABLE fresh_lines ADD CONSTRAINT fresh_lines_order_fk FOREIGN KEY (order_id) REFERENCES orders (id);

-- case: DROP INDEX alone is not flagged
-- expect: none
DROP INDEX IF EXISTS orders_old_idx;

-- case: CREATE TABLE AS is a new table
-- expect: none
CREATE TABLE fresh_copy AS SELECT id FROM orders WHERE false;
