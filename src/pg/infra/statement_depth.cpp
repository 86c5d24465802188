#include "pg/infra/statement_depth.hpp"

#include "pg/infra/pg_prelude.hpp"

extern "C" {
#include "executor/executor.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
}

namespace lockguard::pg {

namespace {

int executor_depth = 0;
int utility_depth = 0;
ExecutorRun_hook_type previous_executor_run = nullptr;
ExecutorFinish_hook_type previous_executor_finish = nullptr;
ProcessUtility_hook_type previous_process_utility = nullptr;

// These hooks hold no C++ objects: PostgreSQL errors pass through them as usual.
void run_executor(QueryDesc *query, ScanDirection direction, uint64 count, bool execute_once) {
    executor_depth++;
    PG_TRY();
    {
        if (previous_executor_run)
            previous_executor_run(query, direction, count, execute_once);
        else
            standard_ExecutorRun(query, direction, count, execute_once);
    }
    PG_FINALLY();
    {
        executor_depth--;
    }
    PG_END_TRY();
}

void finish_executor(QueryDesc *query) {
    executor_depth++;
    PG_TRY();
    {
        if (previous_executor_finish)
            previous_executor_finish(query);
        else
            standard_ExecutorFinish(query);
    }
    PG_FINALLY();
    {
        executor_depth--;
    }
    PG_END_TRY();
}

void process_utility(PlannedStmt *statement, const char *query_string, bool read_only_tree,
                     ProcessUtilityContext context, ParamListInfo params, QueryEnvironment *query_env,
                     DestReceiver *dest, QueryCompletion *completion) {
    utility_depth++;
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
        utility_depth--;
    }
    PG_END_TRY();
}

}  // namespace

void install_statement_depth_hooks() {
    previous_executor_run = ExecutorRun_hook;
    ExecutorRun_hook = run_executor;
    previous_executor_finish = ExecutorFinish_hook;
    ExecutorFinish_hook = finish_executor;
    previous_process_utility = ProcessUtility_hook;
    ProcessUtility_hook = process_utility;
}

bool called_by_client_statement(const char *function_name) {
    if (executor_depth > 1 || utility_depth > 0) return false;  // inside a function, DO or CALL
    return debug_query_string != nullptr && strcasestr(debug_query_string, function_name) != nullptr;
}

}  // namespace lockguard::pg
