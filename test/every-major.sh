#!/usr/bin/env bash
# Every test of lockguard on every supported PostgreSQL major, from one command (README.md's
# "All tests"; CI runs it through .ci/run). On a fresh Debian 12 machine, as root, it makes what
# each major needs (docs/installation.md: where each comes from), runs the layers there, and ends
# with one line "N passed, N failed" over all of them; its exit status is non-zero if anything
# failed.
#
#   18  test/hardening.sh cassert    PostgreSQL 18 built with assertions and LLVM (JIT on), every
#                                    layer but the structure, docs, benchmark and deployment ones,
#                                    with a 60 s chaos run: the hardening run of the newest major
#       test/hardening.sh sanitize   lockguard built with AddressSanitizer and UBSan on that server
#   17  test/on-17.sh                Debian 13's PostgreSQL 17 packages in a Debian 13 root
#   15  test/run-all.sh              Debian 12's PostgreSQL 15 packages: every layer; its tap
#                                    layer also upgrades 15 clusters to the 18 above with
#                                    pg_upgrade (test/t/120_pg_upgrade.pl), so 15 runs last
#
# LG_MAJORS picks parts ("18 sanitize 17 15", in that order by default). Each part prints its own
# per-layer lines; the closing summary has one line per part other than 15's and 15's layers.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../scripts/lib.sh"
lg_require_root

PARTS=${LG_MAJORS:-"18 sanitize 17 15"}
LG_PRIOR_RESULTS=$(mktemp)
trap 'rm -f "$LG_PRIOR_RESULTS"' EXIT

# part NAME COMMAND...: runs one part and notes its closing line for the summary.
part() {
  local name=$1 log rc line started=$SECONDS
  shift
  log=$(mktemp)
  lg_log "part $name: $*"
  "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
  rm -f "$log"
  [ -n "$line" ] || line="0 passed, 1 failed"
  [ "$rc" -ne 0 ] && [[ "$line" == *", 0 failed" ]] && line="${line%%,*}, 1 failed"
  echo "$name $line" >>"$LG_PRIOR_RESULTS"
  lg_log "part $name took $((SECONDS - started)) s: $line"  # for the CI budget (docs/hardening.md)
}

for p in $PARTS; do
  case $p in
    18) part pg18-cassert env -u LG_PRIOR_RESULTS bash "$HERE/hardening.sh" cassert ;;
    sanitize) part pg18-sanitize env -u LG_PRIOR_RESULTS bash "$HERE/hardening.sh" sanitize ;;
    17) part pg17 env -u LG_PRIOR_RESULTS bash "$HERE/on-17.sh" ;;
    15) ;;
    *) lg_die "unknown part $p (18 sanitize 17 15)" ;;
  esac
done

# The pg_upgrade test of the 15 run upgrades to 18 with lockguard: the 18 part's private copy
# of the assert-enabled 18 has it, built from this tree (otherwise run-all.sh makes one).
cassert_pg=${LG_PRIVATE_PG:-/tmp/lockguard-cassert-pg}
if [[ " $PARTS " == *" 18 "* ]] && [ -z "${LG_UPGRADE_TO:-}" ] && [ -f "$("$cassert_pg/bin/pg_config" --pkglibdir 2>/dev/null)/lockguard.so" ]; then
  export LG_UPGRADE_TO=$cassert_pg
fi

# 15 last: run-all.sh's closing summary adds the parts above (LG_PRIOR_RESULTS) to its layers.
# Its "N passed, N failed" stays the last line (the layers log their own wall times).
if [[ " $PARTS " == *" 15 "* ]]; then
  LG_PRIOR_RESULTS=$LG_PRIOR_RESULTS bash "$HERE/run-all.sh"
  exit $?
fi
total_pass=0 total_fail=0
while read -r name passed _ failed _; do
  printf '%-14s %4d passed, %d failed\n' "$name" "$passed" "$failed"
  total_pass=$((total_pass + passed)); total_fail=$((total_fail + failed))
done <"$LG_PRIOR_RESULTS"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ "$total_pass" -gt 0 ]
