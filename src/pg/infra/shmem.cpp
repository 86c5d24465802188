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

shmem_request_hook_type previous_request_hook = nullptr;
shmem_startup_hook_type previous_startup_hook = nullptr;

constexpr const char *kTrancheName = "lockguard";
LWLockPadded *lwlocks = nullptr;

void request_shmem() {
    if (previous_request_hook) previous_request_hook();
    for (int i = 0; i < part_count; i++) RequestAddinShmemSpace(MAXALIGN(parts[i].size()));
    RequestNamedLWLockTranche(kTrancheName, static_cast<int>(LockguardLWLock::Count));
}

void startup_shmem() {
    if (previous_startup_hook) previous_startup_hook();
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

}  // namespace

void register_shmem_part(const ShmemPart &part) {
    Assert(part_count < kMaxParts);
    parts[part_count++] = part;
}

void install_shmem_hooks() {
    previous_request_hook = shmem_request_hook;
    shmem_request_hook = request_shmem;
    previous_startup_hook = shmem_startup_hook;
    shmem_startup_hook = startup_shmem;
}

bool shmem_ready() { return attached; }

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
