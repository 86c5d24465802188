#include "core/histogram.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace lockguard {

namespace {

constexpr uint64_t kUint64Max = std::numeric_limits<uint64_t>::max();
constexpr size_t kExactBuckets = 4;  // 0..3 by value; the octave [4, 8) is exact as well
constexpr unsigned kSubBucketBits = 2;

}  // namespace

size_t histogram_bucket(uint64_t micros) noexcept {
    if (micros < kExactBuckets) return static_cast<size_t>(micros);
    if (micros > kHistogramMaxTrackedUs) return kHistogramOverflowBucket;
    const unsigned octave = 63u - static_cast<unsigned>(__builtin_clzll(micros));  // 2..31
    const unsigned sub = static_cast<unsigned>(micros >> (octave - kSubBucketBits)) & 3u;
    return 4 * static_cast<size_t>(octave - 1u) + sub;
}

uint64_t histogram_bucket_lower_us(size_t bucket) noexcept {
    if (bucket < kExactBuckets) return bucket;
    if (bucket >= kHistogramOverflowBucket) return kHistogramMaxTrackedUs + 1;
    const unsigned octave = static_cast<unsigned>(bucket / 4) + 1u;
    const uint64_t sub = bucket % 4;
    return (4u + sub) << (octave - kSubBucketBits);
}

uint64_t histogram_bucket_upper_us(size_t bucket) noexcept {
    if (bucket < kExactBuckets) return bucket;
    if (bucket >= kHistogramOverflowBucket) return kUint64Max;
    return histogram_bucket_lower_us(bucket + 1) - 1;
}

double histogram_percentile_us(const uint64_t *counts, double q, uint64_t max_seen_us) noexcept {
    if (counts == nullptr) return 0.0;
    // Counters are 64-bit and only grow; saturate rather than wrap in the (theoretical) case of
    // a sum past 2^64.
    uint64_t total = 0;
    for (size_t b = 0; b < kHistogramBuckets; b++) total = (counts[b] > kUint64Max - total) ? kUint64Max : total + counts[b];
    if (total == 0) return 0.0;

    if (!(q > 0.0)) q = 0.0;  // also NaN
    if (q > 1.0) q = 1.0;
    const double wanted = std::ceil(q * static_cast<double>(total));
    uint64_t rank = wanted >= static_cast<double>(total) ? total : static_cast<uint64_t>(wanted);
    rank = std::max<uint64_t>(rank, 1);

    size_t found = kHistogramBuckets;
    uint64_t seen = 0;
    for (size_t b = 0; b < kHistogramBuckets; b++) {
        if (counts[b] == 0) continue;
        found = b;
        seen = (counts[b] > kUint64Max - seen) ? kUint64Max : seen + counts[b];
        if (seen >= rank) break;
    }
    const uint64_t lower = histogram_bucket_lower_us(found);
    const uint64_t upper = histogram_bucket_upper_us(found);
    return static_cast<double>(std::min(upper, std::max(max_seen_us, lower)));
}

}  // namespace lockguard
