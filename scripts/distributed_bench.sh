#!/usr/bin/env bash
# Data-parallel scaling on this machine (bench/distributed_step, the char-lm benchmark model, global
# batch 64): 1 process x 2 threads, 1 process x 1 thread, and 2 ranks x 1 thread under mpirun, with
# DDP's default 25 MB buckets and with 1 MB and 0.25 MB ones; `rounds` interleaved passes, medians.
# Prints tokens/s, scaling efficiency = (2 ranks x 1 thread) / (2 x 1 process x 1 thread), and the
# all-reduce time per step with the share backward hid.
# Usage: scripts/distributed_bench.sh [build] [steps] [rounds]
set -euo pipefail
build=${1:-build}
steps=${2:-10}
rounds=${3:-3}
exe="$build/bench/distributed_step"
if ! command -v mpirun > /dev/null; then echo "distributed_bench: mpirun not found (scripts/install-deps.sh installs Open MPI)"; exit 0; fi
mpirun=(mpirun --allow-run-as-root --oversubscribe --mca btl self,vader)
out=$(mktemp)
for round in $(seq "$rounds"); do
  OPENBLAS_NUM_THREADS=2 XGRAD_NUM_THREADS=2 "$exe" 2 "$steps" | tee -a "$out"
  OPENBLAS_NUM_THREADS=1 XGRAD_NUM_THREADS=1 "$exe" 1 "$steps" | tee -a "$out"
  for cap in 25 1 0.25; do
    OPENBLAS_NUM_THREADS=1 XGRAD_NUM_THREADS=1 "${mpirun[@]}" -np 2 "$exe" 1 "$steps" "$cap" | sed "s/\$/ cap $cap/" | tee -a "$out"
  done
done
# Optimizer state per rank, AdamW alone and under ZeRO-1 (one pass: it does not vary).
zero_out=$(mktemp)
for z in 0 1; do
  OPENBLAS_NUM_THREADS=1 XGRAD_NUM_THREADS=1 "${mpirun[@]}" -np 2 "$exe" 1 2 25 "$z" | tee -a "$zero_out"
done
awk '{for (i = 1; i < NF; ++i) if ($i == "zero") z = $(i + 1); else if ($i == "state_mb") s = $(i + 1);
      printf "optimizer state held by rank 0 of 2: %s MB %s\n", s, z == 1 ? "with ZeRO-1" : "with AdamW alone"}' "$zero_out"
/usr/bin/env python3 - "$out" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.startswith("xgrad-ddp")]
def f(r, k): return float(r[r.index(k) + 1])
groups = {}
for r in rows:
    key = (int(f(r, "ranks")), int(f(r, "threads")), f(r, "cap") if "cap" in r else None)
    groups.setdefault(key, []).append(r)
def med(key, k): return statistics.median(f(r, k) for r in groups[key])
one = med((1, 1, None), "tokens_per_s")
print("\n| run | step ms | tokens/s | scaling efficiency | all-reduce ms/step | hidden behind backward |")
print("|---|---|---|---|---|---|")
for key in sorted(groups, key=lambda k: (k[0], -k[1], -(k[2] or 0))):
    ranks, threads, cap = key
    tps = med(key, "tokens_per_s")
    name = f"{ranks} process x {threads} threads" if ranks == 1 else f"{ranks} ranks x {threads} thread, {cap:g} MB buckets"
    eff = f"{tps / (ranks * one):.2f}" if ranks > 1 else ""
    comm, exposed = med(key, "comm_ms"), med(key, "exposed_ms")
    hidden = f"{100 * (1 - exposed / comm):.0f}%" if ranks > 1 and comm > 0 else ""
    print(f"| {name} | {med(key, 'ms'):.0f} | {tps:.0f} | {eff} | {comm:.1f} (exposed {exposed:.1f}) | {hidden} |" if ranks > 1
          else f"| {name} | {med(key, 'ms'):.0f} | {tps:.0f} | | | |")
PY
