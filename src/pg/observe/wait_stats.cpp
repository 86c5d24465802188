#include "pg/observe/wait_stats.hpp"

#include "core/resource_key.hpp"
#include "pg/infra/settings.hpp"
#include "pg/infra/shmem.hpp"

namespace lockguard::pg {

namespace {

struct StatsEntry {
    pg_atomic_uint32 in_use;  // set last, after the key fields: readers skip entries being filled
    char tenant[64];
    LockScope scope;
    char resource_class[kClassNameBytes];
    pg_atomic_uint64 acquisitions;
    pg_atomic_uint64 waited;
    pg_atomic_uint64 timeouts;
    pg_atomic_uint64 deadlocks;
    pg_atomic_uint64 max_us;
    pg_atomic_uint64 buckets[kHistogramBuckets];
};

struct StatsTable {
    int capacity;  // a power of two, open addressing
    StatsEntry entries[FLEXIBLE_ARRAY_MEMBER];
};

StatsTable *table = nullptr;

int table_capacity() {
    int capacity = 16;
    while (capacity < settings.max_wait_classes * 2) capacity *= 2;  // keep the load under one half
    return capacity;
}

Size table_size() { return add_size(offsetof(StatsTable, entries), mul_size(table_capacity(), sizeof(StatsEntry))); }

void attach_table(void *memory, bool found) {
    table = static_cast<StatsTable *>(memory);
    if (found) return;
    table->capacity = table_capacity();
    for (int i = 0; i < table->capacity; i++) {
        StatsEntry *e = &table->entries[i];
        pg_atomic_init_u32(&e->in_use, 0);
        pg_atomic_init_u64(&e->acquisitions, 0);
        pg_atomic_init_u64(&e->waited, 0);
        pg_atomic_init_u64(&e->timeouts, 0);
        pg_atomic_init_u64(&e->deadlocks, 0);
        pg_atomic_init_u64(&e->max_us, 0);
        for (auto &bucket : e->buckets) pg_atomic_init_u64(&bucket, 0);
    }
}

bool entry_matches(const StatsEntry *e, const char *tenant, LockScope scope, const char *resource_class) {
    return e->scope == scope && strcmp(e->tenant, tenant) == 0 && strcmp(e->resource_class, resource_class) == 0;
}

uint32 entry_hash(const char *tenant, LockScope scope, const char *resource_class) {
    uint64_t h = fnv1a64(tenant);
    h = fnv1a64(std::string_view(reinterpret_cast<const char *>(&scope), sizeof(scope)), h);
    h = fnv1a64(resource_class, h);
    return static_cast<uint32>(mix64(h));
}

int used_entries() {
    int used = 0;
    for (int i = 0; i < table->capacity; i++) used += pg_atomic_read_u32(&table->entries[i].in_use) != 0 ? 1 : 0;
    return used;
}

// Finds the entry, or claims a free one under the lock. nullptr when the table is full.
// `limit` is lockguard.max_wait_classes, one more for the reserved "(other)" class.
StatsEntry *find_or_add(const char *tenant, LockScope scope, const char *resource_class, int limit) {
    uint32 mask = table->capacity - 1;
    uint32 start = entry_hash(tenant, scope, resource_class) & mask;
    for (uint32 i = 0; i <= mask; i++) {  // lock-free look-up (protocol: pg/infra/shmem.hpp)
        StatsEntry *e = &table->entries[(start + i) & mask];
        if (pg_atomic_read_u32(&e->in_use) == 0) break;
        pg_read_barrier();  // the key was written before in_use: read it after
        if (entry_matches(e, tenant, scope, resource_class)) return e;
    }
    LWLock *lock = lockguard_lwlock(LockguardLWLock::WaitStats);
    LWLockAcquire(lock, LW_EXCLUSIVE);
    StatsEntry *found = nullptr;
    for (uint32 i = 0; i <= mask && found == nullptr; i++) {
        StatsEntry *e = &table->entries[(start + i) & mask];
        if (pg_atomic_read_u32(&e->in_use) == 0) {
            if (used_entries() >= limit) break;
            strlcpy(e->tenant, tenant, sizeof(e->tenant));
            e->scope = scope;
            strlcpy(e->resource_class, resource_class, sizeof(e->resource_class));
            pg_write_barrier();
            pg_atomic_write_u32(&e->in_use, 1);
            found = e;
        } else if (entry_matches(e, tenant, scope, resource_class)) {
            found = e;
        }
    }
    LWLockRelease(lock);
    return found;
}

void atomic_max(pg_atomic_uint64 *target, uint64 value) {
    uint64 current = pg_atomic_read_u64(target);
    while (value > current && !pg_atomic_compare_exchange_u64(target, &current, value)) {
    }
}

}  // namespace

void register_wait_stats() { register_shmem_part({"lockguard wait statistics", table_size, attach_table}); }

void add_wait_stats(const char *tenant, LockScope scope, const char *resource_class, WaitEventOutcome outcome,
                    long waited_us) {
    if (table == nullptr) return;
    StatsEntry *e = find_or_add(tenant, scope, resource_class, settings.max_wait_classes);
    if (e == nullptr) e = find_or_add("", LockScope::Named, "(other)", settings.max_wait_classes + 1);
    if (e == nullptr) return;
    uint64 micros = waited_us > 0 ? static_cast<uint64>(waited_us) : 0;
    switch (outcome) {
        case WaitEventOutcome::Granted:
            pg_atomic_fetch_add_u64(&e->acquisitions, 1);
            if (micros > 0) pg_atomic_fetch_add_u64(&e->waited, 1);
            pg_atomic_fetch_add_u64(&e->buckets[histogram_bucket(micros)], 1);
            atomic_max(&e->max_us, micros);
            break;
        case WaitEventOutcome::Timeout:
            pg_atomic_fetch_add_u64(&e->timeouts, 1);
            break;
        case WaitEventOutcome::Deadlock:
            pg_atomic_fetch_add_u64(&e->deadlocks, 1);
            break;
        case WaitEventOutcome::Retried:  // the attempt's own timeout or deadlock is already counted
        case WaitEventOutcome::GaveUp:
        case WaitEventOutcome::Rejected:  // guardrail events are audited, not waits
        case WaitEventOutcome::Override:
        case WaitEventOutcome::Cancelled:
        case WaitEventOutcome::Terminated:
            break;
    }
}

int wait_stats_capacity() { return table->capacity; }

int snapshot_wait_stats(WaitStatsSnapshot *out, int capacity) {
    int count = 0;
    for (int i = 0; i < table->capacity && count < capacity; i++) {
        StatsEntry *e = &table->entries[i];
        if (pg_atomic_read_u32(&e->in_use) == 0) continue;
        pg_read_barrier();
        WaitStatsSnapshot &s = out[count++];
        strlcpy(s.tenant, e->tenant, sizeof(s.tenant));
        s.scope = e->scope;
        strlcpy(s.resource_class, e->resource_class, sizeof(s.resource_class));
        s.acquisitions = pg_atomic_read_u64(&e->acquisitions);
        s.waited = pg_atomic_read_u64(&e->waited);
        s.timeouts = pg_atomic_read_u64(&e->timeouts);
        s.deadlocks = pg_atomic_read_u64(&e->deadlocks);
        s.max_us = pg_atomic_read_u64(&e->max_us);
        for (size_t b = 0; b < kHistogramBuckets; b++) s.buckets[b] = pg_atomic_read_u64(&e->buckets[b]);
    }
    return count;
}

void reset_wait_stats() {
    for (int i = 0; i < table->capacity; i++) {
        StatsEntry *e = &table->entries[i];
        pg_atomic_write_u64(&e->acquisitions, 0);
        pg_atomic_write_u64(&e->waited, 0);
        pg_atomic_write_u64(&e->timeouts, 0);
        pg_atomic_write_u64(&e->deadlocks, 0);
        pg_atomic_write_u64(&e->max_us, 0);
        for (auto &bucket : e->buckets) pg_atomic_write_u64(&bucket, 0);
    }
}

}  // namespace lockguard::pg
