#include "pg/state/backend_slots.hpp"

#include "pg/infra/settings.hpp"
#include "pg/infra/shmem.hpp"
#include "pg/tenants/tenants.hpp"

namespace lockguard::pg {

namespace {

struct SlotArray {
    int slot_count;
    int held_per_slot;
    Size stride;
    pg_atomic_uint32 waiting_backends;  // 0 = no lockguard wait anywhere: releasers skip ordering
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
    for (int i = 0; i < slot_array->slot_count; i++) {
        pg_atomic_init_u64(&slot_array->wait_keys[i], 0);
        BackendSlot *slot = backend_slot(i);
        pg_atomic_init_u32(&slot->change_count, 0);
        pg_atomic_init_u32(&slot->waiting, 0);
    }
}

// The owner's edits: readers that see an odd count, or a count that moved, retry.
struct SlotEdit {
    BackendSlot *slot;
    explicit SlotEdit(BackendSlot *s) : slot(s) { pg_atomic_fetch_add_u32(&slot->change_count, 1); }
    ~SlotEdit() { pg_atomic_fetch_add_u32(&slot->change_count, 1); }
};

}  // namespace

uint64 wait_fingerprint(const LockRef &ref) {
    uint64 value = (static_cast<uint64>(ref.key_high) << 32 | ref.key_low) ^
                   (static_cast<uint64>(ref.database) << 16) ^ static_cast<uint64>(ref.space);
    return value == 0 ? 1 : value;  // 0 means "not waiting"
}

void register_backend_slots() { register_shmem_part({"lockguard backend slots", slot_array_size, attach_slot_array}); }

int backend_slot_count() { return slot_array ? slot_array->slot_count : 0; }

BackendSlot *backend_slot(int pgprocno) {
    char *base = reinterpret_cast<char *>(slot_array) + slot_array->slots_offset;
    return reinterpret_cast<BackendSlot *>(base + static_cast<Size>(pgprocno) * slot_array->stride);
}

BackendSlot *my_backend_slot() {
    if (slot_array == nullptr || MyProc == nullptr) return nullptr;
    return backend_slot(MyProc->pgprocno);
}

Size backend_slot_size() { return slot_array->stride; }

void publish_wait(const PublishedLock &lock) {
    BackendSlot *slot = my_backend_slot();
    SlotEdit edit(slot);
    slot->pid = MyProcPid;
    slot->wait = lock;
    slot->wait_start = GetCurrentTimestamp();
    // Set before LockAcquire enqueues us under the partition lock, so a releaser that finds
    // us in the wait queue (under that lock) also sees the slot.
    pg_atomic_write_u32(&slot->waiting, 1);
    pg_atomic_write_u64(&slot_array->wait_keys[MyProc->pgprocno], wait_fingerprint(lock.ref));
    pg_atomic_fetch_add_u32(&slot_array->waiting_backends, 1);
}

void clear_wait() {
    BackendSlot *slot = my_backend_slot();
    if (slot == nullptr || pg_atomic_read_u32(&slot->waiting) == 0) return;
    SlotEdit edit(slot);
    pg_atomic_write_u32(&slot->waiting, 0);
    pg_atomic_write_u64(&slot_array->wait_keys[MyProc->pgprocno], 0);
    pg_atomic_fetch_sub_u32(&slot_array->waiting_backends, 1);
    release_waiter(slot->wait.tenant_slot);
}

bool any_lockguard_waiter() {
    return slot_array != nullptr && pg_atomic_read_u32(&slot_array->waiting_backends) != 0;
}

uint32 lockguard_waiter_count() {
    return slot_array != nullptr ? pg_atomic_read_u32(&slot_array->waiting_backends) : 0;
}

uint64 wait_key_of(int pgprocno) { return pg_atomic_read_u64(&slot_array->wait_keys[pgprocno]); }

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
    SlotEdit edit(slot);
    slot->pid = MyProcPid;
    slot->held[slot->held_count] = lock;
    slot->held_count++;
    confirm_held_reservation();
    return true;
}

void forget_held_locks_of_subxact(SubTransactionId subxact) {
    BackendSlot *slot = my_backend_slot();
    if (slot == nullptr || slot->held_count == 0) return;
    SlotEdit edit(slot);
    int kept = 0;
    for (int i = 0; i < slot->held_count; i++) {
        if (slot->held[i].subxact != subxact)
            slot->held[kept++] = slot->held[i];
        else if (slot->held[i].budget_charged)
            release_held(slot->held[i].tenant_slot);
    }
    slot->held_count = kept;
}

void move_held_locks_to_parent(SubTransactionId subxact, SubTransactionId parent) {
    BackendSlot *slot = my_backend_slot();
    if (slot == nullptr) return;
    for (int i = 0; i < slot->held_count; i++)
        if (slot->held[i].subxact == subxact) slot->held[i].subxact = parent;  // readers never show it
}

void forget_all_held_locks() {
    BackendSlot *slot = my_backend_slot();
    if (slot == nullptr || slot->held_count == 0) return;
    SlotEdit edit(slot);
    for (int i = 0; i < slot->held_count; i++)
        if (slot->held[i].budget_charged) release_held(slot->held[i].tenant_slot);
    slot->held_count = 0;
}

void read_backend_slot(int pgprocno, BackendSlot *copy) {
    BackendSlot *slot = backend_slot(pgprocno);
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

}  // namespace lockguard::pg
