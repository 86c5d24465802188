#include "pg/lock_wait.hpp"

#include "pg/boundary.hpp"
#include "pg/deadlock_capture.hpp"
#include "pg/queue_order.hpp"
#include "pg/settings.hpp"
#include "pg/statement_depth.hpp"
#include "pg/tenants.hpp"
#include "pg/transaction_tracking.hpp"
#include "pg/wait_events.hpp"

extern "C" {
#include "lib/stringinfo.h"
#include "storage/sinvaladt.h"
#include "utils/guc.h"
}

namespace lockguard::pg {

namespace {

constexpr int kMaxHoldersShown = 8;

// The processes holding the lock in a conflicting mode now. A prepared transaction keeps the
// BackendId of the session that prepared it, which a live backend may use again: a holder counts
// as that backend only if the backend runs the very transaction (same local xid).
int collect_holders(const LockRef &ref, int32 *pids) {
    LOCKTAG tag;
    make_lock_tag(&tag, ref);
    int count = 0;
    VirtualTransactionId *holders = GetLockConflicts(&tag, ref.mode, &count);
    int found = 0;
    for (int i = 0; i < count && found < kMaxHoldersShown; i++) {
        PGPROC *proc = BackendIdGetProc(holders[i].backendId);
        if (proc != nullptr && proc != MyProc && proc->pid != 0 && proc->lxid == holders[i].localTransactionId)
            pids[found++] = proc->pid;
    }
    return found;
}

// "PID 123, PID 456". Asked after the wait ended (PostgreSQL has already taken us out of the
// queue), so only holders are listed, not waiters queued ahead.
char *describe_holders(const LockRef &ref) {
    int32 pids[kMaxHoldersShown];
    int count = collect_holders(ref, pids);
    StringInfoData out;
    initStringInfo(&out);
    for (int i = 0; i < count; i++) appendStringInfo(&out, i == 0 ? "PID %d" : ", PID %d", pids[i]);
    if (count == 0) appendStringInfoString(&out, "no live process (just released, or held by a prepared transaction)");
    return out.data;
}

struct LockManagerWait {
    const LOCKTAG *tag;
    LOCKMODE mode;
};

void wait_in_lock_manager(void *arg) {
    auto *wait = static_cast<LockManagerWait *>(arg);
    (void) LockAcquire(wait->tag, wait->mode, false, false);
}

}  // namespace

ErrorData *run_with_lock_timeout(int timeout_ms, void (*step)(void *), void *arg) {
    char timeout_text[32];
    snprintf(timeout_text, sizeof(timeout_text), "%d", timeout_ms);
    int nest_level = NewGUCNestLevel();
    (void) set_config_option("lock_timeout", timeout_text, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                             false);
    ErrorData *error = run_catching_error(step, arg);
    AtEOXact_GUC(error == nullptr, nest_level);
    return error;
}

int remaining_ms(int timeout_ms, TimestampTz started) {
    long elapsed_ms = (GetCurrentTimestamp() - started) / 1000;
    return elapsed_ms >= timeout_ms ? 0 : static_cast<int>(timeout_ms - elapsed_ms);
}

void raise_lock_timeout(const PublishedLock &lock, int timeout_ms, long waited_ms, const char *who) {
    const char *scope = scope_name(lock.scope);
    ereport(ERROR, (errcode(ERRCODE_LOCK_NOT_AVAILABLE),
                    timeout_ms == 0
                        ? errmsg("could not obtain lockguard %s lock on \"%s\" without waiting", scope, lock.name)
                        : errmsg("could not obtain lockguard %s lock on \"%s\" within %d ms", scope, lock.name,
                                 timeout_ms),
                    errdetail("Resource \"%s\" is held by %s; waited %ld ms.", lock.name, who, waited_ms),
                    errhint("Retry the transaction, raise timeout_ms, or find the blocker in lockguard.locks.")));
    pg_unreachable();
}

AcquireReport take_lock(const LockRequest &request) {
    LOCKTAG tag;
    make_lock_tag(&tag, request.lock.ref);
    ensure_transaction_tracking();
    if (holds_published(request.lock.ref)) return {LockOutcome::AlreadyHeld, 0, kNoTenant};
    if (!has_free_held_entry())
        ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("too many lockguard locks in one transaction"),
                        errdetail("This backend already holds %d lockguard locks.", settings.max_locks_per_backend),
                        errhint("Increase lockguard.max_locks_per_backend (needs a restart).")));

    // The tenant's budget first: over it, fail fast without touching the lock queue.
    PublishedLock lock = request.lock;
    lock.tenant_slot = resolve_current_tenant();
    // A resource counts once against max_held, in however many modes this backend holds it
    // (FOR SHARE after FOR UPDATE on the same row is the same row). The first entry is the
    // charged one: it is taken in this subtransaction or an ancestor, so it outlives the others.
    lock.budget_charged = !holds_resource_published(lock.ref);
    if (lock.budget_charged) reserve_held(lock.tenant_slot);

    // Conditional first: also refuses when others already queue (no queue jumping).
    LockAcquireResult result = LockAcquireExtended(&tag, lock.ref.mode, false, true, true, nullptr);
    AcquireReport report{LockOutcome::Granted, 0};
    if (result == LOCKACQUIRE_NOT_AVAIL) {
        int32 holders[kMaxHoldersShown];
        remember_blockers(holders, collect_holders(lock.ref, holders));
        if (request.wait_budget_ms == 0) {  // no wait asked for, or no time left for one
            record_wait_event(lock, WaitEventOutcome::Timeout, 0, 1);
            raise_lock_timeout(lock, request.timeout_ms, request.timeout_ms - request.wait_budget_ms,
                               describe_holders(lock.ref));
        }
        // While it waits it holds nothing: the held slot is taken again once granted.
        release_pending_held();
        reserve_waiter(lock.tenant_slot);  // given back by clear_wait(), on every path
        TimestampTz started = GetCurrentTimestamp();
        LockManagerWait wait{&tag, lock.ref.mode};
        publish_wait(lock);
        ErrorData *error = run_with_lock_timeout(request.wait_budget_ms, wait_in_lock_manager, &wait);
        clear_wait();
        long waited_us = GetCurrentTimestamp() - started;
        if (error != nullptr) {
            if (error->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE) {
                record_wait_event(lock, WaitEventOutcome::Timeout, waited_us, 1);
                FreeErrorData(error);
                long total_waited_ms = request.timeout_ms - request.wait_budget_ms + waited_us / 1000;
                raise_lock_timeout(lock, request.timeout_ms, total_waited_ms, describe_holders(lock.ref));
            }
            if (error->sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED) {
                record_wait_event(lock, WaitEventOutcome::Deadlock, waited_us, 1);
                capture_deadlock_error(error, DeadlockSource::Lockguard);
            }
            ReThrowError(error);  // deadlock, cancel, termination: exactly as PostgreSQL raised them
        }
        count_wait();
        report = {LockOutcome::GrantedAfterWait, waited_us};
        if (lock.budget_charged) reserve_held(lock.tenant_slot);  // over budget now: the error aborts,
                                                                  // releasing the lock
    }
    lock.subxact = GetCurrentSubTransactionId();
    (void) publish_held(lock);  // room was checked above; consumes the held reservation
    report.tenant_slot = lock.tenant_slot;
    return report;
}

void raise_phase_error(const LockRequest &request, ErrorData *error, TimestampTz started, const char *who) {
    long waited_us = GetCurrentTimestamp() - started;
    if (error->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE) {
        record_wait_event(request.lock, WaitEventOutcome::Timeout, waited_us, 1);
        FreeErrorData(error);
        raise_lock_timeout(request.lock, request.timeout_ms, waited_us / 1000, who);
    }
    if (error->sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED) {
        record_wait_event(request.lock, WaitEventOutcome::Deadlock, waited_us, 1);
        capture_deadlock_error(error, DeadlockSource::Lockguard);
    }
    ReThrowError(error);
}

void record_granted(const LockRequest &request, int tenant_slot, long waited_us) {
    PublishedLock lock = request.lock;
    lock.tenant_slot = tenant_slot;
    record_wait_event(lock, WaitEventOutcome::Granted, waited_us, 1);
}

void require_transaction_block(const char *function_name) {
    if (!IsTransactionBlock() && called_by_client_statement(function_name))
        ereport(ERROR, (errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
                        errmsg("%s can only be used in transaction blocks", function_name),
                        errdetail("Its lock is released when the transaction ends, which outside a transaction "
                                  "block is the end of this statement."),
                        errhint("Call it after BEGIN, or from the function that does the protected work.")));
}

}  // namespace lockguard::pg
