#include "pg/observe/deadlock_capture.hpp"

#include "core/resource_key.hpp"
#include "pg/infra/clip.hpp"
#include "pg/infra/hooks.hpp"
#include "pg/infra/shmem.hpp"

namespace lockguard::pg {

namespace {

constexpr int kRingEntries = 64;

struct DeadlockRing {
    TimestampTz epoch;
    int64 next_seq;
    DeadlockEntry entries[kRingEntries];
};

DeadlockRing *ring = nullptr;
uint64 last_captured_fingerprint = 0;  // this backend's last capture, so a re-raise is not counted twice

Size ring_size() { return sizeof(DeadlockRing); }

void attach_ring(void *memory, bool found) {
    ring = static_cast<DeadlockRing *>(memory);
    if (found) return;
    ring->epoch = GetCurrentTimestamp();
    ring->next_seq = 1;
}

uint64 fingerprint(const char *message, const char *detail) {
    uint64_t h = fnv1a64(message != nullptr ? message : "");
    return fnv1a64(detail != nullptr ? detail : "", h);
}

// The detail with the queries (log-only) if there is one, else the client detail.
const char *best_detail(const ErrorData *error) {
    if (error->detail_log != nullptr) return error->detail_log;
    return error->detail != nullptr ? error->detail : "";
}

void append_entry(const char *message, const char *detail, DeadlockSource source) {
    if (ring == nullptr) return;
    LWLock *lock = lockguard_lwlock(LockguardLWLock::Deadlocks);
    LWLockAcquire(lock, LW_EXCLUSIVE);
    int64 seq = ring->next_seq++;
    DeadlockEntry *entry = &ring->entries[(seq - 1) % kRingEntries];
    entry->seq = seq;
    entry->detected_at = GetCurrentTimestamp();
    entry->pid = MyProcPid;
    entry->database = MyDatabaseId;
    entry->source = source;
    copy_clipped(entry->message, sizeof(entry->message), message != nullptr ? message : "");
    copy_clipped(entry->detail, sizeof(entry->detail), detail);
    LWLockRelease(lock);
}

bool is_deadlock_log_line(const ErrorData *error) {
    // log_lock_waits' line in the victim, matched on the untranslated format string.
    return error->elevel == LOG && error->message_id != nullptr &&
           strncmp(error->message_id, "process %d detected deadlock", 28) == 0;
}

// Runs for every message of every backend: the cheap test comes first. Never raises.
void capture_from_log(ErrorData *error) {
    if (ring == nullptr || MyProc == nullptr) return;
    if (error->sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED && error->elevel >= ERROR) {
        uint64 print = fingerprint(error->message, best_detail(error));
        if (print != last_captured_fingerprint) append_entry(error->message, best_detail(error), DeadlockSource::Error);
        last_captured_fingerprint = 0;
    } else if (is_deadlock_log_line(error)) {
        append_entry(error->message, error->detail != nullptr ? error->detail : "", DeadlockSource::Log);
    }
}

}  // namespace

void register_deadlock_capture() { register_shmem_part({"lockguard deadlocks", ring_size, attach_ring}); }

void install_deadlock_hook() { add_log_observer(capture_from_log); }

void capture_deadlock_error(const ErrorData *error, DeadlockSource source) {
    uint64 print = fingerprint(error->message, best_detail(error));
    if (print == last_captured_fingerprint) return;  // the same error, caught again further out
    append_entry(error->message, best_detail(error), source);
    last_captured_fingerprint = print;
}

TimestampTz deadlock_epoch() { return ring->epoch; }

int64 deadlock_last_seq() {
    LWLock *lock = lockguard_lwlock(LockguardLWLock::Deadlocks);
    LWLockAcquire(lock, LW_SHARED);
    int64 last = ring->next_seq - 1;
    LWLockRelease(lock);
    return last;
}

int deadlock_capacity() { return kRingEntries; }

int copy_deadlock_entries(DeadlockEntry *out, int capacity) {
    LWLock *lock = lockguard_lwlock(LockguardLWLock::Deadlocks);
    LWLockAcquire(lock, LW_SHARED);
    int64 newest = ring->next_seq - 1;
    int64 oldest = std::max<int64>(1, newest - kRingEntries + 1);
    int count = 0;
    for (int64 seq = oldest; seq <= newest && count < capacity; seq++)
        out[count++] = ring->entries[(seq - 1) % kRingEntries];
    LWLockRelease(lock);
    return count;
}

const char *deadlock_source_name(DeadlockSource source) {
    switch (source) {
        case DeadlockSource::Error: return "error";
        case DeadlockSource::Lockguard: return "lockguard";
        case DeadlockSource::Log: return "log";
    }
    return "unknown";
}

}  // namespace lockguard::pg
