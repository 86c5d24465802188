// The outcome of one acquisition or guardrail event, as stored in the audit ring and counted by
// the wait statistics. Its own header so that the audit ring and the statistics (which store it)
// and wait_events (which writes both) do not include each other.
#pragma once

#include "pg/infra/pg_prelude.hpp"

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

}  // namespace lockguard::pg
