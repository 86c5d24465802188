#!/usr/bin/env bash
# Set-up that only the tests use, on top of scripts/lib.sh (which the demo shares).
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

# Server-log lines that mean a backend crashed or an assertion failed.
# Sanitizer reports (test/hardening.sh sanitize) count too.
lg_crash_lines() {
  grep -hE 'terminated by signal|TRAP: |PANIC: |was terminated by exception|(Address|Leak|UndefinedBehavior)Sanitizer|runtime error: ' \
    "$@" 2>/dev/null
}

# The Debian packages a layer of test/run-all.sh needs beyond LG_BASE_PACKAGES: a run installs
# only those of the layers it runs. bench, chaos and patroni install their own (their scripts run
# alone too).
lg_layer_packages() {
  case $1 in
    unit) echo libgtest-dev ;;
    client) echo "libpq-dev libgtest-dev pgbouncer" ;;  # the client library is built on libpq
    structure) echo "python3 clang-tidy libgtest-dev" ;;  # clang-tidy reads the unit tests too
    pgtap) echo "postgresql-$LG_PG_MAJOR-pgtap libtap-parser-sourcehandler-pgtap-perl" ;;
    matrix) echo python3-psycopg2 ;;
    # the deployment tests (test/t/040-070, docs/deployment.md) and PostgreSQL's TAP modules
    tap) echo "libipc-run-perl postgresql-$LG_PG_MAJOR-pgaudit postgresql-$LG_PG_MAJOR-pg-wait-sampling" \
              "pgbouncer prometheus-postgres-exporter prometheus graphviz" ;;
  esac
}
