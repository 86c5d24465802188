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
-- Rows and tables
------------------------------------------------------------------------------------------
-- Like SELECT ... FOR UPDATE on one row by primary key: key is a value, or ROW(...) for a
-- composite key. Returns whether the row exists.
CREATE FUNCTION lockguard_acquire_row(
    relation regclass,
    key "any",
    mode text DEFAULT 'FOR UPDATE',
    timeout_ms integer DEFAULT NULL,
    priority integer DEFAULT 0)
RETURNS boolean
AS 'MODULE_PATHNAME', 'lockguard_acquire_row'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_acquire_row(regclass, "any", text, integer, integer) IS
'Lock one row by primary key like SELECT ... FOR UPDATE, queueing by priority, waiting at most timeout_ms; returns whether the row exists';

-- Like LOCK TABLE in any of its eight modes.
CREATE FUNCTION lockguard_acquire_table(
    relation regclass,
    mode text DEFAULT 'ACCESS EXCLUSIVE',
    timeout_ms integer DEFAULT NULL,
    priority integer DEFAULT 0)
RETURNS void
AS 'MODULE_PATHNAME', 'lockguard_acquire_table'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_acquire_table(regclass, text, integer, integer) IS
'Lock a table like LOCK TABLE, queueing by priority, waiting at most timeout_ms';

------------------------------------------------------------------------------------------
-- Several resources at once, in one canonical order
------------------------------------------------------------------------------------------
CREATE TYPE lockguard.lock_request AS (
    scope text,           -- named, row or table
    relation regclass,    -- row and table scopes
    resource text,        -- named scope
    key text[],           -- row scope: primary-key values as text
    mode text);
COMMENT ON TYPE lockguard.lock_request IS
'One resource for lockguard_acquire_all(); build it with lockguard.named_lock(), row_lock() or table_lock()';

CREATE FUNCTION lockguard.named_lock(resource text, mode text DEFAULT 'exclusive')
RETURNS lockguard.lock_request
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ROW('named', NULL, resource, NULL, mode)::lockguard.lock_request $$;

CREATE FUNCTION lockguard.row_lock(relation regclass, key "any", mode text DEFAULT 'FOR UPDATE')
RETURNS lockguard.lock_request
AS 'MODULE_PATHNAME', 'lockguard_row_request'
LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION lockguard.table_lock(relation regclass, mode text DEFAULT 'ACCESS EXCLUSIVE')
RETURNS lockguard.lock_request
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ROW('table', relation, NULL, NULL, mode)::lockguard.lock_request $$;

CREATE FUNCTION lockguard_acquire_all(
    requests lockguard.lock_request[],
    timeout_ms integer DEFAULT NULL,
    priority integer DEFAULT 0,
    OUT locks integer,
    OUT rows_missing integer)
RETURNS record
AS 'MODULE_PATHNAME', 'lockguard_acquire_all'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_acquire_all(lockguard.lock_request[], integer, integer) IS
'Lock several resources in one canonical order (deadlock-free among its callers), within one timeout';

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

------------------------------------------------------------------------------------------
-- Audit: acquisitions that waited long, timed out, deadlocked or were retried. Written to
-- shared memory by the acquiring backend (so a rollback cannot lose them), persisted into
-- lockguard.audit_log by lockguard.flush_audit() (the background worker calls it).
------------------------------------------------------------------------------------------
CREATE FUNCTION lockguard._audit_buffer(
    OUT epoch timestamptz, OUT seq bigint, OUT logged_at timestamptz, OUT pid integer,
    OUT role_oid oid, OUT database_oid oid, OUT tenant text, OUT resource text, OUT scope text,
    OUT mode text, OUT priority integer, OUT waited_ms double precision, OUT outcome text,
    OUT attempts integer, OUT blocking_pids integer[], OUT trace_id text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lockguard_audit_buffer'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE TABLE lockguard.audit_log (
    epoch timestamptz NOT NULL,     -- when the server's shared memory was set up
    seq bigint NOT NULL,            -- order within the epoch; a gap means entries were lost
    logged_at timestamptz NOT NULL,
    pid integer NOT NULL,
    role_oid oid,
    database_oid oid,
    tenant text,
    resource text NOT NULL,
    scope text NOT NULL,
    mode text NOT NULL,
    priority integer NOT NULL,
    waited_ms double precision NOT NULL,
    outcome text NOT NULL,
    attempts integer NOT NULL,
    blocking_pids integer[] NOT NULL,
    trace_id text,
    PRIMARY KEY (epoch, seq)
);
CREATE INDEX audit_log_logged_at ON lockguard.audit_log (logged_at);
COMMENT ON TABLE lockguard.audit_log IS 'Persisted lockguard audit entries (see lockguard.audit)';

-- Copies the entries not yet persisted; returns how many. Idempotent.
CREATE FUNCTION lockguard.flush_audit() RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH fresh AS (
        INSERT INTO lockguard.audit_log
        SELECT b.* FROM lockguard._audit_buffer() b
        WHERE b.seq > coalesce((SELECT max(l.seq) FROM lockguard.audit_log l WHERE l.epoch = b.epoch), 0)
        ON CONFLICT DO NOTHING
        RETURNING 1)
    SELECT count(*) FROM fresh
$$;

-- The whole audit trail: persisted entries and those still only in shared memory.
CREATE VIEW lockguard.audit AS
WITH persisted AS (SELECT epoch, max(seq) AS last_seq FROM lockguard.audit_log GROUP BY epoch),
entries AS (
    SELECT l.* FROM lockguard.audit_log l
    UNION ALL
    SELECT b.* FROM lockguard._audit_buffer() b
    LEFT JOIN persisted p ON p.epoch = b.epoch
    WHERE b.seq > coalesce(p.last_seq, 0))
SELECT e.logged_at, e.pid, r.rolname AS role, d.datname AS database, e.tenant, e.resource, e.scope,
       e.mode, e.priority, round(e.waited_ms::numeric, 3) AS waited_ms, e.outcome, e.attempts,
       e.blocking_pids, e.trace_id, e.epoch, e.seq
FROM entries e
LEFT JOIN pg_catalog.pg_roles r ON r.oid = e.role_oid
LEFT JOIN pg_catalog.pg_database d ON d.oid = e.database_oid;
COMMENT ON VIEW lockguard.audit IS 'lockguard acquisitions that waited long, timed out, deadlocked or were retried';

------------------------------------------------------------------------------------------
-- Wait statistics
------------------------------------------------------------------------------------------
CREATE FUNCTION lockguard._wait_stats(
    OUT tenant text, OUT scope text, OUT resource_class text, OUT acquisitions bigint,
    OUT waited bigint, OUT timeouts bigint, OUT deadlocks bigint, OUT p50_ms double precision,
    OUT p95_ms double precision, OUT p99_ms double precision, OUT max_ms double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lockguard_wait_stats'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Percentiles are bucket upper bounds (log-linear buckets: never below the true value, at most
-- 25% above it), capped at the largest wait seen.
CREATE VIEW lockguard.wait_stats AS
SELECT tenant, scope, resource_class, acquisitions, waited, timeouts, deadlocks,
       round(p50_ms::numeric, 3) AS p50_ms, round(p95_ms::numeric, 3) AS p95_ms,
       round(p99_ms::numeric, 3) AS p99_ms, round(max_ms::numeric, 3) AS max_ms
FROM lockguard._wait_stats();
COMMENT ON VIEW lockguard.wait_stats IS 'lockguard lock waits per tenant and resource class: counts and percentiles';

CREATE FUNCTION lockguard.reset_wait_stats() RETURNS void
AS 'MODULE_PATHNAME', 'lockguard_reset_wait_stats'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

------------------------------------------------------------------------------------------
-- Retry envelope
------------------------------------------------------------------------------------------
-- Takes the locks and runs work(arg) in a subtransaction; on 55P03 or 40P01 rolls that attempt
-- back, sleeps (exponential backoff with jitter) and tries again. work is a function or
-- procedure taking nothing or one jsonb; a jsonb result is returned as result.
CREATE FUNCTION lockguard_run(
    requests lockguard.lock_request[],
    work regprocedure,
    arg jsonb DEFAULT NULL,
    max_attempts integer DEFAULT 5,
    deadline_ms integer DEFAULT NULL,
    timeout_ms integer DEFAULT NULL,
    priority integer DEFAULT 0,
    backoff_base_ms integer DEFAULT 10,
    backoff_max_ms integer DEFAULT 1000,
    OUT attempts integer,
    OUT result jsonb)
RETURNS record
AS 'MODULE_PATHNAME', 'lockguard_run'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_run(lockguard.lock_request[], regprocedure, jsonb, integer, integer, integer, integer, integer, integer) IS
'Take the locks and run work(arg), retrying on lock timeout or deadlock with backoff, each attempt in a subtransaction';
