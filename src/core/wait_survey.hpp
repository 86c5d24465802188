// Which waiting processes a read of the wait graph asks the lock manager about.
//
// lockguard._lock_waits() asks PostgreSQL's lock manager about one waiting process at a time
// (GetBlockerStatusData, which takes every lock partition for the read), and the answer names
// everyone queued ahead of that process on the lock it awaits, in queue order. So the answer
// about the last process of a queue holds the whole queue. Asked latest waiter first, a queue of
// n waiters costs one read instead of n; a queue whose order is not its arrival order (a waiter
// put ahead by PostgreSQL, or by lockguard's priorities) costs one more read per such waiter.
//
// The bookkeeping works on caller-provided arrays and does not allocate.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lockguard {

struct SurveyedWaiter {
    int32_t pid;
    int64_t wait_start;  // when it began to wait, on any clock that grows; 0 (unknown) is asked last
    bool ask_alone;      // in a lock group: the lock manager's answer about it covers the whole group,
                         // so no answer about another process may stand for it
    bool answered;       // its edges have been given
};

// Orders waiters[0..n) for asking: the latest wait_start first (the likeliest tail of its
// queue), equal starts by pid. Fills by_pid[0..n) with the waiters' indexes in pid order, for
// find_surveyed(). O(n log n).
void plan_wait_survey(SurveyedWaiter *waiters, size_t n, uint32_t *by_pid) noexcept;

// The waiter with this pid, or nullptr when the survey did not collect it. O(log n).
SurveyedWaiter *find_surveyed(SurveyedWaiter *waiters, const uint32_t *by_pid, size_t n, int32_t pid) noexcept;

// Whether an answer about another process may give this waiter's edges: it was collected, has
// no edges yet, and is not in a lock group.
inline bool answerable_by_others(const SurveyedWaiter *waiter) noexcept {
    return waiter != nullptr && !waiter->answered && !waiter->ask_alone;
}

}  // namespace lockguard
