#!/usr/bin/env python3
"""Checks the include arrows and the wing rules of src/ (python3, standard library only).

Rules (each reported as passed or failed):
  wing-order     a file in a wing of src/pg includes only its own wing, lower wings (src/pg/WINGS,
                 lowest first) and src/core; infra includes no wing
  wing-layout    every file of src/pg is in a listed wing, except module.cpp (the roof)
  no-cycle       no cycle among units (x.hpp and x.cpp are one unit)
  core-pure      src/core includes only C++ standard headers and src/core
  resolved       every "pg/..." or "core/..." include names an existing file
  hook-owner     only src/pg/infra/hooks.cpp assigns a PostgreSQL hook variable (..._hook = ...)
  entry-points   PG_FUNCTION_INFO_V1 (a wing's SQL face) appears only in <wing>/sql_functions.cpp
  version-compat PG_VERSION_NUM (a difference between PostgreSQL majors) appears only in
                 src/pg/infra/compat.hpp and compat.cpp

Usage: check_includes.py [--root DIR] [--self-test]
Exit 0 when every rule passes, 1 otherwise (one line per finding).
"""
import argparse
import os
import re
import shutil
import sys
import tempfile
from collections import defaultdict

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)

# The C++17 standard library, with the C headers it carries in both spellings.
CXX_STANDARD = set("""
algorithm any array atomic bitset cassert ccomplex cctype cerrno cfenv cfloat charconv chrono
cinttypes ciso646 climits clocale cmath codecvt complex condition_variable csetjmp csignal
cstdalign cstdarg cstdbool cstddef cstdint cstdio cstdlib cstring ctgmath ctime cuchar cwchar
cwctype deque exception execution filesystem forward_list fstream functional future
initializer_list iomanip ios iosfwd iostream istream iterator limits list locale map memory
memory_resource mutex new numeric optional ostream queue random ratio regex scoped_allocator set
shared_mutex sstream stack stdexcept streambuf string string_view strstream system_error thread
tuple type_traits typeindex typeinfo unordered_map unordered_set utility valarray variant vector
""".split())

RULES = ["wing-order", "wing-layout", "no-cycle", "core-pure", "resolved", "hook-owner", "entry-points",
         "version-compat"]
HOOK_ASSIGNMENT = re.compile(r"^[^/\n]*\b[A-Za-z_]+_hook\s*=(?!=)", re.M)
ENTRY_POINT = re.compile(r"^\s*PG_FUNCTION_INFO_V1\(", re.M)
VERSION_TEST = re.compile(r"\bPG_(?:MAJOR)?VERSION_NUM\b")
COMPAT_FILES = {os.path.join("pg", "infra", "compat.hpp"), os.path.join("pg", "infra", "compat.cpp")}


def read_wings(root):
    path = os.path.join(root, "src", "pg", "WINGS")
    with open(path) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def source_files(root):
    out = []
    for base, _, names in os.walk(os.path.join(root, "src")):
        for name in names:
            if name.endswith((".cpp", ".hpp", ".h", ".cc")):
                out.append(os.path.relpath(os.path.join(base, name), os.path.join(root, "src")))
    return sorted(out)


def place(rel, wings):
    """'core', a wing name, 'roof' (module.cpp), or None (a file of src/pg outside every wing)."""
    parts = rel.split(os.sep)
    if parts[0] == "core":
        return "core"
    if parts[0] == "pg":
        if len(parts) == 2:
            return "roof" if parts[1] == "module.cpp" else None
        return parts[1] if parts[1] in wings else None
    return None


def unit(rel):
    return os.path.splitext(rel)[0]


def find_cycles(graph):
    """Strongly connected components of more than one unit (Tarjan, iterative)."""
    index, low, on_stack, stack, result, counter = {}, {}, set(), [], [], [0]
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]; counter[0] += 1
        stack.append(start); on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]; counter[0] += 1
                    stack.append(child); on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop(); on_stack.discard(member); component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    result.append(sorted(component))
    return result


def check(root, quiet=False):
    wings = read_wings(root)
    rank = {w: i for i, w in enumerate(wings)}
    files = source_files(root)
    known = set(files)
    findings = defaultdict(list)
    arrows = defaultdict(int)
    graph = defaultdict(set)

    for rel in files:
        where = place(rel, wings)
        if rel.startswith("pg" + os.sep) and where is None:
            findings["wing-layout"].append(f"src/{rel}: outside every wing listed in src/pg/WINGS")
        with open(os.path.join(root, "src", rel), errors="replace") as f:
            text = f.read()
        if rel.startswith("pg" + os.sep) and rel != os.path.join("pg", "infra", "hooks.cpp"):
            for match in HOOK_ASSIGNMENT.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                findings["hook-owner"].append(f"src/{rel}:{line}: assigns a hook outside infra/hooks.cpp")
        if where in rank and os.path.basename(rel) != "sql_functions.cpp":
            for match in ENTRY_POINT.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                findings["entry-points"].append(
                    f"src/{rel}:{line}: an fmgr entry point outside {where}/sql_functions.cpp")
        if rel not in COMPAT_FILES:
            for match in VERSION_TEST.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                findings["version-compat"].append(
                    f"src/{rel}:{line}: a PostgreSQL version test outside infra/compat (CONTRIBUTING.md)")
        for match in INCLUDE.finditer(text):
            bracket, target = match.group(1), match.group(2)
            line = text.count("\n", 0, match.start()) + 1
            at = f"src/{rel}:{line}"
            project = bracket == '"' and target.split("/")[0] in ("pg", "core")
            if where == "core" and not project:
                if bracket == '"' or target not in CXX_STANDARD:
                    findings["core-pure"].append(f"{at}: src/core includes <{target}>, not a C++ standard header")
                continue
            if not project:
                continue  # PostgreSQL and standard headers in src/pg
            if target not in known:
                findings["resolved"].append(f"{at}: \"{target}\" names no file under src/")
                continue
            to = place(target, wings)
            graph[unit(rel)].add(unit(target))
            if where == "core" and to != "core":
                findings["core-pure"].append(f"{at}: src/core includes src/{target}")
            if where in rank and to in rank:
                if where == "infra" and to != "infra":
                    findings["wing-order"].append(f"{at}: infra includes the {to} wing ({target})")
                elif rank[to] > rank[where]:
                    findings["wing-order"].append(
                        f"{at}: upward arrow {where} -> {to} ({target}); {to} is above {where} in src/pg/WINGS")
            elif where in rank and to == "roof":
                findings["wing-order"].append(f"{at}: a wing includes module.cpp")
            if where != to and where is not None and to is not None:
                arrows[(where, to)] += 1

    for component in find_cycles(graph):
        findings["no-cycle"].append("cycle among: " + ", ".join(component))

    failed = [r for r in RULES if findings[r]]
    if not quiet:
        for r in RULES:
            for finding in findings[r]:
                print(f"FAIL [{r}] {finding}")
        per_place = defaultdict(int)
        for rel in files:
            per_place[place(rel, wings) or "(outside)"] += 1
        print(f"{len(files)} files under src/: " +
              ", ".join(f"{p} {per_place[p]}" for p in ["core", "roof"] + wings + ["(outside)"] if per_place[p]))
        print("include arrows between places (from -> to: include lines):")
        order = ["roof"] + list(reversed(wings)) + ["core"]
        for (a, b) in sorted(arrows, key=lambda k: (order.index(k[0]) if k[0] in order else 99,
                                                  order.index(k[1]) if k[1] in order else 99)):
            print(f"  {a:>8} -> {b:<8} {arrows[(a, b)]}")
        print(f"check_includes: {len(RULES) - len(failed)} passed, {len(failed)} failed"
              + (f" ({sum(len(findings[r]) for r in failed)} findings)" if failed else ""))
    return findings


def self_test(root):
    """Copies src/ and injects one breach per rule: each must be caught."""
    cases = [
        ("wing-order", "pg/infra/clip.cpp", '#include "pg/acquire/lock_wait.hpp"\n'),
        ("wing-order", "pg/state/queue_order.cpp", '#include "pg/observe/audit.hpp"\n'),
        ("core-pure", "core/histogram.cpp", '#include "postgres.h"\n'),
        ("core-pure", "core/histogram.cpp", '#include <unistd.h>\n'),
        ("core-pure", "core/histogram.cpp", '#include "pg/infra/clip.hpp"\n'),
        ("no-cycle", "core/error.hpp", '#include "core/policy.hpp"\n'),
        ("resolved", "pg/infra/clip.cpp", '#include "pg/infra/no_such_file.hpp"\n'),
        ("wing-layout", "pg/stray.cpp", "int stray;\n"),
        ("hook-owner", "pg/guard/guardrails.cpp", "void f() { ProcessUtility_hook = nullptr; }\n"),
        ("entry-points", "pg/observe/graph_views.cpp", "PG_FUNCTION_INFO_V1(lockguard_stray);\n"),
        ("version-compat", "pg/state/queue_order.cpp", "#if PG_VERSION_NUM >= 170000\n#endif\n"),
    ]
    ok = True
    for rule, rel, text in cases:
        with tempfile.TemporaryDirectory() as scratch:
            shutil.copytree(os.path.join(root, "src"), os.path.join(scratch, "src"))
            baseline = {r: len(v) for r, v in check(scratch, quiet=True).items()}
            path = os.path.join(scratch, "src", rel)
            with open(path, "a") as f:
                f.write(text)
            after = check(scratch, quiet=True)
            caught = len(after[rule]) > baseline.get(rule, 0)
            ok &= caught
            print(f"self-test {'caught' if caught else 'MISSED'} [{rule}] {text.strip()} in src/{rel}")
    print(f"check_includes self-test: {'passed' if ok else 'failed'}")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    if args.self_test:
        return 0 if self_test(root) else 1
    findings = check(root)
    return 1 if any(findings[r] for r in RULES) else 0


if __name__ == "__main__":
    sys.exit(main())
