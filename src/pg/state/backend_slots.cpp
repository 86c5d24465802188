#include "pg/state/backend_slots.hpp"

#include "pg/infra/compat.hpp"
#include "pg/infra/settings.hpp"
#include "pg/infra/shmem.hpp"
#include "pg/state/tenant_hooks.hpp"

namespace lockguard::pg {

namespace {

struct SlotArray {
    int slot_count;
    int held_per_slot;
    Size stride;
    pg_atomic_uint32 waiting_backends;  // 0 = no lockguard wait anywhere
    pg_atomic_uint32 ordered_waiters;   // waits that orders_out_of_fifo(): while 0, releasers skip ordering
    Size slots_offset;                  // the slots follow the compact wait-key array
    pg_atomic_uint64 wait_keys[FLEXIBLE_ARRAY_MEMBER];  // per slot: tag fingerprint while waiting, else 0
};

SlotArray *slot_array = nullptr;

Size stride_for(int held_per_slot) {
    return MAXALIGN(add_size(offsetof(BackendSlot, held), mul_size(held_per_slot, sizeof(PublishedLock))));
}

Size slots_offset_for(int slot_count) {
    return MAXALIGN(add_size(offsetof(SlotArray, wait_keys), mul_size(slot_count, sizeof(pg_atomic_uint64))));
}

Size slot_array_size() {
    return add_size(slots_offset_for(total_proc_slots()),
                    mul_size(total_proc_slots(), stride_for(settings.max_locks_per_backend)));
}

void attach_slot_array(void *memory, bool found) {
    slot_array = static_cast<SlotArray *>(memory);
    if (found) return;
    slot_array->slot_count = total_proc_slots();
    slot_array->held_per_slot = settings.max_locks_per_backend;
    slot_array->stride = stride_for(settings.max_locks_per_backend);
    slot_array->slots_offset = slots_offset_for(slot_array->slot_count);
    pg_atomic_init_u32(&slot_array->waiting_backends, 0);
    pg_atomic_init_u32(&slot_array->ordered_waiters, 0);
    for (int i = 0; i < slot_array->slot_count; i++) {
        pg_atomic_init_u64(&slot_array->wait_keys[i], 0);
        BackendSlot *slot = backend_slot(i);
        pg_atomic_init_u32(&slot->change_count, 0);
        pg_atomic_init_u32(&slot->waiting, 0);
    }
}

// One edit of the owner's slot, as plain values computed before the edit begins.
struct SlotChange {
    enum class Wait : uint8 { Keep, Publish, Clear };
    int32 pid = 0;                                // 0: keep
    Wait wait = Wait::Keep;
    const PublishedLock *awaited = nullptr;       // Publish: the wait to describe
    TimestampTz wait_start = 0;                   // Publish
    const PublishedLock *added_held = nullptr;    // appended to held[] (the caller checked for room)
    bool drop_all_held = false;
    SubTransactionId drop_held_of = InvalidSubTransactionId;  // drops that subtransaction's entries
    SubTransactionId move_held_of = InvalidSubTransactionId;  // gives that subtransaction's entries...
    SubTransactionId move_held_to = InvalidSubTransactionId;  // ...to its parent
};

// Can this wait be granted out of its place in the queue? Only with a priority other than 0, or
// a tenant other than the default (fair share): waits of priority 0 in the default tenant all
// tie, aging keeps their order (who waited longer ages first), and ties keep the queue's order.
bool orders_out_of_fifo(const PublishedLock &lock) {
    return lock.priority != 0 || lock.tenant_slot != kDefaultTenantSlot;
}

// The only code that writes a backend slot (the protocol is in pg/infra/shmem.hpp). Between the two
// increments of the change counter it only stores values and issues barriers: no palloc, no
// elog or ereport, no CHECK_FOR_INTERRUPTS, no callback. Nothing in between can raise, so the
// counter is never left odd with readers spinning on it. Anything that can raise, or that
// belongs to another wing (tenant budgets), happens before or after this call.
void apply_slot_change(const SlotChange &change) noexcept {
    BackendSlot *slot = my_backend_slot();
    int procno = my_proc_number();
    pg_atomic_fetch_add_u32(&slot->change_count, 1);  // odd: readers retry (a full barrier)
    if (change.pid != 0) slot->pid = change.pid;
    if (change.wait == SlotChange::Wait::Publish) {
        slot->wait = *change.awaited;
        slot->wait_start = change.wait_start;
        pg_atomic_write_u32(&slot->waiting, 1);
        pg_atomic_write_u64(&slot_array->wait_keys[procno], wait_fingerprint(change.awaited->ref));
        pg_atomic_fetch_add_u32(&slot_array->waiting_backends, 1);
        if (orders_out_of_fifo(*change.awaited)) pg_atomic_fetch_add_u32(&slot_array->ordered_waiters, 1);
    } else if (change.wait == SlotChange::Wait::Clear) {
        if (orders_out_of_fifo(slot->wait)) pg_atomic_fetch_sub_u32(&slot_array->ordered_waiters, 1);
        pg_atomic_write_u32(&slot->waiting, 0);
        pg_atomic_write_u64(&slot_array->wait_keys[procno], 0);
        pg_atomic_fetch_sub_u32(&slot_array->waiting_backends, 1);
    }
    if (change.added_held != nullptr) slot->held[slot->held_count++] = *change.added_held;
    if (change.drop_all_held) slot->held_count = 0;
    if (change.drop_held_of != InvalidSubTransactionId) {
        int kept = 0;
        for (int i = 0; i < slot->held_count; i++)
            if (slot->held[i].subxact != change.drop_held_of) slot->held[kept++] = slot->held[i];
        slot->held_count = kept;
    }
    if (change.move_held_of != InvalidSubTransactionId)
        for (int i = 0; i < slot->held_count; i++)
            if (slot->held[i].subxact == change.move_held_of) slot->held[i].subxact = change.move_held_to;
    pg_atomic_fetch_add_u32(&slot->change_count, 1);  // even again (a full barrier)
}

}  // namespace

uint64 wait_fingerprint(const LockRef &ref) {
    uint64 value = (static_cast<uint64>(ref.key_high) << 32 | ref.key_low) ^
                   (static_cast<uint64>(ref.database) << 16) ^ static_cast<uint64>(ref.space);
    return value == 0 ? 1 : value;  // 0 means "not waiting"
}

void register_backend_slots() { register_shmem_part({"lockguard backend slots", slot_array_size, attach_slot_array}); }

int backend_slot_count() { return slot_array ? slot_array->slot_count : 0; }

BackendSlot *backend_slot(int procno) {
    char *base = reinterpret_cast<char *>(slot_array) + slot_array->slots_offset;
    return reinterpret_cast<BackendSlot *>(base + static_cast<Size>(procno) * slot_array->stride);
}

BackendSlot *my_backend_slot() {
    if (slot_array == nullptr || MyProc == nullptr) return nullptr;
    return backend_slot(my_proc_number());
}

Size backend_slot_size() { return slot_array->stride; }

void publish_wait(const PublishedLock &lock) {
    SlotChange change;
    change.pid = MyProcPid;
    change.wait = SlotChange::Wait::Publish;
    change.awaited = &lock;
    change.wait_start = GetCurrentTimestamp();
    // Published before LockAcquire enqueues us under the partition lock, so a releaser that
    // finds us in the wait queue (under that lock) finds the edit complete.
    apply_slot_change(change);
}

void clear_wait() {
    BackendSlot *slot = my_backend_slot();
    if (slot == nullptr || pg_atomic_read_u32(&slot->waiting) == 0) return;
    int32 tenant_slot = slot->wait.tenant_slot;  // the owner reads its own slot without the counter
    SlotChange change;
    change.wait = SlotChange::Wait::Clear;
    apply_slot_change(change);
    tenant_callbacks().release_waiter(tenant_slot);
}

bool any_wait_out_of_fifo() {
    return slot_array != nullptr && pg_atomic_read_u32(&slot_array->ordered_waiters) != 0;
}

uint32 lockguard_waiter_count() {
    return slot_array != nullptr ? pg_atomic_read_u32(&slot_array->waiting_backends) : 0;
}

uint32 ordered_waiter_count() {
    return slot_array != nullptr ? pg_atomic_read_u32(&slot_array->ordered_waiters) : 0;
}

uint64 wait_key_of(int procno) { return pg_atomic_read_u64(&slot_array->wait_keys[procno]); }

bool may_have_waiter_for(const LockRef &ref) {
    uint64 fingerprint = wait_fingerprint(ref);
    for (int i = 0; i < slot_array->slot_count; i++)
        if (pg_atomic_read_u64(&slot_array->wait_keys[i]) == fingerprint) return true;
    return false;
}

bool holds_published(const LockRef &ref) {
    BackendSlot *slot = my_backend_slot();
    for (int i = 0; i < slot->held_count; i++)
        if (slot->held[i].ref.same_tag(ref) && slot->held[i].ref.mode == ref.mode) return true;
    return false;
}

bool holds_resource_published(const LockRef &ref) {
    BackendSlot *slot = my_backend_slot();
    for (int i = 0; i < slot->held_count; i++)
        if (slot->held[i].ref.same_tag(ref)) return true;
    return false;
}

bool holds_any_published() {
    BackendSlot *slot = my_backend_slot();
    return slot != nullptr && (slot->held_count > 0 || pg_atomic_read_u32(&slot->waiting) != 0);
}

bool has_free_held_entry() {
    BackendSlot *slot = my_backend_slot();
    return slot->held_count < slot_array->held_per_slot;
}

bool publish_held(const PublishedLock &lock) {
    BackendSlot *slot = my_backend_slot();
    if (holds_published(lock.ref)) return true;
    if (slot->held_count >= slot_array->held_per_slot) return false;
    SlotChange change;
    change.pid = MyProcPid;
    change.added_held = &lock;
    apply_slot_change(change);
    tenant_callbacks().confirm_held();
    return true;
}

void forget_held_locks_of_subxact(SubTransactionId subxact) {
    BackendSlot *slot = my_backend_slot();
    if (slot == nullptr || slot->held_count == 0) return;
    for (int i = 0; i < slot->held_count; i++)
        if (slot->held[i].subxact == subxact && slot->held[i].budget_charged)
            tenant_callbacks().release_held(slot->held[i].tenant_slot);
    SlotChange change;
    change.drop_held_of = subxact;
    apply_slot_change(change);
}

void move_held_locks_to_parent(SubTransactionId subxact, SubTransactionId parent) {
    BackendSlot *slot = my_backend_slot();
    if (slot == nullptr || slot->held_count == 0) return;
    SlotChange change;
    change.move_held_of = subxact;
    change.move_held_to = parent;
    apply_slot_change(change);
}

void forget_all_held_locks() {
    BackendSlot *slot = my_backend_slot();
    if (slot == nullptr || slot->held_count == 0) return;
    for (int i = 0; i < slot->held_count; i++)
        if (slot->held[i].budget_charged) tenant_callbacks().release_held(slot->held[i].tenant_slot);
    SlotChange change;
    change.drop_all_held = true;
    apply_slot_change(change);
}

void read_backend_slot(int procno, BackendSlot *copy) {
    BackendSlot *slot = backend_slot(procno);
    for (;;) {
        uint32 before = pg_atomic_read_u32(&slot->change_count);
        if ((before & 1) == 0) {
            pg_read_barrier();
            int held = slot->held_count;
            if (held < 0 || held > slot_array->held_per_slot) held = 0;
            memcpy(copy, slot, offsetof(BackendSlot, held) + held * sizeof(PublishedLock));
            copy->held_count = held;
            pg_read_barrier();
            if (pg_atomic_read_u32(&slot->change_count) == before) return;
        }
        CHECK_FOR_INTERRUPTS();
    }
}

bool read_published_wait(int procno, PublishedWait *out) {
    BackendSlot *slot = backend_slot(procno);
    for (;;) {
        uint32 before = pg_atomic_read_u32(&slot->change_count);
        if ((before & 1) == 0) {
            pg_read_barrier();
            out->waiting = pg_atomic_read_u32(&slot->waiting) != 0;
            out->wait_start = slot->wait_start;
            out->ref = slot->wait.ref;
            out->priority = slot->wait.priority;
            out->tenant_slot = slot->wait.tenant_slot;
            pg_read_barrier();
            if (pg_atomic_read_u32(&slot->change_count) == before) return out->waiting;
        }
        // No CHECK_FOR_INTERRUPTS: the releaser calls this under a lock-manager partition lock,
        // from a transaction callback that must not raise. An edit is a few stores, never a wait.
        pg_spin_delay();
    }
}

}  // namespace lockguard::pg
