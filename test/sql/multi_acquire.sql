-- lockguard_acquire_all(): several resources of any scope in one call, taken in one canonical
-- order (tables, rows, named), duplicates collapsed to the mode that covers both, within one
-- timeout. Returns how many distinct locks it holds and how many requested rows are missing.
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE TABLE wallets (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO wallets VALUES (1, 10), (2, 20), (3, 30);
CREATE TABLE ledger (a int, b text, PRIMARY KEY (a, b));
INSERT INTO ledger VALUES (1, 'x');
CREATE VIEW wallets_view AS SELECT * FROM wallets;


-- The request constructors.
SELECT lockguard.named_lock('payment:1');
SELECT lockguard.named_lock('payment:1', 'shared');
SELECT lockguard.row_lock('wallets', 1);
SELECT lockguard.row_lock('ledger', ROW(1, 'x'), 'FOR KEY SHARE');
SELECT lockguard.table_lock('wallets');
SELECT lockguard.table_lock('wallets', 'ROW EXCLUSIVE');

------------------------------------------------------------------------------------------
-- One resource of each scope
------------------------------------------------------------------------------------------
BEGIN;
SELECT * FROM lockguard_acquire_all(ARRAY[
  lockguard.named_lock('payment:1'),
  lockguard.row_lock('wallets', 1),
  lockguard.table_lock('ledger', 'ROW SHARE')]);
SELECT resource, scope, mode, granted FROM lockguard.locks ORDER BY scope, resource;
SELECT objsubid, mode FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() ORDER BY objsubid;
SELECT id, xmax = pg_current_xact_id()::xid AS locked_by_me FROM wallets ORDER BY id;
COMMIT;
SELECT count(*) AS after_commit FROM lockguard.locks;

------------------------------------------------------------------------------------------
-- Duplicates collapse to the mode that covers both
------------------------------------------------------------------------------------------
-- named: shared + exclusive = exclusive
BEGIN;
SELECT * FROM lockguard_acquire_all(ARRAY[
  lockguard.named_lock('report:1', 'shared'), lockguard.named_lock('report:1', 'exclusive')]);
SELECT resource, mode FROM lockguard.locks;
SELECT mode FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
ROLLBACK;
-- named: shared + shared = shared
BEGIN;
SELECT * FROM lockguard_acquire_all(ARRAY[
  lockguard.named_lock('report:1', 'shared'), lockguard.named_lock('report:1', 'share')]);
SELECT resource, mode FROM lockguard.locks;
ROLLBACK;
-- row: FOR SHARE + FOR NO KEY UPDATE = FOR NO KEY UPDATE (it already conflicts with everything
-- FOR SHARE conflicts with); the key may be written differently and still name the same row.
BEGIN;
SELECT * FROM lockguard_acquire_all(ARRAY[
  lockguard.row_lock('wallets', 2, 'FOR SHARE'), lockguard.row_lock('wallets', '02', 'FOR NO KEY UPDATE')]);
SELECT resource, mode FROM lockguard.locks;
SELECT mode FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
ROLLBACK;
-- row: FOR KEY SHARE + FOR SHARE = FOR SHARE; anything + FOR UPDATE = FOR UPDATE
BEGIN;
SELECT * FROM lockguard_acquire_all(ARRAY[
  lockguard.row_lock('wallets', 1, 'FOR KEY SHARE'), lockguard.row_lock('wallets', 1, 'FOR SHARE'),
  lockguard.row_lock('wallets', 2, 'FOR KEY SHARE'), lockguard.row_lock('wallets', 2, 'FOR UPDATE'),
  lockguard.row_lock('wallets', 3, 'FOR KEY SHARE'), lockguard.row_lock('wallets', 3, 'FOR KEY SHARE')]);
SELECT resource, mode FROM lockguard.locks ORDER BY resource;
ROLLBACK;
-- table: ROW EXCLUSIVE + SHARE = SHARE ROW EXCLUSIVE (each conflicts with something the
-- other does not); the table itself is locked in that mode.
BEGIN;
SELECT * FROM lockguard_acquire_all(ARRAY[
  lockguard.table_lock('ledger', 'ROW EXCLUSIVE'), lockguard.table_lock('ledger', 'SHARE')]);
SELECT resource, mode FROM lockguard.locks;
SELECT mode FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
SELECT mode FROM pg_locks WHERE relation = 'ledger'::regclass AND pid = pg_backend_pid() ORDER BY mode;
ROLLBACK;
-- table: ACCESS SHARE + ROW SHARE = ROW SHARE
BEGIN;
SELECT * FROM lockguard_acquire_all(ARRAY[
  lockguard.table_lock('ledger', 'ACCESS SHARE'), lockguard.table_lock('ledger', 'ROW SHARE')]);
SELECT resource, mode FROM lockguard.locks;
ROLLBACK;
-- The same row named as a row and its table named as a table are different resources.
BEGIN;
SELECT * FROM lockguard_acquire_all(ARRAY[
  lockguard.table_lock('wallets', 'ROW SHARE'), lockguard.row_lock('wallets', 1),
  lockguard.named_lock('wallets'), lockguard.named_lock('wallets(1)')]);
SELECT scope, resource, mode FROM lockguard.locks ORDER BY scope, resource;
ROLLBACK;

------------------------------------------------------------------------------------------
-- Missing rows are counted, not errors
------------------------------------------------------------------------------------------
BEGIN;
SELECT * FROM lockguard_acquire_all(ARRAY[
  lockguard.row_lock('wallets', 1), lockguard.row_lock('wallets', 404),
  lockguard.row_lock('ledger', ROW(9, 'none')), lockguard.named_lock('x')]);
ROLLBACK;
-- Several requests, mixed and repeated: the count is of distinct locks after collapsing.
BEGIN;
SELECT * FROM lockguard_acquire_all(ARRAY[
  lockguard.named_lock('a'), lockguard.named_lock('b'), lockguard.named_lock('a', 'shared'),
  lockguard.row_lock('wallets', 404), lockguard.row_lock('wallets', 404, 'FOR SHARE'),
  lockguard.table_lock('ledger', 'ACCESS SHARE')]);
SELECT count(*) AS listed FROM lockguard.locks;
ROLLBACK;

------------------------------------------------------------------------------------------
-- Inside a function, outside BEGIN
------------------------------------------------------------------------------------------
CREATE FUNCTION lock_several() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  PERFORM lockguard_acquire_all(ARRAY[lockguard.named_lock('f:1'), lockguard.row_lock('wallets', 1)]);
  RETURN (SELECT count(*) FROM lockguard.locks WHERE pid = pg_backend_pid());
END $$;
SELECT lock_several() AS held;
SELECT count(*) AS released_with_statement FROM lockguard.locks;
DROP FUNCTION lock_several();

------------------------------------------------------------------------------------------
-- Bad input
------------------------------------------------------------------------------------------
SELECT * FROM lockguard_acquire_all(ARRAY[lockguard.named_lock('a')]);
BEGIN;
SELECT * FROM lockguard_acquire_all(ARRAY[]::lockguard.lock_request[]);
ROLLBACK;
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[]::lockguard.lock_request[]) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_all(NULL) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[lockguard.named_lock('a'), NULL]) $$);
-- Bad scope, missing scope.
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[ROW('global', NULL, 'x', NULL, NULL)::lockguard.lock_request]) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[ROW(NULL, NULL, 'x', NULL, NULL)::lockguard.lock_request]) $$);
-- Missing resource, relation, key.
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[lockguard.named_lock(NULL)]) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[lockguard.named_lock('')]) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[lockguard.table_lock(NULL)]) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[ROW('row', NULL, NULL, '{1}', NULL)::lockguard.lock_request]) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[ROW('row', 'wallets', NULL, NULL, NULL)::lockguard.lock_request]) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[lockguard.row_lock('wallets', NULL::int)]) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[ROW('row', 'wallets', NULL, '{NULL}', NULL)::lockguard.lock_request]) $$);
-- Unknown relation, not a table, no such key column count, bad key, bad modes.
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[lockguard.table_lock(99999::oid::regclass)]) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[lockguard.row_lock(99999::oid::regclass, 1)]) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[lockguard.table_lock('wallets_view')]) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[lockguard.row_lock('ledger', 1)]) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[lockguard.row_lock('wallets', 'abc')]) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[lockguard.named_lock('a', 'weird')]) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[lockguard.row_lock('wallets', 1, 'FOR FUN')]) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[lockguard.table_lock('wallets', 'SUPER')]) $$);
-- Bad timeout and priority.
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[lockguard.named_lock('a')], timeout_ms => -5) $$);
SELECT * FROM try($$ SELECT lockguard_acquire_all(ARRAY[lockguard.named_lock('a')], priority => 101) $$);
-- A bad request anywhere in the array fails the call; the transaction is aborted as usual.
BEGIN;
SELECT * FROM lockguard_acquire_all(ARRAY[lockguard.named_lock('a'), lockguard.row_lock('wallets', 1, 'FOR FUN')]);
SELECT 1;
ROLLBACK;
SELECT count(*) AS leftover_locks FROM lockguard.locks;

DROP VIEW wallets_view;
DROP TABLE wallets, ledger;
