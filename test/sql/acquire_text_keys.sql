-- Keys a driver sends untyped (pgbench -M prepared, node-postgres, many ORMs): an unknown-typed
-- parameter resolves to the text form of lockguard_acquire_row / row_lock, a composite key to
-- the text[] form (ARRAY[$1, $2] of untyped parameters is text[]). Typed values and ROW(...)
-- keep resolving to the "any" form. And the try-lock's three answers, in one session.
CREATE TABLE tk_accounts (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO tk_accounts VALUES (1, 0), (4, 0);
CREATE TABLE tk_pair (a int, b text, PRIMARY KEY (a, b));
INSERT INTO tk_pair VALUES (1, 'x');
CREATE VIEW tk_mine AS
  SELECT scope, mode, granted FROM lockguard.locks WHERE pid = pg_backend_pid() ORDER BY scope, mode;

BEGIN;
PREPARE row_untyped AS SELECT lockguard_acquire_row('tk_accounts', $1);
EXECUTE row_untyped('1');
EXECUTE row_untyped(2);  -- no such row
PREPARE pair_untyped AS SELECT lockguard_acquire_row('tk_pair', ARRAY[$1, $2], 'FOR SHARE');
EXECUTE pair_untyped(1, 'x');
PREPARE multi_untyped AS
  SELECT * FROM lockguard_acquire_all(ARRAY[lockguard.row_lock('tk_accounts', $1, 'FOR KEY SHARE'),
                                            lockguard.row_lock('tk_pair', ARRAY[$2, $3], 'FOR KEY SHARE')]);
EXECUTE multi_untyped('4', '1', 'x');
PREPARE try_untyped AS SELECT lockguard_try_acquire_row('tk_accounts', $1, timeout_ms => 0);
EXECUTE try_untyped('3');  -- missing: nothing more held
SELECT * FROM tk_mine;
-- Typed values and row values still take the "any" form, with the same result.
SELECT lockguard_acquire_row('tk_accounts', 1) AS typed, lockguard_acquire_row('tk_pair', ROW(1, 'x'), 'FOR SHARE') AS row_value;
-- The three forms side by side (none of them ambiguous for the calls above).
SELECT p.oid::regprocedure AS form
FROM pg_proc p WHERE p.proname = 'lockguard_acquire_row' ORDER BY 1;
ROLLBACK;
DEALLOCATE ALL;

-- The try-lock in one session: acquired and missing for each scope (busy needs a second
-- session: test/isolation/specs/acquire_bounds.spec). Missing leaves nothing held.
BEGIN;
SELECT lockguard_try_acquire('tk:one') AS named,
       lockguard_try_acquire_row('tk_accounts', 1) AS row,
       lockguard_try_acquire_row('tk_accounts', 99) AS missing_row,
       lockguard_try_acquire_row('tk_pair', ARRAY['1', 'y']) AS missing_pair,
       lockguard_try_acquire_table('tk_accounts', 'ROW SHARE') AS table;
SELECT lockguard_try_acquire_all(ARRAY[lockguard.named_lock('tk:two'), lockguard.row_lock('tk_accounts', 98)])
  AS all_with_missing_row;
SELECT lockguard_try_acquire_all(ARRAY[lockguard.named_lock('tk:three'), lockguard.row_lock('tk_accounts', '4')])
  AS all_present;
SELECT * FROM tk_mine;
ROLLBACK;

-- Bad text keys are rejected before anything is taken.
BEGIN;
SELECT lockguard_acquire_row('tk_pair', ARRAY['1']);
ROLLBACK;
BEGIN;
SELECT lockguard_acquire_row('tk_pair', ARRAY['1', NULL]);
ROLLBACK;
BEGIN;
SELECT lockguard_acquire_row('tk_pair', '{}'::text[]);
ROLLBACK;
BEGIN;
SELECT lockguard_acquire_row('tk_accounts', 'abc');
ROLLBACK;
BEGIN;
SELECT lockguard_acquire_row('tk_accounts', NULL::text);
ROLLBACK;
-- Outside a transaction block the try-lock would release at once: refused like the others.
SELECT lockguard_try_acquire('tk:one');
SELECT count(*) AS left_held FROM lockguard.locks WHERE pid = pg_backend_pid();

DROP VIEW tk_mine;
DROP TABLE tk_accounts, tk_pair;
