#include "pg/lock_wait.hpp"

#include "pg/boundary.hpp"
#include "pg/queue_order.hpp"
#include "pg/settings.hpp"
#include "pg/statement_depth.hpp"
#include "pg/transaction_tracking.hpp"

extern "C" {
#include "lib/stringinfo.h"
#include "storage/sinvaladt.h"
#include "utils/guc.h"
}

namespace lockguard::pg {

namespace {

// "PID 123, PID 456": the processes holding the lock in a conflicting mode now. Asked after
// the wait ended (PostgreSQL has already taken us out of the queue), so waiters are not listed.
void append_holders(StringInfo out, const LockRequest &request) {
    LOCKTAG tag;
    make_lock_tag(&tag, request.lock.ref);
    int count = 0;
    VirtualTransactionId *holders = GetLockConflicts(&tag, request.lock.ref.mode, &count);
    int shown = 0;
    for (int i = 0; i < count; i++) {
        PGPROC *proc = BackendIdGetProc(holders[i].backendId);
        if (proc == nullptr || proc->pid == 0) continue;
        appendStringInfo(out, shown++ == 0 ? "PID %d" : ", PID %d", proc->pid);
    }
    if (shown == 0) appendStringInfoString(out, "no live process (just released, or held by a prepared transaction)");
}

[[noreturn]] void raise_timeout(const LockRequest &request, long waited_ms) {
    StringInfoData blockers;
    initStringInfo(&blockers);
    append_holders(&blockers, request);
    const char *scope = scope_name(request.lock.scope);
    ereport(ERROR, (errcode(ERRCODE_LOCK_NOT_AVAILABLE),
                    request.timeout_ms == 0
                        ? errmsg("could not obtain lockguard %s lock on \"%s\" without waiting", scope,
                                 request.lock.name)
                        : errmsg("could not obtain lockguard %s lock on \"%s\" within %d ms", scope,
                                 request.lock.name, request.timeout_ms),
                    errdetail("Resource \"%s\" is held by %s; waited %ld ms.", request.lock.name,
                              blockers.data, waited_ms),
                    errhint("Retry the transaction, raise timeout_ms, or find the blocker in lockguard.locks.")));
    pg_unreachable();
}

// Waits in the lock manager with lock_timeout set for this call only: a GUC nest level
// restores the caller's value on success and on error.
void wait_in_lock_manager(const LockRequest &request, const LOCKTAG *tag) {
    char timeout_text[32];
    snprintf(timeout_text, sizeof(timeout_text), "%d", request.timeout_ms);
    int nest_level = NewGUCNestLevel();
    (void) set_config_option("lock_timeout", timeout_text, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                             false);
    TimestampTz started = GetCurrentTimestamp();
    MemoryContext caller_context = CurrentMemoryContext;
    ErrorData *volatile error = nullptr;

    publish_wait(request.lock);
    PG_TRY();
    {
        (void) LockAcquire(tag, request.lock.ref.mode, false, false);
    }
    PG_CATCH();
    {
        error = take_pg_error(caller_context);
    }
    PG_END_TRY();
    clear_wait();
    AtEOXact_GUC(error == nullptr, nest_level);

    if (error == nullptr) return;
    if (error->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE) {
        long waited_ms = (GetCurrentTimestamp() - started) / 1000;
        FreeErrorData(error);
        raise_timeout(request, waited_ms);
    }
    ReThrowError(error);  // deadlock, cancel, termination: exactly as PostgreSQL raised them
}

}  // namespace

LockOutcome take_lock(const LockRequest &request) {
    LOCKTAG tag;
    make_lock_tag(&tag, request.lock.ref);
    ensure_transaction_tracking();
    if (holds_published(request.lock.ref)) return LockOutcome::AlreadyHeld;
    if (!has_free_held_entry())
        ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("too many lockguard locks in one transaction"),
                        errdetail("This backend already holds %d lockguard locks.",
                                  settings.max_locks_per_backend),
                        errhint("Increase lockguard.max_locks_per_backend (needs a restart).")));

    // Conditional first: also refuses when others already queue (no queue jumping).
    LockAcquireResult result = LockAcquireExtended(&tag, request.lock.ref.mode, false, true, true, nullptr);
    LockOutcome outcome = LockOutcome::Granted;
    if (result == LOCKACQUIRE_NOT_AVAIL) {
        if (request.timeout_ms == 0) raise_timeout(request, 0);
        wait_in_lock_manager(request, &tag);
        outcome = LockOutcome::GrantedAfterWait;
    }
    PublishedLock held = request.lock;
    held.subxact = GetCurrentSubTransactionId();
    (void) publish_held(held);  // room was checked above
    if (outcome == LockOutcome::GrantedAfterWait) count_wait();
    return outcome;
}

void require_transaction_block(const char *function_name) {
    if (!IsTransactionBlock() && statement_depth() <= 1)
        ereport(ERROR, (errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
                        errmsg("%s can only be used in transaction blocks", function_name),
                        errdetail("Its lock is released when the transaction ends, which outside a transaction "
                                  "block is the end of this statement."),
                        errhint("Call it after BEGIN, or from the function that does the protected work.")));
}

}  // namespace lockguard::pg
