// Table scope: one of PostgreSQL's eight table lock modes, with LOCK TABLE's privileges and its
// recursion into inheritance children and partitions, behind a lockguard gate per table.
#include "pg/boundary.hpp"
#include "pg/clip.hpp"
#include "pg/resource_names.hpp"
#include "pg/guardrails.hpp"
#include "pg/scoped_lock.hpp"
#include "pg/wait_events.hpp"

extern "C" {
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "nodes/pg_list.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
}

namespace lockguard::pg {

namespace {

// The privileges LOCK TABLE asks for (lockcmds.c): SELECT for ACCESS SHARE, a write privilege
// for ROW EXCLUSIVE, UPDATE, DELETE or TRUNCATE for the rest.
void check_table_privileges(Oid relation, LOCKMODE mode, const char *relname, char relkind) {
    AclMode needed = mode == AccessShareLock    ? ACL_SELECT
                     : mode == RowExclusiveLock ? (ACL_INSERT | ACL_UPDATE | ACL_DELETE | ACL_TRUNCATE)
                                                : (ACL_UPDATE | ACL_DELETE | ACL_TRUNCATE);
    if (pg_class_aclcheck(relation, GetUserId(), needed) != ACLCHECK_OK)
        aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(relkind), relname);
}

struct TableLockStep {
    Oid relation;
    LOCKMODE mode;
};

void lock_table_and_children(void *arg) {
    auto *step = static_cast<TableLockStep *>(arg);
    LockRelationOid(step->relation, step->mode);
    if (has_subclass(step->relation)) (void) find_all_inheritors(step->relation, step->mode, nullptr);
}

// timeout 0: every table of the tree must be free now.
bool try_lock_table_and_children(Oid relation, LOCKMODE mode) {
    if (!ConditionalLockRelationOid(relation, mode)) return false;
    if (!has_subclass(relation)) return true;
    List *tree = find_all_inheritors(relation, NoLock, nullptr);
    ListCell *cell;
    foreach (cell, tree) {
        Oid child = lfirst_oid(cell);
        if (child != relation && !ConditionalLockRelationOid(child, mode)) return false;
    }
    return true;
}

}  // namespace

void set_table_mode(ScopedRequest *request, TableLockMode mode) {
    Oid relation = request->relation;
    LOCKMODE lockmode = static_cast<LOCKMODE>(mode);  // TableLockMode values are LOCKMODEs
    check_table_privileges(relation, lockmode, get_rel_name(relation), get_rel_relkind(relation));
    check_table_lock_policy(relation, lockmode, true, "lockguard_acquire_table");  // the same policies as LOCK TABLE
    request->table_mode = mode;
    request->gate.lock.ref.mode = lockmode;
    strlcpy(request->gate.lock.mode_name, table_lock_mode_name(mode), sizeof(request->gate.lock.mode_name));
}

void resolve_table(ScopedRequest *request, Oid relation, const char *mode, int32 priority) {
    memset(request, 0, sizeof(*request));
    request->table_mode = parse_table_lock_mode(mode);
    char *relname = get_rel_name(relation);
    if (relname == nullptr)
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", relation)));
    char relkind = get_rel_relkind(relation);
    if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE), errmsg("\"%s\" is not a table", relname),
                        errdetail("Table locks are taken on ordinary and partitioned tables.")));
    request->relation = relation;
    PublishedLock &lock = request->gate.lock;
    lock.ref = LockRef{MyDatabaseId, relation, 0, LockSpace::TableGate, NoLock};
    set_table_mode(request, request->table_mode);
    lock.scope = LockScope::Table;
    lock.priority = priority;
    table_label(relation, lock.name, sizeof(lock.name));
    copy_clipped(lock.resource_class, sizeof(lock.resource_class), lock.name);
}

void lock_table(ScopedRequest *request, int timeout_ms, TimestampTz started) {
    LOCKMODE mode = request->gate.lock.ref.mode;
    constexpr const char *kOutsider = "a transaction that locked the table without lockguard";
    if (try_lock_table_and_children(request->relation, mode)) return;  // uncontended: no wait
    request->phase_waited = true;
    int left = remaining_ms(timeout_ms, started);
    if (left == 0) {
        record_wait_event(request->gate.lock, WaitEventOutcome::Timeout,
                          GetCurrentTimestamp() - started, 1);
        raise_lock_timeout(request->gate.lock, timeout_ms, (GetCurrentTimestamp() - started) / 1000, kOutsider);
    }
    TableLockStep step{request->relation, mode};
    ErrorData *error = run_with_lock_timeout(left, lock_table_and_children, &step);
    if (error != nullptr) raise_phase_error(request->gate, error, started, kOutsider);
}

}  // namespace lockguard::pg
