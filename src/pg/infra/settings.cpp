#include "pg/infra/settings.hpp"

#include "pg/infra/pg_prelude.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace lockguard::pg {

Settings settings = {
    /* default_timeout_ms */ 10000,
    /* max_locks_per_backend */ 64,
    /* aging_ms */ 20,
    /* aging_grace_ms */ 200,
    /* audit_min_wait_ms */ 100,
    /* audit_buffer_size */ 4096,
    /* max_wait_classes */ 256,
    /* trace_id */ nullptr,
    /* tenant */ nullptr,
    /* max_tenants */ 64,
    /* max_tenant_roles */ 256,
    /* database */ nullptr,
    /* sample_interval_ms */ 1000,
    /* history_retention_s */ 7 * 24 * 3600,
    /* override_policies */ false,
};

void define_settings() {
    DefineCustomIntVariable("lockguard.default_timeout_ms",
                            "Longest time a lockguard acquisition waits when the call names no timeout_ms.",
                            "0 means do not wait at all: fail at once if the lock is taken.",
                            &settings.default_timeout_ms, 10000, 0, kMaxTimeoutMs, PGC_USERSET, GUC_UNIT_MS,
                            nullptr, nullptr, nullptr);
    DefineCustomIntVariable("lockguard.max_locks_per_backend",
                            "Number of distinct lockguard locks one backend can hold or await at once.",
                            "Sizes lockguard's shared memory; each entry also records the resource name "
                            "shown in lockguard.locks.",
                            &settings.max_locks_per_backend, 64, 8, 65536, PGC_POSTMASTER, 0, nullptr, nullptr,
                            nullptr);
    DefineCustomIntVariable("lockguard.aging_ms",
                            "Waiting this long raises a lockguard waiter's priority by one step.",
                            "Bounds how long a low-priority waiter can be overtaken; 0 turns aging off "
                            "(strict priority, which can starve low priorities).",
                            &settings.aging_ms, 20, 0, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr,
                            nullptr);
    DefineCustomIntVariable("lockguard.aging_grace_ms",
                            "Waiting this long before a lockguard waiter starts to age.",
                            "Until then waiters of one priority tie, and the tenant with the smaller weighted "
                            "share is served first; the starvation bound grows by this much.",
                            &settings.aging_grace_ms, 200, 0, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr,
                            nullptr, nullptr);
    DefineCustomIntVariable("lockguard.audit_min_wait_ms",
                            "Granted acquisitions that waited at least this long are written to the audit log.",
                            "Timeouts, deadlocks and retries are always audited; -1 audits only those.",
                            &settings.audit_min_wait_ms, 100, -1, kMaxTimeoutMs, PGC_SUSET, GUC_UNIT_MS, nullptr,
                            nullptr, nullptr);
    DefineCustomIntVariable("lockguard.audit_buffer_size",
                            "Audit entries kept in shared memory until lockguard.flush_audit() persists them.",
                            nullptr, &settings.audit_buffer_size, 4096, 64, 1048576, PGC_POSTMASTER, 0, nullptr,
                            nullptr, nullptr);
    DefineCustomIntVariable("lockguard.max_wait_classes",
                            "Distinct (tenant, scope, resource class) rows kept in lockguard.wait_stats.",
                            "Beyond it, statistics are counted under the class \"(other)\".",
                            &settings.max_wait_classes, 256, 16, 65536, PGC_POSTMASTER, 0, nullptr, nullptr,
                            nullptr);
    DefineCustomStringVariable("lockguard.trace_id",
                               "Trace id recorded with this session's audit entries.",
                               "When empty, a W3C traceparent found in application_name is used.",
                               &settings.trace_id, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("lockguard.tenant",
                               "The tenant whose lock budget this session's acquisitions count against.",
                               "Honoured only for roles allowed to set it (may_set_tenant in lockguard.tenant_roles); "
                               "empty means the role's own tenant.",
                               &settings.tenant, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("lockguard.max_tenants", "Tenants lockguard.tenant_budgets may define.",
                            "Sizes lockguard's shared memory.", &settings.max_tenants, 64, 1, 10000, PGC_POSTMASTER,
                            0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("lockguard.max_tenant_roles", "Role mappings lockguard.tenant_roles may hold.",
                            "Sizes lockguard's shared memory.", &settings.max_tenant_roles, 256, 1, 100000,
                            PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("lockguard.database",
                               "Database where the lockguard background worker keeps its history tables.",
                               "Install the extension there; the worker waits until it is installed. Empty "
                               "disables the worker.",
                               &settings.database, "postgres", PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("lockguard.sample_interval_ms",
                            "How often the worker samples the wait graph (only when someone waits on a lock).",
                            "Also how often audit entries and deadlocks are persisted. 0 pauses sampling.",
                            &settings.sample_interval_ms, 1000, 0, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr,
                            nullptr, nullptr);
    DefineCustomIntVariable("lockguard.history_retention",
                            "How long the worker keeps wait-graph history, deadlocks and audit rows.",
                            nullptr, &settings.history_retention_s, 7 * 24 * 3600, 60, INT_MAX, PGC_SIGHUP,
                            GUC_UNIT_S, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable("lockguard.override_policies",
                             "Lets locks forbidden by lockguard.lock_policies through, auditing each one.",
                             "For maintenance by superusers; every lock let through is written to the audit log.",
                             &settings.override_policies, false, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("lockguard");  // a misspelt lockguard.* setting is an error, not a placeholder
}

}  // namespace lockguard::pg
