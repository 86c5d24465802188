#include "pg/acquire/lock_wait.hpp"

#include "pg/infra/boundary.hpp"
#include "pg/infra/compat.hpp"
#include "pg/observe/deadlock_capture.hpp"
#include "pg/state/queue_order.hpp"
#include "pg/infra/resource_names.hpp"
#include "pg/infra/settings.hpp"
#include "pg/infra/statement_depth.hpp"
#include "pg/tenants/tenants.hpp"
#include "pg/state/transaction_tracking.hpp"
#include "pg/observe/wait_events.hpp"

extern "C" {
#include "lib/stringinfo.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "storage/sinvaladt.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
}

namespace lockguard::pg {

namespace {

constexpr int kMaxBlockersShown = 8;

struct Blockers {
    int count;
    int32 pids[kMaxBlockersShown];
    bool queued[kMaxBlockersShown];  // waits ahead in the queue rather than holds
    bool prepared;                   // a prepared transaction holds or awaits a conflicting mode
    bool more;                       // more than kMaxBlockersShown
};

// Who blocks a request for `mode` on `tag` now: every other process that holds a conflicting
// mode, and every one that waits for a conflicting mode (PostgreSQL queues a new request behind
// those: a shared request behind a queued exclusive one waits even though the holders are all
// shared). pg_blocking_pids' rule, read from the lock manager's status (all partition locks:
// used on the slow paths only).
Blockers find_blockers(const LOCKTAG *tag, LOCKMODE mode) {
    Blockers found{};
    LockMethod method = GetLockTagsMethodTable(tag);
    LOCKMASK conflicts = method->conflictTab[mode];
    LockData *data = GetLockStatusData();
    for (int i = 0; i < data->nelements; i++) {
        const LockInstanceData &instance = data->locks[i];
        if (memcmp(&instance.locktag, tag, sizeof(LOCKTAG)) != 0) continue;
        if (instance.pid == MyProcPid || (MyProc->lockGroupLeader != nullptr && instance.leaderPid ==
                                                                                    MyProc->lockGroupLeader->pid))
            continue;
        bool holds = (instance.holdMask & conflicts) != 0;
        bool waits = instance.waitLockMode != NoLock && (conflicts & LOCKBIT_ON(instance.waitLockMode)) != 0;
        if (!holds && !waits) continue;
        if (instance.pid == 0) {  // a prepared transaction's dummy process
            found.prepared = true;
            continue;
        }
        bool seen = false;
        for (int k = 0; k < found.count; k++) seen = seen || found.pids[k] == instance.pid;
        if (seen) continue;
        if (found.count == kMaxBlockersShown) {
            found.more = true;
            continue;
        }
        found.pids[found.count] = instance.pid;
        found.queued[found.count] = !holds;
        found.count++;
    }
    return found;
}

char *format_blockers(const Blockers &blockers) {
    if (blockers.count == 0 && !blockers.prepared) return nullptr;
    StringInfoData out;
    initStringInfo(&out);
    for (int i = 0; i < blockers.count; i++)
        appendStringInfo(&out, "%sPID %d%s", i == 0 ? "" : ", ", blockers.pids[i],
                         blockers.queued[i] ? " (queued ahead)" : "");
    if (blockers.more) appendStringInfoString(&out, ", and more");
    if (blockers.prepared) appendStringInfo(&out, "%sa prepared transaction", blockers.count > 0 ? ", " : "");
    return out.data;
}

// The cheap list for the audit entry of a contended acquisition: conflicting holders (one
// partition lock). Only when there is none (blocked by waiters alone) the full status scan.
void remember_first_blockers(const LOCKTAG *tag, LOCKMODE mode) {
    int count = 0;
    VirtualTransactionId *holders = GetLockConflicts(tag, mode, &count);
    int32 pids[kMaxBlockersShown];
    int found = 0;
    for (int i = 0; i < count && found < kMaxBlockersShown; i++) {
        PGPROC *proc = virtual_xid_proc(holders[i]);
        // A prepared transaction keeps the process number of the session that prepared it: a holder
        // is that backend only if the backend runs the very transaction (same local xid).
        if (proc != nullptr && proc != MyProc && proc->pid != 0 && proc_local_xid(proc) == holders[i].localTransactionId)
            pids[found++] = proc->pid;
    }
    if (found > 0) {
        remember_blockers(pids, found);
        return;
    }
    (void) describe_blockers(tag, mode);
}

struct LockManagerWait {
    const LOCKTAG *tag;
    LOCKMODE mode;
};

void wait_in_lock_manager(void *arg) {
    auto *wait = static_cast<LockManagerWait *>(arg);
    (void) LockAcquire(wait->tag, wait->mode, false, false);
}

struct RelationWait {
    Oid relation;
    LOCKMODE mode;
};

void wait_for_relation(void *arg) {
    auto *wait = static_cast<RelationWait *>(arg);
    LockRelationOid(wait->relation, wait->mode);
}

const char *relation_kind_word(Oid relation) {
    switch (get_rel_relkind(relation)) {
        case 'i':
        case 'I': return "index";
        default: return "table";
    }
}

[[noreturn]] void raise_relation_timeout(const LockRequest &request, Oid relation, LOCKMODE mode) {
    LOCKTAG tag;
    SET_LOCKTAG_RELATION(tag, MyDatabaseId, relation);
    char *blockers = describe_blockers(&tag, mode);
    char name[NAMEDATALEN * 2 + 8];
    table_label(relation, name, sizeof(name));  // qualified and quoted, as everywhere
    char *who = psprintf("%s, through a conflicting lock on %s %s",
                         blockers != nullptr ? blockers : "a transaction that has just released it",
                         relation_kind_word(relation), name[0] != '\0' ? name : "?");
    // A step before the gate (the table read of a row lock) has no tenant yet: the caller's.
    PublishedLock lock = request.lock;
    if (lock.tenant_slot == kNoTenant) lock.tenant_slot = resolve_current_tenant();
    record_wait_event(lock, WaitEventOutcome::Timeout, request.deadline->waited_us(now_us()), 1);
    raise_lock_timeout(request, who);
}

}  // namespace

Deadline deadline_from_now(int timeout_ms) { return {now_us(), timeout_ms}; }

char *describe_blockers(const LOCKTAG *tag, LOCKMODE mode) {
    Blockers blockers = find_blockers(tag, mode);
    remember_blockers(blockers.pids, blockers.count);
    return format_blockers(blockers);
}

ErrorData *run_lock_manager_wait(int timeout_ms, void (*step)(void *), void *arg) {
    Assert(timeout_ms > 0);  // 0 would mean "wait forever"
    // LockTimeout is the variable behind the lock_timeout setting (no assign hook), read by
    // ProcSleep only, when a wait starts and when it ends, both inside step(). A step that
    // waits in the lock manager only runs no user code: nothing in it sets the setting, so
    // writing the variable for the step is what the GUC machinery would do, without a nest
    // level (on 15 AtEOXact_GUC walks every setting). The caller's value is put back on every
    // path: run_catching_error returns every ERROR, and the PG_FINALLY covers an error raised
    // while it copies one. A step that runs SQL uses run_with_lock_timeout instead.
    const int caller_timeout = LockTimeout;
    LockTimeout = timeout_ms > 0 ? timeout_ms : 1;
    ErrorData *volatile error = nullptr;
    PG_TRY();
    {
        error = run_catching_error(step, arg);
    }
    PG_FINALLY();
    {
        LockTimeout = caller_timeout;
    }
    PG_END_TRY();
    return error;
}

ErrorData *run_with_lock_timeout(int timeout_ms, void (*step)(void *), void *arg) {
    Assert(timeout_ms > 0);  // 0 would mean "wait forever"
    char timeout_text[32];
    snprintf(timeout_text, sizeof(timeout_text), "%d", timeout_ms > 0 ? timeout_ms : 1);
    int nest_level = NewGUCNestLevel();
    (void) set_config_option("lock_timeout", timeout_text, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                             false);
    ErrorData *error = run_catching_error(step, arg);
    AtEOXact_GUC(error == nullptr, nest_level);
    return error;
}

void raise_lock_timeout(const LockRequest &request, const char *who) {
    const PublishedLock &lock = request.lock;
    const char *scope = scope_name(lock.scope);
    int timeout_ms = request.deadline->timeout_ms();
    long waited_ms = request.deadline->waited_ms(now_us());
    ereport(ERROR, (errcode(ERRCODE_LOCK_NOT_AVAILABLE),
                    timeout_ms == 0
                        ? errmsg("could not obtain lockguard %s lock on \"%s\" without waiting", scope, lock.name)
                        : errmsg("could not obtain lockguard %s lock on \"%s\" within %d ms", scope, lock.name,
                                 timeout_ms),
                    errdetail("Resource \"%s\" is held by %s; waited %ld ms.", lock.name, who, waited_ms),
                    errhint("Retry the transaction, raise timeout_ms, or find the blocker in lockguard.locks.")));
    pg_unreachable();
}

void lock_relation_within(const LockRequest &request, Oid relation, LOCKMODE mode) {
    if (ConditionalLockRelationOid(relation, mode)) return;
    int budget = request.deadline->wait_budget_ms(now_us());
    if (budget == 0) raise_relation_timeout(request, relation, mode);
    RelationWait wait{relation, mode};
    ErrorData *error = run_lock_manager_wait(budget, wait_for_relation, &wait);
    if (error == nullptr) return;
    if (error->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE) {
        FreeErrorData(error);
        raise_relation_timeout(request, relation, mode);
    }
    raise_phase_error(request, error, "a conflicting table lock");
}

LockOutcome take_lock(LockRequest *request) {
    PublishedLock &lock = request->lock;
    const Deadline &deadline = *request->deadline;
    LOCKTAG tag;
    make_lock_tag(&tag, lock.ref);
    ensure_transaction_tracking();
    lock.tenant_slot = resolve_current_tenant();
    if (holds_published(lock.ref)) return LockOutcome::AlreadyHeld;
    if (!has_free_held_entry())
        ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("too many lockguard locks in one transaction"),
                        errdetail("This backend already holds %d lockguard locks.", settings.max_locks_per_backend),
                        errhint("Increase lockguard.max_locks_per_backend (needs a restart).")));

    // The tenant's budget first: over it, fail fast without touching the lock queue.
    // A resource counts once against max_held, in however many modes this backend holds it
    // (FOR SHARE after FOR UPDATE on the same row is the same row). The first entry is the
    // charged one: it is taken in this subtransaction or an ancestor, so it outlives the others.
    lock.budget_charged = !holds_resource_published(lock.ref);
    if (lock.budget_charged) reserve_held(lock.tenant_slot);

    // Conditional first: also refuses when others already queue (no queue jumping).
    LockAcquireResult result = lock_acquire_extended(&tag, lock.ref.mode, false, true, true, nullptr);
    LockOutcome outcome = LockOutcome::Granted;
    if (result == LOCKACQUIRE_NOT_AVAIL) {
        int budget = deadline.wait_budget_ms(now_us());
        if (budget == 0) {  // no wait asked for, or no time left for one
            char *who = describe_blockers(&tag, lock.ref.mode);
            record_wait_event(lock, WaitEventOutcome::Timeout, deadline.waited_us(now_us()), 1);
            raise_lock_timeout(*request, who != nullptr ? who : "a transaction that has just released it");
        }
        remember_first_blockers(&tag, lock.ref.mode);
        // While it waits it holds nothing: the held slot is taken again once granted.
        release_pending_held();
        reserve_waiter(lock.tenant_slot);  // given back by clear_wait(), on every path
        LockManagerWait wait{&tag, lock.ref.mode};
        publish_wait(lock);
        ErrorData *error = run_lock_manager_wait(budget, wait_in_lock_manager, &wait);
        clear_wait();
        if (error != nullptr) {
            long waited_us = deadline.waited_us(now_us());
            if (error->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE) {
                FreeErrorData(error);
                // Out of the queue now: whoever still holds or queues ahead in a conflicting mode.
                char *who = describe_blockers(&tag, lock.ref.mode);
                record_wait_event(lock, WaitEventOutcome::Timeout, waited_us, 1);
                raise_lock_timeout(*request, who != nullptr ? who : "a transaction that has just released it");
            }
            if (error->sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED) {
                record_wait_event(lock, WaitEventOutcome::Deadlock, waited_us, 1);
                capture_deadlock_error(error, DeadlockSource::Lockguard);
            }
            ReThrowError(error);  // deadlock, cancel, statement_timeout, termination: as PostgreSQL raised them
        }
        count_wait();
        outcome = LockOutcome::GrantedAfterWait;
        if (lock.budget_charged) reserve_held(lock.tenant_slot);  // over budget now: the error aborts,
                                                                  // releasing the lock
    }
    lock.subxact = GetCurrentSubTransactionId();
    (void) publish_held(lock);  // room was checked above; consumes the held reservation
    return outcome;
}

void raise_phase_error(const LockRequest &request, ErrorData *error, const char *who) {
    long waited_us = request.deadline->waited_us(now_us());
    if (error->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE) {
        record_wait_event(request.lock, WaitEventOutcome::Timeout, waited_us, 1);
        FreeErrorData(error);
        raise_lock_timeout(request, who);
    }
    if (error->sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED) {
        record_wait_event(request.lock, WaitEventOutcome::Deadlock, waited_us, 1);
        capture_deadlock_error(error, DeadlockSource::Lockguard);
    }
    ReThrowError(error);
}

void record_granted(const LockRequest &request, long waited_us) {
    record_wait_event(request.lock, WaitEventOutcome::Granted, waited_us, 1);
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
