#!/usr/bin/env bash
# Instructions per transaction of one backend, counted by callgrind (docs/bench/notes.md,
# "Profile of lockguard's own path"): what each contender's transaction costs the server's CPU,
# a count that does not move with the machine's load as times do.
#
#   bash test/bench/profile.sh [REF ...]   # each REF (a commit; default HEAD; "worktree": the
#                                          #   checkout as is) built and profiled in turn
#
# A single-user backend (postgres --single: no client, no network, no worker) on a data directory
# made by lg_cluster_start (scripts/lib.sh: the server's defaults plus the test clusters' lines,
# lockguard preloaded and fsync off among them; fsync's own work is the kernel's, which callgrind
# does not count) runs BEGIN, the contender's lock, UPDATE ... SET balance = balance + 1, COMMIT
# over random keys of a 10,000-row table, every statement prepared as the load driver prepares it
# (lockguard_run: the lock and its work function bench_work in one call; for_update_work: FOR
# UPDATE, then the same work function in its own statement). Each contender runs twice from the
# same copy of the data directory, with WARM and WARM + COUNT transactions, and the figure is the
# difference divided by COUNT: the backend's start, the first calls' catalog reads and the custom
# plans of the first executions cancel out. "lockguard's call" is the inclusive count of the SQL
# function lockguard runs (callgrind_annotate), counted the same way.
#
# Environment: LG_PROFILE_STAGE (default /tmp/lockguard-profile), LG_PROFILE_COUNT (default
# 2000), LG_PROFILE_WARM (default 200), LG_PROFILE_CONTENDERS (default all: advisory lg_named
# for_update lg_row lg_run for_update_work), LG_PG_PREFIX (a PostgreSQL built into that prefix
# instead of Debian's 15). About 2 minutes per REF on 2 cores.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

lg_require_root
lg_ensure_packages "${LG_BASE_PACKAGES[@]}" valgrind python3

STAGE=${LG_PROFILE_STAGE:-/tmp/lockguard-profile}
COUNT=${LG_PROFILE_COUNT:-2000}
WARM=${LG_PROFILE_WARM:-200}
read -r -a CONTENDERS <<<"${LG_PROFILE_CONTENDERS:-advisory lg_named for_update lg_row lg_run for_update_work}"
[ $# -gt 0 ] || set -- HEAD

# lockguard_run's work argument for key $1, built in SQL (the load driver sends it as text).
work_argument() { echo "jsonb_build_object('k', jsonb_build_array(\$1), 'd', jsonb_build_array(1))"; }

# The statements of one contender's transaction on key $1 (one per line: a line is a query in
# single-user mode), after its PREPAREs.
prepares() {
  echo "PREPARE up(int) AS UPDATE accounts SET balance = balance + 1 WHERE id = \$1;"
  case $1 in
    advisory) echo "PREPARE lk(int) AS SELECT pg_advisory_xact_lock(\$1::bigint);" ;;
    lg_named) echo "PREPARE lk(int) AS SELECT lockguard_acquire('acct:' || \$1);" ;;
    for_update) echo "PREPARE lk(int) AS SELECT balance FROM accounts WHERE id = \$1 FOR UPDATE;" ;;
    lg_row) echo "PREPARE lk(int) AS SELECT lockguard_acquire_row('accounts'::regclass, \$1::int);" ;;
    lg_run) echo "PREPARE lk(int) AS SELECT attempts FROM lockguard_run(ARRAY[lockguard.row_lock('accounts'::regclass, \$1::int)]," \
                 "'bench_work(jsonb)'::regprocedure, $(work_argument));" ;;
    for_update_work)
      echo "PREPARE lk(int) AS SELECT balance FROM accounts WHERE id = \$1 FOR UPDATE;"
      echo "PREPARE wk(int) AS SELECT bench_work($(work_argument));" ;;
    *) lg_die "unknown contender $1" ;;
  esac
}

# The SQL function whose inclusive count is lockguard's call.
call_symbol() {
  case $1 in
    lg_named) echo lockguard_acquire_named ;;
    lg_row) echo lockguard_acquire_row ;;
    lg_run) echo lockguard_run ;;
  esac
}

transactions() {  # contender, number of transactions; keys from a fixed seed
  python3 - "$1" "$2" <<'EOF'
import random, sys
contender, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(21)
for _ in range(n):
    key = rng.randint(1, 10000)
    print("BEGIN;")
    print(f"EXECUTE lk({key});")
    if contender == "for_update_work":  # the same work function as lockguard_run's, in its own statement
        print(f"EXECUTE wk({key});")
    elif contender != "lg_run":  # its work function does the update
        print(f"EXECUTE up({key});")
    print("COMMIT;")
EOF
}

# profile_once DATA CONTENDER N OUT: callgrind over a single-user backend on a fresh copy of
# DATA; prints the total instruction count and the call's inclusive count.
profile_once() {
  local template=$1 contender=$2 n=$3 out=$4
  rm -rf "$out.data"; cp -a "$template" "$out.data"
  { prepares "$contender"; transactions "$contender" "$n"; } >"$out.sql"
  chown postgres:postgres "$out.sql"
  lg_as_postgres valgrind --tool=callgrind --callgrind-out-file="$out.cg" \
    "$LG_BINDIR/postgres" --single -D "$out.data" postgres <"$out.sql" >"$out.log" 2>&1
  grep -q ERROR "$out.log" && { grep -m3 ERROR "$out.log" >&2; lg_die "$contender: a statement failed ($out.log)"; }
  local total call=0 symbol
  total=$(sed -n 's/^summary: //p;s/^totals: //p' "$out.cg" | head -1 | awk '{print $1}')
  symbol=$(call_symbol "$contender")
  if [ -n "$symbol" ]; then
    call=$(callgrind_annotate --inclusive=yes --threshold=100 "$out.cg" 2>/dev/null |
           awk -v s=":$symbol " '{gsub(",", "", $1)} index($0, s) && $0 ~ s"\\[" {print $1; exit}')
    [ -n "$call" ] || call=0
  fi
  rm -rf "$out.data"
  echo "$total $call"
}

for ref in "$@"; do
  work=$STAGE/$(echo "$ref" | tr -c 'A-Za-z0-9\n' _)
  rm -rf "$work"; mkdir -p "$work"
  lg_private_pg "$work/pg"
  if [ "$ref" = worktree ]; then
    lg_stage_and_install "$work/build"
  else
    src=$work/src; mkdir -p "$src"
    git -C "$LG_REPO" archive "$ref" | tar -x -C "$src" || lg_die "git archive $ref failed"
    saved=$LG_REPO; LG_REPO=$src; lg_stage_and_install "$work/build"; LG_REPO=$saved
  fi
  # The data: started once as a server for psql, then frozen and checkpointed, and copied for
  # every single-user run.
  template=$work/template
  chown postgres:postgres "$work"
  lg_cluster_start "$template" "${LG_PROFILE_PORT:-54395}"
  lg_psql -v rows=10000 -f "$LG_REPO/test/bench/setup.sql" >/dev/null || lg_die "setup failed"
  lg_psql -c "VACUUM (FREEZE, ANALYZE) accounts" -c CHECKPOINT >/dev/null
  lg_cluster_stop "$template"
  chown -R postgres:postgres "$work"
  printf '%s (%s): instructions per transaction, %d transactions after %d\n' "$ref" \
    "$(git -C "$LG_REPO" rev-parse --short "$ref" 2>/dev/null || echo worktree)" "$COUNT" "$WARM"
  printf '  %-16s %12s %16s\n' contender transaction "lockguard's call"
  for contender in "${CONTENDERS[@]}"; do
    # profile_once runs in a subshell: a failure there shows here as no figures.
    read -r t1 c1 < <(profile_once "$template" "$contender" "$WARM" "$work/$contender-warm")
    read -r t2 c2 < <(profile_once "$template" "$contender" "$((WARM + COUNT))" "$work/$contender-count")
    [ -n "${t1:-}" ] && [ -n "${t2:-}" ] || lg_die "$contender: no instruction count (see $work/$contender-*.log)"
    python3 -c "import sys; t=(int(sys.argv[2])-int(sys.argv[1]))/int(sys.argv[5]); c=(int(sys.argv[4])-int(sys.argv[3]))/int(sys.argv[5]);
print('  %-16s %11.1fk %15s' % (sys.argv[6], t/1000, ('%.1fk' % (c/1000)) if c else '-'))" "$t1" "$t2" "$c1" "$c2" "$COUNT" "$contender"
  done
done
