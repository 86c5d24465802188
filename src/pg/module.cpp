// _PG_init: lockguard must be preloaded. The roof above every wing: it calls each wing's
// register function (settings, shared-memory parts, hook handlers, the worker) and then
// installs the hooks, once, in the postmaster. Nothing else lives here.
#include "pg/guard/guardrails.hpp"
#include "pg/infra/compat.hpp"
#include "pg/infra/hooks.hpp"
#include "pg/infra/settings.hpp"
#include "pg/observe/deadlock_capture.hpp"
#include "pg/observe/wait_events.hpp"
#include "pg/observe/worker.hpp"
#include "pg/state/backend_slots.hpp"
#include "pg/state/queue_order.hpp"
#include "pg/tenants/tenants.hpp"

extern "C" {
LG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);
}

void _PG_init(void) {
    using namespace lockguard::pg;
    // Loaded by a plain LOAD or a function call: stay inert; every entry point then says
    // how to preload (CREATE EXTENSION fails the same way).
    if (!process_shared_preload_libraries_in_progress) return;

    define_settings();

    register_backend_slots();
    register_queue_order_state();
    register_wait_events_state();
    register_tenants();
    register_tenant_callbacks();
    register_deadlock_capture();
    install_deadlock_hook();
    register_guardrail_checks();
    register_worker();
    install_hooks();
}
