#include "pg/acquire/multi_acquire.hpp"

#include "pg/infra/settings.hpp"
#include "pg/state/sql_arguments.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"
}

namespace lockguard::pg {

namespace {

// Field positions of lockguard.lock_request (scope, relation, resource, key, mode).
enum RequestField { kScope = 0, kRelation, kResource, kKey, kMode, kRequestFields };

int space_rank(LockSpace space) {
    switch (space) {
        case LockSpace::TableGate: return 0;
        case LockSpace::Row: return 1;
        case LockSpace::Named: return 2;
    }
    return 3;
}

int canonical_order(const void *a, const void *b) {
    const LockRef &x = static_cast<const ScopedRequest *>(a)->gate.lock.ref;
    const LockRef &y = static_cast<const ScopedRequest *>(b)->gate.lock.ref;
    if (space_rank(x.space) != space_rank(y.space)) return space_rank(x.space) < space_rank(y.space) ? -1 : 1;
    if (x.database != y.database) return x.database < y.database ? -1 : 1;
    if (x.key_high != y.key_high) return x.key_high < y.key_high ? -1 : 1;
    if (x.key_low != y.key_low) return x.key_low < y.key_low ? -1 : 1;
    return 0;
}

// Keeps in `into` the strongest mode of the two requests for the same resource.
void merge_modes(ScopedRequest *into, const ScopedRequest *other) {
    switch (into->gate.lock.scope) {
        case LockScope::Named: {
            NamedLockMode mode = stronger_named_mode(parse_named_lock_mode(into->gate.lock.mode_name),
                                                     parse_named_lock_mode(other->gate.lock.mode_name));
            set_named_mode(into, mode);
            break;
        }
        case LockScope::Row:
            set_row_strength(into, stronger_row_strength(into->strength, other->strength));
            break;
        case LockScope::Table:
            set_table_mode(into, stronger_table_mode(into->table_mode, other->table_mode));
            break;
    }
}

const char *text_field(Datum *values, const bool *nulls, int field) {
    return nulls[field] ? nullptr : TextDatumGetCString(values[field]);
}

void resolve_element(ScopedRequest *request, Datum *values, bool *nulls, int index, int32 priority,
                     const Deadline *deadline) {
    const char *scope = text_field(values, nulls, kScope);
    const char *mode = text_field(values, nulls, kMode);
    if (scope == nullptr)
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("lock request %d has no scope", index + 1),
                        errhint("Build requests with lockguard.named_lock(), lockguard.row_lock() or "
                                "lockguard.table_lock().")));
    if (strcmp(scope, "named") == 0) {
        const char *resource = text_field(values, nulls, kResource);
        if (resource == nullptr || resource[0] == '\0')
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("lock request %d names no resource", index + 1)));
        check_resource_name_length(strlen(resource));
        resolve_named(request, resource, mode != nullptr ? mode : "exclusive", priority, deadline);
        return;
    }
    bool is_row = strcmp(scope, "row") == 0;
    if (!is_row && strcmp(scope, "table") != 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("invalid scope \"%s\" in lock request %d", scope, index + 1),
                        errhint("Valid scopes are: named, row, table.")));
    if (nulls[kRelation])
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                        errmsg("lock request %d (%s scope) names no relation", index + 1, scope)));
    Oid relation = DatumGetObjectId(values[kRelation]);
    if (!is_row) {
        resolve_table(request, relation, mode != nullptr ? mode : "ACCESS EXCLUSIVE", priority, deadline);
        return;
    }
    if (nulls[kKey])
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("lock request %d has no row key", index + 1)));
    Datum *key_datums;
    bool *key_nulls;
    int key_count;
    deconstruct_array(DatumGetArrayTypeP(values[kKey]), TEXTOID, -1, false, TYPALIGN_INT, &key_datums, &key_nulls,
                      &key_count);
    if (key_count > kMaxKeyColumns)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("row key has too many values")));
    RowKeyInput key{};
    key.count = key_count;
    for (int k = 0; k < key_count; k++) {
        if (key_nulls[k])
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("row key must not contain nulls")));
        key.texts[k] = TextDatumGetCString(key_datums[k]);
    }
    resolve_row(request, relation, &key, mode != nullptr ? mode : "FOR UPDATE", priority, deadline);
}

}  // namespace

int resolve_request_array(ArrayType *requests, int32 priority, const Deadline *deadline, ScopedRequest **out) {
    Oid element_type = ARR_ELEMTYPE(requests);
    int16 element_length;
    bool element_byval;
    char element_align;
    get_typlenbyvalalign(element_type, &element_length, &element_byval, &element_align);
    Datum *elements;
    bool *element_nulls;
    int count;
    deconstruct_array(requests, element_type, element_length, element_byval, element_align, &elements,
                      &element_nulls, &count);
    if (count == 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("the set of lock requests is empty"),
                        errhint("Pass at least one request, for example ARRAY[lockguard.named_lock('a')].")));
    if (count > settings.max_locks_per_backend)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("too many lock requests in one call: %d", count),
                        errdetail("One backend tracks at most %d lockguard locks.", settings.max_locks_per_backend),
                        errhint("Increase lockguard.max_locks_per_backend (needs a restart).")));

    auto *resolved = static_cast<ScopedRequest *>(palloc(sizeof(ScopedRequest) * count));
    TupleDesc desc = nullptr;
    for (int i = 0; i < count; i++) {
        if (element_nulls[i])
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("lock request %d is null", i + 1)));
        HeapTupleHeader row = DatumGetHeapTupleHeader(elements[i]);
        if (desc == nullptr) desc = lookup_rowtype_tupdesc_copy(HeapTupleHeaderGetTypeId(row), HeapTupleHeaderGetTypMod(row));
        if (desc->natts != kRequestFields)
            ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH), errmsg("lock requests must be lockguard.lock_request values")));
        HeapTupleData tuple;
        tuple.t_len = HeapTupleHeaderGetDatumLength(row);
        ItemPointerSetInvalid(&tuple.t_self);
        tuple.t_tableOid = InvalidOid;
        tuple.t_data = row;
        Datum values[kRequestFields];
        bool nulls[kRequestFields];
        heap_deform_tuple(&tuple, desc, values, nulls);
        resolve_element(&resolved[i], values, nulls, i, priority, deadline);
    }

    qsort(resolved, count, sizeof(ScopedRequest), canonical_order);
    int distinct = 0;
    for (int i = 0; i < count; i++) {
        if (distinct > 0 && resolved[distinct - 1].gate.lock.ref.same_tag(resolved[i].gate.lock.ref))
            merge_modes(&resolved[distinct - 1], &resolved[i]);
        else if (distinct != i)
            resolved[distinct++] = resolved[i];
        else
            distinct++;
    }
    *out = resolved;
    return distinct;
}

MultiResult acquire_request_array(ArrayType *requests, int32 priority, const Deadline *deadline) {
    ScopedRequest *resolved;
    int count = resolve_request_array(requests, priority, deadline, &resolved);
    MultiResult result{count, 0};
    for (int i = 0; i < count; i++)
        if (!acquire_scoped(&resolved[i])) result.rows_missing++;
    pfree(resolved);
    return result;
}

Datum make_request_datum(FunctionCallInfo fcinfo, const char *scope, Oid relation, const char *resource,
                         const char *const *key_texts, int key_count, const char *mode) {
    TupleDesc tupdesc;
    if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("return type must be a row type")));
    Datum values[kRequestFields];
    bool nulls[kRequestFields] = {};
    values[kScope] = CStringGetTextDatum(scope);
    values[kRelation] = ObjectIdGetDatum(relation);
    nulls[kRelation] = !OidIsValid(relation);
    values[kResource] = resource != nullptr ? CStringGetTextDatum(resource) : static_cast<Datum>(0);
    nulls[kResource] = resource == nullptr;
    if (key_count > 0) {
        Datum keys[kMaxKeyColumns];
        for (int i = 0; i < key_count; i++) keys[i] = CStringGetTextDatum(key_texts[i]);
        values[kKey] = PointerGetDatum(construct_array(keys, key_count, TEXTOID, -1, false, TYPALIGN_INT));
    } else {
        nulls[kKey] = true;
    }
    values[kMode] = CStringGetTextDatum(mode);
    return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls));
}

namespace {

Oid builder_relation(FunctionCallInfo fcinfo, int argno, const char *scope) {
    if (PG_ARGISNULL(argno))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("relation must not be null"),
                        errdetail("A %s lock request names the table it locks.", scope)));
    Oid relation = PG_GETARG_OID(argno);
    char relkind = get_rel_relkind(relation);
    if (relkind == '\0')
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", relation)));
    if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE), errmsg("\"%s\" is not a table", get_rel_name(relation)),
                        errdetail("%s locks are taken on ordinary and partitioned tables.",
                                  strcmp(scope, "row") == 0 ? "Row" : "Table")));
    return relation;
}

}  // namespace

Datum build_named_request(FunctionCallInfo fcinfo) {
    std::string_view name = resource_name_argument(fcinfo, 0);  // 22004, 22023, 42622
    const char *mode = text_argument_or(fcinfo, 1, "exclusive");
    (void) parse_named_lock_mode(mode);  // 22023 for an unknown mode
    char *resource = pnstrdup(name.data(), name.size());  // palloc'd: no C++ object under ereport
    return make_request_datum(fcinfo, "named", InvalidOid, resource, nullptr, 0, mode);
}

Datum build_row_request(FunctionCallInfo fcinfo) {
    Oid relation = builder_relation(fcinfo, 0, "row");
    RowKeyInput key = row_key_argument(fcinfo, 1);
    key_input_as_texts(&key);  // a request keeps its key as text values
    const char *mode = text_argument_or(fcinfo, 2, "FOR UPDATE");
    (void) parse_row_lock_strength(mode);
    return make_request_datum(fcinfo, "row", relation, nullptr, key.texts, key.count, mode);
}

Datum build_table_request(FunctionCallInfo fcinfo) {
    Oid relation = builder_relation(fcinfo, 0, "table");
    const char *mode = text_argument_or(fcinfo, 1, "ACCESS EXCLUSIVE");
    (void) parse_table_lock_mode(mode);
    return make_request_datum(fcinfo, "table", relation, nullptr, nullptr, 0, mode);
}

}  // namespace lockguard::pg
