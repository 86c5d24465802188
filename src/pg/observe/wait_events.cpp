#include "pg/observe/wait_events.hpp"

#include "core/trace_context.hpp"
#include "pg/observe/audit.hpp"
#include "pg/infra/clip.hpp"
#include "pg/infra/settings.hpp"
#include "pg/tenants/tenants.hpp"
#include "pg/observe/wait_stats.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace lockguard::pg {

namespace {

int32 pending_blockers[kAuditMaxBlockers];
int pending_blocker_count = 0;

bool worth_auditing(WaitEventOutcome outcome, long waited_us, int attempts) {
    if (outcome != WaitEventOutcome::Granted || attempts > 1) return true;
    return settings.audit_min_wait_ms >= 0 && waited_us >= static_cast<long>(settings.audit_min_wait_ms) * 1000;
}

void fill_trace_id(char *out, size_t size) {
    if (settings.trace_id != nullptr && settings.trace_id[0] != '\0') {
        copy_clipped(out, size, settings.trace_id);
        return;
    }
    copy_traceparent_trace_id(application_name != nullptr ? application_name : "", out, size);
}

void audit(const PublishedLock &lock, WaitEventOutcome outcome, long waited_us, int attempts) {
    AuditEntry entry{};
    entry.logged_at = GetCurrentTimestamp();
    entry.pid = MyProcPid;
    entry.role = GetUserId();
    entry.database = MyDatabaseId;
    entry.priority = lock.priority;
    entry.attempts = attempts;
    entry.waited_us = waited_us;
    entry.outcome = outcome;
    entry.scope = lock.scope;
    entry.blocker_count = pending_blocker_count;
    memcpy(entry.blockers, pending_blockers, sizeof(pending_blockers));
    strlcpy(entry.tenant, tenant_name(lock.tenant_slot), sizeof(entry.tenant));
    strlcpy(entry.mode, lock.mode_name, sizeof(entry.mode));
    fill_trace_id(entry.trace_id, sizeof(entry.trace_id));
    strlcpy(entry.resource, lock.name, sizeof(entry.resource));
    strlcpy(entry.resource_class, lock.resource_class, sizeof(entry.resource_class));
    append_audit_entry(entry);
}

}  // namespace

void remember_blockers(const int32 *pids, int count) {
    pending_blocker_count = count < kAuditMaxBlockers ? count : kAuditMaxBlockers;
    memcpy(pending_blockers, pids, sizeof(int32) * pending_blocker_count);
}

void record_wait_event(const PublishedLock &lock, WaitEventOutcome outcome, long waited_us, int attempts) {
    add_wait_stats(tenant_name(lock.tenant_slot), lock.scope, lock.resource_class, outcome, waited_us);
    if (worth_auditing(outcome, waited_us, attempts)) audit(lock, outcome, waited_us, attempts);
    pending_blocker_count = 0;
}

void register_wait_events_state() {
    register_audit_ring();
    register_wait_stats();
}

}  // namespace lockguard::pg
