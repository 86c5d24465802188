// Lock policies: which table-lock modes are forbidden on which relations, and who is exempt.
//
// Pure data and pure decisions. The glue loads lockguard.lock_policies into a PolicySet, works
// out which locks a statement would take, and asks judge_table_lock() / judge_row_mark() about
// each; the membership test of a role stays in the glue, which hands over the exempt roles the
// current user belongs to.
#pragma once

#include "core/lock_mode.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lockguard {

// A set of table lock modes: bit (mode - 1) for each TableLockMode.
using TableModeMask = uint16_t;

constexpr TableModeMask table_mode_bit(TableLockMode mode) {
    return static_cast<TableModeMask>(1u << (static_cast<int>(mode) - 1));
}

// Parses mode names in any spelling parse_table_lock_mode() accepts. Throws Error 22023 for an
// unknown name, and 22023 for an empty list (a policy that forbids nothing is a mistake).
TableModeMask parse_forbidden_modes(const std::vector<std::string> &names);

// "SHARE, ACCESS EXCLUSIVE": canonical names in LOCKMODE order, for messages.
std::string table_mode_list(TableModeMask modes);

using RoleId = uint32_t;      // a PostgreSQL role OID
using RelationId = uint32_t;  // a PostgreSQL relation OID

struct LockPolicy {
    RelationId relation = 0;
    TableModeMask forbidden_modes = 0;
    bool forbid_exclusive_row_marks = false;  // FOR UPDATE / FOR NO KEY UPDATE over the whole table
    bool include_children = true;  // also governs every partition and inheritance child below it
    std::vector<RoleId> exempt_roles;
    std::string reason;
};

// The policies in force, at most one per relation (a later add() for the same relation merges
// into the earlier one: the union of forbidden modes, exempt only where both policies agree).
class PolicySet {
public:
    void add(LockPolicy policy);
    // nullptr when the relation is not protected. O(log n).
    [[nodiscard]] const LockPolicy *find(RelationId relation) const;
    // The policies that govern `relation`: its own, then those of its ancestors (partition
    // parents and inheritance parents at any depth, as the glue lists them, nearest first) whose
    // policy includes children. Each ancestor counts once. At most `capacity` are written to
    // `out` (each with the relation whose policy it is, in `owners`); returns how many.
    size_t governing(RelationId relation, const RelationId *ancestors, size_t ancestor_count,
                     const LockPolicy **out, RelationId *owners, size_t capacity) const;
    // True if some policy includes children: only then do ancestors need to be looked up.
    [[nodiscard]] bool any_includes_children() const;
    [[nodiscard]] bool empty() const { return policies_.empty(); }
    [[nodiscard]] size_t size() const { return policies_.size(); }
    [[nodiscard]] const std::vector<LockPolicy> &policies() const { return policies_; }
    // Every role named as exempt by some policy, ascending, without duplicates: the only roles
    // whose membership the glue ever needs to test.
    [[nodiscard]] std::vector<RoleId> exempt_role_candidates() const;

private:
    std::vector<LockPolicy> policies_;  // sorted by relation
};

enum class Verdict {
    Allowed,    // not protected, or the mode is not forbidden
    Exempt,     // forbidden, but the user holds an exempt role
    Forbidden,  // forbidden: reject (or override, if the session may)
};

const char *verdict_name(Verdict verdict);

// True if the user (given as the exempt roles it belongs to, any order) is exempt from policy.
bool role_is_exempt(const LockPolicy &policy, const RoleId *user_roles, size_t user_role_count);

// May `mode` be taken on a relation governed by `policy` (nullptr: no policy)?
Verdict judge_table_lock(const LockPolicy *policy, TableLockMode mode, const RoleId *user_roles,
                         size_t user_role_count);

// May a row mark of `strength` covering the whole relation be taken? Only FOR UPDATE and
// FOR NO KEY UPDATE can be forbidden: FOR SHARE and FOR KEY SHARE (foreign-key checks) never are.
Verdict judge_row_mark(const LockPolicy *policy, RowLockStrength strength, const RoleId *user_roles,
                       size_t user_role_count);

}  // namespace lockguard
