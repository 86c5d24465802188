// Table scope: one of PostgreSQL's eight table lock modes, with LOCK TABLE's privileges and its
// recursion into inheritance children and partitions, behind a lockguard gate per table.
#include "pg/infra/boundary.hpp"
#include "pg/infra/clip.hpp"
#include "pg/infra/compat.hpp"
#include "pg/infra/resource_names.hpp"
#include "pg/guard/guardrails.hpp"
#include "pg/acquire/scoped_lock.hpp"
#include "pg/observe/wait_events.hpp"

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

// The privileges LOCK TABLE asks for (lockcmds.c; they differ between majors: infra/compat).
void check_table_privileges(Oid relation, LOCKMODE mode, const char *relname, char relkind) {
    if (!may_lock_table(relation, GetUserId(), mode))
        aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(relkind), relname);
}

}  // namespace

void set_table_mode(ScopedRequest *request, TableLockMode mode) {
    Oid relation = request->relation;
    auto lockmode = static_cast<LOCKMODE>(mode);  // TableLockMode values are LOCKMODEs
    check_table_privileges(relation, lockmode, get_rel_name(relation), get_rel_relkind(relation));
    check_table_lock_policy(relation, lockmode, true, "lockguard_acquire_table");  // the same policies as LOCK TABLE
    request->table_mode = mode;
    request->gate.lock.ref.mode = lockmode;
    strlcpy(request->gate.lock.mode_name, table_lock_mode_name(mode), sizeof(request->gate.lock.mode_name));
}

void resolve_table(ScopedRequest *request, Oid relation, const char *mode, int32 priority,
                   const Deadline *deadline) {
    memset(request, 0, sizeof(*request));
    request->gate.deadline = deadline;
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

// The table, then every inheritance child and partition (LOCK TABLE's recursion), one lock at
// a time, each within what is left of the deadline: a child locked by someone else is waited
// for like the table, never past the deadline (find_all_inheritors would wait on each child
// under one lock_timeout).
void lock_table(ScopedRequest *request) {
    LOCKMODE mode = request->gate.lock.ref.mode;
    Oid relation = request->relation;
    if (!ConditionalLockRelationOid(relation, mode)) {
        request->phase_waited = true;
        lock_relation_within(request->gate, relation, mode);
    }
    if (!has_subclass(relation)) return;
    List *tree = find_all_inheritors(relation, NoLock, nullptr);  // parents before their children
    ListCell *cell;
    foreach (cell, tree) {
        Oid child = lfirst_oid(cell);
        if (child == relation || ConditionalLockRelationOid(child, mode)) continue;
        request->phase_waited = true;
        lock_relation_within(request->gate, child, mode);
    }
}

}  // namespace lockguard::pg
