#!/usr/bin/env bash
# Two builds of lockguard at one target point, in one run (docs/bench/notes.md): whether a change to
# lockguard's own path moves a ratio. Two runs of the same build differ by more than such a change
# (one hot row, named p95 ÷ advisory's: 1.01 to 1.10 between runs), so the builds share a run:
# blocks of rounds alternate between them, lockguard.so is swapped and the stock cluster restarted
# before each block, and within a block the point's variants are interleaved as in the targets run
# (lgb_interleaved). Each build's ratios are taken within its own rounds.
#
#   bash test/bench/compare-builds.sh REF_A REF_B [POINT]   # each REF a commit or "worktree" (the
#                                                           #   checkout as is); POINT a label of
#                                                           #   LGB_TARGET_POINTS, default hot1
#
# Prints, for each build, every variant's TPS, transaction p95 and lock-wait p95 over the reference
# variant's in the same round (report.py compare-builds), with the median's interval; the rows are
# kept in the stage (compare.jsonl, tags.build = A or B). Environment: LG_COMPARE_BLOCKS (blocks
# per build, default 6), LG_COMPARE_BLOCK_ROUNDS (rounds per block, default 12), LG_COMPARE_VARIANTS
# (default the point's), LG_COMPARE_REFERENCE (default advisory), LG_COMPARE_ROWS (the table's
# rows, default 1,000,000 as in the targets run), LG_BENCH_STAGE (default
# /tmp/lockguard-compare), LG_BENCH_PORT (default 54342), LG_PG_PREFIX (as run.sh). Slices as in
# the targets run (0.4 s + 1 s + 0.4 s, the point's --tail). One hot row, two variants, 6 blocks of
# 12 rounds per build: about 20 minutes on 2 cores, the set-up included.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

[ $# -ge 2 ] || lg_die "usage: compare-builds.sh REF_A REF_B [POINT]"
REF_A=$1 REF_B=$2 POINT=${3:-hot1}
lg_require_root
lg_ensure_packages "${LG_BASE_PACKAGES[@]}" libpq-dev python3

STAGE=${LG_BENCH_STAGE:-/tmp/lockguard-compare}
PORT=${LG_BENCH_PORT:-54342}
BLOCKS=${LG_COMPARE_BLOCKS:-6}
BLOCK_ROUNDS=${LG_COMPARE_BLOCK_ROUNDS:-12}
REFERENCE=${LG_COMPARE_REFERENCE:-advisory}
LGB_DURATION=1 LGB_WARMUP=2 LGB_VACUUM=1 LGB_SLICE=1 LGB_SETTLE=0.4 LGB_GUARD=0.4

SPEC=
for s in "${LGB_TARGET_POINTS[@]}"; do [ "${s%%|*}" = "$POINT" ] && SPEC=$s; done
[ -n "$SPEC" ] || lg_die "no target point \"$POINT\" (LGB_TARGET_POINTS in bench-lib.sh)"
IFS='|' read -r _ KIND CLIENTS KEYS ARGS VARIANTS <<<"$SPEC"
case "$POINT" in monitoring|preload) lg_die "the $POINT point switches settings or restarts itself: not comparable this way" ;; esac
read -ra VARIANTS <<<"${LG_COMPARE_VARIANTS:-$VARIANTS}"
[[ " ${VARIANTS[*]} " == *" $REFERENCE "* ]] || lg_die "the reference variant $REFERENCE is not among ${VARIANTS[*]}"
# The point's --tail VARIANT=SEC only for a variant that runs (the driver refuses the others).
read -ra point_args <<<"$ARGS"
ARGS=
for ((i = 0; i < ${#point_args[@]}; i++)); do
  if [ "${point_args[i]}" = --tail ]; then
    [[ " ${VARIANTS[*]} " == *" ${point_args[i + 1]%%=*} "* ]] && ARGS+=" --tail ${point_args[i + 1]}"
    i=$((i + 1))
  else
    ARGS+=" ${point_args[i]}"
  fi
done
ROWS=${LG_COMPARE_ROWS:-1000000}  # the accounts table, as in the targets run
[ "$KEYS" = ROWS ] && KEYS=$ROWS

lg_private_pg "$STAGE-pg"
PKGLIB=$("$LG_BINDIR/pg_config" --pkglibdir)
mkdir -p "$STAGE"

# build_ref REF NAME: lockguard at REF built and installed (lgb_install_ref, as run.sh builds it);
# its library kept as $STAGE/NAME.so. The SQL scripts installed are the last build's, so both
# builds must have the same default version.
build_ref() {
  rm -f "$PKGLIB/lockguard.so"
  lgb_install_ref "$1" "$STAGE/build-$2"
  cp "$PKGLIB/lockguard.so" "$STAGE/$2.so" || lg_die "no lockguard.so after building $1"
}
# default_version REF: the extension's default version at REF.
default_version() {
  if [ "$1" = worktree ]; then cat "$LG_REPO/lockguard.control"; else git -C "$LG_REPO" show "$1:lockguard.control"; fi \
    | sed -n "s/^default_version *= *'\(.*\)'/\1/p"
}
for ref in "$REF_A" "$REF_B"; do
  [ "$ref" = worktree ] || git -C "$LG_REPO" rev-parse -q --verify "$ref^{commit}" >/dev/null || lg_die "no commit $ref"
done
[ "$(default_version "$REF_A")" = "$(default_version "$REF_B")" ] \
  || lg_die "the builds' default versions differ ($(default_version "$REF_A"), $(default_version "$REF_B")): compare builds of one SQL version"
build_ref "$REF_A" A
build_ref "$REF_B" B
cmp -s "$STAGE/A.so" "$STAGE/B.so" && lg_log "note: the two builds' libraries are byte for byte the same"

LGB_WORK=$STAGE/bench
mkdir -p "$LGB_WORK"
LGB_DRIVER=$LGB_WORK/lgbench
lgb_build_driver "$LGB_DRIVER"
trap 'lg_cluster_stop "$LGB_WORK/stock/data"' EXIT
lgb_stock_cluster "$LGB_WORK/stock" "$PORT" "$ROWS"

RESULTS=$STAGE/compare.jsonl
: >"$RESULTS"
lg_log "point $POINT: ${VARIANTS[*]}; build A $REF_A, build B $REF_B; $BLOCKS blocks of $BLOCK_ROUNDS rounds each, alternated"
first=1
for block in $(seq 1 "$BLOCKS"); do
  for build in A B; do
    # A new file, not an overwrite: the running server keeps the library it mapped.
    cp "$STAGE/$build.so" "$PKGLIB/lockguard.so.new" && mv -f "$PKGLIB/lockguard.so.new" "$PKGLIB/lockguard.so" \
      || lg_die "installing build $build failed"
    lgb_preload_restart on
    last=$((first + BLOCK_ROUNDS - 1))
    rm -f "$LGB_WORK/block.jsonl"
    lgb_interleaved "$LGB_WORK/block.jsonl" "$POINT" "$KIND" "$CLIENTS" "$KEYS" "$ARGS" "$first" "$last" "${VARIANTS[@]}"
    "$LGB_PYTHON" - "$LGB_WORK/block.jsonl" "$RESULTS" "$build" <<'PY'
import json, sys
src, dst, build = sys.argv[1:4]
with open(dst, "a") as out:
    for line in open(src):
        r = json.loads(line)
        r.setdefault("tags", {})["build"] = build
        out.write(json.dumps(r) + "\n")
PY
    lg_log "block $block, build $build: rounds $first to $last"
    first=$((last + 1))
  done
done
lg_cluster_stop "$LGB_WORK/stock/data"
CRASHES=$(lg_crash_lines "$LGB_WORK/stock/data/server.log")
[ -n "$CRASHES" ] && { echo "$CRASHES"; lg_die "the server log shows a crash"; }
"$LGB_PYTHON" "$LGB_DIR/report.py" compare-builds "$RESULTS" "$REFERENCE"
