#include "pg/infra/hooks.hpp"

#include "pg/infra/compat.hpp"
#include "pg/infra/shmem.hpp"
#include "pg/infra/statement_depth.hpp"

extern "C" {
#include "storage/ipc.h"
}

namespace lockguard::pg {

namespace {

// Enough for every handler lockguard registers; a fixed array because _PG_init runs in the
// postmaster, before any memory context a backend would use.
constexpr int kMaxHandlers = 4;

UtilityCheck utility_checks[kMaxHandlers];
int utility_check_count = 0;
ExecutorStartCheck executor_start_checks[kMaxHandlers];
int executor_start_check_count = 0;
LogObserver log_observers[kMaxHandlers];
int log_observer_count = 0;

ProcessUtility_hook_type previous_process_utility = nullptr;
ExecutorStart_hook_type previous_executor_start = nullptr;
ExecutorRun_hook_type previous_executor_run = nullptr;
ExecutorFinish_hook_type previous_executor_finish = nullptr;
emit_log_hook_type previous_emit_log = nullptr;
shmem_request_hook_type previous_shmem_request = nullptr;
shmem_startup_hook_type previous_shmem_startup = nullptr;

void process_utility(PlannedStmt *statement, const char *query_string, bool read_only_tree,
                     ProcessUtilityContext context, ParamListInfo params, QueryEnvironment *query_env,
                     DestReceiver *dest, QueryCompletion *completion) {
    for (int i = 0; i < utility_check_count; i++) utility_checks[i](statement);
    enter_utility_statement();
    PG_TRY();
    {
        if (previous_process_utility)
            previous_process_utility(statement, query_string, read_only_tree, context, params, query_env, dest,
                                     completion);
        else
            standard_ProcessUtility(statement, query_string, read_only_tree, context, params, query_env, dest,
                                    completion);
    }
    PG_FINALLY();
    {
        leave_utility_statement();
    }
    PG_END_TRY();
}

void start_executor(QueryDesc *query, int eflags) {
    for (int i = 0; i < executor_start_check_count; i++) executor_start_checks[i](query, eflags);
    if (previous_executor_start)
        previous_executor_start(query, eflags);
    else
        standard_ExecutorStart(query, eflags);
}

void run_executor(LG_EXECUTOR_RUN_PARAMS) {
    enter_executor();
    PG_TRY();
    {
        if (previous_executor_run)
            previous_executor_run(LG_EXECUTOR_RUN_ARGS);
        else
            standard_ExecutorRun(LG_EXECUTOR_RUN_ARGS);
    }
    PG_FINALLY();
    {
        leave_executor();
    }
    PG_END_TRY();
}

void finish_executor(QueryDesc *query) {
    enter_executor();
    PG_TRY();
    {
        if (previous_executor_finish)
            previous_executor_finish(query);
        else
            standard_ExecutorFinish(query);
    }
    PG_FINALLY();
    {
        leave_executor();
    }
    PG_END_TRY();
}

// Runs for every message of every backend.
void emit_log(ErrorData *error) {
    if (previous_emit_log) previous_emit_log(error);
    for (int i = 0; i < log_observer_count; i++) log_observers[i](error);
}

void request_shmem() {
    if (previous_shmem_request) previous_shmem_request();
    request_shmem_parts();
}

void startup_shmem() {
    if (previous_shmem_startup) previous_shmem_startup();
    attach_shmem_parts();
}

// Registration runs in _PG_init: a full table is a programming error, refused in every build
// (an Assert would let a production build write past the array).
template <typename Handler>
void add_handler(Handler *handlers, int *count, Handler handler, const char *kind) {
    if (*count >= kMaxHandlers) elog(ERROR, "lockguard registers more than %d handlers of kind %s", kMaxHandlers, kind);
    handlers[(*count)++] = handler;
}

}  // namespace

void add_utility_check(UtilityCheck check) {
    add_handler(utility_checks, &utility_check_count, check, "utility check");
}

void add_executor_start_check(ExecutorStartCheck check) {
    add_handler(executor_start_checks, &executor_start_check_count, check, "executor-start check");
}

void add_log_observer(LogObserver observer) {
    add_handler(log_observers, &log_observer_count, observer, "log observer");
}

void install_hooks() {
    previous_shmem_request = shmem_request_hook;
    shmem_request_hook = request_shmem;
    previous_shmem_startup = shmem_startup_hook;
    shmem_startup_hook = startup_shmem;
    previous_process_utility = ProcessUtility_hook;
    ProcessUtility_hook = process_utility;
    previous_executor_start = ExecutorStart_hook;
    ExecutorStart_hook = start_executor;
    previous_executor_run = ExecutorRun_hook;
    ExecutorRun_hook = run_executor;
    previous_executor_finish = ExecutorFinish_hook;
    ExecutorFinish_hook = finish_executor;
    previous_emit_log = emit_log_hook;
    emit_log_hook = emit_log;
}

}  // namespace lockguard::pg
