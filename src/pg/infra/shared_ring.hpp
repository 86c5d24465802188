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

    // A consistent copy of the live entries, oldest first; at most `capacity` of them. Entries
    // numbered up to skip_through() are left out.
    int copy_oldest_first(Entry *out, int capacity) const {
        LWLock *lock = lockguard_lwlock(lock_);
        LWLockAcquire(lock, LW_SHARED);
        RingSpan span = ring_live_span(header_->cursor);
        int count = 0;
        for (int64 seq = Max(span.oldest, skip_through_ + 1); seq <= span.newest && count < capacity; seq++)
            out[count++] = entries_[ring_slot(header_->cursor, seq)];
        LWLockRelease(lock);
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
