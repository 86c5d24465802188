// What every acquisition leaves behind: wait statistics (all of them, in shared-memory
// histograms) and an audit entry (those that waited long, timed out, deadlocked or retried,
// in a shared ring that lockguard.flush_audit() and the worker persist: never lost when the
// caller's transaction rolls back, and no table write in the acquiring transaction).
#pragma once

#include "pg/observe/wait_event_outcome.hpp"
#include "pg/state/backend_slots.hpp"

namespace lockguard::pg {

// Records one acquisition of `lock` (or one failed attempt) under its resource class (the
// table, or a name's prefix before ':'). Never raises.
void record_wait_event(const PublishedLock &lock, WaitEventOutcome outcome, long waited_us, int attempts);

// The holders to name in the audit entry of the next event this backend records.
void remember_blockers(const int32 *pids, int count);

void register_wait_events_state();

}  // namespace lockguard::pg
