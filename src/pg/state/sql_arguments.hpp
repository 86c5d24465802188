// Reading and checking the arguments that lockguard's SQL functions share. Each raises a
// PostgreSQL error with a SQLSTATE and a hint on bad input.
#pragma once

#include "pg/infra/pg_prelude.hpp"

#include <string_view>

namespace lockguard::pg {

// A resource name: not NULL (22004), not empty (22023), under 256 bytes (42622).
std::string_view resource_name_argument(FunctionCallInfo fcinfo, int argno);

// Raises 42622 for a resource name of `length` bytes that is too long to show in full.
void check_resource_name_length(size_t length);

// timeout_ms: NULL = lockguard.default_timeout_ms; 0 = no wait; 0..one day (22023).
int timeout_argument(FunctionCallInfo fcinfo, int argno);

// priority: NULL = 0; within the documented range (22023).
int32 priority_argument(FunctionCallInfo fcinfo, int argno);

// A text argument as a C string, or `fallback` when NULL.
const char *text_argument_or(FunctionCallInfo fcinfo, int argno, const char *fallback);

}  // namespace lockguard::pg
