#!/usr/bin/env bash
# char-lm's sequence length swept 128 → 4096 with tokens per step fixed (batch = 8192 / T): the
# training step's time and peak memory, xgrad on all cores against PyTorch 1.13 on 1 thread (its
# faster setting here), one process per point. Prints a table and draws docs/images/seq_sweep.svg.
# Usage: scripts/seq_sweep.sh [build] [svg]
set -euo pipefail
build=${1:-build}
here="$(cd "$(dirname "$0")/.." && pwd)"
svg=${2:-$here/docs/images/seq_sweep.svg}
cores=$(nproc)
out=$(mktemp)
for T in 128 256 512 1024 2048 4096; do
  steps=3; [ "$T" -ge 1024 ] && steps=1
  OPENBLAS_NUM_THREADS=$cores XGRAD_NUM_THREADS=$cores "$build/bench/train_step" "char-lm@$T" "$cores" "$steps" 0 | tee -a "$out"
  /usr/bin/python3 "$here/bench/train_step.py" "char-lm@$T" 1 "$steps" | tee -a "$out"
done
/usr/bin/python3 "$here/bench/plot_sweep.py" "$out" "$svg"
