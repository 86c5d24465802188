-- Hostile input, generated from the catalog: every SQL function of the extension (internal ones
-- included) is called with each of its arguments in turn replaced by hostile values of the
-- argument's type (NULL, empty and very long strings, extreme integers, quotes, dots, unicode,
-- odd identifiers and relations) and by a value of a wrong type, the other arguments keeping a
-- working value. Every call runs in its own subtransaction, which is always rolled back, and
-- records its SQLSTATE. The test passes when every outcome is a clean, expected error class or a
-- result, messages and results are valid text, the backend survives, and (checked by the test
-- runner) the server log shows no crash. The summary below is per function and SQLSTATE.

-- Objects the hostile values point at.
CREATE TABLE hostile_plain (id int PRIMARY KEY, v int);
INSERT INTO hostile_plain VALUES (1, 0);
CREATE TABLE hostile_text (k text PRIMARY KEY);
INSERT INTO hostile_text VALUES ('ünï'), ('a.b');
CREATE TABLE hostile_composite (a int, b text, PRIMARY KEY (a, b));
CREATE TABLE hostile_nopk (x int);
CREATE TABLE "hostile we""ird.tåble" (id bigint PRIMARY KEY);
CREATE TABLE hostile_part (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE hostile_part_1 PARTITION OF hostile_part FOR VALUES FROM (0) TO (100);
CREATE VIEW hostile_view AS SELECT * FROM hostile_plain;
CREATE SEQUENCE hostile_seq;
CREATE INDEX hostile_idx ON hostile_plain (v);
CREATE FUNCTION hostile_work(arg jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT arg $$;
CREATE FUNCTION hostile_raise(arg jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'work failed' USING ERRCODE = 'data_exception'; END $$;
CREATE FUNCTION hostile_setof() RETURNS SETOF int LANGUAGE sql AS $$ SELECT 1 $$;
CREATE PROCEDURE hostile_proc(arg jsonb) LANGUAGE sql AS $$ SELECT 1 $$;
CREATE PROCEDURE hostile_commit() LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$;

-- Hostile values per argument type: SQL expressions of that type. "any" takes every type.
CREATE TEMP TABLE hostile_values (type text, expr text);
INSERT INTO hostile_values VALUES
  ('text', 'NULL::text'), ('text', $$''$$), ('text', $$' '$$), ('text', $$repeat('x', 100000)$$),
  ('text', $$repeat('é', 50000)$$), ('text', $$repeat('x', 255)$$), ('text', $$repeat('x', 256)$$),
  ('text', $$repeat('é', 127) || 'x'$$), ('text', $$repeat('ü', 40) || ':' || repeat('é', 100)$$),
  ('text', $$'''; DROP TABLE hostile_plain; --'$$), ('text', $$'a"b''c\'$$), ('text', $$'schema.table.column'$$),
  ('text', $$'.'$$), ('text', $$'ünïcødé ✓ 😀'$$), ('text', $$E'tab\tnew\nline'$$),
  ('text', $$'e' || chr(769) || chr(8238) || chr(8203)$$), ('text', $$'NULL'$$), ('text', $$'%s%d%n'$$),
  ('text', $$'a' || repeat('é', 100)$$), ('text', $$repeat('✓', 100)$$), ('text', $$'ab' || repeat('😀', 100)$$),
  ('text', $$'FOR UPDATE'$$), ('text', $$'access exclusive'$$), ('text', $$'shared'$$),
  ('integer', 'NULL::integer'), ('integer', '0'), ('integer', '-1'), ('integer', '1'), ('integer', '100'),
  ('integer', '101'), ('integer', '-101'), ('integer', '86400000'), ('integer', '86400001'),
  ('integer', '(-2147483648)::integer'), ('integer', '2147483647'),
  ('bigint', 'NULL::bigint'), ('bigint', '0::bigint'), ('bigint', '(-1)::bigint'), ('bigint', '1::bigint'),
  ('bigint', '140737488355328'), ('bigint', '(-9223372036854775808)::bigint'), ('bigint', '9223372036854775807'),
  ('boolean', 'NULL::boolean'), ('boolean', 'true'), ('boolean', 'false'),
  ('interval', 'NULL::interval'), ('interval', $$'0'::interval$$), ('interval', $$'-1 second'::interval$$),
  ('interval', $$'1 microsecond'::interval$$), ('interval', $$'178000000 years'::interval$$),
  ('interval', $$'-178000000 years'::interval$$), ('interval', $$'2147483647 days'::interval$$),
  ('timestamp with time zone', 'NULL::timestamptz'), ('timestamp with time zone', $$'infinity'::timestamptz$$),
  ('timestamp with time zone', $$'-infinity'::timestamptz$$), ('timestamp with time zone', $$'epoch'::timestamptz$$),
  ('timestamp with time zone', $$'4713-01-01 00:00 BC'::timestamptz$$),
  ('jsonb', 'NULL::jsonb'), ('jsonb', $$'null'::jsonb$$), ('jsonb', $$'{}'::jsonb$$), ('jsonb', $$'[]'::jsonb$$),
  ('jsonb', $$'"ü"'::jsonb$$), ('jsonb', $$(repeat('[', 500) || repeat(']', 500))::jsonb$$),
  ('jsonb', $$jsonb_build_object('k', repeat('x', 100000))$$),
  ('regclass', 'NULL::regclass'), ('regclass', '0::oid::regclass'), ('regclass', '4294967295::oid::regclass'),
  ('regclass', $$'pg_class'::regclass$$), ('regclass', $$'hostile_view'::regclass$$),
  ('regclass', $$'hostile_seq'::regclass$$), ('regclass', $$'hostile_idx'::regclass$$),
  ('regclass', $$'hostile_nopk'::regclass$$), ('regclass', $$'hostile_part'::regclass$$),
  ('regclass', $$'hostile_part_1'::regclass$$), ('regclass', $$'hostile_composite'::regclass$$),
  ('regclass', $$'hostile_text'::regclass$$), ('regclass', $$'"hostile we""ird.tåble"'::regclass$$),
  ('regclass', $$'lockguard.operations'::regclass$$), ('regclass', $$'information_schema.tables'::regclass$$),
  ('regprocedure', 'NULL::regprocedure'), ('regprocedure', '0::oid::regprocedure'),
  ('regprocedure', '4294967295::oid::regprocedure'), ('regprocedure', $$'now()'::regprocedure$$),
  ('regprocedure', $$'pg_sleep(double precision)'::regprocedure$$), ('regprocedure', $$'hostile_setof()'::regprocedure$$),
  ('regprocedure', $$'hostile_raise(jsonb)'::regprocedure$$), ('regprocedure', $$'hostile_proc(jsonb)'::regprocedure$$),
  ('regprocedure', $$'hostile_commit()'::regprocedure$$), ('regprocedure', $$'count("any")'::regprocedure$$),
  ('regprocedure', $$'tsvector_update_trigger()'::regprocedure$$),
  ('regprocedure', $$'lockguard._tenants_changed()'::regprocedure$$),
  ('regprocedure', $$'lockguard.fencing_token_guard()'::regprocedure$$),
  ('regprocedure', $$'jsonb_typeof(jsonb)'::regprocedure$$),
  ('integer[]', 'NULL::integer[]'), ('integer[]', $$'{}'::integer[]$$), ('integer[]', $$'{NULL}'::integer[]$$),
  ('integer[]', $$'{1,NULL}'::integer[]$$), ('integer[]', $$'{-2147483648,2147483647}'::integer[]$$),
  ('integer[]', $$'{{1,2},{3,4}}'::integer[]$$), ('integer[]', $$'[5:6]={1,2}'::integer[]$$),
  ('integer[]', 'array_fill(7, ARRAY[100000])'),
  ('bigint[]', 'NULL::bigint[]'), ('bigint[]', $$'{}'::bigint[]$$), ('bigint[]', $$'{NULL}'::bigint[]$$),
  ('bigint[]', $$'{-9223372036854775808,9223372036854775807}'::bigint[]$$),
  ('bigint[]', $$'{{1,2},{3,4}}'::bigint[]$$), ('bigint[]', 'array_fill(7::bigint, ARRAY[100000])'),
  ('text[]', 'NULL::text[]'), ('text[]', $$'{}'::text[]$$), ('text[]', $$'{NULL}'::text[]$$),
  ('text[]', $$ARRAY[repeat('é', 50000)]$$), ('text[]', $$ARRAY['"quoted"', 'back\slash', '}{', '->', '<b>']$$),
  ('text[]', $$'{{a,b},{c,d}}'::text[]$$),
  ('lockguard.lock_request[]', 'NULL::lockguard.lock_request[]'),
  ('lockguard.lock_request[]', $$'{}'::lockguard.lock_request[]$$),
  ('lockguard.lock_request[]', 'ARRAY[NULL::lockguard.lock_request]'),
  ('lockguard.lock_request[]', 'ARRAY[ROW(NULL, NULL, NULL, NULL, NULL)::lockguard.lock_request]'),
  ('lockguard.lock_request[]', $$ARRAY[ROW('bogus', NULL, 'x', NULL, NULL)::lockguard.lock_request]$$),
  ('lockguard.lock_request[]', $$ARRAY[ROW('named', NULL, NULL, NULL, 'exclusive')::lockguard.lock_request]$$),
  ('lockguard.lock_request[]', $$ARRAY[ROW('named', NULL, repeat('é', 50000), NULL, NULL)::lockguard.lock_request]$$),
  ('lockguard.lock_request[]', $$ARRAY[ROW('named', NULL, 'x', NULL, 'FOR UPDATE')::lockguard.lock_request]$$),
  ('lockguard.lock_request[]', $$ARRAY[ROW('row', 'hostile_plain', NULL, NULL, 'FOR UPDATE')::lockguard.lock_request]$$),
  ('lockguard.lock_request[]', $$ARRAY[ROW('row', 'hostile_plain', NULL, '{NULL}', NULL)::lockguard.lock_request]$$),
  ('lockguard.lock_request[]', $$ARRAY[ROW('row', 'hostile_plain', NULL, '{1,2}', NULL)::lockguard.lock_request]$$),
  ('lockguard.lock_request[]', $$ARRAY[ROW('row', 'hostile_plain', NULL, '{abc}', NULL)::lockguard.lock_request]$$),
  ('lockguard.lock_request[]', $$ARRAY[ROW('row', 0, NULL, '{1}', NULL)::lockguard.lock_request]$$),
  ('lockguard.lock_request[]', $$ARRAY[ROW('row', 'hostile_view', NULL, '{1}', NULL)::lockguard.lock_request]$$),
  ('lockguard.lock_request[]', $$ARRAY[ROW('table', 'hostile_seq', NULL, NULL, 'SHARE')::lockguard.lock_request]$$),
  ('lockguard.lock_request[]', $$ARRAY[ROW('table', 'hostile_plain', 'x', '{1}', 'nope')::lockguard.lock_request]$$),
  ('lockguard.lock_request[]', $$ARRAY[ROW('table', NULL, NULL, NULL, NULL)::lockguard.lock_request]$$),
  ('lockguard.lock_request[]', $$ARRAY(SELECT lockguard.named_lock('many:' || g) FROM generate_series(1, 65) g)$$),
  ('lockguard.lock_request[]', $$ARRAY(SELECT lockguard.named_lock('same') FROM generate_series(1, 10000) g)$$),
  ('lockguard.lock_request[]', $$ARRAY[[lockguard.named_lock('a')], [lockguard.named_lock('b')]]$$),
  ('any', 'NULL'), ('any', 'NULL::integer'), ('any', $$''$$), ('any', $$'abc'$$), ('any', $$'abc'::text$$),
  ('any', '1.5::numeric'), ('any', '(-2147483648)::integer'), ('any', '9223372036854775807'),
  ('any', $$repeat('x', 100000)$$), ('any', $$repeat('é', 50000)$$), ('any', 'ROW(1, 2)'),
  ('any', 'ROW(NULL::integer)'), ('any', 'ROW(ROW(1, 2), 3)'), ('any', 'ARRAY[1, 2]'), ('any', $$'{}'::integer[]$$),
  ('any', $$'infinity'::timestamptz$$), ('any', $$'{"a": 1}'::jsonb$$), ('any', 'true'), ('any', $$'ü'::"char"$$),
  ('any', 'NULL::lockguard.lock_request'), ('any', $$lockguard.named_lock('x')$$),
  ('any', 'ROW(' || (SELECT string_agg(g::text, ', ') FROM generate_series(1, 33) g) || ')'),
  ('any', 'point(1, 2)'), ('any', $$'a' || repeat('😀', 100)$$);

-- A value of the wrong type for every argument (no implicit cast leads from it to any of them).
CREATE TEMP TABLE hostile_wrong_type (expr text);
INSERT INTO hostile_wrong_type VALUES ('point(1, 2)');

-- Working values for arguments that have no default, so the hostile one is reached.
CREATE TEMP TABLE hostile_baselines (function_name text, arg_name text, expr text);
INSERT INTO hostile_baselines VALUES
  (NULL, 'resource', $$'hostile:base'$$), (NULL, 'relation', $$'hostile_plain'::regclass$$),
  (NULL, 'requests', $$ARRAY[lockguard.named_lock('hostile:request')]$$),
  (NULL, 'work', $$'hostile_work(jsonb)'::regprocedure$$), (NULL, 'token', '1::bigint'),
  (NULL, 'waiters', $$'{}'::integer[]$$), (NULL, 'blockers', $$'{}'::integer[]$$),
  (NULL, 'node_pids', $$'{}'::integer[]$$), (NULL, 'node_wait_ms', $$'{}'::bigint[]$$),
  (NULL, 'pid', '0'), (NULL, 'blocker', '0'), (NULL, 'terminate', 'false'),
  (NULL, 'sample', 'false'), (NULL, 'apply_retention', 'false'), (NULL, 'retention_seconds', '3600'),
  ('lockguard_acquire_row', 'key', '1'), ('row_lock', 'key', '1'), ('lockguard_try_acquire_row', 'key', '1'),
  ('claim_operation', 'key', $$'hostile:operation'$$), ('complete_operation', 'key', $$'hostile:operation'$$);

CREATE TEMP TABLE hostile_calls (function_name text, signature text, argument text, value text, sqlstate text,
                                 message text);
CREATE TEMP TABLE hostile_start AS SELECT pg_postmaster_start_time() AS started, pg_backend_pid() AS pid;

DO $generator$
DECLARE
    f record;
    arg_types text[];
    arg_names text[];
    baseline text[];
    i integer;
    j integer;
    v record;
    args text[];
    call text;
BEGIN
    FOR f IN
        SELECT p.oid, p.oid::regprocedure::text AS signature, p.proname, n.nspname, p.pronargs,
               p.prorettype = 'trigger'::regtype AS is_trigger, p.proargnames
        FROM pg_proc p
        JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
        JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'lockguard'
        JOIN pg_namespace n ON n.oid = p.pronamespace
        ORDER BY 2
    LOOP
        arg_types := ARRAY(SELECT format_type(t, NULL) FROM unnest(
                               (SELECT proargtypes::oid[] FROM pg_proc WHERE oid = f.oid)) WITH ORDINALITY AS a(t, n)
                           ORDER BY n);
        arg_names := coalesce(f.proargnames[1:f.pronargs], array_fill(''::text, ARRAY[f.pronargs]));
        baseline := '{}';
        FOR i IN 1 .. f.pronargs LOOP
            baseline := baseline || coalesce(
                (SELECT b.expr FROM hostile_baselines b
                 WHERE b.arg_name = arg_names[i] AND (b.function_name = f.proname OR b.function_name IS NULL)
                 ORDER BY b.function_name NULLS LAST LIMIT 1),
                pg_get_function_arg_default(f.oid, i),
                format('NULL::%s', CASE WHEN arg_types[i] = '"any"' THEN 'integer' ELSE arg_types[i] END));
        END LOOP;
        -- (argument, value) pairs to try: nothing for a function without arguments.
        FOR v IN
            SELECT 0 AS position, NULL::text AS expr WHERE f.pronargs = 0
            UNION ALL
            SELECT a.n, h.expr FROM generate_series(1, f.pronargs) a(n)
            JOIN hostile_values h ON h.type = CASE WHEN arg_types[a.n] = '"any"' THEN 'any' ELSE arg_types[a.n] END
            UNION ALL
            SELECT a.n, w.expr FROM generate_series(1, f.pronargs) a(n), hostile_wrong_type w
            WHERE arg_types[a.n] <> '"any"'
            ORDER BY 1, 2
        LOOP
            args := baseline;
            IF v.position > 0 THEN
                args[v.position] := v.expr;
            END IF;
            call := format('SELECT coalesce(string_agg(r::text, %L), %L) FROM %I.%I(%s) AS r',
                           ' ', '', f.nspname, f.proname, array_to_string(args, ', '));
            DECLARE
                result text;
                state text;
                message text;
            BEGIN
                BEGIN
                    EXECUTE call INTO result;
                    -- What it returned, and the names of the locks it took, must be valid text.
                    PERFORM convert_to(result, 'UTF8');
                    PERFORM convert_to(string_agg(r.resource || r.resource_class, ''), 'UTF8')
                    FROM lockguard._lock_registry() r WHERE r.pid = pg_backend_pid();
                    RAISE EXCEPTION 'call succeeded' USING ERRCODE = 'LGOK0';  -- roll the call back
                EXCEPTION WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
                END;
                BEGIN
                    PERFORM convert_to(message, 'UTF8');
                EXCEPTION WHEN OTHERS THEN
                    message := 'message is not valid text';
                    state := 'LGBAD';
                END;
                INSERT INTO hostile_calls
                VALUES (f.proname, f.signature, CASE WHEN v.position > 0 THEN arg_names[v.position] END, v.expr,
                        CASE state WHEN 'LGOK0' THEN 'ok' ELSE state END, left(message, 200));
            END;
        END LOOP;
    END LOOP;
END
$generator$;

-- The backend survived every call, in the server it started in.
SELECT started = pg_postmaster_start_time() AS same_server, pid = pg_backend_pid() AS same_backend
FROM hostile_start;

-- Every argument type has hostile values (a function with a new type would otherwise go untested).
SELECT DISTINCT p.oid::regprocedure AS function, format_type(t, NULL) AS type_without_hostile_values
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'lockguard',
     unnest(p.proargtypes::oid[]) AS t
WHERE NOT EXISTS (SELECT 1 FROM hostile_values h
                  WHERE h.type = CASE WHEN format_type(t, NULL) = '"any"' THEN 'any' ELSE format_type(t, NULL) END);

-- Outcomes per function: "ok" or the SQLSTATE, with how many calls ended so.
SELECT signature, sum(n) AS calls,
       string_agg(sqlstate || ':' || n, ' ' ORDER BY sqlstate) AS outcomes
FROM (SELECT signature, sqlstate, count(*) AS n FROM hostile_calls GROUP BY 1, 2) s
GROUP BY signature ORDER BY signature;

-- Nothing unexpected: only clean error classes (data exceptions, invalid state, access rules,
-- program limits, lockguard's own LG codes and PostgreSQL's errors for calling a trigger
-- function or a failing work), never an internal error, and no message that leaks internals.
SELECT function_name, argument, left(value, 60) AS value, sqlstate, message
FROM hostile_calls
WHERE NOT (sqlstate = 'ok'
           OR left(sqlstate, 2) IN ('22', '23', '25', '0A', '2D', '39', '42', '54', '55', 'LG')
           OR (sqlstate = '53200' AND message LIKE 'too many lockguard locks%'))
   OR message ~* '(internal error|SPI|cache lookup|std::|lockguard::|what\(\)|\(null\)|unrecognized|unexpected|not valid text)'
ORDER BY 1, 2, 3;

-- The same for lockguard.fencing_token_guard() as a trigger with hostile arguments and timing,
-- and for lockguard's internal trigger functions attached to a table of the caller's.
CREATE TABLE hostile_fenced (id int PRIMARY KEY, res text, tok bigint, txt text);
CREATE TEMP TABLE hostile_trigger_calls (trigger_function text, definition text, row_values text, sqlstate text,
                                         message text);
CREATE TEMP TABLE hostile_trigger_args (args text[]);
INSERT INTO hostile_trigger_args VALUES
  ('{}'), ('{res}'), ('{res,tok,x}'), ('{nope,tok}'), ('{res,nope}'), ('{res,txt}'), ('{res,id}'), ('{=,tok}'),
  (ARRAY['=' || repeat('x', 300), 'tok']), (ARRAY['="quoted".name ü', 'tok']), ('{id,tok}'), ('{RES,TOK}');
DO $generator$
DECLARE
    fn text;
    timing text;
    trigger_args text;
    row_values text;
    state text;
    message text;
BEGIN
    FOR fn, timing, trigger_args IN
        SELECT 'lockguard.fencing_token_guard', t,
               (SELECT coalesce(string_agg(quote_literal(x), ', '), '') FROM unnest(a.args) x)
        FROM unnest(ARRAY['BEFORE INSERT OR UPDATE ON hostile_fenced FOR EACH ROW',
                          'AFTER INSERT ON hostile_fenced FOR EACH ROW',
                          'BEFORE INSERT ON hostile_fenced FOR EACH STATEMENT',
                          'BEFORE DELETE ON hostile_fenced FOR EACH ROW']) t,
             hostile_trigger_args a
        UNION ALL
        SELECT f, t, ''
        FROM unnest(ARRAY['lockguard._tenants_changed', 'lockguard._normalize_lock_policy',
                          'lockguard._lock_policies_changed']) f,
             unnest(ARRAY['BEFORE INSERT OR UPDATE ON hostile_fenced FOR EACH ROW',
                          'AFTER INSERT ON hostile_fenced FOR EACH STATEMENT']) t
        ORDER BY 1, 2, 3
    LOOP
        FOR row_values IN
            SELECT unnest(ARRAY[$$(1, 'r', 1, 'x')$$, $$(2, NULL, 1, NULL)$$, $$(3, 'r', NULL, NULL)$$,
                                $$(4, '', 0, '')$$, $$(5, repeat('é', 200), -1, NULL)$$,
                                $$(6, 'r', 9223372036854775807, NULL)$$])
        LOOP
            BEGIN
                EXECUTE format('CREATE TRIGGER hostile_trigger %s EXECUTE FUNCTION %s(%s)', timing, fn, trigger_args);
                EXECUTE 'INSERT INTO hostile_fenced VALUES ' || row_values;
                EXECUTE 'UPDATE hostile_fenced SET tok = tok + 0';
                EXECUTE 'DELETE FROM hostile_fenced';
                RAISE EXCEPTION 'statements succeeded' USING ERRCODE = 'LGOK0';
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
            END;
            INSERT INTO hostile_trigger_calls
            VALUES (fn, timing || ' (' || trigger_args || ')', row_values,
                    CASE state WHEN 'LGOK0' THEN 'ok' ELSE state END, left(message, 200));
        END LOOP;
    END LOOP;
END
$generator$;

SELECT trigger_function, sum(n) AS statements,
       string_agg(sqlstate || ':' || n, ' ' ORDER BY sqlstate) AS outcomes
FROM (SELECT trigger_function, sqlstate, count(*) AS n FROM hostile_trigger_calls GROUP BY 1, 2) s
GROUP BY trigger_function ORDER BY trigger_function;

SELECT trigger_function, definition, row_values, sqlstate, message
FROM hostile_trigger_calls
WHERE NOT (sqlstate = 'ok' OR left(sqlstate, 2) IN ('22', '23', '25', '0A', '39', '42', '54', '55', 'LG'))
   OR message ~* '(internal error|SPI|cache lookup|std::|lockguard::|what\(\)|\(null\)|unrecognized|unexpected)'
ORDER BY 1, 2, 3;

-- Nothing was left behind.
SELECT count(*) AS lockguard_locks_left FROM lockguard._lock_registry() WHERE pid = pg_backend_pid();
SELECT count(*) AS operations_left FROM lockguard.operations WHERE key LIKE 'hostile%';

DROP VIEW hostile_view;
DROP TABLE hostile_fenced, hostile_plain, hostile_text, hostile_composite, hostile_nopk, "hostile we""ird.tåble",
    hostile_part;
DROP SEQUENCE hostile_seq;
DROP FUNCTION hostile_work(jsonb), hostile_raise(jsonb), hostile_setof();
DROP PROCEDURE hostile_proc(jsonb), hostile_commit();
