-- lockguard 1.4 -> 1.5
-- CREATE EXTENSION lockguard runs lockguard--1.0.sql and every update script up to this one
-- (default_version is 1.5); ALTER EXTENSION lockguard UPDATE runs it on a 1.4 installation.
-- Released scripts (up to 1.3--1.4) are never edited: every SQL change after 1.4 goes here.
\echo Use "ALTER EXTENSION lockguard UPDATE TO '1.5'" to load this file. \quit

------------------------------------------------------------------------------------------
-- The wait history keeps each waiter's chain, not every pair in its queue (docs/monitoring.md,
-- "What a sample stores").
------------------------------------------------------------------------------------------
-- Up to 1.4 every sample stored every edge of the wait graph, as pg_blocking_pids() gives them:
-- with 64 sessions queued on one row, 2,016 rows of about 400 bytes (each with both sessions'
-- query text) at every sample, about 0.8 MB of history a second at the default interval, kept
-- for lockguard.history_retention (7 days). 1,953 of those rows are soft edges ("queued behind
-- a process queued ahead"), which follow from each waiter's edge to the nearest process queued
-- ahead of it. A sample now stores every hard edge (to a holder of a conflicting mode) and, of
-- the soft ones, only that nearest: 125 rows for the same queue. lockguard.wait_graph still
-- shows every edge.
CREATE FUNCTION lockguard._lock_waits(
    nearest_queued_only boolean,
    OUT waiter_pid integer, OUT blocker_pid integer, OUT locktype text, OUT mode text,
    OUT wait_start timestamptz, OUT database oid, OUT relation oid, OUT page integer, OUT tuple smallint,
    OUT transactionid xid, OUT classid oid, OUT objid oid, OUT objsubid smallint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lockguard_lock_waits'
LANGUAGE C VOLATILE PARALLEL UNSAFE
ROWS 100 COST 400;
COMMENT ON FUNCTION lockguard._lock_waits(boolean) IS
'Who waits for whom in the lock manager now, one row per edge; with nearest_queued_only, of the processes queued ahead of a waiter only the nearest (what the worker''s samples store)';

-- The sample keeps the view's rows (names, queries, tenants) of the pairs in the chains. The
-- lock manager is read twice, by the view and by _lock_waits(true); a waiter whose place in its
-- queue changed in between may miss its queued-ahead edge in that one sample. sampled_waits now
-- counts the sessions seen waiting (one per waiter and sample), where it counted edges, which
-- grew with the square of a queue's length.
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
        -- the chains: the pairs that _lock_waits(true) keeps, read a moment after the view's
        WHERE (g.waiter_pid, g.blocker_pid) IN (SELECT c.waiter_pid, c.blocker_pid FROM lockguard._lock_waits(true) c)
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
COMMENT ON COLUMN lockguard.conflict_counts.sampled_waits IS
'Sessions seen waiting on this target by the worker''s samples (one per waiter and sample; up to 1.4, wait-graph edges)';
