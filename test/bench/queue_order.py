#!/usr/bin/python3
"""How a hot point's lock waits were served, from the load driver's --trace CSV (one line per
measured committed transaction: client, slice, variant, row, start_ms, lock_ms, txn_ms).

  queue_order.py TRACE.csv CLIENTS

For every variant: how many other transactions of the same row ended while a transaction waited
for its lock ("ahead"), and how long each of them held the row ("hold": the wait over "ahead").
Under a strict FIFO on one row with CLIENTS clients in a closed loop, every wait has CLIENTS - 1
ahead, so a wait is the sum of CLIENTS - 1 holds and its tail is the tail of that sum: an order
that serves the longest-waiting first leaves the holds as the only thing that sets its p95. Under
FOR UPDATE's order "ahead" spreads from 0 to more than CLIENTS.

Why "ended": the trace has no grant times, and a holder's transaction ends right after it
releases the row. The wait is taken as [start, start + lock_ms]: the BEGIN before the lock
statement (one round trip, about 0.1 ms) is left out, within one hold. The trace has only the
measured part of each slice, so a wait that starts less than the slice's longest transaction after
its first traced start, or ends less than that before its last traced end, is left out: others it
waited behind may be missing.
"""
import bisect
import csv
import math
import sys
from collections import defaultdict


def quantile(sorted_values, q):
    """Nearest rank, as the load driver reports its percentiles."""
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))]


def read_trace(path):
    with open(path, newline="") as f:
        for line in csv.DictReader(f):
            start, lock, txn = float(line["start_ms"]), float(line["lock_ms"]), float(line["txn_ms"])
            yield {"slice": int(line["slice"]), "variant": line["variant"], "row": line["row"],
                   "start": start, "lock_end": start + lock, "end": start + txn, "lock": lock}


def queue_order(lines, clients):
    """{variant: summary} over the waits that lie wholly inside their slice's traced span."""
    by_slice_row = defaultdict(list)
    for t in lines:
        by_slice_row[(t["slice"], t["row"])].append(t)
    per_variant = defaultdict(lambda: {"ahead": [], "wait": [], "hold": []})
    for group in by_slice_row.values():
        ends = sorted(t["end"] for t in group)
        first_start = min(t["start"] for t in group)
        last_end = ends[-1]
        longest = max(t["end"] - t["start"] for t in group)
        for t in group:
            # A wait near the span's edges may overlap transactions the trace does not have.
            if t["start"] - longest < first_start or t["lock_end"] + longest > last_end:
                continue
            ahead = bisect.bisect_left(ends, t["lock_end"]) - bisect.bisect_right(ends, t["start"])
            v = per_variant[t["variant"]]
            v["ahead"].append(ahead)
            v["wait"].append(t["lock"])
            if ahead > 0:
                v["hold"].append(t["lock"] / ahead)
    out = {}
    for name, v in per_variant.items():
        ahead, wait, hold = sorted(v["ahead"]), sorted(v["wait"]), sorted(v["hold"])
        fifo = sum(1 for a in ahead if abs(a - (clients - 1)) <= 1)
        out[name] = {
            "waits": len(ahead),
            "fifo_share": fifo / len(ahead) if ahead else float("nan"),
            "ahead": [quantile(ahead, q) for q in (0.05, 0.5, 0.95)],
            "wait_ms": [quantile(wait, q) for q in (0.5, 0.95)],
            "hold_ms": [quantile(hold, q) for q in (0.5, 0.95)],
        }
    return out


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    clients = int(argv[2])
    summary = queue_order(read_trace(argv[1]), clients)
    if not summary:
        print("no wait lies wholly inside a traced span")
        return 1
    print(f"{'variant':<22}{'waits':>7}  {'ahead ' + str(clients - 1) + ' +- 1':>14}  "
          f"{'ahead p5/p50/p95':>17}  {'wait p50/p95 ms':>16}  {'hold p50/p95 ms':>16}")
    for name in sorted(summary):
        s = summary[name]
        print(f"{name:<22}{s['waits']:>7}  {100 * s['fifo_share']:>13.1f}%  "
              f"{'/'.join(str(a) for a in s['ahead']):>17}  "
              f"{s['wait_ms'][0]:>7.1f}/{s['wait_ms'][1]:<8.1f}  {s['hold_ms'][0]:>7.3f}/{s['hold_ms'][1]:<8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
