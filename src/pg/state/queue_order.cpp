#include "pg/state/queue_order.hpp"

#include "core/wait_order.hpp"
#include "pg/state/backend_slots.hpp"
#include "pg/infra/compat.hpp"
#include "pg/infra/settings.hpp"
#include "pg/infra/shmem.hpp"
#include "pg/state/tenant_hooks.hpp"

extern "C" {
#include "storage/shmem.h"
}

namespace lockguard::pg {

namespace {

struct SharedQueueState {
    pg_atomic_uint64 waits;
    pg_atomic_uint64 reorders;
    pg_atomic_uint64 moved;
    pg_atomic_uint64 mixed;
    pg_atomic_uint64 inconsistent;
};

SharedQueueState *shared = nullptr;

// Scratch space for one queue, allocated once per backend: callbacks must not allocate.
WaiterInfo *scratch_waiters = nullptr;
PGPROC **scratch_procs = nullptr;
uint32_t *scratch_order = nullptr;
int32 *scratch_share_tenants = nullptr;  // the distinct tenants of the queue being read...
double *scratch_shares = nullptr;        // ...and the share read once for each

Size shared_size() { return sizeof(SharedQueueState); }

void attach_shared(void *memory, bool found) {
    shared = static_cast<SharedQueueState *>(memory);
    if (found) return;
    pg_atomic_init_u64(&shared->waits, 0);
    pg_atomic_init_u64(&shared->reorders, 0);
    pg_atomic_init_u64(&shared->moved, 0);
    pg_atomic_init_u64(&shared->mixed, 0);
    pg_atomic_init_u64(&shared->inconsistent, 0);
}

// The LOCK for `tag` among this backend's own PROCLOCKs: changed only under the partition lock
// we hold, so this is race-free (a waiter's waitLock pointer read elsewhere could be recycled).
LOCK *find_my_lock(const LOCKTAG *tag, uint32 hashcode) {
    int partition = static_cast<int>(LockHashPartition(hashcode));
    for (PROCLOCK *proclock = my_proclock_next(partition, nullptr); proclock != nullptr;
         proclock = my_proclock_next(partition, proclock)) {
        LOCK *lock = proclock->tag.myLock;
        if (memcmp(&lock->tag, tag, sizeof(LOCKTAG)) == 0) return proclock->holdMask != 0 ? lock : nullptr;
    }
    return nullptr;
}

enum class QueueShape { Orderable, Mixed, Inconsistent };

// The tenant's share, read once per tenant and queue: the held count moves while the queue is
// read, and two waiters of one tenant given different shares would be reordered at random.
// `distinct` counts the tenants seen so far in this queue (a queue has few).
double queue_tenant_share(int32 tenant_slot, int *distinct) {
    for (int i = 0; i < *distinct; i++)
        if (scratch_share_tenants[i] == tenant_slot) return scratch_shares[i];
    double share = tenant_callbacks().share(tenant_slot);
    scratch_share_tenants[*distinct] = tenant_slot;
    scratch_shares[*distinct] = share;
    (*distinct)++;
    return share;
}

// Reads the queue into the scratch arrays. Only a queue of identical requests whose waiters
// hold nothing else on this lock may be permuted: the lock manager (ProcSleep until 17,
// JoinWaitQueue from 18) places a waiter that already holds a mode ahead on purpose, and undoing
// that could hide a deadlock. The queue must hold exactly `count` waiters.
QueueShape read_queue(LOCK *lock, const LockRef &ref, int count, TimestampTz now) {
    PGPROC *proc = nullptr;
    LOCKMODE mode = 0;
    int distinct_tenants = 0;
    for (int i = 0; i < count; i++) {
        proc = wait_queue_next(lock, proc);
        if (proc == nullptr || proc->waitLock != lock || proc->waitStatus != PROC_WAIT_STATUS_WAITING ||
            proc_number(proc) < 0 || proc_number(proc) >= backend_slot_count())
            return QueueShape::Inconsistent;
        if (i == 0) mode = proc->waitLockMode;
        if (proc->waitLockMode != mode || proc->heldLocks != 0) return QueueShape::Mixed;

        PublishedWait wait;  // read under the waiter's change counter (pg/infra/shmem.hpp)
        WaiterInfo &info = scratch_waiters[i];
        info = WaiterInfo{};
        info.registered = read_published_wait(proc_number(proc), &wait) && wait.ref.same_tag(ref);
        info.priority = info.registered ? wait.priority : 0;
        info.tenant_share = info.registered ? queue_tenant_share(wait.tenant_slot, &distinct_tenants) : 0.0;
        info.enqueued_us = info.registered ? wait.wait_start : now;
        scratch_procs[i] = proc;
    }
    return wait_queue_next(lock, proc) == nullptr ? QueueShape::Orderable : QueueShape::Inconsistent;
}

// Rebuilds the queue in the new order, as DeadLockCheck does when it rearranges one. A
// permutation changes none of waitMask, requested[] or nRequested.
void rewrite_queue(LOCK *lock, int count) {
    wait_queue_rebuild(lock, scratch_procs, scratch_order, count);
    ProcLockWakeup(GetLocksMethodTable(lock), lock);
}

void order_one_queue(const LockRef &ref) {
    if (!may_have_waiter_for(ref)) return;
    LOCKTAG tag;
    make_lock_tag(&tag, ref);
    uint32 hashcode = LockTagHashCode(&tag);
    LWLock *partition_lock = LockHashPartitionLock(hashcode);

    LWLockAcquire(partition_lock, LW_EXCLUSIVE);
    LOCK *lock = find_my_lock(&tag, hashcode);
    int count = lock != nullptr ? wait_queue_length(lock) : 0;
    if (count >= 2 && count <= backend_slot_count()) {
        OrderPolicy policy{static_cast<int64_t>(settings.aging_ms) * 1000,
                           static_cast<int64_t>(settings.aging_grace_ms) * 1000};
        TimestampTz now = GetCurrentTimestamp();
        switch (read_queue(lock, ref, count, now)) {
            case QueueShape::Orderable: {
                size_t moved = compute_grant_order(scratch_waiters, count, now, policy, scratch_order);
                if (moved > 0) {
                    rewrite_queue(lock, count);
                    pg_atomic_fetch_add_u64(&shared->reorders, 1);
                    pg_atomic_fetch_add_u64(&shared->moved, static_cast<int64>(moved));
                }
                break;
            }
            case QueueShape::Mixed:
                pg_atomic_fetch_add_u64(&shared->mixed, 1);
                break;
            case QueueShape::Inconsistent:
                pg_atomic_fetch_add_u64(&shared->inconsistent, 1);
                break;
        }
    }
    LWLockRelease(partition_lock);
}

}  // namespace

void register_queue_order_state() { register_shmem_part({"lockguard queue order", shared_size, attach_shared}); }

void order_queues_before_release(SubTransactionId subxact) {
    BackendSlot *slot = my_backend_slot();
    if (slot == nullptr || slot->held_count == 0 || shared == nullptr) return;
    if (!any_wait_out_of_fifo()) return;  // FIFO is the grant order: nothing to permute
    if (scratch_waiters == nullptr) return;  // no lockguard lock was ever taken here
    for (int i = 0; i < slot->held_count; i++) {
        const PublishedLock &held = slot->held[i];
        if (subxact == InvalidSubTransactionId || held.subxact == subxact) order_one_queue(held.ref);
    }
}

void prepare_queue_ordering() {
    if (scratch_waiters != nullptr) return;
    int slots = backend_slot_count();
    scratch_waiters = static_cast<WaiterInfo *>(MemoryContextAllocZero(TopMemoryContext, sizeof(WaiterInfo) * slots));
    scratch_procs = static_cast<PGPROC **>(MemoryContextAllocZero(TopMemoryContext, sizeof(PGPROC *) * slots));
    scratch_order = static_cast<uint32_t *>(MemoryContextAllocZero(TopMemoryContext, sizeof(uint32_t) * slots));
    scratch_share_tenants = static_cast<int32 *>(MemoryContextAllocZero(TopMemoryContext, sizeof(int32) * slots));
    scratch_shares = static_cast<double *>(MemoryContextAllocZero(TopMemoryContext, sizeof(double) * slots));
}

void count_wait() { pg_atomic_fetch_add_u64(&shared->waits, 1); }

QueueStats read_queue_stats() {
    return QueueStats{pg_atomic_read_u64(&shared->waits), pg_atomic_read_u64(&shared->reorders),
                      pg_atomic_read_u64(&shared->moved), pg_atomic_read_u64(&shared->mixed),
                      pg_atomic_read_u64(&shared->inconsistent)};
}

}  // namespace lockguard::pg
