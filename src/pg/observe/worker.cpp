// The lockguard background worker: one per cluster, connected to lockguard.database. Every
// lockguard.sample_interval_ms it persists what backends left in shared memory (audit entries,
// deadlocks) and, only when some backend waits on a lock, samples the wait graph into history.
// It stays idle while the server is a standby, until its extension is installed, and is
// restarted by the postmaster after an error.
//
// Cost: its session runs without JIT (a sample's plan is small, and JIT compilation, redone at
// every execution, would cost far more than the query), a sample reads lockguard's shared memory
// and asks the lock manager only about the processes that wait, once per queue
// (lockguard._lock_waits), and the CPU time of every sample and every cycle is measured and
// published in shared memory (lockguard.worker_stats()).
#include "pg/observe/audit.hpp"
#include "pg/infra/boundary.hpp"
#include "pg/observe/deadlock_capture.hpp"
#include "pg/infra/settings.hpp"
#include "pg/infra/shmem.hpp"
#include "pg/observe/worker.hpp"
#include "pg/observe/sql_functions.hpp"

extern "C" {
#include "access/xlog.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "funcapi.h"
#include "storage/procarray.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

#include <sys/resource.h>

PGDLLEXPORT void lockguard_worker_main(Datum /*unused*/);
}

namespace lockguard::pg {

namespace {

constexpr int kRetentionEveryCycles = 60;  // retention is cheap but need not run every second

// What the worker measured, in shared memory (protocol: pg/infra/shmem.hpp, worker statistics).
struct WorkerStats {
    pg_atomic_uint64 cycles;          // cycles that ran a transaction
    pg_atomic_uint64 cycle_cpu_us;    // their CPU time (user + system), samples included
    pg_atomic_uint64 samples;         // wait-graph samples taken
    pg_atomic_uint64 sample_cpu_us;   // their CPU time
    pg_atomic_uint64 sample_edges;    // edges they stored
    pg_atomic_uint64 last_sample_cpu_us;
    pg_atomic_uint64 max_sample_cpu_us;
    pg_atomic_uint64 last_sample_at;  // TimestampTz, 0: never
};

WorkerStats *worker_stats = nullptr;

Size worker_stats_size() { return sizeof(WorkerStats); }

void attach_worker_stats(void *memory, bool found) {
    worker_stats = static_cast<WorkerStats *>(memory);
    if (found) return;
    pg_atomic_init_u64(&worker_stats->cycles, 0);
    pg_atomic_init_u64(&worker_stats->cycle_cpu_us, 0);
    pg_atomic_init_u64(&worker_stats->samples, 0);
    pg_atomic_init_u64(&worker_stats->sample_cpu_us, 0);
    pg_atomic_init_u64(&worker_stats->sample_edges, 0);
    pg_atomic_init_u64(&worker_stats->last_sample_cpu_us, 0);
    pg_atomic_init_u64(&worker_stats->max_sample_cpu_us, 0);
    pg_atomic_init_u64(&worker_stats->last_sample_at, 0);
}

// This process's CPU time so far (user + system), in microseconds.
uint64 cpu_now_us() {
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
    auto us = [](const struct timeval &t) { return static_cast<uint64>(t.tv_sec) * 1000000 + t.tv_usec; };
    return us(usage.ru_utime) + us(usage.ru_stime);
}

void add(pg_atomic_uint64 *counter, uint64 amount) { pg_atomic_fetch_add_u64(counter, static_cast<int64>(amount)); }

void run_query(const char *query) {
    if (SPI_execute(query, false, 0) != SPI_OK_SELECT)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("lockguard worker cycle failed"),
                        errdetail("The query was: %s", query)));
}

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
// A flush runs only when its ring has entries this worker has not persisted: flush_audit()
// looks each entry up in lockguard.audit_log, so flushing a full ring at every sample cost more
// than the sample itself.
void run_cycle(CycleState *state) {
    uint64 cycle_start = cpu_now_us();
    bool sample = settings.sample_interval_ms > 0 && someone_waits_on_a_lock();
    int64 audit_seq = audit_last_seq();
    int64 deadlock_seq = deadlock_last_seq();
    bool new_audit = audit_seq != state->persisted_audit_seq;
    bool new_deadlocks = deadlock_seq != state->persisted_deadlock_seq;
    bool retention = state->cycles++ % kRetentionEveryCycles == 0;
    if (!sample && !retention && !new_audit && !new_deadlocks) return;  // nothing to do: no transaction at all

    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    if (!OidIsValid(get_extension_oid("lockguard", true))) {  // not installed (yet) here
        CommitTransactionCommand();
        return;
    }
    SPI_connect();
    PushActiveSnapshot(GetTransactionSnapshot());
    pgstat_report_activity(STATE_RUNNING, "lockguard worker cycle");
    if (sample) {
        // The sample on its own, so that its CPU time is known.
        uint64 before = cpu_now_us();
        if (SPI_execute("SELECT lockguard.sample_wait_graph()", false, 0) != SPI_OK_SELECT || SPI_processed != 1)
            ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("lockguard worker sample failed")));
        bool isnull = false;
        Datum edges = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
        uint64 spent = cpu_now_us() - before;
        add(&worker_stats->samples, 1);
        add(&worker_stats->sample_cpu_us, spent);
        add(&worker_stats->sample_edges, isnull ? 0 : static_cast<uint64>(DatumGetInt64(edges)));
        pg_atomic_write_u64(&worker_stats->last_sample_cpu_us, spent);
        if (spent > pg_atomic_read_u64(&worker_stats->max_sample_cpu_us))
            pg_atomic_write_u64(&worker_stats->max_sample_cpu_us, spent);
        pg_atomic_write_u64(&worker_stats->last_sample_at, static_cast<uint64>(GetCurrentTimestamp()));
    }
    if (retention) {  // flushes both rings, then deletes what is older than the retention
        char query[256];
        snprintf(query, sizeof(query), "SELECT lockguard._worker_cycle(false, true, %d)", settings.history_retention_s);
        run_query(query);
    } else {
        if (new_audit) run_query("SELECT lockguard.flush_audit()");
        if (new_deadlocks) run_query("SELECT lockguard.flush_deadlocks()");
    }
    SPI_finish();
    PopActiveSnapshot();
    CommitTransactionCommand();
    pgstat_report_stat(false);
    pgstat_report_activity(STATE_IDLE, nullptr);
    // Committed: everything up to these numbers is in the tables, and later copies leave it out.
    state->persisted_audit_seq = audit_seq;
    state->persisted_deadlock_seq = deadlock_seq;
    skip_audit_entries_through(audit_seq);
    skip_deadlock_entries_through(deadlock_seq);
    add(&worker_stats->cycles, 1);
    add(&worker_stats->cycle_cpu_us, cpu_now_us() - cycle_start);
}

}  // namespace

void register_worker() {
    register_shmem_part({"lockguard worker statistics", worker_stats_size, attach_worker_stats});
    if (settings.database == nullptr || settings.database[0] == '\0') return;
    // Not during pg_upgrade: its servers run in binary-upgrade mode (-b), where nothing but
    // pg_upgrade may write, and it drops and re-creates databases (postgres among them) that the
    // worker would hold a connection to. pg_cron does the same. The upgraded cluster's first
    // normal start starts the worker.
    if (IsBinaryUpgrade) return;
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

void lockguard_worker_main(Datum /*unused*/) {
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    BackgroundWorkerInitializeConnection(settings.database, nullptr, 0);
    pgstat_report_appname("lockguard worker");
    // No JIT in this session, whatever postgresql.conf says (the override outlives reloads):
    // compiling a plan costs tens to hundreds of milliseconds at every execution, far more than
    // a sample or a flush, and would run every interval while anyone waits.
    SetConfigOption("jit", "off", PGC_SUSET, PGC_S_OVERRIDE);

    CycleState state;
    for (;;) {
        int interval = settings.sample_interval_ms > 0 ? settings.sample_interval_ms : 1000;
        (void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, interval, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
        if (ConfigReloadPending) {
            ConfigReloadPending = 0;
            ProcessConfigFile(PGC_SIGHUP);
        }
        if (RecoveryInProgress()) continue;  // a standby: history is written after promotion
        run_cycle(&state);
    }
}

// lockguard.worker_stats(): what the worker measured since the server started.
Datum lockguard::pg::sql_worker_stats(FunctionCallInfo fcinfo) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        TupleDesc tupdesc;
        if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("return type must be a row type")));
        auto ms = [](pg_atomic_uint64 *us) { return Float8GetDatum(static_cast<double>(pg_atomic_read_u64(us)) / 1000.0); };
        uint64 samples = pg_atomic_read_u64(&worker_stats->samples);
        uint64 sample_cpu = pg_atomic_read_u64(&worker_stats->sample_cpu_us);
        auto last = static_cast<TimestampTz>(pg_atomic_read_u64(&worker_stats->last_sample_at));
        constexpr int kColumns = 9;
        Datum values[kColumns] = {
            Int64GetDatum(static_cast<int64>(samples)),
            Int64GetDatum(static_cast<int64>(pg_atomic_read_u64(&worker_stats->sample_edges))),
            ms(&worker_stats->sample_cpu_us),
            Float8GetDatum(samples > 0 ? static_cast<double>(sample_cpu) / 1000.0 / static_cast<double>(samples) : 0),
            ms(&worker_stats->last_sample_cpu_us),
            ms(&worker_stats->max_sample_cpu_us),
            TimestampTzGetDatum(last),
            Int64GetDatum(static_cast<int64>(pg_atomic_read_u64(&worker_stats->cycles))),
            ms(&worker_stats->cycle_cpu_us)};
        bool nulls[kColumns] = {};
        nulls[3] = nulls[4] = nulls[5] = samples == 0;
        nulls[6] = last == 0;
        return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls));
    });
}
