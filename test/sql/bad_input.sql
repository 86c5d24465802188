-- Bad input: each gets a clear error with its SQLSTATE, and the transaction is left as
-- PostgreSQL would leave it (aborted inside a block, nothing taken).
\set VERBOSITY default
\set SHOW_CONTEXT never
BEGIN;
SELECT lockguard_acquire(NULL);
ROLLBACK;
BEGIN;
SELECT lockguard_acquire('');
ROLLBACK;
BEGIN;
SELECT lockguard_acquire(repeat('x', 256));
ROLLBACK;
BEGIN;
SELECT lockguard_acquire(repeat('x', 255));  -- the longest accepted name
SELECT length(resource) FROM lockguard.locks;
ROLLBACK;
BEGIN;
SELECT lockguard_acquire('r', timeout_ms => -1);
ROLLBACK;
BEGIN;
SELECT lockguard_acquire('r', timeout_ms => 2147483647);
ROLLBACK;
BEGIN;
SELECT lockguard_acquire('r', priority => 101);
ROLLBACK;
BEGIN;
SELECT lockguard_acquire('r', priority => -101);
ROLLBACK;
BEGIN;
SELECT lockguard_acquire('r', mode => 'exclusiv');
ROLLBACK;
BEGIN;
SELECT lockguard_acquire('r', mode => '');
ROLLBACK;
BEGIN;
SELECT lockguard_acquire('r', timeout_ms => 'soon');
ROLLBACK;
-- Outside a transaction block the lock would end with the statement.
SELECT lockguard_acquire('r');

-- The SQLSTATEs, as a program sees them.
CREATE FUNCTION sqlstate_of(call text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE call;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;
SELECT call, sqlstate_of(call) FROM (VALUES
  ('SELECT lockguard_acquire(NULL)'),
  ('SELECT lockguard_acquire('''')'),
  ('SELECT lockguard_acquire(repeat(''x'', 300))'),
  ('SELECT lockguard_acquire(''r'', -5)'),
  ('SELECT lockguard_acquire(''r'', 10, 1000)'),
  ('SELECT lockguard_acquire(''r'', 10, 0, ''nope'')'),
  ('SELECT lockguard_acquire(''r'', NULL, NULL, NULL)')
) AS calls(call);
DROP FUNCTION sqlstate_of(text);
-- The caller's transaction survives a caught error and the lock_timeout it set is intact.
BEGIN;
SET LOCAL lock_timeout = '3s';
DO $$ BEGIN PERFORM lockguard_acquire('r', -1); EXCEPTION WHEN invalid_parameter_value THEN NULL; END $$;
SHOW lock_timeout;
SELECT lockguard_acquire('r');
SELECT resource FROM lockguard.locks;
COMMIT;
