// The retry schedule of the retry envelope: how long to sleep before attempt n + 1, and whether
// to try again at all.
//
// Delays use "equal jitter": the ceiling c = min(max_ms, base_ms * multiplier^(attempt - 1)),
// and the delay is c - floor(c/2) plus a uniform draw from [0, floor(c/2)], i.e. in [c/2, c].
// Full jitter (uniform in [0, c]) spreads retries a bit more but lets some of them come straight
// back into the queue that just timed them out; a lock that was contended a moment ago usually
// still is, so every retry waits at least half the ceiling, and the randomness still breaks up
// sessions that failed together.
#pragma once

#include <cstdint>

namespace lockguard {

struct BackoffPolicy {
    int32_t base_ms = 10;      // ceiling of the first delay
    int32_t max_ms = 1000;     // no delay exceeds this
    double multiplier = 2.0;   // ceiling growth per attempt
};

// Throws Error 22023 unless base_ms >= 0, max_ms >= base_ms and multiplier >= 1 (and finite).
void validate_backoff_policy(const BackoffPolicy &policy);

// The delay before the retry that follows failed attempt `attempt` (1 = after the first failure).
// Always within [0, max(max_ms, 0)]; 0 for attempt < 1. Deterministic in random_bits, no
// overflow for any attempt. An unvalidated policy is tolerated: a negative base counts as 0,
// a multiplier below 1 (or NaN) as 1.
int32_t backoff_delay_ms(const BackoffPolicy &policy, int attempt, uint64_t random_bits) noexcept;

struct RetryBudget {
    int32_t max_attempts;  // attempts in total, the first one included
    int64_t deadline_ms;   // total time allowed, from the start of the first attempt; 0 = none
};

// Throws Error 22023 unless max_attempts >= 1 and deadline_ms >= 0.
void validate_retry_budget(const RetryBudget &budget);

enum class RetryVerdict { Retry, GiveUpAttempts, GiveUpDeadline };

// After `attempts_made` failed attempts, `elapsed_ms` after the first began, with the next attempt
// due after next_delay_ms: retry, or give up because the attempts are spent, or because the next
// attempt would start at or after the deadline (it would have no time left to wait). Attempts
// are checked first. max_attempts < 1 counts as 1; negative delays count as 0.
RetryVerdict decide_retry(const RetryBudget &budget, int attempts_made, int64_t elapsed_ms,
                          int32_t next_delay_ms) noexcept;

// One splitmix64 step: advances state and returns 64 well-mixed bits. Seed with anything
// (for example the pid and the clock); a zero seed is fine.
uint64_t next_random(uint64_t &state) noexcept;

}  // namespace lockguard
