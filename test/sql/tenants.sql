-- Tenant budgets: definition, validation, who may change them, who may claim a tenant.
SELECT tenant, max_held, max_waiters, weight FROM lockguard.tenant_budgets ORDER BY tenant;

-- Bad budgets are refused by the table's checks.
INSERT INTO lockguard.tenant_budgets (tenant, max_held) VALUES ('neg', -1);
INSERT INTO lockguard.tenant_budgets (tenant, max_waiters) VALUES ('neg', -5);
INSERT INTO lockguard.tenant_budgets (tenant, weight) VALUES ('zero', 0);
INSERT INTO lockguard.tenant_budgets (tenant) VALUES ('');
INSERT INTO lockguard.tenant_budgets (tenant) VALUES (repeat('t', 64));
DELETE FROM lockguard.tenant_budgets WHERE tenant = 'default';
-- Unknown roles are refused by regrole.
INSERT INTO lockguard.tenant_roles VALUES ('no_such_role', 'default');

CREATE ROLE lg_acme_app;
CREATE ROLE lg_pooler;
CREATE ROLE lg_stranger;
INSERT INTO lockguard.tenant_budgets (tenant, max_held, max_waiters, weight)
VALUES ('acme', 2, 1, 1), ('globex', NULL, NULL, 2);
INSERT INTO lockguard.tenant_roles VALUES ('lg_acme_app', 'acme', false), ('lg_pooler', 'globex', true);
-- A mapping to an unknown tenant is refused.
INSERT INTO lockguard.tenant_roles VALUES ('lg_stranger', 'initech');

-- Non-administrators cannot change budgets or mappings.
SET ROLE lg_acme_app;
UPDATE lockguard.tenant_budgets SET max_held = 1000 WHERE tenant = 'acme';
INSERT INTO lockguard.tenant_roles VALUES ('lg_acme_app', 'globex');
-- They still see their budget.
SELECT tenant, max_held, max_waiters, weight, held_now, waiting_now FROM lockguard.tenants ORDER BY tenant;

-- The held budget: the third lock of acme is refused (LG001) before it is taken.
\set VERBOSITY default
BEGIN;
SELECT lockguard_acquire('t:1');
SELECT lockguard_acquire('t:2');
SELECT tenant, held_now FROM lockguard.tenants WHERE tenant = 'acme';
SELECT lockguard_acquire('t:3');
ROLLBACK;
-- Slots come back with the rollback.
SELECT tenant, held_now, rejected FROM lockguard.tenants WHERE tenant = 'acme';
-- ... and with a rolled-back savepoint; re-taking a held lock takes no second slot.
BEGIN;
SELECT lockguard_acquire('t:1');
SELECT lockguard_acquire('t:1');
SAVEPOINT s;
SELECT lockguard_acquire('t:2');
ROLLBACK TO SAVEPOINT s;
SELECT held_now FROM lockguard.tenants WHERE tenant = 'acme';
COMMIT;
SELECT held_now FROM lockguard.tenants WHERE tenant = 'acme';

-- acme's role may not claim another tenant.
SET lockguard.tenant = 'globex';
BEGIN;
SELECT lockguard_acquire('t:1');
ROLLBACK;
-- Claiming its own tenant is fine.
SET lockguard.tenant = 'acme';
BEGIN;
SELECT lockguard_acquire('t:1');
SELECT resource, tenant FROM lockguard.locks;
ROLLBACK;
RESET lockguard.tenant;
RESET ROLE;

-- The pooler may act for any tenant; an unknown tenant name falls into "default".
SET ROLE lg_pooler;
BEGIN;
SET LOCAL lockguard.tenant = 'acme';
SELECT lockguard_acquire('p:1');
SET LOCAL lockguard.tenant = 'nobody';
SELECT lockguard_acquire('p:2');
SELECT resource, tenant FROM lockguard.locks ORDER BY resource;
ROLLBACK;
RESET ROLE;
-- A role without a mapping counts against "default".
SET ROLE lg_stranger;
BEGIN;
SELECT lockguard_acquire('s:1');
SELECT resource, tenant FROM lockguard.locks;
ROLLBACK;
RESET ROLE;

-- A budget change is in force after commit, without a restart.
UPDATE lockguard.tenant_budgets SET max_held = 3 WHERE tenant = 'acme';
SET ROLE lg_acme_app;
BEGIN;
SELECT lockguard_acquire('t:1');
SELECT lockguard_acquire('t:2');
SELECT lockguard_acquire('t:3');
SELECT held_now FROM lockguard.tenants WHERE tenant = 'acme';
ROLLBACK;
RESET ROLE;
-- ... and a change that rolls back never is.
BEGIN;
UPDATE lockguard.tenant_budgets SET max_held = 0 WHERE tenant = 'acme';
ROLLBACK;
SET ROLE lg_acme_app;
BEGIN;
SELECT lockguard_acquire('t:1');
ROLLBACK;
RESET ROLE;

-- Too many tenants for shared memory: refused, naming the setting to raise.
SHOW lockguard.max_tenants;
INSERT INTO lockguard.tenant_budgets (tenant) SELECT 'bulk' || g FROM generate_series(1, 70) g;

-- The view: every tenant with its budget and live counters.
SELECT tenant, max_held, max_waiters, weight, held_now, waiting_now, rejected > 0 AS had_rejections
FROM lockguard.tenants ORDER BY tenant;

DELETE FROM lockguard.tenant_roles;
DELETE FROM lockguard.tenant_budgets WHERE tenant <> 'default';
DROP ROLE lg_acme_app, lg_pooler, lg_stranger;
