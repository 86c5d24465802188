// _PG_init: lockguard must be preloaded; it defines its settings, asks for shared memory and
// installs its hooks here, once, in the postmaster.
#include "pg/state/backend_slots.hpp"
#include "pg/observe/deadlock_capture.hpp"
#include "pg/guard/guardrails.hpp"
#include "pg/state/queue_order.hpp"
#include "pg/infra/settings.hpp"
#include "pg/infra/shmem.hpp"
#include "pg/infra/statement_depth.hpp"
#include "pg/tenants/tenants.hpp"
#include "pg/observe/wait_events.hpp"
#include "pg/observe/worker.hpp"

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
    register_deadlock_capture();
    install_shmem_hooks();
    install_statement_depth_hooks();
    install_guardrail_hooks();
    install_deadlock_hook();
    register_worker();
}
