#include "core/wait_order.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace lockguard {

namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

int64_t saturating_add(int64_t a, int64_t b) noexcept {
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum)) return b > 0 ? kInt64Max : std::numeric_limits<int64_t>::min();
    return sum;
}

int64_t saturating_mul_nonneg(int64_t a, int64_t b) noexcept {
    int64_t product;
    if (__builtin_mul_overflow(a, b, &product)) return kInt64Max;
    return product;
}

// Lower is served first. NaN would break the strict weak order std::sort relies on, so it is
// mapped to +infinity: a garbage share never jumps the queue.
double share_key(const WaiterInfo &waiter) noexcept {
    if (!waiter.registered) return 0.0;
    if (std::isnan(waiter.tenant_share)) return std::numeric_limits<double>::infinity();
    return waiter.tenant_share;
}

}  // namespace

void validate_priority(int64_t priority) {
    if (priority < kMinPriority || priority > kMaxPriority) {
        throw Error(sqlstate::kInvalidParameterValue, "invalid priority: " + std::to_string(priority),
                    "Priority must be between " + std::to_string(kMinPriority) + " and " +
                        std::to_string(kMaxPriority) + ".",
                    "Higher priorities are granted first; 0 is the default.");
    }
}

int32_t effective_priority(const WaiterInfo &waiter, int64_t now_us, const OrderPolicy &policy) noexcept {
    if (!waiter.registered) return 0;
    // A slot holding an out-of-range priority (never validated, or torn) must not break the
    // starvation bound, which assumes every waiter starts within the range.
    int64_t priority = std::clamp<int64_t>(waiter.priority, kMinPriority, kMaxPriority);
    int64_t grace = std::max<int64_t>(policy.aging_grace_us, 0);
    if (policy.aging_interval_us > 0 && now_us > waiter.enqueued_us &&
        static_cast<uint64_t>(now_us) - static_cast<uint64_t>(waiter.enqueued_us) > static_cast<uint64_t>(grace)) {
        // The difference of two int64 fits in uint64 when now > enqueued.
        uint64_t waited = static_cast<uint64_t>(now_us) - static_cast<uint64_t>(waiter.enqueued_us) -
                          static_cast<uint64_t>(grace);
        uint64_t steps = waited / static_cast<uint64_t>(policy.aging_interval_us);
        // Anything past INT32_MAX - kMinPriority steps clamps anyway; capping first keeps the
        // addition in range.
        constexpr uint64_t kStepCap = static_cast<uint64_t>(std::numeric_limits<int32_t>::max()) - kMinPriority;
        priority += static_cast<int64_t>(std::min(steps, kStepCap));
    }
    return static_cast<int32_t>(std::min<int64_t>(priority, std::numeric_limits<int32_t>::max()));
}

size_t compute_grant_order(const WaiterInfo *waiters, size_t n, int64_t now_us, const OrderPolicy &policy,
                           uint32_t *order_out) noexcept {
    if (n == 0 || waiters == nullptr || order_out == nullptr) return 0;
    for (size_t i = 0; i < n; i++) order_out[i] = static_cast<uint32_t>(i);
    // The index is the last key, so this is a total order: std::sort (which never allocates)
    // gives the same result a stable sort would.
    std::sort(order_out, order_out + n, [&](uint32_t a, uint32_t b) noexcept {
        int32_t pa = effective_priority(waiters[a], now_us, policy);
        int32_t pb = effective_priority(waiters[b], now_us, policy);
        if (pa != pb) return pa > pb;
        double sa = share_key(waiters[a]);
        double sb = share_key(waiters[b]);
        if (sa != sb) return sa < sb;
        return a < b;
    });
    size_t moved = 0;
    for (size_t i = 0; i < n; i++) {
        if (order_out[i] != i) moved++;
    }
    return moved;
}

int64_t starvation_bound_us(int32_t own_priority, const OrderPolicy &policy, int64_t hold_time_us,
                            int64_t max_queued_ahead) noexcept {
    if (policy.aging_interval_us <= 0) return -1;
    int64_t priority = std::clamp<int64_t>(own_priority, kMinPriority, kMaxPriority);
    int64_t window = saturating_add(saturating_mul_nonneg(kMaxPriority - priority + 1, policy.aging_interval_us),
                                    std::max<int64_t>(policy.aging_grace_us, 0));
    int64_t holds = saturating_mul_nonneg(saturating_add(std::max<int64_t>(max_queued_ahead, 0), 1),
                                          std::max<int64_t>(hold_time_us, 0));
    return saturating_add(window, holds);
}

}  // namespace lockguard
