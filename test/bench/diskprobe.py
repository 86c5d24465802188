#!/usr/bin/python3
"""Measures how long the disk takes to flush a small write, as a commit's WAL flush does.

  diskprobe.py DIR SECONDS OUT.json

For SECONDS, writes 8 kB (a WAL page) at the next offset of a 1 MB file in DIR and calls
fdatasync, as PostgreSQL's default wal_sync_method does at every commit; the file is removed at the
end. OUT.json gets the flushes' count and their time in ms: mean, p50, p99 and max.

Why: on one hot row a transaction's cycle is its commit's flush (docs/bench/notes.md), and the
runs showed the FIFOs' tails doubling while other processes used no more CPU than before. The
quiet rule reads CPU only; this probe, run before and after each point's rounds with the cluster
idle, records what the disk was doing. It decides nothing: report.py prints it beside the others'
load.
"""
import json
import math
import os
import sys
import time

BLOCK = 8192
FILE_BYTES = 1 << 20


def percentile(sorted_ms, p):
    """Nearest rank, as the load driver and queue_order.py take theirs (int(p * n) was one past
    it whenever p * n is whole)."""
    return sorted_ms[min(len(sorted_ms) - 1, max(0, math.ceil(p * len(sorted_ms)) - 1))]


def probe(directory, seconds):
    path = os.path.join(directory, f"diskprobe-{os.getpid()}.tmp")
    block = b"\x5a" * BLOCK
    flushes = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.pwrite(fd, b"\0" * FILE_BYTES, 0)  # allocated first, as WAL segments are
        os.fsync(fd)
        offset, end = 0, time.monotonic() + seconds
        while time.monotonic() < end:
            os.pwrite(fd, block, offset)
            start = time.perf_counter()
            os.fdatasync(fd)
            flushes.append((time.perf_counter() - start) * 1000)
            offset = (offset + BLOCK) % FILE_BYTES
    finally:
        os.close(fd)
        os.unlink(path)
    flushes.sort()
    return {"seconds": seconds, "flushes": len(flushes),
            "mean_ms": round(sum(flushes) / len(flushes), 4),
            "p50_ms": round(percentile(flushes, 0.50), 4),
            "p99_ms": round(percentile(flushes, 0.99), 4),
            "max_ms": round(flushes[-1], 4)}


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: diskprobe.py DIR SECONDS OUT.json")
    result = probe(sys.argv[1], float(sys.argv[2]))
    with open(sys.argv[3], "w") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main()
