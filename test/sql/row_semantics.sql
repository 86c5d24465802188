-- What lockguard_acquire_row() keeps from SELECT ... FOR <strength>, shown side by side with that
-- query in the same situation: row-level security (which rows a role may lock), partition
-- routing (a key that no partition accepts), and a table with inheritance children. The
-- concurrent cases (the READ COMMITTED re-check, 40001 under REPEATABLE READ and SERIALIZABLE, a
-- row moved to another partition) are isolation specs: row_recheck, row_rr_serialize,
-- row_partition_move. A rewrite of the row path must leave every line of this output as it is.
\set VERBOSITY default
\set SHOW_CONTEXT never

-- For one key of table t (an int key column "id", or a row value for a composite key), each
-- strength: what lockguard_acquire_row returns, and whether SELECT ... FOR <strength> of the
-- same key returns a row (or the SQLSTATE and message of the error each raises). Run as the
-- current user, inside the caller's transaction.
CREATE FUNCTION rs_compare(t regclass, key_sql text, where_sql text)
RETURNS TABLE (strength text, lockguard text, for_lock text)
LANGUAGE plpgsql AS $$
DECLARE
  s text;
  got boolean;
  n bigint;
BEGIN
  FOREACH s IN ARRAY ARRAY['FOR UPDATE', 'FOR NO KEY UPDATE', 'FOR SHARE', 'FOR KEY SHARE'] LOOP
    strength := s;
    BEGIN
      EXECUTE format('SELECT lockguard_acquire_row(%L::regclass, %s, %L)', t, key_sql, s) INTO got;
      lockguard := got::text;
    EXCEPTION WHEN OTHERS THEN
      lockguard := SQLSTATE || ': ' || SQLERRM;
    END;
    BEGIN
      EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s WHERE %s %s) q', t, where_sql, s) INTO n;
      for_lock := (n > 0)::text;
    EXCEPTION WHEN OTHERS THEN
      for_lock := SQLSTATE || ': ' || SQLERRM;
    END;
    RETURN NEXT;
  END LOOP;
END $$;

------------------------------------------------------------------------------------------
-- Row-level security. SELECT ... FOR <any strength> sees a row only if the USING clauses of
-- the SELECT policies and of the UPDATE policies both pass (no policy for a command: no row).
-- A hidden row is "not found" (false), never an error, as the query returns no row.
------------------------------------------------------------------------------------------
CREATE ROLE lg_rs_owner;
CREATE ROLE lg_rs_user;
CREATE ROLE lg_rs_bypass BYPASSRLS;
CREATE TABLE rs_docs (id int PRIMARY KEY, owner name NOT NULL, v int NOT NULL);
ALTER TABLE rs_docs OWNER TO lg_rs_owner;
INSERT INTO rs_docs VALUES
  (1, 'lg_rs_user', 1),      -- the user's, and updatable by the UPDATE policy
  (2, 'lg_rs_owner', 2),     -- someone else's: hidden by the SELECT policy
  (3, 'lg_rs_user', 500),    -- the user's, but the UPDATE policy's USING hides it
  (4, 'lg_rs_owner', 500);   -- hidden by both
GRANT SELECT, UPDATE ON rs_docs TO lg_rs_user, lg_rs_bypass;
ALTER TABLE rs_docs ENABLE ROW LEVEL SECURITY;

-- A SELECT policy only: no UPDATE policy, so no row may be locked, in any strength.
CREATE POLICY rs_read ON rs_docs FOR SELECT USING (owner = current_user);
BEGIN;
SET LOCAL ROLE lg_rs_user;
SELECT k, c.* FROM generate_series(1, 5) k, rs_compare('rs_docs', k::text, 'id = ' || k) c
WHERE c.strength = 'FOR UPDATE' ORDER BY k;
SELECT * FROM rs_compare('rs_docs', '1', 'id = 1');
ROLLBACK;

-- An UPDATE policy too: a row is lockable when both USING clauses pass.
CREATE POLICY rs_write ON rs_docs FOR UPDATE USING (v < 100);
BEGIN;
SET LOCAL ROLE lg_rs_user;
SELECT k, c.* FROM generate_series(1, 5) k, rs_compare('rs_docs', k::text, 'id = ' || k) c ORDER BY k, c.strength;
ROLLBACK;
-- The same session, the same cached plans, another role: each role sees its own rows (lg_rs_owner
-- owns the table, so without FORCE its policies do not apply to it; BYPASSRLS skips them).
BEGIN;
SET LOCAL ROLE lg_rs_owner;
SELECT k, c.* FROM generate_series(1, 4) k, rs_compare('rs_docs', k::text, 'id = ' || k) c
WHERE c.strength = 'FOR UPDATE' ORDER BY k;
SET LOCAL ROLE lg_rs_bypass;
SELECT k, c.* FROM generate_series(1, 4) k, rs_compare('rs_docs', k::text, 'id = ' || k) c
WHERE c.strength = 'FOR UPDATE' ORDER BY k;
SET LOCAL ROLE lg_rs_user;
SELECT k, c.* FROM generate_series(1, 4) k, rs_compare('rs_docs', k::text, 'id = ' || k) c
WHERE c.strength = 'FOR UPDATE' ORDER BY k;
ROLLBACK;
-- FORCE ROW LEVEL SECURITY: the policies apply to the owner too (owner = current_user keeps
-- rows 2 and 4, v < 100 only row 2); BYPASSRLS still skips them.
ALTER TABLE rs_docs FORCE ROW LEVEL SECURITY;
BEGIN;
SET LOCAL ROLE lg_rs_owner;
SELECT k, c.* FROM generate_series(1, 4) k, rs_compare('rs_docs', k::text, 'id = ' || k) c
WHERE c.strength = 'FOR UPDATE' ORDER BY k;
SET LOCAL ROLE lg_rs_bypass;
SELECT k, c.* FROM generate_series(1, 4) k, rs_compare('rs_docs', k::text, 'id = ' || k) c
WHERE c.strength = 'FOR UPDATE' ORDER BY k;
ROLLBACK;
-- row_security = off for a role the policies apply to: the query is refused (42501), not
-- silently filtered; for a BYPASSRLS role it runs.
BEGIN;
SET LOCAL row_security = off;
SET LOCAL ROLE lg_rs_user;
SELECT * FROM rs_compare('rs_docs', '1', 'id = 1') WHERE strength = 'FOR UPDATE';
SET LOCAL ROLE lg_rs_bypass;
SELECT * FROM rs_compare('rs_docs', '1', 'id = 1') WHERE strength = 'FOR UPDATE';
ROLLBACK;
-- A row locked as the user is really locked: its xmax is this transaction (the hidden one is not).
BEGIN;
SET LOCAL ROLE lg_rs_user;
SELECT lockguard_acquire_row('rs_docs', 1) AS visible, lockguard_acquire_row('rs_docs', 3) AS hidden;
RESET ROLE;
SELECT id, xmax = pg_current_xact_id()::xid AS locked_by_me FROM rs_docs ORDER BY id;
ROLLBACK;
DROP TABLE rs_docs;

------------------------------------------------------------------------------------------
-- Partition routing: a key that no partition accepts (no default partition at that level) is
-- "not found", as the query returns no row; not an error.
------------------------------------------------------------------------------------------
CREATE TABLE rs_parted (region text, id int, v int, PRIMARY KEY (region, id)) PARTITION BY LIST (region);
CREATE TABLE rs_parted_eu PARTITION OF rs_parted FOR VALUES IN ('eu') PARTITION BY RANGE (id);
CREATE TABLE rs_parted_eu_low PARTITION OF rs_parted_eu FOR VALUES FROM (0) TO (100);
CREATE TABLE rs_parted_eu_high PARTITION OF rs_parted_eu FOR VALUES FROM (100) TO (1000);
CREATE TABLE rs_parted_us PARTITION OF rs_parted FOR VALUES IN ('us');
INSERT INTO rs_parted VALUES ('eu', 1, 1), ('eu', 150, 2), ('us', 1, 3);
BEGIN;
SELECT r, k, c.* FROM (VALUES ('eu', 1), ('eu', 150), ('us', 1), ('eu', 5000), ('eu', -1), ('xx', 1)) AS keys(r, k),
  rs_compare('rs_parted', format('ROW(%L, %s)', r, k), format('region = %L AND id = %s', r, k)) c
WHERE c.strength = 'FOR UPDATE' ORDER BY r, k;
ROLLBACK;
-- The same through the sub-partitioned partition itself.
BEGIN;
SELECT k, c.* FROM (VALUES (1), (150), (5000)) AS keys(k),
  rs_compare('rs_parted_eu', format('ROW(%L, %s)', 'eu', k), format('region = %L AND id = %s', 'eu', k)) c
WHERE c.strength = 'FOR UPDATE' ORDER BY k;
ROLLBACK;
DROP TABLE rs_parted;

------------------------------------------------------------------------------------------
-- Inheritance children (not partitions). Today lockguard locks in the named table only (the
-- query it runs says ONLY): a row of a child is not found through the parent, where
-- SELECT ... FOR UPDATE on the parent finds and locks it. The child itself has no primary key
-- (children do not inherit it), so it cannot be named. This DIFFERS from FOR UPDATE (the
-- for_lock column shows what FOR UPDATE does); pinned as it is today.
------------------------------------------------------------------------------------------
CREATE TABLE rs_base (id int PRIMARY KEY, v int);
CREATE TABLE rs_kid (extra int) INHERITS (rs_base);
INSERT INTO rs_base VALUES (1, 1);
INSERT INTO rs_kid VALUES (2, 2, 0);
BEGIN;
SELECT k, c.* FROM generate_series(1, 3) k, rs_compare('rs_base', k::text, 'id = ' || k) c
WHERE c.strength = 'FOR UPDATE' ORDER BY k;
SELECT * FROM try($$ SELECT lockguard_acquire_row('rs_kid', 2) $$);
ROLLBACK;
DROP TABLE rs_kid, rs_base;

------------------------------------------------------------------------------------------
-- A table that gains an inheritance child or a partition after a first row lock in this session,
-- and loses it again: each call sees the table as it is at that call. With children (as
-- pg_class.relhassubclass says) the row lock takes ROW SHARE on every child too, as the query
-- does on each relation it opens, and runs the query; without, it locks the row directly and runs
-- no query. What it did shows in what it leaves: the child's ROW SHARE lock, and the query's
-- kept plan (pg_backend_memory_contexts names a kept plan by its text), listed by its suffix.
------------------------------------------------------------------------------------------
CREATE FUNCTION rs_row_plans(t text) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(substring(ident FROM ' (FOR [A-Z ]+)$'), ', ' ORDER BY ident), 'none')
  FROM pg_backend_memory_contexts
  WHERE name = 'CachedPlanSource' AND ident LIKE 'SELECT 1 FROM ' || t || ' WHERE %' $$;
CREATE TABLE rs_grow (id int PRIMARY KEY, v int);
INSERT INTO rs_grow VALUES (1, 1);
-- No child yet: the row is locked directly.
BEGIN;
SELECT lockguard_acquire_row('rs_grow', 1, 'FOR UPDATE') AS found;
ROLLBACK;
SELECT rs_row_plans('ONLY public.rs_grow') AS plans;
-- A child, in another transaction than the first call: the child is locked too, by the query.
CREATE TABLE rs_grow_kid () INHERITS (rs_grow);
BEGIN;
SELECT lockguard_acquire_row('rs_grow', 1, 'FOR UPDATE') AS found;
SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND relation = 'rs_grow_kid'::regclass;
ROLLBACK;
SELECT rs_row_plans('ONLY public.rs_grow') AS plans;
-- The child dropped: relhassubclass stays set until ANALYZE finds no child (VACUUM alone does
-- not clear it), and until then the query still runs (a strength not used before keeps a plan
-- of its own).
DROP TABLE rs_grow_kid;
SELECT relhassubclass FROM pg_class WHERE oid = 'rs_grow'::regclass;
BEGIN;
SELECT lockguard_acquire_row('rs_grow', 1, 'FOR SHARE') AS found;
ROLLBACK;
SELECT rs_row_plans('ONLY public.rs_grow') AS plans;
-- ANALYZE clears the flag: the row is locked directly again (no plan for a third strength).
ANALYZE rs_grow;
SELECT relhassubclass FROM pg_class WHERE oid = 'rs_grow'::regclass;
BEGIN;
SELECT lockguard_acquire_row('rs_grow', 1, 'FOR KEY SHARE') AS found;
ROLLBACK;
SELECT rs_row_plans('ONLY public.rs_grow') AS plans;
-- Inside one transaction: a child created after a first call is seen by the next call, and
-- after the ROLLBACK that undoes it, the table is without children again.
BEGIN;
SELECT lockguard_acquire_row('rs_grow', 1, 'FOR NO KEY UPDATE') AS found;
SELECT rs_row_plans('ONLY public.rs_grow') AS plans;
CREATE TABLE rs_grow_kid2 () INHERITS (rs_grow);
SELECT lockguard_acquire_row('rs_grow', 1, 'FOR NO KEY UPDATE') AS found;
SELECT rs_row_plans('ONLY public.rs_grow') AS plans;
SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND relation = 'rs_grow_kid2'::regclass ORDER BY mode;
ROLLBACK;
SELECT rs_row_plans('ONLY public.rs_grow') AS plans;
SELECT relhassubclass FROM pg_class WHERE oid = 'rs_grow'::regclass;
BEGIN;
SELECT lockguard_acquire_row('rs_grow', 1, 'FOR KEY SHARE') AS found;
ROLLBACK;
SELECT rs_row_plans('ONLY public.rs_grow') AS plans;
DROP TABLE rs_grow;
-- A partitioned table without partitions, then with two attached: the row's partition is found,
-- and the other one, which a custom plan prunes (the query alone does not lock it), is locked all
-- the same (by the row lock).
CREATE TABLE rs_grow_parted (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE rs_grow_p1 (id int PRIMARY KEY);
CREATE TABLE rs_grow_p2 (id int PRIMARY KEY);
INSERT INTO rs_grow_p1 VALUES (1);
BEGIN;
SET LOCAL plan_cache_mode = force_custom_plan;
SELECT lockguard_acquire_row('rs_grow_parted', 1) AS found;
ROLLBACK;
ALTER TABLE rs_grow_parted ATTACH PARTITION rs_grow_p1 FOR VALUES FROM (0) TO (100);
ALTER TABLE rs_grow_parted ATTACH PARTITION rs_grow_p2 FOR VALUES FROM (100) TO (200);
BEGIN;
SET LOCAL plan_cache_mode = force_custom_plan;
SELECT lockguard_acquire_row('rs_grow_parted', 1) AS found;
SELECT relation::regclass AS partition, mode FROM pg_locks
WHERE pid = pg_backend_pid() AND relation IN ('rs_grow_p1'::regclass, 'rs_grow_p2'::regclass) ORDER BY 1, 2;
ROLLBACK;
BEGIN;
SET LOCAL plan_cache_mode = force_custom_plan;
SELECT count(*) FROM (SELECT 1 FROM rs_grow_parted WHERE id = 1 FOR UPDATE) q;
SELECT relation::regclass AS partition, mode FROM pg_locks
WHERE pid = pg_backend_pid() AND relation IN ('rs_grow_p1'::regclass, 'rs_grow_p2'::regclass) ORDER BY 1, 2;
ROLLBACK;
DROP TABLE rs_grow_parted;
DROP FUNCTION rs_row_plans(text);

------------------------------------------------------------------------------------------
-- A read-only transaction: the query is refused (25006) in every strength, on an ordinary table
-- (locked without running the query) and on a partitioned one (the query itself); a temporary
-- table may be locked, as the query may lock it.
------------------------------------------------------------------------------------------
CREATE TABLE rs_plain (id int PRIMARY KEY, v int);
INSERT INTO rs_plain VALUES (1, 1);
CREATE TABLE rs_ro_parted (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE rs_ro_parted_1 PARTITION OF rs_ro_parted FOR VALUES FROM (0) TO (100);
INSERT INTO rs_ro_parted VALUES (1);
BEGIN TRANSACTION READ ONLY;
SELECT * FROM rs_compare('rs_plain', '1', 'id = 1');
SELECT * FROM rs_compare('rs_ro_parted', '1', 'id = 1');
ROLLBACK;
CREATE TEMPORARY TABLE rs_temp (id int PRIMARY KEY);
INSERT INTO rs_temp VALUES (1);
BEGIN TRANSACTION READ ONLY;
SELECT * FROM rs_compare('rs_temp', '1', 'id = 1');
ROLLBACK;
DROP TABLE rs_plain, rs_ro_parted, rs_temp;

DROP FUNCTION rs_compare(regclass, text, text);
DROP ROLE lg_rs_owner;
DROP ROLE lg_rs_user;
DROP ROLE lg_rs_bypass;
