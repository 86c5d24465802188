// What the shared state (backend slots, queue reordering, transaction tracking) needs from tenant
// budgets, as callbacks: the state knows no tenant. The tenants code registers its callbacks at
// _PG_init (register_tenant_callbacks() in pg/tenants/tenants.hpp); until then each is a no-op.
// A tenant slot is opaque here: a number the tenants code handed out, stored with each lock.
// Every callback is called where raising is not allowed (transaction callbacks, backend exit):
// none may raise.
#pragma once

#include "pg/infra/pg_prelude.hpp"

namespace lockguard::pg {

// The tenants code gives the default tenant (every role not mapped to another) slot 0. Waits all
// in it share one fair-share key, so it never reorders them among themselves.
constexpr int kDefaultTenantSlot = 0;

struct TenantCallbacks {
    void (*release_held)(int tenant_slot);    // a held lock no longer counts against its tenant
    void (*release_waiter)(int tenant_slot);  // a wait no longer counts against its tenant
    void (*confirm_held)();                   // the lock reserved for is now published as held
    void (*release_pending_held)();           // a reservation whose lock was never published
    double (*share)(int tenant_slot);         // fair-share key for queue ordering (held / weight)
    // The transaction ended; `publish` (commit, prepare) makes a tenant configuration change
    // it made visible to every backend.
    void (*transaction_ended)(bool publish);
};

void set_tenant_callbacks(const TenantCallbacks &registered_callbacks);
const TenantCallbacks &tenant_callbacks();

}  // namespace lockguard::pg
