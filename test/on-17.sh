#!/usr/bin/env bash
# Every test layer of lockguard against PostgreSQL 17, on a Debian 12 machine: Debian 12 has no
# 17, so the layers run inside the Debian 13 root of scripts/pg17-root.sh (made once, cached)
# against Debian 13's release postgresql-17, as Debian 13 users run it (JIT on). test/run-all.sh
# runs inside the root with LG_PG_MAJOR=17 and installs the layers' packages there (Debian 13's,
# cached in the root after the first run). Ends with run-all's "N passed, N failed" line and its
# exit status.
#
#   bash test/on-17.sh                       # as root
#   LG_LAYERS="regress isolation" bash test/on-17.sh
#
# Honours LG_TEST_STAGE, LG_TEST_PORT, LG_LAYERS, LG_CHAOS_SECONDS and LG_TAP_SKIP as test/run-all.sh does;
# the stage is a path inside the root (ROOT/STAGE on the host), its results-all/ is copied to
# STAGE/results-all on the host at the end. The checkout is copied (rsync, without .git) into
# the root at /usr/src/lockguard; nothing of the host is mounted into the root, and the root's
# proc and /dev/shm mounts are released at the end, whatever happened.
#
# Layers by default: every layer of run-all, the deployment parts included (the TAP tests 040-070
# with Debian 13's pgbouncer, prometheus-postgres-exporter, prometheus, pgaudit and
# pg_wait_sampling for 17; patroni with Debian 13's patroni 4.0 and etcd 3.5), except these:
# - structure: clang-tidy and the include check read the source, not the server: the same on
#   every major (run on 15);
# - docs: the runnable examples read the documentation, written against 15 (run on 15);
# - bench: benchmark numbers from inside a root are not comparable (run on 15).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lg_require_root

LAYERS=${LG_LAYERS:-"unit regress isolation matrix pgtap tap patroni chaos"}
STAGE=${LG_TEST_STAGE:-/tmp/lockguard-test-17}
PORT=${LG_TEST_PORT:-54339}

ROOT=$(bash "$LG_REPO/scripts/pg17-root.sh" | tail -n 1)
[ -n "$ROOT" ] && [ -f "$ROOT/.lockguard-complete" ] || lg_die "no PostgreSQL 17 root (scripts/pg17-root.sh failed)"

SRC=/usr/src/lockguard
cleanup() {
  # Servers a failed run left behind inside the root, then the root's mounts.
  local pidfile
  for pidfile in $(find "$ROOT$STAGE" -name postmaster.pid 2>/dev/null); do
    bash "$LG_REPO/scripts/pg17-root.sh" run runuser -u postgres -- /usr/lib/postgresql/17/bin/pg_ctl \
      -D "${pidfile%/postmaster.pid}" -m immediate -w stop >/dev/null 2>&1
  done
  bash "$LG_REPO/scripts/pg17-root.sh" umount
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP  # the EXIT trap then runs too

lg_log "copying the checkout into the root ($ROOT$SRC)"
mkdir -p "$ROOT$SRC"
lg_ensure_packages rsync  # the copy into the root, before run-all.sh installs anything
rsync -a --delete --exclude .git --exclude /build/ --exclude '*.o' --exclude '*.bc' --exclude '*.so' "$LG_REPO"/ "$ROOT$SRC"/ \
  || lg_die "copying the checkout into the root failed"

lg_log "the root ready in $SECONDS s; results go to $ROOT$STAGE/results-all, copied to $STAGE/results-all at the end"
bash "$LG_REPO/scripts/pg17-root.sh" run env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  LG_PG_MAJOR=17 LG_TEST_STAGE="$STAGE" LG_TEST_PORT="$PORT" LG_LAYERS="$LAYERS" \
  ${LG_CHAOS_SECONDS:+LG_CHAOS_SECONDS="$LG_CHAOS_SECONDS"} ${LG_TAP_SKIP:+LG_TAP_SKIP="$LG_TAP_SKIP"} \
  bash "$SRC/test/run-all.sh"
rc=$?
# Nothing is printed after run-all's own "N passed, N failed" line.
if [ -d "$ROOT$STAGE/results-all" ]; then
  mkdir -p "$STAGE"
  rsync -a --delete "$ROOT$STAGE/results-all"/ "$STAGE/results-all"/
fi
exit $rc
