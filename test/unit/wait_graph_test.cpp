#include "core/wait_graph.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace lockguard;

namespace {

using Cycles = std::vector<std::vector<int32_t>>;
using Pids = std::vector<int32_t>;

// Compact row for comparisons: {pid, root, parent, depth, blocked_total, in_cycle}.
struct Row {
    int32_t pid, root, parent;
    int depth;
    int32_t blocked_total;
    bool in_cycle;
    bool operator==(const Row &o) const {
        return pid == o.pid && root == o.root && parent == o.parent && depth == o.depth &&
               blocked_total == o.blocked_total && in_cycle == o.in_cycle;
    }
};

std::ostream &operator<<(std::ostream &os, const Row &r) {
    return os << "{pid " << r.pid << " root " << r.root << " parent " << r.parent << " depth " << r.depth
              << " blocked " << r.blocked_total << (r.in_cycle ? " cycle" : "") << "}";
}

std::vector<Row> tree_of(const std::vector<WaitEdge> &edges, const std::vector<WaitNode> &nodes = {}) {
    std::vector<Row> rows;
    for (const auto &r : build_blocking_tree(edges, nodes))
        rows.push_back(Row{r.pid, r.root_pid, r.parent_pid, r.depth, r.blocked_total, r.in_cycle});
    return rows;
}

// All elementary cycles by brute force: every simple path from each start that returns to it,
// through larger pids only (so each cycle is found once, from its smallest pid).
Cycles brute_force_cycles(const std::vector<WaitEdge> &edges) {
    std::map<int32_t, std::set<int32_t>> adj;
    std::set<int32_t> pids;
    for (const auto &e : edges) {
        if (e.waiter_pid == e.blocker_pid) continue;
        adj[e.waiter_pid].insert(e.blocker_pid);
        pids.insert(e.waiter_pid);
        pids.insert(e.blocker_pid);
    }
    Cycles found;
    std::vector<int32_t> path;
    std::set<int32_t> on_path;
    std::function<void(int32_t, int32_t)> walk = [&](int32_t start, int32_t v) {
        for (int32_t w : adj[v]) {
            if (w == start) {
                found.push_back(path);
            } else if (w > start && !on_path.count(w)) {
                path.push_back(w);
                on_path.insert(w);
                walk(start, w);
                on_path.erase(w);
                path.pop_back();
            }
        }
    };
    for (int32_t s : pids) {
        path = {s};
        on_path = {s};
        walk(s, s);
    }
    std::sort(found.begin(), found.end());
    return found;
}

std::vector<WaitEdge> complete_digraph(int n) {
    std::vector<WaitEdge> edges;
    for (int a = 1; a <= n; a++)
        for (int b = 1; b <= n; b++)
            if (a != b) edges.push_back({a, b});
    return edges;
}

// Checks the DOT text lexically: quoted strings close on the line they open, escapes are
// complete, braces balance, and every statement line ends with ';'.
void expect_well_formed_dot(const std::string &dot) {
    ASSERT_EQ(dot.rfind("digraph \"", 0), 0u);
    ASSERT_GE(dot.size(), 3u);
    EXPECT_EQ(dot.substr(dot.size() - 2), "}\n");
    bool in_string = false;
    int braces = 0;
    int brackets = 0;
    std::string line;
    for (size_t i = 0; i < dot.size(); i++) {
        char c = dot[i];
        if (in_string) {
            ASSERT_NE(c, '\n') << "raw newline inside a quoted string at " << i;
            if (c == '\\') {
                ASSERT_LT(i + 1, dot.size());
                line += c;
                line += dot[++i];
                continue;
            }
            if (c == '"') in_string = false;
            line += c;
            continue;
        }
        if (c == '"') in_string = true;
        if (c == '{') braces++;
        if (c == '}') braces--;
        if (c == '[') brackets++;
        if (c == ']') brackets--;
        ASSERT_GE(braces, 0);
        if (c == '\n') {
            EXPECT_EQ(brackets, 0) << line;
            if (line != "}" && line.find('{') == std::string::npos) {
                EXPECT_EQ(line.back(), ';') << line;
            }
            line.clear();
            continue;
        }
        line += c;
    }
    EXPECT_FALSE(in_string);
    EXPECT_EQ(braces, 0);
}

size_t count_of(const std::string &text, const std::string &needle) {
    size_t count = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) count++;
    return count;
}

}  // namespace

TEST(WaitGraph, EmptyGraph) {
    EXPECT_TRUE(find_cycles({}).empty());
    EXPECT_TRUE(find_root_blockers({}).empty());
    EXPECT_TRUE(find_cycle_members({}).empty());
    EXPECT_TRUE(build_blocking_tree({}, {{1, 5, "idle"}}).empty());
    EXPECT_EQ(to_dot({}, {}, "g"), "digraph \"g\" {\n  rankdir=LR;\n  node [shape=box];\n}\n");
}

TEST(WaitGraph, Chain) {
    std::vector<WaitEdge> edges = {{1, 2}, {2, 3}};  // 1 waits for 2 waits for 3
    EXPECT_TRUE(find_cycles(edges).empty());
    EXPECT_EQ(find_root_blockers(edges), (Pids{3}));
    EXPECT_TRUE(find_cycle_members(edges).empty());
    EXPECT_EQ(tree_of(edges), (std::vector<Row>{{3, 3, 0, 0, 2, false}, {2, 3, 3, 1, 1, false}, {1, 3, 2, 2, 0, false}}));
}

TEST(WaitGraph, Star) {
    std::vector<WaitEdge> edges = {{13, 10}, {11, 10}, {12, 10}};
    EXPECT_EQ(find_root_blockers(edges), (Pids{10}));
    EXPECT_EQ(tree_of(edges), (std::vector<Row>{{10, 10, 0, 0, 3, false},
                                                {11, 10, 10, 1, 0, false},
                                                {12, 10, 10, 1, 0, false},
                                                {13, 10, 10, 1, 0, false}}));
}

TEST(WaitGraph, DiamondIsListedAndCountedOnce) {
    // 1 waits for 2 and 3; both wait for 4.
    std::vector<WaitEdge> edges = {{1, 2}, {1, 3}, {2, 4}, {3, 4}};
    EXPECT_TRUE(find_cycles(edges).empty());
    EXPECT_EQ(find_root_blockers(edges), (Pids{4}));
    EXPECT_EQ(tree_of(edges), (std::vector<Row>{{4, 4, 0, 0, 3, false},
                                                {2, 4, 4, 1, 1, false},
                                                {1, 4, 2, 2, 0, false},
                                                {3, 4, 4, 1, 1, false}}));
    auto rows = build_blocking_tree(edges, {});
    EXPECT_EQ(rows[2].pid, 1);
    EXPECT_EQ(rows[2].blocker_count, 2);  // it also waits for 3
    EXPECT_EQ(rows[0].blocker_count, 0);
}

TEST(WaitGraph, ChildrenWithMoreBehindThemComeFirst) {
    // 9 blocks 2 and 5; 5 blocks 6 and 7, 2 blocks nobody: 5 is listed before 2.
    std::vector<WaitEdge> edges = {{2, 9}, {5, 9}, {6, 5}, {7, 5}};
    EXPECT_EQ(tree_of(edges), (std::vector<Row>{{9, 9, 0, 0, 4, false},
                                                {5, 9, 9, 1, 2, false},
                                                {6, 9, 5, 2, 0, false},
                                                {7, 9, 5, 2, 0, false},
                                                {2, 9, 9, 1, 0, false}}));
}

TEST(WaitGraph, TwoCycleHasACycleMemberAsRoot) {
    std::vector<WaitEdge> edges = {{6, 5}, {5, 6}};
    EXPECT_EQ(find_cycles(edges), (Cycles{{5, 6}}));
    EXPECT_TRUE(find_root_blockers(edges).empty());
    EXPECT_EQ(find_cycle_members(edges), (Pids{5, 6}));
    EXPECT_EQ(tree_of(edges), (std::vector<Row>{{5, 5, 0, 0, 1, true}, {6, 5, 5, 1, 1, true}}));
}

TEST(WaitGraph, ThreeCycleWithATail) {
    // 1 -> 2 -> 3 -> 1, and 5 waits for 4 which waits for 1.
    std::vector<WaitEdge> edges = {{1, 2}, {2, 3}, {3, 1}, {4, 1}, {5, 4}};
    EXPECT_EQ(find_cycles(edges), (Cycles{{1, 2, 3}}));
    EXPECT_TRUE(find_root_blockers(edges).empty());
    EXPECT_EQ(find_cycle_members(edges), (Pids{1, 2, 3}));
    EXPECT_EQ(tree_of(edges), (std::vector<Row>{{1, 1, 0, 0, 4, true},
                                                {3, 1, 1, 1, 4, true},
                                                {2, 1, 3, 2, 4, true},
                                                {4, 1, 1, 1, 1, false},
                                                {5, 1, 4, 2, 0, false}}));
}

TEST(WaitGraph, CycleCanonicalRotationFollowsTheWaits) {
    // 30 waits for 10, 10 for 20, 20 for 30: starts at 10, then whom 10 waits for.
    EXPECT_EQ(find_cycles({{30, 10}, {10, 20}, {20, 30}}), (Cycles{{10, 20, 30}}));
    EXPECT_EQ(find_cycles({{10, 30}, {30, 20}, {20, 10}}), (Cycles{{10, 30, 20}}));
}

TEST(WaitGraph, CycleThatWaitsOnARootHangsUnderTheRoot) {
    // 1 and 2 wait for each other, and 2 also for 9, which waits for nobody.
    std::vector<WaitEdge> edges = {{1, 2}, {2, 1}, {2, 9}};
    EXPECT_EQ(find_root_blockers(edges), (Pids{9}));
    EXPECT_EQ(tree_of(edges), (std::vector<Row>{{9, 9, 0, 0, 2, false}, {2, 9, 9, 1, 1, true}, {1, 9, 2, 2, 1, true}}));
}

TEST(WaitGraph, TwoDisjointComponentsOrderedByBlockedTotal) {
    std::vector<WaitEdge> edges = {{1, 2}, {11, 10}, {12, 10}, {13, 10}, {20, 21}, {21, 20}};
    EXPECT_EQ(find_root_blockers(edges), (Pids{2, 10}));
    auto rows = tree_of(edges);
    ASSERT_EQ(rows.size(), 8u);
    EXPECT_EQ(rows[0], (Row{10, 10, 0, 0, 3, false}));
    EXPECT_EQ(rows[4], (Row{2, 2, 0, 0, 1, false}));
    EXPECT_EQ(rows[5], (Row{1, 2, 2, 1, 0, false}));
    EXPECT_EQ(rows[6], (Row{20, 20, 0, 0, 1, true}));  // ties on blocked_total go by pid
    EXPECT_EQ(rows[7], (Row{21, 20, 20, 1, 1, true}));
}

TEST(WaitGraph, SelfEdgesAreIgnored) {
    std::vector<WaitEdge> only_self = {{7, 7}};
    EXPECT_TRUE(find_cycles(only_self).empty());
    EXPECT_TRUE(find_root_blockers(only_self).empty());
    EXPECT_TRUE(find_cycle_members(only_self).empty());
    EXPECT_TRUE(build_blocking_tree(only_self, {}).empty());
    std::vector<WaitEdge> with_self = {{7, 7}, {8, 7}};
    EXPECT_EQ(find_root_blockers(with_self), (Pids{7}));  // 7 "waiting for itself" still waits for nobody
    EXPECT_EQ(tree_of(with_self), (std::vector<Row>{{7, 7, 0, 0, 1, false}, {8, 7, 7, 1, 0, false}}));
    EXPECT_EQ(count_of(to_dot(with_self, {}, "g"), "->"), 1u);
}

TEST(WaitGraph, DuplicateEdgesCollapse) {
    std::vector<WaitEdge> edges = {{1, 2}, {1, 2}, {2, 1}, {1, 2}, {2, 1}};
    EXPECT_EQ(find_cycles(edges), (Cycles{{1, 2}}));
    auto rows = build_blocking_tree(edges, {});
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].blocker_count, 1);
    EXPECT_EQ(rows[1].blocker_count, 1);
    EXPECT_EQ(count_of(to_dot(edges, {}, "g"), "->"), 2u);
}

TEST(WaitGraph, OverlappingCyclesAreEachFoundOnce) {
    // All six edges between 1, 2 and 3: three 2-cycles and both 3-cycles.
    EXPECT_EQ(find_cycles(complete_digraph(3)), (Cycles{{1, 2}, {1, 2, 3}, {1, 3}, {1, 3, 2}, {2, 3}}));
    // Figure eight sharing pid 5.
    EXPECT_EQ(find_cycles({{5, 1}, {1, 5}, {5, 9}, {9, 8}, {8, 5}}), (Cycles{{1, 5}, {5, 9, 8}}));
}

TEST(WaitGraph, CompleteGraphCycleCountAndCap) {
    // Elementary cycles of the complete digraph on n nodes: sum over k of C(n, k) * (k - 1)!.
    auto cycles = find_cycles(complete_digraph(5));
    EXPECT_EQ(cycles.size(), 84u);
    std::set<std::vector<int32_t>> distinct(cycles.begin(), cycles.end());
    EXPECT_EQ(distinct.size(), cycles.size());
    for (const auto &c : cycles) EXPECT_EQ(*std::min_element(c.begin(), c.end()), c.front());
    // K7 has 2365 cycles: the default cap stops at 1000, an explicit one where asked.
    EXPECT_EQ(find_cycles(complete_digraph(7)).size(), kDefaultMaxCycles);
    EXPECT_EQ(find_cycles(complete_digraph(7), 10).size(), 10u);
    EXPECT_EQ(find_cycles(complete_digraph(7), 5000).size(), 2365u);
    EXPECT_TRUE(find_cycles(complete_digraph(3), 0).empty());
}

TEST(WaitGraph, CyclesMatchBruteForceOnRandomGraphs) {
    std::mt19937 rng(31337);
    for (int round = 0; round < 300; round++) {
        int n = 2 + static_cast<int>(rng() % 7);
        int m = static_cast<int>(rng() % static_cast<unsigned>(n * n));
        std::vector<WaitEdge> edges;
        edges.reserve(m);
        for (int i = 0; i < m; i++)
            edges.push_back({static_cast<int32_t>(100 + rng() % n), static_cast<int32_t>(100 + rng() % n)});
        auto cycles = find_cycles(edges, 1'000'000);
        ASSERT_EQ(cycles, brute_force_cycles(edges)) << "round " << round;

        // Cycle members are exactly the pids on some cycle.
        std::set<int32_t> on_cycle;
        for (const auto &c : cycles) on_cycle.insert(c.begin(), c.end());
        EXPECT_EQ(find_cycle_members(edges), Pids(on_cycle.begin(), on_cycle.end()));

        // The tree lists every pid of every edge exactly once, parents before children, and each
        // parent is one of the pid's blockers.
        std::set<std::pair<int32_t, int32_t>> edge_set;
        std::set<int32_t> pids;
        for (const auto &e : edges) {
            if (e.waiter_pid == e.blocker_pid) continue;
            edge_set.insert({e.waiter_pid, e.blocker_pid});
            pids.insert(e.waiter_pid);
            pids.insert(e.blocker_pid);
        }
        std::map<int32_t, int> depth_of;
        for (const auto &row : build_blocking_tree(edges, {})) {
            ASSERT_FALSE(depth_of.count(row.pid)) << "pid listed twice";
            if (row.depth == 0) {
                EXPECT_EQ(row.parent_pid, 0);
                EXPECT_EQ(row.root_pid, row.pid);
            } else {
                ASSERT_TRUE(depth_of.count(row.parent_pid)) << "child before parent";
                EXPECT_EQ(depth_of[row.parent_pid], row.depth - 1);
                EXPECT_TRUE(edge_set.count({row.pid, row.parent_pid}));
            }
            EXPECT_EQ(row.in_cycle, on_cycle.count(row.pid) == 1);
            depth_of[row.pid] = row.depth;
        }
        EXPECT_EQ(depth_of.size(), pids.size());
    }
}

TEST(WaitGraph, LongChainNeedsNoRecursion) {
    std::vector<WaitEdge> edges;
    const int32_t n = 5000;
    for (int32_t pid = 1; pid < n; pid++) edges.push_back({pid, pid + 1});
    edges.push_back({n, 1});  // close it: one cycle through everyone
    auto cycles = find_cycles(edges);
    ASSERT_EQ(cycles.size(), 1u);
    EXPECT_EQ(cycles[0].size(), static_cast<size_t>(n));
    auto rows = build_blocking_tree(edges, {});
    ASSERT_EQ(rows.size(), static_cast<size_t>(n));
    EXPECT_EQ(rows.back().depth, n - 1);
    EXPECT_EQ(rows.front().blocked_total, n - 1);
}

TEST(WaitGraph, TreeCarriesWaitTimesFromNodes) {
    std::vector<WaitEdge> edges = {{1, 2}, {3, 2}};
    std::vector<WaitNode> nodes = {{2, -1, "holder"}, {1, 1500, "a"}, {1, 99, "duplicate, ignored"}};
    auto rows = build_blocking_tree(edges, nodes);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].wait_ms, -1);
    EXPECT_EQ(rows[1].pid, 1);
    EXPECT_EQ(rows[1].wait_ms, 1500);
    EXPECT_EQ(rows[2].pid, 3);
    EXPECT_EQ(rows[2].wait_ms, -1);  // no node for pid 3
}

TEST(DotEscape, QuotesBackslashesNewlinesAndControls) {
    EXPECT_EQ(dot_escape("plain"), "plain");
    EXPECT_EQ(dot_escape("say \"hi\""), "say \\\"hi\\\"");
    EXPECT_EQ(dot_escape("C:\\temp\\"), "C:\\\\temp\\\\");
    EXPECT_EQ(dot_escape("a\nb"), "a\\nb");
    EXPECT_EQ(dot_escape("a\r\nb\rc"), "a\\nb\\nc");
    // Tab, SOH, DEL and an embedded NUL all become spaces.
    EXPECT_EQ(dot_escape(std::string("t\tab\x01\x7f\0", 7)), "t ab   ");
    EXPECT_EQ(dot_escape("UPDATE \xC3\xBC \xE6\x9D\xB1\xE4\xBA\xAC"), "UPDATE \xC3\xBC \xE6\x9D\xB1\xE4\xBA\xAC");
    EXPECT_EQ(dot_escape(""), "");
}

TEST(ToDot, RendersNodesEdgesRootsAndCycles) {
    // 1 waits for 2 (root); 3 and 4 wait for each other.
    std::vector<WaitEdge> edges = {{1, 2}, {3, 4}, {4, 3}};
    std::vector<WaitNode> nodes = {{1, 1500, "alice@app: UPDATE accounts"}, {2, -1, "bob@app: idle in transaction"},
                                   {3, 20, ""}};
    std::string dot = to_dot(edges, nodes, "lockguard waits");
    expect_well_formed_dot(dot);
    EXPECT_EQ(dot.rfind("digraph \"lockguard waits\" {\n", 0), 0u);
    EXPECT_NE(dot.find("  \"1\" [label=\"pid 1\\nalice@app: UPDATE accounts\"];\n"), std::string::npos) << dot;
    EXPECT_NE(dot.find("  \"2\" [label=\"pid 2\\nbob@app: idle in transaction\", style=filled, fillcolor=\"#f4cccc\", "
                       "penwidth=2];\n"),
              std::string::npos)
        << dot;
    EXPECT_NE(dot.find("  \"3\" [label=\"pid 3\", color=red];\n"), std::string::npos) << dot;
    EXPECT_NE(dot.find("  \"4\" [label=\"pid 4\", color=red];\n"), std::string::npos) << dot;
    EXPECT_NE(dot.find("  \"1\" -> \"2\" [label=\"1500 ms\"];\n"), std::string::npos) << dot;
    EXPECT_NE(dot.find("  \"3\" -> \"4\" [label=\"20 ms\", color=red];\n"), std::string::npos) << dot;
    EXPECT_NE(dot.find("  \"4\" -> \"3\" [color=red];\n"), std::string::npos) << dot;  // no node: no wait label
    EXPECT_EQ(count_of(dot, "fillcolor"), 1u);
}

TEST(ToDot, EscapesHostileLabelsAndNames) {
    std::vector<WaitEdge> edges = {{1, 2}};
    std::vector<WaitNode> nodes = {{1, 5, "evil\"]; \"9\" -> \"9\"; //\nline2\\"},
                                   {2, -1, "\xE6\x9D\xB1\xE4\xBA\xAC \"quoted\" C:\\path\\"}};
    std::string dot = to_dot(edges, nodes, R"(name with "quote" and \)");
    expect_well_formed_dot(dot);
    EXPECT_EQ(dot.rfind("digraph \"name with \\\"quote\\\" and \\\\\" {\n", 0), 0u) << dot;
    EXPECT_NE(dot.find("[label=\"pid 1\\nevil\\\"]; \\\"9\\\" -> \\\"9\\\"; //\\nline2\\\\\"]"), std::string::npos)
        << dot;
    EXPECT_NE(dot.find("\xE6\x9D\xB1\xE4\xBA\xAC \\\"quoted\\\" C:\\\\path\\\\\""), std::string::npos) << dot;
    EXPECT_EQ(count_of(dot, "->"), 2u);  // the real edge, and the one inside the escaped label
    EXPECT_EQ(count_of(dot, "\n  \"9\""), 0u);
}
