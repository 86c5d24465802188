// Whether a call comes straight from the client's own statement, so that a transaction-scoped
// lock that would be released at once can be refused. Executor and utility nesting are tracked
// with hooks, as pg_stat_statements does; PL/pgSQL evaluates simple expressions without the
// executor, so a call at executor depth 1 counts as the client's own only when the client's
// statement text names the function.
#pragma once

namespace lockguard::pg {

void install_statement_depth_hooks();
bool called_by_client_statement(const char *function_name);

}  // namespace lockguard::pg
