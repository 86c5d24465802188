-- Guardrails: lock policies refuse forbidden table locks before they are requested (LG004).
CREATE TABLE payments (id int PRIMARY KEY, amount int NOT NULL);
CREATE TABLE orders (id int PRIMARY KEY, payment_id int REFERENCES payments);
CREATE TABLE ledger (id int PRIMARY KEY);
INSERT INTO payments VALUES (1, 10), (2, 20);
CREATE VIEW payments_v AS SELECT * FROM payments;
CREATE VIEW payments_report AS SELECT count(*) FROM (SELECT * FROM payments_v) s;
CREATE TABLE events (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO events VALUES (1, '2026-05-01'), (2, '2026-06-01');
CREATE TABLE base_t (id int);
CREATE TABLE child_t () INHERITS (base_t);
CREATE ROLE lg_guard_app;
CREATE ROLE lg_guard_maint;
GRANT ALL ON ALL TABLES IN SCHEMA public TO lg_guard_app, lg_guard_maint;

-- Runs a statement and reports its SQLSTATE and message (or ok), to list many paths compactly.
CREATE FUNCTION outcome_of(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Policies: mode names in any spelling are stored canonically.
INSERT INTO lockguard.lock_policies (relation, reason, exempt_roles)
VALUES ('payments', 'payments must stay writable during business hours', '{lg_guard_maint}');
INSERT INTO lockguard.lock_policies (relation, forbidden_modes, reason, forbid_exclusive_row_marks)
VALUES ('events_2026', '{access exclusive mode, ShareLock}', 'events stream in all day', true);
INSERT INTO lockguard.lock_policies (relation, forbidden_modes, reason)
VALUES ('child_t', '{AccessExclusiveLock}', 'child table of base_t');
SELECT relation, forbidden_modes, exempt_roles, forbid_exclusive_row_marks, enabled
FROM lockguard.lock_policies ORDER BY relation::text;
-- Invalid policies are refused.
INSERT INTO lockguard.lock_policies (relation, forbidden_modes, reason) VALUES ('ledger', '{FOR UPDATE}', 'x');
INSERT INTO lockguard.lock_policies (relation, forbidden_modes, reason) VALUES ('ledger', '{}', 'x');
INSERT INTO lockguard.lock_policies (relation, reason) VALUES ('payments_v', 'a view');
INSERT INTO lockguard.lock_policies (relation, reason) VALUES ('ledger', '');

-- The error, in full.
LOCK TABLE payments IN ACCESS EXCLUSIVE MODE;
ALTER TABLE payments ADD COLUMN note text;

-- Forbidden paths (run as a superuser that is not exempt: policies bind superusers too).
SELECT statement, outcome_of(statement) FROM (VALUES
    ('LOCK TABLE payments IN SHARE MODE'),
    ('LOCK TABLE payments IN EXCLUSIVE MODE NOWAIT'),
    ('LOCK TABLE payments_v IN ACCESS EXCLUSIVE MODE'),
    ('LOCK TABLE payments_report IN SHARE ROW EXCLUSIVE MODE'),
    ('LOCK TABLE events IN ACCESS EXCLUSIVE MODE'),
    ('LOCK TABLE base_t IN ACCESS EXCLUSIVE MODE'),
    ('ALTER TABLE payments ADD CONSTRAINT positive CHECK (amount > 0) NOT VALID'),
    ('ALTER TABLE payments ALTER COLUMN amount TYPE bigint'),
    ('ALTER TABLE events ADD COLUMN note text'),
    ('ALTER TABLE ledger ADD CONSTRAINT paid FOREIGN KEY (id) REFERENCES payments'),
    ('ALTER TABLE ledger ADD COLUMN payment_id int REFERENCES payments'),
    ('ALTER TABLE orders DROP CONSTRAINT orders_payment_id_fkey'),
    ('CREATE TABLE refunds (payment_id int REFERENCES payments)'),
    ('ALTER TABLE payments RENAME TO payments_old'),
    ('ALTER TABLE payments RENAME COLUMN amount TO total'),
    ('ALTER TABLE payments SET SCHEMA lockguard'),
    ('TRUNCATE payments'),
    ('TRUNCATE base_t'),
    ('DROP TABLE payments'),
    ('DROP TABLE orders'),
    ('DROP TABLE events'),
    ('CLUSTER payments USING payments_pkey'),
    ('REINDEX TABLE payments'),
    ('REINDEX INDEX payments_pkey'),
    ('CREATE INDEX ON payments (amount)'),
    ('CREATE INDEX ON events (id)'),
    ('CREATE TRIGGER noop BEFORE UPDATE ON payments FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()'),
    ('CREATE RULE r AS ON DELETE TO payments DO INSTEAD NOTHING'),
    ('CREATE POLICY p ON payments USING (true)'),
    ('SELECT lockguard_acquire_table(''payments'', ''ACCESS EXCLUSIVE'')'),
    ('SELECT lockguard_acquire_table(''base_t'', ''ACCESS EXCLUSIVE'')')
) AS t(statement);
VACUUM FULL payments;
VACUUM (FULL, ANALYZE) events;
REINDEX TABLE events_2026;

-- The ways around a name check: functions, DO blocks, dynamic SQL.
DO $$ BEGIN LOCK TABLE payments IN EXCLUSIVE MODE; END $$;
DO $$ BEGIN EXECUTE format('LOCK TABLE %I IN %s MODE', 'pay' || 'ments', 'ACCESS EXCLUSIVE'); END $$;
CREATE FUNCTION sneaky_lock() RETURNS void LANGUAGE plpgsql AS $$ BEGIN LOCK TABLE payments_v; END $$;
SELECT sneaky_lock();
CREATE FUNCTION sneaky_sql() RETURNS void LANGUAGE sql AS $$ TRUNCATE payments $$;
SELECT sneaky_sql();

-- Allowed paths: weaker modes, other tables, ONLY on a parent, concurrent maintenance.
SELECT statement, outcome_of(statement) FROM (VALUES
    ('LOCK TABLE payments IN ROW EXCLUSIVE MODE'),
    ('LOCK TABLE payments IN SHARE UPDATE EXCLUSIVE MODE'),
    ('LOCK TABLE payments_v IN ACCESS SHARE MODE'),
    ('LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE'),
    ('LOCK TABLE ONLY base_t IN ACCESS EXCLUSIVE MODE'),
    ('LOCK TABLE events IN SHARE UPDATE EXCLUSIVE MODE'),
    ('ALTER TABLE payments SET (fillfactor = 90)'),
    ('ALTER TABLE payments ALTER COLUMN amount SET STATISTICS 200'),
    ('ALTER TABLE ledger ADD COLUMN note text'),
    ('TRUNCATE ledger'),
    ('CREATE TABLE events_2027 PARTITION OF events FOR VALUES FROM (''2027-01-01'') TO (''2028-01-01'')'),
    ('CREATE INDEX ON ledger (note)'),
    ('SELECT lockguard_acquire_table(''payments'', ''ROW EXCLUSIVE'')'),
    ('SELECT lockguard_acquire_table(''ledger'', ''ACCESS EXCLUSIVE'')')
) AS t(statement);
VACUUM payments;
ANALYZE payments;
CREATE INDEX CONCURRENTLY payments_amount ON payments (amount);
REINDEX TABLE CONCURRENTLY payments;
DROP INDEX payments_amount;
DROP INDEX CONCURRENTLY payments_amount;

-- Exempt roles pass; others do not; privileges are still PostgreSQL's.
SET ROLE lg_guard_maint;
BEGIN;
LOCK TABLE payments IN ACCESS EXCLUSIVE MODE;
ROLLBACK;
SET ROLE lg_guard_app;
BEGIN;
LOCK TABLE payments IN ACCESS EXCLUSIVE MODE;
ROLLBACK;
SELECT outcome_of('LOCK TABLE payments IN ROW EXCLUSIVE MODE');
-- Only superusers may override, and only administrators change policies.
SET lockguard.override_policies = on;
UPDATE lockguard.lock_policies SET enabled = false;
SELECT * FROM lockguard.end_blockers();
RESET ROLE;

-- Override as a superuser: let through and audited.
SET lockguard.override_policies = on;
BEGIN;
LOCK TABLE payments IN ACCESS EXCLUSIVE MODE;
ALTER TABLE payments ADD COLUMN note text;
ROLLBACK;
RESET lockguard.override_policies;

-- Row marks: only FOR UPDATE / FOR NO KEY UPDATE over a whole protected table.
SELECT statement, outcome_of(statement) FROM (VALUES
    ('SELECT * FROM events FOR UPDATE'),
    ('SELECT * FROM events_2026 FOR NO KEY UPDATE'),
    ('SELECT * FROM events_2026 WHERE id = 1 FOR UPDATE'),
    ('SELECT * FROM events_2026 FOR UPDATE SKIP LOCKED LIMIT 1'),
    ('SELECT * FROM events_2026 FOR SHARE'),
    ('SELECT * FROM events_2026 FOR KEY SHARE'),
    ('SELECT * FROM payments FOR UPDATE')
) AS t(statement);
-- Foreign-key checks take FOR KEY SHARE and are never refused.
UPDATE lockguard.lock_policies SET forbid_exclusive_row_marks = true WHERE relation = 'payments'::regclass;
INSERT INTO orders VALUES (1, 1);
UPDATE orders SET payment_id = 2 WHERE id = 1;
SELECT outcome_of('SELECT * FROM payments FOR UPDATE');
SELECT outcome_of('SELECT id FROM payments WHERE id = 2 FOR UPDATE');

-- Disabling a policy takes effect at once in this session (and at commit in others).
UPDATE lockguard.lock_policies SET enabled = false WHERE relation = 'payments'::regclass;
SELECT outcome_of('LOCK TABLE payments IN ACCESS EXCLUSIVE MODE');
BEGIN;
UPDATE lockguard.lock_policies SET enabled = true WHERE relation = 'payments'::regclass;
SELECT outcome_of('LOCK TABLE payments IN ACCESS EXCLUSIVE MODE');
ROLLBACK;
SELECT outcome_of('LOCK TABLE payments IN ACCESS EXCLUSIVE MODE');
UPDATE lockguard.lock_policies SET enabled = true WHERE relation = 'payments'::regclass;

-- Audit: every rejection and override (attempts 0 = refused, 1 = let through by override).
SELECT attempts, count(*) > 0 AS audited FROM lockguard.audit
WHERE pid = pg_backend_pid() AND attempts IN (0, 1) AND resource LIKE '%(%)' GROUP BY attempts ORDER BY attempts;
SELECT resource, mode, scope, attempts FROM lockguard.audit
WHERE pid = pg_backend_pid() AND resource IN ('public.payments (LOCK TABLE)', 'public.payments (ALTER TABLE)',
                                                'public.events_2026 (SELECT ... FOR UPDATE)')
GROUP BY resource, mode, scope, attempts ORDER BY resource, attempts;

-- No blockers now: a dry run lists nothing.
SELECT count(*) FROM lockguard.end_blockers(min_blocking => '0');
SELECT * FROM lockguard.end_blockers(max_to_end => -1);

-- The override is logged with the lock it let through ("an ACCESS EXCLUSIVE lock"). Shown by
-- client_min_messages = log; log_statement is switched off here because a server that logs
-- statements (the coexistence test's) would show those lines too.
\set VERBOSITY terse
BEGIN;
SET LOCAL log_statement = none;
SET LOCAL client_min_messages = log;
SET LOCAL lockguard.override_policies = on;
LOCK TABLE payments IN ACCESS EXCLUSIVE MODE;
LOCK TABLE payments IN SHARE MODE;
ROLLBACK;
\set VERBOSITY default

-- A policy covers the table's partitions and inheritance children at any depth by default,
-- including partitions attached later; include_children = false limits it to the table.
CREATE TABLE metrics (id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE metrics_2026 PARTITION OF metrics FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE metrics_2027 (LIKE metrics);
CREATE TABLE parent_t (id int);
CREATE TABLE kid_t () INHERITS (parent_t);
CREATE TABLE grandkid_t () INHERITS (kid_t);
INSERT INTO lockguard.lock_policies (relation, reason, exempt_roles)
VALUES ('metrics', 'metrics stream in all day', '{lg_guard_maint}'), ('parent_t', 'parent_t stays writable', '{}');
SELECT relation, include_children FROM lockguard.lock_policies
WHERE relation IN ('metrics'::regclass, 'parent_t'::regclass) ORDER BY relation::text;
LOCK TABLE grandkid_t IN SHARE MODE;
SELECT statement, outcome_of(statement) FROM (VALUES
    ('LOCK TABLE metrics_2026 IN ACCESS EXCLUSIVE MODE'),
    ('TRUNCATE metrics_2026'),
    ('DROP TABLE metrics_2026'),
    ('CLUSTER kid_t'),
    ('CREATE INDEX ON kid_t (id)'),
    ('ALTER TABLE kid_t ADD COLUMN note text'),
    ('LOCK TABLE grandkid_t IN ACCESS SHARE MODE'),
    ('ALTER TABLE metrics_2026 SET (fillfactor = 90)')
) AS t(statement);
VACUUM FULL metrics_2026;
-- Attaching takes SHARE UPDATE EXCLUSIVE on the parent: allowed. The attached partition is covered.
ALTER TABLE metrics ATTACH PARTITION metrics_2027 FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
SELECT outcome_of('TRUNCATE metrics_2027');
-- With a default partition, creating, attaching and detaching partitions lock it ACCESS EXCLUSIVE.
SET lockguard.override_policies = on;
CREATE TABLE metrics_default PARTITION OF metrics DEFAULT;
RESET lockguard.override_policies;
SELECT statement, outcome_of(statement) FROM (VALUES
    ('CREATE TABLE metrics_2028 PARTITION OF metrics FOR VALUES FROM (''2028-01-01'') TO (''2029-01-01'')'),
    ('ALTER TABLE metrics DETACH PARTITION metrics_2027')
) AS t(statement);
-- Opting out: the partitions are free, but dropping one still locks the parent.
UPDATE lockguard.lock_policies SET include_children = false WHERE relation = 'metrics'::regclass;
SELECT statement, outcome_of(statement) FROM (VALUES
    ('LOCK TABLE metrics_2026 IN ACCESS EXCLUSIVE MODE'),
    ('DROP TABLE metrics_2027'),
    ('LOCK TABLE metrics IN ACCESS EXCLUSIVE MODE')
) AS t(statement);

-- Paths that lock a protected table without naming it.
CREATE DOMAIN amount_d AS int;
CREATE DOMAIN amount_pos AS amount_d;
CREATE TABLE ledger_lines (id int, amount amount_pos);
CREATE TYPE line_t AS (id int, amount int);
CREATE TABLE typed_lines OF line_t;
INSERT INTO lockguard.lock_policies (relation, reason) VALUES ('ledger_lines', 'lines'), ('typed_lines', 'typed');
SELECT statement, outcome_of(statement) FROM (VALUES
    ('ALTER DOMAIN amount_d ADD CONSTRAINT positive CHECK (VALUE > 0)'),
    ('ALTER DOMAIN amount_pos SET NOT NULL'),
    ('ALTER DOMAIN amount_d ADD CONSTRAINT positive CHECK (VALUE > 0) NOT VALID'),
    ('ALTER TYPE line_t ADD ATTRIBUTE note text CASCADE'),
    ('ALTER TYPE line_t RENAME ATTRIBUTE amount TO total CASCADE'),
    ('ALTER TABLE ALL IN TABLESPACE pg_default SET TABLESPACE pg_default'),
    ('ALTER INDEX payments_pkey SET TABLESPACE pg_default'),
    ('ALTER INDEX payments_pkey RENAME TO payments_pk'),
    ('COMMENT ON TABLE payments IS ''money'''),
    ('ALTER TABLE orders ALTER COLUMN payment_id TYPE bigint'),
    ('ALTER TABLE orders DROP COLUMN payment_id'),
    ('DROP TABLE metrics_2026')
) AS t(statement);
-- SHARE UPDATE EXCLUSIVE is forbidden only where a policy lists it.
UPDATE lockguard.lock_policies SET forbidden_modes = forbidden_modes || '{SHARE UPDATE EXCLUSIVE}'
WHERE relation = 'payments'::regclass;
SELECT statement, outcome_of(statement) FROM (VALUES
    ('COMMENT ON TABLE payments IS ''money'''),
    ('COMMENT ON COLUMN payments.amount IS ''cents'''),
    ('ANALYZE payments'),
    ('CREATE STATISTICS payments_stats ON id, amount FROM payments'),
    ('CREATE PUBLICATION payments_pub FOR TABLE payments')
) AS t(statement);

-- Clean up (policies first: dropping the tables is itself forbidden).
DELETE FROM lockguard.lock_policies;
DROP TABLE orders, ledger, payments, events, base_t, child_t, metrics, parent_t, ledger_lines, typed_lines CASCADE;
DROP TYPE line_t;
DROP DOMAIN amount_pos, amount_d;
DROP FUNCTION outcome_of(text), sneaky_lock(), sneaky_sql();
DROP OWNED BY lg_guard_app, lg_guard_maint;
DROP ROLE lg_guard_app, lg_guard_maint;
