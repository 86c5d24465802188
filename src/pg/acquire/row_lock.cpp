// Row scope: lock one row by primary key with the semantics of SELECT ... FOR UPDATE (an
// ordinary table's tuple is locked as the executor's LockRows node locks it, row_tuple_lock.cpp;
// other tables run that query), so it conflicts with UPDATE/DELETE, follows the row's newest
// version under READ COMMITTED and reports whether the row exists, behind a lockguard gate per
// row so that contended waiters queue once, in priority order, instead of all waking on every
// commit.
#include "core/resource_key.hpp"
#include "pg/infra/boundary.hpp"
#include "pg/infra/compat.hpp"
#include "pg/infra/clip.hpp"
#include "pg/infra/resource_names.hpp"
#include "pg/acquire/row_table_cache.hpp"
#include "pg/acquire/row_tuple_lock.hpp"
#include "pg/acquire/scoped_lock.hpp"
#include "pg/tenants/tenants.hpp"
#include "pg/observe/wait_events.hpp"

extern "C" {
#include "access/relation.h"
#include "access/stratnum.h"
#include "catalog/namespace.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "catalog/pg_class.h"
#include "catalog/pg_operator.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
}

namespace lockguard::pg {

namespace {

// The heavyweight mode of a row's gate: PostgreSQL's own mapping of row-lock strengths
// (heapam.c), so gate conflicts are exactly row-lock conflicts.
LOCKMODE gate_mode(RowLockStrength strength) {
    switch (strength) {
        case RowLockStrength::KeyShare: return AccessShareLock;
        case RowLockStrength::Share: return RowShareLock;
        case RowLockStrength::NoKeyUpdate: return ExclusiveLock;
        case RowLockStrength::Update: return AccessExclusiveLock;
    }
    return AccessExclusiveLock;
}

// The forms of the row query: try without waiting, fail if taken, wait; a plain read that
// locks nothing (is the row there at all?); and a read of where the row is (tableoid, ctid), to
// find who holds its lock when a wait for it timed out.
enum class RowQueryForm { SkipLocked = 0, NoWait = 1, Wait = 2, Read = 3, Locate = 4 };

struct CachedRowPlan {
    Oid relation;
    RowLockStrength strength;
    RowQueryForm form;
    SPIPlanPtr plan;
};

constexpr int kRowPlanCacheSize = 32;
CachedRowPlan row_plans[kRowPlanCacheSize];
int row_plan_count = 0;

// "SELECT 1 FROM [ONLY] s.t WHERE k1 = $1 AND k2 = $2 [FOR UPDATE [NOWAIT|SKIP LOCKED]]", built from
// catalog names (quoted), never from caller text. Plans are kept: PostgreSQL revalidates them
// after DDL. Must be called inside SPI_connect.
SPIPlanPtr row_plan(const ScopedRequest *request, RowQueryForm form) {
    for (int i = 0; i < row_plan_count; i++)
        if (row_plans[i].relation == request->relation && row_plans[i].strength == request->strength &&
            row_plans[i].form == form)
            return row_plans[i].plan;

    Relation rel = relation_open(request->relation, NoLock);  // the caller holds AccessShareLock
    Oid pk_index = primary_key_index(rel);
    Relation index = relation_open(pk_index, AccessShareLock);
    StringInfoData query;
    initStringInfo(&query);
    appendStringInfo(&query, "SELECT %s FROM %s%s WHERE ", form == RowQueryForm::Locate ? "tableoid, ctid" : "1",
                     rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE ? "" : "ONLY ",
                     quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
                                                RelationGetRelationName(rel)));
    for (int i = 0; i < request->key_count; i++) {
        AttrNumber attnum = index->rd_index->indkey.values[i];
        const char *column = NameStr(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attname);
        // The key's own equality operator, named with its schema, as foreign-key checks do: the
        // caller's search_path must not pick another "=" for this cached plan.
        Oid operand_type = index->rd_opcintype[i];
        Oid equality = get_opfamily_member(index->rd_opfamily[i], operand_type, operand_type, BTEqualStrategyNumber);
        HeapTuple operator_tuple = SearchSysCache1(OPEROID, ObjectIdGetDatum(equality));
        if (!HeapTupleIsValid(operator_tuple))
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_FUNCTION),
                            errmsg("no equality operator for column \"%s\" of the primary key of \"%s\"", column,
                                   RelationGetRelationName(rel))));
        auto *form = reinterpret_cast<Form_pg_operator>(GETSTRUCT(operator_tuple));
        const char *cast = "";
        if (request->key_types[i] != operand_type) cast = psprintf("::%s", format_type_be_qualified(operand_type));
        appendStringInfo(&query, "%s%s%s OPERATOR(%s.%s) $%d%s", i > 0 ? " AND " : "", quote_identifier(column), cast,
                         quote_identifier(get_namespace_name(form->oprnamespace)), NameStr(form->oprname), i + 1, cast);
        ReleaseSysCache(operator_tuple);
    }
    if (form != RowQueryForm::Read && form != RowQueryForm::Locate)
        appendStringInfo(&query, " %s%s", row_lock_strength_name(request->strength),
                         form == RowQueryForm::SkipLocked ? " SKIP LOCKED" : form == RowQueryForm::NoWait ? " NOWAIT" : "");
    relation_close(index, AccessShareLock);
    relation_close(rel, NoLock);

    SPIPlanPtr plan = SPI_prepare(query.data, request->key_count, const_cast<Oid *>(request->key_types));
    if (plan == nullptr)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not prepare the row-lock query"),
                        errdetail("SPI_prepare failed: %s", SPI_result_code_string(SPI_result))));
    SPI_keepplan(plan);
    if (row_plan_count == kRowPlanCacheSize) {  // forget the oldest
        SPI_freeplan(row_plans[0].plan);
        memmove(&row_plans[0], &row_plans[1], sizeof(CachedRowPlan) * (kRowPlanCacheSize - 1));
        row_plan_count--;
    }
    row_plans[row_plan_count++] = CachedRowPlan{request->relation, request->strength, form, plan};
    pfree(query.data);
    return plan;
}

struct RowQuery {
    SPIPlanPtr plan;
    const Datum *values;
    uint64 rows;
};

void run_row_query(void *arg) {
    auto *query = static_cast<RowQuery *>(arg);
    int rc = SPI_execute_plan(query->plan, const_cast<Datum *>(query->values), nullptr, false, 1);
    if (rc != SPI_OK_SELECT)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("row-lock query failed"),
                        errdetail("SPI_execute_plan returned %s.", SPI_result_code_string(rc))));
    query->rows = SPI_processed;
}

// Takes `mode` on the relation and then on each of its indexes, one lock at a time (the index
// list read once the relation is locked). With a request, a lock that is not granted at once is
// waited for within the request's deadline; without one (request == nullptr), the walk stops at
// the first such lock and leaves the ones taken so far held. Returns whether every lock was
// granted at once.
bool lock_with_indexes(const LockRequest *request, Oid relation, LOCKMODE mode) {
    bool at_once = true;
    auto take = [&](Oid oid) {
        if (ConditionalLockRelationOid(oid, mode)) return true;
        at_once = false;
        if (request == nullptr) return false;
        lock_relation_within(*request, oid, mode);
        return true;
    };
    if (!take(relation)) return false;
    Relation rel = relation_open(relation, NoLock);
    List *indexes = RelationGetIndexList(rel);
    relation_close(rel, NoLock);
    ListCell *cell;
    foreach (cell, indexes) {
        if (!take(lfirst_oid(cell))) return false;
    }
    return at_once;
}

// Takes the ROW SHARE lock a locking SELECT holds on the table and on its indexes, once, before
// the gate: a table in the middle of ALTER TABLE, an index being rebuilt, a LOCK TABLE ... IN
// EXCLUSIVE MODE or a conflicting request queued ahead is waited for like any lock, within the
// call's deadline, not forever, and the call never holds a row's gate while it waits for the
// row's table. Recorded under the table's name, which is looked up only when something has to
// wait (then the walk starts again from the table, with the request; the locks it took already
// are held, and taking them again waits for nothing). Returns whether it had to wait.
bool lock_table_for_row_locks(Oid relation, const Deadline *deadline) {
    if (lock_with_indexes(nullptr, relation, RowShareLock)) return false;
    LockRequest request{};
    request.deadline = deadline;
    request.lock.scope = LockScope::Row;
    request.lock.tenant_slot = kNoTenant;
    table_label(relation, request.lock.name, sizeof(request.lock.name));
    copy_clipped(request.lock.resource_class, sizeof(request.lock.resource_class), request.lock.name);
    (void) lock_with_indexes(&request, relation, RowShareLock);
    return true;
}

// The request's table entry, the one resolve_row looked up, looked up again only when it is no
// longer the table's: an invalidation processed since (a lock taken, a command-counter
// increment) forgets it, and a lookup of another table may reuse it (multi-acquire resolves
// every request before it locks any). Then the look-up builds it afresh, as it would have
// without the pointer. The table is locked (ROW SHARE since resolve_row).
const RowTableInfo *request_table(ScopedRequest *request) {
    if (request->table->relation != request->relation) request->table = row_table_info(request->relation);
    return request->table;
}

// The partitions or children the row query also opens, in the mode a locking SELECT opens them
// (ROW SHARE: each of them and every index of each, which the planner and the index scan lock),
// one at a time within the deadline; the table itself and its indexes were locked by
// resolve_row. Afterwards the query waits for nothing but the tuple and the transaction that
// holds it. Returns whether any of them had to wait, and sets *has_children (from the table's
// entry: has_subclass() as of the last invalidation).
bool lock_row_relations(ScopedRequest *request, bool *has_children) {
    *has_children = request_table(request)->has_subclass;
    if (!*has_children) return false;
    bool waited = false;
    List *relations = find_all_inheritors(request->relation, NoLock, nullptr);
    ListCell *cell;
    foreach (cell, relations) {
        Oid relation = lfirst_oid(cell);
        if (relation == request->relation) continue;  // locked by resolve_row
        if (!lock_with_indexes(&request->gate, relation, RowShareLock)) waited = true;
    }
    return waited;
}

// A 64-bit hash of one key value that equal values share: the type's extended hash function
// under the column's collation; for a type without one, its output text.
uint64 key_value_hash(const RowTableInfo *table, int column, Datum value, const char *output_text) {
    if (table->key_hash[column] == nullptr) return named_resource_key(output_text);
    return DatumGetUInt64(
        FunctionCall2Coll(table->key_hash[column], table->key_collations[column], value, UInt64GetDatum(0)));
}

void check_row_privileges(const RowTableInfo *table) {
    Oid relation = table->relation;
    const AttrNumber *key_columns = table->key_columns;
    int key_count = table->key_count;
    // What SELECT ... FOR UPDATE needs: read the key columns, and UPDATE on the table or a column.
    // Both on the table, the common case, is one look at its ACL.
    Oid user = GetUserId();
    constexpr AclMode kBoth = ACL_SELECT | ACL_UPDATE;
    if (pg_class_aclmask(relation, user, kBoth, ACLMASK_ALL) == kBoth) return;
    bool can_select = pg_class_aclcheck(relation, user, ACL_SELECT) == ACLCHECK_OK;
    if (!can_select) {
        can_select = true;
        for (int i = 0; i < key_count; i++)
            can_select = can_select && pg_attribute_aclcheck(relation, key_columns[i], user, ACL_SELECT) == ACLCHECK_OK;
    }
    bool can_update = pg_class_aclcheck(relation, user, ACL_UPDATE) == ACLCHECK_OK ||
                      pg_attribute_aclcheck_all(relation, user, ACL_UPDATE, ACLMASK_ANY) == ACLCHECK_OK;
    if (!can_select || !can_update)
        aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(table->relkind), table->relname);
}

}  // namespace

void set_row_strength(ScopedRequest *request, RowLockStrength strength) {
    request->strength = strength;
    request->gate.lock.ref.mode = gate_mode(strength);
    strlcpy(request->gate.lock.mode_name, row_lock_strength_name(strength), sizeof(request->gate.lock.mode_name));
}

void resolve_row(ScopedRequest *request, Oid relation, RowKeyInput *key, const char *mode, int32 priority,
                 const Deadline *deadline) {
    memset(request, 0, sizeof(*request));
    request->gate.deadline = deadline;
    request->strength = parse_row_lock_strength(mode);
    char relkind = get_rel_relkind(relation);
    if (relkind == '\0')
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", relation)));
    if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE), errmsg("\"%s\" is not a table", get_rel_name(relation)),
                        errdetail("Row locks are taken on rows of ordinary and partitioned tables.")));

    // A wait here happens before the gate, but it is the call's: acquire_scoped counts it.
    request->phase_waited = lock_table_for_row_locks(relation, deadline);
    const RowTableInfo *table = row_table_info(relation);
    request->table = table;  // for lock_row: one look-up per call
    const char *relname = table->relname;
    if (table->key_count == 0)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("table \"%s\" has no primary key", relname),
                        errdetail("lockguard names a row by its primary key."),
                        errhint("Add a primary key, or lock a named resource such as '%s:<id>' instead.", relname)));
    int columns = table->key_count;
    // A single value of the key column's own type, which has no type modifier to apply (as
    // varchar(10) or numeric(10,2) do on input), is the key as it is.
    bool as_given = key->typed_type != InvalidOid && columns == 1 && key->typed_type == table->key_types[0] &&
                    table->key_typmods[0] < 0;
    if (!as_given) key_input_as_texts(key);
    int key_count = as_given ? 1 : key->count;
    if (key_count != columns)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("the primary key of \"%s\" has %d column(s), but the key given has %d value(s)", relname,
                               columns, key_count),
                        columns > 1 ? errhint("Pass a composite key as a row value, for example ROW(1, 'a').")
                                    : errhint("Pass the key as a single value, for example 42.")));
    check_row_privileges(table);

    // The key in the columns' own types. The gate is keyed by the type's own hash of each value
    // (consistent with the key's equality, the same in every session whatever its DateStyle,
    // TimeZone or encoding); the output text only names the row for people.
    uint64 value_hashes[kMaxKeyColumns];
    std::string_view parts[kMaxKeyColumns];
    const char *canonical_texts[kMaxKeyColumns];
    for (int i = 0; i < columns; i++) {
        request->key_types[i] = table->key_types[i];
        // A varlena value as given may be toasted or have a short header: detoasted, as the
        // column type's input function would have made it.
        request->key_values[i] =
            as_given ? (table->key_typlens[i] == -1 ? PointerGetDatum(PG_DETOAST_DATUM(key->typed_value))
                                                    : key->typed_value)
                     : InputFunctionCall(const_cast<FmgrInfo *>(&table->key_input[i]), const_cast<char *>(key->texts[i]),
                                         table->key_ioparams[i], table->key_typmods[i]);
        char *canonical = OutputFunctionCall(const_cast<FmgrInfo *>(&table->key_output[i]), request->key_values[i]);
        value_hashes[i] = key_value_hash(table, i, request->key_values[i], canonical);
        parts[i] = std::string_view(reinterpret_cast<const char *>(&value_hashes[i]), sizeof(uint64));
        canonical_texts[i] = canonical;
    }
    StringInfoData display;
    initStringInfo(&display);
    appendStringInfoString(&display, table->table_name);  // cached: no catalog look-up per call
    append_row_key(&display, canonical_texts, columns);
    request->key_count = columns;
    request->relation = relation;

    uint64_t gate_key = row_key(relation, parts, columns);
    PublishedLock &lock = request->gate.lock;
    lock.ref = LockRef{MyDatabaseId, key_high(gate_key), key_low(gate_key), LockSpace::Row, NoLock};
    set_row_strength(request, request->strength);
    lock.scope = LockScope::Row;
    lock.priority = priority;
    copy_clipped(lock.name, sizeof(lock.name), display.data, display.len);
    strlcpy(lock.resource_class, table->resource_class, sizeof(lock.resource_class));
}

// Runs one row query under lockguard's lock_timeout: the time left, or 1 ms when none is (the
// NOWAIT and SKIP LOCKED forms do not wait for the row; the relations they open are held
// already, so this only bounds what nothing should wait for). Never the caller's lock_timeout.
ErrorData *run_row_query_bounded(const Deadline &deadline, RowQuery *query) {
    int budget = deadline.wait_budget_ms(now_us());
    return run_with_lock_timeout(budget > 0 ? budget : 1, run_row_query, query);
}

// The transactions holding a lock on the row's current version (describe_row_holders_at).
// Asked just before the wait (after an error the SPI state is not fit for another query), so it
// names who held the row when the wait began. Inside SPI.
char *describe_row_holders(ScopedRequest *request, const Deadline &deadline) {
    RowQuery query{row_plan(request, RowQueryForm::Locate), request->key_values, 0};
    int budget = deadline.wait_budget_ms(now_us());
    ErrorData *error = run_with_lock_timeout(budget > 0 ? budget : 1, run_row_query, &query);
    if (error != nullptr) raise_phase_error(request->gate, error, kRowHolder);
    if (query.rows == 0) return pstrdup(kRowHolder);
    bool isnull;
    Oid table = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    ItemPointerData tid = *reinterpret_cast<ItemPointer>(DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)));
    Relation rel = relation_open(table, NoLock);  // locked ROW SHARE by lock_row_relations
    char *who = describe_row_holders_at(rel, &tid);
    relation_close(rel, NoLock);
    return who;
}

// After the gate: lock the row itself. Returns whether it exists.
bool lock_row(ScopedRequest *request) {
    const Deadline &deadline = *request->gate.deadline;
    bool has_children;
    if (lock_row_relations(request, &has_children)) request->phase_waited = true;
    const RowTableInfo *table = request_table(request);  // after the locks, which may have invalidated it
    if (row_tuple_lock_applies(table, has_children)) return lock_row_tuple(request, table);
    // Row-level security, partitions or children: the query itself, as SELECT ... FOR UPDATE.
    if (SPI_connect() != SPI_OK_CONNECT)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not connect to SPI for a row lock")));
    RowQuery query{row_plan(request, RowQueryForm::SkipLocked), request->key_values, 0};
    ErrorData *error = run_row_query_bounded(deadline, &query);  // uncontended: one query, no waiting
    if (error != nullptr) raise_phase_error(request->gate, error, kRowHolder);
    if (query.rows == 0) {
        // No such row, or locked by a transaction outside lockguard. A plain read tells which,
        // without waiting: only a row that is there is waited for, and counted as a wait (also
        // when its holder deletes it meanwhile). How long a lookup takes decides nothing.
        query.plan = row_plan(request, RowQueryForm::Read);
        error = run_row_query_bounded(deadline, &query);
        if (error != nullptr) raise_phase_error(request->gate, error, kRowHolder);
        if (query.rows > 0) {
            const char *who = describe_row_holders(request, deadline);
            int budget = deadline.wait_budget_ms(now_us());
            query.plan = row_plan(request, budget == 0 ? RowQueryForm::NoWait : RowQueryForm::Wait);
            error = run_row_query_bounded(deadline, &query);
            if (error != nullptr) raise_phase_error(request->gate, error, who);
            request->phase_waited = true;
        }
    }
    bool found = query.rows > 0;
    SPI_finish();
    return found;
}

namespace {

// Text values of a text or text[] argument.
void key_texts_from_text(FunctionCallInfo fcinfo, int argno, Oid type, RowKeyInput *key) {
    if (type != TEXTARRAYOID) {
        key->texts[0] = TextDatumGetCString(PG_GETARG_DATUM(argno));
        key->count = 1;
        return;
    }
    Datum *values;
    bool *nulls;
    int count;
    deconstruct_array(PG_GETARG_ARRAYTYPE_P(argno), TEXTOID, -1, false, TYPALIGN_INT, &values, &nulls, &count);
    if (count == 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("row key must have at least one value")));
    if (count > kMaxKeyColumns)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("row key has too many values")));
    for (int i = 0; i < count; i++) {
        if (nulls[i])
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("row key must not contain nulls"),
                            errdetail("Value %d of the key is null.", i + 1)));
        key->texts[i] = TextDatumGetCString(values[i]);
    }
    key->count = count;
}

}  // namespace

RowKeyInput row_key_argument(FunctionCallInfo fcinfo, int argno) {
    RowKeyInput key{};
    if (PG_ARGISNULL(argno))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("row key must not be null")));
    Oid type = get_fn_expr_argtype(fcinfo->flinfo, argno);
    if (!OidIsValid(type))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("could not determine the type of the row key")));
    if (type == TEXTOID || type == TEXTARRAYOID) {
        key_texts_from_text(fcinfo, argno, type, &key);
    } else if (type == UNKNOWNOID) {  // a quoted literal: its text is the key
        key.texts[0] = DatumGetCString(PG_GETARG_DATUM(argno));
        key.count = 1;
    } else {
        key.typed_type = type;
        key.typed_value = PG_GETARG_DATUM(argno);
    }
    return key;
}

void key_input_as_texts(RowKeyInput *key) {
    if (key->typed_type == InvalidOid) return;
    Oid type = key->typed_type;
    Datum value = key->typed_value;
    key->typed_type = InvalidOid;
    if (!type_is_rowtype(type)) {
        Oid output_function;
        bool varlena;
        getTypeOutputInfo(type, &output_function, &varlena);
        key->texts[0] = OidOutputFunctionCall(output_function, value);
        key->count = 1;
        return;
    }
    // A row value: one field per primary-key column.
    HeapTupleHeader row = DatumGetHeapTupleHeader(value);
    TupleDesc desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(row), HeapTupleHeaderGetTypMod(row));
    HeapTupleData tuple;
    tuple.t_len = HeapTupleHeaderGetDatumLength(row);
    ItemPointerSetInvalid(&tuple.t_self);
    tuple.t_tableOid = InvalidOid;
    tuple.t_data = row;
    int count = 0;
    for (int i = 0; i < desc->natts; i++) {
        Form_pg_attribute attr = TupleDescAttr(desc, i);
        if (attr->attisdropped) continue;
        if (count == kMaxKeyColumns)
            ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("row key has too many values")));
        bool isnull;
        Datum field = heap_getattr(&tuple, i + 1, desc, &isnull);
        if (isnull)
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("row key must not contain nulls"),
                            errdetail("Value %d of the key is null.", count + 1)));
        Oid output_function;
        bool varlena;
        getTypeOutputInfo(attr->atttypid, &output_function, &varlena);
        key->texts[count++] = OidOutputFunctionCall(output_function, field);
    }
    ReleaseTupleDesc(desc);
    key->count = count;
}

}  // namespace lockguard::pg
