// Analysis of the wait-for graph behind the monitoring views: cycles, root blockers, the blocking
// tree and a Graphviz rendering.
//
// An edge says "waiter_pid waits for blocker_pid" (one row of pg_blocking_pids()). Edges are
// taken as a set: duplicates collapse, and self-edges (a process "waiting for itself", which
// sampling can produce between two group members) are ignored. These functions run in normal
// function context, so they allocate freely; none recurses, so a long chain cannot exhaust the
// stack of a backend.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lockguard {

struct WaitEdge {
    int32_t waiter_pid;
    int32_t blocker_pid;
};

struct WaitNode {
    int32_t pid;
    int64_t wait_ms;    // how long it has been waiting; -1 if it is not waiting
    std::string label;  // free text for DOT, e.g. "user@app: UPDATE accounts ..."
};

// Cycles can be exponentially many in a dense graph; find_cycles() stops after this many.
inline constexpr size_t kDefaultMaxCycles = 1000;

// Every elementary cycle once, each as the pids along the waits (c[0] waits for c[1], ..., the
// last waits for c[0]), rotated to start at its smallest pid; the list is sorted
// lexicographically. Cycles may share pids. At most max_cycles are returned (the first found,
// starting from the smallest pids). Johnson's algorithm: time O((V + E) * (cycles + 1)).
std::vector<std::vector<int32_t>> find_cycles(const std::vector<WaitEdge> &edges,
                                              size_t max_cycles = kDefaultMaxCycles);

// Pids that block someone and wait for nobody, ascending.
std::vector<int32_t> find_root_blockers(const std::vector<WaitEdge> &edges);

// Pids that lie on at least one cycle, ascending.
std::vector<int32_t> find_cycle_members(const std::vector<WaitEdge> &edges);

struct TreeRow {
    int32_t pid;
    int32_t root_pid;       // the root of the tree this row is in
    int32_t parent_pid;     // the blocker it is listed under; 0 for a root
    int depth;              // 0 for a root
    int64_t wait_ms;        // from the WaitNode with this pid; -1 if none or not waiting
    int32_t blocked_total;  // distinct pids waiting on it directly or transitively (not itself)
    int32_t blocker_count;  // distinct pids it waits for directly
    bool in_cycle;          // lies on a wait cycle
};

// The blocking forest, depth-first, one row per pid that appears in an edge:
// - Roots are the root blockers, plus, for every cycle that waits on no root blocker (a closed
//   strongly connected group, usually a deadlock about to be broken), its smallest pid.
//   Roots come ordered by blocked_total descending, then pid; so do the children of each row.
// - A pid that waits for several blockers is listed once, under the first of them that the
//   depth-first walk reaches (its other blockers are counted in blocker_count); a diamond is
//   therefore listed, and counted in blocked_total, once.
// - The walk never revisits a pid, so cycles terminate.
// Nodes whose pid appears in no edge are not listed; edges whose pids have no node get
// wait_ms -1. Time O(V * (V + E)) for the blocked_total counts: fine for max_connections-sized
// graphs.
std::vector<TreeRow> build_blocking_tree(const std::vector<WaitEdge> &edges, const std::vector<WaitNode> &nodes);

// A Graphviz digraph: one node per pid in an edge (label "pid N" and the WaitNode label), one
// edge waiter -> blocker labelled with the waiter's wait time, root blockers filled, cycle
// members and the edges between them drawn red. Labels are escaped for DOT quoted strings
// (quotes, backslashes, newlines; other control characters become spaces; UTF-8 passes through).
std::string to_dot(const std::vector<WaitEdge> &edges, const std::vector<WaitNode> &nodes,
                   const std::string &graph_name);

// The DOT quoted-string escaping used by to_dot(), without the surrounding quotes.
std::string dot_escape(const std::string &text);

}  // namespace lockguard
