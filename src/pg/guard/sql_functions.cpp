// The guard wing's SQL functions: the lock-policy change trigger and ending a blocking session.
// Every fmgr entry point of the wing is here (the wing's SQL face in one place); each hands its
// call to the function that does the work, in the concern file named above it.
#include "pg/guard/sql_functions.hpp"

extern "C" {
PGDLLEXPORT Datum lockguard_lock_policies_changed(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(lockguard_lock_policies_changed);
PGDLLEXPORT Datum lockguard_end_blocker(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(lockguard_end_blocker);
}

// guardrails.cpp: the policy cache: the change trigger
Datum lockguard_lock_policies_changed(PG_FUNCTION_ARGS) { return lockguard::pg::sql_lock_policies_changed(fcinfo); }

// blockers.cpp: ending a blocking session
Datum lockguard_end_blocker(PG_FUNCTION_ARGS) { return lockguard::pg::sql_end_blocker(fcinfo); }
