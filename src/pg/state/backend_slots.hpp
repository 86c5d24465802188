// One shared slot per PGPROC (by process number) where each backend publishes the lockguard
// locks it holds and the one it waits for, for the views and for releasers ordering a wait
// queue. Who writes and reads which field, under which change counter: pg/infra/shmem.hpp.
#pragma once

#include "pg/infra/lock_tags.hpp"

namespace lockguard::pg {

constexpr int kResourceNameBytes = 256;  // resource names are at most 255 bytes

struct PublishedLock {
    LockRef ref;
    LockScope scope;
    int32 priority;
    int32 tenant_slot;         // whose budget it counts against (opaque here: pg/state/tenant_hooks.hpp)
    bool budget_charged;       // counted in the tenant's held locks: false for a second mode of a
                               // resource this backend already holds (one resource counts once)
    char mode_name[24];        // as the caller named it, canonical: "exclusive", "FOR UPDATE", ...
    char resource_class[64];   // for statistics: the schema-qualified table, or a name's prefix before ':'
    SubTransactionId subxact;  // the subtransaction that first took it (owner's view)
    char name[kResourceNameBytes];
};

struct BackendSlot {
    pg_atomic_uint32 change_count;  // seqlock: odd while the owner edits the slot
    pg_atomic_uint32 waiting;       // 1 while `wait` describes a wait in the lock manager
    int32 pid;
    TimestampTz wait_start;
    PublishedLock wait;
    int32 held_count;
    PublishedLock held[FLEXIBLE_ARRAY_MEMBER];  // lockguard.max_locks_per_backend entries
};

void register_backend_slots();

int backend_slot_count();
BackendSlot *backend_slot(int procno);
BackendSlot *my_backend_slot();  // nullptr before shared memory is attached

// Cheap checks for releasers: does any wait anywhere have a priority other than 0 or a tenant
// other than the default (otherwise every queue's grant order is its FIFO order, and a release
// leaves it alone), and is anyone maybe waiting for this tag (a compact array of tag
// fingerprints; a false positive only costs a look at the real queue).
bool any_wait_out_of_fifo();
bool may_have_waiter_for(const LockRef &ref);
uint64 wait_fingerprint(const LockRef &ref);

// Owner-side edits. Each is one call of the slot's single writer, which only stores between the
// two increments of the change counter (the protocol is in pg/infra/shmem.hpp).
void publish_wait(const PublishedLock &lock);
void clear_wait();
// Records a lock now held; false if the slot is full (the caller raises the error).
bool publish_held(const PublishedLock &lock);
bool holds_published(const LockRef &ref);
bool holds_resource_published(const LockRef &ref);  // the same resource, in any mode
bool has_free_held_entry();
bool holds_any_published();  // any lockguard lock held, or a wait published, by this backend
void forget_held_locks_of_subxact(SubTransactionId subxact);
void move_held_locks_to_parent(SubTransactionId subxact, SubTransactionId parent);
void forget_all_held_locks();

// For lockguard._shared_state(): the count of published waits, of those among them that order
// out of FIFO (any_wait_out_of_fifo), and one slot's wait fingerprint.
uint32 lockguard_waiter_count();
uint32 ordered_waiter_count();
uint64 wait_key_of(int procno);

// Reader side: a consistent copy of another backend's slot (`copy` has room for
// lockguard.max_locks_per_backend held entries).
void read_backend_slot(int procno, BackendSlot *copy);

// The releaser's read: what one slot's wait is ordered by, copied under the same change counter.
// Only these fields, at the start of the slot, and not the published names: the releaser reads
// every waiter of a queue while it holds the lock and the queue's partition lock, and each
// further cache line of another backend's slot is a miss there. Returns whether the backend
// publishes a wait. Never raises (it spins, without checking for interrupts, while an edit is
// in progress).
struct PublishedWait {
    bool waiting;
    TimestampTz wait_start;
    LockRef ref;
    int32 priority;
    int32 tenant_slot;
};
bool read_published_wait(int procno, PublishedWait *out);
Size backend_slot_size();

}  // namespace lockguard::pg
