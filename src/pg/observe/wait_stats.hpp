// Wait statistics in shared memory: per (tenant, scope, resource class) a latency histogram and
// counters, updated with atomics by every acquisition; lockguard.wait_stats reads percentiles.
#pragma once

#include "core/histogram.hpp"
#include "pg/state/backend_slots.hpp"
#include "pg/observe/wait_event_outcome.hpp"

namespace lockguard::pg {

constexpr int kClassNameBytes = 64;

struct WaitStatsSnapshot {
    char tenant[64];
    LockScope scope;
    char resource_class[kClassNameBytes];
    uint64 acquisitions;
    uint64 waited;  // acquisitions that had to wait
    uint64 timeouts;
    uint64 deadlocks;
    uint64 max_us;
    uint64 buckets[kHistogramBuckets];
};

void register_wait_stats();

// Adds one event; a full table counts it under the class "(other)".
void add_wait_stats(const char *tenant, LockScope scope, const char *resource_class, WaitEventOutcome outcome,
                    long waited_us);

// Copies every class in use; returns how many (at most `capacity`).
int snapshot_wait_stats(WaitStatsSnapshot *out, int capacity);
int wait_stats_capacity();
void reset_wait_stats();

}  // namespace lockguard::pg
