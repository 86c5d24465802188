-- lockguard 1.0 -> 1.1
-- CREATE EXTENSION lockguard runs lockguard--1.0.sql and then this script (default_version is
-- 1.1); ALTER EXTENSION lockguard UPDATE runs this script on a 1.0 installation. So every SQL
-- change after 1.0 goes here, and both paths end with the same objects.
\echo Use "ALTER EXTENSION lockguard UPDATE TO '1.1'" to load this file. \quit

------------------------------------------------------------------------------------------
-- Hardening: the privilege model (docs/security.md). Every other session's query text,
-- state and lock names follow pg_stat_activity's rule widened by lockguard_monitor; internal
-- functions that read configuration run as its owner instead of being open to PUBLIC; what
-- lockguard_admin was granted in 1.0 works; run-once keys and fencing resources belong to the
-- role that recorded them first; blockers are ended only while they block.
------------------------------------------------------------------------------------------
-- Sessions as lockguard's views show them: pg_stat_activity's columns, with query, state and
-- xact_start of other roles' sessions shown to superusers, pg_read_all_stats and
-- lockguard_monitor, and hidden (as pg_stat_activity hides them) from everyone else.
CREATE FUNCTION lockguard._activity(
    OUT pid integer, OUT usesysid oid, OUT usename name, OUT application_name text, OUT backend_type text,
    OUT state text, OUT xact_start timestamptz, OUT query text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lockguard_activity'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE OR REPLACE VIEW lockguard.wait_graph AS
WITH registry AS (SELECT * FROM lockguard._lock_registry()),
activity AS (SELECT * FROM lockguard._activity()),
waiting AS (
    SELECT DISTINCT ON (l.pid) l.pid, l.locktype, l.mode, l.waitstart, l.relation, l.page, l.tuple,
           l.transactionid, l.classid, l.objid, l.objsubid
    FROM pg_catalog.pg_locks l
    WHERE NOT l.granted AND l.pid IS NOT NULL
    ORDER BY l.pid, l.waitstart)
SELECT w.pid AS waiter_pid,
       b.pid AS blocker_pid,
       w.locktype,
       CASE w.locktype
           WHEN 'relation' THEN coalesce(rel.name, w.relation::text)
           WHEN 'tuple' THEN format('%s (%s,%s)', coalesce(rel.name, w.relation::text), w.page, w.tuple)
           WHEN 'transactionid' THEN 'transaction ' || w.transactionid
           WHEN 'advisory' THEN coalesce(
               (SELECT r.resource FROM registry r WHERE r.pid = w.pid AND r.wait_start IS NOT NULL LIMIT 1),
               format('advisory %s/%s/%s', w.classid, w.objid, w.objsubid))
           ELSE w.locktype END AS target,
       w.mode,
       (extract(epoch FROM clock_timestamp() - w.waitstart) * 1000)::bigint AS wait_ms,
       wa.usename AS waiter_user,
       ba.usename AS blocker_user,
       wa.application_name AS waiter_app,
       ba.application_name AS blocker_app,
       (SELECT r.tenant FROM registry r WHERE r.pid = w.pid AND r.wait_start IS NOT NULL LIMIT 1) AS waiter_tenant,
       (SELECT r.tenant FROM registry r WHERE r.pid = b.pid AND r.wait_start IS NULL LIMIT 1) AS blocker_tenant,
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
FROM waiting w
LEFT JOIN LATERAL (
    SELECT format('%I.%I', n.nspname, c.relname) AS name
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = w.relation) rel ON true
LEFT JOIN LATERAL (
    SELECT r.scope, r.resource, r.resource_class FROM registry r
    WHERE r.pid = w.pid AND r.wait_start IS NOT NULL LIMIT 1) lg ON w.locktype = 'advisory'
CROSS JOIN LATERAL unnest(pg_catalog.pg_blocking_pids(w.pid)) AS b(pid)
LEFT JOIN activity wa ON wa.pid = w.pid
LEFT JOIN activity ba ON ba.pid = b.pid;

CREATE OR REPLACE VIEW lockguard.blocking_tree AS
WITH edges AS MATERIALIZED (SELECT waiter_pid, blocker_pid, wait_ms FROM lockguard.wait_graph),
nodes AS (
    SELECT pid, max(wait_ms) AS wait_ms FROM (
        SELECT waiter_pid AS pid, wait_ms FROM edges
        UNION ALL
        SELECT blocker_pid, -1 FROM edges) n
    GROUP BY pid),
tree AS (
    SELECT t.* FROM lockguard._blocking_tree(
        ARRAY(SELECT waiter_pid FROM edges), ARRAY(SELECT blocker_pid FROM edges),
        ARRAY(SELECT pid FROM nodes), ARRAY(SELECT wait_ms FROM nodes)) WITH ORDINALITY t)
SELECT repeat('  ', t.depth) || t.pid::text || CASE WHEN t.in_cycle THEN ' (deadlock cycle)' ELSE '' END AS tree,
       t.pid, t.root_pid, t.parent_pid, t.depth, t.wait_ms, t.blocked_total, t.in_cycle,
       a.usename, a.application_name, a.state,
       (extract(epoch FROM clock_timestamp() - a.xact_start) * 1000)::bigint AS xact_ms,
       a.query
FROM tree t
LEFT JOIN lockguard._activity() a ON a.pid = t.pid
ORDER BY t.ordinality;

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
    WHERE b.seq > coalesce(p.last_seq, 0))
SELECT e.detected_at, e.pid AS victim_pid, d.datname AS database, e.source,
       ARRAY(SELECT m[1]::integer FROM regexp_matches(e.detail, 'Process (\d+) waits', 'g') m) AS cycle_pids,
       ARRAY(SELECT m[1] FROM regexp_matches(e.detail, '^Process \d+: (.*)$', 'gn') m) AS queries,
       e.message, e.detail, e.epoch, e.seq
FROM entries e
LEFT JOIN pg_catalog.pg_database d ON d.oid = e.database_oid
WHERE NOT (e.source = 'log' AND EXISTS (
    SELECT 1 FROM entries f
    WHERE f.pid = e.pid AND f.source <> 'log'
      AND f.detected_at BETWEEN e.detected_at AND e.detected_at + interval '5 seconds'));
-- The deadlock ring hides the queries from those who may not see them (see the view above).
GRANT EXECUTE ON FUNCTION lockguard._deadlock_buffer() TO PUBLIC;
REVOKE EXECUTE ON FUNCTION lockguard._deadlock_buffer() FROM lockguard_monitor;

-- Works for everyone for the graph now (the history needs lockguard_monitor): the source is
-- chosen before the query is planned, so a plain role is never checked against wait_history.
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
                   format('%%s@%%s: %%s', waiter_user, waiter_app, left(waiter_query, 60)) AS label
            FROM edges
            UNION ALL
            SELECT blocker_pid, -1,
                   format('%%s@%%s: %%s', blocker_user, blocker_app, left(blocker_query, 60))
            FROM edges) n
        GROUP BY pid ORDER BY pid)
    SELECT lockguard.dot_graph(
        ARRAY(SELECT waiter_pid FROM edges), ARRAY(SELECT blocker_pid FROM edges),
        ARRAY(SELECT pid FROM nodes), ARRAY(SELECT wait_ms FROM nodes), ARRAY(SELECT label FROM nodes),
        'lockguard')$q$, source) INTO result USING at;
    RETURN result;
END $$;

-- Tenant configuration is read by the library as the tables' owner: no longer open to PUBLIC,
-- which could read every role's tenant mapping through it.
REVOKE ALL ON FUNCTION lockguard._tenant_configuration() FROM PUBLIC;
-- The tables' trigger runs as the administrator who changed them.
GRANT EXECUTE ON FUNCTION lockguard._mark_tenant_change() TO lockguard_admin;

-- lockguard_admin may persist audit entries, samples and deadlocks now, without being able to
-- write history rows of its own making.
ALTER FUNCTION lockguard.flush_audit() SECURITY DEFINER;
ALTER FUNCTION lockguard.sample_wait_graph() SECURITY DEFINER;
ALTER FUNCTION lockguard.flush_deadlocks() SECURITY DEFINER;

-- Run-once keys and fencing resources belong to the role that recorded them first (NULL: recorded
-- by 1.0, open to every role). The functions run as the caller, who is recorded, and write the
-- tables as their owner; lockguard_admin may delete keys and resources (expire_operations()).
ALTER TABLE lockguard.operations ADD COLUMN claimed_by regrole;
COMMENT ON COLUMN lockguard.operations.claimed_by IS
'The role that claimed the key; other roles get 42501 for it (NULL: open to every role)';
ALTER TABLE lockguard.fencing_seen ADD COLUMN checked_by regrole;
COMMENT ON COLUMN lockguard.fencing_seen.checked_by IS
'The role that checked the first token (the table owner for the trigger); other roles get 42501 (NULL: open to every role)';
ALTER FUNCTION lockguard.check_fencing_token(text, bigint) SECURITY INVOKER;
ALTER FUNCTION lockguard.fencing_token_guard() SECURITY INVOKER;
ALTER FUNCTION lockguard.claim_operation(text) SECURITY INVOKER;
ALTER FUNCTION lockguard.complete_operation(text, jsonb) SECURITY INVOKER;
GRANT DELETE ON lockguard.operations, lockguard.fencing_seen TO lockguard_admin;

-- Ending blockers: roles exempt from it (not secret to those who may end blockers, but not
-- PUBLIC either); root blockers seen with the caller's own visibility of query texts; and a
-- _end_blocker that re-checks its target and records what it finds, trusting no argument but
-- the pid.
CREATE FUNCTION lockguard._exempt_roles(OUT role oid) RETURNS SETOF oid
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT unnest(p.exempt_roles)::oid FROM lockguard.lock_policies p WHERE p.enabled
    UNION
    SELECT e.role::oid FROM lockguard.blocker_exempt_roles e
$$;
REVOKE ALL ON FUNCTION lockguard._exempt_roles() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lockguard._exempt_roles() TO lockguard_admin, pg_signal_backend;

DROP FUNCTION lockguard._end_blocker(integer, boolean, interval, integer[], text);
CREATE FUNCTION lockguard._end_blocker(pid integer, terminate boolean) RETURNS boolean
AS 'MODULE_PATHNAME', 'lockguard_end_blocker'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION lockguard._end_blocker(integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lockguard._end_blocker(integer, boolean) TO lockguard_admin, pg_signal_backend;

CREATE OR REPLACE FUNCTION lockguard._root_blockers(
    OUT pid integer, OUT usesysid oid, OUT usename name, OUT application_name text, OUT state text,
    OUT backend_type text, OUT query text, OUT blocking_for interval, OUT blocked_count integer,
    OUT blocked_pids integer[], OUT is_superuser boolean, OUT exempt boolean)
RETURNS SETOF record
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH RECURSIVE waiters AS (
        SELECT l.pid, min(l.waitstart) AS waitstart
        FROM pg_locks l WHERE NOT l.granted AND l.pid IS NOT NULL
        GROUP BY l.pid),
    edges AS (
        SELECT w.pid AS waiter, b.pid AS blocker, w.waitstart
        FROM waiters w, unnest(pg_blocking_pids(w.pid)) AS b(pid)
        WHERE b.pid <> 0),                                   -- 0: a prepared transaction
    reach(root, waiter, waitstart) AS (
        SELECT e.blocker, e.waiter, e.waitstart FROM edges e
        WHERE NOT EXISTS (SELECT 1 FROM edges x WHERE x.waiter = e.blocker)
        UNION
        SELECT r.root, e.waiter, e.waitstart FROM reach r JOIN edges e ON e.blocker = r.waiter),
    roots AS (
        SELECT r.root, clock_timestamp() - min(r.waitstart) AS blocking_for,
               count(DISTINCT r.waiter)::integer AS blocked_count,
               array_agg(DISTINCT r.waiter ORDER BY r.waiter) AS blocked_pids
        FROM reach r GROUP BY r.root),
    exempt_roles AS (SELECT x.role FROM lockguard._exempt_roles() x)
    SELECT r.root, a.usesysid, a.usename, a.application_name, a.state, a.backend_type, a.query,
           coalesce(r.blocking_for, interval '0'), r.blocked_count, r.blocked_pids,
           coalesce((SELECT u.rolsuper FROM pg_roles u WHERE u.oid = a.usesysid), false),
           EXISTS (
               WITH RECURSIVE member_of(role) AS (
                   SELECT a.usesysid
                   UNION
                   SELECT m.roleid FROM pg_auth_members m JOIN member_of ON m.member = member_of.role)
               SELECT 1 FROM member_of JOIN exempt_roles x ON x.role = member_of.role)
    FROM roots r
    JOIN lockguard._activity() a ON a.pid = r.root
$$;

CREATE OR REPLACE FUNCTION lockguard.end_blockers(
    min_blocking interval DEFAULT '30 seconds',
    dry_run boolean DEFAULT true,
    grace interval DEFAULT '5 seconds',
    max_to_end integer DEFAULT 1,
    include_superusers boolean DEFAULT false)
RETURNS TABLE(pid integer, usename name, application_name text, state text, blocking_for interval,
              blocked_count integer, query text, action text)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    b record;
    decided jsonb := '{}';
    chosen integer := 0;
    cancelled integer[] := '{}';
    still integer[];
    deadline timestamptz;
    blocker integer;
    verdict text;
BEGIN
    IF NOT (pg_has_role('pg_signal_backend', 'USAGE') OR pg_has_role('lockguard_admin', 'USAGE')) THEN
        RAISE EXCEPTION 'permission denied to end blocking sessions'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Only superusers and members of pg_signal_backend or lockguard_admin may.';
    END IF;
    IF min_blocking IS NULL OR dry_run IS NULL OR grace IS NULL OR max_to_end IS NULL OR include_superusers IS NULL THEN
        RAISE EXCEPTION 'arguments of lockguard.end_blockers() must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF min_blocking < interval '0' OR grace < interval '0' OR max_to_end < 0 THEN
        RAISE EXCEPTION 'min_blocking, grace and max_to_end must not be negative'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF include_superusers AND NOT (SELECT u.rolsuper FROM pg_roles u WHERE u.rolname = current_user) THEN
        RAISE EXCEPTION 'only superusers may end superusers'' sessions'
            USING ERRCODE = 'insufficient_privilege', HINT = 'Call it without include_superusers.';
    END IF;

    FOR b IN SELECT r.* FROM lockguard._root_blockers() r
             WHERE r.blocking_for >= min_blocking ORDER BY r.blocking_for DESC, r.pid LOOP
        verdict := CASE
            WHEN b.pid = pg_backend_pid() THEN 'skipped: this session'
            WHEN b.backend_type = 'walsender' THEN 'skipped: replication connection'
            WHEN b.backend_type IS DISTINCT FROM 'client backend' THEN 'skipped: background process'
            WHEN b.is_superuser AND NOT include_superusers THEN 'skipped: superuser'
            WHEN b.exempt THEN 'skipped: exempt role'
            WHEN chosen >= max_to_end THEN 'skipped: max_to_end reached'
            WHEN dry_run THEN 'would cancel'
            END;
        IF verdict IS NULL THEN
            verdict := CASE WHEN lockguard._end_blocker(b.pid, false)
                            THEN 'cancelled' ELSE 'gone' END;
            cancelled := cancelled || b.pid;
        END IF;
        IF verdict IN ('would cancel', 'cancelled', 'gone') THEN
            chosen := chosen + 1;
        END IF;
        decided := decided || jsonb_build_object(b.pid::text, jsonb_build_object(
            'pid', b.pid, 'usename', b.usename, 'application_name', b.application_name, 'state', b.state,
            'blocking_for', b.blocking_for, 'blocked_count', b.blocked_count, 'query', b.query,
            'action', verdict, 'blocked_pids', b.blocked_pids));
    END LOOP;

    -- Grace: a cancelled statement releases its locks when its transaction aborts; a session
    -- that still blocks afterwards (idle in transaction, or ignoring the cancel) is terminated.
    IF cardinality(cancelled) > 0 THEN
        deadline := clock_timestamp() + grace;
        LOOP
            still := ARRAY(SELECT c FROM unnest(cancelled) AS c WHERE lockguard._still_blocking(c));
            EXIT WHEN cardinality(still) = 0 OR clock_timestamp() >= deadline;
            PERFORM pg_sleep(0.05);
        END LOOP;
        FOREACH blocker IN ARRAY still LOOP
            IF lockguard._end_blocker(blocker, true) THEN
                decided := jsonb_set(decided, ARRAY[blocker::text, 'action'], '"terminated"');
            END IF;
        END LOOP;
    END IF;

    RETURN QUERY
    SELECT x.pid, x.usename, x.application_name, x.state, x.blocking_for, x.blocked_count, x.query, x.action
    FROM jsonb_each(decided) AS d(key, value),
         jsonb_to_record(d.value) AS x(pid integer, usename name, application_name text, state text,
                                       blocking_for interval, blocked_count integer, query text, action text)
    ORDER BY x.blocking_for DESC, x.pid;
END $$;
-- end of the hardening section

------------------------------------------------------------------------------------------
-- Hardening: what lockguard's shared memory holds taken now, for consistency checks after
-- chaos runs and crash restarts (docs/hardening.md). Administrators only.
------------------------------------------------------------------------------------------
CREATE FUNCTION lockguard._shared_state(
    OUT part text, OUT slot integer, OUT pid integer, OUT held bigint, OUT waiting bigint, OUT note text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lockguard_shared_state'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard._shared_state() IS
'Backend slots in use, the published-wait count and tenant counters in lockguard''s shared memory';
REVOKE ALL ON FUNCTION lockguard._shared_state() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lockguard._shared_state() TO lockguard_admin;
