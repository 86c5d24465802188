// Inside the guard wing: the policies in force in this backend and how a lock is judged against
// them (guardrails.cpp), shared by the two checks that work out what a statement would lock
// (utility_check.cpp, row_mark_check.cpp). Not for other wings: they use guard/guardrails.hpp.
#pragma once

#include "core/policy.hpp"
#include "pg/infra/hooks.hpp"
#include "pg/infra/lock_tags.hpp"

namespace lockguard::pg {

// Client statements in a normal transaction; never the extension's own script or a binary upgrade.
bool guardrails_active();

// The policies in force here, loaded if needed (may throw: call under run_at_boundary). Never
// nullptr.
const PolicySet &current_policies();

// The exempt roles of `policy` the current user is a member of; `out` has room for all of them.
int exempt_roles_held(const LockPolicy *policy, RoleId *out);

// A forbidden lock: audited, then refused (LG004), or let through when the session overrides
// policies.
void enforce(const LockPolicy *policy, Oid relation, const char *mode, LockScope scope, const char *command,
             const char *via);

// Judges `lockmode` on `relation` against its own policy and those of its ancestors that
// include children, enforcing every forbidden lock.
void judge_one_table(const PolicySet &policies, Oid relation, LOCKMODE lockmode, const char *command,
                     const char *via);

// The same for `relation` and, when `with_children`, every inheritance child and partition
// below it.
void judge_table_tree(const PolicySet &policies, Oid relation, LOCKMODE lockmode, bool with_children,
                      const char *command, const char *via);

// The two checks registered with the hook registry (register_guardrail_checks).
void check_utility_statement(PlannedStmt *statement);     // utility_check.cpp
void check_executor_start(QueryDesc *query, int eflags);  // row_mark_check.cpp

}  // namespace lockguard::pg
