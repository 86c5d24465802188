#!/usr/bin/env bash
# The docs check: runs every SQL example of the documentation that is marked as runnable, so
# that the docs and the product cannot drift apart.
#
#   bash test/docs/check.sh FILE...        (test/run-all.sh runs it as the `docs` layer)
#
# A runnable example is a ```sql block whose opening line directly follows the line
#   <!-- runnable -->
# Each file's runnable blocks run in order, in one psql session (later blocks may use the tables
# and settings of earlier ones), in a fresh database made for that file with lockguard
# installed; the database, and any role an example created, are dropped afterwards. psql stops
# at the first error. The output is TAP: one "ok" line per block that ran without error,
# "not ok" for the block that failed (with psql's error and the block's line in the file) and
# for the blocks after it, which did not run; the last line counts the blocks.
#
# Writing a runnable example: put only SQL in the block (show psql's output in a plain ```
# block after it), end the transactions it opens, and create what it needs (tables, roles) in
# an earlier runnable block of the same file. An example that needs a second session at the
# same time (a waiter, a deadlock) cannot run here: leave it unmarked. The superuser runs the
# blocks; an example that needs a role uses SET ROLE and RESET ROLE.
#
# Environment: PSQL (command and connection options for the cluster, as the superuser),
# LG_DOCS_OUT (a directory for the scripts and psql's output; default: a temporary one).
set -uo pipefail

PSQL=${PSQL:?PSQL must name psql with its connection options}
OUT=${LG_DOCS_OUT:-$(mktemp -d)}
mkdir -p "$OUT"

# extract FILE: prints one line per runnable block, "START_LINE<TAB>END_LINE", where START_LINE
# is the line after the ```sql fence and END_LINE the line before the closing fence.
extract() {
  awk '
    in_block && /^[[:space:]]*```[[:space:]]*$/ { print start "\t" NR - 1; in_block = 0; next }
    in_block { next }
    /^[[:space:]]*```sql[[:space:]]*$/ { if (marked) { in_block = 1; start = NR + 1 } marked = 0; next }
    { marked = ($0 ~ /^[[:space:]]*<!--[[:space:]]*runnable[[:space:]]*-->[[:space:]]*$/) }
    END { if (in_block) print start "\tUNTERMINATED" }
  ' "$1"
}

n=0
failed=0
total_blocks=0
for file in "$@"; do
  mapfile -t blocks < <(extract "$file")
  [ ${#blocks[@]} -eq 0 ] && continue
  name=$(basename "$file" .md | tr 'A-Z' 'a-z' | tr -c 'a-z0-9\n' '_')
  db="docs_check_$name"
  script="$OUT/$name.sql"
  : >"$script"
  i=0
  for range in "${blocks[@]}"; do
    i=$((i + 1))
    start=${range%%$'\t'*}; end=${range#*$'\t'}
    if [ "$end" = UNTERMINATED ]; then
      echo "not ok $((n + 1)) - $file: the sql block at line $start has no closing fence"
      n=$((n + 1)); failed=$((failed + 1)); continue 2
    fi
    # A marker psql prints before each block: the last one printed names the block that failed.
    printf '\\warn docs-check-block %d\n' "$i" >>"$script"
    sed -n "${start},${end}p" "$file" >>"$script"
    printf '\n;\n' >>"$script"  # a block whose last statement lacks its semicolon still runs alone
  done
  $PSQL -d postgres -q -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >"$OUT/$name.setup.log" 2>&1 &&
    $PSQL -d "$db" -q -c "CREATE EXTENSION lockguard" >>"$OUT/$name.setup.log" 2>&1
  if [ $? -ne 0 ]; then
    echo "not ok $((n + 1)) - $file: could not make database $db"; sed 's/^/# /' "$OUT/$name.setup.log"
    n=$((n + 1)); failed=$((failed + 1)); continue
  fi
  roles_before=$($PSQL -d postgres -Atc "SELECT rolname FROM pg_roles ORDER BY 1")
  $PSQL -d "$db" -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -f "$script" >"$OUT/$name.out" 2>&1
  rc=$?
  # Leave the cluster as it was: the database, and the roles an example created (roles are
  # shared by all databases), so that the check can run again on the same cluster.
  $PSQL -d postgres -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >>"$OUT/$name.setup.log" 2>&1
  comm -13 <(echo "$roles_before") <($PSQL -d postgres -Atc "SELECT rolname FROM pg_roles ORDER BY 1") |
    while read -r role; do
      $PSQL -d postgres -q -c "DROP ROLE \"$role\"" >>"$OUT/$name.setup.log" 2>&1
    done
  last=$(grep -oE '^docs-check-block [0-9]+$' "$OUT/$name.out" | tail -1 | grep -oE '[0-9]+$')
  last=${last:-1}  # no marker printed: the first block failed
  for ((b = 1; b <= ${#blocks[@]}; b++)); do
    n=$((n + 1)); total_blocks=$((total_blocks + 1))
    line=$(( ${blocks[b - 1]%%$'\t'*} - 1 ))
    if [ $rc -eq 0 ] || [ $b -lt "$last" ]; then
      echo "ok $n - $file block $b (line $line)"
    elif [ $b -eq "$last" ]; then
      echo "not ok $n - $file block $b (line $line) failed:"
      # psql's error lines for the failing block, from its marker on
      sed -n "/^docs-check-block $b\$/,\$p" "$OUT/$name.out" | grep -E 'ERROR|DETAIL|HINT|LINE|LOCATION|psql:' |
        head -20 | sed 's/^/#   /'
      failed=$((failed + 1))
    else
      echo "not ok $n - $file block $b (line $line) did not run: an earlier block of the file failed"
      failed=$((failed + 1))
    fi
  done
done
echo "1..$n"
echo "# docs check: $total_blocks runnable blocks in $# files, $failed failed"
[ "$failed" -eq 0 ] && [ "$n" -gt 0 ]
