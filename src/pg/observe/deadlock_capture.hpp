// Deadlocks captured as they happen, not by sampling. Three sources, each written into a shared
// ring that the worker persists into lockguard.deadlock_log:
//  - "error":     a deadlock error (40P01) that reaches the server log (emit_log_hook); its
//                 log-only detail names every process of the cycle and its query;
//  - "lockguard": a deadlock on a lockguard wait, or one that lockguard_run's work ran into and
//                 lockguard_run caught to retry, recorded by lockguard itself (with the cycle and
//                 every query), so one that its own retries (or any exception block) catch is
//                 not lost;
//  - "log":       the victim's "detected deadlock" line of log_lock_waits, which also covers
//                 deadlocks an application's exception block catches outside lockguard.
#pragma once

#include "pg/infra/pg_prelude.hpp"

namespace lockguard::pg {

constexpr int kDeadlockTextBytes = 6144;

enum class DeadlockSource : uint8 { Error = 0, Lockguard = 1, Log = 2 };

struct DeadlockEntry {
    int64 seq;  // 0 = empty
    TimestampTz detected_at;
    int32 pid;
    Oid database;
    DeadlockSource source;
    char message[256];
    char detail[kDeadlockTextBytes];  // the cycle; with the queries where PostgreSQL gave them
};

void register_deadlock_capture();
void install_deadlock_hook();

// Called by lockguard's wait and by lockguard_run when they caught 40P01.
void capture_deadlock_error(const ErrorData *error, DeadlockSource source);

TimestampTz deadlock_epoch();
int64 deadlock_last_seq();
int copy_deadlock_entries(DeadlockEntry *out, int capacity);
// In this process only: copies leave out the entries numbered up to `seq` (the worker's persisted).
void skip_deadlock_entries_through(int64 seq);
int deadlock_capacity();
const char *deadlock_source_name(DeadlockSource source);

}  // namespace lockguard::pg
