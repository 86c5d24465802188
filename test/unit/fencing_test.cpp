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

// The epoch across promotions and pg_upgrade (docs/failover.md, "Why tokens are monotonic").
TEST(FencingEpoch, PacksAndUnpacks) {
    FencingEpochState state{0x7fffffffU, 3, 9};
    FencingEpochState back = unpack_fencing_epoch(pack_fencing_epoch(state));
    EXPECT_EQ(back.system, state.system);
    EXPECT_EQ(back.base, 3u);
    EXPECT_EQ(back.epoch, 9u);
    EXPECT_GE(pack_fencing_epoch(FencingEpochState{0x7fffffffU, 65535, 65535}), 0);
}

TEST(FencingEpoch, RefusesInconsistentState) {
    try {
        unpack_fencing_epoch(pack_fencing_epoch(FencingEpochState{1, 5, 4}));
        FAIL() << "expected an error";
    } catch (...) {
        EXPECT_EQ(describe_exception(std::current_exception()).sqlstate, "22023");
    }
}

TEST(FencingEpoch, IsTheTimelineOnAFreshCluster) {
    FencingEpochState state = next_fencing_epoch(FencingEpochState{7, 0, 1}, 7, 1);
    EXPECT_EQ(state.epoch, 1u);
    EXPECT_EQ(next_fencing_epoch(state, 7, 2).epoch, 2u);  // a promotion
    EXPECT_EQ(next_fencing_epoch(state, 7, 5).epoch, 5u);  // several
}

TEST(FencingEpoch, GoesUpAcrossAnUpgradeOfAPromotedCluster) {
    // Promoted twice (timeline 3), then upgraded: the new cluster is on timeline 1.
    FencingEpochState old_cluster = next_fencing_epoch(FencingEpochState{7, 0, 1}, 7, 3);
    ASSERT_EQ(old_cluster.epoch, 3u);
    FencingEpochState upgraded = next_fencing_epoch(old_cluster, 9, 1);
    EXPECT_EQ(upgraded.epoch, 4u);
    EXPECT_EQ(upgraded.base, 3u);
    EXPECT_EQ(upgraded.system, 9u);
    EXPECT_EQ(next_fencing_epoch(upgraded, 9, 1).epoch, 4u);  // stays while nothing happens
    EXPECT_EQ(next_fencing_epoch(upgraded, 9, 2).epoch, 5u);  // a standby of it promoted
    EXPECT_EQ(next_fencing_epoch(next_fencing_epoch(upgraded, 9, 2), 11, 1).epoch, 6u);  // upgraded again
}

TEST(FencingEpoch, GoesUpAcrossAnUpgradeOfANeverPromotedCluster) {
    FencingEpochState upgraded = next_fencing_epoch(FencingEpochState{7, 0, 1}, 9, 1);
    EXPECT_EQ(upgraded.epoch, 2u);
}

TEST(FencingEpoch, GoesUpWhenTheTimelineGoesBack) {
    // pg_resetwal -l with a lower timeline on the same cluster.
    EXPECT_EQ(next_fencing_epoch(FencingEpochState{7, 0, 4}, 7, 2).epoch, 5u);
}

TEST(FencingEpoch, StartsAboveARecordedFloor) {
    // Updated from 1.2 with a checked token of epoch 6 on a cluster on timeline 1.
    EXPECT_EQ(next_fencing_epoch(FencingEpochState{7, 0, 6}, 7, 1).epoch, 7u);
    EXPECT_EQ(next_fencing_epoch(FencingEpochState{7, 0, 6}, 7, 8).epoch, 8u);
}

TEST(FencingEpoch, RefusesEpochOutOfRange) {
    try {
        next_fencing_epoch(FencingEpochState{7, 0, 65535}, 9, 1);
        FAIL() << "expected an error";
    } catch (...) {
        ErrorReport report = describe_exception(std::current_exception());
        EXPECT_EQ(report.sqlstate, "54000");
        EXPECT_EQ(report.message, "cannot issue fencing tokens in epoch 65536");
    }
    EXPECT_EQ(next_fencing_epoch(FencingEpochState{7, 65534, 65534}, 7, 1).epoch, 65535u);
}
