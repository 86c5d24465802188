#include "core/wait_survey.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

using namespace lockguard;

namespace {

SurveyedWaiter waiter(int32_t pid, int64_t wait_start, bool ask_alone = false) {
    return SurveyedWaiter{pid, wait_start, ask_alone, false};
}

struct Plan {
    std::vector<SurveyedWaiter> waiters;
    std::vector<uint32_t> by_pid;
};

Plan plan(std::vector<SurveyedWaiter> waiters) {
    Plan p{std::move(waiters), {}};
    p.by_pid.assign(p.waiters.size(), 0xdeadbeef);
    plan_wait_survey(p.waiters.data(), p.waiters.size(), p.by_pid.data());
    return p;
}

// A model of the lock manager: queues of pids, head first. Asking about a pid answers with the
// pids queued ahead of it, as GetBlockerStatusData does.
struct Queues {
    std::vector<std::vector<int32_t>> queues;
    [[nodiscard]] std::vector<int32_t> ahead_of(int32_t pid) const {
        for (const auto &queue : queues) {
            auto at = std::find(queue.begin(), queue.end(), pid);
            if (at != queue.end()) return {queue.begin(), at};
        }
        return {};
    }
};

// Runs the survey as lockguard._lock_waits() does; returns how many reads it took, and fails the
// test if a waiter is answered twice or not at all.
int survey(Plan &p, const Queues &model) {
    int reads = 0;
    std::map<int32_t, int> answers;
    for (auto &asked : p.waiters) {
        if (asked.answered) continue;
        reads++;
        asked.answered = true;
        answers[asked.pid]++;
        for (int32_t ahead : model.ahead_of(asked.pid)) {
            SurveyedWaiter *other = find_surveyed(p.waiters.data(), p.by_pid.data(), p.waiters.size(), ahead);
            if (!answerable_by_others(other)) continue;
            other->answered = true;
            answers[ahead]++;
        }
    }
    for (const auto &w : p.waiters) EXPECT_EQ(answers[w.pid], 1) << "pid " << w.pid;
    return reads;
}

}  // namespace

TEST(WaitSurvey, AsksTheLatestWaiterFirstThenByPid) {
    Plan p = plan({waiter(30, 100), waiter(10, 300), waiter(20, 300), waiter(40, 0), waiter(50, 200)});
    std::vector<int32_t> order;
    for (const auto &w : p.waiters) order.push_back(w.pid);
    EXPECT_EQ(order, (std::vector<int32_t>{10, 20, 50, 30, 40}));
}

TEST(WaitSurvey, FindsEveryCollectedPidAndNoOther) {
    std::mt19937 random(7);
    for (int round = 0; round < 200; round++) {
        std::vector<SurveyedWaiter> waiters;
        std::vector<int32_t> pids;
        size_t n = random() % 40;
        for (size_t i = 0; i < n; i++) {
            auto pid = static_cast<int32_t>(2 * (i + 1) + 2 * (random() % 3) * 1000);  // even, distinct
            pids.push_back(pid);
            waiters.push_back(waiter(pid, static_cast<int64_t>(random() % 5)));
        }
        Plan p = plan(waiters);
        for (int32_t pid : pids) {
            SurveyedWaiter *found = find_surveyed(p.waiters.data(), p.by_pid.data(), n, pid);
            ASSERT_NE(found, nullptr);
            EXPECT_EQ(found->pid, pid);
        }
        for (int32_t odd = 1; odd < 7000; odd += 2 * 97)
            EXPECT_EQ(find_surveyed(p.waiters.data(), p.by_pid.data(), n, odd), nullptr);
    }
}

TEST(WaitSurvey, OnlyUnansweredWaitersOutsideLockGroupsMayBeAnsweredByOthers) {
    SurveyedWaiter plain = waiter(1, 1);
    SurveyedWaiter grouped = waiter(2, 1, true);
    SurveyedWaiter done = waiter(3, 1);
    done.answered = true;
    EXPECT_TRUE(answerable_by_others(&plain));
    EXPECT_FALSE(answerable_by_others(&grouped));
    EXPECT_FALSE(answerable_by_others(&done));
    EXPECT_FALSE(answerable_by_others(nullptr));
}

// Generated queues whose order is their arrival order: one read per queue, whatever the number
// and depth of the queues.
TEST(WaitSurvey, QueuesInArrivalOrderCostOneReadEach) {
    std::mt19937 random(11);
    for (int round = 0; round < 300; round++) {
        Queues model;
        std::vector<SurveyedWaiter> waiters;
        int32_t next_pid = 100;
        int64_t clock = 1;
        size_t queues = 1 + random() % 12;
        model.queues.resize(queues);
        // Arrivals interleave across queues; each joins the tail of its queue.
        size_t arrivals = queues + random() % 120;
        for (size_t i = 0; i < arrivals; i++) {
            size_t q = i < queues ? i : random() % queues;
            model.queues[q].push_back(next_pid);
            waiters.push_back(waiter(next_pid++, clock++));
        }
        std::shuffle(waiters.begin(), waiters.end(), random);
        Plan p = plan(waiters);
        EXPECT_EQ(survey(p, model), static_cast<int>(queues));
    }
}

// Generated queues in any order (waiters put ahead), with lock-group members and waiters whose
// start is unknown: every waiter is answered exactly once, and never by more reads than waiters.
TEST(WaitSurvey, QueuesInAnyOrderAnswerEveryWaiterOnce) {
    std::mt19937 random(13);
    for (int round = 0; round < 300; round++) {
        Queues model;
        std::vector<SurveyedWaiter> waiters;
        size_t queues = 1 + random() % 6;
        model.queues.resize(queues);
        size_t n = 1 + random() % 60;
        for (size_t i = 0; i < n; i++) {
            auto pid = static_cast<int32_t>(1000 + i);
            auto &queue = model.queues[random() % queues];
            queue.insert(queue.begin() + static_cast<long>(random() % (queue.size() + 1)), pid);
            int64_t start = random() % 4 == 0 ? 0 : static_cast<int64_t>(random() % 50);
            waiters.push_back(waiter(pid, start, random() % 8 == 0));
        }
        Plan p = plan(waiters);
        int reads = survey(p, model);
        EXPECT_LE(reads, static_cast<int>(n));
        EXPECT_GE(reads, 1);
    }
}
