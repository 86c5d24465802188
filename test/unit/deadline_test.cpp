#include "core/deadline.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

using lockguard::Deadline;

TEST(Deadline, ZeroTimeoutIsExpiredAtOnce) {
    Deadline d(1000, 0);
    EXPECT_TRUE(d.expired(1000));
    EXPECT_EQ(d.remaining_us(1000), 0);
    EXPECT_EQ(d.wait_budget_ms(1000), 0);
}

TEST(Deadline, NegativeTimeoutCountsAsZero) {
    Deadline d(0, -5);
    EXPECT_EQ(d.timeout_ms(), 0);
    EXPECT_TRUE(d.expired(0));
}

TEST(Deadline, FullBudgetAtStart) {
    Deadline d(5'000'000, 300);
    EXPECT_EQ(d.remaining_us(5'000'000), 300'000);
    EXPECT_EQ(d.wait_budget_ms(5'000'000), 300);
    EXPECT_FALSE(d.expired(5'000'000));
}

// Generated over every microsecond offset around each millisecond boundary of a short timeout:
// while time is left the budget is >= 1 ms (never lock_timeout = 0, "forever"), never more than
// the time left rounded up, and 0 exactly when nothing is left.
TEST(Deadline, BudgetNeverRoundsToForeverWhileTimeIsLeft) {
    for (int32_t timeout_ms : {0, 1, 2, 3, 7, 150, 1000}) {
        Deadline d(0, timeout_ms);
        int64_t end_us = static_cast<int64_t>(timeout_ms) * 1000;
        for (int64_t now = -10; now <= end_us + 2000; now++) {
            int64_t left = d.remaining_us(now);
            int32_t budget = d.wait_budget_ms(now);
            int64_t expected_left = now <= 0 ? end_us : (now >= end_us ? 0 : end_us - now);
            ASSERT_EQ(left, expected_left) << timeout_ms << " ms at " << now;
            if (left > 0) {
                ASSERT_GE(budget, 1) << timeout_ms << " ms at " << now;
                ASSERT_GE(static_cast<int64_t>(budget) * 1000, left);
                ASSERT_LT(static_cast<int64_t>(budget) * 1000 - left, 1000);
                ASSERT_LE(budget, timeout_ms);
                ASSERT_FALSE(d.expired(now));
            } else {
                ASSERT_EQ(budget, 0);
                ASSERT_TRUE(d.expired(now));
            }
        }
    }
}

TEST(Deadline, WaitedIsNeverNegative) {
    Deadline d(10'000, 100);
    EXPECT_EQ(d.waited_us(9'000), 0);
    EXPECT_EQ(d.waited_us(10'000), 0);
    EXPECT_EQ(d.waited_us(12'345), 2'345);
    EXPECT_EQ(d.waited_ms(12'345), 2);
    EXPECT_EQ(d.remaining_us(9'000), 100'000);  // a clock that went back gives no extra time
}

TEST(Deadline, LongestTimeoutDoesNotOverflow) {
    const int32_t day_ms = 24 * 60 * 60 * 1000;
    Deadline d(std::numeric_limits<int64_t>::max() / 4, day_ms);
    EXPECT_EQ(d.wait_budget_ms(d.start_us()), day_ms);
    EXPECT_EQ(d.wait_budget_ms(d.start_us() + 1), day_ms);  // 1 us used: rounds up to the full day
    EXPECT_EQ(d.wait_budget_ms(d.start_us() + 1000), day_ms - 1);
    EXPECT_TRUE(d.expired(d.start_us() + static_cast<int64_t>(day_ms) * 1000));
}
