-- lockguard 1.5 -> 1.6
-- CREATE EXTENSION lockguard runs lockguard--1.0.sql and every update script up to this one
-- (default_version is 1.6); ALTER EXTENSION lockguard UPDATE runs it on a 1.5 installation.
-- Released scripts (up to 1.4--1.5) are never edited: every SQL change after 1.5 goes here.
\echo Use "ALTER EXTENSION lockguard UPDATE TO '1.6'" to load this file. \quit

------------------------------------------------------------------------------------------
-- A sample of the worker builds only the edges it stores (docs/bench/notes.md, "The wait
-- graph's read once per queue, and a sample that builds only the chains it stores").
------------------------------------------------------------------------------------------
-- Up to 1.5 a sample read lockguard.wait_graph, every edge of every queue (n(n-1)/2 soft edges
-- for n sessions queued on one lock: 4,005 for 90), joined each to the sessions and the
-- registry, and kept the chains among them (179 pairs for those 90): its time grew with the
-- square of a queue's length. It now runs the view's query over the chains alone
-- (lockguard._lock_waits(true)), and reads the lock manager once instead of twice, so that all
-- its edges come from one reading.
--
-- The query is the view's, written out: a view cannot take the choice of edges as an argument,
-- and a SQL function that did would be planned at each sample (a LANGUAGE sql function is not
-- kept, and one with a pinned search_path is never inlined). Test 110_worker_cost checks that a
-- sample stores exactly the view's rows for the pairs that _lock_waits(true) keeps: change both
-- or neither.
CREATE OR REPLACE FUNCTION lockguard.sample_wait_graph() RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    stored bigint;
BEGIN
    WITH registry AS (SELECT * FROM lockguard._lock_registry()),
    activity AS (SELECT * FROM lockguard._activity()),
    waiting AS (
        SELECT DISTINCT ON (r.pid) r.pid, r.tenant, r.scope, r.resource, r.resource_class
        FROM registry r WHERE r.wait_start IS NOT NULL ORDER BY r.pid),
    holding AS (
        SELECT DISTINCT ON (r.pid) r.pid, r.tenant
        FROM registry r WHERE r.wait_start IS NULL ORDER BY r.pid),
    chains AS (
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
        FROM lockguard._lock_waits(true) w
        LEFT JOIN LATERAL (
            SELECT format('%I.%I', n.nspname, c.relname) AS name
            FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE c.oid = w.relation) rel ON w.locktype IN ('relation', 'tuple')
        LEFT JOIN waiting wr ON wr.pid = w.waiter_pid
        -- the lockguard lock awaited, for a wait at lockguard's gate (an advisory lock)
        LEFT JOIN waiting lg ON lg.pid = w.waiter_pid AND w.locktype = 'advisory'
        LEFT JOIN holding hr ON hr.pid = w.blocker_pid
        LEFT JOIN activity wa ON wa.pid = w.waiter_pid
        LEFT JOIN activity ba ON ba.pid = w.blocker_pid),
    sampled AS (
        INSERT INTO lockguard.wait_history
        SELECT now(), g.waiter_pid, g.blocker_pid, g.locktype, g.target, g.mode, g.wait_ms, g.waiter_user,
               g.blocker_user, g.waiter_app, g.blocker_app, g.waiter_tenant, g.blocker_tenant, g.waiter_query,
               g.blocker_query, g.blocker_state, g.conflict_kind, g.conflict_target
        FROM chains g
        RETURNING waiter_pid, conflict_kind, conflict_target),
    counted AS (
        INSERT INTO lockguard.conflict_counts AS c (kind, target, sampled_waits, last_seen)
        SELECT conflict_kind, conflict_target, count(DISTINCT waiter_pid), now()
        FROM sampled WHERE conflict_kind IS NOT NULL
        GROUP BY 1, 2
        ON CONFLICT (kind, target) DO UPDATE
        SET sampled_waits = c.sampled_waits + excluded.sampled_waits, last_seen = excluded.last_seen)
    SELECT count(*) INTO stored FROM sampled;
    RETURN stored;
END
$$;
