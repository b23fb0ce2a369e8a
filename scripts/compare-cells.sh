#!/usr/bin/env bash
# Compares the parity reports of the hardware matrix's cells (scripts/ci-cell.sh writes DIR/CELL-SET.json):
# for each set, every GPU cell's report against the first GPU cell's (e.g. cuda-sm90 against rocm-gfx942). The cpu
# cell runs the GPU-sized cases scaled down, so it is compared only on the sets whose sizes match (smoke).
#   scripts/compare-cells.sh [DIR]    (default parity-reports); exit 1 when any pair differs beyond tolerance.
set -uo pipefail
cd "$(dirname "$0")/.."
dir=${1:-parity-reports}
cli=dist/scripts/parity/cli.js
status=0
shopt -s nullglob
for set in smoke mi300x-gqa-bf16 full; do
  reports=()
  for f in "$dir"/*-"$set".json; do
    case "$(basename "$f")" in cpu-*) [ "$set" = smoke ] || continue ;; esac
    reports+=("$f")
  done
  if [ ${#reports[@]} -lt 2 ]; then
    echo "compare-cells: set $set: ${#reports[@]} report(s), nothing to compare"
    continue
  fi
  base=${reports[0]}
  for other in "${reports[@]:1}"; do
    name="compare-$(basename "$base" .json)-vs-$(basename "$other" .json).json"
    echo "== $set: $(basename "$base") vs $(basename "$other")"
    node "$cli" compare "$base" "$other" --json "$dir/$name" || status=1
  done
done
exit $status
