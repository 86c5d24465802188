// How deep the current call is nested in statements: 1 while the client's own statement runs,
// more inside functions, procedures and DO blocks. Tracked with executor and utility hooks, as
// pg_stat_statements does, so a lock that would be released at once can be refused.
#pragma once

namespace lockguard::pg {

void install_statement_depth_hooks();
int statement_depth();

}  // namespace lockguard::pg
