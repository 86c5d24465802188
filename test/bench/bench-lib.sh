# Functions shared by test/bench/run.sh (full and quick benchmark), test/bench/quick-layer.sh
# (the quick mode as a test layer) and test/bench/compare-builds.sh. Source scripts/lib.sh first.

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

# client_rwl: the client library's run_with_lock (client/), retrying as for_update_retry does.
LGB_CONTENDERS=(for_update advisory for_update_retry lg_row lg_named lg_multi lg_run client_rwl)
LGB_PRIORITY_CONTENDERS=(for_update advisory lg_row lg_row_prio)

# lgb_install_ref REF STAGE: lockguard built in STAGE and installed into the PostgreSQL in use,
# from a clean export of commit REF (git archive into STAGE-src), so that work in progress in the
# checkout never ends up in the numbers; REF "worktree" builds the checkout as it is.
lgb_install_ref() {
  local ref=$1 stage=$2 saved=$LG_REPO
  if [ "$ref" != worktree ]; then
    rm -rf "$stage-src"; mkdir -p "$stage-src"
    git -C "$LG_REPO" archive "$ref" | tar -x -C "$stage-src" || lg_die "git archive $ref failed"
    LG_REPO=$stage-src
  fi
  lg_stage_and_install "$stage"
  LG_REPO=$saved
}

# lgb_build_driver OUT: compiles the load driver (with the client library's sources) to OUT.
lgb_build_driver() {
  local out=$1
  mkdir -p "$(dirname "$out")"
  make -s -j"$(nproc)" -C "$LGB_DIR/driver" OUT="$out" >"$out.build.log" 2>&1 || { cat "$out.build.log" >&2; lg_die "building the load driver failed"; }
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
  local line rc watch=()
  # On the stock cluster (lgb_cost) the driver runs under cpuwatch.py: where the CPU went.
  [ -n "${LGB_POSTMASTER:-}" ] && { rm -f "$LGB_WORK/cpu.json"; watch=("$LGB_PYTHON" "$LGB_DIR/cpuwatch.py" "$LGB_POSTMASTER" "$LGB_WORK/cpu.json" --); }
  line=$("${watch[@]}" "$LGB_DRIVER" --conninfo "$LGB_CONNINFO" --label "$label" --scenario "$scenario" --contender "$contender" \
           --clients "$clients" --keys "$keys" --duration "$LGB_DURATION" --warmup "$LGB_WARMUP" "$@" 2>"$LGB_WORK/driver.err")
  rc=$?
  [ -n "${LGB_POSTMASTER:-}" ] && [ $rc -eq 0 ] && [ -n "$line" ] && line=$(lgb_merge_json "$line" cpu "$LGB_WORK/cpu.json")
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
  # The monitoring point runs on the stock cluster, with the preload-only points (lgb_cost).
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

# Monitoring overhead (issues 4 and 15): the sampler's cost, on the stock cluster (lgb_cost).
# 10 hot rows, 32 clients, lockguard row scope,
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
      lgb_worker_stats >"$LGB_WORK/worker-before.json"
      lgb_point "$results" monitoring hot lg_row 32 10 --tag "config=$cfg" --tag "round=$round" --tag "interval_ms=$ms"
      lgb_worker_stats >"$LGB_WORK/worker-after.json"
      after=$(lg_psql -d postgres -Atc "SELECT count(DISTINCT sampled_at) || ' ' || count(*) FROM lockguard.wait_history")
      lgb_annotate_last "$results" "$before" "$after"
      lgb_annotate_worker "$results" "$LGB_WORK/worker-before.json" "$LGB_WORK/worker-after.json"
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

# lgb_merge_json JSON KEY FILE: JSON with FILE's object added under KEY (JSON unchanged if FILE
# is missing or not JSON).
lgb_merge_json() {
  "$LGB_PYTHON" - "$@" <<'PY'
import json, sys
line, key, path = sys.argv[1:4]
r = json.loads(line)
try:
    r[key] = json.load(open(path))
except (OSError, ValueError):
    r[key] = None
print(json.dumps(r))
PY
}

# lgb_worker_stats: lockguard.worker_stats() of the worker's database as JSON ({} if unknown).
lgb_worker_stats() {
  lg_psql -d postgres -Atc "SELECT row_to_json(s) FROM lockguard.worker_stats() s" 2>/dev/null || echo '{}'
}

# lgb_annotate_worker RESULTS BEFORE.json AFTER.json: the worker's samples and their CPU time
# during the last point (lockguard.worker_stats() differences) into the last line of RESULTS.
lgb_annotate_worker() {
  "$LGB_PYTHON" - "$LGB_DIR" "$@" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
from report import worker_delta
path, before, after = sys.argv[2:5]
lines = open(path).read().splitlines()
r = json.loads(lines[-1])
try:
    r["worker"] = worker_delta(json.load(open(before)), json.load(open(after)))
except (OSError, ValueError):
    r["worker"] = None
lines[-1] = json.dumps(r)
open(path, "w").write("\n".join(lines) + "\n")
print("  worker during the point: %s; cpu %s" % (r["worker"], r.get("cpu")), file=sys.stderr)
PY
}

# ------------------------------------------------------------------------------------------------
# What lockguard costs a server that does not call it, and what reading its views costs (issue 15).
# A cluster with the server's default settings (JIT on, fsync on, default jit_above_cost and
# shared_buffers): lg_cluster_start's lines, with fsync and max_prepared_transactions set back
# to their defaults. Only shared_preload_libraries changes between the preload-only contenders.
# ------------------------------------------------------------------------------------------------
LGB_COST_ROWS=10000
LGB_PGBENCH_SCALE=1   # one branch: TPC-B-like at 8 clients waits on row locks all the time
LGB_VIEWS=(locks wait_graph blocking_tree wait_stats tenants deadlocks metrics audit)

# lgb_stock_cluster DIR PORT: the stock cluster with databases bench (lockguard, accounts,
# pgbench's tables) and postgres (lockguard: the worker's database). Sets LGB_CONNINFO.
lgb_stock_cluster() {
  local dir=$1 port=$2 rows=${3:-$LGB_COST_ROWS}
  lg_cluster_stop "$dir/data"
  rm -rf "$dir"; mkdir -p "$dir"; chown postgres:postgres "$dir"
  # preload.conf, included last, decides shared_preload_libraries (lgb_preload_restart); ALTER
  # SYSTEM cannot empty a list setting (it would write '""', a library without a name).
  lg_cluster_start "$dir/data" "$port" "# the cost points: back to the defaults (issue 15)" "fsync = on" \
    "max_prepared_transactions = 0" "include_if_exists = 'preload.conf'"
  lg_psql -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE bench" -c "CREATE EXTENSION lockguard" >/dev/null \
    || lg_die "setting up the stock cluster failed"
  lg_psql -d bench -v ON_ERROR_STOP=1 -v rows="$rows" -f "$LGB_DIR/setup.sql" >"$dir/setup.log" 2>&1 \
    || { cat "$dir/setup.log" >&2; lg_die "loading the benchmark data failed"; }
  lg_as_postgres "$LG_BINDIR/pgbench" -i -q -s "$LGB_PGBENCH_SCALE" -h "$LG_SOCK" -p "$LG_PORT" -U postgres bench \
    >>"$dir/setup.log" 2>&1 || { cat "$dir/setup.log" >&2; lg_die "pgbench -i failed"; }
  LGB_CONNINFO="host=$LG_SOCK port=$LG_PORT dbname=bench user=postgres application_name=lgbench"
  LGB_STOCK_DATA=$dir/data
  LGB_POSTMASTER=$(head -1 "$dir/data/postmaster.pid")
}

# lgb_preload_restart on|off: restarts the stock cluster with or without lockguard preloaded.
lgb_preload_restart() {
  local libs; libs=$([ "$1" = on ] && echo lockguard || echo '')
  echo "shared_preload_libraries = '$libs'" | lg_as_postgres tee "$LGB_STOCK_DATA/preload.conf" >/dev/null
  lg_as_postgres "$LG_BINDIR/pg_ctl" -D "$LGB_STOCK_DATA" -l "$LGB_STOCK_DATA/server.log" -w -t 60 restart -m fast >/dev/null \
    || { tail -20 "$LGB_STOCK_DATA/server.log" >&2; lg_die "restarting the stock cluster failed"; }
  LGB_POSTMASTER=$(head -1 "$LGB_STOCK_DATA/postmaster.pid")
  [ "$(lg_psql -d postgres -Atc "SHOW shared_preload_libraries")" = "$libs" ] || lg_die "shared_preload_libraries is not '$libs'"
}

# lgb_pgbench RESULTS WORKLOAD CONFIG ROUND: one pgbench run (built-in script WORKLOAD, 8 clients,
# LGB_DURATION s after an unmeasured run of LGB_WARMUP s rounded, none in quick mode) under
# cpuwatch.py; appends a JSON line.
lgb_pgbench() {
  local results=$1 workload=$2 cfg=$3 round=$4 label=${5:-preload} out rc tps
  local cmd=("$LG_BINDIR/pgbench" -n -c 8 -j 2 -b "$workload" -h "$LG_SOCK" -p "$LG_PORT" -U postgres bench)
  local warm; warm=$(awk -v w="$LGB_WARMUP" 'BEGIN { print int(w + 0.5) }')  # pgbench -T takes whole seconds
  [ "$warm" -gt 0 ] && "${cmd[@]}" -T "$warm" >/dev/null 2>&1
  rm -f "$LGB_WORK/cpu.json"
  out=$("$LGB_PYTHON" "$LGB_DIR/cpuwatch.py" "$LGB_POSTMASTER" "$LGB_WORK/cpu.json" -- "${cmd[@]}" -T "$LGB_DURATION" 2>&1)
  rc=$?
  tps=$(echo "$out" | grep -oE 'tps = [0-9.]+ \(without initial' | grep -oE '[0-9.]+' | head -1)
  "$LGB_PYTHON" - "$results" "$workload" "$cfg" "$round" "${tps:-}" "$rc" "$LGB_WORK/cpu.json" "$(echo "$out" | tail -3 | tr '\n' ' ')" "$label" <<'PY'
import json, sys
results, workload, cfg, rnd, tps, rc, cpu_path, tail, label = sys.argv[1:10]
r = {"scenario": label, "kind": "pgbench", "contender": "pgbench", "workload": workload, "clients": 8,
     "tags": {"config": cfg, "round": rnd}}
if rc != "0" or not tps:
    r["driver_failed"] = f"pgbench rc={rc}: {tail[:200]}"
else:
    r["tps"] = float(tps)
try:
    r["cpu"] = json.load(open(cpu_path))
except (OSError, ValueError):
    r["cpu"] = None
open(results, "a").write(json.dumps(r) + "\n")
print(f"  preload      {workload:<12} {cfg:<11} round {rnd}  tps {r.get('tps', 'FAILED')}  cpu {r['cpu']}", file=sys.stderr)
PY
}

# lgb_view_reads RESULTS WAITERS: each person-facing view read REPS times through psql (client
# wall time, rows fetched and thrown away) and once under EXPLAIN ANALYZE (was JIT used?).
lgb_view_reads() {
  local results=$1 waiters=$2 v reps=5 script
  for v in "${LGB_VIEWS[@]}" "wait_graph_dot()"; do
    script=$LGB_WORK/view-read.sql
    {
      echo '\timing on'
      for _ in $(seq "$reps"); do
        if [ "$v" = "wait_graph_dot()" ]; then echo "SELECT lockguard.wait_graph_dot() \\g /dev/null"
        else echo "SELECT * FROM lockguard.$v \\g /dev/null"; fi
      done
    } >"$script"
    local times jit=null
    times=$(lg_psql -d bench -f "$script" 2>&1 | grep -oE '^Time: [0-9.]+' | grep -oE '[0-9.]+' | tr '\n' ' ')
    if [ "$v" != "wait_graph_dot()" ]; then
      jit=$(lg_psql -d bench -Atc "EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM lockguard.$v" | "$LGB_PYTHON" -c \
            'import json,sys; print("true" if "JIT" in json.load(sys.stdin)[0] else "false")' 2>/dev/null || echo null)
    fi
    "$LGB_PYTHON" - "$results" "$v" "$waiters" "$jit" $times <<'PY'
import json, os, statistics, sys
results, view, waiters, jit = sys.argv[1:5]
ms = [float(x) for x in sys.argv[5:]]
r = {"scenario": "view_read", "kind": "view_read", "contender": "psql", "view": view, "waiters": int(waiters),
     "waiting_now": int(os.environ.get("LGB_WAITING", "0")),
     "ms": ms, "median_ms": statistics.median(ms) if ms else None, "jit": json.loads(jit)}
if not ms:
    r["driver_failed"] = "no timing read"
open(results, "a").write(json.dumps(r) + "\n")
print(f"  view read    {view:<16} {waiters:>2} waiters  median {r['median_ms']} ms  jit {r['jit']}", file=sys.stderr)
PY
  done
}

# lgb_with_waiters N CMD...: runs CMD while N sessions wait for locks held by one holder: half
# lockguard_acquire_row waiters on row 1 (queued in lockguard's key space), half plain UPDATEs
# of row 2 (waiting on the holder's transaction). Then ends the holder; the waiters finish.
lgb_with_waiters() {
  local n=$1; shift
  local psql=("$LG_BINDIR/psql" -X -q -h "$LG_SOCK" -p "$LG_PORT" -U postgres -d bench)
  PGAPPNAME=lgb_holder "${psql[@]}" -c "BEGIN; SELECT lockguard_acquire_row('accounts', 1);
    UPDATE accounts SET balance = balance + 1 WHERE id = 2; SELECT pg_sleep(600)" >/dev/null 2>&1 &
  local holder=$! i
  for i in $(seq 1 100); do
    [ "$(lg_psql -d bench -Atc "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lgb_holder' AND wait_event = 'PgSleep'")" = 1 ] && break
    sleep 0.1
  done
  for i in $(seq 1 "$n"); do
    if [ $((i % 2)) = 0 ]; then
      PGAPPNAME=lgb_waiter "${psql[@]}" -c "BEGIN; SELECT lockguard_acquire_row('accounts', 1, timeout_ms => 600000)" >/dev/null 2>&1 &
    else
      PGAPPNAME=lgb_waiter "${psql[@]}" -c "SET lock_timeout = '10min'; UPDATE accounts SET balance = balance + 1 WHERE id = 2" >/dev/null 2>&1 &
    fi
  done
  local waiting=0
  for i in $(seq 1 150); do
    waiting=$(lg_psql -d bench -Atc "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lgb_waiter' AND wait_event_type = 'Lock'")
    [ "$waiting" -ge "$n" ] && break
    sleep 0.2
  done
  lg_log "$waiting sessions wait for locks"
  LGB_WAITING=$waiting "$@"
  lg_psql -d bench -Atc "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lgb_holder'" >/dev/null
  wait
}

# lgb_cost RESULTS ROUNDS: the preload-only points (pgbench TPC-B-like and select-only, 8
# clients, lockguard preloaded or not, everything else equal, alternated in ROUNDS rounds), the
# monitoring point (lgb_monitoring) and the views' read times with 0 and 64 waiters, on the
# stock cluster in LGB_WORK/stock (port LGB_COST_PORT).
lgb_cost() {
  local results=$1 rounds=$2 round cfg
  lgb_stock_cluster "$LGB_WORK/stock" "$LGB_COST_PORT"
  LGB_LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
  lg_log "scenario preload: pgbench tpcb-like and select-only, 8 clients, scale $LGB_PGBENCH_SCALE, lockguard preloaded or not, $rounds round(s)"
  for round in $(seq 1 "$rounds"); do
    for cfg in not_loaded preloaded; do
      lgb_preload_restart "$([ "$cfg" = preloaded ] && echo on || echo off)"
      lgb_pgbench "$results" tpcb-like "$cfg" "$round"
      lgb_pgbench "$results" select-only "$cfg" "$round"
    done
  done
  # shared_preload_libraries = 'lockguard' from here on (the last round ended with it)
  lgb_monitoring "$results" "$rounds"
  lg_log "scenario view_read: each view read 5 times, nothing waiting, then with 64 waiters"
  lgb_view_reads "$results" 0
  lgb_with_waiters 64 lgb_view_reads "$results" 64
  local postmaster=$LGB_POSTMASTER
  LGB_POSTMASTER=
  lg_cluster_stop "$LGB_WORK/stock/data"
  CRASHES_COST=$(lg_crash_lines "$LGB_WORK/stock/data/server.log")
  [ -n "$CRASHES_COST" ] && lg_log "the stock cluster's log shows a crash: $CRASHES_COST"
  : "$postmaster"
}

# ------------------------------------------------------------------------------------------------
# The targets run (issue 21): run.sh's full mode, and the quick layer with one round of ~1 s.
# Every point of the issue's targets, on the stock cluster (lgb_stock_cluster: the server's
# defaults, JIT, fsync and synchronous_commit on, lockguard preloaded with its defaults). The
# variants of a point run interleaved in one run of the driver (lgb_interleaved): a round is one
# slice of each variant, a few seconds long, in the order report.py's round_order gives (every
# variant in every place, and after every other variant equally often, so that what a slice
# leaves behind, a queue, dead rows, does not always land on the same successor). Interleaving
# is what makes a ratio of two variants measurable here: the disk's flush time drifts by 10-20%
# within a minute, and TPS on a hot row follows it; runs of each contender 10 s long one after
# the other measured that drift, not the contenders (rounds 0.6 to 1.1 of the same ratio).
# After MIN_ROUNDS rounds, report.py's `pending` says which of the point's verdicts are
# unresolved; the point gets more rounds until none is or MAX_ROUNDS rounds ran (past twice
# MIN_ROUNDS, until none is projected to resolve by then: lgb_targets).
# One line per point: LABEL|DRIVER SCENARIO|CLIENTS|KEYS|DRIVER ARGS|VARIANTS. KEYS "ROWS" is
# the table's row count. The monitoring point's variants are sampling intervals (lockguard row,
# switched by ALTER SYSTEM + reload), the preload point's are restarts with and without lockguard
# in shared_preload_libraries (pgbench TPC-B-like, no lockguard call: lgb_preload_round); preload
# runs last, since its restarts leave the cluster in the state of its last contender.
# --tail for_update=1.6 (lgbench): on hot rows for_update's waits reach 1.5 s (the FIFOs' stay
# under 0.35 s), so its slices' guard and the settle before and after them are 1.6 s.
# ------------------------------------------------------------------------------------------------
LGB_TARGET_POINTS=(
  "hot1|hot|64|1|--tail for_update=1.6|for_update advisory advisory_for_update lg_row lg_named"
  "hot10|hot|64|10|--tail for_update=1.6|for_update advisory advisory_for_update lg_row lg_named"
  "nominal|nominal|16|10000|--theta 0.99|for_update advisory_for_update lg_row"
  "uncontended|uncontended|8|ROWS||for_update advisory_for_update lg_row lg_run for_update_work"
  "priority1|priority|64|1|--high-share 0.1|lg_row lg_row_prio"
  "priority5|priority|32|5|--high-share 0.1|lg_row lg_row_prio"
  "monitoring|hot|32|10||off 1000 100"
  "preload|pgbench|8|0||not_loaded preloaded"
)

# lgb_damon: the kernel's DAMON monitors (kdamond threads) as one line for the run's meta: each
# running one's operations set, its sampling and aggregation intervals and its schemes' actions
# (what it does to the regions it finds cold: "pageout" reclaims them), or "none". A DAMON that
# samples physical memory clears the accessed bits of pages every sample interval, which the
# benchmark's notes tie to stalls of the hot points (docs/bench/notes.md).
lgb_damon() {
  local d s out=() root=/sys/kernel/mm/damon/admin/kdamonds
  for d in "$root"/[0-9]*; do
    [ -d "$d" ] || continue
    [ "$(cat "$d/state" 2>/dev/null)" = on ] || continue
    local c=$d/contexts/0 i=$d/contexts/0/monitoring_attrs/intervals schemes=
    for s in "$c"/schemes/[0-9]*; do
      [ -d "$s" ] || continue
      schemes+="${schemes:+ and }$(cat "$s/action" 2>/dev/null) of regions idle for $(cat "$s/access_pattern/age/min" 2>/dev/null) aggregations or more"
    done
    out+=("kdamond ${d##*/}: $(cat "$c/operations" 2>/dev/null), sample $(( $(cat "$i/sample_us" 2>/dev/null || echo 0) / 1000 )) ms, aggregation $(( $(cat "$i/aggr_us" 2>/dev/null || echo 0) / 1000 )) ms, ${schemes:+schemes: }${schemes:-no schemes}")
  done
  [ ${#out[@]} -gt 0 ] && (IFS=';'; echo "${out[*]}") || echo none
}

# lgb_disk_probe before|after: LGB_DISK_PROBE_S seconds of 8 kB writes, each flushed with
# fdatasync as a commit flushes its WAL, in the stage's directory (the cluster's file system),
# into $LGB_WORK/disk-WHEN.json (diskprobe.py). lgb_interleaved runs it with the cluster idle
# before and after each run of the driver; report.py prints it beside the others' load.
lgb_disk_probe() {
  rm -f "$LGB_WORK/disk-$1.json"
  "$LGB_PYTHON" "$LGB_DIR/diskprobe.py" "$LGB_WORK" "${LGB_DISK_PROBE_S:-2}" "$LGB_WORK/disk-$1.json" \
    || lg_log "the disk probe ($1) failed"
}

# lgb_interleaved RESULTS LABEL KIND CLIENTS KEYS ARGS FIRST LAST VARIANTS...: rounds FIRST..LAST of
# one point in one run of the driver: the variants in slices of LGB_SETTLE s unmeasured, LGB_SLICE
# s measured and LGB_GUARD s unmeasured, each round's order report.py's round_order. The variants
# are contenders, or for the monitoring point sampling intervals (lockguard row; the driver's
# control connection switches lockguard.sample_interval_ms by ALTER SYSTEM + reload as each slice
# starts and reads lockguard.worker_stats() as its measured part starts and ends). One line per
# variant and round into RESULTS, each with the run's CPU (cpuwatch: the others' load) and, for the
# monitoring point, the worker's samples and CPU during its slice's measured part.
lgb_interleaved() {
  local results=$1 label=$2 kind=$3 clients=$4 keys=$5 args=$6 first=$7 last=$8; shift 8
  local variants=("$@") n=$# r order rc extra=() watch=() vs=()
  read -ra extra <<<"$args"
  order=$(for r in $(seq "$first" "$last"); do "$LGB_PYTHON" "$LGB_DIR/report.py" round-order "$n" "$r"; done | paste -sd,)
  if [ "$label" = monitoring ]; then
    for r in "${variants[@]}"; do vs+=("$r=$([ "$r" = off ] && echo 0 || echo "$r")"); done
    extra+=(--contender lg_row --configs "$(IFS=,; echo "${vs[*]}")"
            --config-sql "ALTER SYSTEM SET lockguard.sample_interval_ms = {}"
            --probe-sql "SELECT row_to_json(s) FROM lockguard.worker_stats() s")
  else
    extra+=(--contender "$(IFS=,; echo "${variants[*]}")")
  fi
  [ -n "${LGB_TRACE_DIR:-}" ] && extra+=(--trace "$LGB_TRACE_DIR/$label-r$first.csv")
  [ "${LGB_VACUUM:-1}" = 1 ] && lg_psql -d bench -c "VACUUM accounts" -c "CHECKPOINT" >/dev/null 2>&1
  [ -n "${LGB_POSTMASTER:-}" ] && { rm -f "$LGB_WORK/cpu.json"; watch=("$LGB_PYTHON" "$LGB_DIR/cpuwatch.py" "$LGB_POSTMASTER" "$LGB_WORK/cpu.json" --); }
  lgb_disk_probe before
  "${watch[@]}" "$LGB_DRIVER" --conninfo "$LGB_CONNINFO" --label "$label" --scenario "$kind" --clients "$clients" \
          --keys "$keys" --duration "${LGB_SLICE:-$LGB_DURATION}" --settle "${LGB_SETTLE:-0}" \
          --guard "${LGB_GUARD:-0}" --warmup "$LGB_WARMUP" \
          --rounds $((last - first + 1)) --first-round "$first" --order "$order" "${extra[@]}" \
          >"$LGB_WORK/driver.out" 2>"$LGB_WORK/driver.err"
  rc=$?
  lgb_disk_probe after
  [ "$label" = monitoring ] && lg_psql -d bench -c "ALTER SYSTEM RESET lockguard.sample_interval_ms" -c "SELECT pg_reload_conf()" >/dev/null
  "$LGB_PYTHON" - "$LGB_DIR" "$results" "$rc" "$LGB_WORK/cpu.json" "$LGB_WORK/driver.out" "$LGB_WORK/driver.err" "$label" \
    "$kind" "$clients" "$keys" "$first" "$last" "$LGB_WORK/disk-before.json" "$LGB_WORK/disk-after.json" "${variants[@]}" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
from report import sampled_delta, worker_delta
results, rc, cpu_path, out_path, err_path, label, kind, clients, keys, first, last, disk_before, disk_after = sys.argv[2:15]
variants = sys.argv[15:]


def read_json(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None


cpu = read_json(cpu_path)
if cpu is not None:
    cpu["scope"] = "the whole interleaved run"
disk = {"before": read_json(disk_before), "after": read_json(disk_after)}
lines = [json.loads(x) for x in open(out_path).read().splitlines() if x.startswith("{")]
if rc != "0" or not lines:
    err = " ".join(open(err_path, errors="replace").read().split())[:300]
    lines = [{"contender": v, "scenario": label, "kind": kind, "clients": int(clients), "keys": int(keys),
              "tags": {"round": str(rnd)} | ({"config": v} if label == "monitoring" else {}),
              "driver_failed": f"rc={rc} {err}"} for rnd in range(int(first), int(last) + 1) for v in variants]
    print(f"  {label}: driver failed: {err}", file=sys.stderr)
with open(results, "a") as out:
    for r in lines:
        if "driver_failed" not in r:
            r["cpu"] = cpu
            r["disk"] = disk
            b, a = r.pop("probe_before", None), r.pop("probe_after", None)
            if label == "monitoring":
                r["worker"] = worker_delta(b, a)
                r["sampled"] = sampled_delta(b, a)
        out.write(json.dumps(r) + "\n")
for r in lines:
    if "driver_failed" in r:
        continue
    v = (r.get("tags") or {}).get("config") or r["contender"]
    extra = f"  worker {r['worker']}" if label == "monitoring" else ""
    print(f"  {label:<12} round {r['tags']['round']:>2} {v:<20} tps {r['tps']:>8.1f}  txn p95 {r['txn_ms']['p95']} ms{extra}",
          file=sys.stderr)
PY
}

# lgb_preload_round RESULTS ROUND: the preload point's round: the stock cluster restarted without
# and with lockguard in shared_preload_libraries (in report.py's round_order), pgbench TPC-B-like
# (no lockguard call) after each restart for LGB_PRELOAD_DURATION s. A restart cannot happen inside
# a run, so these rounds are separate runs; they are shorter than the interleaved points' runs,
# and more of them, so that two contenders run seconds apart.
LGB_PRELOAD_CONFIGS=(not_loaded preloaded)
lgb_preload_round() {
  local results=$1 round=$2 i c
  for i in $("$LGB_PYTHON" "$LGB_DIR/report.py" round-order 2 "$round"); do
    c=${LGB_PRELOAD_CONFIGS[$i]}
    lgb_preload_restart "$([ "$c" = preloaded ] && echo on || echo off)"
    [ "${LGB_VACUUM:-1}" = 1 ] && lg_psql -d bench -c "CHECKPOINT" >/dev/null 2>&1
    LGB_DURATION=${LGB_PRELOAD_DURATION:-$LGB_DURATION} lgb_pgbench "$results" tpcb-like "$c" "$round" preload
  done
}

# lgb_more_rounds RESULTS LABEL ROUND MIN MAX: whether point LABEL, ROUND rounds in, goes on
# (status 0) or stops (1), logging which. It goes on while report.py's `pending` names an
# unresolved verdict, up to MAX rounds; from 2 x MIN rounds on (a split long enough to project
# from), only while one is projected to resolve within MAX at its split, so that a raised cap goes
# to the verdicts it can settle.
lgb_more_rounds() {
  local results=$1 label=$2 round=$3 min=$4 max=$5 horizon= pending
  [ "$round" -ge $((2 * min)) ] && horizon=$max
  if pending=$("$LGB_PYTHON" "$LGB_DIR/report.py" pending "$results" "$label" $horizon); then
    [ -n "$pending" ] && lg_log "point $label: stopped at $round rounds: at their splits, its unresolved verdicts would not resolve within $max rounds: $pending"
    return 1
  fi
  if [ "$round" -ge "$max" ]; then
    lg_log "point $label: still unresolved at the cap ($round rounds): $pending"
    return 1
  fi
  lg_log "point $label: unresolved after $round rounds ($pending): more rounds"
}

# lgb_targets RESULTS ROWS MIN_ROUNDS MAX_ROUNDS: every target point on the stock cluster (which
# the caller started with lgb_stock_cluster DIR PORT ROWS), then the views' read times once; with
# LGB_POINTS (labels separated by spaces), those points only, and no view reads. An
# interleaved point runs MIN_ROUNDS rounds, then half as many again while lgb_more_rounds says so
# (with the defaults, 24 and 48, its projection changes nothing: at 48 rounds the cap stops the
# point). The preload point runs LGB_PRELOAD_MIN_ROUNDS rounds, then one at a time by the same
# rule, up to LGB_PRELOAD_MAX_ROUNDS (default 1 and 1: the quick mode).
lgb_targets() {
  local results=$1 rows=$2 min=$3 max=$4 spec label kind clients keys args conts round step last
  local cs=() pmin=${LGB_PRELOAD_MIN_ROUNDS:-1} pmax=${LGB_PRELOAD_MAX_ROUNDS:-1}
  step=$(( min / 2 > 0 ? min / 2 : 1 ))
  for spec in "${LGB_TARGET_POINTS[@]}"; do
    IFS='|' read -r label kind clients keys args conts <<<"$spec"
    [ -n "${LGB_POINTS:-}" ] && [[ " $LGB_POINTS " != *" $label "* ]] && continue
    [ "$keys" = ROWS ] && keys=$rows
    read -ra cs <<<"$conts"
    round=0
    if [ "$label" = preload ]; then
      lg_log "point preload: pgbench TPC-B-like, 8 clients, after a restart without and with lockguard preloaded; $pmin to $pmax rounds"
      while :; do
        round=$((round + 1))
        lgb_preload_round "$results" "$round"
        [ "$round" -lt "$pmin" ] && continue
        lgb_more_rounds "$results" preload "$round" "$pmin" "$pmax" || break
      done
      continue
    fi
    lg_log "point $label: $clients clients, $keys rows${args:+, $args}; variants ${cs[*]}; slices of ${LGB_SETTLE:-0} + ${LGB_SLICE:-$LGB_DURATION} + ${LGB_GUARD:-0} s; $min to $max rounds"
    while :; do
      last=$(( round == 0 ? min : round + step )); [ "$last" -gt "$max" ] && last=$max
      lgb_interleaved "$results" "$label" "$kind" "$clients" "$keys" "$args" $((round + 1)) "$last" "${cs[@]}"
      round=$last
      lgb_more_rounds "$results" "$label" "$round" "$min" "$max" || break
    done
  done
  [ -n "${LGB_POINTS:-}" ] && return 0  # some points only: no view reads either
  # The views' read times (issue 15), once, with lockguard preloaded again.
  lgb_preload_restart on
  lg_log "view reads: each view read 5 times, nothing waiting, then with 64 waiters"
  lgb_view_reads "$results" 0
  lgb_with_waiters 64 lgb_view_reads "$results" 64
}

# lgb_point_tails: the points' --tail arguments, "label VARIANT=SEC" separated by "; " (the run's
# meta file, for the report's description of the slices).
lgb_point_tails() {
  local spec label kind clients keys args conts out=() a i
  for spec in "${LGB_TARGET_POINTS[@]}"; do
    IFS='|' read -r label kind clients keys args conts <<<"$spec"
    read -ra a <<<"$args"
    for ((i = 0; i + 1 < ${#a[@]}; i++)); do [ "${a[$i]}" = --tail ] && out+=("$label ${a[$((i + 1))]}"); done
  done
  (IFS=';'; echo "${out[*]}" | sed 's/;/; /g')
}

# lgb_settings_changed: the stock cluster's settings that differ from the server's built-in
# defaults (pg_settings: set by a file or the command line, to another value than boot_val; what
# initdb writes into postgresql.conf included), one "name = value (source)" per line.
lgb_settings_changed() {
  lg_psql -d postgres -Atc "SELECT name || ' = ' || quote_literal(current_setting(name)) || ' (' || source || ')'
    FROM pg_settings WHERE source NOT IN ('default', 'override', 'client', 'session')
    AND setting IS DISTINCT FROM boot_val ORDER BY name"
}

# lgb_quick_scenarios RESULTS: the quick layer's share of the scenarios (tuned cluster, started by
# lgb_cluster): on 1000 hot rows the contenders no target point runs, every contender on the
# deadlock-prone transfers, and the noisy neighbour; the contenders and paths the targets points
# do not run. report.py's QUICK_SCENARIOS lists the same.
LGB_QUICK_HOT_CONTENDERS=(for_update_retry lg_multi client_rwl)
lgb_quick_scenarios() {
  local results=$1 c
  : >"$results"
  LGB_POSTMASTER=   # no cpuwatch here: the figures are not reported
  lg_log "scenario hot1000: 1000 hot rows, 8 clients, the contenders no target point runs"
  for c in "${LGB_QUICK_HOT_CONTENDERS[@]}"; do lgb_point "$results" hot1000 hot "$c" 8 1000; done
  lg_log "scenario transfer10: two random rows of 10 in random order, 16 clients"
  for c in "${LGB_CONTENDERS[@]}"; do lgb_point "$results" transfer10 transfer "$c" 16 10; done
  lgb_noisy "$results"
}

# lgb_quick PORT: the quick mode (run.sh --quick and the bench test layer): every target point in
# one round of LGB_DURATION s on the stock cluster, the views' read times, the scenarios subset on
# the tuned cluster, then report.py's verdicts and check-quick ("N passed, N failed"; its status).
lgb_quick() {
  local port=$1 rows=${LGB_QUICK_ROWS:-20000} rc
  local results=$LGB_WORK/results-quick.jsonl scen=$LGB_WORK/results-quick-scenarios.jsonl
  : >"$results"
  # Every interleaved point also writes its per-transaction trace (lgbench --trace), which
  # check-quick holds against the result lines.
  LGB_TRACE_DIR=$LGB_WORK/traces
  rm -rf "$LGB_TRACE_DIR"; mkdir -p "$LGB_TRACE_DIR"
  lgb_stock_cluster "$LGB_WORK/stock" "$port" "$rows"
  lg_log "quick targets run ($LGB_DURATION s per point, 1 round) -> $results"
  lgb_targets "$results" "$rows" 1 1
  # The overrun counts must count: two variants on one hot row with neither settle nor guard.
  "$LGB_DRIVER" --conninfo "$LGB_CONNINFO" --label overrun_probe --contender for_update,advisory --scenario hot \
    --clients 8 --keys 1 --duration 0.3 --settle 0 --guard 0 --warmup 0 --rounds 2 --order "0 1,1 0" \
    >"$LGB_WORK/overrun-probe.jsonl" 2>"$LGB_WORK/driver.err" || lg_log "overrun probe: the driver failed"
  LGB_POSTMASTER=
  lg_cluster_stop "$LGB_WORK/stock/data"
  lgb_cluster "$LGB_WORK/cluster" "$port" "$rows"
  lg_log "quick scenarios ($LGB_DURATION s per point) -> $scen"
  lgb_quick_scenarios "$scen"
  lg_cluster_stop "$LGB_WORK/cluster/data"
  "$LGB_PYTHON" "$LGB_DIR/report.py" verdicts "$results" 1 >&2
  "$LGB_PYTHON" "$LGB_DIR/report.py" plot "$scen" "$LGB_WORK/png" >&2 || lg_log "drawing failed"
  "$LGB_PYTHON" "$LGB_DIR/report.py" check-quick --traces "$LGB_TRACE_DIR" --overrun-probe "$LGB_WORK/overrun-probe.jsonl" \
    "$results" "$scen" "$LGB_WORK/png" \
    "$LGB_WORK/stock/data/server.log" "$LGB_WORK/cluster/data/server.log"
  rc=$?
  return $rc
}
