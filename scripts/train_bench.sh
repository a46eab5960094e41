#!/usr/bin/env bash
# Training steps side by side: bench/train_step (xgrad) and bench/train_step.py (PyTorch 1.13) on
# the three configurations, each on 1 and 2 threads (one process per point: peak memory only
# grows), plus xgrad with per-layer checkpointing and the sgemm rate of this run; then the ratios.
# The VM is noisy: `rounds` passes over every point, interleaved, and each point's median is kept.
# Usage: scripts/train_bench.sh [build] [steps] [rounds]
set -euo pipefail
build=${1:-build}
steps=${2:-10}
rounds=${3:-3}
exe="$build/bench/train_step"
here="$(dirname "$0")/.."
out=$(mktemp)
cores=$(nproc)
for threads in 1 "$cores"; do
  OPENBLAS_NUM_THREADS=$threads XGRAD_NUM_THREADS=$threads "$exe" sgemm "$threads" | tee -a "$out"
done
for round in $(seq "$rounds"); do
for cfg in char-lm tiny-seq2seq d2l-seq2seq; do
  for threads in 1 "$cores"; do
    OPENBLAS_NUM_THREADS=$threads XGRAD_NUM_THREADS=$threads "$exe" "$cfg" "$threads" "$steps" 0 | tee -a "$out"
    /usr/bin/python3 "$here/bench/train_step.py" "$cfg" "$threads" "$steps" | tee -a "$out"
  done
  OPENBLAS_NUM_THREADS=$cores XGRAD_NUM_THREADS=$cores "$exe" "$cfg" "$cores" "$steps" 1 | tee -a "$out"
done
for model in char-lm translate; do
for batch in 1 16; do
  for threads in 1 "$cores"; do
    OPENBLAS_NUM_THREADS=$threads XGRAD_NUM_THREADS=$threads "$build/bench/generate" "$batch" "$threads" "$model" | tee -a "$out"
    /usr/bin/python3 "$here/bench/generate.py" "$batch" "$threads" "$model" | tee -a "$out"
  done
done
done
done
/usr/bin/python3 - "$out" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
sgemm = {int(r[3]): float(r[5]) for r in rows if r[1] == "sgemm"}
steps = [dict(who=r[0], cfg=r[1], threads=int(r[3]), ckpt=int(r[5]), ms=float(r[7]), gflop=float(r[9]),
              gflops=float(r[11]), mb=float(r[13])) for r in rows if r[1] not in ("sgemm", "generate")]
gen = [dict(who=r[0], batch=int(r[3]), threads=int(r[5]), tps=float(r[7]), model=r[10]) for r in rows
       if r[1] == "generate"]


def medians(items, keys, values):
    """One item per distinct keys, each value the median over the rounds."""
    groups = {}
    for it in items:
        groups.setdefault(tuple(it[k] for k in keys), []).append(it)
    out = []
    for group in groups.values():
        m = dict(group[0])
        for v in values:
            vals = sorted(g[v] for g in group)
            m[v] = vals[len(vals) // 2]
        out.append(m)
    return out


steps = medians(steps, ("who", "cfg", "threads", "ckpt"), ("ms", "gflops", "mb"))
gen = medians(gen, ("who", "model", "batch", "threads"), ("tps",))
top = max(sgemm)
print(f"\nsgemm 1024³: {sgemm.get(1, 0):.1f} GFLOP/s on 1 thread, {sgemm[top]:.1f} on {top}")
print("| config | xgrad ms (1 / %d threads) | PyTorch ms (1 / %d threads) | xgrad / PyTorch's best | %d-thread speed-up | xgrad GFLOP/s (of sgemm) | peak MB xgrad / PyTorch (ratio) | with checkpoint_layers |" % (top, top, top))
print("|---|---|---|---|---|---|---|---|")
for cfg in ("char-lm", "tiny-seq2seq", "d2l-seq2seq"):
    x = {s["threads"]: s for s in steps if s["cfg"] == cfg and s["who"] == "xgrad" and s["ckpt"] == 0}
    t = {s["threads"]: s for s in steps if s["cfg"] == cfg and s["who"] == "torch"}
    c = [s for s in steps if s["cfg"] == cfg and s["ckpt"] == 1]
    if not x or not t:
        continue
    xb = min(x.values(), key=lambda s: s["ms"]); tb = min(t.values(), key=lambda s: s["ms"])
    ck = f"{c[0]['ms']:.1f} ms, {c[0]['mb']:.0f} MB ({c[0]['mb'] / tb['mb']:.2f})" if c else "–"
    print(f"| {cfg} ({xb['gflop']:.1f} GFLOP) | {x[1]['ms']:.1f} / {x[top]['ms']:.1f} | {t[1]['ms']:.1f} / {t[top]['ms']:.1f} | "
          f"**{xb['ms'] / tb['ms']:.2f}** | {x[1]['ms'] / x[top]['ms']:.2f} | {xb['gflops']:.0f} ({xb['gflops'] / sgemm[top]:.2f}) | "
          f"{xb['mb']:.0f} / {tb['mb']:.0f} ({xb['mb'] / tb['mb']:.2f}) | {ck} |")
print("\n| generation | xgrad tokens/s (1 / %d threads) | PyTorch tokens/s (1 / %d threads) | best / best |" % (top, top))
print("|---|---|---|---|")
for model in ("char-lm", "translate"):
    for batch in (1, 16):
        x = {g["threads"]: g["tps"] for g in gen if g["who"] == "xgrad" and g["batch"] == batch and g["model"] == model}
        t = {g["threads"]: g["tps"] for g in gen if g["who"] == "torch" and g["batch"] == batch and g["model"] == model}
        if x and t:
            print(f"| {model}, batch {batch} | {x.get(1, 0):.0f} / {x.get(top, 0):.0f} | {t.get(1, 0):.0f} / {t.get(top, 0):.0f} | "
                  f"**{max(x.values()) / max(t.values()):.2f}×** |")
PY
