#include "core/sqlstate.hpp"

#include "core/error.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace lockguard;

namespace {

TEST(SqlstateTable, EveryCodeIsWellFormedAndListedOnce) {
    std::set<std::string> codes;
    std::set<std::string> names;
    for (const sqlstate::Condition &condition : sqlstate::kConditions) {
        EXPECT_TRUE(sqlstate::well_formed(condition.code)) << condition.code;
        EXPECT_TRUE(codes.insert(condition.code).second) << "duplicate code " << condition.code;
        EXPECT_TRUE(names.insert(condition.name).second) << "duplicate name " << condition.name;
    }
}

// The codes users catch by number (SQL comments, README, tests): they must never move.
TEST(SqlstateTable, LockguardClassKeepsItsNumbers) {
    EXPECT_STREQ(sqlstate::kTenantHeldBudget, "LG001");
    EXPECT_STREQ(sqlstate::kTenantWaiterBudget, "LG002");
    EXPECT_STREQ(sqlstate::kStaleFencingToken, "LG003");
    EXPECT_STREQ(sqlstate::kPolicyViolation, "LG004");
    for (const char *code : {sqlstate::kTenantHeldBudget, sqlstate::kTenantWaiterBudget,
                             sqlstate::kStaleFencingToken, sqlstate::kPolicyViolation}) {
        const sqlstate::Condition *condition = sqlstate::find_condition(code);
        ASSERT_NE(condition, nullptr) << code;
        EXPECT_EQ(std::string(condition->name).rfind("lockguard_", 0), 0u) << condition->name;
    }
}

TEST(SqlstateTable, CoreCodesAreInTheTable) {
    for (const char *code : {sqlstate::kNullValueNotAllowed, sqlstate::kInvalidParameterValue,
                             sqlstate::kOutOfMemory, sqlstate::kProgramLimitExceeded, sqlstate::kInternalError})
        EXPECT_NE(sqlstate::find_condition(code), nullptr) << code;
    EXPECT_STREQ(sqlstate::find_condition("22023")->name, "invalid_parameter_value");
}

TEST(SqlstateTable, UnknownAndMalformedCodes) {
    EXPECT_EQ(sqlstate::find_condition("LG999"), nullptr);
    EXPECT_EQ(sqlstate::find_condition(""), nullptr);
    EXPECT_FALSE(sqlstate::well_formed("LG01"));
    EXPECT_FALSE(sqlstate::well_formed("LG0011"));
    EXPECT_FALSE(sqlstate::well_formed("lg001"));
    EXPECT_FALSE(sqlstate::well_formed("LG-01"));
    EXPECT_TRUE(sqlstate::well_formed("55P03"));
}

// The core's errors carry the table's codes through describe_exception unchanged.
TEST(SqlstateTable, CoreErrorsKeepTheirCode) {
    try {
        throw Error(sqlstate::kStaleFencingToken, "stale");
    } catch (...) {
        EXPECT_EQ(describe_exception(std::current_exception()).sqlstate, "LG003");
    }
}

}  // namespace
