// The audit ring: entries that must outlive the caller's transaction. Written in shared memory
// by the acquiring backend, copied into lockguard.audit_log by lockguard.flush_audit() (called by
// the background worker) in a transaction of its own.
#pragma once

#include "pg/state/backend_slots.hpp"
#include "pg/observe/wait_event_outcome.hpp"

namespace lockguard::pg {

constexpr int kAuditMaxBlockers = 8;
constexpr int kTenantNameBytes = 64;
constexpr int kTraceIdBytes = 64;

struct AuditEntry {
    int64 seq;  // increasing within one shared-memory epoch; 0 = empty
    TimestampTz logged_at;
    int32 pid;
    Oid role;
    Oid database;
    int32 priority;
    int32 attempts;
    int64 waited_us;
    WaitEventOutcome outcome;
    LockScope scope;
    int32 blocker_count;
    int32 blockers[kAuditMaxBlockers];
    char tenant[kTenantNameBytes];
    char mode[24];
    char trace_id[kTraceIdBytes];
    char resource[kResourceNameBytes];
    char resource_class[64];
};

void register_audit_ring();

// Every audit entry starts here: the time, this backend's pid, role and database, the outcome,
// scope and mode, and the trace id (lockguard.trace_id, else a W3C traceparent in
// application_name); the rest is zero. The writer then fills what only it knows.
AuditEntry new_audit_entry(WaitEventOutcome outcome, LockScope scope, const char *mode);
void append_audit_entry(const AuditEntry &entry);

// The epoch (when shared memory was set up) and a copy of the ring, oldest first (made in chunks:
// SharedRing::copy_oldest_first).
TimestampTz audit_epoch();
int copy_audit_entries(AuditEntry *out, int capacity);
// In this process only: copies (and so lockguard._audit_buffer()) leave out the entries numbered
// up to `seq`. The worker calls it with what it has persisted.
void skip_audit_entries_through(int64 seq);
int audit_capacity();
int64 audit_last_seq();
int64 audit_overwritten();

}  // namespace lockguard::pg
