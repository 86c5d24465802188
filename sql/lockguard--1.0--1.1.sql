-- lockguard 1.0 -> 1.1
-- CREATE EXTENSION lockguard runs lockguard--1.0.sql and then this script (default_version is
-- 1.1); ALTER EXTENSION lockguard UPDATE runs this script on a 1.0 installation. So every SQL
-- change after 1.0 goes here, and both paths end with the same objects.
\echo Use "ALTER EXTENSION lockguard UPDATE TO '1.1'" to load this file. \quit

------------------------------------------------------------------------------------------
-- Hardening: what lockguard's shared memory holds taken now, for consistency checks after
-- chaos runs and crash restarts (docs/hardening.md). Administrators only.
------------------------------------------------------------------------------------------
CREATE FUNCTION lockguard._shared_state(
    OUT part text, OUT slot integer, OUT pid integer, OUT held bigint, OUT waiting bigint, OUT note text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lockguard_shared_state'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION lockguard._shared_state() IS
'Backend slots in use, the published-wait count and tenant counters in lockguard''s shared memory';
REVOKE ALL ON FUNCTION lockguard._shared_state() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lockguard._shared_state() TO lockguard_admin;
