-- Named resources: lockguard_acquire() takes a transaction-scoped lock that shows in
-- lockguard.locks and pg_locks, and is released at commit or rollback.

BEGIN;
SELECT lockguard_acquire('payment:42');
SELECT resource, scope, mode, granted, priority, pid = pg_backend_pid() AS mine FROM lockguard.locks;
-- The lock lives in lockguard's own advisory key space (objsubid 19527), not the application's.
SELECT locktype, mode, granted, objsubid FROM pg_locks WHERE locktype = 'advisory';
-- Taking it again in the same transaction is a no-op.
SELECT lockguard_acquire('payment:42');
SELECT count(*) FROM lockguard.locks;
COMMIT;
SELECT count(*) AS after_commit FROM lockguard.locks;

-- An application advisory lock on the same numbers never meets lockguard's.
BEGIN;
SELECT lockguard_acquire('payment:42');
SELECT pg_try_advisory_xact_lock(classid::bigint << 32 | objid::bigint) AS app_lock_free
FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 19527;
ROLLBACK;
SELECT count(*) AS after_rollback FROM lockguard.locks;

-- Shared and exclusive modes, named the way users write them.
BEGIN;
SELECT lockguard_acquire('report:1', mode => 'shared');
SELECT lockguard_acquire('report:2', mode => 'EXCLUSIVE');
SELECT lockguard_acquire('report:3', mode => ' Share ');
SELECT resource, mode FROM lockguard.locks ORDER BY resource;
SELECT mode, count(*) FROM pg_locks WHERE locktype = 'advisory' GROUP BY mode ORDER BY mode;
COMMIT;

-- A lock taken in a subtransaction that rolls back is gone; one from a released savepoint stays.
BEGIN;
SAVEPOINT a;
SELECT lockguard_acquire('sub:rolled-back');
ROLLBACK TO SAVEPOINT a;
SAVEPOINT b;
SELECT lockguard_acquire('sub:kept');
RELEASE SAVEPOINT b;
SELECT resource FROM lockguard.locks;
SELECT count(*) AS lock_manager_count FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 19527;
COMMIT;

-- Inside a function the transaction is the caller's: allowed outside BEGIN.
CREATE FUNCTION locked_work() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  PERFORM lockguard_acquire('work:1');
  RETURN (SELECT count(*) FROM lockguard.locks WHERE resource = 'work:1');
END $$;
SELECT locked_work();
SELECT count(*) AS released_with_statement FROM lockguard.locks;
DROP FUNCTION locked_work();
