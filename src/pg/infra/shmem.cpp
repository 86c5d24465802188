#include "pg/infra/shmem.hpp"

extern "C" {
#include "access/twophase.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
}

namespace lockguard::pg {

namespace {

constexpr int kMaxParts = 16;
ShmemPart parts[kMaxParts];
int part_count = 0;
bool attached = false;

constexpr const char *kTrancheName = "lockguard";
LWLockPadded *lwlocks = nullptr;

}  // namespace

void request_shmem_parts() {
    for (int i = 0; i < part_count; i++) RequestAddinShmemSpace(MAXALIGN(parts[i].size()));
    RequestNamedLWLockTranche(kTrancheName, static_cast<int>(LockguardLWLock::Count));
}

void attach_shmem_parts() {
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    lwlocks = GetNamedLWLockTranche(kTrancheName);
    for (int i = 0; i < part_count; i++) {
        bool found = false;
        Size size = parts[i].size();
        void *memory = ShmemInitStruct(parts[i].name, size, &found);
        if (!found) memset(memory, 0, size);
        parts[i].attach(memory, found);
    }
    LWLockRelease(AddinShmemInitLock);
    attached = true;
}

void register_shmem_part(const ShmemPart &part) {
    // Called from _PG_init: a full table is a programming error, refused in every build.
    if (part_count >= kMaxParts) elog(ERROR, "lockguard registers more than %d shared-memory parts", kMaxParts);
    parts[part_count++] = part;
}

LWLock *lockguard_lwlock(LockguardLWLock which) { return &lwlocks[static_cast<int>(which)].lock; }

void require_preloaded() {
    if (!attached)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("lockguard must be loaded via shared_preload_libraries"),
                        errdetail("lockguard keeps its wait queues and statistics in shared memory, "
                                  "which is set up only when the server starts."),
                        errhint("Add lockguard to shared_preload_libraries in postgresql.conf "
                                "(shared_preload_libraries = 'lockguard') and restart the server.")));
}

int total_proc_slots() { return MaxBackends + NUM_AUXILIARY_PROCS + max_prepared_xacts; }

}  // namespace lockguard::pg
