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
    // As SharedRing::copy_oldest_first copies: chunk by chunk, `between` running after each
    // chunk (where writers get the lock).
    template <typename Between>
    std::vector<int64_t> copy_in_chunks(int64_t skip_through, int64_t max_entries, Between between) {
        std::vector<int64_t> out;
        int64_t through = ring_live_span(cursor).newest;
        int64_t copied_through = skip_through;
        for (;;) {
            RingChunk chunk = ring_next_chunk(cursor, copied_through, through, max_entries);
            for (int64_t seq = chunk.first; seq <= chunk.last; seq++) out.push_back(slots[ring_slot(cursor, seq)]);
            if (chunk.last < chunk.first || chunk.last >= through) break;
            copied_through = chunk.last;
            between();
        }
        return out;
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

TEST(RingChunks, UndisturbedCopyEqualsTheLiveEntries) {
    for (int appended : {0, 1, 5, 8, 13}) {
        TestRing ring(8);
        for (int i = 0; i < appended; i++) ring.append();
        for (int64_t chunk : {1, 3, 8, 100})
            EXPECT_EQ(ring.copy_in_chunks(0, chunk, [] {}), ring.oldest_first()) << appended << " entries, chunks of " << chunk;
    }
}

TEST(RingChunks, LeavesOutWhatWasSkipped) {
    TestRing ring(8);
    for (int i = 0; i < 10; i++) ring.append();  // live: 3..10
    EXPECT_EQ(ring.copy_in_chunks(6, 2, [] {}), (std::vector<int64_t>{7, 8, 9, 10}));
    EXPECT_EQ(ring.copy_in_chunks(1, 2, [] {}), (std::vector<int64_t>{3, 4, 5, 6, 7, 8, 9, 10}));
    EXPECT_TRUE(ring.copy_in_chunks(10, 2, [] {}).empty());
}

// Writers between chunks: every entry copied was live when its chunk was taken (its slot still
// holds it), in increasing order, none newer than the newest when the copy began.
TEST(RingChunks, WritersBetweenChunksPushOutOnlyTheUncopied) {
    for (int writes_between : {1, 2, 3, 5, 9}) {
        TestRing ring(8);
        for (int i = 0; i < 8; i++) ring.append();  // live: 1..8, the copy ends at 8
        std::vector<int64_t> got = ring.copy_in_chunks(0, 2, [&] {
            for (int i = 0; i < writes_between; i++) ring.append();
        });
        ASSERT_FALSE(got.empty());
        EXPECT_EQ(got.front(), 1) << "the first chunk precedes any writer";
        for (size_t i = 1; i < got.size(); i++) EXPECT_LT(got[i - 1], got[i]);
        for (int64_t seq : got) EXPECT_LE(seq, 8);
    }
}

TEST(RingChunks, ResumesAtTheOldestStillThere) {
    TestRing ring(8);
    for (int i = 0; i < 8; i++) ring.append();
    auto three_writes = [&] {
        for (int i = 0; i < 3; i++) ring.append();
    };
    // [1,2]; 3 pushed out by 9..11 -> [4,5]; 6 pushed out by 12..14 -> [7,8], the end.
    EXPECT_EQ(ring.copy_in_chunks(0, 2, three_writes), (std::vector<int64_t>{1, 2, 4, 5, 7, 8}));
    TestRing lapped(8);
    for (int i = 0; i < 8; i++) lapped.append();
    // After the first chunk the whole rest is pushed out: nothing newer than 8 is copied.
    EXPECT_EQ(lapped.copy_in_chunks(0, 2, [&] {
        for (int i = 0; i < 9; i++) lapped.append();
    }), (std::vector<int64_t>{1, 2}));
}

}  // namespace
