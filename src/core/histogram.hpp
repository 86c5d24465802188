// Latency histogram for lock-wait statistics.
//
// The glue keeps one array of kHistogramBuckets counters per (tenant, resource class) in shared
// memory as atomics, plus the largest value seen; these functions map a wait to its bucket and
// read percentiles off a snapshot of the counters. Plain functions on plain arrays, noexcept and
// allocation-free, so recording can happen anywhere.
//
// Buckets over microseconds, log-linear with 4 sub-buckets per power of two:
//   buckets 0..7      exactly 0, 1, ..., 7 µs
//   from 8 µs up      each octave [2^e, 2^(e+1)) split in 4 equal buckets of width 2^(e-2),
//                     so a bucket is at most 25% wider than its lower bound (about 19% on average)
//   bucket 123        [3.75 * 2^30, 2^32 - 1] µs; 2^32 µs is about 71.6 minutes
//   bucket 124        overflow: 2^32 µs and more
// A reported percentile is its bucket's upper bound, so it never understates a wait, and
// overstates it by less than one bucket width (< 25%).
#pragma once

#include <cstddef>
#include <cstdint>

namespace lockguard {

inline constexpr size_t kHistogramBuckets = 125;
inline constexpr size_t kHistogramOverflowBucket = kHistogramBuckets - 1;
// The largest value with a bucket of its own: anything above lands in the overflow bucket.
inline constexpr uint64_t kHistogramMaxTrackedUs = (uint64_t{1} << 32) - 1;
static_assert(kHistogramBuckets <= 128, "the glue sizes shared memory for at most 128 buckets");

// The bucket of a wait of `micros` µs.
size_t histogram_bucket(uint64_t micros) noexcept;

// The smallest and largest values a bucket holds (inclusive). The overflow bucket's upper bound,
// and that of any index past it, is UINT64_MAX.
uint64_t histogram_bucket_lower_us(size_t bucket) noexcept;
uint64_t histogram_bucket_upper_us(size_t bucket) noexcept;

// The nearest-rank q-quantile (q in [0, 1]; NaN and q < 0 count as 0, q > 1 as 1) of the samples
// counted in counts[0..kHistogramBuckets): the upper bound of the bucket holding the sample of
// rank ceil(q * total) (at least 1), but never more than max_seen_us, the largest value recorded.
// A max_seen_us below that bucket's lower bound is a stale reading (the glue updates counters and
// maximum separately), and the lower bound is reported instead. 0 when there are no samples.
double histogram_percentile_us(const uint64_t *counts, double q, uint64_t max_seen_us) noexcept;

}  // namespace lockguard
