#!/usr/bin/env bash
# Builds PostgreSQL 18 on Debian 12 from the unstable suite's source package postgresql-18 and
# caches the installation, so later runs skip the build. Prints the installation prefix (a
# directory with bin/, lib/, share/, include/) on its last line.
#
#   bash scripts/pg18-build.sh             # assert-enabled build once, then reuse the cache
#   bash scripts/pg18-build.sh --release   # without assertions (what a distribution ships)
#   bash scripts/pg18-build.sh --rebuild   # build again (with either of the above)
#
# One build serves both the test matrix on 18 and the hardening run: --enable-cassert
# --enable-debug by default. 15 and 17 run the suite on Debian's own (release) packages, so the
# behaviour of a build without assertions is tested there; on 18 the assertions check
# PostgreSQL's side of every layer at the cost of one build (16 minutes on a busy 2-core machine)
# instead of two. --release is for benchmarks and for checking a suspected assert-only difference.
#
# LG_PG_CACHE (default /var/cache/lockguard) is where the source and installations are kept:
#   $LG_PG_CACHE/src/postgresql-18_<version>*      Debian's source package as downloaded
#   $LG_PG_CACHE/pg18-cassert-<version>/           the installation ("complete" marks a good one)
#   $LG_PG_CACHE/pg18-<version>/                   the same without assertions (--release)
#   $LG_PG_CACHE/apt-unstable-src/                 the private apt directory for the download
# The machine's apt configuration is not changed: the unstable suite's deb-src entry (same mirror
# as the system's Debian sources) lives in a private apt directory used only for the download.
# Debian 12 has neither a PostgreSQL 18 package nor its source: the build is the upstream source
# (Debian's patches skipped) with LLVM (JIT), OpenSSL, libxml, ICU, lz4 and zstd, TAP tests
# enabled, plus what the tests need through PGXS: contrib dblink and pg_stat_statements,
# pg_isolation_regress and the PostgreSQL::Test modules.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lg_require_root

CACHE=${LG_PG_CACHE:-/var/cache/lockguard}
REBUILD=0
CASSERT=1
for arg in "$@"; do
  case $arg in
    --rebuild) REBUILD=1 ;;
    --release) CASSERT=0 ;;
    *) lg_die "unknown argument $arg (--rebuild, --release)" ;;
  esac
done
if [ $CASSERT = 1 ]; then
  FLAVOUR=pg18-cassert
  EXTRA_CONFIGURE=(--enable-cassert --enable-debug)
else
  FLAVOUR=pg18
  EXTRA_CONFIGURE=()
fi
# Debian 12's default LLVM (14): PostgreSQL 18 accepts LLVM 14 or newer.
LLVM_VERSION=${LG_PG18_LLVM:-14}

# One build at a time (the same lock as the 15 build): a second run waits, then uses the result.
mkdir -p "$CACHE"
exec 9>"$CACHE/.build.lock"
flock 9

# A finished build from an earlier run: nothing to do (no network needed).
if [ $REBUILD = 0 ]; then
  cached=$(ls -d "$CACHE"/"$FLAVOUR"-18.*/complete 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$cached" ]; then
    lg_log "using the cached PostgreSQL 18 in $(dirname "$cached")"
    dirname "$cached"
    exit 0
  fi
fi

t0=$(date +%s)
# What configure and the build need: a subset of postgresql-18's build-dependencies (no
# Kerberos, LDAP, PL languages, liburing, NUMA, systemd), IPC::Run for the TAP modules,
# dpkg-dev for dpkg-source.
lg_ensure_packages dpkg-dev make gcc g++ bison flex perl libreadline-dev zlib1g-dev pkg-config \
  libipc-run-perl libssl-dev libxml2-dev libicu-dev liblz4-dev libzstd-dev \
  "llvm-$LLVM_VERSION-dev" "clang-$LLVM_VERSION"
t_packages=$(( $(date +%s) - t0 ))

# The private apt directory: the system's Debian source entry for the main archive, as deb-src
# for the unstable suite.
APTDIR=$CACHE/apt-unstable-src
mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial"
[ -f /etc/apt/sources.list.d/debian.sources ] || lg_die "no /etc/apt/sources.list.d/debian.sources to take the mirror from"
# The stanza whose suites include "bookworm" (not bookworm-security), turned into deb-src unstable.
awk 'BEGIN { RS = ""; ORS = "\n\n" } /\nSuites:[^\n]*bookworm( |\n|$)/' /etc/apt/sources.list.d/debian.sources |
  sed -e 's/^Types: deb$/Types: deb-src/' -e 's/^Suites: .*/Suites: unstable/' >"$APTDIR/unstable-src.sources"
grep -q '^URIs:' "$APTDIR/unstable-src.sources" || lg_die "no bookworm entry in /etc/apt/sources.list.d/debian.sources"
APT_OPTS=(-o APT::Sandbox::User=root -o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$APTDIR"
          -o "Dir::State::Lists=$APTDIR/lists" -o "Dir::Cache=$APTDIR/cache")

t1=$(date +%s)
apt-get "${APT_OPTS[@]}" update -qq >/dev/null || lg_die "apt-get update of the unstable sources failed"
version=$(apt-cache "${APT_OPTS[@]}" showsrc postgresql-18 2>/dev/null | sed -n 's/^Version: //p' | sort -rV | head -n 1)
[ -n "$version" ] || lg_die "the unstable suite lists no postgresql-18 source package"
mkdir -p "$CACHE/src"
cd "$CACHE/src" || exit 1
dsc=postgresql-18_$version.dsc
if [ ! -f "$dsc" ]; then
  # apt checks every file it downloads against the signed Sources index.
  apt-get "${APT_OPTS[@]}" source --download-only -qq "postgresql-18=$version" >/dev/null \
    || lg_die "downloading the source of postgresql-18 $version failed"
fi
# The files the .dsc lists, checked against its SHA-256 sums (a cached download included).
awk '/^Checksums-Sha256:/ { on = 1; next } /^[^ ]/ { on = 0 } on && NF == 3 { print $1 "  " $3 }' "$dsc" >"$CACHE/src/postgresql-18_$version.sha256"
[ -s "$CACHE/src/postgresql-18_$version.sha256" ] || lg_die "$dsc lists no SHA-256 sums"
sha256sum --quiet -c "$CACHE/src/postgresql-18_$version.sha256" || lg_die "the source files of postgresql-18 $version do not match $dsc"
t_download=$(( $(date +%s) - t1 ))
lg_log "Debian's source package postgresql-18 $version (download and check: ${t_download}s)"

upstream=${version%%-*}
PREFIX=$CACHE/$FLAVOUR-$upstream
BUILD_PARENT=$CACHE/build-$FLAVOUR-$upstream
BUILD=$BUILD_PARENT/postgresql-$upstream
rm -rf "$BUILD_PARENT"
mkdir -p "$BUILD_PARENT"
# --skip-patches: Debian's patches move the install paths to /usr/lib/postgresql/18 whatever the
# prefix says; the upstream source builds into the prefix.
dpkg-source --no-check --skip-patches -x "$dsc" "$BUILD" >/dev/null || lg_die "unpacking the source package failed"

lg_log "building PostgreSQL $upstream ($FLAVOUR) into $PREFIX (about 16 minutes on a busy 2-core machine)"
load=$(cut -d' ' -f1-3 /proc/loadavg)
rm -rf "$PREFIX"
cd "$BUILD" || exit 1
LOG=$CACHE/build-$FLAVOUR-$upstream.log
t2=$(date +%s)
./configure --prefix="$PREFIX" --enable-tap-tests "${EXTRA_CONFIGURE[@]}" \
  --with-llvm LLVM_CONFIG="/usr/bin/llvm-config-$LLVM_VERSION" CLANG="/usr/bin/clang-$LLVM_VERSION" \
  --with-openssl --with-libxml --with-icu --with-lz4 --with-zstd >"$LOG" 2>&1 \
  || { tail -n 30 "$LOG" >&2; lg_die "configure failed (log: $LOG)"; }
t_configure=$(( $(date +%s) - t2 ))
t3=$(date +%s)
make -j"$(nproc)" -s >>"$LOG" 2>&1 || { tail -n 50 "$LOG" >&2; lg_die "the PostgreSQL build failed (log: $LOG)"; }
t_build=$(( $(date +%s) - t3 ))
t4=$(date +%s)
{
  make -s install &&
  # pg_isolation_regress and the PostgreSQL::Test modules (installed into pgxs/ for extensions).
  make -C src/test/isolation -s install &&
  make -C src/test/perl -s install &&
  # dblink: the regression tests' second session; pg_stat_statements: the benchmarks.
  make -C contrib/dblink -s install &&
  make -C contrib/pg_stat_statements -s install
} >>"$LOG" 2>&1 || { tail -n 50 "$LOG" >&2; lg_die "installing PostgreSQL failed (log: $LOG)"; }
t_install=$(( $(date +%s) - t4 ))
cp src/tools/valgrind.supp "$PREFIX/"
cd / && rm -rf "$BUILD_PARENT"
total=$(( $(date +%s) - t0 ))
echo "PostgreSQL $version ($FLAVOUR), configure --enable-tap-tests ${EXTRA_CONFIGURE[*]} --with-llvm (LLVM $LLVM_VERSION) --with-openssl --with-libxml --with-icu --with-lz4 --with-zstd; on $(nproc) cores (load average before: $load): packages ${t_packages}s, download ${t_download}s, configure ${t_configure}s, make ${t_build}s, install ${t_install}s, total ${total}s" \
  >"$PREFIX/complete"
lg_log "$(cat "$PREFIX/complete")"
echo "$PREFIX"
