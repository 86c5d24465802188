// The work behind the failover wing's SQL functions, one function per SQL function, defined in
// the wing's concern files; failover/sql_functions.cpp holds their fmgr entry points. Each catches
// every C++ exception itself (run_at_boundary) or holds only trivially destructible objects.
#pragma once

#include "pg/infra/pg_prelude.hpp"

namespace lockguard::pg {

// fencing.cpp: fencing tokens
Datum sql_fencing_token(FunctionCallInfo fcinfo);
Datum sql_fencing_token_parts(FunctionCallInfo fcinfo);
Datum sql_check_fencing_token(FunctionCallInfo fcinfo);
Datum sql_fencing_token_guard(FunctionCallInfo fcinfo);

// run_once.cpp: run-once operations
Datum sql_claim_operation(FunctionCallInfo fcinfo);
Datum sql_complete_operation(FunctionCallInfo fcinfo);

}  // namespace lockguard::pg
