#include "core/ring.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace lockguard;

namespace {

// A ring of ints driven the way pg/infra/shared_ring.hpp drives the shared one.
struct TestRing {
    RingCursor cursor;
    std::vector<int64_t> slots;
    explicit TestRing(int32_t capacity) : cursor(ring_start(capacity)), slots(capacity, 0) {}
    void append() {
        int64_t seq = ring_claim(cursor);
        slots[ring_slot(cursor, seq)] = seq;
    }
    [[nodiscard]] std::vector<int64_t> oldest_first() const {
        std::vector<int64_t> out;
        RingSpan span = ring_live_span(cursor);
        for (int64_t seq = span.oldest; seq <= span.newest; seq++) out.push_back(slots[ring_slot(cursor, seq)]);
        return out;
    }
};

TEST(Ring, EmptyRingHasNoLiveEntries) {
    TestRing ring(4);
    RingSpan span = ring_live_span(ring.cursor);
    EXPECT_LT(span.newest, span.oldest);
    EXPECT_TRUE(ring.oldest_first().empty());
    EXPECT_EQ(ring.cursor.overwritten, 0);
}

TEST(Ring, FillsInOrderWithoutOverwriting) {
    TestRing ring(4);
    for (int i = 0; i < 4; i++) ring.append();
    EXPECT_EQ(ring.oldest_first(), (std::vector<int64_t>{1, 2, 3, 4}));
    EXPECT_EQ(ring.cursor.overwritten, 0);
}

TEST(Ring, WrapsAroundKeepingTheNewestOldestFirst) {
    TestRing ring(4);
    for (int i = 0; i < 6; i++) ring.append();
    EXPECT_EQ(ring.oldest_first(), (std::vector<int64_t>{3, 4, 5, 6}));
    EXPECT_EQ(ring.cursor.overwritten, 2);
    EXPECT_EQ(ring_slot(ring.cursor, 5), 0u);
    EXPECT_EQ(ring.cursor.next_seq, 7);
}

TEST(Ring, OneSlotRingKeepsTheLastEntry) {
    TestRing ring(1);
    for (int i = 0; i < 3; i++) ring.append();
    EXPECT_EQ(ring.oldest_first(), (std::vector<int64_t>{3}));
    EXPECT_EQ(ring.cursor.overwritten, 2);
}

}  // namespace
