// Guardrails: lock policies (lockguard.lock_policies) enforced before a lock is requested.
//
// A ProcessUtility check works out which table locks LOCK TABLE and DDL would take (through
// views, inheritance and partition trees, foreign keys) and an ExecutorStart check looks at the
// plan's exclusive row marks; a forbidden lock is refused with SQLSTATE LG004 unless the role is
// exempt or a superuser set lockguard.override_policies. Rejections and overrides are audited in
// the shared audit ring, so a rolled-back transaction cannot lose them.
#pragma once

#include "pg/infra/pg_prelude.hpp"
#include "pg/observe/wait_event_outcome.hpp"

namespace lockguard::pg {

// Audit outcomes of guardrail events (named in pg/observe/wait_event_outcome.hpp).
constexpr WaitEventOutcome kOutcomeRejected = WaitEventOutcome::Rejected;
constexpr WaitEventOutcome kOutcomeOverride = WaitEventOutcome::Override;
constexpr WaitEventOutcome kOutcomeCancelled = WaitEventOutcome::Cancelled;
constexpr WaitEventOutcome kOutcomeTerminated = WaitEventOutcome::Terminated;

// Called once from _PG_init: registers the utility and executor-start checks with the hook
// registry (infra/hooks.hpp).
void register_guardrail_checks();

// Raises LG004 unless taking `mode` on `relation` (and on its inheritance children and
// partitions, when `with_children`) is allowed for the current user. `command` names what asked
// for the lock in the error ("LOCK TABLE"). Holds only trivial objects; may throw (C++) while
// loading policies, so call it under run_at_boundary().
void check_table_lock_policy(Oid relation, LOCKMODE mode, bool with_children, const char *command);

}  // namespace lockguard::pg
