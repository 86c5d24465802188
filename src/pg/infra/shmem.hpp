// lockguard's shared memory: requested in shmem_request_hook, sized from GUCs, and split into
// parts, one per concern, each initialized once by the postmaster (or after a crash restart).
//
// THE LOCKING PROTOCOL of every part, stated here once (files that own a part point here).
//
// General rules
//  - Sizes, capacities and offsets (slot_count, stride, capacity, roles_offset, a ring's
//    capacity and epoch) are written once by the postmaster in the part's attach callback,
//    before any backend exists, and never change: everyone reads them without a lock.
//  - lockguard's LWLocks (LockguardLWLock below) are leaves: no code holds two of them, and
//    none is taken while a lock-manager partition lock is held. Nothing sleeps, does I/O or
//    runs SQL while holding one (the tenants reload reads its tables before taking the lock).
//  - A counter that is a pg_atomic on its own (statistics) is read without a lock; a reader may
//    see two counters of one event at different moments: nothing derives a decision from two.
//  - Shared memory dies with a crash restart: nothing persists a half-written entry.
//
// Backend slots ("lockguard backend slots", pg/backend_slots.cpp), one per PGPROC (by process number)
//  - Writer: only the backend that owns the PGPROC, and only through apply_slot_change(), which
//    takes the new values ready-made and, between two increments of the slot's change_count
//    (a seqlock: odd while written), only stores; nothing between can raise, so the count is
//    never left odd. pid, wait_start, wait, held_count, held[] and `waiting` change only there.
//  - Readers of another backend's slot: read_backend_slot() (views) and read_published_wait()
//    (the releaser) copy under the change counter: read an even count, copy, re-read the count,
//    retry if it moved. The releaser's reader spins without CHECK_FOR_INTERRUPTS (it runs under a
//    partition lock in a transaction callback); the views' reader checks for interrupts.
//  - The owner reads its own slot without the counter: nobody else writes it.
//  - wait_keys[procno] (a fingerprint of the awaited tag, 0 = none) and waiting_backends (the
//    number of published waits) are atomics, written by the owner inside its edit and read
//    without a lock by releasers as hints: 0 waiters means no queue needs ordering, and a
//    fingerprint match (false positives possible) means one may. A waiter publishes before
//    LockAcquire puts it in the queue under the partition lock; a releaser that read the hint
//    just before that publication leaves that newcomer in FIFO place for this one release.
//  - A slot outlives its owner: the owner clears it at transaction end and in before_shmem_exit
//    (FATAL included); the next owner of the PGPROC starts from that cleared state.
//
// Queue statistics ("lockguard queue order"): atomics, added to by any backend, read without a
// lock by lockguard.queue_stats().
//
// Tenants ("lockguard tenants", pg/tenants.cpp)
//  - config_generation: atomic, bumped by the backend whose committing transaction changed the
//    tenant tables; read without a lock to decide whether to reload.
//  - Tenant entries (in_use, configured, name, max_held, max_waiters, weight), the role map and
//    loaded_generation/loaded_database/loaded_source: written under the Tenants LWLock in
//    exclusive mode (the reload); read under it in shared mode (tenant resolution, the view).
//  - held, waiting, rejected: atomics, changed by any backend without a lock (reserve/release);
//    the budget check is fetch_add-then-compare, so two racing reservations cannot both pass.
//  - Read without the lock, by design: a limit (max_held, max_waiters) in the budget check, the
//    weight in the fair-share key, a name for audit and statistics. Each is one aligned word (a
//    name a fixed array) that the reload overwrites only in place: a reader sees the value from
//    before or after a reload, as if it had run a moment earlier or later. A name is rewritten
//    only in an entry that is free, or removed with held = waiting = 0, so a backend counting in
//    an entry reads its name safely. The one window: between resolving its tenant (under the
//    lock) and reserving (after it), a backend does not count yet, and a reload in that instant
//    may give a removed, drained entry to a new tenant; the backend then counts against that
//    one, and its releases go to the same slot, so the counts stay balanced.
//
// Audit ring ("lockguard audit ring") and deadlock ring ("lockguard deadlocks"), both a
// SharedRing (pg/infra/shared_ring.hpp): the cursor (next_seq, overwritten) and the entries are
// written under the ring's LWLock (AuditRing, Deadlocks) in exclusive mode, one whole entry per
// append, built before the lock is taken; readers copy under it in shared mode, so they never
// see half an entry. epoch and capacity: set at startup, read without the lock.
//
// Wait statistics ("lockguard wait statistics", pg/wait_stats.cpp): an open-addressing table
// whose entries are never removed. A new entry's key (tenant, scope, class) is written under the
// WaitStats LWLock, then `in_use` is set after a write barrier; lookups and readers run without
// the lock and skip entries whose in_use is 0 (a read barrier follows in_use). Counters and
// histogram buckets are atomics; a reset writes each to 0 on its own (not one instant).
//
// Worker statistics ("lockguard worker statistics", pg/worker.cpp): atomics written only by the
// background worker (one per cluster), read without a lock by lockguard.worker_stats().
//
// Fencing tokens and run-once operations keep no shared memory: they live in tables, under
// row locks (sql_failover.cpp).
#pragma once

#include "pg/infra/pg_prelude.hpp"

namespace lockguard::pg {

struct ShmemPart {
    const char *name;                     // ShmemInitStruct name, shown in pg_shmem_allocations
    Size (*size)();                       // called from shmem_request_hook (MaxBackends is known)
    void (*attach)(void *memory, bool found);  // called in every process from shmem_startup_hook
};

// Called from _PG_init, before the hooks run.
void register_shmem_part(const ShmemPart &part);

// Called by the shared-memory hooks (infra/hooks.cpp): request every registered part's size
// and the LWLock tranche; then create or attach each part, in every process.
void request_shmem_parts();
void attach_shmem_parts();

// lockguard's own LWLocks (one named tranche, "lockguard" in pg_stat_activity's wait_event).
enum class LockguardLWLock { AuditRing = 0, WaitStats, Tenants, Deadlocks, Count };
LWLock *lockguard_lwlock(LockguardLWLock which);


// Raises 55000 with a hint unless lockguard was preloaded.
void require_preloaded();

// Every PGPROC has a process number below this (regular backends, auxiliary processes, prepared
// transactions' dummy procs), so a per-proc array of this size needs no other lookup.
int total_proc_slots();

}  // namespace lockguard::pg
