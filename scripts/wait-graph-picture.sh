#!/usr/bin/env bash
# Regenerates the wait-graph picture of docs/monitoring.md from a real contention run: starts a
# private cluster, stages the run the guide describes (a batch import holding a row, two
# checkouts and a report waiting behind it, a payment lock with a waiter), takes lockguard's DOT
# output while they wait and draws it with Graphviz:
#
#   psql -Atc "SELECT lockguard.wait_graph_dot()" | dot -Tsvg > docs/images/wait-graph.svg
#
#   bash scripts/wait-graph-picture.sh             # writes docs/images/wait-graph.svg
#   bash scripts/wait-graph-picture.sh /tmp/x.svg  # writes elsewhere
#
# Prints the DOT text. LG_PICTURE_STAGE and LG_PICTURE_PORT move its files and port;
# LG_PRIVATE_PG as for test/run-all.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lg_require_root
lg_ensure_packages "${LG_BASE_PACKAGES[@]}" graphviz
[ -n "${LG_PRIVATE_PG:-}" ] && lg_private_pg "$LG_PRIVATE_PG"

OUT=${1:-$LG_REPO/docs/images/wait-graph.svg}
STAGE=${LG_PICTURE_STAGE:-/tmp/lockguard-picture}
PORT=${LG_PICTURE_PORT:-54560}
lg_stage_and_install "$STAGE"
lg_cluster_start "$STAGE/cluster/data" "$PORT" "lockguard.sample_interval_ms = 200"
cleanup() {
  jobs -p | xargs -r kill 2>/dev/null || true
  lg_cluster_stop "$STAGE/cluster/data"
}
trap cleanup EXIT

lg_psql -d postgres <<'SQL'
CREATE EXTENSION lockguard;
CREATE ROLE acme_app LOGIN;
CREATE ROLE globex_app LOGIN;
INSERT INTO lockguard.tenant_budgets (tenant, max_held, max_waiters, weight) VALUES
    ('acme', 2, 1, 1), ('globex', 50, 20, 2);
INSERT INTO lockguard.tenant_roles (role, tenant) VALUES ('acme_app', 'acme'), ('globex_app', 'globex');
CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, 10) g;
CREATE TABLE go_signal ();
GRANT SELECT, UPDATE ON accounts TO acme_app, globex_app;
GRANT SELECT ON go_signal TO acme_app, globex_app;
SQL

# session APPLICATION ROLE STATEMENT...: a client in the background, named as the graph shows it,
# sending one statement at a time (the graph shows the statement running).
session() {
  local app=$1 role=$2 args=(); shift 2
  for statement in "$@"; do args+=(-c "$statement"); done
  lg_as_postgres env PGAPPNAME="$app" "$LG_BINDIR/psql" -X -q -h "$LG_SOCK" -p "$LG_PORT" -U "$role" -d postgres \
    "${args[@]}" >/dev/null 2>&1 &
}
# until SQL: waits (at most a minute) until the query returns t.
until_true() {
  for _ in $(seq 600); do
    [ "$(lg_psql -d postgres -Atc "$1")" = t ] && return 0
    sleep 0.1
  done
  lg_die "timed out waiting for: $1"
}
HOLD='DO $$ BEGIN WHILE NOT EXISTS (SELECT FROM go_signal) LOOP PERFORM pg_sleep(0.1); END LOOP; END $$'

session batch-import acme_app BEGIN "SELECT lockguard_acquire_row('accounts', 1)" \
  "UPDATE accounts SET balance = balance - 1 WHERE id = 1" "$HOLD" COMMIT
until_true "SELECT count(*) = 1 FROM lockguard.locks WHERE application_name = 'batch-import'"
session checkout-1 globex_app BEGIN "SELECT lockguard_acquire_row('accounts', 1, priority => 10, timeout_ms => 60000)" COMMIT
session checkout-2 globex_app BEGIN "UPDATE accounts SET balance = balance - 1 WHERE id = 1" COMMIT
until_true "SELECT count(*) = 2 FROM lockguard.wait_graph"
session nightly-report postgres BEGIN "SELECT lockguard_acquire_table('accounts', 'SHARE', timeout_ms => 60000)" COMMIT
session payment-worker postgres BEGIN "SELECT lockguard_acquire('payment:42')" "$HOLD" COMMIT
until_true "SELECT count(*) = 1 FROM lockguard.locks WHERE application_name = 'payment-worker'"
session payment-retry postgres BEGIN "SELECT lockguard_acquire('payment:42', timeout_ms => 60000)" COMMIT
until_true "SELECT count(*) = 5 FROM lockguard.wait_graph"
sleep 2  # so that the waits have a length worth printing

lg_psql -d postgres -Atc "SELECT lockguard.wait_graph_dot()" > "$STAGE/wait-graph.dot"
dot -Tsvg "$STAGE/wait-graph.dot" > "$OUT"
cat "$STAGE/wait-graph.dot"
lg_log "wrote $OUT"

lg_psql -d postgres -c "INSERT INTO go_signal DEFAULT VALUES"
wait
