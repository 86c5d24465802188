// Guardrails: the policy cache and the two enforcement hooks.
//
// The policy cache is per backend. It is filled from lockguard.lock_policies with a catalog
// snapshot (no SPI and no transaction snapshot: LOCK TABLE must stay usable as the first
// statement of a REPEATABLE READ transaction), and dropped when the table's relcache entry is
// invalidated: the table's statement trigger queues that invalidation, which every backend
// receives when the changing transaction commits (and the changing backend at once).
#include "pg/guardrails.hpp"

#include "core/lock_mode.hpp"
#include "core/policy.hpp"
#include "core/trace_context.hpp"
#include "pg/audit.hpp"
#include "pg/boundary.hpp"
#include "pg/clip.hpp"
#include "pg/settings.hpp"

#include <memory>
#include <string>
#include <vector>

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/heap.h"
#include "catalog/index.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/partition.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_publication.h"
#include "catalog/pg_statistic_ext.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "commands/tablecmds.h"
#include "commands/tablespace.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "parser/parse_type.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteHandler.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

PGDLLEXPORT Datum lockguard_lock_policies_changed(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(lockguard_lock_policies_changed);
}

namespace lockguard::pg {

namespace {

ProcessUtility_hook_type previous_process_utility = nullptr;
ExecutorStart_hook_type previous_executor_start = nullptr;

// The cache. `cached_policies` is replaced whole on reload; `policy_table` is the OID of
// lockguard.lock_policies when the cache was filled (InvalidOid: not installed here).
PolicySet *cached_policies = nullptr;
bool cache_valid = false;
Oid policy_table = InvalidOid;
bool invalidation_registered = false;

void on_relcache_invalidation(Datum /*unused*/, Oid relation) {
    if (relation == InvalidOid || relation == policy_table) cache_valid = false;
}

// Columns of lockguard.lock_policies, in table order.
enum PolicyColumn {
    kRelation = 1,
    kForbiddenModes,
    kExemptRoles,
    kReason,
    kForbidExclusiveRowMarks,
    kEnabled,
    kIncludeChildren,  // 1.2; a 1.1 table without it: children are included (the 1.2 default)
    kPolicyColumns = kEnabled,
    kAllPolicyColumns = kIncludeChildren
};

// One row as read, palloc'd, before the core turns it into a LockPolicy.
struct PolicyRow {
    Oid relation;
    int mode_count;
    char **modes;
    int exempt_count;
    Oid *exempt_roles;
    char *reason;
    bool forbid_exclusive_row_marks;
    bool include_children;
};

Oid find_policy_table() {
    Oid schema = get_namespace_oid("lockguard", true);
    return OidIsValid(schema) ? get_relname_relid("lock_policies", schema) : InvalidOid;
}

// Reads the enabled policies with a fresh catalog snapshot. C only: errors longjmp through.
// NOLINTNEXTLINE(readability-function-cognitive-complexity): a scan with one check per column
int read_policy_rows(Oid table, PolicyRow **rows_out) {
    InvalidateCatalogSnapshot();  // see this transaction's own changes to the table
    Relation relation = table_open(table, AccessShareLock);
    if (RelationGetDescr(relation)->natts < kPolicyColumns)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("lockguard.lock_policies does not have the expected columns"),
                        errhint("Update the extension with ALTER EXTENSION lockguard UPDATE.")));
    SysScanDesc scan = systable_beginscan(relation, InvalidOid, false, nullptr, 0, nullptr);
    int capacity = 16;
    int count = 0;
    auto *rows = static_cast<PolicyRow *>(palloc0(sizeof(PolicyRow) * capacity));
    int natts = RelationGetDescr(relation)->natts;
    int slots = natts > kAllPolicyColumns ? natts : kAllPolicyColumns;
    auto *values = static_cast<Datum *>(palloc0(sizeof(Datum) * slots));
    auto *nulls = static_cast<bool *>(palloc0(sizeof(bool) * slots));
    HeapTuple tuple;
    while ((tuple = systable_getnext(scan)) != nullptr) {
        nulls[kIncludeChildren - 1] = true;  // heap_deform_tuple fills natts columns only
        heap_deform_tuple(tuple, RelationGetDescr(relation), values, nulls);
        if (nulls[kEnabled - 1] || !DatumGetBool(values[kEnabled - 1])) continue;
        if (nulls[kRelation - 1] || nulls[kForbiddenModes - 1]) continue;  // NOT NULL in the table
        if (count == capacity) {
            capacity *= 2;
            rows = static_cast<PolicyRow *>(repalloc(rows, sizeof(PolicyRow) * capacity));
        }
        PolicyRow &row = rows[count++];
        memset(&row, 0, sizeof(row));
        row.relation = DatumGetObjectId(values[kRelation - 1]);
        Datum *elements;
        bool *element_nulls;
        deconstruct_array(DatumGetArrayTypeP(values[kForbiddenModes - 1]), TEXTOID, -1, false, TYPALIGN_INT,
                          &elements, &element_nulls, &row.mode_count);
        row.modes = static_cast<char **>(palloc0(sizeof(char *) * (row.mode_count + 1)));
        for (int i = 0; i < row.mode_count; i++)
            row.modes[i] = element_nulls[i] ? pstrdup("") : TextDatumGetCString(elements[i]);
        if (!nulls[kExemptRoles - 1]) {
            deconstruct_array(DatumGetArrayTypeP(values[kExemptRoles - 1]), REGROLEOID, sizeof(Oid), true,
                              TYPALIGN_INT, &elements, &element_nulls, &row.exempt_count);
            row.exempt_roles = static_cast<Oid *>(palloc0(sizeof(Oid) * (row.exempt_count + 1)));
            for (int i = 0; i < row.exempt_count; i++)
                row.exempt_roles[i] = element_nulls[i] ? InvalidOid : DatumGetObjectId(elements[i]);
        }
        row.reason = nulls[kReason - 1] ? pstrdup("") : TextDatumGetCString(values[kReason - 1]);
        row.forbid_exclusive_row_marks =
            !nulls[kForbidExclusiveRowMarks - 1] && DatumGetBool(values[kForbidExclusiveRowMarks - 1]);
        row.include_children = nulls[kIncludeChildren - 1] || DatumGetBool(values[kIncludeChildren - 1]);
    }
    systable_endscan(scan);
    table_close(relation, AccessShareLock);
    *rows_out = rows;
    return count;
}

// C++ only, no PostgreSQL call: may throw (an invalid mode name, out of memory).
PolicySet *build_policy_set(const PolicyRow *rows, int count) {
    auto set = std::make_unique<PolicySet>();
    for (int i = 0; i < count; i++) {
        LockPolicy policy;
        policy.relation = rows[i].relation;
        std::vector<std::string> modes(rows[i].modes, rows[i].modes + rows[i].mode_count);
        policy.forbidden_modes = parse_forbidden_modes(modes);
        policy.forbid_exclusive_row_marks = rows[i].forbid_exclusive_row_marks;
        policy.include_children = rows[i].include_children;
        policy.exempt_roles.assign(rows[i].exempt_roles, rows[i].exempt_roles + rows[i].exempt_count);
        policy.reason = rows[i].reason;
        set->add(std::move(policy));
    }
    return set.release();
}

// The policies in force here, loaded if needed. Never nullptr.
const PolicySet &current_policies() {
    if (!invalidation_registered) {
        CacheRegisterRelcacheCallback(on_relcache_invalidation, static_cast<Datum>(0));
        invalidation_registered = true;
    }
    if (cache_valid && cached_policies != nullptr) return *cached_policies;
    Oid table = find_policy_table();
    PolicyRow *rows = nullptr;
    int count = OidIsValid(table) ? read_policy_rows(table, &rows) : 0;
    PolicySet *fresh = build_policy_set(rows, count);
    delete cached_policies;
    cached_policies = fresh;
    policy_table = table;
    // Not installed in this database: look again next time (two syscache probes), so that a
    // CREATE EXTENSION is noticed without an invalidation.
    cache_valid = OidIsValid(table);
    if (rows != nullptr) pfree(rows);
    return *cached_policies;
}

// Policies apply to client statements in a normal transaction, never while the extension's
// own script runs (its objects are not all there yet) or during a binary upgrade.
bool guardrails_active() { return IsTransactionState() && !creating_extension && !IsBinaryUpgrade; }

const char *qualified_name(Oid relation) {
    char *name = get_rel_name(relation);
    if (name == nullptr) return psprintf("relation with OID %u", relation);
    return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relation)), name);
}

void fill_entry(AuditEntry *entry, Oid relation, const char *mode, LockScope scope, WaitEventOutcome outcome,
                const char *command) {
    memset(entry, 0, sizeof(*entry));
    entry->logged_at = GetCurrentTimestamp();
    entry->pid = MyProcPid;
    entry->role = GetUserId();
    entry->database = MyDatabaseId;
    entry->outcome = outcome;
    entry->scope = scope;
    entry->attempts = outcome == kOutcomeOverride ? 1 : 0;  // a rejected lock was never attempted
    strlcpy(entry->mode, mode, sizeof(entry->mode));
    format_clipped(entry->resource, sizeof(entry->resource), "%s (%s)", qualified_name(relation), command);
    fill_audit_trace_id(entry->trace_id, sizeof(entry->trace_id));
}

// The exempt roles of `policy` the current user is a member of (superuser or not: superusers
// are exempt only where a policy names them, and otherwise use the audited override).
int exempt_roles_held(const LockPolicy *policy, RoleId *out) {
    Oid user = GetUserId();
    int held = 0;
    for (RoleId role : policy->exempt_roles)
        if (is_member_of_role_nosuper(user, static_cast<Oid>(role))) out[held++] = role;
    return held;
}

// A forbidden lock: audited, then refused, or let through when the session overrides policies.
void enforce(const LockPolicy *policy, Oid relation, const char *mode, LockScope scope, const char *command,
             const char *via) {
    AuditEntry entry;
    bool overriding = settings.override_policies;
    fill_entry(&entry, relation, mode, scope, overriding ? kOutcomeOverride : kOutcomeRejected, command);
    append_audit_entry(entry);
    const char *relname = get_rel_name(relation);
    if (overriding) {
        ereport(LOG, (errmsg("lockguard policy on table \"%s\" overridden: %s takes %s %s lock", relname, command,
                              indefinite_article(mode), mode),
                      errdetail("lockguard.override_policies is on for role \"%s\".",
                                GetUserNameFromId(GetUserId(), false))));
        return;
    }
    ereport(ERROR,
            (errcode(ERRCODE_LOCKGUARD_POLICY_VIOLATION),
             errmsg("%s lock on table \"%s\" is forbidden by a lockguard policy", mode, relname),
             errdetail("%s would take this lock%s. Policy reason: %s", command, via, policy->reason.c_str()),
             errhint("Run maintenance as a role listed in exempt_roles of lockguard.lock_policies, or as a "
                     "superuser with SET lockguard.override_policies = on (audited).")));
}

// Every ancestor of `relation` in pg_inherits (partition parents and inheritance parents, at any
// depth), nearest first, each once. C only: errors longjmp through.
int ancestors_of(Oid relation, RelationId **out) {
    int capacity = 8;
    int count = 0;
    int next = 0;
    auto *found = static_cast<RelationId *>(palloc(sizeof(RelationId) * capacity));
    Relation inherits = table_open(InheritsRelationId, AccessShareLock);
    Oid current = relation;
    for (;;) {
        ScanKeyData key;
        ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(current));
        SysScanDesc scan = systable_beginscan(inherits, InheritsRelidSeqnoIndexId, true, nullptr, 1, &key);
        HeapTuple tuple;
        while ((tuple = systable_getnext(scan)) != nullptr) {
            Oid parent = reinterpret_cast<Form_pg_inherits>(GETSTRUCT(tuple))->inhparent;
            bool seen = parent == relation;
            for (int i = 0; i < count && !seen; i++) seen = found[i] == parent;
            if (seen) continue;
            if (count == capacity) {
                capacity *= 2;
                found = static_cast<RelationId *>(repalloc(found, sizeof(RelationId) * capacity));
            }
            found[count++] = parent;
        }
        systable_endscan(scan);
        if (next == count) break;
        current = found[next++];
    }
    table_close(inherits, AccessShareLock);
    *out = found;
    return count;
}

// `relation` is locked in `lockmode`: judged against its own policy and the policies of its
// ancestors that include children (a partition or child stalls its parent's traffic too).
void judge_one_table(const PolicySet &policies, Oid relation, LOCKMODE lockmode, const char *command,
                     const char *via) {
    if (lockmode == NoLock) return;
    RelationId *ancestors = nullptr;
    int ancestor_count = policies.any_includes_children() ? ancestors_of(relation, &ancestors) : 0;
    size_t capacity = static_cast<size_t>(ancestor_count) + 1;  // its own and one per ancestor at most
    // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, so the size of one pointer
    auto **governing = static_cast<const LockPolicy **>(palloc(sizeof(LockPolicy *) * capacity));
    auto *owners = static_cast<RelationId *>(palloc(sizeof(RelationId) * capacity));
    size_t count = policies.governing(relation, ancestors, ancestor_count, governing, owners, capacity);
    if (ancestors != nullptr) pfree(ancestors);
    auto mode = static_cast<TableLockMode>(lockmode);
    for (size_t i = 0; i < count; i++) {
        const LockPolicy *policy = governing[i];
        if (judge_table_lock(policy, mode, nullptr, 0) != Verdict::Forbidden) continue;
        auto *held = static_cast<RoleId *>(palloc(sizeof(RoleId) * (policy->exempt_roles.size() + 1)));
        int held_count = exempt_roles_held(policy, held);
        Verdict verdict = judge_table_lock(policy, mode, held, held_count);
        pfree(held);
        if (verdict != Verdict::Forbidden) continue;
        const char *through = via;
        if (owners[i] != relation)
            through = psprintf("%s; the policy of table \"%s\" covers its partitions and inheritance children", via,
                               get_rel_name(static_cast<Oid>(owners[i])));
        enforce(policy, relation, table_lock_mode_name(mode), LockScope::Table, command, through);
    }
    pfree(governing);
    pfree(owners);
}

// `relation` and, when `with_children`, every inheritance child and partition below it.
void judge_table_tree(const PolicySet &policies, Oid relation, LOCKMODE lockmode, bool with_children,
                      const char *command, const char *via) {
    if (lockmode == NoLock) return;
    judge_one_table(policies, relation, lockmode, command, via);
    if (!with_children || !has_subclass(relation)) return;
    List *tree = find_all_inheritors(relation, NoLock, nullptr);
    const char *child_via = psprintf("%s through parent table \"%s\"", via, get_rel_name(relation));
    ListCell *cell;
    foreach (cell, tree) {
        Oid child = lfirst_oid(cell);
        if (child != relation) judge_one_table(policies, child, lockmode, command, child_via);
    }
}

// ---- What a utility statement would lock -----------------------------------------------------

struct StatementCheck {
    const PolicySet *policies;
    const char *command;
};

Oid relation_of(const RangeVar *range) {
    return range != nullptr ? RangeVarGetRelid(range, NoLock, true) : InvalidOid;
}

void check_range(const StatementCheck &check, const RangeVar *range, LOCKMODE mode, bool with_children) {
    Oid relation = relation_of(range);
    if (OidIsValid(relation)) judge_table_tree(*check.policies, relation, mode, with_children, check.command, "");
}

// Every protected table (statements without a table list: VACUUM FULL, CLUSTER, REINDEX DATABASE).
void check_every_protected(const StatementCheck &check, LOCKMODE mode, Oid only_in_schema) {
    for (const LockPolicy &policy : check.policies->policies()) {
        Oid relation = static_cast<Oid>(policy.relation);
        if (get_rel_name(relation) == nullptr) continue;  // dropped since
        if (OidIsValid(only_in_schema) && get_rel_namespace(relation) != only_in_schema) continue;
        judge_one_table(*check.policies, relation, mode, check.command, " (it covers every table)");
    }
}

// LOCK on a view locks the relations its query reads, recursively, as lockcmds.c does.
struct ViewWalk {
    const StatementCheck *check;
    LOCKMODE mode;
    Oid view;
    List *ancestors;  // views being expanded, against self-reference
};

void check_view(const StatementCheck &check, Oid view, LOCKMODE mode, List *ancestors);

bool walk_view_query(Node *node, ViewWalk *walk);

// The tree walkers take an untyped callback (C's `bool (*)()`).
bool (*view_walker())() { return reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(walk_view_query)); }

bool walk_view_query(Node *node, ViewWalk *walk) {
    if (node == nullptr) return false;
    if (IsA(node, Query)) {
        auto *query = castNode(Query, node);
        ListCell *cell;
        foreach (cell, query->rtable) {
            auto *entry = static_cast<RangeTblEntry *>(lfirst(cell));
            if (entry->rtekind != RTE_RELATION || entry->relid == walk->view) continue;  // also OLD/NEW
            if (list_member_oid(walk->ancestors, entry->relid)) continue;  // LOCK itself reports the loop
            if (entry->relkind == RELKIND_VIEW) {
                check_view(*walk->check, entry->relid, walk->mode, walk->ancestors);
            } else if (entry->relkind == RELKIND_RELATION || entry->relkind == RELKIND_PARTITIONED_TABLE) {
                const char *via = psprintf(" through view \"%s\"", get_rel_name(walk->view));
                judge_table_tree(*walk->check->policies, entry->relid, walk->mode, entry->inh, walk->check->command,
                                 via);
            }
        }
        return query_tree_walker(query, view_walker(), walk, QTW_IGNORE_JOINALIASES);
    }
    return expression_tree_walker(node, view_walker(), walk);
}

void check_view(const StatementCheck &check, Oid view, LOCKMODE mode, List *ancestors) {
    // AccessShareLock keeps the definition stable while it is read; LOCK takes `mode` next.
    Relation relation = relation_open(view, AccessShareLock);
    auto *query = static_cast<Query *>(copyObjectImpl(get_view_query(relation)));
    relation_close(relation, NoLock);
    ViewWalk walk{&check, mode, view, lappend_oid(list_copy(ancestors), view)};
    walk_view_query(reinterpret_cast<Node *>(query), &walk);
}

void check_lock(const StatementCheck &check, LockStmt *stmt) {
    ListCell *cell;
    foreach (cell, stmt->relations) {
        auto *range = static_cast<RangeVar *>(lfirst(cell));
        Oid relation = relation_of(range);
        if (!OidIsValid(relation)) continue;
        if (get_rel_relkind(relation) == RELKIND_VIEW)
            check_view(check, relation, stmt->mode, NIL);
        else
            judge_table_tree(*check.policies, relation, stmt->mode, range->inh, check.command, "");
    }
}

// A foreign key takes SHARE ROW EXCLUSIVE on the table it references (to add its triggers).
void check_foreign_keys(const StatementCheck &check, List *constraints) {
    ListCell *cell;
    foreach (cell, constraints) {
        Node *node = static_cast<Node *>(lfirst(cell));
        if (!IsA(node, Constraint)) continue;
        auto *constraint = castNode(Constraint, node);
        if (constraint->contype == CONSTR_FOREIGN) check_range(check, constraint->pktable, ShareRowExclusiveLock, false);
    }
}

void check_column_foreign_keys(const StatementCheck &check, List *elements) {
    ListCell *cell;
    foreach (cell, elements) {
        Node *node = static_cast<Node *>(lfirst(cell));
        if (IsA(node, ColumnDef))
            check_foreign_keys(check, castNode(ColumnDef, node)->constraints);
        else if (IsA(node, Constraint))
            check_foreign_keys(check, list_make1(node));
    }
}

// Dropping a foreign key drops its triggers on the referenced table: ACCESS EXCLUSIVE there.
void check_referenced_by_constraint(const StatementCheck &check, Oid constraint_oid) {
    HeapTuple tuple = SearchSysCache1(CONSTROID, ObjectIdGetDatum(constraint_oid));
    if (!HeapTupleIsValid(tuple)) return;
    auto *form = reinterpret_cast<Form_pg_constraint>(GETSTRUCT(tuple));
    Oid referenced = form->contype == CONSTRAINT_FOREIGN && form->confrelid != form->conrelid ? form->confrelid
                                                                                                 : InvalidOid;
    ReleaseSysCache(tuple);
    if (OidIsValid(referenced))
        judge_table_tree(*check.policies, referenced, AccessExclusiveLock, false, check.command,
                         " (to drop a foreign key that references it)");
}

void check_foreign_keys_of(const StatementCheck &check, Oid relation) {
    Relation constraints = table_open(ConstraintRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relation));
    SysScanDesc scan = systable_beginscan(constraints, ConstraintRelidTypidNameIndexId, true, nullptr, 1, &key);
    List *found = NIL;
    HeapTuple tuple;
    while ((tuple = systable_getnext(scan)) != nullptr) {
        auto *form = reinterpret_cast<Form_pg_constraint>(GETSTRUCT(tuple));
        if (form->contype == CONSTRAINT_FOREIGN) found = lappend_oid(found, form->oid);
    }
    systable_endscan(scan);
    table_close(constraints, AccessShareLock);
    ListCell *cell;
    foreach (cell, found) check_referenced_by_constraint(check, lfirst_oid(cell));
}

// The default partition of `parent`, if any: attaching, creating or detaching a partition, and
// dropping one, lock it ACCESS EXCLUSIVE (its partition constraint changes).
void check_default_partition(const StatementCheck &check, Oid parent, const char *why) {
    if (!OidIsValid(parent) || get_rel_relkind(parent) != RELKIND_PARTITIONED_TABLE) return;
    Oid default_partition = get_default_partition_oid(parent);
    if (OidIsValid(default_partition))
        judge_one_table(*check.policies, default_partition, AccessExclusiveLock, check.command, why);
}

// Foreign keys between `relation` and other tables that a change of column `column` (0: any)
// rebuilds or drops: the table at the other end loses (and may get back) its RI triggers, under
// ACCESS EXCLUSIVE. `referencing`: keys of `relation`; `referenced`: keys that point at it.
// NOLINTNEXTLINE(readability-function-cognitive-complexity): one scan of pg_constraint, both directions
void check_foreign_keys_touching(const StatementCheck &check, Oid relation, AttrNumber column, bool referencing,
                                 bool referenced, Oid only_index, const char *why) {
    Relation constraints = table_open(ConstraintRelationId, AccessShareLock);
    SysScanDesc scan = systable_beginscan(constraints, InvalidOid, false, nullptr, 0, nullptr);
    List *others = NIL;
    HeapTuple tuple;
    while ((tuple = systable_getnext(scan)) != nullptr) {
        auto *form = reinterpret_cast<Form_pg_constraint>(GETSTRUCT(tuple));
        if (form->contype != CONSTRAINT_FOREIGN || form->conrelid == form->confrelid) continue;
        bool mine = referencing && form->conrelid == relation;
        bool theirs = referenced && form->confrelid == relation;
        if (!mine && !theirs) continue;
        if (OidIsValid(only_index) && (!theirs || form->conindid != only_index)) continue;
        if (column != 0) {
            bool is_null;
            Datum keys = heap_getattr(tuple, mine ? Anum_pg_constraint_conkey : Anum_pg_constraint_confkey,
                                      RelationGetDescr(constraints), &is_null);
            if (is_null) continue;
            ArrayType *array = DatumGetArrayTypeP(keys);
            auto *attnums = reinterpret_cast<int16 *>(ARR_DATA_PTR(array));
            bool uses = false;
            for (int i = 0; i < ARR_DIMS(array)[0] && !uses; i++) uses = attnums[i] == column;
            if (!uses) continue;
        }
        others = lappend_oid(others, mine ? form->confrelid : form->conrelid);
    }
    systable_endscan(scan);
    table_close(constraints, AccessShareLock);
    ListCell *cell;
    foreach (cell, others) judge_one_table(*check.policies, lfirst_oid(cell), AccessExclusiveLock, check.command, why);
}

// ALTER TYPE ... CASCADE on a composite type alters every typed table of it (ACCESS EXCLUSIVE).
void check_typed_tables(const StatementCheck &check, Oid type_relation) {
    Oid type = get_rel_type_id(type_relation);
    if (!OidIsValid(type)) return;
    Relation classes = table_open(RelationRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_class_reloftype, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(type));
    SysScanDesc scan = systable_beginscan(classes, InvalidOid, false, nullptr, 1, &key);
    List *typed = NIL;
    HeapTuple tuple;
    while ((tuple = systable_getnext(scan)) != nullptr)
        typed = lappend_oid(typed, reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->oid);
    systable_endscan(scan);
    table_close(classes, AccessShareLock);
    const char *why = psprintf(" (it is a typed table of type \"%s\")", get_rel_name(type_relation));
    ListCell *cell;
    foreach (cell, typed) judge_one_table(*check.policies, lfirst_oid(cell), AccessExclusiveLock, check.command, why);
}

void check_alter_table(const StatementCheck &check, AlterTableStmt *stmt) {
    Oid relation = relation_of(stmt->relation);
    if (!OidIsValid(relation)) return;
    char relkind = get_rel_relkind(relation);
    LOCKMODE level = AlterTableGetLockLevel(stmt->cmds);
    if (relkind == RELKIND_INDEX || relkind == RELKIND_PARTITIONED_INDEX) {
        // A lock on an index stalls the table's writers as a lock on the table would.
        Oid table = IndexGetRelation(relation, true);
        if (OidIsValid(table))
            judge_one_table(*check.policies, table, level, check.command,
                            psprintf(" (through its index \"%s\")", get_rel_name(relation)));
        return;
    }
    if (relkind == RELKIND_COMPOSITE_TYPE) {  // ALTER TYPE ... ADD/DROP/ALTER ATTRIBUTE
        ListCell *cell;
        foreach (cell, stmt->cmds)
            if (static_cast<AlterTableCmd *>(lfirst(cell))->behavior == DROP_CASCADE) {
                check_typed_tables(check, relation);
                break;
            }
        return;
    }
    judge_table_tree(*check.policies, relation, level, stmt->relation->inh, check.command, "");
    ListCell *cell;
    foreach (cell, stmt->cmds) {
        auto *cmd = static_cast<AlterTableCmd *>(lfirst(cell));
        switch (cmd->subtype) {
            case AT_AlterColumnType:
            case AT_DropColumn: {
                AttrNumber column = cmd->name != nullptr ? get_attnum(relation, cmd->name) : AttrNumber{InvalidAttrNumber};
                if (column == InvalidAttrNumber) break;
                bool cascade = cmd->subtype == AT_AlterColumnType || cmd->behavior == DROP_CASCADE;
                check_foreign_keys_touching(check, relation, column, true, cascade, InvalidOid,
                                            " (to rebuild or drop a foreign key between the tables)");
                break;
            }
            case AT_AddInherit:
                if (cmd->def != nullptr && IsA(cmd->def, RangeVar))
                    check_range(check, castNode(RangeVar, cmd->def), ShareUpdateExclusiveLock, false);
                break;
            case AT_AddConstraint:
                check_foreign_keys(check, list_make1(cmd->def));
                break;
            case AT_AddColumn:
                if (cmd->def != nullptr && IsA(cmd->def, ColumnDef))
                    check_foreign_keys(check, castNode(ColumnDef, cmd->def)->constraints);
                break;
            case AT_DropConstraint: {
                Oid constraint = get_relation_constraint_oid(relation, cmd->name, true);
                check_referenced_by_constraint(check, constraint);
                if (cmd->behavior == DROP_CASCADE && OidIsValid(constraint)) {
                    // A primary key or unique constraint takes the foreign keys that use its index along.
                    Oid index = get_constraint_index(constraint);
                    if (OidIsValid(index))
                        check_foreign_keys_touching(check, relation, 0, false, true, index,
                                                    " (to drop a foreign key that depends on the dropped constraint)");
                }
                break;
            }
            case AT_AttachPartition:
            case AT_DetachPartition:
            case AT_DetachPartitionFinalize: {
                auto *partition = castNode(PartitionCmd, cmd->def);
                if (get_rel_relkind(relation) == RELKIND_PARTITIONED_INDEX) break;
                check_range(check, partition->name, partition->concurrent ? ShareUpdateExclusiveLock : AccessExclusiveLock,
                            true);
                if (!partition->concurrent && cmd->subtype != AT_DetachPartitionFinalize)
                    check_default_partition(check, relation, " (the default partition's bound changes)");
                break;
            }
            default:
                break;
        }
    }
}

void check_rename(const StatementCheck &check, RenameStmt *stmt) {
    switch (stmt->renameType) {
        case OBJECT_TABLE:
        case OBJECT_MATVIEW:
        case OBJECT_FOREIGN_TABLE:
        case OBJECT_TRIGGER:
        case OBJECT_POLICY:
        case OBJECT_RULE:
            check_range(check, stmt->relation, AccessExclusiveLock, false);
            break;
        case OBJECT_COLUMN:
        case OBJECT_TABCONSTRAINT:  // renamed in the whole tree unless ONLY
            check_range(check, stmt->relation, AccessExclusiveLock, stmt->relation != nullptr && stmt->relation->inh);
            break;
        case OBJECT_INDEX: {  // SHARE UPDATE EXCLUSIVE on the index, which the table's writers use
            Oid index = relation_of(stmt->relation);
            Oid table = OidIsValid(index) ? IndexGetRelation(index, true) : InvalidOid;
            if (OidIsValid(table))
                judge_one_table(*check.policies, table, ShareUpdateExclusiveLock, check.command,
                                psprintf(" (through its index \"%s\")", get_rel_name(index)));
            break;
        }
        case OBJECT_ATTRIBUTE:  // ALTER TYPE ... RENAME ATTRIBUTE ... CASCADE: its typed tables too
            if (stmt->behavior == DROP_CASCADE) {
                Oid type_relation = relation_of(stmt->relation);
                if (OidIsValid(type_relation)) check_typed_tables(check, type_relation);
            }
            break;
        default:
            break;
    }
}

// DROP names objects as lists of names; for triggers, rules and policies the last name is the
// object and the rest its table.
Oid relation_from_names(List *names, bool drop_last) {
    if (drop_last) names = list_truncate(list_copy(names), list_length(names) - 1);
    if (names == NIL) return InvalidOid;
    return RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);
}

void check_drop(const StatementCheck &check, DropStmt *stmt) {
    ListCell *cell;
    foreach (cell, stmt->objects) {
        if (!IsA(lfirst(cell), List)) continue;
        auto *names = static_cast<List *>(lfirst(cell));
        switch (stmt->removeType) {
            case OBJECT_TABLE:
            case OBJECT_MATVIEW:
            case OBJECT_FOREIGN_TABLE: {
                Oid relation = relation_from_names(names, false);
                if (!OidIsValid(relation)) break;
                judge_table_tree(*check.policies, relation, AccessExclusiveLock, true, check.command, "");
                check_foreign_keys_of(check, relation);
                if (stmt->behavior == DROP_CASCADE)  // the foreign keys that reference it go too
                    check_foreign_keys_touching(check, relation, 0, false, true, InvalidOid,
                                                " (to drop its foreign key to the dropped table)");
                if (get_rel_relispartition(relation)) {
                    Oid parent = get_partition_parent(relation, true);
                    judge_one_table(*check.policies, parent, AccessExclusiveLock, check.command,
                                    psprintf(" (to drop its partition \"%s\")", get_rel_name(relation)));
                    check_default_partition(check, parent, " (the default partition's bound changes)");
                }
                break;
            }
            case OBJECT_INDEX: {
                Oid index = relation_from_names(names, false);
                Oid table = OidIsValid(index) ? IndexGetRelation(index, true) : InvalidOid;
                if (OidIsValid(table))
                    judge_table_tree(*check.policies, table, stmt->concurrent ? ShareUpdateExclusiveLock : AccessExclusiveLock,
                                     false, check.command, "");
                break;
            }
            case OBJECT_STATISTIC_EXT: {  // SHARE UPDATE EXCLUSIVE on the table it is on
                Oid statistics = get_statistics_object_oid(names, true);
                if (!OidIsValid(statistics)) break;
                HeapTuple tuple = SearchSysCache1(STATEXTOID, ObjectIdGetDatum(statistics));
                if (!HeapTupleIsValid(tuple)) break;
                Oid table = reinterpret_cast<Form_pg_statistic_ext>(GETSTRUCT(tuple))->stxrelid;
                ReleaseSysCache(tuple);
                judge_one_table(*check.policies, table, ShareUpdateExclusiveLock, check.command, "");
                break;
            }
            case OBJECT_TRIGGER:
            case OBJECT_RULE:
            case OBJECT_POLICY: {
                Oid table = relation_from_names(names, true);
                if (OidIsValid(table))
                    judge_table_tree(*check.policies, table, AccessExclusiveLock, false, check.command, "");
                break;
            }
            default:
                break;
        }
    }
}

void check_truncate(const StatementCheck &check, TruncateStmt *stmt) {
    List *truncated = NIL;
    ListCell *cell;
    foreach (cell, stmt->relations) {
        auto *range = static_cast<RangeVar *>(lfirst(cell));
        Oid relation = relation_of(range);
        if (!OidIsValid(relation)) continue;
        judge_table_tree(*check.policies, relation, AccessExclusiveLock, range->inh, check.command, "");
        truncated = lappend_oid(truncated, relation);
    }
    if (stmt->behavior != DROP_CASCADE) return;
    // CASCADE truncates every table whose foreign keys reach the truncated ones, transitively.
    for (;;) {
        List *referencing = heap_truncate_find_FKs(truncated);
        bool grew = false;
        foreach (cell, referencing) {
            Oid relation = lfirst_oid(cell);
            if (list_member_oid(truncated, relation)) continue;
            judge_one_table(*check.policies, relation, AccessExclusiveLock, check.command,
                            " (through TRUNCATE ... CASCADE)");
            truncated = lappend_oid(truncated, relation);
            grew = true;
        }
        if (!grew) break;
    }
}

bool option_is_set(List *options, const char *name) {
    ListCell *cell;
    foreach (cell, options) {
        auto *option = static_cast<DefElem *>(lfirst(cell));
        if (strcmp(option->defname, name) == 0) return defGetBoolean(option);
    }
    return false;
}

void check_vacuum(const StatementCheck &check, VacuumStmt *stmt) {
    bool full = stmt->is_vacuumcmd && option_is_set(stmt->options, "full");
    LOCKMODE mode = full ? AccessExclusiveLock : ShareUpdateExclusiveLock;
    if (stmt->rels == NIL) {
        check_every_protected(check, mode, InvalidOid);
        return;
    }
    ListCell *cell;
    foreach (cell, stmt->rels) {
        auto *target = castNode(VacuumRelation, lfirst(cell));
        Oid relation = OidIsValid(target->oid) ? target->oid : relation_of(target->relation);
        if (OidIsValid(relation)) judge_table_tree(*check.policies, relation, mode, true, check.command, "");
    }
}

// REINDEX takes SHARE on a table and ACCESS EXCLUSIVE on each index it rebuilds (which blocks
// every query that would use the index): judged as ACCESS EXCLUSIVE. CONCURRENTLY takes SHARE
// UPDATE EXCLUSIVE on both.
void check_reindex(const StatementCheck &check, ReindexStmt *stmt) {
    LOCKMODE mode = option_is_set(stmt->params, "concurrently") ? ShareUpdateExclusiveLock : AccessExclusiveLock;
    switch (stmt->kind) {
        case REINDEX_OBJECT_INDEX: {
            Oid index = relation_of(stmt->relation);
            Oid table = OidIsValid(index) ? IndexGetRelation(index, true) : InvalidOid;
            if (OidIsValid(table)) judge_table_tree(*check.policies, table, mode, false, check.command, "");
            break;
        }
        case REINDEX_OBJECT_TABLE:
            check_range(check, stmt->relation, mode, true);
            break;
        case REINDEX_OBJECT_SCHEMA: {
            Oid schema = get_namespace_oid(stmt->name, true);
            if (OidIsValid(schema)) check_every_protected(check, mode, schema);
            break;
        }
        default:  // SYSTEM and DATABASE
            check_every_protected(check, mode, InvalidOid);
            break;
    }
}

void check_create_table(const StatementCheck &check, CreateStmt *stmt) {
    check_column_foreign_keys(check, stmt->tableElts);
    check_foreign_keys(check, stmt->constraints);
    ListCell *cell;
    foreach (cell, stmt->inhRelations) {  // PARTITION OF locks the parent ACCESS EXCLUSIVE
        auto *parent = static_cast<RangeVar *>(lfirst(cell));
        check_range(check, parent, stmt->partbound != nullptr ? AccessExclusiveLock : ShareUpdateExclusiveLock, false);
        if (stmt->partbound != nullptr)
            check_default_partition(check, relation_of(parent), " (the default partition's bound changes)");
    }
}

// ALTER DOMAIN ... ADD CONSTRAINT (validated), VALIDATE CONSTRAINT and SET NOT NULL check every
// column of the domain (and of domains over it): SHARE on each table that has one.
void collect_domain_users(Oid type, List **relations, List **seen) {
    if (list_member_oid(*seen, type)) return;
    *seen = lappend_oid(*seen, type);
    Relation depend = table_open(DependRelationId, AccessShareLock);
    ScanKeyData keys[2];
    ScanKeyInit(&keys[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(TypeRelationId));
    ScanKeyInit(&keys[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(type));
    SysScanDesc scan = systable_beginscan(depend, DependReferenceIndexId, true, nullptr, 2, keys);
    List *domains = NIL;
    HeapTuple tuple;
    while ((tuple = systable_getnext(scan)) != nullptr) {
        auto *form = reinterpret_cast<Form_pg_depend>(GETSTRUCT(tuple));
        if (form->classid == RelationRelationId && form->objsubid > 0)
            *relations = list_append_unique_oid(*relations, form->objid);
        else if (form->classid == TypeRelationId && get_typtype(form->objid) == TYPTYPE_DOMAIN)
            domains = lappend_oid(domains, form->objid);
    }
    systable_endscan(scan);
    table_close(depend, AccessShareLock);
    ListCell *cell;
    foreach (cell, domains) collect_domain_users(lfirst_oid(cell), relations, seen);
}

void check_alter_domain(const StatementCheck &check, AlterDomainStmt *stmt) {
    bool checks_rows = stmt->subtype == 'V' || stmt->subtype == 'O' ||
                       (stmt->subtype == 'C' && stmt->def != nullptr && IsA(stmt->def, Constraint) &&
                        !castNode(Constraint, stmt->def)->skip_validation);
    if (!checks_rows) return;
    Oid type = LookupTypeNameOid(nullptr, makeTypeNameFromNameList(stmt->typeName), true);
    if (!OidIsValid(type) || get_typtype(type) != TYPTYPE_DOMAIN) return;
    List *relations = NIL;
    List *seen = NIL;
    collect_domain_users(type, &relations, &seen);
    const char *why = psprintf(" (a column of it has domain \"%s\")", format_type_be(type));
    ListCell *cell;
    foreach (cell, relations) {
        char relkind = get_rel_relkind(lfirst_oid(cell));
        if (relkind == RELKIND_RELATION || relkind == RELKIND_MATVIEW)  // those whose rows are checked
            judge_one_table(*check.policies, lfirst_oid(cell), ShareLock, check.command, why);
    }
}

// ALTER TABLE/INDEX/MATERIALIZED VIEW ALL IN TABLESPACE: ACCESS EXCLUSIVE on each relation moved.
void check_move_all(const StatementCheck &check, AlterTableMoveAllStmt *stmt) {
    Oid tablespace = get_tablespace_oid(stmt->orig_tablespacename, true);
    if (!OidIsValid(tablespace)) return;
    if (tablespace == get_tablespace_oid(stmt->new_tablespacename, true)) return;  // moves nothing
    if (tablespace == MyDatabaseTableSpace) tablespace = InvalidOid;  // stored as 0 in pg_class
    List *owners = NIL;
    ListCell *cell;
    foreach (cell, stmt->roles) owners = lappend_oid(owners, get_rolespec_oid(lfirst_node(RoleSpec, cell), true));
    Relation classes = table_open(RelationRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_class_reltablespace, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(tablespace));
    SysScanDesc scan = systable_beginscan(classes, InvalidOid, false, nullptr, 1, &key);
    List *moved = NIL;
    HeapTuple tuple;
    while ((tuple = systable_getnext(scan)) != nullptr) {
        auto *form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
        bool kind = stmt->objtype == OBJECT_TABLE ? (form->relkind == RELKIND_RELATION || form->relkind == RELKIND_PARTITIONED_TABLE)
                    : stmt->objtype == OBJECT_MATVIEW ? form->relkind == RELKIND_MATVIEW
                    : (form->relkind == RELKIND_INDEX || form->relkind == RELKIND_PARTITIONED_INDEX);
        if (!kind || IsCatalogNamespace(form->relnamespace) || isAnyTempNamespace(form->relnamespace)) continue;
        if (owners != NIL && !list_member_oid(owners, form->relowner)) continue;
        moved = lappend_oid(moved, form->oid);
    }
    systable_endscan(scan);
    table_close(classes, AccessShareLock);
    foreach (cell, moved) {
        Oid relation = lfirst_oid(cell);
        char relkind = get_rel_relkind(relation);
        if (relkind == RELKIND_INDEX || relkind == RELKIND_PARTITIONED_INDEX) {
            Oid table = IndexGetRelation(relation, true);
            if (OidIsValid(table))
                judge_one_table(*check.policies, table, AccessExclusiveLock, check.command,
                                psprintf(" (through its index \"%s\")", get_rel_name(relation)));
        } else {
            judge_one_table(*check.policies, relation, AccessExclusiveLock, check.command, "");
        }
    }
}

// COMMENT ON / SECURITY LABEL ON a table, column, or index: SHARE UPDATE EXCLUSIVE on the
// relation (constraints, triggers, rules and policies take ACCESS SHARE only).
void check_object_comment(const StatementCheck &check, ObjectType type, Node *object) {
    if (object == nullptr || !IsA(object, List)) return;
    auto *names = castNode(List, object);
    switch (type) {
        case OBJECT_TABLE:
        case OBJECT_MATVIEW:
        case OBJECT_FOREIGN_TABLE: {
            Oid relation = relation_from_names(names, false);
            if (OidIsValid(relation)) judge_one_table(*check.policies, relation, ShareUpdateExclusiveLock, check.command, "");
            break;
        }
        case OBJECT_COLUMN: {
            Oid relation = list_length(names) > 1 ? relation_from_names(names, true) : InvalidOid;
            if (OidIsValid(relation)) judge_one_table(*check.policies, relation, ShareUpdateExclusiveLock, check.command, "");
            break;
        }
        case OBJECT_INDEX: {
            Oid index = relation_from_names(names, false);
            Oid table = OidIsValid(index) ? IndexGetRelation(index, true) : InvalidOid;
            if (OidIsValid(table))
                judge_one_table(*check.policies, table, ShareUpdateExclusiveLock, check.command,
                                psprintf(" (through its index \"%s\")", get_rel_name(index)));
            break;
        }
        default:
            break;
    }
}

// CREATE/ALTER PUBLICATION ... TABLE: SHARE UPDATE EXCLUSIVE on each table (and, unless ONLY, its
// children); ALTER ... SET TABLE also on the tables it had.
void check_publication_objects(const StatementCheck &check, List *objects) {
    ListCell *cell;
    foreach (cell, objects) {
        auto *spec = lfirst_node(PublicationObjSpec, cell);
        if (spec->pubobjtype == PUBLICATIONOBJ_TABLE && spec->pubtable != nullptr)
            check_range(check, spec->pubtable->relation, ShareUpdateExclusiveLock, spec->pubtable->relation->inh);
    }
}

void check_alter_publication(const StatementCheck &check, AlterPublicationStmt *stmt) {
    check_publication_objects(check, stmt->pubobjects);
    if (stmt->action != AP_SetObjects || stmt->pubobjects == NIL) return;
    Oid publication = get_publication_oid(stmt->pubname, true);
    if (!OidIsValid(publication)) return;
    List *members = GetPublicationRelations(publication, PUBLICATION_PART_ROOT);
    ListCell *cell;
    foreach (cell, members)
        judge_one_table(*check.policies, lfirst_oid(cell), ShareUpdateExclusiveLock, check.command,
                        " (it leaves the publication)");
}

void check_utility(const StatementCheck &check, Node *parsetree) {
    switch (nodeTag(parsetree)) {
        case T_LockStmt:
            check_lock(check, castNode(LockStmt, parsetree));
            break;
        case T_AlterTableStmt:
            check_alter_table(check, castNode(AlterTableStmt, parsetree));
            break;
        case T_RenameStmt:
            check_rename(check, castNode(RenameStmt, parsetree));
            break;
        case T_AlterObjectSchemaStmt: {
            auto *stmt = castNode(AlterObjectSchemaStmt, parsetree);
            if (stmt->objectType == OBJECT_TABLE || stmt->objectType == OBJECT_MATVIEW ||
                stmt->objectType == OBJECT_FOREIGN_TABLE)
                check_range(check, stmt->relation, AccessExclusiveLock, false);
            break;
        }
        case T_DropStmt:
            check_drop(check, castNode(DropStmt, parsetree));
            break;
        case T_TruncateStmt:
            check_truncate(check, castNode(TruncateStmt, parsetree));
            break;
        case T_ClusterStmt: {
            auto *stmt = castNode(ClusterStmt, parsetree);
            if (stmt->relation == nullptr)
                check_every_protected(check, AccessExclusiveLock, InvalidOid);
            else
                check_range(check, stmt->relation, AccessExclusiveLock, true);
            break;
        }
        case T_VacuumStmt:
            check_vacuum(check, castNode(VacuumStmt, parsetree));
            break;
        case T_ReindexStmt:
            check_reindex(check, castNode(ReindexStmt, parsetree));
            break;
        case T_IndexStmt: {
            auto *stmt = castNode(IndexStmt, parsetree);
            check_range(check, stmt->relation, stmt->concurrent ? ShareUpdateExclusiveLock : ShareLock,
                        stmt->relation->inh);
            break;
        }
        case T_CreateTrigStmt:
            check_range(check, castNode(CreateTrigStmt, parsetree)->relation, ShareRowExclusiveLock, true);
            break;
        case T_RuleStmt:
            check_range(check, castNode(RuleStmt, parsetree)->relation, AccessExclusiveLock, false);
            break;
        case T_CreatePolicyStmt:
            check_range(check, castNode(CreatePolicyStmt, parsetree)->table, AccessExclusiveLock, false);
            break;
        case T_AlterPolicyStmt:
            check_range(check, castNode(AlterPolicyStmt, parsetree)->table, AccessExclusiveLock, false);
            break;
        case T_CreateStatsStmt: {
            auto *stmt = castNode(CreateStatsStmt, parsetree);
            if (list_length(stmt->relations) == 1 && IsA(linitial(stmt->relations), RangeVar))
                check_range(check, linitial_node(RangeVar, stmt->relations), ShareUpdateExclusiveLock, false);
            break;
        }
        case T_RefreshMatViewStmt: {
            auto *stmt = castNode(RefreshMatViewStmt, parsetree);
            check_range(check, stmt->relation, stmt->concurrent ? ExclusiveLock : AccessExclusiveLock, false);
            break;
        }
        case T_CreateStmt:
            check_create_table(check, castNode(CreateStmt, parsetree));
            break;
        case T_AlterDomainStmt:
            check_alter_domain(check, castNode(AlterDomainStmt, parsetree));
            break;
        case T_AlterTableMoveAllStmt:
            check_move_all(check, castNode(AlterTableMoveAllStmt, parsetree));
            break;
        case T_CommentStmt: {
            auto *stmt = castNode(CommentStmt, parsetree);
            check_object_comment(check, stmt->objtype, stmt->object);
            break;
        }
        case T_SecLabelStmt: {
            auto *stmt = castNode(SecLabelStmt, parsetree);
            check_object_comment(check, stmt->objtype, stmt->object);
            break;
        }
        case T_CreatePublicationStmt:
            check_publication_objects(check, castNode(CreatePublicationStmt, parsetree)->pubobjects);
            break;
        case T_AlterPublicationStmt:
            check_alter_publication(check, castNode(AlterPublicationStmt, parsetree));
            break;
        default:
            break;
    }
}

bool may_take_table_locks(Node *parsetree) {
    switch (nodeTag(parsetree)) {
        case T_LockStmt:
        case T_AlterTableStmt:
        case T_RenameStmt:
        case T_AlterObjectSchemaStmt:
        case T_DropStmt:
        case T_TruncateStmt:
        case T_ClusterStmt:
        case T_VacuumStmt:
        case T_ReindexStmt:
        case T_IndexStmt:
        case T_CreateTrigStmt:
        case T_RuleStmt:
        case T_CreatePolicyStmt:
        case T_AlterPolicyStmt:
        case T_CreateStatsStmt:
        case T_RefreshMatViewStmt:
        case T_CreateStmt:
        case T_AlterDomainStmt:
        case T_AlterTableMoveAllStmt:
        case T_CommentStmt:
        case T_SecLabelStmt:
        case T_CreatePublicationStmt:
        case T_AlterPublicationStmt:
            return true;
        default:
            return false;
    }
}

void guard_process_utility(PlannedStmt *statement, const char *query_string, bool read_only_tree,
                           ProcessUtilityContext context, ParamListInfo params, QueryEnvironment *query_env,
                           DestReceiver *dest, QueryCompletion *completion) {
    Node *parsetree = statement->utilityStmt;
    if (guardrails_active() && may_take_table_locks(parsetree)) {
        run_at_boundary([&]() -> bool {
            const PolicySet &policies = current_policies();
            if (policies.empty()) return true;
            StatementCheck check{&policies, CreateCommandName(parsetree)};
            check_utility(check, parsetree);
            return true;
        });
    }
    if (previous_process_utility)
        previous_process_utility(statement, query_string, read_only_tree, context, params, query_env, dest, completion);
    else
        standard_ProcessUtility(statement, query_string, read_only_tree, context, params, query_env, dest,
                                completion);
}

// ---- Row marks ------------------------------------------------------------------------------

// Does `plan` read range-table entry `rti` with no condition of its own? A join or a LIMIT above
// the scan narrows the rows that get locked, so neither counts as "the whole table".
bool scans_whole_relation(Plan *plan, Index rti, bool narrowed) {
    if (plan == nullptr) return false;
    switch (nodeTag(plan)) {
        case T_Limit:
        case T_NestLoop:
        case T_HashJoin:
        case T_MergeJoin:
            narrowed = true;
            break;
        case T_SeqScan:
            return !narrowed && reinterpret_cast<Scan *>(plan)->scanrelid == rti && plan->qual == NIL;
        case T_IndexScan: {
            auto *scan = reinterpret_cast<IndexScan *>(plan);
            return !narrowed && scan->scan.scanrelid == rti && scan->indexqual == NIL && plan->qual == NIL;
        }
        case T_IndexOnlyScan: {
            auto *scan = reinterpret_cast<IndexOnlyScan *>(plan);
            return !narrowed && scan->scan.scanrelid == rti && scan->indexqual == NIL && plan->qual == NIL;
        }
        case T_Append: {
            ListCell *cell;
            foreach (cell, reinterpret_cast<Append *>(plan)->appendplans)
                if (scans_whole_relation(static_cast<Plan *>(lfirst(cell)), rti, narrowed)) return true;
            return false;
        }
        case T_MergeAppend: {
            ListCell *cell;
            foreach (cell, reinterpret_cast<MergeAppend *>(plan)->mergeplans)
                if (scans_whole_relation(static_cast<Plan *>(lfirst(cell)), rti, narrowed)) return true;
            return false;
        }
        case T_SubqueryScan:
            return scans_whole_relation(reinterpret_cast<SubqueryScan *>(plan)->subplan, rti, narrowed);
        default:
            break;
    }
    return scans_whole_relation(plan->lefttree, rti, narrowed) || scans_whole_relation(plan->righttree, rti, narrowed);
}

bool scans_whole_relation(PlannedStmt *statement, Index rti) {
    if (scans_whole_relation(statement->planTree, rti, false)) return true;
    ListCell *cell;
    foreach (cell, statement->subplans)
        if (scans_whole_relation(static_cast<Plan *>(lfirst(cell)), rti, false)) return true;
    return false;
}

bool exclusive_strength(RowMarkType type, RowLockStrength *strength) {
    switch (type) {
        case ROW_MARK_EXCLUSIVE: *strength = RowLockStrength::Update; return true;
        case ROW_MARK_NOKEYEXCLUSIVE: *strength = RowLockStrength::NoKeyUpdate; return true;
        case ROW_MARK_SHARE: *strength = RowLockStrength::Share; return true;
        case ROW_MARK_KEYSHARE: *strength = RowLockStrength::KeyShare; return true;
        default: return false;  // REFERENCE and COPY lock nothing
    }
}

void check_row_marks(const PolicySet &policies, PlannedStmt *statement) {
    ListCell *cell;
    foreach (cell, statement->rowMarks) {
        auto *mark = static_cast<PlanRowMark *>(lfirst(cell));
        RowLockStrength strength;
        if (mark->isParent || !exclusive_strength(mark->markType, &strength)) continue;
        Oid relation = rt_fetch(mark->rti, statement->rtable)->relid;
        Oid parent = rt_fetch(mark->prti, statement->rtable)->relid;
        const LockPolicy *policy = policies.find(relation);
        Oid governed = relation;
        if (policy == nullptr || !policy->forbid_exclusive_row_marks) {
            policy = policies.find(parent);  // a partition or child of a protected table
            governed = parent;
        }
        if (judge_row_mark(policy, strength, nullptr, 0) != Verdict::Forbidden) continue;
        if (!scans_whole_relation(statement, mark->rti)) continue;
        auto *held = static_cast<RoleId *>(palloc(sizeof(RoleId) * (policy->exempt_roles.size() + 1)));
        int held_count = exempt_roles_held(policy, held);
        Verdict verdict = judge_row_mark(policy, strength, held, held_count);
        pfree(held);
        if (verdict != Verdict::Forbidden) continue;
        const char *via = governed == relation ? " on every row of the table"
                                               : psprintf(" on every row of its partition \"%s\"", get_rel_name(relation));
        enforce(policy, governed, row_lock_strength_name(strength), LockScope::Row,
                psprintf("SELECT ... %s", row_lock_strength_name(strength)), via);
    }
}

void guard_executor_start(QueryDesc *query, int eflags) {
    PlannedStmt *statement = query->plannedstmt;
    if (statement->rowMarks != NIL && (eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0 && guardrails_active()) {
        run_at_boundary([&]() -> bool {
            const PolicySet &policies = current_policies();
            if (!policies.empty()) check_row_marks(policies, statement);
            return true;
        });
    }
    if (previous_executor_start)
        previous_executor_start(query, eflags);
    else
        standard_ExecutorStart(query, eflags);
}

}  // namespace

void check_table_lock_policy(Oid relation, LOCKMODE mode, bool with_children, const char *command) {
    if (!guardrails_active()) return;
    const PolicySet &policies = current_policies();
    if (!policies.empty()) judge_table_tree(policies, relation, mode, with_children, command, "");
}

void fill_audit_trace_id(char *out, size_t size) {
    if (settings.trace_id != nullptr && settings.trace_id[0] != '\0') {
        copy_clipped(out, size, settings.trace_id);
        return;
    }
    copy_traceparent_trace_id(application_name != nullptr ? application_name : "", out, size);
}

void install_guardrail_hooks() {
    previous_process_utility = ProcessUtility_hook;
    ProcessUtility_hook = guard_process_utility;
    previous_executor_start = ExecutorStart_hook;
    ExecutorStart_hook = guard_executor_start;
}

}  // namespace lockguard::pg

using namespace lockguard::pg;

// lockguard._lock_policies_changed(): statement trigger on lockguard.lock_policies. Queues a
// relcache invalidation of the table: sent to every backend at commit (nothing on rollback),
// and processed at once by this backend, so each drops its policy cache.
Datum lockguard_lock_policies_changed(PG_FUNCTION_ARGS) {
    return run_at_boundary([&]() -> Datum {
        if (!CALLED_AS_TRIGGER(fcinfo))
            ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                            errmsg("lockguard._lock_policies_changed() must be called as a trigger")));
        auto *trigger = reinterpret_cast<TriggerData *>(fcinfo->context);
        CacheInvalidateRelcacheByRelid(RelationGetRelid(trigger->tg_relation));
        return PointerGetDatum(nullptr);
    });
}
