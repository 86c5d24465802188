-- Row scope: lockguard_acquire_row() locks one row by primary key like SELECT ... FOR <strength>,
-- behind a lockguard gate (advisory lock, objsubid 19528) whose heavyweight mode mirrors the row
-- strength; it returns whether the row exists. Bad input fails with a SQLSTATE before anything
-- is locked.
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO accounts VALUES (1, 100), (2, 200), (3, 300), (4, 400), (42, 4200);
CREATE TABLE pairs (a int, b text, v int, PRIMARY KEY (a, b));
INSERT INTO pairs VALUES (1, 'x', 10), (2, 'y', 20);
CREATE TABLE tags (name text PRIMARY KEY);
INSERT INTO tags VALUES ('it''s'), ('a b');
CREATE TABLE no_pk (id int, v int);
CREATE VIEW accounts_view AS SELECT * FROM accounts;
CREATE SEQUENCE some_seq;


-- Lockguard's row gates held by this backend, by heavyweight mode.
CREATE VIEW my_gates AS
SELECT mode, granted FROM pg_locks
WHERE locktype = 'advisory' AND objsubid = 19528 AND pid = pg_backend_pid();

------------------------------------------------------------------------------------------
-- Single-column key, default strength FOR UPDATE
------------------------------------------------------------------------------------------
BEGIN;
SELECT lockguard_acquire_row('accounts'::regclass, 42);
SELECT resource, scope, mode, granted, priority, pid = pg_backend_pid() AS mine, blocked_by
FROM lockguard.locks;
-- The gate: advisory, objsubid 19528, in the heavyweight mode of FOR UPDATE.
SELECT * FROM my_gates;
-- The real row lock: the row's xmax is this transaction, and the table has the RowShareLock
-- every SELECT ... FOR UPDATE takes.
SELECT id, xmax = pg_current_xact_id()::xid AS locked_by_me FROM accounts ORDER BY id;
SELECT mode FROM pg_locks WHERE relation = 'accounts'::regclass AND pid = pg_backend_pid() ORDER BY mode;
-- Taking it again in the same transaction is a no-op.
SELECT lockguard_acquire_row('accounts', 42);
SELECT count(*) AS gates FROM my_gates;
COMMIT;
SELECT count(*) AS after_commit FROM lockguard.locks;
SELECT count(*) AS gates_after_commit FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 19528;

------------------------------------------------------------------------------------------
-- The four strengths, spelled the ways users write them; each gate takes PostgreSQL's own
-- heavyweight mode for that tuple lock strength (heapam.c tupleLockExtraInfo).
------------------------------------------------------------------------------------------
BEGIN;
SELECT lockguard_acquire_row('accounts', 1, 'FOR UPDATE');
SELECT lockguard_acquire_row('accounts', 2, 'for no key update');
SELECT lockguard_acquire_row('accounts', 3, '  For   Share ');
SELECT lockguard_acquire_row('accounts', 4, 'KEY SHARE');
SELECT resource, scope, mode, granted FROM lockguard.locks ORDER BY resource;
SELECT mode, count(*) FROM my_gates GROUP BY mode ORDER BY mode;
-- Every one of the four rows is locked by this transaction (single locker: xmax is our xid).
SELECT id, xmax = pg_current_xact_id()::xid AS locked_by_me FROM accounts ORDER BY id;
ROLLBACK;
SELECT count(*) AS after_rollback FROM lockguard.locks;

------------------------------------------------------------------------------------------
-- Composite key as a row value, quoted literal keys, a missing row
------------------------------------------------------------------------------------------
BEGIN;
SELECT lockguard_acquire_row('pairs', ROW(1, 'x'));
SELECT lockguard_acquire_row('pairs', ROW(2, 'y'), 'FOR KEY SHARE');
-- A quoted literal (type unknown) is read with the key column's own input function.
SELECT lockguard_acquire_row('accounts', '42', 'FOR SHARE');
SELECT lockguard_acquire_row('tags', 'it''s');
SELECT lockguard_acquire_row('tags', 'a b'::text);
SELECT resource, mode FROM lockguard.locks ORDER BY resource;
SELECT a, b, xmax = pg_current_xact_id()::xid AS locked_by_me FROM pairs ORDER BY a;
SELECT name, xmax = pg_current_xact_id()::xid AS locked_by_me FROM tags ORDER BY name;
-- No such row: false, like SELECT ... FOR UPDATE returning nothing; only the gate is held.
SELECT lockguard_acquire_row('accounts', 999);
SELECT lockguard_acquire_row('pairs', ROW(1, 'nope'));
SELECT lockguard_acquire_row('tags', 'missing');
SELECT resource, mode FROM lockguard.locks WHERE resource IN ('public.accounts(999)', 'public.pairs(1, nope)', 'public.tags(missing)')
ORDER BY resource;
ROLLBACK;

-- Rows of a partitioned table, by the partitioned table's primary key.
SET DateStyle = 'ISO, YMD';
CREATE TABLE readings (id int, day date, v int, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE readings_2024 PARTITION OF readings FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE readings_2025 PARTITION OF readings FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO readings VALUES (1, '2024-03-01', 1), (2, '2025-03-01', 2);
BEGIN;
SELECT lockguard_acquire_row('readings', ROW(2, '2025-03-01'::date));
SELECT lockguard_acquire_row('readings', ROW(2, '2024-03-01'::date));
SELECT resource, mode FROM lockguard.locks ORDER BY resource;
SELECT id, xmax = pg_current_xact_id()::xid AS locked_by_me FROM readings ORDER BY id;
ROLLBACK;
-- A row's gate is the row, whatever the session's output settings: the same date key under
-- another DateStyle is the same gate (else two sessions would not queue together).
BEGIN;
SELECT lockguard_acquire_row('readings', ROW(2, '2025-03-01'::date));
SET LOCAL DateStyle = 'SQL, DMY';
SELECT lockguard_acquire_row('readings', ROW(2, '2025-03-01'::date));
SELECT count(*) AS gates FROM my_gates;
ROLLBACK;
-- A key value of the column's own type is taken as it is; one of any other type is made text and
-- read as the column's type. Every form of one key is one gate and finds the row; a type
-- modifier is applied as before; equal values of a type with several spellings are one gate; a
-- varlena value read from a table (short header) is the key its literal is.
CREATE TABLE amounts (a numeric PRIMARY KEY);
CREATE TABLE codes (c varchar(3) PRIMARY KEY);
CREATE TABLE blobs (b bytea PRIMARY KEY);
INSERT INTO amounts VALUES (1.5);
INSERT INTO codes VALUES ('abc');
INSERT INTO blobs VALUES ('\x0102');
BEGIN;
SELECT lockguard_acquire_row('accounts', 42) AS int4, lockguard_acquire_row('accounts', 42::bigint) AS int8,
       lockguard_acquire_row('accounts', 42::smallint) AS int2, lockguard_acquire_row('accounts', '42') AS literal,
       lockguard_acquire_row('accounts', '42'::text) AS text;
SELECT count(*) AS gates FROM my_gates;
SELECT lockguard_acquire_row('amounts', 1.5) AS numeric, lockguard_acquire_row('amounts', 1.50) AS same_value,
       lockguard_acquire_row('amounts', '1.500'::text) AS text;
SELECT count(*) AS gates FROM my_gates;
SELECT lockguard_acquire_row('codes', 'abc'::varchar) AS varchar, lockguard_acquire_row('codes', 'abc'::text) AS text;
SELECT count(*) AS gates FROM my_gates;
SELECT lockguard_acquire_row('blobs', b) AS from_table FROM blobs;
SELECT lockguard_acquire_row('blobs', '\x0102'::bytea) AS literal;
SELECT count(*) AS gates FROM my_gates;
SELECT resource FROM lockguard.locks WHERE pid = pg_backend_pid() ORDER BY resource;
ROLLBACK;
SELECT * FROM try($$ SELECT lockguard_acquire_row('codes', 'abcd'::varchar) $$);
DROP TABLE amounts, codes, blobs;
-- The same, generated over key column types (with and without a type modifier, a domain): for
-- each, the value as the column's type (taken as it is), as text, as an untyped literal and as
-- read from the table (a stored value) make one gate, and each form finds the row.
CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
CREATE FUNCTION key_forms(type_name text, literal text) RETURNS TABLE (new_gates bigint, every_form_found boolean)
LANGUAGE plpgsql AS $$
DECLARE
  before bigint := (SELECT count(*) FROM my_gates);
  found_all boolean := true;
  found_one boolean;
  form text;
BEGIN
  EXECUTE format('CREATE TABLE key_form_table (k %s PRIMARY KEY)', type_name);
  EXECUTE format('INSERT INTO key_form_table VALUES (%L::%s)', literal, type_name);
  FOREACH form IN ARRAY ARRAY[format('%L::%s', literal, type_name), format('%L::text', literal), format('%L', literal),
                              '(SELECT k FROM key_form_table)'] LOOP
    EXECUTE format('SELECT lockguard_acquire_row(''key_form_table'', %s)', form) INTO found_one;
    found_all := found_all AND found_one;
  END LOOP;
  RETURN QUERY SELECT (SELECT count(*) FROM my_gates) - before, found_all;
  DROP TABLE key_form_table;
END $$;
SELECT type_name, f.* FROM (VALUES
  ('smallint', '7'), ('integer', '42'), ('bigint', '9000000000'), ('oid', '12345'), ('numeric', '1.50'),
  ('numeric(5,2)', '1.5'), ('real', '1.5'), ('double precision', '2.25'), ('text', 'it''s'), ('varchar', 'abc'),
  ('varchar(5)', 'abc'), ('char(4)', 'ab'), ('name', 'nm'), ('bytea', '\x0102'),
  ('uuid', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), ('date', '2025-03-01'), ('timestamp', '2025-03-01 12:00'),
  ('timestamptz', '2025-03-01 12:00+02'), ('interval', '1 day 2 hours'), ('boolean', 'true'), ('inet', '10.0.0.1'),
  ('jsonb', '{"a": [1, 2]}'), ('positive_int', '5')) AS t(type_name, literal),
  LATERAL key_forms(type_name, literal) f;
DROP FUNCTION key_forms(text, text);
DROP DOMAIN positive_int;

-- Inside a function the transaction is the caller's: allowed outside BEGIN, however the
-- function calls it (PERFORM, assignment, RETURN).
CREATE FUNCTION lock_by_perform(k int) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  PERFORM lockguard_acquire_row('accounts', k);
  RETURN (SELECT count(*) FROM lockguard.locks WHERE pid = pg_backend_pid());
END $$;
CREATE FUNCTION lock_by_assignment(k int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  found_it boolean;
BEGIN
  found_it := lockguard_acquire_row('accounts', k);
  RETURN found_it;
END $$;
CREATE FUNCTION lock_by_return(k int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  RETURN lockguard_acquire_row('accounts', k);
END $$;
SELECT lock_by_perform(1) AS held;
SELECT lock_by_assignment(1) AS found, lock_by_assignment(1000) AS missing;
SELECT lock_by_return(2) AS found, lock_by_return(1000) AS missing;
SELECT count(*) AS released_with_statement FROM lockguard.locks;
DROP FUNCTION lock_by_perform(int);
DROP FUNCTION lock_by_assignment(int);
DROP FUNCTION lock_by_return(int);

------------------------------------------------------------------------------------------
-- Bad input
------------------------------------------------------------------------------------------
-- Outside a transaction block the lock would end with the statement.
SELECT lockguard_acquire_row('accounts', 1);
-- Unknown relation OID, and a NULL relation.
BEGIN;
SELECT lockguard_acquire_row(99999::oid::regclass, 1);
ROLLBACK;
SELECT * FROM try($$ SELECT lockguard_acquire_row(99999::oid::regclass, 1) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_row(NULL, 1) $$);
-- Not a table: a view, a sequence.
SELECT * FROM try($$ SELECT lockguard_acquire_row('accounts_view', 1) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_row('some_seq', 1) $$);
-- No primary key.
SELECT * FROM try($$ SELECT lockguard_acquire_row('no_pk', 1) $$);
-- Wrong number of key values for a composite key (one too few, one too many).
SELECT * FROM try($$ SELECT lockguard_acquire_row('pairs', 1) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_row('pairs', ROW(1, 'x', 3)) $$);
-- NULL key, NULL field of a composite key.
SELECT * FROM try($$ SELECT lockguard_acquire_row('accounts', NULL::int) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_row('accounts', NULL) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_row('pairs', ROW(1, NULL::text)) $$);
-- A key that is not a value of the key column's type.
SELECT * FROM try($$ SELECT lockguard_acquire_row('accounts', 'abc') $$);
SELECT * FROM try($$ SELECT lockguard_acquire_row('accounts', 1.5) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_row('accounts', 99999999999) $$);
-- Unknown strength: 22023 with the valid names in the hint.
SELECT * FROM try($$ SELECT lockguard_acquire_row('accounts', 1, 'FOR LOCK') $$);
SELECT * FROM try($$ SELECT lockguard_acquire_row('accounts', 1, 'UPDATE NOWAIT') $$);
-- Priority out of range, negative timeout.
SELECT * FROM try($$ SELECT lockguard_acquire_row('accounts', 1, priority => 101) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_row('accounts', 1, priority => -101) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_row('accounts', 1, timeout_ms => -1) $$);
-- The extremes are accepted.
SELECT * FROM try($$ SELECT lockguard_acquire_row('accounts', 1, priority => 100, timeout_ms => 0) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_row('accounts', 1, priority => -100) $$);
-- The raw errors as a client sees them, with hints.
BEGIN;
SELECT lockguard_acquire_row('accounts', 1, 'FOR LOCK');
ROLLBACK;
BEGIN;
SELECT lockguard_acquire_row('no_pk', 1);
ROLLBACK;
BEGIN;
SELECT lockguard_acquire_row('pairs', 1);
ROLLBACK;
-- Nothing was left behind by any of the failures.
SELECT count(*) AS leftover_locks FROM lockguard.locks;

------------------------------------------------------------------------------------------
-- Privileges: like SELECT ... FOR UPDATE, a row lock needs UPDATE (on the table or a column)
-- besides SELECT on the key, for every strength.
------------------------------------------------------------------------------------------
CREATE ROLE lg_row_reader;
CREATE ROLE lg_row_column_writer;
GRANT SELECT ON accounts TO lg_row_reader, lg_row_column_writer;
GRANT UPDATE (balance) ON accounts TO lg_row_column_writer;
SET ROLE lg_row_reader;
SELECT * FROM try($$ SELECT lockguard_acquire_row('accounts', 1) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_row('accounts', 1, 'FOR KEY SHARE') $$);
-- PostgreSQL itself says the same.
SELECT * FROM try($$ SELECT 1 FROM accounts WHERE id = 1 FOR KEY SHARE $$);
RESET ROLE;
SET ROLE lg_row_column_writer;
SELECT * FROM try($$ SELECT lockguard_acquire_row('accounts', 1) $$);
RESET ROLE;
BEGIN;
SET LOCAL ROLE lg_row_reader;
SELECT lockguard_acquire_row('accounts', 1);
ROLLBACK;
REVOKE ALL ON accounts FROM lg_row_reader, lg_row_column_writer;
DROP ROLE lg_row_reader;
DROP ROLE lg_row_column_writer;

------------------------------------------------------------------------------------------
-- A row that is missing, or hidden by row-level security, is not a wait, however long looking
-- for it takes: here the policy's check takes 5 ms per row it looks at.
------------------------------------------------------------------------------------------
CREATE FUNCTION slow_visible(v int) RETURNS boolean LANGUAGE plpgsql STABLE
AS $$ BEGIN PERFORM pg_sleep(0.005); RETURN v >= 0; END $$;
CREATE TABLE guarded (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO guarded VALUES (1, 0), (2, -1);
ALTER TABLE guarded ENABLE ROW LEVEL SECURITY;
CREATE POLICY guarded_rows ON guarded USING (slow_visible(v));
CREATE ROLE lg_row_guarded;
GRANT SELECT, UPDATE ON guarded TO lg_row_guarded;
SELECT lockguard.reset_wait_stats();
BEGIN;
SET LOCAL ROLE lg_row_guarded;
SELECT lockguard_acquire_row('guarded', 1) AS visible, lockguard_acquire_row('guarded', 2) AS hidden,
       lockguard_acquire_row('guarded', 404) AS missing;
COMMIT;
SELECT acquisitions, waited FROM lockguard.wait_stats WHERE resource_class = 'public.guarded';
REVOKE ALL ON guarded FROM lg_row_guarded;
DROP ROLE lg_row_guarded;
DROP TABLE guarded;
DROP FUNCTION slow_visible(int);

DROP VIEW my_gates;
DROP TABLE readings;
DROP VIEW accounts_view;
DROP SEQUENCE some_seq;
DROP TABLE accounts, pairs, tags, no_pk;
