#!/usr/bin/env bash
# lockguard's benchmark, against a private copy of PostgreSQL (15 by default; LG_PG_PREFIX: a
# PostgreSQL built into that prefix, such as /var/cache/lockguard/pg18-18.6), on a fresh Debian 12
# machine (as root).
#
#   bash test/bench/run.sh              # the targets run (issue 21): every target point of the
#                                       #   issue on a stock cluster, its variants interleaved in
#                                       #   one run in slices of 0.4 s settle + 1 s measured +
#                                       #   0.4 s guard (1.6 s around for_update on the hot
#                                       #   points), 24 rounds (12 more at a time, up to
#                                       #   LG_BENCH_MAX_ROUNDS = 48, where a verdict is
#                                       #   unresolved); the preload point in 6
#                                       #   to 14 rounds of two restarts and 5 s pgbench runs; a
#                                       #   verdict per target; docs/bench/results-full.jsonl +
#                                       #   meta-full.txt (on 15; results-full-18.jsonl +
#                                       #   meta-full-18.txt on 18), docs/benchmarks.md regenerated.
#                                       #   Time on 2 cores: 7 interleaved points of 2 to 5
#                                       #   variants, 1.8 s per variant per round (3 s for slices
#                                       #   beside for_update): about 22 min at 24 rounds, 2 to 5
#                                       #   min for preload, ~1.5 min of set-up and view reads:
#                                       #   about 28 min; at most about 50 min if every point needs
#                                       #   the cap.
#   bash test/bench/run.sh --quick      # the same code path, 1 round of ~1 s per point, the verdict
#                                       #   code on its results, a few older scenarios; asserts
#                                       #   results exist (never speed), ends "N passed, N failed"
#   bash test/bench/run.sh --scenarios  # the older scenarios (hot1/10/1000 at 1..64 clients,
#                                       #   transfers, noisy neighbour, ...) on a tuned cluster,
#                                       #   each contender once per point (about 20 minutes):
#                                       #   docs/bench/results-scenarios.jsonl, docs/bench/*.png
#   bash test/bench/run.sh --cost       # the former cost points alone (about 8 minutes):
#                                       #   docs/bench/results-cost.jsonl and docs/bench/cost.md
#
# Environment: LG_BENCH_STAGE (default /tmp/lockguard-bench), LG_BENCH_PORT (default 54341),
# LG_BENCH_DURATION / LG_BENCH_WARMUP (seconds per point; scenarios 8 and 2, quick 1 and 0.2;
# the targets run's warm-up 2), LG_BENCH_SLICE / LG_BENCH_SETTLE / LG_BENCH_GUARD (the targets
# run: a slice's measured seconds and its unmeasured start and end, default 1, 0.4 and 0.4; a
# point's --tail in LGB_TARGET_POINTS lengthens them around one variant),
# LG_BENCH_MIN_ROUNDS / LG_BENCH_MAX_ROUNDS (the targets run: default 24 and 48; from twice the
# minimum on, a point goes on only while a verdict is projected to resolve by the maximum, so a
# raised maximum goes to the verdicts it can settle), LG_BENCH_PRELOAD_MIN_ROUNDS /
# LG_BENCH_PRELOAD_MAX_ROUNDS / LG_BENCH_PRELOAD_DURATION (the preload point: default 6, 48 and
# 5 s; from twice the minimum on, the same rule), LG_BENCH_POINTS (the targets run: only these
# points, labels of LGB_TARGET_POINTS separated by spaces, such as "uncontended"; results and meta
# in the stage, docs/ untouched, verdicts printed), LG_BENCH_REF (the commit to build, default
# HEAD, exported with git archive; "worktree": the checkout as is), LG_BENCH_ROUNDS (rounds of
# --cost; default 3), LG_BENCH_PRIVATE_PG (default 1: install lockguard into a private copy of
# PostgreSQL, see lg_private_pg in scripts/lib.sh; 0: into the system's PostgreSQL), LG_PG_PREFIX
# (run on that PostgreSQL instead of Debian's 15), LG_BENCH_TRACE_DIR (the targets run: every
# point's per-transaction trace into that directory, POINT-rFIRST.csv per run of rounds, for
# test/bench/queue_order.py).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

MODE=full
case "${1:-}" in
  --quick) MODE=quick ;;
  --full|"") MODE=full ;;
  --scenarios) MODE=scenarios ;;
  --cost) MODE=cost ;;
  *) lg_die "usage: run.sh [--quick | --scenarios | --cost]" ;;
esac

lg_require_root
lg_ensure_packages "${LG_BASE_PACKAGES[@]}" libpq-dev gnuplot-nox python3

STAGE=${LG_BENCH_STAGE:-/tmp/lockguard-bench}
PORT=${LG_BENCH_PORT:-54341}
case "$MODE" in
  quick) LGB_DURATION=${LG_BENCH_DURATION:-1}; LGB_WARMUP=${LG_BENCH_WARMUP:-0.2}; LGB_VACUUM=0; LGB_DISK_PROBE_S=0.5
         LGB_SLICE=$LGB_DURATION; LGB_SETTLE=0.2; LGB_GUARD=0.2 ;;
  full) LGB_DURATION=${LG_BENCH_DURATION:-10}; LGB_WARMUP=${LG_BENCH_WARMUP:-2}; LGB_VACUUM=1
        LGB_SLICE=${LG_BENCH_SLICE:-1}; LGB_SETTLE=${LG_BENCH_SETTLE:-0.4}; LGB_GUARD=${LG_BENCH_GUARD:-0.4}
        LGB_PRELOAD_MIN_ROUNDS=${LG_BENCH_PRELOAD_MIN_ROUNDS:-6}; LGB_PRELOAD_MAX_ROUNDS=${LG_BENCH_PRELOAD_MAX_ROUNDS:-48}
        LGB_PRELOAD_DURATION=${LG_BENCH_PRELOAD_DURATION:-5} ;;
  *) LGB_DURATION=${LG_BENCH_DURATION:-8}; LGB_WARMUP=${LG_BENCH_WARMUP:-2}; LGB_VACUUM=1 ;;
esac
LGB_QUICK_ROWS=20000
ROWS=$([ "$MODE" = quick ] && echo $LGB_QUICK_ROWS || echo 1000000)
ROUNDS=${LG_BENCH_ROUNDS:-3}
MIN_ROUNDS=${LG_BENCH_MIN_ROUNDS:-24}
MAX_ROUNDS=${LG_BENCH_MAX_ROUNDS:-48}
[ "$MAX_ROUNDS" -ge "$MIN_ROUNDS" ] || lg_die "LG_BENCH_MAX_ROUNDS ($MAX_ROUNDS) is below LG_BENCH_MIN_ROUNDS ($MIN_ROUNDS)"
LGB_COST_PORT=$PORT

if [ "${LG_BENCH_PRIVATE_PG:-1}" = 1 ]; then
  lg_private_pg "$STAGE-pg"
  lg_log "using a private copy of PostgreSQL in $STAGE-pg"
fi

# Build a committed version (LG_BENCH_REF, default HEAD) from a clean export (lgb_install_ref);
# LG_BENCH_REF=worktree, or a ref that names no commit, builds the checkout as it is.
REF=${LG_BENCH_REF:-HEAD}
if [ "$REF" != worktree ] && git -C "$LG_REPO" rev-parse -q --verify "$REF^{commit}" >/dev/null 2>&1; then
  VERSION=$(git -C "$LG_REPO" rev-parse --short "$REF^{commit}")
  lgb_install_ref "$REF" "$STAGE"
else
  VERSION="$(git -C "$LG_REPO" rev-parse --short HEAD 2>/dev/null || echo unknown) + working tree ($(git -C "$LG_REPO" status --porcelain 2>/dev/null | wc -l) changed files)"
  lgb_install_ref worktree "$STAGE"
fi
LGB_WORK=$STAGE/bench
mkdir -p "$LGB_WORK"
LGB_DRIVER=$LGB_WORK/lgbench
lgb_build_driver "$LGB_DRIVER"

CLUSTER=$LGB_WORK/cluster
trap 'lg_cluster_stop "$CLUSTER/data"; lg_cluster_stop "$LGB_WORK/stock/data"' EXIT
if [ "$MODE" = quick ]; then
  lgb_quick "$PORT"
  exit $?
fi
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
T0=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# How long the machine had been up: on this project's machine the FIFOs' p95 at one hot row was
# half as long in a run started 9 minutes after boot as in runs hours later (docs/bench/notes.md).
UPTIME_BEFORE=$(awk '{printf "%.0f", $1 / 60}' /proc/uptime)
OUTDIR=$LG_REPO/docs/bench
mkdir -p "$OUTDIR"
PGMAJOR=$("$LG_BINDIR/pg_config" --version | grep -oE '[0-9]+' | head -1)
# The targets run on 15 writes results-full.jsonl; on another major results-full-<major>.jsonl.
SUFFIX=$([ "$MODE" = full ] && [ "$PGMAJOR" != 15 ] && echo "-$PGMAJOR")
RESULTS=$OUTDIR/results-$MODE$SUFFIX.jsonl
# Some target points only (LG_BENCH_POINTS): an experiment, kept in the stage, not in docs/.
LGB_POINTS=$([ "$MODE" = full ] && echo "${LG_BENCH_POINTS:-}")
[ -n "$LGB_POINTS" ] && { RESULTS=$LGB_WORK/results-points$SUFFIX.jsonl; OUTDIR=$LGB_WORK; }
: >"$RESULTS"
CRASHES=
SETTINGS=()
case "$MODE" in
  full)
    [ -n "${LG_BENCH_TRACE_DIR:-}" ] && { mkdir -p "$LG_BENCH_TRACE_DIR"; LGB_TRACE_DIR=$LG_BENCH_TRACE_DIR; }
    lgb_stock_cluster "$LGB_WORK/stock" "$PORT" "$ROWS"
    mapfile -t SETTINGS < <(lgb_settings_changed)
    lg_log "the targets run on PostgreSQL $PGMAJOR (slices of $LGB_SETTLE + $LGB_SLICE + $LGB_GUARD s after $LGB_WARMUP s warm-up, $MIN_ROUNDS to $MAX_ROUNDS rounds) -> $RESULTS"
    lgb_targets "$RESULTS" "$ROWS" "$MIN_ROUNDS" "$MAX_ROUNDS"
    LGB_POSTMASTER=
    lg_cluster_stop "$LGB_WORK/stock/data"
    CRASHES=$(lg_crash_lines "$LGB_WORK/stock/data/server.log") ;;
  scenarios)
    lgb_cluster "$CLUSTER" "$PORT" "$ROWS"
    SETTINGS=("shared_preload_libraries = 'lockguard'" "fsync = off" "listen_addresses = '' (unix socket)" "${LGB_SETTINGS[@]}")
    lg_log "running the scenarios ($LGB_DURATION s per point after $LGB_WARMUP s warm-up) -> $RESULTS"
    lgb_run_all full "$RESULTS"
    lg_cluster_stop "$CLUSTER/data"
    CRASHES=$(lg_crash_lines "$CLUSTER/data/server.log") ;;
  cost)
    lg_log "running the cost points ($ROUNDS round(s), $LGB_DURATION s per point) -> $RESULTS"
    lgb_cost "$RESULTS" "$ROUNDS"
    SETTINGS=("shared_preload_libraries = 'lockguard' or '' (the variable)")
    CRASHES=$CRASHES_COST ;;
esac
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(( $(date +%s) - T0 ))

# What the report prints about this run.
META=$LGB_WORK/meta-$MODE$SUFFIX.txt
{
  echo "started: $STARTED"
  echo "elapsed_s: $ELAPSED"
  echo "mode: $MODE"
  echo "major: $PGMAJOR"
  [ "$MODE" = full ] || echo "duration_s: $LGB_DURATION"
  echo "warmup_s: $LGB_WARMUP"
  [ "$MODE" = full ] && { echo "slice_s: $LGB_SLICE"; echo "settle_s: $LGB_SETTLE"; echo "guard_s: $LGB_GUARD"
    echo "tails: $(lgb_point_tails)"
    echo "min_rounds: $MIN_ROUNDS"
    echo "max_rounds: $MAX_ROUNDS"; echo "preload_rounds: $LGB_PRELOAD_MIN_ROUNDS to $LGB_PRELOAD_MAX_ROUNDS"
    echo "preload_duration_s: $LGB_PRELOAD_DURATION"; echo "rows: $ROWS"; }
  echo "disk_probe_s: ${LGB_DISK_PROBE_S:-2}"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "memory: $(free -m | awk '/^Mem:/ {printf "%.1f GiB", $2/1024}')"
  echo "kernel: $(uname -r)"
  echo "damon: $(lgb_damon)"
  echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "postgres: $("$LG_BINDIR/postgres" --version)$([ "${LG_BENCH_PRIVATE_PG:-1}" = 1 ] && echo " (private copy of $([ -n "${LG_PG_PREFIX:-}" ] && echo "the build in LG_PG_PREFIX" || echo "the Debian package's installation"))")"
  echo "lockguard: $VERSION"
  echo "loadavg_before: $LOAD_BEFORE"
  echo "uptime_before_min: $UPTIME_BEFORE"
  echo "loadavg_after: $LOAD_AFTER"
  for s in "${SETTINGS[@]}"; do echo "setting: $s"; done
  echo "crashes: $( [ -n "$CRASHES" ] && echo yes || echo no)"
} >"$META"
[ "$OUTDIR" = "$LGB_WORK" ] || cp "$META" "$OUTDIR/$(basename "$META")"

case "$MODE" in
  full)
    "$LGB_PYTHON" "$LGB_DIR/report.py" verdicts "$RESULTS" "$MAX_ROUNDS" "$LGB_PRELOAD_MAX_ROUNDS" >&2
    if [ -n "$LGB_POINTS" ]; then
      [ -n "$CRASHES" ] && { echo "$CRASHES"; lg_die "the server log shows a crash"; }
      lg_log "done in ${ELAPSED}s: points $LGB_POINTS, $RESULTS (docs/ untouched)"
      exit 0
    fi ;;
  scenarios)
    "$LGB_PYTHON" "$LGB_DIR/report.py" plot "$RESULTS" "$OUTDIR" || lg_die "drawing the pictures failed" ;;
  cost)
    # Only the monitoring picture is of this run; the others in docs/bench/ are the scenarios run's.
    "$LGB_PYTHON" "$LGB_DIR/report.py" plot "$RESULTS" "$LGB_WORK/png" >&2 || lg_log "drawing failed"
    cp "$LGB_WORK/png/monitoring.png" "$OUTDIR/cost-monitoring.png" 2>/dev/null
    "$LGB_PYTHON" "$LGB_DIR/report.py" cost-markdown "$RESULTS" "$OUTDIR/meta-cost.txt" "$OUTDIR/cost.md" \
      || lg_die "writing docs/bench/cost.md failed"
    [ -n "$CRASHES" ] && { echo "$CRASHES"; lg_die "the server log shows a crash"; }
    lg_log "done in ${ELAPSED}s: docs/bench/cost.md, $RESULTS"
    exit 0 ;;
esac
"$LGB_PYTHON" "$LGB_DIR/report.py" markdown "$OUTDIR" "$LG_REPO/docs/benchmarks.md" \
  || lg_die "writing docs/benchmarks.md failed"
[ -n "$CRASHES" ] && { echo "$CRASHES"; lg_die "the server log shows a crash"; }
lg_log "done in ${ELAPSED}s: docs/benchmarks.md, $RESULTS"
