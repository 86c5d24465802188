// Taking one lockguard lock: try without waiting, then wait inside PostgreSQL's lock manager,
// bounded by the call's timeout, with the wait published for views and queue ordering.
#pragma once

#include "pg/backend_slots.hpp"

namespace lockguard::pg {

struct LockRequest {
    PublishedLock lock;  // tag, mode, scope, priority and display name
    int timeout_ms;      // 0 = do not wait
};

enum class LockOutcome { Granted, GrantedAfterWait, AlreadyHeld };

// Takes the lock or raises: 55P03 on timeout (detail names the resource and the blocking
// pids), 40P01 on deadlock, 57014 on cancel, each with PostgreSQL's SQLSTATE. The caller's
// lock_timeout is the same afterwards. Holds only trivial objects: may longjmp.
LockOutcome take_lock(const LockRequest &request);

// Raises 25P01 when the call would release its lock at once: at the top level of a statement
// outside a transaction block.
void require_transaction_block(const char *function_name);

}  // namespace lockguard::pg
