// lockguard._lock_waits(): every edge "waiter waits for blocker" of the heavyweight lock manager
// now, read the cheap way. The waiters are found without any lock: a backend asleep in the lock
// manager shows the Lock wait-event class in its PGPROC. Only about those does it ask the lock
// manager (GetBlockerStatusData, the call behind pg_blocking_pids(), which takes every lock
// partition for a moment) who holds or is queued ahead on the lock awaited. pg_locks (every
// lock of every backend, fast-path slots included) is never read, and no view is joined.
//
// One answer serves a whole queue: it lists the processes queued ahead of the one asked about,
// in queue order, and every process's entry on the lock, so it gives the edges of each process
// ahead as well. Asked latest waiter first (core/wait_survey.hpp), a queue of n waiters costs
// one read of the lock manager instead of n (extension 1.5 asked about every waiter: 63 reads
// for a queue of 63, each taking all 16 partition locks, twice per sample of the worker).
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
#include "core/wait_survey.hpp"
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
using lockguard::answerable_by_others;
using lockguard::find_surveyed;
using lockguard::plan_wait_survey;
using lockguard::SurveyedWaiter;

namespace {

constexpr int kColumns = 13;

// Where `instance` (another process's entry on the lock that `waiter` awaits) stands in the
// waiter's way: kHolds (it holds a conflicting mode), its position in the queue ahead of the
// waiter (0: the head) when it waits there for a conflicting mode, or kNotInTheWay.
// `queue_position`: the instance's place in the lock's queue (kNotQueued when it has none), of
// which those below `ahead_count` are ahead of the waiter.
constexpr int kNotInTheWay = -2;
constexpr int kHolds = -1;
constexpr int kNotQueued = -1;
int in_the_way(const LockInstanceData *waiter, const LockInstanceData *instance, int queue_position, int ahead_count,
               LOCKMASK conflicts) {
    if (instance == waiter || instance->leaderPid == waiter->leaderPid) return kNotInTheWay;
    if (conflicts & instance->holdMask) return kHolds;
    if (instance->waitLockMode == NoLock || !(conflicts & LOCKBIT_ON(instance->waitLockMode))) return kNotInTheWay;
    if (queue_position == kNotQueued || queue_position >= ahead_count) return kNotInTheWay;
    return queue_position;
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

// One lock's entries in an answer of the lock manager: every process's, with its place in the
// queue ahead of the process asked about (kNotQueued for those not there), and the pids queued
// ahead of that process, head first. The places are found once per answer, so that the
// edges of a queue of n cost n*n steps, not n*n*n.
struct LockAnswer {
    const LockInstanceData *instances;
    int instance_count;
    const int *queue;
    int queue_count;
    int *queue_positions;  // one per instance
};

LockAnswer lock_answer(const BlockedProcsData *data, const BlockedProcData *bproc) {
    LockAnswer lock{&data->locks[bproc->first_lock], bproc->num_locks, &data->waiter_pids[bproc->first_waiter],
                    bproc->num_waiters, static_cast<int *>(palloc(sizeof(int) * Max(bproc->num_locks, 1)))};
    for (int j = 0; j < lock.instance_count; j++) {
        lock.queue_positions[j] = kNotQueued;
        for (int k = 0; k < lock.queue_count; k++)
            if (lock.queue[k] == lock.instances[j].pid) lock.queue_positions[j] = k;
    }
    return lock;
}

// The entry of process `pid` on the lock, or nullptr.
const LockInstanceData *entry_of(const LockAnswer &lock, int pid) {
    const LockInstanceData *found = nullptr;
    for (int j = 0; j < lock.instance_count; j++)
        if (lock.instances[j].pid == pid) found = &lock.instances[j];
    return found;
}

// The edges of `waiter`, whose queue ahead is lock.queue[0..ahead_count), named as process
// waiter_pid's: every one, or with nearest_queued_only the hard ones and the soft one to the
// nearest process queued ahead.
void put_edges(ReturnSetInfo *rsinfo, int waiter_pid, TimestampTz wait_start, const LockAnswer &lock,
               const LockInstanceData *waiter, int ahead_count, bool nearest_queued_only) {
    LOCKMASK conflicts = GetLockTagsMethodTable(&waiter->locktag)->conflictTab[waiter->waitLockMode];
    const LockInstanceData *nearest = nullptr;
    int nearest_position = -1;
    for (int j = 0; j < lock.instance_count; j++) {
        const LockInstanceData *instance = &lock.instances[j];
        int where = in_the_way(waiter, instance, lock.queue_positions[j], ahead_count, conflicts);
        if (where == kNotInTheWay) continue;
        if (where == kHolds || !nearest_queued_only) {
            put_edge(rsinfo, waiter_pid, wait_start, waiter, instance);
        } else if (where > nearest_position) {
            nearest = instance, nearest_position = where;
        }
    }
    if (nearest != nullptr) put_edge(rsinfo, waiter_pid, wait_start, waiter, nearest);
}

// The edges of the processes queued ahead in `lock` that the survey collected and no answer has
// covered: each one's queue ahead is the part of the lock's queue before it.
void put_edges_of_those_ahead(ReturnSetInfo *rsinfo, const LockAnswer &lock, SurveyedWaiter *waiters,
                              const uint32_t *by_pid, size_t count, bool nearest_queued_only) {
    for (int k = 0; k < lock.queue_count; k++) {
        SurveyedWaiter *ahead = find_surveyed(waiters, by_pid, count, lock.queue[k]);
        const LockInstanceData *entry = answerable_by_others(ahead) ? entry_of(lock, ahead->pid) : nullptr;
        if (entry == nullptr) continue;
        ahead->answered = true;
        put_edges(rsinfo, ahead->pid, ahead->wait_start, lock, entry, k, nearest_queued_only);
    }
}

// Asks the lock manager about `asked` and gives its edges (none if it no longer waits), and
// those of every process queued ahead of it that the survey collected and no answer has covered.
void answer(ReturnSetInfo *rsinfo, SurveyedWaiter &asked, SurveyedWaiter *waiters, const uint32_t *by_pid, size_t count,
            bool nearest_queued_only) {
    asked.answered = true;
    BlockedProcsData *data = GetBlockerStatusData(asked.pid);
    for (int i = 0; i < data->nprocs; i++) {
        const BlockedProcData *bproc = &data->procs[i];
        LockAnswer lock = lock_answer(data, bproc);
        // The lock group's other members' edges count as the asked process's, as in
        // pg_blocking_pids(); each edge names the lock that the blocked member awaits.
        if (const LockInstanceData *waiter = entry_of(lock, bproc->pid)) {
            put_edges(rsinfo, asked.pid, asked.wait_start, lock, waiter, lock.queue_count, nearest_queued_only);
            if (bproc->pid == asked.pid)
                put_edges_of_those_ahead(rsinfo, lock, waiters, by_pid, count, nearest_queued_only);
        }
        pfree(lock.queue_positions);
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
        // partitions, and allocates, so nothing is held across it here. lockGroupLeader is read
        // without a lock: a process that joins a lock group after this read may be answered from
        // another's read, without its group's other waits, as pg_blocking_pids() a moment
        // earlier would have answered.
        size_t count = 0;
        auto *waiters = static_cast<SurveyedWaiter *>(palloc(sizeof(SurveyedWaiter) * ProcGlobal->allProcCount));
        auto *by_pid = static_cast<uint32_t *>(palloc(sizeof(uint32_t) * ProcGlobal->allProcCount));
        for (uint32 i = 0; i < ProcGlobal->allProcCount; i++) {
            PGPROC *proc = &ProcGlobal->allProcs[i];
            uint32 info = proc->wait_event_info;
            int pid = proc->pid;
            if ((info & 0xFF000000) != PG_WAIT_LOCK || pid == 0) continue;
            waiters[count++] = SurveyedWaiter{pid, static_cast<int64_t>(pg_atomic_read_u64(&proc->waitStart)),
                                              proc->lockGroupLeader != nullptr, false};
        }
        plan_wait_survey(waiters, count, by_pid);
        for (size_t i = 0; i < count; i++)
            if (!waiters[i].answered) answer(rsinfo, waiters[i], waiters, by_pid, count, nearest_queued_only);
        pfree(waiters);
        pfree(by_pid);
        return static_cast<Datum>(0);
    });
}
