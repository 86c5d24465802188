-- Data and helpers for lockguard's benchmark (test/bench/run.sh). psql -v rows=N
CREATE EXTENSION IF NOT EXISTS lockguard;
DROP TABLE IF EXISTS accounts;
CREATE TABLE accounts (
    id integer PRIMARY KEY,
    balance bigint NOT NULL DEFAULT 0,
    filler char(84) NOT NULL DEFAULT ''   -- pgbench_accounts-sized rows
) WITH (fillfactor = 90);
INSERT INTO accounts (id) SELECT g FROM generate_series(1, :rows) g;
VACUUM (FREEZE, ANALYZE) accounts;

-- The work lockguard_run() runs inside each attempt: add d[i] to the balance of row k[i], then
-- read row r if given (the nominal scenario's read).
CREATE OR REPLACE FUNCTION bench_work(arg jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    b bigint;
BEGIN
    FOR i IN 0 .. jsonb_array_length(arg->'k') - 1 LOOP
        UPDATE accounts SET balance = balance + (arg->'d'->>i)::int WHERE id = (arg->'k'->>i)::int;
    END LOOP;
    IF arg ? 'r' THEN
        SELECT balance INTO b FROM accounts WHERE id = (arg->>'r')::int;
    END IF;
    RETURN NULL;
END $$;

-- Noisy neighbour scenario: two tenants, each with its own login role (trust over the unix
-- socket). Their budgets are set by the scenario itself (test/bench/bench-lib.sh); here both start
-- unlimited, so they change nothing for the other scenarios, which run as postgres (tenant
-- "default").
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_tenant_a') THEN
        CREATE ROLE bench_tenant_a LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_tenant_b') THEN
        CREATE ROLE bench_tenant_b LOGIN;
    END IF;
END $$;
GRANT SELECT, UPDATE ON accounts TO bench_tenant_a, bench_tenant_b;
INSERT INTO lockguard.tenant_budgets (tenant, description) VALUES
    ('tenant_a', 'benchmark: the noisy tenant'),
    ('tenant_b', 'benchmark: the neighbour')
ON CONFLICT (tenant) DO UPDATE SET max_held = NULL, max_waiters = NULL, weight = 1;
INSERT INTO lockguard.tenant_roles (role, tenant) VALUES
    ('bench_tenant_a', 'tenant_a'),
    ('bench_tenant_b', 'tenant_b')
ON CONFLICT (role) DO UPDATE SET tenant = excluded.tenant;
