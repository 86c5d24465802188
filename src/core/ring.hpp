// The bookkeeping of a ring of numbered entries, shared by the audit ring and the deadlock ring.
//
// Plain data, because it lives in shared memory (no constructor runs there); the entries and the
// lock that protects them are the glue's (pg/infra/shared_ring.hpp). Entries are numbered from 1, so a
// zeroed slot (seq 0) is an empty one; entry `seq` lives in slot (seq - 1) % capacity, and once
// the ring is full each new entry pushes out the oldest.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lockguard {

struct RingCursor {
    int64_t next_seq;     // the seq the next entry gets
    int64_t overwritten;  // entries pushed out by newer ones (lost unless read before)
    int32_t capacity;     // slots; at least 1
};

// The entries a reader can still find, oldest first; empty when newest < oldest.
struct RingSpan {
    int64_t oldest;
    int64_t newest;
};

constexpr RingCursor ring_start(int32_t capacity) { return RingCursor{1, 0, capacity}; }

constexpr size_t ring_slot(const RingCursor &cursor, int64_t seq) {
    return static_cast<size_t>((seq - 1) % cursor.capacity);
}

// Numbers the next entry and counts the one it pushes out, if the ring is full.
constexpr int64_t ring_claim(RingCursor &cursor) {
    int64_t seq = cursor.next_seq++;
    if (seq > cursor.capacity) cursor.overwritten++;
    return seq;
}

constexpr RingSpan ring_live_span(const RingCursor &cursor) {
    int64_t newest = cursor.next_seq - 1;
    int64_t oldest = newest - cursor.capacity + 1;
    return RingSpan{oldest < 1 ? 1 : oldest, newest};
}

// A copy made in chunks, each under its own hold of the ring's lock, so that writers never wait
// for more than one chunk: the next chunk resumes after `copied_through`, or at the oldest entry
// still there if newer ones pushed the next out meanwhile, and ends at `through` (the newest entry
// when the copy began: later ones wait for the next copy). Empty when last < first.
struct RingChunk {
    int64_t first;
    int64_t last;
};

constexpr RingChunk ring_next_chunk(const RingCursor &cursor, int64_t copied_through, int64_t through,
                                    int64_t max_entries) {
    int64_t oldest = ring_live_span(cursor).oldest;
    int64_t first = copied_through + 1 > oldest ? copied_through + 1 : oldest;
    int64_t last = first + max_entries - 1 < through ? first + max_entries - 1 : through;
    return RingChunk{first, last};
}

}  // namespace lockguard
