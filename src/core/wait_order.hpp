// The order in which the waiters of one lock are granted.
//
// The releaser calls compute_grant_order() in its transaction callbacks, holding the lock's
// partition LWLock, and permutes PostgreSQL's wait queue accordingly (see
// spikes/priority-reorder/README.md). So everything here that the callbacks use is noexcept,
// allocation-free and works on caller-provided arrays of plain data.
//
// Order: effective priority descending, then tenant share ascending, then arrival order (the
// queue position PostgreSQL gave the waiter). Effective priority is the requested priority plus
// one step per aging interval waited, so a low-priority waiter eventually outranks every new
// arrival (see starvation_bound_us()).
#pragma once

#include <cstddef>
#include <cstdint>

namespace lockguard {

inline constexpr int32_t kMinPriority = -100;
inline constexpr int32_t kMaxPriority = 100;

// What a waiter published in its shared slot before it went to sleep.
struct WaiterInfo {
    int32_t priority;      // kMinPriority..kMaxPriority
    int64_t enqueued_us;   // when it started waiting, same clock as now_us
    double tenant_share;   // held / weight of the waiter's tenant: smaller is served first
                           // among equal effective priorities; 0 when tenants are not in play
    bool registered;       // false: not a lockguard waiter. It counts as priority 0 and share 0,
                           // never ages, and keeps its FIFO place among its peers.
};

struct OrderPolicy {
    int64_t aging_interval_us;    // one priority step per interval waited; <= 0 turns aging off
    int64_t aging_grace_us = 0;   // aging starts only after this much waiting: until then, waiters
                                  // of one priority tie, and the smaller tenant share goes first
};

// Throws Error 22023 unless kMinPriority <= priority <= kMaxPriority. Not for callbacks.
void validate_priority(int64_t priority);

// The priority a waiter competes with at now_us: priority + floor(waited / interval), computed
// without overflow and clamped to the int32 range. A waiter whose enqueue time is in the future
// (clock skew) has waited 0.
int32_t effective_priority(const WaiterInfo &waiter, int64_t now_us, const OrderPolicy &policy) noexcept;

// Fills order_out[0..n) with the permutation of 0..n-1 in grant order (order_out[0] is granted
// first). waiters[] is in PostgreSQL's queue order; equal keys keep that order. Returns how many
// positions differ from the queue order: 0 means leave the queue alone. A NaN tenant_share sorts
// last among its priority. Does not allocate; O(n log n).
size_t compute_grant_order(const WaiterInfo *waiters, size_t n, int64_t now_us, const OrderPolicy &policy,
                           uint32_t *order_out) noexcept;

// The starvation bound for a waiter of priority p, with aging interval A > 0 and grace G:
//
//   window = (kMaxPriority - p + 1) * A + G
//
// At any time t >= window the waiter's effective priority is at least p + (kMaxPriority - p + 1)
// = kMaxPriority + 1, while a waiter arriving `window` or more after it has aged by at most
// floor((t - s - G) / A) steps, always fewer than the waiter's own; so from then on no new
// arrival gets ahead of it; it only has to outwait the waiters already ahead of it.
// The result is
//
//   window + (max_queued_ahead + 1) * hold_time_us
//
// (the current holder's hold, then one hold per waiter still ahead), where hold_time_us bounds one
// hold and max_queued_ahead bounds the waiters ahead of it when the window closes: N - 1 in a
// closed loop of N sessions; 0 when each release is followed by at most one new arrival, which
// the release then serves. Assumes one waiter granted per release (exclusive mode) and arrivals'
// priorities <= kMaxPriority; holds whatever their tenant shares, since it needs strict priority.
// Returns -1 (no bound) when aging is off. Saturates at INT64_MAX. Negative hold times and counts
// count as 0.
int64_t starvation_bound_us(int32_t own_priority, const OrderPolicy &policy, int64_t hold_time_us,
                            int64_t max_queued_ahead = 0) noexcept;

}  // namespace lockguard
