// Taking one lockguard lock: try without waiting, then wait inside PostgreSQL's lock manager,
// bounded by the call's deadline, with the wait published for views and queue ordering.
//
// Every wait of an acquisition (its gate, the table, partitions and indexes behind it, the
// tuple and the transaction that holds it) runs under lockguard's own lock_timeout, set to what
// is left of the one deadline made at the SQL entry just before that wait, and the caller's
// value put back when the wait ends (run_lock_manager_wait, or a GUC nest level for SQL). A
// step with no time left never waits (conditional / NOWAIT forms): lock_timeout = 0 would mean
// "forever". The caller's lock_timeout and statement_timeout are never changed; a
// statement_timeout that fires during a wait is raised as PostgreSQL's 57014, unchanged.
#pragma once

#include "core/deadline.hpp"
#include "pg/state/backend_slots.hpp"

namespace lockguard::pg {

struct LockRequest {
    PublishedLock lock;        // tag, mode, scope, priority, display name; tenant_slot once taken
    const Deadline *deadline;  // the call's one deadline, shared by every step
};

enum class LockOutcome { Granted, GrantedAfterWait, AlreadyHeld };

// The deadline of a call that started now (at the SQL entry).
Deadline deadline_from_now(int timeout_ms);
inline int64 now_us() { return GetCurrentTimestamp(); }

// Takes the gate lock or raises: 55P03 on timeout (detail names the resource and the processes
// that really block it, holders and waiters queued ahead), 40P01 on deadlock, 57014 on cancel,
// each with PostgreSQL's SQLSTATE. Sets request->lock.tenant_slot. The caller's lock_timeout is
// the same afterwards. Holds only trivial objects: may longjmp.
LockOutcome take_lock(LockRequest *request);

// Runs `step(arg)` with lock_timeout = timeout_ms for this call only (a GUC nest level restores
// the caller's value) and returns the error it raised, or nullptr. timeout_ms must be > 0.
// For a step that runs SQL (SPI): user code there, such as a row-level security policy's
// function with its own SET lock_timeout clause, restores the setting's value when it returns,
// which would undo a bare write of the variable (run_lock_manager_wait).
ErrorData *run_with_lock_timeout(int timeout_ms, void (*step)(void *), void *arg);

// The same for a step that only waits in PostgreSQL's lock manager (LockAcquire, and through it
// ProcSleep) and runs no user code: sets and restores the LockTimeout variable that ProcSleep
// reads, without the GUC machinery.
ErrorData *run_lock_manager_wait(int timeout_ms, void (*step)(void *), void *arg);

// Takes a relation lock (table, partition or index) for the acquisition `request` within its
// deadline: conditionally first, then waiting for at most the time left. On timeout raises
// lockguard's 55P03 for `request`, naming the processes that hold or queue for a conflicting
// lock on that relation.
void lock_relation_within(const LockRequest &request, Oid relation, LOCKMODE mode);

// "PID 12, PID 34 (queued ahead), a prepared transaction": who blocks a request for `mode` on
// `tag` now, as pg_blocking_pids would say (conflicting holders, and conflicting waiters, which
// PostgreSQL's queue puts ahead of a new request). Also remembered for the audit entry.
// nullptr if nobody does.
char *describe_blockers(const LOCKTAG *tag, LOCKMODE mode);

// Records a granted acquisition (all steps done) in the statistics and, if it waited long,
// the audit log.
void record_granted(const LockRequest &request, long waited_us);

// An error from a later step of an acquisition (the relation, tuple or transaction behind the
// gate): a timeout becomes lockguard's 55P03 naming `who`, a deadlock is captured; both are
// recorded in the statistics and the audit log like a gate's. Anything else (57014 from the
// caller's statement_timeout or a cancel) is raised unchanged. Never returns.
[[noreturn]] void raise_phase_error(const LockRequest &request, ErrorData *error, const char *who);

// Raises 55P03 for a lock not obtained within the deadline; `who` says what blocked it.
[[noreturn]] void raise_lock_timeout(const LockRequest &request, const char *who);

// Raises 25P01 when the call would release its lock at once: at the top level of a statement
// outside a transaction block.
void require_transaction_block(const char *function_name);

}  // namespace lockguard::pg
