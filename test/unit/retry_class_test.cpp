#include "core/retry_class.hpp"

#include <gtest/gtest.h>

using namespace lockguard;

TEST(RetryClass, FailoverTable) {
    EXPECT_EQ(classify_sqlstate("55P03"), RetryClass::Lock);
    EXPECT_EQ(classify_sqlstate("40P01"), RetryClass::Lock);
    EXPECT_EQ(classify_sqlstate("40001"), RetryClass::Lock);
    EXPECT_EQ(classify_sqlstate("LG001"), RetryClass::Tenant);
    EXPECT_EQ(classify_sqlstate("LG002"), RetryClass::Tenant);
    EXPECT_EQ(classify_sqlstate("57P01"), RetryClass::Server);
    EXPECT_EQ(classify_sqlstate("57P02"), RetryClass::Server);
    EXPECT_EQ(classify_sqlstate("57P03"), RetryClass::Server);
    EXPECT_EQ(classify_sqlstate("25006"), RetryClass::Server);
    EXPECT_EQ(classify_sqlstate(""), RetryClass::Connection);
    EXPECT_EQ(classify_sqlstate("08006"), RetryClass::Connection);
}

TEST(RetryClass, NotRetried) {
    for (const char *code : {"LG003", "LG004", "22023", "22004", "42P01", "42501", "57014", "23505", "XX000", "25P02"}) {
        EXPECT_EQ(classify_sqlstate(code), RetryClass::Fatal) << code;
        EXPECT_FALSE(retryable(classify_sqlstate(code))) << code;
    }
    EXPECT_TRUE(retryable(RetryClass::Connection));
    EXPECT_STREQ(retry_class_name(RetryClass::Tenant), "tenant");
}

TEST(RetryClass, CommitOutcome) {
    EXPECT_TRUE(commit_outcome_unknown(""));
    EXPECT_TRUE(commit_outcome_unknown("57P01"));
    EXPECT_TRUE(commit_outcome_unknown("08006"));
    EXPECT_FALSE(commit_outcome_unknown("40001"));
    EXPECT_FALSE(commit_outcome_unknown("23505"));
}
