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

// The epoch: a token's high bits (the `timeline` of FencingTokenParts). It is the WAL timeline
// plus a base that is fixed for one cluster, so a promotion raises it; pg_upgrade starts the
// new cluster on timeline 1 again, and there the base lifts the epoch above every epoch of the
// cluster it came from. The state is kept in one non-transactional value (the sequence
// lockguard.fencing_epoch), packed as (system << 32) | (base << 16) | epoch:
//   system  the low 31 bits of the system identifier of the cluster that last moved it
//   base    epoch - timeline on that cluster
//   epoch   the highest epoch issued so far (every later token's epoch is at least this)
inline constexpr uint32_t kFencingSystemMask = 0x7fffffffU;

struct FencingEpochState {
    uint32_t system;
    uint32_t base;
    uint32_t epoch;
};

// Throws Error 22023 for a negative value or one whose fields are inconsistent (base > epoch).
FencingEpochState unpack_fencing_epoch(int64_t value);
int64_t pack_fencing_epoch(FencingEpochState state);

// The epoch for a token issued now by cluster `system` (already masked) on `timeline`, and the
// state to store if it differs from `state`:
// - the cluster that moved the state last, on a timeline at least as high as before: base +
//   timeline (a promotion raises it);
// - another cluster (pg_upgrade, a dump restored elsewhere), or the timeline went back (pg_resetwal):
//   one above the recorded epoch, or the timeline if that is higher, with the base that gives it.
// Throws Error 54000 when the epoch would reach 2^16.
FencingEpochState next_fencing_epoch(FencingEpochState state, uint32_t system, uint32_t timeline);

}  // namespace lockguard
