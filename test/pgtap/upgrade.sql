-- The upgrade path: an installation of version 1.0 (and of 1.1, and of 1.2), with data in it, updated by
-- ALTER EXTENSION lockguard UPDATE, ends with exactly the objects and privileges of a fresh
-- CREATE EXTENSION (compared as catalog descriptions: every member's definition, columns,
-- constraints, indexes, triggers, comments, privileges and dump configuration), and keeps its
-- data. Everything happens in this transaction and is rolled back.
-- Run by pg_prove in a database where CREATE EXTENSION pgtap, lockguard were done.
BEGIN;
SELECT plan(48);

-- Every extension member described by text (no OIDs), one row per fact.
CREATE FUNCTION pg_temp.lg_catalog() RETURNS TABLE (object text, fact text)
LANGUAGE sql AS $$
    WITH members AS (
        SELECT d.classid, d.objid, pg_describe_object(d.classid, d.objid, 0) AS object
        FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'lockguard'
        WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e')
    SELECT m.object, 'member' FROM members m
    UNION ALL
    SELECT m.object, concat_ws(' ', 'function', pg_get_functiondef(p.oid), 'acl', p.proacl::text,
                                'comment', obj_description(p.oid, 'pg_proc'))
    FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
    UNION ALL
    SELECT m.object, concat_ws(' ', 'relation', c.relkind, 'acl', c.relacl::text, 'comment',
                                obj_description(c.oid, 'pg_class'), 'view', pg_get_viewdef(c.oid))
    FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    UNION ALL
    SELECT m.object, format('column %s %s %s not null %s default %s acl %s comment %s',
                            row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), a.attname,
                            format_type(a.atttypid, a.atttypmod), a.attnotnull,
                            pg_get_expr(ad.adbin, ad.adrelid), a.attacl, col_description(c.oid, a.attnum))
    FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    UNION ALL
    SELECT m.object, format('constraint %s %s', k.conname, pg_get_constraintdef(k.oid))
    FROM members m JOIN pg_constraint k ON m.classid = 'pg_class'::regclass AND k.conrelid = m.objid
    UNION ALL
    SELECT m.object, 'index ' || pg_get_indexdef(i.indexrelid)
    FROM members m JOIN pg_index i ON m.classid = 'pg_class'::regclass AND i.indrelid = m.objid
    UNION ALL
    SELECT m.object, 'trigger ' || pg_get_triggerdef(t.oid)
    FROM members m JOIN pg_trigger t ON m.classid = 'pg_class'::regclass AND t.tgrelid = m.objid AND NOT t.tgisinternal
    UNION ALL
    SELECT m.object, format('sequence %s %s %s %s %s', s.seqtypid::regtype, s.seqstart, s.seqmin, s.seqmax, s.seqcycle)
    FROM members m JOIN pg_sequence s ON m.classid = 'pg_class'::regclass AND s.seqrelid = m.objid
    UNION ALL
    SELECT m.object, concat_ws(' ', 'type', t.typtype, 'acl', t.typacl::text, 'comment', obj_description(t.oid, 'pg_type'))
    FROM members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
    UNION ALL
    SELECT m.object, concat_ws(' ', 'schema acl', n.nspacl::text, 'comment', obj_description(n.oid, 'pg_namespace'))
    FROM members m JOIN pg_namespace n ON m.classid = 'pg_namespace'::regclass AND n.oid = m.objid
    UNION ALL
    SELECT 'extension', format('dumped %s %s', c::regclass, cond)
    FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(c, cond)
    WHERE e.extname = 'lockguard'
    UNION ALL
    SELECT 'extension', format('version %s schema %s relocatable %s', e.extversion, e.extnamespace::regnamespace,
                               e.extrelocatable)
    FROM pg_extension e WHERE e.extname = 'lockguard'
$$;

-- Updates the extension to the newest version and compares it with the fresh installation: the
-- same catalog both ways, and the tenant budget recorded before the update kept.
CREATE FUNCTION pg_temp.update_and_compare(from_version text, budget_tenant text, budget integer)
RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    ALTER EXTENSION lockguard UPDATE;
    RETURN NEXT is((SELECT extversion FROM pg_extension WHERE extname = 'lockguard'), '1.6',
                   format('ALTER EXTENSION lockguard UPDATE brings %s to 1.6', from_version));
    CREATE TEMP TABLE updated_now AS SELECT * FROM pg_temp.lg_catalog();
    RETURN NEXT is_empty('SELECT * FROM fresh EXCEPT SELECT * FROM updated_now',
                         format('an updated %s has everything a fresh installation has', from_version));
    RETURN NEXT is_empty('SELECT * FROM updated_now EXCEPT SELECT * FROM fresh',
                         format('an updated %s has nothing a fresh installation lacks', from_version));
    DROP TABLE updated_now;
    RETURN NEXT is((SELECT max_held FROM lockguard.tenant_budgets WHERE tenant = budget_tenant), budget,
                   format('tenant budgets recorded under %s are kept', from_version));
END
$$;

CREATE TEMP TABLE fresh AS SELECT * FROM pg_temp.lg_catalog();
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'lockguard'), '1.6',
          'CREATE EXTENSION installs version 1.6');
SELECT cmp_ok((SELECT count(*) FROM fresh), '>', 300::bigint, 'the fresh installation is described in detail');

-- Version 1.0, with data a user would have.
DROP EXTENSION lockguard;
CREATE EXTENSION lockguard VERSION '1.0';
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'lockguard'), '1.0', 'version 1.0 can be installed');
CREATE TABLE upgrade_accounts (id int PRIMARY KEY);
INSERT INTO lockguard.tenant_budgets (tenant, max_held) VALUES ('upgrade_t', 3);
INSERT INTO lockguard.lock_policies (relation, reason) VALUES ('upgrade_accounts', 'kept across the upgrade');
INSERT INTO lockguard.operations (key, result) VALUES ('upgrade:op', '{"done": 1}');
INSERT INTO lockguard.fencing_seen VALUES ('upgrade:res', 9, now());
-- The library is newer than these objects: what needs the new columns says what to do.
SELECT throws_ok($$SELECT * FROM lockguard.claim_operation('upgrade:new')$$, '55000',
                 'the lockguard extension in this database is older than its library',
                 'on 1.0 objects, claim_operation asks for ALTER EXTENSION UPDATE');
SELECT lives_ok($$SELECT lockguard_acquire('upgrade:lock')$$, 'on 1.0 objects, acquisitions work');

ALTER EXTENSION lockguard UPDATE;
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'lockguard'), '1.6',
          'ALTER EXTENSION lockguard UPDATE brings it to 1.6');

CREATE TEMP TABLE updated AS SELECT * FROM pg_temp.lg_catalog();
SELECT is_empty($$SELECT * FROM fresh EXCEPT SELECT * FROM updated$$,
                'the updated installation has everything a fresh one has');
SELECT is_empty($$SELECT * FROM updated EXCEPT SELECT * FROM fresh$$,
                'the updated installation has nothing a fresh one lacks');
SELECT set_eq($$SELECT object FROM updated WHERE fact = 'member'$$, $$SELECT object FROM fresh WHERE fact = 'member'$$,
              'the same members');

-- The data survived, and keys and resources recorded by 1.0 stay open to every role.
SELECT is((SELECT max_held FROM lockguard.tenant_budgets WHERE tenant = 'upgrade_t'), 3, 'tenant budgets are kept');
SELECT is((SELECT reason FROM lockguard.lock_policies WHERE relation = 'upgrade_accounts'::regclass),
          'kept across the upgrade', 'lock policies are kept');
SELECT is((SELECT claimed_by FROM lockguard.operations WHERE key = 'upgrade:op'), NULL::regrole,
          'a key claimed under 1.0 has no owner');
CREATE ROLE lg_pgtap_upgrade;
SET LOCAL ROLE lg_pgtap_upgrade;
SELECT results_eq($$SELECT claimed, result FROM lockguard.claim_operation('upgrade:op')$$,
                  $$VALUES (false, '{"done": 1}'::jsonb)$$, 'any role still sees it done');
SELECT lives_ok($$SELECT lockguard.check_fencing_token('upgrade:res', 10)$$,
                'any role may still check a token for a resource recorded under 1.0');
SELECT lives_ok($$SELECT * FROM lockguard.claim_operation('upgrade:new')$$, 'new claims work after the update');
RESET ROLE;
SELECT is((SELECT claimed_by FROM lockguard.operations WHERE key = 'upgrade:new'), 'lg_pgtap_upgrade'::regrole,
          'and belong to the role that claimed them');

-- Version 1.1, with data, updated on its own.
DROP EXTENSION lockguard;
CREATE EXTENSION lockguard VERSION '1.1';
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'lockguard'), '1.1', 'version 1.1 can be installed');
INSERT INTO lockguard.tenant_budgets (tenant, max_held) VALUES ('upgrade_t11', 4);
INSERT INTO lockguard.operations (key, result) VALUES ('upgrade:op11', '{"done": 2}');
SELECT * FROM pg_temp.update_and_compare('1.1', 'upgrade_t11', 4);

-- Version 1.2, updated on its own (through 1.3, which changed the tokens). Its tokens carry the timeline of
-- the cluster that issued them, maybe one this cluster was upgraded from (pg_upgrade starts on
-- timeline 1): a token checked here with epoch 7 lifts every token issued after the update above it.
DROP EXTENSION lockguard;
CREATE EXTENSION lockguard VERSION '1.2';
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'lockguard'), '1.2', 'version 1.2 can be installed');
INSERT INTO lockguard.tenant_budgets (tenant, max_held) VALUES ('upgrade_t12', 5);
SELECT lives_ok($$SELECT lockguard.check_fencing_token('upgrade:res12', (7::bigint << 47) + 5)$$,
                'on 1.2 objects, token checks work');
SELECT throws_ok($$SELECT lockguard.fencing_token('upgrade:res12')$$, '55000',
                 'the lockguard extension in this database is older than its library',
                 'on 1.2 objects, fencing_token asks for ALTER EXTENSION UPDATE instead of issuing a token that may be too low');
SELECT * FROM pg_temp.update_and_compare('1.2', 'upgrade_t12', 5);
SELECT cmp_ok((SELECT timeline FROM lockguard.fencing_token_parts(lockguard.fencing_token('upgrade:res12'))), '>', 7,
              'a token issued after the update is in an epoch above that of every token checked before');
SELECT lives_ok($$SELECT lockguard.check_fencing_token('upgrade:res12', lockguard.fencing_token('upgrade:res12'))$$,
                'and is accepted where the old one was seen');

-- Version 1.3, updated to 1.6.
DROP EXTENSION lockguard;
CREATE EXTENSION lockguard VERSION '1.3';
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'lockguard'), '1.3', 'version 1.3 can be installed');
INSERT INTO lockguard.tenant_budgets (tenant, max_held) VALUES ('upgrade_t13', 6);
SELECT * FROM pg_temp.update_and_compare('1.3', 'upgrade_t13', 6);
SELECT is((SELECT l.lanname::text FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
           WHERE p.oid = 'lockguard.sample_wait_graph()'::regprocedure), 'plpgsql',
          'the sample is PL/pgSQL after the update, which keeps its plan in the worker''s session');
SELECT ok((SELECT prosecdef FROM pg_proc WHERE oid = 'lockguard.sample_wait_graph()'::regprocedure),
          'and still runs as its owner');

-- Version 1.4, updated to 1.6 on its own: lockguard.wait_graph keeps its columns (1.5 changed
-- the sample, not the view).
DROP EXTENSION lockguard;
CREATE EXTENSION lockguard VERSION '1.4';
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'lockguard'), '1.4', 'version 1.4 can be installed');
INSERT INTO lockguard.tenant_budgets (tenant, max_held) VALUES ('upgrade_t14', 7);
CREATE TEMP TABLE graph_columns_14 AS
    SELECT attnum, attname, atttypid, attcollation FROM pg_attribute WHERE attrelid = 'lockguard.wait_graph'::regclass AND attnum > 0;
SELECT * FROM pg_temp.update_and_compare('1.4', 'upgrade_t14', 7);
SELECT set_eq($$SELECT attnum, attname, atttypid, attcollation FROM pg_attribute
               WHERE attrelid = 'lockguard.wait_graph'::regclass AND attnum > 0$$,
              'SELECT * FROM graph_columns_14', 'lockguard.wait_graph has the columns it had in 1.4');

-- Version 1.5, the last released one, updated to 1.6 on its own (a new sample_wait_graph()).
DROP EXTENSION lockguard;
CREATE EXTENSION lockguard VERSION '1.5';
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'lockguard'), '1.5', 'version 1.5 can be installed');
INSERT INTO lockguard.tenant_budgets (tenant, max_held) VALUES ('upgrade_t15', 8);
SELECT * FROM pg_temp.update_and_compare('1.5', 'upgrade_t15', 8);

SELECT * FROM finish();
ROLLBACK;
