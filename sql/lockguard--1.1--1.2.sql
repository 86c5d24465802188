-- lockguard 1.1 -> 1.2
-- CREATE EXTENSION lockguard runs lockguard--1.0.sql, lockguard--1.0--1.1.sql and then this
-- script (default_version is 1.2); ALTER EXTENSION lockguard UPDATE runs it on a 1.1
-- installation. Released scripts (1.0, 1.0--1.1) are never edited: every SQL change after 1.1
-- goes here, in the section of the work it belongs to.
\echo Use "ALTER EXTENSION lockguard UPDATE TO '1.2'" to load this file. \quit

------------------------------------------------------------------------------------------
-- Acquire bounds: the try-lock, keys a driver sends untyped, prepared transactions.
------------------------------------------------------------------------------------------

-- end of the acquire section

------------------------------------------------------------------------------------------
-- Guardrails: policies that cover partitions and inheritance children.
------------------------------------------------------------------------------------------

-- A policy protects what its table's queries touch: its partitions and inheritance children at
-- any depth, including those attached or created later. include_children = false limits it to
-- the table itself.
ALTER TABLE lockguard.lock_policies ADD COLUMN include_children boolean NOT NULL DEFAULT true;
COMMENT ON COLUMN lockguard.lock_policies.include_children IS
'Whether the policy also protects the table''s partitions and inheritance children (at any depth, attached later too)';

-- end of the guardrails section

------------------------------------------------------------------------------------------
-- Monitoring cost: honest estimates for the views' set-returning functions.
------------------------------------------------------------------------------------------

-- end of the monitoring section

------------------------------------------------------------------------------------------
-- Smaller defects: qualified resource names, input checked where it is given, comments.
------------------------------------------------------------------------------------------

-- end of the defects section
