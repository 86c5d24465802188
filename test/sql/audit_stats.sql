-- Audit trail and wait statistics. A prepared transaction holds locks so that this one session
-- can time out on them. Timestamps, pids and durations vary: they are compared, not printed.
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO accounts VALUES (1, 100), (2, 200), (3, 300);
CREATE TABLE ledger (id int PRIMARY KEY);

-- This database's audit entries for the resources of this test, in order.
CREATE VIEW my_audit AS
SELECT resource, scope, mode, outcome, attempts, priority, tenant, role = current_user AS my_role,
       coalesce(trace_id, '') AS trace_id
FROM lockguard.audit
WHERE database = current_database() AND (resource LIKE 'audit:%' OR resource LIKE 'public.accounts(%'
                                         OR resource = 'public.ledger' OR resource LIKE 'lockguard_run(%')
ORDER BY epoch, seq;
CREATE VIEW busy_stats AS
SELECT tenant, scope, resource_class, acquisitions, waited, timeouts, deadlocks
FROM lockguard.wait_stats
WHERE acquisitions + timeouts + deadlocks > 0
ORDER BY scope, resource_class, tenant;

------------------------------------------------------------------------------------------
-- Wait statistics: one row per tenant, scope and resource class
------------------------------------------------------------------------------------------
SELECT lockguard.reset_wait_stats();
SELECT * FROM busy_stats;
BEGIN;
SELECT lockguard_acquire('audit:1');
SELECT lockguard_acquire('audit:2', mode => 'shared');
SELECT lockguard_acquire('payment:42');
SELECT lockguard_acquire('payment');
SELECT lockguard_acquire_row('accounts', 1);
SELECT lockguard_acquire_row('accounts', 404);
SELECT lockguard_acquire_table('ledger', 'ROW SHARE');
-- Taking a lock already held is not another acquisition.
SELECT lockguard_acquire('audit:1');
COMMIT;
SELECT * FROM busy_stats;
-- Uncontended: nothing waited, percentiles zero.
SELECT bool_and(p50_ms = 0 AND p95_ms = 0 AND p99_ms = 0 AND max_ms = 0) AS no_waits
FROM lockguard.wait_stats WHERE acquisitions > 0;
-- Short uncontended acquisitions are not audited (lockguard.audit_min_wait_ms = 100).
SHOW lockguard.audit_min_wait_ms;
SELECT count(*) AS audited FROM my_audit;

------------------------------------------------------------------------------------------
-- PREPARE TRANSACTION is refused while lockguard locks are held: a prepared transaction would
-- keep the locks (past a restart) while the tenant budget and the published slot went back.
------------------------------------------------------------------------------------------
BEGIN;
SELECT lockguard_acquire('audit:prepared');
PREPARE TRANSACTION 'lg_audit_refused';
SELECT count(*) AS prepared FROM pg_prepared_xacts WHERE gid = 'lg_audit_refused';
SELECT count(*) AS still_held FROM lockguard.locks WHERE pid = pg_backend_pid();
-- Without lockguard locks a transaction prepares as before.
BEGIN;
SELECT id FROM accounts WHERE id = 1 FOR UPDATE;
PREPARE TRANSACTION 'lg_audit_plain';
ROLLBACK PREPARED 'lg_audit_plain';

------------------------------------------------------------------------------------------
-- Timeouts: held by another session (through dblink, in this database)
------------------------------------------------------------------------------------------
CREATE EXTENSION dblink;
SELECT dblink_connect('holder', format('host=%s port=%s dbname=%s',
                      split_part(current_setting('unix_socket_directories'), ',', 1),
                      current_setting('port'), current_database())) AS connected;
SELECT dblink_exec('holder', 'BEGIN');
SELECT * FROM dblink('holder', $$SELECT 'held' FROM lockguard_acquire('audit:held')$$) AS t(named text);
SELECT * FROM dblink('holder', $$SELECT 'held' FROM lockguard_acquire_table('ledger', 'ACCESS EXCLUSIVE')$$)
  AS t(table_lock text);
-- Row 2 through lockguard, row 3 with a plain SELECT ... FOR UPDATE (no lockguard gate).
SELECT * FROM dblink('holder', $$SELECT lockguard_acquire_row('accounts', 2)$$) AS t(row_2 boolean);
SELECT * FROM dblink('holder', $$SELECT id FROM accounts WHERE id = 3 FOR UPDATE$$) AS t(row_3 int);

SET lockguard.trace_id = 'trace-rolled-back';
BEGIN;
\set VERBOSITY terse
SELECT lockguard_acquire('audit:held', timeout_ms => 20);
\set VERBOSITY default
ROLLBACK;
RESET lockguard.trace_id;
-- The same failure as a program sees it: the detail says who held it and how long we waited;
-- the waiter never names itself as the holder.
SELECT sqlstate, message,
       detail ~ '^Resource "audit:held" is held by .*; waited \d+ ms\.$' AS detail_shape,
       detail NOT LIKE '%PID ' || pg_backend_pid() || '%' AS not_blamed_on_itself
FROM try($$ SELECT lockguard_acquire('audit:held', timeout_ms => 20) $$);
-- timeout_ms => 0: fails at once.
SELECT sqlstate, message FROM try($$ SELECT lockguard_acquire('audit:held', timeout_ms => 0) $$);
-- A row held through lockguard: timeout on the row's gate.
SELECT sqlstate, message FROM try($$ SELECT lockguard_acquire_row('accounts', 2, timeout_ms => 20) $$);
-- A row locked without lockguard: timeout on the row itself, within the same timeout.
SELECT sqlstate, message, detail ~ '^Resource "public\.accounts\(3\)" is held by PID \d+, which locked the row without lockguard; waited \d+ ms\.$' AS detail_ok
FROM try($$ SELECT lockguard_acquire_row('accounts', 3, timeout_ms => 20) $$);
-- A table held: timeout on its gate.
SELECT sqlstate, message FROM try($$ SELECT lockguard_acquire_table('ledger', 'ACCESS SHARE', timeout_ms => 20) $$);

-- Every timeout is audited, including the one whose transaction rolled back.
SELECT * FROM my_audit;
SELECT count(*) FILTER (WHERE waited_ms >= 10) AS waited_at_least_10ms,
       count(*) FILTER (WHERE waited_ms < 10) AS waited_less,
       count(*) FILTER (WHERE pid = pg_backend_pid()) AS mine,
       count(*) FILTER (WHERE pg_backend_pid() = ANY (blocking_pids)) AS blamed_on_itself,
       count(*) FILTER (WHERE logged_at <= now() - interval '1 hour' OR logged_at > clock_timestamp())
         AS odd_timestamps
FROM lockguard.audit WHERE database = current_database() AND outcome = 'timeout';
SELECT * FROM busy_stats;

------------------------------------------------------------------------------------------
-- lockguard.audit_min_wait_ms: 0 audits every granted acquisition, -1 only failures. Only a
-- superuser may change it.
------------------------------------------------------------------------------------------
SET lockguard.audit_min_wait_ms = 0;
BEGIN;
SELECT lockguard_acquire('audit:granted', priority => 7);
ROLLBACK;  -- the entry is written when the lock is granted; a rollback does not remove it
SET lockguard.audit_min_wait_ms = -1;
BEGIN;
SELECT lockguard_acquire('audit:not-audited');
COMMIT;
SELECT sqlstate, message FROM try($$ SELECT lockguard_acquire('audit:held', timeout_ms => 0) $$);
RESET lockguard.audit_min_wait_ms;
SELECT resource, outcome, priority, attempts FROM my_audit WHERE resource IN ('audit:granted', 'audit:not-audited');
SELECT count(*) AS timeouts_still_audited FROM my_audit WHERE resource = 'audit:held';
CREATE ROLE lg_audit_user;
SET ROLE lg_audit_user;
SET lockguard.audit_min_wait_ms = 0;
SHOW lockguard.audit_min_wait_ms;
RESET ROLE;
DROP ROLE lg_audit_user;

------------------------------------------------------------------------------------------
-- The retry envelope audits its retries and its giving up.
------------------------------------------------------------------------------------------
CREATE FUNCTION audited_work() RETURNS jsonb LANGUAGE sql AS $$ SELECT '{}'::jsonb $$;
SELECT sqlstate, message,
       detail ~ 'lockguard_run gave up after 2 attempts in \d+ ms \(max_attempts reached\)\.$' AS gave_up
FROM try($$ SELECT lockguard_run(ARRAY[lockguard.named_lock('audit:held')], 'audited_work()', max_attempts => 2,
                                  timeout_ms => 10, backoff_base_ms => 1, backoff_max_ms => 1) $$);
SELECT resource, scope, mode, outcome, attempts FROM my_audit
WHERE resource IN ('audit:held', 'lockguard_run(audited_work())')
ORDER BY outcome, attempts;
DROP FUNCTION audited_work();

------------------------------------------------------------------------------------------
-- Trace ids: lockguard.trace_id, else a W3C traceparent in application_name.
------------------------------------------------------------------------------------------
SET application_name = 'co 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
SELECT sqlstate FROM try($$ SELECT lockguard_acquire('audit:held', timeout_ms => 0) $$);
SET lockguard.trace_id = 'explicit-trace';
SELECT sqlstate FROM try($$ SELECT lockguard_acquire('audit:held', timeout_ms => 0) $$);
RESET lockguard.trace_id;
-- An all-zero trace id is not a trace id.
SET application_name = 'co 00-00000000000000000000000000000000-00f067aa0ba902b7-01';
SELECT sqlstate FROM try($$ SELECT lockguard_acquire('audit:held', timeout_ms => 0) $$);
RESET application_name;
SELECT trace_id FROM my_audit WHERE resource = 'audit:held' ORDER BY trace_id;

------------------------------------------------------------------------------------------
-- flush_audit() persists the entries once: a second call finds nothing new, and the view
-- shows every entry exactly once.
------------------------------------------------------------------------------------------
CREATE TEMP TABLE before_flush AS SELECT epoch, seq FROM lockguard.audit;
SELECT lockguard.flush_audit() > 0 AS flushed_some;
SELECT lockguard.flush_audit() AS flushed_again;
SELECT (SELECT count(*) FROM lockguard.audit) = (SELECT count(*) FROM before_flush) AS same_count,
       (SELECT count(*) FROM (SELECT epoch, seq FROM lockguard.audit GROUP BY epoch, seq HAVING count(*) > 1) d)
         AS duplicates,
       (SELECT count(*) FROM lockguard.audit_log l JOIN before_flush b USING (epoch, seq)) = (SELECT count(*) FROM before_flush)
         AS all_persisted;
-- Persisted entries survive a rollback of a later transaction, and are still shown.
BEGIN;
SELECT lockguard.flush_audit();
ROLLBACK;
SELECT count(*) AS shown_after_flush FROM my_audit;

------------------------------------------------------------------------------------------
-- The ring is copied 256 entries at a time (each chunk under its own hold of the ring's lock,
-- so that sessions writing entries never wait for a whole copy): 600 new entries, more than
-- two chunks, come back once each, oldest first, none missing.
------------------------------------------------------------------------------------------
CREATE TEMP TABLE seq_before AS SELECT coalesce(max(seq), 0) AS seq FROM lockguard._audit_buffer();
SELECT count(*) FILTER (WHERE t.sqlstate = '55P03') AS timeouts
FROM generate_series(1, 600) g,
     LATERAL try(format($$ SELECT lockguard_acquire('audit:held', timeout_ms => 0) -- %s $$, g)) t;
SELECT count(*) AS copied, count(DISTINCT seq) AS distinct_seqs, max(seq) - min(seq) + 1 AS span,
       bool_and(seq > previous) AS oldest_first
FROM (SELECT b.seq, lag(b.seq, 1, 0::bigint) OVER (ORDER BY b.n) AS previous
      FROM ROWS FROM (lockguard._audit_buffer()) WITH ORDINALITY AS b(epoch, seq, logged_at, pid, role_oid,
           database_oid, tenant, resource, resource_class, scope, mode, priority, waited_ms, outcome, attempts,
           blocking_pids, trace_id, n)
      WHERE b.seq > (SELECT seq FROM seq_before)) copied;
DROP TABLE seq_before;

SELECT dblink_exec('holder', 'ROLLBACK');
SELECT dblink_disconnect('holder');
DROP EXTENSION dblink;
SELECT count(*) AS leftover_locks FROM lockguard.locks;
DROP TABLE before_flush;
DROP VIEW busy_stats;
DROP VIEW my_audit;
DROP TABLE accounts, ledger;
