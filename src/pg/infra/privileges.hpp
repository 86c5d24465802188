// Who may see what, and running lockguard's own statements as the owner of its tables.
//
// Other sessions' details (query texts, session state, the names of the resources they lock)
// follow pg_stat_activity's rule, widened by one role: superusers, members of pg_read_all_stats
// and of lockguard_monitor see every session; everyone else sees only sessions of roles whose
// privileges they have (docs/security.md).
#pragma once

#include "pg/infra/pg_prelude.hpp"

namespace lockguard::pg {

// What pg_stat_activity shows in place of a hidden query text.
constexpr const char *kHiddenText = "<insufficient privilege>";

// The current user may see every session's details.
bool may_see_all_sessions();

// The current user may see the details of a session run by `role`; `all` is
// may_see_all_sessions(), asked once per call by callers that loop over sessions.
bool may_see_session_of(Oid role, bool all);

// Runs step(arg) as the owner of `relation` (one of lockguard's tables), in a restricted
// security context, and switches back on success and on error. For the fixed, schema-qualified
// statements lockguard runs on behalf of a caller that has no privileges on its tables: the
// caller's own identity (GetUserId() before the call) is what the statements record.
void run_as_owner_of(Oid relation, void (*step)(void *), void *arg);

// The OID of lockguard.<name>, or an error saying the extension's objects are missing.
Oid lockguard_table(const char *name);

// Raises 55000 unless lockguard.<table> has `column`: the library is newer than the SQL
// objects of the installed extension version.
void require_column(Oid relation, const char *table, const char *column);

}  // namespace lockguard::pg
