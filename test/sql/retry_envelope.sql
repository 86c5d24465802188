-- lockguard_run(): takes the locks, runs the work in a subtransaction per attempt, retries
-- lock timeouts (55P03) and deadlocks (40P01) with backoff, and passes every other error
-- through unchanged after one attempt. The caller's transaction survives a failed attempt.
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE TABLE jobs (id int PRIMARY KEY, state text NOT NULL);
INSERT INTO jobs VALUES (1, 'new'), (2, 'new');
CREATE TABLE work_log (note text);
-- nextval is not rolled back with an attempt: it counts attempts.
CREATE SEQUENCE attempt_counter;


-- Work functions of each accepted shape.
CREATE FUNCTION claim_job(arg jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  UPDATE jobs SET state = 'claimed' WHERE id = (arg->>'id')::int;
  RETURN jsonb_build_object('claimed', arg->'id',
                            'locks_held', (SELECT count(*) FROM lockguard.locks WHERE pid = pg_backend_pid()));
END $$;
CREATE FUNCTION no_argument_work() RETURNS jsonb LANGUAGE sql AS $$ SELECT '{"ok": true}'::jsonb $$;
CREATE FUNCTION integer_work(arg jsonb) RETURNS integer LANGUAGE sql AS $$ SELECT 7 $$;
CREATE FUNCTION void_work() RETURNS void LANGUAGE sql AS $$ INSERT INTO work_log VALUES ('void work ran') $$;
CREATE PROCEDURE procedure_work(arg jsonb) LANGUAGE sql AS $$ INSERT INTO work_log VALUES (arg->>'note') $$;
CREATE FUNCTION echo_work(arg jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT jsonb_build_object('arg', arg) $$;
CREATE FUNCTION strict_work(arg jsonb) RETURNS jsonb LANGUAGE sql STRICT AS $$ SELECT '"ran"'::jsonb $$;
-- Shapes that are refused.
CREATE FUNCTION two_argument_work(a jsonb, b integer) RETURNS jsonb LANGUAGE sql AS $$ SELECT a $$;
CREATE FUNCTION text_work(a text) RETURNS jsonb LANGUAGE sql AS $$ SELECT to_jsonb(a) $$;
CREATE FUNCTION set_work() RETURNS SETOF jsonb LANGUAGE sql AS $$ SELECT '1'::jsonb $$;
-- Failing work.
CREATE FUNCTION dividing_work(arg jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  PERFORM nextval('attempt_counter');
  INSERT INTO work_log VALUES ('divided');
  RETURN to_jsonb(1 / 0);
END $$;
CREATE FUNCTION timing_out_work(arg jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  PERFORM nextval('attempt_counter');
  INSERT INTO work_log VALUES ('timed out');
  RAISE EXCEPTION 'simulated lock timeout' USING ERRCODE = 'lock_not_available', DETAIL = 'Work detail.';
END $$;
CREATE FUNCTION deadlocking_work(arg jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  PERFORM nextval('attempt_counter');
  RAISE EXCEPTION 'simulated deadlock' USING ERRCODE = 'deadlock_detected';
END $$;
-- Times out on the first two attempts, succeeds on the third.
CREATE FUNCTION flaky_work(arg jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  n bigint := nextval('attempt_counter');
BEGIN
  INSERT INTO work_log VALUES ('flaky attempt ' || n);
  IF n < 3 THEN
    RAISE EXCEPTION 'simulated lock timeout' USING ERRCODE = 'lock_not_available';
  END IF;
  RETURN jsonb_build_object('attempt', n);
END $$;

------------------------------------------------------------------------------------------
-- Success on the first attempt
------------------------------------------------------------------------------------------
SELECT * FROM lockguard_run(ARRAY[lockguard.named_lock('job:1'), lockguard.row_lock('jobs', 1)],
                            'claim_job(jsonb)', '{"id": 1}');
SELECT * FROM jobs ORDER BY id;
-- Outside BEGIN the locks end with the statement.
SELECT count(*) AS released_with_statement FROM lockguard.locks;
SELECT * FROM lockguard_run(ARRAY[lockguard.named_lock('job:1')], 'no_argument_work()');
-- A work returning something else than jsonb: result is NULL.
SELECT * FROM lockguard_run(ARRAY[lockguard.named_lock('job:1')], 'integer_work(jsonb)', '{}');
SELECT * FROM lockguard_run(ARRAY[lockguard.named_lock('job:1')], 'void_work()');
-- A procedure.
SELECT * FROM lockguard_run(ARRAY[lockguard.named_lock('job:1')], 'procedure_work(jsonb)', '{"note": "procedure ran"}');
-- The argument: absent (SQL NULL), JSON null, a value; a strict work is not called with NULL.
SELECT * FROM lockguard_run(ARRAY[lockguard.named_lock('job:1')], 'echo_work(jsonb)');
SELECT * FROM lockguard_run(ARRAY[lockguard.named_lock('job:1')], 'echo_work(jsonb)', 'null');
SELECT * FROM lockguard_run(ARRAY[lockguard.named_lock('job:1')], 'echo_work(jsonb)', '[1, "two"]');
SELECT * FROM lockguard_run(ARRAY[lockguard.named_lock('job:1')], 'strict_work(jsonb)');
SELECT * FROM lockguard_run(ARRAY[lockguard.named_lock('job:1')], 'strict_work(jsonb)', '{}');
SELECT note FROM work_log ORDER BY note;
TRUNCATE work_log;
-- Inside a transaction the locks stay with it after the run.
BEGIN;
SELECT * FROM lockguard_run(ARRAY[lockguard.named_lock('job:2'), lockguard.row_lock('jobs', 2, 'FOR NO KEY UPDATE')],
                            'claim_job(jsonb)', '{"id": 2}');
SELECT resource, scope, mode FROM lockguard.locks ORDER BY scope, resource;
COMMIT;
SELECT count(*) AS after_commit FROM lockguard.locks;

------------------------------------------------------------------------------------------
-- A non-retryable error passes through unchanged after one attempt, and the caller's
-- transaction goes on (its own savepoint, or a PL/pgSQL exception block).
------------------------------------------------------------------------------------------
SELECT * FROM lockguard_run(ARRAY[lockguard.named_lock('job:1')], 'dividing_work(jsonb)');
SELECT last_value AS attempts_made FROM attempt_counter;
BEGIN;
INSERT INTO work_log VALUES ('before');
SAVEPOINT before_run;
SELECT * FROM lockguard_run(ARRAY[lockguard.named_lock('job:1')], 'dividing_work(jsonb)');
ROLLBACK TO SAVEPOINT before_run;
INSERT INTO work_log VALUES ('after');
COMMIT;
SELECT note FROM work_log ORDER BY note;
DO $$
DECLARE
  st text; msg text; det text;
BEGIN
  PERFORM lockguard_run(ARRAY[lockguard.named_lock('job:1')], 'dividing_work(jsonb)');
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
  RAISE NOTICE 'caught % "%", detail "%"', st, msg, det;
END $$;
SELECT last_value AS attempts_made FROM attempt_counter;
SELECT count(*) AS leftover_locks FROM lockguard.locks;

------------------------------------------------------------------------------------------
-- Retryable errors raised by the work itself: retried until max_attempts, then the last error
-- is raised with its SQLSTATE, message and detail, and a detail sentence saying why it gave up.
------------------------------------------------------------------------------------------
SELECT setval('attempt_counter', 1, false);
SELECT sqlstate, message,
       detail ~ '^Work detail\. lockguard_run gave up after 3 attempts in \d+ ms \(max_attempts reached\)\.$' AS detail_ok
FROM try($$ SELECT lockguard_run(ARRAY[lockguard.named_lock('job:1')], 'timing_out_work(jsonb)',
                                  max_attempts => 3, backoff_base_ms => 1, backoff_max_ms => 1) $$);
SELECT last_value AS attempts_made FROM attempt_counter;
SELECT setval('attempt_counter', 1, false);
SELECT sqlstate, message,
       detail ~ '^lockguard_run gave up after 2 attempts in \d+ ms \(max_attempts reached\)\.$' AS detail_ok
FROM try($$ SELECT lockguard_run(ARRAY[lockguard.named_lock('job:1')], 'deadlocking_work(jsonb)',
                                  max_attempts => 2, backoff_base_ms => 0, backoff_max_ms => 0) $$);
SELECT last_value AS attempts_made FROM attempt_counter;
-- One attempt only: "1 attempt".
SELECT sqlstate,
       detail ~ 'lockguard_run gave up after 1 attempt in \d+ ms \(max_attempts reached\)\.$' AS detail_ok
FROM try($$ SELECT lockguard_run(ARRAY[lockguard.named_lock('job:1')], 'deadlocking_work(jsonb)',
                                  max_attempts => 1) $$);
-- A deadline shorter than the backoff: gives up on the deadline.
SELECT sqlstate,
       detail ~ 'lockguard_run gave up after 1 attempt in \d+ ms \(deadline_ms reached\)\.$' AS detail_ok
FROM try($$ SELECT lockguard_run(ARRAY[lockguard.named_lock('job:1')], 'deadlocking_work(jsonb)',
                                  max_attempts => 10, deadline_ms => 50,
                                  backoff_base_ms => 1000, backoff_max_ms => 1000) $$);
-- Succeeds on the third attempt; the failed attempts left nothing behind.
SELECT setval('attempt_counter', 1, false);
TRUNCATE work_log;
SELECT * FROM lockguard_run(ARRAY[lockguard.named_lock('job:1')], 'flaky_work(jsonb)',
                            backoff_base_ms => 1, backoff_max_ms => 2);
SELECT note FROM work_log;

------------------------------------------------------------------------------------------
-- Bad input
------------------------------------------------------------------------------------------
SELECT * FROM try($$ SELECT lockguard_run(ARRAY[lockguard.named_lock('j')], 'two_argument_work(jsonb,integer)') $$);
SELECT * FROM try($$ SELECT lockguard_run(ARRAY[lockguard.named_lock('j')], 'text_work(text)') $$);
SELECT * FROM try($$ SELECT lockguard_run(ARRAY[lockguard.named_lock('j')], 'set_work()') $$);
SELECT * FROM try($$ SELECT lockguard_run(ARRAY[lockguard.named_lock('j')], 'sum(integer)') $$);
SELECT * FROM try($$ SELECT lockguard_run(ARRAY[lockguard.named_lock('j')], NULL) $$);
SELECT * FROM try($$ SELECT lockguard_run(NULL, 'no_argument_work()') $$);
SELECT * FROM try($$ SELECT lockguard_run(ARRAY[]::lockguard.lock_request[], 'no_argument_work()') $$);
SELECT * FROM try($$ SELECT lockguard_run(ARRAY[lockguard.named_lock('j')], 'no_argument_work()', max_attempts => 0) $$);
SELECT * FROM try($$ SELECT lockguard_run(ARRAY[lockguard.named_lock('j')], 'no_argument_work()', max_attempts => -1) $$);
SELECT * FROM try($$ SELECT lockguard_run(ARRAY[lockguard.named_lock('j')], 'no_argument_work()', deadline_ms => -1) $$);
SELECT * FROM try($$ SELECT lockguard_run(ARRAY[lockguard.named_lock('j')], 'no_argument_work()', timeout_ms => -1) $$);
SELECT * FROM try($$ SELECT lockguard_run(ARRAY[lockguard.named_lock('j')], 'no_argument_work()', priority => 101) $$);
SELECT * FROM try($$ SELECT lockguard_run(ARRAY[lockguard.named_lock('j')], 'no_argument_work()', backoff_base_ms => -1) $$);
SELECT * FROM try($$ SELECT lockguard_run(ARRAY[lockguard.named_lock('j')], 'no_argument_work()',
                                           backoff_base_ms => 100, backoff_max_ms => 10) $$);
-- The work's own bad lock request fails the attempt with its error (not retried).
SELECT * FROM try($$ SELECT lockguard_run(ARRAY[lockguard.named_lock('j', 'weird')], 'no_argument_work()') $$);

-- EXECUTE privilege on the work is required.
CREATE ROLE lg_run_user;
GRANT USAGE ON SCHEMA lockguard TO lg_run_user;
REVOKE EXECUTE ON FUNCTION no_argument_work() FROM PUBLIC;
SET ROLE lg_run_user;
SELECT * FROM try($$ SELECT lockguard_run(ARRAY[lockguard.named_lock('j')], 'no_argument_work()') $$);
RESET ROLE;
GRANT EXECUTE ON FUNCTION no_argument_work() TO lg_run_user;
SET ROLE lg_run_user;
SELECT * FROM lockguard_run(ARRAY[lockguard.named_lock('j')], 'no_argument_work()');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION no_argument_work() FROM lg_run_user;
REVOKE USAGE ON SCHEMA lockguard FROM lg_run_user;
DROP ROLE lg_run_user;

DROP FUNCTION claim_job(jsonb), no_argument_work(), integer_work(jsonb), void_work(), echo_work(jsonb),
  strict_work(jsonb), two_argument_work(jsonb, integer), text_work(text), set_work(), dividing_work(jsonb),
  timing_out_work(jsonb), deadlocking_work(jsonb), flaky_work(jsonb);
DROP PROCEDURE procedure_work(jsonb);
DROP SEQUENCE attempt_counter;
DROP TABLE jobs, work_log;
