// Rows and text over the wait-for graph (blocking tree, Graphviz DOT) and the deadlock ring (the
// SQL functions' entry points are in observe/sql_functions.cpp).
// The graph algorithms live in src/core/wait_graph; this file only moves arrays in and rows out.
#include "core/wait_graph.hpp"
#include "pg/infra/boundary.hpp"
#include "pg/infra/clip.hpp"
#include "pg/observe/deadlock_capture.hpp"
#include "pg/infra/privileges.hpp"
#include "pg/infra/shmem.hpp"
#include "pg/observe/sql_functions.hpp"

#include <string>
#include <vector>

extern "C" {
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

using namespace lockguard;
using namespace lockguard::pg;

namespace {

// A node label longer than this many characters is shortened, ending in "...".
constexpr int kDotLabelChars = 80;

// A SQL array argument as plain values; NULL array = empty. Elements must not be null.
struct PlainArray {
    Datum *values = nullptr;
    int count = 0;
};

PlainArray array_argument(FunctionCallInfo fcinfo, int argno, Oid element_type) {
    PlainArray out;
    if (PG_ARGISNULL(argno)) return out;
    ArrayType *array = PG_GETARG_ARRAYTYPE_P(argno);
    int16 length;
    bool byval;
    char align;
    get_typlenbyvalalign(element_type, &length, &byval, &align);
    bool *nulls;
    deconstruct_array(array, element_type, length, byval, align, &out.values, &nulls, &out.count);
    for (int i = 0; i < out.count; i++)
        if (nulls[i])
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("graph arrays must not contain nulls")));
    return out;
}

// The four arrays every graph function takes: edges (waiter -> blocker) and nodes with their wait.
struct GraphArguments {
    PlainArray waiters, blockers, node_pids, node_waits;
};

GraphArguments graph_arguments(FunctionCallInfo fcinfo) {
    GraphArguments args{array_argument(fcinfo, 0, INT4OID), array_argument(fcinfo, 1, INT4OID),
                        array_argument(fcinfo, 2, INT4OID), array_argument(fcinfo, 3, INT8OID)};
    if (args.waiters.count != args.blockers.count)
        ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR), errmsg("waiters and blockers must have the same length")));
    if (args.node_pids.count != args.node_waits.count)
        ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                        errmsg("node pids and node wait times must have the same length")));
    return args;
}

std::vector<WaitEdge> edges_of(const GraphArguments &args) {
    std::vector<WaitEdge> edges;
    edges.reserve(args.waiters.count);
    for (int i = 0; i < args.waiters.count; i++)
        edges.push_back({DatumGetInt32(args.waiters.values[i]), DatumGetInt32(args.blockers.values[i])});
    return edges;
}

std::vector<WaitNode> nodes_of(const GraphArguments &args, const PlainArray *labels) {
    std::vector<WaitNode> nodes;
    for (int i = 0; i < args.node_pids.count; i++) {
        std::string label;
        if (labels != nullptr && i < labels->count) {
            Datum value = labels->values[i];
            label = pg_guarded([&] { return clip_with_ellipsis(TextDatumGetCString(value), kDotLabelChars); });
        }
        nodes.push_back({DatumGetInt32(args.node_pids.values[i]), DatumGetInt64(args.node_waits.values[i]), label});
    }
    return nodes;
}

// A deadlock report's detail without its log-only part: PostgreSQL lists the cycle ("Process 1
// waits for ...") and then, for the server log only, each process's query ("Process 1: ...").
// Those lines, and everything after the first (a query may span lines), are cut.
text *detail_without_queries(const char *detail) {
    for (const char *line = detail; *line != '\0';) {
        const char *p = line;
        if (strncmp(p, "Process ", 8) == 0) {
            p += 8;
            const char *digits = p;
            while (*p >= '0' && *p <= '9') p++;
            if (p > digits && p[0] == ':' && p[1] == ' ') {
                int length = static_cast<int>(line - detail);
                while (length > 0 && detail[length - 1] == '\n') length--;
                return cstring_to_text_with_len(detail, length);
            }
        }
        const char *next = strchr(line, '\n');
        if (next == nullptr) break;
        line = next + 1;
    }
    return cstring_to_text(detail);
}

}  // namespace

// lockguard._blocking_tree(waiters, blockers, node_pids, node_wait_ms): rows in display order.
Datum lockguard::pg::sql_blocking_tree(FunctionCallInfo fcinfo) {
    return run_at_boundary([&]() -> Datum {
        GraphArguments args = graph_arguments(fcinfo);
        auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
        InitMaterializedSRF(fcinfo, 0);
        std::vector<TreeRow> rows = build_blocking_tree(edges_of(args), nodes_of(args, nullptr));
        for (const TreeRow &row : rows) {
            constexpr int kColumns = 8;
            Datum values[kColumns] = {Int32GetDatum(row.pid),           Int32GetDatum(row.root_pid),
                                      Int32GetDatum(row.parent_pid),    Int32GetDatum(row.depth),
                                      Int64GetDatum(row.wait_ms),       Int32GetDatum(row.blocked_total),
                                      Int32GetDatum(row.blocker_count), BoolGetDatum(row.in_cycle)};
            bool nulls[kColumns] = {};
            nulls[2] = row.parent_pid == 0;
            nulls[4] = row.wait_ms < 0;
            pg_guarded([&] { tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls); });
        }
        return static_cast<Datum>(0);
    });
}

// lockguard.dot_graph(waiters, blockers, node_pids, node_wait_ms, node_labels, graph_name) -> text
Datum lockguard::pg::sql_dot_graph(FunctionCallInfo fcinfo) {
    return run_at_boundary([&]() -> Datum {
        GraphArguments args = graph_arguments(fcinfo);
        PlainArray labels = array_argument(fcinfo, 4, TEXTOID);
        const char *name = PG_ARGISNULL(5) ? "lockguard" : text_to_cstring(PG_GETARG_TEXT_PP(5));
        std::string dot = to_dot(edges_of(args), nodes_of(args, &labels), name);
        text *result = pg_guarded([&] { return cstring_to_text_with_len(dot.data(), static_cast<int>(dot.size())); });
        PG_RETURN_TEXT_P(result);
    });
}

// lockguard._deadlock_buffer(): deadlocks still in shared memory, oldest first. The queries in
// a report are shown only to those who may see every session's query.
Datum lockguard::pg::sql_deadlock_buffer(FunctionCallInfo fcinfo) {
    return run_at_boundary([&]() -> Datum {
        require_preloaded();
        auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
        InitMaterializedSRF(fcinfo, 0);
        int capacity = deadlock_capacity();
        auto *entries = static_cast<DeadlockEntry *>(palloc(sizeof(DeadlockEntry) * capacity));
        int count = copy_deadlock_entries(entries, capacity);
        bool show_queries = may_see_all_sessions();
        for (int i = 0; i < count; i++) {
            const DeadlockEntry &e = entries[i];
            if (e.seq == 0) continue;
            constexpr int kColumns = 8;
            Datum values[kColumns] = {TimestampTzGetDatum(deadlock_epoch()),
                                      Int64GetDatum(e.seq),
                                      TimestampTzGetDatum(e.detected_at),
                                      Int32GetDatum(e.pid),
                                      ObjectIdGetDatum(e.database),
                                      CStringGetTextDatum(deadlock_source_name(e.source)),
                                      CStringGetTextDatum(e.message),
                                      show_queries ? CStringGetTextDatum(e.detail)
                                                   : PointerGetDatum(detail_without_queries(e.detail))};
            bool nulls[kColumns] = {};
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
        pfree(entries);
        return static_cast<Datum>(0);
    });
}
