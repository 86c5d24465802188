#!/usr/bin/python3
"""Runs a benchmark client and measures, from /proc, where the machine's CPU went meanwhile.

  cpuwatch.py POSTMASTER_PID OUT.json -- COMMAND [ARGS...]

COMMAND (pgbench, the load driver) runs with this process's stdin/stdout/stderr; its exit status
is returned. Every 0.2 s the CPU time (user + system) of the cluster's processes (the postmaster
and its children) and of COMMAND is read from /proc/PID/stat, and the machine's busy time from
/proc/stat. OUT.json gets:
  wall_s        the command's wall time
  busy_cores    CPU-seconds per second spent by every process on the machine (0..nproc)
  ours_cores    of those, by the cluster and the client
  others_cores  the rest of busy_cores: other processes and the kernel's own time
  other_processes_cores  of those, other processes (user + system time of every process that is
                not ours, this watcher excluded): the load from other work, which the quiet rule
                counts
  kernel_cores  of those, what no process is charged with: interrupts, soft interrupts (the
                disk's completions for our own fsyncs among them) and time stolen by the
                hypervisor
  worker_cpu_s  CPU-seconds of the lockguard worker during the command (null: no worker)
A process that starts and ends between two readings is missed (its CPU counts as others'); the
client's connections live as long as the client, so this is the short-lived backends' share.
"""
import json
import os
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def busy_ticks():
    """(busy, kernel-only) ticks of the machine: busy without idle and iowait; of it, irq +
    softirq + steal, which no process is charged with."""
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    values = [int(x) for x in parts] + [0] * 8
    idle = values[3] + values[4]  # idle + iowait
    return sum(values[:8]) - idle, values[5] + values[6] + values[7]


def proc_stat(pid):
    """(parent pid, CPU ticks) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()  # fields after "pid (comm)"
    return int(rest[1]), int(rest[11]) + int(rest[12])  # ppid, utime + stime


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def ours(postmaster, client, others=None):
    """pid -> CPU ticks of the postmaster, its children and the client; the worker's pid. With
    `others`, every other process's ticks go there (this watcher excluded)."""
    out, worker = {}, None
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        st = proc_stat(pid)
        if st is None:
            continue
        if pid in (postmaster, client) or st[0] in (postmaster, client):
            out[pid] = st[1]
            if st[0] == postmaster and "lockguard worker" in cmdline(pid):
                worker = pid
        elif others is not None and pid != me:
            others[pid] = st[1]
    return out, worker


def main(argv):
    if len(argv) < 5 or argv[3] != "--":
        sys.stderr.write(__doc__)
        return 2
    postmaster, out_path, command = int(argv[1]), argv[2], argv[4:]
    other_first = {}
    first, worker = ours(postmaster, -1, other_first)
    busy0, kernel0 = busy_ticks()
    t0 = time.monotonic()
    child = subprocess.Popen(command)
    seen = dict(first)  # pid -> ticks at first sight (0 for processes born during the run)
    last = dict(first)
    other_seen, other_last = dict(other_first), dict(other_first)
    while True:
        try:
            rc = child.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            pass
        other_now = {}
        now, w = ours(postmaster, child.pid, other_now)
        worker = worker or w
        for pid, ticks in now.items():
            seen.setdefault(pid, 0)
            last[pid] = ticks
        for pid, ticks in other_now.items():
            other_seen.setdefault(pid, 0)
            other_last[pid] = ticks
    wall = time.monotonic() - t0
    busy1, kernel1 = busy_ticks()
    busy, kernel = busy1 - busy0, kernel1 - kernel0
    final, _ = ours(postmaster, -1)
    last.update({pid: t for pid, t in final.items() if pid in last})
    our_ticks = sum(max(last[pid] - seen[pid], 0) for pid in last)
    other_ticks = sum(max(other_last[pid] - other_seen[pid], 0) for pid in other_last)
    worker_s = None
    if worker is not None and worker in last:
        worker_s = (last[worker] - seen.get(worker, 0)) / TICK
    result = {
        "wall_s": round(wall, 3),
        "busy_cores": round(busy / TICK / wall, 3) if wall > 0 else None,
        "ours_cores": round(our_ticks / TICK / wall, 3) if wall > 0 else None,
        "others_cores": round(max(busy - our_ticks, 0) / TICK / wall, 3) if wall > 0 else None,
        "other_processes_cores": round(other_ticks / TICK / wall, 3) if wall > 0 else None,
        "kernel_cores": round(kernel / TICK / wall, 3) if wall > 0 else None,
        "worker_cpu_s": round(worker_s, 3) if worker_s is not None else None,
    }
    with open(out_path, "w") as f:
        json.dump(result, f)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
