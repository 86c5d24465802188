#include "core/backoff.hpp"

#include "core/error.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <string>

using namespace lockguard;

namespace {

template <typename Validate>
ErrorReport error_of(Validate validate) {
    try {
        validate();
    } catch (...) {
        return describe_exception(std::current_exception());
    }
    return {};
}

constexpr uint64_t kLowest = 0;                // jitter draw 0: the delay is ceil(c/2)
constexpr uint64_t kHighest = ~uint64_t{0};    // not always the top: used only with modulo checks

// The delay with the jitter at its top: random_bits = floor(c/2) is the largest draw.
int32_t top_delay(const BackoffPolicy &policy, int attempt, int32_t ceiling) {
    return backoff_delay_ms(policy, attempt, static_cast<uint64_t>(ceiling / 2));
}

}  // namespace

TEST(BackoffPolicy, DefaultsAreValid) {
    EXPECT_NO_THROW(validate_backoff_policy(BackoffPolicy{}));
    EXPECT_NO_THROW(validate_backoff_policy(BackoffPolicy{0, 0, 1.0}));
    EXPECT_NO_THROW(validate_backoff_policy(BackoffPolicy{5, 5, 1.0}));
}

TEST(BackoffPolicy, RejectsBadValuesWith22023) {
    auto negative_base = error_of([] { validate_backoff_policy(BackoffPolicy{-1, 100, 2.0}); });
    EXPECT_EQ(negative_base.sqlstate, "22023");
    EXPECT_EQ(negative_base.message, "invalid backoff base: -1 ms");

    auto small_max = error_of([] { validate_backoff_policy(BackoffPolicy{100, 99, 2.0}); });
    EXPECT_EQ(small_max.sqlstate, "22023");
    EXPECT_EQ(small_max.message, "invalid backoff maximum: 99 ms");
    EXPECT_EQ(small_max.detail, "The maximum delay must be at least the base delay (100 ms).");

    for (double bad : {0.999, 0.0, -2.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
        auto report = error_of([&] { validate_backoff_policy(BackoffPolicy{10, 100, bad}); });
        EXPECT_EQ(report.sqlstate, "22023") << bad;
        EXPECT_EQ(report.message.rfind("invalid backoff multiplier: ", 0), 0u) << report.message;
    }
    EXPECT_EQ(error_of([] { validate_backoff_policy(BackoffPolicy{10, 100, 0.5}); }).message,
              "invalid backoff multiplier: 0.5");
}

TEST(BackoffDelay, CeilingGrowsGeometricallyUpToTheMaximum) {
    BackoffPolicy policy{10, 1000, 2.0};
    // Ceilings 10, 20, 40, ..., 640, then 1000 forever.
    const int32_t ceilings[] = {10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000};
    for (int attempt = 1; attempt <= 10; attempt++) {
        int32_t c = ceilings[attempt - 1];
        EXPECT_EQ(backoff_delay_ms(policy, attempt, kLowest), c - c / 2) << "attempt " << attempt;
        EXPECT_EQ(top_delay(policy, attempt, c), c) << "attempt " << attempt;
    }
}

TEST(BackoffDelay, EqualJitterStaysInTheUpperHalfAndCoversIt) {
    BackoffPolicy policy{10, 1000, 2.0};
    uint64_t state = 42;
    for (int attempt = 1; attempt <= 12; attempt++) {
        int32_t c = std::min(1000, 10 << std::min(attempt - 1, 20));
        std::set<int32_t> seen;
        for (int i = 0; i < 20000; i++) {
            int32_t d = backoff_delay_ms(policy, attempt, next_random(state));
            ASSERT_GE(d, c - c / 2);
            ASSERT_LE(d, c);
            seen.insert(d);
        }
        // Every value of the range turns up.
        EXPECT_EQ(seen.size(), static_cast<size_t>(c / 2 + 1)) << "attempt " << attempt;
    }
}

TEST(BackoffDelay, IsDeterministicInTheRandomBits) {
    BackoffPolicy policy{7, 5000, 1.7};
    for (uint64_t bits : {uint64_t{0}, uint64_t{1}, uint64_t{123456789}, kHighest}) {
        for (int attempt = 1; attempt < 30; attempt++)
            EXPECT_EQ(backoff_delay_ms(policy, attempt, bits), backoff_delay_ms(policy, attempt, bits));
    }
}

TEST(BackoffDelay, NonIntegerGrowthIsFloored) {
    BackoffPolicy policy{10, 1000, 1.5};
    // Ceilings 10, 15, 22.5 -> 22, 33.75 -> 33.
    EXPECT_EQ(top_delay(policy, 2, 15), 15);
    EXPECT_EQ(backoff_delay_ms(policy, 2, kLowest), 8);
    EXPECT_EQ(top_delay(policy, 3, 22), 22);
    EXPECT_EQ(top_delay(policy, 4, 33), 33);
}

TEST(BackoffDelay, NoDelayBeforeTheFirstFailure) {
    BackoffPolicy policy{10, 1000, 2.0};
    EXPECT_EQ(backoff_delay_ms(policy, 0, kHighest), 0);
    EXPECT_EQ(backoff_delay_ms(policy, -5, kHighest), 0);
    EXPECT_EQ(backoff_delay_ms(policy, std::numeric_limits<int>::min(), kHighest), 0);
}

TEST(BackoffDelay, HugeAttemptsAndExtremePoliciesNeverOverflow) {
    constexpr int32_t kMax32 = std::numeric_limits<int32_t>::max();
    BackoffPolicy wide{1, kMax32, 10.0};
    EXPECT_EQ(top_delay(wide, 10, 1'000'000'000), 1'000'000'000);  // 10^9, still under the cap
    for (int attempt : {11, 12, 100, 10000, std::numeric_limits<int>::max()}) {
        int32_t d = backoff_delay_ms(wide, attempt, kHighest);
        EXPECT_GE(d, kMax32 - kMax32 / 2);
        EXPECT_LE(d, kMax32);
        EXPECT_EQ(top_delay(wide, attempt, kMax32), kMax32);
    }
    // Constant delay with multiplier 1, even for absurd attempts.
    BackoffPolicy constant{40, 1000, 1.0};
    EXPECT_EQ(top_delay(constant, std::numeric_limits<int>::max(), 40), 40);
    EXPECT_EQ(backoff_delay_ms(constant, std::numeric_limits<int>::max(), kLowest), 20);
    // Zero base: always zero.
    EXPECT_EQ(backoff_delay_ms(BackoffPolicy{0, 1000, 3.0}, 50, kHighest), 0);
}

TEST(BackoffDelay, ToleratesUnvalidatedPolicies) {
    // Base above max: capped at max.
    EXPECT_LE(backoff_delay_ms(BackoffPolicy{500, 100, 2.0}, 1, kHighest), 100);
    EXPECT_EQ(top_delay(BackoffPolicy{500, 100, 2.0}, 1, 100), 100);
    // Negative max: never negative.
    EXPECT_EQ(backoff_delay_ms(BackoffPolicy{10, -5, 2.0}, 3, kHighest), 0);
    // Negative base counts as 0.
    EXPECT_EQ(backoff_delay_ms(BackoffPolicy{-10, 100, 2.0}, 3, kHighest), 0);
    // Multiplier below 1 or NaN counts as 1; infinite saturates at max.
    EXPECT_EQ(top_delay(BackoffPolicy{10, 100, 0.1}, 5, 10), 10);
    EXPECT_EQ(top_delay(BackoffPolicy{10, 100, std::nan("")}, 5, 10), 10);
    EXPECT_EQ(top_delay(BackoffPolicy{10, 100, std::numeric_limits<double>::infinity()}, 1, 10), 10);
    EXPECT_EQ(top_delay(BackoffPolicy{10, 100, std::numeric_limits<double>::infinity()}, 2, 100), 100);
}

TEST(RetryBudget, Validation) {
    EXPECT_NO_THROW(validate_retry_budget(RetryBudget{1, 0}));
    EXPECT_NO_THROW(validate_retry_budget(RetryBudget{10, 5000}));
    auto zero = error_of([] { validate_retry_budget(RetryBudget{0, 0}); });
    EXPECT_EQ(zero.sqlstate, "22023");
    EXPECT_EQ(zero.message, "invalid maximum number of attempts: 0");
    auto deadline = error_of([] { validate_retry_budget(RetryBudget{3, -1}); });
    EXPECT_EQ(deadline.sqlstate, "22023");
    EXPECT_EQ(deadline.message, "invalid retry deadline: -1 ms");
    EXPECT_EQ(deadline.hint, "Use 0 for no deadline.");
}

TEST(DecideRetry, AttemptsRunOut) {
    RetryBudget budget{3, 0};
    EXPECT_EQ(decide_retry(budget, 1, 0, 10), RetryVerdict::Retry);
    EXPECT_EQ(decide_retry(budget, 2, 1'000'000, 10), RetryVerdict::Retry);  // no deadline
    EXPECT_EQ(decide_retry(budget, 3, 0, 0), RetryVerdict::GiveUpAttempts);
    EXPECT_EQ(decide_retry(budget, 4, 0, 0), RetryVerdict::GiveUpAttempts);
    // A single attempt never retries; a non-positive maximum counts as one attempt.
    EXPECT_EQ(decide_retry(RetryBudget{1, 0}, 1, 0, 0), RetryVerdict::GiveUpAttempts);
    EXPECT_EQ(decide_retry(RetryBudget{0, 0}, 1, 0, 0), RetryVerdict::GiveUpAttempts);
    EXPECT_EQ(decide_retry(RetryBudget{-7, 0}, 1, 0, 0), RetryVerdict::GiveUpAttempts);
}

TEST(DecideRetry, NextAttemptMustStartBeforeTheDeadline) {
    RetryBudget budget{100, 1000};
    EXPECT_EQ(decide_retry(budget, 1, 900, 99), RetryVerdict::Retry);
    EXPECT_EQ(decide_retry(budget, 1, 900, 100), RetryVerdict::GiveUpDeadline);  // would start at the deadline
    EXPECT_EQ(decide_retry(budget, 1, 950, 100), RetryVerdict::GiveUpDeadline);
    EXPECT_EQ(decide_retry(budget, 1, 1000, 0), RetryVerdict::GiveUpDeadline);
    EXPECT_EQ(decide_retry(budget, 1, 5000, 0), RetryVerdict::GiveUpDeadline);
    // Attempts are checked first.
    EXPECT_EQ(decide_retry(RetryBudget{2, 1000}, 2, 5000, 0), RetryVerdict::GiveUpAttempts);
    // Negative delay counts as 0; elapsed near the top does not wrap.
    EXPECT_EQ(decide_retry(budget, 1, 999, -500), RetryVerdict::Retry);
    EXPECT_EQ(decide_retry(budget, 1, std::numeric_limits<int64_t>::max(), std::numeric_limits<int32_t>::max()),
              RetryVerdict::GiveUpDeadline);
}

TEST(DecideRetry, AScheduleEndsWithinTheBudget) {
    // Drive a full retry loop where every attempt fails after 30 ms.
    BackoffPolicy policy{10, 200, 2.0};
    RetryBudget budget{50, 1000};
    uint64_t state = 99;
    int64_t elapsed = 0;
    int attempts = 0;
    RetryVerdict verdict = RetryVerdict::Retry;
    while (true) {
        elapsed += 30;  // the attempt itself
        attempts++;
        int32_t delay = backoff_delay_ms(policy, attempts, next_random(state));
        verdict = decide_retry(budget, attempts, elapsed, delay);
        if (verdict != RetryVerdict::Retry) break;
        elapsed += delay;
        ASSERT_LT(elapsed, budget.deadline_ms);  // every attempt starts before the deadline
    }
    EXPECT_EQ(verdict, RetryVerdict::GiveUpDeadline);
    EXPECT_LT(attempts, 50);
    EXPECT_GT(attempts, 3);
}

TEST(NextRandom, IsSplitmix64) {
    // Reference outputs of splitmix64 seeded with 0.
    uint64_t state = 0;
    EXPECT_EQ(next_random(state), 0xE220A8397B1DCDAFULL);
    EXPECT_EQ(next_random(state), 0x6E789E6AA1B965F4ULL);
    EXPECT_EQ(next_random(state), 0x06C45D188009454FULL);
    EXPECT_EQ(state, 3 * 0x9E3779B97F4A7C15ULL);
}

TEST(NextRandom, BitsAreBalanced) {
    uint64_t state = 12345;
    int ones[64] = {};
    const int kDraws = 20000;
    for (int i = 0; i < kDraws; i++) {
        uint64_t x = next_random(state);
        for (int b = 0; b < 64; b++) ones[b] += static_cast<int>((x >> b) & 1);
    }
    for (int b = 0; b < 64; b++) {
        EXPECT_GT(ones[b], kDraws * 45 / 100) << "bit " << b;
        EXPECT_LT(ones[b], kDraws * 55 / 100) << "bit " << b;
    }
}
