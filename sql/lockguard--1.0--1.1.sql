-- lockguard 1.0 -> 1.1
-- CREATE EXTENSION lockguard runs lockguard--1.0.sql and then this script (default_version is
-- 1.1); ALTER EXTENSION lockguard UPDATE runs this script on a 1.0 installation. So every SQL
-- change after 1.0 goes here, and both paths end with the same objects.
\echo Use "ALTER EXTENSION lockguard UPDATE TO '1.1'" to load this file. \quit
