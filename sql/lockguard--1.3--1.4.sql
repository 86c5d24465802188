-- lockguard 1.3 -> 1.4
-- CREATE EXTENSION lockguard runs lockguard--1.0.sql and every update script up to this one
-- (default_version is 1.4); ALTER EXTENSION lockguard UPDATE runs it on a 1.3 installation.
-- Released scripts (up to 1.2--1.3) are never edited: every SQL change after 1.3 goes here.
\echo Use "ALTER EXTENSION lockguard UPDATE TO '1.4'" to load this file. \quit

------------------------------------------------------------------------------------------
-- The background worker's sample of the wait graph (docs/bench/notes.md, "The worker's sample
-- of lockguard's own waits").
------------------------------------------------------------------------------------------
-- Up to 1.3 the view looked up each edge's waiter and blocker in the registry of lockguard locks
-- with three correlated subqueries, each a scan of the whole registry: with 64 sessions queued
-- on one row that is three scans of 63 registry rows for each of about 2000 edges, and a sample
-- of lockguard's waits cost the worker twice the CPU of a sample of the same queue of advisory
-- locks. The registry is now reduced to one row per session that waits and one per session
-- that holds, and joined by pid (a hash join). A session waits for one lock at a time; of the
-- locks a session holds, one names its tenant, as LIMIT 1 did (they share it unless the session
-- changed lockguard.tenant between acquisitions).
-- The planner hashes the smaller side of each join. Estimated at 10 rows, the edges were that side
-- at every join, and a graph of 2000 edges was copied into five hash tables, wider at each; at
-- 100 the registry and sessions (20 and 50) are hashed and the edges pass through once. The
-- views over the graph stay far below jit_above_cost (regress test monitoring_cost).
ALTER FUNCTION lockguard._lock_waits() ROWS 100;

CREATE OR REPLACE VIEW lockguard.wait_graph AS
WITH registry AS (SELECT * FROM lockguard._lock_registry()),
activity AS (SELECT * FROM lockguard._activity()),
waiting AS (
    SELECT DISTINCT ON (r.pid) r.pid, r.tenant, r.scope, r.resource, r.resource_class
    FROM registry r WHERE r.wait_start IS NOT NULL ORDER BY r.pid),
holding AS (
    SELECT DISTINCT ON (r.pid) r.pid, r.tenant
    FROM registry r WHERE r.wait_start IS NULL ORDER BY r.pid)
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
       wr.tenant AS waiter_tenant,
       hr.tenant AS blocker_tenant,
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
LEFT JOIN waiting wr ON wr.pid = w.waiter_pid
-- the lockguard lock awaited, for a wait at lockguard's gate (an advisory lock)
LEFT JOIN waiting lg ON lg.pid = w.waiter_pid AND w.locktype = 'advisory'
LEFT JOIN holding hr ON hr.pid = w.blocker_pid
LEFT JOIN activity wa ON wa.pid = w.waiter_pid
LEFT JOIN activity ba ON ba.pid = w.blocker_pid;

-- The sample in PL/pgSQL: the worker is one long session, and PL/pgSQL keeps the statement's
-- plan for the session, where a LANGUAGE sql function planned the view again at every sample
-- (6 ms of the worker's CPU per sample with 64 waiters). The same statement, the same result.
CREATE OR REPLACE FUNCTION lockguard.sample_wait_graph() RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    stored bigint;
BEGIN
    WITH sampled AS (
        INSERT INTO lockguard.wait_history
        SELECT now(), g.waiter_pid, g.blocker_pid, g.locktype, g.target, g.mode, g.wait_ms, g.waiter_user,
               g.blocker_user, g.waiter_app, g.blocker_app, g.waiter_tenant, g.blocker_tenant, g.waiter_query,
               g.blocker_query, g.blocker_state, g.conflict_kind, g.conflict_target
        FROM lockguard.wait_graph g
        RETURNING conflict_kind, conflict_target),
    counted AS (
        INSERT INTO lockguard.conflict_counts AS c (kind, target, sampled_waits, last_seen)
        SELECT conflict_kind, conflict_target, count(*), now()
        FROM sampled WHERE conflict_kind IS NOT NULL
        GROUP BY 1, 2
        ON CONFLICT (kind, target) DO UPDATE
        SET sampled_waits = c.sampled_waits + excluded.sampled_waits, last_seen = excluded.last_seen)
    SELECT count(*) INTO stored FROM sampled;
    RETURN stored;
END
$$;
