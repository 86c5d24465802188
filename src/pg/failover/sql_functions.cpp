// The failover wing's SQL functions: fencing tokens and run-once operations.
// Every fmgr entry point of the wing is here (the wing's SQL face in one place); each hands its
// call to the function that does the work, in the concern file named above it.
#include "pg/failover/sql_functions.hpp"

extern "C" {
PGDLLEXPORT Datum lockguard_fencing_token(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_fencing_token_parts(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_check_fencing_token(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_fencing_token_guard(PG_FUNCTION_ARGS);
PGDLLEXPORT 
// run_once.cpp: run-once operations
Datum lockguard_claim_operation(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_complete_operation(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(lockguard_fencing_token);
PG_FUNCTION_INFO_V1(lockguard_fencing_token_parts);
PG_FUNCTION_INFO_V1(lockguard_check_fencing_token);
PG_FUNCTION_INFO_V1(lockguard_fencing_token_guard);
PG_FUNCTION_INFO_V1(lockguard_claim_operation);
PG_FUNCTION_INFO_V1(lockguard_complete_operation);
}

// fencing.cpp: fencing tokens
Datum lockguard_fencing_token(PG_FUNCTION_ARGS) { return lockguard::pg::sql_fencing_token(fcinfo); }
Datum lockguard_fencing_token_parts(PG_FUNCTION_ARGS) { return lockguard::pg::sql_fencing_token_parts(fcinfo); }
Datum lockguard_check_fencing_token(PG_FUNCTION_ARGS) { return lockguard::pg::sql_check_fencing_token(fcinfo); }
Datum lockguard_fencing_token_guard(PG_FUNCTION_ARGS) { return lockguard::pg::sql_fencing_token_guard(fcinfo); }

// run_once.cpp: run-once operations
Datum lockguard_claim_operation(PG_FUNCTION_ARGS) { return lockguard::pg::sql_claim_operation(fcinfo); }
Datum lockguard_complete_operation(PG_FUNCTION_ARGS) { return lockguard::pg::sql_complete_operation(fcinfo); }
