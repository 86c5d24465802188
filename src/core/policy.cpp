#include "core/policy.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <iterator>

namespace lockguard {

namespace {

constexpr TableLockMode kAllModes[] = {
    TableLockMode::AccessShare, TableLockMode::RowShare,          TableLockMode::RowExclusive,
    TableLockMode::ShareUpdateExclusive, TableLockMode::Share,    TableLockMode::ShareRowExclusive,
    TableLockMode::Exclusive,   TableLockMode::AccessExclusive};

bool by_relation(const LockPolicy &a, const LockPolicy &b) { return a.relation < b.relation; }

}  // namespace

TableModeMask parse_forbidden_modes(const std::vector<std::string> &names) {
    if (names.empty())
        throw Error(sqlstate::kInvalidParameterValue, "a lock policy must forbid at least one lock mode", {},
                    "Delete the policy, or set enabled = false, to allow every mode.");
    TableModeMask mask = 0;
    for (const std::string &name : names) mask |= table_mode_bit(parse_table_lock_mode(name));
    return mask;
}

std::string table_mode_list(TableModeMask modes) {
    std::string list;
    for (TableLockMode mode : kAllModes) {
        if ((modes & table_mode_bit(mode)) == 0) continue;
        if (!list.empty()) list += ", ";
        list += table_lock_mode_name(mode);
    }
    return list;
}

void PolicySet::add(LockPolicy policy) {
    std::sort(policy.exempt_roles.begin(), policy.exempt_roles.end());
    policy.exempt_roles.erase(std::unique(policy.exempt_roles.begin(), policy.exempt_roles.end()),
                              policy.exempt_roles.end());
    auto at = std::lower_bound(policies_.begin(), policies_.end(), policy, by_relation);
    if (at == policies_.end() || at->relation != policy.relation) {
        policies_.insert(at, std::move(policy));
        return;
    }
    // Two policies on one relation: the stricter reading of both.
    at->forbidden_modes |= policy.forbidden_modes;
    at->forbid_exclusive_row_marks = at->forbid_exclusive_row_marks || policy.forbid_exclusive_row_marks;
    at->include_children = at->include_children || policy.include_children;
    std::vector<RoleId> both;
    std::set_intersection(at->exempt_roles.begin(), at->exempt_roles.end(), policy.exempt_roles.begin(),
                          policy.exempt_roles.end(), std::back_inserter(both));
    at->exempt_roles = std::move(both);
    if (!policy.reason.empty() && at->reason != policy.reason)
        at->reason = at->reason.empty() ? policy.reason : at->reason + " " + policy.reason;
}

const LockPolicy *PolicySet::find(RelationId relation) const {
    LockPolicy key;
    key.relation = relation;
    auto at = std::lower_bound(policies_.begin(), policies_.end(), key, by_relation);
    return at != policies_.end() && at->relation == relation ? &*at : nullptr;
}

size_t PolicySet::governing(RelationId relation, const RelationId *ancestors, size_t ancestor_count,
                            const LockPolicy **out, RelationId *owners, size_t capacity) const {
    size_t found = 0;
    auto take = [&](const LockPolicy *policy, RelationId owner) {
        if (policy == nullptr || found == capacity) return;
        for (size_t i = 0; i < found; i++)
            if (owners[i] == owner) return;  // reached twice (multiple inheritance)
        out[found] = policy;
        owners[found] = owner;
        found++;
    };
    take(find(relation), relation);
    for (size_t i = 0; i < ancestor_count; i++) {
        if (ancestors[i] == relation) continue;
        const LockPolicy *policy = find(ancestors[i]);
        if (policy != nullptr && policy->include_children) take(policy, ancestors[i]);
    }
    return found;
}

bool PolicySet::any_includes_children() const {
    return std::any_of(policies_.begin(), policies_.end(), [](const LockPolicy &p) { return p.include_children; });
}

std::vector<RoleId> PolicySet::exempt_role_candidates() const {
    std::vector<RoleId> roles;
    for (const LockPolicy &policy : policies_)
        roles.insert(roles.end(), policy.exempt_roles.begin(), policy.exempt_roles.end());
    std::sort(roles.begin(), roles.end());
    roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
    return roles;
}

const char *verdict_name(Verdict verdict) {
    switch (verdict) {
        case Verdict::Allowed: return "allowed";
        case Verdict::Exempt: return "exempt";
        case Verdict::Forbidden: return "forbidden";
    }
    return "unknown";
}

bool role_is_exempt(const LockPolicy &policy, const RoleId *user_roles, size_t user_role_count) {
    for (size_t i = 0; i < user_role_count; i++)
        if (std::binary_search(policy.exempt_roles.begin(), policy.exempt_roles.end(), user_roles[i])) return true;
    return false;
}

Verdict judge_table_lock(const LockPolicy *policy, TableLockMode mode, const RoleId *user_roles,
                         size_t user_role_count) {
    if (policy == nullptr || (policy->forbidden_modes & table_mode_bit(mode)) == 0) return Verdict::Allowed;
    return role_is_exempt(*policy, user_roles, user_role_count) ? Verdict::Exempt : Verdict::Forbidden;
}

Verdict judge_row_mark(const LockPolicy *policy, RowLockStrength strength, const RoleId *user_roles,
                       size_t user_role_count) {
    bool exclusive = strength == RowLockStrength::NoKeyUpdate || strength == RowLockStrength::Update;
    if (policy == nullptr || !policy->forbid_exclusive_row_marks || !exclusive) return Verdict::Allowed;
    return role_is_exempt(*policy, user_roles, user_role_count) ? Verdict::Exempt : Verdict::Forbidden;
}

}  // namespace lockguard
