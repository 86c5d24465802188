#!/usr/bin/env bash
# Shared set-up for lockguard's command-line entry points (tests, demo, benchmarks): packages,
# building and installing, private clusters. What only the tests use is in test/lib.sh.
# Everything runs on a fresh Debian 12 machine as root; servers run as the `postgres` user
# in private clusters under a staging directory, never in the system's default cluster.

# The major of Debian's PostgreSQL packages a run uses: 15 on Debian 12; 17 inside the Debian 13
# root of scripts/pg17-root.sh (test/on-17.sh sets it).
LG_PG_MAJOR=${LG_PG_MAJOR:-15}
# LG_PRIVATE_PG=DIR: use the private copy of PostgreSQL in DIR (made by lg_private_pg) instead of
# the system's, so that concurrent runs on one machine cannot install over each other.
LG_PG_ROOT=${LG_PRIVATE_PG:-}
LG_BINDIR=$LG_PG_ROOT/usr/lib/postgresql/$LG_PG_MAJOR/bin
LG_PGXS_DIR=$LG_PG_ROOT/usr/lib/postgresql/$LG_PG_MAJOR/lib/pgxs
LG_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# LG_PG_PREFIX=DIR: use a PostgreSQL that `make install` put into DIR (bin/, lib/, share/), such
# as the assert-enabled build of scripts/pg-cassert-build.sh, instead of Debian's. With
# LG_PRIVATE_PG, lg_private_pg copies that installation instead of Debian's.
lg_use_pg_prefix() {
  LG_PG_ROOT=$1
  LG_BINDIR=$1/bin
  # pg_config --pgxs is <pgxs dir>/src/makefiles/pgxs.mk
  LG_PGXS_DIR=$(dirname "$(dirname "$(dirname "$("$LG_BINDIR/pg_config" --pgxs)")")")
}
# Scripts started by a run whose lg_private_pg copied the installation use that copy.
if [ -n "${LG_PG_PREFIX:-}" ]; then
  if [ -n "${LG_PRIVATE_PG:-}" ] && [ -x "$LG_PRIVATE_PG/bin/pg_config" ]; then
    lg_use_pg_prefix "$LG_PRIVATE_PG"
  else
    lg_use_pg_prefix "$LG_PG_PREFIX"
  fi
fi
# LG_SERVER_ENV: VAR=VALUE words put into the environment of the servers lg_cluster_start starts
# (test/hardening.sh: the sanitizer runtime and its options).
LG_SERVER_ENV=${LG_SERVER_ENV:-}

# Packages every entry point needs; callers may add their own.
LG_BASE_PACKAGES=(postgresql-$LG_PG_MAJOR postgresql-server-dev-$LG_PG_MAJOR postgresql-client-$LG_PG_MAJOR
                  libkrb5-dev make g++ rsync)

lg_log() { printf '==> %s\n' "$*" >&2; }
lg_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

lg_require_root() {
  [ "$(id -u)" = 0 ] || lg_die "run this as root (it installs packages and starts servers as the postgres user)"
}

# Installs the Debian packages that are missing; apt-get update runs only when something is.
lg_ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  lg_log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Installing postgresql-15, etcd-server, prometheus or pgbouncer would start their system
  # services (a cluster on 5432, listeners on every interface); the tests start their own. A
  # policy-rc.d that refuses every start keeps them off, unless the machine has one already.
  local own_policy=0 rc=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# lockguard test set-up: no service starts while packages install\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  # Lock::Timeout: wait for another apt run (a second test run on the machine) instead of failing.
  apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null || rc=1
  [ $rc = 0 ] && { apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=2; }
  [ $own_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ $rc = 1 ] && lg_die "apt-get update failed"
  [ $rc = 2 ] && lg_die "apt-get install ${missing[*]} failed"
  return 0
}

# Copies the source tree (without .git) to a directory the postgres user owns, builds and
# installs the extension there. Prints nothing; sets LG_STAGE.
lg_stage_and_install() {
  LG_STAGE=$1
  rm -rf "$LG_STAGE"
  mkdir -p "$LG_STAGE"
  rsync -a --exclude .git --exclude /build/ --exclude '*.o' --exclude '*.bc' --exclude '*.so' "$LG_REPO"/ "$LG_STAGE"/
  lg_log "building lockguard in $LG_STAGE"
  # LG_WERROR: a compiler warning fails the build (Makefile), on every major.
  make -C "$LG_STAGE" -s -j"$(nproc)" PG_CONFIG="$LG_BINDIR/pg_config" LG_WERROR=1 >"$LG_STAGE/build.log" 2>&1 \
    || { cat "$LG_STAGE/build.log" >&2; lg_die "build failed"; }
  make -C "$LG_STAGE" -s install PG_CONFIG="$LG_BINDIR/pg_config" >>"$LG_STAGE/build.log" 2>&1 \
    || { cat "$LG_STAGE/build.log" >&2; lg_die "install failed"; }
  chown -R postgres:postgres "$LG_STAGE"
}

lg_as_postgres() { runuser -u postgres -- "$@"; }

# lg_private_pg DIR: a private copy of the PostgreSQL 15 installation (binaries, libraries,
# share; headers by symlink) in DIR, and LG_BINDIR pointed at it. PostgreSQL finds its share and
# library directories relative to its binaries, so lockguard installs into DIR and clusters load
# it from there: an install into the system's directories by anyone else (a shared build machine)
# can neither break CREATE EXTENSION nor swap the library under a running server. Make it after
# installing the Debian packages whose extensions the run needs: they are copied along.
lg_private_pg() {
  local dir=$1
  rm -rf "$dir"
  if [ -n "${LG_PG_PREFIX:-}" ]; then
    cp -a "$LG_PG_PREFIX" "$dir" || lg_die "copying PostgreSQL from $LG_PG_PREFIX failed"
    lg_use_pg_prefix "$dir"
    local pkglib share
    pkglib=$("$LG_BINDIR/pg_config" --pkglibdir); share=$("$LG_BINDIR/pg_config" --sharedir)
    rm -f "$pkglib/lockguard.so" "$share/extension/lockguard"*
    # pgTAP is plain SQL: the Debian package's files serve any PostgreSQL 15.
    cp /usr/share/postgresql/$LG_PG_MAJOR/extension/pgtap* "$share/extension/" 2>/dev/null
    return 0
  fi
  mkdir -p "$dir/usr/lib/postgresql" "$dir/usr/share/postgresql" "$dir/usr/include"
  cp -a "/usr/lib/postgresql/$LG_PG_MAJOR" "$dir/usr/lib/postgresql/" || lg_die "copying PostgreSQL failed"
  cp -a "/usr/share/postgresql/$LG_PG_MAJOR" "$dir/usr/share/postgresql/" || lg_die "copying PostgreSQL failed"
  ln -s /usr/include/postgresql "$dir/usr/include/postgresql"
  rm -f "$dir/usr/lib/postgresql/$LG_PG_MAJOR/lib/lockguard.so" "$dir/usr/share/postgresql/$LG_PG_MAJOR/extension/lockguard"*
  LG_PG_ROOT=$dir
  LG_BINDIR=$dir/usr/lib/postgresql/$LG_PG_MAJOR/bin
  LG_PGXS_DIR=$dir/usr/lib/postgresql/$LG_PG_MAJOR/lib/pgxs
}

# lg_cluster_start DATADIR PORT [extra postgresql.conf lines...]
# A private cluster listening only on a unix socket inside DATADIR/../sock. It starts from the
# server's default postgresql.conf (JIT on, as Debian ships it) plus what lockguard and the test
# harness need, each line below with its reason; a caller that needs more passes its own lines
# and says why where it does.
lg_cluster_start() {
  local datadir=$1 port=$2; shift 2
  local sockdir; sockdir=$(dirname "$datadir")/sock
  lg_as_postgres mkdir -p "$sockdir"
  lg_as_postgres "$LG_BINDIR/initdb" -D "$datadir" -A trust -U postgres --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null \
    || lg_die "initdb failed"
  {
    echo "# lockguard's test settings (scripts/lib.sh, lg_cluster_start)"
    echo "# lockguard needs its shared memory and worker, set up only when preloaded"
    echo "shared_preload_libraries = 'lockguard'"
    echo "# a private cluster per run: its own port, reachable only through a socket in the stage"
    echo "port = $port"
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$sockdir'"
    echo "# speed only: no test depends on durability across an OS crash"
    echo "fsync = off"
    echo "# prepared transactions as blockers and the PREPARE refusal (test/sql/audit_stats.sql, test/sql/defects.sql, the timeout matrix)"
    echo "max_prepared_transactions = 10"
    echo "# timestamps, pids and application names in the log, to read a failure after the fact"
    echo "log_line_prefix = '%m [%p] %q%a '"
    printf '%s\n' "$@"
  } | lg_as_postgres tee -a "$datadir/postgresql.conf" >/dev/null
  # shellcheck disable=SC2086 # LG_SERVER_ENV is a list of words
  lg_as_postgres env $LG_SERVER_ENV "$LG_BINDIR/pg_ctl" -D "$datadir" -l "$datadir/server.log" -w -t 60 start >/dev/null \
    || { cat "$datadir/server.log" >&2; lg_die "the test cluster did not start"; }
  LG_SOCK=$sockdir
  LG_PORT=$port
}

lg_cluster_stop() {
  local datadir=$1
  [ -f "$datadir/postmaster.pid" ] && lg_as_postgres "$LG_BINDIR/pg_ctl" -D "$datadir" -m fast -w stop >/dev/null 2>&1
  return 0
}

# psql against the cluster started last, as the postgres superuser.
lg_psql() { lg_as_postgres "$LG_BINDIR/psql" -X -q -h "$LG_SOCK" -p "$LG_PORT" -U postgres "$@"; }
