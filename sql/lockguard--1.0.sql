-- lockguard 1.0
\echo Use "CREATE EXTENSION lockguard" to load this file. \quit

-- The acquire API lives in the schema the extension is installed into (public by default);
-- views, tables and internal functions live in schema lockguard.
CREATE SCHEMA lockguard;
COMMENT ON SCHEMA lockguard IS 'lockguard: lock views, statistics, configuration and history';
GRANT USAGE ON SCHEMA lockguard TO PUBLIC;

-- Two cluster-wide roles (kept when the extension is dropped, like any role):
-- lockguard_monitor reads every view, audit and history included (as pg_monitor does for the
-- core views); lockguard_admin also changes budgets, policies and tenants and ends blockers.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'lockguard_monitor') THEN
        CREATE ROLE lockguard_monitor NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'lockguard_admin') THEN
        CREATE ROLE lockguard_admin NOLOGIN;
    END IF;
END $$;
GRANT lockguard_monitor TO lockguard_admin;

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
    OUT wait_start timestamptz, OUT tenant text, OUT resource_class text)
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
       r.tenant,
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
    OUT role_oid oid, OUT database_oid oid, OUT tenant text, OUT resource text, OUT resource_class text,
    OUT scope text,
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
    resource_class text NOT NULL,   -- the schema-qualified table, or a name's prefix before ':'
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

-- The whole audit trail: persisted entries and those still only in shared memory.
CREATE VIEW lockguard.audit AS
WITH persisted AS (SELECT epoch, max(seq) AS last_seq FROM lockguard.audit_log GROUP BY epoch),
entries AS (
    SELECT l.* FROM lockguard.audit_log l
    UNION ALL
    SELECT b.* FROM lockguard._audit_buffer() b
    LEFT JOIN persisted p ON p.epoch = b.epoch
    WHERE b.seq > coalesce(p.last_seq, 0))
SELECT e.logged_at, e.pid, r.rolname AS role, d.datname AS database, e.tenant, e.resource, e.resource_class, e.scope,
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

------------------------------------------------------------------------------------------
-- Tenants and their lock budgets. The tables are the source of truth (kept by pg_dump);
-- shared memory holds a copy with the live counters, reloaded after every commit that
-- changes them. Only their owner (an administrator) may change them.
------------------------------------------------------------------------------------------
CREATE TABLE lockguard.tenant_budgets (
    tenant text PRIMARY KEY CHECK (tenant <> '' AND octet_length(tenant) < 64),
    max_held integer CHECK (max_held >= 0),        -- lockguard locks held at once; NULL = no limit
    max_waiters integer CHECK (max_waiters >= 0),  -- acquisitions waiting at once; NULL = no limit
    weight double precision NOT NULL DEFAULT 1 CHECK (weight > 0 AND weight < 'infinity'),
    description text
);
COMMENT ON TABLE lockguard.tenant_budgets IS 'Tenants and their lockguard lock budgets';
INSERT INTO lockguard.tenant_budgets (tenant, description)
VALUES ('default', 'Roles without a mapping, and tenant names not defined here');

CREATE TABLE lockguard.tenant_roles (
    role regrole PRIMARY KEY,
    tenant text NOT NULL REFERENCES lockguard.tenant_budgets ON UPDATE CASCADE ON DELETE CASCADE,
    may_set_tenant boolean NOT NULL DEFAULT false  -- may act for any tenant via lockguard.tenant
);
COMMENT ON TABLE lockguard.tenant_roles IS 'Which tenant each role acts for';

SELECT pg_catalog.pg_extension_config_dump('lockguard.tenant_budgets', 'WHERE tenant <> ''default''');
SELECT pg_catalog.pg_extension_config_dump('lockguard.tenant_roles', '');

CREATE FUNCTION lockguard._mark_tenant_change() RETURNS void
AS 'MODULE_PATHNAME', 'lockguard_mark_tenant_change'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION lockguard._tenants_changed() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF (SELECT count(*) FROM lockguard.tenant_budgets) > current_setting('lockguard.max_tenants')::integer THEN
        RAISE EXCEPTION 'too many lockguard tenants'
            USING ERRCODE = 'program_limit_exceeded',
                  DETAIL = format('lockguard.tenant_budgets may hold %s rows.', current_setting('lockguard.max_tenants')),
                  HINT = 'Increase lockguard.max_tenants (needs a restart).';
    END IF;
    IF (SELECT count(*) FROM lockguard.tenant_roles) > current_setting('lockguard.max_tenant_roles')::integer THEN
        RAISE EXCEPTION 'too many lockguard tenant roles'
            USING ERRCODE = 'program_limit_exceeded',
                  DETAIL = format('lockguard.tenant_roles may hold %s rows.', current_setting('lockguard.max_tenant_roles')),
                  HINT = 'Increase lockguard.max_tenant_roles (needs a restart).';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM lockguard.tenant_budgets WHERE tenant = 'default') THEN
        RAISE EXCEPTION 'the default tenant cannot be removed'
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'Give it a budget instead: UPDATE lockguard.tenant_budgets SET max_held = ... WHERE tenant = ''default''.';
    END IF;
    PERFORM lockguard._mark_tenant_change();
    RETURN NULL;
END $$;

CREATE TRIGGER tenants_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON lockguard.tenant_budgets
    FOR EACH STATEMENT EXECUTE FUNCTION lockguard._tenants_changed();
CREATE TRIGGER tenant_roles_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON lockguard.tenant_roles
    FOR EACH STATEMENT EXECUTE FUNCTION lockguard._tenants_changed();

-- What backends load into shared memory; SECURITY DEFINER so that any role's acquisition can
-- load its budget without access to the tables.
CREATE FUNCTION lockguard._tenant_configuration(
    OUT kind text, OUT name text, OUT role_oid oid, OUT max_held integer, OUT max_waiters integer,
    OUT weight double precision, OUT may_set_tenant boolean)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'tenant', t.tenant, NULL::oid, t.max_held, t.max_waiters, t.weight, NULL::boolean
    FROM lockguard.tenant_budgets t
    UNION ALL
    SELECT 'role', r.tenant, r.role::oid, NULL, NULL, NULL, r.may_set_tenant
    FROM lockguard.tenant_roles r
$$;

CREATE FUNCTION lockguard._tenant_stats(
    OUT tenant text, OUT max_held integer, OUT max_waiters integer, OUT weight double precision,
    OUT held_now bigint, OUT waiting_now bigint, OUT rejected bigint, OUT acquisitions bigint,
    OUT wait_p95_ms double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lockguard_tenant_stats'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE VIEW lockguard.tenants AS
SELECT tenant, max_held, max_waiters, weight, held_now, waiting_now, rejected, acquisitions,
       round(wait_p95_ms::numeric, 3) AS wait_p95_ms
FROM lockguard._tenant_stats();
COMMENT ON VIEW lockguard.tenants IS
'Per tenant: budget, lockguard locks held and awaited now, requests rejected, p95 lock wait';

------------------------------------------------------------------------------------------
-- Monitoring: the live wait graph, the blocking tree, Graphviz output, and the history the
-- background worker keeps (wait-graph samples, deadlocks, conflict counts).
------------------------------------------------------------------------------------------
-- Every edge "waiter waits for blocker" now, with what is awaited and by whom. Query texts
-- follow pg_stat_activity's rules: other users' queries show only to pg_read_all_stats.
CREATE VIEW lockguard.wait_graph AS
WITH registry AS (SELECT * FROM lockguard._lock_registry()),
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
LEFT JOIN pg_catalog.pg_stat_activity wa ON wa.pid = w.pid
LEFT JOIN pg_catalog.pg_stat_activity ba ON ba.pid = b.pid;
COMMENT ON VIEW lockguard.wait_graph IS 'Who waits for whom now: one row per edge of the wait-for graph';

CREATE FUNCTION lockguard._blocking_tree(
    waiters integer[], blockers integer[], node_pids integer[], node_wait_ms bigint[],
    OUT pid integer, OUT root_pid integer, OUT parent_pid integer, OUT depth integer,
    OUT wait_ms bigint, OUT blocked_total integer, OUT blocker_count integer, OUT in_cycle boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lockguard_blocking_tree'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- Root blockers first (those blocking the most), each waiter indented under what it waits for.
CREATE VIEW lockguard.blocking_tree AS
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
LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = t.pid
ORDER BY t.ordinality;
COMMENT ON VIEW lockguard.blocking_tree IS 'Who blocks whom now, root blockers first, as an indented tree';

CREATE FUNCTION lockguard.dot_graph(
    waiters integer[], blockers integer[], node_pids integer[], node_wait_ms bigint[],
    node_labels text[] DEFAULT NULL, graph_name text DEFAULT 'lockguard')
RETURNS text
AS 'MODULE_PATHNAME', 'lockguard_dot_graph'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION lockguard.dot_graph(integer[], integer[], integer[], bigint[], text[], text) IS
'Graphviz DOT of a wait-for graph given as edges (waiters[i] waits for blockers[i]) and nodes';

CREATE TABLE lockguard.wait_history (
    sampled_at timestamptz NOT NULL,
    waiter_pid integer NOT NULL,
    blocker_pid integer NOT NULL,
    locktype text,
    target text,
    mode text,
    wait_ms bigint,
    waiter_user name,
    blocker_user name,
    waiter_app text,
    blocker_app text,
    waiter_tenant text,
    blocker_tenant text,
    waiter_query text,
    blocker_query text,
    blocker_state text,
    conflict_kind text,
    conflict_target text
);
CREATE INDEX wait_history_sampled_at ON lockguard.wait_history (sampled_at);
COMMENT ON TABLE lockguard.wait_history IS 'Wait-graph edges sampled by the lockguard worker';

-- The graph now (at IS NULL) or the last sample taken at or before `at`, as Graphviz DOT:
--   psql -Atc "SELECT lockguard.wait_graph_dot()" | dot -Tsvg > waits.svg
CREATE FUNCTION lockguard.wait_graph_dot(at timestamptz DEFAULT NULL) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH edges AS MATERIALIZED (
        SELECT waiter_pid, blocker_pid, wait_ms, waiter_user, waiter_app, waiter_query,
               blocker_user, blocker_app, blocker_query
        FROM lockguard.wait_graph WHERE at IS NULL
        UNION ALL
        SELECT waiter_pid, blocker_pid, wait_ms, waiter_user, waiter_app, waiter_query,
               blocker_user, blocker_app, blocker_query
        FROM lockguard.wait_history
        WHERE at IS NOT NULL
          AND sampled_at = (SELECT max(sampled_at) FROM lockguard.wait_history WHERE sampled_at <= at)),
    nodes AS (
        SELECT pid, max(wait_ms) AS wait_ms, max(label) AS label FROM (
            SELECT waiter_pid AS pid, wait_ms,
                   format('%s@%s: %s', waiter_user, waiter_app, left(waiter_query, 60)) AS label
            FROM edges
            UNION ALL
            SELECT blocker_pid, -1,
                   format('%s@%s: %s', blocker_user, blocker_app, left(blocker_query, 60))
            FROM edges) n
        GROUP BY pid ORDER BY pid)
    SELECT lockguard.dot_graph(
        ARRAY(SELECT waiter_pid FROM edges), ARRAY(SELECT blocker_pid FROM edges),
        ARRAY(SELECT pid FROM nodes), ARRAY(SELECT wait_ms FROM nodes), ARRAY(SELECT label FROM nodes),
        'lockguard')
$$;

-- Deadlocks, captured as they happen (see docs/monitoring.md for the three sources).
CREATE FUNCTION lockguard._deadlock_buffer(
    OUT epoch timestamptz, OUT seq bigint, OUT detected_at timestamptz, OUT pid integer,
    OUT database_oid oid, OUT source text, OUT message text, OUT detail text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lockguard_deadlock_buffer'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE TABLE lockguard.deadlock_log (
    epoch timestamptz NOT NULL,
    seq bigint NOT NULL,
    detected_at timestamptz NOT NULL,
    pid integer NOT NULL,
    database_oid oid,
    source text NOT NULL,
    message text NOT NULL,
    detail text NOT NULL,
    PRIMARY KEY (epoch, seq)
);
CREATE INDEX deadlock_log_detected_at ON lockguard.deadlock_log (detected_at);

-- One row per deadlock: persisted and not yet persisted entries; a log_lock_waits line is
-- hidden when the same process also reported the deadlock error itself.
CREATE VIEW lockguard.deadlocks AS
WITH persisted AS (SELECT epoch, max(seq) AS last_seq FROM lockguard.deadlock_log GROUP BY epoch),
entries AS (
    SELECT * FROM lockguard.deadlock_log
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
COMMENT ON VIEW lockguard.deadlocks IS 'Deadlocks with their cycle and the queries involved';

CREATE TABLE lockguard.conflict_counts (
    kind text NOT NULL,          -- relation (tables and their rows) or named
    target text NOT NULL,        -- schema-qualified relation, or named resource
    sampled_waits bigint NOT NULL DEFAULT 0,    -- wait-graph edges seen on it by the worker
    audited_events bigint NOT NULL DEFAULT 0,   -- long waits, timeouts, deadlocks, retries on it
    last_seen timestamptz NOT NULL,
    PRIMARY KEY (kind, target)
);
COMMENT ON TABLE lockguard.conflict_counts IS 'Where lock conflicts happen, accumulated from samples and audit rows';

-- Copies the audit entries not yet persisted and counts them per relation or named resource;
-- returns how many. Idempotent.
CREATE FUNCTION lockguard.flush_audit() RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH fresh AS (
        INSERT INTO lockguard.audit_log
        SELECT b.* FROM lockguard._audit_buffer() b
        WHERE b.seq > coalesce((SELECT max(l.seq) FROM lockguard.audit_log l WHERE l.epoch = b.epoch), 0)
        ON CONFLICT DO NOTHING
        RETURNING scope, resource, resource_class, mode),
    counted AS (
        INSERT INTO lockguard.conflict_counts AS c (kind, target, audited_events, last_seen)
        SELECT CASE scope WHEN 'named' THEN 'named' ELSE 'relation' END,
               CASE scope WHEN 'named' THEN resource ELSE resource_class END, count(*), now()
        FROM fresh WHERE mode <> 'lockguard_run'
        GROUP BY 1, 2
        ON CONFLICT (kind, target) DO UPDATE
        SET audited_events = c.audited_events + excluded.audited_events, last_seen = excluded.last_seen)
    SELECT count(*) FROM fresh
$$;

-- Samples the wait graph into history now (the worker does this every interval when someone
-- waits); returns the number of edges stored.
CREATE FUNCTION lockguard.sample_wait_graph() RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
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
    SELECT count(*) FROM sampled
$$;

-- Copies the deadlocks not yet persisted; returns how many.
CREATE FUNCTION lockguard.flush_deadlocks() RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH fresh AS (
        INSERT INTO lockguard.deadlock_log
        SELECT b.* FROM lockguard._deadlock_buffer() b
        WHERE b.seq > coalesce((SELECT max(l.seq) FROM lockguard.deadlock_log l WHERE l.epoch = b.epoch), 0)
        ON CONFLICT DO NOTHING
        RETURNING 1)
    SELECT count(*) FROM fresh
$$;

-- One cycle of the background worker.
CREATE FUNCTION lockguard._worker_cycle(sample boolean, apply_retention boolean, retention_seconds integer)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF sample THEN
        PERFORM lockguard.sample_wait_graph();
    END IF;
    PERFORM lockguard.flush_audit();
    PERFORM lockguard.flush_deadlocks();
    IF apply_retention THEN
        DELETE FROM lockguard.wait_history WHERE sampled_at < now() - make_interval(secs => retention_seconds);
        DELETE FROM lockguard.deadlock_log WHERE detected_at < now() - make_interval(secs => retention_seconds);
        DELETE FROM lockguard.audit_log WHERE logged_at < now() - make_interval(secs => retention_seconds);
        PERFORM lockguard.expire_operations();  -- run-once keys: their own retention
    END IF;
END $$;

-- Is the worker running, and where?
CREATE VIEW lockguard.worker_status AS
SELECT a.pid, a.datname AS database, a.backend_start, a.state, a.wait_event,
       current_setting('lockguard.sample_interval_ms') AS sample_interval_ms,
       pg_catalog.pg_is_in_recovery() AS server_is_standby
FROM pg_catalog.pg_stat_activity a
WHERE a.backend_type = 'lockguard worker';

------------------------------------------------------------------------------------------
-- Metrics, one row per metric and label set, shaped for Prometheus (see docs/monitoring.md
-- and docs/prometheus/ for the postgres_exporter queries file and alert rules).
------------------------------------------------------------------------------------------
CREATE VIEW lockguard.metrics AS
SELECT 'lockguard_acquisitions_total' AS metric,
       jsonb_build_object('tenant', tenant, 'scope', scope, 'resource_class', resource_class) AS labels,
       acquisitions::double precision AS value FROM lockguard.wait_stats
UNION ALL
SELECT 'lockguard_waited_acquisitions_total', jsonb_build_object('tenant', tenant, 'scope', scope, 'resource_class', resource_class),
       waited FROM lockguard.wait_stats
UNION ALL
SELECT 'lockguard_lock_timeouts_total', jsonb_build_object('tenant', tenant, 'scope', scope, 'resource_class', resource_class),
       timeouts FROM lockguard.wait_stats
UNION ALL
SELECT 'lockguard_lock_deadlocks_total', jsonb_build_object('tenant', tenant, 'scope', scope, 'resource_class', resource_class),
       deadlocks FROM lockguard.wait_stats
UNION ALL
SELECT 'lockguard_lock_wait_p95_seconds', jsonb_build_object('tenant', tenant, 'scope', scope, 'resource_class', resource_class),
       p95_ms / 1000.0 FROM lockguard.wait_stats
UNION ALL
SELECT 'lockguard_lock_wait_p99_seconds', jsonb_build_object('tenant', tenant, 'scope', scope, 'resource_class', resource_class),
       p99_ms / 1000.0 FROM lockguard.wait_stats
UNION ALL
SELECT 'lockguard_tenant_locks_held', jsonb_build_object('tenant', tenant), held_now FROM lockguard.tenants
UNION ALL
SELECT 'lockguard_tenant_waiters', jsonb_build_object('tenant', tenant), waiting_now FROM lockguard.tenants
UNION ALL
SELECT 'lockguard_tenant_rejected_total', jsonb_build_object('tenant', tenant), rejected FROM lockguard.tenants
UNION ALL
SELECT 'lockguard_tenant_budget_used_ratio', jsonb_build_object('tenant', tenant),
       CASE WHEN max_held > 0 THEN held_now::double precision / max_held ELSE 0 END FROM lockguard.tenants
UNION ALL
SELECT 'lockguard_waiting_backends', '{}'::jsonb, count(DISTINCT waiter_pid) FROM lockguard.wait_graph
UNION ALL
SELECT 'lockguard_oldest_root_blocker_seconds', '{}'::jsonb,
       coalesce(max(wait_ms) FILTER (WHERE depth = 1), 0) / 1000.0 FROM lockguard.blocking_tree
UNION ALL
SELECT 'lockguard_deadlocks_captured_total', '{}'::jsonb, count(*) FROM lockguard.deadlocks
UNION ALL
SELECT 'lockguard_worker_up', '{}'::jsonb, count(*) FROM lockguard.worker_status;
COMMENT ON VIEW lockguard.metrics IS 'lockguard metrics, one row per metric and label set (Prometheus-shaped)';

GRANT SELECT ON lockguard.wait_graph, lockguard.blocking_tree, lockguard.deadlocks, lockguard.worker_status,
    lockguard.metrics TO PUBLIC;
REVOKE ALL ON lockguard.wait_history, lockguard.deadlock_log, lockguard.conflict_counts FROM PUBLIC;
GRANT SELECT ON lockguard.wait_history, lockguard.deadlock_log, lockguard.conflict_counts TO lockguard_monitor;
REVOKE ALL ON FUNCTION lockguard.sample_wait_graph(), lockguard.flush_deadlocks(),
    lockguard._worker_cycle(boolean, boolean, integer), lockguard._deadlock_buffer() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lockguard.sample_wait_graph(), lockguard.flush_deadlocks() TO lockguard_admin;
GRANT EXECUTE ON FUNCTION lockguard._deadlock_buffer() TO lockguard_monitor;

------------------------------------------------------------------------------------------
-- Privileges: live views for everyone (no query texts in them); audit trail for
-- lockguard_monitor; configuration changes for lockguard_admin.
------------------------------------------------------------------------------------------
GRANT SELECT ON lockguard.locks, lockguard.wait_stats, lockguard.tenants TO PUBLIC;
REVOKE ALL ON lockguard.audit, lockguard.audit_log FROM PUBLIC;
GRANT SELECT ON lockguard.audit, lockguard.audit_log TO lockguard_monitor;
REVOKE ALL ON FUNCTION lockguard.flush_audit(), lockguard.reset_wait_stats(), lockguard._audit_buffer() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lockguard.flush_audit(), lockguard.reset_wait_stats() TO lockguard_admin;
GRANT EXECUTE ON FUNCTION lockguard._audit_buffer() TO lockguard_monitor;
GRANT SELECT ON lockguard.tenant_budgets, lockguard.tenant_roles TO lockguard_monitor;
GRANT INSERT, UPDATE, DELETE ON lockguard.tenant_budgets, lockguard.tenant_roles TO lockguard_admin;
REVOKE ALL ON FUNCTION lockguard._mark_tenant_change() FROM PUBLIC;

------------------------------------------------------------------------------------------
-- Failover safety (docs/failover.md): fencing tokens and run-once operations. All state is
-- in WAL-logged tables and one sequence, so it survives restarts and reaches standbys. The
-- functions are SECURITY DEFINER: applications need no privileges on these tables, and cannot
-- lower a recorded token or forge a claim behind lockguard's back.
------------------------------------------------------------------------------------------
-- Fencing token = (timeline << 47) | counter. One counter for all resources: a sequence, which
-- a rollback does not rewind, so no token is ever handed out twice.
CREATE SEQUENCE lockguard.fencing_counter AS bigint MINVALUE 1 NO CYCLE;
COMMENT ON SEQUENCE lockguard.fencing_counter IS 'Counter part of lockguard fencing tokens (below 2^47)';

-- The newest token checked per resource in this database.
CREATE TABLE lockguard.fencing_seen (
    resource text PRIMARY KEY,
    token bigint NOT NULL CHECK (token > 0),
    seen_at timestamptz NOT NULL      -- when this token was first checked
);
COMMENT ON TABLE lockguard.fencing_seen IS
'Newest fencing token checked per resource; older tokens are rejected with SQLSTATE LG003';

-- Run-once operations: a key claimed in the transaction that does the work.
CREATE TABLE lockguard.operations (
    key text PRIMARY KEY CHECK (octet_length(key) BETWEEN 1 AND 1024),
    claimed_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,         -- set by complete_operation()
    result jsonb                      -- what complete_operation() recorded
);
CREATE INDEX operations_claimed_at ON lockguard.operations (claimed_at);
COMMENT ON TABLE lockguard.operations IS
'Run-once operation keys, claimed and completed in the transaction that did the work; kept until lockguard.expire_operations()';

SELECT pg_catalog.pg_extension_config_dump('lockguard.fencing_counter', '');
SELECT pg_catalog.pg_extension_config_dump('lockguard.fencing_seen', '');
SELECT pg_catalog.pg_extension_config_dump('lockguard.operations', '');

CREATE FUNCTION lockguard.fencing_token(resource text) RETURNS bigint
AS 'MODULE_PATHNAME', 'lockguard_fencing_token'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION lockguard.fencing_token(text) IS
'A fencing token for the resource, above every token issued before in this cluster, across restarts and promotions';

CREATE FUNCTION lockguard.fencing_token_parts(token bigint, OUT timeline integer, OUT counter bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'lockguard_fencing_token_parts'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lockguard.fencing_token_parts(bigint) IS
'The WAL timeline and counter a fencing token was made of';

CREATE FUNCTION lockguard.check_fencing_token(resource text, token bigint) RETURNS void
AS 'MODULE_PATHNAME', 'lockguard_check_fencing_token'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION lockguard.check_fencing_token(text, bigint) IS
'Record the token as the newest seen for the resource, or raise SQLSTATE LG003 if a newer one was seen (equal is accepted)';

-- CREATE TRIGGER ... BEFORE INSERT OR UPDATE ON t FOR EACH ROW
--   EXECUTE FUNCTION lockguard.fencing_token_guard('resource_column' or '=resource', 'token_column');
CREATE FUNCTION lockguard.fencing_token_guard() RETURNS trigger
AS 'MODULE_PATHNAME', 'lockguard_fencing_token_guard'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION lockguard.fencing_token_guard() IS
'Row trigger: check_fencing_token() on each new row; arguments: resource column (or =name), bigint token column';

CREATE FUNCTION lockguard.claim_operation(key text, OUT claimed boolean, OUT result jsonb)
RETURNS record
AS 'MODULE_PATHNAME', 'lockguard_claim_operation'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION lockguard.claim_operation(text) IS
'Claim a run-once key in this transaction: claimed = true to do the work, false (with the recorded result) if already done';

CREATE FUNCTION lockguard.complete_operation(key text, result jsonb DEFAULT NULL) RETURNS void
AS 'MODULE_PATHNAME', 'lockguard_complete_operation'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION lockguard.complete_operation(text, jsonb) IS
'Record the result of an operation claimed in this transaction';

-- Retention: a key is kept at least older_than after its claim; call this periodically (cron,
-- pg_cron). A client must not retry an operation after its key may have expired.
CREATE FUNCTION lockguard.expire_operations(older_than interval DEFAULT '7 days') RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    expired bigint;
BEGIN
    IF older_than IS NULL THEN
        RAISE EXCEPTION 'retention must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF older_than < interval '0' THEN
        RAISE EXCEPTION 'retention must not be negative'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('The value given was %s.', older_than);
    END IF;
    DELETE FROM lockguard.operations WHERE claimed_at < now() - older_than;
    GET DIAGNOSTICS expired = ROW_COUNT;
    RETURN expired;
END
$$;
COMMENT ON FUNCTION lockguard.expire_operations(interval) IS
'Delete run-once keys claimed more than older_than ago (default 7 days); returns how many';

REVOKE ALL ON lockguard.fencing_seen, lockguard.operations, lockguard.fencing_counter FROM PUBLIC;
GRANT SELECT ON lockguard.fencing_seen, lockguard.operations TO lockguard_monitor;
REVOKE ALL ON FUNCTION lockguard.expire_operations(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lockguard.expire_operations(interval) TO lockguard_admin;

------------------------------------------------------------------------------------------
-- Guardrails (docs/guardrails.md): lock policies checked before a table lock is requested
-- (LOCK TABLE, DDL, lockguard_acquire_table, whole-table FOR UPDATE), and ending runaway
-- blockers. Only administrators change the policies; every rejection, override and ended
-- session is written to the audit ring (lockguard.audit).
------------------------------------------------------------------------------------------
-- Column order is read by the library: append new columns at the end only.
CREATE TABLE lockguard.lock_policies (
    relation regclass PRIMARY KEY,
    forbidden_modes text[] NOT NULL
        DEFAULT ARRAY['SHARE', 'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE'],
    exempt_roles regrole[] NOT NULL DEFAULT '{}',
    reason text NOT NULL CHECK (btrim(reason) <> ''),
    forbid_exclusive_row_marks boolean NOT NULL DEFAULT false,
    enabled boolean NOT NULL DEFAULT true,
    CONSTRAINT forbidden_modes_are_table_lock_modes CHECK (
        cardinality(forbidden_modes) > 0
        AND array_position(forbidden_modes, NULL) IS NULL
        AND forbidden_modes <@ ARRAY['ACCESS SHARE', 'ROW SHARE', 'ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE',
                                     'SHARE', 'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE'])
);
COMMENT ON TABLE lockguard.lock_policies IS
'Protected tables: table-lock modes refused on them (SQLSTATE LG004), roles exempt, and the reason shown';
SELECT pg_catalog.pg_extension_config_dump('lockguard.lock_policies', '');

-- Accepts any spelling of the mode names ('access exclusive', 'AccessExclusiveLock', 'share mode')
-- and stores the canonical LOCK TABLE names, weakest first, once each.
CREATE FUNCTION lockguard._normalize_lock_policy() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    canonical CONSTANT text[] := ARRAY['ACCESS SHARE', 'ROW SHARE', 'ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE',
                                       'SHARE', 'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE'];
    spelled text;
    name text;
    found_modes text[] := '{}';
    kind "char";
BEGIN
    SELECT c.relkind INTO kind FROM pg_class c WHERE c.oid = NEW.relation;
    IF kind IS NULL OR kind NOT IN ('r', 'p', 'm', 'f') THEN
        RAISE EXCEPTION '"%" is not a table', NEW.relation
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'Policies protect tables. LOCK on a view is checked against the policies of the tables it reads.';
    END IF;
    FOREACH spelled IN ARRAY coalesce(NEW.forbidden_modes, '{}') LOOP
        IF spelled IS NULL THEN
            RAISE EXCEPTION 'forbidden_modes must not contain null' USING ERRCODE = 'null_value_not_allowed';
        END IF;
        name := upper(regexp_replace(btrim(spelled), '\s+', ' ', 'g'));
        name := regexp_replace(name, ' MODE$', '');
        name := CASE name
            WHEN 'ACCESSSHARELOCK' THEN 'ACCESS SHARE' WHEN 'ROWSHARELOCK' THEN 'ROW SHARE'
            WHEN 'ROWEXCLUSIVELOCK' THEN 'ROW EXCLUSIVE' WHEN 'SHAREUPDATEEXCLUSIVELOCK' THEN 'SHARE UPDATE EXCLUSIVE'
            WHEN 'SHARELOCK' THEN 'SHARE' WHEN 'SHAREROWEXCLUSIVELOCK' THEN 'SHARE ROW EXCLUSIVE'
            WHEN 'EXCLUSIVELOCK' THEN 'EXCLUSIVE' WHEN 'ACCESSEXCLUSIVELOCK' THEN 'ACCESS EXCLUSIVE'
            ELSE name END;
        IF NOT name = ANY (canonical) THEN
            RAISE EXCEPTION 'unknown table lock mode "%"', spelled
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Valid modes: ' || array_to_string(canonical, ', ') || '.';
        END IF;
        found_modes := found_modes || name;
    END LOOP;
    IF cardinality(found_modes) = 0 THEN
        RAISE EXCEPTION 'a lock policy must forbid at least one lock mode'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Delete the policy, or set enabled = false, to allow every mode.';
    END IF;
    NEW.forbidden_modes := ARRAY(SELECT m FROM unnest(canonical) WITH ORDINALITY AS c(m, n)
                                 WHERE m = ANY (found_modes) ORDER BY n);
    RETURN NEW;
END $$;

-- Tells every backend to reload its policy cache once this transaction commits.
CREATE FUNCTION lockguard._lock_policies_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'lockguard_lock_policies_changed'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE TRIGGER normalize_lock_policy BEFORE INSERT OR UPDATE ON lockguard.lock_policies
    FOR EACH ROW EXECUTE FUNCTION lockguard._normalize_lock_policy();
CREATE TRIGGER lock_policies_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON lockguard.lock_policies
    FOR EACH STATEMENT EXECUTE FUNCTION lockguard._lock_policies_changed();

-- Roles whose sessions lockguard.end_blockers() never ends (besides the exempt roles of the
-- lock policies), e.g. the role that runs migrations.
CREATE TABLE lockguard.blocker_exempt_roles (
    role regrole PRIMARY KEY,
    reason text
);
COMMENT ON TABLE lockguard.blocker_exempt_roles IS
'Roles whose sessions lockguard.end_blockers() leaves alone (as it does for exempt roles of lock policies)';
SELECT pg_catalog.pg_extension_config_dump('lockguard.blocker_exempt_roles', '');

-- Root blockers now: sessions others wait for, directly or down a chain, that wait for no one.
-- blocking_for is the longest wait among the sessions it blocks. SECURITY DEFINER to see every
-- session's query; EXECUTE is limited to those who may end blockers.
CREATE FUNCTION lockguard._root_blockers(
    OUT pid integer, OUT usesysid oid, OUT usename name, OUT application_name text, OUT state text,
    OUT backend_type text, OUT query text, OUT blocking_for interval, OUT blocked_count integer,
    OUT blocked_pids integer[], OUT is_superuser boolean, OUT exempt boolean)
RETURNS SETOF record
LANGUAGE sql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
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
    exempt_roles AS (
        SELECT unnest(p.exempt_roles)::oid AS role FROM lockguard.lock_policies p WHERE p.enabled
        UNION
        SELECT e.role::oid FROM lockguard.blocker_exempt_roles e)
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
    JOIN pg_stat_activity a ON a.pid = r.root
$$;

-- Whether pid still blocks anyone (live lock-manager data, not the statistics snapshot).
CREATE FUNCTION lockguard._still_blocking(blocker integer) RETURNS boolean
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM pg_locks l WHERE NOT l.granted AND blocker = ANY (pg_blocking_pids(l.pid)))
$$;

CREATE FUNCTION lockguard._end_blocker(pid integer, terminate boolean, blocking_for interval,
                                       blocked_pids integer[], query text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'lockguard_end_blocker'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Finds root blockers that have blocked others for at least min_blocking. A dry run (the
-- default) only lists them. Otherwise it cancels each one's statement, waits up to grace, and
-- terminates the session only if it still blocks (an idle-in-transaction session always does).
-- Leaves alone: superusers' sessions (unless include_superusers, superusers only), replication
-- connections, background processes, exempt roles, this session; ends at most max_to_end.
CREATE FUNCTION lockguard.end_blockers(
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
            verdict := CASE WHEN lockguard._end_blocker(b.pid, false, b.blocking_for, b.blocked_pids, b.query)
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
            IF lockguard._end_blocker(blocker, true, (decided -> blocker::text ->> 'blocking_for')::interval,
                                      ARRAY(SELECT jsonb_array_elements_text(decided -> blocker::text -> 'blocked_pids'))::integer[],
                                      decided -> blocker::text ->> 'query') THEN
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
COMMENT ON FUNCTION lockguard.end_blockers(interval, boolean, interval, integer, boolean) IS
'List (dry_run, the default) or end root blockers that blocked others for at least min_blocking: cancel, then terminate after grace if still blocking; audited';

REVOKE ALL ON lockguard.lock_policies, lockguard.blocker_exempt_roles FROM PUBLIC;
GRANT SELECT ON lockguard.lock_policies, lockguard.blocker_exempt_roles TO lockguard_monitor;
GRANT INSERT, UPDATE, DELETE ON lockguard.lock_policies, lockguard.blocker_exempt_roles TO lockguard_admin;
REVOKE ALL ON FUNCTION lockguard._root_blockers(), lockguard._still_blocking(integer),
    lockguard._end_blocker(integer, boolean, interval, integer[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lockguard._root_blockers(), lockguard._still_blocking(integer),
    lockguard._end_blocker(integer, boolean, interval, integer[], text) TO lockguard_admin, pg_signal_backend;
-- end of the guardrails section
