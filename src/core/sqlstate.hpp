// Every SQLSTATE lockguard raises under a name of its own, in one table.
//
// The core carries a code as text in lockguard::Error; the glue turns a code into PostgreSQL's
// errcode in one place (sqlstate_errcode() in pg/boundary.hpp). Codes the glue raises under
// PostgreSQL's own ERRCODE_ names (55P03, 40P01, 42501, ...) are PostgreSQL's and not repeated.
#pragma once

#include <cstddef>
#include <string_view>

namespace lockguard::sqlstate {

// lockguard's own class LG: documented in the SQL comments and the README; never renumber.
inline constexpr char kTenantHeldBudget[] = "LG001";    // a tenant holds too many locks
inline constexpr char kTenantWaiterBudget[] = "LG002";  // a tenant has too many lock waiters
inline constexpr char kStaleFencingToken[] = "LG003";   // a newer fencing token was already seen
inline constexpr char kPolicyViolation[] = "LG004";     // a lock forbidden by a lockguard policy

// PostgreSQL's codes that the core raises.
inline constexpr char kNullValueNotAllowed[] = "22004";
inline constexpr char kInvalidParameterValue[] = "22023";
inline constexpr char kOutOfMemory[] = "53200";
inline constexpr char kProgramLimitExceeded[] = "54000";
inline constexpr char kInternalError[] = "XX000";

struct Condition {
    const char *code;
    const char *name;  // PostgreSQL's condition name for its codes; a name in its style for LG
};

inline constexpr Condition kConditions[] = {
    {kTenantHeldBudget, "lockguard_tenant_held_budget_exceeded"},
    {kTenantWaiterBudget, "lockguard_tenant_waiter_budget_exceeded"},
    {kStaleFencingToken, "lockguard_stale_fencing_token"},
    {kPolicyViolation, "lockguard_policy_violation"},
    {kNullValueNotAllowed, "null_value_not_allowed"},
    {kInvalidParameterValue, "invalid_parameter_value"},
    {kOutOfMemory, "out_of_memory"},
    {kProgramLimitExceeded, "program_limit_exceeded"},
    {kInternalError, "internal_error"},
};

// Five characters of 0-9 and A-Z: what PostgreSQL's MAKE_SQLSTATE packs without loss.
constexpr bool well_formed(std::string_view code) {
    if (code.size() != 5) return false;
    // NOLINTNEXTLINE(readability-use-anyofallof): std::all_of is constexpr only from C++20
    for (char c : code)
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) return false;
    return true;
}

// The table's entry for `code`, or nullptr.
const Condition *find_condition(std::string_view code);

}  // namespace lockguard::sqlstate
