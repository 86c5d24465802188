#include "pg/observe/deadlock_capture.hpp"

#include "core/resource_key.hpp"
#include "pg/infra/clip.hpp"
#include "pg/infra/hooks.hpp"
#include "pg/infra/shared_ring.hpp"

namespace lockguard::pg {

namespace {

constexpr int kRingEntries = 64;

SharedRing<DeadlockEntry> ring;
uint64 last_captured_fingerprint = 0;  // this backend's last capture, so a re-raise is not counted twice

Size ring_size() { return SharedRing<DeadlockEntry>::size_for(kRingEntries); }

void attach_ring(void *memory, bool found) { ring.attach(memory, found, kRingEntries, LockguardLWLock::Deadlocks); }

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
    if (!ring.attached()) return;
    DeadlockEntry entry;  // built before taking the ring's lock, copied in under it
    memset(&entry, 0, sizeof(entry));
    entry.detected_at = GetCurrentTimestamp();
    entry.pid = MyProcPid;
    entry.database = MyDatabaseId;
    entry.source = source;
    copy_clipped(entry.message, sizeof(entry.message), message != nullptr ? message : "");
    copy_clipped(entry.detail, sizeof(entry.detail), detail);
    ring.append(entry);
}

bool is_deadlock_log_line(const ErrorData *error) {
    // log_lock_waits' line in the victim, matched on the untranslated format string.
    return error->elevel == LOG && error->message_id != nullptr &&
           strncmp(error->message_id, "process %d detected deadlock", 28) == 0;
}

// Runs for every message of every backend: the cheap test comes first. Never raises.
void capture_from_log(ErrorData *error) {
    if (!ring.attached() || MyProc == nullptr) return;
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

TimestampTz deadlock_epoch() { return ring.epoch(); }
int64 deadlock_last_seq() { return ring.last_seq(); }
int deadlock_capacity() { return ring.capacity(); }
int copy_deadlock_entries(DeadlockEntry *out, int capacity) { return ring.copy_oldest_first(out, capacity); }
void skip_deadlock_entries_through(int64 seq) { ring.skip_through(seq); }

const char *deadlock_source_name(DeadlockSource source) {
    switch (source) {
        case DeadlockSource::Error: return "error";
        case DeadlockSource::Lockguard: return "lockguard";
        case DeadlockSource::Log: return "log";
    }
    return "unknown";
}

}  // namespace lockguard::pg
