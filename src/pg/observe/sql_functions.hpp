// The work behind the observe wing's SQL functions, one function per SQL function, defined in
// the wing's concern files; observe/sql_functions.cpp holds their fmgr entry points. Each catches
// every C++ exception itself (run_at_boundary) or holds only trivially destructible objects.
#pragma once

#include "pg/infra/pg_prelude.hpp"

namespace lockguard::pg {

// graph_views.cpp: the wait graph: blocking tree, DOT graph, captured deadlocks
Datum sql_blocking_tree(FunctionCallInfo fcinfo);
Datum sql_dot_graph(FunctionCallInfo fcinfo);
Datum sql_deadlock_buffer(FunctionCallInfo fcinfo);

// audit_and_stats_views.cpp: the audit ring and the wait statistics
Datum sql_audit_buffer(FunctionCallInfo fcinfo);
Datum sql_wait_stats(FunctionCallInfo fcinfo);
Datum sql_reset_wait_stats(FunctionCallInfo fcinfo);

// lock_waits_view.cpp: every lock wait on the server, lockguard's or not
Datum sql_lock_waits(FunctionCallInfo fcinfo);

// activity_view.cpp: lockguard's own processes
Datum sql_activity(FunctionCallInfo fcinfo);

// registry_views.cpp: published locks and waits, queue-ordering counters, per-tenant figures
Datum sql_lock_registry(FunctionCallInfo fcinfo);
Datum sql_queue_stats(FunctionCallInfo fcinfo);
Datum sql_tenant_stats(FunctionCallInfo fcinfo);

// shared_state_view.cpp: shared memory's own figures
Datum sql_shared_state(FunctionCallInfo fcinfo);

// worker.cpp: the background worker's counters
Datum sql_worker_stats(FunctionCallInfo fcinfo);

}  // namespace lockguard::pg
