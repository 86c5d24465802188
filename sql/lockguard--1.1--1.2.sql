-- lockguard 1.1 -> 1.2
-- CREATE EXTENSION lockguard runs lockguard--1.0.sql, lockguard--1.0--1.1.sql and then this
-- script (default_version is 1.2); ALTER EXTENSION lockguard UPDATE runs it on a 1.1
-- installation. Released scripts (1.0, 1.0--1.1) are never edited: every SQL change after 1.1
-- goes here, in the section of the work it belongs to.
\echo Use "ALTER EXTENSION lockguard UPDATE TO '1.2'" to load this file. \quit

------------------------------------------------------------------------------------------
-- Acquire bounds: the try-lock, keys a driver sends untyped, prepared transactions.
------------------------------------------------------------------------------------------

-- end of the acquire section

------------------------------------------------------------------------------------------
-- Guardrails: policies that cover partitions and inheritance children.
------------------------------------------------------------------------------------------

-- end of the guardrails section

------------------------------------------------------------------------------------------
-- Monitoring cost: honest estimates for the views' set-returning functions.
------------------------------------------------------------------------------------------

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
