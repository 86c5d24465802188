#include "core/fencing.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <string>

namespace lockguard {

int64_t compose_fencing_token(uint32_t timeline, uint64_t counter) {
    if (timeline == 0)
        throw Error(sqlstate::kInvalidParameterValue, "invalid timeline 0 for a fencing token",
                    "PostgreSQL timelines start at 1.");
    if (timeline >= kFencingTimelineLimit)
        throw Error(sqlstate::kProgramLimitExceeded, "cannot issue fencing tokens on timeline " + std::to_string(timeline),
                    "Fencing tokens hold timelines up to " + std::to_string(kFencingTimelineLimit - 1) + ".",
                    "Initialize a new cluster (timelines start at 1 again) and clear lockguard.fencing_seen in every "
                    "database that checks tokens.");
    if (counter >= kFencingCounterLimit)
        throw Error(sqlstate::kProgramLimitExceeded, "fencing token counter exhausted",
                    "The counter reached " + std::to_string(counter) + "; fencing tokens hold counters below 2^47 (" +
                        std::to_string(kFencingCounterLimit) + ").",
                    "See \"Limits\" in the lockguard failover documentation.");
    return static_cast<int64_t>((uint64_t{timeline} << kFencingCounterBits) | counter);
}

FencingTokenParts decompose_fencing_token(int64_t token) {
    if (token < 0)
        throw Error(sqlstate::kInvalidParameterValue, "invalid fencing token " + std::to_string(token),
                    "Fencing tokens are never negative.");
    auto bits = static_cast<uint64_t>(token);
    return FencingTokenParts{static_cast<uint32_t>(bits >> kFencingCounterBits), bits & (kFencingCounterLimit - 1)};
}

FencingEpochState unpack_fencing_epoch(int64_t value) {
    if (value < 0)
        throw Error(sqlstate::kInvalidParameterValue, "invalid fencing epoch state " + std::to_string(value),
                    "lockguard.fencing_epoch is never negative.");
    auto bits = static_cast<uint64_t>(value);
    FencingEpochState state{static_cast<uint32_t>(bits >> 32) & kFencingSystemMask,
                            static_cast<uint32_t>((bits >> kFencingTimelineBits) & (kFencingTimelineLimit - 1)),
                            static_cast<uint32_t>(bits & (kFencingTimelineLimit - 1))};
    if (state.base > state.epoch)
        throw Error(sqlstate::kInvalidParameterValue, "invalid fencing epoch state " + std::to_string(value),
                    "Its base " + std::to_string(state.base) + " is above its epoch " + std::to_string(state.epoch) + ".");
    return state;
}

int64_t pack_fencing_epoch(FencingEpochState state) {
    return static_cast<int64_t>((uint64_t{state.system & kFencingSystemMask} << 32) |
                                (uint64_t{state.base} << kFencingTimelineBits) | state.epoch);
}

FencingEpochState next_fencing_epoch(FencingEpochState state, uint32_t system, uint32_t timeline) {
    if (timeline == 0)
        throw Error(sqlstate::kInvalidParameterValue, "invalid timeline 0 for a fencing token",
                    "PostgreSQL timelines start at 1.");
    uint64_t epoch;
    uint64_t base;
    if (state.system == system && uint64_t{state.base} + timeline >= state.epoch) {
        base = state.base;
        epoch = base + timeline;
    } else {
        epoch = std::max<uint64_t>(timeline, uint64_t{state.epoch} + 1);
        base = epoch - timeline;
    }
    if (epoch >= kFencingTimelineLimit)
        throw Error(sqlstate::kProgramLimitExceeded, "cannot issue fencing tokens in epoch " + std::to_string(epoch),
                    "Fencing tokens hold epochs (the timeline, plus one per pg_upgrade after a promotion) up to " +
                        std::to_string(kFencingTimelineLimit - 1) + ".",
                    "See \"Limits\" in the lockguard failover documentation.");
    return FencingEpochState{system, static_cast<uint32_t>(base), static_cast<uint32_t>(epoch)};
}

}  // namespace lockguard
