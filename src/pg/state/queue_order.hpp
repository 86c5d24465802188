// Priority among lockguard waiters: right before a holder releases its lockguard locks, it
// permutes each lock's wait queue into the grant order the core computes (priority with aging,
// tenant fair share, then arrival), so the release grants the right waiter next.
// The waiters stay in PostgreSQL's own queue: the deadlock detector, pg_locks and
// pg_blocking_pids keep seeing every wait.
#pragma once

#include "pg/infra/pg_prelude.hpp"

namespace lockguard::pg {

void register_queue_order_state();

// Allocates this backend's scratch space for ordering (callbacks must not allocate).
void prepare_queue_ordering();

// Orders the queues of the locks that the ending (sub)transaction releases:
// InvalidSubTransactionId = the whole transaction. Never raises (runs in transaction callbacks).
void order_queues_before_release(SubTransactionId subxact);

// Counters for lockguard.queue_stats().
struct QueueStats {
    uint64 waits;       // acquisitions that had to wait in the lock manager
    uint64 reorders;    // releases that permuted a queue
    uint64 moved;       // waiters whose position changed
    uint64 mixed;       // queues left FIFO because their waiters want different modes
    uint64 inconsistent;  // queues left untouched because they failed validation
};
QueueStats read_queue_stats();
void count_wait();

}  // namespace lockguard::pg
