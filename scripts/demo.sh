#!/usr/bin/env bash
# lockguard demonstration: several sessions contend for one named resource.
#
# Run as root on a fresh Debian 12 machine:   bash scripts/demo.sh   (not root: sudo bash scripts/demo.sh)
# It installs the Debian packages it needs, builds and installs lockguard, starts a private
# PostgreSQL 15 cluster (port 54330, unix socket only, under /tmp/lockguard-demo) as the postgres
# user, narrates two short scenes on stdout, and stops the cluster when it exits.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lg_require_root
lg_ensure_packages "${LG_BASE_PACKAGES[@]}"

STAGE=/tmp/lockguard-demo
DATA=$STAGE/cluster/data
PORT=54330
OUT=$STAGE/sessions

lg_stage_and_install "$STAGE"
lg_as_postgres mkdir -p "$STAGE/cluster"
mkdir -p "$OUT"

bg_pids=()
cleanup() {
  local pid
  for pid in "${bg_pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  lg_cluster_stop "$DATA"
}
trap cleanup EXIT

lg_cluster_start "$DATA" "$PORT"

# ---------------------------------------------------------------------------------------------
# Narration helpers
# ---------------------------------------------------------------------------------------------
if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
heading() { printf '\n%s== %s ==%s\n' "$BOLD" "$*" "$PLAIN"; }
say() { printf '%s\n' "$*"; }
show_sql() { printf '    %s\n' "$@"; }
indent() { sed -e '/^$/d' -e 's/^/    /'; }

# psql in the demo database, as session NAME (its application_name, shown in lockguard.locks).
psql_as() {
  local name=$1; shift
  lg_psql -d "dbname=demo application_name=$name" -v VERBOSITY=default "$@"
}

# session NAME SQL...: runs the statements in one background session; its output goes to
# $OUT/NAME.out and is printed later with session_output.
session() {
  local name=$1; shift
  local args=() sql
  for sql in "$@"; do args+=(-c "$sql"); done
  psql_as "$name" -At -v ON_ERROR_STOP=1 "${args[@]}" >"$OUT/$name.out" 2>&1 &
  bg_pids+=($!)
  eval "pid_$name=$!"
}

finish() {  # finish NAME: waits for the session to end (its exit status does not matter here)
  local var="pid_$1"
  wait "${!var}" 2>/dev/null
  return 0
}

session_output() {
  sed -e '/^$/d' -e "s/^/    [$1] /" "$OUT/$1.out"
}

show_locks() {
  show_sql "SELECT application_name AS session, resource, scope, mode, pid, granted, wait_ms," \
           "       priority, blocked_by FROM lockguard.locks ORDER BY granted DESC, pid;"
  psql_as monitor -c "SELECT application_name AS session, resource, scope, mode, pid, granted, wait_ms,
                             priority, blocked_by
                      FROM lockguard.locks ORDER BY granted DESC, pid" | indent
}

pid_of() {  # the pid of the session that holds or awaits a lockguard lock under this name
  psql_as monitor -At -c "SELECT pid FROM lockguard.locks WHERE application_name = '$1' LIMIT 1"
}

# ---------------------------------------------------------------------------------------------
heading "Set-up"
say "A private PostgreSQL 15 cluster is running on port $PORT with shared_preload_libraries = 'lockguard'."
lg_psql -d postgres -c "CREATE DATABASE demo" >/dev/null || lg_die "could not create the demo database"
psql_as setup -c "CREATE EXTENSION lockguard" \
  -c "CREATE TABLE accounts (id integer PRIMARY KEY, owner text NOT NULL, balance numeric NOT NULL)" \
  -c "INSERT INTO accounts VALUES (42, 'alice', 500), (43, 'bob', 80)" >/dev/null \
  || lg_die "set-up of the demo database failed"
say "Database demo has the extension and a small table:"
psql_as setup -c "TABLE accounts" | indent
say "Each session below protects a payment on account 42 with a lock on the named resource"
say "'payment:42', taken inside its transaction and released at COMMIT or ROLLBACK."

# ---------------------------------------------------------------------------------------------
heading "Scene 1: a holder, a waiter that gives up, a waiter that gets through"
say "Session A takes the lock and holds it for 5 seconds while it works:"
show_sql "BEGIN;" "SELECT lockguard_acquire('payment:42');" \
  "UPDATE accounts SET balance = balance - 100 WHERE id = 42;" "SELECT pg_sleep(5);" "COMMIT;"
session A "BEGIN" "SELECT lockguard_acquire('payment:42')" \
  "UPDATE accounts SET balance = balance - 100 WHERE id = 42" \
  "SELECT 'A: lock taken, balance debited, working...'" "SELECT pg_sleep(5)" "COMMIT" \
  "SELECT 'A: committed at ' || to_char(clock_timestamp(), 'HH24:MI:SS.MS')"
sleep 1

say ""
say "Session B wants the same resource but will wait at most 2 seconds (priority 0):"
show_sql "SELECT lockguard_acquire('payment:42', timeout_ms => 2000);"
session B "BEGIN" "SELECT lockguard_acquire('payment:42', timeout_ms => 2000)" \
  "SELECT 'B: granted (unexpected)'" "COMMIT"
sleep 0.3
say "Session C is more important (priority 10) and can wait up to 10 seconds:"
show_sql "SELECT lockguard_acquire('payment:42', timeout_ms => 10000, priority => 10);"
session C "BEGIN" "SELECT lockguard_acquire('payment:42', timeout_ms => 10000, priority => 10)" \
  "SELECT 'C: granted at ' || to_char(clock_timestamp(), 'HH24:MI:SS.MS')" \
  "UPDATE accounts SET balance = balance - 20 WHERE id = 42" "COMMIT"
sleep 0.7

say ""
say "While B and C wait, lockguard.locks shows the holder and both waiters, how long they have"
say "waited and who blocks them. blocked_by is pg_blocking_pids(): it also names the waiters queued"
say "ahead, whose requests conflict too."
show_locks
PID_A=$(pid_of A)

say ""
say "B's 2 seconds run out first. Its error is 55P03 (lock_not_available), and the detail names"
say "the process that holds the lock, session A (pid $PID_A):"
finish B
session_output B

say ""
say "Now only C waits behind A:"
show_locks

say ""
say "When A commits, C is granted at once, well within its 10 seconds:"
finish A
finish C
session_output A
session_output C
psql_as monitor -c "SELECT id, owner, balance FROM accounts ORDER BY id" | indent
say "Both payments that got the lock were applied, one after the other; B's transaction did"
say "nothing and can simply be retried."

# ---------------------------------------------------------------------------------------------
heading "Scene 2: priority beats arrival order"
say "Session A holds 'payment:42' again for 3 seconds. Session D (priority 0) starts waiting"
say "first; session E (priority 100) arrives half a second later. A plain lock queue is FIFO and"
say "would grant D first. lockguard reorders the queue when A releases: E goes first."
say "(A waiter also gains one priority step per lockguard.aging_ms waited, 20 ms by default, so a"
say "low priority is never starved: E's lead of 100 steps outweighs up to 2 seconds of head start.)"
session A "BEGIN" "SELECT lockguard_acquire('payment:42')" "SELECT pg_sleep(3)" "COMMIT"
sleep 0.5
session D "BEGIN" "SELECT lockguard_acquire('payment:42', timeout_ms => 10000)" \
  "SELECT 'D: granted at ' || to_char(clock_timestamp(), 'HH24:MI:SS.MS')" "SELECT pg_sleep(1)" "COMMIT"
sleep 0.5
session E "BEGIN" "SELECT lockguard_acquire('payment:42', timeout_ms => 10000, priority => 100)" \
  "SELECT 'E: granted at ' || to_char(clock_timestamp(), 'HH24:MI:SS.MS')" "SELECT pg_sleep(1)" "COMMIT"
sleep 0.7
show_locks
finish A
finish D
finish E
say ""
say "Grant order (each holds the lock for one second):"
cat "$OUT/D.out" "$OUT/E.out" | grep 'granted at' | sort -k4 | indent

# ---------------------------------------------------------------------------------------------
heading "Counters"
say "lockguard.queue_stats(): acquisitions that had to wait, and how often a releaser reordered"
say "a wait queue (moved = waiters whose place changed):"
show_sql "SELECT * FROM lockguard.queue_stats();"
psql_as monitor -c "SELECT * FROM lockguard.queue_stats()" | indent
say "Nothing is left behind: lockguard.locks is empty once every transaction has ended."
psql_as monitor -c "SELECT count(*) AS locks_now FROM lockguard.locks" | indent

heading "Done"
say "The demo cluster stops as this script exits; its server log stays in $DATA/server.log."
bg_pids=()
