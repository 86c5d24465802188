// SQL entry points of the acquire API: one resource of each scope, request constructors, and
// several resources at once in one canonical order.
#include "pg/boundary.hpp"
#include "pg/multi_acquire.hpp"
#include "pg/scoped_lock.hpp"
#include "pg/shmem.hpp"
#include "pg/sql_arguments.hpp"

extern "C" {
#include "funcapi.h"
#include "utils/builtins.h"

PGDLLEXPORT Datum lockguard_acquire_named(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_acquire_row(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_acquire_table(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_acquire_all(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_row_request(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_named_request(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_table_request(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_check_preloaded(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(lockguard_acquire_named);
PG_FUNCTION_INFO_V1(lockguard_acquire_row);
PG_FUNCTION_INFO_V1(lockguard_acquire_table);
PG_FUNCTION_INFO_V1(lockguard_acquire_all);
PG_FUNCTION_INFO_V1(lockguard_row_request);
PG_FUNCTION_INFO_V1(lockguard_named_request);
PG_FUNCTION_INFO_V1(lockguard_table_request);
PG_FUNCTION_INFO_V1(lockguard_check_preloaded);
}

using namespace lockguard;
using namespace lockguard::pg;

namespace {

Oid relation_argument(FunctionCallInfo fcinfo, int argno) {
    if (PG_ARGISNULL(argno))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("relation must not be null")));
    return PG_GETARG_OID(argno);
}

}  // namespace

// lockguard_acquire(resource, timeout_ms, priority, mode) RETURNS void
Datum lockguard_acquire_named(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        require_transaction_block("lockguard_acquire");
        TimestampTz started = GetCurrentTimestamp();
        std::string_view name = resource_name_argument(fcinfo, 0);
        int timeout_ms = timeout_argument(fcinfo, 1);
        int32 priority = priority_argument(fcinfo, 2);
        ScopedRequest request;
        resolve_named(&request, name, text_argument_or(fcinfo, 3, "exclusive"), priority);
        (void) acquire_scoped(&request, timeout_ms, started);
        PG_RETURN_VOID();
    });
}

// lockguard_acquire_row(relation, key, mode, timeout_ms, priority) RETURNS boolean (row found)
Datum lockguard_acquire_row(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        require_transaction_block("lockguard_acquire_row");
        TimestampTz started = GetCurrentTimestamp();
        Oid relation = relation_argument(fcinfo, 0);
        const char *key_texts[kMaxKeyColumns];
        int key_count = key_texts_from_any(fcinfo, 1, key_texts, kMaxKeyColumns);
        const char *mode = text_argument_or(fcinfo, 2, "FOR UPDATE");
        int timeout_ms = timeout_argument(fcinfo, 3);
        int32 priority = priority_argument(fcinfo, 4);
        ScopedRequest request;
        resolve_row(&request, relation, key_texts, key_count, mode, priority, timeout_ms, started);
        PG_RETURN_BOOL(acquire_scoped(&request, timeout_ms, started));
    });
}

// lockguard_acquire_table(relation, mode, timeout_ms, priority) RETURNS void
Datum lockguard_acquire_table(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        require_transaction_block("lockguard_acquire_table");
        TimestampTz started = GetCurrentTimestamp();
        Oid relation = relation_argument(fcinfo, 0);
        const char *mode = text_argument_or(fcinfo, 1, "ACCESS EXCLUSIVE");
        int timeout_ms = timeout_argument(fcinfo, 2);
        int32 priority = priority_argument(fcinfo, 3);
        ScopedRequest request;
        resolve_table(&request, relation, mode, priority);
        (void) acquire_scoped(&request, timeout_ms, started);
        PG_RETURN_VOID();
    });
}

// lockguard.row_lock(relation, key, mode) RETURNS lockguard.lock_request: the key as text values.
Datum lockguard_row_request(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum { return build_row_request(fcinfo); });
}

// lockguard.named_lock(resource, mode) and lockguard.table_lock(relation, mode) (C since 1.2).
Datum lockguard_named_request(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum { return build_named_request(fcinfo); });
}

Datum lockguard_table_request(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum { return build_table_request(fcinfo); });
}

// lockguard_acquire_all(requests, timeout_ms, priority) RETURNS record (locks, rows_missing)
Datum lockguard_acquire_all(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        require_transaction_block("lockguard_acquire_all");
        TimestampTz started = GetCurrentTimestamp();
        if (PG_ARGISNULL(0))
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("the set of lock requests must not be null")));
        int timeout_ms = timeout_argument(fcinfo, 1);
        int32 priority = priority_argument(fcinfo, 2);
        MultiResult result = acquire_request_array(PG_GETARG_ARRAYTYPE_P(0), timeout_ms, priority, started);
        TupleDesc tupdesc;
        if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("return type must be a row type")));
        Datum values[2] = {Int32GetDatum(result.locks), Int32GetDatum(result.rows_missing)};
        bool nulls[2] = {};
        return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls));
    });
}

Datum lockguard_check_preloaded(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        PG_RETURN_VOID();
    });
}
