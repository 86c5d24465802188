#!/usr/bin/env bash
# Builds an assert-enabled PostgreSQL 15 (--enable-cassert --enable-debug) from Debian's source
# package postgresql-15 and caches the installation, so later runs skip the build. Prints the
# installation prefix (a directory with bin/, lib/, share/, include/) on its last line.
#
#   bash scripts/pg-cassert-build.sh            # build once, then reuse the cache
#   bash scripts/pg-cassert-build.sh --rebuild  # build again
#
# LG_PG_CACHE (default /var/cache/lockguard) is where the source and installations are kept:
#   $LG_PG_CACHE/src/postgresql-15_<version>*        Debian's source package as downloaded
#   $LG_PG_CACHE/pg15-cassert-<version>/             the installation; "complete" marks a good one
# The source comes from deb-src entries for the same mirror and suites as the system's own
# Debian sources (a sources file is added for that); the build dependencies are Debian packages.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lg_require_root

CACHE=${LG_PG_CACHE:-/var/cache/lockguard}
REBUILD=0
[ "${1:-}" = --rebuild ] && REBUILD=1

# One build at a time: a second run waits for the first and then uses its result.
mkdir -p "$CACHE"
exec 9>"$CACHE/.build.lock"
flock 9

# dblink (contrib), which the regression tests use for a second session holding locks: built
# with PGXS against the installation PREFIX from the cached source package, for a cached build
# made before the tests needed it (its own build installs it from the tree).
add_dblink() {  # add_dblink PREFIX
  local prefix=$1 upstream dsc tmp
  [ -f "$("$prefix/bin/pg_config" --sharedir)/extension/dblink.control" ] && return 0
  upstream=${prefix##*/pg15-cassert-}
  dsc=$(ls "$CACHE"/src/postgresql-15_"$upstream"-*.dsc 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dsc" ] || lg_die "no cached source of PostgreSQL $upstream to build dblink from"
  lg_ensure_packages dpkg-dev make gcc
  tmp=$(mktemp -d)
  dpkg-source --no-check --skip-patches -x "$dsc" "$tmp/src" >/dev/null || lg_die "unpacking the source package failed"
  make -C "$tmp/src/contrib/dblink" -s USE_PGXS=1 PG_CONFIG="$prefix/bin/pg_config" install >"$CACHE/dblink-$upstream.log" 2>&1 \
    || { tail -n 30 "$CACHE/dblink-$upstream.log" >&2; rm -rf "$tmp"; lg_die "building dblink failed"; }
  rm -rf "$tmp"
  lg_log "added dblink to $prefix"
}

# A finished build from an earlier run: nothing to do (no network needed).
if [ $REBUILD = 0 ]; then
  cached=$(ls -d "$CACHE"/pg15-cassert-*/complete 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$cached" ]; then
    lg_log "using the cached assert-enabled PostgreSQL in $(dirname "$cached")"
    add_dblink "$(dirname "$cached")"
    dirname "$cached"
    exit 0
  fi
fi

# What configure and the build need (Debian's build-dependencies of postgresql-15, minimal:
# no ICU, LLVM, Kerberos, LDAP or PL languages), IPC::Run for the TAP modules, dpkg-dev for
# `apt-get source`.
lg_ensure_packages dpkg-dev make gcc g++ bison flex perl libreadline-dev zlib1g-dev pkg-config \
  libipc-run-perl

# deb-src entries for the mirrors and suites the system already uses.
SRC_LIST=/etc/apt/sources.list.d/lockguard-deb-src.sources
if [ ! -f "$SRC_LIST" ]; then
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$SRC_LIST"
  else
    grep -hE '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' >"${SRC_LIST%.sources}.list"
    SRC_LIST=${SRC_LIST%.sources}.list
  fi
  lg_log "added deb-src entries: $SRC_LIST"
fi
apt-get update -qq >/dev/null || lg_die "apt-get update failed"

# The newest source version that downloads (a mirror may lack a suite's sources: then the next).
mkdir -p "$CACHE/src"
cd "$CACHE/src" || exit 1
version=
for candidate in $(apt-cache showsrc postgresql-15 2>/dev/null | sed -n 's/^Version: //p' | sort -rV); do
  if ls postgresql-15_"$candidate".dsc >/dev/null 2>&1 ||
     apt-get source --download-only -qq "postgresql-15=$candidate" >/dev/null 2>&1; then
    version=$candidate
    break
  fi
  lg_log "could not download the source of postgresql-15 $candidate, trying an older one"
done
[ -n "$version" ] || lg_die "no source package of postgresql-15 could be downloaded (deb-src entries: $SRC_LIST)"
lg_log "Debian's source package postgresql-15 $version"
upstream=${version%%-*}
PREFIX=$CACHE/pg15-cassert-$upstream
# dpkg-source puts a copy of the upstream tarball beside the tree: both go when the build is done.
BUILD_PARENT=$CACHE/build-$upstream
BUILD=$BUILD_PARENT/postgresql-$upstream
rm -rf "$BUILD_PARENT"
mkdir -p "$BUILD_PARENT"
# --skip-patches: Debian's patches move the install paths to /usr/lib/postgresql/15 whatever the
# prefix says (and the default socket directory); the upstream source builds into the prefix.
dpkg-source --no-check --skip-patches -x "postgresql-15_$version.dsc" "$BUILD" >/dev/null \
  || lg_die "unpacking the source package failed"

lg_log "building PostgreSQL $upstream with assertions into $PREFIX (this takes a while)"
start=$(date +%s)
load=$(cut -d' ' -f1-3 /proc/loadavg)
rm -rf "$PREFIX"
cd "$BUILD" || exit 1
{
  ./configure --prefix="$PREFIX" --enable-cassert --enable-debug --enable-tap-tests \
    --without-icu --without-llvm &&
  make -j"$(nproc)" -s &&
  make -s install &&
  # pg_isolation_regress and the PostgreSQL::Test modules (installed into pgxs/ for extensions).
  make -C src/test/isolation -s install &&
  make -C src/test/perl -s install &&
  # dblink: the regression tests' second session
  make -C contrib/dblink -s install
} >"$CACHE/build-$upstream.log" 2>&1 || { tail -n 50 "$CACHE/build-$upstream.log" >&2; lg_die "the PostgreSQL build failed (log: $CACHE/build-$upstream.log)"; }
# PostgreSQL's valgrind suppressions, for anyone who runs the server under valgrind.
cp src/tools/valgrind.supp "$PREFIX/"
cd / && rm -rf "$BUILD_PARENT"
seconds=$(( $(date +%s) - start ))
echo "PostgreSQL $version, configure --enable-cassert --enable-debug --enable-tap-tests, built in ${seconds}s on $(nproc) cores (load average before: $load)" \
  >"$PREFIX/complete"
lg_log "built in ${seconds}s"
echo "$PREFIX"
