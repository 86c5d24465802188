#!/usr/bin/python3
"""Pictures, checks and the markdown report of lockguard's benchmark (test/bench/run.sh).

Standard library only (Debian's python3 package); pictures are drawn by gnuplot (gnuplot-nox).

  report.py plot RESULTS.jsonl OUTDIR              one PNG per scenario into OUTDIR
  report.py markdown BENCHDIR OUT.md              regenerate docs/benchmarks.md from BENCHDIR's
                                                   results-full*.jsonl (one column per major),
                                                   results-scenarios.jsonl and notes.md
  report.py pending RESULTS.jsonl POINT [CAP]      exit 1 naming the point's unresolved verdicts (with
                                                   CAP, those projected to resolve within CAP rounds)
  report.py verdicts RESULTS.jsonl [CAP]           every target's verdict and the others' load
  report.py compare-builds RESULTS.jsonl [REFERENCE]  compare-builds.sh's summary: each build's ratios
                                                   to REFERENCE (default advisory), with intervals
  report.py check-quick [--traces DIR] [--overrun-probe FILE] RESULTS.jsonl SCENARIOS.jsonl PNGDIR SERVER_LOG...
                                                   the quick layer's assertions (never speed)
  report.py cost-markdown RESULTS.jsonl META.txt OUT.md  the cost points alone (run.sh --cost)
"""
import csv
import statistics
import json
import os
import re
import subprocess
import sys
import tempfile

NAMES = {
    "for_update": "FOR UPDATE",
    "advisory": "pg_advisory_xact_lock",
    "advisory_for_update": "advisory lock + FOR UPDATE",
    "for_update_retry": "FOR UPDATE + timeout + retries",
    "lg_row": "lockguard row",
    "lg_row_prio": "lockguard row + priority",
    "lg_named": "lockguard named",
    "lg_multi": "lockguard multi-acquire",
    "lg_run": "lockguard_run",
    "for_update_work": "FOR UPDATE + the work function",
    "client_rwl": "client run_with_lock",
}
CONTENDERS = ["for_update", "advisory", "for_update_retry", "lg_row", "lg_named", "lg_multi", "lg_run", "client_rwl"]
PRIORITY_CONTENDERS = ["for_update", "advisory", "lg_row", "lg_row_prio"]
SCENARIOS = ["uncontended", "hot1", "hot10", "hot1000", "nominal", "transfer10", "transfer100", "priority"]
# Contenders that lock two rows one by one in random order: deadlocks are their expected outcome
# in the transfer scenarios, so the quick check only asks them for some outcome, not commits.
RANDOM_ORDER = {"for_update", "advisory", "lg_row", "lg_named"}
BARS = ("set style data histograms\nset style fill solid 0.8 border -1\nset boxwidth 0.8\n"
        "set xtics rotate by -25 nomirror\nset bmargin 8\n")
# Noisy neighbour (issue 5) and monitoring overhead (issue 4): configurations within one scenario,
# told apart by the driver's tags ("config").
NOISY_CONFIGS = ["b_alone", "plain", "lockguard"]
NOISY_NAMES = {"b_alone": "B alone (FOR UPDATE)", "plain": "beside A, both FOR UPDATE",
               "lockguard": "beside A, lockguard + budgets"}
MONITORING_CONFIGS = ["off", "1000", "100"]
MONITORING_NAMES = {"off": "sampling off (interval 0)", "1000": "sampling every 1000 ms", "100": "sampling every 100 ms"}
# The cost points (issue 15): lockguard preloaded or not under pgbench; the views' read times.
PRELOAD_WORKLOADS = ["tpcb-like", "select-only"]
PRELOAD_CONFIGS = ["not_loaded", "preloaded"]
VIEWS = ["locks", "wait_graph", "blocking_tree", "wait_stats", "tenants", "deadlocks", "metrics", "audit",
         "wait_graph_dot()"]
CRASH = re.compile(r"terminated by signal|TRAP: |PANIC: |was terminated by exception")


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def expected_contenders(scenario):
    return PRIORITY_CONTENDERS if scenario == "priority" else CONTENDERS


def ok_rows(rows, scenario):
    return [r for r in rows if r.get("scenario") == scenario and "driver_failed" not in r]


def by_contender(rows, scenario, clients=None):
    out = {}
    for r in ok_rows(rows, scenario):
        if clients is None or r["clients"] == clients:
            out[r["contender"]] = r
    return out


def by_config(rows, scenario):
    """config -> list of result rows (several per config for the monitoring rounds)."""
    out = {}
    for r in ok_rows(rows, scenario):
        out.setdefault(r.get("tags", {}).get("config"), []).append(r)
    return out


def p95(d):
    return (d or {}).get("p95")


def noisy_b(r):
    """B's figures in one noisy result: {class: (txn p95, lock-wait p95, committed)}."""
    cl = r.get("classes", {})
    return {k: (p95(cl.get(k, {}).get("txn_ms")), p95(cl.get(k, {}).get("lock_wait_ms")), cl.get(k, {}).get("committed", 0))
            for k in ("b_own", "b_shared", "a")}


def monitoring_summary(rows):
    """config -> (mean TPS over rounds, [TPS per round], samples written, edges written)."""
    out = {}
    for cfg, rs in by_config(rows, "monitoring").items():
        rs = sorted(rs, key=lambda r: int(r.get("tags", {}).get("round", 0)))
        tps = [r["tps"] for r in rs]
        samples = sum((r.get("sampled") or {}).get("samples", 0) for r in rs)
        edges = sum((r.get("sampled") or {}).get("edges", 0) for r in rs)
        out[cfg] = (sum(tps) / len(tps), tps, samples, edges)
    return out


def num(x, digits=1):
    if x is None:
        return "–"
    if isinstance(x, float) and digits == 0:
        return f"{x:.0f}"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


# ----------------------------------------------------------------------------------------------
# Pictures
# ----------------------------------------------------------------------------------------------
def gp_quote(s):
    return '"' + s.replace('"', '\\"') + '"'


def plot(results, outdir):
    rows = load(results)
    os.makedirs(outdir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="lgbench-plot-")
    scripts = []
    term = 'set terminal pngcairo size 1200,520 font "sans,10" noenhanced\n'
    for scenario in SCENARIOS:
        data = ok_rows(rows, scenario)
        if not data:
            continue
        png = os.path.join(outdir, f"{scenario}.png")
        clients = sorted({r["clients"] for r in data})
        gp = term + f"set output {gp_quote(png)}\nset multiplot layout 1,2 title {gp_quote(title(scenario, data))}\n"
        gp += "set grid ytics\nset key top left\n"
        if scenario.startswith("hot") and len(clients) > 1:
            conts = [c for c in expected_contenders(scenario) if any(r["contender"] == c for r in data)]
            dat = os.path.join(tmp, f"{scenario}.dat")
            with open(dat, "w") as f:
                f.write("clients " + " ".join(f'"{NAMES[c]}"' for c in conts) + " " +
                        " ".join(f'"{NAMES[c]}"' for c in conts) + "\n")
                for n in clients:
                    m = by_contender(rows, scenario, n)
                    tps = [str(m[c]["tps"]) if c in m else "NaN" for c in conts]
                    p95 = [str(max(m[c]["txn_ms"]["p95"] or 0.001, 0.001)) if c in m else "NaN" for c in conts]
                    f.write(f"{n} " + " ".join(tps) + " " + " ".join(p95) + "\n")
            k = len(conts)
            gp += "set key below horizontal maxrows 3\n"
            gp += "set xlabel 'clients'\nset logscale x 2\nset ylabel 'committed transactions per second'\nset yrange [0:*]\n"
            gp += f"plot for [i=2:{k + 1}] {gp_quote(dat)} using 1:i with linespoints lw 2 title columnheader(i)\n"
            gp += "set logscale y\nset yrange [*:*]\nset ylabel 'transaction latency p95 (ms, log)'\n"
            gp += f"plot for [i={k + 2}:{2 * k + 1}] {gp_quote(dat)} using 1:i with linespoints lw 2 title columnheader(i)\n"
        elif scenario == "priority":
            m = by_contender(rows, scenario)
            conts = [c for c in PRIORITY_CONTENDERS if c in m]
            dat = os.path.join(tmp, f"{scenario}.dat")
            with open(dat, "w") as f:
                f.write("# contender tps high low\n")
                for c in conts:
                    cl = m[c].get("classes", {})
                    hi = cl.get("high", {}).get("lock_wait_ms", {}).get("p95") or 0.001
                    lo = cl.get("low", {}).get("lock_wait_ms", {}).get("p95") or 0.001
                    f.write(f'"{NAMES[c]}" {m[c]["tps"]} {hi} {lo}\n')
            n = len(conts)
            gp += BARS + f"set xrange [-0.6:{n - 0.4}]\nunset key\n"
            gp += "set ylabel 'committed transactions per second'\nset yrange [0:*]\n"
            gp += f"plot {gp_quote(dat)} using 2:xtic(1) lc rgb '#4477aa'\n"
            gp += "set key top left\n"
            gp += "set logscale y\nset yrange [*:*]\nset ylabel 'lock-wait p95 (ms, log)'\n"
            gp += f"plot {gp_quote(dat)} using 3:xtic(1) title 'priority 100 (10%)', '' using 4 title 'priority 0 (90%)'\n"
        else:
            m = by_contender(rows, scenario)
            conts = [c for c in expected_contenders(scenario) if c in m]
            dat = os.path.join(tmp, f"{scenario}.dat")
            transfer = scenario.startswith("transfer")
            with open(dat, "w") as f:
                f.write("# contender tps p95 failures\n")
                for c in conts:
                    r = m[c]
                    fails = (r["deadlocks"] + r["lock_timeouts"]) / max(r["committed"], 1)
                    f.write(f'"{NAMES[c]}" {r["tps"]} {r["lock_wait_ms"]["p95"] or 0} {fails}\n')
            n = len(conts)
            gp += BARS + f"set xrange [-0.6:{n - 0.4}]\nunset key\n"
            gp += "set ylabel 'committed transactions per second'\nset yrange [0:*]\n"
            gp += f"plot {gp_quote(dat)} using 2:xtic(1) lc rgb '#4477aa'\n"
            if transfer:
                gp += "set ylabel 'deadlocks + lock timeouts per committed transaction'\n"
                gp += f"plot {gp_quote(dat)} using 4:xtic(1) lc rgb '#cc6677'\n"
            else:
                gp += "set ylabel 'lock-wait p95 (ms)'\n"
                gp += f"plot {gp_quote(dat)} using 3:xtic(1) lc rgb '#cc6677'\n"
        gp += "unset multiplot\n"
        scripts.append(gp)
    gp = plot_noisy(rows, outdir, tmp, term)
    if gp:
        scripts.append(gp)
    gp = plot_monitoring(rows, outdir, tmp, term)
    if gp:
        scripts.append(gp)
    for gp in scripts:
        p = subprocess.run(["gnuplot"], input=gp, text=True, capture_output=True)
        if p.returncode != 0:
            sys.stderr.write(p.stderr)
            return 1
    return 0


def plot_noisy(rows, outdir, tmp, term):
    m = by_config(rows, "noisy")
    cfgs = [c for c in NOISY_CONFIGS if c in m]
    if not cfgs:
        return None
    d = m[cfgs[-1]][0]
    dat = os.path.join(tmp, "noisy.dat")
    with open(dat, "w") as f:
        f.write("# config own_txn shared_txn own_lock shared_lock\n")
        for c in cfgs:
            b = noisy_b(m[c][0])
            f.write(f'"{NOISY_NAMES[c]}" {b["b_own"][0] or 0.001} {b["b_shared"][0] or 0.001} '
                    f'{b["b_own"][1] or 0.001} {b["b_shared"][1] or 0.001}\n')
    n = len(cfgs)
    png = os.path.join(outdir, "noisy.png")
    t = (f"noisy neighbour: tenant B ({d.get('b_clients')} clients, {d.get('shared_share', 0) * 100:.0f}% on shared rows 1..{d.get('hot_keys')}) "
         f"beside tenant A ({d.get('a_clients')} clients on rows 1..{d.get('hot_keys')}), {d['keys']} rows")
    gp = term + f"set output {gp_quote(png)}\nset multiplot layout 1,2 title {gp_quote(t)}\n"
    gp += "set grid ytics\n" + BARS + f"set xrange [-0.6:{n - 0.4}]\nset key top left\nset logscale y\n"
    gp += "set ylabel \"B's transaction latency p95 (ms, log)\"\n"
    gp += f"plot {gp_quote(dat)} using 2:xtic(1) title 'own rows (90%)' lc rgb '#4477aa', '' using 3 title 'shared rows (10%)' lc rgb '#cc6677'\n"
    gp += "set ylabel \"B's lock-wait p95 (ms, log)\"\n"
    gp += f"plot {gp_quote(dat)} using 4:xtic(1) title 'own rows (90%)' lc rgb '#4477aa', '' using 5 title 'shared rows (10%)' lc rgb '#cc6677'\n"
    gp += "unset multiplot\n"
    return gp


def plot_monitoring(rows, outdir, tmp, term):
    summ = monitoring_summary(rows)
    cfgs = [c for c in MONITORING_CONFIGS if c in summ]
    if not cfgs:
        return None
    d = ok_rows(rows, "monitoring")[0]
    rounds = max(len(summ[c][1]) for c in cfgs)
    dat = os.path.join(tmp, "monitoring.dat")
    with open(dat, "w") as f:
        f.write("config " + " ".join(f'"round {i + 1}"' for i in range(rounds)) + ' "mean"\n')
        for c in cfgs:
            tps = summ[c][1] + ["NaN"] * (rounds - len(summ[c][1]))
            f.write(f'"{MONITORING_NAMES[c]}" ' + " ".join(str(x) for x in tps) + f" {summ[c][0]}\n")
    png = os.path.join(outdir, "monitoring.png")
    t = (f"monitoring overhead: {d['keys']} hot rows, {d['clients']} clients, lockguard row; configurations "
         f"alternated over {rounds} round(s)")
    gp = term + f"set output {gp_quote(png)}\nset multiplot layout 1,2 title {gp_quote(t)}\n"
    gp += "set grid ytics\n" + BARS.replace("set boxwidth 0.8\n", "") + f"set xrange [-0.6:{len(cfgs) - 0.4}]\nset key below horizontal\n"
    gp += "set style histogram clustered gap 1\nset ylabel 'committed transactions per second'\nset yrange [0:*]\n"
    gp += f"plot for [i=2:{rounds + 1}] {gp_quote(dat)} using i:xtic(1) title columnheader(i)\n"
    base = summ.get("off", (0,))[0]
    dat2 = os.path.join(tmp, "monitoring-overhead.dat")
    with open(dat2, "w") as f:
        for c in cfgs:
            f.write(f'"{MONITORING_NAMES[c]}" {(1 - summ[c][0] / base) * 100 if base else 0}\n')
    gp += "unset key\nset yrange [*:*]\nset ylabel 'TPS lost against sampling off, mean of rounds (%)'\n"
    gp += "set style histogram clustered gap 1\n"
    gp += f"plot {gp_quote(dat2)} using 2:xtic(1) lc rgb '#cc6677', 1 with lines lc rgb '#333333' dt 2 notitle\n"
    gp += "unset multiplot\n"
    return gp


def title(scenario, data):
    d = data[0]
    if scenario == "uncontended":
        return f"uncontended: one row of {d['keys']:,} per transaction, {d['clients']} clients"
    if scenario.startswith("hot"):
        return f"{d['keys']} hot row(s): lock + UPDATE + COMMIT"
    if scenario == "nominal":
        return f"nominal: zipfian (exponent {d.get('theta', 0):.2f}) over {d['keys']:,} rows, {d['clients']} clients"
    if scenario.startswith("transfer"):
        return f"transfers between two random rows of {d['keys']}, {d['clients']} clients"
    if scenario == "priority":
        return f"priorities on {d['keys']} hot rows, {d['clients']} clients, 10% high"
    return scenario


# ----------------------------------------------------------------------------------------------
# Markdown
# ----------------------------------------------------------------------------------------------
def lat(d):
    if not d or not d.get("n"):
        return "– / – / – / –"
    return f"{d['p50']:.1f} / {d['p95']:.1f} / {d['p99']:.1f} / {d['max']:.0f}"


def table(rows, with_clients=False, transfer=False):
    head = "| contender |" + (" clients |" if with_clients else "") + \
        " TPS | committed | lock timeouts | deadlocks | deadlocks / txn | lock wait p50 / p95 / p99 / max (ms) |" \
        " transaction p50 / p95 / p99 / max (ms) |"
    if transfer:
        head += " retries inside lockguard_run |"
    out = [head, "|" + " --- |" * (head.count("|") - 1)]
    for r in rows:
        if "driver_failed" in r:
            out.append(f"| {NAMES.get(r['contender'], r['contender'])} |" + (f" {r['clients']} |" if with_clients else "") +
                       f" driver failed: {r['driver_failed'][:80]} |")
            continue
        line = f"| {NAMES[r['contender']]} |" + (f" {r['clients']} |" if with_clients else "")
        line += (f" {r['tps']:.0f} | {r['committed']} | {r['lock_timeouts']} | {r['deadlocks']} |"
                 f" {r['deadlocks_per_txn']:.4f} | {lat(r['lock_wait_ms'])} | {lat(r['txn_ms'])} |")
        if transfer:
            line += f" {max(r['server_attempts'] - r['committed'], 0) if r['contender'] == 'lg_run' else '–'} |"
        out.append(line)
    return "\n".join(out)


def verdict(ok):
    return "met" if ok else "**missed**"


def targets(rows):
    out = ["| target | measured | verdict |", "| --- | --- | --- |"]
    u = by_contender(rows, "uncontended")
    if "for_update" in u:
        base = u["for_update"]["tps"]
        for c in ["lg_row", "lg_named", "lg_multi", "lg_run"]:
            if c in u and base:
                ratio = u[c]["tps"] / base
                out.append(f"| uncontended: {NAMES[c]} TPS ≥ 0.97 × FOR UPDATE | {u[c]['tps']:.0f} vs {base:.0f} TPS "
                           f"= {ratio:.3f} | {verdict(ratio >= 0.97)} |")
    h = by_contender(rows, "hot1", 64)
    if "for_update" in h:
        b = h["for_update"]
        for c in ["lg_row", "lg_named", "lg_multi"]:
            if c in h:
                r = h[c]
                tr = r["tps"] / b["tps"] if b["tps"] else 0
                pr = r["txn_ms"]["p95"] / b["txn_ms"]["p95"] if b["txn_ms"]["p95"] else 0
                out.append(f"| hot row, 64 clients: {NAMES[c]} TPS ≥ 1.8 × FOR UPDATE | {r['tps']:.0f} vs {b['tps']:.0f} "
                           f"= {tr:.2f}× | {verdict(tr >= 1.8)} |")
                out.append(f"| hot row, 64 clients: {NAMES[c]} transaction p95 ≤ ¼ of FOR UPDATE's | "
                           f"{r['txn_ms']['p95']:.1f} vs {b['txn_ms']['p95']:.1f} ms = {pr:.2f} | {verdict(pr <= 0.25)} |")
    nm = by_contender(rows, "nominal")
    for c in ["lg_row", "lg_named", "lg_multi", "lg_run"]:
        if c in nm:
            p = nm[c]["lock_wait_ms"]["p95"]
            out.append(f"| nominal: {NAMES[c]} lock-wait p95 < 15 ms | {p:.1f} ms | {verdict(p < 15)} |")
    for s in ["transfer10", "transfer100"]:
        t = by_contender(rows, s)
        for c in ["lg_multi", "lg_run"]:
            if c in t:
                r = t[c]
                inner = max(r["server_attempts"] - r["committed"], 0) if c == "lg_run" else 0
                extra = f" ({inner} retried attempts inside lockguard_run)" if c == "lg_run" else ""
                out.append(f"| {s}: {NAMES[c]} zero deadlocks | {r['deadlocks']} deadlocks, {r['lock_timeouts']} timeouts"
                           f"{extra} | {verdict(r['deadlocks'] == 0)} |")
        worst = [f"{NAMES[c]} {t[c]['deadlocks_per_txn'] * 100:.2f}%" for c in CONTENDERS if c in t and t[c]["deadlocks_per_txn"] >= 0.001]
        lg_bad = [c for c in CONTENDERS if c.startswith("lg_") and c in t and t[c]["deadlocks_per_txn"] >= 0.001]
        out.append(f"| {s}: deadlocks < 0.1% of transactions (lockguard's deadlock-free path: multi-acquire, lockguard_run) | "
                   f"at or above 0.1%: {', '.join(worst) if worst else 'none'} | "
                   f"{verdict(not [c for c in lg_bad if c in ('lg_multi', 'lg_run')])} |")
    p = by_contender(rows, "priority")
    if "lg_row_prio" in p:
        r = p["lg_row_prio"]
        hi = r["classes"]["high"]["lock_wait_ms"]["p95"] or 0
        lo = r["classes"]["low"]["lock_wait_ms"]["p95"] or 0
        ratio = hi / lo if lo else 0
        out.append(f"| priorities: high lock-wait p95 ≤ 0.05 × low | {hi:.1f} vs {lo:.1f} ms = {ratio:.3f} | {verdict(ratio <= 0.05)} |")
        if "lg_row" in p:
            tr = r["tps"] / p["lg_row"]["tps"] if p["lg_row"]["tps"] else 0
            out.append(f"| priorities: same TPS as without priorities (within 5%) | {r['tps']:.0f} vs {p['lg_row']['tps']:.0f} "
                       f"= {tr:.3f} | {verdict(tr >= 0.95)} |")
    nz = by_config(rows, "noisy")
    if "lockguard" in nz:
        b = noisy_b(nz["lockguard"][0])
        own, shared = b["b_own"][0], b["b_shared"][0]
        if own and shared:
            ratio = shared / own
            out.append(f"| noisy neighbour, under lockguard: B's shared-row transaction p95 ≤ 2 × its own-row p95 | "
                       f"{shared:.1f} vs {own:.1f} ms = {ratio:.2f}× | {verdict(ratio <= 2)} |")
            out.append(f"| noisy neighbour, under lockguard: B's shared-row transaction p95 < 150 ms | {shared:.1f} ms | "
                       f"{verdict(shared < 150)} |")
    summ = monitoring_summary(rows)
    if "off" in summ and "1000" in summ and summ["off"][0]:
        base = summ["off"][0]
        spread = (max(summ["off"][1]) - min(summ["off"][1])) / base * 100 if len(summ["off"][1]) > 1 else None
        for cfg, target in (("1000", 1.0), ("100", None)):
            if cfg not in summ:
                continue
            ov = (1 - summ[cfg][0] / base) * 100
            note = f"; the off rounds alone spread {spread:.1f}%" if spread is not None else ""
            if target is None:
                out.append(f"| monitoring, sampling every 100 ms: overhead (no target, reported) | {ov:+.1f}% "
                           f"({summ[cfg][0]:.0f} vs {base:.0f} TPS{note}) | – |")
            else:
                out.append(f"| monitoring, sampling every 1000 ms: TPS overhead < 1% against off | {ov:+.1f}% "
                           f"({summ[cfg][0]:.0f} vs {base:.0f} TPS, mean of {len(summ[cfg][1])} rounds{note}) | "
                           f"{verdict(ov < target)}{' (smaller than the spread between off rounds: not resolved by this run)' if spread is not None and abs(ov) < spread else ''} |")
    return "\n".join(out)


def read_meta(meta_path):
    meta, settings = {}, []
    with open(meta_path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition(": ")
            if k == "setting":
                settings.append(v)
            else:
                meta.setdefault(k, v)
    return meta, settings


def markdown_scenarios(results, meta_path, w0):
    """The scenarios run (run.sh --scenarios: the former full mode, tuned cluster, each contender once
    per point), as one section of docs/benchmarks.md; its headings one level down."""
    rows = load(results)
    meta, settings = read_meta(meta_path)

    def w(text):
        w0(re.sub(r"^(#+) ", r"#\1 ", text))
    w0(f"## Scenarios: the run of {meta.get('started', '?')} (tuned cluster, each contender once per point)\n")
    w(f"> **From the scenarios run, not the targets run above.** Everything in this section comes from "
      f"[bench/results-scenarios.jsonl](bench/results-scenarios.jsonl), the run of **{meta.get('started', '?')}** "
      f"({int(meta.get('elapsed_s', 0)) // 60} min), lockguard `{meta.get('lockguard', '?')}`, {meta.get('postgres', '?')}, "
      "made by `bash test/bench/run.sh --scenarios` on a tuned cluster (`fsync = off`, the settings below) with each "
      "contender run once per point, on a shared 2-core machine while other engineers were building and testing on it "
      f"(load average {meta.get('loadavg_before', '?')} before, {meta.get('loadavg_after', '?')} after). Its figures are "
      "indicative only; no verdict of the targets above is taken from it.\n")
    w("## Machine and settings\n")
    w(f"- {meta.get('nproc', '?')} CPUs ({meta.get('cpu', '?')}), {meta.get('memory', '?')} memory, "
      f"{meta.get('os', '?')}, kernel {meta.get('kernel', '?')}")
    w(f"- every point: {meta.get('warmup_s', '?')} s warm-up, then {meta.get('duration_s', '?')} s measured; the "
      "contenders of one point run back to back; `VACUUM accounts` and `CHECKPOINT` before each point")
    w("- cluster settings (the same for every run):\n")
    w("```")
    for s in settings:
        w(s)
    w("```\n")
    w("`fsync = off`: the benchmark measures locking, not the disk (one commit at a time still bounds a hot row).\n")
    w("## What is measured\n")
    w("- Table `accounts(id int primary key, balance bigint, filler char(84))`, 1,000,000 rows; hot rows are ids 1..N.")
    w("- Each client (a thread of `lgbench`, one connection over the unix socket) runs its transaction in a closed loop: "
      "`BEGIN`, lock statement(s), `UPDATE`(s), `COMMIT`. Parameters are drawn per transaction; statements are prepared.")
    w("- **Lock wait** is the client-side time of the lock statement(s) of one attempt (for `lockguard_run`, the whole "
      "call, which includes the work it runs). **Transaction** latency runs from the first `BEGIN` to the end of `COMMIT`, "
      "including client retries and their back-off. Percentiles are nearest-rank over every sample of the measured "
      "window, in ms. TPS counts transactions committed within the window.")
    w("- After a lock timeout (55P03), a deadlock (40P01) or any other error the client issues `ROLLBACK` and goes on "
      "with a new transaction (the retry contender retries the same one). *Deadlocks / txn* is deadlocks per committed "
      "transaction.\n")
    w("| contender | lock statement(s) |")
    w("| --- | --- |")
    w("| FOR UPDATE | `SELECT balance FROM accounts WHERE id = $1 FOR UPDATE` per row, no timeout |")
    w("| pg_advisory_xact_lock | `SELECT pg_advisory_xact_lock($1)` per row |")
    w("| advisory lock + FOR UPDATE | `SELECT balance FROM accounts WHERE id = $1 AND pg_advisory_xact_lock($1) IS NOT NULL "
      "FOR UPDATE` per row: a FIFO gate, then the row's tuple lock, in one statement (the row scope's floor without "
      "lockguard; the targets run's hot and nominal points) |")
    w("| FOR UPDATE + lock_timeout + retries | `FOR UPDATE` with `lock_timeout = 100ms`; on 55P03/40P01 roll back, sleep "
      "(exponential back-off 10 ms doubling to 1 s, equal jitter) and retry, at most 5 attempts |")
    w("| lockguard row | `lockguard_acquire_row('accounts', $1)` per row (default timeout 10 s) |")
    w("| lockguard row + priority | same, `priority => 100` for the high class, 0 otherwise |")
    w("| lockguard named | `lockguard_acquire('acct:' \\|\\| $1)` per row |")
    w("| lockguard multi-acquire | one `lockguard_acquire_all(ARRAY[lockguard.row_lock('accounts', $1), ...])` |")
    w("| lockguard_run | `lockguard_run(ARRAY[row_lock...], 'bench_work(jsonb)', ..., max_attempts => 5, timeout_ms => 100)`;"
      " `bench_work` (PL/pgSQL) does the updates inside the envelope |")
    w("| FOR UPDATE + the work function | `FOR UPDATE` per row, then `SELECT bench_work($1::jsonb)` with lockguard_run's "
      "argument: lockguard_run's floor without lockguard, one round trip more (the targets run's uncontended point) |")
    w("| client run_with_lock | the client library's `LockContext::run_with_lock` (docs/client.md) in the driver's "
      "threads: `Resource::row('accounts', $1)` per row, taken in one `lockguard_acquire_all` (canonical order, "
      "`timeout_ms` 100), the updates in `fn` as unnamed statements; on 55P03/40P01 a real `ROLLBACK`, the core's "
      "back-off (10 ms doubling to 1 s) and retry, at most 5 attempts. Lock wait per attempt from the call's "
      "attempt log |")
    w("")
    if not any(r.get("contender") == "client_rwl" for r in rows):
        w("The client run_with_lock contender was added after this run: it runs in every scenario of the retry "
          "contender (the quick layer included), and its figures come from the next `--scenarios` run.\n")
    w("| scenario | definition |")
    w("| --- | --- |")
    w("| uncontended | one row drawn uniformly among 1,000,000, 8 clients |")
    w("| hot1 / hot10 / hot1000 | one row drawn uniformly among the first 1, 10 or 1000 rows; 1, 8, 32, 64 clients |")
    w("| nominal | lock and update one row drawn zipfian over 10,000 rows with exponent θ = 0.99 (P(rank k) ∝ 1/k^0.99, "
      "the YCSB default: the hottest row gets about 10% of the transactions, the top 10 about 29%), then read one row "
      "drawn uniformly; 16 clients |")
    w("| transfer10 / transfer100 | two distinct rows drawn uniformly among 10 or 100, locked one by one in the order "
      "drawn (random), then `balance - 1` and `balance + 1`; 16 clients. Multi-acquire and lockguard_run take both in "
      "their canonical order |")
    w("| priority | one row drawn uniformly among 5 hot rows, 32 clients; each transaction is high priority with "
      "probability 10% (priority 100), low otherwise (priority 0); `lockguard.aging_ms = 20` |")
    w("| noisy | noisy neighbour over rows 1..1000: tenant A (48 clients, role `bench_tenant_a`) locks and updates a row "
      "drawn uniformly among the shared rows 1..5; tenant B (4 clients, role `bench_tenant_b`) one of its own rows "
      "6..1000, or with probability 10% a shared row. Three configurations back to back: B alone (FOR UPDATE); beside "
      "A, both with plain FOR UPDATE; beside A, both with `lockguard_acquire_row` under the tenant budgets given below |")
    w("| monitoring | on a cluster with the server's default settings: 10 hot rows, 32 clients, lockguard row, with the background worker's wait-graph sampling off "
      "(`lockguard.sample_interval_ms = 0`) and every 1000 ms and 100 ms, switched by `ALTER SYSTEM` + "
      "`pg_reload_conf()` and alternated off / 1000 / 100 in rounds |")
    w("")
    w("## Targets\n")
    w("From issue 8; reported, never asserted in tests. A single noisy run decides nothing.\n")
    w(targets(rows))
    w("")
    w("## Results\n")
    sections = [
        ("uncontended", "Uncontended overhead", False, False),
        ("hot1", "One hot row", True, False),
        ("hot10", "10 hot rows", True, False),
        ("hot1000", "1000 hot rows", True, False),
        ("nominal", "Nominal load", False, False),
        ("transfer10", "Transfers among 10 rows", False, True),
        ("transfer100", "Transfers among 100 rows", False, True),
    ]
    for scenario, head, multi, transfer in sections:
        data = [r for r in rows if r.get("scenario") == scenario]
        if not data:
            continue
        w(f"### {head}\n")
        w(f"![{head}](bench/{scenario}.png)\n")
        order = {c: i for i, c in enumerate(CONTENDERS)}
        data.sort(key=lambda r: (r["clients"], order.get(r["contender"], 99)) if multi else order.get(r["contender"], 99))
        w(table(data, with_clients=multi, transfer=transfer))
        w("")
    data = [r for r in rows if r.get("scenario") == "priority" and "driver_failed" not in r]
    if data:
        w("### Priorities\n")
        w("![Priorities](bench/priority.png)\n")
        w("| contender | TPS | class | committed | lock wait p50 / p95 / p99 / max (ms) | transaction p50 / p95 / p99 / max (ms) |")
        w("| --- | --- | --- | --- | --- | --- |")
        for r in sorted(data, key=lambda r: PRIORITY_CONTENDERS.index(r["contender"])):
            for cls in ["high", "low"]:
                c = r["classes"][cls]
                w(f"| {NAMES[r['contender']]} | {r['tps']:.0f} | {cls} | {c['committed']} | {lat(c['lock_wait_ms'])} | {lat(c['txn_ms'])} |")
        w("")
    markdown_noisy(rows, w)
    markdown_monitoring(rows, w)
    markdown_preload(rows, w)
    markdown_view_reads(rows, w)
    w("Raw results of this section, one JSON line per (contender, scenario, clients): "
      "[bench/results-scenarios.jsonl](bench/results-scenarios.jsonl).\n")


def markdown_noisy(rows, w):
    nz = by_config(rows, "noisy")
    failed = [r for r in rows if r.get("scenario") == "noisy" and "driver_failed" in r]
    if not nz and not failed:
        return
    w("### Noisy neighbour\n")
    w("![Noisy neighbour](bench/noisy.png)\n")
    some = (nz.get("lockguard") or nz.get("plain") or nz.get("b_alone"))[0] if nz else {}
    budget = (nz.get("lockguard", [{}])[0].get("tags", {}).get("budget")) if nz else None
    w(f"Tenant A: {some.get('a_clients', '?')} clients on the shared rows 1..{some.get('hot_keys', '?')}; tenant B: "
      f"{some.get('b_clients', '?')} clients, {(1 - some.get('shared_share', 0.1)) * 100:.0f}% of transactions on its own rows "
      f"{some.get('hot_keys', 5) + 1}..{some.get('keys', '?')}, {some.get('shared_share', 0.1) * 100:.0f}% on the shared rows. "
      "Each client connects as its tenant's role, mapped to the tenant in `lockguard.tenant_roles`.\n")
    w(f"Budgets in the lockguard configuration: {budget or '–'}. With at most a handful of A's requests queued, a B "
      "request for a shared row finds at most the holder and those few A waiters ahead of it, and fair share (equal "
      "weights, B holding less) is meant to serve B before A's waiters that arrived within the same aging step. A's excess "
      f"fails fast with LG002; the client sleeps {some.get('refused_sleep_ms', '?')} ms (jittered 0.5×..1.5×) and retries "
      "the same transaction, counted below as *refused* (an A transaction's latency includes its refusals and sleeps). "
      "In the two plain configurations budgets play no part: they count lockguard locks only.\n")
    w("| configuration | TPS (all) | class | committed | refused | lock wait p50 / p95 / p99 / max (ms) | transaction p50 / p95 / p99 / max (ms) |")
    w("| --- | --- | --- | --- | --- | --- | --- |")
    for cfg in NOISY_CONFIGS:
        for r in nz.get(cfg, []):
            for cls, label in (("b_own", "B, own rows"), ("b_shared", "B, shared rows"), ("a", "A")):
                c = r["classes"].get(cls, {})
                if cls == "a" and not c.get("committed") and not c.get("refused"):
                    continue
                w(f"| {NOISY_NAMES[cfg]} | {r['tps']:.0f} | {label} | {c.get('committed', 0)} | {c.get('refused', 0)} | "
                  f"{lat(c.get('lock_wait_ms'))} | {lat(c.get('txn_ms'))} |")
    for r in failed:
        w(f"| {r.get('contender')} | driver failed: {r['driver_failed'][:80]} | | | | | |")
    w("")


def markdown_monitoring(rows, w):
    summ = monitoring_summary(rows)
    if not summ:
        return
    d = ok_rows(rows, "monitoring")[0]
    w("### Monitoring overhead\n")
    w("![Monitoring overhead](bench/monitoring.png)\n")
    w(f"{d['keys']} hot rows, {d['clients']} clients, lockguard row (as in the hot-row scenario), on the cost points' "
      "cluster: the server's default settings (JIT on, `fsync = on`; see *Preloaded, not called*). The worker runs in "
      "database `postgres` (`lockguard.database`'s default), where the scenario installs the extension first. "
      "*Off* is `lockguard.sample_interval_ms = 0`: the worker takes no wait-graph samples but still persists audit "
      "entries and deadlocks once a second, as it does in every configuration (at 100 ms, every 100 ms); "
      "`lockguard.database` would stop the worker entirely but only takes effect at a restart, which would break the "
      "alternation in one run. The configurations alternate off / 1000 / 100 in rounds so that drift in the "
      "machine's load hits each alike. *Samples* and *edges* are what the worker wrote into `lockguard.wait_history` "
      "during each point (warm-up included), checking that off samples nothing.\n")
    base = summ.get("off", (0,))[0]
    w("| configuration | TPS per round | mean TPS | overhead against off | wait-graph samples / edges written |")
    w("| --- | --- | --- | --- | --- |")
    for cfg in MONITORING_CONFIGS:
        if cfg not in summ:
            continue
        mean, tps, samples, edges = summ[cfg]
        ov = f"{(1 - mean / base) * 100:+.1f}%" if base and cfg != "off" else "–"
        w(f"| {MONITORING_NAMES[cfg]} | {', '.join(f'{x:.0f}' for x in tps)} | {mean:.0f} | {ov} | {samples} / {edges} |")
    w("")
    cost = [r for r in ok_rows(rows, "monitoring") if r.get("cpu") or r.get("worker")]
    if cost:
        w("The worker's own cost in each point: its CPU time read from `/proc/<pid>/stat` while the point ran, and "
          "what it measured itself (`lockguard.worker_stats()`: samples taken and their CPU time). *Others* is the "
          "CPU the machine spent on processes other than this cluster and its client meanwhile, in cores (of "
          f"{os.cpu_count()}): the noise the point suffered.\n")
        w("| configuration | round | TPS | worker CPU (/proc) | samples | CPU per sample | others (cores) |")
        w("| --- | --- | --- | --- | --- | --- | --- |")
        for cfg in MONITORING_CONFIGS:
            for r in sorted(by_config(rows, "monitoring").get(cfg, []), key=lambda r: int(r.get("tags", {}).get("round", 0))):
                cpu, wk = r.get("cpu") or {}, r.get("worker") or {}
                per = (wk.get("sample_cpu_ms", 0) / wk["samples"]) if wk.get("samples") else None
                w(f"| {MONITORING_NAMES[cfg]} | {r.get('tags', {}).get('round')} | {r['tps']:.0f} | "
                  f"{num(cpu.get('worker_cpu_s'), 2)} s | {wk.get('samples', '–')} | "
                  f"{num(per, 2) + ' ms' if per is not None else '–'} | {num(cpu.get('others_cores'), 2)} |")
        w("")


def spread_pct(values):
    m = statistics.median(values) if values else 0
    return (max(values) - min(values)) / m * 100 if m and len(values) > 1 else None


def preload_summary(rows):
    """(workload, config) -> [result rows] of the preload-only points."""
    out = {}
    for r in ok_rows(rows, "preload"):
        out.setdefault((r["workload"], r.get("tags", {}).get("config")), []).append(r)
    return out


def markdown_preload(rows, w):
    summ = preload_summary(rows)
    if not summ:
        return
    w("### Preloaded, not called\n")
    w("What lockguard costs a workload that never calls it: pgbench's built-in scripts at 8 clients (`-j 2`, "
      "scale 1: TPC-B-like then waits on row locks all the time, so the worker samples all the time), on a cluster "
      "with the server's default settings (JIT on, `fsync = on`), with `shared_preload_libraries = 'lockguard'` "
      "(the extension installed in the worker's database, sampling at the default 1000 ms) or empty, nothing else "
      "changed. The two configurations alternate in rounds, each after a restart and an unmeasured warm-up run; "
      "the verdict compares medians. *Others* is the CPU spent meanwhile by other processes on the machine, in "
      "cores; *worker* the lockguard worker's CPU time from `/proc`.\n")
    w("| workload | configuration | TPS per round | median TPS | spread | others (cores) per round | worker CPU per round |")
    w("| --- | --- | --- | --- | --- | --- | --- |")
    for wl in PRELOAD_WORKLOADS:
        for cfg in PRELOAD_CONFIGS:
            rs = sorted(summ.get((wl, cfg), []), key=lambda r: int(r.get("tags", {}).get("round", 0)))
            if not rs:
                continue
            tps = [r["tps"] for r in rs]
            sp = spread_pct(tps)
            w(f"| {wl} | {'lockguard preloaded' if cfg == 'preloaded' else 'not loaded'} | "
              f"{', '.join(f'{x:.0f}' for x in tps)} | {statistics.median(tps):.0f} | "
              f"{num(sp, 1) + '%' if sp is not None else '–'} | "
              f"{', '.join(num((r.get('cpu') or {}).get('others_cores'), 2) for r in rs)} | "
              f"{', '.join(num((r.get('cpu') or {}).get('worker_cpu_s'), 2) + ' s' for r in rs) if cfg == 'preloaded' else '–'} |")
    w("")
    w("| target | measured | verdict |")
    w("| --- | --- | --- |")
    for wl in PRELOAD_WORKLOADS:
        on, off = summ.get((wl, "preloaded")), summ.get((wl, "not_loaded"))
        if not on or not off:
            continue
        a, b = statistics.median(r["tps"] for r in on), statistics.median(r["tps"] for r in off)
        ratio = a / b if b else 0
        sp = spread_pct([r["tps"] for r in off])
        note = (f"; not loaded alone spread {sp:.1f}%" if sp is not None else "; one round: no spread to compare")
        unresolved = sp is not None and abs(1 - ratio) * 100 < sp
        w(f"| {wl}: preloaded ≥ 0.99 × not loaded (medians) | {a:.0f} vs {b:.0f} TPS = {ratio:.3f}{note} | "
          f"{verdict(ratio >= 0.99)}{' (within the spread between rounds: not resolved by this run)' if unresolved else ''} |")
    w("")


def markdown_view_reads(rows, w):
    got = [r for r in ok_rows(rows, "view_read")]
    if not got:
        return
    w("### Reading the views\n")
    w("Each view read 5 times with psql on the same cluster (server defaults: JIT on, `jit_above_cost` 100000), "
      "all rows fetched; client wall time, median and range. *JIT* says whether `EXPLAIN (ANALYZE)` of the view "
      "showed a JIT section (it must not: every view's plan is estimated below `jit_above_cost`, "
      "`test/sql/monitoring_cost.sql`). With waiters: 64 sessions wait for locks one session holds, half in "
      "`lockguard_acquire_row` (row 1), half in a plain `UPDATE` (row 2).\n")
    w("| view | nothing waiting: median (min–max) ms | JIT | 64 waiters: median (min–max) ms | JIT |")
    w("| --- | --- | --- | --- | --- |")
    for v in VIEWS:
        cells = []
        for waiters in (0, 64):
            r = next((x for x in got if x["view"] == v and x["waiters"] == waiters), None)
            if r is None or not r.get("ms"):
                cells += ["–", "–"]
                continue
            jit = {True: "**yes**", False: "no", None: "–"}[r.get("jit")]
            cells += [f"{r['median_ms']:.1f} ({min(r['ms']):.1f}–{max(r['ms']):.1f})"
                      + (f", {r['waiting_now']} waiting" if waiters and r.get('waiting_now', 0) < waiters else ""), jit]
        w(f"| `{v}` | " + " | ".join(cells) + " |")
    w("")


def cost_markdown(results, meta_path, out_path):
    rows = load(results)
    meta = {}
    with open(meta_path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition(": ")
            meta.setdefault(k, v)
    md = []
    w = md.append
    w("# Cost points\n")
    w("<!-- Generated by test/bench/report.py from docs/bench/results-cost.jsonl; do not edit by hand:"
      " re-run `bash test/bench/run.sh --cost`. -->\n")
    w(f"Run of **{meta.get('started', '?')}** ({int(meta.get('elapsed_s', 0)) // 60} min), lockguard "
      f"`{meta.get('lockguard', '?')}`, {meta.get('postgres', '?')}, {meta.get('nproc', '?')} CPUs "
      f"({meta.get('cpu', '?')}); load average {meta.get('loadavg_before', '?')} before, "
      f"{meta.get('loadavg_after', '?')} after; {meta.get('duration_s', '?')} s per point after "
      f"{meta.get('warmup_s', '?')} s warm-up.\n")
    w("Cluster: the server's default `postgresql.conf` plus `shared_preload_libraries` (the variable), a private "
      "port and unix socket, and `log_line_prefix`.\n")
    markdown_preload(rows, w)
    markdown_monitoring(rows, w)
    markdown_view_reads(rows, w)
    with open(out_path, "w") as f:
        # this file lives in docs/bench/, beside its own monitoring picture
        f.write("\n".join(md).replace("](bench/monitoring.png)", "](cost-monitoring.png)").replace("](bench/", "]("))
    return 0


# ----------------------------------------------------------------------------------------------
# The targets run (issue 21): run.sh's full mode on the stock cluster, in rounds
# ----------------------------------------------------------------------------------------------
# The points and their contenders, as test/bench/bench-lib.sh's LGB_TARGET_POINTS runs them. The
# monitoring and preload points' "contenders" are configurations (the driver's tag "config").
TARGET_POINTS = [
    ("hot1", "1 hot row, 64 clients", ["for_update", "advisory", "advisory_for_update", "lg_row", "lg_named"]),
    ("hot10", "10 hot rows, 64 clients", ["for_update", "advisory", "advisory_for_update", "lg_row", "lg_named"]),
    ("nominal", "nominal: zipfian (θ 0.99) over 10,000 rows, 16 clients", ["for_update", "advisory_for_update", "lg_row"]),
    ("uncontended", "uncontended: one row of the whole table, 8 clients",
     ["for_update", "advisory_for_update", "lg_row", "lg_run", "for_update_work"]),
    ("priority1", "priorities: 1 hot row, 64 clients, 10% high", ["lg_row", "lg_row_prio"]),
    ("priority5", "priorities: 5 hot rows, 32 clients, 10% high", ["lg_row", "lg_row_prio"]),
    ("monitoring", "monitoring: 10 hot rows, 32 clients, lockguard row", ["off", "1000", "100"]),
    ("preload", "preloaded, not called: pgbench TPC-B-like, 8 clients", ["not_loaded", "preloaded"]),
]
VARIANT_NAMES = dict(NAMES, off="sampling off", **{"1000": "sampling every 1000 ms", "100": "sampling every 100 ms"},
                     not_loaded="lockguard not loaded", preloaded="lockguard preloaded")
METRICS = {
    "tps": "TPS",
    "txn_p95": "transaction p95",
    "lock_p95": "lock-wait p95",
    "high_lock_p95": "high-priority lock-wait p95",
    "low_lock_p95": "low-priority lock-wait p95",
}
# Every target of issue 21's "Targets" list: (name, point, numerator (contender, metric),
# denominator (contender, metric) or None for an absolute bound, direction, threshold).
# Per round the value is numerator / denominator of the same round (or the numerator alone).
TARGETS = []
for _p, _np in (("hot1", "1 hot row"), ("hot10", "10 hot rows")):
    for _c in ("lg_named", "lg_row"):
        TARGETS.append((f"{_np}, 64 clients: {NAMES[_c]} TPS ≥ 0.95 × advisory", _p, (_c, "tps"), ("advisory", "tps"), ">=", 0.95))
        TARGETS.append((f"{_np}, 64 clients: {NAMES[_c]} transaction p95 ≤ 1.05 × advisory's", _p, (_c, "txn_p95"),
                        ("advisory", "txn_p95"), "<=", 1.05))
# The row scope is a gate plus the row's tuple lock by construction: its floor without lockguard,
# an advisory lock and then FOR UPDATE in one statement, measured in the same rounds.
for _p, _np in (("hot1", "1 hot row"), ("hot10", "10 hot rows")):
    TARGETS.append((f"{_np}, 64 clients: lockguard row TPS ≥ 0.95 × its floor (advisory lock + FOR UPDATE)", _p,
                    ("lg_row", "tps"), ("advisory_for_update", "tps"), ">=", 0.95))
    TARGETS.append((f"{_np}, 64 clients: lockguard row transaction p95 ≤ 1.05 × its floor's", _p,
                    ("lg_row", "txn_p95"), ("advisory_for_update", "txn_p95"), "<=", 1.05))
for _c in ("lg_named", "lg_row"):
    TARGETS.append((f"1 hot row, 64 clients: {NAMES[_c]} TPS ≥ 2.5 × FOR UPDATE", "hot1", (_c, "tps"), ("for_update", "tps"), ">=", 2.5))
    TARGETS.append((f"1 hot row, 64 clients: {NAMES[_c]} transaction p95 ≤ 0.25 × FOR UPDATE's", "hot1", (_c, "txn_p95"),
                    ("for_update", "txn_p95"), "<=", 0.25))
TARGETS += [
    ("nominal: lockguard row TPS ≥ 1.0 × FOR UPDATE", "nominal", ("lg_row", "tps"), ("for_update", "tps"), ">=", 1.0),
    ("nominal: lockguard row lock-wait p95 ≤ FOR UPDATE's", "nominal", ("lg_row", "lock_p95"), ("for_update", "lock_p95"), "<=", 1.0),
    ("nominal: lockguard row lock-wait p95 < 15 ms", "nominal", ("lg_row", "lock_p95"), None, "<", 15.0),
    # FOR UPDATE lets a newcomer take a row that has just been released ahead of those queued for
    # it; a FIFO gate does not. The floor shows what queueing in order costs by itself.
    ("nominal: lockguard row lock-wait p95 ≤ 1.05 × its floor's (advisory lock + FOR UPDATE)", "nominal",
     ("lg_row", "lock_p95"), ("advisory_for_update", "lock_p95"), "<=", 1.05),
    ("uncontended: lockguard row TPS ≥ 0.98 × FOR UPDATE", "uncontended", ("lg_row", "tps"), ("for_update", "tps"), ">=", 0.98),
    ("uncontended: lockguard_run TPS ≥ 0.97 × FOR UPDATE", "uncontended", ("lg_run", "tps"), ("for_update", "tps"), ">=", 0.97),
    # lockguard_run runs the caller's work in a function by construction (here PL/pgSQL, called
    # with a jsonb argument), where FOR UPDATE's client sends the UPDATE itself: its floor without
    # lockguard is FOR UPDATE and then the same function call, one round trip more.
    ("uncontended: lockguard_run TPS ≥ 0.97 × its floor (FOR UPDATE + the same work function)", "uncontended",
     ("lg_run", "tps"), ("for_update_work", "tps"), ">=", 0.97),
    # The row scope's gate is a heavyweight lock more per row, taken and released even when no one
    # waits: its floor without lockguard is the same gate taken by hand.
    ("uncontended: lockguard row TPS ≥ 0.98 × its floor (advisory lock + FOR UPDATE)", "uncontended",
     ("lg_row", "tps"), ("advisory_for_update", "tps"), ">=", 0.98),
    ("preloaded, not called: TPS ≥ 0.99 × not loaded", "preload", ("preloaded", "tps"), ("not_loaded", "tps"), ">=", 0.99),
    ("monitoring: sampling every 1000 ms costs ≤ 1% (TPS ≥ 0.99 × off)", "monitoring", ("1000", "tps"), ("off", "tps"), ">=", 0.99),
    ("priorities, 1 hot row, 64 clients: high lock-wait p95 ≤ 0.05 × low's", "priority1", ("lg_row_prio", "high_lock_p95"),
     ("lg_row_prio", "low_lock_p95"), "<=", 0.05),
    ("priorities, 5 hot rows, 32 clients: high lock-wait p95 ≤ 0.10 × low's", "priority5", ("lg_row_prio", "high_lock_p95"),
     ("lg_row_prio", "low_lock_p95"), "<=", 0.10),
    ("priorities, 1 hot row: TPS with priorities ≥ 0.97 × without", "priority1", ("lg_row_prio", "tps"), ("lg_row", "tps"), ">=", 0.97),
    ("priorities, 5 hot rows: TPS with priorities ≥ 0.97 × without", "priority5", ("lg_row_prio", "tps"), ("lg_row", "tps"), ">=", 0.97),
]
# The bounds against FOR UPDATE that a queue in arrival order may not reach on its own: where a FIFO
# without lockguard stands against them, measured in the same rounds. They are no targets: they
# show the floor of the targets above (the issue's "the profile shows the floor").
REFERENCES = [
    ("1 hot row, 64 clients: pg_advisory_xact_lock TPS ÷ FOR UPDATE's (lockguard's bound: 2.5)", "hot1",
     ("advisory", "tps"), ("for_update", "tps"), ">=", 2.5),
    ("1 hot row, 64 clients: advisory lock + FOR UPDATE TPS ÷ FOR UPDATE's (lockguard row's bound: 2.5)", "hot1",
     ("advisory_for_update", "tps"), ("for_update", "tps"), ">=", 2.5),
    ("1 hot row, 64 clients: pg_advisory_xact_lock transaction p95 ÷ FOR UPDATE's (lockguard's bound: 0.25)", "hot1",
     ("advisory", "txn_p95"), ("for_update", "txn_p95"), "<=", 0.25),
    ("1 hot row, 64 clients: advisory lock + FOR UPDATE transaction p95 ÷ FOR UPDATE's (lockguard row's bound: 0.25)",
     "hot1", ("advisory_for_update", "txn_p95"), ("for_update", "txn_p95"), "<=", 0.25),
    ("nominal: advisory lock + FOR UPDATE lock-wait p95 ÷ FOR UPDATE's (lockguard row's bound: 1.0)", "nominal",
     ("advisory_for_update", "lock_p95"), ("for_update", "lock_p95"), "<=", 1.0),
    ("uncontended: advisory lock + FOR UPDATE TPS ÷ FOR UPDATE's (lockguard row's bound: 0.98)", "uncontended",
     ("advisory_for_update", "tps"), ("for_update", "tps"), ">=", 0.98),
    ("uncontended: FOR UPDATE + the work function TPS ÷ FOR UPDATE's (lockguard_run's bound: 0.97)", "uncontended",
     ("for_update_work", "tps"), ("for_update", "tps"), ">=", 0.97),
]

# A verdict is resolved when a two-sided sign test of the rounds against the threshold gives
# p ≤ RESOLVE_P: with 6 rounds, every round on the same side; with 12, all but at most 2; with 18,
# all but 4; with 30, all but 9. About 25 verdicts per run: at 0.25 (3 rounds on one side, as
# before interleaving) several of them were expected to come out of noise alone.
RESOLVE_P = 0.05
QUIET_CORES = 0.2
# How far the projection of an unresolved verdict (rounds_to_resolve) looks.
PROJECTION_LIMIT = 20000


def round_order(n, rnd):
    """The order of n contenders (indices) in round rnd (from 1): a Williams design. For even n,
    n rounds put every contender once in every place and right after every other contender
    exactly once; for odd n the rounds alternate a row and its mirror image, balanced after 2n
    rounds. A merely rotated order kept each contender's predecessor the same in every round, so
    whatever a point leaves behind (WAL, dead rows, a disk slowed by heavy writes) always fell on
    the same successor."""
    base = [0]
    for j in range(1, n):  # 0, 1, n-1, 2, n-2, ...
        base.append((j + 1) // 2 if j % 2 == 1 else n - j // 2)
    if n % 2 == 0:
        row, mirrored = (rnd - 1) % n, False
    else:
        row, mirrored = ((rnd - 1) // 2) % n, (rnd - 1) % 2 == 1
    order = [(b + row) % n for b in base]
    return order[::-1] if mirrored else order


def round_order_balance(n):
    """(places, predecessors) over one full cycle of round_order: how often each contender sits in
    each place, and how often each ordered pair (a right after b) occurs; both sets of counts are
    constant in a balanced design."""
    cycle = n if n % 2 == 0 else 2 * n
    places, after = {}, {}
    for rnd in range(1, cycle + 1):
        order = round_order(n, rnd)
        for i, c in enumerate(order):
            places[(c, i)] = places.get((c, i), 0) + 1
            if i > 0:
                after[(order[i - 1], c)] = after.get((order[i - 1], c), 0) + 1
    return places, after


def variant(r):
    return (r.get("tags") or {}).get("config") or r.get("contender")


def metric(r, m):
    if m == "tps":
        return r.get("tps")
    if m == "txn_p95":
        return p95(r.get("txn_ms"))
    if m == "lock_p95":
        return p95(r.get("lock_wait_ms"))
    cls = {"high_lock_p95": "high", "low_lock_p95": "low"}[m]
    return p95(((r.get("classes") or {}).get(cls) or {}).get("lock_wait_ms"))


def point_rounds(rows, point):
    """round -> {variant: row} of one point (rows that failed are left out)."""
    out = {}
    for r in ok_rows(rows, point):
        rnd = (r.get("tags") or {}).get("round")
        if rnd is not None:
            out.setdefault(int(rnd), {})[variant(r)] = r
    return out


def target_values(by_round, t):
    """[(round, value)] of a target from its point's rounds (point_rounds): numerator / denominator
    of the same round."""
    _, _, (nc, nm), den, _, _ = t
    out = []
    for rnd, m in sorted(by_round.items()):
        if nc not in m:
            continue
        a = metric(m[nc], nm)
        if den is None:
            if a is not None:
                out.append((rnd, a))
            continue
        dc, dm = den
        b = metric(m[dc], dm) if dc in m else None
        if a is not None and b:
            out.append((rnd, a / b))
    return out


def meets(v, op, th):
    return v >= th if op == ">=" else v <= th if op == "<=" else v < th


def sign_p(n, k):
    """Two-sided sign test: the probability of k or fewer of n rounds on one side, doubled."""
    from math import comb
    return min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2 ** n)


def median_ci(vals, p=RESOLVE_P):
    """The distribution-free confidence interval (at least 1 - p) of the rounds' median: the k-th
    smallest and k-th largest rounds, k the largest rank with P(Binomial(n, 1/2) < k) <= p / 2;
    None when n is too small for any. The sign test of evaluate() resolves a verdict at about the
    point where the threshold leaves this interval (sign_p(n, k - 1) is that probability, doubled)."""
    xs, n = sorted(vals), len(vals)
    k = 0
    while k < n and sign_p(n, k) <= p:
        k += 1
    return (xs[k - 1], xs[n - k]) if k >= 1 else None


def log_sign_p(n, k):
    """sign_p in floating point (log space), for the thousands of rounds a projection may reach."""
    from math import exp, lgamma, log
    if k >= n / 2:
        return 1.0
    terms = [lgamma(n + 1) - lgamma(i + 1) - lgamma(n - i + 1) for i in range(k + 1)]
    top = max(terms)
    return min(1.0, 2 * exp(top + log(sum(exp(x - top) for x in terms)) - n * log(2)))


def rounds_to_resolve(vals, op, th, limit=PROJECTION_LIMIT):
    """If the rounds went on splitting around the threshold as these did, about how many the sign
    test would need to resolve the verdict (the first n found where it does, by halving): None
    when they split evenly (no side leads: no number of rounds resolves that), limit + 1 when it
    would take more than limit. A projection from one run's split, not a promise."""
    n = len(vals)
    on_side = sum(1 for v in vals if meets(v, op, th))
    lead = max(on_side, n - on_side) / n if n else 0.5
    if lead <= 0.5:
        return None

    def resolves(m):  # the minority's share of m rounds, rounded down (1e-9: 17/48 * 48 is 16.99...)
        return log_sign_p(m, int(m * (1 - lead) + 1e-9)) <= RESOLVE_P
    if not resolves(limit):
        return limit + 1
    lo, hi = n + 1, limit  # more than the run had: it did not resolve there
    while lo < hi:
        mid = (lo + hi) // 2
        if resolves(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def seconds_per_round(rows, point):
    """A point's wall-clock seconds per round in the run (its runs of the driver, set-up between
    them excluded); None where the run did not record them (the preload point's restarts)."""
    runs, rounds_seen = {}, set()
    for r in ok_rows(rows, point):
        cpu = r.get("cpu") or {}
        rnd = (r.get("tags") or {}).get("round")
        if cpu.get("scope") == "the whole interleaved run" and cpu.get("wall_s") and rnd is not None:
            runs[json.dumps(cpu, sort_keys=True)] = cpu["wall_s"]
            rounds_seen.add(rnd)
    return sum(runs.values()) / len(rounds_seen) if runs else None


def split_status(vals, op, th):
    """(met | missed | unresolved, rounds within the bound) of a verdict's per-round values: the sign
    test against the threshold decides whether it is resolved, the median which way."""
    good = sum(1 for v in vals if meets(v, op, th))
    if sign_p(len(vals), min(good, len(vals) - good)) > RESOLVE_P:
        return "unresolved", good
    return ("met" if meets(statistics.median(vals), op, th) else "missed"), good


def evaluate(rows, t):
    """{'status': met | missed | unresolved | no data, 'median', 'lo', 'hi', 'ci', 'n', 'values',
    'on_side' (rounds within the bound), 'point_n' (the point's rounds: more than n where a variant it
    reads failed or measured nothing), and when unresolved 'round_s' (seconds_per_round)}."""
    by_round = point_rounds(rows, t[1])
    vals = [v for _, v in target_values(by_round, t)]
    if not vals:
        ran = {variant(r) for r in rows if r.get("scenario") == t[1]}
        needed = {t[2][0]} | ({t[3][0]} if t[3] else set())
        if ran and not needed <= ran:  # a run from before the contender joined the point
            return {"status": "not measured", "n": 0, "values": []}
        return {"status": "no data", "n": 0, "values": []}
    op, th = t[4], t[5]
    status, good = split_status(vals, op, th)
    med = statistics.median(vals)
    out = {"status": status, "median": med, "lo": min(vals), "hi": max(vals), "ci": median_ci(vals), "n": len(vals),
           "values": vals, "on_side": good, "point_n": len(by_round)}
    if status == "unresolved":  # for the projection of its text (projection_text)
        out["round_s"] = seconds_per_round(rows, t[1])
    return out


def fmt_value(t, v):
    return f"{v:.1f} ms" if t[3] is None else f"{v:.3f}"


def ci_text(t, e):
    """The median's confidence interval as "95% CI lo..hi, ", or "" when there are too few rounds."""
    ci = e.get("ci")
    return f"{int(round((1 - RESOLVE_P) * 100))}% CI {fmt_value(t, ci[0])}..{fmt_value(t, ci[1])}, " if ci else ""


def verdict_text(t, e, cap=None):
    if e["status"] == "not measured":
        return "not measured in this run (its contender joined the point later)"
    if e["status"] == "no data":
        return "**no data** (a contender of the point failed in every round)"
    med, lo, hi = fmt_value(t, e["median"]), fmt_value(t, e["lo"]), fmt_value(t, e["hi"])
    ci = ci_text(t, e)
    # A verdict leaves out the rounds where a variant it reads failed or measured nothing, so it can
    # count fewer rounds than its point; the point's own count decides where the point stopped.
    point_n = e["point_n"]
    counted = rounds(e["n"]) if point_n == e["n"] else (
        f"{e['n']} of the point's {point_n} rounds, a contender having failed or measured nothing in {point_n - e['n']}")
    if e["status"] == "unresolved":
        if cap is None or point_n >= cap:
            at = f"at the cap ({counted})"
        else:  # worth_more_rounds stopped the point: no verdict of it leaned enough to resolve by the cap
            at = (f"below the cap of {cap} ({counted}; the point stopped there, none of its verdicts projected "
                  f"to resolve within the cap)")
        return f"not resolved {at}: median {med}, {ci}rounds {lo}..{hi}; {projection_text(t, e)}"
    word = "met" if e["status"] == "met" else "**missed**"
    return f"{word}: median {med} ({ci}rounds {lo}..{hi}, {counted})"


def about(n):
    """A projected count: exact below 1,000, where it is compared with the cap (rounded, the 145
    that stopped a point at a cap of 144 read "about 140"); from there to two significant figures
    ("about 2,200")."""
    if n < 1000:
        return str(n)
    return f"{round(n, 2 - len(str(n))):,}"


def projection_text(t, e):
    """What more rounds would take at the unresolved verdict's split (rounds_to_resolve): worked
    out here, where it is printed, not in evaluate(), which the harness calls after every 12
    rounds only to see whether a point's verdicts are resolved."""
    k, n = e["on_side"], e["n"]
    split = f"{k} of {n} rounds within the bound"
    needed = rounds_to_resolve(e["values"], t[4], t[5])
    if needed is None:
        return f"{split}: an even split, which more rounds splitting alike never resolve"
    way = "met" if 2 * k > n else "missed"
    if needed > PROJECTION_LIMIT:
        return f"{split}: at that split the sign test needs more than {PROJECTION_LIMIT:,} rounds ({way})"
    when = ""
    if e.get("round_s"):
        hours = needed * e["round_s"] / 3600
        when = f" ({hours:.1f} h of this point)" if hours >= 1 else f" ({needed * e['round_s'] / 60:.0f} min of this point)"
    return f"{split}: at that split the sign test resolves ({way}) at about {about(needed)} rounds{when}"


def reference_text(t, e):
    """A reference's line: where the FIFO without lockguard stands against the bound."""
    if e["status"] in ("not measured", "no data"):
        return verdict_text(t, e)
    ci = ci_text(t, e)
    where = {"met": "within the bound", "missed": "beyond the bound", "unresolved": "not resolved against the bound"}
    return (f"{where[e['status']]}: median {fmt_value(t, e['median'])} ({ci}rounds {fmt_value(t, e['lo'])}.."
            f"{fmt_value(t, e['hi'])}, {rounds(e['n'])})")


def rounds(n):
    return f"{n} round" + ("" if n == 1 else "s")


def worth_more_rounds(t, e, cap=None):
    """Whether more rounds of its point could resolve a target evaluated as e: with no cap, while
    it is unresolved (or has no data); with one, only if its split so far, going on alike, would
    resolve it within cap rounds (rounds_to_resolve). An even split or a far projection is left
    where it is: rounds spent on it resolve nothing and crowd out the points whose splits lean."""
    if e["status"] == "no data":
        return True
    if e["status"] != "unresolved":
        return False
    if cap is None:
        return True
    # The projection as its text prints it, compared with the cap: not a projection limited to the
    # cap, which can come out past it (the minority's share rounds down, so whether m rounds
    # resolve is not monotonic in m: 28 of 48 resolve at 134 rounds but not at 144).
    needed = rounds_to_resolve(e["values"], t[4], t[5])
    return needed is not None and needed <= cap


def pending(results, point, cap=None):
    """Exit 1 and name the point's targets worth more rounds (worth_more_rounds) when any is
    (bench-lib.sh adds rounds); else exit 0, naming the unresolved ones projected past cap."""
    rows = load(results)
    mine = [(t, evaluate(rows, t)) for t in TARGETS if t[1] == point]
    left = [t[0] for t, e in mine if worth_more_rounds(t, e, cap)]
    if left:
        print("; ".join(left))
        return 1
    print("; ".join(t[0] for t, e in mine if e["status"] == "unresolved"))
    return 0


def other_load(cpu):
    """Other processes' cores (the quiet rule's measure); runs recorded before the watcher split
    it out have only others_cores, which also holds the kernel's interrupt and stolen time."""
    cpu = cpu or {}
    x = cpu.get("other_processes_cores")
    return x if x is not None else cpu.get("others_cores")


def others(rs):
    xs = [other_load(r.get("cpu")) for r in rs]
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def quiet_text(x):
    if x is None:
        return "unknown"
    return f"{x:.2f} cores: " + ("quiet" if x < QUIET_CORES else "**not quiet**")


def disk_probes(rs):
    """The disk probes (diskprobe.py) of result lines, each once: a run of the driver attaches the
    same probe before and after it to all of its lines."""
    seen, out = set(), []
    for r in rs:
        for probe in ((r.get("disk") or {}).get("before"), (r.get("disk") or {}).get("after")):
            key = json.dumps(probe, sort_keys=True)
            if isinstance(probe, dict) and probe.get("flushes") and key not in seen:
                seen.add(key)
                out.append(probe)
    return out


def disk_text(rs):
    """What the disk did around a point's runs of the driver: the flush time's p50 and p99, the
    median over the probes with their range."""
    probes = disk_probes(rs)
    if not probes:
        return "not probed"

    def median_range(key):
        xs = sorted(p[key] for p in probes)
        return f"{statistics.median(xs):.3f} ms" + (f" ({xs[0]:.3f}..{xs[-1]:.3f})" if len(xs) > 1 else "")
    return f"fdatasync p50 {median_range('p50_ms')}, p99 {median_range('p99_ms')}; {len(probes)} probe{'s' if len(probes) != 1 else ''}"


def check_disk(rows, tap):
    """Every line of an interleaved point carries the disk probes taken before and after its run
    of the driver, each with flushes timed and its percentiles in order."""
    def sound(probe):
        return (isinstance(probe, dict) and probe.get("flushes", 0) > 0
                and 0 < probe["p50_ms"] <= probe["p99_ms"] <= probe["max_ms"])
    for point, _, _ in TARGET_POINTS:
        if point == "preload":
            continue  # pgbench after restarts, not a run of the driver
        got = ok_rows(rows, point)
        bad = [r["tags"]["round"] for r in got
               if not (sound((r.get("disk") or {}).get("before")) and sound((r.get("disk") or {}).get("after")))]
        tap(bool(got) and not bad, f"{point}: the disk probed before and after each run of the driver "
            f"({disk_text(got)}" + (f"; missing or unsound in rounds {bad[:5]}" if bad else "") + ")")


def target_rows(rows):
    names = {p for p, _, _ in TARGET_POINTS}
    return [r for r in rows if r.get("scenario") in names]


def target_cap(t, cap, preload_cap):
    """The round cap of a target's point: the preload point's rounds are restarts, capped apart."""
    return preload_cap if t[1] == "preload" and preload_cap is not None else cap


def meta_caps(meta):
    """(cap, preload cap) of a run's meta-full*.txt ("max_rounds: 30", "preload_rounds: 6 to 14")."""
    cap = int(meta["max_rounds"]) if meta.get("max_rounds", "").isdigit() else None
    m = re.fullmatch(r"\d+ to (\d+)", meta.get("preload_rounds", ""))
    return cap, int(m.group(1)) if m else None


COMPARED_METRICS = ("tps", "txn_p95", "lock_p95")


def compare_builds(rows, reference):
    """compare-builds.sh's summary: for each build (tags "build") and each variant other than
    `reference`, the ratio of its metric to the reference's in the same round, over the build's
    rounds, with the median's interval (median_ci). Only a round where both ran counts."""
    out = []
    for build in sorted({(r.get("tags") or {}).get("build") for r in rows} - {None}):
        rounds = {}
        for r in rows:
            if (r.get("tags") or {}).get("build") == build and "driver_failed" not in r:
                rounds.setdefault(r["tags"]["round"], {})[variant(r)] = r
        variants = sorted({v for by in rounds.values() for v in by} - {reference})
        for v in variants:
            for m in COMPARED_METRICS:
                vals = [metric(by[v], m) / metric(by[reference], m) for by in rounds.values()
                        if v in by and reference in by and metric(by[v], m) and metric(by[reference], m)]
                if vals:
                    out.append({"build": build, "variant": v, "metric": m, "rounds": len(vals),
                                "median": statistics.median(vals), "ci": median_ci(vals)})
    return out


def print_compare_builds(results, reference):
    rows = load(results)
    lines = compare_builds(rows, reference)
    for c in lines:
        ci = f"{c['ci'][0]:.3f}..{c['ci'][1]:.3f}" if c["ci"] else "too few rounds for an interval"
        print(f"build {c['build']}: {c['variant']} {c['metric']} / {reference}'s: {c['median']:.3f} ({ci}, {c['rounds']} rounds)")
    return 0 if lines else 1


def print_verdicts(results, cap=None, preload_cap=None):
    """The verdict of every target, one line each (run.sh prints it at the end; the quick layer too)."""
    rows = load(results)
    # A run of some points only (LG_BENCH_POINTS) says nothing of the others.
    ran = {r.get("scenario") for r in rows}
    for t in TARGETS:
        if t[1] in ran:
            print(f"verdict: {t[0]}: {verdict_text(t, evaluate(rows, t), target_cap(t, cap, preload_cap))}")
    for t in REFERENCES:
        if t[1] in ran:
            print(f"reference: {t[0]}: {reference_text(t, evaluate(rows, t))}")
    for p, _, _ in TARGET_POINTS:
        if p in ran:
            print(f"others' load: {p}: {quiet_text(others([r for r in rows if r.get('scenario') == p]))}")
    print(f"others' load: run: {quiet_text(others(target_rows(rows)))}")
    probed = [p for p, _, _ in TARGET_POINTS if disk_probes([r for r in rows if r.get("scenario") == p])]
    for p in probed:
        print(f"disk: {p}: {disk_text([r for r in rows if r.get('scenario') == p])}")
    if not probed:
        print("disk: not probed in this run")
    return 0


def trace_counts(path):
    """{slice: committed transactions} of a load driver's --trace CSV."""
    counts = {}
    with open(path, newline="") as f:
        for line in csv.DictReader(f):
            counts[int(line["slice"])] = counts.get(int(line["slice"]), 0) + 1
    return counts


def check_quick(results, scen_results, pngdir, *logs, traces=None, overrun_probe=None):
    """The quick layer's assertions: every target point produced results in every round for every
    contender, every target got a verdict line, the views were read, the scenarios subset ran,
    no server crashed; with traces (a directory of the driver's --trace files, POINT-rFIRST.csv),
    each interleaved point's trace holds exactly one line per committed transaction of each of its
    result lines; every interleaved line counts its overruns, and with overrun_probe (the driver's
    output for two variants on one hot row with neither settle nor guard) those counts are not
    zero where they cannot be. Never a speed. TAP lines and "N passed, N failed"."""
    passed = failed = n = 0

    def tap(ok, text):
        nonlocal passed, failed, n
        n += 1
        print(f"{'ok' if ok else 'not ok'} {n} - {text}")
        if ok:
            passed += 1
        else:
            failed += 1

    # The rounds' order: every point's contender count, balanced over a full cycle.
    for k in sorted({len(conts) for _, _, conts in TARGET_POINTS} | {2, 3, 4, 5, 6}):
        places, after = round_order_balance(k)
        cycle = k if k % 2 == 0 else 2 * k
        each_place = len(places) == k * k and set(places.values()) == {cycle // k}
        each_pair = len(after) == k * (k - 1) and len(set(after.values())) == 1
        firsts = {round_order(k, rnd)[0] for rnd in range(1, k + 1)}
        tap(each_place and each_pair and len(firsts) == k,
            f"round order of {k} contenders: each in every place {cycle // k}x, after every other equally often, "
            f"a different one first in each of the first {k} rounds")
    try:
        rows = load(results)
    except (OSError, ValueError) as e:
        rows = []
        tap(False, f"results file readable: {e}")
    for point, _, conts in TARGET_POINTS:
        rounds = sorted({int((r.get("tags") or {}).get("round", 0)) for r in rows if r.get("scenario") == point})
        if not rounds:
            tap(False, f"{point}: no result")
            continue
        for rnd in rounds:
            for c in conts:
                got = [r for r in rows if r.get("scenario") == point and variant(r) == c
                       and int((r.get("tags") or {}).get("round", 0)) == rnd]
                if not got:
                    tap(False, f"{point} {c} round {rnd}: no result")
                    continue
                r = got[0]
                if "driver_failed" in r:
                    tap(False, f"{point} {c} round {rnd}: failed: {r['driver_failed'][:200]}")
                    continue
                if point == "preload":
                    ok = r.get("tps", 0) > 0
                    detail = f"tps {r.get('tps')}"
                else:
                    ok = r["committed"] > 0 and r["other_errors"] == 0 and r["txn_ms"]["n"] > 0
                    detail = (f"{r['committed']} committed, {r['lock_timeouts']} timeouts, {r['deadlocks']} deadlocks, "
                              f"{r['other_errors']} other errors" + (f" {r['errors_sample'][:2]}" if r.get("errors_sample") else ""))
                    if point.startswith("priority") and ok:
                        cl = r.get("classes", {})
                        ok = cl.get("high", {}).get("committed", 0) > 0 and cl.get("low", {}).get("committed", 0) > 0
                        detail += f"; high {cl.get('high', {}).get('committed')}, low {cl.get('low', {}).get('committed')} committed"
                    if point == "monitoring" and ok:
                        ok = r.get("sampled") is not None and r.get("worker") is not None
                        detail += f"; wait-graph samples {r.get('sampled')}, worker {r.get('worker')}"
                cpu = r.get("cpu") or {}
                ok = ok and cpu.get("others_cores") is not None
                tap(ok, f"{point} {c} round {rnd}: {detail}; others' load {cpu.get('others_cores')} cores")
    if traces is not None:
        for point, _, _ in TARGET_POINTS:
            if point == "preload":
                continue  # pgbench, not the load driver
            got = [r for r in rows if r.get("scenario") == point and "slice" in r]
            # One file per run of the driver, named by its first round; slices count from 0 in each.
            firsts = sorted(int(m.group(1)) for p in os.listdir(traces)
                            for m in [re.fullmatch(re.escape(point) + r"-r(\d+)\.csv", p)] if m)
            try:
                counts = {f: trace_counts(os.path.join(traces, f"{point}-r{f}.csv")) for f in firsts}

                def traced(r):
                    run = max((f for f in firsts if f <= int(r["tags"]["round"])), default=None)
                    return counts[run].get(r["slice"], 0) if run is not None else 0

                mismatched = [(r["slice"], r["committed"], n) for r in got for n in [traced(r)] if n != r["committed"]]
                lines = sum(sum(c.values()) for c in counts.values())
                ok, detail = bool(got) and not mismatched, f"{len(got)} slices, {lines} lines"
                if mismatched:
                    detail += f"; (slice, committed, lines) differ: {mismatched[:3]}"
            except (OSError, ValueError, KeyError) as e:
                ok, detail = False, f"unreadable: {e}"
            tap(ok, f"{point}: the driver's trace has one line per committed transaction of each slice ({detail})")
        check_queue_order(os.path.join(traces, "hot1-r1.csv"), tap)
    check_slicing(rows, overrun_probe, tap)
    check_disk(rows, tap)
    # The verdict code on this run: one line per target, whatever the numbers say.
    lines = []
    for t in TARGETS:
        text = verdict_text(t, evaluate(rows, t))
        lines.append(text)
        tap(evaluate(rows, t)["status"] != "no data", f"verdict line: {t[0]}: {text}")
    tap(len(lines) == len(TARGETS) and {t[1] for t in TARGETS} <= {p for p, _, _ in TARGET_POINTS},
        f"{len(TARGETS)} targets, each on a point that ran")
    check_projection(tap)
    check_compare_builds(tap)
    for t in REFERENCES:
        e = evaluate(rows, t)
        tap(e["status"] not in ("no data", "not measured"), f"reference line: {t[0]}: {reference_text(t, e)}")
    print(f"# others' load over the run: {quiet_text(others(target_rows(rows)))}")
    for waiters in (0, 64):
        for v in VIEWS:
            got = [r for r in rows if r.get("scenario") == "view_read" and r.get("view") == v and r.get("waiters") == waiters]
            if not got:
                tap(False, f"view read {v} with {waiters} waiters: no result")
                continue
            r = got[0]
            ok = r.get("median_ms") is not None and r.get("waiting_now", 0) >= waiters and r.get("jit") is not True
            tap(ok, f"view read {v} with {waiters} waiters ({r.get('waiting_now')} waiting): median {r.get('median_ms')} ms, "
                    f"JIT {'not used' if r.get('jit') is False else r.get('jit')}")
    # The scenarios subset on the tuned cluster: every contender on an easy path and on the
    # deadlock-prone transfers, and the noisy neighbour.
    try:
        srows = load(scen_results)
    except (OSError, ValueError) as e:
        srows = []
        tap(False, f"scenarios results file readable: {e}")
    for scenario in QUICK_SCENARIOS:
        for c in QUICK_CONTENDERS[scenario]:
            got = [r for r in srows if r.get("scenario") == scenario and r.get("contender") == c]
            if not got:
                tap(False, f"{scenario} {c}: no result")
                continue
            r = got[0]
            if "driver_failed" in r:
                tap(False, f"{scenario} {c}: driver failed: {r['driver_failed'][:200]}")
                continue
            outcomes = r["committed"] + r["deadlocks"] + r["lock_timeouts"]
            if scenario.startswith("transfer") and c in RANDOM_ORDER:
                ok = outcomes > 0 and r["other_errors"] == 0
            else:
                ok = r["committed"] > 0 and r["other_errors"] == 0 and r["txn_ms"]["n"] > 0
            tap(ok, f"{scenario} {c} {r.get('clients')} clients: {r['committed']} committed, {r['lock_timeouts']} timeouts, "
                    f"{r['deadlocks']} deadlocks, {r['other_errors']} other errors"
                    + (f" {r['errors_sample'][:2]}" if r.get("errors_sample") else ""))
    noisy = by_config(srows, "noisy")
    for cfg in NOISY_CONFIGS:
        got = noisy.get(cfg, [])
        if not got:
            tap(False, f"noisy {cfg}: no result")
            continue
        b = noisy_b(got[0])
        need = ["b_own", "b_shared"] + (["a"] if cfg != "b_alone" else [])
        ok = got[0]["other_errors"] == 0 and all(b[k][2] > 0 for k in need)
        tap(ok, f"noisy {cfg}: committed " + ", ".join(f"{k} {b[k][2]}" for k in need) +
            f", refused {got[0].get('refused', 0)}, {got[0]['other_errors']} other errors")
    for scenario in QUICK_SCENARIOS + ["noisy"]:
        png = os.path.join(pngdir, f"{scenario}.png")
        tap(os.path.isfile(png) and os.path.getsize(png) > 1000, f"picture {scenario}.png drawn")
    for log in logs:
        try:
            with open(log, errors="replace") as f:
                crashes = [line.rstrip() for line in f if CRASH.search(line)]
        except OSError:
            crashes = ["server log missing"]
        tap(not crashes, f"server log {os.path.basename(os.path.dirname(os.path.dirname(log)))}/data shows no crash"
            + (f": {crashes[:3]}" if crashes else ""))
    # docs/benchmarks.md is generated: a results file or a note changed without regenerating it
    # would leave the page behind what the repository holds.
    docs = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs")
    with tempfile.TemporaryDirectory(prefix="lgbench-md-") as tmp:
        regenerated = os.path.join(tmp, "benchmarks.md")
        markdown(os.path.join(docs, "bench"), regenerated)
        with open(regenerated) as f, open(os.path.join(docs, "benchmarks.md")) as g:
            same = f.read() == g.read()
    tap(same, "docs/benchmarks.md is what `report.py markdown docs/bench` writes (regenerate it after changing "
              "docs/bench/)")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


# The scenarios the quick layer runs on the tuned cluster besides the targets, with their
# contenders (bench-lib.sh's lgb_quick_scenarios).
QUICK_SCENARIOS = ["hot1000", "transfer10"]
QUICK_CONTENDERS = {"hot1000": ["for_update_retry", "lg_multi", "client_rwl"], "transfer10": CONTENDERS}


def check_compare_builds(tap):
    """compare_builds on made-up rounds: ratios are taken within a round and a build, a round where
    the reference did not run is left out, and each build gets its own median."""
    def row(build, rnd, v, tps):
        return {"contender": v, "tps": tps, "tags": {"build": build, "round": str(rnd)}}
    rows = [row("A", r, "advisory", 100.0) for r in range(1, 7)] + [row("A", r, "lg_named", 90.0 + r) for r in range(1, 7)]
    rows += [row("B", r, "advisory", 200.0) for r in range(7, 13)] + [row("B", r, "lg_named", 200.0) for r in range(7, 13)]
    rows += [row("B", 13, "lg_named", 1.0)]  # its reference missing: not a round of the comparison
    got = {(c["build"], c["metric"]): c for c in compare_builds(rows, "advisory") if c["variant"] == "lg_named"}
    a, b = got.get(("A", "tps")), got.get(("B", "tps"))
    tap(a is not None and b is not None and a["rounds"] == 6 and abs(a["median"] - 0.935) < 1e-9
        and b["rounds"] == 6 and b["median"] == 1.0 and ("A", "txn_p95") not in got,
        "compare-builds: each build's ratios within its own rounds, a round without the reference left out "
        f"(A {a and a['median']}, B {b and b['median']})")


def check_projection(tap):
    """The projection of an unresolved verdict, on made-up splits: the floating-point sign test
    agrees with the exact one, an even split is never resolved, and a leaning split is projected
    past the rounds it had, to a count where the exact test does resolve it."""
    grid = [(n, k) for n in (6, 12, 48, 140, 400) for k in (0, n // 10, n // 4, n // 2 - 1)]
    worst = max(abs(log_sign_p(n, k) - sign_p(n, k)) / sign_p(n, k) for n, k in grid)
    tap(worst < 1e-9, f"the sign test in floating point matches the exact one (worst relative gap {worst:.1e})")
    tap(rounds_to_resolve([1.0] * 24 + [0.9] * 24, ">=", 0.95) is None, "an even split of 48 rounds is never resolved")
    for met, n in ((31, 48), (18, 48), (25, 48), (6, 14)):
        vals = [1.0] * met + [0.9] * (n - met)
        needed = rounds_to_resolve(vals, ">=", 0.95)
        minority = int(needed * min(met, n - met) / n + 1e-9) if needed else None
        tap(needed is not None and n < needed <= PROJECTION_LIMIT and sign_p(needed, minority) <= RESOLVE_P,
            f"{met} of {n} rounds within the bound: projected to {needed} rounds, where {minority} on the other side "
            f"resolve (exact p {sign_p(needed, minority) if needed else float('nan'):.3f})")
    tap(about(145) == "145" and about(2214) == "2,200" and about(11040) == "11,000",
        "a projected count prints exactly below 1,000 (145, past a cap of 144, not 'about 140') and to "
        "two significant figures from there")
    # Which unresolved verdicts earn their point more rounds (bench-lib.sh's projection stop).
    t = ("made-up", "hot1", ("lg_named", "tps"), ("advisory", "tps"), ">=", 0.95)
    for met, n, cap, want in ((31, 48, 132, True), (26, 48, 132, False), (24, 48, 132, False), (26, 48, None, True),
                              (40, 48, 132, False), (20, 48, 144, True)):
        vals = [1.0] * met + [0.9] * (n - met)
        e = {"status": split_status(vals, ">=", 0.95)[0], "values": vals}
        tap(worth_more_rounds(t, e, cap) == want,
            f"{met} of {n} rounds within the bound, cap {cap}: {'more rounds' if want else 'no more rounds'}")


def sliced_rows(rows):
    """The result lines of interleaved runs that the driver wrote (not the failure stand-ins)."""
    return [r for r in rows if "slice" in r and "driver_failed" not in r]


# The one-hot-row point's clients (LGB_TARGET_POINTS in bench-lib.sh). Not read from the trace: a
# client that an order starves never commits, and would drop out of a count taken there.
HOT1_CLIENTS = 64


def check_queue_order(trace, tap):
    """queue_order.py tells a FIFO from another order (made-up traces of 8 clients on one row, in
    FIFO order and in last-come-first-served order), and on the one-hot-row point's trace finds
    lockguard's scopes, like bare advisory locks, serving every wait after the 63 others (every
    contender of that point but for_update; the estimate is good to one holder)."""
    from queue_order import queue_order, read_trace

    def made_up(lifo):
        # 8 clients, each hold 1 ms; a client asks again as soon as its transaction ends, and its
        # lock statement returns 0.01 ms after the previous holder's transaction ended.
        lines, waiting, t = [], list(range(8)), 0.0
        asked = {c: 0.0 for c in range(8)}
        while len(lines) < 400:
            c = waiting.pop() if lifo else waiting.pop(0)
            t += 1.0
            lines.append({"slice": 0, "variant": "x", "row": "1", "start": asked[c], "lock_end": t - 0.99,
                          "end": t, "lock": t - 0.99 - asked[c]})
            asked[c] = t
            waiting.append(c)
        s = queue_order(lines, 8).get("x")
        return (s["fifo_share"], s["ahead"][1]) if s else (float("nan"), None)

    (fifo, fifo_median), (lifo, _) = made_up(False), made_up(True)
    tap(fifo == 1.0 and fifo_median == 7 and lifo < 0.5,
        f"queue order: a made-up FIFO reads as one ({fifo:.2f} of waits had 7 +- 1 ahead, median {fifo_median}), "
        f"last-come-first-served does not ({lifo:.2f})")
    try:
        summary = queue_order(read_trace(trace), HOT1_CLIENTS)
    except (OSError, ValueError, KeyError) as e:
        tap(False, f"hot1: queue order readable from {trace}: {e}")
        return
    fifos = [c for p, _, conts in TARGET_POINTS if p == "hot1" for c in conts if c != "for_update"]
    for v in fifos:
        s = summary.get(v)
        ok = s is not None and s["fifo_share"] >= 0.9 and abs(s["ahead"][1] - (HOT1_CLIENTS - 1)) <= 1
        detail = (f"{s['waits']} waits, {100 * s['fifo_share']:.1f}% with {HOT1_CLIENTS - 1} +- 1 ahead, "
                  f"median {s['ahead'][1]}" if s else "no wait inside the traced span")
        tap(ok, f"hot1: {NAMES[v]} serves its waits in FIFO order ({detail})")


def check_slicing(rows, overrun_probe, tap):
    """check_quick's share on the slices: the overrun counts are there, for_update's --tail
    lengthens its slices on the hot points, and the counts count (overrun_probe)."""
    sliced = sliced_rows(rows)
    bad = [(r.get("scenario"), r["slice"]) for r in sliced
           if not all(isinstance(r.get(k), int) and r[k] >= 0 for k in ("overran_guard", "overran_settle"))]
    tap(bool(sliced) and not bad, f"every interleaved line counts its overruns ({len(sliced)} lines"
        + (f"; without: {bad[:3]})" if bad else ")"))
    for point in ("hot1", "hot10"):
        fu = [r["guard_s"] for r in sliced if r.get("scenario") == point and variant(r) == "for_update"]
        rest = [r["guard_s"] for r in sliced if r.get("scenario") == point and variant(r) != "for_update"]
        tap(bool(fu) and bool(rest) and min(fu) > max(rest),
            f"{point}: for_update's slices have a longer guard than the others' (its --tail): {fu} against {sorted(set(rest))}")
    if overrun_probe is None:
        return
    try:
        probe = load(overrun_probe)
    except (OSError, ValueError) as e:
        probe = []
        tap(False, f"overrun probe readable: {e}")
    guard = sum(r.get("overran_guard", 0) for r in probe)
    settle = sum(r.get("overran_settle", 0) for r in probe)
    # Closed loop: as a measured part ends, every client has a transaction in flight that ends
    # after it, and with no guard or settle that is inside the next (other) variant's slice.
    tap(len(probe) == 4 and guard > 0 and settle > 0,
        f"overrun probe (no settle, no guard): {len(probe)} lines, {guard} measured transactions ended after their "
        f"slice, {settle} ended inside a later slice's measured part")


def full_runs(benchdir):
    """[(major, rows, meta, settings)] of the targets runs in docs/bench (results-full.jsonl: 15;
    results-full-NN.jsonl: major NN), oldest major first."""
    out = []
    for name in sorted(os.listdir(benchdir)):
        m = re.fullmatch(r"results-full(?:-(\d+))?\.jsonl", name)
        if not m:
            continue
        suffix = f"-{m.group(1)}" if m.group(1) else ""
        meta_path = os.path.join(benchdir, f"meta-full{suffix}.txt")
        if not os.path.exists(meta_path):
            continue
        meta, settings = read_meta(meta_path)
        rows = load(os.path.join(benchdir, name))
        if not any((r.get("tags") or {}).get("round") for r in rows):
            continue  # not a targets run (the former full mode wrote this name too)
        out.append((meta.get("major", m.group(1) or "15"), rows, meta, settings, name))
    out.sort(key=lambda x: int(x[0]) if str(x[0]).isdigit() else 0)
    return out


WORKER_DELTA_KEYS = ("samples", "sample_cpu_ms", "cycles", "cycle_cpu_ms")


def worker_delta(before, after):
    """What the worker did between two lockguard.worker_stats() readings (as dicts): the
    differences of its counters, or None when either reading is missing (bench-lib.sh uses it for
    the interleaved monitoring slices and for the --cost mode's separate points alike)."""
    try:
        return {k: round(after[k] - before[k], 3) for k in WORKER_DELTA_KEYS}
    except (KeyError, TypeError):
        return None


def sampled_delta(before, after):
    """The wait-graph samples the worker took and the edges they stored between two
    lockguard.worker_stats() readings, as the result lines' "sampled" (the interleaved monitoring
    slices), or None when either reading is missing."""
    try:
        return {"samples": after["samples"] - before["samples"], "edges": after["sampled_edges"] - before["sampled_edges"]}
    except (KeyError, TypeError):
        return None


def worker_cpu_s(r):
    """The worker's CPU seconds during a monitoring slice (its own count, lockguard.worker_stats());
    runs before interleaving had only /proc's figure for their whole run."""
    wk = r.get("worker") or {}
    if wk.get("cycle_cpu_ms") is not None:
        return wk["cycle_cpu_ms"] / 1000
    return (r.get("cpu") or {}).get("worker_cpu_s")


def mid(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs, digits=0):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "–"
    return f"{min(xs):.{digits}f}..{max(xs):.{digits}f}"


def markdown_point_tables(rows, w):
    for point, head, conts in TARGET_POINTS:
        rs = ok_rows(rows, point)
        failed = [r for r in rows if r.get("scenario") == point and "driver_failed" in r]
        if not rs and not failed:
            continue
        rounds = len(point_rounds(rows, point))
        point_rows = [r for r in rows if r.get("scenario") == point]
        disk = f"; disk: {disk_text(point_rows)}" if disk_probes(point_rows) else ""
        w(f"**{head}** ({rounds} round{'s' if rounds != 1 else ''}; others' load "
          f"{quiet_text(others(point_rows))}{disk})\n")
        prio = point.startswith("priority")
        head_cols = "| contender | median TPS | TPS min..max | txn p95 median (ms) | lock-wait p95 median (ms) |"
        if prio:
            head_cols += " high / low lock-wait p95 median (ms) |"
        if point == "monitoring":
            head_cols += " wait-graph samples per round | worker CPU per round (s) |"
        head_cols += " others (cores, mean) |"
        w(head_cols)
        w("|" + " --- |" * (head_cols.count("|") - 1))
        for c in conts:
            cr = [r for r in rs if variant(r) == c]
            if not cr:
                # A contender that joined the point after this run.
                w(f"| {VARIANT_NAMES.get(c, c)} | not in this run |" + " |" * (head_cols.count("|") - 3))
                continue
            tps = [r.get("tps") for r in cr]
            line = (f"| {VARIANT_NAMES.get(c, c)} | {num(mid(tps), 0)} | {spread(tps)} | "
                    f"{num(mid([metric(r, 'txn_p95') for r in cr]), 1)} | {num(mid([metric(r, 'lock_p95') for r in cr]), 1)} |")
            if prio:
                line += (f" {num(mid([metric(r, 'high_lock_p95') for r in cr]), 1)} / "
                         f"{num(mid([metric(r, 'low_lock_p95') for r in cr]), 1)} |")
            if point == "monitoring":
                line += (f" {', '.join(str((r.get('sampled') or {}).get('samples', '–')) for r in cr)} |"
                         f" {', '.join(num(worker_cpu_s(r), 2) for r in cr)} |")
            line += f" {num(others(cr), 2)} |"
            w(line)
        for r in failed:
            w(f"\n{VARIANT_NAMES.get(variant(r), variant(r))}, round {(r.get('tags') or {}).get('round')}: failed: "
              f"{r['driver_failed'][:160]}")
        w("")


def overrun_text(rows):
    """The slicing's misses over a run's interleaved lines (the driver counts them since
    2026-12-06): their totals against the committed transactions, and the point that had most."""
    sliced = sliced_rows(rows)
    if not sliced or not all("overran_guard" in r for r in sliced):
        return "slicing misses: not counted (the driver counts them since 2026-12-06)"
    committed = sum(r.get("committed", 0) for r in sliced)
    guard = sum(r["overran_guard"] for r in sliced)
    settle = sum(r["overran_settle"] for r in sliced)
    by_point = {}
    for r in sliced:
        by_point[r["scenario"]] = by_point.get(r["scenario"], 0) + r["overran_guard"] + r["overran_settle"]
    worst = max(by_point, key=by_point.get)
    return (f"slicing misses: {guard} measured transactions ended after their slice and {settle} of earlier "
            f"slices ended inside a later measured part, of {committed:,} committed (most on {worst}: {by_point[worst]})")


def run_shape(meta):
    """How a targets run measured: interleaved slices, or (runs before 2026-12-05 21:00 UTC) a run per contender."""
    if meta.get("slice_s"):
        tails = f" ({meta['tails']}: settle and guard around that variant's slices)" if meta.get("tails") else ""
        return (f"interleaved slices of {meta['settle_s']} s settle + {meta['slice_s']} s measured + "
                f"{meta.get('guard_s', '0')} s guard{tails} after "
                f"{meta.get('warmup_s', '?')} s warm-up, {meta.get('min_rounds', '?')} to {meta.get('max_rounds', '?')} "
                f"rounds; preload: {meta.get('preload_rounds', '?')} rounds of {meta.get('preload_duration_s', '?')} s "
                "runs after restarts")
    return (f"**the former method**: a run of {meta.get('duration_s', '?')} s per contender after "
            f"{meta.get('warmup_s', '?')} s warm-up, {meta.get('min_rounds', '?')} to {meta.get('max_rounds', '?')} "
            "rounds (its verdicts here are evaluated by today's rule)")


def markdown(benchdir, out_path):
    runs = full_runs(benchdir)
    md = []
    w = md.append
    w("# Benchmarks\n")
    w("<!-- Generated by test/bench/report.py from docs/bench/results-full*.jsonl and results-scenarios.jsonl; "
      "do not edit by hand: re-run `bash test/bench/run.sh` (hand-written observations live in docs/bench/notes.md). -->\n")
    w("## How to run\n")
    w("```\nbash test/bench/run.sh              # the targets run on PostgreSQL 15: docs/bench/results-full.jsonl, this file\n"
      "LG_PG_PREFIX=/var/cache/lockguard/pg18-18.6 bash test/bench/run.sh\n"
      "                                    # the same on 18 (the release build of scripts/pg18-build.sh --release): results-full-18.jsonl\n"
      "bash test/bench/run.sh --quick      # every target point once for about 1 s, the verdict code, a few scenarios;\n"
      "                                    #   asserts results exist, never speed (the bench test layer)\n"
      "bash test/bench/run.sh --scenarios  # the older scenarios on a tuned cluster, once per point (section below)\n"
      "bash test/bench/run.sh --cost       # the former cost points alone: bench/cost.md\n"
      "LG_BENCH_REF=<commit> bash test/bench/run.sh   # benchmark another commit (default HEAD; 'worktree': the checkout)\n```\n")
    w("The runner installs what it needs (Debian packages; lockguard, built from a clean `git archive` of the commit, "
      "into a private copy of the PostgreSQL installation so that other installs on the machine cannot interfere), builds "
      "the load driver (`test/bench/driver`, C++17 + libpq), starts a private cluster, loads the data, runs the points, "
      "and writes this file from every run's results. A run takes about 28 minutes on 2 cores when every point "
      "resolves in 24 rounds (7 interleaved points of 2 to 5 variants at 1.8 s per variant and round, 3 s for the "
      "slices beside `FOR UPDATE` on the hot points, the preload point's 6 rounds of two restarts, the data load and "
      "the view reads); points whose verdicts stay unresolved get more rounds, up to `LG_BENCH_MAX_ROUNDS` (default "
      "48; the preload point `LG_BENCH_PRELOAD_MAX_ROUNDS`, default 48, 14 up to 2026-12-08), so that a run can take "
      "about an hour.\n")
    w("## Method\n")
    w("- **Stock settings.** The cluster is the server's default `postgresql.conf` (JIT on, `fsync = on`, "
      "`synchronous_commit = on`, `shared_buffers` 128MB, `max_connections` 100) plus `shared_preload_libraries = "
      "'lockguard'` with lockguard's defaults, a private port on a unix socket and `log_line_prefix`; each run lists "
      "the settings that differ from the defaults below. What a point needs besides: table `accounts` with 1,000,000 "
      "rows (hot rows are ids 1..N; the uncontended point draws from all of them); pgbench's tables at scale 1 for the "
      "preload point; the extension installed in database `postgres` too, where its worker runs.")
    w("- **Points, interleaved.** The variants of a point (its contenders, or the monitoring point's sampling "
      "intervals) run in one run of the load driver, on the same connections, in **slices**: `settle_s` seconds "
      "unmeasured, `slice_s` seconds measured, `guard_s` seconds unmeasured (default 0.4, 1 and 0.4; runs up to "
      "2026-12-06 had 1, 3 and 1). A transaction "
      "runs the variant of the slice it starts in and counts there if it starts in the measured part: the settle "
      "lets the previous variant's queue drain, the guard lets the measured transactions end among their own "
      "variant's rather than queue behind the next variant's (a slice's last transactions would otherwise "
      "wait behind, say, `FOR UPDATE` waiters). On the hot points `FOR UPDATE`'s waits reach 1.5 s while the "
      "FIFOs' stay under 0.35 s, so its slices' guard and the settles before and after them are 1.6 s "
      "(the driver's `--tail`). Each line counts the slicing's misses: `overran_guard`, measured transactions that "
      "ended after their slice, and `overran_settle`, earlier slices' transactions that ended inside its measured "
      "part (only where the variant changes); each run below gives their totals. A round is one slice of each "
      "variant. Why: this machine's virtual disk flushes in 95 to 160 µs, drifting by "
      "10 to 20% within a minute, and TPS on a hot row follows the flush time (a commit's flush is inside the "
      "critical section). Runs of 10 s per contender one after the other (the method up to 2026-12-05 21:00 UTC) "
      "measured that drift: per-round ratios of the same two contenders spread 0.58 to 1.11. Slices a few seconds "
      "apart see the same disk, and the shorter the round, the less it drifts within one: on one hot row, five "
      "contenders in rounds of 1 s slices gave per-round ratios about as widely spread as 3 s slices did, and "
      "2.2 times as many rounds in the same time (bench/notes.md). `VACUUM accounts` and `CHECKPOINT` precede "
      "each run of a point. The monitoring "
      "point's driver switches `lockguard.sample_interval_ms` (0 = off, 1000, and 100, the last reported without a "
      "target) by `ALTER SYSTEM` and a reload as each slice starts, and reads `lockguard.worker_stats()` as the slice's "
      "measured part starts and ends: the worker's samples and CPU over the same seconds as the transactions, once "
      "the settle has let the reload take effect (runs up to 2026-12-05 22:00 UTC read it at slice boundaries, so their "
      "figures cover the whole slice, and an off slice could count a sample that the previous setting's timer "
      "took before the reload arrived). The preload point cannot change inside a run: it "
      "restarts the cluster with `shared_preload_libraries` empty or `'lockguard'` and runs pgbench's TPC-B-like "
      "script (8 clients, `-j 2`, never calling lockguard) for `preload_duration_s` after each restart, a round "
      "being one run of each.")
    w("- **Rounds and their order.** The variants' order in each round is a Williams design (`round_order` in "
      "report.py): over a full cycle of rounds every variant runs once in every place and right after every other "
      "variant equally often (for an even number of variants a cycle is that many rounds, for an odd number twice "
      "as many, its rounds alternating an order and its mirror image), so that what a slice leaves behind does not "
      "always land on the same successor. A point runs `min_rounds` rounds (default 24), then half as many again "
      "while a verdict of the point is unresolved, up to `max_rounds`; from twice `min_rounds` on, only while one "
      "of them is projected (see *Resolution*) to resolve within `max_rounds` at its split so far, so that a raised "
      "cap goes to the verdicts it can settle. The preload point runs one round at a time, at least 6, by the same "
      "rule from twice that on (runs up to 2026-12-08 04:31 UTC stopped it at 14 whatever its projection).")
    w("- **Medians and spread.** Per round, a target's value is the ratio of its two contenders' figures *of that "
      "round* (or the figure itself for an absolute bound); the verdict takes the **median of the per-round "
      "values**, printed with its distribution-free 95% interval (`median_ci`), and the spread is shown as the rounds' "
      "min..max.")
    w(f"- **Resolution.** A verdict is *resolved* when a two-sided sign test of the rounds against the threshold "
      f"gives p ≤ {RESOLVE_P}: with 6 rounds, every round on the same side of the threshold; with 12, all but at "
      "most 2; with 24, all but 6; with 36, all but 11; with 48, all but 16. (Runs before interleaving used p ≤ 0.25, every one of 3 "
      "rounds on one side: with about 25 verdicts per run, several were expected to resolve from noise alone.) A "
      "verdict still unresolved at the cap (stated in each run below) is printed as *not resolved at the cap* with "
      "its median and rounds, never as met, and with a projection: how many of its rounds fell within the bound, "
      "and about how many rounds the sign test would need if they went on splitting that way (`rounds_to_resolve`), "
      "with the time that many rounds of its point would take in that run. An even split is resolved by no number "
      "of rounds: the ratio sits at the bound within what this machine resolves. The projection comes from one "
      "run's split, which moves from run to run; it says how far the cap is from enough, not what more rounds "
      "would find. When none of a point's unresolved verdicts is projected to resolve within the cap, the point "
      "stops before it (see *Rounds and their order*) and they read *not resolved below the cap*, with the same "
      "projection. A verdict counts only the rounds in which every variant it reads measured; where one failed "
      "or measured nothing in some of the point's rounds, its text gives both counts.")
    w(f"- **Quiet rule.** While a point runs, `test/bench/cpuwatch.py` reads from `/proc` the CPU used by "
      "every process on the machine, by the cluster and the client, and by the kernel alone (interrupts, soft "
      "interrupts, time stolen by the hypervisor); *others* is what other processes used, in cores (the watcher "
      "itself excluded). A point, and the run, counts as quiet only when others used less than "
      f"{QUIET_CORES} of a core on average. Runs recorded before 2026-12-05 10:30 UTC counted the kernel's own "
      "time as others' too.")
    w("- The disk: CPU is not all a run shares. On one hot row a transaction's cycle is its commit's WAL flush, "
      "so before and after each run of the driver, with the cluster idle, `test/bench/diskprobe.py` times "
      "8 kB writes flushed with `fdatasync` (as a commit flushes its WAL) for 2 s (0.5 s in the quick mode) "
      "in the cluster's file system. Each point's heading and each run's summary give the median over the "
      "probes of their p50 and p99 flush times, with the range. The probe decides nothing; it says what the "
      "disk was doing. Runs recorded before 2026-12-06 06:15 UTC were not probed.")
    w("- The kernel's memory monitor: each run's summary names the DAMON monitors running (`kdamond` threads, "
      "their operations and sampling interval). On this machine one samples physical memory every 500 ms, and "
      "on the hot points the queue's commits slow to a fifth for 60 to 160 ms after each of its samples, "
      "longer the longer the load has run (bench/notes.md); a stock Debian 12 server starts none by default. The quiet rule "
      "does not see it: the monitor itself takes a few milliseconds of CPU.")
    w("- Lock wait, transaction latency and TPS are the load driver's: lock wait is the client-side time of the "
      "lock statement; a transaction runs from `BEGIN` to the end of `COMMIT`; percentiles are nearest-rank over "
      "every sample of the measured window; the priority points' lock waits are per class (10% of transactions "
      "high, priority 100 with the `lockguard row + priority` contender).\n")
    w("| point | definition | contenders |")
    w("| --- | --- | --- |")
    for p, head, conts in TARGET_POINTS:
        w(f"| {p} | {head} | {', '.join(VARIANT_NAMES.get(c, c) for c in conts)} |")
    w("")
    w("## Verdicts\n")
    if not runs:
        w("No targets run is recorded yet: run `bash test/bench/run.sh` (and with `LG_PG_PREFIX` for 18) on a quiet "
          "machine.\n")
    else:
        w("| target | " + " | ".join(f"PostgreSQL {maj}" for maj, *_ in runs) + " |")
        w("| --- |" + " --- |" * len(runs))
        for t in TARGETS:
            cells = []
            for _, rows, meta, _, _ in runs:
                cells.append(verdict_text(t, evaluate(rows, t), target_cap(t, *meta_caps(meta))))
            w(f"| {t[0]} | " + " | ".join(cells) + " |")
        w("| others' load over the run | " + " | ".join(quiet_text(others(target_rows(rows))) for _, rows, *_ in runs) + " |")
        w("")
        w("The monitoring point's 100 ms interval has no target; its figures are in the point tables.\n")
        w("**Where the floors stand without lockguard.** The same rounds' queues in arrival order, and `FOR UPDATE` "
          "followed by lockguard_run's work function, against the bounds set relative to plain `FOR UPDATE` (no "
          "targets of their own: they show those targets' floor).\n")
        w("| reference | " + " | ".join(f"PostgreSQL {maj}" for maj, *_ in runs) + " |")
        w("| --- |" + " --- |" * len(runs))
        for t in REFERENCES:
            w(f"| {t[0]} | " + " | ".join(reference_text(t, evaluate(rows, t)) for _, rows, *_ in runs) + " |")
        w("")
    for maj, rows, meta, settings, name in runs:
        w(f"## PostgreSQL {maj}: the run of {meta.get('started', '?')}\n")
        w(f"- {meta.get('postgres', '?')}; lockguard `{meta.get('lockguard', '?')}`; {meta.get('elapsed_s', '?')} s "
          f"({int(meta.get('elapsed_s', 0) or 0) // 60} min); " + run_shape(meta))
        w(f"- {meta.get('nproc', '?')} CPUs ({meta.get('cpu', '?')}), {meta.get('memory', '?')} memory, "
          f"{meta.get('os', '?')}, kernel {meta.get('kernel', '?')}; load average {meta.get('loadavg_before', '?')} "
          f"before, {meta.get('loadavg_after', '?')} after"
          + (f"; the machine up {meta['uptime_before_min']} min when the run started" if 'uptime_before_min' in meta else ""))
        w(f"- the kernel's DAMON monitors: {meta.get('damon', 'not recorded (runs before 2026-12-06 09:00 UTC)')}")
        w(f"- others' load over the run: {quiet_text(others(target_rows(rows)))}; crashes: {meta.get('crashes', '?')}")
        w(f"- the disk around the points' runs of the driver, cluster idle: {disk_text(target_rows(rows))}")
        w(f"- {overrun_text(target_rows(rows))}")
        w("- settings that differ from the server's defaults (`pg_settings`, with their source):\n")
        w("```")
        for s in settings:
            w(s)
        w("```\n")
        markdown_point_tables(rows, w)
        markdown_view_reads(rows, w)
        w(f"Raw results, one JSON line per variant and round: [bench/{name}](bench/{name}).\n")
    notes = os.path.join(benchdir, "notes.md")
    if os.path.exists(notes):
        w("## Observations\n")
        w("Written by hand in [bench/notes.md](bench/notes.md) (the profile summary among them); each note says "
          "which run it is about: the targets runs above or the scenarios run below.\n")
        with open(notes) as f:
            w(f.read().rstrip() + "\n")
    scen = os.path.join(benchdir, "results-scenarios.jsonl")
    scen_meta = os.path.join(benchdir, "meta-scenarios.txt")
    if os.path.exists(scen) and os.path.exists(scen_meta):
        markdown_scenarios(scen, scen_meta, w)
    with open(out_path, "w") as f:
        f.write("\n".join(md))
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "plot":
        return plot(argv[2], argv[3] if len(argv) > 3 else ".")
    if len(argv) == 5 and argv[1] == "cost-markdown":
        return cost_markdown(argv[2], argv[3], argv[4])
    if len(argv) == 4 and argv[1] == "markdown":
        return markdown(argv[2], argv[3])
    if len(argv) in (4, 5) and argv[1] == "pending":
        return pending(argv[2], argv[3], int(argv[4]) if len(argv) > 4 else None)
    if len(argv) in (3, 4, 5) and argv[1] == "verdicts":
        return print_verdicts(argv[2], int(argv[3]) if len(argv) > 3 else None, int(argv[4]) if len(argv) > 4 else None)
    if len(argv) in (3, 4) and argv[1] == "compare-builds":
        return print_compare_builds(argv[2], argv[3] if len(argv) > 3 else "advisory")
    if len(argv) == 4 and argv[1] == "round-order":
        print(" ".join(str(i) for i in round_order(int(argv[2]), int(argv[3]))))
        return 0
    if len(argv) >= 5 and argv[1] == "check-quick":
        args, options = argv[2:], {}
        while len(args) >= 2 and args[0] in ("--traces", "--overrun-probe"):
            options[args[0][2:].replace("-", "_")] = args[1]
            args = args[2:]
        if len(args) >= 3:
            return check_quick(*args, **options)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
