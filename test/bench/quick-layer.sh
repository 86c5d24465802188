#!/usr/bin/env bash
# The benchmark's quick mode as a test layer (for test/run-all.sh): reuses the lockguard that is
# already installed (it does not build or install the extension), builds the load driver, starts
# its own private cluster, runs every scenario for every contender for about 1 s, asserts that
# each point produced results (never their speed), and ends with "N passed, N failed".
# Writes only under LG_BENCH_STAGE; leaves the source tree untouched. Run as root.
#
#   LG_BENCH_STAGE=/tmp/lockguard-test LG_BENCH_PORT=54342 bash test/bench/quick-layer.sh
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
lg_require_root
lg_ensure_packages libpq-dev gnuplot-nox python3

STAGE=${LG_BENCH_STAGE:-/tmp/lockguard-bench-quick}
PORT=${LG_BENCH_PORT:-54342}
[ -f "$("$LG_BINDIR/pg_config" --pkglibdir)/lockguard.so" ] \
  || { echo "lockguard is not installed"; echo "0 passed, 1 failed"; exit 1; }

LGB_WORK=$STAGE/bench-quick
mkdir -p "$LGB_WORK"
LGB_DRIVER=$LGB_WORK/lgbench
LGB_DURATION=${LG_BENCH_DURATION:-1}
LGB_WARMUP=${LG_BENCH_WARMUP:-0.2}
LGB_VACUUM=0
LGB_QUICK_ROWS=20000
lgb_build_driver "$LGB_DRIVER"

CLUSTER=$LGB_WORK/cluster
trap 'lg_cluster_stop "$CLUSTER/data"; lg_cluster_stop "$LGB_WORK/stock/data"' EXIT
lgb_cluster "$CLUSTER" "$PORT" "$LGB_QUICK_ROWS"
RESULTS=$LGB_WORK/results-quick.jsonl
lg_log "layer bench: quick benchmark ($LGB_DURATION s per point) -> $RESULTS"
lgb_run_all quick "$RESULTS"
lg_cluster_stop "$CLUSTER/data"
# The cost points on a stock cluster, one round (issue 15): the same port, the first cluster is down.
LGB_COST_PORT=$PORT
lgb_cost "$RESULTS" 1
"$LGB_PYTHON" "$LGB_DIR/report.py" plot "$RESULTS" "$LGB_WORK/png" >&2 || lg_log "drawing failed"
"$LGB_PYTHON" "$LGB_DIR/report.py" check "$RESULTS" "$LGB_WORK/png" "$CLUSTER/data/server.log" "$LGB_WORK/stock/data/server.log"
