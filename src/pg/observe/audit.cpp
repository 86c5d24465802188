#include "pg/observe/audit.hpp"

#include "core/trace_context.hpp"
#include "pg/infra/clip.hpp"
#include "pg/infra/settings.hpp"
#include "pg/infra/shared_ring.hpp"
#include "pg/infra/shmem.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace lockguard::pg {

namespace {

SharedRing<AuditEntry> ring;

Size ring_size() { return SharedRing<AuditEntry>::size_for(settings.audit_buffer_size); }

void attach_ring(void *memory, bool found) {
    ring.attach(memory, found, settings.audit_buffer_size, LockguardLWLock::AuditRing);
}

// The one place a trace id is copied into an audit entry.
void fill_trace_id(char *out, size_t size) {
    if (settings.trace_id != nullptr && settings.trace_id[0] != '\0') {
        copy_clipped(out, size, settings.trace_id);
        return;
    }
    copy_traceparent_trace_id(application_name != nullptr ? application_name : "", out, size);
}

}  // namespace

AuditEntry new_audit_entry(WaitEventOutcome outcome, LockScope scope, const char *mode) {
    AuditEntry entry;
    memset(&entry, 0, sizeof(entry));
    entry.logged_at = GetCurrentTimestamp();
    entry.pid = MyProcPid;
    entry.role = GetUserId();
    entry.database = MyDatabaseId;
    entry.outcome = outcome;
    entry.scope = scope;
    strlcpy(entry.mode, mode, sizeof(entry.mode));
    fill_trace_id(entry.trace_id, sizeof(entry.trace_id));
    return entry;
}

void register_audit_ring() { register_shmem_part({"lockguard audit ring", ring_size, attach_ring}); }

void append_audit_entry(const AuditEntry &entry) {
    if (ring.attached()) ring.append(entry);
}

TimestampTz audit_epoch() { return ring.epoch(); }
int audit_capacity() { return ring.capacity(); }
int64 audit_last_seq() { return ring.last_seq(); }
int64 audit_overwritten() { return ring.overwritten(); }
int copy_audit_entries(AuditEntry *out, int capacity) { return ring.copy_oldest_first(out, capacity); }
void skip_audit_entries_through(int64 seq) { ring.skip_through(seq); }

}  // namespace lockguard::pg
