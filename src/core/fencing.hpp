// Fencing tokens: one 63-bit number made of the primary's WAL timeline and a counter.
//
// token = (timeline << 47) | counter. A promoted standby writes WAL on a higher timeline than
// the primary it replaced, so every token it issues is above every token the old primary can
// issue on its own timeline, however far that one's counter got, provided a counter never
// reaches 2^47 (refused with 54000). Within one timeline the counter orders the tokens.
#pragma once

#include <cstdint>

namespace lockguard {

inline constexpr int kFencingCounterBits = 47;
inline constexpr int kFencingTimelineBits = 16;  // 16 + 47 = 63: tokens stay positive bigints
inline constexpr uint64_t kFencingCounterLimit = uint64_t{1} << kFencingCounterBits;  // exclusive
inline constexpr uint64_t kFencingTimelineLimit = uint64_t{1} << kFencingTimelineBits;  // exclusive

struct FencingTokenParts {
    uint32_t timeline;
    uint64_t counter;
};

// Throws Error 54000 when the counter is at or above 2^47 or the timeline at or above 2^16,
// and 22023 for timeline 0 (PostgreSQL timelines start at 1).
int64_t compose_fencing_token(uint32_t timeline, uint64_t counter);

// Throws Error 22023 for a negative token (no token is negative).
FencingTokenParts decompose_fencing_token(int64_t token);

}  // namespace lockguard
