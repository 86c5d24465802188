#include "core/wait_survey.hpp"

#include <algorithm>

namespace lockguard {

void plan_wait_survey(SurveyedWaiter *waiters, size_t n, uint32_t *by_pid) noexcept {
    std::sort(waiters, waiters + n, [](const SurveyedWaiter &a, const SurveyedWaiter &b) {
        if (a.wait_start != b.wait_start) return a.wait_start > b.wait_start;
        return a.pid < b.pid;
    });
    for (size_t i = 0; i < n; i++) by_pid[i] = static_cast<uint32_t>(i);
    std::sort(by_pid, by_pid + n, [waiters](uint32_t a, uint32_t b) { return waiters[a].pid < waiters[b].pid; });
}

SurveyedWaiter *find_surveyed(SurveyedWaiter *waiters, const uint32_t *by_pid, size_t n, int32_t pid) noexcept {
    const uint32_t *found = std::lower_bound(
        by_pid, by_pid + n, pid, [waiters](uint32_t index, int32_t key) { return waiters[index].pid < key; });
    if (found == by_pid + n || waiters[*found].pid != pid) return nullptr;
    return &waiters[*found];
}

}  // namespace lockguard
