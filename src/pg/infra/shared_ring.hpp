// A ring of numbered entries in shared memory, appended under an exclusive LWLock and copied out
// under a shared one: the audit ring and the deadlock ring. The numbering and wrap-around are the
// core's (core/ring.hpp); the locking protocol is stated in pg/infra/shmem.hpp.
//
// `Entry` is plain data with an `int64 seq` field (0 = empty slot). An object of this class is
// each process's handle on the ring, set up by the shared-memory part's attach callback.
#pragma once

#include "core/ring.hpp"
#include "pg/infra/shmem.hpp"

namespace lockguard::pg {

template <typename Entry>
class SharedRing {
public:
    static Size size_for(int capacity) { return add_size(header_bytes(), mul_size(capacity, sizeof(Entry))); }

    // `memory` is zeroed the first time (`found` false): every slot starts empty.
    void attach(void *memory, bool found, int capacity, LockguardLWLock lock) {
        header_ = static_cast<Header *>(memory);
        entries_ = reinterpret_cast<Entry *>(static_cast<char *>(memory) + header_bytes());
        lock_ = lock;
        if (found) return;
        header_->epoch = GetCurrentTimestamp();
        header_->cursor = ring_start(capacity);
    }

    [[nodiscard]] bool attached() const { return header_ != nullptr; }

    // Copies `entry` in as the newest, numbering it.
    void append(const Entry &entry) {
        LWLock *lock = lockguard_lwlock(lock_);
        LWLockAcquire(lock, LW_EXCLUSIVE);
        int64 seq = ring_claim(header_->cursor);
        Entry *slot = &entries_[ring_slot(header_->cursor, seq)];
        *slot = entry;
        slot->seq = seq;
        LWLockRelease(lock);
    }

    // The live entries, oldest first, up to the newest when the copy began; at most `capacity`
    // of them. Entries numbered up to skip_through() are left out. Copied kCopyChunk entries per
    // hold of the lock (ring_next_chunk): a whole audit ring is 4096 entries of 560 bytes, and
    // every session writing an entry waited for a view's copy of all of them. An entry pushed
    // out between two chunks is left out, as if the copy had begun a little later.
    int copy_oldest_first(Entry *out, int capacity) const {
        LWLock *lock = lockguard_lwlock(lock_);
        int count = 0;
        int64 copied_through = skip_through_;
        int64 through = 0;
        for (bool first_chunk = true;; first_chunk = false) {
            LWLockAcquire(lock, LW_SHARED);
            if (first_chunk) through = ring_live_span(header_->cursor).newest;
            RingChunk chunk = ring_next_chunk(header_->cursor, copied_through, through, Min(kCopyChunk, capacity - count));
            for (int64 seq = chunk.first; seq <= chunk.last; seq++) out[count++] = entries_[ring_slot(header_->cursor, seq)];
            LWLockRelease(lock);
            if (chunk.last < chunk.first || chunk.last >= through) break;
            copied_through = chunk.last;
        }
        return count;
    }

    // In this process only (the handle is per process), copies leave out the entries numbered up
    // to `seq`. The worker sets it to what it has committed to a table: without it, every cycle
    // copied the whole ring (4096 entries by default) under the ring's lock, which writers queue
    // behind, only for the flush query to drop the entries already persisted.
    void skip_through(int64 seq) { skip_through_ = seq; }

    [[nodiscard]] int64 last_seq() const { return read_under_lock([](const RingCursor &c) { return c.next_seq - 1; }); }
    [[nodiscard]] int64 overwritten() const {
        return read_under_lock([](const RingCursor &c) { return c.overwritten; });
    }

    // Set once when shared memory is set up: read without the lock.
    [[nodiscard]] TimestampTz epoch() const { return header_->epoch; }
    [[nodiscard]] int capacity() const { return header_->cursor.capacity; }

private:
    static constexpr int kCopyChunk = 256;

    struct Header {
        TimestampTz epoch;  // when shared memory was set up: seqs restart from 1 in a new epoch
        RingCursor cursor;
    };

    static Size header_bytes() { return MAXALIGN(sizeof(Header)); }

    template <typename Read>
    [[nodiscard]] int64 read_under_lock(Read read) const {
        LWLock *lock = lockguard_lwlock(lock_);
        LWLockAcquire(lock, LW_SHARED);
        int64 value = read(header_->cursor);
        LWLockRelease(lock);
        return value;
    }

    Header *header_ = nullptr;
    Entry *entries_ = nullptr;
    LockguardLWLock lock_ = LockguardLWLock::AuditRing;
    int64 skip_through_ = 0;
};

}  // namespace lockguard::pg
