-- Catalog checks of the privilege model (docs/security.md): the two roles, who may execute
-- each function, who may read and write each table, view and sequence, and that every function
-- running with its owner's rights pins search_path. A function or relation added to the
-- extension without a decision here fails the "exactly these" checks.
-- Run by pg_prove in a database where CREATE EXTENSION pgtap, lockguard were done.
BEGIN;
SELECT plan(66);

-- Roles.
SELECT has_role('lockguard_monitor', 'role lockguard_monitor exists');
SELECT has_role('lockguard_admin', 'role lockguard_admin exists');
SELECT is((SELECT rolcanlogin OR rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls
           FROM pg_roles WHERE rolname = 'lockguard_monitor'), false, 'lockguard_monitor has no attribute');
SELECT is((SELECT rolcanlogin OR rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls
           FROM pg_roles WHERE rolname = 'lockguard_admin'), false, 'lockguard_admin has no attribute');
SELECT is_member_of('lockguard_monitor', 'lockguard_admin', 'lockguard_admin is a member of lockguard_monitor');
SELECT is_empty($$SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
                 WHERE m.member IN ('lockguard_monitor'::regrole, 'lockguard_admin'::regrole)
                   AND r.rolname NOT IN ('lockguard_monitor')$$,
                'the roles are members of no other role (lockguard_monitor grants nothing outside lockguard)');

-- The extension's functions, and who besides the owner may execute them.
CREATE TEMP VIEW lg_functions AS
SELECT p.oid, p.oid::regprocedure::text AS signature, p.prosecdef, p.proconfig, p.proowner,
       coalesce(p.proacl, acldefault('f', p.proowner)) AS acl
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'lockguard';
CREATE TEMP VIEW lg_execute AS
SELECT f.signature, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END AS grantee
FROM lg_functions f, aclexplode(f.acl) a
WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> f.proowner;

SELECT set_eq($$SELECT signature FROM lg_execute WHERE grantee = 'PUBLIC'$$,
              ARRAY['lockguard_acquire(text,integer,integer,text)',
                    'lockguard_acquire_row(regclass,"any",text,integer,integer)',
                    'lockguard_acquire_table(regclass,text,integer,integer)',
                    'lockguard_acquire_all(lockguard.lock_request[],integer,integer)',
                    'lockguard_run(lockguard.lock_request[],regprocedure,jsonb,integer,integer,integer,integer,integer,integer)',
                    'lockguard.named_lock(text,text)', 'lockguard.row_lock(regclass,"any",text)',
                    -- 1.2: text forms for untyped keys, and the try-lock
                    'lockguard_acquire_row(regclass,text,text,integer,integer)',
                    'lockguard_acquire_row(regclass,text[],text,integer,integer)',
                    'lockguard.row_lock(regclass,text,text)', 'lockguard.row_lock(regclass,text[],text)',
                    'lockguard_try_acquire(text,integer,integer,text)',
                    'lockguard_try_acquire_row(regclass,"any",text,integer,integer)',
                    'lockguard_try_acquire_row(regclass,text,text,integer,integer)',
                    'lockguard_try_acquire_row(regclass,text[],text,integer,integer)',
                    'lockguard_try_acquire_table(regclass,text,integer,integer)',
                    'lockguard_try_acquire_all(lockguard.lock_request[],integer,integer)',
                    'lockguard.table_lock(regclass,text)', 'lockguard.queue_stats()',
                    'lockguard.dot_graph(integer[],integer[],integer[],bigint[],text[],text)',
                    'lockguard.wait_graph_dot(timestamp with time zone)',
                    'lockguard.end_blockers(interval,boolean,interval,integer,boolean)',
                    'lockguard.fencing_token(text)', 'lockguard.fencing_token_parts(bigint)',
                    'lockguard.check_fencing_token(text,bigint)', 'lockguard.fencing_token_guard()',
                    'lockguard.claim_operation(text)', 'lockguard.complete_operation(text,jsonb)',
                    -- internal, returning only what the caller may see, or computing on arguments
                    'lockguard._check_preloaded()', 'lockguard._lock_registry()', 'lockguard._activity()',
                    'lockguard._deadlock_buffer()', 'lockguard._wait_stats()', 'lockguard._tenant_stats()',
                    'lockguard._blocking_tree(integer[],integer[],integer[],bigint[])',
                    -- what pg_locks shows everyone; the worker's own counters
                    'lockguard._lock_waits()', 'lockguard._lock_waits(boolean)', 'lockguard.worker_stats()',
                    -- trigger functions (not callable but as triggers)
                    'lockguard._tenants_changed()', 'lockguard._normalize_lock_policy()',
                    'lockguard._lock_policies_changed()'],
              'exactly these functions are executable by PUBLIC');
SELECT set_eq($$SELECT signature FROM lg_execute WHERE grantee = 'lockguard_monitor'$$,
              ARRAY['lockguard._audit_buffer()'],
              'lockguard_monitor is granted only the audit ring reader (the rest through PUBLIC and tables)');
SELECT set_eq($$SELECT signature FROM lg_execute WHERE grantee = 'lockguard_admin'$$,
              ARRAY['lockguard.reset_wait_stats()', 'lockguard.flush_audit()', 'lockguard.flush_deadlocks()',
                    'lockguard.sample_wait_graph()', 'lockguard.expire_operations(interval)',
                    'lockguard._mark_tenant_change()', 'lockguard._root_blockers()',
                    'lockguard._still_blocking(integer)', 'lockguard._exempt_roles()',
                    'lockguard._end_blocker(integer,boolean)', 'lockguard._shared_state()'],
              'exactly these functions are granted to lockguard_admin');
SELECT set_eq($$SELECT signature FROM lg_execute WHERE grantee = 'pg_signal_backend'$$,
              ARRAY['lockguard._root_blockers()', 'lockguard._still_blocking(integer)', 'lockguard._exempt_roles()',
                    'lockguard._end_blocker(integer,boolean)'],
              'members of pg_signal_backend may run end_blockers'' steps');
SELECT is_empty($$SELECT signature FROM lg_execute
                  WHERE grantee NOT IN ('PUBLIC', 'lockguard_monitor', 'lockguard_admin', 'pg_signal_backend')$$,
                'no other role is granted a function');
SELECT set_eq($$SELECT signature FROM lg_functions f
               WHERE NOT EXISTS (SELECT 1 FROM lg_execute x WHERE x.signature = f.signature)$$,
              ARRAY['lockguard._tenant_configuration()', 'lockguard._worker_cycle(boolean,boolean,integer)'],
              'only the owner may run these');

-- Functions that run with their owner's rights.
SELECT set_eq($$SELECT signature FROM lg_functions WHERE prosecdef$$,
              ARRAY['lockguard.fencing_token(text)', 'lockguard.flush_audit()', 'lockguard.flush_deadlocks()',
                    'lockguard.sample_wait_graph()', 'lockguard._tenant_configuration()', 'lockguard._exempt_roles()'],
              'exactly these functions are SECURITY DEFINER');
SELECT is_empty($$SELECT signature FROM lg_functions
                  WHERE prosecdef AND proconfig IS DISTINCT FROM ARRAY['search_path=pg_catalog, pg_temp']$$,
                'every SECURITY DEFINER function pins search_path = pg_catalog, pg_temp');
SELECT is_empty($$SELECT f.signature FROM lg_functions f JOIN pg_proc p ON p.oid = f.oid
                  JOIN pg_language l ON l.oid = p.prolang
                  WHERE l.lanname IN ('sql', 'plpgsql') AND f.proconfig IS DISTINCT FROM ARRAY['search_path=pg_catalog, pg_temp']$$,
                'every SQL and PL/pgSQL function of the extension pins search_path');
SELECT is_empty($$SELECT f.signature FROM lg_functions f WHERE NOT (SELECT rolsuper FROM pg_roles WHERE oid = f.proowner)$$,
                'every function is owned by a superuser');

-- Schema, tables, views and the sequence: read and write privileges per role.
SELECT schema_privs_are('lockguard', 'public', ARRAY['USAGE'], 'every role may use schema lockguard');

SELECT table_privs_are('lockguard', t, 'public', ARRAY['SELECT'], 'PUBLIC may read ' || t)
FROM unnest(ARRAY['locks', 'wait_stats', 'tenants', 'wait_graph', 'blocking_tree', 'deadlocks', 'worker_status',
                  'metrics']) t;
SELECT table_privs_are('lockguard', t, 'public', ARRAY[]::text[], 'PUBLIC has no privilege on ' || t)
FROM unnest(ARRAY['audit', 'audit_log', 'wait_history', 'deadlock_log', 'conflict_counts', 'tenant_budgets',
                  'tenant_roles', 'lock_policies', 'blocker_exempt_roles', 'operations', 'fencing_seen']) t;
SELECT table_privs_are('lockguard', t, 'lockguard_monitor', ARRAY['SELECT'], 'lockguard_monitor may read ' || t)
FROM unnest(ARRAY['audit', 'audit_log', 'wait_history', 'deadlock_log', 'conflict_counts', 'tenant_budgets',
                  'tenant_roles', 'lock_policies', 'blocker_exempt_roles', 'operations', 'fencing_seen']) t;
SELECT table_privs_are('lockguard', t, 'lockguard_admin', ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
                       'lockguard_admin may read (as a monitor) and change ' || t)
FROM unnest(ARRAY['tenant_budgets', 'tenant_roles', 'lock_policies', 'blocker_exempt_roles']) t;
SELECT table_privs_are('lockguard', t, 'lockguard_admin', ARRAY['SELECT', 'DELETE'],
                       'lockguard_admin may read and delete from ' || t)
FROM unnest(ARRAY['operations', 'fencing_seen']) t;
SELECT table_privs_are('lockguard', t, 'lockguard_admin', ARRAY['SELECT'],
                       'lockguard_admin writes ' || t || ' only through lockguard''s functions')
FROM unnest(ARRAY['audit_log', 'wait_history', 'deadlock_log', 'conflict_counts']) t;
SELECT sequence_privs_are('lockguard', 'fencing_counter', 'public', ARRAY[]::text[],
                          'nobody but the owner may use the fencing counter');
SELECT sequence_privs_are('lockguard', 'fencing_counter', 'lockguard_admin', ARRAY[]::text[],
                          'not even lockguard_admin');
SELECT sequence_privs_are('lockguard', 'fencing_epoch', 'public', ARRAY[]::text[],
                          'nobody but the owner may move the fencing epoch');
SELECT sequence_privs_are('lockguard', 'fencing_epoch', 'lockguard_admin', ARRAY[]::text[],
                          'not even lockguard_admin may move the fencing epoch');
SELECT is_empty($$SELECT c.oid::regclass FROM pg_class c
                  JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
                  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'lockguard'
                  WHERE c.relkind IN ('r', 'v', 'S')
                    AND c.relname NOT IN ('locks', 'wait_stats', 'tenants', 'wait_graph', 'blocking_tree', 'deadlocks',
                                          'worker_status', 'metrics', 'audit', 'audit_log', 'wait_history',
                                          'deadlock_log', 'conflict_counts', 'tenant_budgets', 'tenant_roles',
                                          'lock_policies', 'blocker_exempt_roles', 'operations', 'fencing_seen',
                                          'fencing_counter', 'fencing_epoch')$$,
                'every table, view and sequence of the extension is checked above');

-- The checks behind the model hold for a role with no grant at all.
CREATE ROLE lg_pgtap_plain;
SET LOCAL ROLE lg_pgtap_plain;
SELECT throws_ok($$SELECT lockguard.flush_audit()$$, '42501', 'permission denied for function flush_audit',
                 'a plain role may not persist the audit ring');
SELECT throws_ok($$SELECT count(*) FROM lockguard.tenant_budgets$$, '42501',
                 'permission denied for table tenant_budgets', 'a plain role may not read the budgets table');
SELECT lives_ok($$SELECT count(*) FROM lockguard.metrics$$, 'a plain role may read lockguard.metrics');
SELECT is((SELECT bool_and(query = '<insufficient privilege>' AND state IS NULL) FROM lockguard._activity()
           WHERE pid <> pg_backend_pid() AND usesysid IS DISTINCT FROM 'lg_pgtap_plain'::regrole),
          true, 'a plain role sees no other session''s query or state');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
