-- A key with more values than a single-column primary key has columns is bad input (22023),
-- given directly or through a multi-acquire request. (Kept in its own file, last in the
-- schedule: when this fails by crashing the backend, the other tests keep their results.)
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE TABLE arity (id int PRIMARY KEY);
INSERT INTO arity VALUES (1);
BEGIN;
SELECT lockguard_acquire_row('arity', ROW(1, 2));
ROLLBACK;
BEGIN;
SELECT * FROM lockguard_acquire_all(ARRAY[lockguard.row_lock('arity', ROW(1, 2))]);
ROLLBACK;
BEGIN;
SELECT * FROM lockguard_acquire_all(ARRAY[ROW('row', 'arity', NULL, '{1,2,3}', NULL)::lockguard.lock_request]);
ROLLBACK;
-- The right number of values still works.
BEGIN;
SELECT lockguard_acquire_row('arity', ROW(1));
SELECT resource, mode FROM lockguard.locks;
ROLLBACK;
DROP TABLE arity;
