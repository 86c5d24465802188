// The work behind the acquire wing's SQL functions that lives outside acquire/sql_functions.cpp
// (which holds every fmgr entry point of the wing). Catches every C++ exception itself.
#pragma once

#include "pg/infra/pg_prelude.hpp"

namespace lockguard::pg {

// retry_envelope.cpp: lockguard_run, retries in subtransactions
Datum sql_run(FunctionCallInfo fcinfo);

}  // namespace lockguard::pg
