// Exclusive row marks (SELECT ... FOR UPDATE and friends) that would lock every row of a protected
// table, judged against the policies (guard/policies.hpp) before the executor starts. Runs as an
// executor-start check of the hook registry (infra/hooks.hpp).
#include "pg/guard/policies.hpp"

#include "core/lock_mode.hpp"
#include "core/policy.hpp"
#include "pg/infra/boundary.hpp"

extern "C" {
#include "executor/executor.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"
}

namespace lockguard::pg {

namespace {

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

}  // namespace

// Registered with the hook registry (infra/hooks.hpp): runs before ExecutorStart.
void check_executor_start(QueryDesc *query, int eflags) {
    PlannedStmt *statement = query->plannedstmt;
    if (statement->rowMarks != NIL && (eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0 && guardrails_active()) {
        run_at_boundary([&]() -> bool {
            const PolicySet &policies = current_policies();
            if (!policies.empty()) check_row_marks(policies, statement);
            return true;
        });
    }
}

}  // namespace lockguard::pg
