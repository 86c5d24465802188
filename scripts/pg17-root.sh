#!/usr/bin/env bash
# PostgreSQL 17 for a Debian 12 machine: Debian 12 has no PostgreSQL 17, and Debian 13's
# packages need its newer C library, so they run in a Debian 13 ("trixie") root made with
# debootstrap and cached. Its PostgreSQL is Debian's postgresql-17 (server, client, server-dev)
# with a compiler, make and libicu-dev, so an extension builds with PGXS inside the root.
#
#   bash scripts/pg17-root.sh              # make the root once (then reuse it); last line: the root
#   bash scripts/pg17-root.sh --rebuild    # make it again
#   bash scripts/pg17-root.sh run CMD...   # run CMD inside the root (proc and /dev/shm mounted)
#   bash scripts/pg17-root.sh umount       # unmount proc and /dev/shm (stop its servers first)
#
# LG_PG_CACHE (default /var/cache/lockguard): the root is $LG_PG_CACHE/pg17-root-trixie, its
# file .lockguard-complete marks a finished one. Inside it: no service starts on a package
# install (policy-rc.d), no default cluster, and a `postgres` user with the host's uid and gid,
# so files written by a server inside belong to the host's postgres user too. A server started
# inside with its unix socket directory in the root is reachable from the host through that
# directory's host path (ROOT/DIR).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lg_require_root

CACHE=${LG_PG_CACHE:-/var/cache/lockguard}
ROOT=$CACHE/pg17-root-trixie
SUITE=trixie
# libicu-dev: PostgreSQL's pg_locale.h includes ICU's headers; pgTAP: the pgtap test layer.
PACKAGES=(postgresql-17 postgresql-server-dev-17 postgresql-client-17 gcc g++ make libc6-dev libicu-dev
          postgresql-17-pgtap)

root_mounts() { findmnt -rn -o TARGET | grep -E "^$ROOT(/|$)" | sort -r; }

do_mount() {
  mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc" || lg_die "mounting proc in $ROOT failed"
  mkdir -p "$ROOT/dev/shm"
  mountpoint -q "$ROOT/dev/shm" || mount -t tmpfs -o mode=1777 shm "$ROOT/dev/shm" || lg_die "mounting /dev/shm in $ROOT failed"
}

do_umount() {
  local m
  for m in $(root_mounts); do umount "$m" || lg_die "unmounting $m failed (a server still running inside?)"; done
}

case "${1:-}" in
  run)
    shift
    [ -f "$ROOT/.lockguard-complete" ] || lg_die "no PostgreSQL 17 root yet: run bash scripts/pg17-root.sh first"
    do_mount
    exec chroot "$ROOT" "$@"
    ;;
  umount)
    do_umount
    exit 0
    ;;
esac

REBUILD=0
[ "${1:-}" = --rebuild ] && REBUILD=1

mkdir -p "$CACHE"
exec 9>"$CACHE/.pg17-root.lock"
flock 9

report() {
  lg_log "PostgreSQL 17 root: $ROOT ($(cat "$ROOT/.lockguard-complete"))"
  lg_log "pg_config inside the root: /usr/lib/postgresql/17/bin/pg_config (on the host: $ROOT/usr/lib/postgresql/17/bin/pg_config, runnable only inside)"
  lg_log "run a command inside: bash scripts/pg17-root.sh run CMD... (chroot $ROOT CMD..., with proc and /dev/shm mounted)"
  echo "$ROOT"
}

# Packages of PACKAGES missing from the cached root (a root made before one was added).
install_missing() {
  local missing=() pkg
  for pkg in "${PACKAGES[@]}"; do
    chroot "$ROOT" dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  lg_log "installing in the root: ${missing[*]}"
  do_mount
  { chroot "$ROOT" apt-get update -qq &&
    chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" &&
    chroot "$ROOT" apt-get clean; } >>"$CACHE/pg17-root.log" 2>&1 || lg_die "installing ${missing[*]} in the root failed (log: $CACHE/pg17-root.log)"
}

if [ $REBUILD = 0 ] && [ -f "$ROOT/.lockguard-complete" ]; then
  install_missing
  report
  exit 0
fi

# A half-made or old root goes, once nothing is mounted inside it.
if [ -e "$ROOT" ]; then
  do_umount
  [ -z "$(root_mounts)" ] || lg_die "something is still mounted in $ROOT"
  rm -rf "$ROOT"
fi

t0=$(date +%s)
# postgresql-common makes the host's postgres user, whose uid and gid the root's user takes.
lg_ensure_packages debootstrap postgresql-common
t_debootstrap_pkg=$(( $(date +%s) - t0 ))

# The mirror of the system's Debian sources (the entry for the main archive).
[ -f /etc/apt/sources.list.d/debian.sources ] || lg_die "no /etc/apt/sources.list.d/debian.sources to take the mirror from"
MIRROR=$(awk 'BEGIN { RS = "" } /\nSuites:[^\n]*bookworm( |\n|$)/' /etc/apt/sources.list.d/debian.sources |
         sed -n 's/^URIs: *\([^ ]*\).*/\1/p' | head -n 1)
[ -n "$MIRROR" ] || lg_die "no mirror for bookworm in /etc/apt/sources.list.d/debian.sources"

t1=$(date +%s)
lg_log "debootstrap $SUITE from $MIRROR into $ROOT"
LOG=$CACHE/pg17-root.log
debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$LOG" 2>&1 \
  || { tail -n 30 "$LOG" >&2; lg_die "debootstrap failed (log: $LOG)"; }
t_debootstrap=$(( $(date +%s) - t1 ))

# No service starts while packages install; no default cluster; the host's postgres uid/gid.
printf '#!/bin/sh\n# lockguard: no service starts in this root\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
mkdir -p "$ROOT/etc/postgresql-common"
echo "create_main_cluster = false" >"$ROOT/etc/postgresql-common/createcluster.conf"
id postgres >/dev/null 2>&1 || lg_die "the host has no postgres user (postgresql-common makes it)"
uid=$(id -u postgres); gid=$(id -g postgres)
chroot "$ROOT" groupadd -r -g "$gid" postgres || lg_die "adding the postgres group in the root failed"
chroot "$ROOT" useradd -r -u "$uid" -g "$gid" -d /var/lib/postgresql -s /bin/bash -c "PostgreSQL administrator" postgres \
  || lg_die "adding the postgres user in the root failed"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null

t2=$(date +%s)
do_mount
{
  chroot "$ROOT" apt-get update -qq &&
  chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"
} >>"$LOG" 2>&1 || { tail -n 30 "$LOG" >&2; do_umount; lg_die "installing PostgreSQL 17 in the root failed (log: $LOG)"; }
chroot "$ROOT" apt-get clean
do_umount
t_install=$(( $(date +%s) - t2 ))
[ -x "$ROOT/usr/lib/postgresql/17/bin/pg_config" ] || lg_die "no pg_config in the root after the install"

version=$(chroot "$ROOT" /usr/lib/postgresql/17/bin/pg_config --version)
echo "$version in Debian $SUITE (debootstrap --variant=minbase from $MIRROR); debootstrap package ${t_debootstrap_pkg}s, debootstrap ${t_debootstrap}s, apt-get update and install ${t_install}s, $(du -sm "$ROOT" | cut -f1) MB" \
  >"$ROOT/.lockguard-complete"
report
