-- Failover safety: fencing tokens (issue, check, trigger guard) and run-once operations.
-- A PL/pgSQL wrapper shows the SQLSTATE a statement raises.
CREATE FUNCTION failover_sqlstate(statement text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

------------------------------------------------------------------------------------------
-- Fencing tokens: strictly increasing, one counter for every resource
------------------------------------------------------------------------------------------
CREATE TEMP TABLE issued (n serial, resource text, token bigint);
INSERT INTO issued (resource, token) SELECT 'acct:1', lockguard.fencing_token('acct:1');
INSERT INTO issued (resource, token) SELECT 'acct:1', lockguard.fencing_token('acct:1');
INSERT INTO issued (resource, token) SELECT 'acct:2', lockguard.fencing_token('acct:2');
INSERT INTO issued (resource, token) SELECT 'acct:1', lockguard.fencing_token('acct:1');
INSERT INTO issued (resource, token) SELECT 'acct:1', lockguard.fencing_token('acct:1') FROM generate_series(1, 20);
SELECT count(*) AS tokens,
       bool_and(token > prev) AS strictly_increasing,
       count(DISTINCT token) = count(*) AS all_distinct
FROM (SELECT token, lag(token) OVER (ORDER BY n) AS prev FROM issued) t
WHERE prev IS NOT NULL;
-- Per resource too, which follows.
SELECT resource, bool_and(token > prev) AS strictly_increasing
FROM (SELECT resource, token, lag(token) OVER (PARTITION BY resource ORDER BY n) AS prev FROM issued) t
WHERE prev IS NOT NULL GROUP BY resource ORDER BY resource;
-- A token is the WAL timeline above a counter.
SELECT p.timeline = (SELECT timeline_id FROM pg_control_checkpoint()) AS current_timeline,
       p.counter > 0 AS counted, (p.timeline::bigint << 47 | p.counter) = i.token AS recomposes
FROM issued i, lockguard.fencing_token_parts(i.token) p WHERE i.n = 1;
SELECT * FROM lockguard.fencing_token_parts((2::bigint << 47) | 5);
SELECT * FROM lockguard.fencing_token_parts(9223372036854775807);
SELECT * FROM lockguard.fencing_token_parts(-1);
SELECT * FROM lockguard.fencing_token_parts(NULL);

-- A rollback does not rewind the counter: a token that left a rolled-back transaction is
-- never issued again.
BEGIN;
SELECT lockguard.fencing_token('acct:1') AS rolled_back_token \gset
ROLLBACK;
SELECT lockguard.fencing_token('acct:1') > :rolled_back_token AS above_rolled_back;

-- Bad input.
SELECT lockguard.fencing_token(NULL);
SELECT lockguard.fencing_token('');
SELECT lockguard.fencing_token(repeat('x', 256));
-- Not in a read-only transaction (nor on a standby): 25006.
BEGIN READ ONLY;
SELECT lockguard.fencing_token('acct:1');
ROLLBACK;

------------------------------------------------------------------------------------------
-- Checking tokens: newer and equal accepted, older rejected with LG003
------------------------------------------------------------------------------------------
SELECT lockguard.check_fencing_token('printer', 500);
SELECT lockguard.check_fencing_token('printer', 500);   -- the same holder, again
SELECT lockguard.check_fencing_token('printer', 700);
SELECT lockguard.check_fencing_token('printer', 600);   -- a zombie holder
SELECT failover_sqlstate($$SELECT lockguard.check_fencing_token('printer', 699)$$) AS older,
       failover_sqlstate($$SELECT lockguard.check_fencing_token('printer', 700)$$) AS equal,
       failover_sqlstate($$SELECT lockguard.check_fencing_token('printer', 701)$$) AS newer,
       failover_sqlstate($$SELECT lockguard.check_fencing_token('scanner', 1)$$) AS other_resource;
-- The stale-token condition can be caught by its SQLSTATE.
DO $$
BEGIN
    PERFORM lockguard.check_fencing_token('printer', 5);
EXCEPTION WHEN SQLSTATE 'LG003' THEN
    RAISE NOTICE 'stale token rejected: %', SQLERRM;
END
$$;
SELECT resource, token FROM lockguard.fencing_seen WHERE resource IN ('printer', 'scanner') ORDER BY resource;
-- A check whose transaction rolls back is forgotten with it.
BEGIN;
SELECT lockguard.check_fencing_token('printer', 900);
ROLLBACK;
SELECT token FROM lockguard.fencing_seen WHERE resource = 'printer';
-- Tokens issued here pass, in order.
DO $$
DECLARE
    issued_token bigint;
    checked integer := 0;
BEGIN
    FOR issued_token IN SELECT token FROM issued WHERE resource = 'acct:1' ORDER BY n LOOP
        PERFORM lockguard.check_fencing_token('acct:1', issued_token);
        checked := checked + 1;
    END LOOP;
    RAISE NOTICE '% tokens accepted in the order they were issued', checked;
END
$$;
SELECT failover_sqlstate(format('SELECT lockguard.check_fencing_token(%L, %s)', 'acct:1', token)) AS first_token_now
FROM issued WHERE n = 1;
-- Bad input.
SELECT lockguard.check_fencing_token(NULL, 1);
SELECT lockguard.check_fencing_token('printer', NULL);
SELECT lockguard.check_fencing_token('printer', 0);
SELECT lockguard.check_fencing_token('', 1);
SELECT failover_sqlstate($$SELECT lockguard.check_fencing_token(repeat('x', 256), 1)$$) AS too_long;

------------------------------------------------------------------------------------------
-- The trigger guard
------------------------------------------------------------------------------------------
CREATE TABLE ledger (account text PRIMARY KEY, balance integer NOT NULL, token bigint);
CREATE TRIGGER fence BEFORE INSERT OR UPDATE ON ledger FOR EACH ROW
    EXECUTE FUNCTION lockguard.fencing_token_guard('account', 'token');
INSERT INTO ledger VALUES ('a', 100, 10);
UPDATE ledger SET balance = 90, token = 20 WHERE account = 'a';
UPDATE ledger SET balance = 80 WHERE account = 'a';            -- same token: the same holder
UPDATE ledger SET balance = 0, token = 15 WHERE account = 'a';  -- a zombie: rejected
INSERT INTO ledger VALUES ('b', 100, 15);                       -- another resource: its own order
SELECT account, balance, token FROM ledger ORDER BY account;
SELECT failover_sqlstate($$INSERT INTO ledger VALUES ('c', 1, NULL)$$) AS null_token,
       failover_sqlstate($$INSERT INTO ledger VALUES ('b2', 1, 14)$$) AS fresh_resource,
       failover_sqlstate($$UPDATE ledger SET token = 14 WHERE account = 'b'$$) AS older_token;
INSERT INTO ledger VALUES ('c', 1, NULL);

-- One resource for the whole table: '=name'.
CREATE TABLE journal (line serial, entry text, fence bigint);
CREATE TRIGGER fence BEFORE INSERT OR UPDATE ON journal FOR EACH ROW
    EXECUTE FUNCTION lockguard.fencing_token_guard('=journal-writer', 'fence');
INSERT INTO journal (entry, fence) VALUES ('first', 3), ('second', 4);
INSERT INTO journal (entry, fence) VALUES ('late', 3);
SELECT entry, fence FROM journal ORDER BY line;
SELECT token FROM lockguard.fencing_seen WHERE resource = 'journal-writer';

-- Misconfigured triggers say how to create them.
CREATE TABLE misfenced (id int, token bigint, small_token integer);
CREATE TRIGGER fence BEFORE INSERT ON misfenced FOR EACH ROW
    EXECUTE FUNCTION lockguard.fencing_token_guard('nope', 'token');
INSERT INTO misfenced VALUES (1, 1, 1);
DROP TRIGGER fence ON misfenced;
CREATE TRIGGER fence BEFORE INSERT ON misfenced FOR EACH ROW
    EXECUTE FUNCTION lockguard.fencing_token_guard('id', 'small_token');
INSERT INTO misfenced VALUES (1, 1, 1);
DROP TRIGGER fence ON misfenced;
CREATE TRIGGER fence BEFORE INSERT ON misfenced FOR EACH ROW
    EXECUTE FUNCTION lockguard.fencing_token_guard('token');
INSERT INTO misfenced VALUES (1, 1, 1);
DROP TRIGGER fence ON misfenced;
CREATE TRIGGER fence AFTER INSERT ON misfenced FOR EACH ROW
    EXECUTE FUNCTION lockguard.fencing_token_guard('id', 'token');
INSERT INTO misfenced VALUES (1, 1, 1);
DROP TABLE misfenced, journal, ledger;

------------------------------------------------------------------------------------------
-- Run-once operations
------------------------------------------------------------------------------------------
-- A claim in autocommit would commit before the work: refused.
SELECT * FROM lockguard.claim_operation('transfer:1');

BEGIN;
SELECT * FROM lockguard.claim_operation('transfer:1');
SELECT lockguard.complete_operation('transfer:1', '{"transfer_id": 1, "status": "done"}');
COMMIT;
-- Already done: nothing to run, and the result comes back.
BEGIN;
SELECT * FROM lockguard.claim_operation('transfer:1');
ROLLBACK;
SELECT key, completed_at IS NOT NULL AS completed, result FROM lockguard.operations WHERE key = 'transfer:1';

-- A claim that rolls back leaves the key free; a committed claim without a result is done too.
BEGIN;
SELECT * FROM lockguard.claim_operation('transfer:2');
ROLLBACK;
BEGIN;
SELECT * FROM lockguard.claim_operation('transfer:2');
COMMIT;
BEGIN;
SELECT * FROM lockguard.claim_operation('transfer:2');
ROLLBACK;

-- Claiming in a savepoint that rolls back releases the key in the transaction.
BEGIN;
SAVEPOINT attempt;
SELECT * FROM lockguard.claim_operation('transfer:3');
ROLLBACK TO SAVEPOINT attempt;
SELECT * FROM lockguard.claim_operation('transfer:3');
SELECT lockguard.complete_operation('transfer:3', '"ok"');
SELECT lockguard.complete_operation('transfer:3', '"ok, twice"');  -- same transaction: replaces
COMMIT;
SELECT result FROM lockguard.operations WHERE key = 'transfer:3';

-- Inside a function (or DO block) the claim is allowed in autocommit: the work is in the
-- same transaction.
DO $$
DECLARE
    op record;
BEGIN
    SELECT * INTO op FROM lockguard.claim_operation('transfer:4');
    IF op.claimed THEN
        PERFORM lockguard.complete_operation('transfer:4', jsonb_build_object('ran', true));
    END IF;
    RAISE NOTICE 'claimed: %', op.claimed;
END
$$;
DO $$
DECLARE
    op record;
BEGIN
    SELECT * INTO op FROM lockguard.claim_operation('transfer:4');
    RAISE NOTICE 'claimed: %, result: %', op.claimed, op.result;
END
$$;

-- A result belongs to the transaction that claimed the key.
BEGIN;
SELECT lockguard.complete_operation('transfer:never-claimed', '1');
ROLLBACK;
BEGIN;
SELECT lockguard.complete_operation('transfer:1', '2');
ROLLBACK;
BEGIN;
SELECT lockguard.complete_operation('transfer:2', '3');
ROLLBACK;

-- Bad keys.
BEGIN;
SELECT * FROM lockguard.claim_operation(NULL);
ROLLBACK;
BEGIN;
SELECT * FROM lockguard.claim_operation('');
ROLLBACK;
BEGIN;
SELECT * FROM lockguard.claim_operation(repeat('k', 1025));
ROLLBACK;
BEGIN;
SELECT claimed FROM lockguard.claim_operation(repeat('k', 1024));
ROLLBACK;
SELECT lockguard.complete_operation(NULL, '1');

-- Retention: keys claimed longer ago than older_than are deleted, and may then run again.
UPDATE lockguard.operations SET claimed_at = now() - interval '8 days' WHERE key = 'transfer:1';
SELECT lockguard.expire_operations();
SELECT lockguard.expire_operations('8 days');
SELECT key FROM lockguard.operations WHERE key LIKE 'transfer:%' ORDER BY key;
BEGIN;
SELECT * FROM lockguard.claim_operation('transfer:1');
ROLLBACK;
SELECT lockguard.expire_operations(NULL);
SELECT lockguard.expire_operations('-1 day');

-- pg_dump keeps the tables, the counter and the epoch.
SELECT c.relname
FROM pg_extension e, unnest(e.extconfig) AS config(oid) JOIN pg_class c ON c.oid = config.oid
WHERE e.extname = 'lockguard' AND c.relname IN ('fencing_counter', 'fencing_epoch', 'fencing_seen', 'operations')
ORDER BY c.relname;

DELETE FROM lockguard.operations WHERE key LIKE 'transfer:%';
DELETE FROM lockguard.fencing_seen;
DROP FUNCTION failover_sqlstate(text);
