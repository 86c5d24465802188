#include "pg/observe/wait_events.hpp"

#include "pg/observe/audit.hpp"
#include "pg/infra/settings.hpp"
#include "pg/tenants/tenants.hpp"
#include "pg/observe/wait_stats.hpp"

namespace lockguard::pg {

namespace {

int32 pending_blockers[kAuditMaxBlockers];
int pending_blocker_count = 0;

bool worth_auditing(WaitEventOutcome outcome, long waited_us, int attempts) {
    if (outcome != WaitEventOutcome::Granted || attempts > 1) return true;
    return settings.audit_min_wait_ms >= 0 && waited_us >= static_cast<long>(settings.audit_min_wait_ms) * 1000;
}

void audit(const PublishedLock &lock, WaitEventOutcome outcome, long waited_us, int attempts) {
    AuditEntry entry = new_audit_entry(outcome, lock.scope, lock.mode_name);
    entry.priority = lock.priority;
    entry.attempts = attempts;
    entry.waited_us = waited_us;
    entry.blocker_count = pending_blocker_count;
    memcpy(entry.blockers, pending_blockers, sizeof(pending_blockers));
    strlcpy(entry.tenant, tenant_name(lock.tenant_slot), sizeof(entry.tenant));
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
