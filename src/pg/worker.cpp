// The lockguard background worker: one per cluster, connected to lockguard.database. Every
// lockguard.sample_interval_ms it persists what backends left in shared memory (audit entries,
// deadlocks) and, only when some backend waits on a lock, samples the wait graph into history.
// It stays idle while the server is a standby, until its extension is installed, and is
// restarted by the postmaster after an error.
#include "pg/audit.hpp"
#include "pg/deadlock_capture.hpp"
#include "pg/settings.hpp"
#include "pg/shmem.hpp"
#include "pg/worker.hpp"

extern "C" {
#include "access/xlog.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "storage/procarray.h"
#include "tcop/tcopprot.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

PGDLLEXPORT void lockguard_worker_main(Datum);
}

namespace lockguard::pg {

namespace {

constexpr int kRetentionEveryCycles = 60;  // retention is cheap but need not run every second

// A backend sleeping in the lock manager shows the Lock wait-event class: a lock-free look at
// every PGPROC decides whether the costly graph query runs at all.
bool someone_waits_on_a_lock() {
    for (uint32 i = 0; i < ProcGlobal->allProcCount; i++) {
        uint32 info = ProcGlobal->allProcs[i].wait_event_info;
        if ((info & 0xFF000000) == PG_WAIT_LOCK) return true;
    }
    return false;
}

struct CycleState {
    int64 persisted_audit_seq = -1;
    int64 persisted_deadlock_seq = -1;
    int cycles = 0;
};

// One transaction: persist what is new, sample if anyone waits, apply retention now and then.
void run_cycle(CycleState *state) {
    bool sample = settings.sample_interval_ms > 0 && someone_waits_on_a_lock();
    int64 audit_seq = audit_last_seq();
    int64 deadlock_seq = deadlock_last_seq();
    bool retention = state->cycles++ % kRetentionEveryCycles == 0;
    if (!sample && !retention && audit_seq == state->persisted_audit_seq &&
        deadlock_seq == state->persisted_deadlock_seq)
        return;  // nothing to do: no transaction at all

    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    if (!OidIsValid(get_extension_oid("lockguard", true))) {  // not installed (yet) here
        CommitTransactionCommand();
        return;
    }
    SPI_connect();
    PushActiveSnapshot(GetTransactionSnapshot());
    pgstat_report_activity(STATE_RUNNING, "lockguard worker cycle");
    char query[256];
    snprintf(query, sizeof(query), "SELECT lockguard._worker_cycle(%s, %s, %d)", sample ? "true" : "false",
             retention ? "true" : "false", settings.history_retention_s);
    if (SPI_execute(query, false, 0) != SPI_OK_SELECT)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("lockguard worker cycle failed")));
    SPI_finish();
    PopActiveSnapshot();
    CommitTransactionCommand();
    pgstat_report_stat(false);
    pgstat_report_activity(STATE_IDLE, nullptr);
    state->persisted_audit_seq = audit_seq;
    state->persisted_deadlock_seq = deadlock_seq;
}

}  // namespace

void register_worker() {
    if (settings.database == nullptr || settings.database[0] == '\0') return;
    BackgroundWorker worker;
    memset(&worker, 0, sizeof(worker));
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_ConsistentState;  // also on a hot standby, idle there
    worker.bgw_restart_time = 5;                            // seconds: restarted after an error
    strlcpy(worker.bgw_library_name, "lockguard", BGW_MAXLEN);
    strlcpy(worker.bgw_function_name, "lockguard_worker_main", BGW_MAXLEN);
    strlcpy(worker.bgw_name, "lockguard worker", BGW_MAXLEN);
    strlcpy(worker.bgw_type, "lockguard worker", BGW_MAXLEN);
    RegisterBackgroundWorker(&worker);
}

}  // namespace lockguard::pg

using namespace lockguard::pg;

void lockguard_worker_main(Datum) {
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    BackgroundWorkerInitializeConnection(settings.database, nullptr, 0);
    pgstat_report_appname("lockguard worker");

    CycleState state;
    for (;;) {
        int interval = settings.sample_interval_ms > 0 ? settings.sample_interval_ms : 1000;
        (void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, interval, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
        }
        if (RecoveryInProgress()) continue;  // a standby: history is written after promotion
        run_cycle(&state);
    }
}
