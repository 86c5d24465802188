#!/usr/bin/env bash
# lockguard's hardening runs (docs/hardening.md). Each runs test/run-all.sh's layers in a special
# build and ends, like it, with one line "N passed, N failed"; its exit status is non-zero if
# anything failed or a server log shows a crash, an assertion failure or a sanitizer report.
#
#   bash test/hardening.sh cassert    # PostgreSQL 18 built with --enable-cassert and LLVM
#                                          # (scripts/pg18-build.sh, cached in /var/cache/lockguard):
#                                          # unit, regress, isolation, matrix, pgTAP, TAP and a 60 s
#                                          # chaos run
#   bash test/hardening.sh sanitize   # lockguard and its unit tests built with AddressSanitizer
#                                          # and UndefinedBehaviorSanitizer, loaded into that
#                                          # assert-enabled 18: unit, regress, isolation and a 30 s
#                                          # chaos run
#   bash test/hardening.sh cassert-15 # the former hardening run, kept (not in CI): PostgreSQL 15
#                                          # built with --enable-cassert from Debian's source package
#                                          # (scripts/pg-cassert-build.sh): regress, isolation,
#                                          # pgTAP, TAP and a 60 s chaos run
#
# LG_TEST_STAGE, LG_TEST_PORT (the chaos cluster uses port + 8) and LG_PRIVATE_PG move the run's
# files and ports as for test/run-all.sh; LG_LAYERS picks layers; LG_CHAOS_SECONDS and
# LG_CHAOS_CLIENTS size the chaos run.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../scripts/lib.sh"
lg_require_root

# An assert-enabled PostgreSQL, built once and cached: 18 (scripts/pg18-build.sh, the newest
# major: the hardening runs) or 15 (scripts/pg-cassert-build.sh, for cassert-15).
use_cassert_build() {
  local script=$1 started prefix
  started=$(date +%s)
  prefix=$(bash "$HERE/../scripts/$script" | tail -n 1)
  [ -x "$prefix/bin/postgres" ] || lg_die "the assert-enabled PostgreSQL is not available"
  lg_log "assert-enabled PostgreSQL ready in $(( $(date +%s) - started ))s: $(cat "$prefix/complete")"
  export LG_PG_PREFIX=$prefix
}

mode=${1:-}
case $mode in
  cassert)
    use_cassert_build pg18-build.sh
    export LG_PRIVATE_PG=${LG_PRIVATE_PG:-/tmp/lockguard-cassert-pg}
    export LG_TEST_STAGE=${LG_TEST_STAGE:-/tmp/lockguard-cassert-test}
    # Every layer of the newest major but structure, docs and bench (the same on every major):
    # the TAP deployment tests (PgBouncer, postgres_exporter, Prometheus) and the Patroni layer
    # (Debian 12's Patroni 3.0 manages 18's servers) included. The unit layer (no PostgreSQL
    # header: the same program on any server) runs on 18 in the sanitizer run, built with the
    # sanitizers; here it would be the program the 15 run already ran.
    export LG_LAYERS=${LG_LAYERS:-"regress isolation matrix pgtap tap patroni chaos"}
    export LG_CHAOS_SECONDS=${LG_CHAOS_SECONDS:-60}
    export LG_CHAOS_CLIENTS=${LG_CHAOS_CLIENTS:-40}
    # pgaudit and pg_wait_sampling are built for Debian's PostgreSQL, not for this one.
    export LG_TAP_SKIP=${LG_TAP_SKIP:-040_coexistence}
    ;;
  cassert-15)
    use_cassert_build pg-cassert-build.sh
    export LG_PRIVATE_PG=${LG_PRIVATE_PG:-/tmp/lockguard-cassert15-pg}
    export LG_TEST_STAGE=${LG_TEST_STAGE:-/tmp/lockguard-cassert15-test}
    # No unit layer: src/core includes no PostgreSQL header, so its unit tests are the same
    # program against any server build (the normal run and the sanitizer run run them).
    export LG_LAYERS=${LG_LAYERS:-"regress isolation pgtap tap chaos"}
    export LG_CHAOS_SECONDS=${LG_CHAOS_SECONDS:-60}
    export LG_CHAOS_CLIENTS=${LG_CHAOS_CLIENTS:-40}
    # pgaudit and pg_wait_sampling are built for Debian's PostgreSQL, not for this one.
    export LG_TAP_SKIP=${LG_TAP_SKIP:-040_coexistence}
    ;;
  sanitize)
    # lockguard.so is instrumented, postgres is not: the ASan runtime must be the first library
    # the server loads, so it is preloaded into the servers only (psql, pg_regress and the
    # isolation tester run as usual). The server is the assert-enabled build: Debian's postgres,
    # built with NLS, hangs in bindtextdomain() at start-up with the ASan runtime preloaded.
    # postgres frees little at exit on purpose: no leak checking in the server; the unit tests
    # (plain programs) are checked for leaks. A finding aborts the process, and the server-log
    # check or the unit layer reports it.
    use_cassert_build pg18-build.sh
    # libstdc++ is preloaded too: postgres is C, and ASan can intercept C++ exceptions
    # (__cxa_throw) only if the C++ runtime is there when ASan starts.
    libasan=$(readlink -f "$(gcc -print-file-name=libasan.so)")
    libstdcxx=$(readlink -f "$(g++ -print-file-name=libstdc++.so)")
    [ -f "$libasan" ] && [ -f "$libstdcxx" ] || lg_die "the AddressSanitizer runtime (libasan, from gcc) is missing"
    export LG_SANITIZE=address,undefined
    export LG_SERVER_ENV="LD_PRELOAD=$libasan:$libstdcxx ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1"
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1
    export LG_PRIVATE_PG=${LG_PRIVATE_PG:-/tmp/lockguard-sanitize-pg}
    export LG_TEST_STAGE=${LG_TEST_STAGE:-/tmp/lockguard-sanitize-test}
    export LG_LAYERS=${LG_LAYERS:-"unit regress isolation chaos"}
    export LG_CHAOS_SECONDS=${LG_CHAOS_SECONDS:-30}
    ;;
  *)
    echo "usage: bash test/hardening.sh cassert|sanitize|cassert-15" >&2
    exit 2
    ;;
esac
exec bash "$HERE/run-all.sh"
