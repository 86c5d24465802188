// lockguard._shared_state(): what lockguard's shared memory says is taken now: every backend slot
// that publishes a held lock or a wait (or is caught mid-edit), the count of published waits,
// and every tenant's held and waiting counters. The chaos run (test/chaos/) and the crash
// recovery test check, once every client is gone, that nothing is left taken.
#include "pg/state/backend_slots.hpp"
#include "pg/infra/boundary.hpp"
#include "pg/infra/shmem.hpp"
#include "pg/tenants/tenants.hpp"
#include "pg/observe/sql_functions.hpp"

extern "C" {
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

using namespace lockguard::pg;

namespace {

constexpr int kColumns = 6;  // part, slot, pid, held, waiting, note

void put_row(ReturnSetInfo *rsinfo, const char *part, int slot, int pid, int64 held, int64 waiting,
             const char *note) {
    Datum values[kColumns];
    bool nulls[kColumns] = {};
    values[0] = CStringGetTextDatum(part);
    values[1] = Int32GetDatum(slot);
    nulls[1] = slot < 0;
    values[2] = Int32GetDatum(pid);
    nulls[2] = pid == 0;
    values[3] = Int64GetDatum(held);
    values[4] = Int64GetDatum(waiting);
    values[5] = note != nullptr ? CStringGetTextDatum(note) : static_cast<Datum>(0);
    nulls[5] = note == nullptr;
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

// Anomalies a reader can see in one backend slot, as a comma-separated note (empty: none).
void describe_slot(int procno, const BackendSlot &copy, bool waiting, uint64 wait_key, StringInfo note) {
    resetStringInfo(note);
    auto add = [note](const char *text) {
        if (note->len > 0) appendStringInfoString(note, ", ");
        appendStringInfoString(note, text);
    };
    if (waiting && wait_key == 0) add("wait published without its fingerprint");
    if (!waiting && wait_key != 0) add("fingerprint left without a wait");
    // The slot belongs to whichever process has this PGPROC now: a different pid means its
    // publisher is gone and nobody will clean the slot.
    if (ProcGlobal->allProcs[procno].pid != copy.pid) add("publisher is gone");
}

}  // namespace

Datum lockguard::pg::sql_shared_state(FunctionCallInfo fcinfo) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
        InitMaterializedSRF(fcinfo, 0);

        auto *copy = static_cast<BackendSlot *>(palloc(backend_slot_size()));
        StringInfoData note;
        initStringInfo(&note);
        for (int i = 0; i < backend_slot_count(); i++) {
            BackendSlot *live = backend_slot(i);
            bool editing = (pg_atomic_read_u32(&live->change_count) & 1) != 0;
            read_backend_slot(i, copy);
            bool waiting = pg_atomic_read_u32(&copy->waiting) != 0;
            uint64 wait_key = wait_key_of(i);
            if (copy->held_count == 0 && !waiting && wait_key == 0 && !editing) continue;
            describe_slot(i, *copy, waiting, wait_key, &note);
            put_row(rsinfo, "backend", i, copy->pid, copy->held_count, waiting ? 1 : 0,
                    note.len > 0 ? note.data : nullptr);
        }
        pfree(copy);
        put_row(rsinfo, "waiting_backends", -1, 0, 0, lockguard_waiter_count(), nullptr);
        // A count left above 0 would only cost releasers a queue read; one short of the truth
        // would let a release grant in FIFO order past a priority.
        put_row(rsinfo, "ordered_waiters", -1, 0, 0, ordered_waiter_count(), nullptr);

        int room = tenant_capacity();
        auto *tenants = static_cast<TenantSnapshot *>(palloc(sizeof(TenantSnapshot) * room));
        int count = snapshot_tenants(tenants, room);
        for (int t = 0; t < count; t++)
            put_row(rsinfo, "tenant", t, 0, tenants[t].held, tenants[t].waiting, tenants[t].name);
        pfree(tenants);
        return static_cast<Datum>(0);
    });
}
