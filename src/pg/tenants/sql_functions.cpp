// The tenants wing's SQL function: the change notification the tenant tables' trigger calls. (The
// per-tenant figures behind lockguard.tenants join budgets with wait statistics: observe/.)
#include "pg/infra/boundary.hpp"
#include "pg/infra/shmem.hpp"
#include "pg/tenants/tenants.hpp"
#include "pg/state/transaction_tracking.hpp"

extern "C" {
#include "utils/builtins.h"

PGDLLEXPORT Datum lockguard_mark_tenant_change(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(lockguard_mark_tenant_change);
}

using namespace lockguard;
using namespace lockguard::pg;

// lockguard._mark_tenant_change(): this transaction changed the tenant tables; at commit every
// backend's next acquisition reloads them.
Datum lockguard_mark_tenant_change(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        ensure_transaction_tracking();
        mark_tenant_config_change();
        PG_RETURN_VOID();
    });
}
