#!/usr/bin/env bash
# The benchmark's quick mode as a test layer (for test/run-all.sh): reuses the lockguard that is
# already installed (it does not build or install the extension), builds the load driver, runs
# the full mode's targets code path for one round of about 1 s per point on its own stock cluster
# (and the verdict code on its results), then a few older scenarios on a tuned cluster; asserts
# that each point produced results and each target got a verdict line (never their speed), and
# ends with "N passed, N failed". Writes only under LG_BENCH_STAGE; leaves the source tree
# untouched. Run as root.
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
LGB_SLICE=$LGB_DURATION
LGB_SETTLE=0.2
LGB_GUARD=0.2
LGB_VACUUM=0
LGB_QUICK_ROWS=20000
lgb_build_driver "$LGB_DRIVER"

trap 'lg_cluster_stop "$LGB_WORK/cluster/data"; lg_cluster_stop "$LGB_WORK/stock/data"' EXIT
lgb_quick "$PORT"
