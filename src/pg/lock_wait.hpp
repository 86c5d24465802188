// Taking one lockguard lock: try without waiting, then wait inside PostgreSQL's lock manager,
// bounded by the call's timeout, with the wait published for views and queue ordering.
#pragma once

#include "pg/backend_slots.hpp"

namespace lockguard::pg {

struct LockRequest {
    PublishedLock lock;      // tag, mode, scope, priority and display name
    int timeout_ms;          // what the caller asked for (0 = do not wait): errors quote it
    int wait_budget_ms;      // what is left of it for this lock (earlier phases used the rest)
};

enum class LockOutcome { Granted, GrantedAfterWait, AlreadyHeld };

// What happened to one acquisition, for the audit log and the wait statistics.
struct AcquireReport {
    LockOutcome outcome;
    long waited_us;
    int tenant_slot;  // whose budget it counts against
};

// Takes the lock or raises: 55P03 on timeout (detail names the resource and the holders),
// 40P01 on deadlock, 57014 on cancel, each with PostgreSQL's SQLSTATE. The caller's
// lock_timeout is the same afterwards. Holds only trivial objects: may longjmp.
AcquireReport take_lock(const LockRequest &request);

// Runs `step(arg)` with lock_timeout = timeout_ms for this call only (a GUC nest level restores
// the caller's value) and returns the error it raised, or nullptr. timeout_ms must be > 0.
ErrorData *run_with_lock_timeout(int timeout_ms, void (*step)(void *), void *arg);

// Milliseconds left of `timeout_ms` since `started`; never negative.
int remaining_ms(int timeout_ms, TimestampTz started);

// Records a granted acquisition (all phases done) in the statistics and, if it waited long,
// the audit log.
void record_granted(const LockRequest &request, int tenant_slot, long waited_us);

// An error from a later phase of an acquisition (the row or table lock behind the gate):
// a timeout becomes lockguard's 55P03 naming `who`, a deadlock is captured; both are recorded
// in the statistics and the audit log like a gate's. Never returns.
[[noreturn]] void raise_phase_error(const LockRequest &request, ErrorData *error, TimestampTz started,
                                    const char *who);

// Raises 55P03 for a lock not obtained in time; `who` says what held it.
[[noreturn]] void raise_lock_timeout(const PublishedLock &lock, int timeout_ms, long waited_ms, const char *who);

// Raises 25P01 when the call would release its lock at once: at the top level of a statement
// outside a transaction block.
void require_transaction_block(const char *function_name);

}  // namespace lockguard::pg
