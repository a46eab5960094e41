#!/usr/bin/env bash
# Attention alone (batch 1, 8 heads, head dim 64, causal, forward + backward) over sequence
# lengths: time per step and peak extra memory for xgrad's fused op, xgrad's composite formula and
# PyTorch 1.13 (composite: it has no fused attention), one process per point. Then a linear fit of
# the fused op's memory in T. Usage: scripts/attention_sweep.sh [build] [max T for the composites]
set -euo pipefail
build=${1:-build}
max_composite=${2:-8192}
exe="$build/bench/attention_sweep"
here="$(dirname "$0")/.."
out=$(mktemp)
for T in 256 512 1024 2048 4096 8192; do
  steps=3; [ "$T" -ge 4096 ] && steps=1
  "$exe" fused "$T" "$steps" | tee -a "$out"
  if [ "$T" -le "$max_composite" ]; then
    "$exe" composite "$T" "$steps" | tee -a "$out"
    /usr/bin/python3 "$here/bench/attention_sweep.py" "$T" "$steps" | tee -a "$out"
  fi
done
/usr/bin/python3 - "$out" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
fused = [(int(r[3]), float(r[7])) for r in rows if r[1] == "fused"]
n = len(fused); mt = sum(t for t, _ in fused) / n; mm = sum(m for _, m in fused) / n
slope = sum((t - mt) * (m - mm) for t, m in fused) / sum((t - mt) ** 2 for t, _ in fused)
icpt = mm - slope * mt
worst = max(abs(m - (icpt + slope * t)) for t, m in fused)
print(f"fused extra memory = {icpt:.2f} MB + {slope * 1024:.2f} MB per 1024 positions (worst residual {worst:.2f} MB)")
print("| T | xgrad fused ms | MB | xgrad composite ms | MB | PyTorch 1.13 ms | MB |")
print("|---|---|---|---|---|---|---|")
by = {}
for r in rows:
    by.setdefault(int(r[3]), {})[r[0] + " " + r[1]] = (r[5], r[7])
for t in sorted(by):
    cells = [by[t].get(k, ("–", "–")) for k in ("xgrad fused", "xgrad composite", "torch composite")]
    print(f"| {t} | " + " | ".join(f"{ms} | {mb}" for ms, mb in cells) + " |")
PY
