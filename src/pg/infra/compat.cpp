#include "pg/infra/compat.hpp"

extern "C" {
#include "access/genam.h"
#include "catalog/pg_proc.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#if PG_VERSION_NUM < 170000
#include "storage/sinvaladt.h"  // BackendIdGetProc, until 16
#endif
}

namespace lockguard::pg {

PGPROC *virtual_xid_proc(const VirtualTransactionId &vxid) {
#if PG_VERSION_NUM >= 170000
    return ProcNumberGetProc(vxid.procNumber);
#else
    return BackendIdGetProc(vxid.backendId);
#endif
}

bool may_execute_function(Oid function, Oid role) {
#if PG_VERSION_NUM >= 160000
    return object_aclcheck(ProcedureRelationId, function, role, ACL_EXECUTE) == ACLCHECK_OK;
#else
    return pg_proc_aclcheck(function, role, ACL_EXECUTE) == ACLCHECK_OK;
#endif
}

bool may_lock_table(Oid relation, Oid role, LOCKMODE mode) {
#if PG_VERSION_NUM >= 160000
    AclMode mask = ACL_UPDATE | ACL_DELETE | ACL_TRUNCATE;
#if PG_VERSION_NUM >= 170000
    mask |= ACL_MAINTAIN;
#endif
    if (mode <= AccessShareLock) mask |= ACL_SELECT;
    if (mode <= RowExclusiveLock) mask |= ACL_INSERT;
#else
    AclMode mask = mode == AccessShareLock    ? ACL_SELECT
                   : mode == RowExclusiveLock ? (ACL_INSERT | ACL_UPDATE | ACL_DELETE | ACL_TRUNCATE)
                                              : (ACL_UPDATE | ACL_DELETE | ACL_TRUNCATE);
#endif
    return pg_class_aclcheck(relation, role, mask) == ACLCHECK_OK;
}

Oid primary_key_index(Relation relation) {
#if PG_VERSION_NUM >= 180000
    return RelationGetPrimaryKeyIndex(relation, false);
#else
    return RelationGetPrimaryKeyIndex(relation);
#endif
}

IndexScanDesc begin_index_scan(Relation heap, Relation index, Snapshot snapshot, int key_count) {
#if PG_VERSION_NUM >= 180000
    return index_beginscan(heap, index, snapshot, nullptr, key_count, 0);
#else
    return index_beginscan(heap, index, snapshot, key_count, 0);
#endif
}

LocalPgBackendStatus *local_backend_status(int index) {
#if PG_VERSION_NUM >= 170000
    return pgstat_get_local_beentry_by_index(index);
#else
    return pgstat_fetch_stat_local_beentry(index);
#endif
}

const char *backend_state_name(BackendState state) {
    switch (state) {
#if PG_VERSION_NUM >= 180000
        case STATE_STARTING: return "starting";
#endif
        case STATE_IDLE: return "idle";
        case STATE_RUNNING: return "active";
        case STATE_IDLEINTRANSACTION: return "idle in transaction";
        case STATE_FASTPATH: return "fastpath function call";
        case STATE_IDLEINTRANSACTION_ABORTED: return "idle in transaction (aborted)";
        case STATE_DISABLED: return "disabled";
        case STATE_UNDEFINED: break;
    }
    return nullptr;
}

}  // namespace lockguard::pg
