#include "pg/infra/statement_depth.hpp"

#include "pg/infra/pg_prelude.hpp"

extern "C" {
#include "tcop/tcopprot.h"
}

namespace lockguard::pg {

namespace {

int executor_depth = 0;
int utility_depth = 0;

}  // namespace

void enter_executor() { executor_depth++; }
void leave_executor() { executor_depth--; }
void enter_utility_statement() { utility_depth++; }
void leave_utility_statement() { utility_depth--; }

bool called_by_client_statement(const char *function_name) {
    if (executor_depth > 1 || utility_depth > 0) return false;  // inside a function, DO or CALL
    return debug_query_string != nullptr && strcasestr(debug_query_string, function_name) != nullptr;
}

}  // namespace lockguard::pg
