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
  # Noisy neighbour (tenants issue) and monitoring overhead (monitoring issue) are not measured
  # yet: add their scenarios here when those features land (see docs/benchmarks.md).
}

# lgb_private_pg DIR: a private copy of the PostgreSQL 15 installation (binaries, libraries,
# share; headers by symlink) in DIR, and LG_BINDIR pointed at it. PostgreSQL finds its share and
# library directories relative to its binaries, so lockguard installs into DIR and the cluster
# loads it from there: an install into the system's directories by anyone else (a shared build
# machine) can neither break CREATE EXTENSION nor swap the library under a running benchmark.
lgb_private_pg() {
  local dir=$1
  rm -rf "$dir"
  mkdir -p "$dir/usr/lib/postgresql" "$dir/usr/share/postgresql" "$dir/usr/include"
  cp -a "/usr/lib/postgresql/$LG_PG_MAJOR" "$dir/usr/lib/postgresql/" || lg_die "copying PostgreSQL failed"
  cp -a "/usr/share/postgresql/$LG_PG_MAJOR" "$dir/usr/share/postgresql/" || lg_die "copying PostgreSQL failed"
  ln -s /usr/include/postgresql "$dir/usr/include/postgresql"
  rm -f "$dir/usr/lib/postgresql/$LG_PG_MAJOR/lib/lockguard.so" "$dir/usr/share/postgresql/$LG_PG_MAJOR/extension/lockguard"*
  LG_BINDIR=$dir/usr/lib/postgresql/$LG_PG_MAJOR/bin
  LG_PGXS_DIR=$dir/usr/lib/postgresql/$LG_PG_MAJOR/lib/pgxs
}
