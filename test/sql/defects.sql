-- Smaller defects a new user hit (issue 16), each proven here: request builders check their
-- input where it is given; row and table resources are named as PostgreSQL quotes qualified
-- names, the same in lockguard.locks, errors, the audit log and wait_stats; a second mode of a
-- resource already held is not a second lock against max_held; DOT labels are shortened with a
-- mark at a character boundary; lockguard.locks shows the key space; every user-facing object
-- has a comment; and tenant limits do not survive DROP/CREATE EXTENSION.

-- 1. Request builders reject bad input where it is given, with a SQLSTATE.
SELECT 'named_lock(NULL)' AS call, * FROM try($$SELECT lockguard.named_lock(NULL)$$)
UNION ALL SELECT 'named_lock('''')', * FROM try($$SELECT lockguard.named_lock('')$$)
UNION ALL SELECT 'named_lock(long)', sqlstate, left(message, 40), NULL, NULL FROM try($$SELECT lockguard.named_lock(repeat('x', 256))$$)
UNION ALL SELECT 'named_lock(a, bogus)', * FROM try($$SELECT lockguard.named_lock('a', 'bogus')$$)
UNION ALL SELECT 'row_lock(NULL, 1)', * FROM try($$SELECT lockguard.row_lock(NULL, 1)$$)
UNION ALL SELECT 'row_lock(t, NULL)', * FROM try($$SELECT lockguard.row_lock('pg_class', NULL::int)$$)
UNION ALL SELECT 'row_lock(t, 1, bogus)', * FROM try($$SELECT lockguard.row_lock('pg_class', 1, 'bogus')$$)
UNION ALL SELECT 'row_lock(view, 1)', * FROM try($$SELECT lockguard.row_lock('pg_stat_activity', 1)$$)
UNION ALL SELECT 'table_lock(NULL)', * FROM try($$SELECT lockguard.table_lock(NULL)$$)
UNION ALL SELECT 'table_lock(t, FOR UPDATE)', * FROM try($$SELECT lockguard.table_lock('pg_class', 'FOR UPDATE')$$)
UNION ALL SELECT 'table_lock(view)', * FROM try($$SELECT lockguard.table_lock('pg_stat_activity')$$)
UNION ALL SELECT 'table_lock(no such oid)', * FROM try($$SELECT lockguard.table_lock(4294967295::oid::regclass)$$);
-- Good input still builds requests; a NULL mode is the default mode, as for the acquire functions.
SELECT lockguard.named_lock('a'), lockguard.named_lock('a', NULL), lockguard.named_lock('a', 'shared');
SELECT lockguard.table_lock('pg_class'), lockguard.table_lock('pg_class', 'row share');
SELECT lockguard.row_lock('pg_class', 1, 'for share');

-- 2. Names of row and table resources, generated over schema and table names that need
-- quoting and names that do not: lockguard.locks, the 55P03 error, the audit log and
-- wait_stats all use quote_ident(schema) || '.' || quote_ident(table) [|| '(' || key || ')'].
CREATE TABLE lg_names (schema_name text, table_name text);
INSERT INTO lg_names
SELECT s, t FROM unnest(ARRAY['lg_plain', 'Lg Billing', 'lg"quote']) s,
                 unnest(ARRAY['accounts', 'Accounts', 'acc ounts']) t;
DO $$
DECLARE n record;
BEGIN
  FOR n IN SELECT DISTINCT schema_name FROM lg_names LOOP
    EXECUTE format('CREATE SCHEMA %I', n.schema_name);
  END LOOP;
  FOR n IN SELECT * FROM lg_names LOOP
    EXECUTE format('CREATE TABLE %I.%I (id int PRIMARY KEY, balance int)', n.schema_name, n.table_name);
    EXECUTE format('INSERT INTO %I.%I VALUES (1, 0)', n.schema_name, n.table_name);
  END LOOP;
END $$;
CREATE FUNCTION lg_label(schema_name text, table_name text) RETURNS text
LANGUAGE sql AS $$ SELECT quote_ident(schema_name) || '.' || quote_ident(table_name) $$;
-- Another session (through dblink, in this database) holds a row lock and a table lock of every
-- table: the timeouts below need a holder that is not this session. (A prepared transaction
-- cannot be that holder: PREPARE is refused while lockguard locks are held.)
CREATE EXTENSION dblink;
SELECT dblink_connect('lg_holder', format('host=%s port=%s dbname=%s',
                      split_part(current_setting('unix_socket_directories'), ',', 1),
                      current_setting('port'), current_database())) AS connected;
SELECT pid AS holder FROM dblink('lg_holder', 'SELECT pg_backend_pid()') AS t(pid int) \gset
SELECT dblink_exec('lg_holder', 'BEGIN');
SELECT dblink_exec('lg_holder', $holder$
DO $$
DECLARE n record;
BEGIN
  FOR n IN SELECT * FROM lg_names LOOP
    PERFORM lockguard_acquire_row(lg_label(n.schema_name, n.table_name)::regclass, 1);
    PERFORM lockguard_acquire_table(lg_label(n.schema_name, n.table_name)::regclass, 'ROW SHARE');
  END LOOP;
END $$;
$holder$);
-- Every lock is named as expected: no row is left over on either side.
SELECT scope, count(*) AS locks,
       count(*) FILTER (WHERE resource IN (SELECT lg_label(schema_name, table_name) || CASE scope WHEN 'row' THEN '(1)' ELSE '' END
                                           FROM lg_names)) AS named_as_expected
FROM lockguard.locks WHERE pid = :holder GROUP BY scope ORDER BY scope;
SELECT resource FROM lockguard.locks WHERE pid = :holder AND resource LIKE 'lg\_plain.%' ORDER BY resource;
SELECT lockguard.reset_wait_stats();
-- Each timeout names the resource in its message and detail.
CREATE TABLE lg_errors (schema_name text, table_name text, scope text, message text, detail text);
DO $$
DECLARE n record; msg text; det text;
BEGIN
  FOR n IN SELECT * FROM lg_names LOOP
    BEGIN
      PERFORM lockguard_acquire_row(lg_label(n.schema_name, n.table_name)::regclass, 1, timeout_ms => 0);
    EXCEPTION WHEN lock_not_available THEN
      GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
      INSERT INTO lg_errors VALUES (n.schema_name, n.table_name, 'row', msg, det);
    END;
    BEGIN
      PERFORM lockguard_acquire_table(lg_label(n.schema_name, n.table_name)::regclass, 'EXCLUSIVE', timeout_ms => 0);
    EXCEPTION WHEN lock_not_available THEN
      GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
      INSERT INTO lg_errors VALUES (n.schema_name, n.table_name, 'table', msg, det);
    END;
  END LOOP;
END $$;
SELECT scope, count(*) AS timeouts,
       count(*) FILTER (WHERE message = format('could not obtain lockguard %s lock on "%s" without waiting', scope,
                                               lg_label(schema_name, table_name) || CASE scope WHEN 'row' THEN '(1)' ELSE '' END)
                          AND detail LIKE format('Resource "%s" is held by %%', lg_label(schema_name, table_name)
                                                 || CASE scope WHEN 'row' THEN '(1)' ELSE '' END)) AS named_as_expected
FROM lg_errors GROUP BY scope ORDER BY scope;
SELECT message FROM lg_errors WHERE schema_name = 'Lg Billing' AND table_name = 'accounts' ORDER BY scope;
-- The audit log and wait_stats name them the same way (resource_class: the table).
SELECT lockguard.flush_audit() > 0 AS flushed;
SELECT scope, count(*) AS audited,
       count(*) FILTER (WHERE (resource, resource_class) IN (
           SELECT lg_label(schema_name, table_name) || CASE a.scope WHEN 'row' THEN '(1)' ELSE '' END,
                  lg_label(schema_name, table_name) FROM lg_names)) AS named_as_expected
FROM lockguard.audit a WHERE pid = pg_backend_pid() AND outcome = 'timeout'
  AND resource_class IN (SELECT lg_label(schema_name, table_name) FROM lg_names)
GROUP BY scope ORDER BY scope;
SELECT scope, count(*) AS classes, sum(timeouts) AS timeouts,
       count(*) FILTER (WHERE resource_class IN (SELECT lg_label(schema_name, table_name) FROM lg_names)) AS named_as_expected
FROM lockguard.wait_stats WHERE scope IN ('row', 'table') AND timeouts > 0 GROUP BY scope ORDER BY scope;
SELECT dblink_exec('lg_holder', 'ROLLBACK');
SELECT dblink_disconnect('lg_holder');
DROP EXTENSION dblink;

-- 3. One resource counts once against max_held, in however many modes it is held: every pair
-- of modes of each scope, with a budget of one lock (a second mode of the same resource was
-- refused with LG001).
INSERT INTO lockguard.tenant_budgets (tenant, max_held) VALUES ('lg_one_lock', 1);
CREATE TABLE lg_pairs (scope text, first_mode text, second_mode text, outcome text, held_during int, held_after int);
DO $$
DECLARE
  scopes jsonb := jsonb_build_object(
    'named', ARRAY['exclusive', 'shared'],
    'row', ARRAY['FOR KEY SHARE', 'FOR SHARE', 'FOR NO KEY UPDATE', 'FOR UPDATE'],
    'table', ARRAY['ACCESS SHARE', 'ROW SHARE', 'ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE', 'SHARE',
                   'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE']);
  s text; a text; b text; result text; during int;
BEGIN
  PERFORM set_config('lockguard.tenant', 'lg_one_lock', true);
  FOR s IN SELECT jsonb_object_keys(scopes) LOOP
    FOR a IN SELECT jsonb_array_elements_text(scopes -> s) LOOP
      FOR b IN SELECT jsonb_array_elements_text(scopes -> s) LOOP
        BEGIN
          CASE s
            WHEN 'named' THEN
              PERFORM lockguard_acquire('lg:pair', mode => a);
              PERFORM lockguard_acquire('lg:pair', mode => b);
            WHEN 'row' THEN
              PERFORM lockguard_acquire_row('lg_plain.accounts', 1, a);
              PERFORM lockguard_acquire_row('lg_plain.accounts', 1, b);
            ELSE
              PERFORM lockguard_acquire_table('lg_plain.accounts', a);
              PERFORM lockguard_acquire_table('lg_plain.accounts', b);
          END CASE;
          result := 'ok';
          during := (SELECT held_now FROM lockguard.tenants WHERE tenant = 'lg_one_lock');
          RAISE EXCEPTION 'roll back the pair' USING ERRCODE = 'P0001';
        EXCEPTION
          WHEN raise_exception THEN NULL;
          WHEN OTHERS THEN result := SQLSTATE; during := NULL;
        END;
        INSERT INTO lg_pairs VALUES (s, a, b, result, during,
                                     (SELECT held_now FROM lockguard.tenants WHERE tenant = 'lg_one_lock'));
      END LOOP;
    END LOOP;
  END LOOP;
END $$;
SELECT scope, count(*) AS pairs, count(*) FILTER (WHERE outcome = 'ok') AS granted,
       count(*) FILTER (WHERE held_during = 1) AS counted_once, count(*) FILTER (WHERE held_after = 0) AS given_back
FROM lg_pairs GROUP BY scope ORDER BY scope;
SELECT * FROM lg_pairs WHERE outcome <> 'ok' OR held_during IS DISTINCT FROM 1 OR held_after <> 0;
-- A second, different resource is still refused.
BEGIN;
SET LOCAL lockguard.tenant = 'lg_one_lock';
SELECT lockguard_acquire_row('lg_plain.accounts', 1, 'FOR UPDATE');
SELECT lockguard_acquire_row('lg_plain.accounts', 1, 'FOR SHARE');
SELECT resource, mode, tenant FROM lockguard.locks WHERE pid = pg_backend_pid() ORDER BY mode;
SELECT held_now FROM lockguard.tenants WHERE tenant = 'lg_one_lock';
SELECT sqlstate, message FROM try($$SELECT lockguard_acquire_row('"Lg Billing".accounts', 1)$$);
ROLLBACK;
SELECT held_now FROM lockguard.tenants WHERE tenant = 'lg_one_lock';
DELETE FROM lockguard.tenant_budgets WHERE tenant = 'lg_one_lock';

-- 4. DOT labels: shortened to 80 characters, the last three "...", never inside a character;
-- generated over lengths around the limit, for one-, two-, three- and four-byte characters.
CREATE TABLE lg_dot (chars int, piece text, label text, shown text);
INSERT INTO lg_dot (chars, piece, label)
SELECT n, p, repeat(p, n) FROM generate_series(1, 90) n, unnest(ARRAY['a', 'é', '€', '𝄞']) p;
UPDATE lg_dot SET shown = substring(lockguard.dot_graph(ARRAY[1], ARRAY[2], ARRAY[1, 2], ARRAY[5, -1]::bigint[],
                                                        ARRAY[label, 'holder']) FROM 'pid 1\\n([^"]*)"');
SELECT piece, count(*) AS labels,
       count(*) FILTER (WHERE chars <= 80 AND shown = label) AS kept_whole,
       count(*) FILTER (WHERE chars > 80 AND shown = repeat(piece, 77) || '...') AS shortened_with_mark
FROM lg_dot GROUP BY piece ORDER BY piece;

-- 5. lockguard.locks tells lockguard's advisory locks from the application's: key_space is
-- pg_locks.objsubid (19527 named, 19528 row, 19529 table gate; pg_advisory_lock uses 1 and 2).
BEGIN;
SELECT pg_advisory_xact_lock(42);
SELECT lockguard_acquire('lg:space');
SELECT lockguard_acquire_row('lg_plain.accounts', 1);
SELECT lockguard_acquire_table('lg_plain.accounts', 'ROW SHARE');
SELECT scope, key_space FROM lockguard.locks WHERE pid = pg_backend_pid() ORDER BY key_space;
SELECT l.objsubid, count(*) AS advisory_locks, count(k.key_space) AS in_lockguard_locks
FROM pg_locks l LEFT JOIN (SELECT DISTINCT key_space FROM lockguard.locks WHERE pid = pg_backend_pid()) k
  ON k.key_space = l.objsubid
WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() GROUP BY l.objsubid ORDER BY l.objsubid;
ROLLBACK;

-- 6. Every user-facing function, view and table of lockguard has a comment (generated from the
-- catalog: a new object without one fails here). Internal objects start with an underscore.
SELECT kind, name FROM (
  SELECT 'function' AS kind, p.oid::regprocedure::text AS name, obj_description(p.oid, 'pg_proc') AS comment
  FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'lockguard'
  WHERE p.proname NOT LIKE '\_%' AND p.prorettype <> 'trigger'::regtype
  UNION ALL
  SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'table' END, c.oid::regclass::text, obj_description(c.oid, 'pg_class')
  FROM pg_class c JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'lockguard'
  WHERE c.relkind IN ('r', 'v') AND c.relname NOT LIKE '\_%') o
WHERE comment IS NULL ORDER BY kind, name;

DO $$
DECLARE n record;
BEGIN
  FOR n IN SELECT DISTINCT schema_name FROM lg_names LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', n.schema_name);
  END LOOP;
END $$;
DROP TABLE lg_names, lg_errors, lg_pairs, lg_dot;
DROP FUNCTION lg_label(text, text);

-- 7. Tenant limits do not survive DROP EXTENSION lockguard CASCADE; CREATE EXTENSION lockguard:
-- the new, empty tables are what counts (in a database of its own, not to disturb the others).
SELECT current_database() AS regress_database \gset
CREATE DATABASE lg_defects_tenants;
CREATE ROLE lg_defects_app;
\c lg_defects_tenants
CREATE EXTENSION lockguard;
INSERT INTO lockguard.tenant_budgets (tenant, max_held) VALUES ('lg_stale', 2);
INSERT INTO lockguard.tenant_roles VALUES ('lg_defects_app', 'lg_stale');
SET ROLE lg_defects_app;
BEGIN;
SELECT lockguard_acquire('s:1'), lockguard_acquire('s:2');
SELECT lockguard_acquire('s:3');
ROLLBACK;
RESET ROLE;
SELECT tenant, max_held FROM lockguard.tenants ORDER BY tenant;
-- Another session has acquired under the old configuration (each backend keeps which tables it
-- was read from until the catalogs change) and is the first to acquire after the re-creation:
-- it too sees the new tables, and takes a third lock as "default".
CREATE EXTENSION dblink;
SELECT dblink_connect('lg_other', format('host=%s port=%s dbname=%s',
                      split_part(current_setting('unix_socket_directories'), ',', 1),
                      current_setting('port'), current_database())) AS connected;
SELECT dblink_exec('lg_other', 'SET ROLE lg_defects_app');
SELECT dblink_exec('lg_other', 'BEGIN');
SELECT dblink_exec('lg_other', $q$DO $$BEGIN PERFORM lockguard_acquire('o:1'), lockguard_acquire('o:2'); END$$$q$);
SELECT * FROM dblink('lg_other', $q$
  SELECT count(*), min(tenant) FROM lockguard.locks WHERE pid = pg_backend_pid() $q$) AS t(locks bigint, tenant text);
SELECT dblink_exec('lg_other', 'ROLLBACK');
DROP EXTENSION lockguard CASCADE;
CREATE EXTENSION lockguard;
SELECT dblink_exec('lg_other', 'BEGIN');
SELECT dblink_exec('lg_other', $q$DO $$BEGIN PERFORM lockguard_acquire('o:1'), lockguard_acquire('o:2'),
                                     lockguard_acquire('o:3'); END$$$q$);
SELECT * FROM dblink('lg_other', $q$
  SELECT count(*), min(tenant) FROM lockguard.locks WHERE pid = pg_backend_pid() $q$) AS t(locks bigint, tenant text);
SELECT dblink_exec('lg_other', 'ROLLBACK');
SELECT dblink_disconnect('lg_other');
DROP EXTENSION dblink;
SELECT tenant, max_held FROM lockguard.tenant_budgets ORDER BY tenant;
SELECT count(*) AS role_mappings FROM lockguard.tenant_roles;
SET ROLE lg_defects_app;
BEGIN;
SELECT lockguard_acquire('s:1'), lockguard_acquire('s:2'), lockguard_acquire('s:3');
SELECT DISTINCT tenant FROM lockguard.locks WHERE pid = pg_backend_pid();
ROLLBACK;
RESET ROLE;
SELECT tenant, max_held FROM lockguard.tenants ORDER BY tenant;
\c :regress_database
DROP DATABASE lg_defects_tenants;
DROP ROLE lg_defects_app;
