#!/usr/bin/env bash
# The chaos run (a test layer of test/run-all.sh, and part of test/hardening.sh): many clients
# with short timeouts, deadlocks, rollbacks, savepoints, retries, prepared transactions and
# disconnects, while cancels and terminations hit them at random (test/chaos/lgchaos.cpp); then,
# once every client is gone, a consistency check of lockguard's shared memory, locks, tenants,
# worker and server log. Reuses the lockguard already installed (it does not build it), starts
# its own private cluster, prints TAP lines and ends with "N passed, N failed". Run as root.
#
#   LG_CHAOS_STAGE=/tmp/lockguard-test LG_CHAOS_PORT=54343 LG_CHAOS_SECONDS=60 bash test/chaos/run.sh
#
# LG_CHAOS_CLIENTS (default 32) and LG_CHAOS_SEED (default 1) vary the load.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lg_require_root
lg_ensure_packages libpq-dev g++

STAGE=${LG_CHAOS_STAGE:-/tmp/lockguard-chaos}
PORT=${LG_CHAOS_PORT:-54343}
DURATION=${LG_CHAOS_SECONDS:-60}
CLIENTS=${LG_CHAOS_CLIENTS:-32}
SEED=${LG_CHAOS_SEED:-1}
[ -f "$("$LG_BINDIR/pg_config" --pkglibdir)/lockguard.so" ] \
  || { echo "lockguard is not installed"; echo "0 passed, 1 failed"; exit 1; }

WORK=$STAGE/chaos
rm -rf "$WORK"
mkdir -p "$WORK"
g++ -std=c++17 -O2 -g -Wall -Wextra -I/usr/include/postgresql \
  -o "$WORK/lgchaos" "$(dirname "${BASH_SOURCE[0]}")/lgchaos.cpp" -lpq -pthread >"$WORK/build.log" 2>&1 \
  || { cat "$WORK/build.log"; echo "0 passed, 1 failed"; exit 1; }
chown -R postgres:postgres "$WORK"

passed=0
failed=0
n=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
# check DESCRIPTION SQL EXPECTED: the query's output (unaligned, tuples only) must equal EXPECTED.
check() {
  local got
  got=$(lg_psql -d postgres -At -c "$2" 2>&1)
  if [ "$got" = "$3" ]; then ok "$1"; else not_ok "$1"; echo "#   query: $2"; echo "#   got: $got"; echo "#   expected: $3"; fi
}

DATA=$WORK/cluster/data
trap 'lg_cluster_stop "$DATA"' EXIT
lg_as_postgres mkdir -p "$WORK/cluster"
# A short deadlock_timeout so the deliberate deadlocks end quickly; room for every client's
# prepared transaction; the worker samples often.
lg_cluster_start "$DATA" "$PORT" \
  "max_connections = $((CLIENTS + 20))" \
  "max_prepared_transactions = $((CLIENTS + 10))" \
  "deadlock_timeout = 50ms" \
  "lockguard.sample_interval_ms = 100" \
  "lockguard.aging_ms = 20" \
  "autovacuum = off"
lg_psql -d postgres -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || { echo "set-up failed"; echo "0 passed, 1 failed"; exit 1; }
CREATE EXTENSION lockguard;
CREATE TABLE chaos_accounts (id integer PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO chaos_accounts SELECT g, 0 FROM generate_series(1, 110) g;
-- The retry envelope's work: one update of the locked row.
CREATE FUNCTION chaos_work(arg jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    UPDATE chaos_accounts SET balance = balance + 1 WHERE id = (arg->>'id')::integer;
    RETURN jsonb_build_object('id', arg->'id');
END $$;
CREATE ROLE chaos_a LOGIN;
CREATE ROLE chaos_b LOGIN;
CREATE ROLE chaos_c LOGIN;
GRANT SELECT, UPDATE ON chaos_accounts TO chaos_a, chaos_b, chaos_c;
-- chaos_a: a tight budget (refusals); chaos_b: a loose one, and may act for chaos_a;
-- chaos_c: no mapping (the default tenant).
INSERT INTO lockguard.tenant_budgets (tenant, max_held, max_waiters, weight)
VALUES ('chaos_a', 3, 3, 1), ('chaos_b', 40, 40, 2);
INSERT INTO lockguard.tenant_roles (role, tenant, may_set_tenant)
VALUES ('chaos_a', 'chaos_a', false), ('chaos_b', 'chaos_b', true);
SQL
worker_before=$(lg_psql -d postgres -At -c "SELECT pid FROM lockguard.worker_status")
# test/hardening.sh sanitize: the server really runs the instrumented lockguard under ASan.
if [ -n "${LG_SANITIZE:-}" ]; then
  maps=/proc/$(head -n 1 "$DATA/postmaster.pid")/maps
  lib=$("$LG_BINDIR/pg_config" --pkglibdir)/lockguard.so
  grep -q libasan "$maps" && grep -q lockguard.so "$maps" && nm -D "$lib" | grep __ubsan_handle >/dev/null \
    && ok "the server runs lockguard built with sanitizers ($LG_SANITIZE), with the ASan runtime" \
    || not_ok "the server runs lockguard built with sanitizers ($LG_SANITIZE), with the ASan runtime"
fi

lg_log "chaos: $CLIENTS clients for ${DURATION}s, cancels and terminations at random"
lg_as_postgres "$WORK/lgchaos" --conninfo "host=$LG_SOCK port=$LG_PORT dbname=postgres" \
  --clients "$CLIENTS" --seconds "$DURATION" --seed "$SEED" >"$WORK/counts.txt" 2>"$WORK/driver.err"
rc=$?
counts=$(cat "$WORK/counts.txt")
echo "# $counts"
sed 's/^/# /' "$WORK/driver.err" | head -40
[ $rc -eq 0 ] && ok "every client error was one chaos explains (timeout, deadlock, cancel, termination, budget)" \
  || not_ok "every client error was one chaos explains (driver exit $rc)"

# The chaos really happened: each kind of event was seen at least once.
count() { echo "$counts" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
for event in ok_named ok_row ok_multi ok_run ok_savepoints ok_prepared ok_exception_block ok_table \
             error_55P03 error_40P01 error_57014 error_LG001 error_LG002 cancels_sent terminates_sent \
             reconnects savepoint_rollbacks rollbacks vanished_holding; do
  c=$(count "$event")
  [ "${c:-0}" -gt 0 ] && ok "the run saw $event ($c)" || not_ok "the run saw $event (none)"
done

# Consistency once every client is gone.
lg_psql -d postgres -At -c "SELECT 1" >/dev/null
gone=0
for _ in $(seq 1 120); do
  left=$(lg_psql -d postgres -At -c "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'lockguard-chaos%'")
  [ "$left" = 0 ] && gone=1 && break
  sleep 0.5
done
[ $gone = 1 ] && ok "every client backend has exited" || not_ok "every client backend has exited ($left left)"
check "no prepared transaction is left" "SELECT count(*) FROM pg_prepared_xacts" 0
check "lockguard.locks is empty" "SELECT count(*) FROM lockguard.locks" 0
check "no lock in lockguard's key spaces is in pg_locks" \
  "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid IN (19527, 19528, 19529)" 0
check "no backend slot publishes a held lock or a wait" \
  "SELECT count(*) FROM lockguard._shared_state() WHERE part = 'backend'" 0
check "the count of published waits is back to zero" \
  "SELECT waiting FROM lockguard._shared_state() WHERE part = 'waiting_backends'" 0
check "the count of published waits with a priority or a tenant is back to zero" \
  "SELECT waiting FROM lockguard._shared_state() WHERE part = 'ordered_waiters'" 0
check "no tenant counts a held lock or a waiter" \
  "SELECT count(*) FROM lockguard._shared_state() WHERE part = 'tenant' AND (held <> 0 OR waiting <> 0)" 0
check "lockguard.tenants agrees" "SELECT count(*) FROM lockguard.tenants WHERE held_now <> 0 OR waiting_now <> 0" 0
check "the tight budget refused requests" "SELECT rejected > 0 FROM lockguard.tenants WHERE tenant = 'chaos_a'" t
check "releasers found every wait queue consistent" \
  "SELECT inconsistent_queues FROM lockguard.queue_stats()" 0
check "lockguard waits happened and were counted" "SELECT waits > 0 FROM lockguard.queue_stats()" t
# The clients ask with random priorities: the queue reordering ran amid the cancels, terminations
# and deadlocks (on each major's own wait queue), and the releasers above found it consistent.
echo "# queue_stats: $(lg_psql -d postgres -At -c "SELECT format('waits %s, reorders %s, moved %s, inconsistent %s', waits, reorders, moved, inconsistent_queues) FROM lockguard.queue_stats()" 2>&1)"
check "priority reorderings happened" "SELECT reorders > 0 FROM lockguard.queue_stats()" t
check "the worker is the one that started with the server (it never failed)" \
  "SELECT pid FROM lockguard.worker_status" "$worker_before"
check "the worker sampled waits into history during the run" "SELECT count(*) > 0 FROM lockguard.wait_history" t
check "deadlocks were captured" "SELECT count(*) > 0 FROM lockguard.deadlocks" t
check "wait statistics are readable" "SELECT sum(timeouts) > 0 AND sum(deadlocks) > 0 FROM lockguard.wait_stats" t
check "a new acquisition is granted at once" \
  "BEGIN; SELECT 'granted' FROM lockguard_acquire('chaos:1', timeout_ms => 0); SELECT count(*) FROM lockguard.locks; COMMIT" \
  "granted
1"
# Before the shutdown, whose own lines ("exited with exit code 1") are expected.
bad=$(grep -hE "leaked|was not closed|you don't own a lock|exited with exit code|out of shared memory" "$DATA/server.log" | head -20)
[ -z "$bad" ] && ok "the server log shows no leak warning and no worker failure" \
  || { not_ok "the server log shows no leak warning and no worker failure"; echo "$bad" | sed 's/^/#   /'; }

lg_cluster_stop "$DATA"
crash=$(lg_crash_lines "$DATA/server.log")
[ -z "$crash" ] && ok "the server log shows no crash, assertion failure or sanitizer report" \
  || { not_ok "the server log shows no crash, assertion failure or sanitizer report"; echo "$crash" | head -20 | sed 's/^/#   /'; }

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
