// The observe wing's SQL functions: the views over the audit ring, wait statistics, the wait graph,
// captured deadlocks, lock waits, lockguard's processes and shared state.
// Every fmgr entry point of the wing is here (the wing's SQL face in one place); each hands its
// call to the function that does the work, in the concern file named above it.
#include "pg/observe/sql_functions.hpp"

extern "C" {
PGDLLEXPORT Datum lockguard_blocking_tree(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_dot_graph(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_deadlock_buffer(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(lockguard_blocking_tree);
PG_FUNCTION_INFO_V1(lockguard_dot_graph);
PG_FUNCTION_INFO_V1(lockguard_deadlock_buffer);
PGDLLEXPORT Datum lockguard_audit_buffer(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_wait_stats(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_reset_wait_stats(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(lockguard_audit_buffer);
PG_FUNCTION_INFO_V1(lockguard_wait_stats);
PG_FUNCTION_INFO_V1(lockguard_reset_wait_stats);
PGDLLEXPORT Datum lockguard_lock_waits(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(lockguard_lock_waits);
PGDLLEXPORT Datum lockguard_activity(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(lockguard_activity);
PGDLLEXPORT Datum lockguard_lock_registry(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_queue_stats(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_tenant_stats(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(lockguard_lock_registry);
PG_FUNCTION_INFO_V1(lockguard_queue_stats);
PG_FUNCTION_INFO_V1(lockguard_tenant_stats);
PGDLLEXPORT Datum lockguard_shared_state(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(lockguard_shared_state);
PGDLLEXPORT Datum lockguard_worker_stats(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(lockguard_worker_stats);
}

// graph_views.cpp: the wait graph: blocking tree, DOT graph, captured deadlocks
Datum lockguard_blocking_tree(PG_FUNCTION_ARGS) { return lockguard::pg::sql_blocking_tree(fcinfo); }
Datum lockguard_dot_graph(PG_FUNCTION_ARGS) { return lockguard::pg::sql_dot_graph(fcinfo); }
Datum lockguard_deadlock_buffer(PG_FUNCTION_ARGS) { return lockguard::pg::sql_deadlock_buffer(fcinfo); }

// audit_and_stats_views.cpp: the audit ring and the wait statistics
Datum lockguard_audit_buffer(PG_FUNCTION_ARGS) { return lockguard::pg::sql_audit_buffer(fcinfo); }
Datum lockguard_wait_stats(PG_FUNCTION_ARGS) { return lockguard::pg::sql_wait_stats(fcinfo); }
Datum lockguard_reset_wait_stats(PG_FUNCTION_ARGS) { return lockguard::pg::sql_reset_wait_stats(fcinfo); }

// lock_waits_view.cpp: every lock wait on the server, lockguard's or not
Datum lockguard_lock_waits(PG_FUNCTION_ARGS) { return lockguard::pg::sql_lock_waits(fcinfo); }

// activity_view.cpp: lockguard's own processes
Datum lockguard_activity(PG_FUNCTION_ARGS) { return lockguard::pg::sql_activity(fcinfo); }

// registry_views.cpp: published locks and waits, queue-ordering counters, per-tenant figures
Datum lockguard_lock_registry(PG_FUNCTION_ARGS) { return lockguard::pg::sql_lock_registry(fcinfo); }
Datum lockguard_queue_stats(PG_FUNCTION_ARGS) { return lockguard::pg::sql_queue_stats(fcinfo); }
Datum lockguard_tenant_stats(PG_FUNCTION_ARGS) { return lockguard::pg::sql_tenant_stats(fcinfo); }

// shared_state_view.cpp: shared memory's own figures
Datum lockguard_shared_state(PG_FUNCTION_ARGS) { return lockguard::pg::sql_shared_state(fcinfo); }

// worker.cpp: the background worker's counters
Datum lockguard_worker_stats(PG_FUNCTION_ARGS) { return lockguard::pg::sql_worker_stats(fcinfo); }
