#include "core/backoff.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

namespace lockguard {

namespace {

std::string number(double value) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%g", value);
    return buffer;
}

}  // namespace

void validate_backoff_policy(const BackoffPolicy &policy) {
    if (policy.base_ms < 0) {
        throw Error(sqlstate::kInvalidParameterValue, "invalid backoff base: " + std::to_string(policy.base_ms) + " ms",
                    "The base delay must be 0 ms or more.");
    }
    if (policy.max_ms < policy.base_ms) {
        throw Error(sqlstate::kInvalidParameterValue,
                    "invalid backoff maximum: " + std::to_string(policy.max_ms) + " ms",
                    "The maximum delay must be at least the base delay (" + std::to_string(policy.base_ms) +
                        " ms).");
    }
    if (!(policy.multiplier >= 1.0) || !std::isfinite(policy.multiplier)) {
        throw Error(sqlstate::kInvalidParameterValue, "invalid backoff multiplier: " + number(policy.multiplier),
                    "The multiplier must be a finite number of 1 or more.", "Use 1 for a constant delay.");
    }
}

int32_t backoff_delay_ms(const BackoffPolicy &policy, int attempt, uint64_t random_bits) noexcept {
    if (attempt < 1) return 0;
    const int64_t max_ms = std::max<int32_t>(policy.max_ms, 0);
    const int64_t base_ms = std::max<int32_t>(policy.base_ms, 0);
    const double multiplier = policy.multiplier >= 1.0 ? policy.multiplier : 1.0;  // NaN fails >= too

    // In double, pow() saturates to infinity instead of overflowing; base 0 stays 0 (0 * inf
    // would be NaN).
    int64_t ceiling = 0;
    if (base_ms > 0) {
        double grown = static_cast<double>(base_ms) * std::pow(multiplier, attempt - 1);
        ceiling = (std::isnan(grown) || grown >= static_cast<double>(max_ms)) ? max_ms
                                                                               : static_cast<int64_t>(grown);
    }
    ceiling = std::min(ceiling, max_ms);

    const int64_t half = ceiling / 2;
    const auto jitter = static_cast<int64_t>(random_bits % static_cast<uint64_t>(half + 1));
    return static_cast<int32_t>(ceiling - half + jitter);
}

void validate_retry_budget(const RetryBudget &budget) {
    if (budget.max_attempts < 1) {
        throw Error(sqlstate::kInvalidParameterValue,
                    "invalid maximum number of attempts: " + std::to_string(budget.max_attempts),
                    "At least one attempt is needed.");
    }
    if (budget.deadline_ms < 0) {
        throw Error(sqlstate::kInvalidParameterValue, "invalid retry deadline: " + std::to_string(budget.deadline_ms) + " ms",
                    "The deadline must be 0 ms or more.", "Use 0 for no deadline.");
    }
}

RetryVerdict decide_retry(const RetryBudget &budget, int attempts_made, int64_t elapsed_ms,
                          int32_t next_delay_ms) noexcept {
    if (attempts_made >= std::max<int32_t>(budget.max_attempts, 1)) return RetryVerdict::GiveUpAttempts;
    if (budget.deadline_ms > 0) {
        int64_t next_start;
        if (__builtin_add_overflow(elapsed_ms, std::max<int32_t>(next_delay_ms, 0), &next_start))
            next_start = std::numeric_limits<int64_t>::max();
        if (next_start >= budget.deadline_ms) return RetryVerdict::GiveUpDeadline;
    }
    return RetryVerdict::Retry;
}

uint64_t next_random(uint64_t &state) noexcept {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

}  // namespace lockguard
