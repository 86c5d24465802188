// Per-tenant lock budgets. Tenants and their budgets live in tables (the source of truth);
// shared memory holds their limits, the live counters (locks held and awaited now, requests
// rejected) and the role-to-tenant map, reloaded whenever a transaction that changed the tables
// commits. Each held lockguard lock and each wait carries its tenant slot in the backend's
// shared slot, so every way a transaction or backend ends gives the counts back.
#pragma once

#include "pg/infra/pg_prelude.hpp"

namespace lockguard::pg {

constexpr int kTenantNameLength = 64;  // names are at most 63 bytes
constexpr int kNoTenant = -1;

void register_tenants();
// Gives the shared state its budget callbacks (pg/state/tenant_hooks.hpp); called from _PG_init.
void register_tenant_callbacks();

// The tenant of the next acquisition in this backend: lockguard.tenant where the role may set
// it, else the role's mapped tenant, else "default". Raises 42501 for a tenant the role may not
// claim. Returns a tenant slot.
int resolve_current_tenant();
const char *tenant_name(int tenant_slot);

// Reloads the shared copy from the tables if a commit changed them since it was loaded.
void ensure_tenants_loaded();

// Budget accounting. reserve_* raise LG001 (held) or LG002 (waiters) when over budget.
// A held slot is reserved before the lock is taken, and stays "pending" until the lock is
// published as held; a pending reservation is given back by whatever ends the attempt:
// (sub)transaction abort, backend exit.
void reserve_held(int tenant_slot);      // raises LG001 if over budget
void confirm_held_reservation();         // the lock is now published as held
void release_pending_held();             // never raises
void release_held(int tenant_slot);      // never raises
void reserve_waiter(int tenant_slot);    // one more waiter; raises if over
void release_waiter(int tenant_slot);    // never raises

// The fair-share key of a tenant for queue ordering: locks held / weight. Never raises.
double tenant_share(int tenant_slot);

// The tables changed in this transaction (their trigger says so); at commit the shared copy is
// marked stale and the next acquisition anywhere reloads it.
void mark_tenant_config_change();
bool take_tenant_config_change();  // clears the mark
void tenant_config_changed();      // at commit: bump the generation

struct TenantSnapshot {
    char name[kTenantNameLength];
    int32 max_held;     // -1 = unlimited
    int32 max_waiters;  // -1 = unlimited
    double weight;
    uint32 held;
    uint32 waiting;
    uint64 rejected;
};
int snapshot_tenants(TenantSnapshot *out, int capacity);
int tenant_capacity();

}  // namespace lockguard::pg
