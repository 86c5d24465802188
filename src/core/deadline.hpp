// The deadline of one lockguard acquisition: made once at the SQL entry (when the call started
// and how long it may wait) and passed to every step of it (gate, table, partitions, indexes,
// tuple, transaction). Each step that may wait asks for the time remaining just before it.
//
// Times are microseconds on one monotonic-enough clock chosen by the caller (PostgreSQL's
// GetCurrentTimestamp() in the glue); the core only does the arithmetic.
//
// The rounding rule that matters: a wait step is run with PostgreSQL's lock_timeout, an integer
// number of milliseconds where 0 means "wait forever". So while any time is left, the
// millisecond budget of a step is rounded UP and is at least 1; once no time is left the step
// must not wait at all (a conditional / NOWAIT form), never get lock_timeout = 0.
#pragma once

#include <cstdint>

namespace lockguard {

class Deadline {
public:
    // timeout_ms >= 0; 0 means "do not wait at all". start_us: when the SQL call began.
    Deadline(int64_t start_us, int32_t timeout_ms) noexcept;

    [[nodiscard]] int64_t start_us() const noexcept { return start_us_; }
    [[nodiscard]] int32_t timeout_ms() const noexcept { return timeout_ms_; }

    // Microseconds left at `now_us`; 0 once the deadline has passed (never negative).
    [[nodiscard]] int64_t remaining_us(int64_t now_us) const noexcept;
    // No time left: a step must not wait (true at once for timeout_ms = 0).
    [[nodiscard]] bool expired(int64_t now_us) const noexcept { return remaining_us(now_us) == 0; }
    // The lock_timeout (ms) for a wait starting at `now_us`: remaining time rounded up, >= 1.
    // 0 only when expired(now_us), meaning "do not wait" (never pass it to lock_timeout).
    [[nodiscard]] int32_t wait_budget_ms(int64_t now_us) const noexcept;
    // Microseconds since the start (0 if the clock went backwards), and in whole milliseconds.
    [[nodiscard]] int64_t waited_us(int64_t now_us) const noexcept;
    [[nodiscard]] int64_t waited_ms(int64_t now_us) const noexcept { return waited_us(now_us) / 1000; }

private:
    int64_t start_us_;
    int32_t timeout_ms_;
};

}  // namespace lockguard
