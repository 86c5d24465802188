-- lockguard 1.2 -> 1.3
-- CREATE EXTENSION lockguard runs lockguard--1.0.sql, the 1.0--1.1 and 1.1--1.2 scripts and then
-- this one (default_version is 1.3); ALTER EXTENSION lockguard UPDATE runs it on a 1.2
-- installation. Released scripts (up to 1.1--1.2) are never edited: every SQL change after 1.2
-- goes here.
\echo Use "ALTER EXTENSION lockguard UPDATE TO '1.3'" to load this file. \quit

------------------------------------------------------------------------------------------
-- Fencing tokens across pg_upgrade (docs/failover.md, "Why tokens are monotonic").
------------------------------------------------------------------------------------------
-- A token's high bits are its epoch: the WAL timeline plus a base. pg_upgrade starts the new
-- cluster on timeline 1, so the epoch cannot be the timeline alone. This sequence keeps, in one
-- value that a rollback does not undo, what the next token's epoch is computed from:
--   (system << 32) | (base << 16) | epoch
--   system: the low 31 bits of the system identifier of the cluster that issued the epoch
--           (pg_upgrade and initdb make a new one; a standby shares its primary's)
--   base:   epoch - timeline on that cluster
--   epoch:  the highest epoch this database's tokens have used
-- A cluster that finds another system's value here (pg_upgrade carries the sequence over, as it
-- does the counter) continues one epoch above it; lockguard.fencing_token() keeps it up to date.
CREATE SEQUENCE lockguard.fencing_epoch AS bigint MINVALUE 0 NO CYCLE;
COMMENT ON SEQUENCE lockguard.fencing_epoch IS
'What the epoch (high bits) of the next fencing token is computed from: (system << 32) | (base << 16) | epoch';
REVOKE ALL ON lockguard.fencing_epoch FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('lockguard.fencing_epoch', '');

-- The starting point: this cluster, at its current timeline, or above every token this database
-- has checked if one carries a higher epoch (tokens a version before 1.3 issued carry the
-- timeline of the cluster that issued them, which may be one this cluster was upgraded from).
-- The update runs on a primary: pg_current_wal_lsn() names the timeline being written.
SELECT pg_catalog.setval('lockguard.fencing_epoch',
    ((SELECT system_identifier FROM pg_catalog.pg_control_system()) OPERATOR(pg_catalog.&) 2147483647) * 4294967296
    + GREATEST(
        ('x' || pg_catalog.left(pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn()), 8))::bit(32)::integer,
        (SELECT pg_catalog.max(token OPERATOR(pg_catalog.>>) 47) FROM lockguard.fencing_seen)::integer),
    true);

COMMENT ON FUNCTION lockguard.fencing_token(text) IS
'A fencing token for the resource, above every token issued before in this cluster, across restarts, promotions and pg_upgrade';
COMMENT ON FUNCTION lockguard.fencing_token_parts(bigint) IS
'The epoch (the WAL timeline, plus a base after pg_upgrade) and counter a fencing token was made of';
