-- Reading a lockguard view must not cost JIT compilation on a stock server (jit = on, the
-- default jit_above_cost): every view's estimated plan cost stays below jit_above_cost, read
-- from the server (not assumed), and EXPLAIN ANALYZE of each shows no JIT section. The views
-- are taken from the catalog, so a view added later is checked too. The history tables are
-- filled first (5000 rows each, analyzed) as on a server that has kept a week of history; the
-- transaction is rolled back, statistics included.
CREATE FUNCTION pg_temp.plan_of(query text, run boolean) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE format('EXPLAIN (FORMAT JSON, ANALYZE %s) %s', CASE WHEN run THEN 'true' ELSE 'false' END, query) INTO plan;
    RETURN plan->0;
END $$;

BEGIN;
INSERT INTO lockguard.deadlock_log (epoch, seq, detected_at, pid, database_oid, source, message, detail)
SELECT now(), g, now() - g * interval '1 minute', 1000 + g % 50, 0, CASE WHEN g % 3 = 0 THEN 'log' ELSE 'error' END,
       'deadlock detected',
       E'Process 1 waits for ShareLock on transaction 5; blocked by process 2.\nProcess 2 waits for ShareLock on transaction 6; blocked by process 1.\nProcess 1: UPDATE a\nProcess 2: UPDATE b'
FROM generate_series(1, 5000) g;
INSERT INTO lockguard.audit_log (epoch, seq, logged_at, pid, role_oid, database_oid, tenant, resource, resource_class,
                                 scope, mode, priority, waited_ms, outcome, attempts, blocking_pids, trace_id)
SELECT now(), g, now() - g * interval '1 minute', 1000 + g % 50, 10, 0, 'default', 'r:' || g, 'r', 'named',
       'exclusive', 0, 12.5, 'timeout', 1, '{1}', NULL
FROM generate_series(1, 5000) g;
INSERT INTO lockguard.wait_history (sampled_at, waiter_pid, blocker_pid, locktype, target, wait_ms)
SELECT now() - (g / 10) * interval '1 second', 1000 + g % 50, 2000, 'transactionid', 'transaction 5', 100
FROM generate_series(1, 5000) g;
ANALYZE lockguard.deadlock_log, lockguard.audit_log, lockguard.wait_history;

SELECT c.relname AS view,
       (pg_temp.plan_of(format('SELECT * FROM lockguard.%I', c.relname), false)->'Plan'->>'Total Cost')::float8
           < current_setting('jit_above_cost')::float8 AS below_jit_above_cost,
       pg_temp.plan_of(format('SELECT * FROM lockguard.%I', c.relname), true)->'JIT' IS NULL AS no_jit
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
WHERE c.relkind = 'v' AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'lockguard')
ORDER BY c.relname;

-- lockguard.wait_graph_dot() plans its query when it runs (PL/pgSQL EXECUTE): this is that
-- query for the graph now.
SELECT (pg_temp.plan_of($q$
    WITH edges AS MATERIALIZED (
        SELECT waiter_pid, blocker_pid, wait_ms, waiter_user, waiter_app, waiter_query,
               blocker_user, blocker_app, blocker_query
        FROM lockguard.wait_graph),
    nodes AS (
        SELECT pid, max(wait_ms) AS wait_ms, max(label) AS label FROM (
            SELECT waiter_pid AS pid, wait_ms, format('%s@%s: %s', waiter_user, waiter_app, left(waiter_query, 60)) AS label
            FROM edges
            UNION ALL
            SELECT blocker_pid, -1, format('%s@%s: %s', blocker_user, blocker_app, left(blocker_query, 60))
            FROM edges) n
        GROUP BY pid ORDER BY pid)
    SELECT lockguard.dot_graph(
        ARRAY(SELECT waiter_pid FROM edges), ARRAY(SELECT blocker_pid FROM edges),
        ARRAY(SELECT pid FROM nodes), ARRAY(SELECT wait_ms FROM nodes), ARRAY(SELECT label FROM nodes),
        'lockguard')$q$, false)->'Plan'->>'Total Cost')::float8
       < current_setting('jit_above_cost')::float8 AS dot_below_jit_above_cost;
ROLLBACK;

-- Every set-returning C function of lockguard declares its rows (1000 is the planner's guess
-- for one that does not); C functions are never inlined, so the views keep these estimates.
SELECT p.proname, p.prorows <> 1000 AS rows_declared
FROM pg_catalog.pg_proc p
WHERE p.pronamespace = 'lockguard'::regnamespace AND p.proretset
  AND p.prolang = (SELECT oid FROM pg_catalog.pg_language WHERE lanname = 'c')
ORDER BY p.proname;
