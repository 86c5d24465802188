// The hook registry: the one place lockguard assigns PostgreSQL's hook variables. Each hook
// chains the hook that was installed before lockguard (another preloaded library's), or calls
// PostgreSQL's standard function. Wings never touch a hook variable: at _PG_init they register
// handlers here, and module.cpp calls install_hooks() once, after every wing registered.
//
// What runs, in order, per hook:
//   ProcessUtility_hook  1. the utility checks, in registration order (guard/: refuse a
//                           forbidden LOCK TABLE or DDL before any of its locks is taken);
//                        2. the statement-depth bookkeeping (infra/statement_depth) wraps the
//                           rest in PG_TRY/PG_FINALLY, so the depth is restored on error;
//                        3. the previous hook, or standard_ProcessUtility.
//                        A check that raises therefore leaves the depth untouched, and the
//                        depth counts only statements that really run: the same nesting as when
//                        the guardrails' hook was installed above the statement-depth hook.
//   ExecutorStart_hook   the executor-start checks (guard/: exclusive row marks on protected
//                        tables), then the previous hook or standard_ExecutorStart.
//   ExecutorRun_hook,    statement depth wraps the previous hook or the standard function
//   ExecutorFinish_hook  (PG_TRY/PG_FINALLY).
//   emit_log_hook        the previous hook first, then the log observers (observe/: deadlock
//                        capture), in registration order.
//   shmem_request_hook,  the previous hook first, then the shared-memory registry
//   shmem_startup_hook   (infra/shmem: every part registered at _PG_init).
//
// Handlers hold no C++ object across a PostgreSQL call (a check that needs one runs it under
// run_at_boundary): PostgreSQL errors pass through the hooks as usual. A log observer must
// never raise.
#pragma once

#include "pg/infra/pg_prelude.hpp"

extern "C" {
#include "executor/executor.h"
#include "tcop/utility.h"
}

namespace lockguard::pg {

using UtilityCheck = void (*)(PlannedStmt *statement);
using ExecutorStartCheck = void (*)(QueryDesc *query, int eflags);
using LogObserver = void (*)(ErrorData *error);

// Called from _PG_init (by a wing's register function), before install_hooks().
void add_utility_check(UtilityCheck check);
void add_executor_start_check(ExecutorStartCheck check);
void add_log_observer(LogObserver observer);

// Called once, last, from _PG_init.
void install_hooks();

}  // namespace lockguard::pg
