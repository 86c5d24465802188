// lockguard's shared memory: requested in shmem_request_hook, sized from GUCs, and split into
// parts, one per concern, each initialized once by the postmaster (or after a crash restart).
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

// True once _PG_init ran from shared_preload_libraries and shared memory is attached.
bool shmem_ready();

// Raises 55000 with a hint unless lockguard was preloaded.
void require_preloaded();

// Every PGPROC has a pgprocno below this (regular backends, auxiliary processes, prepared
// transactions' dummy procs), so a per-proc array of this size needs no other lookup.
int total_proc_slots();

}  // namespace lockguard::pg
