#!/usr/bin/env bash
# Runs every test layer of lockguard against real PostgreSQL 15 servers and ends with one line
# "N passed, N failed" over all layers. Does its own set-up on a fresh Debian 12 machine (as root):
# installs the Debian packages it needs, builds, installs, and starts a private cluster as the
# postgres user. Exits non-zero on any failure.
#
#   bash test/run-all.sh                 # every layer (as root; otherwise: bash ...)
#   LG_LAYERS="unit regress" bash test/run-all.sh   # a subset while developing
#
# LG_TEST_STAGE and LG_TEST_PORT move the run's files and ports; LG_PRIVATE_PG=DIR installs
# lockguard into a private copy of PostgreSQL made in DIR (see lg_private_pg), so that several
# runs on one machine do not install over each other. LG_PG_PREFIX=DIR runs everything against a
# PostgreSQL installed into DIR instead of Debian's (test/hardening.sh: an assert-enabled build).
# The patroni layer uses LG_PATRONI_PORT and the five ports above it (default: LG_TEST_PORT + 2);
# the chaos layer LG_TEST_PORT + 8; the client layer starts PgBouncer on 127.0.0.1, LG_TEST_PORT + 3,
# and a primary and standby on LG_TEST_PORT + 4 and + 5.
#
# The regression and isolation layers are `make installcheck` against this run's cluster, the tap
# layer `make prove_installcheck`: the Makefile's lists are the only lists (test/README.md).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lg_require_root

LAYERS=${LG_LAYERS:-"structure unit regress isolation matrix pgtap docs client tap bench patroni chaos"}
# Only the packages of the layers that run (test/lib.sh), before the private copy of PostgreSQL is
# made: the extensions among them are copied along.
# shellcheck disable=SC2046 # one word per package
lg_ensure_packages "${LG_BASE_PACKAGES[@]}" $(for layer in $LAYERS; do lg_layer_packages "$layer"; done)
[ -n "${LG_PRIVATE_PG:-}" ] && lg_private_pg "$LG_PRIVATE_PG"
# This run installs every program and extension the TAP tests use: a test that finds one missing
# fails instead of skipping (test/perl/LgPrereq.pm).
export LG_REQUIRE_ALL_TOOLS=1

STAGE=${LG_TEST_STAGE:-/tmp/lockguard-test}
PORT=${LG_TEST_PORT:-54329}
lg_stage_and_install "$STAGE"
cd "$STAGE" || exit 1
OUT=$STAGE/results-all
lg_as_postgres mkdir -p "$OUT"

total_pass=0
total_fail=0
summary=()
record() {  # record LAYER PASSED FAILED
  total_pass=$((total_pass + $2)); total_fail=$((total_fail + $3))
  summary+=("$(printf '%-10s %4d passed, %d failed' "$1" "$2" "$3")")
}

run_structure() {
  lg_log "layer structure: the include rules of src/ and clang-tidy (test/structure/)"
  local rc passed failed line
  # The wing rules (CONTRIBUTING.md), then the check's own proof that it catches each breach.
  lg_as_postgres python3 test/structure/check_includes.py >"$OUT/structure.log" 2>&1
  rc=$?
  line=$(grep -oE '[0-9]+ passed, [0-9]+ failed$' "$OUT/structure.log" | tail -n 1)
  passed=$(echo "${line:-0 passed, 0 failed}" | awk '{print $1}'); failed=$(echo "${line:-0 passed, 1 failed}" | awk '{print $3}')
  [ $rc -ne 0 ] && [ "$failed" = 0 ] && failed=1
  if lg_as_postgres python3 test/structure/check_includes.py --self-test >>"$OUT/structure.log" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
  # clang-tidy over src/ and test/unit: zero warnings, every NOLINT with its reason.
  LG_TIDY_LOG="$OUT/clang_tidy.log"
  lg_as_postgres env PG_CONFIG="$LG_BINDIR/pg_config" bash test/structure/clang_tidy.sh >"$LG_TIDY_LOG" 2>&1
  rc=$?
  line=$(grep -oE '^[0-9]+ passed, [0-9]+ failed$' "$LG_TIDY_LOG" | tail -n 1)
  local tp tf
  tp=$(echo "${line:-0 passed, 1 failed}" | awk '{print $1}'); tf=$(echo "${line:-0 passed, 1 failed}" | awk '{print $3}')
  [ $rc -ne 0 ] && [ "$tf" = 0 ] && tf=1
  cat "$OUT/structure.log"; grep -E '^(FAILED|clang-tidy:)' -A3 "$LG_TIDY_LOG" | head -n 60
  record structure $((passed + tp)) $((failed + tf))
}

run_unit() {
  lg_log "layer unit: GoogleTest for src/core"
  lg_as_postgres make -s -j"$(nproc)" unit >"$OUT/unit.log" 2>&1
  local rc=$?
  cat "$OUT/unit.log"
  count_gtest unit "$OUT/unit.log" $rc
}

# GoogleTest's summary: "[  PASSED  ] N tests." and "[  FAILED  ] N tests, listed below:"; a
# program that fails without that line (a build error, a crash) counts as one failure.
count_gtest() {  # count_gtest LAYER LOGFILE RC
  local passed failed
  passed=$(grep -oE '^\[  PASSED  \] [0-9]+' "$2" | grep -oE '[0-9]+$' || true)
  failed=$(grep -oE '^\[  FAILED  \] [0-9]+ tests?,' "$2" | grep -oE '[0-9]+' || true)
  passed=${passed:-0}; failed=${failed:-0}
  [ "$3" -ne 0 ] && [ "$failed" = 0 ] && failed=1
  record "$1" "$passed" "$failed"
}

# The C++ client library (client/, docs/client.md): its GoogleTest suite (test/client/) against
# this run's cluster, in a database of its own. It freezes the cluster's postmaster and backends
# for a second or two (the client-side deadline), sets synchronous_standby_names for a moment
# (a COMMIT whose outcome is unknown) and terminates backends: it runs after the suites that
# read the cluster's state, and puts every setting back.
run_client() {
  lg_log "layer client: the C++ client library (test/client/)"
  lg_psql -d postgres -c "DROP DATABASE IF EXISTS lockguard_client" -c "CREATE DATABASE lockguard_client"
  lg_psql -d lockguard_client -c "CREATE EXTENSION lockguard"
  # PgBouncer in transaction mode on loopback (LG_TEST_PORT + 3), two server connections for the
  # test's four clients (test/client/pgbouncer_test.cpp). The failover test starts a primary and
  # a standby of its own on unix sockets, LG_TEST_PORT + 4 and + 5 (test/client/failover_test.cpp).
  local bdir="$STAGE/client-pgbouncer" bport=$((PORT + 3))
  lg_as_postgres mkdir -p "$bdir"
  printf '"postgres" ""\n' | lg_as_postgres tee "$bdir/userlist.txt" >/dev/null
  printf '%s\n' "[databases]" \
    "lockguard_client = host=$LG_SOCK port=$LG_PORT dbname=lockguard_client pool_size=2" \
    "[pgbouncer]" "listen_addr = 127.0.0.1" "listen_port = $bport" "unix_socket_dir =" \
    "auth_type = trust" "auth_file = $bdir/userlist.txt" "pool_mode = transaction" \
    "max_client_conn = 50" "logfile = $bdir/pgbouncer.log" "pidfile = $bdir/pgbouncer.pid" \
    | lg_as_postgres tee "$bdir/pgbouncer.ini" >/dev/null
  lg_as_postgres /usr/sbin/pgbouncer -d "$bdir/pgbouncer.ini" || lg_log "PgBouncer did not start"
  # LG_CLIENT_SANITIZE=thread: the library and its tests under ThreadSanitizer (a finding fails).
  lg_as_postgres env PGHOST="$LG_SOCK" PGPORT="$LG_PORT" PGUSER=postgres PGDATABASE=lockguard_client \
    LG_CLIENT_PGBOUNCER="host=127.0.0.1 port=$bport dbname=lockguard_client user=postgres" \
    LG_CLIENT_PGBIN="$LG_BINDIR" LG_CLIENT_FAILOVER_DIR="$STAGE/client-failover" LG_CLIENT_FAILOVER_PORT=$((PORT + 4)) \
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    make -s --no-print-directory -j"$(nproc)" client-check PG_CONFIG="$LG_BINDIR/pg_config" \
    LG_CLIENT_SANITIZE="${LG_CLIENT_SANITIZE:-}" >"$OUT/client.log" 2>&1
  local rc=$?
  [ -f "$bdir/pgbouncer.pid" ] && kill "$(cat "$bdir/pgbouncer.pid")"
  cat "$OUT/client.log"
  count_gtest client "$OUT/client.log" $rc
}

start_cluster() {
  lg_cluster_stop "$STAGE/cluster/data"
  rm -rf "$STAGE/cluster"
  lg_as_postgres mkdir -p "$STAGE/cluster"
  lg_cluster_start "$STAGE/cluster/data" "$PORT"
}

# pg_regress prints one line per test: "test name ... ok" / "... FAILED" up to 15, TAP lines
# "ok 1 - name" / "not ok 1 - name" from 16 (its output became TAP).
count_regress() {  # count_regress LAYER LOGFILE RC
  local passed failed
  passed=$(grep -cE '\.\.\. +ok|^ok [0-9]+ +[-+]' "$2" || true)
  failed=$(grep -cE '\.\.\. +FAILED|^not ok [0-9]+ +[-+]' "$2" || true)
  [ "$3" -ne 0 ] && [ "$failed" = 0 ] && failed=1
  record "$1" "$passed" "$failed"
}

# make installcheck against this run's cluster, one suite at a time (the other's list emptied);
# it refuses to start when a test file is missing from the suite's list in the Makefile.
installcheck() {  # installcheck OUTPUTDIR MAKE-ARGS...
  local outdir=$1; shift
  lg_as_postgres env PGHOST="$LG_SOCK" PGPORT="$LG_PORT" PGUSER=postgres \
    make -s --no-print-directory installcheck PG_CONFIG="$LG_BINDIR/pg_config" \
    EXTRA_REGRESS_OPTS="--outputdir=$outdir" "$@"
}

run_regress() {
  lg_log "layer regress: pg_regress (test/sql/, test/expected/)"
  installcheck "$OUT/regress" ISOLATION= >"$OUT/regress.log" 2>&1
  local rc=$?
  cat "$OUT/regress.log"
  [ $rc -ne 0 ] && [ -f "$OUT/regress/regression.diffs" ] && head -200 "$OUT/regress/regression.diffs"
  count_regress regress "$OUT/regress.log" $rc
}

run_isolation() {
  lg_log "layer isolation: isolation tester (test/isolation/)"
  installcheck "$OUT/isolation" REGRESS= >"$OUT/isolation.log" 2>&1
  local rc=$?
  cat "$OUT/isolation.log"
  [ $rc -ne 0 ] && [ -f "$OUT/isolation/regression.diffs" ] && head -200 "$OUT/isolation/regression.diffs"
  count_regress isolation "$OUT/isolation.log" $rc
}

# The timeout matrix (test/matrix/): every acquire function x every kind of blocker x the
# caller's lock_timeout and statement_timeout, generated, each case after a control; TAP output.
run_matrix() {
  lg_log "layer matrix: generated timeout matrix (test/matrix/)"
  lg_psql -d postgres -c "DROP DATABASE IF EXISTS lockguard_matrix" -c "CREATE DATABASE lockguard_matrix"
  lg_psql -d lockguard_matrix -c "CREATE EXTENSION lockguard"
  lg_as_postgres env PGHOST="$LG_SOCK" PGPORT="$LG_PORT" PGUSER=postgres PGDATABASE=lockguard_matrix \
    python3 test/matrix/timeout_matrix.py >"$OUT/matrix.log" 2>&1
  local rc=$?
  grep -vE '^ok ' "$OUT/matrix.log"  # the failures, the plan and the measurements; all of it is in the file
  count_tap matrix "$OUT/matrix.log" $rc
}

# TAP output (pgTAP and Perl TAP): count "ok N" / "not ok N" lines; a file that dies early
# or exits non-zero without a "not ok" counts as one failure.
count_tap() {  # count_tap LAYER LOGFILE RC
  local passed failed
  passed=$(grep -cE '^\s*ok [0-9]+' "$2" || true)
  failed=$(grep -cE '^\s*not ok [0-9]+' "$2" || true)
  [ "$3" -ne 0 ] && [ "$failed" = 0 ] && failed=1
  record "$1" "$passed" "$failed"
}

run_pgtap() {
  lg_log "layer pgtap: pgTAP (test/pgtap/)"
  lg_psql -d postgres -c "DROP DATABASE IF EXISTS pgtap_lockguard" -c "CREATE DATABASE pgtap_lockguard"
  lg_psql -d pgtap_lockguard -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION lockguard"
  lg_as_postgres pg_prove --verbose -h "$LG_SOCK" -p "$LG_PORT" -U postgres -d pgtap_lockguard \
    test/pgtap/*.sql >"$OUT/pgtap.log" 2>&1
  local rc=$?
  cat "$OUT/pgtap.log"
  count_tap pgtap "$OUT/pgtap.log" $rc
}

# The docs check (test/docs/check.sh): every ```sql block of README.md and docs/*.md marked
# "<!-- runnable -->" runs against this cluster, per file in a fresh database with lockguard.
run_docs() {
  lg_log "layer docs: runnable SQL examples of README.md and docs/ (test/docs/)"
  lg_as_postgres mkdir -p "$OUT/docs"
  lg_as_postgres env PSQL="$LG_BINDIR/psql -X -h $LG_SOCK -p $LG_PORT -U postgres" LG_DOCS_OUT="$OUT/docs" \
    bash test/docs/check.sh README.md docs/*.md >"$OUT/docs.log" 2>&1
  local rc=$?
  cat "$OUT/docs.log"
  count_tap docs "$OUT/docs.log" $rc
}

# The Makefile's PROVE_TESTS less those named in LG_TAP_SKIP (basenames without .pl): the
# assert-enabled run has no build of the other extensions that the coexistence test loads.
tap_tests() {
  local t
  for t in $(lg_as_postgres make -s --no-print-directory print-PROVE_TESTS PG_CONFIG="$LG_BINDIR/pg_config"); do
    [[ " ${LG_TAP_SKIP:-} " == *" $(basename "$t" .pl) "* ]] || echo "$t"
  done
}

# make prove_installcheck: the servers' files and logs are in $STAGE/build/pg<major>/tmp_check.
# test/t/120_pg_upgrade.pl upgrades a 15 cluster to 18: in a 15 run, LG_UPGRADE_TO names a copy
# of the cached assert-enabled 18 (scripts/pg18-build.sh; test/every-major.sh's 18 part makes it,
# a 15-only run on a fresh machine builds it) with this tree's lockguard built and installed into
# it. When that fails, LG_UPGRADE_TO stays unset and the test fails (LG_REQUIRE_ALL_TOOLS).
prepare_upgrade_target() {
  [[ " ${LG_TAP_SKIP:-} " == *" 120_pg_upgrade "* ]] && return 0
  "$LG_BINDIR/pg_config" --version | grep -q '^PostgreSQL 15\.' || return 0
  [ -n "${LG_UPGRADE_TO:-}" ] && return 0
  local started=$SECONDS prefix dir=$STAGE/pg18-upgrade
  prefix=$(bash scripts/pg18-build.sh | tail -n 1)
  if [ -x "$prefix/bin/pg_upgrade" ] && rm -rf "$dir" && cp -a "$prefix" "$dir" &&
    make -C "$STAGE" -s -j"$(nproc)" PG_CONFIG="$dir/bin/pg_config" >"$OUT/upgrade-target.log" 2>&1 &&
    make -C "$STAGE" -s install PG_CONFIG="$dir/bin/pg_config" >>"$OUT/upgrade-target.log" 2>&1; then
    chown -R postgres:postgres "$dir" "$STAGE/build"
    export LG_UPGRADE_TO=$dir
  else
    lg_log "no PostgreSQL 18 with lockguard to upgrade to ($OUT/upgrade-target.log)"
  fi
  lg_log "the PostgreSQL 18 to upgrade to took $((SECONDS - started)) s"
}

run_tap() {
  lg_log "layer tap: PostgreSQL::Test::Cluster (test/t/)"
  prepare_upgrade_target
  lg_as_postgres make -s --no-print-directory prove_installcheck PG_CONFIG="$LG_BINDIR/pg_config" \
    PROVE_FLAGS=--verbose PROVE_TESTS="$(tap_tests | tr '\n' ' ')" LG_SOURCE_DIR="$STAGE" >"$OUT/tap.log" 2>&1
  local rc=$?
  cat "$OUT/tap.log"
  # A PostgreSQL configured without --enable-tap-tests makes prove_installcheck an echo.
  grep -q 'TAP tests not enabled' "$OUT/tap.log" && rc=1
  count_tap tap "$OUT/tap.log" $rc
}

# The benchmark harness in quick mode: every scenario runs about a second for every contender;
# it checks that each produced results, never their speed (docs/benchmarks.md has the numbers).
run_bench() {
  lg_log "layer bench: benchmark harness, quick mode (test/bench/)"
  LG_BENCH_STAGE="$STAGE" LG_BENCH_PORT=$((PORT + 1)) bash test/bench/quick-layer.sh >"$OUT/bench.log" 2>&1
  local rc=$?
  cat "$OUT/bench.log"
  count_tap bench "$OUT/bench.log" $rc
}

# Patroni and etcd (test/patroni/): a switchover and a failover under a stream of run-once
# transfers, with the failover test's assertions, and an etcd lock revision as fencing token.
run_patroni() {
  lg_log "layer patroni: Patroni and etcd scenario (test/patroni/)"
  LG_PATRONI_STAGE="$STAGE" LG_PATRONI_INSTALLED=1 LG_PATRONI_PORT=${LG_PATRONI_PORT:-$((PORT + 2))} \
    bash test/patroni/run.sh >"$OUT/patroni.log" 2>&1
  local rc=$?
  cat "$OUT/patroni.log"
  count_tap patroni "$OUT/patroni.log" $rc
}

# The chaos run (test/chaos/): cancels, terminations, deadlocks and retries under load, then a
# consistency check of lockguard's shared memory. Short here; test/hardening.sh runs it longer.
run_chaos() {
  lg_log "layer chaos: chaos run and consistency check (test/chaos/)"
  LG_CHAOS_STAGE="$STAGE" LG_CHAOS_PORT=$((PORT + 8)) LG_CHAOS_SECONDS=${LG_CHAOS_SECONDS:-15} \
    bash test/chaos/run.sh >"$OUT/chaos.log" 2>&1
  local rc=$?
  cat "$OUT/chaos.log"
  count_tap chaos "$OUT/chaos.log" $rc
}

# A backend killed by a signal or a failed assertion fails the run, whatever the tests said.
# TAP nodes named crash_* kill a backend with SIGKILL on purpose: only that line is expected there.
check_server_logs() {
  local lines log
  lines=$(lg_crash_lines "$STAGE/cluster/data/server.log" "$STAGE/bench-quick/cluster/data/server.log" \
            "$STAGE/bench-quick/stock/data/server.log" \
            "$STAGE/chaos/cluster/data/server.log" \
            $(find "$STAGE/build" -path '*/tmp_check/*' -name '*.log' ! -name '*_crash_*' 2>/dev/null) \
            $(find "$STAGE/patroni" -path '*/pglog/*' 2>/dev/null))
  for log in $(find "$STAGE/build" -path '*/tmp_check/*' -name '*_crash_*.log' 2>/dev/null); do
    lines+=$(lg_crash_lines "$log" | grep -v 'terminated by signal 9: Killed')
  done
  if [ -n "$lines" ]; then
    echo "$lines"
    record server-log 0 1
  else
    record server-log 1 0
  fi
}

trap 'lg_cluster_stop "$STAGE/cluster/data"' EXIT
for layer in $LAYERS; do
  layer_started=$SECONDS
  case $layer in
    structure) run_structure ;;
    unit) run_unit ;;
    regress|isolation|pgtap|matrix|docs|client)
      [ -f "$STAGE/cluster/data/postmaster.pid" ] || start_cluster
      "run_$layer" ;;
    tap) run_tap ;;
    bench) run_bench ;;
    patroni) run_patroni ;;
    chaos) run_chaos ;;
    *) lg_die "unknown layer $layer" ;;
  esac
  lg_log "layer $layer took $((SECONDS - layer_started)) s"  # for the CI budget (docs/hardening.md)
done
lg_cluster_stop "$STAGE/cluster/data"
check_server_logs

# Runs made just before this one by the caller (.ci/run's hardening runs) count in the summary:
# LG_PRIOR_RESULTS names a file of lines "NAME N passed, N failed".
if [ -n "${LG_PRIOR_RESULTS:-}" ] && [ -f "$LG_PRIOR_RESULTS" ]; then
  while read -r name passed _ failed _; do record "$name" "$passed" "$failed"; done <"$LG_PRIOR_RESULTS"
fi

echo
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ "$total_pass" -gt 0 ]
