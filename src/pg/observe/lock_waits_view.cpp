// lockguard._lock_waits(): every edge "waiter waits for blocker" of the heavyweight lock manager
// now, read the cheap way. The waiters are found without any lock: a backend asleep in the lock
// manager shows the Lock wait-event class in its PGPROC. Only for those does it ask the lock
// manager (GetBlockerStatusData, the call behind pg_blocking_pids(), which takes every lock
// partition for a moment) who holds or is queued ahead on the lock awaited. pg_locks (every
// lock of every backend, fast-path slots included) is never read, and no view is joined.
//
// The edges are pg_blocking_pids()'s: a hard edge to every holder of a conflicting mode, a soft
// edge to every process queued ahead for a conflicting mode; lock-group members (parallel query)
// never block each other and blockers are named by their group leader. The lock awaited is
// described with pg_locks' columns, so lockguard.wait_graph can name it as before.
//
// _lock_waits(nearest_queued_only => true), what the worker's samples store (extension 1.5):
// the hard edges, and of the soft ones only the edge to the nearest process queued ahead. n
// processes queued on one lock have n(n-1)/2 soft edges (1,953 for 63 waiters), all but n-1
// of which follow from the chain of nearest ones.
#include "pg/infra/boundary.hpp"
#include "pg/observe/sql_functions.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "pgstat.h"
#include "storage/procarray.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
#include "utils/wait_event.h"
}

using namespace lockguard::pg;

namespace {

constexpr int kColumns = 13;

// Where `instance` (another process's entry on the lock `bproc` awaits) stands in the waiter's
// way: kHolds (it holds a conflicting mode), its position in the queue ahead of the waiter (0:
// the head) when it waits there for a conflicting mode, or kNotInTheWay.
constexpr int kNotInTheWay = -2;
constexpr int kHolds = -1;
int in_the_way(const BlockedProcsData *data, const BlockedProcData *bproc, const LockInstanceData *waiter,
               const LockInstanceData *instance, LOCKMASK conflicts) {
    if (instance == waiter || instance->leaderPid == waiter->leaderPid) return kNotInTheWay;
    if (conflicts & instance->holdMask) return kHolds;
    if (instance->waitLockMode == NoLock || !(conflicts & LOCKBIT_ON(instance->waitLockMode))) return kNotInTheWay;
    const int *ahead = &data->waiter_pids[bproc->first_waiter];  // queued before the waiter, head first
    for (int k = 0; k < bproc->num_waiters; k++)
        if (ahead[k] == instance->pid) return k;
    return kNotInTheWay;
}

// pg_locks' description of a lock tag: database, relation, page, tuple, transactionid, classid,
// objid, objsubid (columns 5..12), nulls where pg_locks has them.
void describe_tag(const LOCKTAG &tag, Datum *values, bool *nulls) {
    for (int i = 5; i < kColumns; i++) nulls[i] = true;
    switch (static_cast<LockTagType>(tag.locktag_type)) {
        case LOCKTAG_RELATION:
        case LOCKTAG_RELATION_EXTEND:
        case LOCKTAG_DATABASE_FROZEN_IDS:
            values[5] = ObjectIdGetDatum(tag.locktag_field1), nulls[5] = false;
            if (tag.locktag_type != LOCKTAG_DATABASE_FROZEN_IDS)
                values[6] = ObjectIdGetDatum(tag.locktag_field2), nulls[6] = false;
            break;
        case LOCKTAG_PAGE:
        case LOCKTAG_TUPLE:
            values[5] = ObjectIdGetDatum(tag.locktag_field1), nulls[5] = false;
            values[6] = ObjectIdGetDatum(tag.locktag_field2), nulls[6] = false;
            values[7] = Int32GetDatum(static_cast<int32>(tag.locktag_field3)), nulls[7] = false;
            if (tag.locktag_type == LOCKTAG_TUPLE)
                values[8] = Int16GetDatum(static_cast<int16>(tag.locktag_field4)), nulls[8] = false;
            break;
        case LOCKTAG_TRANSACTION:
        case LOCKTAG_SPECULATIVE_TOKEN:
            values[9] = TransactionIdGetDatum(tag.locktag_field1), nulls[9] = false;
            break;
        case LOCKTAG_VIRTUALTRANSACTION:
            break;  // pg_locks' virtualxid column: not needed by the graph
        case LOCKTAG_OBJECT:
        case LOCKTAG_USERLOCK:
        case LOCKTAG_ADVISORY:
        default:
            values[5] = ObjectIdGetDatum(tag.locktag_field1), nulls[5] = false;
            values[10] = ObjectIdGetDatum(tag.locktag_field2), nulls[10] = false;
            values[11] = ObjectIdGetDatum(tag.locktag_field3), nulls[11] = false;
            values[12] = Int16GetDatum(static_cast<int16>(tag.locktag_field4)), nulls[12] = false;
            break;
    }
}

// One edge: `waiter` (of process waiter_pid) waits for `blocker`.
void put_edge(ReturnSetInfo *rsinfo, int waiter_pid, TimestampTz wait_start, const LockInstanceData *waiter,
              const LockInstanceData *blocker) {
    Datum values[kColumns];
    bool nulls[kColumns] = {};
    values[0] = Int32GetDatum(waiter_pid);
    values[1] = Int32GetDatum(blocker->leaderPid);
    values[2] = CStringGetTextDatum(LockTagTypeNames[waiter->locktag.locktag_type]);
    values[3] = CStringGetTextDatum(GetLockmodeName(waiter->locktag.locktag_lockmethodid, waiter->waitLockMode));
    values[4] = TimestampTzGetDatum(wait_start);
    nulls[4] = wait_start == 0;
    describe_tag(waiter->locktag, values, nulls);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

// The edges of one waiting process (none if it no longer waits): every one, or with
// nearest_queued_only the hard ones and the soft one to the nearest process queued ahead.
void put_edges_of(ReturnSetInfo *rsinfo, int waiter_pid, TimestampTz wait_start, bool nearest_queued_only) {
    BlockedProcsData *data = GetBlockerStatusData(waiter_pid);
    for (int i = 0; i < data->nprocs; i++) {
        const BlockedProcData *bproc = &data->procs[i];
        const LockInstanceData *instances = &data->locks[bproc->first_lock];
        const LockInstanceData *waiter = nullptr;
        for (int j = 0; j < bproc->num_locks; j++)
            if (instances[j].pid == bproc->pid) waiter = &instances[j];
        if (waiter == nullptr) continue;
        // The lock group's other members' edges count as the waiter's, as in pg_blocking_pids();
        // each edge names the lock that the blocked member awaits.
        LOCKMASK conflicts = GetLockTagsMethodTable(&waiter->locktag)->conflictTab[waiter->waitLockMode];
        const LockInstanceData *nearest = nullptr;
        int nearest_position = -1;
        for (int j = 0; j < bproc->num_locks; j++) {
            const LockInstanceData *instance = &instances[j];
            int where = in_the_way(data, bproc, waiter, instance, conflicts);
            if (where == kNotInTheWay) continue;
            if (where == kHolds || !nearest_queued_only) {
                put_edge(rsinfo, waiter_pid, wait_start, waiter, instance);
            } else if (where > nearest_position) {
                nearest = instance, nearest_position = where;
            }
        }
        if (nearest != nullptr) put_edge(rsinfo, waiter_pid, wait_start, waiter, nearest);
    }
}

}  // namespace

// lockguard._lock_waits([nearest_queued_only boolean,] OUT waiter_pid, OUT blocker_pid, OUT locktype,
//                       OUT mode, OUT wait_start, OUT database, OUT relation, OUT page, OUT tuple,
//                       OUT transactionid, OUT classid, OUT objid, OUT objsubid)
Datum lockguard::pg::sql_lock_waits(FunctionCallInfo fcinfo) {
    return run_at_boundary([&]() -> Datum {
        bool nearest_queued_only = PG_NARGS() > 0 && !PG_ARGISNULL(0) && PG_GETARG_BOOL(0);
        auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
        InitMaterializedSRF(fcinfo, 0);
        // Collect the waiters first: GetBlockerStatusData takes ProcArrayLock and the lock
        // partitions, and allocates, so nothing is held across it here.
        int count = 0;
        auto *pids = static_cast<int *>(palloc(sizeof(int) * ProcGlobal->allProcCount));
        auto *starts = static_cast<TimestampTz *>(palloc(sizeof(TimestampTz) * ProcGlobal->allProcCount));
        for (uint32 i = 0; i < ProcGlobal->allProcCount; i++) {
            PGPROC *proc = &ProcGlobal->allProcs[i];
            uint32 info = proc->wait_event_info;
            int pid = proc->pid;
            if ((info & 0xFF000000) != PG_WAIT_LOCK || pid == 0) continue;
            pids[count] = pid;
            starts[count] = static_cast<TimestampTz>(pg_atomic_read_u64(&proc->waitStart));
            count++;
        }
        for (int i = 0; i < count; i++) put_edges_of(rsinfo, pids[i], starts[i], nearest_queued_only);
        pfree(pids);
        pfree(starts);
        return static_cast<Datum>(0);
    });
}
