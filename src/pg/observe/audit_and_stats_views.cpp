// What acquisitions leave behind, as rows: the audit ring and the wait statistics (the SQL
// functions' entry points are in observe/sql_functions.cpp).
#include "pg/observe/audit.hpp"
#include "pg/infra/boundary.hpp"
#include "pg/infra/shmem.hpp"
#include "pg/observe/wait_stats.hpp"
#include "pg/observe/sql_functions.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

using namespace lockguard;
using namespace lockguard::pg;

namespace {

Datum text_or_null(const char *value, bool *isnull) {
    *isnull = value[0] == '\0';
    return *isnull ? static_cast<Datum>(0) : CStringGetTextDatum(value);
}

Datum blockers_array(const AuditEntry &entry) {
    Datum values[kAuditMaxBlockers];
    for (int i = 0; i < entry.blocker_count; i++) values[i] = Int32GetDatum(entry.blockers[i]);
    return PointerGetDatum(construct_array(values, entry.blocker_count, INT4OID, sizeof(int32), true, TYPALIGN_INT));
}

double micros_to_ms(double micros) { return micros / 1000.0; }

}  // namespace

// lockguard._audit_buffer(): the audit entries still in shared memory, oldest first.
Datum lockguard::pg::sql_audit_buffer(FunctionCallInfo fcinfo) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
        InitMaterializedSRF(fcinfo, 0);
        int capacity = audit_capacity();
        auto *entries = static_cast<AuditEntry *>(palloc(sizeof(AuditEntry) * capacity));
        int count = copy_audit_entries(entries, capacity);
        TimestampTz epoch = audit_epoch();
        for (int i = 0; i < count; i++) {
            const AuditEntry &e = entries[i];
            if (e.seq == 0) continue;
            constexpr int kColumns = 17;
            Datum values[kColumns];
            bool nulls[kColumns] = {};
            values[0] = TimestampTzGetDatum(epoch);
            values[1] = Int64GetDatum(e.seq);
            values[2] = TimestampTzGetDatum(e.logged_at);
            values[3] = Int32GetDatum(e.pid);
            values[4] = ObjectIdGetDatum(e.role);
            values[5] = ObjectIdGetDatum(e.database);
            values[6] = text_or_null(e.tenant, &nulls[6]);
            values[7] = CStringGetTextDatum(e.resource);
            values[8] = CStringGetTextDatum(e.resource_class);
            values[9] = CStringGetTextDatum(scope_name(e.scope));
            values[10] = CStringGetTextDatum(e.mode);
            values[11] = Int32GetDatum(e.priority);
            values[12] = Float8GetDatum(micros_to_ms(static_cast<double>(e.waited_us)));
            values[13] = CStringGetTextDatum(wait_event_outcome_name(e.outcome));
            values[14] = Int32GetDatum(e.attempts);
            values[15] = blockers_array(e);
            values[16] = text_or_null(e.trace_id, &nulls[16]);
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
        pfree(entries);
        return static_cast<Datum>(0);
    });
}

// lockguard._wait_stats(): per (tenant, scope, class) counters and percentiles in ms.
Datum lockguard::pg::sql_wait_stats(FunctionCallInfo fcinfo) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
        InitMaterializedSRF(fcinfo, 0);
        int capacity = wait_stats_capacity();
        auto *rows = static_cast<WaitStatsSnapshot *>(palloc(sizeof(WaitStatsSnapshot) * capacity));
        int count = snapshot_wait_stats(rows, capacity);
        for (int i = 0; i < count; i++) {
            const WaitStatsSnapshot &s = rows[i];
            constexpr int kColumns = 11;
            Datum values[kColumns];
            bool nulls[kColumns] = {};
            values[0] = CStringGetTextDatum(s.tenant);
            values[1] = CStringGetTextDatum(scope_name(s.scope));
            values[2] = CStringGetTextDatum(s.resource_class);
            values[3] = Int64GetDatum(static_cast<int64>(s.acquisitions));
            values[4] = Int64GetDatum(static_cast<int64>(s.waited));
            values[5] = Int64GetDatum(static_cast<int64>(s.timeouts));
            values[6] = Int64GetDatum(static_cast<int64>(s.deadlocks));
            values[7] = Float8GetDatum(micros_to_ms(histogram_percentile_us(s.buckets, 0.50, s.max_us)));
            values[8] = Float8GetDatum(micros_to_ms(histogram_percentile_us(s.buckets, 0.95, s.max_us)));
            values[9] = Float8GetDatum(micros_to_ms(histogram_percentile_us(s.buckets, 0.99, s.max_us)));
            values[10] = Float8GetDatum(micros_to_ms(static_cast<double>(s.max_us)));
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
        pfree(rows);
        return static_cast<Datum>(0);
    });
}

Datum lockguard::pg::sql_reset_wait_stats(FunctionCallInfo fcinfo) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        reset_wait_stats();
        PG_RETURN_VOID();
    });
}
