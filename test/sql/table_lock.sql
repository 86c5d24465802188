-- Table scope: lockguard_acquire_table() takes one of the eight LOCK TABLE modes behind a
-- lockguard gate (advisory lock, objsubid 19529, in the same heavyweight mode), with LOCK
-- TABLE's privileges and its recursion into partitions and inheritance children.
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE TABLE items (id int PRIMARY KEY, v int);
CREATE VIEW items_view AS SELECT * FROM items;
CREATE SEQUENCE items_seq;
CREATE TABLE events (id int, day date, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')
  PARTITION BY RANGE (id);
CREATE TABLE events_2025_low PARTITION OF events_2025 FOR VALUES FROM (0) TO (1000);
CREATE TABLE parent_t (id int PRIMARY KEY);
CREATE TABLE child_t () INHERITS (parent_t);


-- This backend's table locks on the test tables, and its table gates.
CREATE VIEW my_table_locks AS
SELECT relation::regclass::text AS relation, mode FROM pg_locks
WHERE locktype = 'relation' AND pid = pg_backend_pid()
  AND relation::regclass::text IN ('items', 'events', 'events_2024', 'events_2025', 'events_2025_low',
                                   'parent_t', 'child_t');
CREATE VIEW my_table_gates AS
SELECT mode FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 19529 AND pid = pg_backend_pid();

------------------------------------------------------------------------------------------
-- Default mode: ACCESS EXCLUSIVE
------------------------------------------------------------------------------------------
BEGIN;
SELECT lockguard_acquire_table('items');
SELECT resource, scope, mode, granted, priority, pid = pg_backend_pid() AS mine FROM lockguard.locks;
SELECT * FROM my_table_gates;
SELECT * FROM my_table_locks ORDER BY relation, mode;
-- Again in the same transaction: a no-op.
SELECT lockguard_acquire_table('items');
SELECT count(*) AS gates FROM my_table_gates;
COMMIT;
SELECT count(*) AS after_commit FROM lockguard.locks;

------------------------------------------------------------------------------------------
-- Each of the eight modes, in LOCK TABLE spelling (with or without MODE) and in pg_locks
-- spelling; the table lock and the gate are taken in exactly that mode.
------------------------------------------------------------------------------------------
CREATE TABLE spellings (spelling text, canonical text);
INSERT INTO spellings VALUES
  ('ACCESS SHARE', 'AccessShareLock'), ('AccessShareLock', 'AccessShareLock'),
  ('row share', 'RowShareLock'), ('RowShareLock', 'RowShareLock'),
  ('ROW EXCLUSIVE MODE', 'RowExclusiveLock'), ('RowExclusiveLock', 'RowExclusiveLock'),
  ('Share Update Exclusive', 'ShareUpdateExclusiveLock'), ('ShareUpdateExclusiveLock', 'ShareUpdateExclusiveLock'),
  ('SHARE', 'ShareLock'), ('ShareLock', 'ShareLock'),
  ('  share   row exclusive ', 'ShareRowExclusiveLock'), ('ShareRowExclusiveLock', 'ShareRowExclusiveLock'),
  ('EXCLUSIVE', 'ExclusiveLock'), ('exclusivelock', 'ExclusiveLock'),
  ('ACCESS EXCLUSIVE MODE', 'AccessExclusiveLock'), ('AccessExclusiveLock', 'AccessExclusiveLock');
-- Takes the lock in a subtransaction, reports what it took, and rolls the subtransaction back
-- (which must release the lock: the next spelling starts from nothing).
CREATE FUNCTION lock_and_report(spelling text)
RETURNS TABLE (lockguard_mode text, gate_mode text, table_mode text)
LANGUAGE plpgsql AS $$
DECLARE
  result record;
BEGIN
  BEGIN
    PERFORM lockguard_acquire_table('items', spelling);
    SELECT (SELECT string_agg(l.mode, ',') FROM lockguard.locks l WHERE l.pid = pg_backend_pid()) AS l,
           (SELECT string_agg(g.mode, ',') FROM my_table_gates g) AS g,
           (SELECT string_agg(t.mode, ',') FROM my_table_locks t WHERE t.relation = 'items') AS t
      INTO result;
    RAISE EXCEPTION 'roll back' USING ERRCODE = 'P0001';
  EXCEPTION WHEN raise_exception THEN
    RETURN QUERY SELECT result.l, result.g, result.t;
  END;
END $$;
SELECT s.spelling, r.lockguard_mode, r.gate_mode = s.canonical AS gate_ok, r.table_mode = s.canonical AS table_ok
FROM spellings s, LATERAL lock_and_report(s.spelling) r;
SELECT count(*) AS released_with_subtransactions FROM lockguard.locks;
DROP FUNCTION lock_and_report(text);
DROP TABLE spellings;
-- And all eight at once in one transaction, in pg_locks terms.
BEGIN;
SELECT lockguard_acquire_table('items', 'ACCESS SHARE');
SELECT lockguard_acquire_table('items', 'ROW SHARE');
SELECT lockguard_acquire_table('items', 'ROW EXCLUSIVE');
SELECT lockguard_acquire_table('items', 'SHARE UPDATE EXCLUSIVE');
SELECT lockguard_acquire_table('items', 'SHARE');
SELECT lockguard_acquire_table('items', 'SHARE ROW EXCLUSIVE');
SELECT lockguard_acquire_table('items', 'EXCLUSIVE');
SELECT lockguard_acquire_table('items', 'ACCESS EXCLUSIVE');
SELECT resource, mode FROM lockguard.locks ORDER BY mode;
SELECT mode FROM my_table_gates ORDER BY mode;
SELECT mode FROM my_table_locks WHERE relation = 'items' ORDER BY mode;
ROLLBACK;

------------------------------------------------------------------------------------------
-- Partitioned and inherited tables: like LOCK TABLE, the lock covers the whole tree.
------------------------------------------------------------------------------------------
BEGIN;
SELECT lockguard_acquire_table('events', 'SHARE');
SELECT resource, scope, mode FROM lockguard.locks;
SELECT * FROM my_table_locks ORDER BY relation, mode;
ROLLBACK;
BEGIN;
SELECT lockguard_acquire_table('parent_t', 'EXCLUSIVE');
SELECT * FROM my_table_locks ORDER BY relation, mode;
ROLLBACK;
-- A partition alone locks only its own subtree.
BEGIN;
SELECT lockguard_acquire_table('events_2025', 'ROW EXCLUSIVE');
SELECT * FROM my_table_locks ORDER BY relation, mode;
ROLLBACK;

------------------------------------------------------------------------------------------
-- Bad input
------------------------------------------------------------------------------------------
SELECT lockguard_acquire_table('items');
BEGIN;
SELECT lockguard_acquire_table('items', 'SHARE EXCLUSIVE');
ROLLBACK;
SELECT * FROM try($$ SELECT lockguard_acquire_table('items', 'SHARE EXCLUSIVE') $$);
SELECT * FROM try($$ SELECT lockguard_acquire_table('items', 'FOR UPDATE') $$);
SELECT * FROM try($$ SELECT lockguard_acquire_table('items', '') $$);
SELECT * FROM try($$ SELECT lockguard_acquire_table('items_view') $$);
SELECT * FROM try($$ SELECT lockguard_acquire_table('items_seq', 'ACCESS SHARE') $$);
SELECT * FROM try($$ SELECT lockguard_acquire_table(99999::oid::regclass) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_table(NULL) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_table('items', priority => 101) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_table('items', timeout_ms => -1) $$);
SELECT count(*) AS leftover_locks FROM lockguard.locks;

------------------------------------------------------------------------------------------
-- Privileges as LOCK TABLE (PostgreSQL 15): SELECT allows ACCESS SHARE; ROW EXCLUSIVE needs
-- INSERT, UPDATE, DELETE or TRUNCATE; the other modes UPDATE, DELETE or TRUNCATE.
------------------------------------------------------------------------------------------
CREATE ROLE lg_table_reader;
CREATE ROLE lg_table_inserter;
GRANT SELECT ON items TO lg_table_reader;
GRANT SELECT, INSERT ON items TO lg_table_inserter;
SET ROLE lg_table_reader;
SELECT * FROM try($$ SELECT lockguard_acquire_table('items', 'ACCESS SHARE') $$);
SELECT * FROM try($$ SELECT lockguard_acquire_table('items', 'ROW SHARE') $$);
SELECT * FROM try($$ SELECT lockguard_acquire_table('items', 'ROW EXCLUSIVE') $$);
SELECT * FROM try($$ SELECT lockguard_acquire_table('items') $$);
-- PostgreSQL says the same for LOCK TABLE.
SELECT * FROM try($$ LOCK TABLE items IN ROW EXCLUSIVE MODE $$);
RESET ROLE;
SET ROLE lg_table_inserter;
SELECT * FROM try($$ SELECT lockguard_acquire_table('items', 'ROW EXCLUSIVE') $$);
SELECT * FROM try($$ SELECT lockguard_acquire_table('items', 'SHARE') $$);
RESET ROLE;
BEGIN;
SET LOCAL ROLE lg_table_reader;
SELECT lockguard_acquire_table('items', 'ROW EXCLUSIVE');
ROLLBACK;
REVOKE ALL ON items FROM lg_table_reader, lg_table_inserter;
DROP ROLE lg_table_reader;
DROP ROLE lg_table_inserter;

DROP VIEW my_table_gates;
DROP VIEW my_table_locks;
DROP TABLE child_t, parent_t, events;
DROP SEQUENCE items_seq;
DROP VIEW items_view;
DROP TABLE items;
