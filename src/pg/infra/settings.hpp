// lockguard.* configuration parameters (GUCs).
#pragma once

namespace lockguard::pg {

struct Settings {
    int default_timeout_ms;     // lockguard.default_timeout_ms: wait bound when a call names none
    int max_locks_per_backend;  // lockguard.max_locks_per_backend: lockguard locks one backend tracks
    int aging_ms;               // lockguard.aging_ms: a waiter gains one priority step per this wait
    int aging_grace_ms;         // lockguard.aging_grace_ms: waiting this long before aging starts
    int audit_min_wait_ms;      // lockguard.audit_min_wait_ms: audit granted waits at least this long
    int audit_buffer_size;      // lockguard.audit_buffer_size: audit entries kept in shared memory
    int max_wait_classes;       // lockguard.max_wait_classes: (tenant, scope, class) statistics rows
    char *trace_id;             // lockguard.trace_id: trace id recorded with audit entries
    char *tenant;               // lockguard.tenant: the tenant this session acts for, where allowed
    int max_tenants;            // lockguard.max_tenants: rows lockguard.tenants may have
    int max_tenant_roles;       // lockguard.max_tenant_roles: rows lockguard.tenant_roles may have
    char *database;             // lockguard.database: where the background worker keeps history
    int sample_interval_ms;     // lockguard.sample_interval_ms: wait-graph sampling period
    int history_retention_s;    // lockguard.history_retention: how long history rows are kept
    bool override_policies;     // lockguard.override_policies: let forbidden locks through, audited
};

extern Settings settings;

// Longest wait a call may ask for: one day. Longer is surely a mistake (a unit error).
constexpr int kMaxTimeoutMs = 24 * 60 * 60 * 1000;

// Defines every lockguard.* setting and reserves the prefix. Called first from _PG_init.
void define_settings();

}  // namespace lockguard::pg
