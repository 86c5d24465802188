#include "pg/observe/audit.hpp"

#include "pg/infra/settings.hpp"
#include "pg/infra/shmem.hpp"

namespace lockguard::pg {

namespace {

struct AuditRing {
    int capacity;
    TimestampTz epoch;
    int64 next_seq;     // seq of the next entry
    int64 overwritten;  // entries pushed out of the ring: lost unless flushed before (a gap in seq shows it)
    AuditEntry entries[FLEXIBLE_ARRAY_MEMBER];
};

AuditRing *ring = nullptr;

Size ring_size() {
    return add_size(offsetof(AuditRing, entries), mul_size(settings.audit_buffer_size, sizeof(AuditEntry)));
}

void attach_ring(void *memory, bool found) {
    ring = static_cast<AuditRing *>(memory);
    if (found) return;
    ring->capacity = settings.audit_buffer_size;
    ring->epoch = GetCurrentTimestamp();
    ring->next_seq = 1;
}

}  // namespace

void register_audit_ring() { register_shmem_part({"lockguard audit ring", ring_size, attach_ring}); }

void append_audit_entry(const AuditEntry &entry) {
    if (ring == nullptr) return;
    LWLockAcquire(lockguard_lwlock(LockguardLWLock::AuditRing), LW_EXCLUSIVE);
    int64 seq = ring->next_seq++;
    AuditEntry *slot = &ring->entries[(seq - 1) % ring->capacity];
    if (slot->seq != 0) ring->overwritten++;
    *slot = entry;
    slot->seq = seq;
    LWLockRelease(lockguard_lwlock(LockguardLWLock::AuditRing));
}

TimestampTz audit_epoch() { return ring->epoch; }
int audit_capacity() { return ring->capacity; }

int64 audit_last_seq() {
    LWLockAcquire(lockguard_lwlock(LockguardLWLock::AuditRing), LW_SHARED);
    int64 last = ring->next_seq - 1;
    LWLockRelease(lockguard_lwlock(LockguardLWLock::AuditRing));
    return last;
}

int64 audit_overwritten() {
    LWLockAcquire(lockguard_lwlock(LockguardLWLock::AuditRing), LW_SHARED);
    int64 value = ring->overwritten;
    LWLockRelease(lockguard_lwlock(LockguardLWLock::AuditRing));
    return value;
}

int copy_audit_entries(AuditEntry *out, int capacity) {
    LWLockAcquire(lockguard_lwlock(LockguardLWLock::AuditRing), LW_SHARED);
    int64 newest = ring->next_seq - 1;
    int64 oldest = newest - ring->capacity + 1;
    if (oldest < 1) oldest = 1;
    int count = 0;
    for (int64 seq = oldest; seq <= newest && count < capacity; seq++)
        out[count++] = ring->entries[(seq - 1) % ring->capacity];
    LWLockRelease(lockguard_lwlock(LockguardLWLock::AuditRing));
    return count;
}

}  // namespace lockguard::pg
