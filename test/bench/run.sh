#!/usr/bin/env bash
# lockguard's benchmark: every scenario for every contender, against a private PostgreSQL 15
# cluster with fixed settings, on a fresh Debian 12 machine (as root).
#
#   bash test/bench/run.sh           # full run (about 22-28 minutes on 2 cores):
#                                         #   docs/bench/results-full.jsonl, docs/bench/*.png,
#                                         #   docs/benchmarks.md regenerated
#   bash test/bench/run.sh --quick   # every scenario for about 1 s, few client counts;
#                                         #   asserts each point produced results (never speed),
#                                         #   ends with "N passed, N failed"
#   bash test/bench/run.sh --cost    # only the cost points on a stock cluster (about 8
#                                         #   minutes): lockguard preloaded or not under pgbench,
#                                         #   the monitoring point, the views' read times;
#                                         #   docs/bench/results-cost.jsonl and docs/bench/cost.md
#
# Environment: LG_BENCH_STAGE (default /tmp/lockguard-bench), LG_BENCH_PORT (default 54341),
# LG_BENCH_DURATION / LG_BENCH_WARMUP (seconds per point; full default 8 and 2), LG_BENCH_REF
# (the commit to build, default HEAD, exported with git archive; "worktree": the checkout as is),
# LG_BENCH_ROUNDS (rounds of the alternated cost points; default 3, quick 1),
# LG_BENCH_PRIVATE_PG (default 1: install lockguard into a private copy of PostgreSQL, see
# lg_private_pg in scripts/lib.sh; 0: into the system's PostgreSQL).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

MODE=full
case "${1:-}" in
  --quick) MODE=quick ;;
  --full|"") MODE=full ;;
  --cost) MODE=cost ;;
  *) lg_die "usage: run.sh [--quick | --cost]" ;;
esac

lg_require_root
lg_ensure_packages "${LG_BASE_PACKAGES[@]}" libpq-dev gnuplot-nox python3

STAGE=${LG_BENCH_STAGE:-/tmp/lockguard-bench}
PORT=${LG_BENCH_PORT:-54341}
if [ "$MODE" = quick ]; then
  LGB_DURATION=${LG_BENCH_DURATION:-1}; LGB_WARMUP=${LG_BENCH_WARMUP:-0.2}; LGB_VACUUM=0
else
  LGB_DURATION=${LG_BENCH_DURATION:-8}; LGB_WARMUP=${LG_BENCH_WARMUP:-2}; LGB_VACUUM=1
fi
LGB_QUICK_ROWS=20000
ROWS=$([ "$MODE" = quick ] && echo $LGB_QUICK_ROWS || echo 1000000)
ROUNDS=${LG_BENCH_ROUNDS:-$([ "$MODE" = quick ] && echo 1 || echo 3)}
LGB_COST_PORT=$PORT

if [ "${LG_BENCH_PRIVATE_PG:-1}" = 1 ]; then
  lg_private_pg "$STAGE-pg"
  lg_log "using a private copy of PostgreSQL in $STAGE-pg"
fi

# Build a committed version (LG_BENCH_REF, default HEAD) from a clean export, so that work in
# progress in the checkout never ends up in the numbers; LG_BENCH_REF=worktree builds the checkout.
REF=${LG_BENCH_REF:-HEAD}
if [ "$REF" != worktree ] && git -C "$LG_REPO" rev-parse -q --verify "$REF^{commit}" >/dev/null 2>&1; then
  VERSION=$(git -C "$LG_REPO" rev-parse --short "$REF^{commit}")
  SRC=$STAGE-src
  rm -rf "$SRC"; mkdir -p "$SRC"
  git -C "$LG_REPO" archive "$REF" | tar -x -C "$SRC" || lg_die "git archive $REF failed"
  REPO_SAVED=$LG_REPO; LG_REPO=$SRC
  lg_stage_and_install "$STAGE"
  LG_REPO=$REPO_SAVED
else
  VERSION="$(git -C "$LG_REPO" rev-parse --short HEAD 2>/dev/null || echo unknown) + working tree ($(git -C "$LG_REPO" status --porcelain 2>/dev/null | wc -l) changed files)"
  lg_stage_and_install "$STAGE"
fi
LGB_WORK=$STAGE/bench
mkdir -p "$LGB_WORK"
LGB_DRIVER=$LGB_WORK/lgbench
lgb_build_driver "$LGB_DRIVER"

CLUSTER=$LGB_WORK/cluster
trap 'lg_cluster_stop "$CLUSTER/data"; lg_cluster_stop "$LGB_WORK/stock/data"' EXIT
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
T0=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
OUTDIR=$LG_REPO/docs/bench
mkdir -p "$OUTDIR"
RESULTS=$OUTDIR/results-$MODE.jsonl
: >"$RESULTS"
CRASHES=
if [ "$MODE" != cost ]; then
  lgb_cluster "$CLUSTER" "$PORT" "$ROWS"
  lg_log "running the $MODE benchmark ($LGB_DURATION s per point after $LGB_WARMUP s warm-up) -> $RESULTS"
  lgb_run_all "$MODE" "$RESULTS"
  lg_cluster_stop "$CLUSTER/data"
  CRASHES=$(lg_crash_lines "$CLUSTER/data/server.log")
fi
lg_log "running the cost points ($ROUNDS round(s), $LGB_DURATION s per point) -> $RESULTS"
lgb_cost "$RESULTS" "$ROUNDS"
CRASHES+=$CRASHES_COST
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(( $(date +%s) - T0 ))

# What the report prints about this run.
META=$LGB_WORK/meta-$MODE.txt
{
  echo "started: $STARTED"
  echo "elapsed_s: $ELAPSED"
  echo "mode: $MODE"
  echo "duration_s: $LGB_DURATION"
  echo "warmup_s: $LGB_WARMUP"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "memory: $(free -m | awk '/^Mem:/ {printf "%.1f GiB", $2/1024}')"
  echo "kernel: $(uname -r)"
  echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "postgres: $("$LG_BINDIR/postgres" --version)$([ "${LG_BENCH_PRIVATE_PG:-1}" = 1 ] && echo " (private copy of the Debian package's installation)")"
  echo "lockguard: $VERSION"
  echo "loadavg_before: $LOAD_BEFORE"
  echo "loadavg_after: $LOAD_AFTER"
  echo "setting: shared_preload_libraries = 'lockguard'"
  echo "setting: fsync = off"
  echo "setting: listen_addresses = '' (unix socket)"
  for s in "${LGB_SETTINGS[@]}"; do echo "setting: $s"; done
  echo "crashes: $( [ -n "$CRASHES" ] && echo yes || echo no)"
} >"$META"

if [ "$MODE" = quick ]; then
  "$LGB_PYTHON" "$LGB_DIR/report.py" plot "$RESULTS" "$LGB_WORK/png" >&2 || lg_log "drawing failed"
  "$LGB_PYTHON" "$LGB_DIR/report.py" check "$RESULTS" "$LGB_WORK/png" "$CLUSTER/data/server.log" "$LGB_WORK/stock/data/server.log"
  exit $?
fi
if [ "$MODE" = cost ]; then
  # Only the monitoring picture is of this run; the others in docs/bench/ stay the full run's.
  "$LGB_PYTHON" "$LGB_DIR/report.py" plot "$RESULTS" "$LGB_WORK/png" >&2 || lg_log "drawing failed"
  cp "$LGB_WORK/png/monitoring.png" "$OUTDIR/cost-monitoring.png" 2>/dev/null
  cp "$META" "$OUTDIR/meta-cost.txt"
  "$LGB_PYTHON" "$LGB_DIR/report.py" cost-markdown "$RESULTS" "$OUTDIR/meta-cost.txt" "$OUTDIR/cost.md" \
    || lg_die "writing docs/bench/cost.md failed"
  [ -n "$CRASHES" ] && { echo "$CRASHES"; lg_die "the server log shows a crash"; }
  lg_log "done in ${ELAPSED}s: docs/bench/cost.md, $RESULTS"
  exit 0
fi

"$LGB_PYTHON" "$LGB_DIR/report.py" plot "$RESULTS" "$OUTDIR" || lg_die "drawing the pictures failed"
cp "$META" "$OUTDIR/meta-full.txt"
"$LGB_PYTHON" "$LGB_DIR/report.py" markdown "$RESULTS" "$OUTDIR/meta-full.txt" "$LG_REPO/docs/benchmarks.md" \
  || lg_die "writing docs/benchmarks.md failed"
[ -n "$CRASHES" ] && { echo "$CRASHES"; lg_die "the server log shows a crash"; }
lg_log "done in ${ELAPSED}s: docs/benchmarks.md, $OUTDIR"
