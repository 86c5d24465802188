#include "pg/tenants/tenants.hpp"

#include "pg/infra/boundary.hpp"
#include "pg/infra/privileges.hpp"
#include "pg/infra/settings.hpp"
#include "pg/infra/shmem.hpp"
#include "pg/state/tenant_hooks.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace lockguard::pg {

namespace {

struct TenantEntry {
    bool in_use;
    bool configured;  // false: removed from the table, kept until its counters drain
    char name[kTenantNameLength];
    int32 max_held;     // -1 = unlimited
    int32 max_waiters;  // -1 = unlimited
    double weight;
    pg_atomic_uint32 held;
    pg_atomic_uint32 waiting;
    pg_atomic_uint64 rejected;
};

struct RoleEntry {
    Oid role;
    int32 tenant_slot;
    bool may_set_tenant;
};

// Locking protocol: pg/infra/shmem.hpp (tenants).
struct TenantState {
    pg_atomic_uint64 config_generation;  // bumped by every commit that changed the tables
    uint64 loaded_generation;            // the generation the entries reflect (under the LWLock)
    // Which installation of the extension the entries were read from (under the LWLock): the
    // database, and the OID of its lockguard.tenant_budgets. DROP EXTENSION lockguard CASCADE;
    // CREATE EXTENSION lockguard; makes new, empty tables without a trigger firing: the new OID
    // tells that the configuration in shared memory is stale.
    Oid loaded_database;
    Oid loaded_source;
    int tenant_capacity;
    int role_capacity;
    int role_count;
    Size roles_offset;
    TenantEntry tenants[FLEXIBLE_ARRAY_MEMBER];
};

TenantState *state = nullptr;
bool change_pending = false;  // this transaction changed the tables
int pending_held_tenant = kNoTenant;  // a held slot reserved for a lock not yet taken

// Removed tenants keep their entry until their counters drain: room for twice the limit.
int capacity_for_tenants() { return settings.max_tenants * 2 + 1; }

Size roles_offset() {
    return MAXALIGN(add_size(offsetof(TenantState, tenants), mul_size(capacity_for_tenants(), sizeof(TenantEntry))));
}

Size state_size() { return add_size(roles_offset(), mul_size(settings.max_tenant_roles, sizeof(RoleEntry))); }

RoleEntry *roles() { return reinterpret_cast<RoleEntry *>(reinterpret_cast<char *>(state) + state->roles_offset); }

void set_unlimited(TenantEntry *entry) {
    entry->max_held = -1;
    entry->max_waiters = -1;
    entry->weight = 1.0;
}

void attach_state(void *memory, bool found) {
    state = static_cast<TenantState *>(memory);
    if (found) return;
    pg_atomic_init_u64(&state->config_generation, 1);  // > loaded: the first acquisition loads
    state->loaded_generation = 0;
    state->loaded_database = InvalidOid;
    state->loaded_source = InvalidOid;
    state->tenant_capacity = capacity_for_tenants();
    state->role_capacity = settings.max_tenant_roles;
    state->roles_offset = roles_offset();
    for (int i = 0; i < state->tenant_capacity; i++) {
        TenantEntry *entry = &state->tenants[i];
        pg_atomic_init_u32(&entry->held, 0);
        pg_atomic_init_u32(&entry->waiting, 0);
        pg_atomic_init_u64(&entry->rejected, 0);
    }
    TenantEntry *fallback = &state->tenants[kDefaultTenantSlot];
    fallback->in_use = true;
    fallback->configured = true;
    strlcpy(fallback->name, "default", sizeof(fallback->name));
    set_unlimited(fallback);
}

// configuration_source()'s answer in this backend, kept until a change to pg_namespace or
// pg_class (the two catalog caches it reads) is seen: DROP EXTENSION and CREATE EXTENSION, in
// this session or another, reach it at the same points as they reach those caches. Counted,
// not flagged, so that an invalidation that arrives while the answer is being looked up (a
// catalog cache miss processes pending ones) is not lost.
uint64 source_invalidations = 0;
uint64 source_cached_at = 0;  // source_invalidations when cached_source was looked up
bool source_cached = false;
Oid cached_source = InvalidOid;

void forget_configuration_source(Datum /*arg*/, int /*cache*/, uint32 /*hash*/) { source_invalidations++; }

// lockguard.tenant_budgets in this database: the identity of the installed configuration, found
// through the catalog caches (no scan). InvalidOid while the extension is not installed here.
Oid configuration_source() {
    static bool callbacks_registered = false;
    if (!callbacks_registered) {
        CacheRegisterSyscacheCallback(NAMESPACENAME, forget_configuration_source, 0);
        CacheRegisterSyscacheCallback(RELNAMENSP, forget_configuration_source, 0);
        callbacks_registered = true;
    }
    if (source_cached && source_cached_at == source_invalidations) return cached_source;
    uint64 before = source_invalidations;
    Oid schema = get_namespace_oid("lockguard", true);
    Oid source = OidIsValid(schema) ? get_relname_relid("tenant_budgets", schema) : InvalidOid;
    cached_source = source;
    source_cached_at = before;
    source_cached = true;
    return source;
}

// Under the LWLock: the entries are those of generation `wanted` of this installation. Shared
// memory holds one database's configuration; another database's sessions use it as loaded
// (see docs/tenants.md), so only a new installation in the database it came from makes it stale.
bool loaded_is_current(uint64 wanted, Oid source) {
    if (state->loaded_generation != wanted) return false;
    return !OidIsValid(source) || state->loaded_database != MyDatabaseId || state->loaded_source == source;
}

int find_tenant(const char *name) {
    for (int i = 0; i < state->tenant_capacity; i++)
        if (state->tenants[i].in_use && strcmp(state->tenants[i].name, name) == 0) return i;
    return kNoTenant;
}

// The configuration as read from the tables, before it is applied.
struct TenantRow {
    char name[kTenantNameLength];
    int32 max_held, max_waiters;
    double weight;
};
struct RoleRow {
    Oid role;
    char tenant[kTenantNameLength];
    bool may_set_tenant;
};

int32 int_or_unlimited(HeapTuple tuple, TupleDesc desc, int column) {
    bool isnull;
    Datum value = SPI_getbinval(tuple, desc, column, &isnull);
    return isnull ? -1 : DatumGetInt32(value);
}

struct Configuration {
    MemoryContext context;  // where the rows are allocated
    TenantRow *tenants;
    int tenant_count;
    RoleRow *roles;
    int role_count;
};

void run_configuration_query(void *arg) {
    auto *out = static_cast<Configuration *>(arg);
    if (SPI_connect() != SPI_OK_CONNECT)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not connect to SPI to read tenants")));
    if (SPI_execute("SELECT kind, name, role_oid, max_held, max_waiters, weight, may_set_tenant "
                    "FROM lockguard._tenant_configuration()",
                    true, 0) != SPI_OK_SELECT)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not read lockguard.tenant_budgets")));
    auto *t = static_cast<TenantRow *>(MemoryContextAllocZero(out->context, sizeof(TenantRow) * (SPI_processed + 1)));
    auto *r = static_cast<RoleRow *>(MemoryContextAllocZero(out->context, sizeof(RoleRow) * (SPI_processed + 1)));
    int nt = 0;
    int nr = 0;
    for (uint64 i = 0; i < SPI_processed; i++) {
        HeapTuple tuple = SPI_tuptable->vals[i];
        TupleDesc desc = SPI_tuptable->tupdesc;
        char *kind = SPI_getvalue(tuple, desc, 1);
        char *name = SPI_getvalue(tuple, desc, 2);
        if (strcmp(kind, "tenant") == 0) {
            strlcpy(t[nt].name, name, sizeof(t[nt].name));
            t[nt].max_held = int_or_unlimited(tuple, desc, 4);
            t[nt].max_waiters = int_or_unlimited(tuple, desc, 5);
            bool isnull;
            Datum weight = SPI_getbinval(tuple, desc, 6, &isnull);
            t[nt].weight = isnull ? 1.0 : DatumGetFloat8(weight);
            nt++;
        } else {
            bool isnull;
            r[nr].role = DatumGetObjectId(SPI_getbinval(tuple, desc, 3, &isnull));
            strlcpy(r[nr].tenant, name, sizeof(r[nr].tenant));
            r[nr].may_set_tenant = DatumGetBool(SPI_getbinval(tuple, desc, 7, &isnull));
            nr++;
        }
    }
    SPI_finish();
    out->tenants = t;
    out->tenant_count = nt;
    out->roles = r;
    out->role_count = nr;
}

// Reads lockguard.tenant_budgets and lockguard.tenant_roles as their owner, so that any role's
// acquisition gets its budget applied without any access to the tables (or to the function that
// lists every role's mapping).
void read_configuration(TenantRow **tenants, int *tenant_count, RoleRow **role_rows, int *role_count) {
    Configuration configuration{CurrentMemoryContext, nullptr, 0, nullptr, 0};
    run_as_owner_of(lockguard_table("tenant_budgets"), run_configuration_query, &configuration);
    *tenants = configuration.tenants;
    *tenant_count = configuration.tenant_count;
    *role_rows = configuration.roles;
    *role_count = configuration.role_count;
}

// What did not fit in shared memory, reported once the LWLock is released.
struct Overflow {
    int tenants;
    int roles;
    char first_tenant[kTenantNameLength];
};

// Under the LWLock: make the shared entries match the tables, keeping live counters.
// NOLINTNEXTLINE(readability-function-cognitive-complexity): tenants, then roles, in one pass each
void apply_configuration(const TenantRow *tenants, int tenant_count, const RoleRow *role_rows, int role_count,
                         Overflow *overflow) {
    for (int i = 1; i < state->tenant_capacity; i++) state->tenants[i].configured = false;
    set_unlimited(&state->tenants[kDefaultTenantSlot]);
    for (int i = 0; i < tenant_count; i++) {
        int slot = find_tenant(tenants[i].name);
        for (int j = 1; slot == kNoTenant && j < state->tenant_capacity; j++) {
            TenantEntry *entry = &state->tenants[j];
            bool drained = pg_atomic_read_u32(&entry->held) == 0 && pg_atomic_read_u32(&entry->waiting) == 0;
            if (!entry->in_use || (!entry->configured && drained)) {
                entry->in_use = true;
                strlcpy(entry->name, tenants[i].name, sizeof(entry->name));
                pg_atomic_write_u64(&entry->rejected, 0);
                slot = j;
            }
        }
        // The trigger keeps the table within lockguard.max_tenants, and there is room for as many
        // removed tenants still draining; more than that (tenants replaced while their sessions
        // hold locks, or rows loaded with triggers disabled) count against "default" for now.
        if (slot == kNoTenant) {
            if (overflow->tenants++ == 0) strlcpy(overflow->first_tenant, tenants[i].name, kTenantNameLength);
            continue;
        }
        TenantEntry *entry = &state->tenants[slot];
        entry->configured = true;
        entry->max_held = tenants[i].max_held;
        entry->max_waiters = tenants[i].max_waiters;
        entry->weight = tenants[i].weight > 0 ? tenants[i].weight : 1.0;
    }
    for (int i = 1; i < state->tenant_capacity; i++)
        if (state->tenants[i].in_use && !state->tenants[i].configured) set_unlimited(&state->tenants[i]);
    int count = 0;
    overflow->roles = std::max(0, role_count - state->role_capacity);
    for (int i = 0; i < role_count && count < state->role_capacity; i++) {
        int slot = find_tenant(role_rows[i].tenant);
        roles()[count++] = RoleEntry{role_rows[i].role, slot == kNoTenant ? kDefaultTenantSlot : slot,
                                     role_rows[i].may_set_tenant};
    }
    state->role_count = count;
}

}  // namespace

void ensure_tenants_loaded() {
    uint64 wanted = pg_atomic_read_u64(&state->config_generation);
    Oid source = configuration_source();
    LWLock *lock = lockguard_lwlock(LockguardLWLock::Tenants);
    LWLockAcquire(lock, LW_SHARED);
    bool current = loaded_is_current(wanted, source);
    LWLockRelease(lock);
    if (current) return;

    TenantRow *tenants;
    RoleRow *role_rows;
    int tenant_count;
    int role_count;
    read_configuration(&tenants, &tenant_count, &role_rows, &role_count);  // no LWLock while querying
    Overflow overflow{};
    LWLockAcquire(lock, LW_EXCLUSIVE);
    if (!loaded_is_current(wanted, source)) {
        apply_configuration(tenants, tenant_count, role_rows, role_count, &overflow);
        state->loaded_generation = wanted;
        state->loaded_database = MyDatabaseId;
        state->loaded_source = source;
    }
    LWLockRelease(lock);
    if (overflow.tenants > 0)
        ereport(WARNING, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                          errmsg("no room in shared memory for %d lockguard tenant(s)", overflow.tenants),
                          errdetail("Tenant \"%s\" counts against \"default\" until removed tenants whose sessions "
                                    "still hold or await lockguard locks have drained.",
                                    overflow.first_tenant),
                          errhint("Increase lockguard.max_tenants (needs a restart).")));
    if (overflow.roles > 0)
        ereport(WARNING, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                          errmsg("no room in shared memory for %d lockguard tenant role mapping(s)", overflow.roles),
                          errdetail("Roles whose mapping does not fit count against \"default\"."),
                          errhint("Increase lockguard.max_tenant_roles (needs a restart).")));
    pfree(tenants);
    pfree(role_rows);
}

namespace {

const RoleEntry *find_role(Oid role) {
    for (int i = 0; i < state->role_count; i++)
        if (roles()[i].role == role) return &roles()[i];
    return nullptr;
}

[[noreturn]] void raise_over_budget(int tenant_slot, bool waiters) {
    TenantEntry *entry = &state->tenants[tenant_slot];
    pg_atomic_fetch_add_u64(&entry->rejected, 1);
    if (waiters)
        ereport(ERROR, (errcode(sqlstate_errcode(sqlstate::kTenantWaiterBudget)),
                        errmsg("tenant \"%s\" has too many lock waiters", entry->name),
                        errdetail("Its budget allows %d waiting lockguard acquisitions at once; the request was "
                                  "refused without queueing.",
                                  entry->max_waiters),
                        errhint("Retry later with backoff, or raise max_waiters for this tenant in "
                                "lockguard.tenant_budgets.")));
    ereport(ERROR, (errcode(sqlstate_errcode(sqlstate::kTenantHeldBudget)),
                    errmsg("tenant \"%s\" holds too many locks", entry->name),
                    errdetail("Its budget allows %d lockguard locks held at once.", entry->max_held),
                    errhint("Finish the tenant's open transactions first, or raise max_held for this tenant in "
                            "lockguard.tenant_budgets.")));
    pg_unreachable();
}

}  // namespace

void register_tenants() { register_shmem_part({"lockguard tenants", state_size, attach_state}); }

void register_tenant_callbacks() {
    set_tenant_callbacks({release_held, release_waiter, confirm_held_reservation, release_pending_held, tenant_share,
                          [](bool publish) {
                              if (take_tenant_config_change() && publish) tenant_config_changed();
                          }});
}

int resolve_current_tenant() {
    ensure_tenants_loaded();
    Oid role = GetUserId();
    LWLock *lock = lockguard_lwlock(LockguardLWLock::Tenants);
    LWLockAcquire(lock, LW_SHARED);
    const RoleEntry *mapping = find_role(role);
    int mapped = mapping != nullptr ? mapping->tenant_slot : kDefaultTenantSlot;
    bool may_set = mapping != nullptr && mapping->may_set_tenant;
    const char *requested = settings.tenant;
    int slot = mapped;
    bool refused = false;
    if (requested != nullptr && requested[0] != '\0') {
        int found = find_tenant(requested);
        int wanted = found != kNoTenant && state->tenants[found].configured ? found : kDefaultTenantSlot;
        refused = wanted != mapped && !may_set && !superuser();
        slot = wanted;
    }
    LWLockRelease(lock);
    if (refused)
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("role \"%s\" may not act as tenant \"%s\"", GetUserNameFromId(role, false), requested),
                        errdetail("Its tenant is \"%s\".", state->tenants[mapped].name),
                        errhint("An administrator can allow it with may_set_tenant in lockguard.tenant_roles.")));
    return slot;
}

const char *tenant_name(int tenant_slot) {
    if (state == nullptr || tenant_slot < 0 || tenant_slot >= state->tenant_capacity) return "default";
    return state->tenants[tenant_slot].name;
}

void reserve_held(int tenant_slot) {
    TenantEntry *entry = &state->tenants[tenant_slot];
    uint32 before = pg_atomic_fetch_add_u32(&entry->held, 1);
    if (entry->max_held >= 0 && before >= static_cast<uint32>(entry->max_held)) {
        pg_atomic_fetch_sub_u32(&entry->held, 1);
        raise_over_budget(tenant_slot, false);
    }
    pending_held_tenant = tenant_slot;
}

void confirm_held_reservation() { pending_held_tenant = kNoTenant; }

void release_pending_held() {
    if (pending_held_tenant == kNoTenant) return;
    release_held(pending_held_tenant);
    pending_held_tenant = kNoTenant;
}

void release_held(int tenant_slot) {
    if (state != nullptr && tenant_slot >= 0) pg_atomic_fetch_sub_u32(&state->tenants[tenant_slot].held, 1);
}

void reserve_waiter(int tenant_slot) {
    TenantEntry *entry = &state->tenants[tenant_slot];
    uint32 before = pg_atomic_fetch_add_u32(&entry->waiting, 1);
    if (entry->max_waiters >= 0 && before >= static_cast<uint32>(entry->max_waiters)) {
        pg_atomic_fetch_sub_u32(&entry->waiting, 1);
        raise_over_budget(tenant_slot, true);
    }
}

void release_waiter(int tenant_slot) {
    if (state != nullptr && tenant_slot >= 0) pg_atomic_fetch_sub_u32(&state->tenants[tenant_slot].waiting, 1);
}

double tenant_share(int tenant_slot) {
    if (state == nullptr || tenant_slot < 0 || tenant_slot >= state->tenant_capacity) return 0.0;
    const TenantEntry *entry = &state->tenants[tenant_slot];
    return pg_atomic_read_u32(const_cast<pg_atomic_uint32 *>(&entry->held)) / entry->weight;
}

void tenant_config_changed() {
    if (state != nullptr) pg_atomic_fetch_add_u64(&state->config_generation, 1);
}

void mark_tenant_config_change() { change_pending = true; }

bool take_tenant_config_change() {
    bool pending = change_pending;
    change_pending = false;
    return pending;
}

int tenant_capacity() { return state->tenant_capacity; }

int snapshot_tenants(TenantSnapshot *out, int capacity) {
    LWLock *lock = lockguard_lwlock(LockguardLWLock::Tenants);
    LWLockAcquire(lock, LW_SHARED);
    int count = 0;
    for (int i = 0; i < state->tenant_capacity && count < capacity; i++) {
        TenantEntry *entry = &state->tenants[i];
        if (!entry->in_use) continue;
        // A removed tenant is shown until its sessions' locks have drained, then it is gone.
        if (!entry->configured && pg_atomic_read_u32(&entry->held) == 0 && pg_atomic_read_u32(&entry->waiting) == 0)
            continue;
        TenantSnapshot &s = out[count++];
        strlcpy(s.name, entry->name, sizeof(s.name));
        s.max_held = entry->max_held;
        s.max_waiters = entry->max_waiters;
        s.weight = entry->weight;
        s.held = pg_atomic_read_u32(&entry->held);
        s.waiting = pg_atomic_read_u32(&entry->waiting);
        s.rejected = pg_atomic_read_u64(&entry->rejected);
    }
    LWLockRelease(lock);
    return count;
}

}  // namespace lockguard::pg
