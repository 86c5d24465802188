#include "core/fencing.hpp"

#include "core/error.hpp"

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

}  // namespace lockguard
