-- lockguard 1.0
\echo Use "CREATE EXTENSION lockguard" to load this file. \quit

-- The acquire API lives in the schema the extension is installed into (public by default);
-- views, tables and internal functions live in schema lockguard.
CREATE SCHEMA lockguard;
COMMENT ON SCHEMA lockguard IS 'lockguard: lock views, statistics, configuration and history';

-- Refuse to install unless the library was preloaded: without shared memory nothing works.
CREATE FUNCTION lockguard._check_preloaded() RETURNS void
    AS 'MODULE_PATHNAME', 'lockguard_check_preloaded' LANGUAGE C VOLATILE PARALLEL UNSAFE;
SELECT lockguard._check_preloaded();

------------------------------------------------------------------------------------------
-- Named resources
------------------------------------------------------------------------------------------
CREATE FUNCTION lockguard_acquire(
    resource text,
    timeout_ms integer DEFAULT NULL,
    priority integer DEFAULT 0,
    mode text DEFAULT 'exclusive')
RETURNS void
AS 'MODULE_PATHNAME', 'lockguard_acquire_named'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_acquire(text, integer, integer, text) IS
'Take a transaction-scoped lock on a named resource, waiting at most timeout_ms (NULL: lockguard.default_timeout_ms)';

------------------------------------------------------------------------------------------
-- Views
------------------------------------------------------------------------------------------
CREATE FUNCTION lockguard._lock_registry(
    OUT pid integer, OUT database oid, OUT classid oid, OUT objid oid, OUT objsubid smallint,
    OUT lockmode text, OUT resource text, OUT scope text, OUT mode text, OUT priority integer,
    OUT wait_start timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lockguard_lock_registry'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Every lockguard lock held or awaited in the cluster. pg_locks is the authority on who holds
-- and who waits; the registry adds the names the callers used.
CREATE VIEW lockguard.locks AS
SELECT r.resource,
       r.scope,
       r.mode,
       l.pid,
       l.granted,
       l.waitstart AS wait_started,
       CASE WHEN NOT l.granted
            THEN (extract(epoch FROM clock_timestamp() - l.waitstart) * 1000)::bigint END AS wait_ms,
       r.priority,
       d.datname AS database,
       a.usename,
       a.application_name,
       CASE WHEN NOT l.granted THEN pg_catalog.pg_blocking_pids(l.pid) END AS blocked_by
FROM pg_catalog.pg_locks l
JOIN lockguard._lock_registry() r
  ON r.pid = l.pid AND r.database = l.database AND r.classid = l.classid AND r.objid = l.objid
 AND r.objsubid = l.objsubid AND r.lockmode = l.mode
 AND (r.wait_start IS NOT NULL) = (NOT l.granted)
LEFT JOIN pg_catalog.pg_database d ON d.oid = l.database
LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.objsubid IN (19527, 19528, 19529);
COMMENT ON VIEW lockguard.locks IS 'lockguard locks held and awaited now, with resource names and wait times';

CREATE FUNCTION lockguard.queue_stats(
    OUT waits bigint, OUT reorders bigint, OUT moved bigint, OUT mixed_mode_queues bigint,
    OUT inconsistent_queues bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'lockguard_queue_stats'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard.queue_stats() IS
'How many lockguard acquisitions waited, and how often releasers reordered a wait queue';
