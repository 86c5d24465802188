// What every acquisition leaves behind: wait statistics (all of them, in shared-memory
// histograms) and an audit entry (those that waited long, timed out, deadlocked or retried,
// in a shared ring that lockguard.flush_audit() and the worker persist: never lost when the
// caller's transaction rolls back, and no table write in the acquiring transaction).
#pragma once

#include "pg/state/backend_slots.hpp"

namespace lockguard::pg {

// Stored in the audit ring: values never change meaning. 5..8 are the guardrails' (a lock refused
// by a policy, let through by the override, a blocker cancelled or terminated).
enum class WaitEventOutcome : uint8 {
    Granted = 0,
    Timeout = 1,
    Deadlock = 2,
    Retried = 3,
    GaveUp = 4,
    Rejected = 5,
    Override = 6,
    Cancelled = 7,
    Terminated = 8,
};

const char *wait_event_outcome_name(WaitEventOutcome outcome);

// Records one acquisition of `lock` (or one failed attempt) under its resource class (the
// table, or a name's prefix before ':'). Never raises.
void record_wait_event(const PublishedLock &lock, WaitEventOutcome outcome, long waited_us, int attempts);

// The holders to name in the audit entry of the next event this backend records.
void remember_blockers(const int32 *pids, int count);

void register_wait_events_state();

}  // namespace lockguard::pg
