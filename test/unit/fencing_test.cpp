#include "core/fencing.hpp"

#include "core/error.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

using namespace lockguard;

namespace {

ErrorReport error_of_compose(uint32_t timeline, uint64_t counter) {
    try {
        compose_fencing_token(timeline, counter);
    } catch (...) {
        return describe_exception(std::current_exception());
    }
    return {};
}

}  // namespace

TEST(FencingToken, ComposesTimelineAboveCounter) {
    EXPECT_EQ(compose_fencing_token(1, 1), (int64_t{1} << 47) | 1);
    EXPECT_EQ(compose_fencing_token(2, 0), int64_t{2} << 47);
    EXPECT_EQ(compose_fencing_token(3, 12345), (int64_t{3} << 47) + 12345);
}

TEST(FencingToken, RoundTrips) {
    const uint32_t timelines[] = {1, 2, 7, 65535};
    const uint64_t counters[] = {0, 1, 2, 1000000, kFencingCounterLimit - 1};
    for (uint32_t timeline : timelines)
        for (uint64_t counter : counters) {
            FencingTokenParts parts = decompose_fencing_token(compose_fencing_token(timeline, counter));
            EXPECT_EQ(parts.timeline, timeline);
            EXPECT_EQ(parts.counter, counter);
        }
}

TEST(FencingToken, LaterTimelineBeatsAnyCounterOfAnEarlierOne) {
    // The old primary at its largest counter still issues less than the promoted standby's first.
    EXPECT_LT(compose_fencing_token(4, kFencingCounterLimit - 1), compose_fencing_token(5, 0));
    EXPECT_LT(compose_fencing_token(1, kFencingCounterLimit - 1), compose_fencing_token(2, 1));
}

TEST(FencingToken, OrderFollowsCounterWithinATimeline) {
    for (uint64_t counter = 0; counter < 1000; ++counter)
        EXPECT_LT(compose_fencing_token(9, counter), compose_fencing_token(9, counter + 1));
}

TEST(FencingToken, LargestTokenIsAPositiveBigint) {
    int64_t largest = compose_fencing_token(uint32_t(kFencingTimelineLimit - 1), kFencingCounterLimit - 1);
    EXPECT_EQ(largest, std::numeric_limits<int64_t>::max());
}

TEST(FencingToken, RefusesExhaustedCounter) {
    ErrorReport report = error_of_compose(1, kFencingCounterLimit);
    EXPECT_EQ(report.sqlstate, "54000");
    EXPECT_EQ(report.message, "fencing token counter exhausted");
    EXPECT_FALSE(report.detail.empty());
    EXPECT_FALSE(report.hint.empty());
    EXPECT_EQ(error_of_compose(1, ~uint64_t{0}).sqlstate, "54000");
}

TEST(FencingToken, RefusesTimelineOutOfRange) {
    EXPECT_EQ(error_of_compose(uint32_t(kFencingTimelineLimit), 1).sqlstate, "54000");
    EXPECT_EQ(error_of_compose(0, 1).sqlstate, "22023");
}

TEST(FencingToken, RefusesNegativeTokenWhenDecomposing) {
    try {
        decompose_fencing_token(-1);
        FAIL() << "expected an error";
    } catch (...) {
        EXPECT_EQ(describe_exception(std::current_exception()).sqlstate, "22023");
    }
    FencingTokenParts zero = decompose_fencing_token(0);
    EXPECT_EQ(zero.timeline, 0u);
    EXPECT_EQ(zero.counter, 0u);
}
