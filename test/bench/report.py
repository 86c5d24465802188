#!/usr/bin/python3
"""Pictures, checks and the markdown report of lockguard's benchmark (test/bench/run.sh).

Standard library only (Debian's python3 package); pictures are drawn by gnuplot (gnuplot-nox).

  report.py plot RESULTS.jsonl OUTDIR              one PNG per scenario into OUTDIR
  report.py check RESULTS.jsonl PNGDIR SERVER_LOG  quick mode's assertions, TAP lines and
                                                   "N passed, N failed"; exit 1 on any failure
  report.py markdown RESULTS.jsonl META.txt OUT.md  regenerate docs/benchmarks.md
"""
import json
import os
import re
import subprocess
import sys
import tempfile

NAMES = {
    "for_update": "FOR UPDATE",
    "advisory": "pg_advisory_xact_lock",
    "for_update_retry": "FOR UPDATE + timeout + retries",
    "lg_row": "lockguard row",
    "lg_row_prio": "lockguard row + priority",
    "lg_named": "lockguard named",
    "lg_multi": "lockguard multi-acquire",
    "lg_run": "lockguard_run",
}
CONTENDERS = ["for_update", "advisory", "for_update_retry", "lg_row", "lg_named", "lg_multi", "lg_run"]
PRIORITY_CONTENDERS = ["for_update", "advisory", "lg_row", "lg_row_prio"]
SCENARIOS = ["uncontended", "hot1", "hot10", "hot1000", "nominal", "transfer10", "transfer100", "priority"]
# Contenders that lock two rows one by one in random order: deadlocks are their expected outcome
# in the transfer scenarios, so the quick check only asks them for some outcome, not commits.
RANDOM_ORDER = {"for_update", "advisory", "lg_row", "lg_named"}
BARS = ("set style data histograms\nset style fill solid 0.8 border -1\nset boxwidth 0.8\n"
        "set xtics rotate by -25 nomirror\nset bmargin 8\n")
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
    for gp in scripts:
        p = subprocess.run(["gnuplot"], input=gp, text=True, capture_output=True)
        if p.returncode != 0:
            sys.stderr.write(p.stderr)
            return 1
    return 0


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
# Quick-mode checks
# ----------------------------------------------------------------------------------------------
def check(results, pngdir, server_log):
    passed = failed = 0
    n = 0

    def tap(ok, text):
        nonlocal passed, failed, n
        n += 1
        print(f"{'ok' if ok else 'not ok'} {n} - {text}")
        if ok:
            passed += 1
        else:
            failed += 1

    try:
        rows = load(results)
    except (OSError, ValueError) as e:
        rows = []
        tap(False, f"results file readable: {e}")
    seen = {}
    for r in rows:
        seen.setdefault((r.get("scenario"), r.get("contender")), []).append(r)
    for scenario in SCENARIOS:
        for c in expected_contenders(scenario):
            got = seen.get((scenario, c), [])
            if not got:
                tap(False, f"{scenario} {c}: no result")
                continue
            for r in got:
                what = f"{scenario} {c} {r.get('clients')} clients"
                if "driver_failed" in r:
                    tap(False, f"{what}: driver failed: {r['driver_failed']}")
                    continue
                outcomes = r["committed"] + r["deadlocks"] + r["lock_timeouts"]
                if scenario.startswith("transfer") and c in RANDOM_ORDER:
                    ok = outcomes > 0 and r["other_errors"] == 0
                else:
                    ok = r["committed"] > 0 and r["other_errors"] == 0 and r["txn_ms"]["n"] > 0
                if scenario == "priority" and ok:
                    cl = r.get("classes", {})
                    ok = cl.get("high", {}).get("committed", 0) > 0 and cl.get("low", {}).get("committed", 0) > 0
                detail = (f"{r['committed']} committed, {r['lock_timeouts']} timeouts, {r['deadlocks']} deadlocks, "
                          f"{r['other_errors']} other errors")
                if r.get("errors_sample"):
                    detail += f" {r['errors_sample'][:2]}"
                tap(ok, f"{what}: {detail}")
    for scenario in SCENARIOS:
        png = os.path.join(pngdir, f"{scenario}.png")
        tap(os.path.isfile(png) and os.path.getsize(png) > 1000, f"picture {scenario}.png drawn")
    try:
        with open(server_log, errors="replace") as f:
            crashes = [line.rstrip() for line in f if CRASH.search(line)]
    except OSError:
        crashes = ["server log missing"]
    tap(not crashes, "server log shows no crash" + (f": {crashes[:3]}" if crashes else ""))
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


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
    return "\n".join(out)


def markdown(results, meta_path, out_path):
    rows = load(results)
    meta, settings = {}, []
    with open(meta_path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition(": ")
            if k == "setting":
                settings.append(v)
            else:
                meta[k] = v
    md = []
    w = md.append
    w("# Benchmarks\n")
    w("<!-- Generated by test/bench/report.py from docs/bench/results-full.jsonl; do not edit by hand:"
      " re-run `sudo bash test/bench/run.sh` (hand-written observations live in docs/bench/notes.md). -->\n")
    w(f"Run of **{meta.get('started', '?')}** ({int(meta.get('elapsed_s', 0)) // 60} min), lockguard `{meta.get('lockguard', '?')}`, "
      f"{meta.get('postgres', '?')}.\n")
    w("> **Noisy numbers.** This run was made on a shared 2-core machine while other engineers were building and "
      f"testing on it (load average {meta.get('loadavg_before', '?')} before, {meta.get('loadavg_after', '?')} after). "
      "It proves the pipeline; the figures are indicative only. The lead will re-run it on a quiet machine.\n")
    w("## How to run\n")
    w("```\nsudo bash test/bench/run.sh           # full run: docs/bench/results-full.jsonl, docs/bench/*.png, this file\n"
      "sudo bash test/bench/run.sh --quick   # every scenario for about 1 s; asserts results exist, never speed\n"
      "LG_BENCH_REF=<commit> sudo bash test/bench/run.sh   # benchmark another commit (default HEAD; 'worktree': the checkout)\n```\n")
    w("The runner installs what it needs (Debian packages; lockguard, built from a clean `git archive` of the commit, "
      "into a private copy of the PostgreSQL 15 installation so that other installs on the machine cannot interfere), "
      "builds the load driver "
      "(`test/bench/driver`, C++17 + libpq), starts a private cluster, loads the data, runs every scenario for every "
      "contender in the same run, then draws the pictures with gnuplot and writes this file.\n")
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
    w("| FOR UPDATE + lock_timeout + retries | `FOR UPDATE` with `lock_timeout = 100ms`; on 55P03/40P01 roll back, sleep "
      "(exponential back-off 10 ms doubling to 1 s, equal jitter) and retry, at most 5 attempts |")
    w("| lockguard row | `lockguard_acquire_row('accounts', $1)` per row (default timeout 10 s) |")
    w("| lockguard row + priority | same, `priority => 100` for the high class, 0 otherwise |")
    w("| lockguard named | `lockguard_acquire('acct:' \\|\\| $1)` per row |")
    w("| lockguard multi-acquire | one `lockguard_acquire_all(ARRAY[lockguard.row_lock('accounts', $1), ...])` |")
    w("| lockguard_run | `lockguard_run(ARRAY[row_lock...], 'bench_work(jsonb)', ..., max_attempts => 5, timeout_ms => 100)`;"
      " `bench_work` (PL/pgSQL) does the updates inside the envelope |")
    w("")
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
    w("")
    w("## Targets\n")
    w("From issue 8; reported, never asserted in tests. A single noisy run decides nothing.\n")
    w(targets(rows))
    w("")
    notes = os.path.join(os.path.dirname(results), "notes.md")
    if os.path.exists(notes):
        w("## Observations\n")
        with open(notes) as f:
            w(f.read().rstrip() + "\n")
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
    w("### Noisy neighbour — not measured yet\n")
    w("Waits for the tenants issue: one tenant hammering hot rows while another runs the nominal load, with and "
      "without tenant fair share. Its scenario goes into `lgb_run_all` in `test/bench/bench-lib.sh` when tenants land.\n")
    w("### Monitoring overhead — not measured yet\n")
    w("Waits for the monitoring issue: the nominal and hot-row scenarios with the background sampler on and off. Its "
      "scenario goes into `lgb_run_all` in `test/bench/bench-lib.sh` when the worker lands.\n")
    w("Raw results, one JSON line per (contender, scenario, clients): [bench/results-full.jsonl](bench/results-full.jsonl).\n")
    with open(out_path, "w") as f:
        f.write("\n".join(md))
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "plot":
        return plot(argv[2], argv[3] if len(argv) > 3 else ".")
    if len(argv) == 5 and argv[1] == "check":
        return check(argv[2], argv[3], argv[4])
    if len(argv) == 5 and argv[1] == "markdown":
        return markdown(argv[2], argv[3], argv[4])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
