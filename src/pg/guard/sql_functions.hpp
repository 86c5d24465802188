// The work behind the guard wing's SQL functions, one function per SQL function, defined in
// the wing's concern files; guard/sql_functions.cpp holds their fmgr entry points. Each catches
// every C++ exception itself (run_at_boundary) or holds only trivially destructible objects.
#pragma once

#include "pg/infra/pg_prelude.hpp"

namespace lockguard::pg {

// guardrails.cpp: the policy cache: the change trigger
Datum sql_lock_policies_changed(FunctionCallInfo fcinfo);

// blockers.cpp: ending a blocking session
Datum sql_end_blocker(FunctionCallInfo fcinfo);

}  // namespace lockguard::pg
