#include "core/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace lockguard;

namespace {

constexpr uint64_t kUint64Max = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kOneHourUs = 3'600'000'000ULL;

struct Recorded {
    std::array<uint64_t, kHistogramBuckets> counts{};
    uint64_t max_seen = 0;

    void add(uint64_t micros, uint64_t times = 1) {
        counts[histogram_bucket(micros)] += times;
        max_seen = std::max(max_seen, micros);
    }
    [[nodiscard]] double percentile(double q) const { return histogram_percentile_us(counts.data(), q, max_seen); }
};

// Nearest rank on the raw samples: the ceil(q * n)-th smallest (at least the first).
uint64_t exact_nearest_rank(std::vector<uint64_t> samples, double q) {
    std::sort(samples.begin(), samples.end());
    auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(samples.size())));
    rank = std::clamp<size_t>(rank, 1, samples.size());
    return samples[rank - 1];
}

}  // namespace

TEST(HistogramBuckets, SmallValuesHaveExactBuckets) {
    for (uint64_t v = 0; v < 8; v++) {
        EXPECT_EQ(histogram_bucket(v), v);
        EXPECT_EQ(histogram_bucket_lower_us(v), v);
        EXPECT_EQ(histogram_bucket_upper_us(v), v);
    }
    // From 8 µs on, two values per bucket in the first octave.
    EXPECT_EQ(histogram_bucket(8), 8u);
    EXPECT_EQ(histogram_bucket(9), 8u);
    EXPECT_EQ(histogram_bucket(10), 9u);
    EXPECT_EQ(histogram_bucket(15), 11u);
    EXPECT_EQ(histogram_bucket(16), 12u);
}

TEST(HistogramBuckets, BoundsTileTheRangeWithoutGapsOrOverlaps) {
    EXPECT_EQ(histogram_bucket_lower_us(0), 0u);
    for (size_t b = 0; b < kHistogramOverflowBucket; b++) {
        uint64_t lo = histogram_bucket_lower_us(b);
        uint64_t hi = histogram_bucket_upper_us(b);
        ASSERT_LE(lo, hi) << "bucket " << b;
        EXPECT_EQ(histogram_bucket(lo), b);
        EXPECT_EQ(histogram_bucket(hi), b);
        EXPECT_EQ(histogram_bucket(lo + (hi - lo) / 2), b);
        EXPECT_EQ(histogram_bucket_lower_us(b + 1), hi + 1) << "bucket " << b;
        EXPECT_EQ(histogram_bucket(hi + 1), b + 1);
    }
}

TEST(HistogramBuckets, WidthIsAtMostAQuarterOfTheLowerBound) {
    for (size_t b = 8; b < kHistogramOverflowBucket; b++) {
        uint64_t lo = histogram_bucket_lower_us(b);
        uint64_t hi = histogram_bucket_upper_us(b);
        double relative_width = static_cast<double>(hi - lo + 1) / static_cast<double>(lo);
        EXPECT_LE(relative_width, 0.25) << "bucket " << b;
        EXPECT_GE(relative_width, 1.0 / 7.0 - 1e-12) << "bucket " << b;
    }
}

TEST(HistogramBuckets, CoverAnHourThenOverflow) {
    EXPECT_LE(kHistogramBuckets, 128u);
    EXPECT_LT(histogram_bucket(kOneHourUs), kHistogramOverflowBucket);
    EXPECT_EQ(histogram_bucket(kHistogramMaxTrackedUs), kHistogramOverflowBucket - 1);
    EXPECT_EQ(histogram_bucket_upper_us(kHistogramOverflowBucket - 1), kHistogramMaxTrackedUs);
    EXPECT_EQ(histogram_bucket(kHistogramMaxTrackedUs + 1), kHistogramOverflowBucket);
    EXPECT_EQ(histogram_bucket(kUint64Max), kHistogramOverflowBucket);
    EXPECT_EQ(histogram_bucket_lower_us(kHistogramOverflowBucket), kHistogramMaxTrackedUs + 1);
    EXPECT_EQ(histogram_bucket_upper_us(kHistogramOverflowBucket), kUint64Max);
    EXPECT_EQ(histogram_bucket_upper_us(1000), kUint64Max);  // past the end: no crash, no wrap
}

TEST(HistogramBuckets, AreMonotonic) {
    std::mt19937_64 rng(1);
    for (int i = 0; i < 100000; i++) {
        uint64_t a = rng() >> (rng() % 64);
        uint64_t b = rng() >> (rng() % 64);
        if (a > b) std::swap(a, b);
        ASSERT_LE(histogram_bucket(a), histogram_bucket(b)) << a << " " << b;
        size_t bucket = histogram_bucket(a);
        ASSERT_LE(histogram_bucket_lower_us(bucket), a);
        ASSERT_GE(histogram_bucket_upper_us(bucket), a);
    }
}

TEST(HistogramPercentile, EmptyIsZero) {
    Recorded h;
    EXPECT_EQ(h.percentile(0.5), 0.0);
    EXPECT_EQ(h.percentile(1.0), 0.0);
    EXPECT_EQ(histogram_percentile_us(nullptr, 0.5, 100), 0.0);
}

TEST(HistogramPercentile, SingleSampleIsReportedExactlyThanksToTheMaximum) {
    for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{1234}, uint64_t{987'654'321}, kOneHourUs}) {
        Recorded h;
        h.add(v);
        for (double q : {0.0, 0.01, 0.5, 0.99, 1.0}) EXPECT_EQ(h.percentile(q), static_cast<double>(v)) << v;
    }
}

TEST(HistogramPercentile, AllInOverflowReportsTheMaximum) {
    Recorded h;
    h.add(5'000'000'000ULL);
    h.add(6'000'000'000ULL);
    constexpr uint64_t kHalfMax = kUint64Max / 2;
    h.add(kHalfMax);
    EXPECT_EQ(h.percentile(0.5), static_cast<double>(kHalfMax));
    EXPECT_EQ(h.percentile(1.0), static_cast<double>(kHalfMax));
}

TEST(HistogramPercentile, QuantileArgumentIsClamped) {
    Recorded h;
    h.add(7);  // exact bucket
    h.add(1000);
    h.add(100000);
    EXPECT_EQ(h.percentile(0.0), 7.0);  // rank 1
    EXPECT_EQ(h.percentile(-3.0), 7.0);
    EXPECT_EQ(h.percentile(std::nan("")), 7.0);
    EXPECT_EQ(h.percentile(1.0 / 3.0), 7.0);
    EXPECT_EQ(h.percentile(1.0), 100000.0);  // the maximum caps the bucket's upper bound
    EXPECT_EQ(h.percentile(7.0), 100000.0);
    // Rank ceil(0.34 * 3) = 2: the 1000 µs sample, reported as its bucket's upper bound.
    EXPECT_EQ(histogram_bucket_upper_us(histogram_bucket(1000)), 1023u);
    EXPECT_EQ(h.percentile(0.34), 1023.0);
    EXPECT_EQ(h.percentile(0.5), 1023.0);
}

TEST(HistogramPercentile, StaleMaximumFallsBackToTheBucketLowerBound) {
    Recorded h;
    h.add(1000);
    h.max_seen = 0;  // the counter was bumped, the maximum not yet
    EXPECT_EQ(h.percentile(0.5), static_cast<double>(histogram_bucket_lower_us(histogram_bucket(1000))));
    h.add(kUint64Max);
    h.max_seen = 7;
    EXPECT_EQ(h.percentile(1.0), static_cast<double>(kHistogramMaxTrackedUs + 1));
}

TEST(HistogramPercentile, HugeCountsDoNotWrap) {
    Recorded h;
    h.add(100, kUint64Max - 5);
    h.add(200, 10);
    h.add(300, kUint64Max);
    EXPECT_EQ(h.percentile(0.0), static_cast<double>(histogram_bucket_upper_us(histogram_bucket(100))));
    double top = h.percentile(1.0);
    EXPECT_GE(top, 100.0);
    EXPECT_LE(top, 300.0);
}

TEST(HistogramPercentile, WithinOneBucketOfExactNearestRankOnRandomSamples) {
    std::mt19937_64 rng(2024);
    for (int round = 0; round < 60; round++) {
        Recorded h;
        std::vector<uint64_t> samples;
        size_t n = 1 + rng() % 3000;
        // Log-uniform from 0 to ~10^10 µs, so every range of buckets and the overflow gets samples.
        std::uniform_real_distribution<double> exponent(0.0, 23.0);
        for (size_t i = 0; i < n; i++) {
            uint64_t v = static_cast<uint64_t>(std::exp(exponent(rng))) - 1;
            samples.push_back(v);
            h.add(v);
        }
        for (double q : {0.0, 0.001, 0.1, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0}) {
            uint64_t exact = exact_nearest_rank(samples, q);
            double reported = h.percentile(q);
            size_t bucket = histogram_bucket(exact);
            ASSERT_GE(reported, static_cast<double>(exact)) << "q=" << q;
            ASSERT_LE(reported, static_cast<double>(h.max_seen));
            if (bucket == kHistogramOverflowBucket) continue;
            // Never more than the bucket's width above the truth...
            ASSERT_LE(reported - static_cast<double>(exact),
                      static_cast<double>(histogram_bucket_upper_us(bucket) - histogram_bucket_lower_us(bucket)))
                << "q=" << q << " exact=" << exact;
            // ...which is a relative error under 25% (exact below 8 µs).
            if (exact < 8) {
                ASSERT_EQ(reported, static_cast<double>(exact));
            } else {
                ASSERT_LT((reported - static_cast<double>(exact)) / static_cast<double>(exact), 0.25);
            }
        }
    }
}
