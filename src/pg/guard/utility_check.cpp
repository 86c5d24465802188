// What a utility statement would lock: LOCK TABLE and DDL (ALTER, TRUNCATE, CLUSTER, VACUUM FULL,
// REINDEX, DROP, ...) through views, inheritance and partition trees, foreign keys, typed tables,
// domains and publications. Each lock is judged against the policies (guard/policies.hpp) before
// the statement takes it. Runs as a utility check of the hook registry (infra/hooks.hpp).
#include "pg/guard/policies.hpp"

#include "core/lock_mode.hpp"
#include "core/policy.hpp"
#include "pg/infra/boundary.hpp"
#include "pg/infra/compat.hpp"

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
}

namespace lockguard::pg {

namespace {

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
        return query_tree_walker(query, tree_walker(walk_view_query), walk, QTW_IGNORE_JOINALIASES);
    }
    return expression_tree_walker(node, tree_walker(walk_view_query), walk);
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

}  // namespace

// Registered with the hook registry (infra/hooks.hpp): runs before the statement takes its locks.
void check_utility_statement(PlannedStmt *statement) {
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
}

}  // namespace lockguard::pg
