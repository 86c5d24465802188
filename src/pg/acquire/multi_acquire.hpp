// Several resources in one call, taken in one canonical order (tables, then rows, then named
// resources; by key within each), so that transactions using it cannot deadlock with each
// other. Duplicates collapse into one request in the strongest mode either asked for.
#pragma once

#include "pg/acquire/scoped_lock.hpp"

extern "C" {
#include "utils/array.h"
}

namespace lockguard::pg {

struct MultiResult {
    int locks;         // distinct resources locked
    int rows_missing;  // row requests whose row does not exist
};

// Takes every request within the one deadline (made at the SQL entry; it must outlive the call).
MultiResult acquire_request_array(ArrayType *requests, int32 priority, const Deadline *deadline);

// Resolves every element of a lockguard.lock_request[] (raising on bad input), collapses
// duplicates and sorts them into the canonical order. Returns the count; *out is palloc'd.
int resolve_request_array(ArrayType *requests, int32 priority, const Deadline *deadline, ScopedRequest **out);

// The request builders lockguard.named_lock(resource, mode), lockguard.row_lock(relation, key,
// mode) and lockguard.table_lock(relation, mode): bad input (a NULL or empty resource, a NULL
// relation or key, a relation that is not a table, an unknown mode) is rejected here, where it
// is given, with the SQLSTATE the acquire functions give for it. A NULL mode is the default.
Datum build_named_request(FunctionCallInfo fcinfo);
Datum build_row_request(FunctionCallInfo fcinfo);
Datum build_table_request(FunctionCallInfo fcinfo);

// Builds a lockguard.lock_request value (the function's declared result type).
Datum make_request_datum(FunctionCallInfo fcinfo, const char *scope, Oid relation, const char *resource,
                         const char *const *key_texts, int key_count, const char *mode);

}  // namespace lockguard::pg
