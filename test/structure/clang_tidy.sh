#!/usr/bin/env bash
# Runs clang-tidy (checks in .clang-tidy) over every src/**/*.cpp, test/unit/*.cpp, client/**/*.cpp
# and test/client/*.cpp and fails on any warning. Also fails on a NOLINT without its reason: the form is
# `// NOLINT(check-name): why` (NOLINTNEXTLINE, NOLINTBEGIN and NOLINTEND alike).
# Ends with "N passed, N failed": one test per source file, and one for the NOLINT reasons.
#
#   bash test/structure/clang_tidy.sh        # needs clang-tidy (Debian: clang-tidy) and pg_config
#
# PG_CONFIG chooses the server whose headers are used; LG_TIDY_JOBS the parallel runs (default 2).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
started=$(date +%s)
CLANG_TIDY=${CLANG_TIDY:-clang-tidy}
JOBS=${LG_TIDY_JOBS:-2}

bash test/structure/compile_db.sh || { echo "0 passed, 1 failed"; exit 1; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
files=$(find src test/unit client test/client -name '*.cpp' | LC_ALL=C sort)
# One clang-tidy per file, its findings in $out/<file>.log and its exit status in <file>.rc;
# --warnings-as-errors makes a warning a non-zero exit.
printf '%s\n' $files | xargs -P "$JOBS" -I{} sh -c '
  log="$2/$(printf %s "$3" | tr / _)"
  "$1" -p . --quiet --warnings-as-errors="*" "$3" >"$log.log" 2>"$log.err"
  echo $? >"$log.rc"' _ "$CLANG_TIDY" "$out" {}

passed=0
failed=0
for file in $files; do
  log="$out/$(printf %s "$file" | tr / _)"
  if [ "$(cat "$log.rc")" = 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED $file"
    grep -E '(warning|error):' "$log.log" "$log.err" | sed 's/^[^:]*\.\(log\|err\)://'
  fi
done

# Every NOLINT names its checks and says why after a colon.
markers=$(grep -rnoE 'NOLINT[A-Z]*(\([^)]*\))?(:.*)?' src test/unit client test/client --include='*.cpp' --include='*.hpp' || true)
nolint_count=$(printf '%s' "$markers" | grep -c . || true)
bare=$(printf '%s\n' "$markers" | grep -vE 'NOLINT[A-Z]*\([a-z0-9.*,-]+\): +[^ ]' | grep . || true)
if [ -n "$bare" ]; then
  failed=$((failed + 1))
  echo "FAILED NOLINT without a check name and a reason (write // NOLINT(check-name): why):"
  printf '%s\n' "$bare"
else
  passed=$((passed + 1))
fi

echo "clang-tidy: $(printf '%s\n' $files | wc -l) files, NOLINT markers: $nolint_count, wall time: $(($(date +%s) - started)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
