#!/usr/bin/env bash
# lockguard under Patroni and etcd (docs/failover.md): a one-member etcd and two Patroni-managed
# PostgreSQL nodes on loopback, a switchover and a failover under a stream of run-once transfers,
# and an etcd lock's revision used as a fencing token. Prints TAP (test/patroni/scenario.py).
# Run as root on Debian 12: installs the packages it needs, builds and installs lockguard (unless
# LG_PATRONI_INSTALLED=1: test/run-all.sh has done it), runs everything as the postgres user,
# and stops everything it started, also on failure.
#
#   bash test/patroni/run.sh
#
# LG_PATRONI_STAGE: where it builds and keeps its files (default /tmp/lockguard-patroni);
# LG_PATRONI_PORT: the first of six loopback ports it uses (default 54350): etcd client and peer,
# two Patroni REST APIs, two PostgreSQL nodes. LG_PRIVATE_PG as in test/run-all.sh.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
lg_require_root
lg_ensure_packages "${LG_BASE_PACKAGES[@]}" patroni python3-etcd etcd-server etcd-client python3-psycopg2

STAGE=${LG_PATRONI_STAGE:-/tmp/lockguard-patroni}
PORT=${LG_PATRONI_PORT:-54350}
WORK=$STAGE/patroni

# Kills what the scenario started if it could not stop it itself (it was killed): by process id,
# each checked to be ours by its command line (the driver first, so that it starts nothing more),
# then the PostgreSQL nodes by their data directories, until none is left (a Patroni killed while
# starting its PostgreSQL may leave a postmaster that writes its pid file a moment later).
cleanup() {
  local pid name data round found rounds=1
  if [ -f "$WORK/pids" ]; then
    while read -r pid name; do
      [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$STAGE/" \
        && kill -9 "$pid" 2>/dev/null && lg_log "killed leftover $name ($pid)" && rounds=5
    done <"$WORK/pids"
  fi
  for round in $(seq "$rounds"); do
    found=0
    for data in "$WORK"/node*/data; do
      [ -f "$data/postmaster.pid" ] && kill -0 "$(head -1 "$data/postmaster.pid")" 2>/dev/null || continue
      found=1
      lg_log "stopping leftover PostgreSQL in $data"
      lg_as_postgres "$LG_BINDIR/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1
    done
    [ "$found" = 0 ] && [ "$round" -gt 2 ] && break
    [ "$round" -lt "$rounds" ] && sleep 1
  done
  return 0
}

cleanup
if [ "${LG_PATRONI_INSTALLED:-}" != 1 ]; then
  [ -n "${LG_PRIVATE_PG:-}" ] && lg_private_pg "$LG_PRIVATE_PG"
  lg_stage_and_install "$STAGE"
fi
[ -f "$("$LG_BINDIR/pg_config" --pkglibdir)/lockguard.so" ] \
  || { echo "not ok 1 - lockguard is installed"; exit 1; }
[ -f "$STAGE/test/patroni/scenario.py" ] || lg_die "$STAGE holds no copy of the source tree"

rm -rf "$WORK"
lg_as_postgres mkdir -p "$WORK"
trap cleanup EXIT
lg_log "Patroni scenario in $WORK, ports $PORT-$((PORT + 5))"
# Debian's python3 (its psycopg2), not a pyenv shim; the timeout bounds a hung run (the scenario
# stops everything on SIGTERM).
cd "$WORK" && lg_as_postgres env LG_PATRONI_WORK="$WORK" LG_PATRONI_PORT="$PORT" LG_BINDIR="$LG_BINDIR" \
  PATH="/usr/bin:/bin" timeout -k 30 600 /usr/bin/python3 "$STAGE/test/patroni/scenario.py"
