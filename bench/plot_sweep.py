#!/usr/bin/python3
"""Table and SVG of scripts/seq_sweep.sh's lines: step time and peak memory against the sequence
length, xgrad and PyTorch, log-log. Usage: plot_sweep.py lines.txt out.svg"""
import math
import sys

rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
data = {}  # who -> [(T, ms, mb)]
for r in rows:
    data.setdefault(r[0], []).append((int(r[1].split("@")[1]), float(r[7]), float(r[13])))
print("| T (batch 8192/T) | xgrad ms | PyTorch ms | ratio | xgrad MB | PyTorch MB | ratio |")
print("|---|---|---|---|---|---|---|")
torch = {t: (ms, mb) for t, ms, mb in data.get("torch", [])}
for t, ms, mb in sorted(data.get("xgrad", [])):
    tm, tb = torch.get(t, (float("nan"), float("nan")))
    print(f"| {t} ({8192 // t}) | {ms:.0f} | {tm:.0f} | {ms / tm:.3f} | {mb:.0f} | {tb:.0f} | {mb / tb:.2f} |")

W, H, M = 420, 300, 56  # one panel
colors = {"xgrad": "#1f77b4", "torch": "#d62728"}
names = {"xgrad": "xgrad", "torch": "PyTorch 1.13"}


def panel(x0, title, idx, unit):
    pts = [(p[0], p[idx]) for who in data for p in data[who]]  # p = (T, ms, MB)
    ts = [p[0] for p in pts]
    vs = [p[1] for p in pts if p[1] > 0]
    lx0, lx1 = math.log2(min(ts)), math.log2(max(ts))
    ly0, ly1 = math.floor(math.log10(min(vs))), math.ceil(math.log10(max(vs)))
    sx = lambda t: x0 + M + (math.log2(t) - lx0) / max(lx1 - lx0, 1e-9) * (W - 1.5 * M)
    sy = lambda v: H - M + (math.log10(v) - ly0) / max(ly1 - ly0, 1e-9) * -(H - 1.6 * M)
    out = [f'<text x="{x0 + W / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>']
    for k in range(int(ly0), int(ly1) + 1):
        y = sy(10 ** k)
        out.append(f'<line x1="{x0 + M}" x2="{x0 + W - M / 2}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{x0 + M - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{10 ** k:g}</text>')
    for t in sorted(set(ts)):
        x = sx(t)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{M * 0.6}" y2="{H - M}" stroke="#eee"/>')
        out.append(f'<text x="{x:.1f}" y="{H - M + 16}" text-anchor="middle" font-size="11">{t}</text>')
    out.append(f'<text x="{x0 + W / 2}" y="{H - 12}" text-anchor="middle" font-size="12">sequence length T (batch 8192/T)</text>')
    out.append(f'<text x="{x0 + 14}" y="{H / 2}" font-size="12" transform="rotate(-90 {x0 + 14} {H / 2})" text-anchor="middle">{unit}</text>')
    for who, series in data.items():
        s = sorted(series)
        path = " ".join(f"{sx(t):.1f},{sy(v[idx - 1]):.1f}" for t, *v in s)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colors[who]}" stroke-width="2"/>')
        for t, *v in s:
            out.append(f'<circle cx="{sx(t):.1f}" cy="{sy(v[idx - 1]):.1f}" r="3" fill="{colors[who]}"/>')
    return out


body = panel(0, "training step time", 1, "ms per step") + panel(W, "peak memory", 2, "MB")
for i, who in enumerate(data):
    body.append(f'<rect x="{M + 10}" y="{34 + 16 * i}" width="12" height="3" fill="{colors[who]}"/>')
    body.append(f'<text x="{M + 28}" y="{39 + 16 * i}" font-size="11">{names[who]}</text>')
svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * W}" height="{H}" font-family="sans-serif">'
       f'<rect width="100%" height="100%" fill="white"/>' + "".join(body) + "</svg>\n")
open(sys.argv[2], "w").write(svg)
print(f"wrote {sys.argv[2]}")
