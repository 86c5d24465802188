#include "core/policy.hpp"

#include "core/error.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace lockguard;

namespace {

constexpr RoleId kMaintenance = 5001;
constexpr RoleId kDba = 5002;
constexpr RoleId kApp = 5003;
constexpr RelationId kPayments = 16400;
constexpr RelationId kOrders = 16500;

LockPolicy payments_policy() {
    LockPolicy policy;
    policy.relation = kPayments;
    policy.forbidden_modes = parse_forbidden_modes({"SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"});
    policy.exempt_roles = {kMaintenance};
    policy.reason = "payments must stay writable";
    return policy;
}

std::string sqlstate_of(const std::vector<std::string> &names) {
    try {
        parse_forbidden_modes(names);
    } catch (...) {
        return describe_exception(std::current_exception()).sqlstate;
    }
    return {};
}

}  // namespace

TEST(PolicyModes, ParsesEverySpellingIntoOneBitPerMode) {
    EXPECT_EQ(parse_forbidden_modes({"ACCESS EXCLUSIVE"}), table_mode_bit(TableLockMode::AccessExclusive));
    EXPECT_EQ(parse_forbidden_modes({"access exclusive mode", "AccessExclusiveLock"}),
              table_mode_bit(TableLockMode::AccessExclusive));
    EXPECT_EQ(parse_forbidden_modes({"share", "row exclusive"}),
              table_mode_bit(TableLockMode::Share) | table_mode_bit(TableLockMode::RowExclusive));
}

TEST(PolicyModes, RejectsUnknownNamesAndEmptyLists) {
    EXPECT_EQ(sqlstate_of({"SHARE", "ROW EXCLUSIVE LOCK TABLE"}), "22023");
    EXPECT_EQ(sqlstate_of({"FOR UPDATE"}), "22023");
    EXPECT_EQ(sqlstate_of({}), "22023");
    EXPECT_EQ(sqlstate_of({"EXCLUSIVE"}), "");
}

TEST(PolicyModes, ListsCanonicalNamesInLockModeOrder) {
    EXPECT_EQ(table_mode_list(parse_forbidden_modes({"ACCESS EXCLUSIVE", "SHARE", "ACCESS SHARE"})),
              "ACCESS SHARE, SHARE, ACCESS EXCLUSIVE");
    EXPECT_EQ(table_mode_list(0), "");
    EXPECT_EQ(table_mode_bit(TableLockMode::AccessShare), 1);
    EXPECT_EQ(table_mode_bit(TableLockMode::AccessExclusive), 128);
}

TEST(PolicySet, FindsPoliciesByRelationOnly) {
    PolicySet set;
    EXPECT_TRUE(set.empty());
    set.add(payments_policy());
    LockPolicy orders;
    orders.relation = kOrders;
    orders.forbidden_modes = table_mode_bit(TableLockMode::AccessExclusive);
    set.add(orders);
    EXPECT_EQ(set.size(), 2u);
    ASSERT_NE(set.find(kPayments), nullptr);
    EXPECT_EQ(set.find(kPayments)->reason, "payments must stay writable");
    ASSERT_NE(set.find(kOrders), nullptr);
    EXPECT_EQ(set.find(kOrders + 1), nullptr);
    EXPECT_EQ(set.find(0), nullptr);
}

TEST(PolicySet, MergesTwoPoliciesOnOneRelationStrictly) {
    PolicySet set;
    LockPolicy first = payments_policy();
    first.exempt_roles = {kMaintenance, kDba};
    set.add(first);
    LockPolicy second;
    second.relation = kPayments;
    second.forbidden_modes = table_mode_bit(TableLockMode::ShareUpdateExclusive);
    second.forbid_exclusive_row_marks = true;
    second.exempt_roles = {kDba};
    second.reason = "no vacuum during the day";
    set.add(second);
    ASSERT_EQ(set.size(), 1u);
    const LockPolicy *merged = set.find(kPayments);
    EXPECT_TRUE(merged->forbidden_modes & table_mode_bit(TableLockMode::ShareUpdateExclusive));
    EXPECT_TRUE(merged->forbidden_modes & table_mode_bit(TableLockMode::AccessExclusive));
    EXPECT_TRUE(merged->forbid_exclusive_row_marks);
    EXPECT_EQ(merged->exempt_roles, std::vector<RoleId>{kDba});  // exempt only where both agree
    EXPECT_EQ(merged->reason, "payments must stay writable no vacuum during the day");
}

TEST(PolicySet, ExemptRoleCandidatesAreSortedAndDistinct) {
    PolicySet set;
    LockPolicy a = payments_policy();
    a.exempt_roles = {kDba, kMaintenance, kDba};
    set.add(a);
    LockPolicy b;
    b.relation = kOrders;
    b.forbidden_modes = table_mode_bit(TableLockMode::AccessExclusive);
    b.exempt_roles = {kMaintenance};
    set.add(b);
    EXPECT_EQ(set.exempt_role_candidates(), (std::vector<RoleId>{kMaintenance, kDba}));
}

TEST(JudgeTableLock, ForbidsOnlyTheListedModes) {
    LockPolicy policy = payments_policy();
    EXPECT_EQ(judge_table_lock(&policy, TableLockMode::AccessExclusive, nullptr, 0), Verdict::Forbidden);
    EXPECT_EQ(judge_table_lock(&policy, TableLockMode::Share, nullptr, 0), Verdict::Forbidden);
    // Weaker modes that let writes continue stay allowed.
    EXPECT_EQ(judge_table_lock(&policy, TableLockMode::RowExclusive, nullptr, 0), Verdict::Allowed);
    EXPECT_EQ(judge_table_lock(&policy, TableLockMode::ShareUpdateExclusive, nullptr, 0), Verdict::Allowed);
    EXPECT_EQ(judge_table_lock(&policy, TableLockMode::AccessShare, nullptr, 0), Verdict::Allowed);
}

TEST(JudgeTableLock, UnprotectedRelationsAreAlwaysAllowed) {
    EXPECT_EQ(judge_table_lock(nullptr, TableLockMode::AccessExclusive, nullptr, 0), Verdict::Allowed);
}

TEST(JudgeTableLock, ExemptRolesPassOthersDoNot) {
    LockPolicy policy = payments_policy();
    RoleId maintenance[] = {kApp, kMaintenance};
    RoleId app_only[] = {kApp, kDba};
    EXPECT_EQ(judge_table_lock(&policy, TableLockMode::AccessExclusive, maintenance, 2), Verdict::Exempt);
    EXPECT_EQ(judge_table_lock(&policy, TableLockMode::AccessExclusive, app_only, 2), Verdict::Forbidden);
    // Exemption never turns an allowed mode into something else.
    EXPECT_EQ(judge_table_lock(&policy, TableLockMode::RowExclusive, maintenance, 2), Verdict::Allowed);
    EXPECT_TRUE(role_is_exempt(policy, maintenance, 2));
    EXPECT_FALSE(role_is_exempt(policy, app_only, 2));
    EXPECT_FALSE(role_is_exempt(policy, nullptr, 0));
}

TEST(JudgeRowMark, ForeignKeyChecksAndSharedMarksAreNeverForbidden) {
    LockPolicy policy = payments_policy();
    policy.forbid_exclusive_row_marks = true;
    EXPECT_EQ(judge_row_mark(&policy, RowLockStrength::KeyShare, nullptr, 0), Verdict::Allowed);
    EXPECT_EQ(judge_row_mark(&policy, RowLockStrength::Share, nullptr, 0), Verdict::Allowed);
    EXPECT_EQ(judge_row_mark(&policy, RowLockStrength::NoKeyUpdate, nullptr, 0), Verdict::Forbidden);
    EXPECT_EQ(judge_row_mark(&policy, RowLockStrength::Update, nullptr, 0), Verdict::Forbidden);
    RoleId maintenance[] = {kMaintenance};
    EXPECT_EQ(judge_row_mark(&policy, RowLockStrength::Update, maintenance, 1), Verdict::Exempt);
}

TEST(JudgeRowMark, OnlyPoliciesThatAskForItForbidRowMarks) {
    LockPolicy policy = payments_policy();
    EXPECT_EQ(judge_row_mark(&policy, RowLockStrength::Update, nullptr, 0), Verdict::Allowed);
    EXPECT_EQ(judge_row_mark(nullptr, RowLockStrength::Update, nullptr, 0), Verdict::Allowed);
}

TEST(Verdicts, HaveNames) {
    EXPECT_STREQ(verdict_name(Verdict::Allowed), "allowed");
    EXPECT_STREQ(verdict_name(Verdict::Exempt), "exempt");
    EXPECT_STREQ(verdict_name(Verdict::Forbidden), "forbidden");
}

namespace {

constexpr RelationId kEvents = 17000;        // partitioned, protected
constexpr RelationId kEvents2026 = 17001;    // its partition, itself partitioned
constexpr RelationId kEvents2026Q1 = 17002;  // a partition of that
constexpr RelationId kArchive = 17100;       // an inheritance parent, protected without children

LockPolicy policy_on(RelationId relation, bool include_children, const std::vector<std::string> &modes) {
    LockPolicy policy;
    policy.relation = relation;
    policy.include_children = include_children;
    policy.forbidden_modes = parse_forbidden_modes(modes);
    policy.reason = "r" + std::to_string(relation);
    return policy;
}

}  // namespace

TEST(PolicyGoverning, AncestorsPoliciesGovernTheirChildrenAtAnyDepth) {
    PolicySet set;
    set.add(policy_on(kEvents, true, {"ACCESS EXCLUSIVE"}));
    const LockPolicy *found[4];
    RelationId owners[4];
    const RelationId ancestors[] = {kEvents2026, kEvents};  // nearest first
    ASSERT_EQ(set.governing(kEvents2026Q1, ancestors, 2, found, owners, 4), 1u);
    EXPECT_EQ(owners[0], kEvents);
    EXPECT_EQ(judge_table_lock(found[0], TableLockMode::AccessExclusive, nullptr, 0), Verdict::Forbidden);
    // A relation with no protected ancestor and no policy: nothing governs it.
    EXPECT_EQ(set.governing(kOrders, nullptr, 0, found, owners, 4), 0u);
    EXPECT_TRUE(set.any_includes_children());
}

TEST(PolicyGoverning, OptedOutParentsDoNotGovernChildren) {
    PolicySet set;
    set.add(policy_on(kArchive, false, {"ACCESS EXCLUSIVE"}));
    const LockPolicy *found[4];
    RelationId owners[4];
    const RelationId ancestors[] = {kArchive};
    EXPECT_EQ(set.governing(kEvents2026, ancestors, 1, found, owners, 4), 0u);
    EXPECT_EQ(set.governing(kArchive, nullptr, 0, found, owners, 4), 1u);  // its own policy still holds
    EXPECT_FALSE(set.any_includes_children());
}

TEST(PolicyGoverning, OwnPolicyFirstThenEachAncestorOnce) {
    PolicySet set;
    set.add(policy_on(kEvents, true, {"ACCESS EXCLUSIVE"}));
    set.add(policy_on(kEvents2026, false, {"SHARE"}));
    set.add(policy_on(kEvents2026Q1, true, {"EXCLUSIVE"}));
    const LockPolicy *found[4];
    RelationId owners[4];
    // kEvents reached twice (multiple inheritance): counted once. kEvents2026 opted out.
    const RelationId ancestors[] = {kEvents2026, kEvents, kEvents};
    ASSERT_EQ(set.governing(kEvents2026Q1, ancestors, 3, found, owners, 4), 2u);
    EXPECT_EQ(owners[0], kEvents2026Q1);
    EXPECT_EQ(owners[1], kEvents);
    // Capacity bounds what is written.
    EXPECT_EQ(set.governing(kEvents2026Q1, ancestors, 3, found, owners, 1), 1u);
    EXPECT_EQ(owners[0], kEvents2026Q1);
}

TEST(PolicyGoverning, TwoPoliciesOnOneRelationIncludeChildrenIfEitherDoes) {
    PolicySet set;
    set.add(policy_on(kEvents, false, {"SHARE"}));
    set.add(policy_on(kEvents, true, {"EXCLUSIVE"}));
    EXPECT_TRUE(set.find(kEvents)->include_children);
}
