// The acquire wing's SQL functions: one resource of each scope, request constructors, several
// resources at once in one canonical order, the try-lock forms of each, and lockguard_run (its
// work is in retry_envelope.cpp). Every fmgr entry point of the wing is here. Every call makes
// its one deadline here, at the SQL entry, and passes it to every step.
#include "pg/acquire/sql_functions.hpp"
#include "pg/infra/boundary.hpp"
#include "pg/acquire/multi_acquire.hpp"
#include "pg/acquire/scoped_lock.hpp"
#include "pg/infra/shmem.hpp"
#include "pg/state/sql_arguments.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/resowner.h"

PGDLLEXPORT Datum lockguard_acquire_named(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_acquire_row(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_acquire_table(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_acquire_all(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_row_request(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_named_request(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_table_request(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_check_preloaded(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_try_acquire_named(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_try_acquire_row(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_try_acquire_table(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_try_acquire_all(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(lockguard_acquire_named);
PG_FUNCTION_INFO_V1(lockguard_acquire_row);
PG_FUNCTION_INFO_V1(lockguard_acquire_table);
PG_FUNCTION_INFO_V1(lockguard_acquire_all);
PG_FUNCTION_INFO_V1(lockguard_row_request);
PG_FUNCTION_INFO_V1(lockguard_named_request);
PG_FUNCTION_INFO_V1(lockguard_table_request);
PG_FUNCTION_INFO_V1(lockguard_check_preloaded);
PG_FUNCTION_INFO_V1(lockguard_try_acquire_named);
PG_FUNCTION_INFO_V1(lockguard_try_acquire_row);
PG_FUNCTION_INFO_V1(lockguard_try_acquire_table);
PG_FUNCTION_INFO_V1(lockguard_try_acquire_all);
PGDLLEXPORT Datum lockguard_run(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(lockguard_run);
}

using namespace lockguard;
using namespace lockguard::pg;

namespace {

Oid relation_argument(FunctionCallInfo fcinfo, int argno) {
    if (PG_ARGISNULL(argno))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("relation must not be null")));
    return PG_GETARG_OID(argno);
}


// One acquisition of any scope, described by its SQL arguments; run directly or as a try.
struct Acquisition {
    FunctionCallInfo fcinfo;
    LockScope scope;
    bool multi;
    int timeout_argno;
    bool found;  // row scope: the row exists (multi: every row)
};

void acquire(void *arg) {
    auto *call = static_cast<Acquisition *>(arg);
    FunctionCallInfo fcinfo = call->fcinfo;
    Deadline deadline = deadline_from_now(timeout_argument(fcinfo, call->timeout_argno));
    call->found = true;
    if (call->multi) {
        if (PG_ARGISNULL(0))
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("the set of lock requests must not be null")));
        MultiResult result = acquire_request_array(PG_GETARG_ARRAYTYPE_P(0), priority_argument(fcinfo, 2), &deadline);
        call->found = result.rows_missing == 0;
        return;
    }
    ScopedRequest request;
    switch (call->scope) {
        case LockScope::Named: {
            std::string_view name = resource_name_argument(fcinfo, 0);
            resolve_named(&request, name, text_argument_or(fcinfo, 3, "exclusive"), priority_argument(fcinfo, 2),
                          &deadline);
            break;
        }
        case LockScope::Row: {
            Oid relation = relation_argument(fcinfo, 0);
            RowKeyInput key = row_key_argument(fcinfo, 1);
            resolve_row(&request, relation, &key, text_argument_or(fcinfo, 2, "FOR UPDATE"),
                        priority_argument(fcinfo, 4), &deadline);
            break;
        }
        case LockScope::Table:
            resolve_table(&request, relation_argument(fcinfo, 0), text_argument_or(fcinfo, 1, "ACCESS EXCLUSIVE"),
                          priority_argument(fcinfo, 3), &deadline);
            break;
    }
    call->found = acquire_scoped(&request);
}

// The try-lock: the acquisition in an internal subtransaction (as a PL/pgSQL exception block
// runs it). Busy (lockguard's 55P03) or missing (a row that does not exist): the subtransaction
// is rolled back, so nothing is left held, published or counted against the tenant. Any other
// error (deadlock, cancel, statement_timeout, bad input) is raised as it is.
Datum try_acquire(Acquisition *call) {
    MemoryContext outer_context = CurrentMemoryContext;
    ResourceOwner outer_owner = CurrentResourceOwner;
    BeginInternalSubTransaction(nullptr);
    MemoryContextSwitchTo(outer_context);
    ErrorData *error = run_catching_error(acquire, call);
    if (error == nullptr && call->found)
        ReleaseCurrentSubTransaction();
    else
        RollbackAndReleaseCurrentSubTransaction();
    MemoryContextSwitchTo(outer_context);
    CurrentResourceOwner = outer_owner;
    if (error != nullptr) {
        if (error->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE) ReThrowError(error);
        FreeErrorData(error);
        return CStringGetTextDatum("busy");
    }
    return CStringGetTextDatum(call->found ? "acquired" : "missing");
}

}  // namespace

// lockguard_acquire(resource, timeout_ms, priority, mode) RETURNS void
Datum lockguard_acquire_named(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        require_transaction_block("lockguard_acquire");
        Acquisition call{fcinfo, LockScope::Named, false, 1, true};
        acquire(&call);
        PG_RETURN_VOID();
    });
}

// lockguard_acquire_row(relation, key "any" | text | text[], mode, timeout_ms, priority)
// RETURNS boolean (row found)
Datum lockguard_acquire_row(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        require_transaction_block("lockguard_acquire_row");
        Acquisition call{fcinfo, LockScope::Row, false, 3, true};
        acquire(&call);
        PG_RETURN_BOOL(call.found);
    });
}

// lockguard_acquire_table(relation, mode, timeout_ms, priority) RETURNS void
Datum lockguard_acquire_table(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        require_transaction_block("lockguard_acquire_table");
        Acquisition call{fcinfo, LockScope::Table, false, 2, true};
        acquire(&call);
        PG_RETURN_VOID();
    });
}

// lockguard.row_lock(relation, key "any" | text | text[], mode) RETURNS lockguard.lock_request:
// the key as text values.
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
        Deadline deadline = deadline_from_now(timeout_argument(fcinfo, 1));
        if (PG_ARGISNULL(0))
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("the set of lock requests must not be null")));
        MultiResult result = acquire_request_array(PG_GETARG_ARRAYTYPE_P(0), priority_argument(fcinfo, 2), &deadline);
        TupleDesc tupdesc;
        if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("return type must be a row type")));
        Datum values[2] = {Int32GetDatum(result.locks), Int32GetDatum(result.rows_missing)};
        bool nulls[2] = {};
        return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls));
    });
}

// The try-lock forms (1.2): the same arguments, timeout_ms defaulting to 0 (do not wait), and a
// text result: 'acquired', 'busy' (not obtained within timeout_ms; nothing held) or 'missing'
// (a row that does not exist; nothing held).
Datum lockguard_try_acquire_named(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        require_transaction_block("lockguard_try_acquire");
        Acquisition call{fcinfo, LockScope::Named, false, 1, true};
        return try_acquire(&call);
    });
}

Datum lockguard_try_acquire_row(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        require_transaction_block("lockguard_try_acquire_row");
        Acquisition call{fcinfo, LockScope::Row, false, 3, true};
        return try_acquire(&call);
    });
}

Datum lockguard_try_acquire_table(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        require_transaction_block("lockguard_try_acquire_table");
        Acquisition call{fcinfo, LockScope::Table, false, 2, true};
        return try_acquire(&call);
    });
}

Datum lockguard_try_acquire_all(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        require_transaction_block("lockguard_try_acquire_all");
        Acquisition call{fcinfo, LockScope::Named, true, 1, true};
        return try_acquire(&call);
    });
}

Datum lockguard_check_preloaded(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        PG_RETURN_VOID();
    });
}

// retry_envelope.cpp: retries in subtransactions
Datum lockguard_run(PG_FUNCTION_ARGS) { return lockguard::pg::sql_run(fcinfo); }
