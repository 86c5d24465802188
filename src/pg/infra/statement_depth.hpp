// Whether a call comes straight from the client's own statement, so that a transaction-scoped
// lock that would be released at once can be refused. Executor and utility nesting are tracked
// by the hooks (infra/hooks.cpp), as pg_stat_statements does; PL/pgSQL evaluates simple
// expressions without the executor, so a call at executor depth 1 counts as the client's own
// only when the client's statement text names the function.
#pragma once

namespace lockguard::pg {

// Called by infra/hooks.cpp around ExecutorRun/ExecutorFinish and every utility statement; the
// leave functions run in PG_FINALLY, so an error restores the depth. They never raise.
void enter_executor();
void leave_executor();
void enter_utility_statement();
void leave_utility_statement();

bool called_by_client_statement(const char *function_name);

}  // namespace lockguard::pg
