-- lockguard 1.1 -> 1.2
-- CREATE EXTENSION lockguard runs lockguard--1.0.sql, lockguard--1.0--1.1.sql and then this
-- script (default_version is 1.2); ALTER EXTENSION lockguard UPDATE runs it on a 1.1
-- installation. Released scripts (1.0, 1.0--1.1) are never edited: every SQL change after 1.1
-- goes here, in the section of the work it belongs to.
\echo Use "ALTER EXTENSION lockguard UPDATE TO '1.2'" to load this file. \quit

------------------------------------------------------------------------------------------
-- Acquire bounds: the try-lock, keys a driver sends untyped, prepared transactions.
------------------------------------------------------------------------------------------

-- Keys a driver sends untyped (pgbench -M prepared, node-postgres, many ORMs): PostgreSQL cannot
-- resolve an unknown-typed parameter against "any", so a text form sits beside each "any" one.
-- An untyped parameter or quoted literal resolves to text; a composite key goes as text[]
-- (ARRAY[$1, $2] of untyped parameters is text[]). Typed values and ROW(...) still take "any".
CREATE FUNCTION lockguard_acquire_row(
    relation regclass,
    key text,
    mode text DEFAULT 'FOR UPDATE',
    timeout_ms integer DEFAULT NULL,
    priority integer DEFAULT 0)
RETURNS boolean
AS 'MODULE_PATHNAME', 'lockguard_acquire_row'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_acquire_row(regclass, text, text, integer, integer) IS
'Lock one row by primary key given as text (an untyped parameter resolves here), like SELECT ... FOR UPDATE; returns whether the row exists';

CREATE FUNCTION lockguard_acquire_row(
    relation regclass,
    key text[],
    mode text DEFAULT 'FOR UPDATE',
    timeout_ms integer DEFAULT NULL,
    priority integer DEFAULT 0)
RETURNS boolean
AS 'MODULE_PATHNAME', 'lockguard_acquire_row'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_acquire_row(regclass, text[], text, integer, integer) IS
'Lock one row by a composite primary key given as text values, one per key column, like SELECT ... FOR UPDATE; returns whether the row exists';

CREATE FUNCTION lockguard.row_lock(relation regclass, key text, mode text DEFAULT 'FOR UPDATE')
RETURNS lockguard.lock_request
AS 'MODULE_PATHNAME', 'lockguard_row_request'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION lockguard.row_lock(regclass, text, text) IS
'A row request for lockguard_acquire_all() with the key given as text (an untyped parameter resolves here)';

CREATE FUNCTION lockguard.row_lock(relation regclass, key text[], mode text DEFAULT 'FOR UPDATE')
RETURNS lockguard.lock_request
AS 'MODULE_PATHNAME', 'lockguard_row_request'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION lockguard.row_lock(regclass, text[], text) IS
'A row request for lockguard_acquire_all() with a composite key given as text values';

-- The try-lock: the same arguments as the acquire functions, timeout_ms defaulting to 0 (do
-- not wait), and a result that tells the three outcomes apart without an exception block:
-- 'acquired' (held until the transaction ends), 'busy' (not obtained within timeout_ms) or
-- 'missing' (a row that does not exist). Busy and missing leave nothing held.
CREATE FUNCTION lockguard_try_acquire(
    resource text,
    timeout_ms integer DEFAULT 0,
    priority integer DEFAULT 0,
    mode text DEFAULT 'exclusive')
RETURNS text
AS 'MODULE_PATHNAME', 'lockguard_try_acquire_named'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_try_acquire(text, integer, integer, text) IS
'Try to lock a named resource, waiting at most timeout_ms (default 0): returns acquired or busy';

CREATE FUNCTION lockguard_try_acquire_row(
    relation regclass,
    key "any",
    mode text DEFAULT 'FOR UPDATE',
    timeout_ms integer DEFAULT 0,
    priority integer DEFAULT 0)
RETURNS text
AS 'MODULE_PATHNAME', 'lockguard_try_acquire_row'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_try_acquire_row(regclass, "any", text, integer, integer) IS
'Try to lock one row by primary key, waiting at most timeout_ms (default 0): returns acquired, busy or missing';

CREATE FUNCTION lockguard_try_acquire_row(
    relation regclass,
    key text,
    mode text DEFAULT 'FOR UPDATE',
    timeout_ms integer DEFAULT 0,
    priority integer DEFAULT 0)
RETURNS text
AS 'MODULE_PATHNAME', 'lockguard_try_acquire_row'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_try_acquire_row(regclass, text, text, integer, integer) IS
'Try to lock one row by primary key given as text, waiting at most timeout_ms (default 0): returns acquired, busy or missing';

CREATE FUNCTION lockguard_try_acquire_row(
    relation regclass,
    key text[],
    mode text DEFAULT 'FOR UPDATE',
    timeout_ms integer DEFAULT 0,
    priority integer DEFAULT 0)
RETURNS text
AS 'MODULE_PATHNAME', 'lockguard_try_acquire_row'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_try_acquire_row(regclass, text[], text, integer, integer) IS
'Try to lock one row by a composite primary key given as text values, waiting at most timeout_ms (default 0): returns acquired, busy or missing';

CREATE FUNCTION lockguard_try_acquire_table(
    relation regclass,
    mode text DEFAULT 'ACCESS EXCLUSIVE',
    timeout_ms integer DEFAULT 0,
    priority integer DEFAULT 0)
RETURNS text
AS 'MODULE_PATHNAME', 'lockguard_try_acquire_table'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_try_acquire_table(regclass, text, integer, integer) IS
'Try to lock a table like LOCK TABLE, waiting at most timeout_ms (default 0): returns acquired or busy';

CREATE FUNCTION lockguard_try_acquire_all(
    requests lockguard.lock_request[],
    timeout_ms integer DEFAULT 0,
    priority integer DEFAULT 0)
RETURNS text
AS 'MODULE_PATHNAME', 'lockguard_try_acquire_all'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_try_acquire_all(lockguard.lock_request[], integer, integer) IS
'Try to lock several resources in one canonical order within timeout_ms (default 0): returns acquired, busy (nothing held) or missing (a row does not exist; nothing held)';

-- end of the acquire section

------------------------------------------------------------------------------------------
-- Guardrails: policies that cover partitions and inheritance children.
------------------------------------------------------------------------------------------

-- A policy protects what its table's queries touch: its partitions and inheritance children at
-- any depth, including those attached or created later. include_children = false limits it to
-- the table itself.
ALTER TABLE lockguard.lock_policies ADD COLUMN include_children boolean NOT NULL DEFAULT true;
COMMENT ON COLUMN lockguard.lock_policies.include_children IS
'Whether the policy also protects the table''s partitions and inheritance children (at any depth, attached later too)';

-- end of the guardrails section

------------------------------------------------------------------------------------------
-- Monitoring cost: honest estimates for the views' set-returning functions.
------------------------------------------------------------------------------------------
-- The views people read are planned from declared estimates: a C set-returning function
-- without ROWS is taken to return 1000 rows, and the joins over those guesses put
-- lockguard.wait_graph at about 1.5 million cost units, far above jit_above_cost, so every read
-- paid for JIT compilation (about 650 ms) to return a handful of rows. Each function below says
-- how many rows it usually returns and what a row costs (COST is per row, in cpu_operator_cost
-- units); all are C functions, which the planner never inlines, so the estimates hold in every
-- view that reads them.

-- Every edge of the lock manager's wait-for graph now, read from the waiting processes only
-- (src/pg/sql_lock_waits.cpp): no pg_locks, no join. Its columns are pg_locks' for the lock
-- awaited; the edges are pg_blocking_pids()'s.
CREATE FUNCTION lockguard._lock_waits(
    OUT waiter_pid integer, OUT blocker_pid integer, OUT locktype text, OUT mode text,
    OUT wait_start timestamptz, OUT database oid, OUT relation oid, OUT page integer, OUT tuple smallint,
    OUT transactionid xid, OUT classid oid, OUT objid oid, OUT objsubid smallint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lockguard_lock_waits'
LANGUAGE C VOLATILE PARALLEL UNSAFE
ROWS 10 COST 400;
COMMENT ON FUNCTION lockguard._lock_waits() IS
'Who waits for whom in the lock manager now, one row per edge (what lockguard.wait_graph reads)';

-- Backend slots: one row per lockguard lock held or awaited (a few per busy session).
ALTER FUNCTION lockguard._lock_registry() ROWS 20 COST 10;
-- One row per session of pg_stat_activity's kind (max_connections is 100 by default).
ALTER FUNCTION lockguard._activity() ROWS 50 COST 10;
-- One row per (tenant, scope, resource class) seen, percentiles computed per row.
ALTER FUNCTION lockguard._wait_stats() ROWS 20 COST 20;
-- One row per tenant defined.
ALTER FUNCTION lockguard._tenant_stats() ROWS 5 COST 20;
-- The deadlock and audit rings: the entries not yet persisted (the worker empties them).
ALTER FUNCTION lockguard._deadlock_buffer() ROWS 5 COST 10;
ALTER FUNCTION lockguard._audit_buffer() ROWS 20 COST 10;
-- One row per node of the graph it is given.
ALTER FUNCTION lockguard._blocking_tree(integer[], integer[], integer[], bigint[]) ROWS 20 COST 10;
-- Administrators' consistency check: slots in use and tenant counters.
ALTER FUNCTION lockguard._shared_state() ROWS 50 COST 10;

-- The wait graph from lockguard._lock_waits() instead of pg_locks and a pg_blocking_pids() call
-- per waiter: the same rows, at a fraction of the cost, and estimated as such.
CREATE OR REPLACE VIEW lockguard.wait_graph AS
WITH registry AS (SELECT * FROM lockguard._lock_registry()),
activity AS (SELECT * FROM lockguard._activity())
SELECT w.waiter_pid,
       w.blocker_pid,
       w.locktype,
       CASE w.locktype
           WHEN 'relation' THEN coalesce(rel.name, w.relation::text)
           WHEN 'tuple' THEN format('%s (%s,%s)', coalesce(rel.name, w.relation::text), w.page, w.tuple)
           WHEN 'transactionid' THEN 'transaction ' || w.transactionid
           WHEN 'advisory' THEN coalesce(lg.resource, format('advisory %s/%s/%s', w.classid, w.objid, w.objsubid))
           ELSE w.locktype END AS target,
       w.mode,
       (extract(epoch FROM clock_timestamp() - w.wait_start) * 1000)::bigint AS wait_ms,
       wa.usename AS waiter_user,
       ba.usename AS blocker_user,
       wa.application_name AS waiter_app,
       ba.application_name AS blocker_app,
       (SELECT r.tenant FROM registry r WHERE r.pid = w.waiter_pid AND r.wait_start IS NOT NULL LIMIT 1) AS waiter_tenant,
       (SELECT r.tenant FROM registry r WHERE r.pid = w.blocker_pid AND r.wait_start IS NULL LIMIT 1) AS blocker_tenant,
       wa.query AS waiter_query,
       ba.query AS blocker_query,
       ba.state AS blocker_state,
       -- where the conflict is, for counting: a relation (tables and their rows) or a named resource
       CASE WHEN w.locktype IN ('relation', 'tuple') THEN 'relation'
            WHEN lg.scope IN ('row', 'table') THEN 'relation'
            WHEN lg.scope = 'named' THEN 'named' END AS conflict_kind,
       CASE WHEN w.locktype IN ('relation', 'tuple') THEN coalesce(rel.name, w.relation::text)
            WHEN lg.scope IN ('row', 'table') THEN lg.resource_class
            WHEN lg.scope = 'named' THEN lg.resource END AS conflict_target
FROM lockguard._lock_waits() w
LEFT JOIN LATERAL (
    SELECT format('%I.%I', n.nspname, c.relname) AS name
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = w.relation) rel ON w.locktype IN ('relation', 'tuple')
LEFT JOIN LATERAL (
    SELECT r.scope, r.resource, r.resource_class FROM registry r
    WHERE r.pid = w.waiter_pid AND r.wait_start IS NOT NULL LIMIT 1) lg ON w.locktype = 'advisory'
LEFT JOIN activity wa ON wa.pid = w.waiter_pid
LEFT JOIN activity ba ON ba.pid = w.blocker_pid;

-- Deadlocks: a log_lock_waits line is hidden when the same process reported the deadlock
-- itself within 5 seconds after it. 1.1 looked that up with a subquery per row, which is
-- quadratic in the rows kept (with 5000 kept, about 800000 cost units: JIT at every read of
-- this view and of lockguard.metrics); a window over each process's entries in time order
-- finds the same rows after one sort.
CREATE OR REPLACE VIEW lockguard.deadlocks AS
WITH persisted AS (SELECT epoch, max(seq) AS last_seq FROM lockguard.deadlock_log GROUP BY epoch),
entries AS (
    SELECT l.epoch, l.seq, l.detected_at, l.pid, l.database_oid, l.source, l.message,
           CASE WHEN pg_catalog.pg_has_role('lockguard_monitor', 'USAGE')
                  OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE') THEN l.detail
                ELSE regexp_replace(l.detail, '(^|\n)Process \d+: .*', '') END AS detail
    FROM lockguard.deadlock_log l
    UNION ALL
    SELECT b.* FROM lockguard._deadlock_buffer() b
    LEFT JOIN persisted p ON p.epoch = b.epoch
    WHERE b.seq > coalesce(p.last_seq, 0)),
marked AS (
    SELECT e.*,
           count(*) FILTER (WHERE e.source <> 'log') OVER (
               PARTITION BY e.pid ORDER BY e.detected_at
               RANGE BETWEEN CURRENT ROW AND interval '5 seconds' FOLLOWING) AS reported_by_itself
    FROM entries e)
SELECT e.detected_at, e.pid AS victim_pid, d.datname AS database, e.source,
       ARRAY(SELECT m[1]::integer FROM regexp_matches(e.detail, 'Process (\d+) waits', 'g') m) AS cycle_pids,
       ARRAY(SELECT m[1] FROM regexp_matches(e.detail, '^Process \d+: (.*)$', 'gn') m) AS queries,
       e.message, e.detail, e.epoch, e.seq
FROM marked e
LEFT JOIN pg_catalog.pg_database d ON d.oid = e.database_oid
WHERE NOT (e.source = 'log' AND e.reported_by_itself > 0);

-- What the background worker measured since the server started: its wait-graph samples (taken
-- only while some process waits for a lock) and their CPU time, and every cycle that did work.
CREATE FUNCTION lockguard.worker_stats(
    OUT samples bigint, OUT sampled_edges bigint, OUT sample_cpu_ms double precision,
    OUT avg_sample_cpu_ms double precision, OUT last_sample_cpu_ms double precision,
    OUT max_sample_cpu_ms double precision, OUT last_sample_at timestamptz,
    OUT cycles bigint, OUT cycle_cpu_ms double precision)
RETURNS record
AS 'MODULE_PATHNAME', 'lockguard_worker_stats'
LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION lockguard.worker_stats() IS
'The lockguard worker''s wait-graph samples and cycles since the server started, with their CPU time';

-- end of the monitoring section

------------------------------------------------------------------------------------------
-- Smaller defects: qualified resource names, input checked where it is given, comments.
------------------------------------------------------------------------------------------

-- Request builders check their input where it is given (a NULL or empty resource, a NULL or
-- non-table relation, an unknown mode), as row_lock() now does too, instead of building a
-- request that fails only when acquired. The C functions exist in the library since 1.2; a 1.1
-- installation keeps its SQL versions until it is updated.
CREATE OR REPLACE FUNCTION lockguard.named_lock(resource text, mode text DEFAULT 'exclusive')
RETURNS lockguard.lock_request
AS 'MODULE_PATHNAME', 'lockguard_named_request'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION lockguard.table_lock(relation regclass, mode text DEFAULT 'ACCESS EXCLUSIVE')
RETURNS lockguard.lock_request
AS 'MODULE_PATHNAME', 'lockguard_table_request'
LANGUAGE C STABLE PARALLEL SAFE;

-- lockguard's locks are advisory locks in pg_locks; objsubid tells them apart from the
-- application's (pg_advisory_lock uses 1 and 2): 19527 named, 19528 rows, 19529 table gates.
CREATE OR REPLACE VIEW lockguard.locks AS
SELECT r.resource,
       r.scope,
       r.mode,
       l.pid,
       l.granted,
       l.waitstart AS wait_started,
       CASE WHEN NOT l.granted
            THEN (extract(epoch FROM clock_timestamp() - l.waitstart) * 1000)::bigint END AS wait_ms,
       r.priority,
       r.tenant,
       d.datname AS database,
       a.usename,
       a.application_name,
       CASE WHEN NOT l.granted THEN pg_catalog.pg_blocking_pids(l.pid) END AS blocked_by,
       l.objsubid AS key_space
FROM pg_catalog.pg_locks l
JOIN lockguard._lock_registry() r
  ON r.pid = l.pid AND r.database = l.database AND r.classid = l.classid AND r.objid = l.objid
 AND r.objsubid = l.objsubid AND r.lockmode = l.mode
 AND (r.wait_start IS NOT NULL) = (NOT l.granted)
LEFT JOIN pg_catalog.pg_database d ON d.oid = l.database
LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.objsubid IN (19527, 19528, 19529);
COMMENT ON COLUMN lockguard.locks.key_space IS
'pg_locks.objsubid of the lock: 19527 named, 19528 row, 19529 table gate (application advisory locks use 1 and 2)';

-- DOT labels: the whole "user@app: query" goes to dot_graph(), which shortens a long label at a
-- character boundary and ends it with "..." (a query cut without a mark read as a different one).
CREATE OR REPLACE FUNCTION lockguard.wait_graph_dot(at timestamptz DEFAULT NULL) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    source text := CASE WHEN at IS NULL THEN 'lockguard.wait_graph'
                        ELSE '(SELECT * FROM lockguard.wait_history WHERE sampled_at = '
                             '(SELECT max(sampled_at) FROM lockguard.wait_history WHERE sampled_at <= $1)) h' END;
    result text;
BEGIN
    IF at IS NOT NULL AND NOT has_table_privilege('lockguard.wait_history', 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for table wait_history'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The wait-graph history is for members of lockguard_monitor.',
                  HINT = 'Call it without a time for the graph now.';
    END IF;
    EXECUTE format($q$
    WITH edges AS MATERIALIZED (
        SELECT waiter_pid, blocker_pid, wait_ms, waiter_user, waiter_app, waiter_query,
               blocker_user, blocker_app, blocker_query
        FROM %s),
    nodes AS (
        SELECT pid, max(wait_ms) AS wait_ms, max(label) AS label FROM (
            SELECT waiter_pid AS pid, wait_ms,
                   format('%%s@%%s: %%s', waiter_user, waiter_app, waiter_query) AS label
            FROM edges
            UNION ALL
            SELECT blocker_pid, -1,
                   format('%%s@%%s: %%s', blocker_user, blocker_app, blocker_query)
            FROM edges) n
        GROUP BY pid ORDER BY pid)
    SELECT lockguard.dot_graph(
        ARRAY(SELECT waiter_pid FROM edges), ARRAY(SELECT blocker_pid FROM edges),
        ARRAY(SELECT pid FROM nodes), ARRAY(SELECT wait_ms FROM nodes), ARRAY(SELECT label FROM nodes),
        'lockguard')$q$, source) INTO result USING at;
    RETURN result;
END $$;

-- Every user-facing object says what it is (\df+, \dv+, pgAdmin).
COMMENT ON FUNCTION lockguard.named_lock(text, text) IS
'A request for a named resource, for lockguard_acquire_all() and lockguard_run(); mode exclusive or shared';
COMMENT ON FUNCTION lockguard.row_lock(regclass, "any", text) IS
'A request for one row by primary key (FOR UPDATE by default), for lockguard_acquire_all() and lockguard_run()';
COMMENT ON FUNCTION lockguard.table_lock(regclass, text) IS
'A request for a table lock (ACCESS EXCLUSIVE by default), for lockguard_acquire_all() and lockguard_run()';
COMMENT ON FUNCTION lockguard.reset_wait_stats() IS
'Clears the wait statistics behind lockguard.wait_stats, lockguard.tenants and lockguard.metrics';
COMMENT ON FUNCTION lockguard.wait_graph_dot(timestamptz) IS
'The wait-for graph now, or as last sampled at or before a time, as Graphviz DOT';
COMMENT ON FUNCTION lockguard.flush_audit() IS
'Persists the audit entries still in shared memory into lockguard.audit_log; returns how many (the worker calls it)';
COMMENT ON FUNCTION lockguard.flush_deadlocks() IS
'Persists the deadlocks still in shared memory into lockguard.deadlock_log; returns how many (the worker calls it)';
COMMENT ON FUNCTION lockguard.sample_wait_graph() IS
'Samples the wait graph into lockguard.wait_history now; returns the number of edges stored';
COMMENT ON TABLE lockguard.deadlock_log IS
'Deadlocks captured as they happened, persisted by the worker (see lockguard.deadlocks)';
COMMENT ON VIEW lockguard.worker_status IS
'The lockguard background worker: its pid, database and state, and whether the server is a standby';

-- end of the defects section
