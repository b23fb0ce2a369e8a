#!/usr/bin/env bash
# One cell of the hardware CI matrix (.github/workflows/parity.yml), runnable by hand on any machine:
#   scripts/ci-cell.sh [CELL]      CELL: auto (default: the cell matching this machine's hardware), cpu,
#                                  cuda-sm80, cuda-sm90, cuda-smXY, rocm-gfx90a, rocm-gfx942, rocm-gfxNNN
# Installs from the lock file, builds the cell's variant (the CPU addon, or CUDA / HIP for that architecture), runs
# the test suite, then the parity check (smoke and mi300x-gqa-bf16) on the cell's backend with JSON reports in
# $REPORT_DIR (default parity-reports/). Every step runs even when an earlier one fails, so the reports exist;
# the exit code is that of the first failing step.
# Environment: REPORT_DIR, PARITY_SETS (default "smoke mi300x-gqa-bf16"), PARITY_SEED (replay), SKIP_INSTALL=1,
# SKIP_TESTS=1.
set -uo pipefail
cd "$(dirname "$0")/.."

detect_cell() {
  if command -v nvidia-smi >/dev/null 2>&1 && cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n1) && [ -n "$cap" ]; then
    echo "cuda-sm${cap//./}"
  elif command -v rocminfo >/dev/null 2>&1 && arch=$(rocminfo 2>/dev/null | grep -o -m1 'gfx[0-9a-f]*') && [ -n "$arch" ]; then
    echo "rocm-${arch}"
  else
    echo cpu
  fi
}

cell=${1:-auto}
[ "$cell" = auto ] && cell=$(detect_cell)
report_dir=${REPORT_DIR:-parity-reports}
sets=${PARITY_SETS:-smoke mi300x-gqa-bf16}
case "$cell" in
  cpu) backend=cpu; build_args=(--CDGQA_CUDA=OFF --CDGQA_HIP=OFF) ;;
  cuda-sm*) arch=${cell#cuda-sm}; [ "$arch" = 90 ] && arch=90a
            backend=cuda; build_args=(--CDGQA_CUDA=ON --CDGQA_HIP=OFF "--CDGQA_CUDA_ARCHS=${arch}-real") ;;
  rocm-gfx*) backend=rocm; build_args=(--CDGQA_CUDA=OFF --CDGQA_HIP=ON "--CDGQA_HIP_ARCHS=${cell#rocm-}") ;;
  *) echo "ci-cell: unknown cell '$cell' (cpu, cuda-smXY, rocm-gfxNNN or auto)" >&2; exit 2 ;;
esac
echo "ci-cell: cell $cell, backend $backend, reports in $report_dir"

status=0
step() {
  echo "::group::$*" 2>/dev/null || true
  echo "+ $*"
  "$@"
  local rc=$?
  echo "::endgroup::"
  if [ $rc -ne 0 ]; then
    echo "ci-cell: step failed with exit code $rc: $*" >&2
    [ $status -eq 0 ] && status=$rc
  fi
  return 0
}

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
  # The lock file's packages, without the install script's own build: this cell builds its variant next.
  step npm ci --ignore-scripts
fi
step npm run build:ts
step node scripts/build-from-source.js "${build_args[@]}"
if [ "${SKIP_TESTS:-0}" != 1 ]; then
  step npm test
fi
mkdir -p "$report_dir"
seed_args=()
[ -n "${PARITY_SEED:-}" ] && seed_args=(--seed "$PARITY_SEED")
for set in $sets; do
  step node dist/scripts/parity/cli.js --set "$set" --backend "$backend" "${seed_args[@]}" --json "$report_dir/$cell-$set.json"
done
exit $status
