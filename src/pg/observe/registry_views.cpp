// Set-returning functions behind lockguard's views: what each backend published about the
// lockguard locks it holds and awaits, and the queue-ordering counters. Resource names carry
// data (a row's key, an application's identifiers): other roles' are shown only to those who
// may see those sessions' queries (pg/infra/privileges.hpp). Also the per-tenant figures behind
// lockguard.tenants: budgets joined with the wait statistics.
#include "pg/state/backend_slots.hpp"
#include "pg/infra/boundary.hpp"
#include "pg/infra/privileges.hpp"
#include "pg/state/queue_order.hpp"
#include "pg/infra/shmem.hpp"
#include "pg/observe/wait_stats.hpp"
#include "pg/tenants/tenants.hpp"
#include "pg/observe/sql_functions.hpp"

extern "C" {
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

using namespace lockguard;
using namespace lockguard::pg;

namespace {

constexpr int kRegistryColumns = 13;

void put_registry_row(ReturnSetInfo *rsinfo, int pid, const PublishedLock &lock, bool waiting,
                      TimestampTz wait_start, bool visible) {
    Datum values[kRegistryColumns];
    bool nulls[kRegistryColumns] = {};
    values[0] = Int32GetDatum(pid);
    values[1] = ObjectIdGetDatum(lock.ref.database);
    values[2] = ObjectIdGetDatum(lock.ref.key_high);
    values[3] = ObjectIdGetDatum(lock.ref.key_low);
    values[4] = Int16GetDatum(static_cast<int16>(lock.ref.space));
    values[5] = CStringGetTextDatum(GetLockmodeName(DEFAULT_LOCKMETHOD, lock.ref.mode));
    values[6] = CStringGetTextDatum(visible ? lock.name : kHiddenText);
    values[7] = CStringGetTextDatum(scope_name(lock.scope));
    values[8] = CStringGetTextDatum(lock.mode_name);
    values[9] = Int32GetDatum(lock.priority);
    values[10] = TimestampTzGetDatum(wait_start);
    nulls[10] = !waiting;
    values[11] = CStringGetTextDatum(tenant_name(lock.tenant_slot));
    values[12] = CStringGetTextDatum(lock.resource_class);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

}  // namespace

// lockguard._lock_registry(): one row per published lock, held or awaited.
Datum lockguard::pg::sql_lock_registry(FunctionCallInfo fcinfo) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
        InitMaterializedSRF(fcinfo, 0);
        auto *copy = static_cast<BackendSlot *>(palloc(backend_slot_size()));
        bool all = may_see_all_sessions();
        for (int i = 0; i < backend_slot_count(); i++) {
            read_backend_slot(i, copy);
            if (copy->pid == 0) continue;
            // Slots are indexed by process number: the PGPROC says whose session it is.
            bool visible = copy->pid == MyProcPid || may_see_session_of(GetPGProcByNumber(i)->roleId, all);
            for (int h = 0; h < copy->held_count; h++)
                put_registry_row(rsinfo, copy->pid, copy->held[h], false, 0, visible);
            if (pg_atomic_read_u32(&copy->waiting))
                put_registry_row(rsinfo, copy->pid, copy->wait, true, copy->wait_start, visible);
        }
        pfree(copy);
        return static_cast<Datum>(0);
    });
}

// lockguard.queue_stats(): how often queues were ordered, and why some were left alone.
Datum lockguard::pg::sql_queue_stats(FunctionCallInfo fcinfo) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        TupleDesc tupdesc;
        if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("return type must be a row type")));
        QueueStats stats = read_queue_stats();
        Datum values[5] = {Int64GetDatum(stats.waits), Int64GetDatum(stats.reorders), Int64GetDatum(stats.moved),
                           Int64GetDatum(stats.mixed), Int64GetDatum(stats.inconsistent)};
        bool nulls[5] = {};
        return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls));
    });
}

// lockguard._tenant_stats(): budget, live counters and the p95 wait over all of a tenant's classes.
Datum lockguard::pg::sql_tenant_stats(FunctionCallInfo fcinfo) {
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
