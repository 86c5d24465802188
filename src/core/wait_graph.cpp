#include "core/wait_graph.hpp"

#include <algorithm>
#include <set>
#include <unordered_map>
#include <utility>

namespace lockguard {

namespace {

// The edge set over dense ids 0..n-1, numbered in ascending pid order (so "smallest id" is
// "smallest pid"). blockers[v]: whom v waits for; waiters[v]: who waits for v. Both sorted.
struct Graph {
    std::vector<int32_t> pids;
    std::vector<std::vector<int>> blockers;
    std::vector<std::vector<int>> waiters;

    explicit Graph(const std::vector<WaitEdge> &edges) {
        std::vector<std::pair<int32_t, int32_t>> unique;
        for (const auto &e : edges) {
            if (e.waiter_pid != e.blocker_pid) unique.emplace_back(e.waiter_pid, e.blocker_pid);
        }
        std::sort(unique.begin(), unique.end());
        unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
        for (const auto &[w, b] : unique) {
            pids.push_back(w);
            pids.push_back(b);
        }
        std::sort(pids.begin(), pids.end());
        pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
        blockers.resize(pids.size());
        waiters.resize(pids.size());
        for (const auto &[w, b] : unique) {
            int wi = id(w);
            int bi = id(b);
            blockers[wi].push_back(bi);
            waiters[bi].push_back(wi);
        }
        for (auto &list : waiters) std::sort(list.begin(), list.end());
        // blockers[] is already sorted: the pairs were sorted by (waiter, blocker).
    }

    [[nodiscard]] int size() const { return static_cast<int>(pids.size()); }

    [[nodiscard]] int id(int32_t pid) const {
        return static_cast<int>(std::lower_bound(pids.begin(), pids.end(), pid) - pids.begin());
    }
};

// Tarjan's strongly connected components, iteratively. Returns the component of every node.
std::vector<int> strongly_connected_components(const Graph &g, int *component_count) {
    const int n = g.size();
    std::vector<int> index(n, -1);
    std::vector<int> low(n, 0);
    std::vector<int> component(n, -1);
    std::vector<char> on_stack(n, 0);
    std::vector<int> stack;
    std::vector<std::pair<int, size_t>> frames;  // (node, next blocker to look at)
    int next_index = 0;
    int components = 0;
    for (int start = 0; start < n; start++) {
        if (index[start] != -1) continue;
        index[start] = low[start] = next_index++;
        stack.push_back(start);
        on_stack[start] = 1;
        frames.emplace_back(start, 0);
        while (!frames.empty()) {
            const int v = frames.back().first;
            const size_t i = frames.back().second;
            if (i < g.blockers[v].size()) {
                frames.back().second++;
                const int w = g.blockers[v][i];
                if (index[w] == -1) {
                    index[w] = low[w] = next_index++;
                    stack.push_back(w);
                    on_stack[w] = 1;
                    frames.emplace_back(w, 0);
                } else if (on_stack[w]) {
                    low[v] = std::min(low[v], index[w]);
                }
                continue;
            }
            if (low[v] == index[v]) {
                int w;
                do {
                    w = stack.back();
                    stack.pop_back();
                    on_stack[w] = 0;
                    component[w] = components;
                } while (w != v);
                components++;
            }
            frames.pop_back();
            if (!frames.empty()) {
                const int parent = frames.back().first;
                low[parent] = std::min(low[parent], low[v]);
            }
        }
    }
    *component_count = components;
    return component;
}

// on_cycle[v]: v shares a strongly connected component with another node. Self-edges are gone,
// so a single-node component is never a cycle.
std::vector<char> cycle_flags(const Graph &g, const std::vector<int> &component, int component_count) {
    std::vector<int> members(component_count, 0);
    for (int c : component) members[c]++;
    std::vector<char> on_cycle(g.size(), 0);
    for (int v = 0; v < g.size(); v++) on_cycle[v] = members[component[v]] > 1 ? 1 : 0;
    return on_cycle;
}

// Distinct nodes that reach v through waits, v excluded.
int32_t count_blocked(const Graph &g, int v, std::vector<int> &seen_mark, int mark) {
    std::vector<int> todo = {v};
    seen_mark[v] = mark;
    int32_t count = 0;
    while (!todo.empty()) {
        int x = todo.back();
        todo.pop_back();
        for (int w : g.waiters[x]) {
            if (seen_mark[w] == mark) continue;
            seen_mark[w] = mark;
            count++;
            todo.push_back(w);
        }
    }
    return count;
}

}  // namespace

// NOLINTNEXTLINE(readability-function-cognitive-complexity): Johnson's algorithm, kept whole as published
std::vector<std::vector<int32_t>> find_cycles(const std::vector<WaitEdge> &edges, size_t max_cycles) {
    const Graph g(edges);
    const int n = g.size();
    std::vector<std::vector<int32_t>> cycles;
    if (max_cycles == 0) return cycles;

    std::vector<char> in_scope(n, 0);
    std::vector<char> blocked(n, 0);
    std::vector<std::set<int>> block_map(n);  // Johnson's B: unblock these when the key unblocks
    std::vector<int> path;
    struct Frame {
        int v;
        size_t next;
        bool found;
    };
    std::vector<Frame> frames;

    for (int s = 0; s < n && cycles.size() < max_cycles; s++) {
        // Scope: the strongly connected part of s among nodes >= s, i.e. nodes both reachable
        // from s and reaching s without passing below s. Cycles through s live only there.
        std::vector<char> forward(n, 0);
        std::vector<char> backward(n, 0);
        for (auto [reach, next] : {std::pair{&forward, &g.blockers}, std::pair{&backward, &g.waiters}}) {
            std::vector<int> todo = {s};
            (*reach)[s] = 1;
            while (!todo.empty()) {
                int x = todo.back();
                todo.pop_back();
                for (int w : (*next)[x]) {
                    if (w < s || (*reach)[w]) continue;
                    (*reach)[w] = 1;
                    todo.push_back(w);
                }
            }
        }
        bool any_other = false;
        for (int v = s; v < n; v++) {
            in_scope[v] = forward[v] != 0 && backward[v] != 0 ? 1 : 0;
            any_other = any_other || (v != s && in_scope[v] != 0);
            blocked[v] = 0;
            block_map[v].clear();
        }
        if (!any_other) continue;

        // Johnson's CIRCUIT(s), with an explicit stack.
        blocked[s] = 1;
        path.assign(1, s);
        frames.assign(1, Frame{s, 0, false});
        while (!frames.empty() && cycles.size() < max_cycles) {
            Frame &top = frames.back();
            const int v = top.v;
            if (top.next < g.blockers[v].size()) {
                const int w = g.blockers[v][top.next++];
                if (!in_scope[w]) continue;
                if (w == s) {
                    std::vector<int32_t> cycle;
                    cycle.reserve(path.size());
                    for (int x : path) cycle.push_back(g.pids[x]);
                    cycles.push_back(std::move(cycle));
                    top.found = true;
                } else if (!blocked[w]) {
                    blocked[w] = 1;
                    path.push_back(w);
                    frames.push_back(Frame{w, 0, false});  // invalidates `top`
                }
                continue;
            }
            const bool found = top.found;
            if (found) {
                // UNBLOCK(v), iteratively.
                std::vector<int> todo = {v};
                blocked[v] = 0;
                while (!todo.empty()) {
                    int x = todo.back();
                    todo.pop_back();
                    for (int u : block_map[x]) {
                        if (blocked[u]) {
                            blocked[u] = 0;
                            todo.push_back(u);
                        }
                    }
                    block_map[x].clear();
                }
            } else {
                for (int w : g.blockers[v]) {
                    if (in_scope[w]) block_map[w].insert(v);
                }
            }
            path.pop_back();
            frames.pop_back();
            if (found && !frames.empty()) frames.back().found = true;
        }
        for (int v = s; v < n; v++) in_scope[v] = 0;
    }
    std::sort(cycles.begin(), cycles.end());
    return cycles;
}

std::vector<int32_t> find_root_blockers(const std::vector<WaitEdge> &edges) {
    const Graph g(edges);
    std::vector<int32_t> roots;
    for (int v = 0; v < g.size(); v++) {
        if (g.blockers[v].empty() && !g.waiters[v].empty()) roots.push_back(g.pids[v]);
    }
    return roots;
}

std::vector<int32_t> find_cycle_members(const std::vector<WaitEdge> &edges) {
    const Graph g(edges);
    int count = 0;
    std::vector<int> component = strongly_connected_components(g, &count);
    std::vector<char> on_cycle = cycle_flags(g, component, count);
    std::vector<int32_t> members;
    for (int v = 0; v < g.size(); v++) {
        if (on_cycle[v]) members.push_back(g.pids[v]);
    }
    return members;
}

// NOLINTNEXTLINE(readability-function-cognitive-complexity): one walk, rows in the view's order
std::vector<TreeRow> build_blocking_tree(const std::vector<WaitEdge> &edges, const std::vector<WaitNode> &nodes) {
    const Graph g(edges);
    const int n = g.size();
    int component_count = 0;
    const std::vector<int> component = strongly_connected_components(g, &component_count);
    const std::vector<char> on_cycle = cycle_flags(g, component, component_count);

    std::vector<int32_t> blocked_total(n);
    std::vector<int> seen_mark(n, -1);
    for (int v = 0; v < n; v++) blocked_total[v] = count_blocked(g, v, seen_mark, v);

    std::unordered_map<int32_t, int64_t> wait_of;
    for (const auto &node : nodes) wait_of.emplace(node.pid, node.wait_ms);  // first one wins

    // Roots: nodes waiting for nobody, and the smallest member of every closed component (one
    // no member of which waits outside it). Every node reaches one of these by following its
    // blockers, so the walk from them lists every node.
    std::vector<char> closed(component_count, 1);
    std::vector<int> smallest(component_count, n);
    for (int v = 0; v < n; v++) {
        smallest[component[v]] = std::min(smallest[component[v]], v);
        for (int b : g.blockers[v]) {
            if (component[b] != component[v]) closed[component[v]] = 0;
        }
    }
    std::vector<int> roots;
    for (int v = 0; v < n; v++) {
        if (g.blockers[v].empty() || (on_cycle[v] && closed[component[v]] && smallest[component[v]] == v))
            roots.push_back(v);
    }
    auto before = [&](int a, int b) {
        if (blocked_total[a] != blocked_total[b]) return blocked_total[a] > blocked_total[b];
        return a < b;  // ids are in pid order
    };
    std::sort(roots.begin(), roots.end(), before);
    std::vector<std::vector<int>> children = g.waiters;
    for (auto &list : children) std::sort(list.begin(), list.end(), before);

    std::vector<TreeRow> rows;
    rows.reserve(n);
    std::vector<char> listed(n, 0);
    std::vector<int> depth(n, 0);
    std::vector<std::pair<int, size_t>> frames;  // (node, next child)
    auto emit = [&](int v, int root, int parent) {
        listed[v] = 1;
        depth[v] = parent < 0 ? 0 : depth[parent] + 1;
        auto wait = wait_of.find(g.pids[v]);
        rows.push_back(TreeRow{g.pids[v], g.pids[root], parent < 0 ? 0 : g.pids[parent], depth[v],
                               wait == wait_of.end() ? -1 : wait->second, blocked_total[v],
                               static_cast<int32_t>(g.blockers[v].size()), on_cycle[v] != 0});
    };
    for (int root : roots) {
        if (listed[root]) continue;  // cannot happen for a real root; a guard for the cycle ones
        emit(root, root, -1);
        frames.assign(1, {root, 0});
        while (!frames.empty()) {
            auto &[v, next] = frames.back();
            if (next == children[v].size()) {
                frames.pop_back();
                continue;
            }
            const int w = children[v][next++];
            if (listed[w]) continue;
            emit(w, root, v);
            frames.emplace_back(w, 0);
        }
    }
    return rows;
}

std::string dot_escape(const std::string &text) {
    std::string out;
    out.reserve(text.size() + 8);
    for (size_t i = 0; i < text.size(); i++) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '"') {
            out += "\\\"";
        } else if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            if (i + 1 < text.size() && text[i + 1] == '\n') continue;  // CRLF is one line break
            out += "\\n";
        } else if (c < 0x20 || c == 0x7f) {
            out += ' ';
        } else {
            out += static_cast<char>(c);  // bytes >= 0x80 (UTF-8) pass through
        }
    }
    return out;
}

// NOLINTNEXTLINE(readability-function-cognitive-complexity): a flat list of output cases
std::string to_dot(const std::vector<WaitEdge> &edges, const std::vector<WaitNode> &nodes,
                   const std::string &graph_name) {
    const Graph g(edges);
    int component_count = 0;
    const std::vector<int> component = strongly_connected_components(g, &component_count);
    const std::vector<char> on_cycle = cycle_flags(g, component, component_count);
    std::unordered_map<int32_t, const WaitNode *> node_of;
    for (const auto &node : nodes) node_of.emplace(node.pid, &node);

    std::string out = "digraph \"" + dot_escape(graph_name) + "\" {\n";
    out += "  rankdir=LR;\n";
    out += "  node [shape=box];\n";
    for (int v = 0; v < g.size(); v++) {
        const std::string pid = std::to_string(g.pids[v]);
        std::string label = "pid " + pid;
        auto found = node_of.find(g.pids[v]);
        if (found != node_of.end() && !found->second->label.empty()) label += "\\n" + dot_escape(found->second->label);
        out += "  \"";
        out += pid;
        out += "\" [label=\"";
        out += label;
        out += '"';
        if (g.blockers[v].empty()) out += ", style=filled, fillcolor=\"#f4cccc\", penwidth=2";  // root blocker
        if (on_cycle[v]) out += ", color=red";
        out += "];\n";
    }
    for (int v = 0; v < g.size(); v++) {
        auto found = node_of.find(g.pids[v]);
        const int64_t wait_ms = found == node_of.end() ? -1 : found->second->wait_ms;
        for (int b : g.blockers[v]) {
            out += "  \"" + std::to_string(g.pids[v]) + "\" -> \"" + std::to_string(g.pids[b]) + "\"";
            std::string attributes;
            if (wait_ms >= 0) attributes += "label=\"" + std::to_string(wait_ms) + " ms\"";
            if (on_cycle[v] && component[v] == component[b]) attributes += std::string(attributes.empty() ? "" : ", ") + "color=red";
            if (!attributes.empty()) out += " [" + attributes + "]";
            out += ";\n";
        }
    }
    out += "}\n";
    return out;
}

}  // namespace lockguard
