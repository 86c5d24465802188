// _PG_init: lockguard must be preloaded; it defines its settings, asks for shared memory and
// installs its hooks here, once, in the postmaster.
#include "pg/backend_slots.hpp"
#include "pg/deadlock_capture.hpp"
#include "pg/guardrails.hpp"
#include "pg/queue_order.hpp"
#include "pg/settings.hpp"
#include "pg/shmem.hpp"
#include "pg/statement_depth.hpp"
#include "pg/tenants.hpp"
#include "pg/wait_events.hpp"
#include "pg/worker.hpp"

extern "C" {
#include "utils/guc.h"

PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);
}

void _PG_init(void) {
    using namespace lockguard::pg;
    // Loaded by a plain LOAD or a function call: stay inert; every entry point then says
    // how to preload (CREATE EXTENSION fails the same way).
    if (!process_shared_preload_libraries_in_progress) return;

    define_settings();
    MarkGUCPrefixReserved("lockguard");

    register_backend_slots();
    register_queue_order_state();
    register_wait_events_state();
    register_tenants();
    register_tenant_callbacks();
    register_deadlock_capture();
    install_shmem_hooks();
    install_statement_depth_hooks();
    install_guardrail_hooks();
    install_deadlock_hook();
    register_worker();
}
