#include "core/wait_order.hpp"

#include "core/error.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

using namespace lockguard;

// Counts heap allocations, to prove that what the transaction callbacks call never allocates.
// Replacing the global operator new is behaviour-preserving for the rest of the test binary.
namespace {
thread_local size_t g_allocations = 0;
}

// GCC cannot see that this malloc/free pair is the replaced new/delete pair.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void *operator new(std::size_t size) {
    g_allocations++;
    if (void *p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
// The whole unaligned family, so that every new is paired with this file's delete.
void *operator new[](std::size_t size) { return ::operator new(size); }
void *operator new(std::size_t size, const std::nothrow_t & /*unused*/) noexcept {
    g_allocations++;
    return std::malloc(size == 0 ? 1 : size);
}
void *operator new[](std::size_t size, const std::nothrow_t &tag) noexcept { return ::operator new(size, tag); }
void operator delete(void *p) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t /*unused*/) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t /*unused*/) noexcept { std::free(p); }
void operator delete(void *p, const std::nothrow_t & /*unused*/) noexcept { std::free(p); }
void operator delete[](void *p, const std::nothrow_t & /*unused*/) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace {

constexpr OrderPolicy kNoAging{0};

WaiterInfo waiter(int32_t priority, int64_t enqueued_us = 0, double share = 0.0) {
    return WaiterInfo{priority, enqueued_us, share, true};
}

WaiterInfo outsider(int32_t garbage_priority = 0, int64_t enqueued_us = 0, double garbage_share = 0.0) {
    return WaiterInfo{garbage_priority, enqueued_us, garbage_share, false};
}

struct Ordered {
    std::vector<uint32_t> order;
    size_t moved;
};

Ordered order_of(const std::vector<WaiterInfo> &waiters, int64_t now_us = 0, OrderPolicy policy = kNoAging) {
    Ordered result{std::vector<uint32_t>(waiters.size(), 0xdeadbeef), 0};
    result.moved = compute_grant_order(waiters.data(), waiters.size(), now_us, policy, result.order.data());
    return result;
}

size_t positions_changed(const std::vector<uint32_t> &order) {
    size_t changed = 0;
    for (size_t i = 0; i < order.size(); i++) changed += order[i] != i ? 1 : 0;
    return changed;
}

bool is_permutation_of_indices(const std::vector<uint32_t> &order) {
    std::vector<uint32_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size(); i++)
        if (sorted[i] != i) return false;
    return true;
}

}  // namespace

TEST(ValidatePriority, AcceptsTheRangeAndRejectsOutside) {
    EXPECT_NO_THROW(validate_priority(kMinPriority));
    EXPECT_NO_THROW(validate_priority(0));
    EXPECT_NO_THROW(validate_priority(kMaxPriority));
    for (int64_t bad : {int64_t{-101}, int64_t{101}, std::numeric_limits<int64_t>::min(),
                        std::numeric_limits<int64_t>::max(), int64_t{1} << 32}) {
        try {
            validate_priority(bad);
            ADD_FAILURE() << "accepted " << bad;
        } catch (const Error &e) {
            EXPECT_EQ(e.sqlstate(), "22023");
            EXPECT_EQ(std::string(e.what()), "invalid priority: " + std::to_string(bad));
            EXPECT_EQ(e.detail(), "Priority must be between -100 and 100.");
            EXPECT_FALSE(e.hint().empty());
        }
    }
}

TEST(GrantOrder, HigherPriorityFirst) {
    // The spike's case: arrivals at priorities 0, 5, 10 are granted 10, 5, 0.
    auto r = order_of({waiter(0, 0), waiter(5, 1), waiter(10, 2)}, 3);
    EXPECT_EQ(r.order, (std::vector<uint32_t>{2, 1, 0}));
    EXPECT_EQ(r.moved, 2u);  // the middle waiter keeps its place
}

TEST(GrantOrder, FifoWithinAPriority) {
    // 0, 5, 10, 5, 0 -> 10, 5, 5, 0, 0 with equal priorities in arrival order.
    auto r = order_of({waiter(0, 0), waiter(5, 1), waiter(10, 2), waiter(5, 3), waiter(0, 4)}, 5);
    EXPECT_EQ(r.order, (std::vector<uint32_t>{2, 1, 3, 0, 4}));
    EXPECT_EQ(r.moved, 3u);
}

TEST(GrantOrder, QueueAlreadyInOrderReportsNothingMoved) {
    auto r = order_of({waiter(10), waiter(5), waiter(5), waiter(-3), waiter(-100)});
    EXPECT_EQ(r.order, (std::vector<uint32_t>{0, 1, 2, 3, 4}));
    EXPECT_EQ(r.moved, 0u);
    auto same = order_of({waiter(0), waiter(0), waiter(0)});
    EXPECT_EQ(same.moved, 0u);
}

TEST(GrantOrder, EmptyAndSingleWaiter) {
    uint32_t sentinel = 0xdeadbeef;
    EXPECT_EQ(compute_grant_order(nullptr, 0, 0, kNoAging, &sentinel), 0u);
    EXPECT_EQ(sentinel, 0xdeadbeefu);  // n = 0 writes nothing
    EXPECT_EQ(compute_grant_order(nullptr, 0, 0, kNoAging, nullptr), 0u);
    auto one = order_of({waiter(-100, 5)}, 1'000'000'000, OrderPolicy{1});
    EXPECT_EQ(one.order, (std::vector<uint32_t>{0}));
    EXPECT_EQ(one.moved, 0u);
}

TEST(GrantOrder, AgingLetsAnOldLowWaiterOvertake) {
    // W (priority 0) has waited 5.5 intervals; X (priority 2) arrived half an interval ago.
    std::vector<WaiterInfo> q = {waiter(2, 5000), waiter(0, 0)};
    EXPECT_EQ(order_of(q, 5500, kNoAging).order, (std::vector<uint32_t>{0, 1}));
    auto aged = order_of(q, 5500, OrderPolicy{1000});
    EXPECT_EQ(aged.order, (std::vector<uint32_t>{1, 0}));
    EXPECT_EQ(aged.moved, 2u);
    // At 4999 µs W has aged 4 steps against X's 2 + 0: still ahead; at 2999 µs, 2 vs 2: the tie
    // goes to the queue position, i.e. X.
    EXPECT_EQ(order_of(q, 4999, OrderPolicy{1000}).order, (std::vector<uint32_t>{1, 0}));
    EXPECT_EQ(order_of(q, 2999, OrderPolicy{1000}).order, (std::vector<uint32_t>{0, 1}));
}

TEST(GrantOrder, AgingStepsAreFloored) {
    OrderPolicy policy{1000};
    EXPECT_EQ(effective_priority(waiter(0, 0), 999, policy), 0);
    EXPECT_EQ(effective_priority(waiter(0, 0), 1000, policy), 1);
    EXPECT_EQ(effective_priority(waiter(-100, 0), 1999, policy), -99);
    EXPECT_EQ(effective_priority(waiter(7, 1000), 1000, policy), 7);
    // Enqueued "in the future" (another backend's clock reading raced ours): no steps, no wrap.
    EXPECT_EQ(effective_priority(waiter(7, 5000), 1000, policy), 7);
    // Aging off, by 0 or a negative interval.
    EXPECT_EQ(effective_priority(waiter(7, 0), 1'000'000'000, kNoAging), 7);
    EXPECT_EQ(effective_priority(waiter(7, 0), 1'000'000'000, OrderPolicy{-5}), 7);
}

TEST(GrantOrder, ExtremeValuesSaturateInsteadOfOverflowing) {
    constexpr int64_t kMin64 = std::numeric_limits<int64_t>::min();
    constexpr int64_t kMax64 = std::numeric_limits<int64_t>::max();
    constexpr int32_t kMax32 = std::numeric_limits<int32_t>::max();
    EXPECT_EQ(effective_priority(waiter(100, kMin64), kMax64, OrderPolicy{1}), kMax32);
    EXPECT_EQ(effective_priority(waiter(-100, kMin64), kMax64, OrderPolicy{1}), kMax32);
    // (2^64 - 1) / (2^63 - 1) = 2 whole intervals.
    EXPECT_EQ(effective_priority(waiter(0, kMin64), kMax64, OrderPolicy{kMax64}), 2);
    EXPECT_EQ(effective_priority(waiter(0, kMax64), kMin64, OrderPolicy{1}), 0);
    // Out-of-range priorities in a slot are clamped to the valid range.
    EXPECT_EQ(effective_priority(waiter(std::numeric_limits<int32_t>::max()), 0, kNoAging), kMaxPriority);
    EXPECT_EQ(effective_priority(waiter(std::numeric_limits<int32_t>::min()), 0, kNoAging), kMinPriority);
    // Two saturated waiters tie and keep queue order.
    auto r = order_of({waiter(-100, kMin64), waiter(100, kMin64 + 1), waiter(100, 0)}, kMax64, OrderPolicy{1});
    EXPECT_EQ(r.order, (std::vector<uint32_t>{0, 1, 2}));
    EXPECT_EQ(r.moved, 0u);
}

TEST(GrantOrder, TenantShareBreaksPriorityTies) {
    auto r = order_of({waiter(0, 0, 0.5), waiter(0, 1, 0.1), waiter(0, 2, 0.3), waiter(0, 3, 0.1)});
    EXPECT_EQ(r.order, (std::vector<uint32_t>{1, 3, 2, 0}));
    // Priority comes first: a high share at higher priority still wins.
    auto p = order_of({waiter(0, 0, 0.0), waiter(1, 1, 1e9)});
    EXPECT_EQ(p.order, (std::vector<uint32_t>{1, 0}));
    // Negative and zero shares compare as numbers; -0.0 equals 0.0 and keeps queue order.
    auto z = order_of({waiter(0, 0, 0.0), waiter(0, 1, -0.0), waiter(0, 2, -1.0)});
    EXPECT_EQ(z.order, (std::vector<uint32_t>{2, 0, 1}));
}

TEST(GrantOrder, NanAndInfiniteSharesSortLastWithinTheirPriority) {
    const double nan = std::nan("");
    const double inf = std::numeric_limits<double>::infinity();
    auto r = order_of({waiter(0, 0, nan), waiter(0, 1, inf), waiter(0, 2, 3.0), waiter(-1, 3, 0.0), waiter(0, 4, nan)});
    // NaN counts as +infinity, so NaN and inf tie and keep queue order; priority -1 stays last.
    EXPECT_EQ(r.order, (std::vector<uint32_t>{2, 0, 1, 4, 3}));
}

TEST(GrantOrder, UnregisteredWaitersAreNeutral) {
    // An outsider's slot fields are meaningless: priority 0, share 0, no aging, whatever they say.
    auto r = order_of({outsider(100, 0, 5.0), waiter(0, 1, 0.0), waiter(1, 2), waiter(-1, 3), outsider(-100, 4, -9.0)},
                      1'000'000, OrderPolicy{0});
    EXPECT_EQ(r.order, (std::vector<uint32_t>{2, 0, 1, 4, 3}));
    // Outsiders never age, lockguard waiters do.
    std::vector<WaiterInfo> q = {outsider(0, 0), waiter(0, 500)};
    EXPECT_EQ(order_of(q, 1000, OrderPolicy{100}).order, (std::vector<uint32_t>{1, 0}));
    EXPECT_EQ(effective_priority(outsider(50, 0), 1'000'000, OrderPolicy{1}), 0);
    // A registered waiter with a positive share yields the tie to an outsider (share 0).
    EXPECT_EQ(order_of({waiter(0, 0, 0.5), outsider(0, 1)}).order, (std::vector<uint32_t>{1, 0}));
}

TEST(GrantOrder, IsNoexceptAndNeverAllocates) {
    static_assert(noexcept(compute_grant_order(nullptr, 0, 0, kNoAging, nullptr)));
    static_assert(noexcept(effective_priority(std::declval<const WaiterInfo &>(), 0, kNoAging)));
    static_assert(noexcept(starvation_bound_us(0, kNoAging, 0)));
    // Plain arrays, as the glue has them in shared memory and on the stack.
    constexpr size_t kN = 500;
    static WaiterInfo queue[kN];
    static uint32_t order[kN];
    std::mt19937_64 rng(5);
    for (auto &waiter : queue)
        waiter = WaiterInfo{static_cast<int32_t>(rng() % 201) - 100, static_cast<int64_t>(rng() % 100000),
                            static_cast<double>(rng() % 10), rng() % 5 != 0};
    size_t before = g_allocations;
    { std::vector<int> probe(10); }
    ASSERT_EQ(g_allocations, before + 1);  // the counter sees allocations
    before = g_allocations;
    size_t moved = compute_grant_order(queue, kN, 100000, OrderPolicy{1000}, order);
    EXPECT_EQ(g_allocations, before);
    EXPECT_GT(moved, 0u);
    // A second pass over the already-permuted queue finds it in order.
    WaiterInfo permuted[kN];
    for (size_t i = 0; i < kN; i++) permuted[i] = queue[order[i]];
    EXPECT_EQ(compute_grant_order(permuted, kN, 100000, OrderPolicy{1000}, order), 0u);
    EXPECT_EQ(g_allocations, before);
}

TEST(GrantOrder, MatchesAStableSortReferenceOnRandomQueues) {
    std::mt19937_64 rng(20240601);
    OrderPolicy policy{250};
    for (int round = 0; round < 200; round++) {
        size_t n = rng() % 400;
        std::vector<WaiterInfo> q;
        for (size_t i = 0; i < n; i++) {
            WaiterInfo w{static_cast<int32_t>(static_cast<int64_t>(rng() % 21) - 10), static_cast<int64_t>(rng() % 5000),
                         static_cast<double>(rng() % 3) / 2.0, rng() % 8 != 0};
            q.push_back(w);
        }
        int64_t now = 5000;
        auto r = order_of(q, now, policy);
        ASSERT_TRUE(is_permutation_of_indices(r.order));
        EXPECT_EQ(r.moved, positions_changed(r.order));

        std::vector<uint32_t> expected(n);
        std::iota(expected.begin(), expected.end(), 0u);
        std::stable_sort(expected.begin(), expected.end(), [&](uint32_t a, uint32_t b) {
            auto eff = [&](const WaiterInfo &w) -> int64_t {
                return w.registered ? w.priority + (now - w.enqueued_us) / policy.aging_interval_us : 0;
            };
            auto share = [](const WaiterInfo &w) { return w.registered ? w.tenant_share : 0.0; };
            if (eff(q[a]) != eff(q[b])) return eff(q[a]) > eff(q[b]);
            return share(q[a]) < share(q[b]);
        });
        ASSERT_EQ(r.order, expected) << "round " << round;
    }
}

TEST(StarvationBound, Formula) {
    EXPECT_EQ(starvation_bound_us(0, kNoAging, 1000), -1);
    EXPECT_EQ(starvation_bound_us(0, OrderPolicy{-1}, 1000), -1);
    // (100 - p + 1) * A + (ahead + 1) * hold
    EXPECT_EQ(starvation_bound_us(0, OrderPolicy{20'000}, 5'000), 101 * 20'000 + 5'000);
    EXPECT_EQ(starvation_bound_us(-100, OrderPolicy{1'000}, 0), 201 * 1'000);
    EXPECT_EQ(starvation_bound_us(100, OrderPolicy{1'000}, 7), 1'000 + 7);
    EXPECT_EQ(starvation_bound_us(50, OrderPolicy{1'000}, 10, 9), 51 * 1'000 + 10 * 10);
    // Out-of-range priorities are clamped as effective_priority() clamps them.
    EXPECT_EQ(starvation_bound_us(-5000, OrderPolicy{1'000}, 0), starvation_bound_us(-100, OrderPolicy{1'000}, 0));
    EXPECT_EQ(starvation_bound_us(5000, OrderPolicy{1'000}, 0), 1'000);
    // Negative hold times and counts count as 0; huge values saturate.
    EXPECT_EQ(starvation_bound_us(0, OrderPolicy{10}, -50, -3), 1010);
    constexpr int64_t kMax64 = std::numeric_limits<int64_t>::max();
    EXPECT_EQ(starvation_bound_us(-100, OrderPolicy{kMax64 / 2}, 0), kMax64);
    EXPECT_EQ(starvation_bound_us(0, OrderPolicy{1}, kMax64, 1), kMax64);
    EXPECT_EQ(starvation_bound_us(0, OrderPolicy{1}, 2, kMax64), kMax64);
}

namespace {

// A lock simulated the way the glue runs it: on every release the holder computes the grant
// order over PostgreSQL's queue, permutes the queue (the permutation stays for later releases,
// as in the real wait queue), and the head is granted. New waiters join at the tail.
struct SimWaiter {
    int id;
    WaiterInfo info;
};

struct Sim {
    OrderPolicy policy;
    std::vector<SimWaiter> queue;
    std::vector<uint32_t> order;

    // Returns the id granted at now_us.
    int release(int64_t now_us) {
        std::vector<WaiterInfo> infos;
        for (const auto &w : queue) infos.push_back(w.info);
        order.assign(queue.size(), 0);
        compute_grant_order(infos.data(), infos.size(), now_us, policy, order.data());
        std::vector<SimWaiter> permuted;
        for (uint32_t i : order) permuted.push_back(queue[i]);
        queue.assign(permuted.begin() + 1, permuted.end());
        return permuted.front().id;
    }
};

// One priority-100 arrival per tick, one grant per tick; the low waiter W (id 0) must be granted
// within starvation_bound_us(p, A, hold, 0). W's tenant share is the largest, so it loses every
// tie: the bound must hold on strict priority alone.
int64_t open_loop_grant_time(int32_t p, int64_t aging_us, int64_t tick_us, double arrival_share, double w_share) {
    Sim sim{OrderPolicy{aging_us}, {}, {}};
    sim.queue.push_back({0, WaiterInfo{p, 0, w_share, true}});
    for (int64_t k = 1; k < 10'000'000; k++) {
        int64_t now = k * tick_us;
        sim.queue.push_back({static_cast<int>(k), WaiterInfo{kMaxPriority, now, arrival_share, true}});
        if (sim.release(now) == 0) return now;
    }
    return -1;
}

}  // namespace

TEST(StarvationBound, OpenLoopOfTopPriorityArrivalsGrantsTheLowestWithinTheBound) {
    for (int32_t p : {kMinPriority, -37, 0, 99, kMaxPriority}) {
        for (int64_t aging : {int64_t{1'000}, int64_t{2'500}, int64_t{20'000}}) {
            for (int64_t tick : {int64_t{100}, int64_t{700}, int64_t{1'000}, int64_t{3'000}}) {
                for (double w_share : {0.0, 10.0}) {
                    int64_t granted = open_loop_grant_time(p, aging, tick, 0.0, w_share);
                    int64_t bound = starvation_bound_us(p, OrderPolicy{aging}, tick, 0);
                    ASSERT_GT(granted, 0);
                    EXPECT_LE(granted, bound) << "p=" << p << " aging=" << aging << " tick=" << tick;
                    // And the bound is close: W cannot go before arrivals stop outranking it.
                    EXPECT_GE(granted, (kMaxPriority - p) * aging)
                        << "p=" << p << " aging=" << aging << " tick=" << tick;
                }
            }
        }
    }
}

TEST(StarvationBound, WithoutAgingTheLowestStarves) {
    Sim sim{kNoAging, {}, {}};
    sim.queue.push_back({0, waiter(kMinPriority, 0)});
    for (int k = 1; k <= 100'000; k++) {
        sim.queue.push_back({k, waiter(0, k)});
        ASSERT_NE(sim.release(k), 0) << "granted at tick " << k;
    }
}

TEST(StarvationBound, ClosedLoopOfSessionsGrantsTheLowestWithinTheBound) {
    // N sessions at random priorities loop forever: each is granted, holds for a random time up
    // to `hold`, and queues again right after its release. W joins once at the lowest priority.
    std::mt19937_64 rng(7);
    for (int n_sessions : {1, 2, 8, 63}) {
        for (int64_t aging : {int64_t{500}, int64_t{20'000}}) {
            const int64_t hold = 1'000;
            Sim sim{OrderPolicy{aging}, {}, {}};
            int64_t now = 0;
            // Session 1 holds; sessions 2..N queue, all at priority 100 or random, then W.
            for (int s = 2; s <= n_sessions; s++)
                sim.queue.push_back({s, WaiterInfo{kMaxPriority, now, 0.0, true}});
            sim.queue.push_back({0, WaiterInfo{kMinPriority, now, 1e9, true}});
            int holder = 1;
            int64_t granted = -1;
            for (int step = 0; step < 10'000'000 && granted < 0; step++) {
                now += 1 + static_cast<int64_t>(rng() % hold);
                int next = sim.release(now);
                int32_t priority = (rng() % 4 == 0) ? static_cast<int32_t>(rng() % 201) - 100 : kMaxPriority;
                sim.queue.push_back({holder, WaiterInfo{priority, now, static_cast<double>(rng() % 3), true}});
                if (next == 0) granted = now;
                holder = next;
            }
            int64_t bound = starvation_bound_us(kMinPriority, OrderPolicy{aging}, hold, n_sessions - 1);
            ASSERT_GT(granted, 0) << "n=" << n_sessions;
            EXPECT_LE(granted, bound) << "n=" << n_sessions << " aging=" << aging;
        }
    }
}

namespace {

lockguard::WaiterInfo registered_waiter(int32_t priority, int64_t enqueued_us, double share) {
    lockguard::WaiterInfo w{};
    w.priority = priority;
    w.enqueued_us = enqueued_us;
    w.tenant_share = share;
    w.registered = true;
    return w;
}

}  // namespace

TEST(AgingGrace, WaitersOfOnePriorityTieDuringTheGraceSoTheSmallerShareGoesFirst) {
    // Arrived 150 ms apart; with 20 ms aging and no grace the older one is 7 steps ahead.
    lockguard::WaiterInfo waiters[] = {registered_waiter(0, 0, 2.0), registered_waiter(0, 150000, 0.0)};
    uint32_t order[2];
    lockguard::OrderPolicy no_grace{20000};
    EXPECT_EQ(lockguard::compute_grant_order(waiters, 2, 160000, no_grace, order), 0u);
    lockguard::OrderPolicy grace{20000, 200000};
    EXPECT_EQ(lockguard::compute_grant_order(waiters, 2, 160000, grace, order), 2u);
    EXPECT_EQ(order[0], 1u);  // the tenant holding nothing goes first
}

TEST(AgingGrace, AgingResumesAfterTheGrace) {
    lockguard::OrderPolicy grace{20000, 200000};
    lockguard::WaiterInfo old_waiter = registered_waiter(0, 0, 5.0);
    EXPECT_EQ(lockguard::effective_priority(old_waiter, 200000, grace), 0);
    EXPECT_EQ(lockguard::effective_priority(old_waiter, 260000, grace), 3);
    // Past the grace it overtakes a newcomer of the same priority whatever the shares.
    lockguard::WaiterInfo waiters[] = {registered_waiter(0, 250000, 0.0), old_waiter};
    uint32_t order[2];
    lockguard::compute_grant_order(waiters, 2, 260000, grace, order);
    EXPECT_EQ(order[0], 1u);
}

TEST(AgingGrace, TheStarvationBoundGrowsByTheGrace) {
    lockguard::OrderPolicy no_grace{20000};
    lockguard::OrderPolicy grace{20000, 200000};
    EXPECT_EQ(lockguard::starvation_bound_us(0, grace, 1000) - lockguard::starvation_bound_us(0, no_grace, 1000),
              200000);
}

TEST(AgingGrace, BoundHoldsInAClosedLoopWithGrace) {
    // A priority -100 waiter facing a new priority-100 arrival every 5 ms: it is granted within
    // the bound.
    lockguard::OrderPolicy policy{1000, 50000};
    const int64_t hold = 5000;
    std::vector<lockguard::WaiterInfo> queue = {registered_waiter(-100, 0, 0.0)};
    int64_t now = 0;
    int64_t bound = lockguard::starvation_bound_us(-100, policy, hold, 1);
    bool granted = false;
    for (int tick = 0; tick < 100000 && !granted; tick++) {
        queue.push_back(registered_waiter(100, now, 0.0));
        now += hold;
        std::vector<uint32_t> order(queue.size());
        lockguard::compute_grant_order(queue.data(), queue.size(), now, policy, order.data());
        if (queue[order[0]].priority == -100) granted = true;
        queue.erase(queue.begin() + order[0]);
    }
    EXPECT_TRUE(granted);
    EXPECT_LE(now, bound);
}
