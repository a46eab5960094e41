#!/usr/bin/env bash
# make bench: runs the xgrad benchmarks, then PyTorch on the same shapes, and prints ratios.
set -euo pipefail
build=${1:-build}
out=$(mktemp -d)/xgrad_bench.json
# Shared VMs are noisy: 5 repetitions in random order (a slow minute of the host spreads over
# all benchmarks instead of landing on one), compared by their median.
"$build/bench/xgrad_bench" --benchmark_min_time=0.3 --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true \
  --benchmark_out="$out" --benchmark_out_format=json
echo
/usr/bin/python3 "$(dirname "$0")/../bench/compare.py" "$out"
echo
# Training steps, generation and memory: one process per point (scripts/train_bench.sh).
"$(dirname "$0")/train_bench.sh" "$build"
echo
# Time to result on short epochs: translate against a PyTorch 1.13 script (scripts/short_epochs.sh).
"$(dirname "$0")/short_epochs.sh" "$build"
# Data-parallel scaling over MPI (scripts/distributed_bench.sh).
"$(dirname "$0")/distributed_bench.sh" "$build"
