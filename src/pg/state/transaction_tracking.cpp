#include "pg/state/transaction_tracking.hpp"

#include "pg/state/backend_slots.hpp"
#include "pg/state/queue_order.hpp"
#include "pg/state/tenant_hooks.hpp"

extern "C" {
#include "storage/ipc.h"
}

namespace lockguard::pg {

namespace {

bool registered = false;

// Runs before the transaction's locks are released (after ProcArrayEndTransaction, before
// ResourceOwnerRelease): the moment to put the next waiter at the head. Must not raise.
void on_transaction_end(XactEvent event, void * /*unused*/) {
    switch (event) {
        case XACT_EVENT_COMMIT:
        case XACT_EVENT_ABORT:
            order_queues_before_release(InvalidSubTransactionId);
            clear_wait();
            tenant_callbacks().release_pending_held();
            forget_all_held_locks();
            tenant_callbacks().transaction_ended(event == XACT_EVENT_COMMIT);
            break;
        case XACT_EVENT_PRE_PREPARE:
            // A prepared transaction would keep the locks (and outlive a restart) while its
            // tenant budget and published slot went back; refused, as PostgreSQL refuses it for
            // temporary objects. Still before the point of no return: the error aborts.
            if (holds_any_published())
                ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                                errmsg("cannot PREPARE a transaction that holds lockguard locks"),
                                errdetail("lockguard locks belong to a session: its budgets, queues and views "
                                          "do not follow a prepared transaction."),
                                errhint("Commit or roll back instead, or take the locks with PostgreSQL's own "
                                        "LOCK TABLE or SELECT ... FOR UPDATE in transactions that are prepared.")));
            break;
        case XACT_EVENT_PREPARE:  // unreachable with lockguard locks held (refused above)
        case XACT_EVENT_PARALLEL_COMMIT:
        case XACT_EVENT_PARALLEL_ABORT:
            clear_wait();
            tenant_callbacks().release_pending_held();
            forget_all_held_locks();
            tenant_callbacks().transaction_ended(event == XACT_EVENT_PREPARE);
            break;
        default:
            break;
    }
}

void on_subtransaction_end(SubXactEvent event, SubTransactionId subxact, SubTransactionId parent, void * /*unused*/) {
    switch (event) {
        case SUBXACT_EVENT_ABORT_SUB:  // before the subtransaction's locks are released
            order_queues_before_release(subxact);
            clear_wait();
            tenant_callbacks().release_pending_held();
            forget_held_locks_of_subxact(subxact);
            break;
        case SUBXACT_EVENT_COMMIT_SUB:  // its locks now belong to the parent
            move_held_locks_to_parent(subxact, parent);
            break;
        default:
            break;
    }
}

void on_backend_exit(int /*unused*/, Datum /*unused*/) {
    clear_wait();
    tenant_callbacks().release_pending_held();
    forget_all_held_locks();
}

}  // namespace

void ensure_transaction_tracking() {
    if (registered) return;
    prepare_queue_ordering();
    RegisterXactCallback(on_transaction_end, nullptr);
    RegisterSubXactCallback(on_subtransaction_end, nullptr);
    before_shmem_exit(on_backend_exit, 0);
    registered = true;
}

}  // namespace lockguard::pg
