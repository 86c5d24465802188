-- The privilege model (docs/security.md): read from the catalog, then every privileged action
-- tried as roles that lack the privilege (each fails with 42501), and the allowed paths.

-- Who may execute each function of the extension (besides its owner and superusers), and which
-- run with their owner's rights. A SECURITY DEFINER function pins search_path.
SELECT p.oid::regprocedure AS function,
       CASE WHEN p.prosecdef THEN 'definer' ELSE '' END AS security,
       coalesce((SELECT string_agg(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END, ', '
                                   ORDER BY a.grantee <> 0, a.grantee::regrole::text)
                 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                 WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner), '') AS execute
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'lockguard'
ORDER BY p.oid::regprocedure::text;

SELECT p.oid::regprocedure AS definer_without_pinned_search_path
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'lockguard'
WHERE p.prosecdef AND p.proconfig IS DISTINCT FROM ARRAY['search_path=pg_catalog, pg_temp'];

-- Who may read and write each table, view and sequence (besides the owner).
SELECT c.oid::regclass AS relation, c.relkind AS kind,
       coalesce((SELECT string_agg(g, ', ' ORDER BY g <> 'PUBLIC', g) FROM (
                    SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END AS g
                    FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
                    WHERE a.privilege_type IN ('SELECT', 'USAGE') AND a.grantee <> c.relowner) r), '') AS read,
       coalesce((SELECT string_agg(g, ', ' ORDER BY g) FROM (
                    SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END || ' '
                           || string_agg(lower(a.privilege_type), '/' ORDER BY a.privilege_type) AS g
                    FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
                    WHERE a.privilege_type NOT IN ('SELECT', 'USAGE') AND a.grantee <> c.relowner
                    GROUP BY a.grantee) w), '') AS write
FROM pg_class c
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'lockguard'
ORDER BY c.oid::regclass::text;

-- Roles: plain (no grant at all), a monitor, an administrator.
CREATE ROLE lg_sec_plain;
CREATE ROLE lg_sec_monitor IN ROLE lockguard_monitor;
CREATE ROLE lg_sec_admin IN ROLE lockguard_admin;
CREATE TABLE sec_accounts (id int PRIMARY KEY, balance int);
INSERT INTO sec_accounts VALUES (1, 100);
CREATE FUNCTION sec_work(arg jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT arg $$;
REVOKE EXECUTE ON FUNCTION sec_work(jsonb) FROM PUBLIC;
INSERT INTO lockguard.tenant_budgets (tenant) VALUES ('sec_other');
BEGIN;
SELECT claimed FROM lockguard.claim_operation('sec:owned-key');
SELECT lockguard.check_fencing_token('sec:owned', 5);
COMMIT;

-- Runs a statement as a role, in a subtransaction that is always rolled back; says "ok" or the
-- SQLSTATE it failed with.
CREATE FUNCTION sec_attempt(role name, statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', role);
    EXECUTE statement;
    RAISE EXCEPTION 'succeeded' USING ERRCODE = 'LGOK0';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
    RETURN CASE state WHEN 'LGOK0' THEN 'ok' ELSE state END;
END $$;

CREATE TEMP TABLE sec_actions (n serial, action text, statement text);
INSERT INTO sec_actions (action, statement) VALUES
  -- configuration: lockguard_admin
  ('change a tenant''s budget', $$UPDATE lockguard.tenant_budgets SET max_held = 1 WHERE tenant = 'default'$$),
  ('add a tenant', $$INSERT INTO lockguard.tenant_budgets (tenant) VALUES ('sec_new')$$),
  ('map a role to a tenant', $$INSERT INTO lockguard.tenant_roles VALUES ('lg_sec_plain', 'sec_other', true)$$),
  ('add a lock policy', $$INSERT INTO lockguard.lock_policies (relation, reason) VALUES ('sec_accounts', 'test')$$),
  ('exempt a role from end_blockers', $$INSERT INTO lockguard.blocker_exempt_roles VALUES ('lg_sec_plain')$$),
  ('reset wait statistics', $$SELECT lockguard.reset_wait_stats()$$),
  ('persist the audit ring', $$SELECT lockguard.flush_audit()$$),
  ('persist captured deadlocks', $$SELECT lockguard.flush_deadlocks()$$),
  ('sample the wait graph', $$SELECT lockguard.sample_wait_graph()$$),
  ('expire run-once keys', $$SELECT lockguard.expire_operations()$$),
  ('delete a run-once key', $$DELETE FROM lockguard.operations WHERE key = 'sec:owned-key'$$),
  ('delete a fencing resource', $$DELETE FROM lockguard.fencing_seen WHERE resource = 'sec:owned'$$),
  ('end blockers', $$SELECT * FROM lockguard.end_blockers()$$),
  ('list root blockers', $$SELECT * FROM lockguard._root_blockers()$$),
  ('list exempt roles', $$SELECT * FROM lockguard._exempt_roles()$$),
  ('signal a blocker', $$SELECT lockguard._end_blocker(0, false)$$),
  ('ask whether a session blocks', $$SELECT lockguard._still_blocking(0)$$),
  -- reading: lockguard_monitor
  ('read the audit trail', $$SELECT count(*) FROM lockguard.audit$$),
  ('read the audit ring', $$SELECT count(*) FROM lockguard._audit_buffer()$$),
  ('read lockguard.audit_log', $$SELECT count(*) FROM lockguard.audit_log$$),
  ('read lockguard.wait_history', $$SELECT count(*) FROM lockguard.wait_history$$),
  ('read lockguard.deadlock_log', $$SELECT count(*) FROM lockguard.deadlock_log$$),
  ('read lockguard.conflict_counts', $$SELECT count(*) FROM lockguard.conflict_counts$$),
  ('read lockguard.tenant_budgets', $$SELECT count(*) FROM lockguard.tenant_budgets$$),
  ('read lockguard.tenant_roles', $$SELECT count(*) FROM lockguard.tenant_roles$$),
  ('read lockguard.lock_policies', $$SELECT count(*) FROM lockguard.lock_policies$$),
  ('read lockguard.blocker_exempt_roles', $$SELECT count(*) FROM lockguard.blocker_exempt_roles$$),
  ('read lockguard.operations', $$SELECT count(*) FROM lockguard.operations$$),
  ('read lockguard.fencing_seen', $$SELECT count(*) FROM lockguard.fencing_seen$$),
  ('draw the wait-graph history', $$SELECT lockguard.wait_graph_dot(now())$$),
  -- nobody but the owner
  ('list every role''s tenant', $$SELECT count(*) FROM lockguard._tenant_configuration()$$),
  ('write audit rows', $$INSERT INTO lockguard.audit_log SELECT * FROM lockguard.audit_log LIMIT 0$$),
  ('write a fencing token directly', $$INSERT INTO lockguard.fencing_seen VALUES ('sec:direct', 1, now())$$),
  ('claim a key directly', $$INSERT INTO lockguard.operations (key) VALUES ('sec:direct')$$),
  ('draw from the fencing counter', $$SELECT nextval('lockguard.fencing_counter')$$),
  ('empty a lockguard table', $$TRUNCATE lockguard.tenant_budgets$$),
  ('alter a lockguard table', $$ALTER TABLE lockguard.tenant_budgets ADD COLUMN sec int$$),
  ('run the worker''s cycle', $$SELECT lockguard._worker_cycle(false, false, 60)$$),
  ('override lock policies', $$SET LOCAL lockguard.override_policies = on$$),
  ('stop auditing own waits', $$SET LOCAL lockguard.audit_min_wait_ms = -1$$),
  -- another role's data: nobody without that role's privileges
  ('claim another role''s run-once key', $$SELECT * FROM lockguard.claim_operation('sec:owned-key')$$),
  ('complete another role''s run-once key', $$SELECT lockguard.complete_operation('sec:owned-key', '{}')$$),
  ('check a token for another role''s resource', $$SELECT lockguard.check_fencing_token('sec:owned', 999)$$),
  ('act as a tenant not its own', $$SELECT set_config('lockguard.tenant', 'sec_other', true), lockguard_acquire('sec')$$),
  -- locks on a table the role has no privilege on
  ('lock a row', $$SELECT lockguard_acquire_row('sec_accounts', 1)$$),
  ('lock a row FOR KEY SHARE', $$SELECT lockguard_acquire_row('sec_accounts', 1, 'FOR KEY SHARE')$$),
  ('lock a row among others', $$SELECT lockguard_acquire_all(ARRAY[lockguard.row_lock('sec_accounts', 1)])$$),
  ('lock the table ACCESS SHARE', $$SELECT lockguard_acquire_table('sec_accounts', 'ACCESS SHARE')$$),
  ('lock the table ACCESS EXCLUSIVE', $$SELECT lockguard_acquire_table('sec_accounts')$$),
  ('run a work it may not execute', $$SELECT lockguard_run(ARRAY[lockguard.named_lock('sec')], 'sec_work(jsonb)')$$),
  -- open to every role
  ('lock a named resource', $$SELECT lockguard_acquire('sec')$$),
  ('read lockguard.locks', $$SELECT count(*) FROM lockguard.locks$$),
  ('read lockguard.wait_graph', $$SELECT count(*) FROM lockguard.wait_graph$$),
  ('read lockguard.blocking_tree', $$SELECT count(*) FROM lockguard.blocking_tree$$),
  ('read lockguard.deadlocks', $$SELECT count(*) FROM lockguard.deadlocks$$),
  ('read lockguard.wait_stats', $$SELECT count(*) FROM lockguard.wait_stats$$),
  ('read lockguard.tenants', $$SELECT count(*) FROM lockguard.tenants$$),
  ('read lockguard.metrics', $$SELECT count(*) FROM lockguard.metrics$$),
  ('read lockguard.worker_status', $$SELECT count(*) FROM lockguard.worker_status$$),
  ('draw the wait graph now', $$SELECT lockguard.wait_graph_dot()$$),
  ('claim a run-once key of its own', $$SELECT * FROM lockguard.claim_operation('sec:mine')$$),
  ('take and check a fencing token', $$SELECT lockguard.check_fencing_token('sec:mine', lockguard.fencing_token('sec:mine'))$$);

SELECT action, sec_attempt('lg_sec_plain', statement) AS plain, sec_attempt('lg_sec_monitor', statement) AS monitor,
       sec_attempt('lg_sec_admin', statement) AS admin
FROM sec_actions ORDER BY n;

-- The refusals read as PostgreSQL's own.
SET ROLE lg_sec_plain;
SELECT * FROM try($$UPDATE lockguard.tenant_budgets SET max_held = 1 WHERE tenant = 'default'$$);
SELECT * FROM try($$SELECT lockguard.flush_audit()$$);
SELECT * FROM try($$SELECT * FROM lockguard.end_blockers()$$);
SELECT * FROM try($$SELECT lockguard_acquire_row('sec_accounts', 1)$$);
SELECT * FROM try($$SELECT lockguard_acquire_table('sec_accounts', 'ACCESS SHARE')$$);
SELECT * FROM try($$SELECT * FROM lockguard.claim_operation('sec:owned-key')$$);
SELECT * FROM try($$SELECT lockguard.check_fencing_token('sec:owned', 999)$$);
SELECT * FROM try($$SELECT lockguard.wait_graph_dot(now())$$);
RESET ROLE;

-- Row and table locks ask exactly the privileges PostgreSQL asks, whatever the major (LOCK TABLE's
-- rules changed in 16 and 17): for every set of table privileges the server knows (all subsets
-- of what acldefault() gives a table's owner: MAINTAIN comes with 17) and some column grants,
-- every strength and mode is tried both ways (SELECT ... FOR <strength> and LOCK TABLE against
-- lockguard_acquire_row and lockguard_acquire_table), on a plain and on a partitioned table
-- (whose partitions grant nothing). Printed: whether every case ran and saw both outcomes, and
-- each disagreement (an outcome or a SQLSTATE); what a grant allows is the server's business.
CREATE TABLE sec_parted (id int PRIMARY KEY, balance int) PARTITION BY RANGE (id);
CREATE TABLE sec_parted_1 PARTITION OF sec_parted FOR VALUES FROM (0) TO (100);
INSERT INTO sec_parted VALUES (1, 100);
CREATE ROLE lg_sec_grantee;
CREATE TEMP TABLE sec_privileges AS
SELECT (row_number() OVER (ORDER BY privilege_type) - 1)::int AS bit, privilege_type AS privilege
FROM (SELECT DISTINCT privilege_type FROM aclexplode(acldefault('r', 'lg_sec_grantee'::regrole))) p;
CREATE TEMP TABLE sec_grants (n int, grants text);
INSERT INTO sec_grants
SELECT m, coalesce((SELECT string_agg(privilege, ', ' ORDER BY bit) FROM sec_privileges WHERE m & (1 << bit) <> 0), '')
FROM generate_series(0, (1 << (SELECT count(*) FROM sec_privileges)::int) - 1) m;
INSERT INTO sec_grants
SELECT 1000 + n, grants FROM (VALUES (1, 'SELECT (id), UPDATE (balance)'), (2, 'SELECT (balance), UPDATE (balance)'),
                                     (3, 'SELECT (id)'), (4, 'UPDATE (balance)'), (5, 'INSERT (id)'),
                                     (6, 'SELECT (id), INSERT (id)'), (7, 'REFERENCES (id)')) c(n, grants);
CREATE TEMP TABLE sec_lock_checks (grants_n int, tbl text, kind text, mode text, postgres text, lockguard text);
DO $$
DECLARE
    g record;
    tbl text;
    mode text;
BEGIN
    FOR g IN SELECT * FROM sec_grants ORDER BY n LOOP
        FOREACH tbl IN ARRAY ARRAY['sec_accounts', 'sec_parted'] LOOP
            EXECUTE format('REVOKE ALL ON %I FROM lg_sec_grantee', tbl);
            IF g.grants <> '' THEN
                EXECUTE format('GRANT %s ON %I TO lg_sec_grantee', g.grants, tbl);
            END IF;
            FOREACH mode IN ARRAY ARRAY['FOR KEY SHARE', 'FOR SHARE', 'FOR NO KEY UPDATE', 'FOR UPDATE'] LOOP
                INSERT INTO sec_lock_checks VALUES (g.n, tbl, 'row', mode,
                    sec_attempt('lg_sec_grantee', format('SELECT 1 FROM %I WHERE id = 1 %s', tbl, mode)),
                    sec_attempt('lg_sec_grantee', format('SELECT lockguard_acquire_row(%L, 1, %L)', tbl, mode)));
            END LOOP;
            FOREACH mode IN ARRAY ARRAY['ACCESS SHARE', 'ROW SHARE', 'ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE', 'SHARE',
                                        'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE'] LOOP
                INSERT INTO sec_lock_checks VALUES (g.n, tbl, 'table', mode,
                    sec_attempt('lg_sec_grantee', format('LOCK TABLE %I IN %s MODE', tbl, mode)),
                    sec_attempt('lg_sec_grantee', format('SELECT lockguard_acquire_table(%L, %L)', tbl, mode)));
            END LOOP;
        END LOOP;
    END LOOP;
END $$;
-- Every grant x table x strength or mode ran; each kind was both allowed and refused; PostgreSQL
-- said only "ok" or 42501; and the number of disagreements.
SELECT count(*) = (SELECT count(*) FROM sec_grants) * 2 * (4 + 8) AS every_case_ran,
       (SELECT count(*) FROM sec_privileges WHERE privilege IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE',
                                                               'REFERENCES', 'TRIGGER')) AS privileges_of_15_seen,
       (SELECT count(*) FROM (SELECT kind FROM sec_lock_checks GROUP BY kind
                              HAVING bool_or(postgres = 'ok') AND bool_or(postgres = '42501')) k) AS kinds_allowed_and_refused,
       count(*) FILTER (WHERE postgres NOT IN ('ok', '42501')) AS other_outcomes,
       count(*) FILTER (WHERE postgres IS DISTINCT FROM lockguard) AS disagreements
FROM sec_lock_checks;
SELECT g.grants, c.tbl, c.kind, c.mode, c.postgres, c.lockguard
FROM sec_lock_checks c JOIN sec_grants g ON g.n = c.grants_n
WHERE c.postgres IS DISTINCT FROM c.lockguard ORDER BY g.n, c.tbl, c.kind, c.mode;

-- Other sessions' query texts: lockguard's views hide them from a plain role exactly as
-- pg_stat_activity does, and show them to lockguard_monitor (here: the server's background
-- processes, which belong to no role the test roles have).
SET ROLE lg_sec_plain;
SELECT count(*) FILTER (WHERE l.query IS DISTINCT FROM a.query OR l.state IS DISTINCT FROM a.state) AS differ_from_pg_stat_activity,
       bool_or(l.query = '<insufficient privilege>') AS some_hidden
FROM lockguard._activity() l JOIN pg_stat_activity a USING (pid);
SET ROLE lg_sec_monitor;
SELECT bool_or(a.query = '<insufficient privilege>') AS pg_stat_activity_hides_some,
       bool_or(l.query = '<insufficient privilege>') AS lockguard_hides_any
FROM lockguard._activity() l JOIN pg_stat_activity a USING (pid);
RESET ROLE;

-- Deadlock reports: the queries of a report are cut for a plain role, kept for a monitor.
INSERT INTO lockguard.deadlock_log VALUES (now(), -1, now(), 0, NULL, 'error', 'deadlock detected',
  E'Process 1 waits for ShareLock on transaction 2; blocked by process 3.\nProcess 3 waits for ShareLock on transaction 4; blocked by process 1.\nProcess 1: UPDATE secret SET v = 1\nWHERE id = 2;\nProcess 3: UPDATE secret SET v = 2');
SET ROLE lg_sec_plain;
SELECT cycle_pids, queries, detail FROM lockguard.deadlocks WHERE seq = -1;
SET ROLE lg_sec_monitor;
SELECT cycle_pids, queries FROM lockguard.deadlocks WHERE seq = -1;
RESET ROLE;
DELETE FROM lockguard.deadlock_log WHERE seq = -1;

-- A role's own run-once keys and fencing resources work; a member of the role that recorded
-- them may use them too.
SET ROLE lg_sec_plain;
BEGIN;
SELECT claimed FROM lockguard.claim_operation('sec:plain-key');
SELECT lockguard.complete_operation('sec:plain-key', '{"done": true}');
SELECT lockguard.check_fencing_token('sec:plain-resource', 7);
COMMIT;
BEGIN;
SELECT claimed, result FROM lockguard.claim_operation('sec:plain-key');
ROLLBACK;
RESET ROLE;
CREATE ROLE lg_sec_colleague IN ROLE lg_sec_plain;
SET ROLE lg_sec_colleague;
BEGIN;
SELECT claimed, result FROM lockguard.claim_operation('sec:plain-key');
SELECT lockguard.check_fencing_token('sec:plain-resource', 8);
COMMIT;
RESET ROLE;
SELECT key, claimed_by FROM lockguard.operations WHERE key LIKE 'sec:%' ORDER BY key;
SELECT resource, token, checked_by FROM lockguard.fencing_seen WHERE resource LIKE 'sec:%' ORDER BY resource;

-- lockguard_admin changes a budget, and it is in force.
SET ROLE lg_sec_admin;
UPDATE lockguard.tenant_budgets SET max_held = 3 WHERE tenant = 'sec_other';
RESET ROLE;
SELECT tenant, max_held FROM lockguard.tenants WHERE tenant = 'sec_other';

DELETE FROM lockguard.operations WHERE key LIKE 'sec:%';
DELETE FROM lockguard.fencing_seen WHERE resource LIKE 'sec:%';
DELETE FROM lockguard.tenant_budgets WHERE tenant = 'sec_other';
DROP TABLE sec_accounts, sec_parted;
DROP FUNCTION sec_work(jsonb), sec_attempt(name, text);
DROP ROLE lg_sec_plain, lg_sec_monitor, lg_sec_admin, lg_sec_grantee, lg_sec_colleague;
