-- Catalog checks for lockguard's SQL face: the objects exist with the declared signatures,
-- language, volatility and parallel safety, the lockguard.locks view has its documented
-- columns, bad input fails with SQLSTATE 22023 and a good call works.
-- Run by pg_prove in a database where CREATE EXTENSION pgtap, lockguard were done.
BEGIN;
SELECT plan(44);

SELECT has_extension('lockguard', 'the lockguard extension is installed');
SELECT has_schema('lockguard', 'schema lockguard exists');

-- lockguard_acquire(resource, timeout_ms, priority, mode)
SELECT has_function('public', 'lockguard_acquire', ARRAY['text', 'integer', 'integer', 'text'],
                    'lockguard_acquire(text, integer, integer, text) exists');
SELECT function_returns('public', 'lockguard_acquire', ARRAY['text', 'integer', 'integer', 'text'], 'void',
                        'lockguard_acquire returns void');
SELECT function_lang_is('public', 'lockguard_acquire', ARRAY['text', 'integer', 'integer', 'text'], 'c',
                        'lockguard_acquire is written in C');
SELECT volatility_is('public', 'lockguard_acquire', ARRAY['text', 'integer', 'integer', 'text'], 'volatile',
                     'lockguard_acquire is volatile');
SELECT is((SELECT proparallel::text FROM pg_proc
            WHERE oid = 'public.lockguard_acquire(text, integer, integer, text)'::regprocedure),
          'u', 'lockguard_acquire is parallel unsafe');
SELECT is(pg_get_function_arguments('public.lockguard_acquire(text, integer, integer, text)'::regprocedure),
          'resource text, timeout_ms integer DEFAULT NULL::integer, priority integer DEFAULT 0, mode text DEFAULT ''exclusive''::text',
          'every argument but the resource is optional, with the documented defaults');
SELECT isnt(obj_description('public.lockguard_acquire(text, integer, integer, text)'::regprocedure, 'pg_proc'),
            NULL, 'lockguard_acquire has a comment');

-- lockguard.queue_stats()
SELECT has_function('lockguard', 'queue_stats', ARRAY[]::text[], 'lockguard.queue_stats() exists');
SELECT function_lang_is('lockguard', 'queue_stats', ARRAY[]::text[], 'c', 'lockguard.queue_stats is written in C');
SELECT volatility_is('lockguard', 'queue_stats', ARRAY[]::text[], 'volatile', 'lockguard.queue_stats is volatile');
SELECT is(pg_get_function_result('lockguard.queue_stats()'::regprocedure),
          'record', 'lockguard.queue_stats returns one record');
SELECT is(ARRAY(SELECT a.name FROM unnest(
             (SELECT proargnames FROM pg_proc WHERE oid = 'lockguard.queue_stats()'::regprocedure)) AS a(name)),
          ARRAY['waits', 'reorders', 'moved', 'mixed_mode_queues', 'inconsistent_queues'],
          'lockguard.queue_stats has the documented columns');

-- lockguard.locks
SELECT has_view('lockguard', 'locks', 'view lockguard.locks exists');
SELECT columns_are('lockguard', 'locks',
                   ARRAY['resource', 'scope', 'mode', 'pid', 'granted', 'wait_started', 'wait_ms', 'priority', 'tenant',
                         'database', 'usename', 'application_name', 'blocked_by', 'key_space'],
                   'lockguard.locks has the documented columns');
SELECT col_type_is('lockguard', 'locks', 'resource', 'text', 'lockguard.locks.resource is text');
SELECT col_type_is('lockguard', 'locks', 'pid', 'integer', 'lockguard.locks.pid is integer');
SELECT col_type_is('lockguard', 'locks', 'granted', 'boolean', 'lockguard.locks.granted is boolean');
SELECT col_type_is('lockguard', 'locks', 'wait_started', 'timestamp with time zone',
                   'lockguard.locks.wait_started is timestamptz');
SELECT col_type_is('lockguard', 'locks', 'wait_ms', 'bigint', 'lockguard.locks.wait_ms is bigint');
SELECT col_type_is('lockguard', 'locks', 'priority', 'integer', 'lockguard.locks.priority is integer');
SELECT col_type_is('lockguard', 'locks', 'blocked_by', 'integer[]', 'lockguard.locks.blocked_by is integer[]');

-- Behaviour, inside this transaction block.
SELECT throws_ok($$SELECT lockguard_acquire('pgtap:bad', priority => 101)$$, '22023', 'invalid priority: 101',
                 'a priority above 100 fails with 22023');
SELECT throws_ok($$SELECT lockguard_acquire('pgtap:bad', timeout_ms => -1)$$, '22023',
                 'timeout_ms must be between 0 and 86400000', 'a negative timeout_ms fails with 22023');
SELECT throws_ok($$SELECT lockguard_acquire('pgtap:bad', mode => 'nope')$$, '22023',
                 'invalid lock mode "nope" for named scope', 'an unknown mode fails with 22023');
SELECT is_empty($$SELECT 1 FROM lockguard.locks WHERE resource = 'pgtap:bad'$$,
                'failed calls leave no lock behind');
SELECT lives_ok($$SELECT lockguard_acquire('pgtap:ok', timeout_ms => 0, priority => 100, mode => 'shared')$$,
                'a good call with every argument works');
SELECT results_eq($$SELECT resource, scope, mode, granted, priority FROM lockguard.locks WHERE pid = pg_backend_pid()$$,
                  $$VALUES ('pgtap:ok'::text, 'named'::text, 'shared'::text, true, 100)$$,
                  'the lock taken shows in lockguard.locks with what the caller asked for');
SELECT is((SELECT count(*)::int FROM pg_locks
            WHERE locktype = 'advisory' AND objsubid = 19527 AND pid = pg_backend_pid() AND mode = 'ShareLock'),
          1, 'the lock is a ShareLock in lockguard''s advisory key space (objsubid 19527)');

-- The wait-graph reader and the worker's counters (monitoring cost): C functions, so that the
-- planner keeps the rows they declare; the reader declares a handful of rows, not 1000.
SELECT has_function('lockguard', '_lock_waits', ARRAY[]::text[], 'lockguard._lock_waits() exists');
SELECT function_lang_is('lockguard', '_lock_waits', ARRAY[]::text[], 'c', 'lockguard._lock_waits is written in C');
SELECT cmp_ok((SELECT prorows FROM pg_proc WHERE oid = 'lockguard._lock_waits()'::regprocedure), '<', 1000::real,
              'lockguard._lock_waits declares its rows');
SELECT has_function('lockguard', 'worker_stats', ARRAY[]::text[], 'lockguard.worker_stats() exists');
SELECT is(ARRAY(SELECT a.name FROM unnest(
             (SELECT proargnames FROM pg_proc WHERE oid = 'lockguard.worker_stats()'::regprocedure)) AS a(name)),
          ARRAY['samples', 'sampled_edges', 'sample_cpu_ms', 'avg_sample_cpu_ms', 'last_sample_cpu_ms',
                'max_sample_cpu_ms', 'last_sample_at', 'cycles', 'cycle_cpu_ms'],
          'lockguard.worker_stats has the documented columns');
SELECT isnt(obj_description('lockguard.worker_stats()'::regprocedure, 'pg_proc'), NULL,
            'lockguard.worker_stats has a comment');

-- 1.2: the text forms of row keys, and the try-lock with its three outcomes.
SELECT has_function('public', 'lockguard_acquire_row', ARRAY['regclass', 'text', 'text', 'integer', 'integer'],
                    'lockguard_acquire_row(regclass, text, ...) exists for untyped keys');
SELECT has_function('public', 'lockguard_acquire_row', ARRAY['regclass', 'text[]', 'text', 'integer', 'integer'],
                    'lockguard_acquire_row(regclass, text[], ...) exists for composite keys as text');
SELECT has_function('lockguard', 'row_lock', ARRAY['regclass', 'text', 'text'],
                    'lockguard.row_lock(regclass, text, text) exists');
SELECT function_returns('public', 'lockguard_try_acquire', ARRAY['text', 'integer', 'integer', 'text'], 'text',
                        'lockguard_try_acquire returns text');
SELECT is(pg_get_function_arguments('public.lockguard_try_acquire_row(regclass, "any", text, integer, integer)'::regprocedure),
          'relation regclass, key "any", mode text DEFAULT ''FOR UPDATE''::text, timeout_ms integer DEFAULT 0, priority integer DEFAULT 0',
          'lockguard_try_acquire_row does not wait unless asked to');
SELECT is((SELECT count(*)::int FROM pg_proc
            WHERE proname IN ('lockguard_try_acquire', 'lockguard_try_acquire_row', 'lockguard_try_acquire_table',
                              'lockguard_try_acquire_all') AND proparallel = 'u' AND provolatile = 'v'),
          6, 'the six try-lock functions are volatile and parallel unsafe');
SELECT is(lockguard_try_acquire('pgtap:ok', mode => 'shared'), 'acquired',
          'a try on a lock this transaction holds says acquired');
SELECT is(lockguard_try_acquire_all(ARRAY[lockguard.named_lock('pgtap:try')]), 'acquired',
          'a try of several resources says acquired');

SELECT * FROM finish();
ROLLBACK;
