# Functions shared by test/bench/run.sh (full and quick benchmark) and test/bench/quick-layer.sh
# (the quick mode as a test layer). Source scripts/lib.sh first.

LGB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LGB_PYTHON=/usr/bin/python3   # Debian's python3 (standard library only), not a pyenv shim

# The same cluster settings for every run; printed in the report. lib.sh adds fsync = off,
# listen_addresses = '' (unix socket only) and shared_preload_libraries = 'lockguard'.
LGB_SETTINGS=(
  "max_connections = 200"
  "shared_buffers = 256MB"
  "synchronous_commit = on"
  "wal_level = minimal"
  "max_wal_senders = 0"
  "max_wal_size = 4GB"
  "checkpoint_timeout = 30min"
  "autovacuum = off"
  "deadlock_timeout = 1s"
  "lock_timeout = 0"
  "lockguard.default_timeout_ms = 10000"
  "lockguard.aging_ms = 20"
  "log_min_messages = warning"
)

LGB_CONTENDERS=(for_update advisory for_update_retry lg_row lg_named lg_multi lg_run)
LGB_PRIORITY_CONTENDERS=(for_update advisory lg_row lg_row_prio)

# lgb_build_driver OUT: compiles the load driver to OUT.
lgb_build_driver() {
  local out=$1
  mkdir -p "$(dirname "$out")"
  make -s -C "$LGB_DIR/driver" OUT="$out" >"$out.build.log" 2>&1 || { cat "$out.build.log" >&2; lg_die "building the load driver failed"; }
}

# lgb_cluster DIR PORT ROWS: a fresh private cluster in DIR (owned by postgres), database
# "bench" with the extension and ROWS accounts. Sets LGB_CONNINFO.
lgb_cluster() {
  local dir=$1 port=$2 rows=$3
  lg_cluster_stop "$dir/data"
  rm -rf "$dir"
  mkdir -p "$dir"
  chown postgres:postgres "$dir"
  lg_cluster_start "$dir/data" "$port" "${LGB_SETTINGS[@]}"
  lg_psql -d postgres -c "CREATE DATABASE bench" >/dev/null || lg_die "CREATE DATABASE bench failed"
  lg_log "loading $rows rows"
  lg_psql -d bench -v ON_ERROR_STOP=1 -v rows="$rows" -f "$LGB_DIR/setup.sql" >"$dir/setup.log" 2>&1 \
    || { cat "$dir/setup.log" >&2; lg_die "loading the benchmark data failed"; }
  LGB_CONNINFO="host=$LG_SOCK port=$LG_PORT dbname=bench user=postgres application_name=lgbench"
}

# lgb_point RESULTS LABEL SCENARIO CONTENDER CLIENTS KEYS [driver args...]
# Runs one point and appends its JSON line to RESULTS; a driver failure appends an error line.
lgb_point() {
  local results=$1 label=$2 scenario=$3 contender=$4 clients=$5 keys=$6; shift 6
  [ "${LGB_VACUUM:-1}" = 1 ] && lg_psql -d bench -c "VACUUM accounts" -c "CHECKPOINT" >/dev/null 2>&1
  local line rc
  line=$("$LGB_DRIVER" --conninfo "$LGB_CONNINFO" --label "$label" --scenario "$scenario" --contender "$contender" \
           --clients "$clients" --keys "$keys" --duration "$LGB_DURATION" --warmup "$LGB_WARMUP" "$@" 2>"$LGB_WORK/driver.err")
  rc=$?
  if [ $rc -ne 0 ] || [ -z "$line" ]; then
    local err; err=$(tr '\n"\\' '   ' <"$LGB_WORK/driver.err" | cut -c1-300)
    line="{\"contender\": \"$contender\", \"scenario\": \"$label\", \"kind\": \"$scenario\", \"clients\": $clients, \"keys\": $keys, \"driver_failed\": \"rc=$rc $err\"}"
    lg_log "driver failed: $label $contender $clients clients: $err"
  fi
  echo "$line" >>"$results"
  printf '  %-12s %-17s %3s clients  %s\n' "$label" "$contender" "$clients" \
    "$(echo "${line%%\"classes\"*}" | grep -oE '"(tps|lock_timeouts|deadlocks|other_errors)": [0-9.]+|"p95": [0-9.]+|"driver_failed"' | head -6 | tr '\n' ' ')" >&2
}

# lgb_run_all MODE RESULTS: every scenario for every contender. MODE is full or quick.
# Within a scenario point the contenders run back to back, so background noise hits them alike.
lgb_run_all() {
  local mode=$1 results=$2 c n hot_clients uncontended_rows
  : >"$results"
  if [ "$mode" = quick ]; then
    hot_clients=(8); uncontended_rows=$LGB_QUICK_ROWS
  else
    hot_clients=(1 8 32 64); uncontended_rows=1000000
  fi
  lg_log "scenario uncontended: $uncontended_rows rows, 8 clients"
  for c in "${LGB_CONTENDERS[@]}"; do lgb_point "$results" uncontended uncontended "$c" 8 "$uncontended_rows"; done
  for n in 1 10 1000; do
    lg_log "scenario hot$n: $n hot rows, clients ${hot_clients[*]}"
    for cl in "${hot_clients[@]}"; do
      for c in "${LGB_CONTENDERS[@]}"; do lgb_point "$results" "hot$n" hot "$c" "$cl" "$n"; done
    done
  done
  lg_log "scenario nominal: zipfian (theta 0.99) over 10000 rows, 16 clients"
  for c in "${LGB_CONTENDERS[@]}"; do lgb_point "$results" nominal nominal "$c" 16 10000 --theta 0.99; done
  for n in 10 100; do
    lg_log "scenario transfer$n: two random rows of $n in random order, 16 clients"
    for c in "${LGB_CONTENDERS[@]}"; do lgb_point "$results" "transfer$n" transfer "$c" 16 "$n"; done
  done
  lg_log "scenario priority: 5 hot rows, 10% priority 100 among priority 0, 32 clients"
  for c in "${LGB_PRIORITY_CONTENDERS[@]}"; do lgb_point "$results" priority priority "$c" 32 5 --high-share 0.1; done
  lgb_noisy "$results"
  if [ "$mode" = quick ]; then lgb_monitoring "$results" 1; else lgb_monitoring "$results" 3; fi
}

# Noisy neighbour (issue 5). Rows 1..1000; tenant A (48 clients, role bench_tenant_a) locks and
# updates one of the shared rows 1..5; tenant B (4 clients, role bench_tenant_b) one of its own
# rows 6..1000, or with probability 10% a shared row. Three configurations back to back: B alone
# (plain FOR UPDATE); beside A, both plain FOR UPDATE; beside A, both lockguard_acquire_row with
# A's budget below. A refused acquisition (LG001/LG002) sleeps LGB_NOISY_REFUSED_SLEEP_MS
# (jittered 0.5x..1.5x) and retries; the driver counts it as "refused".
LGB_NOISY_A_CLIENTS=48
LGB_NOISY_B_CLIENTS=4
LGB_NOISY_A_MAX_WAITERS=5      # about one waiting A request per shared row
LGB_NOISY_REFUSED_SLEEP_MS=10
lgb_noisy() {
  local results=$1 budget
  budget="tenant_a: max_held unlimited, max_waiters $LGB_NOISY_A_MAX_WAITERS, weight 1; tenant_b: unlimited, weight 1"
  lg_psql -d bench -v ON_ERROR_STOP=1 \
    -c "UPDATE lockguard.tenant_budgets SET max_held = NULL, max_waiters = $LGB_NOISY_A_MAX_WAITERS, weight = 1 WHERE tenant = 'tenant_a'" \
    -c "UPDATE lockguard.tenant_budgets SET max_held = NULL, max_waiters = NULL, weight = 1 WHERE tenant = 'tenant_b'" \
    >/dev/null || lg_die "setting the noisy neighbour budgets failed"
  lg_log "scenario noisy: tenant A $LGB_NOISY_A_CLIENTS clients on rows 1..5, tenant B $LGB_NOISY_B_CLIENTS clients (90% rows 6..1000, 10% rows 1..5); budget $budget"
  local common=(--keys 1000 --hot-keys 5 --shared-share 0.1 --user-a bench_tenant_a --user-b bench_tenant_b
                --refused-sleep-ms "$LGB_NOISY_REFUSED_SLEEP_MS")
  lgb_point "$results" noisy noisy for_update "$LGB_NOISY_B_CLIENTS" 1000 "${common[@]}" --a-clients 0 \
    --tag config=b_alone
  lgb_point "$results" noisy noisy for_update $((LGB_NOISY_A_CLIENTS + LGB_NOISY_B_CLIENTS)) 1000 "${common[@]}" \
    --a-clients "$LGB_NOISY_A_CLIENTS" --tag config=plain
  lgb_point "$results" noisy noisy lg_row $((LGB_NOISY_A_CLIENTS + LGB_NOISY_B_CLIENTS)) 1000 "${common[@]}" \
    --a-clients "$LGB_NOISY_A_CLIENTS" --tag config=lockguard --tag "budget=$budget"
  lg_psql -d bench -Atc "SELECT tenant, rejected, acquisitions FROM lockguard.tenants WHERE tenant LIKE 'tenant_%' ORDER BY 1" \
    | sed 's/^/  lockguard.tenants: /' >&2
}

# Monitoring overhead (issue 4): the sampler's cost. 10 hot rows, 32 clients, lockguard row scope,
# with the worker's sampling off (lockguard.sample_interval_ms = 0) and on at 1000 and 100 ms,
# alternating off/1000/100 for ROUNDS rounds so that drift hits every configuration alike.
# The bench cluster's worker runs in database postgres (lockguard.database's default), so the
# extension is installed there first; from then on the worker persists audit entries and
# deadlocks once a second (every interval when on), in every configuration: what "off" removes
# is the wait-graph sampling, the part that runs only under contention. Each result line gets
# the wait-graph samples (distinct sampled_at) and edges written while it ran, to show that off
# really samples nothing.
lgb_monitoring() {
  local results=$1 rounds=$2 round cfg ms before after
  lg_psql -d postgres -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS lockguard" >/dev/null \
    || lg_die "CREATE EXTENSION lockguard in the worker's database failed"
  lg_log "scenario monitoring: 10 hot rows, 32 clients, lockguard row; sampling off / 1000 ms / 100 ms, $rounds round(s)"
  for round in $(seq 1 "$rounds"); do
    for cfg in off 1000 100; do
      ms=$([ "$cfg" = off ] && echo 0 || echo "$cfg")
      lg_psql -d postgres -v ON_ERROR_STOP=1 -c "ALTER SYSTEM SET lockguard.sample_interval_ms = $ms" \
        -c "SELECT pg_reload_conf()" >/dev/null || lg_die "setting lockguard.sample_interval_ms failed"
      sleep 0.3
      before=$(lg_psql -d postgres -Atc "SELECT count(DISTINCT sampled_at) || ' ' || count(*) FROM lockguard.wait_history")
      lgb_point "$results" monitoring hot lg_row 32 10 --tag "config=$cfg" --tag "round=$round" --tag "interval_ms=$ms"
      after=$(lg_psql -d postgres -Atc "SELECT count(DISTINCT sampled_at) || ' ' || count(*) FROM lockguard.wait_history")
      lgb_annotate_last "$results" "$before" "$after"
    done
  done
  lg_psql -d postgres -c "ALTER SYSTEM RESET lockguard.sample_interval_ms" -c "SELECT pg_reload_conf()" >/dev/null
  lg_psql -d postgres -Atc "SELECT 'worker: pid ' || pid || ', database ' || database FROM lockguard.worker_status" \
    | sed 's/^/  /' >&2
}

# lgb_annotate_last RESULTS "SAMPLES EDGES" "SAMPLES EDGES": adds the wait-history growth during
# the last point ("sampled": samples and edges written) to the last line of RESULTS.
lgb_annotate_last() {
  "$LGB_PYTHON" - "$@" <<'PY'
import json, sys
path, before, after = sys.argv[1:4]
lines = open(path).read().splitlines()
r = json.loads(lines[-1])
try:
    b, a = [int(x) for x in before.split()], [int(x) for x in after.split()]
    r["sampled"] = {"samples": a[0] - b[0], "edges": a[1] - b[1]}
except (ValueError, IndexError):
    r["sampled"] = None
lines[-1] = json.dumps(r)
open(path, "w").write("\n".join(lines) + "\n")
print("  wait-graph samples during the point: %s" % r["sampled"], file=sys.stderr)
PY
}
