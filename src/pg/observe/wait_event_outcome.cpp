#include "pg/observe/wait_event_outcome.hpp"

namespace lockguard::pg {

const char *wait_event_outcome_name(WaitEventOutcome outcome) {
    switch (outcome) {
        case WaitEventOutcome::Granted: return "granted";
        case WaitEventOutcome::Timeout: return "timeout";
        case WaitEventOutcome::Deadlock: return "deadlock";
        case WaitEventOutcome::Retried: return "retried";
        case WaitEventOutcome::GaveUp: return "gave up";
        case WaitEventOutcome::Rejected: return "rejected";
        case WaitEventOutcome::Override: return "override";
        case WaitEventOutcome::Cancelled: return "cancelled";
        case WaitEventOutcome::Terminated: return "terminated";
    }
    return "unknown";
}

}  // namespace lockguard::pg
