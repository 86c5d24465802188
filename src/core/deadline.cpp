#include "core/deadline.hpp"

namespace lockguard {

Deadline::Deadline(int64_t start_us, int32_t timeout_ms) noexcept
    : start_us_(start_us), timeout_ms_(timeout_ms < 0 ? 0 : timeout_ms) {}

int64_t Deadline::waited_us(int64_t now_us) const noexcept {
    return now_us > start_us_ ? now_us - start_us_ : 0;
}

int64_t Deadline::remaining_us(int64_t now_us) const noexcept {
    int64_t total_us = static_cast<int64_t>(timeout_ms_) * 1000;
    int64_t used_us = waited_us(now_us);
    return used_us >= total_us ? 0 : total_us - used_us;
}

int32_t Deadline::wait_budget_ms(int64_t now_us) const noexcept {
    int64_t left_us = remaining_us(now_us);
    if (left_us == 0) return 0;
    int64_t left_ms = (left_us + 999) / 1000;  // up: 1 us left is still a 1 ms wait, not "forever"
    return static_cast<int32_t>(left_ms);      // <= timeout_ms, fits
}

}  // namespace lockguard
