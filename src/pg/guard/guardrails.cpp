// Guardrails: the policy cache, and how a lock is judged against the policies and a forbidden one
// enforced (guard/policies.hpp). What a statement would lock is worked out by the two checks,
// utility_check.cpp and row_mark_check.cpp, which infra/hooks.cpp runs.
//
// The policy cache is per backend. It is filled from lockguard.lock_policies with a catalog
// snapshot (no SPI and no transaction snapshot: LOCK TABLE must stay usable as the first
// statement of a REPEATABLE READ transaction), and dropped when the table's relcache entry is
// invalidated: the table's statement trigger queues that invalidation, which every backend
// receives when the changing transaction commits (and the changing backend at once).
#include "pg/guard/guardrails.hpp"
#include "pg/guard/policies.hpp"

#include "core/lock_mode.hpp"
#include "core/policy.hpp"
#include "pg/observe/audit.hpp"
#include "pg/infra/boundary.hpp"
#include "pg/infra/clip.hpp"
#include "pg/infra/hooks.hpp"
#include "pg/infra/settings.hpp"
#include "pg/guard/sql_functions.hpp"

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
}

namespace lockguard::pg {

namespace {

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

}  // namespace

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

AuditEntry policy_audit_entry(Oid relation, const char *mode, LockScope scope, WaitEventOutcome outcome,
                              const char *command) {
    AuditEntry entry = new_audit_entry(outcome, scope, mode);
    entry.attempts = outcome == kOutcomeOverride ? 1 : 0;  // a rejected lock was never attempted
    format_clipped(entry.resource, sizeof(entry.resource), "%s (%s)", qualified_name(relation), command);
    return entry;
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
    bool overriding = settings.override_policies;
    append_audit_entry(
        policy_audit_entry(relation, mode, scope, overriding ? kOutcomeOverride : kOutcomeRejected, command));
    const char *relname = get_rel_name(relation);
    if (overriding) {
        ereport(LOG, (errmsg("lockguard policy on table \"%s\" overridden: %s takes %s %s lock", relname, command,
                              indefinite_article(mode), mode),
                      errdetail("lockguard.override_policies is on for role \"%s\".",
                                GetUserNameFromId(GetUserId(), false))));
        return;
    }
    ereport(ERROR,
            (errcode(sqlstate_errcode(sqlstate::kPolicyViolation)),
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

void check_table_lock_policy(Oid relation, LOCKMODE mode, bool with_children, const char *command) {
    if (!guardrails_active()) return;
    const PolicySet &policies = current_policies();
    if (!policies.empty()) judge_table_tree(policies, relation, mode, with_children, command, "");
}

void register_guardrail_checks() {
    add_utility_check(check_utility_statement);
    add_executor_start_check(check_executor_start);
}

}  // namespace lockguard::pg

using namespace lockguard::pg;

// lockguard._lock_policies_changed(): statement trigger on lockguard.lock_policies. Queues a
// relcache invalidation of the table: sent to every backend at commit (nothing on rollback),
// and processed at once by this backend, so each drops its policy cache.
Datum lockguard::pg::sql_lock_policies_changed(FunctionCallInfo fcinfo) {
    return run_at_boundary([&]() -> Datum {
        if (!CALLED_AS_TRIGGER(fcinfo))
            ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                            errmsg("lockguard._lock_policies_changed() must be called as a trigger")));
        auto *trigger = reinterpret_cast<TriggerData *>(fcinfo->context);
        CacheInvalidateRelcacheByRelid(RelationGetRelid(trigger->tg_relation));
        return PointerGetDatum(nullptr);
    });
}
