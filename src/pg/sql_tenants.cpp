// SQL entry points of tenant budgets: the change notification the tables' trigger calls, and
// the per-tenant figures behind lockguard.tenants.
#include "pg/boundary.hpp"
#include "pg/shmem.hpp"
#include "pg/tenants.hpp"
#include "pg/transaction_tracking.hpp"
#include "pg/wait_stats.hpp"

extern "C" {
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

PGDLLEXPORT Datum lockguard_mark_tenant_change(PG_FUNCTION_ARGS);
PGDLLEXPORT Datum lockguard_tenant_stats(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(lockguard_mark_tenant_change);
PG_FUNCTION_INFO_V1(lockguard_tenant_stats);
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

// lockguard._tenant_stats(): budget, live counters and the p95 wait over all of a tenant's classes.
Datum lockguard_tenant_stats(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        ensure_tenants_loaded();
        auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
        InitMaterializedSRF(fcinfo, 0);
        int tenant_room = tenant_capacity();
        auto *tenants = static_cast<TenantSnapshot *>(palloc(sizeof(TenantSnapshot) * tenant_room));
        int tenant_count = snapshot_tenants(tenants, tenant_room);
        int class_room = wait_stats_capacity();
        auto *classes = static_cast<WaitStatsSnapshot *>(palloc(sizeof(WaitStatsSnapshot) * class_room));
        int class_count = snapshot_wait_stats(classes, class_room);
        for (int t = 0; t < tenant_count; t++) {
            const TenantSnapshot &tenant = tenants[t];
            uint64 buckets[kHistogramBuckets] = {};
            uint64 max_us = 0;
            uint64 acquisitions = 0;
            for (int c = 0; c < class_count; c++) {
                if (strcmp(classes[c].tenant, tenant.name) != 0) continue;
                for (size_t b = 0; b < kHistogramBuckets; b++) buckets[b] += classes[c].buckets[b];
                max_us = std::max<uint64>(max_us, classes[c].max_us);
                acquisitions += classes[c].acquisitions;
            }
            constexpr int kColumns = 9;
            Datum values[kColumns];
            bool nulls[kColumns] = {};
            values[0] = CStringGetTextDatum(tenant.name);
            values[1] = Int32GetDatum(tenant.max_held);
            nulls[1] = tenant.max_held < 0;
            values[2] = Int32GetDatum(tenant.max_waiters);
            nulls[2] = tenant.max_waiters < 0;
            values[3] = Float8GetDatum(tenant.weight);
            values[4] = Int64GetDatum(tenant.held);
            values[5] = Int64GetDatum(tenant.waiting);
            values[6] = Int64GetDatum(static_cast<int64>(tenant.rejected));
            values[7] = Int64GetDatum(static_cast<int64>(acquisitions));
            values[8] = Float8GetDatum(histogram_percentile_us(buckets, 0.95, max_us) / 1000.0);
            nulls[8] = acquisitions == 0;
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
        return static_cast<Datum>(0);
    });
}
