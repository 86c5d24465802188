// The row lock without a query: see row_tuple_lock.hpp. Each step says which part of
// SELECT ... FOR UPDATE it stands for, so that the two stay the same.
#include "pg/acquire/row_tuple_lock.hpp"

#include "pg/infra/compat.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/multixact.h"
#include "access/relation.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "storage/bufmgr.h"
#include "storage/procarray.h"
#include "tcop/utility.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
}

namespace lockguard::pg {

const char *const kRowHolder = "a transaction that locked the row without lockguard";

namespace {

// The tuple-lock mode of each strength: what a FOR ... row mark asks of table_tuple_lock.
LockTupleMode tuple_lock_mode(RowLockStrength strength) {
    switch (strength) {
        case RowLockStrength::KeyShare: return LockTupleKeyShare;
        case RowLockStrength::Share: return LockTupleShare;
        case RowLockStrength::NoKeyUpdate: return LockTupleNoKeyExclusive;
        case RowLockStrength::Update: return LockTupleExclusive;
    }
    return LockTupleExclusive;
}

// The command a read-only transaction refuses, named as the server names the query.
const char *locking_command_name(RowLockStrength strength) {
    switch (strength) {
        case RowLockStrength::KeyShare: return "SELECT FOR KEY SHARE";
        case RowLockStrength::Share: return "SELECT FOR SHARE";
        case RowLockStrength::NoKeyUpdate: return "SELECT FOR NO KEY UPDATE";
        case RowLockStrength::Update: return "SELECT FOR UPDATE";
    }
    return "SELECT FOR UPDATE";
}

// The version of the row the snapshot sees, found through the primary key (the query's index
// scan); its TID is in slot->tts_tid.
bool find_visible_row(Relation relation, Relation index, Snapshot snapshot, const RowTableInfo *table,
                      const Datum *values, TupleTableSlot *slot) {
    ScanKeyData keys[kMaxKeyColumns];
    for (int i = 0; i < table->key_count; i++)
        ScanKeyEntryInitialize(&keys[i], 0, static_cast<AttrNumber>(i + 1), BTEqualStrategyNumber, InvalidOid,
                               table->key_index_collations[i], table->key_equality_proc[i], values[i]);
    IndexScanDesc scan = begin_index_scan(relation, index, snapshot, table->key_count);
    index_rescan(scan, keys, table->key_count, nullptr, 0);
    bool found = index_getnext_slot(scan, ForwardScanDirection, slot);
    index_endscan(scan);
    return found;
}

// Whether the locked version still has the key: the re-check the query's EvalPlanQual runs on
// a version newer than its snapshot (a concurrent UPDATE may have changed the key).
bool still_has_key(TupleTableSlot *slot, const RowTableInfo *table, const Datum *values) {
    for (int i = 0; i < table->key_count; i++) {
        bool isnull;
        Datum value = slot_getattr(slot, table->key_columns[i], &isnull);
        if (isnull) return false;
        auto *equality = const_cast<FmgrInfo *>(&table->key_equality[i]);
        if (!DatumGetBool(FunctionCall2Coll(equality, table->key_index_collations[i], value, values[i]))) return false;
    }
    return true;
}

struct TupleLockAttempt {
    Relation relation;
    ItemPointerData tid;
    Snapshot snapshot;
    TupleTableSlot *slot;
    CommandId command;
    LockTupleMode mode;
    LockWaitPolicy wait_policy;
    uint8 flags;
    TM_FailureData failure;
    TM_Result result;
};

void attempt_tuple_lock(void *arg) {
    auto *attempt = static_cast<TupleLockAttempt *>(arg);
    attempt->result = table_tuple_lock(attempt->relation, &attempt->tid, attempt->snapshot, attempt->slot,
                                       attempt->command, attempt->mode, attempt->wait_policy, attempt->flags,
                                       &attempt->failure);
}

// The waiting attempt, under lockguard's lock_timeout of timeout_ms. heap_lock_tuple waits in the
// lock manager only (the tuple lock, then the transaction or multixact members that hold the
// row) and runs no user code. Another table access method is extension code that might run
// SQL: the GUC path then.
ErrorData *wait_for_tuple_lock(TupleLockAttempt *attempt, int timeout_ms) {
    if (attempt->relation->rd_tableam == GetHeapamTableAmRoutine())
        return run_lock_manager_wait(timeout_ms, attempt_tuple_lock, attempt);
    return run_with_lock_timeout(timeout_ms, attempt_tuple_lock, attempt);
}

// What the LockRows node makes of each outcome: the row is locked and returned, skipped as
// gone, or the transaction cannot go on.
bool row_is_locked(const TupleLockAttempt &attempt, const RowTableInfo *table, const Datum *values) {
    switch (attempt.result) {
        case TM_Ok:
            return !attempt.failure.traversed || still_has_key(attempt.slot, table, values);
        case TM_WouldBlock:    // only after a wait that was not allowed to wait
        case TM_SelfModified:  // changed by this transaction since the snapshot: treated as gone
            return false;
        case TM_Updated:
        case TM_Deleted:
            if (IsolationUsesXactSnapshot())
                ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                                errmsg("could not serialize access due to concurrent update")));
            if (attempt.result == TM_Deleted) return false;
            break;  // an update is followed to its newest version under READ COMMITTED
        case TM_Invisible:
            elog(ERROR, "attempted to lock invisible tuple");
            break;
        default:
            break;
    }
    elog(ERROR, "unexpected table_tuple_lock status: %u", static_cast<unsigned>(attempt.result));
    return false;
}

}  // namespace

bool row_tuple_lock_applies(const RowTableInfo *table, bool has_children) {
    // Whether a policy applies depends on the current user and row_security, so check_enable_rls
    // is asked on every call, never kept. Only the table's own switch is kept: with row-level
    // security disabled on the table it answers RLS_NONE to everyone, and is not asked.
    return table->relkind == RELKIND_RELATION && !has_children && OidIsValid(table->key_index) &&
           (!table->row_security || check_enable_rls(table->relation, InvalidOid, true) != RLS_ENABLED);
}

bool lock_row_tuple(ScopedRequest *request, const RowTableInfo *table) {
    for (int i = 0; i < table->key_count; i++)
        if (!OidIsValid(table->key_equality_proc[i]))
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_FUNCTION),
                            errmsg("no equality operator for column %d of the primary key of \"%s\"", i + 1,
                                   table->relname)));
    const Deadline &deadline = *request->gate.deadline;
    Relation relation = relation_open(request->relation, NoLock);  // ROW SHARE: lock_row_relations
    // The executor's check of a statement that locks rows of a table that is not temporary.
    if (XactReadOnly && !isTempNamespace(RelationGetNamespace(relation)))
        PreventCommandIfReadOnly(locking_command_name(request->strength));
    Relation index = index_open(table->key_index, NoLock);

    // As SPI runs a statement that is not read-only: the transaction's snapshot (a new one under
    // READ COMMITTED), after a command-counter increment that shows the transaction's own changes.
    PushActiveSnapshot(GetTransactionSnapshot());
    CommandCounterIncrement();
    UpdateActiveSnapshotCommandId();

    TupleLockAttempt attempt{};
    attempt.relation = relation;
    attempt.snapshot = GetActiveSnapshot();
    attempt.slot = table_slot_create(relation, nullptr);
    attempt.command = GetCurrentCommandId(true);
    attempt.mode = tuple_lock_mode(request->strength);
    // LockRows' flags: follow the update chain to the newest version, except where the
    // transaction's snapshot must not see it (REPEATABLE READ and SERIALIZABLE fail instead).
    attempt.flags = TUPLE_LOCK_FLAG_LOCK_UPDATE_IN_PROGRESS;
    if (!IsolationUsesXactSnapshot()) attempt.flags |= TUPLE_LOCK_FLAG_FIND_LAST_VERSION;

    bool found = find_visible_row(relation, index, attempt.snapshot, table, request->key_values, attempt.slot);
    if (found) {
        attempt.tid = attempt.slot->tts_tid;
        attempt.wait_policy = LockWaitSkip;  // uncontended: one try, no waiting
        attempt_tuple_lock(&attempt);
        if (attempt.result == TM_WouldBlock) {
            // Held by a transaction outside lockguard (had it used lockguard, the wait would be at
            // the gate). Who holds it is read before the wait, while the version is at hand.
            const char *who = describe_row_holders_at(relation, &attempt.tid);
            int budget = deadline.wait_budget_ms(now_us());
            attempt.wait_policy = budget == 0 ? LockWaitError : LockWaitBlock;
            ErrorData *error = wait_for_tuple_lock(&attempt, budget > 0 ? budget : 1);
            if (error != nullptr) raise_phase_error(request->gate, error, who);
            request->phase_waited = true;  // a row that is there was waited for
        }
        found = row_is_locked(attempt, table, request->key_values);
    }
    ExecDropSingleTupleTableSlot(attempt.slot);
    PopActiveSnapshot();
    index_close(index, NoLock);
    relation_close(relation, NoLock);
    return found;
}

char *describe_row_holders_at(Relation relation, ItemPointer tid) {
    Buffer buffer = ReadBuffer(relation, ItemPointerGetBlockNumber(tid));
    LockBuffer(buffer, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buffer);
    ItemId item = PageGetItemId(page, ItemPointerGetOffsetNumber(tid));
    TransactionId xmax = InvalidTransactionId;
    uint16 infomask = HEAP_XMAX_INVALID;
    if (ItemIdIsNormal(item)) {
        auto *header = reinterpret_cast<HeapTupleHeader>(PageGetItem(page, item));
        xmax = HeapTupleHeaderGetRawXmax(header);
        infomask = header->t_infomask;
    }
    UnlockReleaseBuffer(buffer);
    if ((infomask & HEAP_XMAX_INVALID) || HEAP_LOCKED_UPGRADED(infomask)) return pstrdup(kRowHolder);

    TransactionId xids[8];
    int count = 0;
    if (infomask & HEAP_XMAX_IS_MULTI) {
        MultiXactMember *members = nullptr;
        int n = GetMultiXactIdMembers(xmax, &members, false, HEAP_XMAX_IS_LOCKED_ONLY(infomask));
        for (int i = 0; i < n && count < 8; i++) xids[count++] = members[i].xid;
    } else {
        xids[count++] = xmax;
    }
    StringInfoData out;
    initStringInfo(&out);
    for (int i = 0; i < count; i++) {
        if (!TransactionIdIsInProgress(xids[i])) continue;
        int pid = BackendXidGetPid(xids[i]);
        if (pid == MyProcPid) continue;
        if (out.len > 0) appendStringInfoString(&out, ", ");
        if (pid != 0)
            appendStringInfo(&out, "PID %d", pid);
        else
            appendStringInfoString(&out, "a prepared transaction");  // in progress, no backend
    }
    if (out.len == 0) return pstrdup(kRowHolder);
    appendStringInfoString(&out, ", which locked the row without lockguard");
    return out.data;
}

}  // namespace lockguard::pg
