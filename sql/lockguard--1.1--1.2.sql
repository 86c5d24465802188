-- lockguard 1.1 -> 1.2
-- CREATE EXTENSION lockguard runs lockguard--1.0.sql, lockguard--1.0--1.1.sql and then this
-- script (default_version is 1.2); ALTER EXTENSION lockguard UPDATE runs it on a 1.1
-- installation. Released scripts (1.0, 1.0--1.1) are never edited: every SQL change after 1.1
-- goes here, in the section of the work it belongs to.
\echo Use "ALTER EXTENSION lockguard UPDATE TO '1.2'" to load this file. \quit

------------------------------------------------------------------------------------------
-- Acquire bounds: the try-lock, keys a driver sends untyped, prepared transactions.
------------------------------------------------------------------------------------------

-- Keys a driver sends untyped (pgbench -M prepared, node-postgres, many ORMs): PostgreSQL cannot
-- resolve an unknown-typed parameter against "any", so a text form sits beside each "any" one.
-- An untyped parameter or quoted literal resolves to text; a composite key goes as text[]
-- (ARRAY[$1, $2] of untyped parameters is text[]). Typed values and ROW(...) still take "any".
CREATE FUNCTION lockguard_acquire_row(
    relation regclass,
    key text,
    mode text DEFAULT 'FOR UPDATE',
    timeout_ms integer DEFAULT NULL,
    priority integer DEFAULT 0)
RETURNS boolean
AS 'MODULE_PATHNAME', 'lockguard_acquire_row'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_acquire_row(regclass, text, text, integer, integer) IS
'Lock one row by primary key given as text (an untyped parameter resolves here), like SELECT ... FOR UPDATE; returns whether the row exists';

CREATE FUNCTION lockguard_acquire_row(
    relation regclass,
    key text[],
    mode text DEFAULT 'FOR UPDATE',
    timeout_ms integer DEFAULT NULL,
    priority integer DEFAULT 0)
RETURNS boolean
AS 'MODULE_PATHNAME', 'lockguard_acquire_row'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_acquire_row(regclass, text[], text, integer, integer) IS
'Lock one row by a composite primary key given as text values, one per key column, like SELECT ... FOR UPDATE; returns whether the row exists';

CREATE FUNCTION lockguard.row_lock(relation regclass, key text, mode text DEFAULT 'FOR UPDATE')
RETURNS lockguard.lock_request
AS 'MODULE_PATHNAME', 'lockguard_row_request'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION lockguard.row_lock(regclass, text, text) IS
'A row request for lockguard_acquire_all() with the key given as text (an untyped parameter resolves here)';

CREATE FUNCTION lockguard.row_lock(relation regclass, key text[], mode text DEFAULT 'FOR UPDATE')
RETURNS lockguard.lock_request
AS 'MODULE_PATHNAME', 'lockguard_row_request'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION lockguard.row_lock(regclass, text[], text) IS
'A row request for lockguard_acquire_all() with a composite key given as text values';

-- The try-lock: the same arguments as the acquire functions, timeout_ms defaulting to 0 (do
-- not wait), and a result that tells the three outcomes apart without an exception block:
-- 'acquired' (held until the transaction ends), 'busy' (not obtained within timeout_ms) or
-- 'missing' (a row that does not exist). Busy and missing leave nothing held.
CREATE FUNCTION lockguard_try_acquire(
    resource text,
    timeout_ms integer DEFAULT 0,
    priority integer DEFAULT 0,
    mode text DEFAULT 'exclusive')
RETURNS text
AS 'MODULE_PATHNAME', 'lockguard_try_acquire_named'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_try_acquire(text, integer, integer, text) IS
'Try to lock a named resource, waiting at most timeout_ms (default 0): returns acquired or busy';

CREATE FUNCTION lockguard_try_acquire_row(
    relation regclass,
    key "any",
    mode text DEFAULT 'FOR UPDATE',
    timeout_ms integer DEFAULT 0,
    priority integer DEFAULT 0)
RETURNS text
AS 'MODULE_PATHNAME', 'lockguard_try_acquire_row'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_try_acquire_row(regclass, "any", text, integer, integer) IS
'Try to lock one row by primary key, waiting at most timeout_ms (default 0): returns acquired, busy or missing';

CREATE FUNCTION lockguard_try_acquire_row(
    relation regclass,
    key text,
    mode text DEFAULT 'FOR UPDATE',
    timeout_ms integer DEFAULT 0,
    priority integer DEFAULT 0)
RETURNS text
AS 'MODULE_PATHNAME', 'lockguard_try_acquire_row'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_try_acquire_row(regclass, text, text, integer, integer) IS
'Try to lock one row by primary key given as text, waiting at most timeout_ms (default 0): returns acquired, busy or missing';

CREATE FUNCTION lockguard_try_acquire_row(
    relation regclass,
    key text[],
    mode text DEFAULT 'FOR UPDATE',
    timeout_ms integer DEFAULT 0,
    priority integer DEFAULT 0)
RETURNS text
AS 'MODULE_PATHNAME', 'lockguard_try_acquire_row'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_try_acquire_row(regclass, text[], text, integer, integer) IS
'Try to lock one row by a composite primary key given as text values, waiting at most timeout_ms (default 0): returns acquired, busy or missing';

CREATE FUNCTION lockguard_try_acquire_table(
    relation regclass,
    mode text DEFAULT 'ACCESS EXCLUSIVE',
    timeout_ms integer DEFAULT 0,
    priority integer DEFAULT 0)
RETURNS text
AS 'MODULE_PATHNAME', 'lockguard_try_acquire_table'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_try_acquire_table(regclass, text, integer, integer) IS
'Try to lock a table like LOCK TABLE, waiting at most timeout_ms (default 0): returns acquired or busy';

CREATE FUNCTION lockguard_try_acquire_all(
    requests lockguard.lock_request[],
    timeout_ms integer DEFAULT 0,
    priority integer DEFAULT 0)
RETURNS text
AS 'MODULE_PATHNAME', 'lockguard_try_acquire_all'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard_try_acquire_all(lockguard.lock_request[], integer, integer) IS
'Try to lock several resources in one canonical order within timeout_ms (default 0): returns acquired, busy (nothing held) or missing (a row does not exist; nothing held)';

-- end of the acquire section

------------------------------------------------------------------------------------------
-- Guardrails: policies that cover partitions and inheritance children.
------------------------------------------------------------------------------------------

-- end of the guardrails section

------------------------------------------------------------------------------------------
-- Monitoring cost: honest estimates for the views' set-returning functions.
------------------------------------------------------------------------------------------

-- end of the monitoring section

------------------------------------------------------------------------------------------
-- Smaller defects: qualified resource names, input checked where it is given, comments.
------------------------------------------------------------------------------------------

-- end of the defects section
