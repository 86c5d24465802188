// Every difference between the PostgreSQL majors lockguard builds against (15, 17, 18), in one
// place: the rest of src/ calls the names below and never tests PG_VERSION_NUM. Each entry names
// the release that introduced the difference. 16 is handled by the same code as 17 where the change
// came in 16, but no 16 installation was available to compile against.
#pragma once

#include "pg/infra/pg_prelude.hpp"

extern "C" {
#include "nodes/nodes.h"
#include "utils/backend_status.h"
#include "utils/relcache.h"
#include "access/genam.h"
#if PG_VERSION_NUM >= 170000
#include "storage/procnumber.h"
#endif
#if PG_VERSION_NUM >= 160000
#include "varatt.h"  // 16: the varlena macros (VARSIZE_ANY_EXHDR, VARDATA_ANY) left postgres.h
#else
#include "storage/shmem.h"  // SHM_QUEUE, until 15
#endif
}

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 190000
#error "lockguard builds against PostgreSQL 15 to 18"
#endif

namespace lockguard::pg {

// ---- Process numbers -------------------------------------------------------------------------
// 17: PGPROC.pgprocno is gone; a PGPROC's index in ProcGlobal->allProcs is its ProcNumber
// (GetNumberFromPGProc, MyProcNumber). lockguard's backend slots are indexed by it.
inline int proc_number(const PGPROC *proc) {
#if PG_VERSION_NUM >= 170000
    return static_cast<int>(GetNumberFromPGProc(proc));
#else
    return proc->pgprocno;
#endif
}

// This backend's process number (MyProc must be set).
inline int my_proc_number() {
#if PG_VERSION_NUM >= 170000
    return MyProcNumber;
#else
    return MyProc->pgprocno;
#endif
}

// 17: VirtualTransactionId.backendId became procNumber (BackendIdGetProc became
// ProcNumberGetProc). The PGPROC a virtual transaction id names, or nullptr.
PGPROC *virtual_xid_proc(const VirtualTransactionId &vxid);

// 17: PGPROC.lxid moved into PGPROC.vxid (with the proc number).
inline LocalTransactionId proc_local_xid(const PGPROC *proc) {
#if PG_VERSION_NUM >= 170000
    return proc->vxid.lxid;
#else
    return proc->lxid;
#endif
}

// Whether a process is not a regular client backend. 15 and 16: PGPROC.isBackgroundWorker is
// true for background workers only. 17: the same field is true for every process that is not a
// regular backend (AmRegularBackendProcess). 18: renamed, negated, isRegularBackend.
inline bool proc_is_background_process(const PGPROC *proc) {
#if PG_VERSION_NUM >= 180000
    return !proc->isRegularBackend;
#else
    return proc->isBackgroundWorker;
#endif
}

// ---- Lock manager ----------------------------------------------------------------------------
// 18: LockAcquireExtended gained logLockFailure: false, or a no-wait attempt that fails is logged
// under log_lock_failures (lockguard tries without waiting first, on purpose).
inline LockAcquireResult lock_acquire_extended(const LOCKTAG *tag, LOCKMODE mode, bool session_lock,
                                               bool dont_wait, bool report_memory_error, LOCALLOCK **locallock) {
#if PG_VERSION_NUM >= 180000
    return LockAcquireExtended(tag, mode, session_lock, dont_wait, report_memory_error, locallock, false);
#else
    return LockAcquireExtended(tag, mode, session_lock, dont_wait, report_memory_error, locallock);
#endif
}

#if PG_VERSION_NUM >= 160000
// The struct that holds a dlist_node at `offset`: what dlist_container does, whose type assertion
// (__builtin_types_compatible_p) exists only in C.
template <typename Owner, size_t offset>
Owner *node_owner(dlist_node *node) {
    return reinterpret_cast<Owner *>(reinterpret_cast<char *>(node) - offset);
}
#endif

// A lock's wait queue. 16: LOCK.waitProcs is a dclist_head of PGPROC.links (dlist_node); until
// 15 a PROC_QUEUE of SHM_QUEUE links. The caller holds the lock's partition LWLock, exclusive.
inline int wait_queue_length(const LOCK *lock) {
#if PG_VERSION_NUM >= 160000
    return static_cast<int>(dclist_count(&lock->waitProcs));
#else
    return lock->waitProcs.size;
#endif
}

// The waiter after `proc` (the first when `proc` is nullptr), or nullptr after the last.
inline PGPROC *wait_queue_next(LOCK *lock, PGPROC *proc) {
#if PG_VERSION_NUM >= 160000
    dlist_node *end = &lock->waitProcs.dlist.head;
    dlist_node *next = proc == nullptr ? end->next : proc->links.next;
    return next == end || next == nullptr ? nullptr : node_owner<PGPROC, offsetof(PGPROC, links)>(next);
#else
    SHM_QUEUE *end = &lock->waitProcs.links;
    SHM_QUEUE *next = proc == nullptr ? end->next : proc->links.next;
    return next == end || next == nullptr ? nullptr : reinterpret_cast<PGPROC *>(next);  // links is first
#endif
}

// Rebuilds the queue as procs[order[0]], procs[order[1]], ..., as DeadLockCheck does when it
// rearranges one (16+: dclist_init and dclist_push_tail; 15: ProcQueueInit and
// SHMQueueInsertBefore). The caller passes a permutation of the queue's waiters.
inline void wait_queue_rebuild(LOCK *lock, PGPROC *const *procs, const uint32_t *order, int count) {
#if PG_VERSION_NUM >= 160000
    dclist_init(&lock->waitProcs);
    for (int i = 0; i < count; i++) dclist_push_tail(&lock->waitProcs, &procs[order[i]]->links);
#else
    PROC_QUEUE *queue = &lock->waitProcs;
    ProcQueueInit(queue);
    for (int i = 0; i < count; i++) {
        SHMQueueInsertBefore(&queue->links, &procs[order[i]]->links);
        queue->size++;
    }
#endif
}

// This backend's PROCLOCKs of one lock partition: the one after `proclock` (the first when
// nullptr), or nullptr after the last. 16: myProcLocks[] and PROCLOCK.procLink are dlists; until
// 15 SHM_QUEUEs. Changed only under the partition lock, which the caller holds.
inline PROCLOCK *my_proclock_next(int partition, PROCLOCK *proclock) {
#if PG_VERSION_NUM >= 160000
    dlist_head *list = &MyProc->myProcLocks[partition];
    dlist_node *end = &list->head;
    dlist_node *next = proclock == nullptr ? end->next : proclock->procLink.next;
    return next == end || next == nullptr ? nullptr : node_owner<PROCLOCK, offsetof(PROCLOCK, procLink)>(next);
#else
    SHM_QUEUE *list = &MyProc->myProcLocks[partition];
    return reinterpret_cast<PROCLOCK *>(
        SHMQueueNext(list, proclock == nullptr ? list : &proclock->procLink, offsetof(PROCLOCK, procLink)));
#endif
}

// ---- Catalogs and privileges -----------------------------------------------------------------
// 16: pg_proc_aclcheck is gone (object_aclcheck on ProcedureRelationId).
bool may_execute_function(Oid function, Oid role);

// Whether `role` may LOCK TABLE `relation` in `mode`: lockguard asks what lockcmds.c asks.
// Until 15: SELECT for ACCESS SHARE, a write privilege for ROW EXCLUSIVE, UPDATE, DELETE or
// TRUNCATE for the rest. 16: UPDATE, DELETE or TRUNCATE permit any mode, SELECT also ACCESS
// SHARE, INSERT also ROW EXCLUSIVE and below. 17: MAINTAIN permits any mode too.
bool may_lock_table(Oid relation, Oid role, LOCKMODE mode);

// 18: RelationGetPrimaryKeyIndex(rel, deferrable_ok). Until 17 it never returned a DEFERRABLE
// primary key; lockguard keeps that (deferrable_ok = false): a deferrable key does not identify a
// row at every moment of a transaction.
Oid primary_key_index(Relation relation);

// ---- Index scans -----------------------------------------------------------------------------
// 18: index_beginscan gained an IndexScanInstrumentation (for EXPLAIN); lockguard passes none.
IndexScanDesc begin_index_scan(Relation heap, Relation index, Snapshot snapshot, int key_count);

// ---- Backend status --------------------------------------------------------------------------
// The local copy of the index-th (1-based) backend status entry, or nullptr. 17: renamed
// pgstat_get_local_beentry_by_index (pgstat_fetch_stat_local_beentry is gone).
LocalPgBackendStatus *local_backend_status(int index);

// pg_stat_activity's name of a backend state, nullptr for none. 18 adds STATE_STARTING.
const char *backend_state_name(BackendState state);

// ---- Node tree walkers -----------------------------------------------------------------------
// 16: the walkers take a typed callback through casting macros (tree_walker_callback; any pointer
// parameter matches); until 15 C's untyped `bool (*)()`.
template <typename Context>
auto tree_walker(bool (*walker)(Node *, Context *)) {
#if PG_VERSION_NUM >= 160000
    return walker;
#else
    return reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(walker));
#endif
}

}  // namespace lockguard::pg

// ---- Executor and module magic (macros: they shape declarations) ----------------------------
// 18: ExecutorRun and its hook lost `execute_once`. A hook is declared
// `void f(LG_EXECUTOR_RUN_PARAMS)` and forwards `LG_EXECUTOR_RUN_ARGS`: the parameters are named
// query, direction and count (and execute_once until 17).
#if PG_VERSION_NUM >= 180000
#define LG_EXECUTOR_RUN_PARAMS QueryDesc *query, ScanDirection direction, uint64 count
#define LG_EXECUTOR_RUN_ARGS query, direction, count
#else
#define LG_EXECUTOR_RUN_PARAMS QueryDesc *query, ScanDirection direction, uint64 count, bool execute_once
#define LG_EXECUTOR_RUN_ARGS query, direction, count, execute_once
#endif

// 18: PG_MODULE_MAGIC_EXT names the module (shown by pg_get_loaded_modules()).
#if PG_VERSION_NUM >= 180000
#define LG_MODULE_MAGIC PG_MODULE_MAGIC_EXT(.name = "lockguard")
#else
#define LG_MODULE_MAGIC PG_MODULE_MAGIC
#endif
